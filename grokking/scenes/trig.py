"""Part 2, the trig identity and the output (23:19-26:38): the product pair's cos·cos and sin·sin
surfaces, weighted +1 and −1 (the second flips over), add and interfere into the diagonal
cos(w(x + y)); then the logit of one output, largest on x + y ≡ output (mod p).

The sum drawn is SceneData.trig_identity()'s: +1·(cos·cos) − 1·(sin·sin), as the assets store it
(trig_sum); tests/test_scenes.py checks numerically that it is cos(w(x + y) + φ), not
cos(w(x − y) + φ), and that the drawn picture (`sum_view`) puts Z[x, y] where its labels say.

Reads selections.npz (pair_surfaces, trig_coscos, trig_sinsin, trig_sum, logit_surface,
logit_maxima) and summary.json (selections.product_pair, selections.logit)."""
from __future__ import annotations

import textwrap

import numpy as np
from manim import (DOWN, DR, LEFT, RIGHT, UP, UR, BackgroundRectangle, DashedLine, Dot, FadeIn,
                   FadeOut, ReplacementTransform, ValueTracker, VGroup, Write, linear)

from grokking.common.assets import Logit, NeuronSurfaces, ProductPair
from grokking.extraction import fourier as fo

from grokking.scenes import look as L

VIEW = dict(theta=-0.7, phi=0.62, hscale=0.4)
ZLIM = (-1.15, 1.15)        # the unit-amplitude product terms and their sum, cos(w(x + y))


def sum_label(k: int, p: int) -> str:
    """'cos(8π(x + y)/113)'"""
    return fo.wave_label("cos", k, p, "(x + y)")


def sum_view(d, width: float = 6.4, height: float = 5.0) -> L.SurfaceView:
    """The last picture of TrigIdentity: the drawn sum, overhead (x across, y up)."""
    t = d.trig_identity()
    drawn = t["weights"][0] * t["coscos"] + t["weights"][1] * t["sinsin"]
    return L.SurfaceView(drawn, width, height, side=min(width, height) * 0.8, zlim=ZLIM,
                         cmap_name=L.DIV_CMAP, theta=0.0, phi=np.pi / 2, hscale=0.4)


def product_caption(d, neuron, term: str, share=None) -> str:
    """What the neuron's product term is, from its decomposition: 'its strongest term' only when
    no other term explains more of its variance; else 'its product term', with its share."""
    dec = d.sel(NeuronSurfaces).decompositions or {}
    terms = (dec.get(str(neuron)) or {}).get("terms") or []
    mine = [t for t in terms if t.get("term") == term]
    if mine:
        share = mine[0]["fve"]
        if share >= max(t["fve"] for t in terms):
            return f"its strongest term: {share:.0%} of its variance"
    return "its product term" + (f": {share:.0%} of its variance" if share is not None else "")


