"""Reliability, the surfaces: every text naming the task from the run's op, the
advice for an unextracted sweep point, the film's leftovers after a kill -9, scene stamps
kept per quality, a forced film whose re-render fails, a --run too long for the seed
choice's suffix and the cosmetics. Tiny configs, tmp folders, still frames."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.synthetic import make_synthetic_assets

ROOT = Path(__file__).resolve().parents[2]


def set_task(assets_dir: Path, **task):
    """Change summary.json's task of synthetic assets (and its sha256 in the manifest)."""
    s = json.loads((assets_dir / "summary.json").read_text())
    s["task"].update(task)
    (assets_dir / "summary.json").write_text(json.dumps(s))
    m = json.loads((assets_dir / "manifest.json").read_text())
    m["files"]["summary.json"] = hashlib.sha256((assets_dir / "summary.json").read_bytes()).hexdigest()
    (assets_dir / "manifest.json").write_text(json.dumps(m))


# ---- 5. the task named from the run's op --------------------------------------------------------

@pytest.mark.parametrize("task, named", [
    ({"op": "add", "p": 113}, "(x + y) mod 113"), ({"op": "mul", "p": 113}, "(x · y) mod 113"),
    ({"op": "sub", "p": 97}, "(x − y) mod 97"), ({"op": "div", "p": 113}, "(x / y) mod 113"),
    ({"op": "pow", "p": 113, "a": 3, "b": 2}, "(x³ + y²) mod 113"),
])
def test_task_name_comes_from_the_op(task, named):
    from grokking.scenes.theme import task_name
    assert task_name(task) == named


def test_film_part_card_names_the_runs_task():
    from grokking.pipeline import film
    titles = {m: t for m, t, _ in film.story(["ModularTable", "GrokkingCurve"], {"op": "mul", "p": 113})}
    assert titles["intro"] == "The task: (x · y) mod 113"
    assert all("mod p" not in t and "adding" not in t for t in titles.values())


def _texts(monkeypatch):
    """Every string a scene passes to look.label / look.title while it is built."""
    from grokking.scenes import look
    seen = []
    for fn in ("label", "title"):
        real = getattr(look, fn)

        def spy(s, *a, _real=real, **k):
            seen.append(str(s))
            return _real(s, *a, **k)
        monkeypatch.setattr(look, fn, spy)
    return seen


@pytest.mark.parametrize("op, sym", [("mul", "·"), ("div", "/")])
@pytest.mark.slow
def test_scenes_name_a_mul_or_div_runs_task(op, sym, tmp_path, monkeypatch):
    pytest.importorskip("manim")
    from grokking.scenes.cli import render
    make_synthetic_assets(tmp_path / "assets", "m", p=23)
    set_task(tmp_path / "assets" / "m", op=op)
    seen = _texts(monkeypatch)
    for name in ("GrokkingCurve", "OneHot", "ModularTable"):
        render(name, run="m", quality="low", still=True, media_dir=tmp_path / "media", root=tmp_path / "assets",
               pixel_width=160, pixel_height=90, progress=False)
    text = "\n".join(seen)
    assert f"(x {sym} y) mod 23" in text                 # the heading, the toy's note
    assert "(x + y) mod" not in text
    assert sym in seen                                   # OneHot's problem: 1 · 2 =, 1 / 2 =
    from grokking.training.tasks import answers
    ans = int(answers(op, np.array([1]), np.array([2]), 23)[0])
    assert str(ans) in seen                              # its answer at p, the run's own


def test_film_card_of_a_mul_run_says_its_task(tmp_path, monkeypatch):
    from grokking.pipeline import film, make
    from grokking.pipeline.make import Options
    from tests.unit.test_film import clip
    make_synthetic_assets(tmp_path / "assets", "m", p=23)
    set_task(tmp_path / "assets" / "m", op="mul")
    o = Options(run="m", assets_root=tmp_path / "assets", media_root=tmp_path / "media",
                scenes=["ModularTable", "GrokkingCurve"], progress=False)
    monkeypatch.setattr(make, "_make_scene", lambda opts, name: (
        [clip(opts.scene_dir / f"{name}.mp4", 0.2, 80)], {("summary", "task")}, None))
    monkeypatch.setattr(make.paths, "cores", lambda: 1, raising=False)
    titles, real = [], film.card
    monkeypatch.setattr(film, "card", lambda w, h, c: titles.append(c.title) or real(w, h, c))
    film.make_film(o, log=lambda _: None)
    assert titles[:2] == ["(x · y) mod 23", "The task: (x · y) mod 23"], titles     # the opening card, part 1


# ---- 11. an unextracted sweep point: the advice names SWEEP/POINT -------------------------------

