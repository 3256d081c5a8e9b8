"""Stamps: what an output was made from, so that exactly what depends on a change is redone.

A figure or scene is drawn inside `extraction.store.recording()`, which notes every array and
every summary.json entry it read. Its stamp keeps one hash per read (arrays hashed by extraction,
summary entries hashed here) plus a hash of the code that drew it. It is stale when any of those
hashes differ now, and the stamp says which.
"""
from __future__ import annotations

import ast
import hashlib
import json
from functools import lru_cache
from pathlib import Path

from training.history import write_json

ROOT = Path(__file__).resolve().parents[1]
CODE = {
    "figures": ["figures", "extraction/store.py", "extraction/fourier.py"],
    "scenes": ["scenes", "figures/style.py", "extraction/store.py", "extraction/fourier.py"],
}


def code_hash(kind: str) -> str:
    h = hashlib.sha256()
    for entry in CODE[kind]:
        p = ROOT / entry
        _update(h, sorted(p.rglob("*.py")) if p.is_dir() else [p])
    return h.hexdigest()[:16]


def _update(h, files):
    for f in files:
        h.update(f.relative_to(ROOT).as_posix().encode())
        h.update(f.read_bytes())


def scene_code_hash(name: str) -> str:
    """A hash of the code that draws one scene: its module and every project module that module
    imports (transitively), plus the renderer (scenes/cli.py), so editing one scene file leaves
    the other scenes up to date."""
    from scenes.catalog import SCENES
    files = imported(ROOT / "scenes" / f"{SCENES[name][0]}.py") | {ROOT / "scenes" / "cli.py"}
    h = hashlib.sha256()
    _update(h, sorted(files))
    return h.hexdigest()[:16]


# Not followed: training/ (scenes reach it only for run-name checks and error types; a change
# there reaches a drawing through the assets' hashes, not through code).
_NOT_FOLLOWED = ("training",)


def imported(path: Path) -> frozenset[Path]:
    """`path` and every project .py file it imports, directly or not (packages' __init__ too)."""
    seen: set[Path] = set()
    todo = [Path(path).resolve()]
    while todo:
        f = todo.pop()
        if f not in seen:
            seen.add(f)
            todo.extend(_direct_imports(f))
    return frozenset(seen)


@lru_cache(maxsize=None)
def _direct_imports(path: Path) -> tuple[Path, ...]:
    package = path.parent.relative_to(ROOT).parts        # what a relative import is relative to
    out = []
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            base += node.module.split(".") if node.module else []
            # `from X import Y`: Y may be a submodule (from . import data) or a name in X
            names = [".".join(base + [a.name]) for a in node.names] + [".".join(base)]
        else:
            continue
        for name in names:
            out += _module_files(name)
    return tuple(out)


def _module_files(dotted: str) -> list[Path]:
    """The project files that importing `dotted` runs: each package's __init__.py and the module."""
    parts = [p for p in dotted.split(".") if p]
    if not parts or parts[0] in _NOT_FOLLOWED:
        return []
    out = []
    for i in range(1, len(parts) + 1):
        d = ROOT.joinpath(*parts[:i])
        if (d / "__init__.py").is_file():
            out.append(d / "__init__.py")
        elif d.with_suffix(".py").is_file():
            out.append(d.with_suffix(".py"))
            break
        else:
            break
    return out


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

    def __init__(self, assets_dir: Path):
        from extraction.store import Assets
        self.dir = Path(assets_dir)
        a = Assets(self.dir.name, self.dir.parent)
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
