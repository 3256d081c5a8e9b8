"""One look for print and video: palette, colour per role, sizes, fonts.

Plain hex strings at import (no matplotlib), so the Manim scenes import the very same colours:

    from figures import style
    style.ROLE["train"], style.key_color(0), style.PHASE["clean-up"]

`apply()` sets matplotlib's rcParams for the publication figures (call it inside a function).
"""
from __future__ import annotations

# Okabe & Ito (2008), the colour-blind-safe qualitative palette.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
}

# What each curve is, the same colour in every figure and every scene.
ROLE = {
    "train": OKABE_ITO["blue"],
    "test": OKABE_ITO["vermillion"],
    "excluded": OKABE_ITO["reddish_purple"],
    "restricted": OKABE_ITO["bluish_green"],
    "weights": "#555555",          # sum of squared weights
    "gini_W_E": OKABE_ITO["blue"],
    "gini_W_L": OKABE_ITO["orange"],
    "cos": OKABE_ITO["blue"],      # probe and trig panels: the cosine and the sine
    "sin": OKABE_ITO["vermillion"],
    "marker": "#000000",           # crest points, logit maxima (on light maps)
    "line": "#000000",             # the line x + y = T
    "other": "#B0B0B0",            # everything that is not a key frequency
}

# Key frequency i (in the order of summary.json's key_frequencies). Distinct from the roles
# above, colour-blind safe (Okabe-Ito orange and Tol's muted set), readable on white and black.
KEY_FREQ = ["#E69F00", "#88CCEE", "#CC6677", "#DDCC77", "#44AA99", "#AA4499", "#999933", "#117733"]

# Background tints of the three phases of training (drawn at PHASE_ALPHA on white).
PHASE = {"memorisation": "#999999", "circuit formation": "#56B4E9", "clean-up": "#E69F00"}
PHASE_ALPHA = 0.16

# Colour maps (matplotlib names): signed surfaces, magnitudes, and points coloured by their
# input x or y (purple at 0 to yellow at p - 1, as in the video; never white, so every point shows).
CMAP_SIGNED = "RdBu_r"
CMAP_MAGNITUDE = "viridis"
CMAP_BY_INPUT = "viridis"

# Backgrounds: print is white, the scenes are dark.
BACKGROUND = "#FFFFFF"
BACKGROUND_DARK = "#0E1117"

# Widths in inches: a journal's single and double column (about 88 mm and 182 mm).
SINGLE = 3.46
DOUBLE = 7.16
DPI = 300
FONT_SIZE = 8


def key_color(i: int) -> str:
    """Colour of the i-th key frequency (cycles past eight)."""
    return KEY_FREQ[i % len(KEY_FREQ)]


def key_colors(keys) -> dict[int, str]:
    """{k: colour} for the key frequencies k, in their order."""
    return {int(k): key_color(i) for i, k in enumerate(keys)}


def apply(dark: bool = False) -> None:
    """Set matplotlib's rcParams for these figures (fonts, sizes, vector output)."""
    import matplotlib as mpl
    fg = "#E6E6E6" if dark else "#222222"
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
