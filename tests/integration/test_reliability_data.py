"""Reliability, the data: --force deletes only what
the trainer wrote, a forced re-run keeps its seed, ops that are what they say, a race that counts
each seed once, Grokfast-MA's window in the budget, the seed choice's names and lock checked before
any try, and grokking/lab/extend_ungrokked.py's refusals. Each test fails without its fix."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_reliability_paths import TINY, invoke, refused
from test_reliability_paths import tree as _tree


def tree(root: Path) -> dict:
    """Every file's bytes under `root`, but the trainer's lock files (runs/.<run>.lock, which stay
    as train's always do: the kernel's flock is the lock, not the file)."""
    return {k: v for k, v in _tree(root).items() if not k.endswith(".lock")}

ROOT = Path(__file__).resolve().parents[2]
SWEEP_OPTS = ["--preset", "quick", "--p", "5", "--frac", "0.5", "--epochs", "10", "--quiet"]


def _tiny_run(runs_dir, name, **over):
    """A run of TINY's config (a few thousand parameters, ten epochs), trained in-process."""
    from grokking.training.config import QUICK
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    cfg = QUICK.replace(p=5, frac=0.5, epochs=10, d_model=16, d_mlp=32, **over)
    run = Run(name, runs_dir)
    train([Seeded(cfg, run)], progress=False, tune_threads=False)
    return run


@pytest.fixture(scope="module")
def host_template(tmp_path_factory):
    """Run "host" of TINY's config, trained once per module; `host` copies it into a test's runs/."""
    return _tiny_run(tmp_path_factory.mktemp("host") / "runs", "host").dir


@pytest.fixture
def host(host_template, runs_dir):
    import shutil
    from grokking.training.history import Run
    shutil.copytree(host_template, runs_dir / "host")
    return Run("host", runs_dir)


# ---- --force removes only what the trainer wrote ---------------------------------------

def test_force_refuses_a_run_folder_holding_a_users_file_and_names_it(runs_dir, host):
    run = host
    (run.dir / "notes.txt").write_text("mine")
    (run.dir / "checkpoints" / "keep.npz").write_text("mine too")
    before = tree(runs_dir)
    r = invoke("train", *TINY, "--run", "host", "--force")
    line = refused(r, "notes.txt", "checkpoints/keep.npz", "did not write")
    assert "--force" not in line.split("not removing")[1]          # no advice to force it again
    assert tree(runs_dir) == before


def test_force_refuses_a_sweep_put_inside_a_run_and_keeps_it(runs_dir, host, host_template):
    """What `sweep inner --runs-dir runs/host` made before it was refused: the sweep survives."""
    import shutil
    run = host
    inner = run.dir / "inner"
    shutil.copytree(host_template, inner / "s0")
    (inner / "sweep.json").write_text(json.dumps({"format": "grokking-sweep/1", "points": [{"name": "s0"}]}))
    before = tree(runs_dir)
    refused(invoke("train", *TINY, "--run", "host", "--force"), "inner/", "did not write")
    assert tree(runs_dir) == before
    r = invoke("all", "--run", "host", "--force", "--quiet")       # after its "[train] host: ..." log line
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert r.output.strip().splitlines()[-1].startswith("Error: runs/host holds inner/ (")
    assert tree(runs_dir) == before


def test_force_still_replaces_a_run_of_only_the_trainers_files(runs_dir, host):
    run = host
    (run.dir / f"checkpoints/.e000003.npz.tmp{99_999_999}").write_bytes(b"half")   # a killed writer's
    (run.dir / f".manifest.json.tmp{99_999_999}").write_bytes(b"half")
    old_id = run.manifest["run_id"]
    r = invoke("train", *TINY, "--run", "host", "--force")
    assert r.exit_code == 0, r.output
    assert run.manifest["run_id"] != old_id and run.manifest["status"] == "complete"


