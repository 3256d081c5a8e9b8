"""The figures stage, from small synthetic assets: every figure builds into valid files, and the
numbers drawn (key frequencies, the crest line, the trig identity's diagonal) are the assets'."""
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grokking.extraction import fourier as fo
from grokking.common.assets import Assets
from tests.synthetic import make_synthetic_assets

ROOT = Path(__file__).resolve().parents[2]
STATIC = ["grokking_curves", "progress_measures", "embedding_fourier", "neurons", "logits", "crest",
          "probe", "trig_identity", "attention"]
ANIMS = ["anim_embedding", "anim_surfaces", "anim_loops"]


@pytest.fixture(scope="module")
def assets_root(tmp_path_factory):
    return make_synthetic_assets(tmp_path_factory.mktemp("assets"), run="synth").parent


@pytest.fixture(scope="module")
def assets(assets_root):
    from grokking.figures import style
    style.apply()
    return Assets("synth", assets_root)


@pytest.fixture(scope="module")
def built(assets_root, tmp_path_factory):
    """Every static figure in every static format, built once for the module."""
    from grokking.figures.build import build
    out = tmp_path_factory.mktemp("figures")
    results = build("synth", root=assets_root, outdir=out, only=STATIC, formats=("pdf", "svg", "png"))
    return out, {r.name: r for r in results}


def _close(fig):
    fig.clear()


# ---- files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", STATIC)
@pytest.mark.slow
def test_static_figure_files_are_valid(built, assets, name):
    from PIL import Image
    from grokking.figures.static import STATIC as FUNCS
    out, results = built
    assert results[name].skipped is None, results[name].skipped
    pdf, svg, png = (out / f"{name}.{ext}" for ext in ("pdf", "svg", "png"))
    head = pdf.read_bytes()
    assert head.startswith(b"%PDF") and b"%%EOF" in head[-64:] and len(head) > 5_000
    assert ET.parse(svg).getroot().tag.endswith("svg") and svg.stat().st_size > 10_000
    fig = FUNCS[name][0](assets)
    w, h = fig.get_size_inches() * 300
    _close(fig)
    with Image.open(png) as im:
        assert im.format == "PNG"
        assert abs(im.size[0] - w) <= 1 and abs(im.size[1] - h) <= 1      # 300 dpi, no tight crop
        assert round(im.info["dpi"][0]) == 300
        assert np.asarray(im.convert("L")).std() > 10                    # not a blank page
    assert not list(out.glob(".*tmp*"))


@pytest.mark.slow
def test_animations_are_valid_videos(assets_root, tmp_path):
    import imageio.v2 as iio
    from grokking.figures.build import build
    results = build("synth", root=assets_root, outdir=tmp_path, only=ANIMS, formats=("mp4", "gif"), frames=3)
    assert all(r.skipped is None for r in results), [r.skipped for r in results]
    for name in ANIMS:
        mp4, gif = tmp_path / f"{name}.mp4", tmp_path / f"{name}.gif"
        assert mp4.read_bytes()[4:8] == b"ftyp"
        assert gif.read_bytes()[:6] == b"GIF89a"
        with iio.get_reader(mp4) as reader:
            assert reader.count_frames() >= 3
            frame = reader.get_data(0)
        assert frame.ndim == 3 and all(s % 16 == 0 for s in frame.shape[:2])  # codec-friendly size


def test_frame_counter_shows_the_epoch(assets):
    from grokking.figures.animations import anim_embedding
    anim = anim_embedding(assets, frames=4)
    assert len(anim.indices) <= 4
    last = anim.indices[-1]
    anim.update(last)
    texts = [t.get_text() for t in anim.fig.texts]
    assert any(t.startswith(f"epoch {int(assets['curves']['epoch'][last]):>6d}") for t in texts)


def test_frame_indices_are_evenly_spread():
    from grokking.figures.common import frame_indices
    epochs = np.r_[np.arange(100), np.arange(100, 20001, 20)]
    idx = frame_indices(epochs, 150)
    assert len(idx) <= 150 and idx[0] == 0 and idx[-1] == len(epochs) - 1
    assert np.all(np.diff(idx) > 0)
    gaps = np.diff(epochs[idx])
    assert gaps.max() <= 2 * 20000 / 149


# ---- the numbers drawn are the assets' -----------------------------------------------------

def test_key_frequency_labels_are_the_assets(assets):
    from grokking.figures.static import embedding_fourier
    fig = embedding_fourier(assets)
    labels = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "key-label"]
    s = assets.summary
    assert sorted(labels) == sorted(s["key_labels"])
    assert sorted(labels) == sorted(fo.freq_label(k, assets.p) for k in s["key_frequencies"])
    _close(fig)


