"""Part 1, the task (2:39-6:50): the modular addition table and the one-hot view of a problem.

Reads toy.npz (the p = 5 table: x, y, sum, is_test, vocab) and summary.json (p).
"""
from __future__ import annotations

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, AnimationGroup, Arrow, Create, FadeIn, FadeOut, Indicate,
                   LaggedStart, Line, Rectangle, ReplacementTransform, RoundedRectangle, Square, VGroup, Write)

from grokking.scenes import look as L


def _toy(d):
    t = d["toy"]
    x, y, s = (np.asarray(t[k]).astype(int) for k in ("x", "y", "sum"))
    vocab = [str(v) for v in np.asarray(t["vocab"]).ravel()]
    m = len(vocab) - 1                      # the modulus of the toy table: its digits
    return x, y, s, np.asarray(t["is_test"]).astype(bool), vocab, m


def _problem(task, a: int, b: int, eq: str) -> tuple[str, str, str, str]:
    """The four tokens of the problem as shown, in the run's operation: ("1", "·", "2", "=")."""
    if task.get("op", "add") == "pow":
        ea, eb = L.task_expr(task, "", "").split(" + ")
        return f"{a}{ea}", "+", f"{b}{eb}", eq
    return str(a), L.OP_SYMBOL.get(task.get("op", "add"), "+"), str(b), eq


def _answer(task, a: int, b: int, p: int) -> int:
    """The run's operation on (a, b) mod p, as training labels it."""
    from grokking.training.tasks import answers
    return int(answers(task.get("op", "add"), np.array([a]), np.array([b]), p,
                       int(task.get("a", 1) or 1), int(task.get("b", 1) or 1))[0])


