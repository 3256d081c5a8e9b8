"""Extraction speed: our batched pass over the history against a plain per-checkpoint loop.

Both compute the same per-checkpoint measures (restricted and excluded loss, attention from
'=', embedding Fourier norms) on the same checkpoints of a run, side by side in one process.
The plain loop runs the reference model one checkpoint at a time, with the 2D Fourier
transform of the logits done in full. Prints per-checkpoint medians, their ratio, and the
implied time for the whole history.

    python benchmarks/extract_speed.py --run canonical [--checkpoints 24]
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import click
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from grokking.extraction import fourier as fo  # noqa: E402
from grokking.extraction import mechanism as mech  # noqa: E402
from grokking.extraction.extract import analyse, over_history, settings_for  # noqa: E402
from grokking.training import reference, tasks  # noqa: E402
from grokking.training.history import Run  # noqa: E402


def plain_checkpoint(W: dict, cfg, keys, split) -> dict:
    """One checkpoint the textbook way: every position, full 2D transforms, numpy losses."""
    p = cfg.p
    x, y = tasks.all_pairs(p)
    labels = tasks.answers(cfg.op, x, y, p, cfg.a, cfg.b)
    cache: dict = {}
    with torch.no_grad():
        reference.reference_forward({k: torch.tensor(v) for k, v in W.items()},
                                    torch.tensor(tasks.tokens(x, y, p)), cache)
    L = cache["logits"][:, -1, :p].double().numpy()
    C = fo.transform_2d(L.reshape(p, p, p))                      # every 2D coefficient
    keep = np.zeros_like(C)
    for k in keys:
        c, s = fo.cos_row(k), fo.sin_row(k)
        a = (C[c, c] - C[s, s]) / 2
        b = (C[s, c] + C[c, s]) / 2
        keep[c, c], keep[s, s], keep[s, c], keep[c, s] = a, -a, b, b
    proj = fo.inverse_2d(keep).reshape(p * p, p)
    mean = L.mean(0, keepdims=True)
    restricted, excluded = mean + proj, L - proj
    tr, te = split["train"], split["test"]
    return {"restricted_train": mech.loss_all(restricted[tr], labels[tr]),
            "restricted_test": mech.loss_all(restricted[te], labels[te]),
            "excluded": mech.loss_all(excluded[tr], labels[tr]),
            "attn": cache["attn.hook_pattern"][:, :, -1].mean(0).numpy(),
            "embed_norms": fo.norms_1d(W["W_E"][:p].astype(np.float64))}


@click.command()
@click.option("--run", "run_name", default="canonical", show_default=True)
@click.option("--checkpoints", default=24, show_default=True, help="How many checkpoints to time.")
def main(run_name, checkpoints):
    run = Run(run_name)
    cfg = run.config
    epochs = run.checkpoint_epochs()
    pick = [epochs[i] for i in np.linspace(0, len(epochs) - 1, checkpoints).astype(int)]
    S, A = analyse(run.load_checkpoint(epochs[-1]), cfg, settings_for(cfg, epochs[-1], None, None))
    keys, split = S["key_frequencies"], run.split()
    print(f"{run_name}: p={cfg.p}, {len(epochs)} checkpoints, key frequencies {keys}, "
          f"{torch.get_num_threads()} threads; timing {checkpoints} checkpoints")
    ours, plain = [], []
    for rnd in range(3):          # alternate rounds so machine noise hits both alike
        t = time.perf_counter()
        cur, _ = over_history(run, cfg, pick, S, A, progress=False)
        ours.append((time.perf_counter() - t) / len(pick))
        t = time.perf_counter()
        res = [plain_checkpoint(run.load_checkpoint(e, verify=False), cfg, keys, split) for e in pick]
        plain.append((time.perf_counter() - t) / len(pick))
    # the two agree
    np.testing.assert_allclose(cur["excluded_loss"], [r["excluded"] for r in res], rtol=1e-3)
    np.testing.assert_allclose(cur["restricted_loss_test"], [r["restricted_test"] for r in res], rtol=1e-3)
    o, pl = statistics.median(ours), statistics.median(plain)
    print(f"  ours (batched fast model):  {o * 1e3:7.1f} ms/checkpoint  -> {o * len(epochs):6.1f} s for the history")
    print(f"  plain per-checkpoint loop:  {pl * 1e3:7.1f} ms/checkpoint  -> {pl * len(epochs):6.1f} s for the history")
    print(f"  speed-up x{pl / o:.2f} (medians of 3 rounds; results agree to 1e-3)")


if __name__ == "__main__":
    main()
