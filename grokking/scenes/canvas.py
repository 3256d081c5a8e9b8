"""Where the scenes draw: the base scenes (dark background, the run's data as `self.d`), their
cameras with a fix for Manim's image drawing under Pillow >= 11, and images from arrays (a p x p
grid is one nearest-neighbour ImageMobject)."""
from __future__ import annotations

import numpy as np
from manim import Camera, ImageMobject, Scene, ThreeDCamera, ThreeDScene, config
from manim.mobject.types.image_mobject import RESAMPLING_ALGORITHMS
from PIL import Image

from . import data
from .theme import BG, DIV_CMAP, HEADING_BUFF, MIN_TEXT, MUTED, cmap, label

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


NOTE_BUFF = 0.04          # the coordinates note's gap to the frame's corner


def corner_note(text: str):
    """The coordinates note at the smallest legible size in the top-left corner; one too wide for
    the frame breaks after its first "; " (still at that size) rather than shrinking."""
    from manim import DOWN, LEFT, UL, VGroup
    note = label(text, MIN_TEXT, MUTED)
    head, sep, tail = text.partition("; ")
    if note.width > config.frame_width - 2 * NOTE_BUFF and sep:
        note = VGroup(label(head + ";", MIN_TEXT, MUTED), label(tail, MIN_TEXT, MUTED)).arrange(
            DOWN, aligned_edge=LEFT, buff=0.05)
    return note.to_corner(UL, buff=NOTE_BUFF)


class DataCamera(Camera):
    display_image_mobject = _display_image_mobject


class DataThreeDCamera(ThreeDCamera):
    display_image_mobject = _display_image_mobject


def _bg(scene):
    scene.camera.background_color = BG
    scene.camera.init_background()


def fill_run(cfg) -> None:
    """Put the run (data.current_run(), from GROKKING_RUN) into output folders that name it as
    {run}: manim.cfg's, for Manim's own command line; `grokking scene` gives them whole."""
    for key in ("video_dir", "images_dir", "partial_movie_dir"):
        if "{run}" in cfg[key]:
            cfg[key] = cfg[key].replace("{run}", data.current_run())


class _Data:
    """What every scene shares: its camera class, the dark background, the run's data as `self.d`."""
    camera_cls = None

    def __init__(self, **kw):
        fill_run(config)                 # before Scene.__init__ opens its output files
        kw.setdefault("camera_class", self.camera_cls)
        super().__init__(**kw)

    def setup(self):
        _bg(self)
        if not data.standalone():
            self.d = data.load()
            self._coordinates_note()
            return
        # Manim's own command line: one line saying what to do, not a traceback from inside the scene
        name = type(self).__name__
        try:
            self.d = data.load()
            data.check()
            why = data.absent(name)
        except (data.AssetsError, ValueError) as e:     # missing or corrupt assets; a bad GROKKING_RUN
            data.refuse(name, str(e))
        if why is not None:
            data.refuse(name, f"{why}; this scene draws that mechanism, so render it from a run that has it")
        self._coordinates_note()

    def _coordinates_note(self):
        """A scene drawing arrays over the pairs (x, y) (data.OVER_PAIRS) from a run whose axes are
        not x and y (op sub: −y mod p; mul and div: the discrete log; pow: the powers), or one of
        the embedding whose x axis is not x (mul, div, a pow with a grid), says so in its
        top-left corner, in every frame."""
        name = type(self).__name__
        text = (data.coordinates_note(scene=name) if name in data.OVER_PAIRS + ("EmbeddingProbe", "Clock")
                else None)
        self.coordinates_note = None
        HEADING_BUFF["top"] = 0.3
        if text is None:
            return
        note = corner_note(text)
        HEADING_BUFF["top"] = NOTE_BUFF + note.height + 0.08       # the heading below it
        note.set_z_index(10)
        self.coordinates_note = note
        if isinstance(self, ThreeDScene):
            self.add_fixed_in_frame_mobjects(note)
        else:
            self.add(note)

    def wait(self, *a, **kw):
        # Manim draws a wait with no time-based updater as one frozen frame without running any
        # updater: a LiveText caption set just before it would show only at the next play, so
        # the hold would show the previous caption. Bring every updater's mobject up to date first.
        self.update_mobjects(0)
        super().wait(*a, **kw)

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