def test_crest_line_is_x_plus_y_equal_T(assets):
    from grokking.figures.static import crest
    T, p = assets.summary["selections"]["crest"]["T"], assets.p
    fig = crest(assets)
    ax = fig.axes[0]
    lines = [ln for ln in ax.lines if ln.get_gid() == "crest-line"]
    xs = np.concatenate([ln.get_xdata() for ln in lines])
    ys = np.concatenate([ln.get_ydata() for ln in lines])
    assert len(xs) == p and sorted(xs) == list(range(p))                   # every x once
    assert np.all((xs + ys) % p == T)
    for ln in lines:                                                       # straight, slope -1
        assert np.all(np.diff(ln.get_xdata()) == 1) and np.all(np.diff(ln.get_ydata()) == -1)
    pts = [c for c in ax.collections if c.get_gid() == "crest-points"][0].get_offsets()
    np.testing.assert_array_equal(np.asarray(pts), assets["selections"]["crest_points"])
    assert f"x + y ≡ {T} (mod {p})" in ax.get_title(loc="left").replace("\u00a0", " ")
    _close(fig)


def test_logit_maxima_and_line_are_the_assets(assets):
    from grokking.figures.static import logits
    c, p = assets.summary["selections"]["logit"]["output"], assets.p
    fig = logits(assets)
    ax = fig.axes[1]
    pts = [col for col in ax.collections if col.get_gid() == "logit-maxima"][0].get_offsets()
    np.testing.assert_array_equal(np.asarray(pts), assets["selections"]["logit_maxima"])
    for ln in (ln for ln in ax.lines if ln.get_gid() == "logit-line"):
        assert np.all((ln.get_xdata() + ln.get_ydata()) % p == c)
    _close(fig)


# ---- every segment of x + y ≡ T drawn and named; no text over another ---------------------

def _texts_overlapping(fig):
    """Pairs of visible texts whose drawn boxes overlap, and titles that reach over a colour
    bar (its axes, ticks and label), after a full draw."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from grokking.figures.common import visible_texts
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    texts = visible_texts(fig)
    boxes = [(t, t.get_window_extent(r)) for t in texts]
    bad = [(a.get_text(), b.get_text()) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:]
           if ba.width and bb.width and ba.overlaps(bb)]
    cbars = [ax for ax in fig.axes + [c for a in fig.axes for c in a.child_axes]         # (insets too)
             if ax.get_label() == "<colorbar>" or hasattr(ax, "_colorbar")]
    assert cbars, "no colour bar found"
    for ax in fig.axes:
        if ax in cbars:
            continue
        for loc in ("left", "center", "right"):
            title = {"left": ax._left_title, "center": ax.title, "right": ax._right_title}[loc]
            if not title.get_text():
                continue
            tb = title.get_window_extent(r)
            for cb in cbars:
                full = cb.get_tightbbox(r)
                # over the colour bar's column (it stands beside the panel, up to the title)
                if tb.overlaps(full) or (tb.x1 > full.x0 and tb.x0 < full.x1):
                    bad.append((title.get_text(), "colour bar"))
    return bad


@pytest.mark.slow
@pytest.mark.parametrize("name", ["crest", "logits"])
@pytest.mark.parametrize("T", [9, 0, 22])
def test_residue_segments_are_drawn_and_named_without_overlaps(tmp_path, name, T):
    """Planted T (and output = T): x + y = T and, where it wraps, x + y = T + p, each a line at
    its place and named by a text of its own; no two texts of the figure overlap."""
    from grokking.figures import style
    from grokking.figures.static import crest, logits
    style.apply()
    p = 23
    make_synthetic_assets(tmp_path, run="seg", p=p, T=T, output=T)
    a = Assets("seg", tmp_path)
    fig = (crest if name == "crest" else logits)(a)
    gid = "crest-line" if name == "crest" else "logit-line"
    ax = next(ax for ax in fig.axes if any(ln.get_gid() == gid for ln in ax.lines))
    lines = [ln for ln in ax.lines if ln.get_gid() == gid]
    sums = sorted({int(v) for ln in lines for v in np.asarray(ln.get_xdata()) + np.asarray(ln.get_ydata())})
    expected = [T] if T == p - 1 else [T, T + p]
    assert sums == expected                                              # one line per sum, no other
    for ln in lines:                                                     # each a straight run over its x
        xs, ys = np.asarray(ln.get_xdata()), np.asarray(ln.get_ydata())
        total = int(xs[0] + ys[0])
        want = np.arange(max(0, total - p + 1), min(p - 1, total) + 1)
        np.testing.assert_array_equal(xs, want)
        np.testing.assert_array_equal(ys, total - want)
    names = sorted(t.get_text() for t in ax.texts if t.get_gid() == gid + "-label")
    assert names == sorted(f"x + y = {s}" for s in expected)
    assert _texts_overlapping(fig) == []
    _close(fig)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["crest", "logits"])
def test_overlap_check_catches_a_planted_overlap(assets, name):
    """The check can fail: a text planted over a title, and a title long enough to reach over
    the colour bar beside it."""
    from grokking.figures.static import crest, logits
    fig = (crest if name == "crest" else logits)(assets)
    ax = fig.axes[0]
    t = ax._left_title
    fig.text(*fig.transFigure.inverted().transform(t.get_window_extent(fig._get_renderer()).p0), "planted")
    assert ("planted" in str(_texts_overlapping(fig)))
    _close(fig)
    fig = (crest if name == "crest" else logits)(assets)
    ax = next(ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.images)
    ax.set_title("a title far too long to end before the colour bar that stands beside this map " * 2,
                 loc="left")
    assert any(b == "colour bar" for _, b in _texts_overlapping(fig))
    _close(fig)


def _sum_panel_alignment(fig, k, p):
    """Correlations of the drawn sum panel with cos(w(x+y)) and cos(w(x-y)), reading x and y
    from the image's own extent and orientation (not assuming them)."""
    ax = next(a for a in fig.axes if a.get_gid() == "sum")
    im = ax.images[0]
    A = np.asarray(im.get_array(), float)                                  # rows are drawn bottom-up
    x0, x1, y0, y1 = im.get_extent()
    rows, cols = A.shape
    col_x = x0 + (np.arange(cols) + 0.5) * (x1 - x0) / cols
    row_y = y0 + (np.arange(rows) + 0.5) * (y1 - y0) / rows
    if im.origin == "upper":
        row_y = row_y[::-1]
    X, Y = np.meshgrid(np.rint(col_x), np.rint(row_y))                     # at A[r, c]
    w = 2 * np.pi * k / p
    corr = lambda B: np.corrcoef(A.ravel(), B.ravel())[0, 1]                 # noqa: E731
    return corr(np.cos(w * (X + Y))), corr(np.cos(w * (X - Y)))


