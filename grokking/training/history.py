"""The on-disk checkpoint history of a run: a documented, pickle-free format with atomic writes.

    runs/<run>/
      manifest.json            config, schedule, split, versions, one sha256 per file, status
      split.npz                train, test: indices into the x-major p*p grid (i = x*p + y)
      metrics/e000123.npz      train_loss, test_loss, train_acc, test_acc: float64 [epochs+1],
                               entry e measured on the weights after e optimiser steps (NaN
                               past the last epoch done); the manifest names the current one
      checkpoints/e000123.npz  the weights after 123 steps, TransformerLens names and shapes
                               (W_E [d_vocab, d_model], ..., W_U [d_model, d_vocab_out]), float32
      resume/e000123.npz       weights, AdamW state, metrics, epoch and run_id (resuming only);
                               the manifest names the last two

Every file is written to a temporary name, fsynced and renamed into place, so a crash or
Ctrl-C leaves either the old file or the new one, never a torn one. Data files get names of
their own per epoch and are never replaced by different content; the manifest, written last,
is the commit point that names them, so a reader or a resume never sees a mix of two epochs.
npz members carry a CRC-32 and the manifest a sha256, so corruption is detected on load.
Runs written before this layout (one metrics.npz and resume.npz) still read and resume.
"""
from __future__ import annotations

import hashlib
import io
import json
import time
import platform
import re
import uuid
import zipfile
from pathlib import Path

import numpy as np


from grokking.common import paths
from grokking.common.errors import UserError
from .config import Config
from .grid import point_advice

FORMAT = "grokking-history/1"


class HistoryError(UserError, RuntimeError):
    """A run on disk is missing, unreadable or inconsistent; the message says what to do."""


# what every reader takes from a manifest, with its JSON type
MANIFEST_KEYS = {"config": dict, "checkpoints": list, "metrics": dict, "split": dict,
                 "epochs_done": int, "status": str, "milestones": dict}
# the file names the trainer writes in runs/<run>/ (and their temporary names, .<file>.tmp<pid>):
# everything `--force` may delete; anything else in the folder (a user's file, a sweep) is refused
_OWN = r"(manifest\.json|split\.npz|metrics\.npz|resume\.npz|(checkpoints|metrics|resume)/e\d{6,}\.npz)"
OWN_FILE = re.compile(rf"{_OWN}|(?:(checkpoints|metrics|resume)/)?\.(manifest\.json|split\.npz|metrics\.npz"
                      rf"|resume\.npz|e\d{{6,}}\.npz)\.tmp\d+")


