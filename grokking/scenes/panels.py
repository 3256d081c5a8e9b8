"""Plots in a scene: a panel with data limits, a cloud of dots rasterised with numpy at the
render's pixel density (thousands of dots cost one image, not thousands of mobjects), curves,
rules, colour bars; tags for marked points that do not pile up; layout helpers."""
from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, ImageMobject, Line, Rectangle, VGroup, VMobject, config
from manim.mobject.types.image_mobject import RESAMPLING_ALGORITHMS

from .canvas import image
from .theme import BG, GRID, MUTED, SEQ_CMAP, TEXT, cmap, hex_rgb, label



class Panel(VGroup):
    """A rectangular plot area with data limits: a neuron plot, a scatter cell, a curve box.

    `c2p(x, y)` maps data to scene points; `dots()` makes a DotLayer over the panel; `curve()` a
    polyline. The frame is a thin rectangle (frame=False for none)."""

    def __init__(self, width: float, height: float, xlim, ylim, frame: bool = True,
                 color: str = GRID, stroke: float = 1.5, **kw):
        super().__init__(**kw)
        self.w, self.h = float(width), float(height)
        self.xlim, self.ylim = tuple(map(float, xlim)), tuple(map(float, ylim))
        self.box = Rectangle(width=width, height=height, stroke_color=color, stroke_width=stroke)
        self.box.set_fill(opacity=0)
        if not frame:
            self.box.set_stroke(opacity=0)
        self.add(self.box)

    def _uv(self, x, y):
        (x0, x1), (y0, y1) = self.xlim, self.ylim
        u = (np.asarray(x, float) - x0) / ((x1 - x0) or 1.0)
        v = (np.asarray(y, float) - y0) / ((y1 - y0) or 1.0)
        return u, v

    def c2p(self, x, y) -> np.ndarray:
        """Scene point(s) of data (x, y): a point [3] for scalars, [n, 3] for arrays."""
        u, v = self._uv(x, y)
        bl = self.box.get_corner(DOWN + LEFT)
        pts = bl + np.multiply.outer(np.atleast_1d(u), RIGHT * self.w) + np.multiply.outer(np.atleast_1d(v), UP * self.h)
        return pts[0] if np.ndim(u) == 0 and np.ndim(v) == 0 else pts

    def curve(self, x, y, color: str = TEXT, width: float = 3, **kw) -> VMobject:
        """A polyline through the data points (clipped to nothing outside the caller's choice)."""
        x, y = np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(y, float))
        m = VMobject(stroke_color=color, stroke_width=width, **kw)
        if len(x) >= 2:
            m.set_points_as_corners(self.c2p(x, y))
        else:
            pt = self.c2p(x[0], y[0]) if len(x) else self.box.get_corner(DOWN + LEFT)
            m.set_points_as_corners([pt, pt])
        return m

    def dots(self, **kw) -> "DotLayer":
        layer = DotLayer(self, **kw)
        return layer


def auto_lim(v, pad: float = 0.08):
    v = np.asarray(v, float)
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    span = hi - lo
    return lo - pad * span, hi + pad * span


