"""Which code made an output: a module and every project module it imports, directly or not,
hashed. Extraction stamps its assets with it and the pipeline its figures and scenes, so what is
stale follows from the imports, not from a hand-kept list of files."""
from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

# the folder holding the grokking package (the clone, or site-packages when installed)
ROOT = Path(__file__).resolve().parents[2]


def code_hash(entries, follow_training: bool = False) -> str:
    """A hash of the files `entries` (modules, or folders: every .py in them) and every project
    file they import. Figures and scenes do not follow training/ (they reach it only for run-name
    checks and error types; a change there reaches a drawing through the assets' hashes)."""
    files: set[Path] = set()
    for entry in map(Path, entries):
        for f in (sorted(entry.rglob("*.py")) if entry.is_dir() else [entry]):
            files |= imported(f, follow_training)
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.relative_to(ROOT).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def imported(path: Path, follow_training: bool = False) -> frozenset[Path]:
    """`path` and every project .py file it imports, directly or not (packages' __init__ too)."""
    seen: set[Path] = set()
    todo = [Path(path).resolve()]
    while todo:
        f = todo.pop()
        if f not in seen:
            seen.add(f)
            todo.extend(_direct_imports(f, follow_training))
    return frozenset(seen)


@lru_cache(maxsize=None)
def _direct_imports(path: Path, follow_training: bool) -> tuple[Path, ...]:
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
            out += _module_files(name, follow_training)
    return tuple(out)


def _module_files(dotted: str, follow_training: bool) -> list[Path]:
    """The project files that importing `dotted` runs: each package's __init__.py and the module."""
    parts = [p for p in dotted.split(".") if p]
    if not parts or (parts[:2] == ["grokking", "training"] and not follow_training):
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
