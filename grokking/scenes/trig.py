"""Part 2, the trig identity and the output (23:19-26:38): the product pair's cos·cos and sin·sin
surfaces, each weighted by its measured vote for the crest target T (its product coefficient ×
its W_out row · the direction that votes for T), add and interfere into a wave along x + y: the
votes have opposite signs, so cos a cos b − sin a sin b = cos(a + b) is what the model computes;
then the logit of one output, largest on x + y ≡ output (mod p).

The votes, the shares and the pair's sum's share on x + y are extraction's (summary
selections.product_pair: votes, weights, coefs, term_fve, term_joint, sum_share; qualifies False,
with `fallback`, when no pair met the rule, and the scene says so). Assets without measured votes
are drawn with the identity's +1 and −1, and the scene says that too.

Reads selections.npz (pair_surfaces, trig_coscos, trig_sinsin, trig_sum, logit_surface,
logit_maxima, logit_components) and summary.json (selections.product_pair, selections.logit).
Every surface is over the run's coordinates (summary "additive": x and y; log₃ x and log₃ y over
Z_112 for mul at p = 113, whose logit for the answer 7 is the element 8, log₃ 7), w = 2πk/n, and
the texts name the axes, the sum and the answer so."""
from __future__ import annotations

import textwrap

import numpy as np
from manim import (DL, DOWN, DR, LEFT, RIGHT, UL, UP, UR, BackgroundRectangle, DashedLine, Dot, FadeIn,
                   FadeOut, ReplacementTransform, ValueTracker, VGroup, Write, linear)

from grokking.common.assets import Logit, NeuronSurfaces, ProductPair
from grokking.extraction import fourier as fo
from grokking.extraction.mechanism import pair_sum_share

from grokking.scenes import data
from grokking.scenes import look as L
from grokking.scenes.surfaces import Placer, answer_lines, patch, profile_panel, term_in_axes

VIEW = dict(theta=-0.7, phi=0.62, hscale=0.4)
ZLIM = (-1.15, 1.15)        # the unit-amplitude product terms and their sum, cos(w(x + y))


def formula_lines(head: str, terms: list[str], tail: str = "", width: float = 13.6,
                  size: float = 20) -> list[str]:
    """The logit's approximation, head + terms joined by " + " + tail, in the fewest lines that fit
    `width` at `size` (never shrunk below it): a line breaks after a " +", the tail stays on the
    last line."""
    def wide(line: str) -> float:
        return L.formula(line, size=size).width
    for n in range(1, len(terms) + 1):
        cuts = [round(len(terms) * i / n) for i in range(n + 1)]      # the terms split evenly
        lines = [" + ".join(terms[a:b]) for a, b in zip(cuts, cuts[1:])]
        lines = [(head if i == 0 else "") + ln + (" +" if i < n - 1 else tail) for i, ln in enumerate(lines)]
        if max(wide(ln) for ln in lines) <= width:
            return lines
    return lines


def sum_label(k: int, p: int, sum_name: str = "x + y") -> str:
    """'cos(8π(x + y)/113)'; 'cos(13π(log₃ x + log₃ y)/56)' for mul (p: the modulus, n)."""
    return data.wave_text("cos", k, p, f"({sum_name})")


def pair_votes(pp) -> tuple[float, float, bool]:
    """The pair's product-term votes for T (cos·cos, sin·sin), as extraction measured them, and
    True; the identity's (1, −1) and False when the assets record none."""
    if pp.votes and len(pp.votes) == 2:
        return float(pp.votes[0]), float(pp.votes[1]), True
    return 1.0, -1.0, False


def drawn_weights(pp) -> tuple[float, float]:
    """The heights drawn: the votes ÷ the larger |vote| (so the larger is ±1)."""
    a, b, _ = pair_votes(pp)
    m = max(abs(a), abs(b)) or 1.0
    return a / m, b / m


def split_sum(a: float, b: float) -> tuple[float, float]:
    """a·cos(wx)cos(wy) + b·sin(wx)sin(wy) = s·cos(w(x + y)) + d·cos(w(x − y)): (s, d)."""
    return (a - b) / 2, (a + b) / 2