class TrigIdentity(L.DataScene):
    """23:19-25:07."""

    def construct(self):
        d = self.d
        p = d.p
        t = d.trig_identity()
        k = t["k"]
        pp = d.sel(ProductPair)
        fcc, fss = t["formulas"]
        cc, ssn = t["coscos"], t["sinsin"]
        neurons = pp.neurons
        surf = d.get("selections", "pair_surfaces")

        heading = L.title("Two neurons, two products", 30)
        self.play(Write(heading), run_time=0.7)
        zl = ZLIM
        W, H = 6.4, 4.6
        left = L.SurfaceView(cc, W, H, side=3.4, zlim=zl, cmap_name=L.DIV_CMAP, **VIEW).move_to([-3.4, -0.2, 0])
        right = L.SurfaceView(ssn, W, H, side=3.4, zlim=zl, cmap_name=L.DIV_CMAP, **VIEW).move_to([3.4, -0.2, 0])
        # 1. each neuron's surface, scaled by its strongest term's coefficient, then that term
        if surf is not None and pp.coefs:
            raw = [np.asarray(surf[i], float) for i in range(2)]
            norm = [(r - r.mean()) / c if c else r - r.mean() for r, c in zip(raw, pp.coefs)]
        else:
            norm = [cc, ssn]
        # the centred, rescaled surfaces keep their other terms (cos x, cos y, ...): their colour
        # range is theirs, easing to the product terms' ZLIM as they turn into those terms
        m0 = max(float(np.abs(z).max()) for z in norm)
        zl0 = (-m0, m0) if m0 > 0 else ZLIM
        mix = ValueTracker(0.0)

        def morph(m, z0, z1, key):
            t = mix.get_value()
            m.zlim = (zl0[0] + (zl[0] - zl0[0]) * t, zl0[1] + (zl[1] - zl0[1]) * t)
            return m.setv(Z=(1 - t) * z0 + t * z1, zkey=(key, round(t, 3)))
        left.add_updater(lambda m: morph(m, norm[0], cc, "l"))
        right.add_updater(lambda m: morph(m, norm[1], ssn, "r"))
        left.update()
        right.update()
        names = VGroup(
            L.label(f"neuron {neurons[0]}" if neurons[0] is not None else "cos·cos neuron", 20, L.MUTED).move_to([-3.4, 2.45, 0]),
            L.label(f"neuron {neurons[1]}" if neurons[1] is not None else "sin·sin neuron", 20, L.MUTED).move_to([3.4, 2.45, 0]))
        if pp.coefs:
            names.add(L.label(f"(centred, ÷ {pp.coefs[0]:.2f})", 15, L.MUTED).next_to(names[0], DOWN, buff=0.06),
                      L.label(f"(centred, ÷ {pp.coefs[1]:.2f})", 15, L.MUTED).next_to(names[1], DOWN, buff=0.06))
        self.add(left, right)
        self.play(FadeIn(names), run_time=0.8)
        self.wait(0.8)
        ftop = VGroup(L.formula(fcc, size=22, color=L.COS).move_to([-3.4, -2.55, 0]),
                      L.formula(fss, size=22, color=L.SIN).move_to([3.4, -2.55, 0]))
        caps = [product_caption(d, n, f, share) for n, f, share in
                zip(neurons, (fcc, fss), pp.term_fve or [None, None])]
        cap1 = L.label(caps[0], 16, L.MUTED).next_to(ftop[0], DOWN, buff=0.08)
        cap2 = L.label(caps[1], 16, L.MUTED).next_to(ftop[1], DOWN, buff=0.08)
        self.play(mix.animate.set_value(1), FadeIn(ftop), FadeIn(cap1), FadeIn(cap2), run_time=1.8)
        self.wait(0.5)

        # 2. the next layer's weights: +1 and −1; the second surface flips over
        h2 = L.title("A weighted sum: weight +1 and weight −1", 30)
        wt = ValueTracker(1.0)
        right.clear_updaters()
        right.add_updater(lambda m: m.setv(Z=wt.get_value() * ssn, zkey=("w", round(wt.get_value(), 3))))
        w1 = L.formula("× (+1)", size=30, color=L.COS).move_to([-3.4, 1.95, 0])
        w2 = L.formula("× (−1)", size=30, color=L.SIN).move_to([3.4, 1.95, 0])
        self.play(ReplacementTransform(heading, h2), FadeOut(names), FadeIn(w1), FadeIn(w2), run_time=0.8)
        self.play(wt.animate.set_value(t["weights"][1]), run_time=2.0)
        neg = L.formula("− " + fss, size=22, color=L.SIN).move_to(ftop[1])
        self.play(ReplacementTransform(ftop[1], neg), run_time=0.5)
        self.wait(0.5)

        # 3. add: the two surfaces slide together and interfere
        h3 = L.title("Added together, they interfere", 30)
        add = ValueTracker(0.0)
        lc, rc = left.get_center().copy(), right.get_center().copy()
        mid = np.array([0.0, -0.2, 0])
        left.clear_updaters()
        right.clear_updaters()
        w_sin = t["weights"][1]
        left.add_updater(lambda m: m.move_to(lc + (mid - lc) * min(1, 2 * add.get_value())).setv(
            Z=t["weights"][0] * cc + max(0.0, 2 * add.get_value() - 1) * w_sin * ssn,
            zkey=("sum", round(add.get_value(), 3))))
        right.add_updater(lambda m: m.move_to(rc + (mid - rc) * min(1, 2 * add.get_value())).setv(
            opacity=1 - max(0.0, 2 * add.get_value() - 1)))
        self.play(ReplacementTransform(h2, h3), FadeOut(w1), FadeOut(w2), FadeOut(cap1), FadeOut(cap2),
                  FadeOut(ftop[0]), FadeOut(neg), run_time=0.6)
        self.play(add.animate.set_value(1.0), run_time=3.0, rate_func=linear)
        self.remove(right)
        left.clear_updaters()
        drawn = t["weights"][0] * cc + t["weights"][1] * ssn
        assert np.allclose(left.state["Z"], drawn) and np.allclose(drawn, t["sum"], atol=1e-6)

        # 4. overhead: the crests run along x + y = const
        th, ph = ValueTracker(VIEW["theta"]), ValueTracker(VIEW["phi"])
        pos = ValueTracker(0.0)
        c0 = left.get_center().copy()
        c1 = np.array([-3.3, -0.55, 0])
        left.add_updater(lambda m: m.setv(theta=th.get_value(), phi=ph.get_value())
                         .move_to(c0 + (c1 - c0) * pos.get_value()))
        grow = ValueTracker(1.0)
        left.add_updater(lambda m: m.scale_to_fit_width(W * grow.get_value()))
        self.play(th.animate.set_value(0.0), ph.animate.set_value(np.pi / 2), pos.animate.set_value(1),
                  grow.animate.set_value(1.3), run_time=2.0)
        left.clear_updaters()
        axes = L.surface_axes(left, 18, follow=False)
        s_line = p - 1
        line = DashedLine(left.project(0, s_line, 0), left.project(s_line, 0, 0), stroke_color=L.TEXT,
                          stroke_width=3, dash_length=0.12)
        ltag = L.label(f"x + y = {s_line}", 18, L.TEXT).next_to(left.project(s_line * 0.62, s_line * 0.38, 0), UR, buff=0.1)
        ltag = VGroup(BackgroundRectangle(ltag, color=L.BG, fill_opacity=0.7, buff=0.04), ltag)
        self.play(FadeIn(axes), FadeIn(line), FadeIn(ltag), run_time=0.8)
        X0 = 0.4
        ident = VGroup(
            L.formula(fcc, size=22, color=L.COS),
            L.formula("− " + fss, size=22, color=L.SIN),
            L.formula("= " + sum_label(k, p), size=26, color=L.ACCENT)).arrange(DOWN, aligned_edge=LEFT, buff=0.22)
        ident.move_to([X0, 1.3, 0], aligned_edge=LEFT)
        trig = L.label("cos a · cos b − sin a · sin b = cos(a + b)", 20, L.TEXT).next_to(ident, DOWN, buff=0.5).align_to(ident, LEFT)
        why = L.label("a sum-of-angles identity: products of waves\nin x and in y become a wave in x + y",
                      18, L.MUTED).next_to(trig, DOWN, buff=0.25).align_to(ident, LEFT)
        h4 = L.title("cos x cos y − sin x sin y = cos(x + y)", 30)
        self.play(ReplacementTransform(h3, h4), FadeIn(ident), run_time=1.0)
        self.play(FadeIn(trig), FadeIn(why), run_time=0.8)
        corr = pp.trig_corr_sum
        if corr is not None:
            ev = L.label(f"the sum correlates {corr:.2f} with a wave in x + y,\n"
                         f"{pp.trig_corr_diff:.2f} with one in x − y", 18, L.MUTED)
            ev.next_to(why, DOWN, buff=0.3).align_to(ident, LEFT)
            if ev.get_right()[0] > 6.9:
                ev.scale_to_fit_width(6.9 - X0)
                ev.next_to(why, DOWN, buff=0.3).align_to(ident, LEFT)
            self.play(FadeIn(ev), run_time=0.5)
        self.wait(2.0)


