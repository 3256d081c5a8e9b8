"""The shared look of every scene: background, palette, fonts, and how the recurring pictures are
drawn (a neuron plot, a p x p grid, a cloud of dots, a curve).

Heavy pictures are drawn as images: a p x p grid is one ImageMobject (nearest-neighbour), and a
cloud of dots is rasterised with numpy (`DotLayer`) at the render's pixel density, so a frame
with thousands of dots costs one image, not thousands of mobjects.

The palette comes from figures/style.py (shared with the publication figures) when that module
exists; until then, from `_FALLBACK` below. Either way, scenes only ever read the names here.
"""
from __future__ import annotations

import shutil

import numpy as np
from manim import (DOWN, LEFT, ORIGIN, RIGHT, UP, Camera, ImageMobject, Line, Rectangle,
                   Scene, Text, ThreeDCamera, ThreeDScene, VGroup, VMobject, config)
from manim.mobject.types.image_mobject import RESAMPLING_ALGORITHMS
from PIL import Image

from . import data

# ---- palette ----------------------------------------------------------------------------------

_FALLBACK = {
    "background": "#0e1117",
    "text": "#e6e6e6",
    "muted": "#8b919c",
    "grid": "#3a3f4b",
    "train": "#4c9be8",
    "test": "#f28e2b",
    "excluded": "#e15759",
    "restricted": "#59a14f",
    "key": ["#edc948", "#b07aa1", "#76b7b2", "#ff9da7", "#9c755f", "#bab0ac"],
    "accent": "#edc948",
    "cos": "#4c9be8",
    "sin": "#f28e2b",
    "seq_cmap": "viridis",
    "div_cmap": "RdBu_r",
    "cyc_cmap": "twilight",
}


def _palette() -> dict:
    """The roles of figures/style.py (the palette shared with the publication figures), on the
    dark background the scenes use; `_FALLBACK` where that module or a role is missing."""
    out = dict(_FALLBACK)
    try:
        from figures import style  # plain hex strings, no matplotlib at import
    except ImportError:
        return out
    role = getattr(style, "ROLE", {})
    for name in ("train", "test", "excluded", "restricted", "cos", "sin", "marker"):
        if name in role:
            out[name] = role[name]
    out["background"] = getattr(style, "BACKGROUND_DARK", out["background"])
    out["key"] = list(getattr(style, "KEY_FREQ", out["key"]))
    out["accent"] = out["key"][0]
    for name, attr in (("seq_cmap", "CMAP_MAGNITUDE"), ("div_cmap", "CMAP_SIGNED"),
                       ("cyc_cmap", "CMAP_CYCLIC")):
        out[name] = getattr(style, attr, out[name])
    return out


PALETTE = _palette()
BG = PALETTE["background"]
TEXT = PALETTE["text"]
MUTED = PALETTE["muted"]
GRID = PALETTE["grid"]
TRAIN = PALETTE["train"]
TEST = PALETTE["test"]
EXCLUDED = PALETTE["excluded"]
RESTRICTED = PALETTE["restricted"]
KEY = PALETTE["key"]
ACCENT = PALETTE["accent"]
COS = PALETTE["cos"]
SIN = PALETTE["sin"]
SEQ_CMAP = PALETTE["seq_cmap"]  # colour by y / by x: purple (0) to yellow (p-1), as in the video
DIV_CMAP = PALETTE["div_cmap"]  # signed heights: blue (low) to red (high)

FONT = "DejaVu Sans"
MATH_FONT = "DejaVu Serif"
HAS_LATEX = shutil.which("latex") is not None

# ---- text ---------------------------------------------------------------------------------------


def label(s: str, size: float = 24, color: str = TEXT, **kw) -> Text:
    return Text(str(s), font=FONT, font_size=size, color=color, **kw)


def formula(plain: str, tex: str | None = None, size: float = 28, color: str = TEXT):
    """Math: MathTex when LaTeX is installed and a TeX form is given, else Text (Unicode)."""
    if HAS_LATEX and tex:
        from manim import MathTex
        return MathTex(tex, font_size=size * 1.25, color=color)
    return Text(plain, font=MATH_FONT, font_size=size, color=color, slant="ITALIC")


