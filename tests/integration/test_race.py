"""The race: recipes against each other in `grokking sweep-report`."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grokking.lab import report as R
from grokking.training.config import Config

INF = float("inf")


# ---- planted rows: every number known ------------------------------------------------------

def row(sweep, seed, grokked, cap=2000, done=None, seconds=None, restricted=None, model=None, keys=None, **cfg):
    """A point_row as collect() returns it, for a recipe `cfg` (fields over the canonical config)."""
    done = cap if done is None else done
    complete = grokked != "not yet"
    return {"sweep": sweep, "point": f"{sweep}-s{seed}", "seed": seed, "epochs": cap, "epochs_done": done,
            "status": "complete" if complete else f"training {done}/{cap}", "grokked": grokked,
            "grokked_flag": isinstance(grokked, int), "seconds": seconds, "restricted_loss": restricted,
            "model_loss": model, "key_frequencies": keys, "key_shares": None if keys is None else [0.5] * len(keys),
            "config": Config(epochs=cap, seed=seed, **cfg).to_dict(), "curve": None}


def planted() -> list[dict]:
    rows = []
    # baseline: adamw at the canonical preset's lr 1e-3; seed 2 never groks within the cap
    for s, g in enumerate([800, 1200, "never", 1000]):
        rows.append(row("base", s, g, seconds=100.0, lr=1e-3))
    for s, g in enumerate([400, 600, 500, 700]):                       # the best adamw lr
        rows.append(row("lr3", s, g, lr=3e-3))
    for s, g in enumerate(["never", 300, "never", "not yet"]):         # too high an lr
        rows.append(row("lr10", s, g, done=900 if g == "not yet" else None, lr=1e-2))
    for s, (g, rl, ml) in enumerate([(100, 0.01, 0.02), (200, 0.02, 0.03), (150, 0.5, 0.1), (400, 0.03, 0.05)]):
        rows.append(row("ema", s, g, restricted=rl, model=ml, keys=[14, 35], lr=1e-3, grokfast="ema"))
    for s in range(2):
        rows.append(row("mul", s, 900, lr=1e-3, op="mul", restricted=0.01, model=0.02, keys=[5]))
    return rows


@pytest.fixture(scope="module")
def race():
    rc = R.race(planted(), "canonical")
    return rc, {r["recipe"]: r for r in rc["recipes"]}


def test_recipes_are_the_config_minus_the_seed_named_by_label_and_lr(race):
    rc, by = race
    assert sorted(by) == ["adamw lr=0.001", "adamw lr=0.001 op=mul", "adamw lr=0.003", "adamw lr=0.01",
                          "grokfast-ema a=0.98 l=2 lr=0.001"]
    assert [r["n_seeds"] for r in rc["recipes"]] == [4, 4, 4, 4, 2]


def test_medians_ranges_and_counts(race):
    _, by = race
    b, hi_lr, ema = by["adamw lr=0.001"], by["adamw lr=0.01"], by["grokfast-ema a=0.98 l=2 lr=0.001"]
    # baseline: 800, 1200, never (>= 2000), 1000: the never-grokked seed sits above the median
    assert b["grok"]["median"]["text"] == "1100" and b["grok"]["min"]["text"] == "800"
    assert b["grok"]["max"]["text"] == ">= 2000" and b["n_never"] == 1 and b["n_not_yet"] == 0
    # two nevers of three finished seeds: the median is only a lower bound; the training seed is apart
    assert hi_lr["grok"]["median"]["text"] == ">= 2000" and hi_lr["n_never"] == 2 and hi_lr["n_not_yet"] == 1
    assert ema["grok"]["median"]["text"] == "175" and ema["n_grokked"] == 4
    # wall time: 100 s over 2000 epochs, times the median grokking epoch 1100
    assert b["wall"]["median"]["text"] == "55 s"


def test_the_control_is_the_adamw_lr_that_groks_first_and_the_baseline_the_presets_lr(race):
    rc, by = race
    assert rc["baseline"] == "adamw lr=0.001" and rc["control"] == "adamw lr=0.003"
    assert by["adamw lr=0.003"]["role"] == ["control (best lr)"] and by["adamw lr=0.001"]["role"] == ["baseline"]
    assert by["adamw lr=0.001 op=mul"]["role"] == []             # the baseline is the preset's op, add


def test_speed_ups_are_paired_by_seed_with_never_as_a_lower_bound(race):
    _, by = race
    ema = by["grokfast-ema a=0.98 l=2 lr=0.001"]
    vb = ema["vs_baseline"]
    # per seed 800/100, 1200/200, >= 2000/150 (the baseline never grokked seed 2), 1000/400
    assert vb["per_seed"]["0"]["text"] == "8.00x" and vb["per_seed"]["2"]["text"] == ">= 13.33x"
    assert vb["median"]["text"] == "7.00x" and vb["min"]["text"] == "2.50x" and vb["seeds"] == [0, 1, 2, 3]
    vc = ema["vs_control"]                                     # 400/100, 600/200, 500/150, 700/400
    assert np.isclose(vc["median"]["lo"], (3 + 500 / 150) / 2) and vc["min"]["text"] == "1.75x"
    # the control against the baseline: seed 2 only a lower bound, the median exact
    ctl = by["adamw lr=0.003"]["vs_baseline"]
    assert ctl["per_seed"]["2"]["text"] == ">= 4.00x" and ctl["median"]["text"] == "2.00x"
    # a recipe that never grokked where the baseline did: an upper bound; the training seed is left out
    slow = by["adamw lr=0.01"]["vs_baseline"]
    assert slow["seeds"] == [0, 1, 2] and slow["per_seed"]["0"]["text"] == "<= 0.40x"
    assert slow["per_seed"]["1"]["text"] == "4.00x"
    assert slow["per_seed"]["2"]["text"] == "unknown"         # neither grokked seed 2 within the cap
    assert slow["per_seed"]["2"]["lo"] == 0 and slow["per_seed"]["2"]["hi"] is None


def test_losses_and_key_frequencies_or_na_never_nan(race):
    rc, by = race
    ema = by["grokfast-ema a=0.98 l=2 lr=0.001"]
    assert ema["losses"]["restricted"] == pytest.approx(0.025) and ema["losses"]["model"] == pytest.approx(0.04)
    assert ema["losses"]["below"] == "3/4" and ema["keys"].startswith("s0: 14 (50%), 35 (50%); s1:")
    mul = by["adamw lr=0.001 op=mul"]
    # mul's numbers are in its own coordinates (over the discrete log), and say so
    assert mul["losses"]["text"] == "0.01 / 0.02" and mul["losses"]["below"] == "2/2"
    assert mul["keys"] == "s0: 5 (50%); s1: 5 (50%) (over the discrete log, Z_(p−1))"
    csv_text, md = R.race_table(rc, ["base", "ema"])
    assert "nan" not in (csv_text + md).lower()
    assert md.count("\n| ") == 1 + len(rc["recipes"]) and "| adamw lr=0.003 | control (best lr) |" in md
    files = R.race_files(rc, ["base", "ema"])
    data = json.loads(files["race.json"])                       # strict JSON: no NaN, no Infinity
    assert "NaN" not in files["race.json"].decode() and "Infinity" not in files["race.json"].decode()
    assert data["control"] == "adamw lr=0.003" and files["race.png"][:4] == b"\x89PNG"


def test_interval_arithmetic():
    lo, hi = R.ratio_intervals([100, 2000], [100, INF], [50, 2000], [50, INF])
    assert list(lo) == [2.0, 0.0] and list(hi) == [2.0, INF]
    assert R.bound(3, 3)["text"] == "3" and R.bound(3, INF)["text"] == ">= 3" and R.bound(0, 2)["text"] == "<= 2"
    assert R.bound(0, INF)["text"] == "unknown" and R.bound(3, INF)["hi"] is None


def test_band_holds_gaps_and_spans_the_seeds():
    from grokking.lab.race_figure import band, held
    assert np.array_equal(held(np.array([np.nan, 0.1, np.nan, 0.5, np.nan])), [np.nan, 0.1, 0.1, 0.5, np.nan],
                          equal_nan=True)
    med, lo, hi = band([np.array([0.0, 0.2, 0.4]), np.array([0.0, np.nan, 1.0, 1.0]), np.array([0.0, 0.6, 0.6])])
    assert np.allclose(med[:3], [0.0, 0.2, 0.6]) and np.allclose(lo[:3], [0, 0, 0.4]) and np.allclose(hi[:3], [0, 0.6, 1])
    assert np.isnan(med[3])                                     # only the longest curve reaches epoch 3


# ---- real tiny sweeps through the command line ---------------------------------------------

TINY = dict(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, weight_decay=1.0, epochs=40)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from grokking.lab import sweep as S
    from grokking.training import grid as G
    root = tmp_path_factory.mktemp("race")
    kw = dict(preset="quick", overrides=TINY, runs_dir=root / "runs", progress=False, log=lambda line: None)
    S.sweep("ra", "lr=0.003,0.03 seed=0,1", **kw)
    S.sweep("rb", "grokfast=ema seed=0,1", **kw)
    return root


def _cli(args, cwd, monkeypatch):
    import grokking.cli as render
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(render.cli, ["sweep-report", *args, "--runs-dir", "runs", "--quiet"])


@pytest.mark.slow
def test_the_race_of_several_sweeps_agrees_with_the_histories(tiny, monkeypatch):
    from grokking.training.history import Run
    r = _cli(["ra", "rb"], tiny, monkeypatch)
    assert r.exit_code == 0, r.output
    out = tiny / "media" / "race-report"
    assert sorted(p.name for p in out.iterdir()) == ["race.csv", "race.json", "race.md", "race.png"]
    data = json.loads((out / "race.json").read_text())
    assert data["sweeps"] == ["ra", "rb"] and len(data["recipes"]) == 3
    # the quick preset's lr is 3e-3: the baseline is ra's lr=0.003
    assert data["baseline"] == "adamw lr=0.003" and data["control"] in ("adamw lr=0.003", "adamw lr=0.03")
    for rec in data["recipes"]:
        for s in rec["seeds"]:
            m = Run(s["point"].split("/")[1], tiny / "runs" / s["point"].split("/")[0]).manifest
            t99 = m["milestones"]["test_99"]
            assert s["grokked"] == (t99 if t99 is not None else "never")
        assert rec["n_grokked"] + rec["n_never"] == rec["n_seeds"] == 2
    assert (out / "race.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_one_sweep_writes_its_race_beside_its_table(tiny, monkeypatch):
    r = _cli(["ra"], tiny, monkeypatch)
    assert r.exit_code == 0, r.output
    out = tiny / "media" / "ra" / "sweep-report"
    assert {"table.md", "race.md", "race.csv", "race.json", "race.png"} <= {p.name for p in out.iterdir()}
    assert "| adamw lr=0.003 | baseline" in (out / "race.md").read_text()


@pytest.mark.slow
def test_the_reports_losses_are_extractions(tiny):
    """mechanism_at gives what extraction's story check compares (check_at), at a point's last checkpoint."""
    from grokking.extraction.extract import check_at
    from grokking.training.history import Run
    run = Run("lr0.03-s0", tiny / "runs" / "ra")
    last = run.checkpoint_epochs()[-1]
    got = R.mechanism_at(run.load_checkpoint(last), run.config, run.split())
    S = check_at(run, last)
    alg = next(c for c in S["story_check"]["criteria"] if c["name"] == "algorithm")
    assert got["key_frequencies"] == S["key_frequencies"]
    assert got["model_loss"] == pytest.approx(alg["model_test_loss"], rel=1e-9)
    if alg["restricted_test_loss"] is None:
        assert got["restricted_loss"] is None
    else:
        assert got["restricted_loss"] == pytest.approx(alg["restricted_test_loss"], rel=1e-6)


@pytest.mark.parametrize("names", [["nosuch"], ["ra", "nosuch"], ["nosuch", "ra"]])
@pytest.mark.slow
def test_a_missing_sweep_is_one_line_exit_2_and_writes_nothing(names, tiny, tmp_path, monkeypatch):
    import shutil
    shutil.copytree(tiny / "runs", tmp_path / "runs")
    r = _cli(names, tmp_path, monkeypatch)
    assert r.exit_code == 2, r.output
    assert "no sweep" in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "media").exists()
