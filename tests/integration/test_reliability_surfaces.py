"""The newer surfaces (sweeps, import, Ray, Manim's own command line) refuse clearly and
never lose or fake data. One test (or more) per item, each able to fail: the fault is injected."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grokking.lab import sweep as S

from grokking.training import grid as G
from grokking.training.config import ConfigError

from test_reliability_paths import TINY, invoke, refused      # noqa: F401  (TINY: a few thousand parameters)

ROOT = Path(__file__).resolve().parents[2]
SWEEP_TINY = dict(p=5, frac=0.5, epochs=10, d_model=16, n_heads=2, d_head=8, d_mlp=32)
SWEEP_OPTS = ["--preset", "quick", "--p", "5", "--frac", "0.5", "--epochs", "10", "--quiet"]


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(Path(root).rglob("*"))} if Path(root).exists() else {}


# ---- a sweep is never a run, a run never a sweep -----------------------------------------

@pytest.mark.slow
def test_a_sweep_inside_a_run_and_a_run_over_a_sweep_are_refused(runs_dir):
    assert invoke("train", *TINY, "--run", "quick").exit_code == 0
    before = tree(runs_dir)
    refused(invoke("sweep", "quick", *SWEEP_OPTS, "--grid", "seed=0,1"), "is a run, not a sweep")
    assert tree(runs_dir) == before
    r = invoke("sweep", "sw", *SWEEP_OPTS, "--grid", "seed=0,1")
    assert r.exit_code == 0, r.output
    before = tree(runs_dir)
    for cmd in (["train", *TINY, "--force"], ["train", *TINY], ["all", "--force", "--quiet"], ["status"],
                ["export", str(runs_dir.parent / "out")],
                ["import", str(runs_dir.parent / "x.pth"), "--force"]):
        refused(invoke(*cmd, "--run", "sw"), "is a sweep", "sw/POINT")
    assert tree(runs_dir) == before and (runs_dir / "sw" / "s0" / "manifest.json").exists()
    from grokking.interop import open_run
    with pytest.raises(ConfigError, match="is a sweep"):
        open_run("sw")


# ---- import refuses non-finite weights and malformed files ------------------------

@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """A tiny run, and the TransformerLens demo's file made from it (test_interop.demo_file)."""
    torch = pytest.importorskip("torch")
    from test_interop import demo_file
    from grokking.training.config import Config, Schedule
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    d = tmp_path_factory.mktemp("foreign")
    cfg = Config(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, epochs=40,
                 schedule=Schedule(dense_until=5, log_until=20, n_log=4, stride=5))
    run = Run("tiny", d / "src")
    train([Seeded(cfg, run)], progress=False)
    return {"dir": d, "good": demo_file(run, d / "good.pth"), "torch": torch}


def _import(src, run, cwd, *more):
    return subprocess.run([sys.executable, str(ROOT / "render.py"), "import", str(src), "--run", run, "--quiet",
                           *more], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})


def _variant(foreign, name, change):
    torch = foreign["torch"]
    obj = torch.load(foreign["good"], weights_only=True)
    change(obj, torch)
    torch.save(obj, foreign["dir"] / name)
    return foreign["dir"] / name


def _nan_in_W_E(obj, torch):
    obj["checkpoints"][7]["embed.W_E"][3, 2] = float("nan")


def _other_d_mlp(obj, torch):
    sd = obj["checkpoints"][4]
    sd["blocks.0.mlp.W_in"] = torch.zeros(16, 48)
    sd["blocks.0.mlp.b_in"] = torch.zeros(48)
    sd["blocks.0.mlp.W_out"] = torch.zeros(48, 16)


def _transposed_W_E(obj, torch):
    obj["checkpoints"][2]["embed.W_E"] = obj["checkpoints"][2]["embed.W_E"].T.contiguous()


def _text_losses(obj, torch):
    obj["train_losses"] = ["low"] * len(obj["train_losses"])


def _five(obj, torch):
    obj["checkpoints"] = 5


def _huge_vocab(obj, torch):
    """A consistent model of p = 100,000: small on disk, 10^10 input pairs to check."""
    obj["checkpoints"], obj["checkpoint_epochs"] = obj["checkpoints"][:2], obj["checkpoint_epochs"][:2]
    for sd in obj["checkpoints"] + [obj["model"]]:
        sd["embed.W_E"] = torch.zeros(100_001, 16)
        sd["unembed.W_U"] = torch.zeros(16, 100_001)
        sd["unembed.b_U"] = torch.zeros(100_001)


