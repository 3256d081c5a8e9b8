"""Part 1, the clock (16:59-18:08): a clock adds modulo 12 (11 + 2 -> 1); the model's cos probe
against its sin probe, as x sweeps, traces a circle, with a hand at angle w·x.

Reads probes.npz (the probes applied to the embedding of x at the analysis checkpoint) and
summary.json (the probe's key frequency). The clock's hours are the x axis' n elements (summary
"additive"): x = 0 … p − 1 for add; log₃ x = 0 … 111 for mul at p = 113 (x = 3^(log₃ x)), with
w = 2πk/n. A pow run without a grid (x ↦ x^a not one-to-one): the hours are the tokens x = 0 … p − 1,
each at angle w·x^a (its probes are the waves of x^a, data.SceneData.probe_power), coloured by x^a:
x and −x (x² equal) land together, and the scene says how many points the p tokens make and
the collision share extraction measured."""
from __future__ import annotations

import numpy as np
from manim import (DOWN, LEFT, PI, RIGHT, UP, Circle, Create, DashedVMobject, Dot, FadeIn, FadeOut,
                   ReplacementTransform,
                   Line, Rotate, ValueTracker, VGroup, Write, linear)

from grokking.scenes import look as L


class Clock(L.DataScene):

    def construct(self):
        d = self.d
        p, w = d.n, d.w()             # p: the clock's hours, n
        ex = d.embed_name(0)
        pv = d.probe_var(0)           # the hand's variable: ex; x^a for a pow without a grid
        at = d.probe_axis()           # each hour's place on the clock, in units of w: m; x^a

        # 1. a clock doing modular addition: 11 + 2 -> 1
        heading = L.title("A clock adds modulo 12", 32)
        R = 2.3
        centre = np.array([-3.2, -0.4, 0])
        face = Circle(R, stroke_color=L.TEXT, stroke_width=3).move_to(centre)
        nums = VGroup()
        ticks = VGroup()
        for h in range(1, 13):
            ang = PI / 2 - h * 2 * PI / 12
            u = np.array([np.cos(ang), np.sin(ang), 0])
            nums.add(L.label(str(h), 28).move_to(centre + u * (R - 0.45)))
            ticks.add(Line(centre + u * (R - 0.15), centre + u * R, stroke_color=L.MUTED, stroke_width=3))
        start, add = 11, 2
        end = (start + add - 1) % 12 + 1
        hand = Line(centre, centre + R * 0.7 * np.array([np.cos(PI / 2 - start * PI / 6), np.sin(PI / 2 - start * PI / 6), 0]),
                    stroke_color=L.ACCENT, stroke_width=7)
        eq1 = L.formula(f"{start} + {add} = {start + add}", size=40).move_to([3.2, 0.6, 0])
        eq2 = L.formula(f"{start + add} mod 12 = {end}", size=40, color=L.ACCENT).next_to(eq1, DOWN, buff=0.4)
        note = L.label(f"a {add}-hour meeting from {start} o'clock ends at {end}", 22, L.MUTED).next_to(eq2, DOWN, buff=0.5)
        self.play(Write(heading), Create(face), FadeIn(nums), FadeIn(ticks), run_time=1)
        self.play(Create(hand), FadeIn(eq1), run_time=0.8)
        self.play(Rotate(hand, -add * PI / 6, about_point=centre), run_time=1.6)
        self.play(FadeIn(eq2), FadeIn(note), run_time=0.8)
        self.wait(1)
        self.play(*[FadeOut(m) for m in (face, nums, ticks, hand, eq1, eq2, note)], run_time=0.6)

        # 2. the model's clock: cos probe (across) against sin probe (up), x = 0 .. p-1
        cosp, sinp = d.probe("cos", 0), d.probe("sin", 0)
        cx, sy = cosp["out"], sinp["out"]
        lim = 1.25 * max(1.0, np.abs(np.r_[cx, sy]).max())
        h2 = L.title(f"The model's clock: cos probe against sin probe, {ex} = 0 … {p - 1}", 30)
        if h2.width > 13.6:
            h2.scale_to_fit_width(13.6)
        S = 5.6
        pan = L.Panel(S, S, (-lim, lim), (-lim, lim), frame=False).move_to([-2.0, -0.45, 0])
        axes = VGroup(Line(pan.c2p(-lim, 0), pan.c2p(lim, 0), stroke_color=L.GRID, stroke_width=1.5),
                      Line(pan.c2p(0, -lim), pan.c2p(0, lim), stroke_color=L.GRID, stroke_width=1.5))
        unit = DashedVMobject(Circle(S / (2 * lim), stroke_color=L.MUTED, stroke_width=1.5).move_to(pan.c2p(0, 0)),
                              num_dashes=60)
        acap = L.label(f"cos probe  ≈ {d.wave_label('cos')}", 18, L.COS).next_to(pan, DOWN, buff=0.1)
        bcap = L.label(f"sin probe  ≈ {d.wave_label('sin')}", 18, L.SIN).rotate(PI / 2).next_to(pan, LEFT, buff=0.1)
        self.play(ReplacementTransform(heading, h2), Create(axes), FadeIn(acap), FadeIn(bcap), Create(unit), run_time=1)

        xcol = L.cmap(at, L.CYC_CMAP, 0, p).astype(float)     # x^a's colour: colliding x alike
        layer = pan.dots(radius=0.05)
        xt = ValueTracker(0.0)
        centre2 = pan.c2p(0, 0)
        r_hand = S / (2 * lim)

        def cur():
            return int(np.clip(np.floor(xt.get_value()), 0, p - 1))

        layer.add_updater(lambda m: m.draw(cx[:cur() + 1], sy[:cur() + 1], xcol[:cur() + 1]))
        hand = Line(centre2, centre2 + RIGHT * r_hand, stroke_color=L.ACCENT, stroke_width=6)
        hand.add_updater(lambda m: m.put_start_and_end_on(
            centre2, centre2 + r_hand * np.array([np.cos(w * at[cur()]), np.sin(w * at[cur()]), 0])))
        here = Dot(radius=0.08, color=L.TEXT)
        here.add_updater(lambda m: m.move_to(pan.c2p(cx[cur()], sy[cur()])))
        X0 = 1.6
        power = d.probe_power is not None
        if power:             # the token, and the power its hand turns by
            now = lambda: f"{ex} = {cur()},  {pv} ≡ {at[cur()]}"      # noqa: E731
        else:
            now = lambda: f"{ex} = {cur()}" + (f"  (x = {d.digit(cur())})" if ex != "x" else "")  # noqa: E731
        info = VGroup(
            L.LiveText(now, [X0, 2.3, 0], size=34 if ex == "x" and not power else 26),
            L.formula(f"angle w·{pv} = {d.freq_label()} · {pv}", size=24, color=L.ACCENT).move_to([X0, 1.55, 0], aligned_edge=LEFT),
            L.LiveText(lambda: f"= {np.degrees(w * at[cur()]) % 360:.0f}° (mod 360°)", [X0, 1.0, 0], size=24, color=L.ACCENT),
            L.LiveText(lambda: f"probe point ({cx[cur()]:+.2f}, {sy[cur()]:+.2f})", [X0, 0.4, 0], size=20, color=L.MUTED))
        wl = L.formula(f"w = 2π·{d.key_k}/{p} = {d.freq_label()}", size=26).move_to([X0, -2.4, 0], aligned_edge=LEFT)
        laps = L.label(f"{d.key_k} turn{'s' if d.key_k != 1 else ''} of the hand for {ex} = 0 … {p - 1}", 20, L.MUTED).next_to(wl, DOWN, buff=0.2).align_to(wl, LEFT)
        if power:             # the hand jumps by x^a: no laps; colliding tokens share a point
            laps = self._collisions(info, wl, X0, cur)
        elif ex != "x":       # the clock's hours are the x axis' elements, not the tokens
            hours = L.label(f"the clock has {p} hours over {ex}", 20, L.MUTED).next_to(wl, UP, buff=0.2).align_to(wl, LEFT)
            laps = VGroup(L.fit_right(laps), L.fit_right(hours))
            L.fit_right(info[1])
        self.add(layer, hand, here, info)
        self.play(FadeIn(wl), run_time=0.5)
        self.play(xt.animate.set_value(p - 0.001), run_time=9, rate_func=linear)
        self.play(FadeIn(laps), run_time=0.5)
        self.wait(1.5)

    def _collisions(self, info: VGroup, wl, X0: float, cur) -> VGroup:
        """A pow without a grid: under the hand's readout, the earlier token whose point the current
        one lands on (x and −x: one x²); around w, how many points the p tokens make and the
        measured collision share. Returns the lines to fade in after the sweep."""
        d = self.d
        c = d.collisions()
        pw, first, p = c["power"], c["first"], d.p

        def same():
            x = cur()
            return f"same point as x = {first[x]}:  {first[x]}{pw[1:]} ≡ {x}{pw[1:]}" if first[x] != x else " "
        info.add(L.LiveText(same, [X0, -0.1, 0], size=20, color=L.TEXT))
        lands = (f"{c['phrase']} land together:\n{c['points']} places for {p} tokens" if c["phrase"]
                 else f"x ↦ {pw} is one-to-one mod {p}:\n{c['points']} points for {p} tokens")
        top = L.label(lands, 22, L.TEXT).next_to(wl, UP, buff=0.25).align_to(wl, LEFT)
        lines = VGroup(L.fit_right(top))
        if c["share"] is not None:
            sh = L.label(f"measured: {c['share']:.1%} of the embedding's variance\n(x ≠ 0) is a function of {pw}",
                         20, L.MUTED).next_to(wl, DOWN, buff=0.2).align_to(wl, LEFT)
            lines.add(L.fit_right(sh))
        L.fit_right(info[0])
        return lines
