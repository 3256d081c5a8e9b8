"""`grokking all` and the assets readers when things go wrong: a second `all` on the same run,
a failing figure, corrupt assets, a run that never grokked, a Ctrl-C that a library swallows,
and per-scene staleness. Each failure is one line (exit 2) or named in `all`'s last line."""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grokking.pipeline import make
from grokking.pipeline import stamps as st
from grokking.pipeline.make import Options, make_all, run_lock

ROOT = Path(__file__).resolve().parents[2]


def _tiny(**kw):
    """A model small enough that training and extraction take a second or two."""
    from grokking.training.config import Config, Schedule
    base = dict(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, epochs=40,
                schedule=Schedule(dense_until=5, log_until=20, n_log=4, stride=5))
    return Config(**{**base, **kw})


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny run named 'quick', trained and extracted once for this module."""
    from grokking.extraction.extract import extract
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    root = tmp_path_factory.mktemp("tiny")
    train([Seeded(_tiny(), Run("quick", root / "runs"))], progress=False)
    extract("quick", progress=False, runs_root=root / "runs", assets_root=root / "assets")
    return root


@pytest.fixture
def here(tiny_run, tmp_path, monkeypatch):
    """A private copy of the run and its assets, in the working directory, where the command
    line looks by default (runs/, assets/, media/)."""
    shutil.copytree(tiny_run / "runs", tmp_path / "runs")
    shutil.copytree(tiny_run / "assets", tmp_path / "assets")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cli(*args):
    from grokking.cli import cli
    return CliRunner().invoke(cli, list(args))


def _last_line(r) -> str:
    return r.output.strip().splitlines()[-1]


# ---- two `all` on one run ----------------------------------------------------------------------

def test_a_second_all_on_a_locked_run_is_refused_naming_the_holder(here):
    with run_lock(here / "media" / "quick", "quick"):
        r = _cli("all", "--run", "quick", "--figures", "", "--scenes", "", "--quiet")
    assert r.exit_code == 2, r.output
    assert f"another `grokking all` is running on run 'quick' (pid {os.getpid()})" in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert not (here / "media" / "quick" / "stamps.json").exists()      # refused before doing anything
    r = _cli("all", "--run", "quick", "--figures", "", "--scenes", "", "--quiet")   # released: runs
    assert r.exit_code == 0, r.output


def test_a_killed_holders_lock_is_taken_over(here):
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
            "from grokking.pipeline.make import run_lock\n"
            "with run_lock(Path('media/quick'), 'quick'):\n    print('held', flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code, str(ROOT)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        r = _cli("all", "--run", "quick", "--figures", "", "--scenes", "", "--quiet")
        assert r.exit_code == 2 and f"(pid {p.pid})" in r.output, r.output
    finally:
        p.kill()
        p.wait()
    assert (here / "media" / "quick" / ".lock").read_text().strip() == str(p.pid)   # stale file left
    r = _cli("all", "--run", "quick", "--figures", "", "--scenes", "", "--quiet")
    assert r.exit_code == 0, r.output


# ---- failures are named, and change the exit status ----------------------------------------------

@pytest.mark.slow
def test_all_with_a_failing_figure_exits_1_naming_it(here, monkeypatch):
    from grokking.figures import static

    def broken(a):
        raise KeyError("T")
    monkeypatch.setitem(static.STATIC, "crest", (broken, "broken"))
    r = _cli("all", "--run", "quick", "--figures", "crest,grokking_curves", "--scenes", "", "--quiet")
    assert r.exit_code == 1, r.output
    last = _last_line(r)
    assert "FAILED: figure crest" in last and "1 figures made" in last, last
    assert "crest" not in st.load(here / "media" / "quick" / "stamps.json").get("figures", {})   # redone next time
    assert "figure crest: KeyError" in (here / "media" / "quick" / "index.html").read_text()


# ---- corrupt assets: named in one line, rebuilt by extract --force and by all ----------------

def _flip_byte(path: Path, at: int):
    b = bytearray(path.read_bytes())
    b[at] ^= 0xFF
    path.write_bytes(bytes(b))


@pytest.mark.parametrize("damage", ["summary", "manifest", "npz_member"])
def test_corrupt_assets_are_named_and_rebuilt_by_extract_force(here, damage):
    a = here / "assets" / "quick"
    if damage == "summary":
        (a / "summary.json").write_text("{not json")
        name = "summary.json"
    elif damage == "manifest":
        (a / "manifest.json").write_text("[1, 2]")
        name = "manifest.json"
    else:
        _flip_byte(a / "probes.npz", (a / "probes.npz").stat().st_size // 2)   # inside a zip member
        name = "probes.npz"
    r = _cli("status", "--run", "quick")
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    extract_row = next(line for line in r.output.splitlines() if line.startswith("extract"))
    assert "stale" in extract_row and f"{name} is corrupt" in extract_row
    for args in (("scene", "GrokkingCurve", "--run", "quick"), ("figures", "--run", "quick", "--only", "probe")):
        r = _cli(*args)
        assert r.exit_code == 2, (args, r.output)
        assert f"{name} is corrupt" in r.output and "extract --run quick --force" in r.output
        assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    r = _cli("extract", "--run", "quick", "--force", "--quiet")
    assert r.exit_code == 0, r.output
    from grokking.common.assets import Assets
    Assets("quick").verify()
    assert "up to date" in next(line for line in _cli("status", "--run", "quick").output.splitlines()
                                if line.startswith("extract"))


def test_a_bad_zip_member_is_named_even_without_a_manifest_hash(tmp_path):
    from grokking.common.assets import Assets, Corrupt
    from tests.synthetic import make_synthetic_assets
    d = make_synthetic_assets(tmp_path, run="synth")            # read below without verify()
    _flip_byte(d / "curves.npz", 100)
    with pytest.raises(Corrupt, match="curves.npz is corrupt"):
        Assets("synth", tmp_path)["curves"]


def test_all_treats_corrupt_assets_as_stale(here):
    (here / "assets" / "quick" / "summary.json").write_text("[]")
    s = make_all(Options(run="quick", figures=[], scenes=[], progress=False), log=lambda _: None)
    assert s["extracted"] and not s["failed"]
    assert isinstance(json.loads((here / "assets" / "quick" / "summary.json").read_text()), dict)


# ---- a run that never grokked ------------------------------------------------------------------

def test_a_never_grokked_run_completes_all_with_the_reasons_in_the_gallery(tmp_path, monkeypatch):
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    monkeypatch.chdir(tmp_path)
    train([Seeded(_tiny(epochs=5), Run("never"))], progress=False)
    r = _cli("all", "--run", "never", "--figures", "crest,trig_identity",
             "--scenes", "Crest,NeuronWaves,NeuronSurface,TrigIdentity", "--quiet")
    assert r.exit_code == 0, r.output
    assert "FAILED" not in r.output and "Traceback" not in r.output
    summary = json.loads(Path("assets/never/summary.json").read_text())
    assert not summary["grokked"]
    crest = summary["selections"]["crest"]
    assert not crest["found"], "the tiny run found a crest: make it train less"
    page = Path("media/never/index.html").read_text()
    assert page.count("not drawn, because") == 4
    assert crest["reason"] in page or crest["reason"].replace("'", "&#x27;") in page
    rows = {line.split()[1]: line for line in _cli("status", "--run", "never").output.splitlines()
            if line.startswith("scene ")}
    assert "skipped" in rows["Crest"] and crest["reason"] in rows["Crest"]
    # the scene alone: one line saying why, not KeyError 'T'
    r = _cli("scene", "Crest", "--run", "never")
    assert r.exit_code == 2 and "Crest not drawn" in r.output and crest["reason"] in r.output, r.output
    assert "KeyError" not in r.output and len(r.output.strip().splitlines()) == 1


def test_the_scene_reader_gives_extractions_reason(tmp_path, monkeypatch):
    from tests.synthetic import make_synthetic_assets
    from grokking.scenes import data
    make_synthetic_assets(tmp_path, run="synth", not_found={"wave_neurons": "only 2 neurons sweep as a clean wave"})
    monkeypatch.setenv(data.RUN_ENV, "synth")
    monkeypatch.setenv(data.ASSETS_ENV, str(tmp_path))
    with pytest.raises(data.NotFound, match="only 2 neurons sweep as a clean wave"):
        data.load().selection("wave_sweeps")
    assert "only 2 neurons" in data.absent("NeuronWaves")
    assert data.absent("Crest") is None


# ---- Ctrl-C ------------------------------------------------------------------------------------

class _SwallowsInterrupt:
    """Like tqdm's destructor: a Ctrl-C that arrives inside __del__ is printed and ignored."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10000):          # the handler runs here, inside __del__
            pass