def test_trig_identity_sum_runs_along_x_plus_y(assets):
    from grokking.figures.static import trig_identity
    k = assets.summary["selections"]["product_pair"]["k"]
    fig = trig_identity(assets)
    plus, minus = _sum_panel_alignment(fig, k, assets.p)
    assert plus > 0.99 and abs(minus) < 0.15           # the planted votes (0.72, −0.60): 99 % on x + y
    _close(fig)


def _pair_assets(tmp_path, run, **pair):
    """Synthetic assets whose product pair's summary entries are replaced by `pair` (None: removed)."""
    import json
    out = make_synthetic_assets(tmp_path, run=run)
    s = json.loads((out / "summary.json").read_text())
    pp = s["selections"]["product_pair"]
    for key, v in pair.items():
        if v is None:
            pp.pop(key, None)
        else:
            pp[key] = v
    (out / "summary.json").write_text(json.dumps(s))
    return Assets(run, tmp_path)


def _trig_panels(fig):
    return {ax.get_gid(): (ax, np.asarray(ax.images[0].get_array(), float).T)
            for ax in fig.axes if ax.get_gid() in ("coscos", "sinsin", "sum")}


@pytest.mark.parametrize("votes, weights, share", [(None, None, None),                 # the synthetic's own
                                                   ((-0.83, 0.41), (-0.415, 0.41), 0.9)])  # planted here
def test_trig_identity_draws_the_measured_votes(assets, tmp_path, votes, weights, share):
    """Each product term is drawn at its measured vote and the sum panel is their vote-weighted sum
    (not cos·cos − sin·sin); the titles name each vote, its coefficient × weight, each term's share
    of its neuron's joint variance and the sum's share on x + y, all the assets'."""
    from grokking.figures.static import trig_identity
    a = assets if votes is None else _pair_assets(tmp_path, "votes", votes=list(votes), weights=list(weights),
                                                  coefs=[2.0, 1.0], sum_share=share, term_joint=[0.61, 0.72])
    pp = a.summary["selections"]["product_pair"]
    va, vb = pp["votes"]
    cc, ss = a["selections"]["trig_coscos"], a["selections"]["trig_sinsin"]
    fig = trig_identity(a)
    panels = _trig_panels(fig)
    np.testing.assert_allclose(panels["coscos"][1], va * cc, atol=1e-12)
    np.testing.assert_allclose(panels["sinsin"][1], vb * ss, atol=1e-12)
    np.testing.assert_allclose(panels["sum"][1], va * cc + vb * ss, atol=1e-12)
    assert not np.allclose(panels["sum"][1], a["selections"]["trig_sum"], atol=1e-3)     # not ±1
    sign = lambda v, d=2: f"{v:+.{d}f}".replace("-", "−")                                  # noqa: E731
    title = {g: " ".join(ax.get_title(loc="left").replace("\u00a0", " ").split()) for g, (ax, _) in panels.items()}
    for j, g in enumerate(("coscos", "sinsin")):
        t = title[g]
        assert t.startswith(f"({'ab'[j]}) {sign(pp['votes'][j])} × "), t
        assert f"neuron #{pp['neurons'][j]}'s vote for {pp['T']}" in t
        assert f"coefficient {pp['coefs'][j]:.2f} × weight {sign(pp['weights'][j], 3)}" in t
        assert f"{pp['term_joint'][j]:.0%} of its joint variance" in t
        assert "+1" not in t and "−1 " not in t
    assert f"{pp['sum_share']:.0%} of it on the wave in x + y" in title["sum"]
    s_, d_ = (va - vb) / 2, (va + vb) / 2
    assert sign(s_) in panels["sum"][0].get_xlabel() and sign(d_) in panels["sum"][0].get_xlabel()
    assert not [t for t in fig.texts if t.get_gid() == "trig-notes"]       # measured, and it qualifies
    assert _texts_overlapping(fig) == []
    _close(fig)


