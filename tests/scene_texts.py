"""What a rendered scene's texts measure, for the legibility and layout tests."""
from __future__ import annotations

import numpy as np


def drawn_size(t) -> float:
    """A Text's font size as drawn, after any scaling; a turned one (an upright y caption) read
    along its width."""
    size = t.font_size
    if len(t.text.strip()) > 2 and t.height > 1.5 * t.width:
        size = t.width / t.initial_height * t._font_size
    return size


def shown(t) -> bool:
    """A Text a viewer sees: some text, some size, not faded out."""
    return bool(t.text.strip()) and t.initial_height > 0 and t.height > 0 and t.get_fill_opacity() > 0


def box(m) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) in frame units."""
    (x0, y0, _), (x1, y1, _) = m.get_corner([-1, -1, 0]), m.get_corner([1, 1, 0])
    return x0, y0, x1, y1


def overlap(a, b, pad: float = 0.0) -> bool:
    return a[0] < b[2] - pad and b[0] < a[2] - pad and a[1] < b[3] - pad and b[1] < a[3] - pad


def render_recording(name, run, root, tmp_path, frames: list | None = None, pixels=(160, 90)):
    """Render the still of a scene; every Text shown after each play or wait, and the data sizes of
    every Panel's x axis and every SurfaceView drawn. `frames`: appended after each play or wait,
    every text a viewer sees then as (text, font size as drawn, box, is the coordinates note).
    `pixels`: the render's size; Manim lays a Text out within it, so a layout test renders at
    1920 × 1080, where no long line wraps."""
    import pytest
    from manim import Scene, Text
    from grokking.scenes import panels, surface3d
    from grokking.scenes.cli import render
    texts, panels_x, surfaces = set(), [], []

    def record(scene):
        note = getattr(scene, "coordinates_note", None)
        notes = {id(t) for t in note.get_family()} if note is not None else set()
        frame = []
        for m in scene.mobjects:
            for t in m.get_family():
                if isinstance(t, Text) and t.text.strip():
                    texts.add(t.text)
                    if shown(t):
                        frame.append((t.text, drawn_size(t), box(t), id(t) in notes))
        if frames is not None:
            frames.append(frame)
    play, wait = Scene.play, Scene.wait
    panel_init, sv_init = panels.Panel.__init__, surface3d.SurfaceView.__init__

    def panel(self, width, height, xlim, ylim, *a, **k):
        panels_x.append(tuple(float(v) for v in xlim))
        panel_init(self, width, height, xlim, ylim, *a, **k)

    def sv(self, Z, *a, **k):
        surfaces.append(np.asarray(Z).shape)
        sv_init(self, Z, *a, **k)
    mp = pytest.MonkeyPatch()
    mp.setattr(Scene, "play", lambda self, *a, **k: (play(self, *a, **k), record(self)))
    mp.setattr(Scene, "wait", lambda self, *a, **k: (wait(self, *a, **k), record(self)))
    mp.setattr(panels.Panel, "__init__", panel)
    mp.setattr(surface3d.SurfaceView, "__init__", sv)
    try:
        render(name, run=run, quality="low", still=True, media_dir=tmp_path / "media", root=root,
               pixel_width=pixels[0], pixel_height=pixels[1], progress=False)
    finally:
        mp.undo()
    return texts, panels_x, surfaces