@pytest.mark.parametrize("inside", ["host", "host/checkpoints", "host/checkpoints/deeper"])
def test_a_runs_dir_inside_a_run_is_refused(runs_dir, host, inside):
    before = tree(runs_dir)
    r = invoke("sweep", "inner", *SWEEP_OPTS, "--grid", "seed=0,1", "--runs-dir", f"runs/{inside}")
    refused(r, "--runs-dir", "inside the run" if "/" in inside else "the run", "runs/")
    refused(invoke("sweep-report", "inner", "--runs-dir", f"runs/{inside}", "--quiet"), "--runs-dir")
    assert tree(runs_dir) == before


# ---- a forced re-run keeps its own seed -------------------------------------------------

def test_a_forced_all_on_a_run_trained_with_its_own_seed_keeps_that_seed(runs_dir):
    from grokking.pipeline.make import Options, _chooses_seed
    from grokking.training.history import Run
    run = _tiny_run(runs_dir, "mine", seed=7)
    assert not _chooses_seed(Options(run="mine", force=True), run)
    r = invoke("all", "--run", "mine", "--force", "--figures", "", "--scenes", "", "--quiet")
    assert r.exit_code == 0, r.output
    assert Run("mine", runs_dir).config.seed == 7 and "chosen" not in Run("mine", runs_dir).manifest
    assert sorted(d.name for d in runs_dir.iterdir() if not d.name.startswith(".")) == ["mine"]   # no -s1, -s0, -s3


def test_the_seed_choice_still_applies_to_a_new_run_and_to_its_own_forced_rerun(runs_dir, host):
    from grokking.pipeline import choose
    from grokking.common.io import write_json
    from grokking.training.history import Run
    run = host
    assert not choose.applies(run, None, force=True)                 # trained directly: kept
    assert choose.applies(run, "video", force=True)                  # --preset video asks for the preset anew
    assert not choose.applies(run, "quick", force=True)
    write_json(run.manifest_path, {**run.manifest, "chosen": {"seed": 0}})
    assert choose.applies(run, None, force=True) and not choose.applies(run, None, force=False)
    assert choose.applies(Run("new", runs_dir), None, force=False)


# ---- the seed choice checks its names and takes the trainer's lock first ---------

def _story(passing: set[int]):
    def check_at(run, epoch):
        ok = run.config.seed in passing
        return {"story_check": {"passed": ok, "criteria": [{"name": "crest", "passed": ok}]}}
    return check_at


@pytest.fixture
def choose_tries(runs_dir, tiny_cfg, monkeypatch):
    from grokking.extraction import extract
    from grokking.pipeline import choose
    from grokking.training.history import Run

    def go(passing, seeds=(5, 3, 8), check=None, **kw):
        monkeypatch.setattr(extract, "check_at", check or _story(passing))
        return choose.train_first_passing(Run("video", runs_dir), tiny_cfg, seeds, progress=False,
                                          log=lambda _: None, **kw)
    return go


@pytest.mark.parametrize("force", [False, True])
def test_a_foreign_run_under_a_later_tries_name_is_refused_before_the_first_try(choose_tries, runs_dir, tiny_cfg,
                                                                                force):
    from grokking.training.history import HistoryError, Run
    from grokking.training.train import Seeded, train
    foreign = Run("video-s3", runs_dir)
    train([Seeded(tiny_cfg.replace(seed=3, lr=3e-3, epochs=10), foreign)], progress=False, tune_threads=False)
    before = tree(runs_dir)
    with pytest.raises(HistoryError, match=r"video-s3.*another config.*lr") as e:
        choose_tries(passing=set(), force=force)
    assert "pass --force" not in str(e.value)
    assert not (runs_dir / "video-s5").exists()                     # seed 5's try never trained
    assert tree(runs_dir) == before


def test_a_stranger_in_a_later_tries_folder_is_refused_before_the_first_try(choose_tries, runs_dir):
    from grokking.training.history import HistoryError
    (runs_dir / "video-s8").mkdir(parents=True)
    (runs_dir / "video-s8" / "notes.txt").write_text("mine")
    with pytest.raises(HistoryError, match="notes.txt"):
        choose_tries(passing=set(), force=True)
    assert not (runs_dir / "video-s5").exists() and (runs_dir / "video-s8" / "notes.txt").read_text() == "mine"