class DotLayer(ImageMobject):
    """Dots drawn into one RGBA image over a Panel (2x supersampled, premultiplied alpha).

    `draw(x, y, colors)` redraws it; call it from an updater to animate thousands of dots at the
    price of one image. Coordinates are in the panel's data units (per-call limits allowed)."""

    def __init__(self, panel: Panel, radius: float = 0.035, ss: int = 2):
        self.panel = panel
        ppu = config.pixel_width / config.frame_width
        self.ss = ss
        self.Wp = max(2, int(round(panel.w * ppu)))
        self.Hp = max(2, int(round(panel.h * ppu)))
        self.r_px = max(0.8, radius * ppu * ss)
        r = int(np.ceil(self.r_px))
        dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
        keep = dx ** 2 + dy ** 2 <= self.r_px ** 2
        self.offs = np.stack([dy[keep], dx[keep]], 1)
        super().__init__(np.zeros((self.Hp, self.Wp, 4), np.uint8))
        self.set_resampling_algorithm(RESAMPLING_ALGORITHMS["nearest"])
        self.stretch_to_fit_width(panel.w).stretch_to_fit_height(panel.h)
        self.move_to(panel.box.get_center())

    def draw(self, x, y, colors, xlim=None, ylim=None, alpha: float = 1.0) -> "DotLayer":
        """colors: one hex string, or an RGB uint8 array [n, 3]."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        ss = self.ss
        H, W = self.Hp * ss, self.Wp * ss
        acc = np.zeros((H, W, 4), np.float32)
        if len(x):
            (x0, x1) = xlim or self.panel.xlim
            (y0, y1) = ylim or self.panel.ylim
            u = (x - x0) / ((x1 - x0) or 1.0)
            v = (y - y0) / ((y1 - y0) or 1.0)
            px = np.round(u * (W - 1)).astype(int)
            py = np.round((1 - v) * (H - 1)).astype(int)
            if isinstance(colors, str):
                rgb = np.tile(hex_rgb(colors), (len(x), 1))
            else:
                rgb = np.asarray(colors, float).reshape(len(x), 3)
            col = np.concatenate([rgb * alpha, np.full((len(x), 1), 255.0 * alpha)], 1)
            for oy, ox in self.offs:
                yy, xx = py + oy, px + ox
                ok = (yy >= 0) & (yy < H) & (xx >= 0) & (xx < W)
                acc[yy[ok], xx[ok]] = col[ok]
        small = acc.reshape(self.Hp, ss, self.Wp, ss, 4).mean((1, 3))
        a = small[..., 3:4]
        rgb = np.where(a > 0, small[..., :3] * 255.0 / np.maximum(a, 1e-6), 0)
        self.pixel_array = np.concatenate([rgb, a], -1).clip(0, 255).astype(np.uint8)
        return self


def wave_overlay(panel: Panel, f, p: int, k: int, color: str, width: float = 3,
                 samples_per_period: float = 6.0):
    """A wave f(t) (t = 0..p-1, frequency k) drawn over a panel of p samples.

    Low frequencies: the smooth curve. High ones (fewer than `samples_per_period` samples per
    period, e.g. k = 25 at p = 53): a smooth curve would wiggle between the samples and hide
    them, so draw what the samples see instead: the values at t = 0..p-1 as small dots joined by
    a faint polyline (near k = p/2 that is two interleaved slow envelopes, the aliasing)."""
    from manim import Group
    if k == 0 or p / k >= samples_per_period:
        fine = np.linspace(0, p - 1, max(400, 12 * p))
        return panel.curve(fine, f(fine), color, width)
    t = np.arange(p)
    line = panel.curve(t, f(t), color, 1.2, stroke_opacity=0.45)
    marks = panel.dots(radius=0.022).draw(t, f(t), color)
    return Group(line, marks)


def hline(panel: Panel, y: float, color=MUTED, width=1.5) -> Line:
    return Line(panel.c2p(panel.xlim[0], y), panel.c2p(panel.xlim[1], y), stroke_color=color,
                stroke_width=width)


def vline(panel: Panel, x: float, color=MUTED, width=1.5) -> Line:
    return Line(panel.c2p(x, panel.ylim[0]), panel.c2p(x, panel.ylim[1]), stroke_color=color,
                stroke_width=width)


def colorbar(width: float, height: float, lo_text: str, hi_text: str, name: str = SEQ_CMAP,
             caption: str | None = None) -> VGroup:
    """A horizontal colour bar with end labels (and an optional caption above)."""
    bar = image(cmap(np.linspace(0, 1, 256)[None, :], name, 0, 1), width=width, height=height,
                smooth=True)
    lo = label(lo_text, 18, MUTED).next_to(bar, LEFT, buff=0.12)
    hi = label(hi_text, 18, MUTED).next_to(bar, RIGHT, buff=0.12)
    g = [bar, lo, hi]
    if caption:
        g.append(label(caption, 18, MUTED).next_to(bar, UP, buff=0.08))
    return Group_(*g)


def Group_(*mobs):
    from manim import Group
    return Group(*mobs)


# ---- point tags that do not pile up ----------------------------------------------------------------


def boxes_overlap(a, b, pad: float = 0.04) -> bool:
    (al, ab), (ar, at) = a.get_corner(DOWN + LEFT)[:2], a.get_corner(UP + RIGHT)[:2]
    (bl, bb), (br, bt) = b.get_corner(DOWN + LEFT)[:2], b.get_corner(UP + RIGHT)[:2]
    return not (ar + pad < bl or br + pad < al or at + pad < bb or bt + pad < ab)


class PointTags:
    """Labels for marked points, e.g. "(60, 5)", each up and to the right of its dot on a
    background patch; a tag that would overlap an earlier one (or cover its dot) is merged with
    it into one label, "(60, 5), (65, 0)", anchored at the first dot.

    `add(dot, text)` returns (old, new): the tag mobject to fade out (None) and the one to fade in."""

    def __init__(self, size: float = 15, color: str = TEXT, direction=UP + RIGHT,
                 x_max: float | None = None, near: float = 0.45):
        self.size, self.color, self.direction, self.x_max = size, color, direction, x_max
        self.near = near      # dots closer than this (scene units) share a label
        self.items: list[dict] = []

    def make(self, texts, anchor):
        from manim import BackgroundRectangle
        t = label(", ".join(texts), self.size, self.color).next_to(anchor, self.direction, buff=0.04)
        if self.x_max is not None and t.get_right()[0] > self.x_max:
            t.shift(LEFT * (t.get_right()[0] - self.x_max))
        return VGroup(BackgroundRectangle(t, color=BG, fill_opacity=0.75, buff=0.03), t)

    def add(self, dot, text: str):
        cand = self.make([text], dot)
        for it in self.items:
            close = any(np.linalg.norm(dot.get_center() - d.get_center()) < self.near for d in it["dots"])
            if close or boxes_overlap(cand, it["mob"]) or any(boxes_overlap(cand, d, 0.0) for d in it["dots"]) \
                    or boxes_overlap(dot, it["mob"], 0.0):
                old = it["mob"]
                it["texts"].append(text)
                it["dots"].append(dot)
                it["mob"] = self.make(it["texts"], it["dots"][0])
                return old, it["mob"]
        self.items.append({"texts": [text], "dots": [dot], "mob": cand})
        return None, cand

    def group(self) -> VGroup:
        return VGroup(*[it["mob"] for it in self.items])


def fit_right(m, x_max: float = 6.85, x_left: float | None = None):
    """Shrink m (keeping its left edge) until its right edge is at most x_max."""
    if m.get_right()[0] > x_max:
        left = m.get_left()[0] if x_left is None else x_left
        y = m.get_center()[1]
        m.scale_to_fit_width(x_max - left)
        m.move_to([left, y, 0], aligned_edge=LEFT)
    return m


def clear_y(x0: float, x1: float, h: float, curves, y_lo: float, y_hi: float, prefer: float,
            pad: float = 0.08, step: float = 0.05, strict: bool = False):
    """The centre y (scene units) of a box spanning [x0, x1] and h tall, inside [y_lo, y_hi],
    that no curve passes through (with `pad` clearance), closest to `prefer`; `prefer` itself
    (None when `strict`) when there is none. curves: VMobjects (their points) or [n, 2+] arrays of scene points."""
    pts = []
    for c in curves:
        a = np.asarray(c.points if hasattr(c, "points") else c, float)
        if len(a) >= 2:
            # the segments between consecutive points too (a steep segment has few points)
            f = np.linspace(0, 1, 12)[:, None, None]
            a = (a[:-1, None, :2] * (1 - f[:, :, 0][..., None].transpose(1, 0, 2))
                 + a[1:, None, :2] * f[:, :, 0][..., None].transpose(1, 0, 2)).reshape(-1, 2)
            pts.append(a)
        elif len(a):
            pts.append(a[:, :2])
    if not pts:
        return prefer
    P = np.concatenate(pts)
    P = P[(P[:, 0] >= x0 - pad) & (P[:, 0] <= x1 + pad)]
    cands = np.arange(y_lo + h / 2, y_hi - h / 2 + 1e-9, step)
    if not len(cands):
        return prefer
    ok = [yc for yc in cands if not np.any(np.abs(P[:, 1] - yc) < h / 2 + pad)] if len(P) else list(cands)
    if not ok:
        return None if strict else prefer
    return float(min(ok, key=lambda yc: abs(yc - prefer)))