def sum_view(d, width: float = 6.4, height: float = 5.0) -> L.SurfaceView:
    """The last picture of TrigIdentity: the drawn sum, overhead (x across, y up)."""
    t = d.trig_identity()
    wa, wb = drawn_weights(d.sel(ProductPair))
    drawn = wa * t["coscos"] + wb * t["sinsin"]
    return L.SurfaceView(drawn, width, height, side=min(width, height) * 0.8, zlim=ZLIM,
                         cmap_name=L.DIV_CMAP, theta=0.0, phi=np.pi / 2, hscale=0.4)


def product_caption(d, neuron, term: str, share=None, joint=None) -> str:
    """What the neuron's product term is: with its share of the neuron's joint variance (what it does
    with x and y together) and of all its variance when extraction measured both; else from its
    decomposition: 'its strongest term' only when no other term explains more of its variance."""
    x, y = d.x_name, d.y_name
    if share is not None and joint:
        part = share / joint                      # the joint part's share of all the variance
        return (f"{joint:.0%} of what it does with {x} and {y} together\n"
                f"(that part is {part:.0%} of its variance;\nthe rest: waves in {x} alone, in {y} alone)")
    dec = d.sel(NeuronSurfaces).decompositions or {}
    terms = (dec.get(str(neuron)) or {}).get("terms") or []
    mine = [t for t in terms if t.get("term") == term]
    if mine:
        share = mine[0]["fve"]
        if share >= max(t["fve"] for t in terms):
            return f"its strongest term: {share:.0%} of its variance"
    return "its product term" + (f": {share:.0%} of its variance" if share is not None else "")


def signed(v: float, digits: int = 2) -> str:
    return f"{'−' if v < 0 else '+'}{abs(v):.{digits}f}"


