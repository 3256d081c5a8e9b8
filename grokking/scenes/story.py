"""Part 2, why it groks (26:46-29:07): training replayed with the mechanism in view (loss curves
with a cursor, the embedding probe's wave and a surface forming on the plateau, long before the
test accuracy jumps); then loss instead of accuracy, the excluded loss, and the three phases.

Everything the replay shows at an epoch is measured at that epoch (extraction/replay.py): the
probe refitted on that checkpoint's embedding with its R², the surface on its own scale with the
line x + y ≡ T dotted and the share of rows peaking on it; each caption that claims something
("no wave yet", "the wave takes shape", "the surface forms its ridge") is the one its number
says (summary.json replay claims), with the number and its threshold beside it.

Reads curves.npz (all_* per epoch; excluded_loss per checkpoint), probes.npz (cos_out [C, p],
cos_target, cos_r2), evolution.npz (crest_surface or logit_surface [C, p, p] and its
rows_on_line [C]) and summary.json (milestones, phases, key labels, selections, replay)."""
from __future__ import annotations

import numpy as np
from manim import (DL, DOWN, DR, LEFT, RIGHT, UL, UP, UR, Create, DashedLine, FadeIn, FadeOut, Line, Rectangle,
                   ReplacementTransform, ValueTracker, VGroup, Write, always_redraw, linear)

from grokking.common import assets as fmt
from grokking.extraction import replay as rpl

from grokking.scenes import look as L


_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def pow10(v: int) -> str:
    return {0: "1", 1: "10"}.get(v, "10" + str(v).translate(_SUP))


def lx(e):
    return np.log10(np.asarray(e, float) + 1)