def title(s: str, size: float = 34) -> Text:
    return label(s, size).to_edge(UP, buff=0.3)


class LiveText(VGroup):
    """Text that changes while a scene plays (an epoch counter, "x = 37"): one Text per distinct
    string, cached, swapped in without `become` (which would re-align every point each frame).
    Keep the changing part short (just the number) and put the rest in a static label."""

    def __init__(self, fn, point, edge=LEFT, size: float = 24, color: str = TEXT, font: str = FONT):
        super().__init__()
        self.fn, self.point, self.edge = fn, np.asarray(point, float), edge
        self.size, self.color, self.font = size, color, font
        self.cache: dict[str, Text] = {}
        self.current = None
        self.refresh()
        self.add_updater(lambda m: m.refresh())

    def refresh(self):
        s = str(self.fn())
        if s != self.current:
            t = self.cache.get(s)
            if t is None:
                t = Text(s, font=self.font, font_size=self.size, color=self.color)
                t.move_to(self.point, aligned_edge=self.edge)
                self.cache[s] = t
            # a play() captures the family at its start and keeps drawing it: hide the outgoing
            # text rather than only dropping it
            for old in self.submobjects:
                old.set_fill(opacity=0)
            t.set_fill(opacity=1)
            self.submobjects = [t]
            self.current = s
        return self


def fmt_epoch(e) -> str:
    return "—" if e is None else f"{int(e):,}"


# ---- colours as arrays ----------------------------------------------------------------------------


def hex_rgb(h: str) -> np.ndarray:
    h = h.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], float)