@pytest.mark.parametrize("make, says", [
    ("empty", "empty"), ("text", "not a file torch.save wrote"),
    (_nan_in_W_E, "checkpoint 13: W_E holds 1 non-finite value"),
    (_other_d_mlp, "checkpoint 4: W_in has shape (16, 48)"),
    (_transposed_W_E, "checkpoint 2: W_E has shape (16, 12)"),
    (_text_losses, "train_losses is not a list of numbers"), (_five, "checkpoints is a int, not a list"),
    (_huge_vocab, "of memory"),
])
@pytest.mark.slow
def test_import_refuses_a_malformed_or_diverged_history_in_one_line_writing_nothing(foreign, make, says):
    d = foreign["dir"]
    if make == "empty":
        src = d / "empty.pth"
        src.write_bytes(b"")
    elif make == "text":
        src = d / "text.pth"
        src.write_text("a text file, not a checkpoint history\n")
    else:
        src = _variant(foreign, f"{make.__name__}.pth", make)
    (d / "runs").mkdir(exist_ok=True)
    before = tree(d / "runs")
    r = _import(src, "imp", d)
    assert r.returncode == 2, r.stderr[-2000:]
    assert len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, r.stderr
    assert tree(d / "runs") == before


@pytest.mark.slow
def test_a_sound_file_still_imports(foreign):
    d = foreign["dir"]
    r = _import(foreign["good"], "ok", d)
    assert r.returncode == 0, r.stderr
    assert (d / "runs" / "ok" / "manifest.json").exists()


# ---- op pow needs its exponents --------------------------------------------------------

@pytest.mark.parametrize("cmd", [
    ["train", *TINY, "--run", "pw", "--op", "pow"],
    ["train", *TINY, "--run", "pw", "--op", "pow", "--a", "2"],
    ["sweep", "pw", *SWEEP_OPTS, "--grid", "op=add,pow seed=0"],
    ["sweep", "pw", *SWEEP_OPTS, "--op", "pow", "--grid", "a=2,3"],
])
def test_pow_without_its_exponents_is_refused(runs_dir, cmd):
    refused(invoke(*cmd), "op pow needs its exponents", "--a")
    assert tree(runs_dir) == {}


@pytest.mark.slow
def test_pow_with_its_exponents_is_not_addition(runs_dir):
    r = invoke("sweep", "pw", *SWEEP_OPTS, "--op", "pow", "--grid", "a=1,2 b=1")
    assert r.exit_code == 0, r.output
    from grokking.training.history import Run
    assert Run("pw/a2-b1").config.a == 2 and Run("pw/a1-b1").config.a == 1
    assert invoke("train", *TINY, "--run", "pw2", "--op", "pow", "--a", "2", "--b", "1").exit_code == 0


# ---- a refused sweep writes nothing; its advice works -------------------------------------

def _tiny_point_bytes():
    from grokking.training import budget
    from grokking.training.config import PRESETS
    cfg = PRESETS["quick"].replace(**SWEEP_TINY)
    return budget.memory_bytes(cfg, 1) - budget.PROCESS_BYTES


@pytest.mark.slow
def test_a_sweep_refused_for_memory_or_disk_writes_nothing(runs_dir, monkeypatch):
    from grokking.training import budget
    assert invoke("sweep", "sw", *SWEEP_OPTS, "--grid", "seed=0").exit_code == 0
    before = tree(runs_dir)
    with monkeypatch.context() as m:
        m.setattr(budget, "physical_memory", lambda: 1000)        # not even one point fits
        refused(invoke("sweep", "sw", *SWEEP_OPTS, "--grid", "seed=0,1,2,3"), "alone needs", "lower its p")
        refused(invoke("sweep", "new", *SWEEP_OPTS, "--grid", "seed=0,1"), "alone needs")
    with monkeypatch.context() as m:
        m.setattr(budget, "free_disk", lambda path: 1000)
        refused(invoke("sweep", "sw", *SWEEP_OPTS, "--grid", "seed=0,1,2,3"), "sweep fewer values")
    assert tree(runs_dir) == before
    r = invoke("sweep-report", "sw", "--quiet")
    assert r.exit_code == 0, r.output
    rows = (runs_dir.parent / "media" / "sw" / "sweep-report" / "table.csv").read_text().splitlines()
    assert len(rows) == 2                           # the one point trained; the refused grids added none


