"""The training benchmarks compare equal work: the same epochs measure the test split and write a
checkpoint in every compared workload (nothing here is timed)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import plain_train  # noqa: E402
import train_process  # noqa: E402
import train_speed  # noqa: E402


def test_the_whole_process_plan_is_the_trainers_cadence():
    from grokking.training.config import PRESETS, schedule_epochs
    from grokking.training.train import test_epochs
    p = train_process.plan_for("canonical", 1000, 600)
    assert p["test"] == p["checkpoints"] == list(range(1020, 1601, 20))
    q = train_process.plan_for("quick", 30, 100)
    cfg = PRESETS["quick"].replace(epochs=130)
    assert q["test"] == sorted(e for e in test_epochs(cfg, 130) if e > 30)
    assert q["checkpoints"] == [e for e in schedule_epochs(cfg.schedule, 130) if e > 30]
    assert set(q["checkpoints"]) <= set(q["test"]) and q["test"][-1] == 130


def test_every_row_has_the_same_mix_and_the_every_epoch_ratio_is_labelled_apart():
    T, W, M = train_speed.TRAIN_ONLY, train_speed.WITH_TEST, train_speed.MIX
    times = {f"peer, {T}": [1.0, 2.0], f"peer, {W}": [3.0, 4.0],
             f"this project, {T}": [0.1, 0.1], f"this project, {W}": [0.3, 0.5]}
    mixed = train_speed.with_mix(times, ["peer", "this project"], 0.25)
    assert mixed[f"peer, {M}"] == pytest.approx([1.5, 2.5])
    assert mixed[f"this project, {M}"] == pytest.approx([0.15, 0.2])
    r = train_speed.ratios(mixed, ["peer"], "this project")
    assert r["equal work (the run's mix)"]["peer"] == pytest.approx([10.0, 12.5])
    assert r[train_speed.EVERY_EPOCH]["peer"] == pytest.approx([20.0, 20.0])


def test_the_plain_script_measures_and_checkpoints_the_plan_and_resumes(tmp_path):
    plan = {"preset": "quick", "start": 0, "end": 3, "test": [1, 3], "checkpoints": [2, 3]}
    (tmp_path / "a.json").write_text(json.dumps(plan))
    plain_train.main(["--plan", str(tmp_path / "a.json"), "--out", str(tmp_path / "a")])
    assert sorted(f.name for f in (tmp_path / "a").iterdir()) == ["e000002.pt", "e000003.pt"]
    s = torch.load(tmp_path / "a" / "e000003.pt")
    assert s["epoch"] == 3 and len(s["metrics"]) == 3 and s["scheduler"]["last_epoch"] == 3
    tested = [m[1] == m[1] for m in s["metrics"]]            # NaN where the test split was not measured
    assert tested == [True, False, True]
    (tmp_path / "b.json").write_text(json.dumps({**plan, "start": 3, "end": 4, "test": [4], "checkpoints": [4]}))
    plain_train.main(["--plan", str(tmp_path / "b.json"), "--out", str(tmp_path / "b"),
                      "--resume", str(tmp_path / "a" / "e000003.pt")])
    assert torch.load(tmp_path / "b" / "e000004.pt")["scheduler"]["last_epoch"] == 4


@pytest.mark.slow
def test_the_late_phase_times_a_runs_last_state_with_subnormals_flushed_and_not(tmp_path):
    """The late segment runs from the run's last resume state and from its first weights, in a
    process with flush-to-zero off and one with it on; the report names both and their ratio."""
    from grokking.training.config import QUICK
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    cfg = QUICK.replace(p=11, d_model=16, n_heads=2, d_head=8, d_mlp=32, epochs=30)
    train([Seeded(cfg, Run("late", tmp_path))], progress=False)
    res = train_speed.late_phase("late", str(tmp_path), rounds=2, n=2)
    assert [r["flush"] for r in res] == [False, True]
    assert all(len(r["early"]) == 2 and len(r["late"]) == 2 and r["epoch"] == 30 for r in res)
    text = train_speed.late_report(res, "late")
    assert "flushed (now)" in text and "as they come (before)" in text and "epoch 30" in text