class LogitSurface(L.DataScene):
    """21:24-22:56 and 25:26-26:38. The logit of one output (summary selections.logit.output,
    default 7) built from the run's own components: each key frequency's diagonal pattern
    α_k cos(w_k(x + y − output)) (largest |α_k| first) shown on the left and added into the sum
    on the right, the ridge on x + y ≡ output rising above the other diagonals as they interfere;
    then the model's own surface, overhead, with the points of x + y ≡ output where it peaks."""

    def construct(self):
        d = self.d
        p = d.p
        info = d.sel(Logit)
        o = int(info.output)
        Z = d.selection("logit_surface")
        comps = d.selection("logit_components")                   # [K, p, p], largest |α| first
        ks = [int(k) for k in info.component_keys or []]
        alphas = info.component_alphas or []
        rivals = info.rival_after_each or []
        offset = float(info.offset or 0.0)
        ev = d.summary["logit_approx"]["explained_variance"]
        maxima = [(int(a), int(b)) for a, b in d.selection("logit_maxima").reshape(-1, 2)]
        sums = offset + np.cumsum(comps, axis=0)                  # [K, p, p]; empty without key frequencies
        every = np.concatenate([Z[None], sums])                   # one colour scale for sums and model
        zlim = (float(every.min()), float(every.max()))

        heading = L.title(f"The output logit for {o}, over every (x, y)", 30)
        self.play(Write(heading), run_time=0.8)
        right = L.SurfaceView(sums[0] if len(ks) else Z, 7.4, 5.4, side=3.9, zlim=zlim, cmap_name=L.SEQ_CMAP,
                              **VIEW).move_to([2.6, -0.9, 0])
        bar = L.colorbar(2.0, 0.14, f"{zlim[0]:.0f}", f"{zlim[1]:.0f}", caption=f"logit of {o}")
        bar.to_corner(DR, buff=0.3)
        if ks:
            # 1. the components, one by one, into the sum
            amp = max(abs(a) for a in alphas)
            left = L.SurfaceView(comps[0], 5.0, 3.6, side=2.7, zlim=(-amp, amp), cmap_name=L.DIV_CMAP,
                                 **VIEW).move_to([-4.3, -0.1, 0])
            lcap = {"t": ""}
            rcap = {"t": ""}
            lhead = L.LiveText(lambda: lcap["t"], [-6.8, 2.55, 0], size=20, color=L.TEXT)
            rhead = L.LiveText(lambda: "\n".join(textwrap.wrap(rcap["t"], 52)), [-0.6, 2.55, 0], size=19, color=L.TEXT)
            plus = L.label("+", 40, L.MUTED).move_to([-1.55, -0.1, 0])
            n = len(ks)
            fml = L.formula(f"logit {o} ≈ {offset:.1f} + " + " + ".join(
                f"{a:.1f}·cos(w{i + 1}(x + y − {o}))" for i, a in enumerate(alphas)), size=20, color=L.MUTED)
            if fml.width > 13.6:
                fml.scale_to_fit_width(13.6)
            fml.next_to(heading, DOWN, buff=0.15)
            self.play(FadeIn(fml), FadeIn(bar), run_time=0.8)
            self.add(left, right, lhead, rhead, plus)
            mix = ValueTracker(0.0)
            for i, (k, a, r) in enumerate(zip(ks, alphas, rivals)):
                left.setv(Z=comps[i], zkey=("comp", i))
                harm = d.summary.get("key_harmonics", {}).get(str(k))
                lcap["t"] = (f"w{i + 1} = {fo.freq_label(k, p)} (k = {k}"
                             + (f", a harmonic of k = {harm})" if harm else ")")
                             + f"\n{a:.1f}·cos(w{i + 1}(x + y − {o}))")
                prev = sums[i - 1] if i else np.full((p, p), offset)
                mix.set_value(0.0)
                right.clear_updaters()
                right.add_updater(lambda m, prev=prev, cur=sums[i]: m.setv(
                    Z=prev + (cur - prev) * mix.get_value(), zkey=("sum", i, round(mix.get_value(), 3))))
                self.play(mix.animate.set_value(1.0), run_time=1.6 if i else 1.0)
                rcap["t"] = (f"the sum of {i + 1} of {n}" if i else "one key frequency alone") + (
                    f": the other diagonal crests reach {r:.0%} of the one on x + y ≡ {o}" if r is not None else "")
                self.wait(1.4)
            right.clear_updaters()
            self.wait(0.8)
            # 2. the model's own logit: the sum was its approximation
            self.play(FadeOut(left), FadeOut(plus), FadeOut(lhead), FadeOut(fml), run_time=0.6)
            rcap["t"] = (f"the model's own logit for {o}: the {n} waves explain {ev:.0%} of its variance"
                         + (f"; its other diagonal crests reach {info.rival_model:.0%} of the one on x + y ≡ {o}"
                            if info.rival_model is not None else ""))
            mix.set_value(0.0)
            right.add_updater(lambda m: m.setv(Z=sums[-1] + (Z - sums[-1]) * mix.get_value(),
                                               zkey=("model", round(mix.get_value(), 3))))
            self.play(mix.animate.set_value(1.0), run_time=1.5)
            self.wait(1.5)
            self.play(FadeOut(rhead), run_time=0.4)
            right.clear_updaters()
        else:
            self.play(FadeIn(bar), run_time=0.5)
            self.add(right)
        sv = right
        th, ph, cx, sc = ValueTracker(VIEW["theta"]), ValueTracker(VIEW["phi"]), ValueTracker(2.6), ValueTracker(1.0)
        w0 = sv.width
        sv.add_updater(lambda m: m.setv(Z=Z, zkey="model", theta=th.get_value(), phi=ph.get_value())
                       .scale_to_fit_width(w0 * sc.get_value()).move_to([cx.get_value(), -0.6, 0]))
        axes = L.surface_axes(sv, 18)
        self.play(FadeIn(axes), run_time=0.5)
        # overhead: the colour bar says the height
        self.play(th.animate.set_value(0.0), ph.animate.set_value(np.pi / 2), cx.animate.set_value(-2.9),
                  sc.animate.set_value(10.0 / 7.4), run_time=2.0)
        sv.clear_updaters()
        axes.update()           # after the surface's last move (a still skips the frames between)
        axes.clear_updaters()
        lines = VGroup()
        for s in (o, o + p):
            a0, a1 = max(0, s - (p - 1)), min(p - 1, s)
            if a1 > a0:
                lines.add(DashedLine(sv.project(a0, s - a0, 0), sv.project(a1, s - a1, 0), stroke_color=L.TEXT,
                                     stroke_width=2.5, dash_length=0.1))
        X0 = 0.9
        h = L.formula(f"x + y ≡ {o}  (mod {p})", size=26, color=L.TEXT).move_to([X0, 2.2, 0], aligned_edge=LEFT)
        self.play(FadeIn(lines), FadeIn(h), run_time=0.8)
        y = 1.5
        tags = L.PointTags(15, L.TEXT, x_max=X0 - 0.1)
        for a, b in maxima:
            dot = Dot(sv.project(a, b), radius=0.08, color=L.ACCENT)
            old, tag = tags.add(dot, f"({a}, {b})")      # nearby maxima share one label
            s = a + b
            txt = f"{a} + {b} = {s}" + (f"  ≡ {s % p}" if s >= p else "")
            row = L.formula(txt, size=22, color=L.ACCENT).move_to([X0, y, 0], aligned_edge=LEFT)
            val = L.label(f"logit {Z[a, b]:.1f}", 16, L.MUTED).next_to(row, RIGHT, buff=0.3)
            y -= 0.5
            anims = [FadeIn(dot, scale=1.5), FadeIn(tag), FadeIn(row), FadeIn(val)]
            if old is not None:
                anims.append(FadeOut(old))
            self.play(*anims, run_time=0.6)
        frac = info.on_line_fraction
        if frac is not None:
            ev_t = L.label(f"{frac:.0%} of this logit's {p} largest values\nlie on x + y ≡ {o} (mod {p})",
                           18, L.MUTED).move_to([X0, y - 0.35, 0], aligned_edge=LEFT)
            self.play(FadeIn(ev_t), run_time=0.6)
        self.wait(2.0)
