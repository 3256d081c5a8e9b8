"""Scenes: every scene renders its last frame from small synthetic assets; the CLI lists and
refuses missing runs; the trig-identity sum drawn is the diagonal cos(w(x + y)), not x - y."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("manim")

from scenes.catalog import SCENES  # noqa: E402


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from extraction.synthetic import make_synthetic_assets
    root = tmp_path_factory.mktemp("assets")
    make_synthetic_assets(root, run="synth")
    return root


@pytest.mark.parametrize("name", list(SCENES))
def test_scene_last_frame(name, synth, tmp_path):
    from PIL import Image
    from scenes.cli import render
    from scenes import look
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
    from render import cli
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
    from render import cli
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


def test_trig_identity_sum_is_the_diagonal(synth):
    from scenes import data
    data.use("synth", synth)
    d = data.load()
    t = d.trig_identity()
    p, w = d.p, d.w(t["k"])
    assert t["weights"] == (1.0, -1.0)
    drawn = t["weights"][0] * t["coscos"] + t["weights"][1] * t["sinsin"]
    assert np.allclose(drawn, t["sum"], atol=1e-6)        # what is drawn is the assets' trig_sum
    plus = _best_corr(drawn, lambda X, Y, w, f: np.cos(w * (X + Y) + f), w, p)
    minus = _best_corr(drawn, lambda X, Y, w, f: np.cos(w * (X - Y) + f), w, p)
    assert plus >= 0.99 and minus < 0.5
    # and the unflipped sum (the video's public code) would have been the wrong diagonal
    wrong = t["coscos"] + t["sinsin"]
    assert _best_corr(wrong, lambda X, Y, w, f: np.cos(w * (X - Y) + f), w, p) >= 0.99
