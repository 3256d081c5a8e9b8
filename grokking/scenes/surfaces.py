"""Part 2, surfaces (19:17-23:18): a hidden neuron's output over (x, y) built up from the x sweep,
the y sweep, then every pair; its 2D Fourier decomposition into a few terms and back; then one
layer deeper, a unit of the MLP output whose diagonal crests lie on x + y ≡ T (mod p).

Surfaces are drawn by look.SurfaceView: the full p x p data, every data point a vertex (or a tile
when the surface changes sign from one sample to the next), rendered as one image per frame.

Reads selections.npz (neuron_ids, neuron_surfaces, crest_surface, crest_points) and summary.json
(selections.neuron_surfaces.featured / .decompositions, selections.crest: T, kind, description)."""
from __future__ import annotations

import textwrap

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, UL, UR, BackgroundRectangle, DashedLine, Dot, FadeIn,
                   FadeOut, LaggedStart, ReplacementTransform, ValueTracker, VGroup, Write, linear, smooth)

from grokking.common import assets as fmt
from grokking.extraction import fourier as fo

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


def short_terms(terms: list[dict], p: int) -> tuple[list[dict], str]:
    """The terms with their waves written in w ('cos(wx)·cos(wy)') when they share one frequency,
    and the legend that defines w ('w = 10π/113'); unchanged, and no legend, when they do not. The
    video names the terms this way (cosine of x times cosine of y): short enough to read."""
    k = one_frequency(terms)
    if k is None:
        return terms, ""
    bodies = {fo.wave_label("cos", k, p, v)[4:-1]: f"w{v}" for v in ("x", "y")}     # '10πx/113' -> 'wx'
    out = []
    for t in terms:
        name = t["term"]
        for long, short in bodies.items():
            name = name.replace(long, short)
        out.append({**t, "term": name})
    return out, f"w = {fo.freq_label(k, p)}"


class NeuronSurface(L.DataScene):
    """19:17-21:01. One hidden neuron (summary's featured neuron: the product pair's cos·cos
    neuron): its x sweep at y = 0, its y sweep at x = 0, then every (x, y) as a surface (height and
    colour: the output); then its strongest 2D Fourier terms, split apart with their
    coefficients, and added back together."""

    def construct(self):
        d = self.d
        p = d.p
        info = d.sel(fmt.NeuronSurfaces)
        ids = [int(i) for i in d.selection("neuron_ids")]
        nid = int(info.featured)
        Z = d.selection("neuron_surfaces")[ids.index(nid)]
        dec = info.decompositions[str(nid)]

        heading = L.title(f"Hidden neuron {nid}: its output as x and y vary", 30)
        sv = L.SurfaceView(Z, 10.0, 6.0, side=4.6, theta=0.0, phi=0.12, hscale=0.42)
        sv.move_to([0, -0.55, 0])
        sv.setv(show_surface=False, points=[])
        axes = L.surface_axes(sv, 18)
        y0, x0 = sweep_lines(Z)
        stage = {"cap": f"y = {y0}; x = 0 … {p - 1}"}
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
        stage["cap"] = f"x = {x0}; y = 0 … {p - 1}"
        self.play(th.animate.set_value(-0.62), ph.animate.set_value(0.6), run_time=1.6)
        self.play(ny.animate.set_value(p), run_time=2.5, rate_func=linear)
        # 3. every combination: a surface, height and colour = the neuron's output
        stage["cap"] = f"every (x, y): {p * p:,} inputs; height and colour = the output"
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
        named, legend = short_terms(terms, p)
        mean = dec["mean"]
        stage["cap"] = "2D Fourier transform over x and y: the strongest terms" + (f", {legend}" if legend else "")
        self.play(FadeOut(axes), FadeOut(bar), run_time=0.5)
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
            note = L.label("a product: a wave in x times a wave in y", 18, L.ACCENT)
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


