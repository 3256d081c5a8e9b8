"""Issue 23: the newer surfaces (sweeps, import, Ray, Manim's own command line) refuse clearly and
never lose or fake data. One test (or more) per item, each able to fail: the fault is injected."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from training import sweep as S
from training.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
# a few thousand parameters: ten epochs take well under a second
TINY = ["--preset", "quick", "--p", "5", "--frac", "0.5", "--epochs", "10", "--d-model", "16",
        "--d-mlp", "32", "--quiet", "--compile", "off"]
SWEEP_TINY = dict(p=5, frac=0.5, epochs=10, d_model=16, n_heads=2, d_head=8, d_mlp=32)
SWEEP_OPTS = ["--preset", "quick", "--p", "5", "--frac", "0.5", "--epochs", "10", "--quiet"]


def invoke(*args):
    from render import cli
    return CliRunner().invoke(cli, [str(a) for a in args])


def refused(r, *words):
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2, r.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(Path(root).rglob("*"))} if Path(root).exists() else {}


# ---- item 1: a sweep is never a run, a run never a sweep -----------------------------------------

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
    from interop import open_run
    with pytest.raises(ConfigError, match="is a sweep"):
        open_run("sw")