class TrigIdentity(L.DataScene):
    """23:19-25:07."""

    def construct(self):
        d = self.d
        p = d.n                       # the surfaces' side, the frequencies' modulus
        sn = d.sum_name
        t = d.trig_identity()
        k = t["k"]
        pp = d.sel(ProductPair)
        names = (d.x_name, d.y_name)
        fcc, fss = (term_in_axes(f, names) for f in t["formulas"])
        cc, ssn = t["coscos"], t["sinsin"]
        neurons = pp.neurons
        surf = d.get("selections", "pair_surfaces")
        va, vb, measured = pair_votes(pp)
        wa, wb = drawn_weights(pp)
        T = pp.T

        heading = L.title("Two neurons, two products", 30)
        self.play(Write(heading), run_time=0.7)
        zl = ZLIM
        W, H = 6.4, 4.6
        left = L.SurfaceView(cc, W, H, side=3.4, zlim=zl, cmap_name=L.DIV_CMAP, **VIEW).move_to([-3.4, -0.2, 0])
        right = L.SurfaceView(ssn, W, H, side=3.4, zlim=zl, cmap_name=L.DIV_CMAP, **VIEW).move_to([3.4, -0.2, 0])
        # 1. each neuron's surface, scaled by its product term's coefficient, then that term
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
            names.add(L.label(f"(centred, ÷ its product coefficient {pp.coefs[0]:.2f})", 18, L.MUTED).next_to(names[0], DOWN, buff=0.06),
                      L.label(f"(centred, ÷ its product coefficient {pp.coefs[1]:.2f})", 18, L.MUTED).next_to(names[1], DOWN, buff=0.06))
        self.add(left, right)
        self.play(FadeIn(names), run_time=0.8)
        self.wait(0.8)
        ftop = VGroup(L.formula(fcc, size=22, color=L.COS).move_to([-3.4, -2.45, 0]),
                      L.formula(fss, size=22, color=L.SIN).move_to([3.4, -2.45, 0]))
        shares = pp.term_fve or [None, None]
        joints = pp.term_joint or [None, None]
        caps = [product_caption(d, n, f, share, joint) for n, f, share, joint in
                zip(neurons, t["formulas"], shares, joints)]
        cap1 = L.label(caps[0], 18, L.MUTED).next_to(ftop[0], DOWN, buff=0.08)
        cap2 = L.label(caps[1], 18, L.MUTED).next_to(ftop[1], DOWN, buff=0.08)
        self.play(mix.animate.set_value(1), FadeIn(ftop), FadeIn(cap1), FadeIn(cap2), run_time=1.8)
        self.wait(0.5)

        # 2. the next layer reads them: each product term's vote for T, measured; the sin·sin
        # surface flips over when the votes' signs differ
        if measured:
            h2 = L.title(f"Their votes for {d.output_name(T)}, measured: opposite signs" if va * vb < 0
                         else f"Their votes for {d.output_name(T)}, measured", 30)
        else:
            h2 = L.title("Weighted +1 and −1: the identity's weights, not measured", 30)
        wt = ValueTracker(0.0)
        left.clear_updaters()
        right.clear_updaters()
        left.add_updater(lambda m: m.setv(Z=(1 + (wa - 1) * wt.get_value()) * cc, zkey=("wa", round(wt.get_value(), 3))))
        right.add_updater(lambda m: m.setv(Z=(1 + (wb - 1) * wt.get_value()) * ssn, zkey=("wb", round(wt.get_value(), 3))))
        w1 = L.formula(f"× ({signed(va)})", size=30, color=L.COS).move_to([-3.4, 2.85, 0])
        w2 = L.formula(f"× ({signed(vb)})", size=30, color=L.SIN).move_to([3.4, 2.85, 0])
        wnotes = VGroup()
        if measured and pp.weights and pp.coefs:
            for x0, c, wgt, v in ((-3.4, pp.coefs[0], pp.weights[0], va), (3.4, pp.coefs[1], pp.weights[1], vb)):
                wnotes.add(L.label(f"its weight onto the direction\nthat votes for {d.answer(T)}: {signed(wgt, 3)}\n"
                                   f"× its coefficient {c:.2f} = vote {signed(v)}", 18, L.MUTED)
                           .move_to([x0, 2.0, 0]))
        elif not measured:
            wnotes.add(L.label("these assets record no measured votes: re-extract the run", 18, L.MUTED)
                       .move_to([0, 1.85, 0]))
        self.play(ReplacementTransform(heading, h2), FadeOut(names), FadeIn(w1), FadeIn(w2), FadeIn(wnotes),
                  run_time=0.8)
        self.play(wt.animate.set_value(1.0), run_time=2.0)
        fa = L.formula(f"{signed(va)}·" + fcc, size=22, color=L.COS).move_to(ftop[0])
        fb = L.formula(f"{signed(vb)}·" + fss, size=22, color=L.SIN).move_to(ftop[1])
        self.play(ReplacementTransform(ftop[0], fa), ReplacementTransform(ftop[1], fb), run_time=0.5)
        self.wait(0.8)

        # 3. add: the two surfaces slide together and interfere
        h3 = L.title("Added together, they interfere", 30)
        add = ValueTracker(0.0)
        lc, rc = left.get_center().copy(), right.get_center().copy()
        mid = np.array([0.0, -0.2, 0])
        left.clear_updaters()
        right.clear_updaters()
        left.add_updater(lambda m: m.move_to(lc + (mid - lc) * min(1, 2 * add.get_value())).setv(
            Z=wa * cc + max(0.0, 2 * add.get_value() - 1) * wb * ssn,
            zkey=("sum", round(add.get_value(), 3))))
        right.add_updater(lambda m: m.move_to(rc + (mid - rc) * min(1, 2 * add.get_value())).setv(
            opacity=1 - max(0.0, 2 * add.get_value() - 1)))
        self.play(ReplacementTransform(h2, h3), FadeOut(w1), FadeOut(w2), FadeOut(wnotes), FadeOut(cap1),
                  FadeOut(cap2), FadeOut(fa), FadeOut(fb), run_time=0.6)
        self.play(add.animate.set_value(1.0), run_time=3.0, rate_func=linear)
        self.remove(right)
        left.clear_updaters()
        drawn = wa * cc + wb * ssn
        assert np.allclose(left.state["Z"], drawn)

        # 4. overhead: the crests run along x + y = const
        th, ph = ValueTracker(VIEW["theta"]), ValueTracker(VIEW["phi"])
        pos = ValueTracker(0.0)
        c0 = left.get_center().copy()
        c1 = np.array([-3.6, -0.55, 0])
        left.add_updater(lambda m: m.setv(theta=th.get_value(), phi=ph.get_value())
                         .move_to(c0 + (c1 - c0) * pos.get_value()))
        grow = ValueTracker(1.0)
        left.add_updater(lambda m: m.scale_to_fit_width(W * grow.get_value()))
        self.play(th.animate.set_value(0.0), ph.animate.set_value(np.pi / 2), pos.animate.set_value(1),
                  grow.animate.set_value(1.2), run_time=2.0)
        left.clear_updaters()
        axes = L.surface_axes(left, 18, follow=False)
        s_line = p - 1
        line = DashedLine(left.project(0, s_line, 0), left.project(s_line, 0, 0), stroke_color=L.TEXT,
                          stroke_width=3, dash_length=0.12)
        ltag = L.label(f"{d.axes_sum} = {s_line}", 18, L.TEXT).next_to(left.project(s_line * 0.62, s_line * 0.38, 0), UR, buff=0.1)
        ltag = VGroup(BackgroundRectangle(ltag, color=L.BG, fill_opacity=0.7, buff=0.04), ltag)
        self.play(FadeIn(axes), FadeIn(line), FadeIn(ltag), run_time=0.8)
        X0 = 0.2
        s_, d_ = split_sum(va, vb)
        ident = VGroup(
            L.formula(f"{signed(va)}·" + fcc, size=21, color=L.COS),
            L.formula(f"{signed(vb)}·" + fss, size=21, color=L.SIN),
            L.formula(f"= {signed(s_)}·" + sum_label(k, p, sn), size=23, color=L.ACCENT),
            L.formula(f"  {signed(d_)}·" + sum_label(k, p, d.diff_name), size=21, color=L.MUTED),
        ).arrange(DOWN, aligned_edge=LEFT, buff=0.18)
        ident.move_to([X0, 1.75, 0], aligned_edge=LEFT)
        L.fit_right(ident)
        trig = L.label("cos a · cos b − sin a · sin b = cos(a + b)\ncos a · cos b + sin a · sin b = cos(a − b)",
                       18, L.TEXT).next_to(ident, DOWN, buff=0.35).align_to(ident, LEFT)
        share = pair_sum_share(va, vb)
        if measured:
            dn = d.diff_name
            why_text = ((f"opposite votes: the waves in {sn} add,\n"
                         f"those in {dn} cancel; {share:.0%} of the\n"
                         f"pair's sum is the wave in {sn}") if va * vb < 0 else
                        (f"the votes have the same sign: the waves in {dn} add;\n"
                         f"{share:.0%} of the pair's sum is the wave in {sn}"))
        else:
            why_text = "drawn with the identity's weights +1 and −1:\nthe run's own votes are not in these assets"
        if measured:
            why_text += f"\n(drawn: heights ÷ {max(abs(va), abs(vb)):.2f}, the larger vote)"
        why = L.label(why_text, 18, L.MUTED).next_to(trig, DOWN, buff=0.25).align_to(ident, LEFT)
        h4 = L.title("cos x cos y − sin x sin y = cos(x + y)" if not d.relabelled else
                     f"cos·cos − sin·sin = a wave in {sn}", 30)
        self.play(ReplacementTransform(h3, h4), FadeIn(ident), run_time=1.0)
        self.play(FadeIn(trig), FadeIn(why), run_time=0.8)
        if pp.qualifies is False:                # a fallback is shown as one, never as the finding
            text = "no pair met the rule: " + (pp.fallback or "no reason recorded")
            warn = L.label("\n".join(textwrap.wrap(text, 62)), 18, L.MUTED)
            warn.next_to(why, DOWN, buff=0.25).align_to(ident, LEFT)
            L.fit_right(warn)
            self.play(FadeIn(warn), run_time=0.5)
        self.wait(2.0)


