"""`grokking film`: scenes joined in story order with an opening card naming the run, a title card
per part, one chapter per scene titled after the video's section it retells and a closing card;
subtitles (WebVTT) with one cue per chapter; the gallery links the film; scenes that are up to date
are not rendered again, nor is the film, and stale ones render one worker per core. Small synthetic
clips stand in for rendered scenes (rendering is what the scene tests check)."""
import hashlib
import json
import re
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


@pytest.mark.slow                           # five joins: about 2 s
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
    titles = ["The run: (x + y) mod 23, seed 0", "Modular Addition", "An Accidental Discovery at OpenAI",
              "How do x and y interact exactly? — crests along x + y", "The figures it rests on"]
    assert [ch["title"] for ch in film.chapters(r["path"])] == titles
    cues = read_vtt(r["subtitles"])
    assert len(cues) == len(titles)
    assert "story check" in cues[3][2] and "crest" in cues[3][2]           # Crest's claim: its row's
    assert "story.mp4" in r["gallery"].read_text()                         # the gallery links the film
    # nothing changed: nothing rendered, the film kept
    again = film.make_film(o, log=lambda _: None)
    assert rendered == ["ModularTable", "GrokkingCurve", "Crest"] and not again["written"]
    # the summary's story check changed (the scenes read only its task): no scene rendered, the film
    # rejoined, its opening card saying what the summary now says
    path = tmp_path / "assets" / "s" / "summary.json"
    s = json.loads(path.read_text())
    before = read_vtt(r["subtitles"])[0][2]
    for row in s["story_check"]["criteria"]:
        row["passed"] = row["name"] == "algorithm"
    s["story_check"]["passed"] = False
    rewrite_summary(path, s)
    after = film.make_film(o, log=lambda _: None)
    assert rendered == ["ModularTable", "GrokkingCurve", "Crest"] and after["written"]
    assert "story check: 1/7 rows pass" not in before
    assert "story check: 1/7 rows pass" in read_vtt(after["subtitles"])[0][2]
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


def rewrite_summary(path: Path, summary: dict):
    """Write synthetic assets' summary.json anew, and its sha256 in their manifest."""
    path.write_text(json.dumps(summary))
    m = json.loads((path.parent / "manifest.json").read_text())
    m["files"]["summary.json"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (path.parent / "manifest.json").write_text(json.dumps(m))


def read_vtt(path: Path) -> list[tuple[float, float, str]]:
    """A WebVTT file's cues (start s, end s, text); fails on a file that is not WebVTT."""
    text = Path(path).read_text()
    assert text.startswith("WEBVTT\n")
    cues = []
    for block in text.split("\n\n")[1:]:
        lines = [ln for ln in block.strip().split("\n") if ln]
        if not lines:
            continue
        m = re.fullmatch(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})", lines[1])
        assert m, block
        t = [int(g) for g in m.groups()]
        start = t[0] * 3600 + t[1] * 60 + t[2] + t[3] / 1000
        end = t[4] * 3600 + t[5] * 60 + t[6] + t[7] / 1000
        assert len(lines) == 3, block                                     # one line of text
        cues.append((start, end, lines[2]))
    return cues


def test_chapter_titles_are_the_videos_sections(monkeypatch):
    from grokking.scenes import catalog
    titles = {n: film.chapter_title(n) for n in catalog.SCENES}
    assert titles["ModularTable"] == "Modular Addition"
    assert titles["Clock"] == "Clocks perform modular addition"
    assert titles["NeuronSurface"].startswith("How do x and y interact exactly? — ")
    assert titles["TrigIdentity"].startswith("It learns a trig identity?! — ")
    assert titles["ExcludedLoss"].startswith("Putting the pieces together & excluded loss — ")
    sections = [t for _, t in film.SECTIONS] + [film.BEYOND[1]]       # a scene the video has no section for
    for name, title in titles.items():
        assert not re.search(rf"\b{name}\b", title) and title.split(" — ")[0] in sections
    assert len(set(titles.values())) == len(titles)                       # every chapter told apart
    # by the transcript time: a scene planted at a section's first second is in it, a second before is not
    monkeypatch.setitem(catalog.SCENES, "GrokkingCurve", ("curve", "planted", "7:56"))
    assert film.section("GrokkingCurve") == ("7:56", "It Groks!")
    monkeypatch.setitem(catalog.SCENES, "GrokkingCurve", ("curve", "planted", "7:55"))
    assert film.section("GrokkingCurve") == ("6:52", "An Accidental Discovery at OpenAI")