@pytest.mark.slow
def test_a_grid_too_large_for_memory_at_once_trains_in_smaller_batches(runs_dir, monkeypatch):
    """What used to be refused ('pass --threads 2', refused the same way) now fits: the batches
    are split to what memory holds."""
    from grokking.training import budget
    monkeypatch.setattr(S, "cores", lambda: 2)
    monkeypatch.setattr(budget, "physical_memory", lambda: 2 * (budget.PROCESS_BYTES + 2 * _tiny_point_bytes()))
    r = S.sweep("big", "seed=0,1,2,3,4,5", preset="quick", overrides=SWEEP_TINY, progress=False, log=lambda l: None)
    assert r["trained"] == 6 and max(len(x["points"]) for x in r["results"]) <= 2


# ---- training seconds accumulate over sessions --------------------------------------------

def _render(*args, cwd, **kw):
    return subprocess.Popen([sys.executable, str(ROOT / "render.py"), *map(str, args)], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}, **kw)


def _wait_for(cond, timeout=600.0):         # generous: a loaded machine starts Python slowly
    t = time.time()
    while time.time() - t < timeout:
        if cond():
            return True
        time.sleep(0.05)
    return False


def _epochs_done(manifest: Path) -> int:
    try:
        return json.loads(manifest.read_text())["epochs_done"]
    except (OSError, ValueError, KeyError):
        return -1


@pytest.mark.slow
def test_a_killed_run_keeps_its_training_seconds_and_the_resume_adds_to_them(tmp_path):
    args = ["train", "--run", "k", *TINY[:6], "--epochs", "1500", *TINY[8:]]
    proc = _render(*args, cwd=tmp_path)
    man = tmp_path / "runs" / "k" / "manifest.json"
    try:
        assert _wait_for(lambda: _epochs_done(man) >= 50)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    first = json.loads(man.read_text())
    assert first["status"] == "training" and first["train_seconds"] > 0
    # what a reader sees of a run in training is measured at its last checkpoint
    from grokking.training.history import Run
    m = Run("k", tmp_path / "runs").metrics()
    e = first["epochs_done"]
    assert np.isfinite([m[k][e] for k in ("train_loss", "test_loss", "train_acc", "test_acc")]).all()
    assert _render(*args, cwd=tmp_path).wait() == 0
    last = json.loads(man.read_text())
    assert last["status"] == "complete" and last["train_seconds"] > first["train_seconds"]


@pytest.mark.slow
def test_sweep_seconds_come_from_the_histories_after_a_lost_session(runs_dir):
    r = S.sweep("t", "seed=0,1", preset="quick", overrides=SWEEP_TINY, progress=False, log=lambda l: None)
    assert r["trained"] == 2
    root = runs_dir / "t"
    m = json.loads((root / "sweep.json").read_text())
    for p in m["points"]:                   # what a driver killed before its batches reported leaves
        p["seconds"] = 0.0
    (root / "sweep.json").write_text(json.dumps(m))
    assert S.sweep("t", "seed=0,1", preset="quick", overrides=SWEEP_TINY, progress=False,
                   log=lambda l: None)["trained"] == 0
    m = json.loads((root / "sweep.json").read_text())
    for p in m["points"]:
        secs = json.loads((root / p["name"] / "manifest.json").read_text())["train_seconds"]
        assert p["seconds"] == round(secs, 2) > 0
    from grokking.lab.report import report
    rows = report("t", media_root=runs_dir.parent / "media", progress=False)["rows"]
    assert all(row["seconds"] > 0 for row in rows)


# ---- a killed driver's workers exit --------------------------------------------------------

def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"resource_tracker" not in cmd:
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
@pytest.mark.slow
def test_workers_exit_when_the_sweep_driver_is_killed(tmp_path):
    """A real kill -9 of `grokking sweep`: its workers (long points) stop within seconds instead of
    training to the end and then waiting forever; what they leave are committed checkpoints."""
    proc = _render("sweep", "k", "--preset", "quick", "--p", "11", "--frac", "0.5", "--epochs", "30000",
                   "--grid", "d_model=16 d_mlp=32 seed=0,1", "--quiet", cwd=tmp_path)
    root = tmp_path / "runs" / "k"
    workers = []
    try:
        assert _wait_for(lambda: any(_epochs_done(m) >= 20 for m in root.glob("*/manifest.json")))
        workers = _children(proc.pid)
        assert workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _wait_for(lambda: not any(_alive(w) for w in workers), timeout=10), "orphaned workers"
    finally:
        for w in workers:                   # only the processes this test started
            if _alive(w):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    from grokking.training.history import Run
    for m in root.glob("*/manifest.json"):
        run = Run(m.parent.name, root)
        assert run.verify() == [] and run.manifest["status"] == "training"
        assert run.manifest["train_seconds"] > 0


