"""Issue 31, round four, the surfaces: every text naming the task from the run's op (item 5), the
advice for an unextracted sweep point (11), the film's leftovers after a kill -9 (14), scene stamps
kept per quality (15), a forced film whose re-render fails (16), a --run too long for the seed
choice's suffix (20) and the cosmetics (22). Tiny configs, tmp folders, still frames."""
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

ROOT = Path(__file__).resolve().parents[1]


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
    from scenes.theme import task_name
    assert task_name(task) == named


def test_film_part_card_names_the_runs_task():
    from pipeline import film
    titles = {m: t for m, t, _ in film.story(["ModularTable", "GrokkingCurve"], {"op": "mul", "p": 113})}
    assert titles["intro"] == "The task: (x · y) mod 113"
    assert all("mod p" not in t and "adding" not in t for t in titles.values())


def _texts(monkeypatch):
    """Every string a scene passes to look.label / look.title while it is built."""
    from scenes import look
    seen = []
    for fn in ("label", "title"):
        real = getattr(look, fn)

        def spy(s, *a, _real=real, **k):
            seen.append(str(s))
            return _real(s, *a, **k)
        monkeypatch.setattr(look, fn, spy)
    return seen


@pytest.mark.parametrize("op, sym", [("mul", "·"), ("div", "/")])
def test_scenes_name_a_mul_or_div_runs_task(op, sym, tmp_path, monkeypatch):
    pytest.importorskip("manim")
    from scenes.cli import render
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
    from training.tasks import answers
    ans = int(answers(op, np.array([1]), np.array([2]), 23)[0])
    assert str(ans) in seen                              # its answer at p, the run's own


def test_film_card_of_a_mul_run_says_its_task(tmp_path, monkeypatch):
    from pipeline import film, make
    from pipeline.make import Options
    from tests.test_film import clip
    make_synthetic_assets(tmp_path / "assets", "m", p=23)
    set_task(tmp_path / "assets" / "m", op="mul")
    o = Options(run="m", assets_root=tmp_path / "assets", media_root=tmp_path / "media",
                scenes=["ModularTable", "GrokkingCurve"], progress=False)
    monkeypatch.setattr(make, "_make_scene", lambda opts, name: (
        [clip(opts.scene_dir / f"{name}.mp4", 0.2, 80)], {("summary", "task")}, None))
    titles, real = [], film.card
    monkeypatch.setattr(film, "card", lambda w, h, title, *a: titles.append(title) or real(w, h, title, *a))
    film.make_film(o, log=lambda _: None)
    assert titles[0] == "The task: (x · y) mod 23", titles


# ---- 11. an unextracted sweep point: the advice names SWEEP/POINT -------------------------------

@pytest.mark.parametrize("command", [["explore"], ["film"], ["figures"]])
def test_unextracted_sweep_point_is_advised_by_its_full_name(command, runs_dir):
    from render import cli
    point = runs_dir / "sw" / "s0"
    point.mkdir(parents=True)
    (runs_dir / "sw" / "sweep.json").write_text("{}")
    r = CliRunner().invoke(cli, command + ["--run", "sw/s0"])
    assert r.exit_code == 2, r.output
    assert "extract --run sw/s0" in r.output and "'sw/s0'" in r.output, r.output
    assert "--run s0" not in r.output
