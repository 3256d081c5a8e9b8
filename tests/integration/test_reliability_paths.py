"""A run name never reaches outside runs/, assets/ or media/, no
command deletes a folder the project did not write, and bad input is one line, exit 2, nothing
written. Every case runs the real command line (click's runner) in a temporary directory."""
import errno
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grokking.cli import cli
from grokking.common import paths
from grokking.training.config import ConfigError

# a model of a few thousand parameters: ten epochs take well under a second
TINY = ["--preset", "quick", "--p", "5", "--frac", "0.5", "--epochs", "10", "--d-model", "16",
        "--d-mlp", "32", "--quiet", "--compile", "off"]
DEAD_PID = 99_999_999          # above any pid_max: no such process


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def refused(r, *words):
    """Exit 2, one line, no traceback, and the line names what it should."""
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2, r.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    assert "Traceback" not in r.output
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def ws(runs_dir, tmp_path):
    """A working directory with things that must survive: a sentinel beside runs/, a folder
    outside, a stranger folder inside runs/ and inside assets/."""
    (tmp_path / "sentinel.txt").write_text("keep me")
    for d in ("outside", "runs/other", "assets/other"):
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / "keep.txt").write_text("keep me")
    return tmp_path


# ---- names and confinement -----------------------------------------------------------

@pytest.mark.parametrize("name", ["canonical", "sweep-s3", "a.b_c-1", "A" * 64, "0", "wd/wd1-frac0.3-s0"])
def test_names_that_are_allowed(name):
    assert paths.check_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "../x/y", "/abs/x", "a/b/c", "a/..", "a/.b", "a//b",
                                  "a/", "/a", ".hidden", "-x", "a b", "é", "A" * 65, "a/" + "b" * 65, "a" * 300,
                                  "x\n"])
def test_names_that_are_refused(name):
    with pytest.raises(ConfigError):
        paths.check_name(name)


BAD_NAMES = ["..", ".", "", "../outside", "../x/y", "a/b/c", "other/..", "a" * 300, "OUTSIDE"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_touch_nothing_anywhere(ws, name):
    name = str(ws / "outside") if name == "OUTSIDE" else name
    before = tree(ws)
    for cmd in (["train", *TINY], ["train", *TINY, "--force"], ["extract"], ["extract", "--force"],
                ["figures"], ["scene", "Clock", "--still"], ["scenes"], ["all"], ["all", "--force"], ["status"]):
        refused(invoke(*cmd, "--run", name), "run name")
        assert tree(ws) == before, cmd


def test_every_stage_refuses_a_bad_name_itself():
    """Not only the command line: the classes that turn a name into a folder check it too."""
    from grokking.common.assets import Assets
    from grokking.pipeline.make import Options
    from grokking.training.history import Run
    for make in (Run, Assets, lambda n: Options(run=n)):
        for name in ("..", "", "../x", "/tmp/x"):
            with pytest.raises(ConfigError):
                make(name)


@pytest.mark.parametrize("link, run", [("link", "link"), ("sw", "sw/p")])   # the run, or on the way to a point
def test_a_link_out_of_runs_is_refused(ws, link, run):
    (ws / "runs" / link).symlink_to(ws / "outside")
    (ws / "assets" / link).symlink_to(ws / "outside")
    before = tree(ws / "outside")
    for cmd in (["train", *TINY, "--force"], ["extract", "--force"], ["status"], ["figures"], ["all"]):
        refused(invoke(*cmd, "--run", run), "link")
    assert tree(ws / "outside") == before


def test_a_point_inside_a_run_is_refused(ws):
    """SWEEP/POINT names a sweep's point, never a folder inside a single run's history."""
    assert invoke("train", *TINY, "--run", "t").exit_code == 0
    before = tree(ws / "runs")
    for cmd in (["train", *TINY], ["extract"], ["status"]):
        refused(invoke(*cmd, "--run", "t/p"), "not a sweep")
    assert tree(ws / "runs") == before


def test_force_never_removes_a_folder_training_did_not_write(ws):
    mine = ws / "runs" / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    for force in ([], ["--force"]):
        r = invoke("train", *TINY, "--run", "mine", *force)
        assert r.exit_code == 2 and "notes.txt" in r.output and "Traceback" not in r.output
    assert (mine / "notes.txt").read_text() == "mine"


def test_a_folder_a_crash_left_before_its_first_manifest_is_replaced(ws):
    crash = ws / "runs" / "crash"
    (crash / "checkpoints").mkdir(parents=True)
    (crash / "checkpoints" / "e000000.npz").write_bytes(b"half")
    (crash / "split.npz").write_bytes(b"half")
    (crash / f".manifest.json.tmp{DEAD_PID}").write_bytes(b"half")
    r = invoke("train", *TINY, "--run", "crash")
    assert r.exit_code == 0, r.output
    assert (crash / "manifest.json").exists()
    assert invoke("train", *TINY, "--run", "crash", "--force").exit_code == 0   # its own run: retrained


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Run "t" trained once with TINY's config (so `train *TINY --run t` resumes it)."""
    from grokking.training.config import QUICK
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    root = tmp_path_factory.mktemp("tiny") / "runs"
    cfg = QUICK.replace(p=5, frac=0.5, epochs=10, d_model=16, d_mlp=32)
    train([Seeded(cfg, Run("t", root))], progress=False, compile="off")
    return root / "t"


@pytest.fixture
def trained(ws, tiny_run):
    shutil.copytree(tiny_run, ws / "runs" / "t")
    return ws


def test_extraction_never_replaces_assets_it_did_not_write(trained):
    out = trained / "assets" / "t"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    r = invoke("extract", "--run", "t", "--quiet")
    assert r.exit_code == 2 and "notes.txt" in r.output and "Traceback" not in r.output
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in (trained / "assets").iterdir()) == ["other", "t"]   # no swap folder left