# ---- --ray addresses ----------------------------------------------------------------------

@pytest.mark.parametrize("address, says", [
    ("garbage", "give the head's port"), ("", "is not a Ray address"), ("a b:1", "is not a Ray address"),
    ("host:99999", "not between 1 and 65535"), ("ray://host", "pip install 'ray[client]'"),
    ("127.0.0.1:1", "cannot reach 127.0.0.1:1"),
])
def test_a_bad_or_unreachable_ray_address_is_one_line_and_bounded(runs_dir, monkeypatch, address, says):
    from grokking.lab import cluster
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "grpc" else real(n, *a))
    t = time.perf_counter()
    refused(invoke("sweep", "r", *SWEEP_OPTS, "--grid", "seed=0", "--ray", address), says)
    assert time.perf_counter() - t < cluster.RAY_CONNECT_TIMEOUT + 20
    assert tree(runs_dir) == {}


# ---- Manim's own command line ----------------------------------------------------------

def _manim(tmp_path, monkeypatch, run=None):
    """`manim -ql -s scenes/waves.py NeuronWaves` (Manim's own command line, in this process)."""
    pytest.importorskip("manim")
    from manim.__main__ import main
    from grokking.common import assets
    from grokking.scenes import data
    from grokking.common import paths
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(paths, "RUNS_DIR", Path("runs"))
    monkeypatch.setattr(paths, "ASSETS_DIR", Path("assets"))
    monkeypatch.delenv(data.ASSETS_ENV, raising=False)
    if run is None:
        monkeypatch.delenv(data.RUN_ENV, raising=False)
    else:
        monkeypatch.setenv(data.RUN_ENV, run)
    return CliRunner().invoke(main, ["render", "-ql", "-s", "--media_dir", str(tmp_path / "media"),
                                     str(ROOT / "grokking" / "scenes" / "waves.py"), "NeuronWaves"])


def test_manims_command_line_says_what_to_do_in_one_line(tmp_path, monkeypatch):
    from tests.synthetic import make_synthetic_assets
    cases = []
    cases.append((None, "run 'video'", "grokking all --run video"))                  # no default run
    cases.append(("nosuch", "run 'nosuch'", "grokking all --run nosuch"))            # a missing run
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    from grokking.common import paths
    monkeypatch.setattr(paths, "RUNS_DIR", Path("runs"))
    assert invoke("train", *TINY, "--run", "trained").exit_code == 0
    cases.append(("trained", "run 'trained'", "grokking extract --run trained"))      # no assets yet
    make_synthetic_assets(tmp_path / "assets", run="flat", not_found={"wave_neurons": "no neuron is periodic"})
    cases.append(("flat", "no neuron is periodic", "render it from a run that has it"))   # no mechanism
    for run, names, does in cases:
        r = _manim(tmp_path, monkeypatch, run)
        lines = r.stderr.strip().splitlines()
        assert r.exit_code == 2 and len(lines) == 1, (run, r.stderr)
        assert lines[0].startswith("cannot render NeuronWaves") and names in lines[0] and does in lines[0], lines
        assert "Traceback" not in r.output + r.stderr


# ---- nothing accepted silently ------------------------------------------------------------

@pytest.mark.parametrize("grid, says", [("wd=1,,2", "empty value"), ("wd=1,2,", "empty value"),
                                        ("n_ctx=4", "n_ctx must be 3")])
def test_grid_values_that_would_be_dropped_or_meaningless_are_refused(runs_dir, grid, says):
    refused(invoke("sweep", "g", *SWEEP_OPTS, "--grid", grid), says)
    assert tree(runs_dir) == {}


@pytest.mark.slow
def test_report_refuses_one_axis_twice_and_says_what_a_cell_pools(runs_dir):
    kw = dict(preset="quick", overrides=SWEEP_TINY, progress=False, log=lambda l: None)
    S.sweep("g", "wd=1 seed=0", **kw)
    S.sweep("g", "op=sub lr=0.01 seed=0", **kw)           # grown on other fields
    refused(invoke("sweep-report", "g", "--axes", "wd,wd", "--quiet"), "names weight_decay twice")
    r = invoke("sweep-report", "g", "--quiet")
    assert r.exit_code == 0, r.output
    assert "pool points that differ in lr (0.003, 0.01)" in r.output
    r = invoke("sweep-report", "g", "--axes", "op,lr", "--quiet")
    assert r.exit_code == 0 and "weight_decay (1, 2)" in r.output and "pool" in r.output