@pytest.mark.slow
def test_a_ctrl_c_swallowed_by_a_destructor_still_ends_all_with_130(here, monkeypatch):
    # as in a terminal: a suite started as a background job (`pytest &`) inherits SIGINT ignored,
    # which `all` rightly leaves alone
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _swallowed_ctrl_c_ends_all_with_130(monkeypatch)
    finally:
        signal.signal(signal.SIGINT, previous)


def _swallowed_ctrl_c_ends_all_with_130(monkeypatch):
    made = []
    real = make._make_figure

    def figure(o, name):
        made.append(name)
        _SwallowsInterrupt()            # created and collected at once: the interrupt is lost
        return real(o, name)
    monkeypatch.setattr(make, "_make_figure", figure)
    r = _cli("all", "--run", "quick", "--figures", "grokking_curves,crest", "--scenes", "", "--quiet")
    assert r.exit_code == 130, r.output
    assert made == ["grokking_curves"]                  # stopped after the figure it interrupted
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ---- per-scene staleness -----------------------------------------------------------------------

def test_a_scene_hashes_only_its_module_and_what_it_imports():
    clock = {f.relative_to(st.ROOT / "grokking").as_posix() for f in st.imported(st.ROOT / "grokking" / "scenes" / "clock.py")}
    assert {"scenes/clock.py", "scenes/look.py", "scenes/theme.py", "scenes/data.py", "common/palette.py",
            "common/assets.py"} <= clock
    assert not {"scenes/waves.py", "scenes/surfaces.py", "scenes/catalog.py"} & clock
    assert st.scene_code_hash("NeuronWaves") == st.scene_code_hash("FourierPeak")    # one module
    assert st.scene_code_hash("NeuronWaves") != st.scene_code_hash("Clock")


def test_editing_one_scene_module_leaves_the_other_scenes_up_to_date(tmp_path, monkeypatch):
    """A copy of scenes/ whose waves.py is edited: only the scenes of waves.py change hash."""
    from grokking.common import code
    for d in ("scenes", "figures", "extraction", "common"):
        shutil.copytree(st.ROOT / "grokking" / d, tmp_path / "grokking" / d, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(st, "ROOT", tmp_path)
    monkeypatch.setattr(code, "ROOT", tmp_path)
    code._direct_imports.cache_clear()
    from grokking.scenes.catalog import SCENES
    before = {n: st.scene_code_hash(n) for n in SCENES}
    with open(tmp_path / "grokking" / "scenes" / "waves.py", "a") as f:
        f.write("\n# edited\n")
    code._direct_imports.cache_clear()
    after = {n: st.scene_code_hash(n) for n in SCENES}
    code._direct_imports.cache_clear()
    changed = sorted(n for n in SCENES if before[n] != after[n])
    assert changed == sorted(n for n, (m, _, _) in SCENES.items() if m == "waves")
