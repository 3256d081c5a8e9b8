"""What every figure shares: reading what it needs from the assets, phases, surfaces, lines, and
the op's coordinates (the axes' names, the line, the answer token of an element).

Surfaces are stored [n, n] in the op's coordinates (extraction/coords.py: x and y for add, n = p;
log₃ x and log₃ y for mul over Z_(p − 1); x³ and y⁵ for a pow) with the x axis the row index;
every map here is drawn with the rows on the horizontal axis and the columns on the vertical
one, origin at the bottom left (imshow of S.T with origin='lower'), so the line u + v = T runs
from top left to bottom right. Every axis says which coordinate it is (Ops).
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


# ---- the op's coordinates ------------------------------------------------------------------

TASK = {"mul": "x·y", "div": "x / y"}       # the answer in the task's own terms where it is not the line


class Ops:
    """How a run's figures name its coordinates (summary["additive"], common/assets.py Additive):
    `x`, `y` the rows and columns of every surface ("x", "y" for add; "log₃ x", "log₃ y" for mul;
    a pow with no grid: "x", "y", its arrays stay over the tokens); `line` the sum the answer adds
    along ("x + y"; "log₃ x + log₃ y"); `n` the side of every surface and the modulus of every
    frequency; `p` the task's modulus. For add everything reads exactly as it always did."""

    def __init__(self, a):
        ad = a.additive
        self.p, self.n = int(a.p), int(a.n)
        self.op = ad.op or a.summary.get("task", {}).get("op", "add")
        self.grid = ad.grid is not False
        self.generator = ad.generator
        self._ad = ad
        self.x, self.y = (ad.x_label, ad.y_label) if self.grid else ("x", "y")
        self.line = ad.sum_label
        self.relabelled = self.x != "x" or self.y != "y"
        self.log = self.generator is not None and self.op in ("mul", "div")

    def token(self, element: int) -> int:
        """The answer token of a group element (a selection's T or output)."""
        return self._ad.token(int(element))

    @property
    def diff(self) -> str:
        """u − v in the task's terms ('x − y'; 'log₃ x − log₃ y'; div 'log₃ x + log₃ y')."""
        swap = {" + ": " − ", " − ": " + "}
        signs = [(self.line.find(s), s) for s in swap if s in self.line]
        if not signs:
            return "x − y"
        i, s = min(signs)
        return self.line[:i] + swap[s] + self.line[i + len(s):]

    @staticmethod
    def var(name: str) -> str:
        """An axis as the variable of a wave: 'x' stays 'x'; 'log₃ x' -> '·log₃x' (cos(13π·log₃x/56));
        '−y mod 113' -> '·(−y)'."""
        if len(name) == 1:
            return name
        name = name.split(" mod ")[0].replace(" ", "")
        return "·" + (f"({name})" if name.startswith("−") else name)

    def wave(self, fn: str, k: int, axis: str = "x") -> str:
        """'cos(8πx/113)'; mul: 'cos(13π·log₃x/56)'."""
        return fo.wave_label(fn, k, self.n, self.var(self.x if axis == "x" else self.y))

    def sum_wave(self, fn: str, k: int, diff: bool = False) -> str:
        """'cos(8π(x+y)/113)'; mul: 'cos(13π(log₃x+log₃y)/56)'."""
        return fo.wave_label(fn, k, self.n, "(" + (self.diff if diff else self.line).replace(" ", "") + ")")

    def product_formulas(self, k: int, recorded=None) -> list[str]:
        """The product pair's terms: extraction's own strings for add, else in the op's coordinates."""
        if recorded and not self.relabelled:
            return list(recorded)
        return [self.wave(fn, k) + "·" + self.wave(fn, k, "y") for fn in ("cos", "sin")]

    @property
    def negated(self) -> bool:
        """Whether the columns are a negation (sub's −y mod p, div's −log y): the line is then no
        plain sum of the axes (label_residue_segments names its segments by a congruence)."""
        return self.y.startswith("−")

    def line_eq(self, T: int) -> str:
        """'x + y ≡ 65 (mod 113)'; mul: 'log₃ x + log₃ y ≡ 105 (mod 112)'."""
        return f"{self.line} ≡ {int(T)} (mod {self.n})"

    def answer(self, T: int) -> str:
        """The answer an element stands for in the task's terms where the line does not say it
        ('' for add, sub and pow; mul: 'x·y ≡ 65 (mod 113)')."""
        if self.op not in TASK:
            return ""
        return f"{TASK[self.op]} ≡ {self.token(T)} (mod {self.p})"

    def output(self, e: int) -> str:
        """An output element as the token it is: '65' for add; mul: '65 = 3¹⁰⁵'."""
        if not self.log:
            return str(self.token(e))
        from grokking.extraction.coords import sup
        return f"{self.token(e)} = {self.generator}{sup(int(e))}"

    def sweep(self) -> str:
        """The wave neurons' sweep: 'x = 0, y swept'; mul: 'log₃ x = 0 (x = 1), log₃ y swept'."""
        x0 = f"{self.x} = 0"
        if self.x != "x" and self._ad.digits:
            x0 += f" (x = {int(self._ad.digits[0])})"
        return f"{x0}, {self.y} swept"

    def note(self) -> str:
        """One sentence on what the axes are ('' for add and sub, whose axes read as ever)."""
        if self.grid and (not self.relabelled or self.op == "sub"):
            return ""
        if self.log:
            g = self.generator
            y = f"y = {g}⁻ʲ" if self.op == "div" else f"y = {g}ʲ"
            out = (f"axes: the discrete log base {g}, i = {self.x}, j = {self.y} (x = {g}ⁱ, {y}; "
                   f"i = 0 is x = 1), over Z_{self.n}")
            zp = self._ad.zero_pairs or {}
            if zp.get("pairs"):
                acc = zp.get("accuracy")
                out += (f"; the {zp['pairs']} pairs with a zero lie outside it"
                        + (f" (accuracy {acc:.0%})" if acc is not None else ""))
            return out
        if not self.grid:
            return (f"axes: the tokens x and y themselves: x ↦ {self._ad.x_label} or y ↦ {self._ad.y_label} is not one-to-one "
                    f"mod {self.p}, so there is no ({self._ad.x_label}, {self._ad.y_label}) grid; the key frequencies "
                    f"are waves in {self.line}, measured over the pairs as they are")
        return f"axes: u = {self.x}, v = {self.y} (each one-to-one mod {self.p}): the {self.p}×{self.p} grid relabelled"


