"""Scenes of a run whose op is not addition: drawn in the coordinates where its answer adds (summary
"additive", extraction/coords.py), over n = p − 1 for mul, with every axis, line and answer named in
the op's terms; a pow whose power collides has no grid, and the scenes that need one say why."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

pytest.importorskip("manim")

from grokking.scenes import data as scene_data  # noqa: E402
from grokking.scenes.catalog import SCENES  # noqa: E402

INTRO = ("ModularTable", "OneHot", "GrokkingCurve")


def _retask(root, run, task: dict, additive: dict):
    """Rewrite a synthetic run's summary as another op's (the labels read only the summary)."""
    f = root / run / "summary.json"
    s = json.loads(f.read_text())
    s["task"].update(task)
    s["additive"] = {"found": True, **additive}
    f.write_text(json.dumps(s))


def test_the_axes_answers_and_waves_are_named_in_the_ops_terms(tmp_path):
    """Planted summaries: a mul run's axes are the discrete log (an element and its token both
    named where they differ), w = 2πk/n; an add run's read exactly as before."""
    from tests.synthetic import make_synthetic_assets
    p, n = 23, 22
    make_synthetic_assets(tmp_path, run="m", p=p)
    make_synthetic_assets(tmp_path, run="a", p=p)
    powers = [pow(5, i, p) for i in range(n)]                   # 5 generates mod 23
    _retask(tmp_path, "m", {"op": "mul"},
            {"op": "mul", "x_axis": "log₅ x", "y_axis": "log₅ y", "line": "log₅ x + log₅ y", "n": n,
             "generator": 5, "grid": True, "outputs": powers, "digits": powers})
    with scene_data.using("m", tmp_path):
        d = scene_data.load()
        assert (d.p, d.n) == (p, n) and (d.x_name, d.y_name, d.sum_name) == ("log₅ x", "log₅ y", "log₅ x + log₅ y")
        assert d.at_x(0) == "log₅ x = 0 (x = 1)" and d.at_x(2) == "log₅ x = 2 (x = 2)"
        assert d.answer(3) == 10 and d.on_line(3) == "log₅ x + log₅ y ≡ 3 (answer 10)"
        assert d.on_line(3, mod=True) == "log₅ x + log₅ y ≡ 3  (mod 22; answer 10)"
        assert d.output_name(3) == "10 (log₅ 10 = 3)"
        assert d.y_token(2) == 2 and d.y_token(3) == 10              # 5³ = 125 ≡ 10 (mod 23)
        assert d.w(11) == pytest.approx(np.pi) and d.freq_label(11) == "π"      # 2π·11/22, not /23
        assert d.wave_label("cos", 3) == "cos(3π(log₅ x)/11)" and d.embed_name(1) == "log₅ y"
        assert d.diff_name == "log₅ x − log₅ y"
        assert scene_data.axis_names() == ("log₅ x", "log₅ y")
        note = scene_data.coordinates_note(scene="Crest")
        assert "discrete log base 5" in note and "mod 22" in note
        assert scene_data.coordinates_note(scene="Clock") == note      # the embedding in log order too
    # div: the y axis is −log₅ y mod 22; an unreduced sum of the axes is written out
    make_synthetic_assets(tmp_path, run="dv", p=p)
    _retask(tmp_path, "dv", {"op": "div"},
            {"op": "div", "x_axis": "log₅ x", "y_axis": "−log₅ y mod 22", "line": "log₅ x − log₅ y", "n": n,
             "generator": 5, "grid": True, "outputs": powers, "digits": powers})
    with scene_data.using("dv", tmp_path):
        d = scene_data.load()
        assert (d.x_name, d.y_name, d.axes_sum, d.diff_name) == (
            "log₅ x", "−log₅ y", "log₅ x + (−log₅ y)", "log₅ x + log₅ y")
        assert d.y_token(1) == 14 and 5 * 14 % p == 1              # −log₅ y = 1: y = 5⁻¹
        assert scene_data.axis_names() == ("log₅ x", "−log₅ y") and d.embed_name(1) == "log₅ y"
    # pow with a grid (x³, y⁵ one-to-one mod 23): the embedding's axis is x³, its rows the cube roots
    make_synthetic_assets(tmp_path, run="pg", p=p)
    roots = [pow(m, pow(3, -1, p - 1), p) for m in range(p)]
    _retask(tmp_path, "pg", {"op": "pow", "a": 3, "b": 5},
            {"op": "pow", "x_axis": "x³", "y_axis": "y⁵", "line": "x³ + y⁵", "n": p, "grid": True,
             "outputs": list(range(p)), "digits": roots})
    with scene_data.using("pg", tmp_path):
        d = scene_data.load()
        assert (d.n, d.axes_sum, d.embed_name(0), d.embed_name(1)) == (p, "x³ + y⁵", "x³", "y³")
        assert d.at_x(8) == f"x³ = 8 (x = {roots[8]})" and roots[8] ** 3 % p == 8
        assert d.on_line(7) == "x³ + y⁵ ≡ 7" and d.output_name(7) == "7"       # the answer is the element
        assert d.y_token(10) ** 5 % p == 10
        assert "x³ and y⁵" in scene_data.coordinates_note(scene="Crest")
    with scene_data.using("a", tmp_path):
        d = scene_data.load()
        assert (d.n, d.x_name, d.y_name, d.sum_name) == (p, "x", "y", "x + y")
        assert d.at_x(0) == "x = 0" and d.on_line(7) == "x + y ≡ 7" and d.output_name(7) == "7"
        assert d.on_line(7, mod=True) == "x + y ≡ 7  (mod 23)" and d.wave_label("cos", 3) == "cos(6πx/23)"
        assert scene_data.axis_names() == ("x", "y") and scene_data.coordinates_note(scene="Crest") is None


