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
from tests.scene_texts import render_recording  # noqa: E402

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
            if name in scene_data.EMBEDDING:                   # its planted probes are waves in x itself
                assert "not waves in x² at each token x" in why and "grokking extract --run pw" in why, why
        for name in (*INTRO, "ExcludedLoss"):
            assert scene_data.absent(name) is None, name
    # its probes refitted to the waves of x² at each token x (as extraction now fits them): the Clock
    # and EmbeddingProbe are drawn over the tokens; every scene over the pairs stays absent
    _plant_power_probes(tmp_path, "pw", 2)
    with scene_data.using("pw", tmp_path):
        for name in scene_data.ALONG_SUM:
            why = scene_data.absent(name)
            assert (why is None) == (name in ("Clock", "EmbeddingProbe")), (name, why)
    # the same run with a grid: nothing left out for want of one
    _retask(tmp_path, "pw", {"a": 3}, {"op": "pow", "x_axis": "x³", "y_axis": "y³", "line": "x³ + y³", "n": 23,
                                       "grid": True, "outputs": list(range(23)), "digits": list(range(23))})
    with scene_data.using("pw", tmp_path):
        assert scene_data.absent("Crest") is None and scene_data.absent("Clock") is None


def _plant_power_probes(root, run, a: int, share: float | None = None):
    """Refit a synthetic run's probes as extraction fits a pow without a grid: targets cos and sin
    of 2πk·x^a/p at each token x, the probes' outputs those waves plus noise (so colliding x land
    near, not exactly on, one point); `share`: the collision share of x^a planted in the summary.
    The manifest's hashes follow."""
    import hashlib
    d = root / run
    s = json.loads((d / "summary.json").read_text())
    p, k = s["task"]["p"], s["probe"]["k"]
    xa = np.array([pow(x, a, p) for x in range(p)])
    pr = dict(np.load(d / "probes.npz"))
    rng = np.random.default_rng(0)
    R = rng.normal(0, 0.05, pr["resid_pos0"].shape)
    for j, (fn, f) in enumerate((("cos", np.cos), ("sin", np.sin))):
        pr[f"{fn}_target"] = f(2 * np.pi * k * xa / p)
        R[:, j] += pr[f"{fn}_target"]
        pr[f"{fn}_weights"] = np.eye(R.shape[1])[j]
        pr[f"{fn}_dims"], pr[f"{fn}_bias"] = np.array([j]), np.array(0.0)
        s["probe"][fn].update({"dims": [j], "weights": [1.0]})
    pr["resid_pos0"], pr["resid_pos1"] = R, R + 0.01
    np.savez(d / "probes.npz", **pr)
    if share is not None:
        s["additive"]["collision_share"] = {f"x{'⁰¹²³⁴⁵⁶⁷⁸⁹'[a]}": share}
    (d / "summary.json").write_text(json.dumps(s))
    m = json.loads((d / "manifest.json").read_text())
    for name in m["files"]:
        m["files"][name] = hashlib.sha256((d / name).read_bytes()).hexdigest()
    (d / "manifest.json").write_text(json.dumps(m))
    return xa