def test_trig_identity_says_when_votes_are_not_measured_or_the_pair_is_a_fallback(tmp_path):
    from grokking.figures.static import trig_identity
    why = "no key frequency has a planted pair"
    a = _pair_assets(tmp_path, "old", votes=None, weights=None, sum_share=None, T=None,
                     qualifies=False, fallback=why)
    fig = trig_identity(a)
    panels = _trig_panels(fig)
    cc, ss = a["selections"]["trig_coscos"], a["selections"]["trig_sinsin"]
    np.testing.assert_allclose(panels["sum"][1], cc - ss, atol=1e-12)       # the identity's weights, said so
    assert "not measured" in " ".join(panels["coscos"][0].get_title(loc="left").split())
    notes = " ".join(t.get_text() for t in fig.texts if t.get_gid() == "trig-notes").replace("\n", " ")
    assert "no measured votes" in notes and "fallback" in notes and why in " ".join(notes.split())
    assert _texts_overlapping(fig) == []
    _close(fig)


def test_phases_are_shaded_and_named(assets):
    from grokking.figures.static import grokking_curves
    fig = grokking_curves(assets)
    named = {t.get_text() for ax in fig.axes for t in ax.texts}
    for leg in fig.legends:
        named |= {t.get_text() for t in leg.get_texts()}
    assert {"memorisation", "circuit formation", "clean-up"} <= named
    _close(fig)


@pytest.mark.slow
def test_progress_measures_draws_the_diagnostics_or_says_they_were_not_measured(assets, tmp_path):
    from grokking.figures.static import progress_measures
    fig = progress_measures(assets)
    gids = {line.get_gid() for ax in fig.axes for line in ax.lines}
    assert {"collapse-share", "grad-weight-cos", "grad-norm"} <= gids
    ep = assets["curves"]["all_epoch"]
    drawn = next(line for ax in fig.axes for line in ax.lines if line.get_gid() == "collapse-share")
    assert np.allclose(drawn.get_ydata(), 100 * assets["curves"]["all_collapse_share"][ep > 0])
    shaded = [ax for ax in fig.axes if ax.get_title(loc="left").startswith(("(d)", "(e)", "(f)"))]
    assert len(shaded) == 3 and all(ax.get_xscale() == "log" and ax.patches for ax in shaded)   # phases tinted
    _close(fig)
    make_synthetic_assets(tmp_path, run="old", diagnostics=False)
    fig = progress_measures(Assets("old", tmp_path))
    texts = {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts}
    assert "not measured in this history" in texts["diagnostics-not-measured"]
    assert not {line.get_gid() for ax in fig.axes for line in ax.lines} & {"collapse-share", "grad-norm"}
    _close(fig)


# ---- missing data, the command line --------------------------------------------------------

def test_missing_product_pair_is_skipped_with_a_reason(tmp_path):
    from grokking.figures.cli import figures
    root = tmp_path / "assets"
    why = "no cos·cos / sin·sin pair above 0.8"
    make_synthetic_assets(root, run="synth", not_found={"product_pair": why, "neuron_surfaces": why})
    out = tmp_path / "out"
    r = CliRunner().invoke(figures, ["--run", "synth", "--assets", str(root), "--out", str(out),
                                     "--only", "trig_identity,crest,neurons", "--format", "png"])
    assert r.exit_code == 0, r.output
    assert "trig_identity: skipped: extraction found no product pair (no cos·cos / sin·sin pair above 0.8)" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["crest.png", "neurons.png"]   # neurons: population only


def test_a_broken_figure_does_not_cost_the_others(assets_root, tmp_path, monkeypatch):
    from grokking.figures import static
    from grokking.figures.build import build

    def broken(a):
        raise KeyError("T")
    monkeypatch.setitem(static.STATIC, "crest", (broken, "broken"))
    results = {r.name: r for r in build("synth", root=assets_root, outdir=tmp_path, only=["crest", "attention"],
                                        formats=("png",))}
    assert results["crest"].failed == "KeyError: 'T'" and not results["crest"].files
    assert results["attention"].files and not results["attention"].failed