def test_part_cards_read_human_titles():
    parts = film.story(["NeuronWaves", "NeuronLoops", "EmbeddingProbe", "Clock"])
    cards = [film.part_card(i, title, names) for i, (_, title, names) in enumerate(parts, 1)]
    assert [c.title for c in cards] == ["Waves inside the network", "Reading the waves out of the embedding",
                                         "A clock that adds angles"]
    assert "“Some Clues” (8:49)" in cards[0].lines[0] and "Deeper into the model" not in cards[0].lines[0]
    assert not any(re.search(rf"\b{n}\b", line) for n in film.SHOTS for c in cards for line in c.lines)


def test_opening_card_names_the_run(tmp_path):
    from grokking.common.assets import Assets
    make_synthetic_assets(tmp_path, "r", p=23, key_freqs=(5, 2), seed=4)
    a = Assets("r", tmp_path)
    rows = a.story_check.criteria
    c = film.opening_card(a)
    text = "\n".join([c.kicker, c.title, *c.lines])
    assert c.title == "(x + y) mod 23"
    assert "run r · seed 4" in text
    assert "key frequencies: 10π/23 (k=5), 4π/23 (k=2)" in text
    assert f"story check: {sum(r['passed'] for r in rows)}/{len(rows)} rows pass" in text
    # planted: another run's summary says another thing, and the card says what its summary says
    path = tmp_path / "r" / "summary.json"
    s = json.loads(path.read_text())
    s["task"]["seed"], s["key_frequencies"], s["key_labels"] = 9, [7], ["14π/23"]
    for row in s["story_check"]["criteria"]:
        row["passed"] = row["name"] != "crest"
    s["story_check"]["passed"] = False
    rewrite_summary(path, s)
    text = "\n".join(film.opening_card(Assets("r", tmp_path)).lines)
    assert "seed 9" in text and "key frequencies: 14π/23 (k=7)" in text
    assert f"story check: {len(rows) - 1}/{len(rows)} rows pass (crest fail)" in text


def test_closing_card_names_the_figures(tmp_path):
    made = tmp_path / "crest.png"
    made.write_bytes(b"png")
    stamps = {"figures": {"crest": {"files": [str(made)]}, "logits": {"files": [str(tmp_path / "gone.png")]},
                          "probe": {"files": [], "skipped": "no probe"}}}
    assert film.figures_made(stamps) == ["crest"]
    assert film.figures_made({}, tmp_path) == ["crest"]                   # no stamps: the folder's
    c = film.closing_card("r", ["grokking_curves", "crest"], "media/figures/r")
    assert "grokking curves · crest" in c.lines[0] and "media/figures/r" in c.lines[1]


