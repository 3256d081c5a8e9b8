"""The Fourier toolkit: the orthonormal basis, 2D transforms, labels, surface decompositions.

Convention (documented once, used everywhere): row 0 of F is the constant 1/sqrt(p); rows
2k-1 and 2k are cos(w_k x) and sin(w_k x), w_k = 2 pi k / p, for k = 1 .. (p-1)//2, each scaled to
unit norm (cos first). For even p the last row is the Nyquist cos(pi x). numpy only: figures and
scenes may import this module.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np


def n_freqs(p: int) -> int:
    return (p - 1) // 2


def frequencies(p: int) -> range:
    """Every frequency of Z_p: k = 1 .. p // 2, with the Nyquist k = p/2 for an even p (the one
    real wave cos(πx) = (−1)^x; over the discrete log of mul and div, n = p − 1 is even and this
    is the Legendre symbol, whether x is a square mod p)."""
    return range(1, p // 2 + 1)


def is_nyquist(k: int, p: int) -> bool:
    return p % 2 == 0 and k == p // 2


def rows_of(k: int, p: int) -> list[int]:
    """The basis rows of frequency k: its cos and sin rows, or the Nyquist's one row."""
    return [p - 1] if is_nyquist(k, p) else [cos_row(k), sin_row(k)]


def basis(p: int) -> np.ndarray:
    """F [p, p], orthonormal rows; F @ f gives the coefficients of a function f of x."""
    x = np.arange(p)
    rows = [np.ones(p)]
    for k in range(1, n_freqs(p) + 1):
        rows += [np.cos(2 * np.pi * k * x / p), np.sin(2 * np.pi * k * x / p)]
    if p % 2 == 0:
        rows.append(np.cos(np.pi * x))
    F = np.stack(rows)
    return F / np.linalg.norm(F, axis=1, keepdims=True)


def basis_labels(p: int) -> list[str]:
    labels = ["const"]
    for k in range(1, n_freqs(p) + 1):
        labels += [f"cos {k}", f"sin {k}"]
    if p % 2 == 0:
        labels.append(f"cos {p // 2}")
    return labels


def cos_row(k: int) -> int:
    return 2 * k - 1


def sin_row(k: int) -> int:
    return 2 * k


def freq_label(k: int, p: int, unicode: bool = True) -> str:
    """w_k = 2 pi k / p in the video's form: k = 4 at p = 113 -> '8π/113'."""
    pi = "π" if unicode else "pi"
    fr = Fraction(2 * k, p)
    num = "" if fr.numerator == 1 else str(fr.numerator)
    return f"{num}{pi}" if fr.denominator == 1 else f"{num}{pi}/{fr.denominator}"


def wave_label(fn: str, k: int, p: int, var: str = "x", unicode: bool = True) -> str:
    """'cos(8πx/113)'"""
    pi = "π" if unicode else "pi"
    fr = Fraction(2 * k, p)
    num = "" if fr.numerator == 1 else str(fr.numerator)
    body = f"{num}{pi}{var}" + ("" if fr.denominator == 1 else f"/{fr.denominator}")
    return f"{fn}({body})"


def product_formulas(k: int, p: int) -> list[str]:
    """The product pair's two terms at w = 2πk/p: ['cos(wx)·cos(wy)', 'sin(wx)·sin(wy)']."""
    return [wave_label(fn, k, p) + "·" + wave_label(fn, k, p, "y") for fn in ("cos", "sin")]


def transform_2d(A: np.ndarray, F: np.ndarray | None = None) -> np.ndarray:
    """2D coefficients of A [p, p, ...] (x the row index): F A F^T on the first two axes."""
    p = A.shape[0]
    F = basis(p) if F is None else F
    return np.einsum("ix,xy...,jy->ij...", F, A, F, optimize=True)


def inverse_2d(C: np.ndarray, F: np.ndarray | None = None) -> np.ndarray:
    p = C.shape[0]
    F = basis(p) if F is None else F
    return np.einsum("ix,ij...,jy->xy...", F, C, F, optimize=True)


def norms_1d(W: np.ndarray, F: np.ndarray | None = None) -> np.ndarray:
    """Fourier norm per basis row of a table W [p, d] indexed by token (e.g. W_E[:p])."""
    F = basis(W.shape[0]) if F is None else F
    return np.linalg.norm(F @ W, axis=1)


def freq_power(norms: np.ndarray) -> np.ndarray:
    """Squared norm per frequency k = 0..n_freqs (cos and sin rows summed) from per-row norms."""
    p = norms.shape[-1]
    out = np.zeros(norms.shape[:-1] + (n_freqs(p) + 1,))
    out[..., 0] = norms[..., 0] ** 2
    for k in range(1, n_freqs(p) + 1):
        out[..., k] = norms[..., cos_row(k)] ** 2 + norms[..., sin_row(k)] ** 2
    return out


