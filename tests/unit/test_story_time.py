"""The story in time (docs/science.md §8): the story check's rows delay, steady and replay on
planted histories, and replays measured at their own checkpoints (the probe refitted there)."""
import numpy as np
import pytest

from grokking.common import assets as fmt
from grokking.extraction import replay as rp
from grokking.extraction import story_check as sc
from tests.synthetic import make_synthetic_assets, planted_history


def _row(rows, name):
    return next(r for r in rows if r["name"] == name)


# ---- delay --------------------------------------------------------------------------------

def test_a_long_plateau_passes_the_delay():
    train, raw, test = planted_history(fit=100, grok=3000)          # 30x, test 1 % at 500
    d = sc.delay(train, test)
    assert d["passed"], d["value"]
    grok = int(np.flatnonzero(test >= sc.GROK_ACC)[0])                  # a measured epoch, just before 3000
    assert (d["fit_epoch"], d["grok_epoch"], d["early_epoch"]) == (99, grok, 495) and np.isfinite(raw[grok])
    assert d["ratio"] == pytest.approx(grok / 99) and d["test_at_early"] < sc.EARLY_MAX_TEST


def test_a_delay_too_short_fails():
    # the default run: train fitted at 57, test 99 % at 219 (3.8x)
    train, raw, test = planted_history(fit=57, grok=219, E=600)
    d = sc.delay(train, test)
    assert not d["passed"] and "(3.8x)" in d["value"], d["value"]
    # long enough, but the test accuracy is already up at 5x fitting: no plateau to speak of
    train, raw, test = planted_history(fit=100, grok=2500, rise_from=60)
    d = sc.delay(train, test)
    assert d["ratio"] >= sc.MIN_DELAY and d["test_at_early"] >= sc.EARLY_MAX_TEST and not d["passed"], d["value"]


def test_a_run_that_never_groks_fails_delay_and_steady():
    train, raw, test = planted_history(fit=100, grok=3000, E=2000)
    assert not sc.delay(train, test)["passed"] and "never grokked" in sc.delay(train, test)["value"]
    assert not sc.steady(train, test, np.isfinite(raw))["passed"]


# ---- steady -------------------------------------------------------------------------------

def test_an_ungrokking_fails_steady():
    train, raw, test = planted_history(fit=100, grok=3000, collapse=(4000, 4080))
    s = sc.steady(train, test, np.isfinite(raw))
    assert not s["passed"]
    assert s["worst_train"] == {"epoch": 4000, "acc": pytest.approx(0.21)}
    assert s["worst_test"]["epoch"] == 4000 and s["worst_test"]["acc"] == pytest.approx(0.65)
    assert "21%" in s["value"] and "65%" in s["value"]
    ok = sc.steady(*planted_history(fit=100, grok=3000)[::2], np.isfinite(planted_history(fit=100, grok=3000)[1]))
    assert ok["passed"], ok["value"]


def test_steady_reads_test_accuracy_only_where_it_was_measured():
    # a collapse of train accuracy is seen at every epoch; test accuracy only where measured
    train, raw, test = planted_history(fit=100, grok=3000, collapse=(4001, 4005), test_every=10)
    s = sc.steady(train, test, np.isfinite(raw))
    assert not s["passed"] and s["worst_train"]["epoch"] == 4001
    assert s["worst_test"]["acc"] >= sc.STEADY_TEST          # the test split was not measured in the dip


# ---- replay: the captions and their numbers ------------------------------------------------

CK = [0, 50, 100, 1000, 1400, 3000, 5000]


def _claims(probe, waves, rows):
    train, raw, test = planted_history(fit=100, grok=3000)
    at = rp.claim_epochs(train, test, CK)
    return rp.claims(at, CK, {"probe_r2": probe, "wave_fit": waves, "surface_rows": rows})


def test_claims_are_measured_at_their_checkpoints():
    train, raw, test = planted_history(fit=100, grok=3000)
    at = rp.claim_epochs(train, test, CK)
    # memorised: the first checkpoint at or after 100 % train accuracy; the rise: the last before 50 % test
    assert at["memorised_epoch"] == 100 and at["memorised"] == 100
    assert at["rise_epoch"] == int(np.flatnonzero(test >= rp.RISE_ACC)[0]) and at["before the rise"] == 1400
    c = {x["name"]: x for x in _claims([0.3, 0.3, 0.35, 0.5, 0.9, 0.95, 0.97], [0.1] * 3 + [0.5, 0.9, 0.95, 0.97],
                                       [0.0, 0.0, 0.01, 0.2, 0.7, 1.0, 1.0])}
    assert (c["no wave yet"]["epoch"], c["no wave yet"]["value"]) == (100, 0.35)
    assert (c["the wave takes shape"]["epoch"], c["the wave takes shape"]["value"]) == (1400, 0.9)
    assert all(x["holds"] for x in c.values())
    assert sc.replay(list(c.values()))["passed"]