def test_subtitles_one_cue_per_chapter(tmp_path):
    a = clip(tmp_path / "a.mp4", 1.0, 40)
    b = clip(tmp_path / "b.mp4", 2.0, 120)
    opening = film.Card("kicker", "(x + y) mod 23", ["seed 0"], chapter="The run", claim="the run's line")
    closing = film.Card("kicker", "The figures", ["crest"], chapter="The figures", claim="figures: crest")
    out = tmp_path / "story.mp4"
    chs = film.join([("Part one", [("Alpha", a)]), ("Part two", [("Beta", b)])], out, card_seconds=1.0,
                    opening=opening, closing=closing, end_seconds=1.0)
    assert [ch["title"] for ch in film.chapters(out)] == ["The run", "Alpha", "Beta", "The figures"]
    path = tmp_path / "story.vtt"
    path.write_text(film.vtt(chs, ["the run's line", "alpha\nholds --> yes", "beta", "figures: crest"]))
    cues = read_vtt(path)
    assert len(cues) == len(chs) == 4
    assert [c[2] for c in cues] == ["the run's line", "alpha holds → yes", "beta", "figures: crest"]
    assert all(s < e for s, e, _ in cues) and all(cues[i][1] <= cues[i + 1][0] for i in range(3))
    assert [(s, e) for s, e, _ in cues] == [(0.0, 1.0), (1.0, 3.0), (3.0, 6.0), (6.0, 7.0)]
    assert abs(film.duration(out) - 7.0) < 0.2
    with pytest.raises(ValueError):
        film.vtt(chs, ["one claim short"] * 3)


def test_claims_are_the_story_checks():
    class Check:
        criteria = [{"name": "legible", "passed": True, "value": "story k=3", "scenes": ["Clock", "Crest", "X"]},
                    {"name": "crest", "passed": False, "value": "other crests at 90%", "meaning": "no one crest",
                     "scenes": ["Crest"]}]
    assert film.claim("Crest", Check()) == "other crests at 90% (story check, crest: FAILS: no one crest)"
    assert film.claim("Clock", Check()) == "story k=3 (story check, legible: holds)"
    from grokking.scenes.catalog import SCENES
    assert film.claim("OneHot", Check()) == SCENES["OneHot"][1]            # no row: its description


def test_gallery_links_the_film_when_it_exists(tmp_path):
    from grokking.pipeline.gallery import write_gallery
    make_synthetic_assets(tmp_path / "assets", "g", p=23)
    o = Options(run="g", assets_root=tmp_path / "assets", media_root=tmp_path / "media")
    assert "story.mp4" not in write_gallery(o, {}).read_text()
    (o.media_dir / "story.mp4").write_bytes(b"film")
    page = write_gallery(o, {}).read_text()
    assert "href='story.mp4'" in page and "<video" in page and "story.vtt" not in page
    (o.media_dir / "story.vtt").write_text("WEBVTT\n")
    assert "<track kind='subtitles' src='story.vtt'" in write_gallery(o, {}).read_text()


def test_film_renders_scenes_one_worker_per_core(tmp_path, monkeypatch):
    """The film goes through `grokking all`'s scene path: stale scenes on one spawn worker per core
    (here two cores, the parallel path recorded), or as many as --workers says."""
    make_synthetic_assets(tmp_path / "assets", "w", p=23, n_ckpt=40)
    seen = []

    def parallel(o, todo, stamps, summary, log, now, guard, bar, workers):
        seen.append(workers)
        raise KeyboardInterrupt                                            # stop before rendering
    monkeypatch.setattr(make, "_make_scenes_parallel", parallel)
    monkeypatch.setattr(make.paths, "cores", lambda: 2)
    o = Options(run="w", assets_root=tmp_path / "assets", media_root=tmp_path / "media",
                scenes=["ModularTable", "GrokkingCurve", "Crest"], progress=False)
    with pytest.raises(KeyboardInterrupt):
        film.make_film(o, log=lambda _: None)
    assert seen == [2]
    serial = []
    monkeypatch.setattr(make, "_scene_job", lambda o, name: serial.append(name) or {"name": name, "error": "x"})
    with pytest.raises(film.FilmError):
        film.make_film(Options(**{**o.__dict__, "workers": 1, "made": []}), log=lambda _: None)
    assert seen == [2] and serial == ["ModularTable", "GrokkingCurve", "Crest"]


# ---- a run of another op: its task, its group, its axes ------------------------------------------

