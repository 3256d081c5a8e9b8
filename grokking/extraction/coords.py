"""The coordinates in which a run's answer adds: a map from the inputs (x, y) to (u, v) in a
cyclic group Z_n with the answer's element u + v mod n, so that everything extraction measures
along x + y (key frequencies, the restricted and excluded losses, the logit approximation, the
crest, the logit maxima, the story check) is measured along u + v.

- add: the identity, u = x, v = y, n = p.
- sub: u = x, v = −y mod p: (x − y) mod p = (x + (−y mod p)) mod p.
- mul: the nonzero residues mod a prime p are cyclic of order n = p − 1: with a generator g
  (the smallest, 3 at p = 113) x = g^i, y = g^j and x·y = g^((i + j) mod (p − 1)), so u = i = log_g x,
  v = j = log_g y and the answer c is the element log_g c. The pairs with x = 0 or y = 0 (answer 0)
  are outside the group: measured apart (extract.zero_pairs).
- div: u = log_g x, v = −log_g y mod (p − 1) (x / y = g^(i − j)); x = 0 apart, y = 0 is no example.
- pow: u = x^a, v = y^b mod p, n = p. When x ↦ x^a and y ↦ y^b are one-to-one (gcd(a, p − 1) = 1,
  likewise b) the map is a relabelling of the p×p grid like sub's. When one is not, colliding
  inputs share a (u, v): there is no p×p grid to draw, and only the measures that need none are
  taken (`grid` False: key frequencies, restricted and excluded losses, the logit approximation,
  each over the pairs as they are, with cos/sin(w(u + v)) made orthonormal there).

Every (x, y)-indexed array (activations over all pairs, logits, surfaces) is read in measure
order, u-major over the n×n grid: measure row i = u·n + v is the natural row order[i]
(training/tasks.py all_pairs, x-major over p×p). An answer's logit column for element m is the
token outputs[m]; the embedding's row for the x axis' element m is the token digits[m].
numpy only (scenes draw the Relabel table from it).
"""
from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np

SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def is_generator(g: int, p: int) -> bool:
    """Whether g generates the multiplicative group mod the prime p (its powers hit all p − 1)."""
    return len({pow(g, i, p) for i in range(p - 1)}) == p - 1


def generator(p: int) -> int:
    """The smallest generator of the nonzero residues mod the prime p (3 at p = 113, 2 at p = 5)."""
    for g in range(2, p):
        if is_generator(g, p):
            return g
    if p == 2:
        return 1
    raise ValueError(f"p = {p} is not prime: its nonzero residues form no cyclic group")


def powers_of(g: int, p: int) -> np.ndarray:
    """[p − 1]: g^i mod p for i = 0 .. p − 2 (the token of group element i)."""
    out = np.ones(p - 1, np.int64)
    for i in range(1, p - 1):
        out[i] = out[i - 1] * g % p
    return out


def discrete_log(p: int, g: int | None = None) -> np.ndarray:
    """[p]: log_g x for x = 1 .. p − 1 (entry 0, where no log exists, is −1)."""
    g = generator(p) if g is None else g
    out = np.full(p, -1, np.int64)
    out[powers_of(g, p)] = np.arange(p - 1)
    return out


def power_map(e: int, p: int) -> np.ndarray:
    """[p]: x^e mod p for every residue x."""
    return np.array([pow(int(x), e, p) for x in range(p)], np.int64)


def sup(e: int) -> str:
    return str(e).translate(SUPERSCRIPT)


def sub(g: int) -> str:
    """A subscript number: the base of a discrete log, log₃."""
    return str(g).translate(SUBSCRIPT)


