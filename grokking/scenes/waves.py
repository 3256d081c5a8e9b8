"""Part 1, inside the MLP (11:10-14:33): seven hidden neurons swept over y (x = 0) are waves;
neuron against neuron they form loops, which dissolve when training is rewound to the
memorising checkpoint; the DFT of a sweep peaks at a key frequency.

Every sweep is over the y axis of the run's coordinates (n values, summary "additive": y; log₃ y
over Z_112 for mul at p = 113, with log₃ x = 0, i.e. x = 1), every frequency w = 2πk/n, and the
axes say so.

Reads selections.npz (wave_neurons, wave_sweeps), summary.json's wave_neurons (each one's
frequency, amplitude and phase), evolution.npz (epoch, wave_sweeps, wave_fit: each sweep's fit at
its own frequency at each checkpoint), curves.npz (accuracy at each checkpoint) and summary.json
(milestones; replay: what the rewind's last caption may claim, by its number)."""
from __future__ import annotations

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, Create, FadeIn, FadeOut, Line, Square, ValueTracker,
                   VGroup, Write, linear)

from grokking.extraction import fourier as fo
from grokking.extraction import replay as rpl

from grokking.scenes import data
from grokking.scenes import look as L


def freq_colour(d, k: int) -> str:
    """A key frequency's colour: the palette's key colours in story order (the story frequency
    first), muted for a frequency that is not key."""
    order = list(d.a.story.order or [])
    return L.KEY[order.index(k) % len(L.KEY)] if k in order else L.MUTED


def fitted_cosine(fit: dict, n: int):
    """The wave extraction fitted to a sweep of n values (fourier.dominant_frequency's k, amp,
    phase and the sweep's mean), as a function of y."""
    w = 2 * np.pi * fit["k"] / n
    return lambda t: fit["mean"] + fit["amp"] * np.cos(w * t + fit["phase"])


def _y_colors(n: int) -> np.ndarray:
    return L.cmap(np.arange(n), L.SEQ_CMAP, 0, n - 1).astype(float)


def input_text(d, m: int) -> str:
    """The input at x axis element 0 and y axis element m: "0 + 5"; for a run whose axes are not x
    and y, the tokens as the task writes them ("1 · 27" for mul)."""
    if not d.relabelled:
        return f"0 + {m}"
    return f"{d.y_name} = {m}: " + L.task_expr(d.summary["task"], str(d.digit(0)), str(d.y_token(m)))