def plant_op(root: Path, run: str, op: str, p: int = 23, zero_pairs: dict | None = None) -> Path:
    """Synthetic assets (an add run's arrays) whose summary says they are a run of `op`, in the
    coordinates extraction measures it in (extraction/coords.py): its task, its "additive" entry
    and its key labels over the group's order n (p − 1 for mul and div)."""
    from grokking.extraction import fourier as fo
    from grokking.extraction.coords import coordinates
    make_synthetic_assets(root, run, p=p, key_freqs=(5, 2))
    path = root / run / "summary.json"
    s = json.loads(path.read_text())
    co = coordinates(op, p)
    s["task"]["op"] = op
    s["additive"] = {"found": True, "op": op, **co.to_json(), "zero_pairs": zero_pairs}
    s["key_labels"] = [fo.freq_label(k, co.n) for k in s["key_frequencies"]]
    rewrite_summary(path, s)
    return path


def test_opening_card_of_a_mul_run_names_the_op_and_the_group(tmp_path):
    """A mul run's card names its task, the group its key frequencies live in (Z_(p−1), over the
    discrete log), how the product is read, and the zero pairs set apart, each from its summary;
    an add run's card says none of that."""
    from grokking.common.assets import Assets
    plant_op(tmp_path, "m", "mul", zero_pairs={"pairs": 45, "accuracy": 0.96, "mean_p_zero": 0.9})
    c = film.opening_card(Assets("m", tmp_path))
    text = "\n".join([c.kicker, c.title, *c.lines])
    assert c.title == "(x · y) mod 23" and c.chapter == "The run: (x · y) mod 23, seed 0"
    assert "key frequencies over log₅ x, in Z_22: 5π/11 (k=5), 2π/11 (k=2)" in text      # 5 generates mod 23
    assert "discrete log base 5: x · y = 5^(log₅ x + log₅ y), so the model adds logs in Z_22" in text
    assert "the 45 pairs with a zero (answer 0) lie outside the group, measured apart: accuracy 96%" in text
    assert "key frequencies over log₅ x, in Z_22: 5π/11" in c.claim and "Z_22" in c.claim
    # div: x / y through the same log, the pairs with x = 0 apart
    plant_op(tmp_path, "d", "div", zero_pairs={"pairs": 22, "accuracy": 1.0, "mean_p_zero": 0.99})
    d = "\n".join(film.opening_card(Assets("d", tmp_path)).lines)
    assert "x / y = 5^(log₅ x − log₅ y)" in d and "the 22 pairs with x = 0 (answer 0)" in d
    # add: as before, no group named
    make_synthetic_assets(tmp_path, "a", p=23, key_freqs=(5, 2))
    a = film.opening_card(Assets("a", tmp_path))
    assert "key frequencies: 10π/23 (k=5), 4π/23 (k=2)" in a.lines and not any("Z_" in ln for ln in a.lines)


def test_opening_card_of_a_pow_run_without_a_grid_says_its_surfaces_are_left_out(tmp_path):
    from grokking.common.assets import Assets
    plant_op(tmp_path, "w", "pow", p=23)
    path = tmp_path / "w" / "summary.json"
    s = json.loads(path.read_text())
    from grokking.extraction.coords import coordinates
    s["task"].update(a=2, b=2)
    s["additive"].update({k: v for k, v in coordinates("pow", 23, 2, 2).to_json().items()})
    rewrite_summary(path, s)
    lines = film.opening_card(Assets("w", tmp_path)).lines
    assert any("key frequencies over x² + y², in Z_23" in ln for ln in lines), lines
    assert any("no grid (x ↦ x² is 2-to-1; y ↦ y² is 2-to-1)" in ln and "left out" in ln for ln in lines), lines