def test_a_pow_run_without_a_grid_draws_each_token_at_its_power(tmp_path):
    """Planted: x ↦ x² mod 23 with the probes' targets waves in x² at each token x. Each token sits
    at its x² on the probes' axis and the clock (x and −x in one place), the waves are named in x²
    (y² at position 1), and the collisions are counted from the tokens: 12 points for 23 tokens,
    each token on the point of the smallest token with its x², with the planted collision share."""
    from tests.synthetic import make_synthetic_assets
    p = 23
    make_synthetic_assets(tmp_path, run="pw", p=p)
    _retask(tmp_path, "pw", {"op": "pow", "a": 2, "b": 2},
            {"op": "pow", "x_axis": "x²", "y_axis": "y²", "line": "x² + y²", "n": p, "grid": False,
             "outputs": list(range(p)), "digits": list(range(p))})
    with scene_data.using("pw", tmp_path):               # targets still waves in x: nothing over x²
        d = scene_data.load()
        assert d.probe_power is None and list(d.probe_axis()) == list(range(p)) and d.probe_var(0) == "x"
    xa = _plant_power_probes(tmp_path, "pw", 2, share=0.97)
    with scene_data.using("pw", tmp_path):
        d = scene_data.load()
        k = d.key_k
        assert list(d.probe_power) == list(xa) and list(d.probe_axis()) == list(xa)
        assert d.probe_axis()[5] == d.probe_axis()[18] == 2                  # 5² = 25 ≡ 18² ≡ 2
        assert (d.embed_name(0), d.probe_var(0), d.probe_var(1)) == ("x", "x²", "y²")
        assert d.wave_label("cos") == f"cos({2 * k}πx²/23)" and d.wave_label("sin", var=d.probe_var(1)).endswith("y²/23)")
        c = d.collisions()
        assert (c["power"], c["fold"], c["points"], c["share"]) == ("x²", 2, 12, 0.97)
        assert c["phrase"] == "x and −x (x² equal)"
        assert c["first"][0] == 0 and all(c["first"][x] == min(x, p - x) for x in range(1, p))
        assert scene_data.coordinates_note(scene="Clock") is None


@pytest.mark.slow
def test_clock_and_probe_of_a_pow_run_without_a_grid_place_each_token_at_its_power(tmp_path):
    """Rendered from the planted x² mod 23 run: the probes' panels draw each token at its x² (x and
    −x in one column), the clock's last token x = 22 turns the hand by w·22² ≡ w·1 and says it is on
    x = 1's point; the collisions and the collision share are said; no laps of the hand."""
    from manim import Text
    from grokking.scenes import panels
    from tests.synthetic import make_synthetic_assets
    p = 23
    make_synthetic_assets(tmp_path, run="pw", p=p)
    _retask(tmp_path, "pw", {"op": "pow", "a": 2, "b": 2},
            {"op": "pow", "x_axis": "x²", "y_axis": "y²", "line": "x² + y²", "n": p, "grid": False,
             "outputs": list(range(p)), "digits": list(range(p))})
    xa = _plant_power_probes(tmp_path, "pw", 2, share=0.97)
    with scene_data.using("pw", tmp_path):
        k = scene_data.load().key_k
    drawn = []
    draw = panels.DotLayer.draw

    def record(self, x, y, *a, **kw):
        drawn.append(np.asarray(x, float).copy())
        return draw(self, x, y, *a, **kw)
    mp = pytest.MonkeyPatch()
    mp.setattr(panels.DotLayer, "draw", record)
    try:
        texts, _, _ = render_recording("EmbeddingProbe", "pw", tmp_path, tmp_path / "probe")
    finally:
        mp.undo()
    every = "\n".join(texts)
    full = [x for x in drawn if len(x) == p]
    assert full and all(sorted(x) == sorted(xa) for x in full), full      # each token at its x², not at x
    assert f"cos({2 * k}πy²/23)" in every and "y²mod23:yand−yshareacolumn" in every, every
    texts, _, _ = render_recording("Clock", "pw", tmp_path, tmp_path / "clock")
    every = "\n".join(texts)
    deg = np.degrees(2 * np.pi * k * 1 / p) % 360                          # 22² ≡ 1 (mod 23)
    assert f"={deg:.0f}°(mod360°)" in every and "x=22,x²≡1" in every, every
    assert "samepointasx=1:1²≡22²" in every, every
    assert "xand−x(x²equal)landtogether:12placesfor23tokens" in every, every
    assert "97.0%oftheembedding'svariance" in every and "turn" not in every, every


