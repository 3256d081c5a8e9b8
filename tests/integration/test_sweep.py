"""Sweeps: the grid, the plan, compact histories, local execution, the report."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grokking.lab import sweep as S

from grokking.training import grid as G
from grokking.training.config import PRESETS, Config, schedule_epochs
from grokking.training.history import Run
from grokking.common.paths import valid

TINY = dict(p=23, d_model=32, n_heads=4, d_head=8, d_mlp=64, lr=1e-2, weight_decay=1.0, frac=0.6, epochs=300)


# ---- the grid and the plan -----------------------------------------------------------------

def test_grid_parses_fields_aliases_and_types_in_order():
    g = G.parse_grid("wd=0.3,1,3 frac=0.3,0.5 seed=0,1,2 op=add,sub unembed_eq=true,0")
    assert list(g) == ["weight_decay", "frac", "seed", "op", "unembed_eq"]
    assert g["weight_decay"] == [0.3, 1.0, 3.0] and all(isinstance(v, float) for v in g["weight_decay"])
    assert g["seed"] == [0, 1, 2] and all(isinstance(v, int) for v in g["seed"])
    assert g["op"] == ["add", "sub"] and g["unembed_eq"] == [True, False]


@pytest.mark.parametrize("grid, says", [
    ("", "empty"), ("wd", "FIELD=V1"), ("wd=", "FIELD=V1"), ("colour=1,2", "not a config field"),
    ("seed=0,x", "not an integer"), ("seed=0,0", "twice"), ("wd=1 weight_decay=2", "twice"),
    ("schedule=1", "not a config field"), ("p=1", "point p1: p must be at least 2"),
])
def test_bad_grid_is_one_line_saying_what_to_do(grid, says):
    with pytest.raises(G.SweepError) as e:
        G.expand(PRESETS["quick"], G.parse_grid(grid))
    assert says in str(e.value) and "\n" not in str(e.value)


def test_points_are_the_product_named_by_the_run_name_rule():
    pts = G.expand(PRESETS["quick"], G.parse_grid("wd=0.3,1 frac=0.3,0.5 seed=0,1,2 lr=1e-3"))
    assert len(pts) == 2 * 2 * 3
    assert pts[0].name == "wd0.3-frac0.3-s0-lr0.001" and all(valid(p.name) for p in pts)
    assert len({p.name for p in pts}) == len(pts)
    for p in pts:                                    # each point's config carries its values
        assert all(getattr(p.cfg, k) == v for k, v in p.values)
        assert p.cfg.replace(**{k: getattr(PRESETS["quick"], k) for k, _ in p.values},
                             schedule=PRESETS["quick"].schedule) == PRESETS["quick"]


@pytest.mark.parametrize("epochs", [300, 1200, 10500, 20000, 50000])
def test_compact_schedule_keeps_about_a_hundred_checkpoints(epochs):
    ep = schedule_epochs(G.compact_schedule(epochs), epochs)
    assert 0.8 * G.N_CHECKPOINTS <= len(ep) <= 1.2 * G.N_CHECKPOINTS
    assert ep[0] == 0 and ep[-1] == epochs and ep[:11] == list(range(11))
    dense = schedule_epochs(Config(epochs=epochs).schedule, epochs)
    if epochs >= 10500:
        assert len(dense) > 5 * len(ep)              # what the sweep saves against a single run


def test_plan_batches_what_shares_shapes_and_fills_the_cores(monkeypatch):
    pts = G.expand(PRESETS["quick"], G.parse_grid("frac=0.3,0.5 seed=0,1,2,3"))
    one_core = S.plan(pts, 1)
    assert sorted(len(b) for b in one_core) == [4, 4]
    assert all(len({p.cfg.frac for p in b}) == 1 for b in one_core)    # shapes differ with frac
    four = S.plan(pts, 4)
    assert len(four) == 4 and sorted(p.name for b in four for p in b) == sorted(p.name for p in pts)
    for n_batches in range(1, 9):
        for cores in (1, 2, 16):
            procs, threads = S.processes_and_threads(n_batches, cores)
            assert procs * threads <= cores and procs <= n_batches and threads >= 1


def test_finished_batches_hand_their_cores_to_the_running_ones():
    assert S.share_of(2, 2, 5) == 1 and S.share_of(2, 2, 2) == 1     # both processes busy
    assert S.share_of(2, 2, 1) == 2 and S.share_of(4, 2, 1) == 4     # the last batch: every core
    assert S.share_of(2, 1, 3) == 2 and S.share_of(2, 2, 0) == 2


def test_seeds_batch_with_different_weight_decay_only_when_the_trainer_allows():
    from grokking.training import train as T
    pts = G.expand(PRESETS["quick"], G.parse_grid("wd=1,2 seed=0,1"))
    batches = S.plan(pts, 1)
    per_seed = getattr(T, "PER_SEED", ("seed",))
    assert len(batches) == (1 if "weight_decay" in per_seed else 2)


# ---- running a sweep -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    r = S.sweep("tiny", "wd=0.3,1 seed=0,1", preset="quick", overrides=TINY, runs_dir=root / "runs",
                progress=False, log=lambda line: None)
    return {"root": root, "dir": root / "runs" / "tiny", "result": r}


@pytest.mark.slow
def test_every_point_is_an_ordinary_complete_run(tiny_sweep):
    d = tiny_sweep["dir"]
    m = json.loads((d / "sweep.json").read_text())
    assert m["format"] == G.FORMAT and m["grid"] == "wd=0.3,1 seed=0,1"
    assert [p["name"] for p in m["points"]] == ["wd0.3-s0", "wd0.3-s1", "wd1-s0", "wd1-s1"]
    for p in m["points"]:
        run = Run(p["name"], d)
        assert run.manifest["status"] == "complete" and not run.verify()
        assert run.config.weight_decay == dict(p["values"])["weight_decay"]
        assert len(run.checkpoint_epochs()) == len(schedule_epochs(G.compact_schedule(300), 300))
        assert p["seconds"] > 0


@pytest.mark.slow
def test_sweep_workers_flush_subnormals_on_every_thread(tiny_sweep):
    """Each batch process measured flush-to-zero on all of torch's threads (training/threads.py)."""
    for d in (tiny_sweep["dir"]).iterdir():
        if (d / "manifest.json").exists():
            assert json.loads((d / "manifest.json").read_text())["threads"]["subnormals"] == "flushed", d.name


