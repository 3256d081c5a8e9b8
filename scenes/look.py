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


class _Data:
    """What every scene shares: its camera class, the dark background, the run's data as `self.d`."""
    camera_cls = None

    def __init__(self, **kw):
        kw.setdefault("camera_class", self.camera_cls)
        super().__init__(**kw)

    def setup(self):
        _bg(self)
        self.d = data.load()

    def tear_down(self):
        # a still (last frame) skips animations, and skipped plays do not run updaters: run them
        # once so the last frame shows what the video's last frame shows
        self.update_mobjects(0)


class DataScene(_Data, Scene):
    """Base of every 2D scene."""
    camera_cls = DataCamera


class DataThreeDScene(_Data, ThreeDScene):
    """Base of every 3D scene."""
    camera_cls = DataThreeDCamera


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


# ---- surfaces over (x, y) (part 2) ---------------------------------------------------------------


class SurfaceView(ImageMobject):
    """A p x p surface Z[x, y] (x the row index, y the column) drawn in 3D as ONE image.

    Every data point is a vertex: the full-resolution mesh of (p-1)^2 quads is projected
    (orthographic), shaded, depth-sorted and filled with PIL, so the picture is exact at any p
    and costs one image per frame (~50 ms at p = 113), not thousands of mobjects. It re-renders
    only when its state changes (`setv(...)`), so a still camera costs nothing.

    Camera: `theta` turns the ground square about the vertical; `phi` is the elevation (0: side
    view, x across and height up; pi/2: overhead, x across to the right and y up the screen).
    Height: hscale * (Z - mid) / span of `zlim`, in units of the ground side; colour: Z through
    `cmap` over `zlim`. `project(x, y, z)` gives the scene point of a data point, for labels and
    markers, consistent with what is drawn (tests check this).

    Do not `.animate` or FadeIn this mobject (that would blend pixel arrays): drive it with
    trackers and `setv(...)` in an updater; `opacity` fades it."""

    LIGHT = np.array([-0.35, -0.45, 0.82]) / np.linalg.norm([-0.35, -0.45, 0.82])
    SHADE_FULL_PHI = 0.9      # elevation up to which slopes are fully shaded; none overhead

    def __init__(self, Z, width: float, height: float, side: float | None = None, zlim=None,
                 cmap_name: str = SEQ_CMAP, theta: float = -0.55, phi: float = 0.6,
                 hscale: float = 0.35, ss: int = 2, floor: bool = True, mode: str = "auto"):
        ppu = config.pixel_width / config.frame_width
        self.Wp, self.Hp = max(4, int(round(width * ppu))), max(4, int(round(height * ppu)))
        self.ss = ss
        super().__init__(np.zeros((self.Hp, self.Wp, 4), np.uint8))
        self.set_resampling_algorithm(RESAMPLING_ALGORITHMS["bilinear"])
        self.stretch_to_fit_width(width).stretch_to_fit_height(height)
        self.w0, self.h0 = float(width), float(height)
        self.side = float(side if side is not None else min(width, height) * 0.68)
        Z = np.asarray(Z, float)
        self.p = Z.shape[0]
        if zlim is None:
            zlim = (float(Z.min()), float(Z.max()))
        self.zlim = (float(zlim[0]), float(zlim[1]) if zlim[1] > zlim[0] else float(zlim[0]) + 1.0)
        from matplotlib import colormaps
        self.lut = (colormaps[cmap_name](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.float32)
        self.floor = floor
        self.mode = surface_mode(Z) if mode == "auto" else mode
        self.state = {"Z": Z, "zkey": None, "theta": float(theta), "phi": float(phi),
                      "hscale": float(hscale), "reveal": float(self.p), "opacity": 1.0,
                      "points": None, "show_surface": True}
        self._key = None
        self.render()

    # -- geometry --------------------------------------------------------------------------------

    def _scale(self) -> float:
        """Scene units per ground side, at the mobject's current size."""
        return self.side * self.width / self.w0

    def _world(self, x, y, z):
        p = self.p
        u = np.asarray(x, float) / (p - 1) - 0.5
        v = np.asarray(y, float) / (p - 1) - 0.5
        lo, hi = self.zlim
        h = self.state["hscale"] * (np.asarray(z, float) - (lo + hi) / 2) / (hi - lo)
        return u, v, h

    def _view(self, u, v, h):
        th, ph = self.state["theta"], self.state["phi"]
        up = u * np.cos(th) - v * np.sin(th)
        vp = u * np.sin(th) + v * np.cos(th)
        X = up
        Y = vp * np.sin(ph) + h * np.cos(ph)
        depth = vp * np.cos(ph) - h * np.sin(ph)        # larger: farther from the camera
        return X, Y, depth

    def value(self, x, y):
        """Z at (x, y), bilinear between grid points."""
        Z = self.state["Z"]
        x, y = np.clip(np.asarray(x, float), 0, self.p - 1), np.clip(np.asarray(y, float), 0, self.p - 1)
        x0, y0 = np.minimum(np.floor(x).astype(int), self.p - 2), np.minimum(np.floor(y).astype(int), self.p - 2)
        fx, fy = x - x0, y - y0
        return ((1 - fx) * (1 - fy) * Z[x0, y0] + fx * (1 - fy) * Z[x0 + 1, y0]
                + (1 - fx) * fy * Z[x0, y0 + 1] + fx * fy * Z[x0 + 1, y0 + 1])

    def project(self, x, y, z=None) -> np.ndarray:
        """Scene point(s) of data point(s) (x, y, z); z defaults to the surface's value there."""
        if z is None:
            z = self.value(x, y)
        X, Y, _ = self._view(*self._world(x, y, z))
        s, c = self._scale(), self.get_center()
        pts = np.stack(np.broadcast_arrays(c[0] + s * X, c[1] + s * Y, np.zeros_like(X) + c[2]), -1)
        return pts

    def shading(self) -> float:
        """Strength of the slope shading, 1 up to `SHADE_FULL_PHI`, falling to 0 overhead."""
        ph = self.state["phi"]
        c0 = np.cos(self.SHADE_FULL_PHI)
        return float(np.clip(np.cos(ph) / c0, 0.0, 1.0)) if c0 > 0 else 0.0

    def overhead(self) -> bool:
        """The camera looks straight down (phi = pi/2): x and y fix the picture, z only colours."""
        return abs(np.cos(self.state["phi"])) < 1e-3

    def _overhead(self, img, to_px, ppx: float, n: int):
        """The overhead picture of columns y < n: each pixel of the ground square coloured by Z
        interpolated bilinearly at its (x, y) (the inverse of `_view` at phi = pi/2)."""
        p = self.p
        Z = self.state["Z"]
        th = self.state["theta"]
        W, H = img.size
        cx, cy = np.array([0, p - 1, p - 1, 0.0]), np.array([0, 0, n - 1, n - 1.0])
        X, Y, _ = self._view(*self._world(cx, cy, np.zeros(4)))
        qx, qy = to_px(X, Y)
        m = 2 * self.ss
        x0, x1 = max(0, int(np.floor(qx.min())) - m), min(W, int(np.ceil(qx.max())) + m)
        y0, y1 = max(0, int(np.floor(qy.min())) - m), min(H, int(np.ceil(qy.max())) + m)
        if x1 <= x0 or y1 <= y0:
            return img
        pyy, pxx = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5
        Xs, Ys = (pxx - W / 2) / ppx, (H / 2 - pyy) / ppx
        u = Xs * np.cos(th) + Ys * np.sin(th)
        v = -Xs * np.sin(th) + Ys * np.cos(th)
        xf, yf = (u + 0.5) * (p - 1), (v + 0.5) * (p - 1)
        e = self.ss * (p - 1) / ppx    # one output pixel in data units: edge pixels fully
        inside = (xf >= -e) & (xf <= p - 1 + e) & (yf >= -e) & (yf <= n - 1 + e)  # covered, as a polygon fill
        if not inside.any():
            return img
        xi, yi = np.clip(xf[inside], 0, p - 1), np.clip(yf[inside], 0, n - 1)
        a0 = np.minimum(np.floor(xi).astype(int), p - 2)
        b0 = np.minimum(np.floor(yi).astype(int), p - 2)
        fx, fy = xi - a0, yi - b0
        z = ((1 - fx) * (1 - fy) * Z[a0, b0] + fx * (1 - fy) * Z[a0 + 1, b0]
             + (1 - fx) * fy * Z[a0, b0 + 1] + fx * fy * Z[a0 + 1, b0 + 1])
        lo, hi = self.zlim
        idx = np.clip(np.rint((z - lo) / (hi - lo) * 255), 0, 255).astype(int)
        arr = np.asarray(img).copy()
        sub = arr[y0:y1, x0:x1]
        sub[inside, :3] = self.lut[idx].astype(np.uint8)
        sub[inside, 3] = 255
        return Image.fromarray(arr, "RGBA")

    def floor_z(self) -> float:
        return self.zlim[0] - 0.08 * (self.zlim[1] - self.zlim[0])

    # -- state -----------------------------------------------------------------------------------

    def setv(self, **kw) -> "SurfaceView":
        """Change state (Z [with zkey to compare cheaply], theta, phi, hscale, reveal, opacity,
        points) and re-render if anything changed."""
        for k, v in kw.items():
            if k == "Z":
                v = np.asarray(v, float)
            self.state[k] = v
        self.render()
        return self

    @staticmethod
    def _fill(dr, qx, qy, qd, col):
        """Quads [n, 4] (pixel x, y), back to front by depth, filled with colours [n, 3]."""
        order = np.argsort(-qd, kind="stable")
        pts = np.stack([qx[order], qy[order]], -1).reshape(len(order), 8).tolist()
        poly = dr.polygon
        for q, c in zip(pts, col[order].tolist()):
            poly(q, fill=(c[0], c[1], c[2], 255))

    def _state_key(self):
        s = self.state
        z = s["zkey"] if s["zkey"] is not None else id(s["Z"])
        pts = None if s["points"] is None else id(s["points"])
        return (z, round(s["theta"], 5), round(s["phi"], 5), round(s["hscale"], 5),
                round(s["reveal"], 3), round(s["opacity"], 3), pts, s["show_surface"])

    def render(self, force: bool = False) -> "SurfaceView":
        key = self._state_key()
        if key == self._key and not force:
            return self
        self._key = key
        from PIL import ImageDraw
        ss = self.ss
        W, H = self.Wp * ss, self.Hp * ss
        img = Image.new("RGBA", (W, H), (0, 0, 0, 0))
        dr = ImageDraw.Draw(img)
        ppx = self.Wp / self.w0 * ss * self.side          # pixels per ground side (at init size)

        def to_px(X, Y):
            return W / 2 + ppx * X, H / 2 - ppx * Y

        s = self.state
        p = self.p
        Z = s["Z"]
        x = np.arange(p)
        Xg, Yg = np.meshgrid(x, x, indexing="ij")
        if self.floor:
            fz = self.floor_z()
            e = 0.5 if self.mode == "tiles" else 0.0
            cx, cy = np.array([-e, p - 1 + e, p - 1 + e, -e]), np.array([-e, -e, p - 1 + e, p - 1 + e])
            X, Y, _ = self._view(*self._world(cx, cy, np.full(4, fz)))
            px, py = to_px(X, Y)
            dr.polygon(list(zip(px.tolist(), py.tolist())), fill=(*[int(c) for c in hex_rgb(GRID) * 0.45], 255),
                       outline=(*[int(c) for c in hex_rgb(GRID)], 255), width=max(1, ss))
        n = int(np.clip(np.ceil(s["reveal"]), 0, p))      # columns y < n are shown
        lo, hi = self.zlim
        if s["show_surface"] and n >= 1 and self.mode == "tiles":
            # one flat tile per data point, at its height and in its colour: exact for surfaces
            # that change sign from one sample to the next (a mesh would average them away)
            xs, ys = Xg[:, :n].ravel(), Yg[:, :n].ravel()
            zz = Z[:, :n].ravel()
            cx = xs[:, None] + np.array([-0.5, 0.5, 0.5, -0.5])
            cy = ys[:, None] + np.array([-0.5, -0.5, 0.5, 0.5])
            X, Y, depth = self._view(*self._world(cx, cy, zz[:, None] + 0 * cx))
            qx, qy = to_px(X, Y)
            qd = depth.sum(1)
            idx = np.clip((zz - lo) / (hi - lo) * 255, 0, 255).astype(int)
            col = self.lut[idx].astype(np.uint8)
            self._fill(dr, qx, qy, qd, col)
        elif s["show_surface"] and n >= 2 and self.overhead():
            # straight down, height moves nothing: colour every pixel by the height interpolated
            # between its four data points (bilinear), so the colour at a data point is exactly
            # its value and a one-sample-wide crest reaches the top of the colour scale (a quad
            # coloured by the mean of its corners would average a diagonal crest away)
            img = self._overhead(img, to_px, ppx, n)
            dr = ImageDraw.Draw(img)
        elif s["show_surface"] and n >= 2:
            u, v, h = self._world(Xg, Yg, Z)
            X, Y, depth = self._view(u, v, h)
            px, py = to_px(X, Y)
            corners = [(slice(None, -1), slice(None, n - 1)), (slice(1, None), slice(None, n - 1)),
                       (slice(1, None), slice(1, n)), (slice(None, -1), slice(1, n))]
            qx = np.stack([px[c] for c in corners], -1).reshape(-1, 4)
            qy = np.stack([py[c] for c in corners], -1).reshape(-1, 4)
            qd = sum(depth[c] for c in corners).ravel()
            zq = sum(Z[c] for c in corners).ravel() / 4
            # shading from the quad's normal (world units), light fixed in the world
            du = 1.0 / (p - 1)
            dhx = ((h[1:, :] - h[:-1, :])[:, :n - 1] + (h[1:, :] - h[:-1, :])[:, 1:n]) / (2 * du)
            dhy = ((h[:, 1:] - h[:, :-1])[:-1, :n - 1] + (h[:, 1:] - h[:, :-1])[1:, :n - 1]) / (2 * du)
            nrm = np.stack([-dhx, -dhy, np.ones_like(dhx)], -1)
            nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
            lam = np.clip(nrm @ self.LIGHT, 0, 1).ravel()
            # slope shading gives depth in a tilted view but, seen from above, it paints lighting
            # (slopes facing the light) rather than height: fade it out as the camera reaches
            # overhead, where colour alone must say the height
            shade = 1.0 - self.shading() * (0.5 - 0.5 * lam)
            idx = np.clip((zq - lo) / (hi - lo) * 255, 0, 255).astype(int)
            col = np.clip(self.lut[idx] * shade[:, None], 0, 255).astype(np.uint8)
            self._fill(dr, qx, qy, qd, col)
        if s["points"] is not None:
            for (xx, yy, zz, c, r) in s["points"]:
                X, Y, _ = self._view(*self._world(xx, yy, zz))
                qx, qy = to_px(X, Y)
                rr = r * ss
                dr.ellipse([qx - rr, qy - rr, qx + rr, qy + rr], fill=c)
        if ss > 1:
            img = img.reduce(ss)
        arr = np.asarray(img).copy()
        if s["opacity"] < 1:
            arr[..., 3] = (arr[..., 3] * max(0.0, s["opacity"])).astype(np.uint8)
        self.pixel_array = arr
        return self


def surface_mode(Z, samples_per_period: float = 6.0) -> str:
    """'mesh' (a smooth surface through the data points) when most of the surface's variance is
    at frequencies with at least `samples_per_period` samples per period; else 'tiles' (one flat
    tile per data point), as wave_overlay does for 1D waves: a smooth surface between samples of
    a near-Nyquist wave would show a pattern the data does not have."""
    Z = np.asarray(Z, float)
    p = Z.shape[0]
    P = np.abs(np.fft.fft2(Z - Z.mean())) ** 2
    k = np.fft.fftfreq(p) * p
    kk = np.maximum(np.abs(k)[:, None], np.abs(k)[None, :])
    tot = P.sum()
    if tot <= 0:
        return "mesh"
    return "mesh" if P[kk <= p / samples_per_period].sum() >= 0.5 * tot else "tiles"


def surface_axes(sv: SurfaceView, size: float = 18, names=("x", "y"), follow: bool = True) -> VGroup:
    """Axis labels on the floor of a SurfaceView: 0 and p-1 at the ends of the x edge (y = 0) and
    of the y edge (x = 0), and the axis names; they follow the camera when `follow`."""
    p = sv.p
    off = 0.09 * (p - 1)
    spots = [(0, -off, "0"), (p - 1, -off, str(p - 1)), ((p - 1) / 2, -1.9 * off, names[0]),
             (-off, p - 1, str(p - 1)), (-1.9 * off, (p - 1) / 2, names[1])]
    g = VGroup(*[label(t, size if t not in names else size + 4, MUTED if t not in names else TEXT)
                 for *_, t in spots])
    # in front of the surface (drawn after it whatever the order they were added in), with a
    # background-coloured outline to stay legible where they overlap it
    g.set_background_stroke(color=BG, width=5, opacity=0.85)
    g.set_z_index(5)

    def place(m):
        fz = sv.floor_z()
        for t, (x, y, _) in zip(m.submobjects, spots):
            t.move_to(sv.project(x, y, fz))
        return m
    place(g)
    if follow:
        g.add_updater(place)
    return g


# ---- point tags that do not pile up ----------------------------------------------------------------


def _boxes_overlap(a, b, pad: float = 0.04) -> bool:
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
            if close or _boxes_overlap(cand, it["mob"]) or any(_boxes_overlap(cand, d, 0.0) for d in it["dots"]) \
                    or _boxes_overlap(dot, it["mob"], 0.0):
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