def test_a_pow_run_without_a_grid_leaves_out_the_scenes_that_need_one(tmp_path):
    """x ↦ x² collides mod 23 (gcd(2, 22) = 2): no (x², y²) grid, so every scene of the mechanism
    over it says why it is not drawn (naming the collision); the curves and the intro still are."""
    from tests.synthetic import make_synthetic_assets
    make_synthetic_assets(tmp_path, run="pw", p=23)
    _retask(tmp_path, "pw", {"op": "pow", "a": 2, "b": 3},
            {"op": "pow", "x_axis": "x²", "y_axis": "y³", "line": "x² + y³", "n": 23, "grid": False,
             "outputs": list(range(23)), "digits": list(range(23))})
    with scene_data.using("pw", tmp_path):
        for name in scene_data.ALONG_SUM:
            why = scene_data.absent(name)
            assert why and "(x², y³) grid" in why and "x ↦ x² is 2-to-1 mod 23" in why, (name, why)
            assert "y ↦" not in why                            # y ↦ y³ is one-to-one mod 23
        for name in (*INTRO, "ExcludedLoss"):
            assert scene_data.absent(name) is None, name
    # the same run with a grid: nothing left out for want of one
    _retask(tmp_path, "pw", {"a": 3}, {"op": "pow", "x_axis": "x³", "y_axis": "y³", "line": "x³ + y³", "n": 23,
                                       "grid": True, "outputs": list(range(23)), "digits": list(range(23))})
    with scene_data.using("pw", tmp_path):
        assert scene_data.absent("Crest") is None and scene_data.absent("Clock") is None


def _render_recording(name, run, root, tmp_path):
    """Render the still of a scene; every Text shown after each play or wait, and the data sizes of
    every Panel's x axis and every SurfaceView drawn."""
    from manim import Scene, Text
    from grokking.scenes import panels, surface3d
    from grokking.scenes.cli import render
    texts, panels_x, surfaces = set(), [], []

    def record(scene):
        for m in scene.mobjects:
            for t in m.get_family():
                if isinstance(t, Text) and t.text.strip():
                    texts.add(t.text)
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
               pixel_width=160, pixel_height=90, progress=False)
    finally:
        mp.undo()
    return texts, panels_x, surfaces


@pytest.mark.slow
def test_scenes_of_a_tiny_mul_run_draw_over_the_discrete_log(runs_dir, tiny_cfg):
    """A tiny mul run (p = 11: Z_10 through log₂) trained and extracted: every scene it can draw
    names the discrete log on its axes, never a bare x + y or mod 11, and draws n = 10 values per
    sweep and 10 × 10 surfaces; the intro scenes keep the task's p = 11."""
    from grokking.extraction.extract import extract
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    p, n = tiny_cfg.p, tiny_cfg.p - 1
    train([Seeded(tiny_cfg.replace(op="mul"), Run("mul"))], progress=False)
    root = runs_dir.parent / "assets"
    extract("mul", progress=False, runs_root=runs_dir, assets_root=root)
    with scene_data.using("mul", root):
        d = scene_data.load()
        assert (d.p, d.n, d.x_name) == (p, n, "log₂ x")
        drawn = [s for s in SCENES if s not in INTRO and s != "Relabel" and scene_data.absent(s) is None]
    # this run learns no key frequency, but its probe and its logit are measured
    assert {"EmbeddingProbe", "Clock", "LogitSurface"} <= set(drawn)
    for name in drawn:
        texts, xs, shapes = _render_recording(name, "mul", root, runs_dir.parent / name)
        every = "\n".join(texts)                 # (Manim's Text keeps no spaces)
        assert "log₂" in every, name
        assert "x+y" not in every and "mod11" not in every, (name, every)
        assert not re.search(r"(?<!log₂)x=0…", every), (name, every)
        assert all(shape == (n, n) for shape in shapes), (name, shapes)
        if name in ("EmbeddingProbe", "Clock", "TrainingStory"):
            assert (-0.5, n - 0.5) in xs or name == "Clock", (name, xs)
            assert (-0.5, p - 0.5) not in xs, (name, xs)
        if name == "LogitSurface":
            assert shapes and "(mod10" in every
        if name == "Clock":
            assert f"theclockhas{n}hoursoverlog₂x" in every and "log₂x=0…9" in every
    texts, _, _ = _render_recording("GrokkingCurve", "mul", root, runs_dir.parent / "curve")
    assert "(x·y)mod11" in "\n".join(texts)