# ---- bad input is one line, exit 2, nothing written ---------------------------------

@pytest.mark.parametrize("args, words", [
    (["train", *TINY, "--seeds", ","], ["--seeds"]),
    (["train", *TINY, "--seed", "-1"], ["--seed"]),
    (["train", *TINY, "--seeds", "1,1"], ["twice"]),
    (["train", *TINY, "--lr", "-1"], ["--lr"]),
    (["train", *TINY, "--lr", "nan"], ["--lr"]),
    (["train", *TINY, "--lr", "inf"], ["--lr"]),
    (["train", *TINY, "--wd", "-1"], ["--wd"]),
    (["train", "--p", "100000"], ["memory", "p=100000"]),
    (["train", "--epochs", str(10 ** 12)], ["memory", "1000000000000 epochs"]),
    (["train", *TINY, "--run", "a" * 300], ["300 characters"]),
    (["train", *TINY, "--run", "b" * 62, "--seeds", "0,1"], ["characters"]),   # <run>-s<seed> too long
    (["all", "--figures", "bogus"], ["bogus", "figures --list"]),
    (["all", "--scenes", "Bogus"], ["Bogus", "scene --list"]),
])
def test_bad_input_is_one_line_and_writes_nothing(runs_dir, tmp_path, args, words):
    refused(invoke(*args), *words)
    assert tree(tmp_path) == {}


@pytest.mark.parametrize("manifest", ["[1, 2]", '{"format": "grokking-history/1"}', "MISSING checkpoints",
                                      "MISSING metrics", "MISSING config"])
def test_a_damaged_manifest_is_one_line(trained, manifest):
    path = trained / "runs" / "t" / "manifest.json"
    if manifest.startswith("MISSING"):
        import json
        m = json.loads(path.read_text())
        del m[manifest.split()[1]]
        manifest = json.dumps(m)
    path.write_text(manifest)
    before = tree(trained)
    for cmd in (["extract", "--run", "t"], ["train", *TINY, "--run", "t"], ["status", "--run", "t"]):
        refused(invoke(*cmd), "manifest.json", "--force")
    assert tree(trained) == before
    assert invoke("runs").exit_code == 0          # the listing names it, and goes on


def test_disk_full_while_training_is_one_line_and_leaves_no_temporary_file(ws, monkeypatch):
    from grokking.common import io
    real = io.atomic_write_bytes

    def full(path, data):
        if "checkpoints" in str(path) and "e000005" in str(path):
            tmp = Path(path).with_name(f".{Path(path).name}.tmp{os.getpid()}")
            tmp.write_bytes(data[:10])                 # the write got this far, then the disk was full
            tmp.unlink()
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
        return real(path, data)
    monkeypatch.setattr(io, "atomic_write_bytes", full)
    r = invoke("train", *TINY, "--run", "full")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.output.strip().splitlines()[-1].startswith("Error: No space left on device")
    assert "free some disk space" in r.output
    assert not [p for p in (ws / "runs").rglob("*") if ".tmp" in p.name]
    monkeypatch.setattr(io, "atomic_write_bytes", real)
    assert invoke("train", *TINY, "--run", "full").exit_code == 0   # space is back: it resumes