def test_a_caption_whose_number_contradicts_it_fails():
    # TrainingStory would say "the wave takes shape" before the rise, but the probe's R² there is 0.07
    claims = _claims([0.3, 0.3, 0.35, 0.05, 0.07, 0.9, 0.97], [0.1] * 3 + [0.5, 0.9, 0.95, 0.97],
                     [0.0, 0.0, 0.01, 0.2, 0.7, 1.0, 1.0])
    r = sc.replay(claims)
    assert not r["passed"]
    assert "'the wave takes shape'" in r["value"] and "R² 0.07 < 0.80" in r["value"] and "epoch 1,400" in r["value"]
    # a claim's own `holds` is not trusted: the row compares the number with the threshold itself
    lie = [dict(c, holds=True) for c in claims]
    assert not sc.replay(lie)["passed"]
    # and the caption the scene shows is the one its number says, with the threshold beside it
    wave = next(c for c in claims if c["name"] == "the wave takes shape")
    assert rp.caption(wave) == "no wave yet (R² 0.07 < 0.80)"
    assert rp.caption(dict(wave, value=0.91)) == "the wave takes shape (R² 0.91 ≥ 0.80)"
    rows = next(c for c in claims if c["name"] == "the surface takes shape")
    assert rp.caption(dict(rows, value=0.04)) == "no ridge yet (4% of rows on its line < 50%)"


def test_replay_numbers_not_measured_per_checkpoint_fail():
    claims = _claims([0.3] * 3 + [0.5, 0.9, 0.95, 0.97], [0.1] * 3 + [0.5, 0.9, 0.95, 0.97], [0.0] * 3 + [0.2, 0.7, 1, 1])
    assert sc.replay(claims)["passed"] and not sc.replay(claims, per_checkpoint=False)["passed"]
    assert not sc.replay([dict(claims[0], value=None)])["passed"]      # a claim not measured is no pass


# ---- the check as a whole: the schema, the printed lines, summary.json ---------------------

def test_the_story_check_has_every_row_in_order_and_write_refuses_one_missing(tmp_path):
    make_synthetic_assets(tmp_path, "synth")
    chk = fmt.Assets("synth", tmp_path).story_check
    assert [c["name"] for c in chk.criteria] == list(fmt.StoryCheck.ROWS) and chk.problems() == []
    assert chk.row("delay")["fit_epoch"] is not None and chk.row("replay")["claims"]
    md = (tmp_path / "synth" / "summary.md").read_text()
    assert "## Replay claims" in md and "'the wave takes shape'" in md and "(it needs >= 0.8)" in md
    lines = sc.lines(chk.to_json())
    assert "  in time:" in lines and any(ln.startswith("  FAIL  delay") or ln.startswith("  PASS  delay")
                                         for ln in lines)
    four = fmt.StoryCheck.from_json({**chk.to_json(), "criteria": chk.criteria[:4]})
    assert four.problems() and "expected" in four.problems()[0]
    bare = [dict(c) for c in chk.criteria]
    bare[4].pop("ratio")
    assert fmt.StoryCheck.from_json({**chk.to_json(), "criteria": bare}).problems() == \
        ["story_check row 'delay' lacks 'ratio'"]
    with pytest.raises(ValueError, match="story_check rows"):
        _write_with(tmp_path, four)


def _write_with(root, check):
    """Write synthetic assets whose story check is `check` (through write(), which checks it)."""
    import json
    make_synthetic_assets(root, "tmp")
    a = fmt.Assets("tmp", root)
    files = {n: dict(a[n]) for n in fmt.FILES}
    summary = json.loads((root / "tmp" / "summary.json").read_text())
    summary["story_check"] = check.to_json()
    fmt.write(root / "again", files, summary, {"run": "again"})


# ---- the probe refitted at every checkpoint ------------------------------------------------

