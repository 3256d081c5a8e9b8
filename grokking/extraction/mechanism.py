"""The mechanism at one checkpoint: key frequencies, neuron clusters, the logit approximation,
and the selections the scenes show (wave neurons, the product pair, the crest, the logit surface).

Pure numpy functions, arrays in and arrays out. Activations are at the last position over all
p*p inputs, x-major (row i = x*p + y); `logits` are the p digit outputs only.
"""
from __future__ import annotations

import itertools

import numpy as np

from . import fourier as fo

KEY_SHARE = 0.01       # a frequency is key when its sum directions carry >= 1 % of logit variance
FVE_CLUSTER = 0.85     # docs/science.md §3: a neuron belongs to a cluster at FVE >= 0.85


def centred(A: np.ndarray) -> np.ndarray:
    return A - A.mean(axis=0, keepdims=True)


def sum_direction_shares(logits: np.ndarray, p: int) -> np.ndarray:
    """Per k = 0..p//2 (fo.frequencies: the Nyquist of an even p too), the share of the centred
    logits' variance on cos/sin(w_k(x+y))."""
    L = centred(logits)
    U = fo.sum_directions(p, fo.frequencies(p))                     # [2n, p*p]
    coef = U @ L                                                    # [2n, c]
    power = (coef ** 2).reshape(-1, 2, L.shape[1]).sum(axis=(1, 2))
    return np.r_[0.0, power / max((L ** 2).sum(), 1e-30)]


def key_frequencies(logits: np.ndarray, p: int, share: float = KEY_SHARE) -> tuple[list[int], np.ndarray]:
    """The declared rule: k is key when cos(w_k(x+y)) and sin(w_k(x+y)) together carry at least
    `share` of the variance of the centred digit logits at the analysis checkpoint. Sorted by share."""
    s = sum_direction_shares(logits, p)
    ks = [int(k) for k in np.argsort(-s) if s[k] >= share]
    return ks, s


def pair_directions(sums: np.ndarray, p: int, ks) -> np.ndarray:
    """cos(w_k s) and sin(w_k s) over rows whose sums s = u + v are not a p×p grid (pow with a
    colliding exponent), centred and made orthonormal jointly: [2K, rows]. On a grid they are
    fo.sum_directions up to sign."""
    s = np.asarray(sums, float)
    V = np.stack([f(2 * np.pi * k * s / p) for k in ks for f in (np.cos, np.sin)], axis=1)
    Q, R = np.linalg.qr(V - V.mean(0))
    keep = np.abs(np.diag(R)) > 1e-9 * max(np.abs(np.diag(R)).max(), 1e-30)
    return (Q * np.sign(np.where(np.diag(R) == 0, 1, np.diag(R))))[:, keep].T


def pair_key_frequencies(logits: np.ndarray, sums: np.ndarray, p: int,
                         share: float = KEY_SHARE) -> tuple[list[int], np.ndarray]:
    """key_frequencies' rule over rows that are no grid: each k's share of the centred logits'
    variance in the span of cos/sin(w_k s) over those rows."""
    L = centred(logits)
    total = max((L ** 2).sum(), 1e-30)
    s = np.r_[0.0, [((pair_directions(sums, p, [k]) @ L) ** 2).sum() / total for k in fo.frequencies(p)]]
    return [int(k) for k in np.argsort(-s) if s[k] >= share], s