@pytest.mark.slow
def test_a_point_equals_the_same_config_trained_alone(tiny_sweep, tmp_path):
    """Batching, per-seed hyper-parameters and the process pool change nothing: a point's
    history is the one its config gives trained alone."""
    from grokking.training.train import Seeded, train
    d = tiny_sweep["dir"]
    point = Run("wd1-s1", d)
    alone = Run("alone", tmp_path)
    train([Seeded(point.config, alone)], progress=False)
    a, b = point.metrics(), alone.metrics()
    assert np.allclose(a["train_loss"], b["train_loss"], rtol=1e-4, atol=1e-6, equal_nan=True)
    wa, wb = point.load_checkpoint(300), alone.load_checkpoint(300)
    assert all(np.allclose(wa[k], wb[k], rtol=1e-3, atol=1e-5) for k in wa)


@pytest.mark.slow
def test_running_again_trains_nothing_and_a_larger_grid_adds_points(tiny_sweep):
    d, root = tiny_sweep["dir"], tiny_sweep["root"] / "runs"
    stamp = {n: (d / n / "manifest.json").stat().st_mtime_ns for n in ("wd0.3-s0", "wd1-s1")}
    r = S.sweep("tiny", "wd=0.3,1 seed=0,1", preset="quick", overrides=TINY, runs_dir=root, progress=False,
                log=lambda line: None)
    assert r["trained"] == 0
    assert stamp == {n: (d / n / "manifest.json").stat().st_mtime_ns for n in stamp}
    r = S.sweep("tiny", "wd=1 seed=0,1,2", preset="quick", overrides=TINY, runs_dir=root, progress=False,
                log=lambda line: None)
    assert r["trained"] == 1
    m = json.loads((d / "sweep.json").read_text())
    assert [p["name"] for p in m["points"]][-1] == "wd1-s2" and len(m["points"]) == 5
    assert stamp == {n: (d / n / "manifest.json").stat().st_mtime_ns for n in stamp}