# ---- messages that lead to the right next step --------------------------------------------

@pytest.mark.slow
def test_an_unstarted_point_names_its_sweeps_command_which_works(runs_dir):
    assert invoke("sweep", "sw", *SWEEP_OPTS, "--grid", "seed=0,1").exit_code == 0
    from grokking.training.history import Run
    Run("s1", runs_dir / "sw").remove()                      # as an interrupted sweep leaves it
    before = tree(runs_dir)
    for cmd in (["export", str(runs_dir.parent / "out")], ["all", "--quiet"], ["train", *TINY]):
        line = refused(invoke(*cmd, "--run", "sw/s1"), "grokking sweep sw --preset quick")
        assert "grokking train" not in line.replace("grokking train does not", "")
    assert tree(runs_dir) == before and not (runs_dir.parent / "out").exists()
    import shlex
    advice = line[line.index("grokking sweep"):]
    r = invoke(*shlex.split(advice)[1:], "--quiet")
    assert r.exit_code == 0, (advice, r.output)
    assert Run("sw/s1").manifest["status"] == "complete"


def test_a_point_of_a_sweep_that_does_not_exist_is_refused_everywhere(runs_dir):
    for cmd in (["all", "--quiet"], ["train", *TINY], ["status"], ["extract", "--quiet"],
                ["export", str(runs_dir.parent / "out")]):
        refused(invoke(*cmd, "--run", "nosw/p"), "there is no sweep 'nosw'")
    assert not runs_dir.exists() or tree(runs_dir) == {}


@pytest.mark.slow
def test_sweep_in_another_runs_dir_prints_next_steps_that_name_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke("sweep", "sw", *SWEEP_OPTS[:-1], "--grid", "seed=0", "--runs-dir", "elsewhere")
    assert r.exit_code == 0, r.output
    assert "grokking sweep-report sw --runs-dir elsewhere" in r.output
    assert "GROKKING_RUNS=elsewhere grokking all --run sw/POINT" in r.output


@pytest.mark.slow
def test_import_with_its_own_split_never_asks_for_frac_and_seed(foreign):
    torch = foreign["torch"]
    src = _variant(foreign, "shifted.pth", lambda obj, t: obj.update(
        checkpoint_epochs=[e + 3 for e in obj["checkpoint_epochs"]]))
    r = _import(src, "shifted", foreign["dir"])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "own split" in r.stderr and "--frac" not in r.stderr


# ---- what the commands print ----------------------------------------------------------

@pytest.mark.slow
def test_train_and_runs_never_print_none_and_runs_lists_sweeps_with_their_points(runs_dir):
    r = invoke("train", *TINY[:6], "--epochs", "1", *TINY[8:], "--run", "short")
    assert r.exit_code == 0 and "None" not in r.output and "train acc never 100%" in r.output, r.output
    assert invoke("sweep", "sw", *SWEEP_OPTS, "--grid", "seed=0,1").exit_code == 0
    from grokking.training.history import Run
    Run("s1", runs_dir / "sw").remove()
    r = invoke("runs")
    assert r.exit_code == 0 and "None" not in r.output, r.output
    lines = r.output.splitlines()
    assert any(line.startswith("sw/") and "1/2 points done" in line for line in lines), r.output
    assert any("sw/s0" in line and "complete" in line for line in lines)
    assert any("sw/s1" in line and "not started" in line for line in lines)
    assert any(line.startswith("short ") and "never" in line for line in lines)


def test_an_open_run_view_follows_the_run_as_it_trains_on(runs_dir, tiny_cfg):
    from grokking.interop import open_run
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    run = Run("grow")
    train([Seeded(tiny_cfg.replace(epochs=20), run)], progress=False)
    view = open_run("grow")
    assert len(view.metrics["train_loss"]) == 21
    train([Seeded(tiny_cfg, run)], progress=False)                     # trained on to 40 epochs
    assert view.epochs[-1] == 40 and len(view.metrics["train_loss"]) == 41


def test_all_turns_manims_per_animation_bars_off(tmp_path, monkeypatch):
    from grokking.pipeline import make
    from grokking.scenes import cli, data
    seen = {}

    def fake_render(name, run, quality, fmt, **kw):
        seen.update(kw)
        raise data.NotFound("not drawn", reason="testing")
    monkeypatch.setattr(cli, "render", fake_render)
    o = make.Options(run="r", media_root=tmp_path / "media", progress=True)
    assert make._make_scene(o, "NeuronWaves")[2] == "testing"
    assert seen["progress"] is False
