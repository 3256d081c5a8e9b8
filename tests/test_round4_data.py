"""Issue 31 (reliability, round four), items 1, 2, 4, 7, 8, 12, 13 and 17: --force deletes only what
the trainer wrote, a forced re-run keeps its seed, ops that are what they say, a race that counts
each seed once, Grokfast-MA's window in the budget, the seed choice's names and lock checked before
any try, and scripts/extend_ungrokked.py's refusals. Each test fails without its fix."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_reliability_paths import TINY, invoke, refused, tree      # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SWEEP_OPTS = ["--preset", "quick", "--p", "5", "--frac", "0.5", "--epochs", "10", "--quiet"]


def _tiny_run(runs_dir, name, **over):
    """A run of TINY's config (a few thousand parameters, ten epochs), trained in-process."""
    from training.config import QUICK
    from training.history import Run
    from training.train import Seeded, train
    cfg = QUICK.replace(p=5, frac=0.5, epochs=10, d_model=16, d_mlp=32, **over)
    run = Run(name, runs_dir)
    train([Seeded(cfg, run)], progress=False, tune_threads=False)
    return run


# ---- item 1: --force removes only what the trainer wrote ---------------------------------------

def test_force_refuses_a_run_folder_holding_a_users_file_and_names_it(runs_dir):
    run = _tiny_run(runs_dir, "host")
    (run.dir / "notes.txt").write_text("mine")
    (run.dir / "checkpoints" / "keep.npz").write_text("mine too")
    before = tree(runs_dir)
    r = invoke("train", *TINY, "--run", "host", "--force")
    line = refused(r, "notes.txt", "checkpoints/keep.npz", "did not write")
    assert "--force" not in line.split("not removing")[1]          # no advice to force it again
    assert tree(runs_dir) == before


def test_force_refuses_a_sweep_put_inside_a_run_and_keeps_it(runs_dir):
    """What `sweep inner --runs-dir runs/host` made before it was refused: the sweep survives."""
    run = _tiny_run(runs_dir, "host")
    inner = run.dir / "inner"
    _tiny_run(inner, "s0")
    (inner / "sweep.json").write_text(json.dumps({"format": "grokking-sweep/1", "points": [{"name": "s0"}]}))
    before = tree(runs_dir)
    refused(invoke("train", *TINY, "--run", "host", "--force"), "inner/", "did not write")
    assert tree(runs_dir) == before
    r = invoke("all", "--run", "host", "--force", "--quiet")       # after its "[train] host: ..." log line
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert r.output.strip().splitlines()[-1].startswith("Error: runs/host holds inner/ (")
    assert tree(runs_dir) == before


def test_force_still_replaces_a_run_of_only_the_trainers_files(runs_dir):
    run = _tiny_run(runs_dir, "host")
    (run.dir / f"checkpoints/.e000003.npz.tmp{99_999_999}").write_bytes(b"half")   # a killed writer's
    (run.dir / f".manifest.json.tmp{99_999_999}").write_bytes(b"half")
    old_id = run.manifest["run_id"]
    r = invoke("train", *TINY, "--run", "host", "--force")
    assert r.exit_code == 0, r.output
    assert run.manifest["run_id"] != old_id and run.manifest["status"] == "complete"


@pytest.mark.parametrize("inside", ["host", "host/checkpoints", "host/checkpoints/deeper"])
def test_a_runs_dir_inside_a_run_is_refused(runs_dir, inside):
    _tiny_run(runs_dir, "host")
    before = tree(runs_dir)
    r = invoke("sweep", "inner", *SWEEP_OPTS, "--grid", "seed=0,1", "--runs-dir", f"runs/{inside}")
    refused(r, "--runs-dir", "inside the run" if "/" in inside else "the run", "runs/")
    refused(invoke("sweep-report", "inner", "--runs-dir", f"runs/{inside}", "--quiet"), "--runs-dir")
    assert tree(runs_dir) == before


# ---- item 2: a forced re-run keeps its own seed -------------------------------------------------