def _subprocess_env(runs_dir):
    import os
    return {**os.environ, "GROKKING_RUNS": str(runs_dir), "PYTHONPATH": str(ROOT)}


@pytest.mark.slow
def test_a_train_of_the_same_run_during_the_seed_choice_is_refused_and_the_choice_finishes(choose_tries, runs_dir):
    """A real `grokking train --run video` started while the seed choice runs (here: from inside
    its story check) is refused by the trainer's lock, and the choice's rename then succeeds."""
    from grokking.training.history import Run
    results = []

    def check_at(run, epoch):
        results.append(subprocess.run([sys.executable, str(ROOT / "render.py"), "train", *TINY, "--run", "video"],
                                      cwd=runs_dir.parent, env=_subprocess_env(runs_dir), capture_output=True,
                                      text=True, timeout=120))
        return _story({5})(run, epoch)
    chosen = choose_tries(passing={5}, check=check_at)
    r = results[0]
    assert r.returncode == 2, r.stdout + r.stderr
    assert "another trainer is writing run 'video'" in r.stderr and "Traceback" not in r.stderr
    assert chosen["seed"] == 5 and Run("video", runs_dir).config.seed == 5


def test_the_seed_choice_waits_for_no_one_a_running_trainer_is_named_up_front(choose_tries, runs_dir):
    """A real process holding the run's trainer lock (as `grokking train` does): the seed choice is
    refused before anything is trained, naming its pid."""
    from grokking.common.paths import RunBusy
    runs_dir.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from grokking.common import paths\n"
         "with paths.hold_lock(Path(sys.argv[1]), 'train'):\n    print('held', flush=True); time.sleep(60)",
         str(runs_dir / ".video.lock")], cwd=ROOT, env=_subprocess_env(runs_dir), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunBusy, match=rf"another trainer is writing run 'video' \(pid {holder.pid}\)"):
            choose_tries(passing={5})
        assert not (runs_dir / "video-s5").exists()
    finally:
        holder.kill()
        holder.wait()


# ---- ops are what they say -------------------------------------------------------------

def test_div_needs_a_prime_p():
    from grokking.training.config import QUICK, ConfigError
    from grokking.training.tasks import answers
    import numpy as np
    assert answers("div", np.array([2]), np.array([2]), 12)[0] == 8          # what p = 12 would train: not 1
    for p in (12, 9, 4, 1_000_000):
        with pytest.raises(ConfigError, match=rf"op div needs a prime p.*p={p} is not"):
            QUICK.replace(op="div", p=p).validate()
    for p in (2, 5, 53, 113):
        QUICK.replace(op="div", p=p, frac=0.9).validate()
    QUICK.replace(op="mul", p=12).validate()                 # x * y mod 12 is multiplication: allowed


@pytest.mark.parametrize("cmd", [
    ["train", *TINY, "--run", "d", "--op", "div", "--p", "12"],
    ["sweep", "d", *SWEEP_OPTS, "--op", "div", "--grid", "p=12,13"],
    ["sweep", "d", *SWEEP_OPTS, "--grid", "op=add,div p=12"],
])
def test_div_with_a_composite_p_is_refused_in_one_line(runs_dir, cmd):
    refused(invoke(*cmd), "op div needs a prime p", "p=12 is not (2 x 6)")
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


@pytest.mark.parametrize("cmd, words", [
    (["train", *TINY, "--run", "x", "--a", "2"], ("--a and --b are the exponents of op pow", "op add")),
    (["train", *TINY, "--run", "x", "--op", "mul", "--b", "3"], ("op mul has none",)),
    (["train", *TINY, "--run", "x", "--op", "sub", "--a", "1"], ("--a is an exponent of op pow", "op sub")),
    (["train", *TINY, "--run", "x", "--a", "1", "--b", "1"], ("--a and --b are the exponents of op pow", "op add")),
    (["sweep", "x", *SWEEP_OPTS, "--a", "2", "--grid", "seed=0"], ("op pow", "op add")),
    (["sweep", "x", *SWEEP_OPTS, "--op", "div", "--p", "7", "--grid", "a=2,3"], ("op pow", "op div")),
])
def test_exponents_for_an_op_without_them_are_refused(runs_dir, cmd, words):
    refused(invoke(*cmd), *words)
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_pow_keeps_its_exponents(runs_dir):
    assert invoke("train", *TINY, "--run", "pw", "--op", "pow", "--a", "2", "--b", "1").exit_code == 0