def test_part_and_chapter_titles_of_a_mul_run_read_its_axes_and_relabel_opens_the_mechanism(tmp_path):
    from grokking.common.assets import Assets
    from grokking.scenes.catalog import SCENES
    plant_op(tmp_path, "m", "mul")
    a = Assets("m", tmp_path)
    task, t = a.summary["task"], film.terms(a.additive, a.summary["task"])
    parts = film.story(list(SCENES), task, a.additive)
    modules = [m for m, _, _ in parts]
    if "relabel" in modules:                  # the catalogue has the scene: first of the mechanism, after the curve
        assert modules.index("relabel") == modules.index("curve") + 1 == modules.index("waves") - 1, modules
        assert dict((m, title) for m, title, _ in parts)["relabel"] == "Multiplication is addition in disguise"
        assert film.chapter_title("Relabel", t) == "Beyond the video — the multiplication clock"
        # an add run keeps the catalogue's order
        assert [m for m, _, _ in film.story(list(SCENES))] == list(dict.fromkeys(m for m, _, _ in SCENES.values()))
    titles = dict((m, title) for m, title, _ in parts)
    assert titles["intro"] == "The task: (x · y) mod 23" and titles["surfaces"] == "Neurons over (log₅ x, log₅ y)"
    assert film.chapter_title("Crest", t) == "How do x and y interact exactly? — crests along log₅ x + log₅ y"
    assert film.chapter_title("NeuronSurface", t).endswith("one neuron over log₅ x and log₅ y")
    # add reads as before
    assert film.chapter_title("Crest") == "How do x and y interact exactly? — crests along x + y"
    assert dict((m, ti) for m, ti, _ in film.story(list(SCENES)))["surfaces"] == "Neurons over (x, y)"
    # div: its own word
    plant_op(tmp_path, "d", "div")
    d = Assets("d", tmp_path)
    td = film.terms(d.additive, d.summary["task"])
    assert film.PARTS["relabel"].format(**td) == "Division is addition in disguise"
    assert film.SHOTS["Relabel"].format(**td) == "the division clock"


def test_claims_without_a_story_check_row_read_the_runs_axes():
    t = {**film.terms(), "x": "log₃ x", "y": "log₃ y", "sum": "log₃ x + log₃ y"}
    from grokking.scenes.catalog import SCENES
    said = film.claim("NeuronSurface", None, t)
    assert "over (log₃ x, log₃ y): log₃ x sweep, log₃ y sweep" in said and "(x, y)" not in said
    assert film.claim("NeuronSurface", None) == SCENES["NeuronSurface"][1]          # add: the catalogue's
    assert film.claim("ModularTable", None, t) == SCENES["ModularTable"][1]         # the toy is addition: as is


def test_closing_card_names_the_scenes_left_out_and_why():
    why = "run 'w' has no {}: none found (op pow here has no (x², y²) grid)"
    c = film.closing_card("w", ["crest"], "media/figures/w",
                          left_out={"Crest": why.format("crest"), "LogitSurface": why.format("logit"),
                                    "TrigIdentity": "its render failed: boom"})
    assert "left out: Crest, LogitSurface (op pow here has no (x², y²) grid)" in c.lines, c.lines
    assert "left out: TrigIdentity (its render failed: boom)" in c.lines
    assert "left out: Crest, LogitSurface" in c.claim
    assert not any("left out" in ln for ln in film.closing_card("w", ["crest"], "f").lines)
    # many reasons: the first two, then a count
    many = film.left_out_lines({f"S{i}": f"reason {i}" for i in range(5)})
    assert many == ["left out: S0 (reason 0)", "left out: S1 (reason 1)", "and 3 more scenes left out (the gallery says why)"]


def test_relabel_is_in_a_mul_or_div_runs_film_only(tmp_path):
    """Relabel (the table sorted by the discrete log) is rendered and joined for mul and div runs;
    another run's film leaves it out, with the reason logged, unless --scenes names it."""
    from grokking.scenes.catalog import SCENES
    if "Relabel" not in SCENES:
        pytest.skip("the catalogue has no Relabel scene")
    make_synthetic_assets(tmp_path / "assets", "a", p=23)
    plant_op(tmp_path / "assets", "m", "mul")
    opts = lambda run, scenes=None: Options(run=run, assets_root=tmp_path / "assets", media_root=tmp_path / "media",
                                            scenes=scenes, progress=False)
    o, beside = film._relabel_for_op(opts("a"))
    assert "Relabel" not in o.scenes and set(o.scenes) == set(SCENES) - {"Relabel"} and "a add run" in beside["Relabel"]
    o, beside = film._relabel_for_op(opts("m"))
    assert o.scenes is None and beside == {}
    o, beside = film._relabel_for_op(opts("a", ["Relabel"]))
    assert o.scenes == ["Relabel"] and beside == {}


