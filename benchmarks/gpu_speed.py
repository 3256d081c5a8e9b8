#!/usr/bin/env python
"""Training throughput on a CUDA GPU through the trainer itself (checkpoints included):
one canonical model with the canonical checkpoint schedule, one with checkpoints only at
the first and last epoch (the step alone), and 64 seeds batched as one model (likewise).

    python benchmarks/gpu_speed.py [--epochs 2000] [--seeds 64]
"""
import sys
import tempfile
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@click.command()
@click.option("--epochs", default=2000, show_default=True)
@click.option("--seeds", "n_seeds", default=64, show_default=True)
@click.option("--device", default="cuda", show_default=True)
def main(epochs, n_seeds, device):
    from grokking.training import config as C
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    root = Path(tempfile.mkdtemp(prefix="gpu-speed-"))

    def go(label, seeds, n, sch):
        cfg = C.CANONICAL.replace(epochs=n, schedule=sch)
        jobs = [Seeded(cfg.replace(seed=s), Run(f"{label}-s{s}", root)) for s in seeds]
        t0 = time.perf_counter()
        r = train(jobs, device=device, progress=False)
        wall = time.perf_counter() - t0
        print(f"{label:<24} {len(seeds):>3} seed(s) x {n} epochs: {n / r['seconds']:8.1f} epochs/s "
              f"({len(seeds) * n / r['seconds']:9.0f} model-epochs/s; {wall:.1f}s wall incl. set-up)", flush=True)

    # the first epochs of the canonical schedule are its densest (~200 checkpoints by epoch 1000)
    go("canonical-schedule", [0], epochs, C.CANONICAL.schedule)
    only_ends = C.Schedule(dense_until=0, log_until=0, n_log=0, stride=10**9)   # epochs 0 and last
    go("no-checkpoints", [0], epochs, only_ends)
    go(f"batched{n_seeds}", list(range(n_seeds)), max(epochs // 4, 1), only_ends)


if __name__ == "__main__":
    main()
