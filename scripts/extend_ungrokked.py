#!/usr/bin/env python
"""Extend the points of sweeps that finished without grokking to more epochs, batched per recipe
(the points' configs minus the seed), leaving the points that grokked as they are: a race
(render.py sweep-report A B ...) then reads each seed's cap from its own manifest.

    python scripts/extend_ungrokked.py race-ema race-adamw --epochs 4000 [--runs-dir DIR]
    [--points "lr0.001-*"] [--deadline 20:25]

Trains nothing past --deadline (HH:MM, local time) is reached before a batch starts; a batch in
flight can be interrupted and resumed like any training (the same command).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@click.command()
@click.argument("sweeps", nargs=-1, required=True)
@click.option("--epochs", type=int, required=True)
@click.option("--runs-dir", default=None)
@click.option("--deadline", default=None, help="HH:MM: start no batch after it.")
@click.option("--points", default="*", show_default=True, help="Only the points whose names match this glob.")
def main(sweeps, epochs, runs_dir, deadline, points):
    import fnmatch
    from training.history import Run
    from training.sweep import load_points, sweep_dir
    from training.train import Seeded, batch_key, train
    groups: dict = {}
    for name in sweeps:
        root = sweep_dir(name, runs_dir)
        for p in load_points(root):
            run = Run(p.name, root)
            if not run.exists() or not fnmatch.fnmatch(p.name, points):
                continue
            m = run.manifest
            if m["status"] != "complete" or m["milestones"]["test_99"] is not None or m["epochs_done"] >= epochs:
                continue
            cfg = run.config.replace(epochs=epochs)
            groups.setdefault(batch_key(cfg), []).append(Seeded(cfg, run))
    for jobs in groups.values():
        if deadline and time.strftime("%H:%M") >= deadline:
            click.echo(f"deadline {deadline} reached; left: {[j.run.name for j in jobs]}")
            continue
        click.echo(f"extending to {epochs}: {', '.join(j.run.name for j in jobs)}", err=True)
        train(jobs, progress=False)


if __name__ == "__main__":
    main()