def test_a_forced_all_on_a_run_trained_with_its_own_seed_keeps_that_seed(runs_dir):
    from pipeline.make import Options, _chooses_seed
    from training.history import Run
    run = _tiny_run(runs_dir, "mine", seed=7)
    assert not _chooses_seed(Options(run="mine", force=True), run)
    r = invoke("all", "--run", "mine", "--force", "--figures", "", "--scenes", "", "--quiet")
    assert r.exit_code == 0, r.output
    assert Run("mine", runs_dir).config.seed == 7 and "chosen" not in Run("mine", runs_dir).manifest
    assert sorted(d.name for d in runs_dir.iterdir() if not d.name.startswith(".")) == ["mine"]   # no -s1, -s0, -s3


def test_the_seed_choice_still_applies_to_a_new_run_and_to_its_own_forced_rerun(runs_dir):
    from pipeline import choose
    from training.history import Run, write_json
    run = _tiny_run(runs_dir, "video")
    assert not choose.applies(run, None, force=True)                 # trained directly: kept
    assert choose.applies(run, "video", force=True)                  # --preset video asks for the preset anew
    assert not choose.applies(run, "quick", force=True)
    write_json(run.manifest_path, {**run.manifest, "chosen": {"seed": 0}})
    assert choose.applies(run, None, force=True) and not choose.applies(run, None, force=False)
    assert choose.applies(Run("new", runs_dir), None, force=False)


# ---- items 12 and 17: the seed choice checks its names and takes the trainer's lock first ---------

def _story(passing: set[int]):
    def check_at(run, epoch):
        ok = run.config.seed in passing
        return {"story_check": {"passed": ok, "criteria": [{"name": "crest", "passed": ok}]}}
    return check_at


@pytest.fixture
def choose_tries(runs_dir, tiny_cfg, monkeypatch):
    from extraction import extract
    from pipeline import choose
    from training.history import Run

    def go(passing, seeds=(5, 3, 8), check=None, **kw):
        monkeypatch.setattr(extract, "check_at", check or _story(passing))
        return choose.train_first_passing(Run("video", runs_dir), tiny_cfg, seeds, progress=False,
                                          log=lambda _: None, **kw)
    return go


@pytest.mark.parametrize("force", [False, True])
def test_a_foreign_run_under_a_later_tries_name_is_refused_before_the_first_try(choose_tries, runs_dir, tiny_cfg,
                                                                                force):
    from training.history import HistoryError, Run
    from training.train import Seeded, train
    foreign = Run("video-s3", runs_dir)
    train([Seeded(tiny_cfg.replace(seed=3, lr=3e-3, epochs=10), foreign)], progress=False, tune_threads=False)
    before = tree(runs_dir)
    with pytest.raises(HistoryError, match=r"video-s3.*another config.*lr") as e:
        choose_tries(passing=set(), force=force)
    assert "pass --force" not in str(e.value)
    assert not (runs_dir / "video-s5").exists()                     # seed 5's try never trained
    (runs_dir / ".video.lock").unlink()                             # the lock's file stays, as train's do
    assert tree(runs_dir) == before


def test_a_stranger_in_a_later_tries_folder_is_refused_before_the_first_try(choose_tries, runs_dir):
    from training.history import HistoryError
    (runs_dir / "video-s8").mkdir(parents=True)
    (runs_dir / "video-s8" / "notes.txt").write_text("mine")
    with pytest.raises(HistoryError, match="notes.txt"):
        choose_tries(passing=set(), force=True)
    assert not (runs_dir / "video-s5").exists() and (runs_dir / "video-s8" / "notes.txt").read_text() == "mine"


def _subprocess_env(runs_dir):
    import os
    return {**os.environ, "GROKKING_RUNS": str(runs_dir), "PYTHONPATH": str(ROOT)}


def test_a_train_of_the_same_run_during_the_seed_choice_is_refused_and_the_choice_finishes(choose_tries, runs_dir):
    """A real `render.py train --run video` started while the seed choice runs (here: from inside
    its story check) is refused by the trainer's lock, and the choice's rename then succeeds."""
    from training.history import Run
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
    """A real process holding the run's trainer lock (as `render.py train` does): the seed choice is
    refused before anything is trained, naming its pid."""
    from training.paths import RunBusy
    runs_dir.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from training import paths\n"
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
