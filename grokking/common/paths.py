"""Run names and the folders they become: one rule for every stage, and the only ways a stage
removes a folder or a leftover file.

A run name is 1 to 64 characters from A-Z a-z 0-9 . _ -, the first a letter or a digit
(`[A-Za-z0-9][A-Za-z0-9._-]{0,63}`). So a name is always exactly one path component: it has
no separator, is never '.' or '..', and never looks like the hidden temporary names the stages
use next to it (.<name>.tmp<pid>, .scratch). Batched seeds add '-s<seed>' and must fit too.
A sweep's point is named SWEEP/POINT, two such names (runs/SWEEP/POINT, assets/SWEEP/POINT,
media/SWEEP/POINT): points of two sweeps never share a folder.

Every folder made from a name is checked to lie exactly there inside its root (runs/,
assets/, media/...) with no symbolic link on the way, and a folder is removed only when the
project can tell it wrote it (see remove_owned).
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from .errors import ConfigError, RunBusy

MAX_LEN = 64
NAME_RULE = ("1 to 64 characters from A-Z a-z 0-9 . _ -, starting with a letter or a digit; "
             "a sweep's point is SWEEP/POINT")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# the stages' temporary file names: .<file>.tmp<pid of the writer>, or .<stem>.tmp<pid>.<ext>
# for writers that need the extension (matplotlib's animation writers)
_TEMP = re.compile(r"\..+\.tmp(\d+)(\.[A-Za-z0-9]+)?")
# The data roots, relative to where the command runs: runs/ (training's histories), assets/
# (extraction's output), media/ (figures, scenes, pages; manim.cfg names the same folder for
# Manim's own command line). Read them as paths.RUNS_DIR etc. at call time, so a test or a
# caller that points one elsewhere reaches every stage.
RUNS_DIR = Path(os.environ.get("GROKKING_RUNS", "runs"))
ASSETS_DIR = Path(os.environ.get("GROKKING_ASSETS", "assets"))
MEDIA_DIR = Path("media")
SWEEP_MANIFEST = "sweep.json"      # what makes a folder of runs/ a sweep (training/grid.py)


def check_name(name) -> str:
    """The name itself, or ConfigError saying what is wrong with it."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a run name cannot be empty; pass e.g. --run demo ({NAME_RULE})")
    parts = name.split("/")
    if any(len(part) > MAX_LEN for part in parts):
        raise ConfigError(f"run name {name[:24]!r}... is {len(name)} characters long, at most {MAX_LEN} are "
                          f"allowed; pass a shorter --run")
    if len(parts) > 2 or not all(_NAME.fullmatch(part) for part in parts):
        raise ConfigError(f"run name {name!r} is not allowed: a run name is {NAME_RULE} "
                          f"(it names one folder in runs/, assets/ and media/); pass e.g. --run demo")
    return name


def valid(name) -> bool:
    try:
        check_name(name)
    except ConfigError:
        return False
    return True


def confined(root: Path | str, name: str) -> Path:
    """root/name for a valid run name (root/SWEEP/POINT for a sweep's point), refused unless it
    lies exactly there with no link on the way (a link would make the stages write or delete
    somewhere else)."""
    parts = check_name(name).split("/")
    path = Path(root)
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise ConfigError(f"{path} is a symbolic link (to {os.readlink(path)}); the stages write only real "
                              f"folders inside {root}/: replace the link with a folder or use another --run")
    if path.resolve() != Path(root).resolve().joinpath(*parts):   # belt and braces: the rule ensures it
        raise ConfigError(f"{path} resolves outside {root}/; use another --run")
    if len(parts) == 2 and (path.parent / "manifest.json").exists():
        raise ConfigError(f"{path.parent} is a run, not a sweep: SWEEP/POINT names a point of a sweep; "
                          f"use another --run")
    return path


def is_sweep(folder: Path) -> bool:
    return (Path(folder) / SWEEP_MANIFEST).exists()


def is_run(folder: Path) -> bool:
    """A folder holding a single run's history (or what a crash before its first manifest left)."""
    folder = Path(folder)
    return any((folder / f).exists() for f in ("manifest.json", "split.npz", "checkpoints", "resume"))


def check_run_folder(path: Path, name: str):
    """ConfigError unless `path` (runs/<name>) may be a run: a plain name that is a sweep is not
    one (its points are), and SWEEP/POINT needs SWEEP to be a sweep."""
    parts = name.split("/")
    if len(parts) == 1 and is_sweep(path):
        raise ConfigError(f"{name!r} is a sweep ({path}/{SWEEP_MANIFEST}), not a run: name one of its points, "
                          f"--run {name}/POINT (grokking runs lists them), or pass another --run")
    if len(parts) == 2 and not is_sweep(path.parent):
        raise ConfigError(f"there is no sweep {parts[0]!r} in {path.parent.parent}/ (SWEEP/POINT names a point of "
                          f"a sweep): start it with grokking sweep {parts[0]} --grid ..., or pass a plain --run")


def stranger(path: Path, owned: Callable[[str], bool]) -> str | None:
    """The first file (or link) in the folder `path` that `owned(relative posix path)` does not
    recognise as the project's, or None; a link as `path` itself is a stranger too."""
    found = strangers(path, owned, 1)
    return found[0] if found else None


