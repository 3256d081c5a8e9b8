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


def draw_residue_line(ax, p: int, T: int, gid: str, **kw) -> list:
    """x + y ≡ T (mod p) as its segments (x + y = T, and x + y = T + p where it wraps), each
    a dashed line with gid `gid`. Returns [(sum, Line2D)] for label_residue_segments."""
    kw = {"color": style.ROLE["line"], "lw": 0.9, "ls": (0, (4, 2)), **kw}
    out = []
    for i, (xs, ys) in enumerate(residue_segments(p, T)):
        ln, = ax.plot(xs, ys, gid=gid, label=None if i else kw.pop("label", None), **kw)
        out.append((int(xs[0] + ys[0]), ln))
    return out


def renderer(fig):
    """Lay the figure out (constrained layout included) and return its renderer, for measuring
    texts in display units."""
    fig = fig.get_figure(root=True)             # a subfigure's figure
    fig.draw_without_rendering()
    return fig._get_renderer()


def _overlaps(b, others, pad: float = 0.0) -> bool:
    return any(b.x0 - pad < o.x1 and o.x0 < b.x1 + pad and b.y0 - pad < o.y1 and o.y0 < b.y1 + pad
               for o in others)


def visible_texts(fig) -> list:
    """Every visible, non-empty Text artist of the figure (titles, labels, ticks, legends)."""
    from matplotlib.text import Text
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and t.get_alpha() != 0 and (t.axes is None or t.axes.get_visible())]


def _overlaps_dots(c, rot, w, h, dots) -> bool:
    """Whether a text of size (w, h) centred at c and turned by rot degrees covers a marked
    point: the slanted text is taken as h-sized squares along its length (its upright box,
    used against other texts, is too coarse here: it would cover the very line it names)."""
    from matplotlib.transforms import Bbox
    u = np.array([np.cos(np.radians(rot)), np.sin(np.radians(rot))])
    side = h * (abs(u[0]) + abs(u[1]))
    n = max(1, int(np.ceil(w / h)))
    for s in np.linspace(-(w - h) / 2, (w - h) / 2, n):
        x, y = np.asarray(c) + s * u
        if _overlaps(Bbox.from_extents(x - side / 2, y - side / 2, x + side / 2, y + side / 2), dots):
            return True
    return False


