"""What every figure shares: reading what it needs from the assets, phases, surfaces, lines.

Surfaces are stored [p, p] with x the row index; every map here is drawn with x on the
horizontal axis and y on the vertical one, origin at the bottom left (imshow of S.T with
origin='lower'), so the line x + y = T runs from top left to bottom right.
"""
from __future__ import annotations

import numpy as np

from grokking.extraction import fourier as fo

from . import style

PHASE_NAMES = ("memorisation", "circuit formation", "clean-up")


class Missing(Exception):
    """The assets lack what a figure needs; the message is the one-line reason it is skipped."""


# ---- reading -------------------------------------------------------------------------------

def need(a, file: str, *keys: str) -> list[np.ndarray]:
    """Arrays from assets/<run>/<file>.npz, or Missing naming the first absent one."""
    arrays = a[file]
    absent = [k for k in keys if k not in arrays]
    if absent:
        raise Missing(f"{file}.npz has no {absent[0]}")
    return [arrays[k] for k in keys]


def n_freqs(p: int) -> int:
    """The number of frequencies k >= 1 at modulus p, or Missing when there is none (p = 2: the
    Fourier basis is the constant alone, so there are no waves to draw)."""
    n = fo.n_freqs(p)
    if n == 0:
        raise Missing(f"p = {p} has no frequency k >= 1 (its Fourier basis is the constant alone)")
    return n


def selection(a, cls, what: str):
    """The selection of kind `cls` (common/assets.py) when extraction found it, else NotFound
    (an AssetsError: the figure is skipped) with extraction's reason."""
    return a.found(cls, what)


def analysis_index(a, epochs: np.ndarray | None = None) -> int:
    """The checkpoint index of the analysis epoch (the nearest checkpoint if not exact)."""
    epochs = a["curves"]["epoch"] if epochs is None else epochs
    return int(np.argmin(np.abs(np.asarray(epochs) - int(a.summary["analysis_epoch"]))))


def keys(a) -> list[tuple[int, str, str]]:
    """(k, label such as '8π/113', colour) for each key frequency, from the summary."""
    s = a.summary
    ks = [int(k) for k in s.get("key_frequencies", [])]
    labels = s["key_labels"]
    return [(k, lab, style.key_color(i)) for i, (k, lab) in enumerate(zip(ks, labels))]


# ---- phases --------------------------------------------------------------------------------

def phase_spans(a) -> list[tuple[str, float, float]]:
    """(name, start, end) of the phases whose both ends the summary knows."""
    ph = a.summary.get("phases") or {}
    last = float(a.summary.get("task", {}).get("epochs") or 0)
    bounds = [0.0, ph.get("memorisation_end"), ph.get("cleanup_start"), ph.get("cleanup_end")]
    if bounds[2] is None and bounds[1] is not None and not a.summary.get("grokked", True):
        bounds[2] = last      # never grokked: the circuit is still forming at the end
    return [(name, float(s), float(e)) for name, s, e in zip(PHASE_NAMES, bounds, bounds[1:])
            if s is not None and e is not None and e > s]


def phase_at(spans, epoch: float) -> str:
    for name, s, e in spans:
        if s <= epoch < e:
            return name
    return ""


def shade_phases(ax, spans, label: bool = True, log_floor: float = 1.0) -> list[str]:
    """Tint each phase and name it at the top of the axes where the name fits inside its band
    (call after setting the x limits). Returns the phases left unnamed, for a legend."""
    import matplotlib.transforms as mtransforms
    tr = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    log = ax.get_xscale() == "log"
    lo, hi = ax.get_xlim()
    f = np.log if log else (lambda v: v)
    width_in = ax.figure.get_figwidth() * ax.get_position().width
    fs = style.FONT_SIZE - 2
    unnamed = []
    for name, s, e in spans:
        s = max(s, log_floor) if log else s
        ax.axvspan(s, e, color=style.PHASE[name], alpha=style.PHASE_ALPHA, lw=0, zorder=0)
        a, b = max(s, lo), min(e, hi)
        band_in = (f(b) - f(a)) / (f(hi) - f(lo)) * width_in if b > a else 0.0
        if label and band_in > len(name) * 0.58 * fs / 72 + 0.05:
            mid = np.sqrt(a * b) if log else (a + b) / 2
            ax.text(mid, 0.985, name, transform=tr, ha="center", va="top",
                    fontsize=fs, color="#444444", gid=f"phase:{name}")
        else:
            unnamed.append(name)
    return unnamed


def headroom(ax, frac: float = 0.1) -> None:
    """Raise the top of the y axis by `frac` of its height (log aware): room for phase names."""
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "log":
        ax.set_ylim(lo, hi * (hi / lo) ** frac)
    else:
        ax.set_ylim(lo, hi + (hi - lo) * frac)


def phase_handles(names) -> list:
    """Legend patches for the named phases."""
    from matplotlib.patches import Patch
    return [Patch(color=style.PHASE[n], alpha=style.PHASE_ALPHA * 2.5, lw=0, label=n) for n in names]


# ---- maps over (x, y) ----------------------------------------------------------------------

def surface(ax, S: np.ndarray, cmap: str = style.CMAP_SIGNED, vmax: float | None = None,
            vmin: float | None = None, labels: bool = True):
    """Draw S [x, y] with x horizontal and y vertical; signed maps get a symmetric scale."""
    S = np.asarray(S, float)
    p = S.shape[0]
    if cmap == style.CMAP_SIGNED and vmin is None:
        if vmax is None:
            vmax = float(np.abs(S).max()) or 1.0
        vmin = -vmax
    im = ax.imshow(S.T, origin="lower", cmap=cmap, vmin=vmin, vmax=vmax,
                   extent=(-0.5, p - 0.5, -0.5, p - 0.5), interpolation="nearest")
    ax.set_xlim(-0.5, p - 0.5)
    ax.set_ylim(-0.5, p - 0.5)
    ticks = nice_ticks(p)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    if labels:
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    return im


