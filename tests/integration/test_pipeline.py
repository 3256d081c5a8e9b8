"""`grokking all` and `status`: exactly what depends on a change is redone, interruptions resume."""
import re
import shutil
from pathlib import Path

import pytest

from grokking.pipeline import make, stamps
from grokking.pipeline.make import Options, make_all, status


@pytest.fixture
def workspace(quick_run, tmp_path):
    """A private copy of the quick run (these tests change it), extracted afresh."""
    shutil.copytree(quick_run["root"] / "runs", tmp_path / "runs")
    return tmp_path


def _opts(ws: Path, **kw) -> Options:
    base = dict(run="quick", runs_root=ws / "runs", assets_root=ws / "assets", media_root=ws / "media",
                figures=["grokking_curves", "crest", "trig_identity"], scenes=["ModularTable"],
                scene_width=160, progress=False)
    base.update(kw)
    return Options(**base)


def _states(o):
    return {item: state for item, state, _ in status(o)}


@pytest.mark.slow
def test_all_then_nothing_then_exactly_the_dependents(workspace, monkeypatch):
    o = _opts(workspace)
    assert set(_states(o).values()) >= {"missing"}
    s = make_all(o, log=lambda _: None)
    assert s["extracted"] and s["figures"] == ["grokking_curves", "crest", "trig_identity"]
    assert s["scenes"] == ["ModularTable"]
    st = _states(o)
    assert st["extract"] == st["figure crest"] == st["scene ModularTable"] == "up to date"
    for f in stamps.load(o.stamps_path)["figures"]["crest"]["files"]:
        assert Path(f).stat().st_size > 1000

    again = make_all(o, log=lambda _: None)
    assert not again["extracted"] and again["figures"] == [] and again["scenes"] == []

    # an extraction setting: only what read the crest (and the product pair, whose votes are for T) is redone
    o5 = _opts(workspace, T=5)
    assert _states(o5)["extract"] == "stale"
    s5 = make_all(o5, log=lambda _: None)
    assert s5["extracted"] and s5["figures"] == ["crest", "trig_identity"] and s5["scenes"] == []
    # T left out is T as last asked: status agrees with the `all --T 5` that made them
    assert set(_states(o).values()) == {"up to date"}
    from grokking.extraction.settings import DEFAULT_T
    why = dict((i, w) for i, _, w in status(_opts(workspace, T=DEFAULT_T % 53)))["extract"]   # quick: p = 53
    assert why == "extraction settings changed"

    # the figures' code: every figure, no scene
    real = stamps.figure_code_hash
    monkeypatch.setattr(make.st, "figure_code_hash", lambda: real() + "x")
    assert _states(o5)["figure trig_identity"] == "stale"
    s = make_all(o5, log=lambda _: None)
    assert s["figures"] == ["grokking_curves", "crest", "trig_identity"] and s["scenes"] == []


@pytest.mark.slow
def test_retraining_makes_everything_downstream_stale(workspace):
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    o = _opts(workspace, scenes=[])
    make_all(o, log=lambda _: None)
    run = Run("quick", workspace / "runs")
    train([Seeded(run.config.replace(epochs=run.config.epochs + 10), run)], progress=False)
    st = dict((i, w) for i, _, w in status(o))
    assert "retrained or extended" in st["extract"]
    s = make_all(o, log=lambda _: None)
    assert s["extracted"] and "grokking_curves" in s["figures"]


@pytest.mark.slow
def test_interrupted_all_resumes_without_redoing(workspace, monkeypatch):
    o = _opts(workspace, scenes=[])
    real = make._make_figure
    calls = []

    def flaky(opts, name):
        calls.append(name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(opts, name)
    monkeypatch.setattr(make, "_make_figure", flaky)
    with pytest.raises(KeyboardInterrupt):
        make_all(o, log=lambda _: None)
    monkeypatch.setattr(make, "_make_figure", real)
    assert _states(o)["figure grokking_curves"] == "up to date"
    assert _states(o)["figure crest"] == "missing"
    assert not list((o.figure_dir).glob(".*tmp*"))
    s = make_all(o, log=lambda _: None)
    assert s["figures"] == ["crest", "trig_identity"] and not s["extracted"]


@pytest.mark.slow
def test_gallery_lists_every_output(workspace):
    o = _opts(workspace)
    s = make_all(o, log=lambda _: None)
    page = Path(s["gallery"]).read_text()
    links = set(re.findall(r"(?:src|href)='([^']+)'", page))
    for kind in ("figures", "scenes"):
        for name, st in stamps.load(o.stamps_path)[kind].items():
            for f in st["files"]:
                if f.endswith((".png", ".mp4")):
                    rel = Path(f).resolve().relative_to(o.media_root.resolve())
                    assert any(Path(s["gallery"]).parent.joinpath(link).resolve() == Path(f).resolve()
                               for link in links), f"{rel} not in the gallery"
    for link in links:
        assert (Path(s["gallery"]).parent / link).exists(), link
    assert "key frequencies" in page and s is not None


@pytest.mark.slow
def test_scenes_render_side_by_side_on_every_core_and_each_is_stamped(workspace, monkeypatch):
    """On two cores the scenes render in two worker processes (not this one), each stamped as it
    finishes; `all` reports every stage's seconds in its final line."""
    import os
    monkeypatch.setattr(make.paths, "cores", lambda: 2)
    o = _opts(workspace, figures=["grokking_curves"], scenes=["ModularTable", "OneHot"])
    s = make_all(o, log=lambda _: None)
    assert sorted(s["scenes"]) == ["ModularTable", "OneHot"] and not s["failed"]
    # worker processes, not this one (two tasks may both land on the first worker to start)
    assert 1 <= len(s["scene_workers"]) <= 2 and os.getpid() not in s["scene_workers"]
    assert list(s["stages"]) == ["train", "extract", "figures", "scenes", "explorer and gallery"]
    assert re.search(r"\(train \d+ s, extract \d+ s, figures \d+ s, scenes \d+ s", make.final_line(s))
    assert set(stamps.load(o.stamps_path)["scenes"]) == {"ModularTable", "OneHot"}
    assert _states(o)["scene OneHot"] == _states(o)["scene ModularTable"] == "up to date"
