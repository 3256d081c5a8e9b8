"""Part 1, grokking (7:17-11:05): train and test accuracy over training, memorisation early,
a long flat test curve, then the sudden jump. Every epoch on screen is this run's
(summary.json milestones; curves.npz all_* per epoch)."""
from __future__ import annotations

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, DashedLine, FadeIn, Line, Rectangle, ValueTracker,
                   VGroup, Write, always_redraw, linear)

from grokking.scenes import look as L


class GrokkingCurve(L.DataScene):
    """Accuracy against epoch (log axis: the memorisation at a few hundred epochs and the jump at
    thousands both stay visible), drawn as training runs, with the two milestones labelled."""

    def construct(self):
        c = self.d["curves"]
        ep = np.asarray(c["all_epoch"], float)
        tr, te = np.asarray(c["all_train_acc"], float), np.asarray(c["all_test_acc"], float)
        E = int(ep[-1])
        mem, grok = self.d.memorised_epoch, self.d.grokked_epoch
        lx = np.log10(ep + 1)
        # a few hundred samples, log-spaced, plus every milestone epoch exactly
        idx = np.unique(np.r_[0, np.round(np.geomspace(1, E + 1, 700)).astype(int) - 1,
                              [e for e in (mem, grok) if e is not None]]).astype(int)
        idx = idx[(idx >= 0) & (idx <= E)]

        task = self.d.summary['task']
        heading = L.title(f"Training on {task.get('frac', 0.3):.0%} of the pairs "
                          f"{L.task_name(task, self.d.p)}", 30)
        panel = L.Panel(10.6, 4.8, (0, lx[-1]), (0, 1.0), frame=False).move_to([0.4, -0.45, 0])
        axes = VGroup(Line(panel.c2p(0, 0), panel.c2p(lx[-1], 0), stroke_color=L.MUTED, stroke_width=2),
                      Line(panel.c2p(0, 0), panel.c2p(0, 1), stroke_color=L.MUTED, stroke_width=2))
        ticks = VGroup()
        for e in [10 ** i for i in range(0, 8) if 10 ** i <= E]:
            x = np.log10(e + 1)
            ticks.add(Line(panel.c2p(x, 0), panel.c2p(x, 0) + DOWN * 0.1, stroke_color=L.MUTED))
            ticks.add(L.label(f"{e:,}", 18, L.MUTED).next_to(panel.c2p(x, 0), DOWN, buff=0.15))
        for a in (0, 0.5, 1):
            ticks.add(L.label(f"{a:.0%}", 18, L.MUTED).next_to(panel.c2p(0, a), LEFT, buff=0.15))
            if a:
                ticks.add(DashedLine(panel.c2p(0, a), panel.c2p(lx[-1], a), stroke_color=L.GRID, stroke_width=1))
        xcap = L.label("epoch (log scale)", 20, L.MUTED).next_to(axes, DOWN, buff=0.55)
        ycap = L.label("accuracy", 20, L.MUTED).rotate(np.pi / 2).next_to(axes, LEFT, buff=0.8)
        legend = VGroup(*[VGroup(Line(ORIGIN_, RIGHT * 0.4, stroke_color=col, stroke_width=5),
                                 L.label(name, 22, col)).arrange(RIGHT, buff=0.15)
                          for name, col in (("train", L.TRAIN), ("test", L.TEST))]).arrange(RIGHT, buff=0.5)
        legend.next_to(panel.box, UP, buff=0.05).align_to(panel.box, LEFT).shift(RIGHT * 0.3)
        self.play(Write(heading), FadeIn(axes), FadeIn(ticks), FadeIn(xcap), FadeIn(ycap), FadeIn(legend),
                  run_time=1)

        t = ValueTracker(0.0)        # log10(epoch + 1) drawn so far

        def upto():
            return idx[lx[idx] <= t.get_value() + 1e-12]

        train_curve = always_redraw(lambda: panel.curve(lx[upto()], tr[upto()], L.TRAIN, 4))
        test_curve = always_redraw(lambda: panel.curve(lx[upto()], te[upto()], L.TEST, 4))
        counter = L.LiveText(lambda: f"epoch {int(round(10 ** t.get_value() - 1)):,}",
                             [6.7, 2.9, 0], edge=RIGHT, size=26)
        self.add(train_curve, test_curve, counter)

        # where the curves end up: tags are placed clear of them
        full = [panel.curve(lx[idx], tr[idx]), panel.curve(lx[idx], te[idx])]

        def mark(e, color, text, at=0.62):
            """The milestone's line and its tag beside it, right of the line or left of it, at
            the height nearest `at` where neither curve passes (a slowly climbing test curve
            leaves no clear height on one side); failing both, above the panel."""
            x = np.log10(e + 1)
            ln = DashedLine(panel.c2p(x, 0), panel.c2p(x, 1.0), stroke_color=color, stroke_width=2)
            tag = L.label(text, 20, color)
            y_lo, y_hi, prefer = panel.c2p(0, 0.02)[1], panel.c2p(0, 0.98)[1], panel.c2p(0, at)[1]
            best = None
            for side in (RIGHT, LEFT):
                tag.next_to(panel.c2p(x, at), side, buff=0.12)
                if tag.get_left()[0] < panel.box.get_left()[0] or tag.get_right()[0] > 6.9:
                    continue
                yc = L.clear_y(tag.get_left()[0], tag.get_right()[0], tag.height, full, y_lo, y_hi, prefer, strict=True)
                if yc is not None and (best is None or abs(yc - prefer) < abs(best[1] - prefer)):
                    best = (side, yc)
            if best:
                tag.next_to(panel.c2p(x, at), best[0], buff=0.12).set_y(best[1])
            else:                     # no clear height beside the line: above the panel, ending at it
                tag.next_to(panel.c2p(x, 1.0), UP, buff=0.08)
                tag.shift(RIGHT * (panel.c2p(x, 0)[0] + 0.1 - tag.get_right()[0]))
            return VGroup(ln, tag)

        if mem is not None:
            self.play(t.animate.set_value(np.log10(mem + 1)), run_time=3, rate_func=linear)
            self.play(FadeIn(mark(mem, L.TRAIN, f"train 100 %\nat epoch {L.fmt_epoch(mem)}\n(memorised)")),
                      run_time=0.7)
        if grok is not None:
            self.play(t.animate.set_value(np.log10(grok + 1)), run_time=5, rate_func=linear)
            grok_mark = mark(grok, L.TEST, f"test ≥ 99 % at epoch {L.fmt_epoch(grok)}\n(generalised)", 0.36)
            self.play(FadeIn(grok_mark), run_time=0.7)
            if mem is not None:
                x0, x1 = np.log10(mem + 1), np.log10(grok + 1)
                band = Rectangle(width=panel.c2p(x1, 0)[0] - panel.c2p(x0, 0)[0], height=panel.h,
                                 stroke_width=0).set_fill(L.TEST, 0.08)
                band.move_to((panel.c2p(x0, 0) + panel.c2p(x1, 1)) / 2)
                # inside the band, under the 100 % line (clear of both curves), on as many lines
                # as it needs at the smallest legible size; a band too narrow even then: the
                # note above the panel, over the band
                gap = None
                for text in (f"{grok - mem:,} epochs\nfrom memorising to generalising",
                             f"{grok - mem:,} epochs\nfrom memorising\nto generalising"):
                    gap = L.label(text, L.MIN_TEXT + 2, L.MUTED)
                    if gap.width <= band.width - 0.3:
                        gap.move_to(panel.c2p(x0, 0.95) + RIGHT * 0.15 + DOWN * 0.12, aligned_edge=UP + LEFT)
                        break
                else:
                    gap = L.label(f"{grok - mem:,} epochs from memorising to generalising", L.MIN_TEXT + 2, L.MUTED)
                    gap.next_to(band, UP, buff=0.1).set_x(band.get_x())
                    gap.shift(RIGHT * min(0, 6.9 - gap.get_right()[0]))
                    if L.boxes_overlap(gap, grok_mark[1]):         # the test tag above the panel too: over it
                        gap.shift(UP * (grok_mark[1].get_top()[1] + 0.08 - gap.get_bottom()[1]))
                        # and left of the epoch counter at its widest (the last epoch)
                        x_counter = 6.7 - L.label(f"epoch {E:,}", 26).width
                        gap.shift(LEFT * max(0.0, gap.get_right()[0] - x_counter + 0.25))
                self.play(FadeIn(band), FadeIn(gap), run_time=0.8)
        else:
            self.play(FadeIn(L.label("test accuracy never reached 99 % in this run", 22, L.TEST)
                             .next_to(panel.box, UP, buff=0.1).align_to(panel.box, RIGHT)), run_time=0.5)
        self.play(t.animate.set_value(lx[-1]), run_time=2, rate_func=linear)
        self.wait(1.5)


ORIGIN_ = np.zeros(3)