def cmap(values, name: str = SEQ_CMAP, vmin=None, vmax=None) -> np.ndarray:
    """RGB uint8 [..., 3] of values through a matplotlib colormap."""
    from matplotlib import colormaps
    v = np.asarray(values, float)
    lo = np.nanmin(v) if vmin is None else vmin
    hi = np.nanmax(v) if vmax is None else vmax
    t = np.clip((v - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    return (colormaps[name](t)[..., :3] * 255).astype(np.uint8)


def cmap_hex(values, name: str = SEQ_CMAP, vmin=None, vmax=None) -> list[str]:
    return ["#%02x%02x%02x" % tuple(int(c) for c in rgb) for rgb in cmap(values, name, vmin, vmax).reshape(-1, 3)]


# ---- images (and a fix for manim's image drawing under Pillow >= 11) ----------------------------

def _display_image_mobject(self, image_mobject, pixel_array):
    """Draw an ImageMobject: axis-aligned images are resized and alpha-blended directly (fast);
    rotated or perspective ones go through a PIL perspective transform. (Manim 0.22's own
    version builds its canvas with Image.fromarray(float_array, mode="RGBA"), which Pillow >= 11
    rejects.)"""
    src = np.ascontiguousarray(image_mobject.get_pixel_array(), dtype=np.uint8)
    tc = self.points_to_subpixel_coords(image_mobject, image_mobject.points)  # UL, UR, DL, DR
    H, W = pixel_array.shape[:2]
    aligned = (abs(tc[0, 1] - tc[1, 1]) < 0.5 and abs(tc[0, 0] - tc[2, 0]) < 0.5
               and tc[1, 0] > tc[0, 0] and tc[2, 1] > tc[0, 1])
    if aligned:
        x0, y0 = int(round(tc[0, 0])), int(round(tc[0, 1]))
        w, h = int(round(tc[1, 0])) - x0, int(round(tc[2, 1])) - y0
        if w < 1 or h < 1:
            return
        if (w, h) != (src.shape[1], src.shape[0]):
            src = np.asarray(Image.fromarray(src).resize((w, h), resample=image_mobject.resampling_algorithm))
    else:
        lo = np.floor(tc.min(0)).astype(int)
        hi = np.ceil(tc.max(0)).astype(int)
        x0, y0 = int(lo[0]), int(lo[1])
        w, h = int(hi[0] - lo[0]), int(hi[1] - lo[1])
        if w < 1 or h < 1 or w > 8 * W or h > 8 * H:
            return
        sh, sw = src.shape[:2]
        orig = np.array([[0, 0], [sw, 0], [0, sh], [sw, sh]], float)
        tgt = tc - lo
        A, b = [], []
        for (x, y), (X, Y) in zip(tgt, orig):
            A += [[x, y, 1, 0, 0, 0, -X * x, -X * y], [0, 0, 0, x, y, 1, -Y * x, -Y * y]]
            b += [X, Y]
        try:
            coef = np.linalg.solve(np.array(A), np.array(b))
        except np.linalg.LinAlgError:
            return
        src = np.asarray(Image.fromarray(src).transform((w, h), Image.Transform.PERSPECTIVE, coef,
                                                        resample=image_mobject.resampling_algorithm))
    # clip to the frame and alpha-blend
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(W, x0 + src.shape[1]), min(H, y0 + src.shape[0])
    if dx1 <= dx0 or dy1 <= dy0:
        return
    s = src[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0].astype(np.float32)
    d = pixel_array[dy0:dy1, dx0:dx1].astype(np.float32)
    a = s[..., 3:4] / 255.0
    out = np.empty_like(d)
    out[..., :3] = s[..., :3] * a + d[..., :3] * (1 - a)
    out[..., 3:] = 255.0 * a + d[..., 3:] * (1 - a)
    pixel_array[dy0:dy1, dx0:dx1] = np.clip(out, 0, 255).astype(pixel_array.dtype)


class DataCamera(Camera):
    display_image_mobject = _display_image_mobject


class DataThreeDCamera(ThreeDCamera):
    display_image_mobject = _display_image_mobject


def _bg(scene):
    scene.camera.background_color = BG
    scene.camera.init_background()


class DataScene(Scene):
    """Base of every 2D scene: the dark background, the run's data as `self.d`."""

    def __init__(self, **kw):
        kw.setdefault("camera_class", DataCamera)
        super().__init__(**kw)

    def setup(self):
        _bg(self)
        self.d = data.load()

    def tear_down(self):
        # a still (last frame) skips animations, and skipped plays do not run updaters: run them
        # once so the last frame shows what the video's last frame shows
        self.update_mobjects(0)


class DataThreeDScene(ThreeDScene):
    def __init__(self, **kw):
        kw.setdefault("camera_class", DataThreeDCamera)
        super().__init__(**kw)

    def setup(self):
        _bg(self)
        self.d = data.load()

    def tear_down(self):
        self.update_mobjects(0)


def image(rgb: np.ndarray, width: float | None = None, height: float | None = None,
          smooth: bool = False) -> ImageMobject:
    """An ImageMobject from an RGB(A) uint8 array, nearest-neighbour unless smooth."""
    arr = np.asarray(rgb)
    if arr.shape[-1] == 3:
        arr = np.concatenate([arr, np.full(arr.shape[:2] + (1,), 255, np.uint8)], -1)
    im = ImageMobject(arr.astype(np.uint8))
    im.set_resampling_algorithm(RESAMPLING_ALGORITHMS["bilinear" if smooth else "nearest"])
    if width is not None:
        im.stretch_to_fit_width(width)
    if height is not None:
        im.stretch_to_fit_height(height)
    return im


def grid_image(values: np.ndarray, size: float = 4.0, name: str = DIV_CMAP, vmin=None, vmax=None,
               symmetric: bool = True) -> ImageMobject:
    """A p x p grid (x the row index, drawn top to bottom; y the column) as one image."""
    v = np.asarray(values, float)
    if symmetric and vmin is None and vmax is None:
        m = np.nanmax(np.abs(v)) or 1.0
        vmin, vmax = -m, m
    return image(cmap(v, name, vmin, vmax), width=size, height=size * v.shape[0] / v.shape[1])


# ---- plots ------------------------------------------------------------------------------------------


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


__all__ = ["PALETTE", "BG", "TEXT", "MUTED", "GRID", "TRAIN", "TEST", "EXCLUDED", "RESTRICTED",
           "KEY", "ACCENT", "FONT", "HAS_LATEX", "label", "formula", "title", "fmt_epoch", "cmap",
           "cmap_hex", "hex_rgb", "image", "grid_image", "Panel", "DotLayer", "auto_lim", "hline",
           "vline", "colorbar", "DataScene", "DataThreeDScene", "DataCamera", "ORIGIN"]