def ops(a) -> Ops:
    return Ops(a)


def say_coordinates(fig, o: Ops, before: str = "", fontsize: float | None = None):
    """Under the figure, in small grey type: `before` (a figure's own remark) and what its axes
    are (Ops.note), wrapped to the figure's width. Returns the text, or None when there is nothing
    to say (add: the figure stays as it was)."""
    if before and o.note() and not before.rstrip().endswith("."):
        before = before.rstrip() + "."
    text = " ".join(t for t in (before, o.note()) if t)
    return footnote(fig, text, fontsize) if text else None


def footnote(fig, text: str, fontsize: float | None = None):
    """`text` under the figure in small grey type, wrapped to the figure's width (gid
    'coordinates-note')."""
    import textwrap
    fs = fontsize or style.FONT_SIZE - 1.5
    width = max(40, int(fig.get_figwidth() * 72 / (fs * 0.56)))
    t = fig.supxlabel("\n".join(textwrap.wrap(text, width)), fontsize=fs, color="#444444")
    t.set_gid("coordinates-note")
    return t


def freq_norms(norms: np.ndarray) -> np.ndarray:
    """Norm per frequency k = 1 .. n//2 from per-row Fourier norms [..., n]: cos and sin joined,
    and for an even n the Nyquist k = n/2 (its cos row alone), which fo.freq_power leaves out."""
    norms = np.asarray(norms, float)
    n = norms.shape[-1]
    out = np.sqrt(fo.freq_power(norms)[..., 1:])
    if n % 2 == 0 and n > 1:
        out = np.concatenate([out, np.abs(norms[..., n - 1:n])], axis=-1)
    return out


def freq_rows(n: int) -> tuple[np.ndarray, list, list]:
    """(k = 1 .. n//2, cos row of each, sin row of each or None at the Nyquist of an even n)."""
    ks = np.array(fo.frequencies(n))
    cos = [fo.rows_of(k, n)[0] for k in ks]
    sin = [None if fo.is_nyquist(k, n) else fo.sin_row(k) for k in ks]
    return ks, cos, sin


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
            vmin: float | None = None, labels: bool = True, names: tuple[str, str] = ("x", "y")):
    """Draw S [x, y] with x horizontal and y vertical; signed maps get a symmetric scale. `names`:
    the axes' labels (Ops.x, Ops.y: 'log₃ x', 'log₃ y' for a mul run)."""
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
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
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


def label_residue_segments(ax, segments, gid: str, fontsize: float | None = None, line: str = "x + y",
                           modulus: int | None = None) -> list:
    """Name each segment drawn by draw_residue_line by its own equation ('x + y = 65',
    'x + y = 178'; `line` the sum in the op's terms, 'log₃ x + log₃ y = 105'; with `modulus`, by
    its congruence, 'x − y ≡ 65', where the line is no plain sum of the axes: sub's and div's
    columns are −y and −log y, so x − y is not u + v on either segment), written along it, at the first place (middle first, then outwards, either
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
        said = f"{line} = {total}" if modulus is None else f"{line} ≡ {total % modulus}"
        t = ax.text(0, 0, said, fontsize=fs, color=style.ROLE["line"], gid=gid,
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
    rows = [[0]] + [fo.rows_of(k, p) for k in ks]
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