# ---- a sweep named twice in a race ------------------------------------------------------

SWEEP_TINY = dict(p=5, frac=0.5, epochs=10, d_model=16, n_heads=2, d_head=8, d_mlp=32)


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """A sweep of two seeds that never grok (ten epochs), in a fresh working directory."""
    from grokking.lab import sweep as S
    from grokking.training import grid as G
    root = tmp_path_factory.mktemp("round4")
    S.sweep("ra", "seed=0,1", preset="quick", overrides=SWEEP_TINY, runs_dir=root / "runs", progress=False,
            log=lambda line: None)
    return root


@pytest.mark.slow
def test_a_race_naming_a_sweep_twice_is_refused(tiny_sweep, monkeypatch):
    monkeypatch.chdir(tiny_sweep)
    before = tree(tiny_sweep)
    for names in (["ra", "ra"], ["ra", "ra", "ra"]):
        refused(invoke("sweep-report", *names, "--runs-dir", "runs", "--quiet"), "sweep 'ra' is named twice",
                "count each of its seeds twice")
        assert tree(tiny_sweep) == before
    from grokking.lab.report import race_report
    from grokking.training.grid import SweepError
    with pytest.raises(SweepError, match="named twice"):
        race_report(["ra", "ra"], runs_dir=tiny_sweep / "runs", media_root=tiny_sweep / "media", progress=False)
    assert not (tiny_sweep / "media").exists()


# ---- Grokfast-MA's window in the memory and disk budget ---------------------------------

def test_the_budget_counts_grokfast_mas_window(tmp_path):
    from grokking.training import budget
    from grokking.training.config import QUICK, ConfigError
    small, big = QUICK.replace(grokfast="ma", grokfast_window=100), QUICK.replace(grokfast="ma", grokfast_window=10**6)
    n = budget.n_params(QUICK)
    assert budget.memory_bytes(big) - budget.memory_bytes(small) >= (10**6 - 100) * 4 * n
    assert budget.disk_bytes(big) - budget.disk_bytes(small) >= 2 * (10**6 - 100) * 4 * n      # two resume states
    with pytest.raises(ConfigError, match=r"Grokfast-MA window 1000000 .* lower --grokfast-window") as e:
        budget.check(big, 1, tmp_path)
    assert "\n" not in str(e.value)
    budget.check(small, 1, tmp_path)


def test_a_window_too_big_for_memory_is_refused_up_front_in_one_line(runs_dir, monkeypatch):
    from grokking.training import budget
    monkeypatch.setattr(budget, "physical_memory", lambda: 2**30)         # 1 GiB: TINY alone needs ~0.5
    r = invoke("train", *TINY, "--run", "gf", "--grokfast", "ma", "--grokfast-window", "20000")
    refused(r, "Grokfast-MA window 20000", "of memory", "lower --grokfast-window")
    assert not (runs_dir / "gf").exists()
    assert invoke("train", *TINY, "--run", "gf", "--grokfast", "ma", "--grokfast-window", "5").exit_code == 0


def test_a_window_too_big_for_the_disk_is_refused_up_front_in_one_line(runs_dir, monkeypatch):
    from grokking.training import budget
    monkeypatch.setattr(budget, "free_disk", lambda path: 50 * 2**20)     # 50 MiB free
    r = invoke("train", *TINY, "--run", "gf", "--grokfast", "ma", "--grokfast-window", "2000")
    refused(r, "Grokfast-MA window 2000", "would write about", "lower --grokfast-window")
    assert not (runs_dir / "gf").exists()


def test_the_disk_estimate_bounds_a_grokfast_ma_runs_resume_files(runs_dir):
    """The window's gradients are in each resume state kept: a real run stays under the estimate."""
    from grokking.training import budget
    run = _tiny_run(runs_dir, "gf", grokfast="ma", grokfast_window=2000)
    assert run.size_bytes() > 2000 * 4 * budget.n_params(run.config)            # the window is on disk
    assert run.size_bytes() <= budget.disk_bytes(run.config)