def test_a_refitted_probe_reads_each_checkpoint_a_fixed_one_the_end():
    """Planted: the wave cos(wx) lives in embedding dimension 3 early and in dimension 9 at the
    end. The end's probe, held fixed, reads dimension 9 and finds nothing early; refitted at each
    checkpoint, it finds the wave where it is."""
    p, d, k = 53, 24, 4
    x = np.arange(p)
    rng = np.random.default_rng(0)
    wave = np.cos(2 * np.pi * k * x / p)
    early, end = rng.normal(0, 0.05, (p, d)), rng.normal(0, 0.05, (p, d))
    early[:, 3] += wave
    end[:, 9] += wave
    from grokking.extraction.probes import r2, sparse_probe
    fixed = sparse_probe(end, wave, 8)
    assert fixed["dims"][0] == 9
    fixed_early = r2(early @ fixed["weights"] + fixed["bias"], wave)
    refit = rp.probe_at(early, early, wave, 8, fixed["dims"])
    assert fixed_early < 0.2 < 0.95 < refit["r2"] and refit["dims"][0] == 3
    # at the end, the end's dimensions refitted are the end's probe, and nothing fits worse
    assert rp.probe_at(end, end, wave, 8, fixed["dims"])["r2"] >= fixed["r2"] - 1e-12


def test_sweep_fit_and_rows_on_line():
    p = 31
    y = np.arange(p)
    clean = np.cos(2 * np.pi * 3 * y / p + 0.4)
    assert rp.sweep_fit(np.stack([clean, np.full(p, 2.0)]), [3, 3]) == pytest.approx([1.0, 0.0])
    assert rp.sweep_fit(clean[None], [5])[0] < 1e-12
    X, Y = np.meshgrid(y, y, indexing="ij")
    ridge = np.cos(2 * np.pi * (X + Y - 7) / p)
    assert rp.rows_on_line(ridge, 7) == 1.0 and rp.rows_on_line(ridge, 9) == 0.0
    assert rp.rows_on_line(ridge, 9, tol=2) == 1.0


def test_a_tiny_trained_run_replays_each_checkpoint_and_check_at_has_the_rows_in_time(runs_dir, tiny_cfg):
    """Trained (p = 11, 60 epochs) and extracted: the probe refitted at every checkpoint is never
    worse than the end's probe held fixed, is that probe at the analysis checkpoint (as
    EmbeddingProbe shows it), and differs from it early on; check_at (the seed choice's check) has every row, those in time from the history."""
    from grokking.extraction.extract import check_at, extract
    from grokking.pipeline.choose import verdict
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    train([Seeded(tiny_cfg.replace(epochs=60), Run("tiny"))], progress=False)
    extract("tiny", progress=False, runs_root=runs_dir, assets_root=runs_dir.parent / "assets")
    a = fmt.Assets("tiny", runs_dir.parent / "assets")
    pr = a["probes"]
    refit, fixed = np.asarray(pr["cos_r2"]), np.asarray(pr["cos_r2_fixed"])
    assert np.all(refit >= fixed - 1e-9)
    assert refit[-1] == fixed[-1] == a.probe.cos["r2"]
    assert refit[0] - fixed[0] > 0.1, (refit[0], fixed[0])
    assert a.replay.found and a.replay.per_checkpoint
    assert a.story_check.problems() == []
    ev = a["evolution"]
    C = len(a["curves"]["epoch"])
    for key in ("wave_fit", "crest_rows_on_line", "logit_rows_on_line"):
        if key in ev:
            assert len(ev[key]) == C
    S = check_at(Run("tiny"), Run("tiny").checkpoint_epochs()[-1])
    names = [c["name"] for c in S["story_check"]["criteria"]]
    assert names == list(fmt.StoryCheck.ROWS)
    # the rows in time read the same history extraction reads
    ext = {c["name"]: c for c in a.story_check.criteria}
    for c in S["story_check"]["criteria"][4:6]:
        assert c["value"] == ext[c["name"]]["value"]
    v = verdict(0, S["story_check"], 1.0)
    assert set(v["failed"]) <= set(fmt.StoryCheck.ROWS) and v["passed"] == S["story_check"]["passed"]
    # at an earlier epoch, check_at reads the history only that far
    early = check_at(Run("tiny"), 20)
    assert all(c.get("grok_epoch") is None or c["grok_epoch"] <= 20 for c in early["story_check"]["criteria"])
