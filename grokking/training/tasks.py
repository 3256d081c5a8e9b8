"""The data: binary operations mod p on inputs [x, y, =], and the seeded train/test split."""
from __future__ import annotations

import numpy as np

from .config import Config


def all_pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (x, y), x-major: index i = x * p + y (the p×p grid, x the row)."""
    x, y = np.divmod(np.arange(p * p), p)
    return x, y


def answers(op: str, x: np.ndarray, y: np.ndarray, p: int, a: int = 1, b: int = 1) -> np.ndarray:
    """The label c = op(x, y) mod p."""
    x = x.astype(np.int64)
    y = y.astype(np.int64)
    if op == "add":
        return (x + y) % p
    if op == "sub":
        return (x - y) % p
    if op == "mul":
        return (x * y) % p
    if op == "div":     # x * y^(p-2) = x / y for prime p; y = 0 has no answer (0 here, never a pair)
        inv = np.array([pow(int(v), p - 2, p) if v else 0 for v in range(p)])
        return (x * inv[y]) % p
    if op == "pow":
        return (np.array([pow(int(v), a, p) for v in range(p)])[x]
                + np.array([pow(int(v), b, p) for v in range(p)])[y]) % p
    raise ValueError(f"unknown operation {op!r}")


def tokens(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    """The input sequences [x, y, =] with '=' the token p."""
    return np.stack([x, y, np.full_like(x, p)], axis=1)


def valid(op: str, p: int) -> np.ndarray:
    """Which of all_pairs(p) are examples of the task: every pair, but for div those with y != 0
    (the original grokking paper's x / y mod p, 0 < y < p)."""
    x, y = all_pairs(p)
    return y != 0 if op == "div" else np.ones(p * p, bool)


def split(p: int, frac: float, seed: int, op: str = "add") -> tuple[np.ndarray, np.ndarray]:
    """Indices into all_pairs(p) for train and test: a seeded shuffle of the task's pairs, the
    first `frac` train. numpy's PCG64 makes this identical on every machine and numpy version;
    for every op but div the pairs are all p*p, so the split is the one it always was."""
    pairs = np.flatnonzero(valid(op, p))
    perm = pairs[np.random.Generator(np.random.PCG64(seed)).permutation(pairs.size)]
    n_train = int(frac * pairs.size)  # floor, as the original: 3830 of 12769 at p=113, frac=0.3
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])


def dataset(cfg: Config) -> dict[str, np.ndarray]:
    """Everything the trainer and the extractor need about the task, as arrays."""
    x, y = all_pairs(cfg.p)
    train, test = split(cfg.p, cfg.frac, cfg.seed, cfg.op)
    return {"x": x, "y": y, "valid": valid(cfg.op, cfg.p), "label": answers(cfg.op, x, y, cfg.p, cfg.a, cfg.b),
            "train": train, "test": test}


def toy_table(p: int = 5, frac: float = 0.3, seed: int = 0) -> dict[str, np.ndarray]:
    """The p = 5 toy of the intro scenes: every pair, its sum mod p, and which pairs are test."""
    x, y = all_pairs(p)
    _, test = split(p, frac, seed)
    is_test = np.zeros(p * p, bool)
    is_test[test] = True
    return {"x": x, "y": y, "sum": answers("add", x, y, p), "is_test": is_test,
            "vocab": np.array([str(i) for i in range(p)] + ["="])}