def nice_ticks(p: int) -> list[int]:
    step = max(1, int(np.ceil(p / 4 / 5) * 5)) if p > 12 else max(1, p // 4)
    return list(range(0, p, step))


def residue_segments(p: int, T: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The points x + y ≡ T (mod p) as straight segments (x, y) in [0, p)²: one or two lines."""
    x = np.arange(p)
    y = (T - x) % p
    cut = np.flatnonzero(np.diff(y) != -1) + 1        # where y wraps from 0 back to p - 1
    return [(xs, ys) for xs, ys in zip(np.split(x, cut), np.split(y, cut))]


def draw_residue_line(ax, p: int, T: int, gid: str, **kw) -> None:
    kw = {"color": style.ROLE["line"], "lw": 0.9, "ls": (0, (4, 2)), **kw}
    for i, (xs, ys) in enumerate(residue_segments(p, T)):
        ax.plot(xs, ys, gid=gid, label=None if i else kw.pop("label", None), **kw)


def mark_points(ax, pts: np.ndarray, gid: str, annotate: int = 8, **kw) -> None:
    """Open circles at integer (x, y) points, the first `annotate` labelled '(x, y)'."""
    pts = np.asarray(pts).reshape(-1, 2)
    kw = {"s": 22, "facecolors": "none", "edgecolors": style.ROLE["marker"], "linewidths": 0.9, **kw}
    ax.scatter(pts[:, 0], pts[:, 1], gid=gid, zorder=5, **kw)
    p = ax.get_xlim()[1] + 0.5
    groups: list[list] = []            # points closer than 10 % of p share one label
    for x, y in pts[:annotate]:
        near = next((g for g in groups if np.hypot(x - g[0][0], y - g[0][1]) < 0.1 * p), None)
        (near.append((x, y)) if near is not None else groups.append([(x, y)]))
    for g in groups:
        x, y = g[0]
        right, up = x < 0.75 * p, y < 0.85 * p
        ax.annotate(", ".join(f"({int(u)}, {int(v)})" for u, v in g), (x, y),
                    xytext=(4 if right else -4, 3 if up else -3),
                    textcoords="offset points", ha="left" if right else "right",
                    va="bottom" if up else "top",
                    fontsize=style.FONT_SIZE - 2, gid=gid + "-label",
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))


def key_spectrum(S: np.ndarray, ks) -> tuple[np.ndarray, list[str]]:
    """A surface's centred 2D Fourier norm gathered by frequency of x and of y, over the groups
    [constant, each key frequency, every other frequency]: [K+2, K+2] and the group names.
    Nothing is dropped: the groups partition the basis, so the squares sum to the variance."""
    p = S.shape[0]
    C = fo.transform_2d(S - S.mean(), fo.basis(p))
    rows = [[0]] + [[fo.cos_row(k), fo.sin_row(k)] for k in ks]
    used = {r for g in rows for r in g}
    rows.append([r for r in range(p) if r not in used])
    out = np.array([[np.sqrt((C[np.ix_(gi, gj)] ** 2).sum()) if gi and gj else 0.0 for gj in rows]
                    for gi in rows])
    return out, ["0", *[str(k) for k in ks], "other"]


def merged_ticks(positions, labels, min_gap: float):
    """Ticks closer than min_gap merged into one ('41, 42' at their mean)."""
    out_pos, out_lab = [], []
    for pos, lab in sorted(zip(positions, labels)):
        if out_pos and pos - out_pos[-1][-1] < min_gap:
            out_pos[-1].append(pos)
            out_lab[-1].append(lab)
        else:
            out_pos.append([pos])
            out_lab.append([lab])
    return [float(np.mean(g)) for g in out_pos], [", ".join(g) for g in out_lab]


# ---- training time -------------------------------------------------------------------------

def frame_indices(epochs: np.ndarray, n: int) -> np.ndarray:
    """At most n checkpoint indices spread evenly in epoch (the nearest checkpoint to each
    target), always including the first and the last."""
    epochs = np.asarray(epochs, float)
    if len(epochs) <= n:
        return np.arange(len(epochs))
    targets = np.linspace(epochs[0], epochs[-1], n)
    idx = np.clip(np.searchsorted(epochs, targets), 0, len(epochs) - 1)
    left = np.clip(idx - 1, 0, len(epochs) - 1)
    idx = np.where(np.abs(epochs[left] - targets) < np.abs(epochs[idx] - targets), left, idx)
    return np.unique(np.r_[0, idx, len(epochs) - 1])


def epochs_across_training(a, epochs: np.ndarray, n: int = 6) -> list[int]:
    """Checkpoint indices for small multiples: start, end of memorisation, inside circuit
    formation, start and end of clean-up, the analysis checkpoint (what the phases give)."""
    ph = a.summary.get("phases") or {}
    targets = [0, ph.get("memorisation_end")]
    if ph.get("memorisation_end") is not None and ph.get("cleanup_start") is not None:
        targets.append(np.sqrt(max(ph["memorisation_end"], 1) * ph["cleanup_start"]))
    targets += [ph.get("cleanup_start"), ph.get("cleanup_end"), a.summary["analysis_epoch"]]
    targets = [t for t in targets if t is not None]
    if len(targets) < 3:                   # no phases: spread in log epoch
        targets = [0, *np.geomspace(max(epochs[1], 1), epochs[-1], n - 1)]
    idx = sorted({int(np.argmin(np.abs(epochs - t))) for t in targets})
    return idx[:n]