def strangers(path: Path, owned: Callable[[str], bool], limit: int | None = None) -> list[str]:
    """Every file (or link) in the folder `path` that `owned(relative posix path)` does not
    recognise as the project's (at most `limit`); a link as `path` itself is one too."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        return ["(the folder itself is a link or a file)"]
    out = []
    for f in walk(path):
        rel = f.relative_to(path).as_posix()
        if not owned(rel):
            out.append(rel)
            if limit is not None and len(out) >= limit:
                break
    return out


def strangers_text(found: list[str], shown: int = 4) -> str:
    """'notes.txt, inner/ (12 files)': the strangers, several in one subfolder named by it."""
    groups: dict[str, list[str]] = {}
    for rel in found:
        top, sep, _ = rel.partition("/")
        groups.setdefault(top + sep if sep and not rel.startswith("(") else rel, []).append(rel)
    names = [g[0] if len(g) == 1 else f"{k} ({len(g)} files)" for k, g in groups.items()]
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def check_owned(path: Path, owned: Callable[[str], bool], error: type[Exception], fix: str):
    """Raise `error` naming the strangers in the folder `path` (see strangers) and `fix`, if any."""
    bad = strangers(path, owned) if Path(path).exists() or Path(path).is_symlink() else []
    if bad:
        raise error(f"{path} holds {strangers_text(bad)}, which the project did not write; not removing it. {fix}")


def remove_owned(path: Path, owned: Callable[[str], bool], error: type[Exception], fix: str):
    """Delete the folder `path` only when `owned(relative posix path)` holds for every file in it
    (the project's own file names); otherwise raise `error` naming the strangers and `fix`.
    A link is never followed."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    check_owned(path, owned, error, fix)
    shutil.rmtree(path)


def run_holding(folder: Path | str) -> Path | None:
    """The run folder (one holding a history manifest) that `folder` is, or lies inside, or None:
    a runs folder there would put runs inside a run, which its --force would delete."""
    import json
    p = Path(folder).absolute()
    for d in (p, *p.parents):
        m = d / "manifest.json"
        if m.is_file():
            try:
                fmt = json.loads(m.read_text()).get("format")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(fmt, str) and fmt.startswith("grokking-history/"):
                return d
    return None


def check_runs_root(root: Path | str, option: str = "--runs-dir"):
    """ConfigError when the folder of runs `root` is a run's folder or inside one."""
    run = run_holding(root)
    if run is not None:
        where = "is the folder of" if run == Path(root).absolute() else "lies inside"
        raise ConfigError(f"{option} {root} {where} the run {run} (a run's folder holds only its history, and "
                          f"its --force deletes only that): pass a folder outside every run, e.g. runs/")


def walk(folder: Path):
    """Every file (and link) under `folder`, never descending into a link."""
    for d, dirs, files in os.walk(folder):
        yield from (Path(d) / n for n in sorted(files))
        yield from (Path(d) / n for n in sorted(dirs) if (Path(d) / n).is_symlink())


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def is_temp(name: str) -> bool:
    """A temporary file name of the stages'."""
    return _TEMP.fullmatch(name) is not None


def clean_temp(folder: Path) -> list[Path]:
    """Remove the temporary files a killed writer left anywhere in `folder` (only names of the
    form .<file>.tmp<pid>[.<ext>] whose process is gone: a live writer's file is kept)."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return []
    gone = []
    for f in walk(folder):
        m = _TEMP.fullmatch(f.name)
        if m and f.is_file() and not f.is_symlink() and not pid_alive(int(m[1])):
            f.unlink(missing_ok=True)
            gone.append(f)
    return gone


def check_writable(root: Path | str, what: str = "the run"):
    """ConfigError before anything starts when `root`, or the folder it would be made in, is not
    a folder this process may write (a file in its place, a read-only file system)."""
    root = Path(root)
    p = root
    while not p.exists() and not p.is_symlink() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise ConfigError(f"cannot write {what} in {root}/: {p} is a file, not a folder; move it away or "
                          f"run from another directory")
    if not os.access(p, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {what} in {root}/: {p} is not writable (read-only file system or no "
                          f"permission); make it writable or run from a writable copy")


@contextmanager
def hold_lock(path: Path, who: str):
    """Hold the lock file `path` for the block, or raise RunBusy ("<who> (pid N); wait ...").
    The kernel's flock, not the file's existence, is the lock: it dies with its process, so a
    killed holder's lock is simply taken over; the file holds the holder's pid to name it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(path)
            raise RunBusy(f"{who} (pid {pid}); wait for it to finish (or stop it: kill {pid}), "
                          f"then run this again") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)                           # releases the lock


def _holder(path: Path) -> str:
    """The pid in a held lock file (it is written just after the lock is taken: retry briefly)."""
    for _ in range(20):
        text = path.read_text().strip() if path.exists() else ""
        if text:
            return text
        time.sleep(0.05)
    return "unknown"


def cores() -> int:
    """CPUs this process may run on (a container's or taskset's limit, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