@pytest.mark.slow                           # one join: about 1 s
def test_film_of_a_mul_run(tmp_path, monkeypatch):
    """A mul run's film: its opening cue names the task and the group, Relabel opens the mechanism,
    the chapters read its axes, and a scene the run lacks is named on the closing card."""
    from grokking.scenes.catalog import SCENES
    plant_op(tmp_path / "assets", "m", "mul", zero_pairs={"pairs": 45, "accuracy": 1.0, "mean_p_zero": 1.0})
    names = ["GrokkingCurve", "NeuronWaves", "Crest", "LogitSurface"] + (["Relabel"] if "Relabel" in SCENES else [])
    o = Options(run="m", assets_root=tmp_path / "assets", media_root=tmp_path / "media", scenes=names, progress=False)

    def fake_scene(opts, name):
        if name == "LogitSurface":
            return [], {("summary", "task")}, "run 'm' has no logit: none found (planted)"
        return [clip(opts.scene_dir / f"{name}.mp4", 0.3, 90)], {("summary", "task")}, None
    monkeypatch.setattr(make, "_make_scene", fake_scene)
    monkeypatch.setattr(make.paths, "cores", lambda: 1)
    r = film.make_film(o, log=lambda _: None)
    titles = [ch["title"] for ch in film.chapters(r["path"])]
    want = ["The run: (x · y) mod 23, seed 0", "An Accidental Discovery at OpenAI"] + \
        (["Beyond the video — the multiplication clock"] if "Relabel" in names else []) + \
        ["Some Clues — neurons are waves", "How do x and y interact exactly? — crests along log₅ x + log₅ y",
         "The figures it rests on"]
    assert titles == want
    cues = read_vtt(r["subtitles"])
    assert "(x · y) mod 23" in cues[0][2] and "in Z_22" in cues[0][2] and "discrete log base 5" in cues[0][2]
    assert "left out: LogitSurface (planted)" in cues[-1][2]
    assert r["left_out"] == {"LogitSurface": "run 'm' has no logit: none found (planted)"}


@pytest.mark.slow                           # one join: about 1 s
def test_a_scene_whose_code_changed_while_the_film_rendered_is_left_out_saying_so(tmp_path, monkeypatch):
    """A render stale by the time of the join (its code changed meanwhile, as when the scenes are
    edited during a long render) is left out with the reason, not as 'not made'."""
    make_synthetic_assets(tmp_path / "assets", "s", p=23, n_ckpt=40)
    o = Options(run="s", assets_root=tmp_path / "assets", media_root=tmp_path / "media",
                scenes=["GrokkingCurve", "Crest"], progress=False)
    monkeypatch.setattr(make, "_make_scene", lambda opts, name: (
        [clip(opts.scene_dir / f"{name}.mp4", 0.3, 90)], {("summary", "task")}, None))
    monkeypatch.setattr(make.paths, "cores", lambda: 1)
    real, calls = make.st.scene_code_hash, []
    monkeypatch.setattr(make.st, "scene_code_hash",
                        lambda n: real(n) + (str(len(calls.append(1) or calls)) if n == "Crest" else ""))
    r = film.make_film(o, log=lambda _: None)
    assert set(r["left_out"]) == {"Crest"} and r["left_out"]["Crest"].startswith("its render is not up to date (")
    assert "left out: Crest (its render is not up to date" in read_vtt(r["subtitles"])[-1][2]
