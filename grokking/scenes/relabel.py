"""Beyond the video, the multiplication clock: for a prime p the table (x · y) mod p over
x, y = 1 … p − 1 looks like noise in natural order; sort its rows by i = log_g x and its columns by
j = log_g y (g a generator: x = g^i, y = g^j) and it is the addition table mod p − 1, cell (i, j)
holding g^((i + j) mod (p − 1)): diagonal bands, the clock again with p − 1 hours. The zero row and
column (answer 0) are outside the group and are set aside. A div run's x / y = g^(i − j) is shown
the same way, its columns sorted by j = −log_g y mod (p − 1).

Reads summary.json only: p and the task; for a mul or div run its "additive" entry (the generator,
the axes' names) and its key frequencies, which are over Z_(p − 1) there. The tables are the
arithmetic of the run's p (extraction/coords.py's discrete log, numpy only); a run of another op
gets the multiplication table at its p, and says so."""
from __future__ import annotations

import numpy as np
from manim import (DOWN, LEFT, PI, RIGHT, UP, Dot, FadeIn, FadeOut, LaggedStart, Line,
                   ReplacementTransform, Square, Transform, ValueTracker, VGroup, Write, smooth)

from grokking.extraction.coords import coordinates, discrete_log, generator, powers_of, sub
from grokking.scenes import look as L

