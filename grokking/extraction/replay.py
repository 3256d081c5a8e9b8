"""What the replays show at an epoch, measured at that epoch (docs/science.md §8 "The story in time").

A replay (TrainingStory, NeuronLoops, the explorer, the animations) draws the model checkpoint by
checkpoint. A probe fitted at the end and held fixed reads the end's basis, not the model at that
epoch, so here every checkpoint gets its own: the probe refitted on that checkpoint's embedding,
each wave neuron's fit at its own frequency, and the share of rows whose maximum lies on the
crest's and the logit's line. The captions the replay scenes show are claims about those
numbers (`CLAIMS`): each is measured at its checkpoint and compared with its threshold, and a
scene shows the claim only when its number says so (else the number, honestly). numpy only.
"""
from __future__ import annotations

import numpy as np

from grokking.training.history import first_index

from .probes import _refit as refit
from .probes import greedy_probe, r2

# The thresholds the replay captions are chosen by (defined here only; scenes read them from summary.json)
SHAPE_R2 = 0.8        # "the wave takes shape": the probe refitted at that checkpoint explains >= 80 % of cos(wx)
                      # (a sparse probe of 8 of 128 noise dimensions reaches ~0.3 at p = 113)
LOOPS_R2 = 0.8        # "loops": the wave neurons' sweeps are, on average, >= 80 % a cosine of their own frequency
RIDGE_ROWS = 0.5      # "a ridge on x + y ≡ T": >= half the rows x peak on the line (by chance 1/p do)
RISE_ACC = 0.5        # the test accuracy "rises" at the first epoch it reaches 50 %

OPS = {">=": lambda v, t: v >= t, "<": lambda v, t: v < t}


def probe_at(resid0: np.ndarray, resid1: np.ndarray, target: np.ndarray, max_dims: int,
             dims_then=None) -> dict:
    """The sparse probe refitted on one checkpoint's embedding (position 0): its output at
    positions 0 and 1 and its R² there. Dimensions chosen greedily at this checkpoint (probes.py
    greedy_probe: vectorised, ~1 ms where the Lasso path takes ~50 ms at d_model 128), or the
    analysis probe's dimensions (`dims_then`), whichever fits better, least-squares refitted here:
    either way at most `max_dims` dimensions, every weight fitted on this checkpoint (at the
    analysis checkpoint itself: the analysis probe)."""
    X = resid0.astype(np.float64)
    fits = [greedy_probe(X, target, max_dims)]
    if dims_then is not None and len(dims_then):
        fits.append(refit(X, target, np.asarray(dims_then, int)))
    pr = max(fits, key=lambda f: f["r2"])
    w, b = pr["weights"], pr["bias"]
    out = resid0 @ w + b
    return {"out": out, "out_pos1": resid1 @ w + b, "r2": r2(out, target), "dims": pr["dims"]}


def sweep_fit(sweeps: np.ndarray, freqs) -> np.ndarray:
    """For sweeps [n, p] and each one's frequency k: the share of the sweep's variance that
    cos and sin of w_k y carry (its cosine fit's R² at its own frequency; 0 for a flat sweep)."""
    s = np.asarray(sweeps, np.float64)
    s = s - s.mean(-1, keepdims=True)
    p = s.shape[-1]
    y = np.arange(p)
    out = np.zeros(s.shape[0])
    for i, k in enumerate(freqs):
        w = 2 * np.pi * int(k) / p
        basis = np.stack([np.cos(w * y), np.sin(w * y)])
        basis /= np.linalg.norm(basis, axis=1, keepdims=True)
        tot = (s[i] ** 2).sum()
        out[i] = ((basis @ s[i]) ** 2).sum() / tot if tot > 1e-30 else 0.0
    return out


def rows_on_line(surface: np.ndarray, c: int, tol: int = 0) -> float:
    """The share of rows x of a [p, p] surface whose maximum over y lies on x + y ≡ c (mod p),
    or within `tol` sums of it."""
    p = surface.shape[0]
    off = (np.arange(p) + np.asarray(surface).argmax(axis=1) - c) % p
    return float(np.mean(np.minimum(off, p - off) <= tol))


# ---- the claims the replay scenes make -----------------------------------------------------