class ModularTable(L.DataScene):
    """x as columns, y as rows; each cell x + y, wrapping at the modulus; a test set set aside."""

    def construct(self):
        x, y, s, is_test, vocab, m = _toy(self.d)
        cell = 0.78
        heading = L.label(f"x + y  (mod {m})", 36).to_edge(UP, buff=0.3)
        task = self.d.summary["task"]
        if task.get("op", "add") != "add":        # the toy is addition: say what this run learns
            heading = VGroup(heading, L.label(f"modular arithmetic, shown with addition; this run learns "
                                              f"{L.task_name(task, self.d.p)}", 20, L.MUTED)
                             ).arrange(DOWN, buff=0.1).to_edge(UP, buff=0.2)
        self.play(Write(heading), run_time=0.8)

        origin = np.array([-5.6, 2.0, 0])          # the '+' corner
        def at(col, row):                           # col: x (0..m-1), row: y (0..m-1)
            return origin + RIGHT * cell * (col + 1) + DOWN * cell * (row + 1)
        corner = L.label("+", 30, L.MUTED).move_to(origin)
        xs = VGroup(*[L.label(str(c), 28, L.ACCENT).move_to(origin + RIGHT * cell * (c + 1)) for c in range(m)])
        ys = VGroup(*[L.label(str(r), 28, L.ACCENT).move_to(origin + DOWN * cell * (r + 1)) for r in range(m)])
        xcap = L.label("x", 24, L.MUTED).next_to(xs, UP, buff=0.15)
        ycap = L.label("y", 24, L.MUTED).next_to(ys, LEFT, buff=0.2)
        self.play(FadeIn(corner), LaggedStart(*[FadeIn(t) for t in xs], lag_ratio=0.1),
                  LaggedStart(*[FadeIn(t) for t in ys], lag_ratio=0.1), FadeIn(xcap), FadeIn(ycap),
                  run_time=1)

        boxes, raw, final = {}, {}, {}
        for i in range(len(x)):
            c, r = int(x[i]), int(y[i])
            boxes[i] = Square(cell * 0.94, stroke_color=L.GRID, stroke_width=1.5).move_to(at(c, r))
            raw[i] = L.label(str(c + r), 26).move_to(at(c, r))
            final[i] = L.label(str(int(s[i])), 26, L.ACCENT if c + r >= m else L.TEXT).move_to(at(c, r))
        order = sorted(range(len(x)), key=lambda i: (y[i], x[i]))        # row by row
        self.play(LaggedStart(*[AnimationGroup(Create(boxes[i]), FadeIn(raw[i])) for i in order],
                              lag_ratio=0.12), run_time=3)

        # wrapping at the modulus, with the first two wrapped cells of the table as examples
        wrap = [i for i in order if x[i] + y[i] >= m]
        notes = VGroup()
        for i in wrap[:2]:
            notes.add(L.formula(f"{x[i]} + {y[i]} = {x[i] + y[i]},   {x[i] + y[i]} mod {m} = {s[i]}", size=26))
        notes.arrange(DOWN, aligned_edge=LEFT, buff=0.3).move_to([3.4, 1.2, 0])
        rule = L.label(f"at {m} and above: divide by {m}, keep the remainder", 22, L.MUTED)
        rule.next_to(notes, UP, buff=0.4)
        if rule.get_right()[0] > 6.8:                # clear of the frame's right edge
            rule.shift(LEFT * (rule.get_right()[0] - 6.8))
        self.play(FadeIn(rule), run_time=0.6)
        for n, i in enumerate(wrap[:2]):
            self.play(boxes[i].animate.set_stroke(L.ACCENT, 3), FadeIn(notes[n]), run_time=0.6)
        self.play(*[ReplacementTransform(raw[i], final[i]) for i in wrap],
                  *[boxes[i].animate.set_stroke(L.GRID, 1.5) for i in wrap[:2]], run_time=1.2)
        for i in range(len(x)):
            if x[i] + y[i] < m:
                self.remove(raw[i])
                self.add(final[i])
        answers = L.label("answers: " + " ".join(vocab[:m]), 24, L.MUTED).next_to(notes, DOWN, buff=0.4)
        self.play(FadeIn(answers), run_time=0.5)
        self.wait(0.5)

        # the split: test cells set aside, the rest is what the model trains on
        test = [i for i in order if is_test[i]]
        train = [i for i in order if not is_test[i]]
        self.play(FadeOut(VGroup(notes, rule, answers)), run_time=0.4)
        self.play(*[boxes[i].animate.set_fill(L.TRAIN, 0.35).set_stroke(L.TRAIN, 2) for i in train],
                  *[boxes[i].animate.set_fill(L.TEST, 0.35).set_stroke(L.TEST, 2) for i in test],
                  run_time=0.8)
        cols = 2
        dest = VGroup()
        for n, i in enumerate(test):
            dest.add(L.formula(f"{x[i]} + {y[i]} = {s[i]}", size=26).move_to(
                [2.2 + 2.6 * (n % cols), 1.4 - 0.62 * (n // cols), 0]))
        tcap = L.label(f"test set: {len(test)} pairs, never trained on", 24, L.TEST).move_to([3.5, 2.3, 0])
        trcap = L.label(f"train set: {len(train)} pairs", 24, L.TRAIN).next_to(VGroup(*boxes.values()), DOWN, buff=0.3)
        self.play(FadeIn(tcap), FadeIn(trcap), run_time=0.5)
        self.play(LaggedStart(*[ReplacementTransform(final[i].copy(), dest[n]) for n, i in enumerate(test)],
                              lag_ratio=0.1),
                  *[final[i].animate.set_opacity(0.25) for i in test],
                  *[boxes[i].animate.set_fill(opacity=0.08).set_stroke(opacity=0.5) for i in test], run_time=1.8)
        self.wait(1)


class OneHot(L.DataScene):
    """'1 + 2 =' as the model sees it: three one-hot columns in, one column out; then at p."""

    def construct(self):
        x, y, s, _, vocab, m = _toy(self.d)
        a, b = 1, 2
        task = self.d.summary["task"]
        ans = _answer(task, a, b, m)
        n = len(vocab)
        cell = 0.55

        problem = VGroup(*[L.label(t, 40) for t in _problem(task, a, b, vocab[-1])]).arrange(RIGHT, buff=0.3)
        problem.to_edge(UP, buff=0.35)
        self.play(Write(problem), run_time=0.8)

        def column(on: int | None, color: str):
            sq = VGroup(*[Square(cell, stroke_color=L.GRID, stroke_width=1.5) for _ in range(n)])
            sq.arrange(DOWN, buff=0.06)
            bits = VGroup()
            for r in range(n):
                bits.add(L.label("1" if r == on else "0", 20, L.BG if r == on else L.MUTED).move_to(sq[r]))
                if r == on:
                    sq[r].set_fill(color, 1).set_stroke(color)
            return VGroup(sq, bits)

        tokens = [a, b, n - 1]
        cols = VGroup(*[column(None, L.ACCENT) for _ in range(3)]).arrange(RIGHT, buff=0.35)
        cols.move_to([-3.8, -0.4, 0])
        rows = VGroup(*[L.label(v, 22, L.MUTED).next_to(cols[0][0][r], LEFT, buff=0.25) for r, v in enumerate(vocab)])
        heads = VGroup(*[L.label(t, 28, L.ACCENT).next_to(cols[i], UP, buff=0.2)
                         for i, t in enumerate([str(a), str(b), vocab[-1]])])
        cap_in = L.label(f"{n} inputs, one per token", 22, L.MUTED).next_to(cols, DOWN, buff=0.3)
        self.play(FadeIn(cols), FadeIn(rows), FadeIn(cap_in), run_time=0.8)
        for i, t in enumerate(tokens):
            lit = column(t, L.ACCENT).move_to(cols[i])
            self.play(ReplacementTransform(problem[[0, 2, 3][i]].copy(), heads[i]),
                      ReplacementTransform(cols[i], lit), run_time=0.7)
            cols.submobjects[i] = lit

        model = RoundedRectangle(corner_radius=0.2, width=2.2, height=1.4, stroke_color=L.TEXT)
        model.move_to([0.6, -0.4, 0])
        mlabel = L.label("model", 26).move_to(model)
        out = column(ans % n, L.TEST).move_to([4.6, -0.4, 0])
        out_rows = VGroup(*[L.label(v, 22, L.MUTED).next_to(out[0][r], LEFT, buff=0.2) for r, v in enumerate(vocab)])
        out_head = L.label(f"answer {ans}", 26, L.TEST).next_to(out, UP, buff=0.2)
        arr1 = Arrow(cols.get_right(), model.get_left(), buff=0.15, color=L.MUTED)
        arr2 = Arrow(model.get_right(), out_rows.get_left(), buff=0.15, color=L.MUTED)
        self.play(Create(model), FadeIn(mlabel), Create(arr1), run_time=0.7)
        self.play(Create(arr2), FadeIn(out), FadeIn(out_rows), FadeIn(out_head), run_time=0.8)
        summary = L.label(f"{n} × 3 = {3 * n} values in  →  {n} values out (last column)", 24, L.MUTED)
        summary.to_edge(DOWN, buff=0.3)
        self.play(FadeIn(summary), FadeOut(cap_in), run_time=0.5)
        self.play(Indicate(summary, color=L.TEXT, scale_factor=1.06), run_time=0.9)    # the point, held

        # the same picture at the run's modulus
        p = self.d.p
        N = p + 1
        self.play(*[FadeOut(mob) for mob in self.mobjects], run_time=0.6)
        probP = VGroup(*[L.label(t, 40) for t in _problem(task, a, b, "=")]).arrange(RIGHT, buff=0.3)
        ansP = _answer(task, a, b, p)
        probP.to_edge(UP, buff=0.35)
        big_in = np.zeros((N, 5, 3), np.uint8)
        big_in[:] = L.hex_rgb(L.GRID).astype(np.uint8) // 2
        big_in[:, [1, 3]] = L.hex_rgb(L.BG).astype(np.uint8)
        for c, t in zip((0, 2, 4), (a, b, p)):
            big_in[t, c] = L.hex_rgb(L.ACCENT).astype(np.uint8)
        H = 5.6
        img_in = L.image(big_in, width=1.6, height=H).move_to([-2.5, -0.7, 0])
        big_out = np.zeros((N, 1, 3), np.uint8)
        big_out[:] = L.hex_rgb(L.GRID).astype(np.uint8) // 2
        big_out[ansP, 0] = L.hex_rgb(L.TEST).astype(np.uint8)
        img_out = L.image(big_out, width=0.45, height=H).move_to([4.0, -0.7, 0])

        def row_y(r):
            return img_in.get_top()[1] - (r + 0.5) * H / N

        # at p rows a cell is a few pixels tall: the rows that matter (0 to 3, where 1 and 2 are
        # lit, and the last ones, where '=' is) are drawn again, large, beside the picture, each
        # row named and joined to the rows it magnifies
        z = 0.34
        x_img = img_in.get_left()[0]

        def zoom(rows_shown, top_y):
            g, names = VGroup(), VGroup()
            for i, r in enumerate(rows_shown):
                y = top_y - (i + 0.5) * z
                for c in (0, 2, 4):
                    sq = Square(z * 0.92, stroke_width=1, stroke_color=L.GRID)
                    sq.move_to([x_img - 2.45 + (c + 0.5) * z, y, 0])
                    on = bool((big_in[r, c] == L.hex_rgb(L.ACCENT).astype(np.uint8)).all())
                    sq.set_fill(L.ACCENT if on else L.GRID, 1 if on else 0.35)
                    g.add(sq)
                names.add(L.label("=" if r == p else str(r), L.MIN_TEXT + 2, L.ACCENT if r in (a, b, p) else L.MUTED)
                          .move_to([x_img - 2.6, y, 0], aligned_edge=RIGHT))
            box = Rectangle(width=img_in.width, height=len(rows_shown) * H / N, stroke_color=L.TEXT, stroke_width=1.5)
            box.move_to([img_in.get_center()[0], row_y(rows_shown[0]) + H / N / 2 - box.height / 2, 0])
            joins = VGroup(*[Line([g.get_right()[0] + 0.05, yy, 0], [x_img, yb, 0], stroke_color=L.MUTED,
                                  stroke_width=1.2)
                             for yy, yb in ((g.get_top()[1], box.get_top()[1]), (g.get_bottom()[1], box.get_bottom()[1]))])
            return VGroup(g, names, box, joins)

        top_rows = [r for r in range(4) if r < p]
        ticks = VGroup(zoom(top_rows, img_in.get_top()[1]),
                       zoom([p - 2, p - 1, p], img_in.get_bottom()[1] + 3 * z))
        ticks.add(L.label("⋮", L.MIN_TEXT + 6, L.MUTED).move_to(
            [(ticks[0][0].get_center()[0]), (ticks[0].get_bottom()[1] + ticks[1].get_top()[1]) / 2, 0]))
        col_w = 1.6 / 5
        ons = VGroup(*[L.label(t, 24, L.ACCENT).move_to([img_in.get_left()[0] + col_w * (c + 0.5), img_in.get_top()[1] + 0.25, 0])
                       for c, t in ((0, str(a)), (2, str(b)), (4, "="))])
        dims = L.label(f"{N} × 3", 30, L.ACCENT).next_to(ons, UP, buff=0.25)
        cap = L.label(f"p = {p}: {p} digits + '='", 22, L.MUTED).next_to(img_in, RIGHT, buff=0.3).shift(UP * 2)
        model2 = RoundedRectangle(corner_radius=0.2, width=2.0, height=1.3, stroke_color=L.TEXT).move_to([1.0, -0.7, 0])
        ml2 = L.label("model", 24).move_to(model2)
        ar1 = Arrow(img_in.get_right(), model2.get_left(), buff=0.2, color=L.MUTED)
        ar2 = Arrow(model2.get_right(), img_out.get_left(), buff=0.2, color=L.MUTED)
        ans_lab = L.label(f"{ansP}", L.MIN_TEXT + 2, L.TEST).next_to(img_out, RIGHT, buff=0.15)
        ans_lab.set_y(row_y(ansP))
        odims = L.label(f"{N}", 26, L.TEST).next_to(img_out, UP, buff=0.15)
        self.play(Write(probP), FadeIn(img_in), FadeIn(ticks), FadeIn(ons), FadeIn(dims), FadeIn(cap), run_time=1)
        self.play(Create(model2), FadeIn(ml2), Create(ar1), Create(ar2), FadeIn(img_out), FadeIn(ans_lab),
                  FadeIn(odims), run_time=1)
        self.wait(1.5)