class LogitSurface(L.DataScene):
    """21:24-22:56 and 25:26-26:38. The logit of one output (summary selections.logit.output,
    default 7) built from the run's own components: each key frequency's diagonal pattern
    α_k cos(w_k(x + y − output)) (largest |α_k| first) shown on the left and added into the sum
    on the right, the ridge on x + y ≡ output rising above the other diagonals as they interfere;
    then the model's own surface, overhead, with the points of x + y ≡ output where it peaks."""

    def construct(self):
        d = self.d
        p = d.n                       # the surface's side, the sums' and frequencies' modulus
        sn = d.sum_name
        info = d.sel(Logit)
        o = int(info.output)          # the answer's element (its token: d.answer(o))
        tok = d.answer(o)
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

        heading = L.title(f"The output logit for {d.output_name(o)}, over every ({d.x_name}, {d.y_name})", 30)
        if heading.width > 13.6:
            heading.scale_to_fit_width(13.6)
        self.play(Write(heading), run_time=0.8)
        right = L.SurfaceView(sums[0] if len(ks) else Z, 7.4, 5.4, side=3.9, zlim=zlim, cmap_name=L.SEQ_CMAP,
                              **VIEW).move_to([2.6, -0.9, 0])
        bar = L.colorbar(2.0, 0.14, f"{zlim[0]:.0f}", f"{zlim[1]:.0f}", caption=f"logit of {tok}")
        bar.to_corner(DR, buff=0.3)
        if ks:
            # 1. the components, one by one, into the sum
            amp = max(abs(a) for a in alphas)
            left = L.SurfaceView(comps[0], 5.0, 3.6, side=2.7, zlim=(-amp, amp), cmap_name=L.DIV_CMAP,
                                 **VIEW).move_to([-4.3, -0.1, 0])
            n = len(ks)
            s_ = "x + y" if not d.relabelled else "s"       # a long sum: named s on the line below
            fml = VGroup(*[L.formula(line, size=20, color=L.MUTED) for line in formula_lines(
                f"logit {tok} ≈ {offset:.1f} + ", [f"{a:.1f}·cos(w{i + 1}({s_} − {o}))" for i, a in enumerate(alphas)],
                "" if s_ == sn else f",  s = {sn}")]).arrange(DOWN, buff=0.08)
            fml.next_to(heading, DOWN, buff=0.15)
            cap_y = min(2.55, fml.get_bottom()[1] - 0.38)     # the captions below a formula of two lines
            lcap = {"t": ""}
            rcap = {"t": ""}
            lhead = L.LiveText(lambda: lcap["t"], [-6.8, cap_y, 0], size=20, color=L.TEXT)
            rhead = L.LiveText(lambda: "\n".join(textwrap.wrap(rcap["t"], 52)), [-0.6, cap_y, 0], size=19, color=L.TEXT)
            plus = L.label("+", 40, L.MUTED).move_to([-1.55, -0.1, 0])
            self.play(FadeIn(fml), FadeIn(bar), run_time=0.8)
            self.add(left, right, lhead, rhead, plus)
            mix = ValueTracker(0.0)
            for i, (k, a, r) in enumerate(zip(ks, alphas, rivals)):
                left.setv(Z=comps[i], zkey=("comp", i))
                harm = d.summary.get("key_harmonics", {}).get(str(k))
                lcap["t"] = (f"w{i + 1} = {fo.freq_label(k, p)} (k = {k}"
                             + (f", a harmonic of k = {harm})" if harm else ")")
                             + f"\n{a:.1f}·cos(w{i + 1}({s_} − {o}))")
                prev = sums[i - 1] if i else np.full((p, p), offset)
                mix.set_value(0.0)
                right.clear_updaters()
                right.add_updater(lambda m, prev=prev, cur=sums[i]: m.setv(
                    Z=prev + (cur - prev) * mix.get_value(), zkey=("sum", i, round(mix.get_value(), 3))))
                self.play(mix.animate.set_value(1.0), run_time=1.6 if i else 1.0)
                rcap["t"] = (f"the sum of {i + 1} of {n}" if i else "one key frequency alone") + (
                    f": the other diagonal crests reach {r:.0%} of the one on {sn} ≡ {o}" if r is not None else "")
                self.wait(1.4)
            right.clear_updaters()
            self.wait(0.8)
            # 2. the model's own logit: the sum was its approximation
            self.play(FadeOut(left), FadeOut(plus), FadeOut(lhead), FadeOut(fml), run_time=0.6)
            rcap["t"] = (f"the model's own logit for {tok}: the {n} waves explain {ev:.0%} of its variance"
                         + (f"; its other diagonal crests reach {info.rival_model:.0%} of the one on {sn} ≡ {o}"
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
        cy = ValueTracker(-0.9)
        sv.add_updater(lambda m: m.setv(Z=Z, zkey="model", theta=th.get_value(), phi=ph.get_value())
                       .scale_to_fit_width(w0 * sc.get_value()).move_to([cx.get_value(), cy.get_value(), 0]))
        axes = L.surface_axes(sv, 18)
        self.play(FadeIn(axes), run_time=0.5)
        # overhead, clear of the frame's bottom (the x axis's name too); the colour bar says the height
        self.play(th.animate.set_value(0.0), ph.animate.set_value(np.pi / 2), cx.animate.set_value(-3.2),
                  cy.animate.set_value(-0.45), sc.animate.set_value(9.2 / 7.4),
                  bar.animate.move_to([5.4, 2.85, 0]), run_time=2.0)
        sv.clear_updaters()
        sv.move_to([-3.2, -0.45, 0])
        axes.update()           # after the surface's last move (a still skips the frames between)
        axes.clear_updaters()
        X0 = 0.9
        placer = Placer(bounds=(-7.05, X0 - 0.1, -3.97, 3.97)).block(heading, bar, *axes)
        lines, line_tags = answer_lines(sv, o, p, placer, sum_name=d.axes_sum)
        h = L.formula(d.on_line(o, mod=True), size=26, color=L.TEXT).move_to([X0, 2.3, 0], aligned_edge=LEFT)
        L.fit_right(h)
        self.play(FadeIn(lines), FadeIn(line_tags), FadeIn(h), run_time=0.8)
        y = 1.7
        dots = [Dot(sv.project(a, b), radius=0.08, color=L.ACCENT) for a, b in maxima]
        placer.block(*dots)
        for (a, b), dot in zip(maxima, dots):
            tag = patch(L.label(f"({a}, {b})", 18, L.TEXT))
            s_ = a + b
            txt = f"{a} + {b} = {s_}" + (f"  ≡ {s_ % p}" if s_ >= p else "")
            row = L.formula(txt, size=22, color=L.ACCENT).move_to([X0, y, 0], aligned_edge=LEFT)
            val = L.label(f"logit {Z[a, b]:.1f}", 18, L.MUTED).next_to(row, RIGHT, buff=0.3)
            y -= 0.45
            anims = [FadeIn(dot, scale=1.5), FadeIn(row), FadeIn(val)]
            if placer.place(tag, dot, dirs=(UR, DL, RIGHT, UL, DR, LEFT, UP, DOWN), buff=0.05):
                anims.append(FadeIn(tag))       # (a point with no room for its tag is named in its row)
            self.play(*anims, run_time=0.6)
        frac = info.on_line_fraction
        right = Placer(bounds=(X0 - 0.05, 7.05, -3.97, 3.97))
        if frac is not None:
            ev_t = L.label(f"{frac:.0%} of this logit's {p} largest values\nlie on {sn} ≡ {o} (mod {p})",
                           18, L.MUTED).move_to([X0, y - 0.2, 0], aligned_edge=UP + LEFT)
            right.block(ev_t)
            self.play(FadeIn(ev_t), run_time=0.6)
        prof, _ = profile_panel(Z, o, p, right, width=5.6, height=1.3, corner=(X0 + 0.2, -3.15), sum_name=sn)
        self.play(FadeIn(prof), run_time=0.8)
        self.wait(2.0)
