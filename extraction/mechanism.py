"""The mechanism at one checkpoint: key frequencies, neuron clusters, the logit approximation,
and the selections the scenes show (wave neurons, the product pair, the crest, the logit surface).

Pure numpy functions, arrays in and arrays out. Activations are at the last position over all
p*p inputs, x-major (row i = x*p + y); `logits` are the p digit outputs only.
"""
from __future__ import annotations

import numpy as np

from . import fourier as fo

KEY_SHARE = 0.01       # a frequency is key when its sum directions carry >= 1 % of logit variance
FVE_CLUSTER = 0.85     # REFERENCE §3: a neuron belongs to a cluster at FVE >= 0.85


def centred(A: np.ndarray) -> np.ndarray:
    return A - A.mean(axis=0, keepdims=True)


def sum_direction_shares(logits: np.ndarray, p: int) -> np.ndarray:
    """Per k = 0..n_freqs, the share of the centred logits' variance on cos/sin(w_k(x+y))."""
    L = centred(logits)
    U = fo.sum_directions(p, range(1, fo.n_freqs(p) + 1))          # [2n, p*p]
    coef = U @ L                                                    # [2n, c]
    power = (coef ** 2).reshape(-1, 2, L.shape[1]).sum(axis=(1, 2))
    return np.r_[0.0, power / max((L ** 2).sum(), 1e-30)]


def key_frequencies(logits: np.ndarray, p: int, share: float = KEY_SHARE) -> tuple[list[int], np.ndarray]:
    """The declared rule: k is key when cos(w_k(x+y)) and sin(w_k(x+y)) together carry at least
    `share` of the variance of the centred digit logits at the analysis checkpoint. Sorted by share."""
    s = sum_direction_shares(logits, p)
    ks = [int(k) for k in np.argsort(-s) if s[k] >= share]
    return ks, s


def embedding_frequencies(W_E_digits: np.ndarray, rel: float = 0.1) -> tuple[list[int], np.ndarray]:
    """Frequencies whose power in W_E is at least `rel` of the strongest one."""
    power = fo.freq_power(fo.norms_1d(W_E_digits))
    power[0] = 0
    return [int(k) for k in np.argsort(-power) if power[k] >= rel * power.max() and power[k] > 0], power


def neuron_fve(post: np.ndarray, p: int) -> dict:
    """Per neuron: its best frequency k, the FVE there, and the FVE for every k (REFERENCE §3)."""
    A = centred(post).reshape(p, p, -1)
    fve = fo.block_fve(fo.transform_2d(A))
    return {"freq": fve.argmax(axis=1), "fve": fve.max(axis=1), "fve_by_freq": fve}


def clusters(freq: np.ndarray, fve: np.ndarray, keys: list[int], threshold: float = FVE_CLUSTER) -> dict:
    member = fve >= threshold
    return {"n": int(len(fve)), "fve_threshold": threshold, "n_clustered": int(member.sum()),
            "share_clustered": float(member.mean()),
            "clusters": {str(k): int((member & (freq == k)).sum()) for k in keys},
            "clustered_off_key": int((member & ~np.isin(freq, keys)).sum())}


