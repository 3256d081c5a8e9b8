"""Stamps: what an output was made from, so that exactly what depends on a change is redone.

A figure or scene is drawn inside `common.assets.recording()`, which notes every array and
every summary.json entry it read. Its stamp keeps one hash per read (arrays hashed by extraction,
summary entries hashed here) plus a hash of the code that drew it. It is stale when any of those
hashes differ now, and the stamp says which.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from grokking.common import code
from grokking.common.io import write_json

ROOT = code.ROOT
# what draws the figures: every module of figures/ and what it imports (common/assets.py, ...)
FIGURE_CODE = [ROOT / "grokking" / "figures"]


def figure_code_hash() -> str:
    """A hash of the code that draws the figures (a scene's is scene_code_hash)."""
    return code.code_hash(FIGURE_CODE)


def scene_code_hash(name: str) -> str:
    """A hash of the code that draws one scene: its module and every project module that module
    imports (transitively), plus the renderer (scenes/cli.py), so editing one scene file leaves
    the other scenes up to date."""
    from grokking.scenes.catalog import SCENES
    scenes = ROOT / "grokking" / "scenes"
    return code.code_hash([scenes / f"{SCENES[name][0]}.py", scenes / "cli.py"])


imported = code.imported


def leaves(reads: set) -> list[tuple]:
    """The reads that stand for whole values: no recorded extension, or marked whole ('*')."""
    whole = {r[:-1] for r in reads if r[-1] == "*"}
    plain = {r for r in reads if r[-1] != "*"}
    out = set()
    for r in plain | whole:
        if any(len(r) > len(w) and r[:len(w)] == w for w in whole):
            continue                                   # inside a node used whole
        if r not in whole and any(len(q) > len(r) and q[:len(r)] == r for q in plain):
            continue                                   # only passed through on the way down
        out.add(r)
    return sorted(out, key=lambda t: tuple(map(str, t)))


def _walk(obj, path):
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return "<absent>"
        obj = obj[key]
    return obj


class AssetHashes:
    """Hashes of what a run's assets hold now (read once: manifest and summary are small)."""

    def __init__(self, assets_dir: Path, run: str | None = None):
        """`run`: the run's name (SWEEP/POINT for a sweep's point, whose assets_dir is
        assets/SWEEP/POINT), so that an error names the run as the commands take it."""
        from grokking.common.assets import Assets
        self.dir = Path(assets_dir)
        run = run or self.dir.name
        root = self.dir
        for _ in run.split("/"):
            root = root.parent
        a = Assets(run, root)
        self.manifest = a.verify()           # AssetsError naming the file when one is corrupt
        self.summary = a._json("summary.json")

    def of(self, read: tuple) -> tuple[str, str]:
        """(a readable name, its hash) for one leaf read."""
        if read[0] == "summary":
            value = _walk(self.summary, read[1:])
            name = "summary:" + ".".join(map(str, read[1:]))
            return name, hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]
        _, file, *key = read
        files = self.manifest.get("files", {})
        if key:
            arr = self.manifest.get("arrays", {}).get(file, {})
            h = arr.get(key[0], "<absent>") if arr else files.get(file, "<absent>")
            return f"{file}:{key[0]}", h
        return file, files.get(file, "<absent>")

    def deps(self, reads: set) -> dict[str, str]:
        return dict(self.of(r) for r in leaves(reads))


def load(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def save(path: Path, stamps: dict):
    write_json(Path(path), stamps)


BY_QUALITY = "scenes_by_quality"


def at_quality(stamps: dict, quality: str) -> dict:
    """Make stamps["scenes"] (what status, the film, the gallery and the explorer read) the stamps
    of the renders at `quality`, keeping every quality's: a scene's stamp is filed under the
    quality it was rendered at (stamps["scenes_by_quality"][quality][name]), so rendering at
    another quality and back finds the first render up to date (its video lives in
    media/videos/<run>/<quality>/) instead of rendering it again. A scene never rendered at
    `quality` keeps its other quality's stamp, stale by its options, until it is. Returns stamps."""
    current = stamps.setdefault("scenes", {})
    kept = stamps.setdefault(BY_QUALITY, {})
    for name, stamp in current.items():           # the latest of each quality first (a render since)
        q = (stamp.get("options") or {}).get("quality")
        if q is not None:
            kept.setdefault(q, {})[name] = stamp
    current.update(kept.get(quality, {}))
    return stamps


def why_stale(stamp: dict | None, now: AssetHashes, code: str,
              options: dict | None = None) -> str | None:
    """None when up to date, else the reason."""
    if not stamp:
        return "missing"
    if not all(Path(f).exists() for f in stamp.get("files", [])):
        return "missing (files deleted)"
    if options is not None and stamp.get("options") != options:
        return "stale: options changed (" + ", ".join(
            f"{k} {stamp.get('options', {}).get(k)} -> {v}" for k, v in options.items()
            if stamp.get("options", {}).get(k) != v) + ")"
    if stamp.get("code") != code:
        return "stale: its code changed"
    changed = [name for name, h in stamp.get("deps", {}).items() if now.of(_read_of(name))[1] != h]
    if changed:
        return "stale: input changed (" + ", ".join(changed[:3]) + (", ..." if len(changed) > 3 else "") + ")"
    return None


def _read_of(name: str) -> tuple:
    """Invert AssetHashes.of's readable name back into a read path."""
    if name.startswith("summary:"):
        rest = name[len("summary:"):]
        return ("summary", *rest.split(".")) if rest else ("summary",)
    file, _, key = name.partition(":")
    return ("npz", file, key) if key else ("npz", file)
