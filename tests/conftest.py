import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """Point every stage at a fresh runs/ folder (runs/ is relative to the working directory)."""
    monkeypatch.chdir(tmp_path)
    from grokking.common import paths
    monkeypatch.setattr(paths, "RUNS_DIR", Path("runs"))
    return tmp_path / "runs"


@pytest.fixture
def tiny_cfg():
    """A model small enough that a few dozen epochs take a second."""
    from grokking.training.config import Config, Schedule
    return Config(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, epochs=40,
                  schedule=Schedule(dense_until=5, log_until=20, n_log=4, stride=5))


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """The quick preset trained once per session and extracted: a small model that groks."""
    from grokking.extraction.extract import extract
    from grokking.training.config import QUICK
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    root = tmp_path_factory.mktemp("quick")
    run = Run("quick", root / "runs")
    result = train([Seeded(QUICK, run)], progress=False)
    extract("quick", progress=False, runs_root=root / "runs", assets_root=root / "assets")
    return {"root": root, "run": run, "train": result, "assets": root / "assets" / "quick"}
