"""The colours of print and video, one definition for both: the publication figures
(figures/style.py, on white) and the Manim scenes (scenes/look, on a dark background) read these
names. Plain hex strings and colour-map names: importing this needs neither matplotlib nor manim.
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

# The three phases of training (figures tint their background at PHASE_ALPHA on white).
PHASE = {"memorisation": "#999999", "circuit formation": "#56B4E9", "clean-up": "#E69F00"}
PHASE_ALPHA = 0.16

# Colour maps (matplotlib names): signed surfaces, magnitudes, points coloured by their input x
# or y (purple at 0 to yellow at p - 1, as in the video; never white, so every point shows), and
# cyclic quantities (phases).
CMAP_SIGNED = "RdBu_r"
CMAP_MAGNITUDE = "viridis"
CMAP_BY_INPUT = "viridis"
CMAP_CYCLIC = "twilight"

# Backgrounds: print is white, the scenes are dark; on a dark page (the explorer, the gallery) a
# panel is a card a shade lighter than the scenes' background.
BACKGROUND = "#FFFFFF"
BACKGROUND_DARK = "#0E1117"
PANEL_DARK = "#161B22"

# Text and rules on the dark background of the scenes.
TEXT_DARK = "#e6e6e6"
MUTED_DARK = "#8b919c"
GRID_DARK = "#3a3f4b"

# The pages (the explorer, the gallery): dark like the scenes, their colours all from above.
PAGE_DARK = {"bg": BACKGROUND_DARK, "panel": PANEL_DARK, "text": TEXT_DARK, "muted": MUTED_DARK,
             "grid": GRID_DARK, "link": OKABE_ITO["sky_blue"], "hover": OKABE_ITO["yellow"],
             "pass": OKABE_ITO["bluish_green"], "fail": OKABE_ITO["vermillion"], "print": BACKGROUND}


def key_color(i: int) -> str:
    """Colour of the i-th key frequency (cycles past eight)."""
    return KEY_FREQ[i % len(KEY_FREQ)]


def key_colors(keys) -> dict[int, str]:
    """{k: colour} for the key frequencies k, in their order."""
    return {int(k): key_color(i) for i, k in enumerate(keys)}