def label_residue_segments(ax, segments, gid: str, fontsize: float | None = None) -> list:
    """Name each segment drawn by draw_residue_line by its own equation ('x + y = 65',
    'x + y = 178'), written along it, at the first place (middle first, then outwards, either
    side of the line) inside the axes where it overlaps no other text of the figure and no
    marked point; failing that, level beside it; failing that (a segment of a point or two, a
    crowded corner), level further out, joined to the segment's middle by a thin leader.
    Call after everything else in the figure is drawn. Returns the Text artists."""
    import matplotlib.patheffects as pe
    from matplotlib.transforms import Bbox
    fig = ax.get_figure(root=True)
    fs = fontsize or style.FONT_SIZE - 1.5
    r = renderer(fig)
    box = ax.get_window_extent(r)
    inner = Bbox.from_extents(box.x0 + 2, box.y0 + 2, box.x1 - 2, box.y1 - 2)
    taken = [t.get_window_extent(r) for t in visible_texts(fig)]
    dots = []                                  # marked points, as small boxes in display units
    for col in ax.collections:
        rad = np.sqrt(np.atleast_1d(col.get_sizes()).max() if len(col.get_sizes()) else 20) * fig.dpi / 72 / 2
        for x, y in ax.transData.transform(np.asarray(col.get_offsets()).reshape(-1, 2)):
            dots.append(Bbox.from_extents(x - rad, y - rad, x + rad, y + rad))
    ppt = fig.dpi / 72
    out = []
    for total, ln in segments:
        xs, ys = np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)
        (x0, y0), (x1, y1) = ax.transData.transform([(xs[0], ys[0]), (xs[-1], ys[-1])])
        angle = np.degrees(np.arctan2(y1 - y0, x1 - x0))
        angle = angle + 180 if angle < -90 else angle - 180 if angle > 90 else angle
        normal = np.array([-np.sin(np.radians(angle)), np.cos(np.radians(angle))])
        t = ax.text(0, 0, f"x + y = {total}", fontsize=fs, color=style.ROLE["line"], gid=gid,
                    rotation_mode="anchor", ha="center", va="center", zorder=6,
                    path_effects=[pe.withStroke(linewidth=2.2, foreground="white", alpha=0.85)])
        t.set_rotation(0)
        t.set_position((0.5, 0.5))
        t.set_transform(ax.transAxes)
        b0 = t.get_window_extent(r)
        w, h = b0.width, b0.height             # unrotated size; the box is centred on the anchor
        best = None
        for rot in (angle, 0.0):
            # half the text's extent across the line, plus a gap (wider for a level name)
            across = h / 2 if rot == angle else (w * abs(normal[0]) + h * abs(normal[1])) / 2
            t.set_rotation(rot)
            for frac in (0.5, 0.35, 0.65, 0.2, 0.8, 0.1, 0.9, 0.0, 1.0):
                for side in (1, -1):
                    c = np.array([x0 + frac * (x1 - x0), y0 + frac * (y1 - y0)]) + side * (across + (5 if rot == angle else 8) * ppt) * normal
                    t.set_position(ax.transAxes.inverted().transform(c))
                    bb = t.get_window_extent(r)
                    inside = inner.x0 <= bb.x0 and bb.x1 <= inner.x1 and inner.y0 <= bb.y0 and bb.y1 <= inner.y1
                    if inside and not _overlaps(bb, taken, 1.5 * ppt) and not _overlaps_dots(c, rot, w, h, dots):
                        best = (rot, c)
                        break
                if best:
                    break
            if best:
                break
        leader = best is None
        if leader:                             # too short or crowded: level, further out, with a leader
            mid = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
            t.set_rotation(0)
            for rad in np.arange(10, 120, 6) * ppt:
                for ang in np.radians(np.arange(45, 405, 22.5)):
                    c = mid + rad * np.array([np.cos(ang), np.sin(ang)])
                    t.set_position(ax.transAxes.inverted().transform(c))
                    bb = t.get_window_extent(r)
                    inside = inner.x0 <= bb.x0 and bb.x1 <= inner.x1 and inner.y0 <= bb.y0 and bb.y1 <= inner.y1
                    if inside and not _overlaps(bb, taken, 1.5 * ppt) and not _overlaps_dots(c, 0, w, h, dots):
                        best = (0.0, c)
                        break
                if best:
                    break
            if best is None:
                best = (0.0, mid + 6 * ppt)
        t.set_rotation(best[0])
        t.set_position(ax.transAxes.inverted().transform(best[1]))
        if leader:
            bb = t.get_window_extent(r)
            c = np.asarray(best[1])
            # from the segment's middle to the edge of the label's box
            d = mid - c
            k = min(bb.width / 2 / abs(d[0]) if d[0] else np.inf, bb.height / 2 / abs(d[1]) if d[1] else np.inf)
            end = c + min(k, 1.0) * d
            (ax0, ay0), (ax1, ay1) = ax.transData.inverted().transform([mid, end])
            ax.plot([ax0, ax1], [ay0, ay1], color=style.ROLE["line"], lw=0.5, gid=gid + "-leader")
        taken.append(t.get_window_extent(r))
        out.append(t)
    return out


def fit_title(ax, text: str, loc: str = "left", right=None, **kw):
    """Set `ax`'s title wrapped onto as many lines as it needs to end left of `right` (a display
    x, or a function of the renderer giving one; default the axes' right edge): a long title would otherwise run over the colour bar
    beside the panel. Lines are broken at spaces; a single word too long stays whole."""
    import textwrap
    fig = ax.get_figure(root=True)
    paragraphs = text.split("\n")
    width = max(len(p) for p in paragraphs)
    while True:
        lines = [ln for p in paragraphs for ln in textwrap.wrap(p, width)]
        t = ax.set_title("\n".join(lines), loc=loc, **kw)
        r = renderer(fig)
        limit = ax.get_window_extent(r).x1 if right is None else right(r) if callable(right) else right
        if t.get_window_extent(r).x1 <= limit - 1 or width <= 12:
            return t
        width -= 3


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