@pytest.mark.parametrize("command", [["explore"], ["film"], ["figures"]])
def test_unextracted_sweep_point_is_advised_by_its_full_name(command, runs_dir):
    from grokking.cli import cli
    point = runs_dir / "sw" / "s0"
    point.mkdir(parents=True)
    (runs_dir / "sw" / "sweep.json").write_text("{}")
    r = CliRunner().invoke(cli, command + ["--run", "sw/s0"])
    assert r.exit_code == 2, r.output
    assert "extract --run sw/s0" in r.output and "'sw/s0'" in r.output, r.output
    assert "--run s0" not in r.output


# ---- 14. a join killed by kill -9: its temporary goes at the next film run ------------------------

def _film_options(tmp_path, scenes=("ModularTable", "GrokkingCurve"), **kw):
    from grokking.pipeline.make import Options
    if not (tmp_path / "assets" / "f").exists():
        make_synthetic_assets(tmp_path / "assets", "f", p=23)
    return Options(run="f", assets_root=tmp_path / "assets", media_root=tmp_path / "media",
                   scenes=list(scenes), progress=False, **kw)


def _fake_scenes(monkeypatch, fail=()):
    from grokking.pipeline import make
    from tests.unit.test_film import clip
    made = []

    def fake_scene(opts, name):
        if name in fail:
            raise RuntimeError(f"injected failure of {name}")
        made.append((name, opts.quality))
        return [clip(opts.scene_dir / f"{name}.mp4", 0.2, (60 + 40 * len(made)) % 250)], {("summary", "task")}, None
    monkeypatch.setattr(make, "_make_scene", fake_scene)
    monkeypatch.setattr(make.paths, "cores", lambda: 1, raising=False)    # in this process, where the fake is
    return made


KILLED_JOIN = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from grokking.pipeline import film
real, calls = film.card, []
def slow_card(*a):
    calls.append(1)
    if len(calls) == 2:                  # the second part's card: the temporary is half-written
        print("joining", flush=True)
        time.sleep(120)
    return real(*a)