@pytest.mark.slow
def test_scenes_of_a_tiny_mul_run_draw_over_the_discrete_log(runs_dir, tiny_cfg):
    """A tiny mul run (p = 11: Z_10 through log₂) trained and extracted: every scene it can draw
    names the discrete log on its axes, never a bare x + y or mod 11, and draws n = 10 values per
    sweep and 10 × 10 surfaces; every text it shows, its corner note included, is at least
    MIN_TEXT, and the note overlaps no other text; the intro scenes keep the task's p = 11."""
    from grokking.extraction.extract import extract
    from grokking.scenes.theme import MIN_TEXT
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    from tests.scene_texts import overlap
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
        frames = []
        texts, xs, shapes = render_recording(name, "mul", root, runs_dir.parent / name, frames, pixels=(1920, 1080))
        every = "\n".join(texts)                 # (Manim's Text keeps no spaces)
        # every text legible, the corner note included; the note clear of every other text
        small = {(t, round(s, 1)) for f in frames for t, s, _, _ in f if s < MIN_TEXT - 0.05}
        assert not small, (name, small)
        notes = [t for f in frames for t, _, _, is_note in f if is_note]
        if name in scene_data.OVER_PAIRS + ("EmbeddingProbe", "Clock"):
            assert notes and all("discretelogbase2" in t or "x=0,y=0apart" in t for t in notes), (name, notes)
        hit = {(t, u) for f in frames for t, _, b, n in f if n
               for u, _, c, m in f if not m and overlap(b, c)}
        assert not hit, (name, hit)
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
    texts, _, _ = render_recording("GrokkingCurve", "mul", root, runs_dir.parent / "curve")
    assert "(x·y)mod11" in "\n".join(texts)


def test_a_long_logit_formula_breaks_into_lines_at_full_size():
    """LogitSurface's formula for mul-s0 (four waves over s = log₃ x + log₃ y, answer 65 at element
    105) does not fit one line at size 20: it breaks after a " +" into lines that each fit, in order,
    never shrunk; a short one stays one line."""
    from grokking.scenes import look as L
    from grokking.scenes.trig import formula_lines
    terms = [f"{a:.1f}·cos(w{i + 1}(s − 105))" for i, a in enumerate([9.1, 8.3, 7.2, 5.5])]
    head, tail = "logit 65 ≈ 1.2 + ", ",  s = log₃ x + log₃ y"
    assert L.formula(head + " + ".join(terms) + tail, size=20).width > 13.6
    lines = formula_lines(head, terms, tail, width=13.6, size=20)
    assert len(lines) == 2 and all(L.formula(x, size=20).width <= 13.6 for x in lines)
    assert " ".join(lines) == head + " + ".join(terms) + tail
    assert lines[0].endswith(" +") and lines[1].endswith(tail)
    assert formula_lines("logit 7 ≈ 0.3 + ", terms[:2], width=13.6, size=20) == ["logit 7 ≈ 0.3 + " + " + ".join(terms[:2])]


def test_a_caption_set_before_a_wait_shows_during_that_wait(tmp_path):
    """A LiveText whose text changes right before a wait is drawn with its new text in the frame the
    wait holds (Manim freezes a wait without time-based updaters, running no updater: LogitSurface's
    captions used to lag one step behind the surface they describe)."""
    from manim import Dot, FadeIn, tempconfig
    from grokking.scenes import look as L
    from grokking.scenes.canvas import DataScene
    from tests.synthetic import make_synthetic_assets
    root = make_synthetic_assets(tmp_path / "assets", run="synth").parent
    shown = []

    class Caption(DataScene):
        def construct(self):
            cap = {"t": "before"}
            text = L.LiveText(lambda: cap["t"], [0, 0, 0])
            self.add(text)
            self.play(FadeIn(Dot()), run_time=0.2)
            cap["t"] = "after"
            draw = self.renderer.update_frame

            def record(scene, *a, **k):
                shown.append(text.current)
                return draw(scene, *a, **k)
            self.renderer.update_frame = record
            self.wait(0.4)

    with scene_data.using("synth", root), tempconfig({"media_dir": str(tmp_path / "media"), "pixel_width": 64,
                                                       "pixel_height": 36, "frame_rate": 5, "disable_caching": True}):
        Caption().render()
    assert shown and set(shown) == {"after"}, shown