# ---- grokking/lab/extend_ungrokked.py refuses in one line -----------------------------------

def _extend_cli():
    from grokking.lab import extend_ungrokked
    return extend_ungrokked.main


def _extend(*args):
    from click.testing import CliRunner
    return CliRunner().invoke(_extend_cli(), [str(a) for a in args])


@pytest.mark.parametrize("args, words", [
    (["nosuch", "--epochs", "20"], ("no sweep in runs/nosuch",)),
    (["host", "--epochs", "20"], ("is a run, not a sweep",)),
    (["ra/seed0", "--epochs", "20"], ("is not allowed",)),
    (["ra", "nosuch", "--epochs", "20"], ("no sweep in runs/nosuch",)),
    (["ra", "--epochs", "20", "--points", "zz*"], ("--points 'zz*' matches no point of 'ra'", "s0, s1")),
    (["ra", "--epochs", "20", "--deadline", "abc"], ("--deadline 'abc' is not a time of day HH:MM",)),
    (["ra", "--epochs", "20", "--deadline", "25:00"], ("--deadline '25:00'",)),
    (["ra", "--epochs", "-5"], ("--epochs must be at least 1 (got -5)",)),
    (["ra", "--epochs", "0"], ("--epochs must be at least 1",)),
    (["ra", "--epochs", "20", "--runs-dir", "runs/host"], ("--runs-dir runs/host is the folder of the run",)),
])
@pytest.mark.slow
def test_extend_ungrokked_refuses_bad_input_in_one_line_and_writes_nothing(tiny_sweep, host_template, monkeypatch,
                                                                            args, words):
    monkeypatch.chdir(tiny_sweep)
    if not (tiny_sweep / "runs" / "host").exists():
        import shutil
        shutil.copytree(host_template, tiny_sweep / "runs" / "host")
    before = tree(tiny_sweep)
    refused(_extend(*args), *words)
    assert tree(tiny_sweep) == before


@pytest.mark.slow
def test_extend_ungrokked_refuses_a_job_over_the_budget(tiny_sweep, monkeypatch):
    monkeypatch.chdir(tiny_sweep)
    before = tree(tiny_sweep)
    refused(_extend("ra", "--epochs", 10**12), "10000000000", "epochs", "would")
    assert tree(tiny_sweep) == before


@pytest.mark.slow
def test_extend_ungrokked_says_when_there_is_nothing_to_do_and_extends_what_matches(tiny_sweep, tmp_path,
                                                                                   monkeypatch):
    import shutil
    from grokking.training.history import Run
    shutil.copytree(tiny_sweep / "runs" / "ra", tmp_path / "runs" / "ra")
    monkeypatch.chdir(tmp_path)
    r = _extend("ra", "--epochs", "10")
    assert r.exit_code == 0 and "nothing to extend to 10 epochs" in r.output and "2 at 10 epochs or more" in r.output
    r = _extend("ra", "--epochs", "12", "--points", "s1")
    assert r.exit_code == 0, r.output
    assert Run("s1", tmp_path / "runs" / "ra").manifest["epochs_done"] == 12
    assert Run("s0", tmp_path / "runs" / "ra").manifest["epochs_done"] == 10


@pytest.mark.slow
def test_extend_ungrokked_as_a_process_exits_2_without_a_traceback(tiny_sweep):
    r = subprocess.run([sys.executable, "-m", "grokking.lab.extend_ungrokked", "nosuch", "--epochs", "20"],
                       cwd=tiny_sweep, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [f"Error: no sweep in runs/nosuch/; start one with: grokking sweep "
                                             f"nosuch --grid ..."]


def test_a_sweep_point_whose_window_is_too_big_is_refused_naming_the_window(runs_dir):
    refused(invoke("sweep", "gw", *SWEEP_OPTS, "--grid", "grokfast=ma grokfast_window=100000000"),
            "point gf-ma-win100000000 alone needs", "lower its grokfast_window")
    assert not (runs_dir / "gw").exists()