film.card = slow_card
clip = Path({clip!r})
film.join([("One", [("A", clip)]), ("Two", [("B", clip)])], Path({out!r}), card_seconds=0.2)
"""


def test_a_join_killed_by_sigkill_leaves_a_temporary_the_next_film_removes(tmp_path, monkeypatch):
    from grokking.pipeline import film
    from tests.unit.test_film import clip
    o = _film_options(tmp_path)
    out = o.media_dir / film.FILM
    out.parent.mkdir(parents=True)
    a = clip(tmp_path / "a.mp4", 4.0, 90, size=(32, 32))     # past the encoder's look-ahead: bytes written
    child = subprocess.Popen([sys.executable, "-c", KILLED_JOIN.format(root=str(ROOT), clip=str(a), out=str(out))],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "joining"
        leftover = o.media_dir / f".story.tmp{child.pid}.mp4"
        assert leftover.exists()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert leftover.exists()                                  # kill -9: nothing ran to remove it
    # strangers beside it: a live process's join, other names, a link
    sleeper = subprocess.Popen(["sleep", "60"])               # a join still running elsewhere
    live = o.media_dir / f".story.tmp{sleeper.pid}.mp4"
    strangers = [live, o.media_dir / ".notes.tmp999999.txt", o.media_dir / ".story.tmp999999.mov",
                 o.media_dir / "story.tmp999999.mp4", o.media_dir / ".story.tmpx.mp4"]
    for f in strangers:
        f.write_text("mine")
    (o.media_dir / ".story.tmp999998.mp4").symlink_to(tmp_path / "a.mp4")
    _fake_scenes(monkeypatch)
    try:
        r = film.make_film(o, log=lambda _: None)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert r["written"] and out.exists()
    assert not leftover.exists()
    assert all(f.read_text() == "mine" for f in strangers)
    assert (o.media_dir / ".story.tmp999998.mp4").is_symlink() and a.exists()


# ---- 16. film --force whose re-render fails: the older render is not joined -----------------------

def test_forced_film_whose_rerender_fails_does_not_join_the_older_render(tmp_path, monkeypatch):
    from grokking.pipeline import film
    o = _film_options(tmp_path)
    _fake_scenes(monkeypatch)
    first = film.make_film(o, log=lambda _: None)
    scenes = [c["title"] for c in first["chapters"]][1:-1]          # between the opening and closing cards
    assert scenes == ["Modular Addition", "An Accidental Discovery at OpenAI"]
    _fake_scenes(monkeypatch, fail={"GrokkingCurve"})
    lines = []
    forced = film.make_film(_film_options(tmp_path, force=True), log=lines.append)
    assert forced["failed"] and forced["failed"][0][0] == "scene GrokkingCurve", lines     # grokking film: exit 1
    assert [c["title"] for c in film.chapters(forced["path"])][1:-1] == ["Modular Addition"]
    said = [ln for ln in lines if ln.startswith("[film] GrokkingCurve: left out")]
    assert said and "injected failure" in said[0] and "older render is not joined" in said[0], lines


def test_forced_film_cli_exits_1_when_a_rerender_fails(tmp_path, monkeypatch):
    from grokking.pipeline import film
    from grokking.cli import cli
    o = _film_options(tmp_path)
    _fake_scenes(monkeypatch)
    film.make_film(o, log=lambda _: None)
    _fake_scenes(monkeypatch, fail={"GrokkingCurve"})
    monkeypatch.chdir(tmp_path)                         # assets/ and media/ are relative to it
    r = CliRunner().invoke(cli, ["film", "--run", "f", "--scenes", "ModularTable,GrokkingCurve", "--force", "--quiet"])
    assert r.exit_code == 1, r.output
    assert "older render is not joined" in r.output


# ---- 15. scene stamps per quality: alternating --quality reuses each quality's renders -----------

def test_alternating_quality_reuses_each_qualitys_renders(tmp_path, monkeypatch):
    from grokking.pipeline import film, make
    made = _fake_scenes(monkeypatch)
    for q in ("low", "medium", "low", "medium"):
        film.make_film(_film_options(tmp_path, quality=q), log=lambda _: None)
    assert made == [("ModularTable", "low"), ("GrokkingCurve", "low"),
                    ("ModularTable", "medium"), ("GrokkingCurve", "medium")]
    for q in ("low", "medium"):                 # status agrees: both qualities are up to date
        rows = {r[0]: r for r in make.status(_film_options(tmp_path, quality=q))}
        assert rows["scene ModularTable"][1] == "up to date" and rows["scene GrokkingCurve"][1] == "up to date"
    high = {r[0]: r for r in make.status(_film_options(tmp_path, quality="high"))}
    assert high["scene ModularTable"][1] != "up to date"                  # never rendered at high
    # what the film, the gallery and the explorer read is the quality asked for
    from grokking.pipeline import stamps as st
    o = _film_options(tmp_path, quality="low")
    film.make_film(o, log=lambda _: None)
    files = st.load(o.stamps_path)["scenes"]["GrokkingCurve"]["files"]
    assert Path(files[0]).parent.name == "low" and len(made) == 4


# ---- 20. a --run too long for the suffix a command adds: named, and nothing written -------------

@pytest.mark.parametrize("args, suffix", [
    (["all", "--quiet"], "-s1"),
    (["train", "--preset", "quick", "--seeds", "0,1", "--quiet"], "-s0"),
])
def test_a_run_name_too_long_for_its_suffix_names_it_and_writes_nothing(args, suffix, runs_dir):
    from grokking.cli import cli
    name = "a" * 63
    r = CliRunner().invoke(cli, args + ["--run", name])
    assert r.exit_code == 2, r.output
    assert suffix in r.output and "63 characters" in r.output and "at most 61" in r.output, r.output
    assert "66 characters long" not in r.output
    assert sorted(p.name for p in runs_dir.parent.iterdir()) == [], "wrote something"
    ok = CliRunner().invoke(cli, ["status", "--run", "a" * 61])          # 61 + -s1 fits: not refused as too long
    assert "characters" not in ok.output


# ---- 22. cosmetics --------------------------------------------------------------------------------

def test_ordinals_in_the_explorer(tmp_path):
    import shutil
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed")
    js = (ROOT / "grokking" / "pipeline" / "explore.js").read_text()
    assert "}th stored" not in js
    line = next(ln for ln in js.splitlines() if ln.strip().startswith("const ordinal"))
    script = line + "\nconsole.log([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112].map(ordinal).join(' '));"
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th"]


def test_a_one_point_sweep_says_one_batch_one_point(tmp_path, monkeypatch):
    from grokking.lab import sweep as S
    from grokking.training import grid as G
    monkeypatch.setattr(S, "run_local", lambda specs, procs, bar, record: [])     # the log, not the training
    lines = []
    S.sweep("one", "seed=0", preset="quick", overrides={"p": 11, "epochs": 20}, runs_dir=tmp_path, progress=False,
            log=lines.append)
    said = next(ln for ln in lines if "to train in" in ln)
    assert "1 of 1 point to train in 1 batch (1 point)" in said, said
    assert "batches" not in said and "points" not in said
    monkeypatch.setattr(S, "run_local", lambda specs, procs, bar, record: ["injected"])
    with pytest.raises(G.SweepError, match=r"^1 of 1 batch failed"):
        S.sweep("two", "seed=0", preset="quick", overrides={"p": 11, "epochs": 20}, runs_dir=tmp_path,
                progress=False, log=lines.append)


def test_film_of_no_scene_says_none_was_named(tmp_path, monkeypatch):
    from grokking.cli import cli
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["film", "--run", "f", "--scenes", ""])
    assert r.exit_code == 2
    assert "--scenes names none" in r.output and not r.output.rstrip().endswith("no scene to join:"), r.output


def test_all_whose_tries_were_all_reused_says_reused_not_trained(tmp_path, monkeypatch):
    from grokking.pipeline import make
    from grokking.pipeline.make import Options, final_line, make_all
    from grokking.training import config as C
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    tiny = C.Config(p=23, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, epochs=30,
                    schedule=C.Schedule(dense_until=5, log_until=20, n_log=4, stride=5))
    monkeypatch.setitem(C.PRESETS, C.DEFAULT_PRESET, tiny)
    from grokking.pipeline import choose
    monkeypatch.setattr(choose, "MAIN_JOB_SEEDS", (1, 0))
    monkeypatch.setattr(make, "make_explorer", lambda *a, **k: False)      # not what this is about
    runs = tmp_path / "runs"
    train([Seeded(tiny.replace(seed=s), Run(f"x-s{s}", runs)) for s in (1, 0)], progress=False)   # an earlier job's
    o = Options(run="x", runs_root=runs, assets_root=tmp_path / "assets", media_root=tmp_path / "media",
                figures=[], scenes=[], progress=False)
    s = make_all(o, log=lambda _: None)
    assert not s["trained"] and s["reused"] in (1, 2)
    line = final_line(s)
    assert "reused" in line and ": trained" not in line, line
    assert final_line({**s, "trained": True, "reused": 0}).startswith(f"done in {s['seconds']:.0f}s: trained")


def test_race_names_a_recipe_by_every_field_that_differs_from_the_baselines():
    """A wd=1 recipe beside the wd=2 baseline (the quick preset's wd), most recipes at wd=1: the
    wd=1 ones say wd=1, and no recipe's name reads like the baseline's."""
    from grokking.lab import report as R
    from tests.integration.test_race import row
    from grokking.training.config import PRESETS
    q = PRESETS["quick"]
    assert q.weight_decay == 2.0
    rows = []
    for s in range(2):
        rows += [row("base", s, 300, cap=q.epochs, **{k: getattr(q, k) for k in ("p", "lr", "weight_decay")}),
                 row("wd1", s, 200, cap=q.epochs, **{k: getattr(q, k) for k in ("p", "lr")}, weight_decay=1.0),
                 row("ema", s, 100, cap=q.epochs, **{k: getattr(q, k) for k in ("p", "lr")}, weight_decay=1.0,
                     grokfast="ema")]
    rc = R.race(rows, "quick")
    by = {(r["config"]["weight_decay"], r["config"]["grokfast"]): r["recipe"] for r in rc["recipes"]}
    base, wd1, ema = by[(2.0, "none")], by[(1.0, "none")], by[(1.0, "ema")]
    assert rc["baseline"] == base and "wd=" not in base
    assert "wd=1" in wd1 and "wd=1" in ema and wd1 != base, by
    assert "a name without wd= has the preset's weight decay" in " ".join(R.race_notes(rc, ["base", "wd1", "ema"]))


def _texts_outside(fig) -> list[str]:
    """The titles, axis labels and legend texts of a figure drawn (partly) outside it: clipped in
    every file saved from it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from grokking.figures import style
    fig.set_dpi(style.DPI)                       # as saved
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    r = canvas.get_renderer()
    W, H = fig.bbox.width, fig.bbox.height
    texts = list(fig.texts)
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        if ax.get_legend() is not None:
            texts += list(ax.get_legend().get_texts()) + [ax.get_legend().get_title()]
    out = []
    for t in texts:
        if not t.get_visible() or not t.get_text().strip():
            continue
        b = t.get_window_extent(r)
        if b.x0 < -1 or b.y0 < -1 or b.x1 > W + 1 or b.y1 > H + 1:
            out.append(t.get_text())
    return out


@pytest.mark.parametrize("learned, k, label", [(True, 2, None), (False, 34, None), (False, 56, None),
                                               (False, 56, "1006π/1009")])
@pytest.mark.slow
def test_probe_figure_titles_stay_inside_it(learned, k, label, tmp_path, monkeypatch):
    """The clock panel's title, '(d) the clock: w = 68π/113 (not a learned key frequency)', ran
    off the figure's right edge."""
    import matplotlib
    matplotlib.use("Agg")
    from grokking.common import assets as A
    from grokking.figures import static, style
    style.apply()
    make_synthetic_assets(tmp_path, "pr", p=113)
    real = A.Assets.probe

    def probe(self):
        pr = real.fget(self)
        pr.learned, pr.k = learned, k
        return pr
    monkeypatch.setattr(A.Assets, "probe", property(probe))
    if label:                                   # a large p's longest frequency label
        monkeypatch.setattr(static.fo, "freq_label", lambda k_, p_: label)
    fig = static.probe(A.Assets("pr", tmp_path))
    assert _texts_outside(fig) == []
