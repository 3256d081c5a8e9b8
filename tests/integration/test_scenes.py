"""Scenes: every scene renders its last frame from small synthetic assets; the CLI lists and
refuses missing runs; the trig-identity sum drawn is the diagonal cos(w(x + y)), not x - y."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("manim")

from grokking.scenes.catalog import SCENES  # noqa: E402


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from tests.synthetic import make_synthetic_assets
    root = tmp_path_factory.mktemp("assets")
    make_synthetic_assets(root, run="synth")
    return root


@pytest.mark.parametrize("name", list(SCENES))
@pytest.mark.slow
def test_scene_last_frame(name, synth, tmp_path):
    from PIL import Image
    from grokking.scenes.cli import render
    from grokking.scenes import look
    out = render(name, run="synth", quality="low", still=True, media_dir=tmp_path / "media", root=synth,
                 pixel_width=320, pixel_height=180, progress=False)
    assert out is not None and out.exists() and out.suffix == ".png"
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert img.shape[:2] == (180, 320)
    bg = look.hex_rgb(look.BG).astype(int)
    drawn = (np.abs(img - bg).sum(-1) > 60).mean()
    assert 0.005 < drawn < 0.9, f"{name}: {drawn:.3f} of the frame differs from the background"


def test_scene_list_and_missing_run(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from grokking.cli import cli
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["scene", "--list"])
    assert r.exit_code == 0
    for name in SCENES:
        assert name in r.output
    r = CliRunner().invoke(cli, ["scene", "GrokkingCurve", "--run", "no-such-run"])
    assert r.exit_code == 2
    assert "no-such-run" in r.output and "extract" in r.output


def test_unknown_scene_is_a_usage_error(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from grokking.cli import cli
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["scene", "NoSuchScene"])
    assert r.exit_code == 2 and "unknown scene" in r.output


def _best_corr(S, target_fn, w, p):
    """max over phase of the correlation of S with target_fn(w·(...) + phase)."""
    x = np.arange(p)
    X, Y = np.meshgrid(x, x, indexing="ij")
    best = 0.0
    for phi in np.linspace(0, 2 * np.pi, 72, endpoint=False):
        best = max(best, np.corrcoef(S.ravel(), target_fn(X, Y, w, phi).ravel())[0, 1])
    return best


def test_trig_identity_sum_is_the_diagonal(synth, monkeypatch):
    from grokking.scenes import data
    monkeypatch.setenv(data.RUN_ENV, "synth")
    monkeypatch.setenv(data.ASSETS_ENV, str(synth))
    d = data.load()
    t = d.trig_identity()
    p, w = d.p, d.w(t["k"])
    assert t["measured"] and t["weights"][0] * t["weights"][1] < 0    # the planted votes, opposite
    drawn = t["weights"][0] * t["coscos"] + t["weights"][1] * t["sinsin"]
    assert np.allclose(drawn, t["sum"], atol=1e-6)        # the vote-weighted sum
    plus = _best_corr(drawn, lambda X, Y, w, f: np.cos(w * (X + Y) + f), w, p)
    minus = _best_corr(drawn, lambda X, Y, w, f: np.cos(w * (X - Y) + f), w, p)
    assert plus >= 0.99 and minus < 0.5
    # and the unflipped sum (the video's public code) would have been the wrong diagonal
    wrong = t["coscos"] + t["sinsin"]
    assert _best_corr(wrong, lambda X, Y, w, f: np.cos(w * (X - Y) + f), w, p) >= 0.99


# ---- part 2: surfaces ----------------------------------------------------------------------------


def _sampled(sv, Z):
    """The drawn image's colour at project(x, y) for every grid point, as (R - B) [p, p]."""
    p = sv.p
    img = sv.pixel_array.astype(float)
    Hp, Wp = img.shape[:2]
    X, Y = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    pts = sv.project(X.ravel(), Y.ravel(), Z.ravel())
    c, w, h = sv.get_center(), sv.width, sv.height
    px = np.clip(((pts[:, 0] - (c[0] - w / 2)) / w * Wp).astype(int), 0, Wp - 1)
    py = np.clip((((c[1] + h / 2) - pts[:, 1]) / h * Hp).astype(int), 0, Hp - 1)
    rgb = img[py, px, :3]
    return (rgb[:, 0] - rgb[:, 2]).reshape(p, p), img[py, px, 3].reshape(p, p)


