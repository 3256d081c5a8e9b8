"""Training speed: the fast path against the plain reference, side by side in one run.

An epoch is what the trainer does each epoch: forward + backward + AdamW on the train split,
plus a forward on the test split. Prints the median of each and their ratio.

    python benchmarks/train_speed.py [--epochs 30] [--preset canonical] [--seeds 1] [--device cpu]
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import click
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from training import model, reference, tasks, train  # noqa: E402
from training.config import PRESETS  # noqa: E402


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()




def make_fast(cfg, seeds, dev, compiled):
    """The trainer's step: model.step_logits (train with grad, test without), loss, AdamW."""
    data = train.examples([cfg.replace(seed=s) for s in seeds], dev)   # as the trainer builds them
    (train_ex, train_lab), (test_ex, test_lab) = data["train"], data["test"]
    P = {k: v.requires_grad_(True) for k, v in model.init_params(cfg, seeds, device=dev).items()}
    opt = torch.optim.AdamW(P.values(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    step_logits = torch.compile(model.step_logits) if compiled else model.step_logits

    def step():
        opt.zero_grad(set_to_none=True)
        logits, test_logits = step_logits(P, train_ex, test_ex)
        model.loss_fn(logits, train_lab).sum().backward()
        with torch.no_grad():
            model.loss_fn(test_logits, test_lab)
        opt.step()
    return step


def make_reference(cfg, dev):
    d = tasks.dataset(cfg)
    tok = {part: torch.tensor(tasks.tokens(d["x"][d[part]], d["y"][d[part]], cfg.p), device=dev)
           for part in ("train", "test")}
    lab = {part: torch.tensor(d["label"][d[part]], device=dev) for part in ("train", "test")}
    W = {k: v[0].requires_grad_(True) for k, v in model.init_params(cfg, [0], device=dev).items()}
    opt = torch.optim.AdamW(W.values(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = reference.reference_forward(W, tok["train"])[:, -1]
        model.loss_fn(logits[None], lab["train"][None]).sum().backward()
        with torch.no_grad():
            lt = reference.reference_forward(W, tok["test"])[:, -1]
            model.loss_fn(lt[None], lab["test"][None])
        opt.step()
    return step


@click.command()
@click.option("--epochs", default=30, show_default=True, help="Timed epochs per implementation.")
@click.option("--preset", default="canonical", show_default=True)
@click.option("--seeds", default=1, show_default=True, help="Also time this many seeds batched.")
@click.option("--device", default="cpu", show_default=True)
@click.option("--no-compile", is_flag=True, help="Skip the torch.compile variant.")
def main(epochs, preset, seeds, device, no_compile):
    cfg = PRESETS[preset]
    dev = torch.device(device)
    print(f"{preset}: p={cfg.p}, d_model={cfg.d_model}, {torch.get_num_threads()} threads, device {dev}")
    rows = [("reference", make_reference(cfg, dev), 1), ("fast (eager)", make_fast(cfg, [0], dev, False), 1)]
    if not no_compile:
        rows.append(("fast (compiled)", make_fast(cfg, [0], dev, True), 1))
    if seeds > 1:
        rows.append((f"fast, {seeds} seeds batched", make_fast(cfg, list(range(seeds)), dev, not no_compile), seeds))
    med = {}
    # interleave the implementations round by round so machine noise hits them alike
    times = {name: [] for name, _, _ in rows}
    for name, step, _ in rows:      # warm-up (and compilation)
        step(); step()
    for _ in range(epochs):
        for name, step, _ in rows:
            times[name].append(_timed(step, dev))
    ref = statistics.median(times["reference"])
    for name, _, n in rows:
        med[name] = statistics.median(times[name])
        per = med[name] / n
        print(f"{name:>28}: {med[name] * 1e3:8.1f} ms/epoch ({1 / per:7.1f} epochs/s per model)"
              f"   speed-up vs reference x{ref / per:.2f}")
    best = min(med[n] for n, _, k in rows if k == 1 and n != "reference")
    print(f"20,000 canonical epochs at the best single-model speed: ~{20000 * best / 60:.1f} min "
          f"(checkpoint writes not included)")


def _timed(step, dev):
    _sync(dev)
    t = time.perf_counter()
    step()
    _sync(dev)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
