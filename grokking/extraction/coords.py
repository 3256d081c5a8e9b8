"""The coordinates in which a run's answer adds: a map from the inputs (x, y) to (u, v) with the
answer (u + v) mod p, so that everything extraction measures along x + y (key frequencies, the
restricted and excluded losses, the logit approximation, the crest, the logit maxima, the story
check) is measured along u + v.

- add: the identity, u = x, v = y.
- sub: u = x, v = −y mod p: (x − y) mod p = (x + (−y mod p)) mod p. Every (x, y)-indexed array
  (activations over all pairs, logits, surfaces) is read in the order (u, v), u-major: measure row
  i = u·p + v is the input pair (x, y) = (u, −v mod p). The embedding is shared by both positions
  and cos(w(−t)) = cos(wt), so its frequencies (and the probes, which read the digit's embedding)
  are the digit's, unchanged.
- pow: measured along x + y as it always was (the waves of x^a + y^b need the powers as
  coordinates, not yet here), with a note. mul and div: not addition in any relabelling of Z_p
  (mechanism.not_addition; their group is Z_(p−1) through the discrete log, not yet here).

The map is meant to grow (the discrete log for mul and div, the powers for pow):
a new op adds a `Coordinates` with its `order` (and, when its group is not Z_p, more).
numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Coordinates:
    """op's coordinates at modulus p. `order` [p*p]: measure row i (u-major, i = u·p + v) is the
    natural row order[i] (training/tasks.py all_pairs, i = x·p + y). `x_axis`, `y_axis`: what the
    rows and columns of every surface are, in the task's terms; `line`: u + v in the task's terms
    (the line a crest or an answer's logit maxima lie on: "x + y", "x − y")."""
    op: str
    p: int
    x_axis: str
    y_axis: str
    line: str
    order: np.ndarray

    @property
    def identity(self) -> bool:
        return bool((self.order == np.arange(self.p * self.p)).all())

    @property
    def description(self) -> str:
        """One sentence saying which coordinates every measure along the sum uses."""
        if self.identity:
            return "x and y as they are: the answer is (x + y) mod p"
        return (f"x, and y read as {self.y_axis}: ({self.line}) mod p = (x + ({self.y_axis})) mod p, so every "
                f"measure along x + y is along x + ({self.y_axis}), and every surface's y axis is {self.y_axis}")

    def rows(self, A: np.ndarray) -> np.ndarray:
        """An array whose first axis is the p*p natural rows (x-major), in measure order."""
        return np.asarray(A)[self.order]

    def positions(self, idx) -> np.ndarray:
        """Natural row indices (a train or test split) as sorted measure row indices."""
        inv = np.empty_like(self.order)
        inv[self.order] = np.arange(self.order.size)
        return np.sort(inv[np.asarray(idx, int)])

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The input tokens (x, y) of every measure row."""
        x, y = np.divmod(self.order, self.p)
        return x, y

    def to_json(self) -> dict:
        return {"x_axis": self.x_axis, "y_axis": self.y_axis, "line": self.line, "coordinates": self.description}


def coordinates(op: str, p: int) -> Coordinates:
    """The coordinates extraction measures op in (the identity for every op but sub: see above)."""
    u, v = np.divmod(np.arange(p * p), p)
    if op == "sub":
        return Coordinates(op, p, "x", "−y mod p", "x − y", u * p + (-v) % p)
    return Coordinates(op, p, "x", "y", "x + y", u * p + v)