@pytest.mark.slow
def test_dense_retrains_a_point_under_the_presets_schedule_and_it_stays_dense(tiny_sweep):
    d, root = tiny_sweep["dir"], tiny_sweep["root"] / "runs"
    kw = dict(preset="quick", overrides=TINY, runs_dir=root, progress=False, log=lambda line: None)
    other = (d / "wd0.3-s1" / "manifest.json").stat().st_mtime_ns
    r = S.sweep("tiny", "wd=0.3 seed=0,1", dense=["wd0.3-s0"], **kw)
    assert r["trained"] == 1
    run = Run("wd0.3-s0", d)
    assert run.checkpoint_epochs() == schedule_epochs(PRESETS["quick"].schedule, 300)
    assert run.manifest["status"] == "complete"
    assert (d / "wd0.3-s1" / "manifest.json").stat().st_mtime_ns == other
    assert S.sweep("tiny", "wd=0.3 seed=0,1", **kw)["trained"] == 0          # still dense, nothing to redo
    with pytest.raises(G.SweepError, match="not a point of this grid"):
        S.sweep("tiny", "wd=0.3 seed=0,1", dense=["wd9-s0"], **kw)


@pytest.mark.slow
def test_a_changed_config_is_refused_before_anything_is_written(tiny_sweep):
    d, root = tiny_sweep["dir"], tiny_sweep["root"] / "runs"
    before = (d / "sweep.json").read_bytes()
    with pytest.raises(G.SweepError, match="another base config .*lr"):
        S.sweep("tiny", "wd=0.3 seed=0", preset="quick", overrides={**TINY, "lr": 3e-3}, runs_dir=root,
                progress=False, log=lambda line: None)
    assert (d / "sweep.json").read_bytes() == before


@pytest.mark.slow
def test_a_point_of_a_sweep_can_be_extracted(tiny_sweep):
    from grokking.extraction.extract import extract
    r = extract("wd1-s0", progress=False, runs_root=tiny_sweep["dir"], assets_root=tiny_sweep["root"] / "assets")
    s = r["summary"]
    assert s["n_checkpoints"] == len(Run("wd1-s0", tiny_sweep["dir"]).checkpoint_epochs())


@pytest.mark.slow
def test_a_point_is_the_run_sweep_slash_point_for_every_stage(tiny_sweep, monkeypatch):
    """grokking extract/status --run NAME/POINT: runs/NAME/POINT in, assets/NAME/POINT out."""
    root = tiny_sweep["root"]
    r = _cli(["extract", "--run", "tiny/wd0.3-s1", "--quiet"], root, monkeypatch)
    assert r.exit_code == 0, r.output
    assert (root / "assets" / "tiny" / "wd0.3-s1" / "summary.json").exists()
    assert not (root / "assets" / "wd0.3-s1").exists()
    r = _cli(["status", "--run", "tiny/wd0.3-s1"], root, monkeypatch)
    assert r.exit_code == 0 and any(line.split()[:3] == ["extract", "up", "to"] for line in r.output.splitlines()), r.output


# ---- the report ----------------------------------------------------------------------------