def loss_all(logits: np.ndarray, labels: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def logit_approximation(logits: np.ndarray, p: int, keys: list[int], labels: np.ndarray) -> dict:
    """Fit logit(x, y, c) ≈ mean_c + Σ_k α_k cos(w_k(x + y − c)) by least squares (REFERENCE §4)."""
    if not keys:
        return {"alphas": {}, "explained_variance": 0.0, "loss": None, "model_loss": loss_all(logits, labels)}
    x, y = np.divmod(np.arange(p * p), p)
    c = np.arange(p)
    s = (x + y)[:, None] - c[None, :]
    design = np.stack([np.cos(2 * np.pi * k * s / p).ravel() for k in keys], axis=1)
    L = centred(logits)
    alpha, *_ = np.linalg.lstsq(design, L.ravel(), rcond=None)
    approx = (design @ alpha).reshape(L.shape)
    ev = 1 - ((L - approx) ** 2).sum() / (L ** 2).sum()
    full = approx + logits.mean(axis=0, keepdims=True)
    return {"alphas": {str(k): float(a) for k, a in zip(keys, alpha)}, "explained_variance": float(ev),
            "loss": loss_all(full, labels), "model_loss": loss_all(logits, labels)}


def effective_rank(W: np.ndarray, rel: float = 0.1) -> tuple[int, np.ndarray]:
    sv = np.linalg.svd(W, compute_uv=False)
    return int((sv >= rel * sv[0]).sum()), sv


# ---- selections ------------------------------------------------------------------------------

def wave_neurons(post: np.ndarray, p: int, keys: list[int], n: int = 7, min_fve: float = 0.5) -> dict:
    """Neurons whose x = 0 sweep over y is close to a single cosine of a key frequency, chosen
    to tell the video's story (11:10-14:33): the first two share a frequency with phases about
    a quarter turn apart (their scatter plot is a round loop), the third has another key
    frequency (the second DFT peak), and the rest alternate over the key frequencies, best fit
    first. Evidence: k, FVE, amplitude, phase per neuron."""
    sweeps = post.reshape(p, p, -1)[0]                                  # [y, neuron]
    fits = [fo.dominant_frequency(sweeps[:, i]) for i in range(sweeps.shape[1])]
    amp = np.array([f["amp"] for f in fits])
    if not keys or amp.max() == 0:
        return {"found": False, "reason": "no key frequencies: the model has not learned the mechanism"}
    ok = [i for i, f in enumerate(fits) if f["k"] in keys and f["fve"] >= min_fve and amp[i] >= 0.2 * amp.max()]
    if len(ok) < n:
        return {"found": False, "reason": f"only {len(ok)} neurons sweep as a clean key-frequency wave (need {n})"}
    by_k = {k: sorted((i for i in ok if fits[i]["k"] == k), key=lambda i: -fits[i]["fve"]) for k in keys}
    order = sorted((k for k in keys if by_k[k]), key=lambda k: -len(by_k[k]))
    first = by_k[order[0]][0]
    chosen = [first]
    quarter = lambda i: abs(np.cos(fits[i]["phase"] - fits[first]["phase"]))   # 0 at a quarter turn
    mates = [i for i in by_k[order[0]][1:] if fits[i]["fve"] >= 0.8] or by_k[order[0]][1:]
    if mates:
        chosen.append(min(mates, key=quarter))
    turn = 1
    while len(chosen) < n:                         # alternate over the frequencies, best fit first
        for k in order[turn % len(order):] + order[:turn % len(order)]:
            rest = [i for i in by_k[k] if i not in chosen]
            if rest:
                chosen.append(rest[0])
                break
        turn += 1
    return {"found": True, "neurons": [int(i) for i in chosen], "freqs": [fits[i]["k"] for i in chosen],
            "labels": [fo.freq_label(fits[i]["k"], p) for i in chosen],
            "fve": [fits[i]["fve"] for i in chosen], "amp": [fits[i]["amp"] for i in chosen],
            "phase": [fits[i]["phase"] for i in chosen], "sweeps": sweeps[:, chosen].T}


def product_pair(post: np.ndarray, p: int, keys: list[int], freq: np.ndarray, fve: np.ndarray) -> dict:
    """Two clustered neurons of one key frequency whose strongest product terms are
    cos(wx)cos(wy) and sin(wx)sin(wy). The trig-identity surfaces are those two terms, each at
    unit amplitude, and their difference: cos·cos − sin·sin = cos(w(x+y))."""
    if not keys:
        return {"found": False, "reason": "no key frequencies"}
    Cn = fo.transform_2d(centred(post).reshape(p, p, -1))
    total = (Cn ** 2).sum(axis=(0, 1))
    best = None
    for k in keys:
        c, s = fo.cos_row(k), fo.sin_row(k)
        members = np.flatnonzero((freq == k) & (fve >= FVE_CLUSTER))
        if members.size < 2:
            continue
        prod = np.stack([Cn[c, c], Cn[s, s], Cn[c, s], Cn[s, c]]) ** 2          # [4, neurons]
        frac = prod / np.maximum(total, 1e-30)
        cc = [i for i in members if prod[:, i].argmax() == 0]
        ss = [i for i in members if prod[:, i].argmax() == 1]
        if not cc or not ss:
            continue
        a = max(cc, key=lambda i: frac[0, i])
        b = max(ss, key=lambda i: frac[1, i])
        score = min(frac[0, a], frac[1, b])
        if best is None or score > best[0]:
            best = (score, k, int(a), int(b), float(frac[0, a]), float(frac[1, b]))
    if best is None:
        return {"found": False, "reason": "no key-frequency cluster has both a cos·cos and a sin·sin neuron"}
    _, k, a, b, fa, fb = best
    x = np.arange(p)
    w = 2 * np.pi * k / p
    coscos = np.outer(np.cos(w * x), np.cos(w * x))
    sinsin = np.outer(np.sin(w * x), np.sin(w * x))
    trig_sum = coscos - sinsin
    surfaces = post.reshape(p, p, -1)[:, :, [a, b]].transpose(2, 0, 1)
    return {"found": True, "k": k, "label": fo.freq_label(k, p), "neurons": [a, b],
            "term_fve": [fa, fb],
            "coefs": [float(Cn[fo.cos_row(k), fo.cos_row(k), a] * 2 / p),
                      float(Cn[fo.sin_row(k), fo.sin_row(k), b] * 2 / p)],
            "formulas": [fo.wave_label("cos", k, p) + "·" + fo.wave_label("cos", k, p, "y"),
                         fo.wave_label("sin", k, p) + "·" + fo.wave_label("sin", k, p, "y")],
            "surfaces": surfaces, "coscos": coscos, "sinsin": sinsin, "trig_sum": trig_sum,
            **diagonal_correlations(trig_sum, k)}


def diagonal_correlations(surface: np.ndarray, k: int) -> dict:
    """Best correlation over phase φ of a surface with cos(w(x+y)+φ) and with cos(w(x−y)+φ)."""
    p = surface.shape[0]
    x = np.arange(p)
    X, Y = np.meshgrid(x, x, indexing="ij")
    w = 2 * np.pi * k / p
    S = (surface - surface.mean()).ravel()
    def best(phase_arg):
        basis = np.stack([np.cos(phase_arg).ravel(), np.sin(phase_arg).ravel()])
        basis /= np.linalg.norm(basis, axis=1, keepdims=True)
        return float(np.linalg.norm(basis @ S) / max(np.linalg.norm(S), 1e-30))
    return {"trig_corr_sum": best(w * (X + Y)), "trig_corr_diff": best(w * (X - Y))}


def crest(mlp_out: np.ndarray, p: int, keys: list[int], T: int, W_U_T: np.ndarray,
          min_share: float = 0.5) -> dict:
    """A unit of the MLP output whose surface is a wave in x + y with its crest on x + y ≡ T.
    Rule: among hook_mlp_out dimensions that are mostly (>= `min_share` of variance) on the key
    sum directions and whose mean along each line x + y ≡ s peaks at s = T, the one with the
    sharpest crest: the largest fraction of rows x whose maximum over y lies on the crest (at
    least 0.8; ties broken by share). When no dimension qualifies, the MLP output read along the
    unembedding direction of output T (its contribution to logit T), and the data says so."""
    if not keys:
        return {"found": False, "reason": "no key frequencies"}
    U = fo.sum_directions(p, keys)
    M = centred(mlp_out)                                                   # [p*p, d_model]
    share = ((U @ M) ** 2).sum(axis=0) / np.maximum((M ** 2).sum(axis=0), 1e-30)
    x, y = np.divmod(np.arange(p * p), p)
    s = (x + y) % p
    along = np.stack([np.bincount(s, weights=M[:, d], minlength=p) for d in range(M.shape[1])])
    peaks = along.argmax(axis=1)
    on_line = (T - np.arange(p)) % p
    sharp = np.array([np.mean(M[:, d].reshape(p, p).argmax(axis=1) == on_line) for d in range(M.shape[1])])
    cands = np.flatnonzero((peaks == T) & (share >= min_share) & (sharp >= 0.8))
    if cands.size:
        d = int(cands[np.lexsort((share[cands], sharp[cands]))[-1]])
        direction = np.eye(M.shape[1])[d]
        kind, desc = "dimension", f"hook_mlp_out dimension {d}"
    else:
        direction = W_U_T / np.linalg.norm(W_U_T)
        d = None
        kind = "direction"
        desc = (f"no single hook_mlp_out dimension peaks on x+y ≡ {T}; shown instead: the MLP output "
                f"along the unembedding direction of output {T} (W_U[:, {T}], normalised)")
    surface = (mlp_out @ direction).reshape(p, p)
    sh = float(((U @ (surface.ravel() - surface.mean())) ** 2).sum() / max(((surface - surface.mean()) ** 2).sum(), 1e-30))
    on_crest = float(np.mean(surface.argmax(axis=1) == on_line))          # rows peaking on the crest
    step = max(1, round(20 * p / 113))
    first = [(a, T - a) for a in range(0, T + 1, step)]
    if first[-1][0] != T:
        first.append((T, 0))
    second = [(int(a), T + p - int(a)) for a in np.unique(np.linspace(T + 1, p - 1, 3).round())] if T + 1 <= p - 1 else []
    pts = first + second
    return {"found": True, "T": T, "kind": kind, "dimension": d, "description": desc,
            "sum_share": sh, "ridge_on_crest": on_crest,
            "points": [[int(a), int(b)] for a, b in pts],
            "point_values": [float(surface[a, b]) for a, b in pts],
            "surface_max": float(surface.max()), "surface_mean": float(surface.mean()),
            "surface": surface, "direction": direction}


def logit_surface(logits: np.ndarray, p: int, output: int) -> dict:
    """The logit of one output over (x, y); its maxima lie on x + y ≡ output when the model works."""
    surface = logits[:, output].reshape(p, p)
    x, y = np.divmod(np.arange(p * p), p)
    top = np.argsort(-surface.ravel())[:p]
    on_line = float(np.mean((x[top] + y[top]) % p == output))
    marks = [(output, 0), (0, output), (output // 2, output - output // 2)]
    marks = list(dict.fromkeys((a % p, b % p) for a, b in marks))
    rank = {tuple(m): int(np.flatnonzero(np.argsort(-surface.ravel()) == m[0] * p + m[1])[0]) for m in marks}
    return {"found": True, "output": output, "maxima": [list(m) for m in marks],
            "maxima_rank": [rank[tuple(m)] for m in marks], "on_line_fraction": on_line,
            "surface": surface}
