"""Part 2, surfaces (19:17-23:18): a hidden neuron's output over (x, y) built up from the x sweep,
the y sweep, then every pair; its 2D Fourier decomposition into a few terms and back; then one
layer deeper, a unit of the MLP output whose diagonal crests lie on x + y ≡ T (mod p).

Surfaces are drawn by look.SurfaceView: the full n x n data, every data point a vertex (or a tile
when the surface changes sign from one sample to the next), rendered as one image per frame. The
axes are the run's coordinates (summary "additive"): x and y, n = p, for add; log₃ x and log₃ y
over Z_112 for mul at p = 113, where a crest's line is log₃ x + log₃ y ≡ T (mod 112) and T is the
element of the answer 3^T mod p; every text names them so.

Reads selections.npz (neuron_ids, neuron_surfaces, crest_surface, crest_points) and summary.json
(selections.neuron_surfaces.featured / .decompositions, selections.crest: T, kind, description)."""
from __future__ import annotations

import textwrap

import numpy as np
from manim import (DL, DOWN, DR, LEFT, RIGHT, UP, UL, UR, BackgroundRectangle, DashedLine, Dot, FadeIn,
                   FadeOut, LaggedStart, ReplacementTransform, ValueTracker, VGroup, Write, linear, smooth)

from grokking.common import assets as fmt
from grokking.extraction import fourier as fo
from grokking.extraction.mechanism import line_profile

from grokking.scenes import look as L


def lut_hex(sv: L.SurfaceView, z: float) -> str:
    lo, hi = sv.zlim
    c = sv.lut[int(np.clip((z - lo) / (hi - lo) * 255, 0, 255))]
    return "#%02x%02x%02x" % tuple(int(v) for v in c)


def sweep_lines(Z) -> tuple[int, int]:
    """(y0, x0): the row and column the sweeps run along. The video's y = 0 and x = 0, unless that
    sweep is nearly flat for this neuron (a ReLU can be off along a whole line); then the line
    where the sweep varies most."""
    vx, vy = Z.var(axis=0), Z.var(axis=1)        # variance of the x sweep at each y, of the y sweep at each x
    y0 = 0 if vx[0] >= 0.5 * vx.max() else int(np.argmax(vx))
    x0 = 0 if vy[0] >= 0.5 * vy.max() else int(np.argmax(vy))
    return y0, x0


def sweep_points(sv: L.SurfaceView, Z, n_x: int, n_y: int, y0: int = 0, x0: int = 0, r: float = 3.5):
    """Dots of the x sweep (y = y0, x < n_x) and the y sweep (x = x0, y < n_y) in the surface's
    colours, for SurfaceView's `points`."""
    lo, hi = sv.zlim
    pts = []
    for x in range(n_x):
        c = sv.lut[int(np.clip((Z[x, y0] - lo) / (hi - lo) * 255, 0, 255))]
        pts.append((x, y0, Z[x, y0], tuple(int(v) for v in c) + (255,), r))
    for y in range(n_y):
        c = sv.lut[int(np.clip((Z[x0, y] - lo) / (hi - lo) * 255, 0, 255))]
        pts.append((x0, y, Z[x0, y], tuple(int(v) for v in c) + (255,), r))
    return pts


def shown_terms(dec: dict, min_fve: float = 0.02, at_least: int = 3, at_most: int = 4) -> list[dict]:
    """The decomposition's terms worth a picture: those above `min_fve`, at least three."""
    terms = dec["terms"]
    keep = [t for t in terms if t["fve"] >= min_fve]
    if len(keep) < at_least:
        keep = terms[:at_least]
    return keep[:at_most]