def test_unwritable_runs_assets_and_media_are_one_line(trained, monkeypatch):
    from grokking.common import io
    from tests.synthetic import make_synthetic_assets
    (trained / "runs2").write_text("a file where a folder should be")
    monkeypatch.setattr("grokking.common.paths.RUNS_DIR", Path("runs2"))
    refused(invoke("train", *TINY, "--run", "x"), "runs2")
    monkeypatch.setattr("grokking.common.paths.RUNS_DIR", Path("runs"))

    def read_only(path, data):
        raise OSError(errno.EROFS, "Read-only file system", str(path))
    real = io.atomic_write_bytes
    monkeypatch.setattr(io, "atomic_write_bytes", read_only)
    refused(invoke("extract", "--run", "t", "--quiet"), "Read-only file system", "writable")
    assert sorted(p.name for p in (trained / "assets").iterdir()) == ["other"]   # nothing half-made

    monkeypatch.setattr(io, "atomic_write_bytes", real)      # the fixture writes assets as extraction does
    make_synthetic_assets(trained / "assets", run="synth")
    (trained / "media").write_text("a file where a folder should be")
    refused(invoke("figures", "--run", "synth", "--format", "png"), "media")


# ---- nothing accepted silently --------------------------------------------------------------------------------

def test_status_refuses_settings_extraction_would_refuse(trained):
    refused(invoke("status", "--run", "t", "--T", "500"), "--T", "p=5")
    refused(invoke("status", "--run", "t", "--output", "-1"), "--output")
    refused(invoke("status", "--run", "t", "--analysis-epoch", "999"), "no checkpoint at epoch 999")
    refused(invoke("status", "--T", "500"), "--T")          # a run not trained yet: its preset's p
    assert invoke("status", "--run", "t", "--T", "3").exit_code == 0


def _train_row(*args) -> str:
    r = invoke("status", "--run", "t", *args)
    assert r.exit_code == 0, r.output
    return next(line for line in r.output.splitlines() if line.startswith("train"))


def test_status_sees_a_damaged_checkpoint(trained):
    ckpt = trained / "runs" / "t" / "checkpoints" / "e000004.npz"
    good = ckpt.read_bytes()
    ckpt.write_bytes(good[:-100])                           # truncated: a size check sees it
    assert "damaged" in _train_row() and "e000004" in _train_row()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF                         # same size: only the checksum sees it
    ckpt.write_bytes(bytes(flipped))
    assert "damaged" not in _train_row()
    assert "damaged" in _train_row("--verify") and "checksum" in _train_row("--verify")
    ckpt.write_bytes(good)
    assert "up to date" in _train_row("--verify")


def test_an_unreadable_resume_state_names_the_fix(trained):
    run = trained / "runs" / "t"
    for f in [run / "resume.npz", *(run / "resume").glob("*.npz")]:
        if f.exists():
            f.write_bytes(b"not a zip")
    r = invoke("train", *TINY, "--run", "t", "--epochs", "20")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "resume" in r.output and "--force" in r.output


def test_leftovers_of_killed_writers_are_cleaned_at_the_next_run(trained):
    run = trained / "runs" / "t"
    dead = [run / f".manifest.json.tmp{DEAD_PID}", run / "checkpoints" / f".e000003.npz.tmp{DEAD_PID}"]
    kept = [run / ".manifest.json.tmp1",                    # pid 1 is alive: a live writer's file
            run / ".notes.tmp"]                              # not the project's temporary name
    for f in dead + kept:
        f.write_bytes(b"x")
    swap = trained / "assets" / f".t.tmp{DEAD_PID}"
    swap.mkdir()
    (swap / "summary.json").write_text("{}")
    assert invoke("train", *TINY, "--run", "t", "--epochs", "12").exit_code == 0
    assert invoke("extract", "--run", "t", "--quiet").exit_code == 0
    assert not any(f.exists() for f in dead) and all(f.exists() for f in kept)
    assert not swap.exists() and (trained / "assets" / "t" / "manifest.json").exists()


def test_media_leftovers_are_cleaned_by_all(trained):
    from grokking.pipeline.make import Options, _clean_leftovers
    from grokking.training.history import Run
    o = Options(run="t")
    scratch = o.scratch_dir / "Clock"
    scratch.mkdir(parents=True)
    (scratch / "partial.mp4").write_bytes(b"x")
    o.figure_dir.mkdir(parents=True)
    dead, live = o.figure_dir / f".crest.png.tmp{DEAD_PID}", o.figure_dir / f".crest.tmp{os.getpid()}.mp4"
    dead.write_bytes(b"x")
    live.write_bytes(b"x")
    _clean_leftovers(o, Run("t"))
    assert not o.scratch_dir.exists() and not dead.exists() and live.exists()


def test_figures_at_p_2_are_skipped_with_a_reason(runs_dir, tiny_cfg):
    from grokking.extraction.extract import extract
    from grokking.figures.build import build
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    train([Seeded(tiny_cfg.replace(p=2, epochs=10), Run("p2"))], progress=False, compile="off")
    extract("p2", progress=False)
    results = build("p2", only=["embedding_fourier", "probe", "anim_embedding"], formats=("png", "gif"),
                    frames=3)
    assert not [r.failed for r in results if r.failed]
    assert all("p = 2" in r.skipped for r in results)
