"""`grokking film`: scenes joined in story order with a title card per part and one chapter per
scene; scenes that are up to date are not rendered again, nor is the film. Small synthetic clips
stand in for rendered scenes (rendering is what the scene tests check)."""
from pathlib import Path

import numpy as np
import pytest

from grokking.pipeline import film, make
from grokking.pipeline.make import Options
from tests.synthetic import make_synthetic_assets

FPS = 15


def clip(path: Path, seconds: float, shade: int, size=(96, 64)) -> Path:
    """A tiny H.264 clip of one grey level."""
    import av
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(round(seconds * FPS)):
            f = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), shade, np.uint8), format="rgb24")
            f.pts = i
            for pk in s.encode(f):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    return path


def test_join_writes_cards_scenes_and_named_chapters(tmp_path):
    a = clip(tmp_path / "a.mp4", 1.0, 40)
    b = clip(tmp_path / "b.mp4", 2.0, 120)
    c = clip(tmp_path / "c.mp4", 1.0, 200, size=(48, 32))          # another size: scaled to the first's
    out = tmp_path / "story.mp4"
    chs = film.join([("Part one", [("Alpha", a), ("Beta", b)]), ("Part two", [("Gamma", c)])], out, card_seconds=1.0)
    assert [ch["title"] for ch in chs] == ["Alpha", "Beta", "Gamma"]
    # a card opens each part: Alpha = card + 1 s, Beta = 2 s, Gamma = card + 1 s
    assert [(ch["start"], ch["end"]) for ch in chs] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    read = film.chapters(out)
    assert [ch["title"] for ch in read] == ["Alpha", "Beta", "Gamma"]
    assert [round(ch["start"], 3) for ch in read] == [0.0, 2.0, 4.0]
    assert abs(film.duration(out) - 6.0) < 0.2
    import av
    with av.open(str(out)) as f:
        frames = [fr.to_ndarray(format="gray") for fr in f.decode(video=0)]
    assert len(frames) == 6 * FPS and frames[0].shape == (64, 96)
    means = [float(fr.mean()) for fr in frames]
    # card (dark, with text), Alpha (40), Beta (120), card, Gamma (200)
    assert abs(means[FPS + 7] - 40) < 8 and abs(means[3 * FPS] - 120) < 8 and abs(means[5 * FPS + 7] - 200) < 8


def test_story_follows_the_catalogue():
    from grokking.scenes.catalog import SCENES
    parts = film.story(list(reversed(SCENES)))
    assert [n for _, _, names in parts for n in names] == list(SCENES)
    assert [m for m, _, _ in parts] == list(dict.fromkeys(m for m, _, _ in SCENES.values()))
    assert all(m in film.PARTS for m, _, _ in parts)


def test_film_renders_only_what_is_stale(tmp_path, monkeypatch):
    make_synthetic_assets(tmp_path / "assets", "s", p=23, n_ckpt=40)
    o = Options(run="s", assets_root=tmp_path / "assets", media_root=tmp_path / "media",
                scenes=["ModularTable", "GrokkingCurve", "Crest"], progress=False)
    rendered = []

    def fake_scene(opts, name):
        rendered.append(name)
        video = clip(opts.scene_dir / f"{name}.mp4", 0.4, (30 + 50 * len(rendered)) % 250)
        return [video], {("summary", "task")}, None
    monkeypatch.setattr(make, "_make_scene", fake_scene)
    monkeypatch.setattr(make.paths, "cores", lambda: 1)     # one process: the one the fake is in
    r = film.make_film(o, log=lambda _: None)
    assert rendered == ["ModularTable", "GrokkingCurve", "Crest"] and r["written"]
    assert [ch["title"] for ch in film.chapters(r["path"])] == ["ModularTable", "GrokkingCurve", "Crest"]
    # nothing changed: nothing rendered, the film kept
    again = film.make_film(o, log=lambda _: None)
    assert rendered == ["ModularTable", "GrokkingCurve", "Crest"] and not again["written"]
    # one scene's code changed: that scene alone is rendered again, and the film rejoined
    real = make.st.scene_code_hash
    monkeypatch.setattr(make.st, "scene_code_hash", lambda n: real(n) + ("x" if n == "Crest" else ""))
    third = film.make_film(o, log=lambda _: None)
    assert rendered[3:] == ["Crest"] and third["written"]
    # another quality is another film
    lines = []
    r = film.make_film(Options(**{**o.__dict__, "quality": "medium", "made": []}), log=lines.append)
    assert r["written"], lines


@pytest.mark.parametrize("bad", [[]])
def test_join_refuses_nothing(tmp_path, bad):
    with pytest.raises(ValueError):
        film.join(bad, tmp_path / "x.mp4")


def test_a_failed_join_removes_only_its_own_temporary_file(tmp_path, monkeypatch):
    """join() removes one file: the temporary it wrote beside the film. A join that fails half-way
    keeps the previous film, a stranger's file beside it and anything outside media/<run>/."""
    run_dir = tmp_path / "media" / "r"
    run_dir.mkdir(parents=True)
    out = run_dir / "story.mp4"
    out.write_bytes(b"the previous film")
    beside, outside = run_dir / "notes.txt", tmp_path / "sentinel.txt"
    beside.write_text("mine")
    outside.write_text("mine")
    a = clip(tmp_path / "a.mp4", 1.0, 40)
    real, seen = film.card, []

    def card_then_fail(*args):          # the second part's card fails, mid-write of the temporary
        seen.append(sorted(p.name for p in run_dir.iterdir()))
        if len(seen) == 2:
            raise RuntimeError("injected")
        return real(*args)
    monkeypatch.setattr(film, "card", card_then_fail)
    with pytest.raises(RuntimeError, match="injected"):
        film.join([("One", [("Alpha", a)]), ("Two", [("Beta", a)])], out, card_seconds=0.5)
    assert any(n.startswith(".story.tmp") for n in seen[1])            # the temporary existed
    assert out.read_bytes() == b"the previous film"
    assert beside.read_text() == outside.read_text() == "mine"
    assert sorted(p.name for p in run_dir.iterdir()) == ["notes.txt", "story.mp4"]