TOY_P = 7                     # the small table with numbers in its cells (pure arithmetic, not the run's)
ZERO_TEXT = {"mul": "0 · y = 0: outside the group", "div": "0 / y = 0, x / 0 undefined: outside the group"}
SUPERSCRIPT = str.maketrans("0123456789−-+ij", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻⁺ⁱʲ")


# ---- the arithmetic (numpy only; tests/unit/test_relabel.py) ----------------------------------------

def group_op(op: str) -> str:
    """The table a run of op is shown: its own for mul and div, else multiplication."""
    return "div" if op == "div" else "mul"


def table(op: str, p: int) -> np.ndarray:
    """[p − 1, p − 1]: the answer of x · y (op div: x / y) mod p, row x, column y, x, y = 1 … p − 1
    in natural order."""
    x = np.arange(1, p, dtype=np.int64)[:, None]
    y = np.arange(1, p, dtype=np.int64)[None, :]
    if group_op(op) == "div":
        y = np.array([pow(int(v), p - 2, p) for v in range(1, p)], np.int64)[None, :]    # y⁻¹ = y^(p − 2)
    return (x * y) % p


def log_order(op: str, p: int, g: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The tokens of the rows and of the columns in log order: row i holds x = g^i; column j holds
    y = g^j (op div: y = g^(−j), so that x / y = g^(i + j))."""
    g = generator(p) if g is None else g
    pw = powers_of(g, p)
    n = p - 1
    return pw, (pw[(-np.arange(n)) % n] if group_op(op) == "div" else pw)


def table_in_log_order(op: str, p: int, g: int | None = None) -> np.ndarray:
    """The table with its rows and columns re-sorted by log_order: cell (i, j) is g^((i + j) mod (p − 1))."""
    rows, cols = log_order(op, p, g)
    return table(op, p)[np.ix_(rows - 1, cols - 1)]


def answer_logs(T: np.ndarray, p: int, g: int | None = None) -> np.ndarray:
    """log_g of every cell of a table of nonzero answers."""
    return discrete_log(p, g)[np.asarray(T)]


def slide(order: np.ndarray, t: float) -> np.ndarray:
    """[n]: where natural row k (token k + 1) is drawn at time t of the re-sort to `order` (the
    tokens in their new order): k at t = 0, its new position at t = 1."""
    dest = np.empty(len(order), float)
    dest[np.asarray(order) - 1] = np.arange(len(order))
    return (1 - t) * np.arange(len(order)) + t * dest


def frame(colors: np.ndarray, row_pos: np.ndarray, col_pos: np.ndarray, s: int, bg) -> np.ndarray:
    """RGB [n·s, n·s, 3]: the n × n cells `colors` [n, n, 3] (natural order) with natural row k
    drawn at row position row_pos[k] and column c at col_pos[c], s pixels a cell; uncovered pixels
    are bg. At integer positions it is the permuted table, each cell s × s pixels."""
    colors = np.asarray(colors, np.uint8)
    n = colors.shape[0]
    N = n * s
    rows = np.empty((N, n, 3), np.uint8)
    rows[:] = np.asarray(bg, np.uint8)
    for k in range(n):
        y0 = int(np.clip(round(row_pos[k] * s), 0, N - s))
        rows[y0:y0 + s] = colors[k]
    out = np.empty((N, N, 3), np.uint8)
    out[:] = np.asarray(bg, np.uint8)
    for c in range(n):
        x0 = int(np.clip(round(col_pos[c] * s), 0, N - s))
        out[:, x0:x0 + s] = rows[:, c][:, None, :]
    return out


def wrap_example(op: str, p: int, g: int | None = None) -> tuple[int, int, int, int] | None:
    """(x, y, i, j): the pair of distinct x, y ≥ 2 with the smallest x + y (then x) whose logs
    i = log_g x and j (log_g y; op div: −log_g y mod (p − 1)) add past p − 1 to a nonzero hour, so
    the clock's hand passes 0; None when there is none (p < 7)."""
    n = p - 1
    lg = discrete_log(p, g)
    x, y = np.meshgrid(np.arange(2, p), np.arange(2, p), indexing="ij")
    i = lg[x]
    j = (-lg[y]) % n if group_op(op) == "div" else lg[y]
    ok = (i + j > n) & (x != y)
    if not ok.any():
        return None
    key = np.where(ok, (x + y) * p + x, np.iinfo(np.int64).max)
    a = np.unravel_index(int(key.argmin()), key.shape)
    return int(x[a]), int(y[a]), int(i[a]), int(j[a])


def log_colors(logs: np.ndarray, n: int) -> np.ndarray:
    """RGB [..., 3]: a log (0 … n − 1) on the cyclic colour map, so n − 1 sits beside 0."""
    return L.cmap(np.asarray(logs, float), L.CYC_CMAP, 0, n)


def ring_image(n: int, px: int = 360, inner: float = 0.68) -> np.ndarray:
    """RGBA [px, px, 4]: a ring of n hours, hour h (clockwise from the top) in log h's colour,
    transparent outside the ring."""
    c = (np.arange(px) + 0.5) / px * 2 - 1
    X, Y = np.meshgrid(c, -c)
    r = np.hypot(X, Y)
    hour = np.floor((np.arctan2(X, Y) % (2 * np.pi)) / (2 * np.pi) * n).astype(int) % n
    rgba = np.zeros((px, px, 4), np.uint8)
    rgba[..., :3] = log_colors(hour, n)
    rgba[..., 3] = np.where((r <= 1) & (r >= inner), 255, 0)
    return rgba


def _ink(rgb) -> str:
    """Text colour readable on a cell of colour rgb."""
    r, g, b = (float(v) / 255 for v in rgb)
    return L.BG if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else L.TEXT


def _sup(s) -> str:
    return str(s).translate(SUPERSCRIPT)


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in rgb)


# ---- the scene ---------------------------------------------------------------------------------------

class Relabel(L.DataScene):

    def construct(self):
        d = self.d
        p = d.p
        task = d.summary["task"]
        run_op = task.get("op", "add")
        op = group_op(run_op)
        own = run_op in ("mul", "div")
        add = (d.summary.get("additive") or {}) if own else {}
        g = int(add.get("generator") or generator(p))
        sym = L.OP_SYMBOL[op]

        self.heading = L.title(f"{'Division' if op == 'div' else 'Multiplication'} is addition in disguise", 34)
        self.play(Write(self.heading), run_time=0.8)
        if p != TOY_P and TOY_P - 1 >= 2:
            self.toy(op, sym)
        self.big(op, sym, p, g, own, add, run_op, task)

    # 1. a small table with its numbers ---------------------------------------------------------------

    def toy(self, op: str, sym: str):
        q = TOY_P
        m = q - 1
        gq = generator(q)
        c = 0.6
        origin = np.array([-5.6, 1.7, 0])

        def at(col, row):
            return origin + RIGHT * c * col + DOWN * c * row

        rows, cols = log_order(op, q, gq)
        lg = discrete_log(q, gq)
        T = table(op, q)
        ans_col = log_colors(answer_logs(T, q, gq), m)
        grey = L.hex_rgb(L.GRID)

        # the full table 0 … q − 1, the zero row and column grey
        cells = {}
        for x in range(q):
            for y in range(q):
                if x and y:
                    rgb, txt = ans_col[x - 1, y - 1], str(int(T[x - 1, y - 1]))
                else:
                    rgb, txt = grey, ("–" if (op == "div" and y == 0) else "0")
                sq = Square(c * 0.94, stroke_width=0).set_fill(_hex(rgb), 1).move_to(at(y, x))
                lab = L.label(txt, 24, _ink(rgb)).move_to(sq)
                cells[x, y] = VGroup(sq, lab)
        xh = {x: L.label(str(x), 24, L.ACCENT).move_to(at(-1, x)) for x in range(q)}
        yh = {y: L.label(str(y), 24, L.ACCENT).move_to(at(y, -1)) for y in range(q)}
        corner = L.label(sym, 28, L.MUTED).move_to(at(-1, -1))
        xcap = L.label("x", 24, L.ACCENT).move_to(at(-1, q))
        ycap = L.label("y", 24, L.ACCENT).move_to(at(q, -1))
        task_line = L.label(f"({'x / y' if op == 'div' else 'x · y'}) mod {q}", 30).move_to([3.6, 2.5, 0])
        self.play(FadeIn(task_line), FadeIn(corner), FadeIn(VGroup(*xh.values())), FadeIn(VGroup(*yh.values())),
                  FadeIn(xcap), FadeIn(ycap), run_time=0.7)
        self.play(LaggedStart(*[FadeIn(cells[x, y]) for x in range(q) for y in range(q)], lag_ratio=0.02),
                  run_time=1.6)

        # every nonzero answer is a power of g: its colour is the exponent
        pw = powers_of(gq, q)
        chips = VGroup()
        for i, v in enumerate(pw):
            rgb = log_colors([i], m)[0]
            sq = Square(0.56, stroke_width=0).set_fill(_hex(rgb), 1)
            chips.add(VGroup(sq, L.label(str(int(v)), 24, _ink(rgb)).move_to(sq),
                             L.label(f"{gq}{_sup(i)}", 22, L.TEXT).next_to(sq, UP, buff=0.1)))
        chips.arrange(RIGHT, buff=0.12).move_to([3.6, 1.2, 0])
        ptxt = L.label(f"every nonzero answer is a power of {gq} (mod {q}):", 20, L.MUTED).next_to(chips, UP, buff=0.2)
        L.fit_right(ptxt)
        pcol = L.label("a cell's colour is its answer's exponent", 20, L.MUTED).next_to(chips, DOWN, buff=0.2)
        self.play(FadeIn(ptxt), LaggedStart(*[FadeIn(ch) for ch in chips], lag_ratio=0.15), run_time=1.2)
        self.play(FadeIn(pcol), run_time=0.5)
        noise = L.label("in natural order: scrambled", 22, L.TEXT).move_to([3.6, -0.3, 0])
        self.play(FadeIn(noise), run_time=0.5)
        self.wait(0.6)

        # the zero row and column: outside the group, set aside
        zero_txt = ZERO_TEXT[op]
        zcap = L.label(zero_txt, 22, L.MUTED).move_to([3.6, -0.9, 0])
        L.fit_right(zcap)
        zrow = VGroup(*[cells[0, y] for y in range(q)], xh[0])
        zcol = VGroup(*[cells[x, 0] for x in range(1, q)], yh[0])
        self.play(zrow.animate.set_opacity(0.35), zcol.animate.set_opacity(0.35), FadeIn(zcap), run_time=0.7)
        self.play(zrow.animate.shift(UP * 0.5).set_opacity(0), zcol.animate.shift(LEFT * 0.5).set_opacity(0),
                  *[xh[x].animate.move_to(at(0, x)) for x in range(1, q)],
                  *[yh[y].animate.move_to(at(y, 0)) for y in range(1, q)],
                  corner.animate.move_to(at(0, 0)), xcap.animate.move_to(at(0, q)), ycap.animate.move_to(at(q, 0)),
                  run_time=0.9)
        self.remove(zrow, zcol)

        # rows by i = log x, then columns by j
        cx = coordinates(op, q)
        rtxt = L.label(f"sort the rows by i = {cx.x_axis}  (x = {gq}ⁱ)", 22, L.TEXT).move_to([3.6, -1.6, 0])
        L.fit_right(rtxt)
        ilab = VGroup(*[L.label(str(i), 22, L.KEY[1]).move_to(at(-1, 1 + i)) for i in range(m)])
        icap = L.label("i", 24, L.KEY[1]).move_to(at(-1, q))
        self.play(FadeIn(rtxt), run_time=0.4)
        self.play(*[VGroup(xh[x], *[cells[x, y] for y in range(1, q)]).animate.shift(DOWN * c * (lg[x] + 1 - x))
                    for x in range(1, q)], run_time=1.6, rate_func=smooth)
        self.play(FadeIn(ilab), FadeIn(icap), run_time=0.5)
        ctxt = L.label(f"then the columns by j = {cx.y_axis}", 22, L.TEXT).move_to([3.6, -2.1, 0])
        L.fit_right(ctxt)
        jpos = {int(y): j for j, y in enumerate(cols)}
        jlab = VGroup(*[L.label(str(j), 22, L.KEY[1]).move_to(at(1 + j, -1)) for j in range(m)])
        jcap = L.label("j", 24, L.KEY[1]).move_to(at(q, -1))
        self.play(FadeIn(ctxt), run_time=0.4)
        self.play(*[VGroup(yh[y], *[cells[x, y] for x in range(1, q)]).animate.shift(RIGHT * c * (jpos[y] + 1 - y))
                    for y in range(1, q)], run_time=1.6, rate_func=smooth)
        self.play(FadeIn(jlab), FadeIn(jcap), run_time=0.5)

        # each answer as its exponent: the addition table mod q − 1
        logs = answer_logs(T, q, gq)
        swaps = []
        for x in range(1, q):
            for y in range(1, q):
                old = cells[x, y][1]
                new = L.label(str(int(logs[x - 1, y - 1])), 24, old.color).move_to(old)
                swaps.append(Transform(old, new))
        atxt = VGroup(L.label(f"write each answer as its exponent: (i + j) mod {m}", 22, L.ACCENT),
                      L.label(f"the addition table mod {m}", 22, L.ACCENT)).arrange(DOWN, buff=0.1)
        atxt.move_to([3.6, -3.0, 0])
        L.fit_right(atxt)
        self.play(*swaps, FadeIn(atxt), run_time=1.2)
        self.wait(1.5)
        self.play(*[FadeOut(mob) for mob in self.mobjects if mob is not self.heading and mob is not self.coordinates_note],
                  run_time=0.6)

    # 2. the run's p ----------------------------------------------------------------------------------

    def big(self, op, sym, p, g, own, add, run_op, task):
        n = p - 1
        cx = coordinates(op, p)
        x_axis = add.get("x_axis") or cx.x_axis if own else cx.x_axis
        y_axis = add.get("y_axis") or cx.y_axis if own else cx.y_axis
        if g != cx.generator:                     # the run's own generator names its axes
            x_axis, y_axis = x_axis.replace(str(cx.generator), str(g)), y_axis.replace(str(cx.generator), str(g))
        T = table(op, p)
        colors = log_colors(answer_logs(T, p, g), n)
        rows, cols = log_order(op, p, g)
        s = max(1, int(np.ceil(800 / n)))
        bg = L.hex_rgb(L.BG)
        rt, ct = ValueTracker(0.0), ValueTracker(0.0)

        def rgba():
            im = frame(colors, slide(rows, rt.get_value()), slide(cols, ct.get_value()), s, bg)
            return np.concatenate([im, np.full(im.shape[:2] + (1,), 255, np.uint8)], -1)

        S = 5.6
        centre = np.array([-2.9, -0.55, 0])
        img = L.image(rgba()[..., :3], width=S, height=S).move_to(centre)
        img.add_updater(lambda m: setattr(m, "pixel_array", rgba()))
        top, left, bottom, right = img.get_top()[1], img.get_left()[0], img.get_bottom()[1], img.get_right()[0]

        expr = "x / y" if op == "div" else "x · y"
        xr = (right + 0.25 + 6.85) / 2                    # the middle of the column right of the table
        task_line = L.label(f"({expr}) mod {p}, x, y = 1 … {n}", 28).move_to([xr, 2.6, 0])
        L.fit_right(task_line)
        # the axes: rows (x, then i) down the left, columns (y, then j) along the top
        def row_axis(name, lo, hi, color):
            return VGroup(L.label(name, 22, color).rotate(PI / 2).move_to([left - 0.55, centre[1], 0]),
                          L.label(lo, 20, color).move_to([left - 0.3, top - 0.15, 0], aligned_edge=RIGHT),
                          L.label(hi, 20, color).move_to([left - 0.3, bottom + 0.15, 0], aligned_edge=RIGHT))

        def col_axis(name, lo, hi, color):
            return VGroup(L.label(name, 22, color).move_to([centre[0], top + 0.38, 0]),
                          L.label(lo, 20, color).move_to([left + 0.15, top + 0.38, 0], aligned_edge=LEFT),
                          L.label(hi, 20, color).move_to([right - 0.15, top + 0.38, 0], aligned_edge=RIGHT))

        rax = row_axis("x", "1", str(n), L.ACCENT)
        cax = col_axis("y", "1", str(n), L.ACCENT)

        # the zero row and column: grey strips, then set aside
        w0 = 0.16
        zrow = L.image(np.tile(L.hex_rgb(L.GRID).astype(np.uint8), (1, 8, 1)), width=S + w0, height=w0)
        zrow.move_to([centre[0] - w0 / 2, top + w0 / 2 + 0.02, 0])
        zcol = L.image(np.tile(L.hex_rgb(L.GRID).astype(np.uint8), (8, 1, 1)), width=w0, height=S)
        zcol.move_to([left - w0 / 2 - 0.02, centre[1], 0])
        z0 = L.label("0", 20, L.MUTED).move_to([left - 0.3, top + 0.38, 0])       # the strips' x = 0 and y = 0

        # the right column, top to bottom: what the table is (and, for a run of another op, whose p),
        # the colour key (a clock of n hours, each hour the colour of the answers with that log),
        # then the text of each step
        note = None
        if not own:
            note = VGroup(L.label(f"run {self.d.run} learns {L.task_name(task, p)}:", 20, L.MUTED),
                          L.label(f"this is the multiplication table at its p = {p}", 20, L.MUTED)
                          ).arrange(DOWN, buff=0.06).next_to(task_line, DOWN, buff=0.15)
            for t in note:
                L.fit_right(t)
        R = 0.8
        zero = L.label("0", 20, L.MUTED).next_to(note if note is not None else task_line, DOWN, buff=0.15)
        zero.set_x(xr)
        ring = L.image(ring_image(n), width=2 * R, height=2 * R, smooth=True).next_to(zero, DOWN, buff=0.12)
        key = VGroup(L.label(f"colour: the answer's log{sub(g)}", 20, L.MUTED),
                     L.label(f"0 … {n - 1} round a clock of {n} hours", 20, L.MUTED)).arrange(DOWN, buff=0.08)
        key.next_to(ring, DOWN, buff=0.15)
        slot = key.get_bottom()[1] - 0.3                  # the top of each step's text

        def place(m):
            m.move_to([xr, slot, 0], aligned_edge=UP)
            for t in (m if isinstance(m, VGroup) else [m]):
                L.fit_right(t)
            return m

        noise = place(L.label("in natural order: noise", 24))

        self.play(FadeIn(task_line), FadeIn(img), FadeIn(zrow), FadeIn(zcol), FadeIn(z0), FadeIn(rax), FadeIn(cax), run_time=1)
        self.play(FadeIn(ring), FadeIn(zero), FadeIn(key), *([FadeIn(note)] if note is not None else []), run_time=0.8)
        self.play(FadeIn(noise), run_time=0.5)
        self.wait(0.8)
        zero_txt = [ZERO_TEXT[op]]
        zp = add.get("zero_pairs") or {}
        if zp.get("pairs") and zp.get("accuracy") is not None:       # measured by extraction
            zero_txt.append(f"the model: 0 on {float(zp['accuracy']):.0%} of these {int(zp['pairs'])} pairs")
        zcap = VGroup(*[L.label(t, 20, L.MUTED) for t in zero_txt]).arrange(DOWN, buff=0.06)
        zcap.next_to(noise, DOWN, buff=0.2)
        for t in zcap:
            L.fit_right(t)
        self.play(FadeIn(zcap), zrow.animate.set_opacity(0.5), zcol.animate.set_opacity(0.5), run_time=0.6)
        self.play(zrow.animate.shift(UP * 0.6).set_opacity(0), zcol.animate.shift(LEFT * 0.6).set_opacity(0),
                  FadeOut(zcap), FadeOut(z0), run_time=0.9)
        self.remove(zrow, zcol)

        # rows by i, then columns by j: each row slides to its place
        self.play(FadeOut(noise), run_time=0.3)
        step = place(L.label(f"rows sorted by i = {x_axis}", 22))
        rax2 = row_axis(f"i = {x_axis}", "0", str(n - 1), L.KEY[1])
        self.play(FadeIn(step), run_time=0.4)
        self.play(rt.animate.set_value(1.0), ReplacementTransform(rax, rax2), run_time=2.2, rate_func=smooth)
        step2 = L.label(f"columns sorted by j = {y_axis}", 22).next_to(step, DOWN, buff=0.15)
        L.fit_right(step2)
        cax2 = col_axis(f"j = {y_axis}", "0", str(n - 1), L.KEY[1])
        self.play(FadeIn(step2), run_time=0.4)
        self.play(ct.animate.set_value(1.0), ReplacementTransform(cax, cax2), run_time=2.2, rate_func=smooth)
        self.wait(0.5)

        # one cell on the clock: the hand goes i hours, then j more, past 0
        ex = wrap_example(op, p, g)
        self.play(FadeOut(step), FadeOut(step2), run_time=0.3)
        if ex is not None:
            shown = _example(self, ex, op, sym, p, g, img, ring, place)
            self.play(*[FadeOut(m) for m in shown], run_time=0.4)

        # what it is: the addition table mod p − 1
        rhs = f"{g}{_sup('i+j')}"
        law = L.formula(f"{expr} = {rhs}", size=34, color=L.ACCENT)
        lines = VGroup(law,
                       L.label(f"diagonal bands: the addition table mod {n}", 22),
                       L.label(f"multiplying is adding logs, mod {n}:" if op == "mul"
                               else f"dividing is adding logs (j = −log y), mod {n}:", 22),
                       L.label(f"the clock again, with {n} hours", 22, L.ACCENT))
        place(lines.arrange(DOWN, buff=0.14))
        extra = []
        ks = [int(k) for k in (self.d.summary.get("key_frequencies") or [])] if own else []
        if own and add.get("found") and ks:
            why = VGroup(L.label("this model's waves run over i:", 20, L.MUTED),
                         L.label(f"key frequencies k = {', '.join(map(str, ks))} of Z{sub(n)}", 20, L.MUTED))
        elif own:
            why = VGroup(L.label(f"run {self.d.run} learns {L.task_name(task, p)}", 20, L.MUTED),
                         L.label("(its waves over i not measured: re-extract)", 20, L.MUTED))
        else:
            why = None
        if why is not None:
            why.arrange(DOWN, buff=0.06).next_to(lines, DOWN, buff=0.25)
            for t in why:
                L.fit_right(t)
            extra.append(FadeIn(why))
        self.play(Write(lines[0]), run_time=0.8)
        self.play(*[FadeIn(t) for t in lines[1:]], *extra, run_time=0.8)
        self.wait(2)


def _example(scene, ex, op, sym, p, g, img, ring, place):
    """The cell (i, j) of x and y marked on the sorted table, and the colour clock's hand going i
    hours and then j more, past 0, to the hour of x · y. Returns what it drew, to go after."""
    x, y, i, j = ex
    n = p - 1
    h = (i + j) % n
    c = int(table(op, p)[x - 1, y - 1])
    S = img.width
    left, top = img.get_left()[0], img.get_top()[1]
    cy, cx = top - (i + 0.5) * S / n, left + (j + 0.5) * S / n
    cross = VGroup(Line([left, cy, 0], [left + S, cy, 0], stroke_color=L.TEXT, stroke_width=2, stroke_opacity=0.8),
                   Line([cx, top, 0], [cx, top - S, 0], stroke_color=L.TEXT, stroke_width=2, stroke_opacity=0.8),
                   Dot([cx, cy, 0], radius=0.07, color=L.TEXT))
    ylog = f"{g}{_sup('−' + str(j))}" if op == "div" else f"{g}{_sup(j)}"
    text = place(VGroup(
        L.label(f"x = {x} = {g}{_sup(i)},  y = {y} = {ylog}", 22),
        L.label(f"on the clock: {i} hours, then {j} more", 22, L.MUTED),
        L.label(f"{i} + {j} = {i + j} ≡ {h} (mod {n})", 22, L.MUTED),
        L.label(f"({g}{_sup(n)} = {pow(g, n, p)} mod {p}: the hours wrap at {n})", 20, L.MUTED),
        L.label(f"{x} {sym} {y} = {c} = {g}{_sup(h)}", 22, L.ACCENT)).arrange(DOWN, buff=0.1))
    centre = ring.get_center()
    r = ring.width / 2 * 1.05
    hv = ValueTracker(0.0)

    def tip():
        a = PI / 2 - 2 * PI * hv.get_value() / n
        return centre + r * np.array([np.cos(a), np.sin(a), 0])

    hand = Line(centre, tip(), stroke_color=L.TEXT, stroke_width=5)
    hand.add_updater(lambda m: m.put_start_and_end_on(centre, tip()))
    scene.play(FadeIn(cross), FadeIn(text[0]), FadeIn(hand), run_time=0.7)
    scene.play(hv.animate.set_value(i), FadeIn(text[1]), run_time=1.2, rate_func=smooth)
    scene.play(hv.animate.set_value(i + j), FadeIn(text[2]), FadeIn(text[3]), run_time=1.4, rate_func=smooth)
    scene.play(FadeIn(text[4]), run_time=0.5)
    scene.wait(1.2)
    return [cross, text, hand]