def test_cli_list_only_format(assets_root, tmp_path):
    from grokking.figures.cli import figures
    r = CliRunner().invoke(figures, ["--list"])
    assert r.exit_code == 0 and all(n in r.output for n in STATIC + ANIMS)
    out = tmp_path / "out"
    r = CliRunner().invoke(figures, ["--run", "synth", "--assets", str(assets_root), "--out", str(out),
                                     "--only", "crest", "--format", "pdf,svg"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["crest.pdf", "crest.svg"]
    assert CliRunner().invoke(figures, ["--only", "nope"]).exit_code == 2
    assert CliRunner().invoke(figures, ["--format", "jpg"]).exit_code == 2


def test_missing_run_is_a_one_line_error(tmp_path):
    from grokking.cli import cli
    r = CliRunner().invoke(cli, ["figures", "--run", "nope", "--assets", str(tmp_path)])
    assert r.exit_code == 2
    assert "grokking extract --run nope" in r.output and "Traceback" not in r.output


def test_style_and_cli_import_light():
    """Scenes import the style without matplotlib; --help stays fast; figures never need torch."""
    code = ("import sys, grokking.figures.style, grokking.figures.cli; "
            "assert 'matplotlib' not in sys.modules and 'imageio' not in sys.modules; "
            "import grokking.figures.build, grokking.figures.static, grokking.figures.animations; "
            "grokking.figures.build.catalogue(); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    from grokking.figures import style
    assert len(set(style.KEY_FREQ)) == len(style.KEY_FREQ)
    assert not set(style.KEY_FREQ) & {style.ROLE[r] for r in ("train", "test", "excluded", "restricted")}
    assert style.DOUBLE > style.SINGLE


@pytest.mark.slow
def test_progress_measures_drops_an_empty_collapse_panel(tmp_path):
    """A run whose collapse share is 0 at every epoch: no panel of zeros; the row is the cosine
    and the gradient norm, (d) and (e), and the fact is written under them."""
    from grokking.figures import style
    from grokking.figures.static import progress_measures
    style.apply()
    out = make_synthetic_assets(tmp_path, run="nc")
    c = dict(np.load(out / "curves.npz"))
    assert c["all_collapse_share"].max() > 0                    # the planted run does collapse
    c["all_collapse_share"] = np.zeros_like(c["all_collapse_share"])
    np.savez(out / "curves.npz", **c)
    fig = progress_measures(Assets("nc", tmp_path))
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert not any("collapse" in t for t in titles)
    assert "(d) gradient-weight cosine" in titles and "(e) gradient norm" in titles
    assert not {ln.get_gid() for ax in fig.axes for ln in ax.lines} & {"collapse-share", "collapse-epochs"}
    assert any("no softmax collapse" in ax.get_xlabel() for ax in fig.axes)
    _close(fig)


# ---- the scenes' small text (the figures' sister check: legible once rendered) -------------

# every scene with small text, TrainingStory's live counters, R² and row share and its captions included
SMALL_TEXT_SCENES = ["ModularTable", "OneHot", "GrokkingCurve", "NeuronWaves", "NeuronLoops", "FourierPeak",
                     "EmbeddingProbe", "Clock", "NeuronSurface", "Crest", "TrigIdentity", "LogitSurface", "ExcludedLoss",
                     "TrainingStory"]


def _smallest_texts(name, root, tmp_path, run="synth"):
    """Every Text on screen after each play or wait of the scene (a still: animations end at
    once), as (font size as drawn, text), smallest first."""
    pytest.importorskip("manim")
    from manim import Scene, Text
    from grokking.scenes.cli import render
    from tests.scene_texts import drawn_size
    seen = {}

    def record(scene):
        for m in scene.mobjects:
            for t in m.get_family():
                if isinstance(t, Text) and t.text.strip() and t.initial_height > 0 and t.height > 0:
                    seen[(t.text, id(t))] = drawn_size(t)

    play, wait = Scene.play, Scene.wait

    def play_and_record(self, *a, **k):
        play(self, *a, **k)
        record(self)

    def wait_and_record(self, *a, **k):
        wait(self, *a, **k)
        record(self)

    mp = pytest.MonkeyPatch()
    mp.setattr(Scene, "play", play_and_record)
    mp.setattr(Scene, "wait", wait_and_record)
    try:
        render(name, run=run, quality="low", still=True, media_dir=tmp_path / "media", root=root,
               pixel_width=320, pixel_height=180, progress=False)
    finally:
        mp.undo()
    return sorted((round(s, 1), text) for (text, _), s in seen.items())


@pytest.fixture(scope="module")
def legible_root(tmp_path_factory):
    """The synthetic run with what its wave scenes leave out, as extraction writes it (a key
    frequency with too few samples per period): the note that says so is drawn too."""
    return make_synthetic_assets(tmp_path_factory.mktemp("legible"), run="synth", waves_left_out=[
        {"k": 9, "label": "18π/23", "why": "2.6 samples per period (< 8): draws as scattered dots",
         "brief": "fewer than 8 samples per period: scattered dots"}]).parent


@pytest.mark.slow
@pytest.mark.parametrize("name", SMALL_TEXT_SCENES)
def test_scene_text_is_legible(name, legible_root, tmp_path):
    """Every text those scenes show is at least theme.MIN_TEXT (18 px lower case at 1080p), the
    note naming the waves left out included."""
    from grokking.scenes.theme import MIN_TEXT
    texts = _smallest_texts(name, legible_root, tmp_path)
    if name in ("FourierPeak", "NeuronLoops"):
        assert any("scattereddots" in t for _, t in texts), texts
    assert texts, f"{name}: no text recorded"
    small = [(s, t) for s, t in texts if s < MIN_TEXT - 0.05]
    assert not small, f"{name}: text below font size {MIN_TEXT}: {small[:5]}"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["FourierPeak", "NeuronLoops"])
def test_the_waves_left_out_note_overlaps_no_text(name, legible_root, tmp_path):
    """The note naming the waves left out, at full size, clears every other text on screen (the
    neuron's name and its R² under it in FourierPeak)."""
    from tests.scene_texts import overlap, render_recording
    frames = []
    render_recording(name, "synth", legible_root, tmp_path, frames, pixels=(1920, 1080))
    noted = [f for f in frames if any("scattereddots" in t for t, *_ in f)]
    assert noted, name
    for f in noted:
        notes = [(t, b) for t, _, b, _ in f if "notshown" in t or "scattereddots" in t]
        hit = [(t, u) for t, b in notes for u, _, c, _ in f if (u, c) not in notes and overlap(b, c)]
        assert not hit, hit


def test_text_size_check_sees_a_shrunk_label():
    """The measure the check uses: a label scaled down reads as the smaller size."""
    pytest.importorskip("manim")
    from grokking.scenes.theme import label
    t = label("plateau", 18)
    assert abs(t.font_size - 18) < 0.01
    t.scale_to_fit_width(t.width * 0.3)
    assert t.font_size < 6


def test_story_caption_wraps_within_its_width_at_clauses():
    """TrainingStory's caption: every line within the width at MIN_TEXT, no line broken inside a
    bracket where one more line avoids it, the words kept in order."""
    pytest.importorskip("manim")
    from grokking.scenes.story import wrap_lines
    from grokking.scenes.theme import MIN_TEXT, label
    text = ("epoch 832, test accuracy still below 50%: the wave takes shape (R² 0.94 ≥ 0.80); "
            "the surface forms its ridge (67% of rows on its line ≥ 50%)")
    for width in (6.9, 8.6):
        lines = wrap_lines(text, width).split("\n")
        assert " ".join(lines) == text
        assert all(label(x, MIN_TEXT).width <= width for x in lines), (width, lines)
        assert all(x.count("(") == x.count(")") for x in lines), (width, lines)
    assert wrap_lines("a short one; fits", 6.9) == "a short one; fits"


@pytest.mark.slow
def test_training_story_draws_nothing_on_top_of_anything(assets_root, tmp_path):
    """Every text TrainingStory shows after each play or wait (its live counters at their values
    there, its captions) and its surface: no two boxes overlap."""
    pytest.importorskip("manim")
    from manim import ImageMobject, Scene, Text
    from grokking.scenes.cli import render
    states = []

    def record(scene):
        boxes = []
        for m in scene.mobjects:
            for t in m.get_family():
                if (isinstance(t, Text) and t.text.strip() and t.get_fill_opacity() > 0.01) or isinstance(t, ImageMobject):
                    boxes.append((getattr(t, "text", "surface"), t.get_corner([-1, -1, 0])[:2], t.get_corner([1, 1, 0])[:2]))
        states.append(boxes)

    play, wait = Scene.play, Scene.wait
    mp = pytest.MonkeyPatch()
    mp.setattr(Scene, "play", lambda self, *a, **k: (play(self, *a, **k), record(self)))
    mp.setattr(Scene, "wait", lambda self, *a, **k: (wait(self, *a, **k), record(self)))
    try:
        # at 1080p: Manim lays a Text out within the render's pixels, and a small one wraps long lines
        render("TrainingStory", run="synth", quality="low", still=True, media_dir=tmp_path / "media", root=assets_root,
               pixel_width=1920, pixel_height=1080, progress=False)
    finally:
        mp.undo()
    seen = {name for boxes in states for name, _, _ in boxes}
    assert "surface" in seen and any(n.startswith("R²") for n in seen) and any("%" in n for n in seen), seen
    clashes = set()
    for boxes in states:
        for i, (a, lo_a, hi_a) in enumerate(boxes):
            for b, lo_b, hi_b in boxes[i + 1:]:
                if (np.minimum(hi_a, hi_b) - np.maximum(lo_a, lo_b) > 0.01).all():
                    clashes.add((a, b))
    assert not clashes, sorted(clashes)[:5]


# ---- every op in its own coordinates (extraction/coords.py) --------------------------------

OP_P = 23                  # a prime whose nonzero residues form Z_22 under the discrete log base 5


def _op_assets(tmp_path, run: str, op: str, a: int = 1, b: int = 1, keys=None):
    """Synthetic assets read as a run of `op` at p = OP_P: the planted arrays over its n×n grid
    (n = 22 for mul and div, over the discrete log; 23 for pow), the summary's task and
    "additive" saying so as extraction writes them. A pow whose exponent collides has no grid:
    its surfaces are not found, with extraction's reason."""
    import hashlib
    import json
    from grokking.common import assets as fmt
    from grokking.extraction.coords import coordinates
    co = coordinates(op, OP_P, a, b)
    no_grid = None if co.grid else f"op pow here has no grid: {'; '.join(co.collisions)}"
    out = make_synthetic_assets(tmp_path, run=run, p=co.n, T=9, output=7,
                                not_found={k: no_grid for k in fmt.SELECTIONS} if no_grid else None)
    s = json.loads((out / "summary.json").read_text())
    s["task"].update(p=OP_P, op=op, a=a, b=b)
    s["additive"] = fmt.Additive(op=op, **co.to_json(), zero_pairs={"pairs": 2 * OP_P - 1, "accuracy": 0.97}
                                 if op == "mul" else None).to_json()
    if keys:                       # key frequencies the planted arrays do not carry (the synthetic plants none at n/2)
        s["key_frequencies"], s["key_labels"] = list(keys), [fo.freq_label(k, co.n) for k in keys]
    (out / "summary.json").write_text(json.dumps(s))
    m = json.loads((out / "manifest.json").read_text())            # signed again, as extraction writes it
    m["files"]["summary.json"] = hashlib.sha256((out / "summary.json").read_bytes()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(m))
    return Assets(run, tmp_path)


def _axis_labels(fig) -> list[tuple[str, str]]:
    """(x label, y label) of every axes that has either."""
    return [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes if ax.get_xlabel() or ax.get_ylabel()]


def _all_text(fig) -> str:
    from grokking.figures.common import visible_texts
    return " ".join(" ".join(t.get_text().replace("\u00a0", " ").split()) for t in visible_texts(fig))


@pytest.fixture(scope="module")
def mul_assets(tmp_path_factory):
    from grokking.figures import style
    style.apply()
    return _op_assets(tmp_path_factory.mktemp("mul"), "mul", "mul")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["neurons", "logits", "crest", "trig_identity", "attention"])
def test_mul_surfaces_are_over_the_discrete_log_and_say_so(mul_assets, name):
    """Every map of a mul run is n×n (n = p − 1) with its axes named log₅ x and log₅ y, never the
    bare x and y it is not, and the figure says what the axes are (the generator, Z_22, the zero
    pairs apart)."""
    from grokking.figures.static import STATIC
    fig = STATIC[name][0](mul_assets)
    n = mul_assets.n
    assert n == OP_P - 1
    maps = [ax for ax in fig.axes if ax.images and ax.images[0].get_array().shape == (n, n)]
    assert maps, f"{name}: no {n}×{n} map"
    labelled = [(ax.get_xlabel(), ax.get_ylabel()) for ax in maps if ax.get_ylabel()]
    assert labelled and all(lab[0].startswith("log₅ x") and lab[1].startswith("log₅ y") for lab in labelled), labelled
    assert ("log₅ x", "log₅ y") in labelled                        # a map over (log₅ x, log₅ y) itself
    assert not [lab for lab in _axis_labels(fig) if lab[0] in ("x", "y") or lab[1] in ("x", "y")]
    text = _all_text(fig)
    assert "discrete log base 5" in text and f"Z_{n}" in text and f"the {2 * OP_P - 1} pairs with a zero" in text
    _close(fig)


@pytest.mark.slow
def test_mul_crest_and_logit_name_the_line_and_the_answer_token(mul_assets):
    """T and the logit's output are group elements: the line is log₅ x + log₅ y ≡ T (mod 22), each
    segment named so, and the answer it stands for is its token 5^T mod 23 (x·y ≡ token)."""
    from grokking.figures.static import crest, logits
    a, n = mul_assets, mul_assets.n
    T, c = int(a.summary["selections"]["crest"]["T"]), int(a.summary["selections"]["logit"]["output"])
    tok_T, tok_c = pow(5, T, OP_P), pow(5, c, OP_P)
    assert a.additive.token(T) == tok_T != T
    fig = crest(a)
    ax = fig.axes[0]
    title = " ".join(ax.get_title(loc="left").replace("\u00a0", " ").split())
    assert f"log₅ x + log₅ y ≡ {T} (mod {n})" in title and f"x·y ≡ {tok_T} (mod {OP_P})" in title
    lines = [ln for ln in ax.lines if ln.get_gid() == "crest-line"]
    xs = np.concatenate([ln.get_xdata() for ln in lines])
    ys = np.concatenate([ln.get_ydata() for ln in lines])
    assert sorted(xs) == list(range(n)) and np.all((xs + ys) % n == T)
    names = sorted(t.get_text() for t in ax.texts if t.get_gid() == "crest-line-label")
    assert names == sorted(f"log₅ x + log₅ y = {s}" for s in ([T, T + n] if T < n - 1 else [T]))
    assert f"{T} = log₅ {tok_T}" in _all_text(fig)                  # under the crest, the element named
    _close(fig)
    fig = logits(a)
    text = _all_text(fig)
    assert f"logit of output {tok_c} = 5" in text and f"log₅ x + log₅ y ≡ {c} (mod {n})" in text
    assert f"x·y ≡ {tok_c} (mod {OP_P})" in text
    _close(fig)


@pytest.mark.slow
def test_mul_frequencies_and_waves_are_over_n(mul_assets):
    """Every frequency is 2πk/n: the key labels, the bars (k = 1 … n/2, the Nyquist included), the
    probe's waves in log₅ x, the product pair's formulas and the trig identity's split."""
    from grokking.figures.static import embedding_fourier, probe, trig_identity
    a, n = mul_assets, mul_assets.n
    ks = [int(k) for k in a.summary["key_frequencies"]]
    fig = embedding_fourier(a)
    labels = sorted(t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "key-label")
    assert labels == sorted(fo.freq_label(k, n) for k in ks)
    top = fig.axes[0]
    assert len(top.patches) == 2 * (n // 2)                       # cos and sin bars for k = 1 … 11
    assert f"w = 2πk/{n}, a wave in log₅ x" in top.get_xlabel() and "over log₅ x" in top.get_title(loc="left")
    _close(fig)
    fig = probe(a)
    k = int(a.probe.k)
    legend = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert fo.wave_label("cos", k, n, "·log₅x") in legend and fo.wave_label("sin", k, n, "·log₅x") in legend
    assert any(lab[0].startswith("log₅ x") for lab in _axis_labels(fig))
    _close(fig)
    fig = trig_identity(a)
    text = _all_text(fig).replace(")· ", ")·")              # a long formula may break between its factors
    kp = int(a.summary["selections"]["product_pair"]["k"])
    assert fo.wave_label("cos", kp, n, "·log₅x") + "·" + fo.wave_label("cos", kp, n, "·log₅y") in text
    assert fo.wave_label("cos", kp, n, "(log₅x+log₅y)") in text and fo.wave_label("cos", kp, n, "(log₅x−log₅y)") in text
    _close(fig)


@pytest.mark.slow
def test_every_figure_builds_for_mul_div_and_pow(tmp_path):
    """mul, div and a one-to-one pow: every figure and animation is drawn; a pow whose exponent
    collides: the surfaces are skipped with extraction's reason, the rest drawn over the tokens x
    and y and saying why."""
    from grokking.figures.build import build
    from grokking.figures.static import attention
    for op, a, b in (("mul", 1, 1), ("div", 1, 1), ("pow", 3, 5), ("pow", 2, 2)):
        run = f"{op}{a}{b}"
        assets = _op_assets(tmp_path, run, op, a, b)
        formats = ("png", "gif") if op == "mul" or not assets.additive.grid else ("png",)    # animations twice
        results = build(run, root=tmp_path, outdir=tmp_path / "out" / run, formats=formats, frames=3)
        failed = [(r.name, r.failed) for r in results if r.failed]
        assert not failed, (run, failed)
        skipped = {r.name: r.skipped for r in results if r.skipped}
        if assets.additive.grid:
            assert not [nm for nm, why in skipped.items() if "format" not in why], (run, skipped)
        else:
            assert set(skipped) == {"logits", "crest", "trig_identity", "anim_surfaces", "anim_loops"}, skipped
            assert all("no grid" in why for why in skipped.values()), skipped
            fig = attention(assets)
            assert _axis_labels(fig)[0] == ("x", "y")
            assert "not one-to-one" in _all_text(fig) and "waves in x² + y²" in _all_text(fig)
            _close(fig)
        if op == "div":
            fig = attention(assets)
            assert _axis_labels(fig)[0] == ("log₅ x", "−log₅ y mod 22")
            _close(fig)
        if (op, a) == ("pow", 3):
            fig = attention(assets)
            assert _axis_labels(fig)[0] == ("x³", "y⁵")
            _close(fig)


def test_ops_names_each_op_and_leaves_add_as_it_was(assets, tmp_path):
    """add reads as it always did (x, y, x + y, no note, extraction's own formulas); sub's columns
    are −y mod p; div's difference wave is in log x + log y (its columns are −log y)."""
    from grokking.figures.common import ops
    o = ops(assets)
    assert (o.x, o.y, o.line, o.diff, o.note(), o.relabelled) == ("x", "y", "x + y", "x − y", "", False)
    assert o.n == o.p and o.token(9) == 9 and o.output(9) == "9" and o.answer(9) == ""
    assert o.line_eq(9) == f"x + y ≡ 9 (mod {o.p})" and o.sweep() == "x = 0, y swept"
    assert o.wave("cos", 2) == fo.wave_label("cos", 2, o.p) and o.sum_wave("cos", 2) == fo.wave_label("cos", 2, o.p, "(x+y)")
    pp = assets.summary["selections"]["product_pair"]
    assert o.product_formulas(int(pp["k"]), pp["formulas"]) == pp["formulas"]
    div = ops(_op_assets(tmp_path, "div", "div"))
    assert (div.x, div.y, div.line, div.diff) == ("log₅ x", "−log₅ y mod 22", "log₅ x − log₅ y", "log₅ x + log₅ y")
    assert div.answer(1) == f"x / y ≡ 5 (mod {OP_P})" and "y = 5⁻ʲ" in div.note()
    mul = ops(_op_assets(tmp_path, "mul", "mul"))
    assert mul.sweep() == "log₅ x = 0 (x = 1), log₅ y swept" and mul.output(2) == "2 = 5²"
    sub = ops(_op_assets(tmp_path, "sub", "sub"))
    assert (sub.x, sub.y, sub.line, sub.note()) == ("x", "−y mod p", "x − y", "")


@pytest.mark.slow
def test_a_nyquist_key_frequency_and_a_difference_line_are_drawn(tmp_path):
    """n = 22 is even: its k = 11 (w = π, a cos alone) may be a key frequency (div at p = 113 has
    k = 56); the figures that gather a frequency's basis rows draw it. div's columns are −log₅ y,
    so its line log₅ x − log₅ y is no plain sum of the axes: each segment is named by its
    congruence, never by a sum it does not reach (log₅ x − log₅ y = 31)."""
    from grokking.figures.static import crest, embedding_fourier, logits, neurons
    a = _op_assets(tmp_path, "nyq", "div", keys=(5, 11))
    n, T = a.n, int(a.summary["selections"]["crest"]["T"])
    for fn in (embedding_fourier, neurons, logits):
        fig = fn(a)
        if fn is embedding_fourier:
            labels = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "key-label"]
            assert fo.freq_label(11, n) == "π" and "π" in labels
        if fn is logits:
            marks = [ln.get_xdata()[0] for ax in fig.axes for ln in ax.lines if ln.get_gid() == "key-diagonal"]
            assert n - 1 in marks                                      # the Nyquist's cos row, marked
        _close(fig)
    fig = crest(a)
    names = sorted(t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "crest-line-label")
    assert names and set(names) == {f"log₅ x − log₅ y ≡ {T}"}, names
    _close(fig)
