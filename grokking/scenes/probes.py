"""Part 1, the embedding (14:37-16:47): one embedding dimension swept over x looks like a rough
cosine of the key frequency; the sparse probe's dimensions, weighted and summed, give a clean
cosine (then a sine); the same probe at position 1 gives the waves in y.

Reads probes.npz (weights, bias, dims, targets, resid_pos0/resid_pos1 at the analysis
checkpoint) and summary.json (probe k, label, R²). The embedding is read in the x axis' element
order (n rows, summary "additive".digits): x = 0 … p − 1 for add; log₃ x = 0 … 111 for mul at
p = 113 (row m the embedding of 3^m), and the axes say so; w = 2πk/n. A pow run without a grid
(x ↦ x^a not one-to-one): its probes are the waves of x^a at each token x (data.SceneData.probe_power),
jagged over x, so each token is drawn at its x^a mod p, where the wave is smooth, and colliding
tokens (x and −x for x²) share a column."""
from __future__ import annotations

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, Arrow, Create, FadeIn, FadeOut, Indicate, ReplacementTransform,
                   ValueTracker, VGroup, Write, linear)

from grokking.scenes import look as L

MAX_SHOWN = 8      # probe dimensions drawn one by one (the video's cos probe kept 8 of 128)


def _fit_cos(v, w, t):
    """Least-squares a·cos(w t) + c to v (v[i] at t[i]): what 'compare the curve to a cosine' overlays."""
    t = np.asarray(t, float)
    A = np.stack([np.cos(w * t), np.ones(len(t))], 1)
    (a, c), *_ = np.linalg.lstsq(A, v, rcond=None)
    r = np.corrcoef(v, np.cos(w * t))[0, 1] if v.std() > 0 else 0.0
    return a, c, r


