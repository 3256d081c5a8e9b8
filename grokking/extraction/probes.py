"""Sparse linear probes: a few residual-stream dimensions that, weighted, give cos(w_k x).

L1-regularised least squares (the Lasso objective 1/(2n)||y - Xw - b||^2 + alpha ||w||_1, the
video's probe) solved by coordinate descent along a path of alphas; we keep the largest alpha
whose support (at most `max_dims` dimensions) already explains the target, then refit those
dimensions by ordinary least squares (a "relaxed" Lasso) so the probe's wave is not shrunk.
numpy only.
"""
from __future__ import annotations

import numpy as np

from .settings import PROBE_MAX_DIMS


def lasso(X: np.ndarray, y: np.ndarray, alpha: float, w0: np.ndarray | None = None,
          iters: int = 2000, tol: float = 1e-10) -> tuple[np.ndarray, float]:
    """Coordinate descent for the Lasso with an intercept. Returns (weights, bias)."""
    n, d = X.shape
    xm, ym = X.mean(0), y.mean()
    Xc, yc = X - xm, y - ym
    col_sq = (Xc ** 2).sum(0) / n
    w = np.zeros(d) if w0 is None else w0.copy()
    r = yc - Xc @ w
    for _ in range(iters):
        biggest = 0.0
        for j in range(d):
            if col_sq[j] == 0:
                continue
            old = w[j]
            rho = Xc[:, j] @ r / n + col_sq[j] * old
            new = np.sign(rho) * max(abs(rho) - alpha, 0.0) / col_sq[j]
            if new != old:
                r -= Xc[:, j] * (new - old)
                w[j] = new
                biggest = max(biggest, abs(new - old))
        if biggest < tol:
            break
    return w, float(ym - xm @ w)


def r2(pred: np.ndarray, y: np.ndarray) -> float:
    ss = ((y - y.mean()) ** 2).sum()
    return float(1 - ((y - pred) ** 2).sum() / ss) if ss > 0 else 0.0


def sparse_probe(X: np.ndarray, y: np.ndarray, max_dims: int = PROBE_MAX_DIMS, good_r2: float = 0.99,
                 n_alphas: int = 40) -> dict:
    """Fit a probe y ≈ X w + b using few columns of X [n, d]. Returns dims (by |weight|,
    largest first), weights [d] (zero off the support), bias, R², and the alpha that chose them."""
    n = X.shape[0]
    Xc, yc = X - X.mean(0), y - y.mean()
    a_max = np.abs(Xc.T @ yc).max() / n
    best = None
    w = None
    for alpha in a_max * np.geomspace(0.9, 1e-4, n_alphas):
        w, b = lasso(X, y, alpha, w0=w)
        support = np.flatnonzero(w)
        if support.size == 0:
            continue
        if support.size > max_dims:
            break
        fit = _refit(X, y, support)
        if best is None or fit["r2"] > best["r2"] + 1e-9:
            best = dict(fit, alpha=float(alpha))
        if fit["r2"] >= good_r2:
            break
    if best is None:
        return {"dims": np.array([], int), "weights": np.zeros(X.shape[1]), "bias": float(y.mean()),
                "r2": 0.0, "alpha": float(a_max)}
    return best


def greedy_probe(X: np.ndarray, y: np.ndarray, max_dims: int = PROBE_MAX_DIMS) -> dict:
    """A probe y ≈ X w + b on at most `max_dims` columns chosen greedily (orthogonal matching
    pursuit: each step adds the column most correlated with what the chosen ones leave unexplained,
    then refits them all by least squares). Vectorised, so cheap enough to refit at every checkpoint;
    same result keys as sparse_probe (no alpha)."""
    Xc, yc = X - X.mean(0), y - y.mean()
    norms = np.linalg.norm(Xc, axis=0)
    usable = norms > 1e-12 * max(norms.max(), 1e-300)
    support: list[int] = []
    best = {"dims": np.array([], int), "weights": np.zeros(X.shape[1]), "bias": float(y.mean()), "r2": 0.0}
    resid = yc
    for _ in range(min(max_dims, int(usable.sum()))):
        score = np.where(usable, np.abs(Xc.T @ resid) / np.where(usable, norms, 1.0), -1.0)
        score[support] = -1.0
        j = int(np.argmax(score))
        if score[j] <= 0:
            break
        support.append(j)
        fit = _refit(X, y, np.array(support))
        best = fit if fit["r2"] > best["r2"] else best
        resid = yc - (X[:, support] - X[:, support].mean(0)) @ fit["weights"][support]
    return best


def _refit(X, y, support):
    A = np.c_[X[:, support], np.ones(len(y))]
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    weights = np.zeros(X.shape[1])
    weights[support] = coef[:-1]
    order = support[np.argsort(-np.abs(coef[:-1]))]
    return {"dims": order, "weights": weights, "bias": float(coef[-1]), "r2": r2(A @ coef, y)}