@dataclass(frozen=True)
class Coordinates:
    """op's coordinates at modulus p (the module's docstring). `n`: the group's order; `order`
    [n*n]: measure row i = u·n + v is the natural row order[i]; `outputs` [n]: the token of each
    element (an answer's logit column); `digits` [n]: the token whose embedding is the x axis'
    element m; `generator`: g for mul and div (else None); `grid`: whether the pairs are an n×n grid
    in (u, v) (False for pow with a colliding exponent: then `u`, `v` [p*p] are every natural
    row's coordinates and `order` is None); `apart`: natural rows outside the group (mul and div's
    zero row and column). `x_axis`, `y_axis`: the surfaces' rows and columns in the task's terms;
    `line`: u + v in the task's terms."""
    op: str
    p: int
    n: int
    x_axis: str
    y_axis: str
    line: str
    order: np.ndarray | None
    outputs: np.ndarray
    digits: np.ndarray
    u: np.ndarray
    v: np.ndarray
    generator: int | None = None
    apart: np.ndarray | None = None
    collisions: tuple = ()

    @property
    def grid(self) -> bool:
        return self.order is not None

    @property
    def identity(self) -> bool:
        return self.grid and self.n == self.p and bool((self.order == np.arange(self.p * self.p)).all())

    @property
    def description(self) -> str:
        """One sentence saying which coordinates every measure along the sum uses."""
        if self.identity:
            return "x and y as they are: the answer is (x + y) mod p"
        if self.op in ("mul", "div"):
            return (f"the discrete log base {self.generator}: x = {self.generator}^i, y = {self.generator}^j for "
                    f"x, y ≠ 0, so ({self.line}) mod {self.n} is the answer's log; every measure along the sum "
                    f"is over Z_{self.n} with rows {self.x_axis} and columns {self.y_axis}; the pairs with a zero "
                    "are measured apart")
        if self.op == "pow" and not self.grid:
            return (f"u = {self.x_axis}, v = {self.y_axis}: the answer is (u + v) mod p; "
                    + "; ".join(self.collisions) + ": no p×p grid, so only the measures over the pairs as they are")
        if self.op == "pow":
            return (f"u = {self.x_axis}, v = {self.y_axis} (each one-to-one mod p): the answer is (u + v) mod p, "
                    "and every surface is over (u, v)")
        return (f"x, and y read as {self.y_axis}: ({self.line}) mod p = (x + ({self.y_axis})) mod p, so every "
                f"measure along x + y is along x + ({self.y_axis}), and every surface's y axis is {self.y_axis}")

    def rows(self, A: np.ndarray) -> np.ndarray:
        """An array whose first axis is the p*p natural rows (x-major), in measure order (the n*n
        group rows; a non-grid map keeps the natural rows)."""
        return np.asarray(A) if self.order is None else np.asarray(A)[self.order]

    def positions(self, idx) -> np.ndarray:
        """Natural row indices (a train or test split) as sorted measure row indices; rows outside
        the group (mul and div's zeros) drop out."""
        if self.order is None:
            return np.sort(np.asarray(idx, int))
        inv = np.full(self.p * self.p, -1, np.int64)
        inv[self.order] = np.arange(self.order.size)
        at = inv[np.asarray(idx, int)]
        return np.sort(at[at >= 0])

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The input tokens (x, y) of every measure row."""
        rows = np.arange(self.p * self.p) if self.order is None else self.order
        return np.divmod(rows, self.p)

    def element(self, c: int) -> int:
        """The group element of the answer token c (ValueError when c is outside the group)."""
        hit = np.flatnonzero(self.outputs == c)
        if not hit.size:
            raise ValueError(f"{c} is not in the group the answer adds in ({self.line} mod {self.n}: "
                             f"answers 1..{self.p - 1})")
        return int(hit[0])

    def sums(self) -> np.ndarray:
        """(u + v) mod n of every measure row: the element of its answer."""
        return (self.u + self.v) % self.n

    def to_json(self) -> dict:
        return {"x_axis": self.x_axis, "y_axis": self.y_axis, "line": self.line, "coordinates": self.description,
                "n": self.n, "generator": self.generator, "grid": self.grid,
                "outputs": [int(t) for t in self.outputs], "digits": [int(t) for t in self.digits]}


def _grid(op: str, p: int, n: int, names: tuple[str, str, str], xs: np.ndarray, ys: np.ndarray,
          outputs: np.ndarray, digits: np.ndarray, g: int | None = None, apart=None) -> Coordinates:
    """The n×n grid whose row (u, v) is the natural pair (xs[u], ys[v])."""
    u, v = np.divmod(np.arange(n * n), n)
    return Coordinates(op, p, n, *names, order=xs[u] * p + ys[v], outputs=outputs, digits=digits, u=u, v=v,
                       generator=g, apart=apart)


def coordinates(op: str, p: int, a: int = 1, b: int = 1) -> Coordinates:
    """The coordinates extraction measures op in (the module's docstring)."""
    t = np.arange(p)
    if op in ("mul", "div"):
        g = generator(p)
        pw = powers_of(g, p)                      # the token of each element
        x, y = np.divmod(np.arange(p * p), p)
        apart = np.flatnonzero((x == 0) | (y == 0))
        if op == "mul":
            names = (f"log{sub(g)} x", f"log{sub(g)} y", f"log{sub(g)} x + log{sub(g)} y")
            return _grid(op, p, p - 1, names, pw, pw, pw, pw, g, apart)
        apart = apart[y[apart] != 0]              # y = 0 is no example of div
        names = (f"log{sub(g)} x", f"−log{sub(g)} y mod {p - 1}", f"log{sub(g)} x − log{sub(g)} y")
        return _grid(op, p, p - 1, names, pw, pw[(-np.arange(p - 1)) % (p - 1)], pw, pw, g, apart)
    if op == "pow":
        names = (f"x{sup(a)}", f"y{sup(b)}", f"x{sup(a)} + y{sup(b)}")
        collisions = tuple(f"{v} ↦ {v}{sup(e)} is {gcd(e, p - 1)}-to-1 on the nonzero residues (gcd({e}, {p - 1}) = "
                           f"{gcd(e, p - 1)})" for v, e in (("x", a), ("y", b)) if gcd(e, p - 1) > 1)
        if not collisions:
            root = lambda e: power_map(pow(e, -1, p - 1), p)     # u ↦ u^(1/e): x = root(x^e)
            return _grid(op, p, p, names, root(a), root(b), t, root(a))
        x, y = np.divmod(np.arange(p * p), p)
        return Coordinates(op, p, p, *names, order=None, outputs=t, digits=t, u=power_map(a, p)[x],
                           v=power_map(b, p)[y], collisions=collisions)
    if op == "sub":
        return _grid(op, p, p, ("x", "−y mod p", "x − y"), t, (-t) % p, t, t)
    return _grid(op, p, p, ("x", "y", "x + y"), t, t, t, t)



def collision_share(W: np.ndarray, e: int, p: int) -> float | None:
    """How much of the digit table W [p, d]'s variance over the nonzero x is a function of x^e:
    the share of the variance between the classes {x : x^e = u} (1 when colliding inputs have the
    same row, as a model computing with x^e must give them; about 1/d of the classes' count when it
    ignores them). None when x ↦ x^e is one-to-one (no classes to share)."""
    if gcd(e, p - 1) == 1:
        return None
    W = np.asarray(W, float)[1:p]
    cls = power_map(e, p)[1:p]
    W = W - W.mean(0)
    means = np.zeros_like(W)
    for c in np.unique(cls):
        means[cls == c] = W[cls == c].mean(0)
    return float((means ** 2).sum() / max((W ** 2).sum(), 1e-30))
