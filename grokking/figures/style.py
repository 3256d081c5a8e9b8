"""The look of the publication figures: the palette (common/palette.py, shared with the
scenes), sizes, fonts:

    from grokking.figures import style
    style.ROLE["train"], style.key_color(0), style.PHASE["clean-up"], style.DOUBLE

`apply()` sets matplotlib's rcParams for the publication figures (call it inside a function).
"""
from __future__ import annotations

from grokking.common.palette import (BACKGROUND, BACKGROUND_DARK, CMAP_BY_INPUT, CMAP_CYCLIC,  # noqa: F401
                            CMAP_MAGNITUDE, CMAP_SIGNED, KEY_FREQ, OKABE_ITO, PHASE, PHASE_ALPHA, ROLE,
                            TEXT_DARK, key_color, key_colors)

# The trainer's diagnostics (figure 2's lower row; print only, no scene draws them)
ROLE = {**ROLE, "diagnostic": "#333333"}

# Widths in inches: a journal's single and double column (about 88 mm and 182 mm).
SINGLE = 3.46
DOUBLE = 7.16
DPI = 300
FONT_SIZE = 8


def apply(dark: bool = False) -> None:
    """Set matplotlib's rcParams for these figures (fonts, sizes, vector output)."""
    import matplotlib as mpl
    fg = TEXT_DARK if dark else "#222222"
    mpl.rcParams.update({
        "font.family": "DejaVu Sans",      # has π, ≡, ·, − and ships with matplotlib
        "font.size": FONT_SIZE,
        "axes.titlesize": FONT_SIZE,
        "axes.labelsize": FONT_SIZE,
        "xtick.labelsize": FONT_SIZE - 1,
        "ytick.labelsize": FONT_SIZE - 1,
        "legend.fontsize": FONT_SIZE - 1,
        "legend.frameon": False,
        "figure.titlesize": FONT_SIZE + 1,
        "axes.linewidth": 0.6,
        "lines.linewidth": 1.1,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.major.size": 2.5,
        "ytick.major.size": 2.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": mpl.cycler(color=[ROLE["train"], ROLE["test"], ROLE["excluded"],
                                             ROLE["restricted"], *KEY_FREQ]),
        "axes.edgecolor": fg, "axes.labelcolor": fg, "text.color": fg,
        "xtick.color": fg, "ytick.color": fg,
        "figure.facecolor": BACKGROUND_DARK if dark else BACKGROUND,
        "axes.facecolor": BACKGROUND_DARK if dark else BACKGROUND,
        "savefig.facecolor": BACKGROUND_DARK if dark else BACKGROUND,
        "figure.dpi": 100,
        "savefig.dpi": DPI,
        "image.interpolation": "nearest",
        "pdf.fonttype": 42,                # embed TrueType: text stays text in the PDF
        "svg.fonttype": "path",            # SVG looks the same without the font installed
        "svg.hashsalt": "grokking",        # reproducible SVG ids
        "axes.unicode_minus": True,
    })
