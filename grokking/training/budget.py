"""What a training job will need (memory, disk) before it starts, and whether this machine has
it: a run that cannot fit is refused with the numbers before any folder is made, instead of
dying with MemoryError (or filling the disk) after it started.

The estimates are upper bounds of the right order, not exact: activations of the full-batch step
(every pair of the p*p grid, train with gradients, test without), the per-epoch metrics the trainer
keeps in memory, and the checkpoints the schedule asks for.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .config import Config, ConfigError

GiB = 2 ** 30


def n_params(cfg: Config) -> int:
    """The parameter count of one seed (model.n_params without importing torch)."""
    attn = 4 * cfg.n_heads * cfg.d_model * cfg.d_head
    mlp = 2 * cfg.d_model * cfg.d_mlp + cfg.d_mlp + cfg.d_model
    return cfg.d_vocab * cfg.d_model + cfg.n_ctx * cfg.d_model + attn + mlp + cfg.d_model * cfg.d_vocab_out


def n_checkpoints(cfg: Config) -> int:
    """At least as many checkpoints as schedule_epochs gives, without listing them (a run of
    10^12 epochs has too many to list)."""
    s, e = cfg.schedule, cfg.epochs
    strided = max(0, e - min(s.log_until, e)) // s.stride
    return min(s.dense_until, e) + 1 + s.n_log + 1 + strided + 2


def filter_bytes(cfg: Config) -> int:
    """One seed's Grokfast state (training/optim.py GradFilter): ma keeps its last `window`
    gradients (float32) and their float64 sum, ema one float32 average; none nothing. It is part
    of every resume state, so it is on disk twice (the two states kept) as well as in memory."""
    if cfg.grokfast == "ma":
        return (4 * cfg.grokfast_window + 8) * n_params(cfg)
    return 4 * n_params(cfg) if cfg.grokfast == "ema" else 0


def memory_bytes(cfg: Config, seeds: int = 1) -> int:
    """Peak memory of training: per example of the p*p grid, the logits, MLP and residual
    activations (a few copies each for the backward) and its indices; plus the metrics array
    [seeds, 4, epochs+1] float64 and the copies a checkpoint makes of it; plus the Grokfast
    state and the copies a resume state makes of it (the snapshot, the npz's buffer and its bytes)."""
    per_example = 4 * (4 * cfg.d_vocab_out + 4 * cfg.d_mlp + 6 * cfg.d_model + 4 * cfg.n_heads * cfg.n_ctx) + 48
    metrics = 4 * (cfg.epochs + 1) * 8
    return (seeds * (cfg.p * cfg.p * per_example + 3 * metrics + 4 * 4 * n_params(cfg) + 4 * filter_bytes(cfg))
            + PROCESS_BYTES)


PROCESS_BYTES = 500 * 2 ** 20      # a training process before its first seed: Python, torch, buffers


def disk_bytes(cfg: Config, seeds: int = 1) -> int:
    """A finished run on disk: every checkpoint, and the few metrics and resume files kept."""
    ckpt = 4 * n_params(cfg) + 4096
    metrics = 4 * (cfg.epochs + 1) * 8 + 1024
    resume = 3 * 4 * n_params(cfg) + metrics + filter_bytes(cfg)
    split = 8 * cfg.p * cfg.p + 1024
    return seeds * (n_checkpoints(cfg) * ckpt + 3 * metrics + 2 * resume + split)


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def free_disk(path: Path) -> int:
    """Free bytes on the file system that holds `path` (or its nearest existing parent)."""
    p = Path(path).absolute()
    while not p.exists():
        p = p.parent
    return shutil.disk_usage(p).free


def check(cfg: Config, seeds: int, runs_root: Path, have_bytes: int = 0):
    """ConfigError with the numbers when the job cannot fit in this machine's memory or on the
    disk of `runs_root` (`have_bytes`: what the runs already hold, for a resumed or extended run)."""
    mem, ram = memory_bytes(cfg, seeds), physical_memory()
    disk, free = disk_bytes(cfg, seeds) - have_bytes, free_disk(runs_root)
    what = f"p={cfg.p}, {cfg.epochs} epochs, {seeds} seed{'s' * (seeds > 1)}"
    # Grokfast-MA's window, where its gradients are most of the memory or the disk, is what to lower
    ma = cfg.grokfast == "ma"
    mem_window = ma and 4 * filter_bytes(cfg) * seeds > mem / 2
    disk_window = ma and 2 * filter_bytes(cfg) * seeds > disk_bytes(cfg, seeds) / 2
    if mem_window or disk_window:
        what += f", Grokfast-MA window {cfg.grokfast_window} ({_size(filter_bytes(cfg))} a seed)"
    if ram is not None and mem > ram:
        fix = "lower --grokfast-window" if mem_window else "lower --p or --epochs"
        raise ConfigError(f"training {what} would need about {_size(mem)} of memory; this machine has "
                          f"{_size(ram)}: {fix} (or train fewer --seeds at once)")
    if disk > free:
        fix = "lower --grokfast-window" if disk_window else "lower --epochs or raise --stride"
        raise ConfigError(f"training {what} would write about {_size(disk)} to {runs_root}/; only "
                          f"{_size(free)} is free: free some space, or {fix}")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"