def one_frequency(terms: list[dict]) -> int | None:
    """The frequency k every term's waves share (basis row r is frequency (r + 1) // 2; row 0, the
    constant, has none), or None when they mix frequencies."""
    ks = {(r + 1) // 2 for t in terms for r in (t["i"], t["j"]) if r}
    return ks.pop() if len(ks) == 1 else None


def term_in_axes(term: str, names: tuple[str, str] = ("x", "y")) -> str:
    """A term as extraction names it ('cos(13πx/56)·cos(13πy/56)', in the surface's row and column
    variables x and y) with the axes' names: 'cos(13π(log₃ x)/56)·cos(13π(log₃ y)/56)' for mul;
    unchanged for x and y."""
    if names == ("x", "y"):
        return term
    for v, name in zip(("x", "y"), names):
        if name != v:
            term = term.replace(f"π{v}", f"π({name})")
    return term


def short_terms(terms: list[dict], p: int, names: tuple[str, str] = ("x", "y")) -> tuple[list[dict], str]:
    """The terms with their waves written in w ('cos(wx)·cos(wy)') when they share one frequency,
    and the legend that defines w ('w = 10π/113'); unchanged, and no legend, when they do not. The
    video names the terms this way (cosine of x times cosine of y): short enough to read. `names`:
    the axes' ('cos(w·log₃ x)·cos(w·log₃ y)' for mul); p: the frequencies' modulus, n."""
    k = one_frequency(terms)
    if k is None:
        return [{**t, "term": term_in_axes(t["term"], names)} for t in terms], ""
    bodies = {fo.wave_label("cos", k, p, v)[4:-1]: (f"w{v}" if name == v else f"w·{name}")
              for v, name in zip(("x", "y"), names)}     # '10πx/113' -> 'wx'
    out = []
    for t in terms:
        name = t["term"]
        for long, short in bodies.items():
            name = name.replace(long, short)
        out.append({**t, "term": name})
    return out, f"w = {fo.freq_label(k, p)}"


def covers(sv: L.SurfaceView, m, alpha: int = 40) -> float:
    """The share of m's bounding box that the SurfaceView's drawn pixels (not the floor's edge:
    alpha above `alpha`) cover."""
    img = sv.pixel_array
    Hp, Wp = img.shape[:2]
    c, w, h = sv.get_center(), sv.width, sv.height
    (x0, y0), (x1, y1) = m.get_corner(DL)[:2], m.get_corner(UR)[:2]
    px0, px1 = [int(np.clip((v - (c[0] - w / 2)) / w * Wp, 0, Wp)) for v in (x0, x1)]
    py0, py1 = [int(np.clip(((c[1] + h / 2) - v) / h * Hp, 0, Hp)) for v in (y1, y0)]
    if px1 <= px0 or py1 <= py0:
        return 0.0
    return float((img[py0:py1, px0:px1, 3] > alpha).mean())


def neuron_axes(sv: L.SurfaceView, size: float = 18):
    """surface_axes with the y axis's labels on the floor's front-right edge (x = p − 1), not its
    left one: seen from the front-left, the surface's peaks rise over the far end of the left edge
    and would cover its 'p − 1'; each label also steps out from the edge, along the floor, until
    no part of the surface drawn covers it."""
    axes = L.surface_axes(sv, size, follow=False)
    p = sv.p
    off = 0.09 * (p - 1)
    # surface_axes' labels in its order: 0 and p − 1 of the x edge, its name, p − 1 of the y edge,
    # its name; each with its spot and outward direction, in data units
    spots = [((0, -off), (0, -1)), ((p - 1, -off), (0, -1)), (((p - 1) / 2, -1.9 * off), (0, -1)),
             ((p - 1 + off, p - 1), (1, 0)), ((p - 1 + 1.9 * off, (p - 1) / 2), (1, 0))]

    def place(m):
        fz = sv.floor_z()
        for t, ((x, y), (dx, dy)) in zip(m.submobjects, spots):
            for step in (0.0, 0.6, 1.2, 1.8, 2.6):
                t.move_to(sv.project(x + dx * step * off, y + dy * step * off, fz))
                if covers(sv, t) < 0.02:
                    break
        return m
    place(axes)
    axes.add_updater(place)
    return axes


class NeuronSurface(L.DataScene):
    """19:17-21:01. One hidden neuron (summary's featured neuron: the product pair's cos·cos
    neuron): its x sweep at y = 0, its y sweep at x = 0, then every (x, y) as a surface (height and
    colour: the output); then its strongest 2D Fourier terms, split apart with their
    coefficients, and added back together."""

    def construct(self):
        d = self.d
        p = d.n                       # the surface's side
        xn, yn = d.x_name, d.y_name
        info = d.sel(fmt.NeuronSurfaces)
        ids = [int(i) for i in d.selection("neuron_ids")]
        nid = int(info.featured)
        Z = d.selection("neuron_surfaces")[ids.index(nid)]
        dec = info.decompositions[str(nid)]

        heading = L.title(f"Hidden neuron {nid}: its output as {xn} and {yn} vary", 30)
        sv = L.SurfaceView(Z, 10.0, 6.0, side=4.6, theta=0.0, phi=0.12, hscale=0.42)
        sv.move_to([0, -0.55, 0])
        sv.setv(show_surface=False, points=[])
        axes = neuron_axes(sv, 18)
        y0, x0 = sweep_lines(Z)
        stage = {"cap": f"{yn} = {y0}; {xn} = 0 … {p - 1}"}
        cap = L.LiveText(lambda: stage["cap"], [-6.8, 2.95, 0], size=22, color=L.MUTED)
        self.play(Write(heading), FadeIn(axes), run_time=0.8)
        self.add(sv, cap)

        nx, ny = ValueTracker(0.0), ValueTracker(0.0)
        th, ph, rev = ValueTracker(0.0), ValueTracker(0.12), ValueTracker(0.0)

        def upd(m):
            m.setv(theta=th.get_value(), phi=ph.get_value(), reveal=rev.get_value(),
                  show_surface=rev.get_value() > 0)
            k = (int(nx.get_value()), int(ny.get_value()))
            if getattr(m, "_sweep", None) != k:
                m._sweep = k
                m.setv(points=sweep_points(m, Z, *k, y0=y0, x0=x0))
        sv.add_updater(upd)
        # 1. y = 0, x swept: the familiar wave
        self.play(nx.animate.set_value(p), run_time=3, rate_func=linear)
        self.wait(0.4)
        # 2. another axis: x = 0, y swept
        stage["cap"] = f"{xn} = {x0}; {yn} = 0 … {p - 1}"
        self.play(th.animate.set_value(-0.62), ph.animate.set_value(0.6), run_time=1.6)
        self.play(ny.animate.set_value(p), run_time=2.5, rate_func=linear)
        # 3. every combination: a surface, height and colour = the neuron's output
        stage["cap"] = f"every ({xn}, {yn}): {p * p:,} inputs; height and colour = the output"
        lo, hi = sv.zlim
        bar = L.colorbar(2.4, 0.16, f"{lo:.1f}", f"{hi:.1f}", caption=f"neuron {nid} output")
        bar.to_corner(UR, buff=0.35).shift(DOWN * 0.5)
        self.play(rev.animate.set_value(p), FadeIn(bar), run_time=3.5, rate_func=linear)
        nx.set_value(0)
        ny.set_value(0)
        self.play(th.animate.set_value(-0.85), run_time=1.5)
        self.wait(0.5)

        # 4. the 2D Fourier transform: the strongest terms
        terms = shown_terms(dec)
        named, legend = short_terms(terms, p, (xn, yn))
        mean = dec["mean"]
        self.play(FadeOut(axes), FadeOut(bar), run_time=0.5)      # (the bar out before the caption widens)
        stage["cap"] = f"2D Fourier transform over {xn} and {yn}: the strongest terms" + (f", {legend}" if legend else "")
        sv.clear_updaters()
        pos, scl = ValueTracker(0.0), ValueTracker(1.0)
        top = np.array([0, 0.8, 0])
        start = sv.get_center().copy()
        w0 = sv.width
        sv.add_updater(lambda m: m.scale_to_fit_width(w0 * scl.get_value())
                       .move_to(start + (top - start) * pos.get_value()))
        self.play(pos.animate.set_value(1), scl.animate.set_value(0.5), run_time=1.2)
        sv.update()

        n = len(terms)
        slot_w = min(4.4, 13.2 / n)
        xs = (np.arange(n) - (n - 1) / 2) * slot_w
        slot_y = -2.05
        span_lo, span_hi = sv.zlim[0] - mean, sv.zlim[1] - mean
        term_Z = [fo.surface_from_terms([t], p, 0.0) for t in terms]
        views = []
        for i in range(n):
            v = L.SurfaceView(Z - mean, 10.0 * 0.5, 6.0 * 0.5, side=4.6 * 0.5,
                              zlim=(span_lo, span_hi), theta=-0.85, phi=0.6, hscale=0.42, mode=sv.mode, ss=1)
            v.move_to(sv.get_center())
            views.append(v)
        mix = ValueTracker(0.0)
        target_w = slot_w * 0.98

        def place(i):
            def f(m):
                t = mix.get_value()
                m.scale_to_fit_width(interp(sv.width, target_w, t))
                m.move_to(sv.get_center() + (np.array([xs[i], slot_y, 0]) - sv.get_center()) * t)
                m.setv(Z=(1 - t) * (Z - mean) + t * term_Z[i], zkey=("split", i, round(t, 3)))
            return f
        for i, v in enumerate(views):
            v.add_updater(place(i))
        self.add(*views)
        self.play(mix.animate.set_value(1), run_time=2.2)
        labels = VGroup()
        prod = max(range(n), key=lambda i: (terms[i]["i"] > 0 and terms[i]["j"] > 0, terms[i]["fve"]))
        fs = [L.formula(fo.format_terms([t]), size=26,
                        color=L.ACCENT if i == prod and t["i"] > 0 and t["j"] > 0 else L.TEXT)
              for i, t in enumerate(named)]
        # one size for every term: the widest one sets it
        k_fit = min([1.0] + [slot_w * 0.95 / f.width for f in fs])
        for i, (t, f) in enumerate(zip(terms, fs)):
            f.scale(k_fit).move_to([xs[i], slot_y - 1.15, 0])
            share = L.label(f"{t['fve']:.0%} of the variance", 18, L.MUTED).next_to(f, DOWN, buff=0.08)
            labels.add(VGroup(f, share))
        plus = VGroup(*[L.label("+", 30, L.MUTED).move_to([(xs[i] + xs[i + 1]) / 2, slot_y, 0]) for i in range(n - 1)])
        # the formula on screen is exactly the terms pictured (and added back below)
        fml = fo.format_terms(named)
        fml = ("− " + fml[1:]) if fml.startswith("−") else ("+ " + fml)
        whole = L.formula(f"neuron {nid} ≈ {mean:.2f} {fml}", size=24)
        if whole.width > 13.4:
            whole.scale_to_fit_width(13.4)
        whole.move_to([0, 2.5, 0])
        if terms[prod]["i"] > 0 and terms[prod]["j"] > 0:
            note = L.label(f"a product: a wave in {xn} times a wave in {yn}", 18, L.ACCENT)
            note.next_to(labels[prod], DOWN, buff=0.06)
            note.shift(RIGHT * max(0.0, -6.9 - note.get_left()[0]) + LEFT * max(0.0, note.get_right()[0] - 6.9))
        else:
            note = VGroup()
        # keep the labels (and the note) clear of the bottom edge
        low = min(labels.get_bottom()[1], note.get_bottom()[1] if len(note) else 9.0)
        if low < -3.75:
            labels.shift(UP * (-3.75 - low))
            note.shift(UP * (-3.75 - low))
        self.play(FadeIn(labels), FadeIn(plus), run_time=1.0)
        self.play(FadeIn(note), FadeIn(whole), run_time=0.8)
        self.wait(1.5)

        # 5. and back: the terms add up to (most of) the surface
        recon = fo.surface_from_terms(terms, p, mean)
        back = ValueTracker(0.0)
        sv.clear_updaters()
        sv.add_updater(lambda m: m.setv(Z=(1 - back.get_value()) * Z + back.get_value() * recon,
                                       zkey=("merge", round(back.get_value(), 3))))
        for i, v in enumerate(views):
            v.clear_updaters()
            start_i = v.get_center().copy()

            def f(m, i=i, s=start_i):
                t = back.get_value()
                m.scale_to_fit_width(interp(target_w, sv.width, t))
                m.move_to(s + (sv.get_center() - s) * t)
                m.setv(opacity=1 - t)
            v.add_updater(f)
        # (the terms are orthogonal 2D Fourier components: their shares add up)
        expl = sum(t["fve"] for t in terms)
        # the merged surface grows back to full size, where it started
        sv.add_updater(lambda m: m.scale_to_fit_width(w0 * scl.get_value())
                       .move_to(start + (top - start) * pos.get_value()))
        self.play(back.animate.set_value(1), pos.animate.set_value(0), scl.animate.set_value(1.0),
                  FadeOut(labels), FadeOut(plus), FadeOut(note), run_time=2.0)
        self.remove(*views)
        stage["cap"] = (f"the {n} terms of the formula added back: {expl:.0%} of the surface's "
                        f"variance")
        self.wait(0.6)
        self.play(back.animate.set_value(0), run_time=1.2)
        self.wait(1.0)


def interp(a, b, t):
    return a + (b - a) * t


def crest_caption(info: fmt.Crest, d=None) -> str:
    """What the surface is, in words a viewer reads (the unembedding column is 'the direction that
    votes for T'; for a run whose answer is not its element, d.output_name: 'votes for 65 (log₃ 65 =
    105)')."""
    T = info.T if d is None else d.output_name(info.T)
    line = f"x + y ≡ {info.T}" if d is None else d.on_line(info.T)
    if info.kind == "dimension":
        text = (f"hook_mlp_out dimension {info.dimension}: one dimension of the MLP's output "
                f"(the residual stream after the MLP)")
    elif info.keys == "all":
        text = f"the MLP's output along the direction that votes for {T}"
    elif isinstance(info.keys, list):
        text = (f"the MLP's output along the part of the direction that votes for {T}\n"
                f"made of w = {', '.join(info.frequency_labels or [])}" if set(info.keys) == set(info.frequencies or [])
                else f"the MLP's output along the part of the direction that votes for {T}")
    else:
        text = "\n".join(textwrap.wrap(info.description or "", 70))
    if info.qualifies is False:                  # a fallback is shown as one, never as the finding
        # (a long line in the op's terms is left to the line's own heading, right of the surface)
        text += ("\nbest effort: no unit's crest" + ("" if d is not None and d.relabelled else f" on {line}")
                 + " stands clear of the others "
                 f"(the next reaches {1 - (info.prominence or 0):.0%} of it)")
    labels = info.frequency_labels               # the frequencies its crest is made of, strongest first
    if not labels or (isinstance(info.keys, list) and set(info.keys) == set(info.frequencies)):
        return text                              # (a direction's description names them already)
    return text + f"\nits crest is made of w = {', '.join(labels)}"


# ---- the answer's line, its profile, labels that do not overlap -----------------------------------


def line_segments(T: int, p: int) -> list[tuple[int, tuple[int, int], tuple[int, int]]]:
    """Every segment of x + y ≡ T (mod p) inside the p x p grid (p: its side, n): (s, (x0, y0),
    (x1, y1)) for the lines x + y = T and x + y = T + p (s), from the end on the y axis or top edge
    to the other."""
    out = []
    for s_ in (T, T + p):
        a0, a1 = max(0, s_ - (p - 1)), min(p - 1, s_)
        if a1 >= a0:
            out.append((s_, (a0, s_ - a0), (a1, s_ - a1)))
    return out


def line_name(s_: int, T: int, p: int, sum_name: str = "x + y") -> str:
    return f"{sum_name} = {s_}" if s_ == T else f"{sum_name} = {s_} ≡ {T}"


def best_rival(g: np.ndarray, T: int) -> tuple[int, float] | None:
    """The highest crest of the line profile g other than the one on T (a circular local maximum,
    mechanism.rival_crest's) and its height as a fraction of g(T); None when g(T) is no crest."""
    g = g - g.mean()
    if g[T] <= 1e-12 * max(np.abs(g).max(), 1e-300):
        return None
    n = len(g)
    peaks = [s_ for s_ in range(n) if s_ != T and g[s_] >= g[s_ - 1] and g[s_] >= g[(s_ + 1) % n]]
    if not peaks:
        return None
    r = max(peaks, key=lambda s_: g[s_])
    return int(r), float(max(0.0, g[r]) / g[T])


class Placer:
    """Labels placed where they overlap nothing placed or blocked before them (and stay inside
    `bounds`: x0, x1, y0, y1); a label with no free spot is left out (`place` returns False)."""

    def __init__(self, bounds=(-7.05, 7.05, -3.97, 3.97)):
        self.bounds = bounds
        self.boxes: list = []

    def block(self, *ms):
        self.boxes.extend(ms)
        return self

    def free(self, m, pad: float = 0.04) -> bool:
        x0, x1, y0, y1 = self.bounds
        if m.get_left()[0] < x0 or m.get_right()[0] > x1 or m.get_bottom()[1] < y0 or m.get_top()[1] > y1:
            return False
        return not any(L.boxes_overlap(m, b, pad) for b in self.boxes)

    def place(self, m, anchor, dirs=(UR, DR, UL, DL, RIGHT, LEFT, UP, DOWN), buff: float = 0.08) -> bool:
        for d_ in dirs:
            if isinstance(anchor, np.ndarray):
                m.move_to(anchor + d_ * (buff + 0.5 * np.array([m.width, m.height, 0])))
            else:
                m.next_to(anchor, d_, buff=buff)
            if self.free(m):
                self.boxes.append(m)
                return True
        return False


def patch(t, opacity: float = 0.75):
    """A label on a background patch, legible over a surface."""
    return VGroup(BackgroundRectangle(t, color=L.BG, fill_opacity=opacity, buff=0.04), t)


def answer_lines(sv: L.SurfaceView, T: int, p: int, placer: Placer, colour=None, size: float = 18,
                 sum_name: str = "x + y"):
    """Every segment of x + y ≡ T drawn on an overhead SurfaceView, dashed, each labelled with its
    equation beside it (where the placer finds room along it); `sum_name`: the sum in the axes'
    terms ("log₃ x + log₃ y" for mul)."""
    colour = colour or L.TEXT
    lines, tags = VGroup(), VGroup()
    for s_, (a0, b0), (a1, b1) in line_segments(T, p):
        if (a0, b0) == (a1, b1):
            lines.add(Dot(sv.project(a0, b0), radius=0.05, color=colour))
        else:
            lines.add(DashedLine(sv.project(a0, b0), sv.project(a1, b1), stroke_color=colour,
                                 stroke_width=2.5, dash_length=0.1))
        t = patch(L.label(line_name(s_, T, p, sum_name), size, colour))
        for f in (0.5, 0.35, 0.65, 0.2, 0.8, 0.08, 0.92):
            pt = sv.project(a0 + (a1 - a0) * f, b0 + (b1 - b0) * f)
            if placer.place(t, pt, dirs=(UR, DL, RIGHT, LEFT), buff=0.06):
                tags.add(t)
                break
    return lines, tags


def profile_panel(Z: np.ndarray, T: int, p: int, placer: Placer, width: float = 5.6, height: float = 1.9,
                  corner=(0.9, -3.3), sum_name: str = "x + y"):
    """The surface's profile along x + y − T (mod p; `sum_name` the sum in the axes' terms, p the
    surface's side n): the mean of each line x + y ≡ s, minus the
    surface's mean (mechanism.line_profile), centred on the answer's line; the answer's peak and the
    best rival crest marked, each named on its own row above the curve with a leader to its dot, the
    rival as a share of the peak. corner: the lower left of the curve's box (its ticks and axis name
    below it). Returns (group, rival): rival (s, fraction) or None."""
    g = line_profile(Z)
    half = p // 2
    dd = np.arange(-half, p - half)
    vals = g[(T + dd) % p]
    lo, hi = float(vals.min()), float(vals.max())
    span = (hi - lo) or 1.0
    panel = L.Panel(width, height, (dd[0], dd[-1]), (lo - 0.04 * span, hi + 0.06 * span), frame=False)
    panel.move_to([corner[0] + width / 2, corner[1] + height / 2, 0])
    base = L.hline(panel, 0.0, L.GRID)
    curve = panel.curve(dd, vals, color=L.TEXT, width=2.5)
    g0 = VGroup(panel, base, curve)
    ticks = VGroup(*[L.label(("−" if v < 0 else "+" if v > 0 else "") + str(abs(v)), 18, L.MUTED)
                     .next_to(panel.c2p(v, lo - 0.04 * span), DOWN, buff=0.08) for v in (dd[0], 0, dd[-1])])
    axis = L.label(f"{sum_name} − {T}  (mod {p})", 18, L.TEXT).next_to(ticks, DOWN, buff=0.06)
    top = corner[1] + height
    x_lo, x_hi = corner[0], corner[0] + width

    def row(text, colour, d_at, value, y, side, left=None):
        """A label on a row above the curve, extending to `side` (+1 right, −1 left) from its
        dot's x (or from `left`, its left edge, when given), with a dashed leader down to its dot."""
        t = L.label(text, 18, colour)
        xd = float(panel.c2p(d_at, 0)[0])
        x = xd + side * (t.width / 2 - 0.05) if left is None else left + t.width / 2
        x = float(np.clip(x, x_lo + t.width / 2, x_hi - t.width / 2))
        t.move_to([x, y, 0])
        dot = Dot(panel.c2p(d_at, value), radius=0.065, color=colour)
        lx = float(np.clip(xd, t.get_left()[0] + 0.05, t.get_right()[0] - 0.05))
        lead = DashedLine([lx, t.get_bottom()[1] - 0.04, 0], dot.get_center() + UP * 0.08, stroke_color=colour,
                          stroke_width=1.5, dash_length=0.05)
        return VGroup(lead, dot, t), t, lx

    rival = best_rival(g, T)
    dr = None
    if rival is not None:
        r, frac = rival
        dr = (r - T + half) % p - half
    y_row = top + 0.25
    away = -1 if dr is not None and dr > 0 else 1          # the peak's label extends away from the rival
    peak, ptag, _ = row(f"the answer, {sum_name} ≡ {T}", L.ACCENT, 0, g[T], y_row, away)
    items, texts = [peak], [ptag]
    y_next = y_row + 0.32
    if rival is not None:
        rtext = f"best rival, {sum_name} ≡ {r}: {frac:.0%} of the peak"
        if L.label(rtext, 18).width > width:          # a long sum: said once, in the answer's label
            rtext = f"best rival, ≡ {r}: {frac:.0%} of the peak"
        riv, rtag, lx = row(rtext, L.KEY[1], dr, g[r], y_row, -away)
        if L.boxes_overlap(rtag, ptag):         # too close to share the row: the rival's one row up,
            riv, rtag, lx = row(rtext, L.KEY[1], dr, g[r], y_row + 0.32, -away)
            y_next += 0.32
            # and the peak's label clear of the rival's leader, which passes down through its row
            if ptag.get_left()[0] - 0.12 < lx < ptag.get_right()[0] + 0.12:
                w = ptag.width
                left = lx + 0.15 if away > 0 else lx - 0.15 - w
                peak, ptag, _ = row(f"the answer, {sum_name} ≡ {T}", L.ACCENT, 0, g[T], y_row, away, left=left)
                items, texts = [peak], [ptag]
        items.append(riv)
        texts.append(rtag)
    head = L.label(f"the surface along {sum_name}: each line's mean", 18, L.MUTED)
    if head.width > width + 0.2:                  # a long sum: on two lines, upwards from the rows
        head = L.label(f"the surface along {sum_name}:\neach line's mean", 18, L.MUTED)
        head.move_to([corner[0], y_next - 0.06, 0], aligned_edge=DL)
    else:
        head.move_to([corner[0], y_next + 0.08, 0], aligned_edge=LEFT)
    placer.block(ticks, axis, head, *texts)
    g0.add(ticks, axis, head, *items)
    return g0, rival


def tallest_ridges(Z, n: int = 2) -> list[int]:
    """The sums s (0 .. 2p − 2, not reduced mod p) of the n lines x + y = s whose highest point is
    highest: what a viewer looking along the crests sees as the tallest ridges."""
    p = Z.shape[0]
    x, y = np.divmod(np.arange(p * p), p)
    top = np.full(2 * p - 1, -np.inf)
    np.maximum.at(top, x + y, Z.ravel())
    return [int(s) for s in np.argsort(-top)[:n]]


def row_maxima(Z) -> list[tuple[int, int]]:
    """(x, y) of each row's maximum: for every x, the y where the surface is largest."""
    return [(x, int(y)) for x, y in enumerate(np.argmax(Z, axis=1))]


def split_crests(points, T: int, p: int):
    pts = [(int(a), int(b)) for a, b in np.asarray(points).reshape(-1, 2)]
    first = [q for q in pts if q[0] + q[1] == T]
    second = [q for q in pts if q[0] + q[1] == T + p]
    return first, second


class Crest(L.DataScene):
    """21:24-23:18. The crest unit's surface: diagonal waves; overhead, each row's maximum marked
    (the video's "top two crests": they lie on x + y = T and x + y = T + p); walk the first crest
    (x + y = T) and then the second (x + y = T + p, ≡ T mod p), marking the data's points."""

    def construct(self):
        d = self.d
        p = d.n                       # the surface's side, the sums' modulus
        xn, yn, sn = d.x_name, d.y_name, d.sum_name
        an = d.axes_sum               # the unreduced sums' equations: "x + y = 178" (sub: "x + (−y) = 178")
        info = d.sel(fmt.Crest)
        T = int(info.T)               # the answer's element (its token: d.answer(T))
        Z = d.selection("crest_surface")
        first, second = split_crests(d.selection("crest_points"), T, p)

        heading = L.title(f"One layer deeper: a unit of the MLP's output over {xn} and {yn}", 30)
        if heading.width > 13.6:
            heading.scale_to_fit_width(13.6)
        cap = L.label(crest_caption(info, d), 18, L.MUTED).next_to(heading, DOWN, buff=0.12)
        sv = L.SurfaceView(Z, 10.0, 6.3, side=4.7, theta=-0.7, phi=0.62, hscale=0.4)
        sv.move_to([0, -0.7, 0])
        axes = L.surface_axes(sv, 18)
        th, ph, cx = ValueTracker(-0.7), ValueTracker(0.62), ValueTracker(0.0)
        base = sv.get_center().copy()
        sv.add_updater(lambda m: m.setv(theta=th.get_value(), phi=ph.get_value())
                       .move_to(base + RIGHT * cx.get_value()))
        self.play(Write(heading), FadeIn(cap), FadeIn(axes), run_time=1)
        self.add(sv)
        self.play(th.animate.set_value(-0.45), run_time=2.5, rate_func=linear)
        # under the caption, clear of the axis labels along the bottom
        note = L.label("the wave runs diagonally: its crests are where the output is largest",
                       20, L.TEXT).next_to(cap, DOWN, buff=0.2)
        self.play(FadeIn(note), run_time=0.6)
        self.wait(0.8)
        # low, looking along the crests (theta = -π/4: depth along x − y, across the screen x + y):
        # every line x + y = s stands as one ridge, so the skyline is the profile along x + y and
        # the two ridges on x + y ≡ T are the tallest
        tall = tallest_ridges(Z, 2)
        said = (f"the two tallest ridges are {an} = {T} and {an} = {T + p}" if set(tall) == {T, T + p}
                else f"the tallest ridges: {an} = {tall[0]} and {an} = {tall[1]}")
        along = L.label(f"looking along the crests: {said}", 20, L.ACCENT).next_to(cap, DOWN, buff=0.2)
        L.fit_right(along)
        self.play(FadeOut(note), th.animate.set_value(-np.pi / 4), ph.animate.set_value(0.16), run_time=2.0)
        sv.update()
        tops = VGroup()
        for r in tall:
            a = int(np.argmax([Z[x, r - x] if 0 <= r - x < p else -np.inf for x in range(p)]))
            tops.add(L.label(f"{an} = {r}", 18, L.ACCENT).next_to(sv.project(a, r - a), UP, buff=0.08))
        self.play(FadeIn(along), FadeIn(tops), run_time=0.5)
        self.wait(1.6)
        self.play(FadeOut(tops), run_time=0.3)
        note = along
        # overhead: x across, y up
        self.play(FadeOut(note), th.animate.set_value(0.0), ph.animate.set_value(np.pi / 2),
                  cx.animate.set_value(-2.9), run_time=2.2)
        sv.clear_updaters()
        sv.move_to(base + RIGHT * -2.9)
        axes.update()           # after the surface's last move (a still skips the frames between)
        axes.clear_updaters()
        X0 = 0.9
        placer = Placer(bounds=(-7.05, X0 - 0.1, -3.97, 3.97)).block(heading, cap, *axes)
        # every segment of x + y ≡ T, named
        lines, line_tags = answer_lines(sv, T, p, placer, sum_name=an)
        self.play(FadeIn(lines), FadeIn(line_tags), run_time=0.8)
        self.wait(0.3)
        # the top of every row: where the output is largest for each x. Other crests come close
        # in height (the colours alone hardly tell them apart), the row maxima do not: they
        # trace the crests on x + y ≡ T
        tops = row_maxima(Z)
        top_dots = VGroup(*[Dot(sv.project(a, b), radius=0.03, color=L.TEXT) for a, b in tops])
        top_cap = L.label(f"white: for each {xn}, the {yn} where\nthe output is largest", 19, L.TEXT)
        top_cap.move_to([X0, 2.1, 0], aligned_edge=LEFT)
        self.play(LaggedStart(*[FadeIn(t) for t in top_dots], lag_ratio=0.02), FadeIn(top_cap), run_time=2.0)
        self.wait(1.2)
        self.play(FadeOut(top_cap), top_dots.animate.set_opacity(0.45), run_time=0.5)

        column = VGroup()                        # the walk's rows, cleared before the profile
        walker = Dot(radius=0.07, color=L.TEXT)
        marks = VGroup()

        def walk(pts, const, colour, row_y):
            a0, b0 = pts[0]
            t = ValueTracker(float(a0))
            walker.move_to(sv.project(a0, b0))
            walker.clear_updaters()
            walker.add_updater(lambda m: m.move_to(sv.project(t.get_value(), const - t.get_value())))
            self.add(walker)
            y = row_y
            dots = [Dot(sv.project(a, b), radius=0.075, color=colour) for a, b in pts]
            placer.block(*dots)
            for (a, b), dot in zip(pts, dots):
                self.play(t.animate.set_value(float(a)), run_time=0.3 + 0.02 * abs(a - t.get_value()), rate_func=smooth)
                tag = patch(L.label(f"({a}, {b})", 18, L.TEXT))
                row = L.formula(f"{xn} = {a},  {yn} = {b}:   {a} + {b} = {a + b}", size=20, color=colour)
                row.move_to([X0, y, 0], aligned_edge=LEFT)
                L.fit_right(row)
                y -= 0.42
                column.add(row)
                anims = [FadeIn(dot), FadeIn(row)]
                marks.add(dot)
                if placer.place(tag, dot, dirs=(UR, DL, RIGHT, LEFT, UL, DR, UP, DOWN), buff=0.05):
                    marks.add(tag)          # (a point with no room for its tag is named in its row)
                    anims.append(FadeIn(tag))
                self.play(*anims, run_time=0.35)
            return y

        h1 = L.label("the first crest", 22, L.ACCENT).move_to([X0, 2.35, 0], aligned_edge=LEFT)
        column.add(h1)
        self.play(FadeIn(h1), run_time=0.4)
        y = walk(first, T, L.ACCENT, 1.9)
        said = f"all add to {T}: the unit fires when {an} = {T}" + (
            f" (the answer {d.answer(T)})" if d.answer(T) != T else "")
        s1 = L.label(said, 19, L.ACCENT)
        if s1.get_width() > 6.85 - X0:            # too wide for the column: two lines, not smaller type
            s1 = L.label(said.replace(" when ", "\nwhen ", 1), 19, L.ACCENT)
            y -= 0.15
        s1.move_to([X0, y - 0.05, 0], aligned_edge=LEFT)
        L.fit_right(s1)
        column.add(s1)
        self.play(FadeIn(s1), run_time=0.6)
        self.wait(0.6)
        if second:
            col2 = L.KEY[1]
            h2 = L.label("the second crest", 22, col2).move_to([X0, y - 0.6, 0], aligned_edge=LEFT)
            column.add(h2)
            self.play(FadeIn(h2), run_time=0.4)
            y = walk(second, T + p, col2, y - 1.05)
            said = f"{T + p} mod {p} = {T}: this crest too is {sn} ≡ {T}"
            s2 = L.formula(said, size=19, color=col2)
            if s2.get_width() > 6.85 - X0:        # too wide for the column: two lines, not smaller type
                s2 = L.formula(said.replace(": ", ":\n", 1), size=19, color=col2)
                y -= 0.15
            s2.move_to([X0, y - 0.05, 0], aligned_edge=LEFT)
            L.fit_right(s2)
            column.add(s2)
            self.play(FadeIn(s2), run_time=0.6)
        self.play(FadeOut(walker), run_time=0.3)
        self.wait(1.0)

        # the profile along x + y − T: the answer's crest and the best rival, as a share of it
        right = Placer(bounds=(X0 - 0.05, 7.05, -3.97, 3.97))
        head = L.formula(d.on_line(T, mod=True), size=24, color=L.TEXT).move_to([X0, 2.3, 0], aligned_edge=LEFT)
        L.fit_right(head)
        segs = [s_ for s_, *_ in line_segments(T, p)]
        joint = " and " if len(an) < 8 else "\nand "          # a long sum: the second line below
        lines_said = L.label(("two lines: " + joint.join(f"{an} = {s_}" for s_ in segs)) if len(segs) > 1
                             else f"one line: {an} = {segs[0]}", 18, L.MUTED).next_to(head, DOWN, buff=0.12).align_to(head, LEFT)
        L.fit_right(lines_said)
        right.block(head, lines_said)
        ev, rows = info.ridge_on_crest, info.rows_in_crest
        e = VGroup()
        if ev is not None:
            text = f"for {ev:.0%} of the {xn} values the output\npeaks at {yn} ≡ {T} − {xn} (mod {p})"
            if rows is not None and (info.crest_width or 1) > 1:     # a broad crest: its rows' maxima
                text = (f"for {rows:.0%} of the {xn} values the output\npeaks on this crest "
                        f"({ev:.0%} exactly at {yn} ≡ {T} − {xn})")
            e = L.label(text, 18, L.MUTED).next_to(lines_said, DOWN, buff=0.25).align_to(head, LEFT)
            L.fit_right(e)
            right.block(e)
        prof, _ = profile_panel(Z, T, p, right, width=5.6, height=1.8, corner=(X0 + 0.2, -3.1), sum_name=sn)
        self.play(FadeOut(column), run_time=0.5)
        self.play(FadeIn(head), FadeIn(lines_said), FadeIn(e), FadeIn(prof), run_time=0.8)
        self.wait(1.5)
