"""Surfaces over (x, y) (part 2): a p x p surface drawn in 3D as one image by a small software
rasteriser (SurfaceView), how to draw it at a given sampling, and axes that follow it."""
from __future__ import annotations

import numpy as np
from manim import ImageMobject, VGroup, config
from manim.mobject.types.image_mobject import RESAMPLING_ALGORITHMS
from PIL import Image

from .theme import BG, GRID, MUTED, SEQ_CMAP, TEXT, hex_rgb, label



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


def surface_axes(sv: SurfaceView, size: float = 18, names=None, follow: bool = True) -> VGroup:
    """Axis labels on the floor of a SurfaceView: 0 and p-1 at the ends of the x edge (y = 0) and
    of the y edge (x = 0), and the axis names (default: the run's, data.axis_names: x and y; "−y"
    for a sub run, whose scene names it "−y mod p" in a corner; log₃ x and log₃ y for mul); they
    follow the camera when `follow`."""
    if names is None:
        from . import data
        names = data.axis_names()
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