def test_surface_view_draws_x_across_y_up():
    """Overhead, a ramp in x is drawn increasing to the right, a ramp in y increasing upwards, and
    the pixel at project(x, y) shows Z[x, y] (labels and markers use project())."""
    from manim import tempconfig
    from grokking.scenes import look as L
    p = 21
    X, Y = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    with tempconfig({"pixel_width": 640, "pixel_height": 360}):
        for Z, mode in ((X.astype(float), "mesh"), (Y.astype(float), "tiles")):
            sv = L.SurfaceView(Z, 6, 5, cmap_name=L.DIV_CMAP, theta=0.0, phi=np.pi / 2, mode=mode)
            a = sv.project(p - 1, 0) - sv.project(0, 0)
            b = sv.project(0, p - 1) - sv.project(0, 0)
            assert a[0] > 1 and abs(a[1]) < 1e-6 and b[1] > 1 and abs(b[0]) < 1e-6
            rb, alpha = _sampled(sv, Z)
            assert (alpha > 0).all()
            assert np.corrcoef(rb.ravel(), Z.ravel())[0, 1] > 0.9              # (RdBu is not linear)
            assert abs(np.corrcoef(rb.ravel(), Z.T.ravel())[0, 1]) < 0.1       # not transposed


def test_trig_identity_drawn_picture_runs_along_x_plus_y(synth, monkeypatch):
    """What TrigIdentity's last shot draws (sum_view, overhead): at each projected (x, y) the
    picture's colour follows cos(w(x + y) + φ), not cos(w(x − y) + φ)."""
    from manim import tempconfig
    from grokking.scenes import data
    from grokking.scenes.trig import sum_view
    monkeypatch.setenv(data.RUN_ENV, "synth")
    monkeypatch.setenv(data.ASSETS_ENV, str(synth))
    d = data.load()
    t = d.trig_identity()
    p, w = d.p, d.w(t["k"])
    with tempconfig({"pixel_width": 854, "pixel_height": 480}):
        sv = sum_view(d)
        drawn = sv.state["Z"]
        assert np.allclose(drawn, t["sum"] / max(abs(v) for v in t["weights"]), atol=1e-6)   # ÷ the larger vote
        rb, _ = _sampled(sv, drawn)
    plus = _best_corr(rb, lambda X, Y, w, f: np.cos(w * (X + Y) + f), w, p)
    minus = _best_corr(rb, lambda X, Y, w, f: np.cos(w * (X - Y) + f), w, p)
    assert plus >= 0.9 and minus < 0.2, (plus, minus)     # colours, not values: RdBu and shading bend them


def test_crest_points_lie_on_x_plus_y_T(synth, monkeypatch):
    from grokking.scenes import data
    from grokking.scenes.surfaces import split_crests
    monkeypatch.setenv(data.RUN_ENV, "synth")
    monkeypatch.setenv(data.ASSETS_ENV, str(synth))
    d = data.load()
    T, p = int(d.summary["selections"]["crest"]["T"]), d.p
    pts = d.selection("crest_points")
    first, second = split_crests(pts, T, p)
    assert len(first) + len(second) == len(pts) and first and second
    assert all((a + b) % p == T for a, b in first + second)
    lm = d.selection("logit_maxima").astype(int)
    o = int(d.summary["selections"]["logit"]["output"])
    assert all((a + b) % p == o for a, b in lm)