class CurvePanel(VGroup):
    """Axes with a log epoch axis and a linear (accuracy) or log10 (loss) value axis."""

    def __init__(self, width, height, E, ylim, log_y: bool, ylabel: str, tick_size=16):
        super().__init__()
        self.E, self.log_y = E, log_y
        self.panel = L.Panel(width, height, (0, lx(E)), ylim, frame=False)
        pn = self.panel
        self.axes = VGroup(Line(pn.c2p(0, ylim[0]), pn.c2p(lx(E), ylim[0]), stroke_color=L.MUTED, stroke_width=2),
                           Line(pn.c2p(0, ylim[0]), pn.c2p(0, ylim[1]), stroke_color=L.MUTED, stroke_width=2))
        self.xticks = VGroup()
        for e in [10 ** i for i in range(0, 8) if 10 ** i <= E]:
            x = lx(e)
            self.xticks.add(Line(pn.c2p(x, ylim[0]), pn.c2p(x, ylim[0]) + DOWN * 0.08, stroke_color=L.MUTED))
            self.xticks.add(L.label(f"{e:,}", tick_size, L.MUTED).next_to(pn.c2p(x, ylim[0]), DOWN, buff=0.12))
        self.yticks = self.make_yticks(ylim, log_y, tick_size)
        self.ycap = L.label(ylabel, tick_size + 2, L.MUTED).rotate(np.pi / 2).next_to(self.axes, LEFT, buff=0.7)
        self.xcap = L.label("epoch (log scale)", tick_size + 2, L.MUTED).next_to(self.axes, DOWN, buff=0.45)
        self.add(self.panel, self.axes, self.xticks, self.yticks, self.ycap, self.xcap)

    def make_yticks(self, ylim, log_y, size):
        pn = self.panel
        g = VGroup()
        if log_y:
            for v in range(int(np.ceil(ylim[0])), int(np.floor(ylim[1])) + 1):
                if (v - int(np.ceil(ylim[0]))) % max(1, int((ylim[1] - ylim[0]) // 5)) == 0:
                    g.add(L.label(pow10(v), size, L.MUTED)
                          .next_to(pn.c2p(0, v), LEFT, buff=0.1))
        else:
            for a in (0, 0.5, 1):
                g.add(L.label(f"{a:.0%}", size, L.MUTED).next_to(pn.c2p(0, a), LEFT, buff=0.1))
        return g

    def y(self, v):
        v = np.asarray(v, float)
        return np.log10(np.maximum(v, 1e-30)) if self.log_y else v

    def curve(self, epochs, values, color, width=3.5, upto=None):
        e = np.asarray(epochs, float)
        v = np.asarray(values, float)
        if upto is not None:
            keep = e <= upto
            e, v = e[keep], v[keep]
        return self.panel.curve(lx(e), self.y(v), color, width)

    def x_at(self, epoch):
        return self.panel.c2p(lx(epoch), self.panel.ylim[0])[0]


def _samples(E, extra=()):
    idx = np.unique(np.r_[0, np.round(np.geomspace(1, E + 1, 600)).astype(int) - 1, list(extra)]).astype(int)
    return idx[(idx >= 0) & (idx <= E)]


def loss_ylim(*arrays):
    v = np.concatenate([np.log10(np.maximum(np.asarray(a, float), 1e-30)) for a in arrays])
    v = v[np.isfinite(v)]
    return float(np.floor(v.min())), float(np.ceil(v.max()) + 0.2)


def surface_frame(Z, final, line: int) -> dict:
    """One checkpoint's surface for SurfaceView: scaled from its own range onto the final one's
    (the pattern forming shows even while it is small), with dots along x + y ≡ line."""
    Z = np.asarray(Z, float)
    lo, hi, flo, fhi = Z.min(), Z.max(), final.min(), final.max()
    Zs = flo + (Z - lo) / ((hi - lo) or 1.0) * (fhi - flo)
    p = Z.shape[0]
    xs = np.arange(0, p, max(1, p // 28))
    ys = (line - xs) % p
    return {"Z": Zs, "points": [(int(x), int(y), float(Zs[x, y]), "#ffdd77", 2.2) for x, y in zip(xs, ys)]}


def wrap_lines(text: str, width: float, size: float = L.MIN_TEXT) -> str:
    """text with line breaks so that no line of it, drawn at `size`, is wider than `width` (a word
    wider than that alone on its line): few lines, broken after clauses ("; ", ": ", ", ") rather
    than inside one, never inside a bracket where one more line avoids it."""
    words = text.split(" ")
    n = len(words)
    ww = [L.label(x, size).width for x in words]        # a line's width: its words' and spaces'
    space = L.label("a a", size).width - 2 * L.label("a", size).width
    margin = 0.05

    def fit(i, j):                                      # words[i:j] on one line
        return j - i == 1 or sum(ww[i:j]) + space * (j - i - 1) <= width - margin

    def cost(j):                                        # a line, and a break after words[j - 1]
        if j == n or words[j - 1][-1] in ";:,":
            return 2
        opened = sum(x.count("(") - x.count(")") for x in words[:j])
        return 2 + (5 if opened > 0 else 1 if words[j][:1] == "(" else 2)

    best = [(0, 0, 0)] + [None] * n                     # (score, lines, start) of words[:j]
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            if not fit(i, j):
                break
            if best[i] is not None:
                cand = (best[i][0] + cost(j), best[i][1] + 1, i)
                if best[j] is None or cand[:2] < best[j][:2]:
                    best[j] = cand
    lines, j = [], n
    while j > 0:
        i = best[j][2]
        lines.insert(0, " ".join(words[i:j]))
        j = i
    if width > 1 and any(" " in x and L.label(x, size).width > width for x in lines):
        return wrap_lines(text, width - 0.15, size)     # the estimate was short: a little narrower
    return "\n".join(lines)


def first_fitting(options, width: float, size: float = L.MIN_TEXT) -> str:
    """The first of the wordings that fits in `width` at `size` (the last one, wrapped, if none)."""
    for s in options:
        if L.label(s, size).width <= width:
            return s
    return wrap_lines(options[-1], width, size)


class TrainingStory(L.DataScene):
    """26:46-27:38."""

    def construct(self):
        d = self.d
        p = d.n                       # the probe's length (the x axis' elements)
        c = d["curves"]
        E = int(c["all_epoch"][-1])
        mem, grok = d.memorised_epoch, d.grokked_epoch
        idx = _samples(E, [e for e in (mem, grok) if e is not None])
        tr, te = np.asarray(c["all_train_loss"], float), np.asarray(c["all_test_loss"], float)
        tra, tea = np.asarray(c["all_train_acc"], float), np.asarray(c["all_test_acc"], float)

        # the layout: two columns under the heading, every text at least MIN_TEXT. Left (x from
        # -6.95 to the curves' right edge): the counters, the legend, the loss curves and, under
        # them, the caption (wrapped, reaching under the right column up to the surface). Right
        # (x from XR0 to XR1): the probe's wave over x, its R², the surface over (x, y) and its
        # share of rows on the line.
        T = L.MIN_TEXT
        XR0, XR1 = 0.45, 6.85
        heading = L.title("Training again, with the mechanism in view", 30)
        cp = CurvePanel(5.9, 4.2, E, loss_ylim(tr[idx], te[idx]), True, "cross-entropy loss", tick_size=T)
        cp.shift(RIGHT * (-6.95 - cp.get_left()[0]) + UP * (2.2 - cp.panel.box.get_top()[1]))
        legend = VGroup(*[VGroup(Line(np.zeros(3), RIGHT * 0.35, stroke_color=col, stroke_width=5),
                                 L.label(n, T, col)).arrange(RIGHT, buff=0.1)
                          for n, col in (("train", L.TRAIN), ("test", L.TEST))]).arrange(RIGHT, buff=0.4)
        legend.next_to(cp.panel.box, UP, buff=0.05).align_to(cp.panel.box, LEFT).shift(RIGHT * 0.2)

        # right: the probe's wave over x (top), a surface over (x, y) (bottom), per checkpoint
        pr = d["probes"]
        cos_out = np.asarray(pr["cos_out"], float)
        target = np.asarray(pr["cos_target"], float)
        r2 = np.asarray(pr["cos_r2"], float) if "cos_r2" in pr else None
        ev = d["evolution"]
        ev_e = np.asarray(ev["epoch"], float)
        pr_e = np.asarray(c["epoch"], float)
        skey = "crest_surface" if "crest_surface" in ev else "logit_surface"
        surfs = ev[skey]
        crest = skey == "crest_surface"
        line = d.sel(fmt.Crest).T if crest else d.sel(fmt.Logit).output
        sname = "the crest unit" if crest else "the logit of %d" % d.answer(line)
        replay = d.a.replay
        rows_key = skey.replace("surface", "rows_on_line")
        rows = np.asarray(ev[rows_key], float) if rows_key in ev else None
        tol = int(replay.crest_tol or 0) if crest else 0
        lim = 1.25 * max(1.0, np.abs(cos_out).max(), np.abs(target).max())
        RW = XR1 - XR0
        pp = L.Panel(RW - 0.3, 1.7, (-0.5, p - 0.5), (-lim, lim))
        pp.move_to([(XR0 + XR1) / 2, 2.55 - 0.85, 0])
        wl = d.wave_label("cos")
        pcap = L.label(first_fitting([f"cos probe on the embedding of x, vs {wl}", f"cos probe on x's embedding, vs {wl}",
                                      f"probe vs {wl}"], RW), T, L.MUTED)
        pcap.move_to([XR1, 2.85, 0], aligned_edge=RIGHT)
        tgt = L.wave_overlay(pp, lambda t: np.interp(t, np.arange(p), target), p, d.key_k, L.COS, width=2)
        dots = pp.dots(radius=0.035)
        # under the probe's panel, not on its dots: the probe refitted at this epoch, its R²
        shape = (replay.thresholds or {}).get("shape_r2")
        y_r2 = pp.get_bottom()[1] - 0.23
        r2w = L.label("R² 0.00", T).width + 0.3
        wave_long, wave_short = (f"; a wave from R² {shape:.2f}", f"; wave: R² ≥ {shape:.2f}") if shape else ("", "")
        r2cap = L.label(first_fitting([f"refitted at each epoch{wave_long}", f"refitted each epoch{wave_long}",
                                       f"refitted each epoch{wave_short}"], RW - r2w),
                        T, L.MUTED).move_to([XR0, y_r2, 0], aligned_edge=LEFT)
        # the surface's caption (what it is; what its dots mark), then the share of rows peaking on its line
        scap = L.label(first_fitting([f"surface: {sname}, rescaled per epoch", f"{sname}, rescaled per epoch"], RW)
                       + "\n" + first_fitting([f"dots: {d.on_line(line)}", f"dots: {d.sum_name} ≡ {line}"], RW),
                       T, L.MUTED)
        scap.move_to([XR0, y_r2 - 0.3, 0], aligned_edge=UP + LEFT)
        ridge = (replay.thresholds or {}).get("ridge_rows")
        rw = L.label("100%", T).width + 0.2
        pm = f" (±{tol})" if tol else ""
        ridge_long, ridge_short = (f"; a ridge from {ridge:.0%}", f", ridge ≥ {ridge:.0%}") if ridge else ("", "")
        rowcap = L.label(first_fitting([f"rows peaking on the dots{pm}{ridge_long}", f"rows peaking on the dots{pm}{ridge_short}",
                                        f"rows on the dots{pm}{ridge_short}"], RW - rw), T, L.MUTED)
        rowcap.move_to([XR0, scap.get_bottom()[1] - 0.25, 0], aligned_edge=LEFT)
        final = np.asarray(surfs[-1], float)
        s_top, s_bot = rowcap.get_bottom()[1] - 0.1, -3.9
        # the ground square as large as its picture (corners at the lowest and highest z) fits the space
        sh = s_top - s_bot
        view = dict(theta=-0.7, phi=0.62, hscale=0.4)
        q = final.shape[0] - 1
        corners = (np.array([0, q, q, 0.0] * 2), np.array([0, 0, q, q + 0.0] * 2), np.repeat([final.min(), final.max()], 4))
        unit = L.SurfaceView(final, RW, sh, side=1.0, **view)
        ext = np.abs(unit.project(*corners)[:, :2] - unit.get_center()[:2]).max(0)       # per unit of side
        side = min((sh / 2 - 0.05) / ext[1], (RW / 2 - 0.05) / ext[0])
        sw = 2 * ext[0] * side + 0.1
        sv = L.SurfaceView(final, sw, sh, side=side, **view)
        sv.move_to([XR1 - sw / 2, (s_top + s_bot) / 2, 0])
        cap_w = sv.get_left()[0] - 0.15 - (-6.85)       # the caption's width: under the curves, left of the surface

        t = ValueTracker(0.0)                                   # log10(epoch + 1)

        def epoch():
            return int(round(10 ** t.get_value() - 1))

        def ck(ep_arr):
            return int(np.clip(np.searchsorted(ep_arr, epoch(), side="right") - 1, 0, len(ep_arr) - 1))

        def upto():
            return idx[lx(idx) <= t.get_value() + 1e-12]

        trc = always_redraw(lambda: cp.panel.curve(lx(upto()), cp.y(tr[upto()]), L.TRAIN, 3.5))
        tec = always_redraw(lambda: cp.panel.curve(lx(upto()), cp.y(te[upto()]), L.TEST, 3.5))
        cursor = always_redraw(lambda: Line(cp.panel.c2p(t.get_value(), cp.panel.ylim[0]),
                                            cp.panel.c2p(t.get_value(), cp.panel.ylim[1]),
                                            stroke_color=L.TEXT, stroke_width=1.5))
        dots.add_updater(lambda m: m.draw(np.arange(p), cos_out[ck(pr_e)], L.TEXT))
        sv.add_updater(lambda m: m.setv(**surface_frame(surfs[ck(ev_e)], final, line), zkey=ck(ev_e)))
        X0, Y0 = -6.8, 2.85
        # each counter starts after the widest text the one before it can show
        acc = L.label("accuracy:", T, L.MUTED)
        acc.move_to([X0 + L.label(f"epoch {E:,}", 22).width + 0.35, Y0, 0], aligned_edge=LEFT)
        x_tr = acc.get_right()[0] + 0.15
        x_te = x_tr + L.label("train 100%", T).width + 0.3
        info = VGroup(
            L.LiveText(lambda: f"epoch {epoch():,}", [X0, Y0, 0], size=22),
            L.LiveText(lambda: f"train {tra[min(epoch(), E)]:.0%}", [x_tr, Y0, 0], size=T, color=L.TRAIN),
            L.LiveText(lambda: f"test {tea[min(epoch(), E)]:.0%}", [x_te, Y0, 0], size=T, color=L.TEST))
        r2txt = L.LiveText(lambda: f"R² {r2[ck(pr_e)]:.2f}" if r2 is not None else "",
                           [XR1, y_r2, 0], edge=RIGHT, size=T, color=L.COS)
        rowtxt = L.LiveText(lambda: f"{rows[ck(ev_e)]:.0%}" if rows is not None else "",
                            [XR1, rowcap.get_y(), 0], edge=RIGHT, size=T, color=L.TEXT)
        self.play(Write(heading), FadeIn(cp), FadeIn(legend), FadeIn(acc), Create(pp), FadeIn(pcap), FadeIn(tgt),
                  FadeIn(scap), FadeIn(r2cap), FadeIn(rowcap), run_time=1.0)
        self.add(trc, tec, cursor, dots, sv, info, r2txt, rowtxt)

        full = [cp.curve(idx, tr[idx], L.TRAIN), cp.curve(idx, te[idx], L.TEST)]     # where the curves end up
        tags = []

        def mark(e, color, text):
            # the tag left of its line (right of it runs into the right-hand panels), at the height
            # nearest the middle where neither curve (nor an earlier tag) passes
            x = cp.x_at(e)
            box = cp.panel.box
            ln = DashedLine([x, box.get_bottom()[1], 0], [x, box.get_top()[1], 0],
                            stroke_color=color, stroke_width=2)
            tag = L.label(text, T, color)
            tag.next_to([x, 0, 0], LEFT, buff=0.08)
            yc = L.clear_y(tag.get_left()[0], tag.get_right()[0], tag.height,
                           full + [np.array([o.get_corner(c) for c in (UL, UR, DR, DL, UL)]) for o in tags],
                           box.get_bottom()[1] + 0.05, box.get_top()[1] - 0.05, box.get_center()[1])
            tag.set_y(yc)
            tags.append(tag)
            return VGroup(ln, tag)

        def caption_line(text):
            # under the curves, left-aligned, on as many lines as it needs at MIN_TEXT
            return L.label(wrap_lines(text, cap_w), T, L.MUTED).to_corner(DOWN + LEFT, buff=0.15)

        # the captions say what the numbers measured at their checkpoints say (extraction/replay.py)
        no_wave, wave, surface = (replay.claim(n) for n in ("no wave yet", "the wave takes shape",
                                                            "the surface takes shape"))
        note = VGroup()
        at_mem = (no_wave or {}).get("epoch") if mem is not None else None
        if at_mem is not None:
            self.play(t.animate.set_value(lx(at_mem)), run_time=2.5, rate_func=linear)
            self.play(FadeIn(mark(mem, L.TRAIN, f"train 100 %\nepoch {mem:,}")), run_time=0.5)
            note = caption_line("training data fitted; " + rpl.caption(no_wave))
            self.play(FadeIn(note), run_time=0.4)
            self.wait(0.8)
        stop = lx(grok) if grok is not None else lx(E)
        # the plateau ends where the test loss starts to fall (phases: cleanup_start); a run whose
        # test accuracy creeps up on the plateau (the smoothness penalty's) keeps its test loss high
        cs = d.summary.get("phases", {}).get("cleanup_start")
        at_rise = (wave or {}).get("epoch")
        if at_rise is not None and (at_mem is None or at_rise > at_mem) and lx(at_rise) < stop:
            self.play(FadeOut(note), t.animate.set_value(lx(at_rise)), run_time=5.0, rate_func=linear)
            rise = (replay.thresholds or {}).get("rise_acc", 0.5)
            note = caption_line(f"epoch {at_rise:,}, test accuracy still below {rise:.0%}: "
                                + "; ".join(rpl.caption(c) for c in (wave, surface) if c))
            self.play(FadeIn(note), run_time=0.4)
            self.wait(1.5)
        if cs is not None and lx(cs) > t.get_value() + 1e-9 and lx(cs) < stop:
            self.play(FadeOut(note), t.animate.set_value(lx(cs)), run_time=2.5, rate_func=linear)
            note = caption_line(f"from epoch {cs:,} the test loss falls: the memorised answers are cleaned up")
            self.play(FadeIn(note), run_time=0.5)
        self.play(t.animate.set_value(stop), run_time=2.5, rate_func=linear)
        plateau = note
        if grok is not None:
            self.play(FadeIn(mark(grok, L.TEST, f"test ≥ 99 %\nepoch {grok:,}")), FadeOut(plateau), run_time=0.5)
        self.play(t.animate.set_value(lx(E)), run_time=1.5, rate_func=linear)
        self.wait(1.5)


class ExcludedLoss(L.DataScene):
    """27:38-29:07."""

    def construct(self):
        d = self.d
        c = d["curves"]
        s = d.summary
        E = int(c["all_epoch"][-1])
        mem, grok = d.memorised_epoch, d.grokked_epoch
        idx = _samples(E, [e for e in (mem, grok) if e is not None])
        ep = np.asarray(c["all_epoch"], float)[idx]
        tra, tea = np.asarray(c["all_train_acc"], float)[idx], np.asarray(c["all_test_acc"], float)[idx]
        trl, tel = np.asarray(c["all_train_loss"], float)[idx], np.asarray(c["all_test_loss"], float)[idx]
        ck = np.asarray(c["epoch"], float)
        ex = np.asarray(c["excluded_loss"], float)

        heading = L.title("From accuracy to loss", 30)
        W, H = 10.4, 4.7
        acc = CurvePanel(W, H, E, (0, 1.0), False, "accuracy", tick_size=L.MIN_TEXT).move_to([0.5, -0.5, 0])
        ylim = loss_ylim(trl, tel, ex[np.isfinite(ex)])
        loss = CurvePanel(W, H, E, ylim, True, "cross-entropy loss (lower is better)", tick_size=L.MIN_TEXT).move_to([0.5, -0.5, 0])
        a_tr, a_te = acc.curve(ep, tra, L.TRAIN), acc.curve(ep, tea, L.TEST)
        l_tr, l_te = loss.curve(ep, trl, L.TRAIN), loss.curve(ep, tel, L.TEST)

        def legend(items):
            g = VGroup(*[VGroup(Line(np.zeros(3), RIGHT * 0.35, stroke_color=col, stroke_width=5),
                                L.label(n, 18, col)).arrange(RIGHT, buff=0.1) for n, col in items]).arrange(RIGHT, buff=0.45)
            return g.next_to(acc.panel.box, UP, buff=0.08).align_to(acc.panel.box, LEFT).shift(RIGHT * 0.2)
        leg = legend((("train", L.TRAIN), ("test", L.TEST)))
        self.play(Write(heading), FadeIn(acc), FadeIn(leg), Create(a_tr), Create(a_te), run_time=1.5)
        self.wait(0.6)
        h2 = L.title("Cross-entropy loss: lower is better", 30)
        self.play(ReplacementTransform(heading, h2), ReplacementTransform(acc.yticks, loss.yticks),
                  ReplacementTransform(acc.ycap, loss.ycap), ReplacementTransform(a_tr, l_tr),
                  ReplacementTransform(a_te, l_te), run_time=1.6)
        self.wait(0.6)

        keys = s.get("key_labels") or []
        h3 = L.title("Excluded loss: the key frequencies removed from the output", 30)
        leg2 = legend((("train", L.TRAIN), ("test", L.TEST), ("excluded (train)", L.EXCLUDED)))
        what = L.label("train loss after removing " + ", ".join(keys) + f" (cos and sin of w({d.sum_name}))\n"
                       "from the logits", L.MIN_TEXT, L.MUTED)
        what.next_to(h3, DOWN, buff=0.1)
        ok = np.isfinite(ex)
        l_ex = loss.curve(ck[ok], ex[ok], L.EXCLUDED, 4)
        self.play(ReplacementTransform(h2, h3), ReplacementTransform(leg, leg2), FadeIn(what), run_time=0.8)
        self.play(Create(l_ex), run_time=4.5, rate_func=linear)
        self.wait(0.5)

        # the phases where the data puts them
        ph = s.get("phases", {})
        bounds = [("memorisation", 0, ph.get("memorisation_end")),
                  ("circuit formation", ph.get("memorisation_end"), ph.get("cleanup_start")),
                  ("clean-up", ph.get("cleanup_start"), ph.get("cleanup_end"))]
        pn = loss.panel
        curves = [l_tr, l_te, l_ex]
        y_lo, y_hi = pn.box.get_bottom()[1] + 0.05, pn.box.get_top()[1] - 0.05
        bands, names = VGroup(), VGroup()
        for i, (name, a, b) in enumerate(bounds):
            if a is None or b is None or b <= a:
                continue
            x0, x1 = loss.x_at(a), loss.x_at(b)
            col = L.PHASE.get(name, L.MUTED)
            band = Rectangle(width=max(x1 - x0, 0.02), height=pn.h, stroke_width=0).set_fill(col, 0.16)
            band.move_to([(x0 + x1) / 2, pn.box.get_center()[1], 0])
            bands.add(band)
            tag = L.label(name, L.MIN_TEXT, col)
            yc = None
            if tag.width <= (x1 - x0) - 0.04:
                # inside its band, as low as no curve passes
                tag.set_x((x0 + x1) / 2)
                yc = L.clear_y(tag.get_left()[0], tag.get_right()[0], tag.height, curves,
                               y_lo, y_hi, pn.box.get_bottom()[1] + 0.3, pad=0.06, strict=True)
            if yc is not None:
                tag.set_y(yc)
                names.add(tag)
            else:
                # too narrow (or crossed by the curves everywhere): above the panel, joined to the
                # band by a leader, clear of the other labels up there
                tag.next_to([(x0 + x1) / 2, pn.box.get_top()[1], 0], UP, buff=0.3)
                if tag.get_right()[0] > 6.85:
                    tag.shift(LEFT * (tag.get_right()[0] - 6.85))
                for other in names:
                    if L.boxes_overlap(tag, other, 0.1):
                        tag.shift(UP * (other.get_top()[1] - tag.get_bottom()[1] + 0.08))
                lead = Line(tag.get_bottom() + DOWN * 0.04, [(x0 + x1) / 2, pn.box.get_top()[1], 0],
                            stroke_color=col, stroke_width=1.5)
                names.add(VGroup(tag, lead))
        self.play(FadeIn(bands), FadeIn(names), run_time=1.0)
        if grok is not None:
            x = loss.x_at(grok)
            gl = DashedLine([x, pn.box.get_bottom()[1], 0], [x, pn.box.get_top()[1], 0], stroke_color=L.TEST, stroke_width=2)
            gt = L.label(f"test ≥ 99 %\nepoch {grok:,}", L.MIN_TEXT, L.TEST).next_to([x, 0, 0], LEFT, buff=0.08)
            # clear of every curve (and of the phase names) left of the line
            gt.set_y(L.clear_y(gt.get_left()[0], gt.get_right()[0], gt.height,
                               curves + [n.get_all_points() for n in names], y_lo, y_hi,
                               pn.box.get_center()[1] + 0.6))
            self.play(FadeIn(gl), FadeIn(gt), run_time=0.6)
        rule = L.label("phases: the lowest excluded loss before grokking ends memorisation;\n"
                       "clean-up spans 10 % to 90 % of the test loss's fall (log scale)", L.MIN_TEXT,
                       L.MUTED).to_edge(DOWN, buff=0.12)
        self.play(FadeIn(rule), run_time=0.5)
        self.wait(2.0)
