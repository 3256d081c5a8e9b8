"""The scenes' palette, fonts and text: the colours come from common/palette.py (shared with the
publication figures), set on the dark background the scenes use; colours as arrays for the
images the scenes draw."""
from __future__ import annotations

import shutil

import numpy as np
from manim import LEFT, UP, Text, VGroup

from grokking.common import palette as pal

# ---- palette ------------------------------------------------------------------------------------

BG = pal.BACKGROUND_DARK
TEXT = pal.TEXT_DARK
MUTED = pal.MUTED_DARK
GRID = pal.GRID_DARK
TRAIN = pal.ROLE["train"]
TEST = pal.ROLE["test"]
EXCLUDED = pal.ROLE["excluded"]
RESTRICTED = pal.ROLE["restricted"]
KEY = list(pal.KEY_FREQ)
ACCENT = KEY[0]
COS = pal.ROLE["cos"]
SIN = pal.ROLE["sin"]
PHASE = dict(pal.PHASE)
SEQ_CMAP = pal.CMAP_MAGNITUDE   # colour by y / by x: purple (0) to yellow (p-1), as in the video
DIV_CMAP = pal.CMAP_SIGNED      # signed heights: blue (low) to red (high)
CYC_CMAP = pal.CMAP_CYCLIC

FONT = "DejaVu Sans"
MATH_FONT = "DejaVu Serif"
HAS_LATEX = shutil.which("latex") is not None

# ---- text ---------------------------------------------------------------------------------------

# The smallest font size a scene's text may have once drawn (after any scaling): at 1920x1080 a
# font size of 18 has lower-case letters about 18 px tall and capitals about 25 px.
MIN_TEXT = 18


def label(s: str, size: float = 24, color: str = TEXT, **kw) -> Text:
    return Text(str(s), font=FONT, font_size=size, color=color, **kw)


OP_SYMBOL = {"add": "+", "sub": "−", "mul": "·", "div": "/"}
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def task_expr(task: dict, x="x", y="y") -> str:
    """The run's operation on x and y, as summary.json's task names it: "x + y", "x · y",
    "x − y", "x / y", "x³ + y²" (pow)."""
    op = task.get("op", "add")
    if op == "pow":
        a, b = (str(int(task.get(k, 1))).translate(_SUPERSCRIPT) for k in ("a", "b"))
        return f"{x}{a} + {y}{b}"
    return f"{x} {OP_SYMBOL.get(op, op)} {y}"


def task_name(task: dict, p: int | None = None) -> str:
    """Every text that names the run's task: "(x + y) mod 113", "(x · y) mod 113", ..."""
    return f"({task_expr(task)}) mod {p if p is not None else task['p']}"


def left_out_note(entries: list[dict], size: float = 16, width: float = 13.4):
    """The key frequencies a wave scene leaves out, one line each with extraction's reason
    ("not shown: w = 34π/113 (6.6 samples per period (< 8): draws as scattered dots)"), no wider
    than `width`; None when there are none."""
    if not entries:
        return None
    from manim import DOWN, RIGHT, VGroup
    note = VGroup(*[label(("not shown: " if i == 0 else "") + f"w = {e['label']} ({e['why']})", size, MUTED)
                    for i, e in enumerate(entries)]).arrange(DOWN, aligned_edge=RIGHT, buff=0.06)
    if note.width > width:
        note.scale_to_fit_width(width)
    return note


def left_out_brief(entries: list[dict], size: float = 16, one_line_within: float | None = None):
    """The same in two short lines, for a corner: "not shown: w = 34π/113, 42π/113" and each
    distinct reason once, without the per-frequency numbers (extraction's `brief`: "fewer than 8
    samples per period: scattered dots"; assets extracted before it: the full reason); in one line
    where that fits `one_line_within`; None when there are none."""
    if not entries:
        return None
    from manim import DOWN, RIGHT, VGroup
    why = dict.fromkeys(e.get("brief", e["why"]) for e in entries)
    shown = "not shown: w = " + ", ".join(e["label"] for e in entries)
    reason = "(" + "; ".join(why) + ")"
    if one_line_within is not None:
        one = label(f"{shown} {reason}", size, MUTED)
        if one.width <= one_line_within:
            return one
    return VGroup(label(shown, size, MUTED), label(reason, size, MUTED)).arrange(DOWN, aligned_edge=RIGHT, buff=0.06)


def formula(plain: str, tex: str | None = None, size: float = 28, color: str = TEXT):
    """Math: MathTex when LaTeX is installed and a TeX form is given, else Text (Unicode)."""
    if HAS_LATEX and tex:
        from manim import MathTex
        return MathTex(tex, font_size=size * 1.25, color=color)
    return Text(plain, font=MATH_FONT, font_size=size, color=color, slant="ITALIC")


# the heading's gap to the frame's top; a scene with a coordinates note in its top-left corner
# (canvas) widens it so that the heading sits below the note
HEADING_BUFF = {"top": 0.3}


def title(s: str, size: float = 34) -> Text:
    return label(s, size).to_edge(UP, buff=HEADING_BUFF["top"])


class LiveText(VGroup):
    """Text that changes while a scene plays (an epoch counter, "x = 37"): one Text per distinct
    string, cached, swapped in without `become` (which would re-align every point each frame).
    Keep the changing part short (just the number) and put the rest in a static label."""

    def __init__(self, fn, point, edge=LEFT, size: float = 24, color: str = TEXT, font: str = FONT):
        super().__init__()
        self.fn, self.point, self.edge = fn, np.asarray(point, float), edge
        self.size, self.color, self.font = size, color, font
        self.cache: dict[str, Text] = {}
        self.current = None
        self.refresh()
        self.add_updater(lambda m: m.refresh())

    def refresh(self):
        s = str(self.fn())
        if s != self.current:
            t = self.cache.get(s)
            if t is None:
                t = Text(s, font=self.font, font_size=self.size, color=self.color)
                t.move_to(self.point, aligned_edge=self.edge)
                self.cache[s] = t
            # a play() captures the family at its start and keeps drawing it: hide the outgoing
            # text rather than only dropping it
            for old in self.submobjects:
                old.set_fill(opacity=0)
            t.set_fill(opacity=1)
            self.submobjects = [t]
            self.current = s
        return self


def fmt_epoch(e) -> str:
    return "—" if e is None else f"{int(e):,}"


# ---- colours as arrays ----------------------------------------------------------------------------


def hex_rgb(h: str) -> np.ndarray:
    h = h.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], float)


def cmap(values, name: str = SEQ_CMAP, vmin=None, vmax=None) -> np.ndarray:
    """RGB uint8 [..., 3] of values through a matplotlib colormap."""
    from matplotlib import colormaps
    v = np.asarray(values, float)
    lo = np.nanmin(v) if vmin is None else vmin
    hi = np.nanmax(v) if vmax is None else vmax
    t = np.clip((v - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    return (colormaps[name](t)[..., :3] * 255).astype(np.uint8)


def cmap_hex(values, name: str = SEQ_CMAP, vmin=None, vmax=None) -> list[str]:
    return ["#%02x%02x%02x" % tuple(int(c) for c in rgb) for rgb in cmap(values, name, vmin, vmax).reshape(-1, 3)]