@pytest.mark.slow
def test_manims_own_command_line_renders_a_still_where_render_py_would(synth, tmp_path):
    """`manim -s grokking/scenes/waves.py NeuronWaves` from the repository root (its manim.cfg) draws the
    run GROKKING_RUN names, into the images folder grokking uses for that run."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from PIL import Image
    from grokking.scenes import data, look
    from grokking.scenes.cli import output_dirs
    root = Path(__file__).resolve().parents[2]
    media = tmp_path / "media"
    env = {**os.environ, data.RUN_ENV: "synth", data.ASSETS_ENV: str(synth), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "manim", "-ql", "-s", "-r", "320,180", "--media_dir", str(media),
                        "grokking/scenes/waves.py", "NeuronWaves"], cwd=root, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    stills = list(Path(output_dirs(media, "synth")["images_dir"]).glob("NeuronWaves*.png"))
    assert len(stills) == 1, sorted(str(p) for p in media.rglob("*.png"))
    img = np.asarray(Image.open(stills[0]).convert("RGB")).astype(int)
    drawn = (np.abs(img - look.hex_rgb(look.BG).astype(int)).sum(-1) > 60).mean()
    assert img.shape[:2] == (180, 320) and 0.005 < drawn < 0.9


# ---- legibility: fitted waves, short term names, the crests' row maxima -------------


def test_wave_fits_draw_each_neurons_own_wave(synth, monkeypatch):
    """NeuronWaves' overlay is extraction's fit at the neuron's frequency: it follows the dots it
    is drawn over (the planted sweeps are ReLU'd cosines of the key frequencies)."""
    from grokking.scenes import data
    monkeypatch.setenv(data.RUN_ENV, "synth")
    monkeypatch.setenv(data.ASSETS_ENV, str(synth))
    d = data.load()
    p, y = d.p, np.arange(d.p)
    fits = d.wave_fits
    assert [f["k"] for f in fits] == d.sel(data.fmt.WaveNeurons).freqs
    def lstsq(s, k):                # a·cos + b·sin + c at frequency k, fitted to the dots
        A = np.stack([np.cos(2 * np.pi * k * y / p), np.sin(2 * np.pi * k * y / p), np.ones(p)], 1)
        return A @ np.linalg.lstsq(A, s, rcond=None)[0]
    for f, s in zip(fits, d.wave_sweeps):
        wave = f["mean"] + f["amp"] * np.cos(2 * np.pi * f["k"] * y / p + f["phase"])
        assert np.allclose(wave, lstsq(s, f["k"]), atol=1e-5 * np.abs(s).max())
        # and it follows the dots better than the best wave of any other key frequency
        for other in set(d.summary["key_frequencies"]) - {f["k"]}:
            assert np.corrcoef(wave, s)[0, 1] > np.corrcoef(lstsq(s, other), s)[0, 1] + 0.3


def test_short_terms_name_one_frequency_w():
    from grokking.extraction import fourier as fo
    from grokking.scenes.surfaces import short_terms
    p = 23
    x = np.arange(p)
    X, Y = np.meshgrid(x, x, indexing="ij")
    w = 2 * np.pi * 5 / p
    one = fo.decompose(0.8 * np.cos(w * X) * np.cos(w * Y) + 0.3 * np.sin(w * Y), 2)["terms"]
    named, legend = short_terms(one, p)
    assert [t["term"] for t in named] == ["cos(wx)·cos(wy)", "sin(wy)"]
    assert legend == f"w = {fo.freq_label(5, p)}"
    assert [t["coef"] for t in named] == [t["coef"] for t in one]
    mixed = fo.decompose(np.cos(w * X) + 0.5 * np.cos(2 * np.pi * 2 * Y / p), 2)["terms"]
    assert short_terms(mixed, p) == (mixed, "")


def test_crest_row_maxima_trace_x_plus_y_T(synth, monkeypatch):
    """The planted crest (the key frequencies' waves in x + y, peaking together on T): every row's
    maximum lies on x + y ≡ T (mod p), the first crest for x <= T, the second after."""
    from grokking.scenes import data
    from grokking.scenes.surfaces import row_maxima
    monkeypatch.setenv(data.RUN_ENV, "synth")
    monkeypatch.setenv(data.ASSETS_ENV, str(synth))
    d = data.load()
    T, p = int(d.sel(data.fmt.Crest).T), d.p
    tops = row_maxima(d.selection("crest_surface"))
    assert [a for a, _ in tops] == list(range(p))
    assert all(a + b == (T if a <= T else T + p) for a, b in tops)


def test_tallest_ridges_seen_along_the_crests_are_x_plus_y_T():
    """Crest's low view along the crests names the two tallest ridges from the data: on a planted
    crest they are x + y = T and x + y = T + p; on a crest moved to T + 3 the caption follows it."""
    from grokking.scenes.surfaces import tallest_ridges
    p, T = 23, 9
    X, Y = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    Z = np.cos(2 * np.pi * (X + Y - T) / p) + 0.3 * np.cos(2 * np.pi * 4 * (X + Y - T) / p)
    assert sorted(tallest_ridges(Z)) == [T, T + p]
    assert sorted(tallest_ridges(np.roll(Z, 3, axis=0))) == [T + 3, T + 3 + p]


# ---- the answer's line: labels that do not overlap ------------------------------------------------


def final_scene(name: str, run: str, root, media):
    """The scene object after rendering its last frame (as `grokking scene NAME --still` does)."""
    from manim import config, tempconfig
    from grokking.scenes import data
    from grokking.scenes.catalog import scene_class
    from grokking.scenes.cli import QUALITIES, output_dirs
    opts = {"quality": QUALITIES["low"], **output_dirs(media, run), "format": "png", "output_file": name,
            "disable_caching": True, "verbosity": "WARNING", "progress_bar": "none"}
    with data.using(run, root), tempconfig(opts):
        config.pixel_width, config.pixel_height = 640, 360
        scene = scene_class(name)()
        scene.render()
    return scene


def text_boxes(scene) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Every visible text mobject in the scene's final frame: (its text, lower-left, upper-right)."""
    from manim import MarkupText, SingleStringMathTex, Text
    out = []

    def walk(m):
        if isinstance(m, (Text, MarkupText, SingleStringMathTex)):
            if max(m.get_fill_opacity(), m.get_stroke_opacity()) > 0.05 and m.width > 0:
                out.append((getattr(m, "original_text", getattr(m, "tex_string", "?")),
                            m.get_corner([-1, -1, 0])[:2], m.get_corner([1, 1, 0])[:2]))
            return
        for s in m.submobjects:
            walk(s)
    for m in scene.mobjects:
        walk(m)
    return out


def overlapping(boxes) -> list[tuple[str, str]]:
    bad = []
    for i, (ta, a0, a1) in enumerate(boxes):
        for tb, b0, b1 in boxes[i + 1:]:
            if a0[0] < b1[0] and b0[0] < a1[0] and a0[1] < b1[1] and b0[1] < a1[1]:
                bad.append((ta, tb))
    return bad


def test_overlapping_finds_planted_overlap():
    z = np.zeros(2)
    assert overlapping([("a", z, z + 1), ("b", z + 0.5, z + 2), ("c", z + 3, z + 4)]) == [("a", "b")]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["Crest", "LogitSurface"])
