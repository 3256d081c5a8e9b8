"""The package's shape, checked over its import graph: every stage imports only the stages below
it (common < training < extraction < figures, scenes < interop, lab < pipeline < the command
line), and no module imports, directly or not, one that imports it back. Function-level imports
count: a lazy import is still a dependency."""
from __future__ import annotations

import ast
from pathlib import Path

import grokking

PACKAGE = Path(grokking.__file__).resolve().parent
# a stage's rank: it may import stages of lower rank (and itself), never its peers or above
RANK = {"common": 0, "training": 1, "extraction": 2, "figures": 3, "scenes": 3, "interop": 4, "lab": 4,
        "pipeline": 5, "cli": 6, "__main__": 7, "__init__": 0}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = ("grokking",) + f.relative_to(PACKAGE).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports anywhere in its file (relative imports resolved;
    `from X import Y` counts Y when Y is a module, else X)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:         # a name inside a module: the module
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {n: imports(n, p, known) for n, p in known.items()}


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_belongs_to_a_known_stage():
    assert {stage(m) for m in graph()} <= set(RANK)


def test_no_stage_imports_a_peer_or_a_stage_above_it():
    wrong = sorted(f"{m} imports {t}" for m, ts in graph().items() for t in ts
                   if stage(t) != stage(m) and stage(t) != "__init__" and RANK[stage(t)] >= RANK[stage(m)])
    assert wrong == []


def test_no_import_circle():
    g, circles = graph(), []
    state: dict[str, int] = {}               # 1: on the current path, 2: done

    def visit(m, path):
        state[m] = 1
        for t in sorted(g[m]):
            if state.get(t) == 1:
                circles.append(" -> ".join(path[path.index(t):] + [t]))
            elif t not in state:
                visit(t, path + [t])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    assert circles == []


def test_the_checker_sees_a_planted_upward_import_and_a_circle(tmp_path, monkeypatch):
    """The rules fail when broken: a fake package where training imports pipeline and two
    modules import each other."""
    fake = tmp_path / "grokking"
    for f, text in {"__init__.py": "", "training/__init__.py": "", "pipeline/__init__.py": "",
                    "training/a.py": "from grokking.pipeline import b\n", "pipeline/b.py": "from . import c\n",
                    "pipeline/c.py": "def f():\n    from .b import x\n"}.items():
        (fake / f).parent.mkdir(parents=True, exist_ok=True)
        (fake / f).write_text(text)
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    g = graph()
    assert g["grokking.training.a"] == {"grokking.pipeline.b"}
    assert g["grokking.pipeline.c"] == {"grokking.pipeline.b"}
    import pytest
    with pytest.raises(AssertionError):
        test_no_stage_imports_a_peer_or_a_stage_above_it()
    with pytest.raises(AssertionError):
        test_no_import_circle()
