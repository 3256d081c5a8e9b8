"""The checkpoint commit protocol: how the trainer's state at an epoch becomes files of the
history format (history.py) that a kill at any instant leaves consistent, and how a resume
state is read back. The training loop (train.py) calls snapshot, then commit (on a background
Committer), and stack_resume when it resumes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from grokking.common.assets import METRICS
from grokking.common.io import write_json, write_npz

from . import history, model, tasks
from .config import Config, schedule_epochs
from .history import HistoryError, Run
from .optim import GradFilter

TEST_NOTE = ("train_loss and train_acc are measured at every epoch; test_loss and test_acc at every "
             "checkpoint epoch, every config.test_every-th epoch and the last, NaN between "
             "(history.filled carries each measurement forward)")
LOSS_NOTE = ("train_loss and test_loss are the cross-entropy alone (config.loss: softmax, or stablemax's "
             "s(z) in place of exp; computed in config.precision); the objective minimised is the "
             "train cross-entropy plus config.smooth * model.smoothness(W_E), "
             "sum_x ||W_E[x] - W_E[x-1]||^2 over digits, circular, at epochs before config.smooth_until "
             "(0: every epoch). collapse_share, grad_weight_cos and grad_norm are measured at every step "
             "from the train split and the objective's raw gradient (before config.grokfast's filter and "
             "config.optimizer's projection); the last epoch's too (its gradient, no step)")


@dataclass
class Seeded:
    """One seed of a (possibly batched) training job and its run directory."""
    cfg: Config
    run: Run


def stack_resume(jobs: list[Seeded], epoch: int, device) -> tuple[dict, list[dict], np.ndarray, list[dict]]:
    """Load each seed's resume state at `epoch` (checked against its manifest: checksum, epoch
    and run identity) and stack it into one batched model."""
    states, entries = [], []
    for j in jobs:
        m = j.run.manifest
        e = next(r for r in history.resume_entries(m) if r["epoch"] == epoch)
        st = history.read_npz(j.run.dir / e["file"], e.get("sha256"))
        history.check_resume(j.run, st, epoch)
        states.append(st)
        entries.append(e)
    P = {n: torch.tensor(np.stack([s[n] for s in states]), device=device) for n in model.PARAM_NAMES}
    # a history made before the diagnostics existed has none: NaN (not measured) in their rows
    n = len(states[0]["m_train_loss"])
    metrics = np.stack([np.stack([s["m_" + k] if "m_" + k in s else np.full(n, np.nan) for k in METRICS])
                        for s in states])  # [S, METRICS, E]
    return P, states, metrics, entries


def snapshot(jobs: list[Seeded], P, opt, metrics, epoch: int, done_epochs: list[list[dict]],
              seconds: list[float] | None = None, filt: GradFilter | None = None,
              resume: bool = True) -> list[dict]:
    """Every seed's state at `epoch` as host copies (the step goes on changing P and the
    optimiser's moments in place while a commit writes them); refused if any is not finite.
    resume=False: a checkpoint without a resume state (no optimiser or filter copies)."""
    snaps = []
    for s, j in enumerate(jobs):
        w = {n: P[n][s].detach().cpu().numpy().copy() for n in model.PARAM_NAMES}
        if not all(np.isfinite(v).all() for v in w.values()):
            raise HistoryError(diverged(j, epoch, done_epochs[s]))
        if not opt.finite(s):       # an infinite second moment freezes the weights: AdamW's step is 0
            raise HistoryError(diverged(j, epoch, done_epochs[s], moments=True))
        state = {**opt.state_of(s), **(filt.state_of(s) if filt is not None else {})} if resume else None
        snaps.append({"weights": w, "optim": None if state is None else {k: np.array(v) for k, v in state.items()},
                      "metrics": metrics[s].copy(), "seconds": None if seconds is None else seconds[s]})
    return snaps


def commit(jobs: list[Seeded], snaps: list[dict], epoch: int, done_epochs: list[list[dict]],
            resumes: list[list[dict]], threads: dict, timed: bool = False):
    """Commit every seed's state at `epoch` in three passes: each seed's data files under
    names of their own (checkpoint, metrics, resume state); then each manifest, the commit
    point, naming them and the previous resume state; then remove what no manifest names.
    A kill at any instant leaves every manifest naming files that exist and agree; the seeds'
    manifests then differ by at most one checkpoint, and prepare() resumes from the older.
    `threads`: the batch's CPU thread policy so far, for the manifests; `timed`: the snapshots
    carry each seed's training seconds over every session (the manifests' train_seconds)."""
    committed = []
    for s, (j, snap) in enumerate(zip(jobs, snaps)):
        w = snap["weights"]
        sha = write_npz(j.run.dir / history.ckpt_name(epoch), w)
        done_epochs[s] = [c for c in done_epochs[s] if c["epoch"] != epoch]
        done_epochs[s].append({"epoch": epoch, "file": history.ckpt_name(epoch), "sha256": sha})
        m = {k: snap["metrics"][i] for i, k in enumerate(METRICS)}
        m_entry = {"file": history.metrics_name(epoch), "epoch": epoch,
                   "sha256": write_npz(j.run.dir / history.metrics_name(epoch), m)}
        if snap["optim"] is not None:     # None: no resume state at this checkpoint (resume_due)
            state = dict(w)
            state["epoch"] = np.array(epoch)
            state["run_id"] = np.array(history.run_id(j.run))
            state.update(snap["optim"])      # AdamW's moments and the Grokfast filter's state
            state.update({"m_" + k: v for k, v in m.items()})
            r_entry = {"file": history.resume_name(epoch), "epoch": epoch,
                       "sha256": write_npz(j.run.dir / history.resume_name(epoch), state)}
            resumes[s] = [r for r in resumes[s] if r["epoch"] < epoch][-1:] + [r_entry]
        committed.append(m_entry)
    for s, (j, snap) in enumerate(zip(jobs, snaps)):
        write_manifest(j, epoch, done_epochs[s], committed[s], snap["metrics"], resumes[s], threads,
                        snap["seconds"] if timed else None)
    for j in jobs:
        history.prune(j.run)


class Committer:
    """Commits checkpoints on one background thread, in order and one at a time, while the
    next epochs train: serialising and fsyncing a checkpoint's files took ~15 % of a quick
    sweep point's time when the step loop waited for it. A failed commit is raised in the
    trainer at its next epoch (check) or at the end (wait); what is on disk is then exactly
    what the last whole commit left, as after a kill."""

    def __init__(self, background: bool = True):
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="commit") if background else None
        self.pending = None

    def submit(self, fn, *args):
        self.wait()                      # one in flight: commits stay in order, memory bounded
        if self.pool is None:
            fn(*args)
        else:
            self.pending = self.pool.submit(fn, *args)

    def check(self):
        if self.pending is not None and self.pending.done():
            self.wait()

    def wait(self):
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()             # re-raises the commit's error here

    def close(self):
        """Let the commit in flight finish (its error, if any, is not raised here: close
        runs on the way out of an error of the trainer's own, which is the one to report)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def diverged(j: Seeded, epoch: int, ckpts: list[dict], moments: bool = False) -> str:
    """Why a run stopped as diverged (its loss or weights, or with `moments` AdamW's second
    moment), naming the setting most likely at fault."""
    last = max((c["epoch"] for c in ckpts), default=None)
    kept = f"the last good checkpoint (epoch {last}) is kept" if last is not None else "no checkpoint was written"
    what = "AdamW's second moment (the squared gradient)" if moments else "its loss or weights"
    c = j.cfg
    if epoch == 0 and c.init_scale != 1.0:
        fix = f"its initial weights are too large: lower --init-scale (now {c.init_scale:g})"
    elif moments and c.grokfast != "none":
        fix = (f"Grokfast's amplified gradient is too large to square in float32: lower --grokfast-lamb "
               f"(now {c.grokfast_lamb:g})")
    else:
        fix = f"lower --lr (now {c.lr:g})"
    return (f"run {j.run.name!r} diverged: {what} became infinite or NaN at epoch {epoch}; {kept}. "
            f"{fix[0].upper() + fix[1:]} and retrain with --force")


def write_manifest(j: Seeded, epoch: int, ckpts: list[dict], metrics_entry: dict, metrics_s,
                    resumes: list[dict], threads: dict, seconds: float | None = None):
    old = j.run.manifest if j.run.exists() else {}
    seconds = old.get("train_seconds", 0.0) if seconds is None else seconds
    ms = history.milestones({k: metrics_s[i] for i, k in enumerate(METRICS)})
    write_json(j.run.manifest_path, {
        "format": history.FORMAT,
        "run": j.run.name,
        "run_id": old.get("run_id") or history.run_id(j.run),
        "config": j.cfg.to_dict(),
        "n_params": model.n_params(j.cfg),
        "epochs_done": epoch,
        "status": "complete" if epoch >= j.cfg.epochs else "training",
        "schedule": schedule_epochs(j.cfg.schedule, j.cfg.epochs),
        "checkpoints": sorted((c for c in ckpts if c["epoch"] <= epoch), key=lambda c: c["epoch"]),
        "split": old.get("split") or split_entry(j),
        "metrics": metrics_entry,
        "resume": resumes,
        "threads": threads or old.get("threads"),
        "train_seconds": round(float(seconds), 3),
        "loss": LOSS_NOTE,
        "measured": TEST_NOTE,
        "milestones": ms,
        "grokked": ms["test_99"] is not None,
        "versions": history.versions(),
        "created": old.get("created", time.strftime("%Y-%m-%dT%H:%M:%S")),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        # how the main job chose this seed (pipeline/choose.py); kept when the run is extended
        **({"chosen": old["chosen"]} if "chosen" in old else {}),
    })


def split_entry(j: Seeded) -> dict:
    train, test = tasks.split(j.cfg.p, j.cfg.frac, j.cfg.seed, j.cfg.op)
    sha = write_npz(j.run.dir / "split.npz", {"train": train, "test": test})
    return {"file": "split.npz", "sha256": sha, "n_train": int(train.size), "n_test": int(test.size),
            "rule": "PCG64(seed).permutation(n) over the task's n pairs (p*p; div: y != 0); the first "
                     "floor(frac*n) are train; sorted"}
