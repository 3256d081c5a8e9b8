"""The figures of a real (tiny) mul run, trained and extracted: every figure is drawn or skipped
with extraction's reason, none fails, and every axis over the inputs names the discrete log."""
import numpy as np
import pytest

from grokking.common.assets import Assets
from grokking.extraction import fourier as fo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mul_run(tmp_path_factory):
    """A p = 11 mul model (n = 10 over the discrete log base 2), trained a few dozen epochs and
    extracted, as tests/unit/test_extraction.py trains its tiny runs."""
    from grokking.extraction.extract import extract
    from grokking.training.config import Config, Schedule
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    root = tmp_path_factory.mktemp("mulfig")
    cfg = Config(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, epochs=40, op="mul",
                 schedule=Schedule(dense_until=5, log_until=20, n_log=4, stride=5))
    train([Seeded(cfg, Run("mul", root / "runs"))], progress=False)
    extract("mul", progress=False, runs_root=root / "runs", assets_root=root / "assets")
    from grokking.figures import style
    style.apply()
    return root / "assets"


def test_every_figure_of_a_mul_run_is_drawn_over_the_discrete_log(mul_run, tmp_path):
    from grokking.figures.build import build, catalogue
    from grokking.figures.common import visible_texts
    from grokking.figures.static import STATIC
    a = Assets("mul", mul_run)
    assert a.n == 10 and a.additive.x_label == "log₂ x"
    results = build("mul", root=mul_run, outdir=tmp_path, formats=("png", "gif"), frames=3)
    assert not [(r.name, r.failed) for r in results if r.failed]
    drawn = {r.name for r in results if r.files}
    skipped = {r.name: r.skipped for r in results if r.skipped}
    # what needs no selection is always drawn; a selection the tiny model did not make is skipped
    # with extraction's reason, never for a shape or a size
    assert {"grokking_curves", "progress_measures", "embedding_fourier", "neurons", "probe", "attention",
            "anim_embedding"} <= drawn, skipped
    assert drawn | set(skipped) == set(catalogue())
    assert all("extraction found no" in why for why in skipped.values()), skipped
    for name in sorted(drawn & set(STATIC)):
        fig = STATIC[name][0](a)
        labels = [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]
        text = " ".join(t.get_text().replace("\u00a0", " ") for t in visible_texts(fig))
        if name in ("embedding_fourier", "probe", "attention", "neurons", "logits", "crest", "trig_identity"):
            assert "log₂ x" in text, (name, labels)
            assert not [lab for lab in labels if lab[0] in ("x", "y") or lab[1] in ("x", "y")], (name, labels)
        if name == "attention":
            assert labels[0] == ("log₂ x", "log₂ y") and "discrete log base 2" in text
        if name == "embedding_fourier":
            keys = sorted(t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "key-label")
            assert keys == sorted(fo.freq_label(int(k), 10) for k in a.summary["key_frequencies"])
            assert "2πk/10" in text
        if name == "probe":
            drawn_x = next(ln.get_xdata() for ax in fig.axes for ln in ax.lines)
            np.testing.assert_array_equal(drawn_x, np.arange(10))          # the n elements, not the p tokens
        fig.clear()
