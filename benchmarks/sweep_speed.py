"""A sweep against training the same points one by one, in one run.

  sweep        `grokking sweep`'s own driver (lab/sweep.py): batched models, parallel
               processes sized to the cores
  one by one   each point trained alone, in this process, with every core (the trainer's
               thread tuner on), as a loop over `grokking train` would (less its start-ups)

Both train the same points with the same configs (the sweep's compact schedule) into a
temporary folder that is removed afterwards. Wall and CPU seconds (this process and its
children) are printed for each, with the ratio.

    python benchmarks/sweep_speed.py [--grid "wd=1,2 frac=0.3,0.5 seed=0,1,2"] [--preset quick]
                                     [--only sweep|one-by-one]
"""
from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from grokking.lab import sweep as S  # noqa: E402
from grokking.training import grid as G  # noqa: E402
from grokking.training.config import PRESETS  # noqa: E402
from grokking.training.history import Run  # noqa: E402
from grokking.training.train import Seeded, train  # noqa: E402

GRID = "wd=1,2 frac=0.3,0.5 seed=0,1,2"


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn) -> tuple[float, float]:
    w, c = time.perf_counter(), cpu_seconds()
    fn()
    return time.perf_counter() - w, cpu_seconds() - c


def by_sweep(root: Path, grid: str, preset: str):
    S.sweep("bench", grid, preset=preset, runs_dir=root, progress=False, log=lambda line: None)


def one_by_one(root: Path, grid: str, preset: str):
    for p in G.expand(PRESETS[preset], G.parse_grid(grid)):
        train([Seeded(p.cfg, Run(p.name, root))], device="cpu", progress=False)


@click.command()
@click.option("--grid", default=GRID, show_default=True)
@click.option("--preset", type=click.Choice(list(PRESETS)), default="quick", show_default=True)
@click.option("--only", type=click.Choice(["sweep", "one-by-one"]), help="Time one side only.")
def main(grid, preset, only):
    n = len(G.expand(PRESETS[preset], G.parse_grid(grid)))
    print(f"{n} points of the {preset} preset, grid {grid!r}, {S.cores()} cores")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="sweep-bench-", dir=".") as tmp:
        for side, fn in (("sweep", by_sweep), ("one by one", one_by_one)):
            if only and only.replace("-", " ") != side:
                continue
            root = Path(tmp) / side.replace(" ", "-")
            rows[side] = timed(lambda: fn(root, grid, preset))
            print(f"  {side:<11} {rows[side][0]:7.1f} s wall  {rows[side][1]:7.1f} s CPU", flush=True)
            shutil.rmtree(root)
    if len(rows) == 2:
        print(f"  one by one / sweep: x{rows['one by one'][0] / rows['sweep'][0]:.2f} wall")


if __name__ == "__main__":
    main()