def block_fve(C: np.ndarray) -> np.ndarray:
    """Fraction of variance of centred 2D coefficients C [p, p, n] in each block {0,2k-1,2k}^2
    (the Nyquist of an even p: {0, p-1}^2). Returns [n, p//2 + 1] (column 0 is zero)."""
    p = C.shape[0]
    power = C ** 2
    total = power.sum(axis=(0, 1)) - power[0, 0]
    out = np.zeros((C.shape[2], p // 2 + 1))
    for k in frequencies(p):
        idx = [0] + rows_of(k, p)
        out[:, k] = (power[np.ix_(idx, idx)].sum(axis=(0, 1)) - power[0, 0]) / np.maximum(total, 1e-30)
    return out


def sum_directions(p: int, ks, F: np.ndarray | None = None) -> np.ndarray:
    """Unit vectors in R^{p*p} (x-major) for cos(w_k(x+y)) and sin(w_k(x+y)), per k: [2K, p*p]
    (the Nyquist of an even p: cos(π(x+y)) and a zero row)."""
    F = basis(p) if F is None else F
    out = []
    for k in ks:
        if is_nyquist(k, p):    # cos(π(x + y)) = cos(πx)·cos(πy); no sine: a zero row keeps the pairs
            out += [np.outer(F[p - 1], F[p - 1]).ravel(), np.zeros(p * p)]
            continue
        c, s = F[cos_row(k)], F[sin_row(k)]
        out.append((np.outer(c, c) - np.outer(s, s)).ravel() / np.sqrt(2))
        out.append((np.outer(s, c) + np.outer(c, s)).ravel() / np.sqrt(2))
    return np.array(out).reshape(-1, p * p)


# ---- readable decompositions of a p x p surface -----------------------------------------------

def _term_name(i: int, j: int, p: int, unicode: bool = True) -> str:
    def one(r, var):
        if r == 0:
            return ""
        k = (r + 1) // 2
        return wave_label("cos" if r % 2 == 1 else "sin", k, p, var, unicode)
    a, b = one(i, "x"), one(j, "y")
    return "·".join(t for t in (a, b) if t) or "1"


def decompose(surface: np.ndarray, n_terms: int = 4, unicode: bool = True) -> dict:
    """The strongest terms of a p x p surface in the 2D Fourier basis.

    Each term is a basis product (e.g. cos(8πx/113)·cos(8πy/113)) with its coefficient in
    natural units (the surface contains coef * cos(..)*cos(..)), the fraction of the centred
    surface's variance it explains, and its (i, j) basis rows. Also the mean, the reconstruction
    from the top terms, and the variance that reconstruction explains."""
    p = surface.shape[0]
    F = basis(p)
    C = transform_2d(surface, F)
    mean = surface.mean()
    power = C ** 2
    power_c = power.copy()
    power_c[0, 0] = 0.0
    total = power_c.sum()
    order = np.argsort(power_c.ravel())[::-1][:n_terms]
    terms = []
    recon_C = np.zeros_like(C)
    recon_C[0, 0] = C[0, 0]
    for flat in order:
        i, j = divmod(int(flat), p)
        # a unit basis row for a cos/sin has amplitude sqrt(2/p); the constant row 1/sqrt(p)
        amp = (np.sqrt(2 / p) if i else np.sqrt(1 / p)) * (np.sqrt(2 / p) if j else np.sqrt(1 / p))
        terms.append({"term": _term_name(i, j, p, unicode), "i": i, "j": j,
                      "coef": float(C[i, j] * amp), "fve": float(power_c[i, j] / total) if total else 0.0})
        recon_C[i, j] = C[i, j]
    recon = inverse_2d(recon_C, F)
    resid = surface - recon
    ev = 1 - float((resid ** 2).sum() / max(((surface - mean) ** 2).sum(), 1e-30))
    formula = format_terms(terms)
    return {"mean": float(mean), "terms": terms, "formula": formula,
            "explained": ev, "reconstruction": recon}


def format_terms(terms: list[dict], digits: int = 2) -> str:
    """'0.42·cos(8πx/113)·cos(8πy/113) − 0.17·cos(8πy/113)'"""
    out = ""
    for n, t in enumerate(terms):
        c = t["coef"]
        sign = "−" if c < 0 else "+"
        mag = f"{abs(c):.{digits}f}"
        if n == 0:
            out += ("−" if c < 0 else "") + f"{mag}·{t['term']}"
        else:
            out += f" {sign} {mag}·{t['term']}"
    return out


def surface_from_terms(terms: list[dict], p: int, mean: float = 0.0) -> np.ndarray:
    """Rebuild a surface from decompose()'s terms (coef in natural units)."""
    x = np.arange(p)
    def wave(r):
        if r == 0:
            return np.ones(p)
        k = (r + 1) // 2
        return (np.cos if r % 2 == 1 else np.sin)(2 * np.pi * k * x / p)
    out = np.full((p, p), mean, float)
    for t in terms:
        out += t["coef"] * np.outer(wave(t["i"]), wave(t["j"]))
    return out


def dominant_frequency(f: np.ndarray) -> dict:
    """The single cosine closest to a 1D signal f [p]: k, amplitude, phase and the fraction of
    the centred variance it explains (f ≈ mean + amp·cos(w_k t + phase))."""
    p = f.shape[0]
    F = basis(p)
    c = F @ f
    power = freq_power(np.abs(c)[None])[0]
    power[0] = 0
    total = power.sum()
    k = int(np.argmax(power))
    a, b = c[cos_row(k)] * np.sqrt(2 / p), c[sin_row(k)] * np.sqrt(2 / p)
    # a cos + b sin = amp cos(wt + phase) with amp = hypot(a, b), phase = atan2(-b, a)
    return {"k": k, "amp": float(np.hypot(a, b)), "phase": float(np.arctan2(-b, a)),
            "mean": float(f.mean()), "fve": float(power[k] / total) if total else 0.0}


def dft_magnitudes(f: np.ndarray) -> np.ndarray:
    """|DFT| of a signal at w = 2πk/p for k = 0..p//2 (what the FourierPeak stem plot shows)."""
    return np.abs(np.fft.rfft(f - f.mean())) / len(f)