# ---- atomic writes: common/io.py (re-exported: training writes its history through them) ----


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_npz(path: Path, sha256: str | None = None) -> dict[str, np.ndarray]:
    """Load every array of an npz (no pickle); verify the checksum when one is given."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise HistoryError(f"{path} is missing{_fix_for(path)}")
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise HistoryError(f"{path} is corrupted (checksum mismatch with the manifest){_fix_for(path)}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise HistoryError(f"{path} is corrupted or truncated ({e}){_fix_for(path)}")


def _fix_for(path: Path) -> str:
    """What to do about an unreadable resume state (the other files' readers say it themselves)."""
    if path.name == "resume.npz" or path.parent.name == "resume":
        run = (path.parent if path.name == "resume.npz" else path.parent.parent).name
        return (f"; run {run!r} cannot resume from it: retrain it with "
                f"'grokking train --run {run} --force' (its finished checkpoints stay readable until then)")
    return ""


# ---- runs ----------------------------------------------------------------------------------

def versions() -> dict[str, str]:
    import torch
    return {"python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "format": FORMAT}


def ckpt_name(epoch: int) -> str:
    return f"checkpoints/e{epoch:06d}.npz"


def metrics_name(epoch: int) -> str:
    return f"metrics/e{epoch:06d}.npz"


def resume_name(epoch: int) -> str:
    return f"resume/e{epoch:06d}.npz"


def run_id(run: "Run") -> str:
    """The run's identity: kept in its manifest and in every resume state, so a resume state
    from another run is refused. New runs draw one when their first state is written."""
    if run.exists() and run.manifest.get("run_id"):
        return run.manifest["run_id"]
    if getattr(run, "_new_id", None) is None:
        run._new_id = uuid.uuid4().hex[:16]
    return run._new_id


def resume_entries(m: dict) -> list[dict]:
    """The resume states a manifest names, oldest first (runs of the older layout: resume.npz,
    which must be at the manifest's epoch)."""
    if "resume" in m:
        return m["resume"]
    return [{"file": "resume.npz", "epoch": m["epochs_done"], "sha256": None}]


def check_resume(run: "Run", state: dict, epoch: int):
    """Refuse a resume state that is not this run's state at `epoch`."""
    fix = f"retrain it with 'grokking train --run {run.name} --force'"
    if "epoch" not in state or int(state["epoch"]) != epoch:
        got = int(state["epoch"]) if "epoch" in state else "unknown"
        raise HistoryError(f"run {run.name!r}: its resume state is at epoch {got} but its manifest at "
                           f"{epoch}, so resuming would be silently wrong; {fix}")
    rid = run.manifest.get("run_id")
    if "run_id" in state and rid and str(state["run_id"]) != rid:
        raise HistoryError(f"run {run.name!r}: its resume state belongs to another run "
                           f"(run_id {state['run_id']}, expected {rid}); {fix}")


def prune(run: "Run"):
    """Remove metrics and resume files the manifest no longer names (the trainer's own files,
    by their exact name pattern), and the older layout's once it is superseded."""
    m = run.manifest
    keep = {m["metrics"]["file"]} | {r["file"] for r in resume_entries(m)}
    keep |= {metrics_name(r["epoch"]) for r in resume_entries(m)}   # readers of the last manifest
    for sub in ("metrics", "resume"):
        d = run.dir / sub
        for f in (d.iterdir() if d.is_dir() else ()):
            if _STATE_FILE.fullmatch(f.name) and f"{sub}/{f.name}" not in keep:
                f.unlink(missing_ok=True)
    for legacy in ("metrics.npz", "resume.npz"):
        if legacy not in keep:
            (run.dir / legacy).unlink(missing_ok=True)


_STATE_FILE = re.compile(r"e\d{6}\.npz")


class Run:
    """A run directory and its manifest (read side; the trainer writes)."""

    def __init__(self, name: str, root: Path | None = None):
        self.name = name
        self.dir = paths.confined(root or paths.RUNS_DIR, name)      # a valid name, inside runs/
        paths.check_run_folder(self.dir, name)                  # not a sweep; a point of one that exists
        self.manifest_path = self.dir / "manifest.json"
        self._manifest: tuple[int, dict] | None = None      # (mtime_ns, parsed), reread on change

    def exists(self) -> bool:
        return self.manifest_path.exists()

    @property
    def manifest(self) -> dict:
        if not self.exists():
            raise HistoryError(self.missing())
        stamp = self.manifest_path.stat().st_mtime_ns
        if self._manifest is not None and self._manifest[0] == stamp:
            return self._manifest[1]
        try:
            m = json.loads(self.manifest_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise HistoryError(f"{self.manifest_path} is corrupted ({e}); retrain with --force")
        if not isinstance(m, dict) or m.get("format") != FORMAT:
            got = m.get("format") if isinstance(m, dict) else f"a JSON {type(m).__name__}"
            raise HistoryError(f"{self.manifest_path} is not a {FORMAT} manifest (got {got!r}); "
                               f"retrain it with 'grokking train --run {self.name} --force'")
        lacks = [k for k, t in MANIFEST_KEYS.items() if not isinstance(m.get(k), t)]
        if lacks or not m["checkpoints"]:
            raise HistoryError(f"{self.manifest_path} is damaged: "
                               + (f"{lacks[0]!r} is missing or malformed" if lacks else "it names no checkpoint")
                               + f"; retrain it with 'grokking train --run {self.name} --force'")
        self._manifest = (stamp, m)
        return m

    def missing(self) -> str:
        """Why there is no history here and the next step: a sweep's point is trained by its sweep."""
        if "/" in self.name:
            return point_advice(self.dir.parent, self.name)
        return f"no run named {self.name!r} in {self.dir.parent}/; train it with: grokking train --run {self.name}"

    def remove(self):
        """Delete the run's folder, only when it holds nothing but what the trainer writes (OWN_FILE:
        manifest, split, checkpoints, metrics, resume states and their temporaries), whether or not
        a manifest is there; anything else (a user's file, a sweep put inside) is named and refused."""
        paths.remove_owned(self.dir, *self._owned())
        self._manifest = None

    def trainer_lock(self):
        """The lock of one writer of this run (runs/.<run>.lock): the trainer holds it while it
        trains, the seed choice while it renames a try into the run's place."""
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        return paths.hold_lock(self.dir.parent / f".{self.dir.name}.lock",
                               f"another trainer is writing run {self.name!r}")

    def check_removable(self):
        """HistoryError naming what in the folder the trainer did not write (what remove() refuses)."""
        paths.check_owned(self.dir, *self._owned())

    def _owned(self):
        return (lambda rel: OWN_FILE.fullmatch(rel) is not None, HistoryError,
                f"Move what you keep out of {self.dir}/, or choose another --run name.")

    @property
    def config(self) -> Config:
        return Config.from_dict(self.manifest["config"])

    def checkpoint_epochs(self) -> list[int]:
        return [c["epoch"] for c in self.manifest["checkpoints"]]

    def load_checkpoint(self, epoch: int, verify: bool = True) -> dict[str, np.ndarray]:
        for c in self.manifest["checkpoints"]:
            if c["epoch"] == epoch:
                return read_npz(self.dir / c["file"], c["sha256"] if verify else None)
        raise HistoryError(f"run {self.name!r} has no checkpoint at epoch {epoch}; "
                           f"it has {len(self.checkpoint_epochs())} between "
                           f"{self.checkpoint_epochs()[0]} and {self.checkpoint_epochs()[-1]}")

    def metrics(self) -> dict[str, np.ndarray]:
        return self._consistent(lambda m: read_npz(self.dir / m["metrics"]["file"], m["metrics"]["sha256"]))

    def _consistent(self, read, tries: int = 20):
        """read(manifest), retried while a live trainer commits a newer manifest under it: a
        file replaced or pruned between our reading the manifest and the file is not damage."""
        for _ in range(tries):
            m = self.manifest
            try:
                return read(m)
            except HistoryError:
                time.sleep(0.05)
                if self.manifest is m:      # unchanged (the cache is keyed by mtime): real damage
                    raise
        return read(self.manifest)

    def split(self) -> dict[str, np.ndarray]:
        m = self.manifest
        return read_npz(self.dir / m["split"]["file"], m["split"]["sha256"])

    def fingerprint(self) -> str:
        """A content hash of the history: changes whenever a checkpoint or the metrics change."""
        m = self.manifest
        h = hashlib.sha256(json.dumps(m["config"], sort_keys=True).encode())
        for c in m["checkpoints"]:
            h.update(c["sha256"].encode())
        h.update(m["metrics"]["sha256"].encode())
        return h.hexdigest()[:16]

    def verify(self) -> list[str]:
        """Every problem found on disk (empty when the history is intact)."""
        def check(m):
            problems = self._problems(m)
            if problems:
                raise HistoryError(problems[0])
            return []
        try:
            return self._consistent(check, tries=3)
        except HistoryError:
            return self._problems(self.manifest)

    def _problems(self, m: dict) -> list[str]:
        problems = []
        for c in m["checkpoints"] + [m["metrics"], m["split"]]:
            p = self.dir / c["file"]
            if not p.exists():
                problems.append(f"{c['file']} is missing")
            elif sha256_file(p) != c["sha256"]:
                problems.append(f"{c['file']} is corrupted (checksum mismatch)")
        return problems

    def quick_problems(self) -> list[str]:
        """What a stat() per file can tell without reading them: files missing, and checkpoints
        whose size differs from the others' (every checkpoint of a run has the same arrays, so the
        same size: a truncated or padded one stands out). `verify()` checks every checksum."""
        m = self.manifest
        problems, sizes = [], {}
        for c in m["checkpoints"] + [m["metrics"], m["split"]]:
            try:
                size = (self.dir / c["file"]).stat().st_size
            except FileNotFoundError:
                problems.append(f"{c['file']} is missing")
                continue
            if c["file"].startswith("checkpoints/"):
                sizes[c["file"]] = size
        if sizes:
            usual = max(set(sizes.values()), key=list(sizes.values()).count)
            problems += [f"{f} is truncated or corrupted ({n} bytes, the others {usual})"
                         for f, n in sizes.items() if n != usual]
        return problems

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.dir.rglob("*") if f.is_file())


def list_runs(root: Path | None = None) -> list[Run]:
    root = Path(root or paths.RUNS_DIR)
    if not root.is_dir():
        return []
    return [Run(d.name, root) for d in sorted(root.iterdir())
            if paths.valid(d.name) and not d.is_symlink() and (d / "manifest.json").exists()
            and not paths.is_sweep(d)]


def list_sweeps(root: Path | None = None) -> list[tuple[str, list[tuple[str, "Run | None"]]]]:
    """Every sweep in runs/ with its points, in its manifest's order: (sweep, [(point, Run or
    None when its name is unusable)])."""
    import json
    root = Path(root or paths.RUNS_DIR)
    out = []
    for d in sorted(root.iterdir()) if root.is_dir() else ():
        if not paths.valid(d.name) or d.is_symlink() or not paths.is_sweep(d):
            continue
        try:
            names = [p["name"] for p in json.loads((d / paths.SWEEP_MANIFEST).read_text())["points"]]
        except (OSError, ValueError, KeyError, TypeError):
            names = []
        points = []
        for n in names:
            try:
                points.append((n, Run(n, d)))
            except ValueError:
                points.append((n, None))
        out.append((d.name, points))
    return out


def first_index(mask) -> int | None:
    """The first index where `mask` holds (an epoch, for per-epoch arrays), or None."""
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def filled(metrics: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-epoch curves with the test split's gaps (epochs it was not measured at, see
    train.TEST_NOTE) holding its latest measurement, up to the last epoch measured: milestones
    and thresholds read from them land on measured epochs, exact at that resolution."""
    out = dict(metrics)
    trained = np.flatnonzero(np.isfinite(np.asarray(metrics["train_loss"], float)))
    for k in ("test_loss", "test_acc"):
        v = np.asarray(metrics[k], float)
        have = np.isfinite(v)
        if not have.any() or not trained.size:
            continue
        idx = np.where(have, np.arange(v.size), -1)
        np.maximum.accumulate(idx, out=idx)          # index of the latest measurement so far
        f = np.where(idx >= 0, v[np.maximum(idx, 0)], np.nan)
        f[trained[-1] + 1:] = v[trained[-1] + 1:]    # nothing past the last trained epoch
        out[k] = f
    return out


def milestones(metrics: dict[str, np.ndarray]) -> dict:
    """First epoch with train accuracy 100 % and first with test accuracy >= 99 %."""
    tr, te = metrics["train_acc"], metrics["test_acc"]
    done = ~np.isnan(tr)
    return {"train_100": first_index(done & (tr >= 1.0)), "test_99": first_index(done & (te >= 0.99)),
            "epochs_measured": int(done.sum()) - 1}