def crest_caption(info: fmt.Crest) -> str:
    if info.kind == "dimension":
        text = (f"hook_mlp_out dimension {info.dimension}: one dimension of the MLP's output "
                f"(the residual stream after the MLP)")
    else:
        text = "\n".join(textwrap.wrap(info.description, 70))
    if info.qualifies is False:                  # a fallback is shown as one, never as the finding
        text += (f"\nbest effort: no unit's crest on x + y ≡ {info.T} stands clear of the others "
                 f"(the next reaches {1 - (info.prominence or 0):.0%} of it)")
    labels = info.frequency_labels               # the frequencies its crest is made of, strongest first
    if not labels or (isinstance(info.keys, list) and set(info.keys) == set(info.frequencies)):
        return text                              # (a direction's description names them already)
    return text + f"\nits crest is made of w = {', '.join(labels)}"


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
        p = d.p
        info = d.sel(fmt.Crest)
        T = int(info.T)
        Z = d.selection("crest_surface")
        first, second = split_crests(d.selection("crest_points"), T, p)

        heading = L.title("One layer deeper: a unit of the MLP's output over x and y", 30)
        cap = L.label(crest_caption(info), 17, L.MUTED).next_to(heading, DOWN, buff=0.12)
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
        said = (f"the two tallest ridges are x + y = {T} and x + y = {T + p}" if set(tall) == {T, T + p}
                else f"the tallest ridges: x + y = {tall[0]} and x + y = {tall[1]}")
        along = L.label(f"looking along the crests: {said}", 20, L.ACCENT).next_to(cap, DOWN, buff=0.2)
        L.fit_right(along)
        self.play(FadeOut(note), th.animate.set_value(-np.pi / 4), ph.animate.set_value(0.16), run_time=2.0)
        sv.update()
        tops = VGroup()
        for r in tall:
            a = int(np.argmax([Z[x, r - x] if 0 <= r - x < p else -np.inf for x in range(p)]))
            tops.add(L.label(f"x + y = {r}", 16, L.ACCENT).next_to(sv.project(a, r - a), UP, buff=0.08))
        self.play(FadeIn(along), FadeIn(tops), run_time=0.5)
        self.wait(1.6)
        self.play(FadeOut(tops), run_time=0.3)
        note = along
        # overhead: x across, y up
        self.play(FadeOut(note), th.animate.set_value(0.0), ph.animate.set_value(np.pi / 2),
                  cx.animate.set_value(-2.9), run_time=2.2)
        self.wait(0.3)
        # the top of every row: where the output is largest for each x. Other crests come close
        # in height (the colours alone hardly tell them apart), the row maxima do not: they
        # trace the crests on x + y ≡ T
        sv.clear_updaters()
        tops = row_maxima(Z)
        top_dots = VGroup(*[Dot(sv.project(a, b), radius=0.03, color=L.TEXT) for a, b in tops])
        top_cap = L.label("white: for each x, the y where\nthe output is largest", 19, L.TEXT)
        top_cap.move_to([0.9, 2.1, 0], aligned_edge=LEFT)
        self.play(LaggedStart(*[FadeIn(t) for t in top_dots], lag_ratio=0.02), FadeIn(top_cap), run_time=2.0)
        self.wait(1.2)
        self.play(FadeOut(top_cap), top_dots.animate.set_opacity(0.45), run_time=0.5)

        X0 = 0.9
        rows = VGroup()
        walker = Dot(radius=0.07, color=L.TEXT)
        marks = VGroup()
        tags = L.PointTags(15, L.TEXT, x_max=X0 - 0.1)

        def walk(pts, const, colour, row_y):
            a0, b0 = pts[0]
            t = ValueTracker(float(a0))
            walker.move_to(sv.project(a0, b0))
            walker.clear_updaters()
            walker.add_updater(lambda m: m.move_to(sv.project(t.get_value(), const - t.get_value())))
            self.add(walker)
            y = row_y
            for a, b in pts:
                self.play(t.animate.set_value(float(a)), run_time=0.3 + 0.02 * abs(a - t.get_value()), rate_func=smooth)
                dot = Dot(sv.project(a, b), radius=0.075, color=colour)
                old, tag = tags.add(dot, f"({a}, {b})")
                row = L.formula(f"x = {a},  y = {b}:   {a} + {b} = {a + b}", size=20, color=colour)
                row.move_to([X0, y, 0], aligned_edge=LEFT)
                L.fit_right(row)
                y -= 0.42
                marks.add(dot, tag)
                rows.add(row)
                anims = [FadeIn(dot), FadeIn(tag), FadeIn(row)]
                if old is not None:
                    marks.remove(old)
                    anims.append(FadeOut(old))
                self.play(*anims, run_time=0.35)
            return y

        h1 = L.label(f"the first crest", 22, L.ACCENT).move_to([X0, 2.35, 0], aligned_edge=LEFT)
        self.play(FadeIn(h1), run_time=0.4)
        y = walk(first, T, L.ACCENT, 1.9)
        s1 = L.label(f"all add to {T}: the unit fires when x + y = {T}", 19, L.ACCENT)
        s1.move_to([X0, y - 0.05, 0], aligned_edge=LEFT)
        L.fit_right(s1)
        self.play(FadeIn(s1), run_time=0.6)
        self.wait(0.6)
        if second:
            col2 = L.KEY[1]
            h2 = L.label("the second crest", 22, col2).move_to([X0, y - 0.6, 0], aligned_edge=LEFT)
            self.play(FadeIn(h2), run_time=0.4)
            y = walk(second, T + p, col2, y - 1.05)
            s2 = L.formula(f"{T + p} mod {p} = {T}: this crest too is x + y ≡ {T}", size=19, color=col2)
            s2.move_to([X0, y - 0.05, 0], aligned_edge=LEFT)
            L.fit_right(s2)
            self.play(FadeIn(s2), run_time=0.6)
            y -= 0.5
        ev, rows = info.ridge_on_crest, info.rows_in_crest
        if ev is not None:
            text = f"for {ev:.0%} of the x values the output peaks at y ≡ {T} − x (mod {p})"
            if rows is not None and info.crest_width > 1:     # a broad crest: its rows' maxima
                text = (f"for {rows:.0%} of the x values the output peaks on this crest\n"
                        f"({ev:.0%} exactly at y ≡ {T} − x)")
            e = L.label(text, 18, L.MUTED)
            e.move_to([X0, y + 0.1, 0], aligned_edge=UP + LEFT)
            L.fit_right(e)
            e.shift(UP * max(0.0, -3.9 - e.get_bottom()[1]))
            self.play(FadeIn(e), run_time=0.5)
        self.play(FadeOut(walker), run_time=0.3)
        self.wait(1.5)
