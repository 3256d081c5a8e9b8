"""The shared look of every scene, one name space for the scene modules (`from scenes import look as L`:
absolute, because Manim's own command line loads a scene file under a module name of its own,
where a relative import fails), assembled from modules by concern:

    theme       the palette (common/palette.py on the dark background), fonts, text, colour arrays
    canvas      the base scenes (DataScene, DataThreeDScene), their cameras, images from arrays
    panels      plot panels, dot clouds, curves, rules, colour bars, point tags, layout helpers
    surface3d   a p x p surface in 3D as one image (a small software rasteriser)
"""
from __future__ import annotations

from .canvas import *  # noqa: F401,F403
from .panels import *  # noqa: F401,F403
from .surface3d import *  # noqa: F401,F403
from .theme import *  # noqa: F401,F403
