"""Sweeps on Ray: a local Ray instance trains a tiny sweep, one of its tasks is
killed (os._exit) once it has committed a checkpoint at epoch >= 100, Ray retries it and its
points resume from their last checkpoints to the same weights as an uninterrupted batch."""
import numpy as np
import pytest

ray = pytest.importorskip("ray")

from grokking.lab import sweep as S

from grokking.training import grid as G            # noqa: E402
from grokking.training.history import Run           # noqa: E402

TINY = dict(p=23, d_model=32, n_heads=4, d_head=8, d_mlp=64, lr=1e-2, weight_decay=1.0, frac=0.6, epochs=300)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_a_killed_task_is_retried_and_its_points_resume(local_ray, tmp_path):
    marker = tmp_path / "killed-once"
    root = tmp_path / "runs"
    r = S.sweep("rs", "wd=0.3,1 seed=0,1", preset="quick", overrides=TINY, runs_dir=root, ray="auto",
                progress=False, log=lambda line: None,
                fault={"marker": str(marker), "after_epoch": 100})
    assert marker.exists()                                  # the first attempt died at epoch >= 100
    faulted = [x for x in r["results"] if x["faulted"]]
    assert len(faulted) == 1 and len(r["results"]) == r["batches"]
    faulted = faulted[0]
    assert 0 < faulted["start"] < TINY["epochs"]            # the retry resumed, it did not restart
    assert faulted["start"] >= 100 - 10                     # from the last checkpoints it had (5 epochs apart here)
    for p in G.load_points(root / "rs"):
        run = Run(p.name, root / "rs")
        assert run.manifest["status"] == "complete" and not run.verify()

    # the same batch trained without a kill, in this process: the same weights and metrics
    again = tmp_path / "again"
    spec = S.batch_spec([p for p in G.load_points(root / "rs") if p.name in faulted["points"]], again, 1)
    S.run_batch(spec)
    for name in faulted["points"]:
        a, b = Run(name, root / "rs"), Run(name, again)
        assert np.array_equal(a.metrics()["train_loss"], b.metrics()["train_loss"], equal_nan=True)
        wa, wb = a.load_checkpoint(TINY["epochs"]), b.load_checkpoint(TINY["epochs"])
        assert all(np.array_equal(wa[k], wb[k]) for k in wa)
