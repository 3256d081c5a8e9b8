#!/usr/bin/env python
"""Train runs with and without the embedding smoothness penalty and tabulate what each learned
(the seed table of results/recipes-and-seeds.md): milestones, key frequencies, and whether the mechanism measures hold.

    python -m grokking.lab.seed_table --smooth 0,1e-3 --seeds 0,1,2 [--frac 0.3] [--device cuda]

Each setting trains its seeds batched in a process of its own (runs/<prefix>-<setting>-s<seed>),
then every run is extracted, in parallel; the table is printed as Markdown and saved as JSON.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import time
from pathlib import Path

import click
import numpy as np



def _name(prefix, smooth, frac, seed):
    return f"{prefix}-l{smooth:g}-f{frac:g}-s{seed}"


def _train(args):
    prefix, smooth, frac, seeds, stride, device, epochs, threads = args
    import torch
    torch.set_num_threads(threads)
    from grokking.training import config as C
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    cfg = C.CANONICAL.replace(smooth=smooth, frac=frac, epochs=epochs,
                              schedule=C.Schedule(**{**vars(C.CANONICAL.schedule), "stride": stride}))
    jobs = [Seeded(cfg.replace(seed=s), Run(_name(prefix, smooth, frac, s))) for s in seeds]
    t0 = time.perf_counter()
    r = train(jobs, device=device, progress=False)
    return {"smooth": smooth, "frac": frac, "seconds": time.perf_counter() - t0, "epochs": r["end"] - r["start"],
            "seeds": len(seeds)}


def _extract(name):
    import torch
    torch.set_num_threads(1)
    from grokking.extraction.extract import extract
    extract(name, progress=False)
    return name


def row(name: str) -> dict:
    """One run's line of the table, from its assets."""
    d = Path("assets") / name
    s = json.loads((d / "summary.json").read_text())
    c = np.load(d / "curves.npz")
    p = s["task"]["p"]
    keys = [int(k) for k in s["key_frequencies"]]
    ms, ph = s["milestones"], s["phases"]
    mem = int(np.searchsorted(c["epoch"], ms["train_100"] or 0))
    return {
        "run": name, "smooth": s["task"].get("smooth"), "frac": s["task"]["frac"], "seed": s["task"]["seed"],
        "train_100": ms["train_100"], "test_99": ms["test_99"],
        "key_frequencies": keys, "lowest": min((min(k, p - k) for k in keys), default=None),
        "all_le_10": bool(keys) and max(min(k, p - k) for k in keys) <= 10,
        "embedding_frequencies": s["embedding_frequencies"],
        "clustered": s["neurons"]["share_clustered"],
        "restricted_below_model": bool(c["restricted_loss_test"][-1] < c["test_loss"][-1]),
        "restricted_test": float(c["restricted_loss_test"][-1]), "model_test": float(c["test_loss"][-1]),
        "excluded_rise": float(np.nanmax(c["excluded_loss"][mem:]) / c["excluded_loss"][mem]),
        "cleanup": [ph.get("cleanup_start"), ph.get("cleanup_end")],
    }


def markdown(rows: list[dict]) -> str:
    head = ("| λ | frac | seed | train 100 % | test 99 % | key frequencies | lowest k | all ≤ 10 | "
            "FVE ≥ 0.85 | restricted < model (test) | excluded loss rise |")
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        out.append(f"| {r['smooth']:g} | {r['frac']:g} | {r['seed']} | {r['train_100']} | {r['test_99'] or 'never'} | "
                   f"{r['key_frequencies']} | {r['lowest']} | {'yes' if r['all_le_10'] else 'no'} | "
                   f"{r['clustered']:.0%} | {'yes' if r['restricted_below_model'] else 'no'} "
                   f"({r['restricted_test']:.2g} vs {r['model_test']:.2g}) | ×{r['excluded_rise']:.1f} |")
    return "\n".join(out)


@click.command()
@click.option("--smooth", default="0,1e-3", show_default=True, help="Penalty weights, comma-separated.")
@click.option("--frac", default="0.3", show_default=True, help="Train fractions, comma-separated.")
@click.option("--seeds", default="0,1,2", show_default=True)
@click.option("--epochs", default=20000, show_default=True)
@click.option("--stride", default=100, show_default=True, help="Checkpoint stride after the dense start.")
@click.option("--device", default="auto", show_default=True)
@click.option("--prefix", default="table", show_default=True)
@click.option("--procs", default=0, help="Parallel processes (default: one per setting, at most the cores).")
def main(smooth, frac, seeds, epochs, stride, device, prefix, procs):
    import os
    smooths = [float(v) for v in smooth.split(",")]
    fracs = [float(v) for v in frac.split(",")]
    seed_list = [int(v) for v in seeds.split(",")]
    settings = [(l, f) for l in smooths for f in fracs]
    cores = os.cpu_count() or 1
    procs = procs or min(len(settings), cores)
    threads = max(1, cores // procs)
    ctx = mp.get_context("spawn")
    t0 = time.perf_counter()
    with ctx.Pool(procs) as pool:
        timings = pool.map(_train, [(prefix, l, f, seed_list, stride, device, epochs, threads) for l, f in settings])
    names = [_name(prefix, l, f, s) for l, f in settings for s in seed_list]
    t1 = time.perf_counter()
    with ctx.Pool(min(len(names), cores)) as pool:
        pool.map(_extract, names)
    rows = [row(n) for n in names]
    for t in timings:
        print(f"trained λ={t['smooth']:g} frac={t['frac']:g}: {t['seeds']} seeds × {t['epochs']} epochs "
              f"in {t['seconds']:.0f}s ({t['epochs'] / t['seconds']:.1f} epochs/s)")
    print(f"training {t1 - t0:.0f}s, extraction {time.perf_counter() - t1:.0f}s\n")
    print(markdown(rows))
    Path(f"{prefix}-table.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