class NeuronWaves(L.DataScene):
    """11:10-12:08. x = 0; y runs 0..n-1 (the run's axes: log₃ x = 0, log₃ y = 0..111 for mul);
    each of seven neurons gets a dot per y: waves. Each neuron's fitted cosine (extraction's fit
    at its frequency) is drawn over its dots, coloured by frequency. Then the dots are coloured
    by y."""

    def construct(self):
        d = self.d
        p = d.n                       # the sweep's length
        neurons, sweeps = self.d.wave_neurons, self.d.wave_sweeps
        n = len(neurons)
        heading = L.title(f"{n} hidden neurons, {d.at_x(0)}, {d.y_name} = 0 … {p - 1}", 30)
        if d.relabelled:              # a longer heading: on the left, clear of the colour bar (top right)
            heading.to_edge(LEFT, buff=0.3)
            L.fit_right(heading, 4.0)
        self.play(Write(heading), run_time=0.7)

        left_out = self.d.waves_left_out
        room = 0.28 * len(left_out)       # the note's lines under the axis, inside the frame
        ph, gap = min(0.82, (6.2 - room) / n - 0.1), 0.1
        panels, layers, names = [], [], VGroup()
        top = 2.75
        for i, (nid, s) in enumerate(zip(neurons, sweeps)):
            # narrower than the frame allows: room on the right for each fit in legible type
            pan = L.Panel(8.4, ph, (-0.5, p - 0.5), L.auto_lim(s, 0.12))
            pan.move_to([0.0, top - ph / 2 - i * (ph + gap), 0])
            panels.append(pan)
            layers.append(pan.dots(radius=0.03))
            names.add(L.label(f"neuron {nid}", 18, L.MUTED).next_to(pan, LEFT, buff=0.2))
        axis = VGroup(*[L.label(str(v), L.MIN_TEXT, L.MUTED).next_to(panels[-1].c2p(v, panels[-1].ylim[0]), DOWN, buff=0.1)
                        for v in (0, p // 2, p - 1)])
        ycap = L.label(d.y_name, 20, L.MUTED).next_to(axis[-1], RIGHT, buff=0.2)     # clear of the middle tick
        self.play(*[Create(pn) for pn in panels], FadeIn(names), FadeIn(axis), FadeIn(ycap), run_time=0.8)

        shown = ValueTracker(0.0)     # how many values of y have been fed in
        mix = ValueTracker(0.0)       # 0: white dots, 1: coloured by y
        white = np.tile(L.hex_rgb(L.TEXT), (p, 1))
        ycol = _y_colors(p)
        readout = L.LiveText(lambda: "input  " + input_text(d, max(int(np.clip(round(shown.get_value()), 0, p)) - 1, 0)),
                             [6.8, 3.0, 0], edge=RIGHT, size=24)

        def redraw(_=None):
            k = int(np.clip(round(shown.get_value()), 0, p))
            col = (1 - mix.get_value()) * white + mix.get_value() * ycol
            for pan, lay, s in zip(panels, layers, sweeps):
                lay.draw(np.arange(k), s[:k], col[:k])

        for lay in layers:
            lay.add_updater(lambda m: None)
        layers[0].add_updater(redraw)
        redraw()
        self.add(*layers, readout)
        self.play(shown.animate.set_value(3), run_time=1.2, rate_func=linear)     # the first inputs one by one
        self.play(shown.animate.set_value(p), run_time=6, rate_func=linear)
        # each neuron's fitted cosine over its dots (the video's overlay), coloured by its frequency,
        # with its fit; a poor fit is not drawn as the neuron's wave
        waves, freqs = [], VGroup()
        for pan, fit in zip(panels, self.d.wave_fits):
            k = fit["k"]
            col = freq_colour(self.d, k)
            clean = fit["r2"] >= self.d.wave_fit_threshold
            if clean:
                waves.append(L.wave_overlay(pan, fitted_cosine(fit, p), p, k, col, width=2.5))
            # two lines beside the panel, never shrunk below the smallest legible size
            tag = L.formula(f"w = {fo.freq_label(k, p)}\nR² {fit['r2']:.2f}" + ("" if clean else ", no wave"),
                            size=L.MIN_TEXT + 4, color=col if clean else L.MUTED)
            if tag.height > ph + gap:
                tag.scale_to_fit_height(ph + gap)
            freqs.add(L.fit_right(tag.next_to(pan, RIGHT, buff=0.15)))
        if left_out:
            freqs.add(L.left_out_note(left_out, size=L.MIN_TEXT).next_to(axis, DOWN, buff=0.08))
        self.play(*[FadeIn(wv) for wv in waves], FadeIn(freqs), run_time=1.2)
        self.bring_to_front(*layers)
        self.wait(1.0)
        # a short bar beside the heading (right of it), above the top panel
        bar = L.colorbar(1.8, 0.16, "0", str(p - 1), caption=f"colour: {d.y_name}").to_corner(UP + RIGHT, buff=0.2)
        gap = bar.get_bottom()[1] - (panels[0].get_top()[1] + 0.1)      # clear of the top panel
        if gap < 0:
            bar.shift(UP * -gap)
        self.play(FadeOut(readout), FadeIn(bar), mix.animate.set_value(1), run_time=1.5)
        self.wait(1.5)


class NeuronLoops(L.DataScene):
    """Neuron i (vertical) against neuron j (horizontal) for the seven wave neurons, dots coloured
    by y: loops. (On the diagonal, where a neuron meets itself, its wave over y.) Then training
    runs backwards through the checkpoints to the memorising one, each neuron on its range at that
    checkpoint with the waves' mean fit shown; the last caption says "no waves, no loops" only when
    that fit is below its threshold there (extraction/replay.py), else what the fit says."""

    def construct(self):
        p = self.d.n                  # each sweep's length
        neurons = self.d.wave_neurons
        n = len(neurons)
        ev = self.d["evolution"]
        ev_epoch = np.asarray(ev["epoch"], float)
        ev_sweeps = np.asarray(ev["wave_sweeps"], np.float32)           # [C, n, p]
        curves = self.d["curves"]
        c_epoch = np.asarray(curves["epoch"], float)
        last = len(ev_epoch) - 1
        mem = self.d.memorised_epoch
        stop = int(min(np.searchsorted(ev_epoch, mem if mem is not None else 0), last))

        heading = L.title(f"Neuron against neuron, coloured by {self.d.y_name}", 30)
        cell, gap = 0.86, 0.07
        size = n * cell + (n - 1) * gap
        grid = L.Panel(size, size, (0, n), (0, n), frame=False).move_to([-2.3, -0.35, 0])
        frames = VGroup()
        for i in range(n):
            for j in range(n):
                sq = Square(cell, stroke_color=L.GRID, stroke_width=1.2)
                sq.move_to(grid.box.get_corner(UP + LEFT) + RIGHT * (j * (cell + gap) + cell / 2)
                           + DOWN * (i * (cell + gap) + cell / 2))
                frames.add(sq)
        tops = VGroup(*[L.label(str(nid), L.MIN_TEXT, L.MUTED).next_to(frames[j], UP, buff=0.08) for j, nid in enumerate(neurons)])
        lefts = VGroup(*[L.label(str(nid), L.MIN_TEXT, L.MUTED).next_to(frames[i * n], LEFT, buff=0.08) for i, nid in enumerate(neurons)])
        layer = grid.dots(radius=0.018)
        ycol = _y_colors(p)
        frac = cell / (cell + gap)
        y_idx = np.arange(p)

        state = {"k": float(last)}

        def points(sw):
            """Grid coordinates of every dot for sweeps sw [n, p] (cell (i, j): neuron j across,
            neuron i up; the diagonal: y across, neuron i up). Each neuron's axis spans its range
            at this checkpoint: a loop forming shows while it is still small."""
            lo, hi = sw.min(1), sw.max(1)
            span = np.where(hi - lo > 1e-9, hi - lo, 1.0)
            u = (sw - lo[:, None]) / span[:, None]                     # [n, p] in 0..1
            uy = y_idx / max(p - 1, 1)
            xs, ys = [], []
            for i in range(n):
                for j in range(n):
                    a = uy if i == j else u[j]
                    b = u[i]
                    xs.append(j + (0.06 + 0.88 * a) * frac)
                    ys.append((n - 1 - i) + (1 - frac) + (0.06 + 0.88 * b) * frac)
            return np.concatenate(xs), np.concatenate(ys)

        shown = ValueTracker(0.0)
        cols_all = np.tile(ycol, (n * n, 1))

        def redraw(_=None):
            k = int(round(state["k"]))
            xs, ys = points(ev_sweeps[k].astype(float))
            m = int(np.clip(round(shown.get_value()), 0, p))
            keep = np.tile(y_idx < m, n * n)
            layer.draw(xs[keep], ys[keep], cols_all[keep])

        layer.add_updater(redraw)
        self.play(Write(heading), Create(frames), FadeIn(tops), FadeIn(lefts), run_time=1)
        yn = self.d.y_name
        bar = L.colorbar(2.6, 0.16, f"{yn} = 0", f"{yn} = {p - 1}").move_to([4.4, 2.6, 0])
        if bar.get_right()[0] > 6.9:
            bar.shift(LEFT * (bar.get_right()[0] - 6.9))
        note = L.left_out_brief(self.d.waves_left_out, size=18)
        if note is not None:          # the key frequencies no loop here shows, and why (right column)
            self.add(note.to_corner(DOWN + RIGHT, buff=0.15))
        self.add(layer)
        self.play(FadeIn(bar), shown.animate.set_value(p), run_time=4, rate_func=linear)
        self.wait(1)

        # rewind training, checkpoint by checkpoint
        k_tr = ValueTracker(float(last))
        def ck():
            k = int(round(k_tr.get_value()))
            e = int(ev_epoch[k])
            return e, int(np.clip(np.searchsorted(c_epoch, e), 0, len(c_epoch) - 1))

        x0 = bar.get_left()[0]
        fit = np.asarray(ev["wave_fit"], float).mean(1) if "wave_fit" in ev else None    # [C], at each checkpoint
        info = VGroup(L.LiveText(lambda: f"epoch {ck()[0]:,}", [x0, 1.0, 0], size=32),
                      L.LiveText(lambda: f"train {curves['train_acc'][ck()[1]]:.0%}", [x0, 0.4, 0], size=24, color=L.TRAIN),
                      L.LiveText(lambda: f"test {curves['test_acc'][ck()[1]]:.0%}", [x0, -0.05, 0], size=24, color=L.TEST),
                      L.LiveText(lambda: f"wave fit R² {fit[int(round(k_tr.get_value()))]:.2f}" if fit is not None else "",
                                 [x0, -0.5, 0], size=20, color=L.MUTED))
        cap = L.label("training, rewound\n(each neuron scaled to its\nrange at that checkpoint)", 18,
                      L.MUTED).next_to(info, UP, buff=0.3).align_to(info, LEFT)
        self.add(info)

        def follow(_=None):
            state["k"] = k_tr.get_value()
        layer.add_updater(follow, index=0)
        self.play(FadeIn(cap), run_time=0.5)
        self.play(k_tr.animate.set_value(float(stop)), run_time=8, rate_func=lambda t: t ** 0.6)
        e_stop = int(ev_epoch[stop])
        # what the rewind ends on is what the fit measured there says (extraction/replay.py)
        claim = self.d.a.replay.claim("no loops")
        said = rpl.caption(claim).replace(" (", "\n(", 1) if claim and claim.get("epoch") == e_stop else \
            f"wave fit R² {fit[stop]:.2f}" if fit is not None else ""
        if mem is None or e_stop == mem:
            txt = f"the memorising checkpoint\n(train 100 % at epoch {L.fmt_epoch(mem)}):\n{said}"
        else:
            # the counter above shows the checkpoint's own epoch: say which one it is
            txt = (f"epoch {e_stop:,}: the first\ncheckpoint after memorising\n"
                   f"(train 100 % at epoch {L.fmt_epoch(mem)}):\n{said}")
        note = L.label(txt, 20, L.TRAIN)
        note.next_to(info, DOWN, buff=0.5).align_to(info, LEFT)
        L.fit_right(note)
        self.play(FadeIn(note), run_time=0.6)
        self.wait(1.5)


class FourierPeak(L.DataScene):
    """A wave neuron's sweep and its DFT: the peak at the neuron's frequency w = 2πk/n, labelled;
    the fitted cosine drawn over the dots. Then a wave neuron of another frequency, if any."""

    def construct(self):
        neurons, sweeps = self.d.wave_neurons, self.d.wave_sweeps
        fits = [fo.dominant_frequency(s) for s in sweeps]
        first = 0
        other = next((i for i, f in enumerate(fits) if f["k"] != fits[first]["k"]), min(2, len(neurons) - 1))
        heading = L.title("Which frequency is each wave?  The discrete Fourier transform", 30)
        self.play(Write(heading), run_time=0.7)
        note = L.left_out_brief(self.d.waves_left_out, size=L.MIN_TEXT, one_line_within=13.6)
        if note is not None:          # the key frequencies no wave here shows, and why (top right, one
            # line where it fits: a second would reach the first neuron's name)
            self.add(note.next_to(heading, DOWN, buff=0.04).to_edge(RIGHT, buff=0.2))
        for row, i in enumerate(dict.fromkeys([first, other])):
            self._one(neurons[i], sweeps[i], fits[i], y0=1.55 - row * 3.4)
        self.wait(1.5)

    def _one(self, nid, s, fit, y0):
        d = self.d
        p = d.n                       # the sweep's length, the frequencies' modulus
        ys = np.arange(p)
        left = L.Panel(6.0, 2.25, (-0.5, p - 0.5), L.auto_lim(s, 0.15)).move_to([-3.5, y0 - 0.2, 0])
        name = L.label(f"neuron {nid}, {d.at_x(0)}, {d.y_name} swept", 20, L.MUTED).next_to(left, UP, buff=0.1).align_to(left, LEFT)
        dots = left.dots(radius=0.035).draw(ys, s, _y_colors(p))
        mags = fo.dft_magnitudes(s)
        K = len(mags) - 1
        right = L.Panel(5.8, 2.25, (-0.7, K + 0.7), (0, mags.max() * 1.18), frame=False).move_to([3.45, y0 - 0.2, 0])
        base = Line(right.c2p(-0.7, 0), right.c2p(K + 0.7, 0), stroke_color=L.MUTED, stroke_width=1.5)
        k = fit["k"]
        col = freq_colour(self.d, k)
        stems = VGroup(*[Line(right.c2p(j, 0), right.c2p(j, m), stroke_color=col if j == k else L.MUTED,
                              stroke_width=4 if j == k else 2) for j, m in enumerate(mags)])
        ticks = VGroup(*[L.label(str(j), L.MIN_TEXT, L.MUTED).next_to(right.c2p(j, 0), DOWN, buff=0.08)
                         for j in range(0, K + 1, max(1, K // 5))])
        rcap = L.label(f"|DFT| at frequency w = 2πk/{p if d.n != d.p else 'p'}, by k", 18, L.MUTED).next_to(ticks, DOWN, buff=0.1)
        peak = L.formula(f"w = {fo.freq_label(k, p)}", size=26, color=col)
        peak.next_to(right.c2p(k, mags[k]), RIGHT if k < K * 0.6 else LEFT, buff=0.15)
        self.play(Create(left), FadeIn(name), FadeIn(dots), run_time=0.8)
        self.play(Create(base), FadeIn(ticks), FadeIn(rcap),
                  *[Create(st) for st in stems], run_time=1.2)
        self.play(FadeIn(peak), stems[k].animate.set_stroke(width=6), run_time=0.7)
        wave = L.wave_overlay(left, fitted_cosine(fit, p), p, k, col, width=2.5)
        sign = "+" if fit["phase"] >= 0 else "−"
        body = data.wave_text("cos", k, p, d.y_name)[4:-1]          # '8πy/113', '13π(log₃ y)/56'
        eq = L.formula(f"{fit['mean']:.2f} + {fit['amp']:.2f}·cos({body} {sign} {abs(fit['phase']):.2f})",
                       size=20, color=col)
        eq.next_to(left, DOWN, buff=0.12).align_to(left, LEFT)
        fve = L.label(f"(R² {fit['fve']:.2f}: explains {fit['fve']:.0%} of the variance)", 18,
                      L.MUTED).next_to(name, RIGHT, buff=0.3)
        if d.relabelled:              # a longer name: the fit's share under the fitted cosine instead
            fve.next_to(eq, DOWN, buff=0.06).align_to(left, LEFT)
        if fit["fve"] < self.d.wave_fit_threshold:      # a poor fit is not drawn as the neuron's wave
            wave = VGroup()
        self.play(FadeIn(wave), FadeIn(eq), FadeIn(fve), run_time=1.2)
        self.bring_to_front(dots)                 # the dots over the wave: the alignment shows