@pytest.mark.slow
def test_report_table_agrees_with_the_histories(tiny_sweep):
    from grokking.extraction.mechanism import key_frequencies
    from grokking.lab.report import key_frequencies_at, report
    out = report("tiny", runs_dir=tiny_sweep["root"] / "runs", media_root=tiny_sweep["root"] / "media",
                 progress=False)
    files = set(out["files"])
    assert {"table.csv", "table.md", "phase_diagram.png", "curves.png", "key_frequencies.png"} <= files
    lines = (Path(out["dir"]) / "table.csv").read_text().splitlines()
    head = lines[0].split(",")
    assert len(lines) == 1 + 5
    for line in lines[1:]:
        row = dict(zip(head, line.split(",")))
        run = Run(row["point"], tiny_sweep["dir"])
        ms = run.manifest["milestones"]
        assert row["grokked"] == (str(ms["test_99"]) if ms["test_99"] is not None else "never")
        assert row["memorised"] == str(ms["train_100"])
    row = next(r for r in out["rows"] if r["point"] == "wd1-s0")
    assert row["key_frequencies"] == key_frequencies_at(Run("wd1-s0", tiny_sweep["dir"]).load_checkpoint(300),
                                                        Run("wd1-s0", tiny_sweep["dir"]).config)[0]
    # the phase diagram and the curves are real PNGs
    assert (Path(out["dir"]) / "phase_diagram.png").read_bytes()[:4] == b"\x89PNG"


def test_key_frequencies_recover_a_planted_signal():
    """extraction's rule, as the report calls it, on logits that are cos(w_k(x+y-c)) for k = 3, 7."""
    from grokking.extraction.mechanism import key_frequencies
    p = 23
    x, y = np.divmod(np.arange(p * p), p)
    c = np.arange(p)
    L = sum(a * np.cos(2 * np.pi * k * (x[:, None] + y[:, None] - c[None]) / p) for k, a in ((3, 2.0), (7, 1.0)))
    ks, _ = key_frequencies(L, p)
    assert ks == [3, 7]


def test_phase_diagram_cells_pool_seeds_and_count_never():
    from grokking.lab.sweep_figures import cells
    rows = [{"weight_decay": wd, "frac": f, "seed": s, "grokked": g}
            for wd, f, s, g in [(0.3, 0.3, 0, 100), (0.3, 0.3, 1, 300), (0.3, 0.3, 2, "never"),
                                (1.0, 0.3, 0, "never"), (1.0, 0.3, 1, "never"),
                                (0.3, 0.5, 0, 50), (1.0, 0.5, 0, "not yet")]]
    c = cells(rows, "weight_decay", "frac")
    assert c["x"] == [0.3, 1.0] and c["y"] == [0.3, 0.5]
    assert c["median"][0, 0] == 200 and c["never"][0, 0] == 1 and c["total"][0, 0] == 3
    assert np.isnan(c["median"][0, 1]) and c["never"][0, 1] == 2
    assert c["median"][1, 0] == 50 and c["unfinished"][1, 1] == 1


def test_label_counts_of_pow_tasks():
    from grokking.lab.report import label_counts
    assert (label_counts(7, 1, 1) == 7).all()                     # x + y: every label p times
    p, a, b = 7, 2, 2
    brute = np.zeros(p, int)
    for x in range(p):
        for y in range(p):
            brute[(x ** a + y ** b) % p] += 1
    assert (label_counts(p, a, b) == brute).all() and not (brute == p).all()


# ---- the command line --------------------------------------------------------------------

def _cli(args, tmp_path, monkeypatch):
    import grokking.cli as render
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("grokking.common.paths.RUNS_DIR", Path("runs"))
    return CliRunner().invoke(render.cli, args)


@pytest.mark.parametrize("args, says", [
    (["sweep", "x", "--grid", "colour=1"], "not a config field"),
    (["sweep", "../x", "--grid", "seed=0"], "not allowed"),
    (["sweep", "x/y", "--grid", "seed=0"], "one folder"),
    (["sweep", "x", "--grid", "seed=0", "--threads", "999"], "--threads"),
    (["sweep-report", "nosuch"], "no sweep"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(args, says, tmp_path, monkeypatch):
    r = _cli(args + (["--quiet"] if args[0] == "sweep" else []), tmp_path, monkeypatch)
    assert r.exit_code == 2, r.output
    assert says in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() and not (tmp_path / "media").exists()


def test_ray_without_ray_installed_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)          # import ray raises ImportError
    r = _cli(["sweep", "x", "--grid", "seed=0", "--ray", "auto", "--quiet"], tmp_path, monkeypatch)
    assert r.exit_code == 2 and "pip install '.[cluster]'" in r.output
    assert not (tmp_path / "runs" / "x").exists()