def pair_neuron_fve(post: np.ndarray, u: np.ndarray, v: np.ndarray, p: int) -> dict:
    """neuron_fve over rows that are no grid: per neuron and k, the share of its centred variance
    that the nine terms {1, cos w_k u, sin w_k u} × {1, cos w_k v, sin w_k v} explain by least squares
    (on a grid, block_fve's block)."""
    A = centred(post)
    total = np.maximum((A ** 2).sum(0), 1e-30)
    fve = np.zeros((A.shape[1], p // 2 + 1))       # block_fve's columns: k = 0 .. p // 2
    for k in fo.frequencies(p):
        w = 2 * np.pi * k / p
        fu = [np.ones_like(u, float), np.cos(w * u), np.sin(w * u)]
        fv = [np.ones_like(v, float), np.cos(w * v), np.sin(w * v)]
        D = np.stack([a * b for a in fu for b in fv], axis=1)
        coef, *_ = np.linalg.lstsq(D, A, rcond=None)
        fve[:, k] = 1 - ((A - D @ coef) ** 2).sum(0) / total
    return {"freq": fve.argmax(axis=1), "fve": fve.max(axis=1), "fve_by_freq": fve}


def embedding_frequencies(W_E_digits: np.ndarray, rel: float = 0.1) -> tuple[list[int], np.ndarray]:
    """Frequencies whose power in W_E is at least `rel` of the strongest one."""
    power = fo.freq_power(fo.norms_1d(W_E_digits))
    power[0] = 0
    return [int(k) for k in np.argsort(-power) if power[k] >= rel * power.max() and power[k] > 0], power


def neuron_fve(post: np.ndarray, p: int) -> dict:
    """Per neuron: its best frequency k, the FVE there, and the FVE for every k (docs/science.md §3)."""
    A = centred(post).reshape(p, p, -1)
    fve = fo.block_fve(fo.transform_2d(A))
    return {"freq": fve.argmax(axis=1), "fve": fve.max(axis=1), "fve_by_freq": fve}


def clusters(freq: np.ndarray, fve: np.ndarray, keys: list[int], threshold: float = FVE_CLUSTER) -> dict:
    member = fve >= threshold
    return {"n": int(len(fve)), "fve_threshold": threshold, "n_clustered": int(member.sum()),
            "share_clustered": float(member.mean()),
            "clusters": {str(k): int((member & (freq == k)).sum()) for k in keys},
            "clustered_off_key": int((member & ~np.isin(freq, keys)).sum())}


def loss_all(logits: np.ndarray, labels: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Mean cross-entropy over the rows `valid` marks (None: every row; op div's y = 0 are not examples)."""
    if valid is not None:
        logits, labels = logits[valid], labels[valid]
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def logit_approximation(logits: np.ndarray, p: int, keys: list[int], labels: np.ndarray,
                        valid: np.ndarray | None = None, sums: np.ndarray | None = None) -> dict:
    """Fit logit(x, y, c) ≈ mean_c + Σ_k α_k cos(w_k(x + y − c)) by least squares (docs/science.md §4).
    `approx` [p*p, c] is the fitted logits themselves (an array: extraction keeps it out of the JSON).
    Losses are over the task's pairs (`valid`, tasks.valid; None: all p*p). `sums`: each row's
    x + y in the op's coordinates (extraction/coords.py; None: the p×p grid's, x-major), for
    rows that are no grid (pow with a colliding exponent)."""
    if not keys:
        return {"alphas": {}, "explained_variance": 0.0, "loss": None, "model_loss": loss_all(logits, labels, valid),
                "approx": np.broadcast_to(logits.mean(axis=0, keepdims=True), logits.shape).copy()}
    grid = sums is None
    if grid:
        x, y = np.divmod(np.arange(p * p), p)
        sums = x + y
    c = np.arange(p)
    s = np.asarray(sums)[:, None] - c[None, :]
    waves = [np.cos(2 * np.pi * k * s / p) for k in keys]
    if not grid:     # over pairs that are no grid a wave's mean over the rows is not 0: centre it as L
        waves = [centred(w) for w in waves]
    design = np.stack([w.ravel() for w in waves], axis=1)
    L = centred(logits)
    alpha, *_ = np.linalg.lstsq(design, L.ravel(), rcond=None)
    approx = (design @ alpha).reshape(L.shape)
    ev = 1 - ((L - approx) ** 2).sum() / (L ** 2).sum()
    full = approx + logits.mean(axis=0, keepdims=True)
    return {"alphas": {str(k): float(a) for k, a in zip(keys, alpha)}, "explained_variance": float(ev),
            "loss": loss_all(full, labels, valid), "model_loss": loss_all(logits, labels, valid), "approx": full}


def effective_rank(W: np.ndarray, rel: float = 0.1) -> tuple[int, np.ndarray]:
    sv = np.linalg.svd(W, compute_uv=False)
    return int((sv >= rel * sv[0]).sum()), sv


# ---- selections ------------------------------------------------------------------------------

def periods(k: int, p: int) -> int:
    """How many periods a wave of frequency index k makes over x = 0 .. p-1. Frequencies k and p-k
    are the same wave at the integers (cos(2π(p-k)x/p) = cos(2πkx/p), the sine flips sign), so it
    is min(k mod p, -k mod p); fourier.py indexes k = 1 .. (p-1)//2, where that is k itself."""
    return int(min(k % p, -k % p))


# Legibility (docs/science.md §6, §8): a wave of k periods over 0 .. p-1 has p/k samples per period.
STORY_MIN_SAMPLES = 11    # the story frequency: k <= 10 at p = 113
WAVE_MIN_SAMPLES = 8      # every wave neuron shown (NeuronWaves, NeuronLoops, FourierPeak): k <= 14
WAVE_MIN_R2 = 0.8         # a fitted cosine is drawn over a neuron's dots only when it explains this much


def samples_per_period(k: int, p: int) -> float:
    return p / max(periods(k, p), 1)


def harmonics(keys: list[int], cluster_sizes: dict, p: int, orders=(2, 3, 4)) -> dict[int, int]:
    """Key frequencies that are harmonics, k -> its base: k ≡ ±m·base (mod p) for another key
    frequency base and m in `orders`, and no neuron has k as its own frequency (cluster size 0)
    while base's cluster has some. A ReLU of a cosine of base has power at 2·base, 3·base, ...;
    such a k enters the logits through base's neurons and is not a frequency of its own.
    `cluster_sizes`: clusters()'s {"k": size}."""
    size = lambda k: cluster_sizes.get(str(k), 0)
    out = {}
    for k in keys:
        if size(k):
            continue
        for base in sorted(keys, key=lambda b: periods(b, p)):
            if base != k and size(base) and any(periods(m * base, p) == periods(k, p) for m in orders):
                out[int(k)] = int(base)
                break
    return out


def story_order(keys: list[int], p: int, story_k: int | None = None) -> list[int]:
    """The key frequencies in the order the story prefers them: the story frequency first (the
    one a setting names, else the lowest), then the others, fewest periods first."""
    rest = sorted((k for k in keys if k != story_k), key=lambda k: (periods(k, p), k))
    return ([story_k] if story_k in keys else []) + rest


def story_frequency(keys: list[int], p: int, named: int | None = None, shares=None) -> dict:
    """The one frequency the story shows wherever it shows one (the first wave pair and the
    FourierPeak neuron, the embedding probe, the clock, the product pair and TrigIdentity).

    Rule: the key frequency with the fewest periods over 0 .. p-1 (`periods`): a wave of k
    periods has p/k samples per period, so the lowest key frequency draws as the smoothest wave.
    A setting (`named`, extraction's --story-k) may name another key frequency instead; it is
    folded to min(k, p-k) first. Evidence: every key frequency with its periods, samples per
    period and share of the logit variance (`shares`, indexed by k)."""
    if not keys:
        return {"k": None, "reason": "no key frequencies", "named": named}
    cands = [{"k": int(k), "label": fo.freq_label(k, p), "periods": periods(k, p),
              "samples_per_period": round(p / periods(k, p), 2),
              **({"share": float(shares[k])} if shares is not None else {})}
             for k in story_order(keys, p)]
    if named is not None:
        k = periods(named, p)
        if k not in keys:
            raise ValueError(f"frequency {named} is not a key frequency (key frequencies: "
                             f"{', '.join(str(c['k']) for c in cands)})")
        rule = f"named by the setting story_k = {named}"
    else:
        k = cands[0]["k"]
        rule = (f"the lowest key frequency (fewest periods over 0 … {p - 1}: "
                f"{periods(k, p)} periods, {p / periods(k, p):.1f} samples per period)")
    return {"k": int(k), "label": fo.freq_label(k, p), "named": named, "rule": rule,
            "order": story_order(keys, p, k), "candidates": cands}


def left_out_entry(k: int, p: int, harmonic_of: int | None) -> dict:
    """A key frequency the wave scenes leave out: `why`, the reason with its own number; `brief`,
    the same reason for any frequency (a scene names several left out with one)."""
    if harmonic_of is not None:
        why = brief = f"a harmonic of {fo.freq_label(harmonic_of, p)}"
    else:
        why = f"{samples_per_period(k, p):.1f} samples per period (< {WAVE_MIN_SAMPLES}): draws as scattered dots"
        brief = f"fewer than {WAVE_MIN_SAMPLES} samples per period: scattered dots"
    return {"k": int(k), "label": fo.freq_label(k, p), "why": why, "brief": brief}


def wave_neurons(post: np.ndarray, p: int, keys: list[int], n: int = 7, min_fve: float = 0.5,
                 story_k: int | None = None, neuron_freq: np.ndarray | None = None,
                 harmonic_of: dict | None = None) -> dict:
    """Neurons whose x = 0 sweep over y is close to a single cosine of a key frequency, chosen
    to tell the video's story (11:10-14:33), the most legible wave first.

    Candidates: neurons whose sweep's dominant frequency is a key frequency, whose cosine there
    explains >= `min_fve` of the sweep's variance, with amplitude >= 0.2 of the largest.
    Frequencies are taken in story order (`story_order`: the story frequency, by default the
    lowest key frequency, then the others fewest periods first). The first two neurons share the
    first frequency in that order with two candidates (the story frequency whenever it has two):
    the best fit, then, among its mates with FVE >= 0.8, the one whose phase is closest to a
    quarter turn away (their scatter plot is a round loop). The third has the next frequency in
    story order (FourierPeak's second DFT peak); the rest go round the frequencies in that order,
    the first of a frequency its best fit, each later one the clean fit (FVE >= 0.8 where there are
    such) whose phase is farthest from its frequency's chosen neurons (largest smallest |sin| of
    the phase difference), so no two same-frequency neurons sweep in step: in NeuronLoops two
    neurons in step draw a line, a quarter turn apart a round loop. Evidence: k, FVE, amplitude,
    phase per neuron; candidates per frequency.

    Legibility: only key frequencies with >= WAVE_MIN_SAMPLES samples per period are shown; the
    others are named in `left_out` with the reason (the scenes say so on screen). A harmonic of
    another key frequency (`harmonic_of`, k -> base) is never shown as a frequency of its own, and a
    neuron is a candidate only when its sweep's frequency is its own (`neuron_freq`, the 2D
    frequency of docs/science.md §3): a clipped k wave whose sweep happens to peak at 2k is not a 2k wave."""
    sweeps = post.reshape(p, p, -1)[0]                                  # [y, neuron]
    fits = [fo.dominant_frequency(sweeps[:, i]) for i in range(sweeps.shape[1])]
    amp = np.array([f["amp"] for f in fits])
    if not keys or amp.max() == 0:
        return {"found": False, "reason": "no key frequencies: the model has not learned the mechanism"}
    harmonic_of = harmonic_of or {}
    left_out = [left_out_entry(k, p, harmonic_of.get(k)) for k in story_order(keys, p)
                if k in harmonic_of or samples_per_period(k, p) < WAVE_MIN_SAMPLES]
    own = [k for k in keys if k not in harmonic_of]

    def candidates(ks):
        return [i for i, f in enumerate(fits) if f["k"] in ks and f["fve"] >= min_fve and amp[i] >= 0.2 * amp.max()
                and (neuron_freq is None or int(neuron_freq[i]) == f["k"])]
    shown = [k for k in own if samples_per_period(k, p) >= WAVE_MIN_SAMPLES]
    ok, legible = candidates(shown), True
    if len(ok) < n:            # too few legible waves: show every key frequency's, and say so
        ok, legible = candidates(own), False
        left_out = [e for e in left_out if e["k"] in harmonic_of]
    if len(ok) < n:
        return {"found": False, "left_out": left_out,
                "reason": f"only {len(ok)} neurons sweep as a clean key-frequency wave (need {n})"}
    keys = shown if legible else own
    by_k = {k: sorted((i for i in ok if fits[i]["k"] == k), key=lambda i: -fits[i]["fve"]) for k in keys}
    story = story_order(keys, p, story_k)
    order = [k for k in story if by_k[k]]
    pair_k = next((k for k in order if len(by_k[k]) >= 2), order[0])
    order = [pair_k] + [k for k in order if k != pair_k]
    first = by_k[pair_k][0]
    chosen = [first]
    quarter = lambda i: abs(np.cos(fits[i]["phase"] - fits[first]["phase"]))   # 0 at a quarter turn
    mates = [i for i in by_k[pair_k][1:] if fits[i]["fve"] >= 0.8] or by_k[pair_k][1:]
    if mates:
        chosen.append(min(mates, key=quarter))
    turn = 1
    while len(chosen) < n:                         # go round the frequencies
        for k in order[turn % len(order):] + order[:turn % len(order)]:
            rest = [i for i in by_k[k] if i not in chosen]
            if rest:
                chosen.append(_spread(rest, [i for i in chosen if fits[i]["k"] == k], fits))
                break
        turn += 1
    return {"found": True, "neurons": [int(i) for i in chosen], "freqs": [fits[i]["k"] for i in chosen],
            "labels": [fo.freq_label(fits[i]["k"], p) for i in chosen],
            "fve": [fits[i]["fve"] for i in chosen], "amp": [fits[i]["amp"] for i in chosen],
            "phase": [fits[i]["phase"] for i in chosen], "sweeps": sweeps[:, chosen].T,
            "story_k": story[0], "pair_k": int(pair_k),
            "candidates_by_freq": {str(k): len(by_k[k]) for k in story},
            "left_out": left_out, "fit_threshold": WAVE_MIN_R2, "legible": legible,
            **({} if legible else {"fallback": f"fewer than {n} clean waves of frequencies with >= "
                                               f"{WAVE_MIN_SAMPLES} samples per period: every key frequency shown"}),
            "rule": "first pair: the story frequency (the lowest key frequency unless a setting names "
                    "another), best fit and its quarter-turn mate; then round the key frequencies, "
                    "fewest periods first: a frequency's first neuron its best fit, each later one the "
                    "clean fit whose phase is farthest from those already chosen"
                    + ("" if pair_k == story[0] else
                       f"; the story frequency k={story[0]} has fewer than two clean sweeps, so the pair "
                       f"is k={pair_k}")}


def _spread(rest: list[int], same_k: list[int], fits: list[dict]) -> int:
    """The next neuron of one frequency: its best fit (rest is sorted best first) when none is
    chosen yet, else the clean fit whose phase is farthest from the chosen ones'."""
    if not same_k:
        return rest[0]
    clean = [i for i in rest if fits[i]["fve"] >= 0.8] or rest
    apart = lambda i: min(abs(np.sin(fits[i]["phase"] - fits[j]["phase"])) for j in same_k)
    return max(clean, key=lambda i: (round(apart(i), 6), fits[i]["fve"]))


PAIR_MIN_JOINT = 0.5      # the product term carries most (>= half) of what the neuron does with x and y together
PAIR_MIN_VOTE = 0.25      # a neuron votes when |its product term's vote| >= 1/4 of the candidates' largest


def joint_variance(post: np.ndarray, p: int) -> np.ndarray:
    """Per neuron [n]: the variance of its surface over (x, y) left after its parts in x alone and in y
    alone (the row and column means) are taken out: what it does with x and y together, the only
    part that can make a wave in x + y. Summed over the grid, like fo.transform_2d's squares."""
    Z = post.reshape(p, p, -1)
    Z = Z - Z.mean(axis=(0, 1))
    inter = Z - Z.mean(axis=1, keepdims=True) - Z.mean(axis=0, keepdims=True)
    return (inter ** 2).sum(axis=(0, 1))


def pair_sum_share(a: float, b: float) -> float:
    """a·cos(wx)cos(wy) + b·sin(wx)sin(wy) = (a − b)/2·cos(w(x + y)) + (a + b)/2·cos(w(x − y)): the
    share of its variance on the wave in x + y (1 when b = −a, the identity's weights)."""
    s, d = (a - b) ** 2, (a + b) ** 2
    return float(s / (s + d)) if s + d > 0 else 0.0


def product_pair(post: np.ndarray, p: int, keys: list[int], freq: np.ndarray, fve: np.ndarray,
                 story_k: int | None = None, W_out: np.ndarray | None = None,
                 vote: np.ndarray | None = None, T: int | None = None) -> dict:
    """Two clustered neurons of one key frequency that carry the trig identity
    cos(wx)cos(wy) − sin(wx)sin(wy) = cos(w(x + y)) into the model's vote for T.

    Each neuron i of a key frequency's cluster (FVE >= 0.85) is read from its 2D Fourier transform:
    its product coefficient c_i (the amplitude of cos(wx)cos(wy), or of sin(wx)sin(wy)), that term's
    share of its variance (term_fve) and of its joint variance (`joint_variance`: what is left after
    its parts in x alone and y alone; term_joint). Its measured weight is m_i = W_out[i] · vote (vote:
    the unit direction of the residual stream that votes for T, W_U[:, T] normalised), and its
    product term's measured vote c_i·m_i: what that term adds along the vote for T.

    Rule: the key frequencies in story order (`story_order`); at each, the cos·cos candidates are the
    cluster's neurons whose strongest of the four products cos·cos, sin·sin, cos·sin, sin·cos is
    cos·cos and carries at least half their joint variance (PAIR_MIN_JOINT); the sin·sin candidates
    likewise; a candidate votes when |c_i m_i| is at least 1/4 of the largest among the
    candidates (PAIR_MIN_VOTE: a nearly silent neuron never does). The pair: a voting cos·cos and a
    voting sin·sin candidate whose votes have opposite signs, the purest (the larger the smaller of
    their joint shares; ties: the stronger the weaker vote). The first frequency with such a pair gives it (qualifies). When none has one (or
    W_out / vote are not given), the fallback is the first frequency whose cluster has a cos·cos and
    a sin·sin neuron, of each the one whose term carries most of its variance: `qualifies` False and
    `fallback` says why. Evidence: for every frequency tried, its candidates and its pair's numbers."""
    if not keys:
        return {"found": False, "reason": "no key frequencies"}
    Cn = fo.transform_2d(centred(post).reshape(p, p, -1))
    total = (Cn ** 2).sum(axis=(0, 1))
    joint = joint_variance(post, p)
    measured = W_out is not None and vote is not None and np.linalg.norm(vote) > 0
    m = W_out @ (vote / np.linalg.norm(vote)) if measured else np.full(post.shape[1], np.nan)
    order = [k for k in story_order(keys, p, story_k) if not fo.is_nyquist(k, p)]    # (−1)^(x+y): no pair
    chosen, first, tried = None, None, []
    for k in order:
        c, s = fo.cos_row(k), fo.sin_row(k)
        members = np.flatnonzero((freq == k) & (fve >= FVE_CLUSTER))
        prod = np.stack([Cn[c, c], Cn[s, s], Cn[c, s], Cn[s, c]]) ** 2          # [4, neurons]
        frac = prod / np.maximum(total, 1e-30)
        jfrac = prod / np.maximum(joint, 1e-30)
        coef = np.stack([Cn[c, c], Cn[s, s]]) * 2 / p                            # [2, neurons]
        votes = coef * m
        cc = [int(i) for i in members if prod[:, i].argmax() == 0]
        ss = [int(i) for i in members if prod[:, i].argmax() == 1]
        entry = {"k": int(k), "cluster": int(members.size), "coscos_neurons": len(cc), "sinsin_neurons": len(ss)}
        tried.append(entry)
        if cc and ss and first is None:
            first = (k, max(cc, key=lambda i: frac[0, i]), max(ss, key=lambda i: frac[1, i]), frac, jfrac, coef, votes)
        if not measured:
            if first is not None:
                break
            continue
        cc_q = [i for i in cc if jfrac[0, i] >= PAIR_MIN_JOINT]
        ss_q = [i for i in ss if jfrac[1, i] >= PAIR_MIN_JOINT]
        loud = max([abs(votes[0, i]) for i in cc_q] + [abs(votes[1, i]) for i in ss_q] + [0.0])
        cc_v = [i for i in cc_q if abs(votes[0, i]) >= PAIR_MIN_VOTE * loud > 0]
        ss_v = [i for i in ss_q if abs(votes[1, i]) >= PAIR_MIN_VOTE * loud > 0]
        entry.update({"coscos_candidates": len(cc_q), "sinsin_candidates": len(ss_q),
                      "coscos_voting": len(cc_v), "sinsin_voting": len(ss_v)})
        pairs = [(a, b) for a in cc_v for b in ss_v if np.sign(votes[0, a]) != np.sign(votes[1, b])]
        if pairs:
            a, b = max(pairs, key=lambda q: (round(min(jfrac[0, q[0]], jfrac[1, q[1]]), 9),
                                             min(abs(votes[0, q[0]]), abs(votes[1, q[1]]))))
            chosen = (k, a, b, frac, jfrac, coef, votes)
            entry["pair"] = [a, b]
            break
    if chosen is None and first is None:
        return {"found": False, "reason": "no key-frequency cluster has both a cos·cos and a sin·sin neuron",
                "tried": tried}
    qualifies = chosen is not None
    k, a, b, frac, jfrac, coef, votes = chosen or first
    if qualifies:
        fallback = None
    elif not measured:
        fallback = "no weights given: the pair is chosen by its terms' shares only, its votes not measured"
    else:
        fallback = ("no key frequency has a cos·cos and a sin·sin neuron whose product terms carry most of "
                    "their joint variance and whose votes for T have opposite signs; shown: the neurons "
                    "whose terms carry most of their variance")
    story = order[0]
    x = np.arange(p)
    w = 2 * np.pi * k / p
    coscos = np.outer(np.cos(w * x), np.cos(w * x))
    sinsin = np.outer(np.sin(w * x), np.sin(w * x))
    trig_sum = coscos - sinsin
    surfaces = post.reshape(p, p, -1)[:, :, [a, b]].transpose(2, 0, 1)
    out = {"found": True, "qualifies": qualifies, "k": k, "label": fo.freq_label(k, p), "neurons": [a, b],
           "term_fve": [float(frac[0, a]), float(frac[1, b])],
           "term_joint": [float(jfrac[0, a]), float(jfrac[1, b])],
           "coefs": [float(coef[0, a]), float(coef[1, b])],
           "formulas": fo.product_formulas(k, p),
           "surfaces": surfaces, "coscos": coscos, "sinsin": sinsin, "trig_sum": trig_sum,
           "story_k": story, "tried": tried,
           "rule": "the first key frequency in story order with a cos·cos and a sin·sin neuron of its cluster "
                   "whose product terms carry at least half their joint variance (after their parts in x "
                   "alone and y alone) and whose product terms' measured votes for T (coefficient × "
                   "W_out row · W_U[:, T] normalised) have opposite signs, neither under 1/4 of the "
                   "loudest; of those, the purest pair (the larger the smaller of their joint shares)",
           **diagonal_correlations(trig_sum, k)}
    if fallback:
        out["fallback"] = fallback
    if measured:
        va, vb = float(votes[0, a]), float(votes[1, b])
        out.update({"T": None if T is None else int(T), "weights": [float(m[a]), float(m[b])],
                    "votes": [va, vb], "sum_share": pair_sum_share(va, vb)})
    return out


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


CREST_PROMINENCE = 0.2    # every other crest stays at or below 1 − 0.2 = 4/5 of the height of the crest on T
CREST_MIN_SHARE = 0.5     # the surface is mostly (>= half its variance) the key frequencies' x + y waves
CREST_MIN_ROWS = 0.9      # >= 90 % of its rows x peak within its crest on T
CREST_MAX_SUBSET = 8      # directions from every subset of the (at most 8) lowest key frequencies
CREST_FREQ_SHARE = 0.05   # a frequency "makes" the crest when it carries >= 5 % of its profile's power


def line_profile(surface: np.ndarray) -> np.ndarray:
    """g(s), s = 0 .. p-1: the mean of a p x p surface along the line x + y ≡ s (mod p), minus the
    surface's mean. The part of the surface a viewer reads as diagonal stripes."""
    p = surface.shape[0]
    x, y = np.divmod(np.arange(p * p), p)
    g = np.bincount((x + y) % p, weights=surface.ravel(), minlength=p) / p
    return g - g.mean()


def crest_measures(surface: np.ndarray, T: int, U: np.ndarray) -> dict:
    """How a surface reads as a crest on x + y ≡ T, from its line profile g (`line_profile`):

    - peak: argmax_s g(s); the surface peaks on T when it is T and g(T) > 0.
    - width: the crest on T, the contiguous run of sums s around T where g(s) >= g(T)/2 (its full
      width at half height, in sums).
    - prominence: 1 − max(g outside that run) / g(T): how far every other crest stays below the
      crest on T (1: none rises above half its height; 0: another is as high).
    - k_rms: the power-weighted root-mean-square frequency of g, sqrt(Σ k² P_k / Σ P_k) with P_k
      the power of g at frequency k (periods over 0 .. p−1). The breadth measure: a profile of rms
      frequency k has crests about p/(2k) sums wide and ripples about k times across 0 .. p−1;
      fine stripes anywhere (a moiré) raise it quadratically. Lower is broader.
    - frequencies: the k carrying >= 5 % of g's power, strongest first, with their shares.
    - sum_share: the share of the centred surface's variance on the key sum directions U.
    - rows_in_crest: the fraction of rows x whose maximum over y lies within the crest on T
      (x + y mod p in the run above; for a crest one sum wide, on y ≡ T − x).
    - ridge_on_crest: the fraction of rows x whose maximum over y lies exactly on y ≡ T − x."""
    p = surface.shape[0]
    g = line_profile(surface)
    h = g[T]
    band = [T]
    if h > 0:
        for step in (1, -1):
            s = (T + step) % p
            while g[s] >= h / 2 and s not in band:
                band.append(s)
                s = (s + step) % p
    outside = np.delete(g, band)
    prominence = (1.0 - outside.max() / h if outside.size else 1.0) if h > 0 else 0.0
    P = np.abs(np.fft.rfft(g))[1:] ** 2                     # k = 1 .. p//2
    ks = np.arange(1, P.size + 1)
    tot = P.sum()
    k_rms = float(np.sqrt((ks ** 2 * P).sum() / tot)) if tot > 0 else float("inf")
    order = np.argsort(-P)
    freqs = [(int(ks[i]), float(P[i] / tot)) for i in order if tot > 0 and P[i] >= CREST_FREQ_SHARE * tot]
    Sc = surface - surface.mean()
    var = max((Sc ** 2).sum(), 1e-30)
    on_line = (T - np.arange(p)) % p
    row_max = surface.argmax(axis=1)
    return {"peak": int(np.argmax(g)), "width": len(band), "prominence": float(prominence),
            "k_rms": k_rms, "frequencies": [k for k, _ in freqs],
            "frequency_shares": [round(s, 4) for _, s in freqs],
            "sum_share": float(((U @ Sc.ravel()) ** 2).sum() / var),
            "rows_in_crest": float(np.isin((np.arange(p) + row_max) % p, band).mean()),
            "ridge_on_crest": float(np.mean(row_max == on_line))}


def unembed_direction(W_U: np.ndarray, p: int, T: int, ks) -> np.ndarray:
    """The part of the unembedding of output T [d_model] carried by frequencies ks: the columns
    W_U[:, c] (c the digit outputs) expanded in the Fourier basis over c, kept at the cos and sin
    rows of ks only, and read at c = T. Dotting the MLP output with it gives what those frequencies
    of the MLP output add to logit T (about Σ_k α_k cos(w_k(x + y − T)))."""
    F = fo.basis(p)
    rows = [r for k in ks for r in fo.rows_of(k, p)]
    return (W_U[:, :p] @ F[rows].T) @ F[rows, T]


def crest(mlp_out: np.ndarray, p: int, keys: list[int], T: int, W_U: np.ndarray, answer: int | None = None) -> dict:
    """The surface the Crest scene shows: the MLP output, over (x, y), along one direction whose
    crest lies on x + y ≡ T, chosen to be as broad as possible while still peaking on T.

    Candidates: every hook_mlp_out dimension; and, for every non-empty subset S of the key
    frequencies (of the 8 lowest, when there are more), the direction `unembed_direction`(S): the
    part of the unembedding of output T that reads frequencies S, normalised; and the whole
    unembedding column W_U[:, T], normalised. Each is measured by `crest_measures`.
    Rule: a candidate qualifies when it still peaks on T: its line profile peaks on T, every other
    crest stays at or below 4/5 of the crest on T (prominence >= 0.2) and at least 90 % of its rows
    x peak within the crest on T (rows_in_crest >= 0.9: a broad crest's rows may peak a few sums
    off the line, as long as they peak on that crest); and when at least half its variance lies
    on the key frequencies' x + y waves (sum_share >= 0.5). The broadest qualifying candidate is chosen: the
    lowest k_rms (ties: a dimension, then a subset's direction, then the whole column, then the
    higher prominence). When none qualifies, the candidate peaking on T with the highest
    prominence, and the data says so.
    Evidence: how many candidates of each kind were considered, peaked on T and qualified; the
    best qualifying ones with their measures; the broader ones that failed, and why. `answer`: the
    output token T stands for in the descriptions (mul and div: T is its discrete log; None: T)."""
    if not keys:
        return {"found": False, "reason": "no key frequencies"}
    out = T if answer is None else answer
    U = fo.sum_directions(p, keys)
    d_model = mlp_out.shape[1]
    cands = [{"kind": "dimension", "dimension": d, "direction": np.eye(d_model)[d]} for d in range(d_model)]
    low = story_order(keys, p)[:CREST_MAX_SUBSET]
    subsets = [list(S) for r in range(1, len(low) + 1) for S in itertools.combinations(low, r)]
    if len(low) < len(keys):
        subsets.append(sorted(keys))
    for S in subsets:
        v = unembed_direction(W_U, p, T, S)
        if np.linalg.norm(v) > 0:
            cands.append({"kind": "direction", "keys": [int(k) for k in S], "direction": v / np.linalg.norm(v)})
    if np.linalg.norm(W_U[:, T]) > 0:
        cands.append({"kind": "direction", "keys": "all", "direction": W_U[:, T] / np.linalg.norm(W_U[:, T])})
    surfaces = mlp_out @ np.stack([c["direction"] for c in cands], axis=1)            # [p*p, n]
    for i, c in enumerate(cands):
        c.update(crest_measures(surfaces[:, i].reshape(p, p), T, U))
        c["why_not"] = ("peaks on s = %d, not %d" % (c["peak"], T) if c["peak"] != T else
                        "another crest reaches %.0f%% of its height" % (100 * (1 - c["prominence"]))
                        if c["prominence"] < CREST_PROMINENCE else
                        "only %.0f%% of its rows peak within the crest" % (100 * c["rows_in_crest"])
                        if c["rows_in_crest"] < CREST_MIN_ROWS else
                        "only %.0f%% of its variance on the key x + y waves" % (100 * c["sum_share"])
                        if c["sum_share"] < CREST_MIN_SHARE else None)
    rank = lambda c: (round(c["k_rms"], 6), c["kind"] != "dimension", c.get("keys") == "all", -c["prominence"])
    good = sorted((c for c in cands if c["why_not"] is None), key=rank)
    peaking = [c for c in cands if c["peak"] == T]
    if good:
        best, how = good[0], "the broadest qualifying candidate"
    elif peaking:
        best = max(peaking, key=lambda c: c["prominence"])
        how = ("no candidate qualifies; shown: the one peaking on T whose other crests stay lowest "
               f"({best['why_not']})")
    else:
        return {"found": False, "reason": f"no hook_mlp_out dimension or unembedding direction peaks on x+y ≡ {T}"}
    labels = [fo.freq_label(k, p) for k in best["frequencies"]]
    if best["kind"] == "dimension":
        d, desc = best["dimension"], f"hook_mlp_out dimension {best['dimension']}"
    else:
        d = None
        if best["keys"] == "all":
            desc = f"the MLP output along the direction that votes for {out} (the unembedding of output {out})"
        else:
            desc = (f"the MLP output along the unembedding of output {out} restricted to w = "
                    f"{', '.join(fo.freq_label(k, p) for k in best['keys'])} (what they add to logit {out})")
    direction = best["direction"]
    surface = (mlp_out @ direction).reshape(p, p)
    on_line = (T - np.arange(p)) % p
    step = max(1, round(20 * p / 113))
    first = [(a, T - a) for a in range(0, T + 1, step)]
    if first[-1][0] != T:
        first.append((T, 0))
    second = [(int(a), T + p - int(a)) for a in np.unique(np.linspace(T + 1, p - 1, 3).round())] if T + 1 <= p - 1 else []
    pts = first + second
    public = lambda c: {k: v for k, v in c.items() if k != "direction"}
    broader = [c for c in sorted(cands, key=rank) if rank(c) < rank(best) and c["why_not"]]
    return {"found": True, "qualifies": bool(good), "T": T, "kind": best["kind"], "dimension": d, "description": desc,
            "keys": best.get("keys"), "frequencies": best["frequencies"], "frequency_labels": labels,
            "frequency_shares": best["frequency_shares"], "k_rms": best["k_rms"],
            "crest_width": best["width"], "prominence": best["prominence"],
            "sum_share": best["sum_share"], "rows_in_crest": best["rows_in_crest"],
            "ridge_on_crest": float(np.mean(surface.argmax(axis=1) == on_line)),
            "rule": ("among every hook_mlp_out dimension and the unembedding of T restricted to each subset "
                     "of key frequencies: those peaking on x+y ≡ T (other crests at most 4/5 of it, 90% of rows "
                     "peaking within it), at least half on the key x+y waves; the broadest (lowest rms frequency of its profile along "
                     "x+y) wins"),
            "chosen_because": how,
            "considered": {"dimensions": d_model, "directions": len(cands) - d_model,
                           "peaking_on_T": len(peaking), "qualifying": len(good)},
            "candidates": [public(c) for c in good[:6]],
            "broader_rejected": [public(c) for c in broader[:4]],
            "points": [[int(a), int(b)] for a, b in pts],
            "point_values": [float(surface[a, b]) for a, b in pts],
            "surface_max": float(surface.max()), "surface_mean": float(surface.mean()),
            "surface": surface, "direction": direction}


def logit_components(alphas: dict, p: int, output: int) -> tuple[list[int], np.ndarray]:
    """Each key frequency's diagonal pattern in the logit of `output`, α_k cos(w_k(x + y − output))
    [K, p, p], largest |α_k| first (the order LogitSurface adds them in), with their k."""
    ks = sorted((int(k) for k in alphas), key=lambda k: -abs(alphas[str(k)]))
    x, y = np.divmod(np.arange(p * p), p)
    comps = [alphas[str(k)] * np.cos(2 * np.pi * k * (x + y - output) / p).reshape(p, p) for k in ks]
    return ks, np.array(comps).reshape(len(ks), p, p)


def rival_crest(profile: np.ndarray, c: int) -> float | None:
    """The highest crest of a line profile g(s) (s = x + y mod p, mean removed) other than the one
    on s = c, as a fraction of g(c): 1 when another diagonal is as high as the answer's, below 1 when
    the answer's ridge stands out. A crest is a local maximum (circular); the one on c excluded.
    None when g(c) is not above the mean (no crest on c at all)."""
    g = profile - profile.mean()
    if g[c] <= 1e-12 * max(np.abs(g).max(), 1e-300):
        return None
    peaks = [s for s in range(len(g)) if s != c and g[s] >= g[s - 1] and g[s] >= g[(s + 1) % len(g)]]
    return float(max(0.0, max((g[s] for s in peaks), default=0.0)) / g[c])


def logit_surface(logits: np.ndarray, p: int, output: int, alphas: dict, approx: np.ndarray) -> dict:
    """The logit of one output over (x, y); its maxima lie on x + y ≡ output when the model works.
    With the logit approximation's `alphas` and its fitted logits `approx` [p*p, c]: the components
    (`logit_components`) LogitSurface adds one by one, their offset (the output's mean logit), the
    approximation's surface, and after each partial sum how high the next-highest diagonal crest
    rises relative to the one on x + y ≡ output (`rival_crest`)."""
    surface = logits[:, output].reshape(p, p)
    x, y = np.divmod(np.arange(p * p), p)
    top = np.argsort(-surface.ravel())[:p]
    on_line = float(np.mean((x[top] + y[top]) % p == output))
    marks = [(output, 0), (0, output), (output // 2, output - output // 2)]
    marks = list(dict.fromkeys((a % p, b % p) for a, b in marks))
    rank = {tuple(m): int(np.flatnonzero(np.argsort(-surface.ravel()) == m[0] * p + m[1])[0]) for m in marks}
    ks, comps = logit_components(alphas, p, output)         # the approximation's view, part by part
    return {"found": True, "output": output, "maxima": [list(m) for m in marks],
            "maxima_rank": [rank[tuple(m)] for m in marks], "on_line_fraction": on_line,
            "surface": surface,
            "component_keys": ks, "component_labels": [fo.freq_label(k, p) for k in ks],
            "component_alphas": [float(alphas[str(k)]) for k in ks],
            "offset": float(logits[:, output].mean()),
            "rival_after_each": [rival_crest(line_profile(sf), output) for sf in np.cumsum(comps, axis=0)],
            "rival_model": rival_crest(line_profile(surface), output),
            "components": comps, "approx_surface": approx[:, output].reshape(p, p)}