class EmbeddingProbe(L.DataScene):

    def construct(self):
        d = self.d
        p, k, w = d.n, d.key_k, d.w()            # p: the probes' length, n
        ex = d.embed_name(0)
        xs = d.probe_axis()                      # each row's place: m; x^a for a pow without a grid
        seq = np.argsort(xs, kind="stable")      # drawn left to right
        cos = d.probe("cos", 0)

        # 1. one embedding dimension against a cosine of the key frequency
        dim = cos["dims"][int(np.argmax(np.abs(cos["weights"])))] if cos["dims"] else 0
        resid0 = np.asarray(d["probes"]["resid_pos0"], float)
        v = resid0[:, dim]
        heading = L.title(f"The embedding of x (position 0), {ex} = 0 … {p - 1}"
                          + (f", each at its {d.probe_var(0)}" if d.probe_power is not None else ""), 30)
        if heading.width > 13.6:
            heading.scale_to_fit_width(13.6)
        pan = L.Panel(10.5, 3.6, (-0.5, p - 0.5), L.auto_lim(v, 0.15)).move_to([0.3, -0.2, 0])
        cap = L.label(f"embedding dimension {dim} of {cos['d_model']}", 22, L.MUTED).next_to(pan, UP, buff=0.12).align_to(pan, LEFT)
        xcap = L.label(self._axis_name(0), 20, L.MUTED).next_to(pan, DOWN, buff=0.15)
        if d.probe_power is not None:            # a long name: left, clear of the correlation on the right
            xcap.align_to(pan, LEFT)
        layer = pan.dots(radius=0.04)
        n = ValueTracker(0.0)
        layer.add_updater(lambda m: m.draw(xs[seq[:int(n.get_value())]], v[seq[:int(n.get_value())]], L.TEXT))
        self.play(Write(heading), Create(pan), FadeIn(cap), FadeIn(xcap), run_time=1)
        self.add(layer)
        self.play(n.animate.set_value(p), run_time=3, rate_func=linear)
        a, c, r = _fit_cos(v, w, xs)
        wave = L.wave_overlay(pan, lambda t: a * np.cos(w * t) + c, p, k, L.ACCENT)
        wl = L.formula(d.wave_label("cos"), size=26, color=L.ACCENT).next_to(pan, UP, buff=0.12).align_to(pan, RIGHT)
        corr = L.label(f"correlation {r:+.2f}", 20, L.MUTED).next_to(pan, DOWN, buff=0.15).align_to(pan, RIGHT)
        self.play(FadeIn(wave), FadeIn(wl), FadeIn(corr), run_time=1.5)
        self.play(Indicate(corr, color=L.ACCENT, scale_factor=1.15), run_time=0.9)   # the point: how close
        self.play(*[FadeOut(m) for m in (pan, cap, xcap, layer, wave, wl, corr)], run_time=0.6)
        layer.clear_updaters()

        # 2. the sparse probe: a few dimensions, weighted and summed into a clean cosine; then sine
        probe_view = self._probe_view("cos", 0)
        self.play(ReplacementTransform(heading, probe_view["heading"]), run_time=0.6)
        self._build(probe_view)
        self.play(Indicate(probe_view["sum_cap"], color=L.COS, scale_factor=1.08), run_time=0.9)
        sin_view = self._probe_view("sin", 0)
        self.play(*[FadeOut(m) for m in probe_view["all"]], run_time=0.6)
        self.play(ReplacementTransform(probe_view["heading"], sin_view["heading"]), run_time=0.5)
        self._build(sin_view, fast=True)
        self.play(Indicate(sin_view["sum_cap"], color=L.SIN, scale_factor=1.08), run_time=0.9)

        # 3. the same probes on position 1: the same waves, now in y
        self.play(*[FadeOut(m) for m in sin_view["all"]], run_time=0.6)
        h3 = L.title("The same probes on the embedding of y (position 1)", 30)
        self.play(ReplacementTransform(sin_view["heading"], h3), run_time=0.5)
        for row, fn in enumerate(("cos", "sin")):
            pr = d.probe(fn, 1)
            pnl = L.Panel(9.0, 2.7, (-0.5, p - 0.5), L.auto_lim(np.r_[pr["out"], pr["target"]], 0.12))
            pnl.move_to([0.6, 1.3 - row * 3.35, 0])
            col = L.COS if fn == "cos" else L.SIN
            lay = pnl.dots(radius=0.04).draw(xs, pr["out"], L.TEXT)
            crv = L.wave_overlay(pnl, (lambda t: np.cos(w * t)) if fn == "cos" else (lambda t: np.sin(w * t)), p, k, col)
            tag = L.formula(d.wave_label(fn, var=d.probe_var(1)), size=24, color=col).next_to(pnl, LEFT, buff=0.2)
            if tag.get_left()[0] < -6.95:           # a long axis name: the panel's left edge kept in the frame
                tag.scale_to_fit_width(pnl.get_left()[0] - 0.2 + 6.95).next_to(pnl, LEFT, buff=0.2)
            ytag = L.label(self._axis_name(1), 18, L.MUTED).next_to(pnl, DOWN, buff=0.1)
            r2 = 1 - np.mean((pr["out"] - pr["target"]) ** 2) / max(np.var(pr["target"]), 1e-12)
            ytag.add(L.label(f"R² = {r2:.2f}", 18, L.MUTED).next_to(pnl, DOWN, buff=0.1).align_to(pnl, RIGHT))
            self.play(Create(pnl), FadeIn(lay), FadeIn(ytag), run_time=0.7)
            self.play(FadeIn(crv), FadeIn(tag), run_time=0.8)
        self.wait(1.5)

    def _axis_name(self, pos: int) -> str:
        """The x axis' name under a panel: the embedding's axis ("x", "log₃ y"); for a pow without a
        grid the power each token is drawn at, and who shares a column ("x² mod 113: x and −x
        share a column")."""
        d = self.d
        if d.probe_power is None:
            return d.embed_name(pos)
        c, var = d.collisions(), d.probe_var(pos)
        who = c["phrase"].split(" (")[0] if c["phrase"] else None        # "x and −x"
        if who and pos == 1:
            who = who.replace("x", "y")
        return f"{var} mod {d.p}" + (f":  {who} share a column" if who else "")

    def _probe_view(self, fn: str, pos: int) -> dict:
        d = self.d
        p, w = d.n, d.w()
        pr = d.probe(fn, pos)
        col = L.COS if fn == "cos" else L.SIN
        order = np.argsort(-np.abs(pr["weights"]))[:MAX_SHOWN]
        m = len(order)
        heading = L.title(f"A sparse probe for {d.wave_label(fn)}: {len(pr['dims'])} of {pr['d_model']} dimensions", 30)
        H = 6.3
        ph = H / max(m, 1) - 0.12
        small, layers, wts = [], [], VGroup()
        for i, j in enumerate(order):
            s = pr["sweeps"][j]
            pan = L.Panel(3.3, ph, (-0.5, p - 0.5), L.auto_lim(s, 0.1))
            pan.move_to([-4.2, 2.95 - ph / 2 - i * (ph + 0.12), 0])
            small.append(pan)
            layers.append(pan.dots(radius=0.022).draw(d.probe_axis(), s, L.TEXT))
            wts.add(L.label(f"× {pr['weights'][j]:+.2f}", 18, col).next_to(pan, RIGHT, buff=0.15))
        names = VGroup(*[L.label(f"dim {pr['dims'][j]}", L.MIN_TEXT, L.MUTED).next_to(pan, LEFT, buff=0.1)
                         for pan, j in zip(small, order)])
        more = len(pr["dims"]) - m
        extra = (L.label(f"+ {more} smaller", L.MIN_TEXT, L.MUTED).next_to(wts, DOWN, buff=0.1) if more > 0 else VGroup())
        out, tgt = pr["out"], pr["target"]
        big = L.Panel(6.2, 4.0, (-0.5, p - 0.5), L.auto_lim(np.r_[out, tgt], 0.12)).move_to([3.5, -0.3, 0])
        big_layer = big.dots(radius=0.045).draw(d.probe_axis(), out, L.TEXT)
        crv = L.wave_overlay(big, (lambda t: np.cos(w * t)) if fn == "cos" else (lambda t: np.sin(w * t)), p, d.key_k, col)
        r2 = pr["r2"] if pr["r2"] is not None else 1 - np.var(out - tgt) / max(np.var(tgt), 1e-12)
        sum_cap = L.label(f"weighted sum + bias  (R² = {r2:.2f} against {d.wave_label(fn)})", 18, L.MUTED)
        if sum_cap.width > big.width:            # two lines rather than past the panel's edges
            sum_cap = L.label(f"weighted sum + bias\n(R² = {r2:.2f} against {d.wave_label(fn)})", 18, L.MUTED)
            if sum_cap.width > big.width:
                sum_cap.scale_to_fit_width(big.width)
        sum_cap.next_to(big, UP, buff=0.12)
        tag = L.formula(d.wave_label(fn), size=26, color=col).next_to(big, DOWN, buff=0.15)
        arrows = VGroup(*[Arrow(wt.get_right(), big.box.get_left(), buff=0.1, stroke_width=2,
                                max_tip_length_to_length_ratio=0.05, color=L.GRID) for wt in wts])
        return {"heading": heading, "small": small, "layers": layers, "wts": wts, "names": names,
                "extra": extra, "big": big, "big_layer": big_layer, "curve": crv, "sum_cap": sum_cap,
                "tag": tag, "arrows": arrows,
                "all": [*small, *layers, wts, names, extra, big, big_layer, crv, sum_cap, tag, arrows]}

    def _build(self, v: dict, fast: bool = False):
        t = 0.5 if fast else 1.0
        self.play(*[Create(pn) for pn in v["small"]], *[FadeIn(ly) for ly in v["layers"]], FadeIn(v["names"]),
                  run_time=t * 1.2)
        self.play(FadeIn(v["wts"]), FadeIn(v["extra"]), run_time=t * 0.8)
        self.play(Create(v["arrows"]), Create(v["big"]), FadeIn(v["sum_cap"]), run_time=t)
        self.play(FadeIn(v["big_layer"]), run_time=t * 0.8)
        self.play(FadeIn(v["curve"]), FadeIn(v["tag"]), run_time=t * 1.2)