# name -> (scene, when, its caption when the number says so, the caption when it does not,
#          measure, op, threshold, what the measure is)
CLAIMS = {
    "no wave yet": ("TrainingStory", "memorised", "no wave yet", "the probe already finds the wave",
                    "probe_r2", "<", SHAPE_R2, "the cos probe refitted at that checkpoint"),
    "the wave takes shape": ("TrainingStory", "before the rise", "the wave takes shape", "no wave yet",
                             "probe_r2", ">=", SHAPE_R2, "the cos probe refitted at that checkpoint"),
    "the surface takes shape": ("TrainingStory", "before the rise", "the surface forms its ridge", "no ridge yet",
                                "surface_rows", ">=", RIDGE_ROWS, "the share of rows peaking on the surface's line"),
    "no loops": ("NeuronLoops", "memorised", "no waves, no loops", "the waves and their loops are already there",
                 "wave_fit", "<", LOOPS_R2, "the wave neurons' sweeps, mean fit at their own frequencies"),
}


def claim_epochs(train_acc: np.ndarray, test_acc: np.ndarray, ckpts, upto: int | None = None) -> dict:
    """The checkpoint each claim is measured at, from the per-epoch accuracies (test gaps filled,
    training.history.filled) up to epoch `upto`: 'memorised', the first checkpoint at or after
    the first epoch of 100 % train accuracy (the one NeuronLoops rewinds to); 'before the rise',
    the last checkpoint before test accuracy first reaches RISE_ACC (the plateau's end; the last
    checkpoint when it never does). None where the history has no such epoch."""
    ck = np.asarray([e for e in ckpts if upto is None or e <= upto])
    tr, te = np.asarray(train_acc, float), np.asarray(test_acc, float)
    if upto is not None:
        tr, te = tr[:upto + 1], te[:upto + 1]
    mem, rise = first_index(tr >= 1.0), first_index(te >= RISE_ACC)      # NaN (not trained) compares False
    at_mem = ck[ck >= mem] if mem is not None else ck[:0]
    before = ck[ck < rise] if rise is not None else ck
    return {"memorised": int(at_mem[0]) if at_mem.size else None,
            "before the rise": int(before[-1]) if before.size else None,
            "memorised_epoch": mem, "rise_epoch": rise}


def claims(at: dict, ckpts, measures: dict) -> list[dict]:
    """Every claim with its checkpoint, the number measured there and whether it holds.
    `at`: claim_epochs(); `measures`: measure name -> [C] over `ckpts` (NaN where not measured)."""
    ck = list(int(e) for e in ckpts)
    out = []
    for name, (scene, when, caption, otherwise, measure, op, thr, what) in CLAIMS.items():
        e = at.get(when)
        v = None
        if e is not None and measure in measures and e in ck:
            x = float(np.asarray(measures[measure])[ck.index(e)])
            v = x if np.isfinite(x) else None
        out.append({"name": name, "scene": scene, "when": when, "epoch": e, "caption": caption, "otherwise": otherwise,
                    "measure": measure, "what": what, "value": v, "op": op, "threshold": thr,
                    "holds": v is not None and bool(OPS[op](v, thr))})
    return out


def number(c: dict) -> str:
    """A claim's number beside its threshold, as the captions print it: 'R² 0.07 < 0.80',
    '62% of rows on its line ≥ 50%' (the comparison that is true of the number)."""
    if c.get("value") is None:
        return "not measured"
    v, t = c["value"], c["threshold"]
    holds = bool(OPS[c["op"]](v, t))
    op = {">=": "≥", "<": "<"}[c["op"] if holds else {">=": "<", "<": ">="}[c["op"]]]
    if c["measure"] == "surface_rows":
        return f"{v:.0%} of rows on its line {op} {t:.0%}"
    return f"{'mean ' if c['measure'] == 'wave_fit' else ''}R² {v:.2f} {op} {t:.2f}"


def caption(c: dict) -> str:
    """What a replay scene says for a claim: its caption when its number says so, else the
    caption its number does say, with the number and the threshold beside it."""
    holds = c.get("value") is not None and bool(OPS[c["op"]](c["value"], c["threshold"]))
    return f"{c['caption'] if holds else c['otherwise']} ({number(c)})"