def test_answer_line_labels_do_not_overlap(name, synth, tmp_path):
    """The last frame of Crest and LogitSurface: every segment of x + y ≡ T is named, the profile
    along x + y − T names the answer's peak and the best rival, and no two texts overlap."""
    scene = final_scene(name, "synth", synth, tmp_path / "media")
    boxes = text_boxes(scene)
    texts = [t for t, *_ in boxes]
    d = scene.d
    T = int(d.sel(data_fmt().Crest).T) if name == "Crest" else int(d.sel(data_fmt().Logit).output)
    p = d.p
    assert f"x + y = {T}" in texts and f"x + y = {T + p} ≡ {T}" in texts
    assert any(t.startswith("best rival") and "% of the peak" in t for t in texts), texts
    assert any(t.startswith(f"x + y − {T}") for t in texts)
    assert not overlapping(boxes), overlapping(boxes)


def data_fmt():
    from grokking.common import assets
    return assets


def test_trig_identity_draws_the_measured_votes(synth, monkeypatch):
    """With measured votes in the assets, the sum TrigIdentity draws is votes[0]·cos·cos +
    votes[1]·sin·sin (÷ the larger |vote|), and its split into the x + y and x − y waves is exact."""
    from grokking.common import assets as fmt
    from grokking.extraction.mechanism import pair_sum_share
    from grokking.scenes import data
    from grokking.scenes.trig import drawn_weights, split_sum, sum_view
    monkeypatch.setenv(data.RUN_ENV, "synth")
    monkeypatch.setenv(data.ASSETS_ENV, str(synth))
    d = data.load()
    t = d.trig_identity()
    real = d.sel(fmt.ProductPair)
    planted = fmt.ProductPair.from_json({**real.to_json(), "votes": [-0.82, 0.57], "qualifies": True})
    own = d.sel
    monkeypatch.setattr(d, "sel", lambda cls: planted if cls is fmt.ProductPair else own(cls))
    assert drawn_weights(planted) == (pytest.approx(-1.0), pytest.approx(0.57 / 0.82))
    from manim import tempconfig
    with tempconfig({"pixel_width": 320, "pixel_height": 180}):
        Z = sum_view(d).state["Z"]
    assert np.allclose(Z, -t["coscos"] + 0.57 / 0.82 * t["sinsin"])
    s, dd = split_sum(-0.82, 0.57)
    p, w = d.p, d.w(t["k"])
    X, Y = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    assert np.allclose(-0.82 * t["coscos"] + 0.57 * t["sinsin"], s * np.cos(w * (X + Y)) + dd * np.cos(w * (X - Y)))
    assert s ** 2 / (s ** 2 + dd ** 2) == pytest.approx(pair_sum_share(-0.82, 0.57))


def test_answer_line_segments_and_best_rival():
    from grokking.extraction.mechanism import rival_crest
    from grokking.scenes.surfaces import best_rival, line_segments
    p = 23
    assert line_segments(9, p) == [(9, (0, 9), (9, 0)), (32, (10, 22), (22, 10))]
    assert line_segments(0, p) == [(0, (0, 0), (0, 0)), (23, (1, 22), (22, 1))]
    assert line_segments(p - 1, p) == [(22, (0, 22), (22, 0))]                  # x + y = 45 misses the grid
    rng = np.random.default_rng(1)
    for _ in range(20):
        g = rng.normal(size=p)
        T = int(np.argmax(g))
        r = best_rival(g, T)
        assert r is not None and r[1] == pytest.approx(rival_crest(g, T)) and r[0] != T
    g = np.cos(2 * np.pi * (np.arange(p) - 4) / p) + 0.5 * np.cos(2 * np.pi * 3 * (np.arange(p) - 4) / p)
    s, frac = best_rival(g, 4)
    assert frac == pytest.approx((g[s] - g.mean()) / (g[4] - g.mean()))
