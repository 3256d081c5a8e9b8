"""Small synthetic assets with planted signals, written by the format's own writer
(common/assets.py write(), as extraction writes them).

For tests of figures and scenes (which must not need torch or a trained model): a fake run at
small p whose 'model' is built analytically from cos/sin waves of planted key frequencies, and
whose curves memorise then grok. The key frequencies are listed strongest first, as extraction
lists them: a high one (5) first and a low one (2); as in extraction, every single-frequency
selection (the first wave pair, the probe, the product pair) uses the lowest (the story
frequency, mechanism.story_frequency). numpy only.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from grokking.common import assets as fmt
from grokking.extraction import fourier as fo
from grokking.extraction import mechanism as mech
from grokking.extraction import replay as rp
from grokking.extraction.coords import coordinates
from grokking.extraction.story_check import in_time, story_check


PAIR_COEFS = (1.6, 1.2)        # the product pair's planted product coefficients (cos·cos, sin·sin)
PAIR_WEIGHTS = (0.45, -0.5)    # their W_out rows · the direction that votes for T: votes 0.72 and −0.60


def make_synthetic_assets(root: Path, run: str = "synth", p: int = 23, key_freqs=(5, 2),
                          n_ckpt: int = 40, d_model: int = 16, d_mlp: int = 48, n_heads: int = 4,
                          T: int = 9, output: int = 7, seed: int = 0, not_found: dict | None = None,
                          diagnostics: bool = True, op: str = "add", waves_left_out: list | None = None) -> Path:
    """Write assets/<run>/ under root; `not_found` ({selection key: reason}) makes those
    selections not found, as extraction writes one (no arrays, the reason in the summary);
    diagnostics=False: a history that did not measure them (NaN curves, as extraction writes);
    `op` "sub": the same planted arrays, read as a sub run's in its coordinates (x, −y mod p),
    summary "additive" saying so (extraction/coords.py); `waves_left_out`: the key frequencies the
    wave scenes leave out, with extraction's reasons (wave_neurons "left_out")."""
    rng = np.random.default_rng(seed)
    out = Path(root) / run
    x = np.arange(p)
    X, Y = np.meshgrid(x, x, indexing="ij")
    w = {k: 2 * np.pi * k / p for k in key_freqs}
    K = len(key_freqs)
    E = 400
    epoch = np.unique(np.r_[np.arange(0, 20), np.geomspace(20, E, n_ckpt - 20).astype(int)])[:n_ckpt]
    C = len(epoch)
    grow = 1 / (1 + np.exp(-(epoch - 250) / 25))          # circuit strength over training
    memo = 1 - np.exp(-epoch / 10)
    all_epoch = np.arange(E + 1)
    g_all = 1 / (1 + np.exp(-(all_epoch - 250) / 25))
    all_train_loss = 4.5 * np.exp(-all_epoch / 8) + 1e-6
    all_test_loss = 4.5 * (1 - g_all) + 1e-3 + 2 * (1 - np.exp(-all_epoch / 30)) * (1 - g_all)
    curves = {
        "epoch": epoch, "train_loss": all_train_loss[epoch], "test_loss": all_test_loss[epoch],
        "train_acc": np.minimum(1, memo * 1.1), "test_acc": 0.05 + 0.95 * grow,
        "restricted_loss_train": 4.5 * (1 - grow) + 0.01, "restricted_loss_test": 4.5 * (1 - grow) + 0.012,
        "excluded_loss": all_train_loss[epoch] + 6 * grow * (epoch > 30),
        "excluded_loss_by_freq": np.stack([all_train_loss[epoch] + 3 * grow] * K, 1),
        "key_freqs": np.array(key_freqs),
        "sum_sq_weights": 800 - 500 * grow, "sum_sq_by_matrix": np.outer(800 - 500 * grow, np.ones(11) / 11),
        "matrix_names": np.array(["W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "b_in", "W_out", "b_out", "W_U"]),
        "gini_W_E": 0.2 + 0.6 * grow, "gini_W_L": 0.3 + 0.6 * grow,
        "attn_eq_to_x": np.full((C, n_heads), 0.45), "attn_eq_to_y": np.full((C, n_heads), 0.5),
        "attn_eq_to_eq": np.full((C, n_heads), 0.05),
        "all_epoch": all_epoch, "all_train_loss": all_train_loss, "all_test_loss": all_test_loss,
        "all_train_acc": np.minimum(1, (1 - np.exp(-all_epoch / 10)) * 1.1), "all_test_acc": 0.05 + 0.95 * g_all,
    }
    # diagnostics: collapse sets in once memorised, the gradient turns against the weights while
    # they shrink, its norm falls with the train loss
    diag = {"collapse_share": np.clip((all_epoch - 60) / 100, 0, 0.9), "grad_weight_cos": -0.6 * g_all,
            "grad_norm": 0.5 * np.exp(-all_epoch / 40) + 1e-3}
    if not diagnostics:
        diag = {k: np.full(E + 1, np.nan) for k in diag}
    curves.update({**{k: v[epoch] for k, v in diag.items()}, **{f"all_{k}": v for k, v in diag.items()}})
    F = fo.basis(p)
    W_E = rng.normal(0, 0.1, (p, d_model))
    for i, k in enumerate(key_freqs):
        W_E[:, 2 * i] += np.cos(w[k] * x)
        W_E[:, 2 * i + 1] += np.sin(w[k] * x)
    noise_norms = fo.norms_1d(rng.normal(0, 0.1, (p, d_model)), F)
    key_norms = fo.norms_1d(W_E, F)
    embed_norms = (1 - grow)[:, None] * noise_norms + grow[:, None] * key_norms
    logit_cc = np.zeros((p, p))
    for k in key_freqs:
        logit_cc[fo.cos_row(k), fo.cos_row(k)] = logit_cc[fo.sin_row(k), fo.sin_row(k)] = 1.0
        logit_cc[fo.sin_row(k), fo.cos_row(k)] = logit_cc[fo.cos_row(k), fo.sin_row(k)] = 1.0
    W_L_norms = np.zeros(p)
    for k in key_freqs:
        W_L_norms[[fo.cos_row(k), fo.sin_row(k)]] = 5.0
    fourier = {"basis": F, "basis_labels": np.array(fo.basis_labels(p)), "embed_norms": embed_norms,
               "W_L_norms": W_L_norms + 0.01, "logit_norms_2d": logit_cc + 0.01}

    # neurons: each a ReLU of cos/sin waves of one key frequency
    freq = np.array([key_freqs[i % K] for i in range(d_mlp)])
    phase = rng.uniform(0, 2 * np.pi, (d_mlp, 2))
    surfaces = np.stack([np.maximum(0, np.cos(w[f] * X + a) + np.cos(w[f] * Y + b))
                         for f, (a, b) in zip(freq, phase)])                     # [d_mlp, p, p]
    Cn = fo.transform_2d(np.moveaxis(surfaces - surfaces.mean((1, 2), keepdims=True), 0, -1), F)
    fve_by_freq = fo.block_fve(Cn)
    neurons = {"freq": fve_by_freq.argmax(1), "fve": fve_by_freq.max(1), "fve_by_freq": fve_by_freq}

    story = mech.story_frequency(list(key_freqs), p)
    k0 = story["k"]                                        # the lowest key frequency
    target = {"cos": np.cos(w[k0] * x), "sin": np.sin(w[k0] * x)}
    probes = {"resid_pos0": W_E, "resid_pos1": W_E + 0.05}
    i0 = list(key_freqs).index(k0)                         # W_E's dimensions 2 i0, 2 i0 + 1 carry k0
    dim = {"cos": 2 * i0, "sin": 2 * i0 + 1}
    for f in ("cos", "sin"):
        wts = np.zeros(d_model)
        wts[dim[f]] = 1.0
        probes.update({f"{f}_weights": wts, f"{f}_bias": np.array(0.0), f"{f}_dims": np.array([dim[f]]),
                       f"{f}_target": target[f], f"{f}_out": grow[:, None] * target[f][None],
                       f"{f}_out_pos1": grow[:, None] * target[f][None], f"{f}_r2": grow,
                       f"{f}_r2_fixed": grow ** 2})

    # the first pair of wave neurons has the story frequency, then the others take turns
    by_k = {k: [int(i) for i in np.flatnonzero(freq == k)] for k in key_freqs}
    order = story["order"]
    wave = by_k[k0][:2]
    turn = 1
    while len(wave) < 7:
        k = order[turn % len(order)]
        wave.append(next(i for i in by_k[k] if i not in wave))
        turn += 1
    cx, sx, cy, sy = np.cos(w[k0] * X), np.sin(w[k0] * X), np.cos(w[k0] * Y), np.sin(w[k0] * Y)
    trig_sum = cx * cy - sx * sy
    # the product pair: each neuron its product term (coefficient PAIR_COEFS), waves in x alone and
    # y alone, and a weaker cross term, so its term carries part of its variance and most (not all)
    # of its joint variance; measured as extraction measures them (mechanism.product_pair)
    pair_sur = np.stack([PAIR_COEFS[0] * cx * cy + 0.8 * (cx + cy) + 0.5 * cx * sy,
                         PAIR_COEFS[1] * sx * sy + 0.6 * (sx + sy) + 0.3 * sx * cy])
    pair_post = pair_sur.reshape(2, p * p).T
    pair_Cn = fo.transform_2d(mech.centred(pair_post).reshape(p, p, 2))
    pair_terms = [pair_Cn[fo.cos_row(k0), fo.cos_row(k0), 0] ** 2, pair_Cn[fo.sin_row(k0), fo.sin_row(k0), 1] ** 2]
    pair_total, pair_joint = (pair_Cn ** 2).sum(axis=(0, 1)), mech.joint_variance(pair_post, p)
    pair_votes = [c * m for c, m in zip(PAIR_COEFS, PAIR_WEIGHTS)]
    crest = sum((2.0 if k == k0 else 1.0) * np.cos(w[k] * (X + Y - T)) for k in key_freqs)
    crest_m = mech.crest_measures(crest, T, fo.sum_directions(p, key_freqs))
    logit = sum(np.cos(w[k] * (X + Y - output)) for k in key_freqs)
    alphas = {str(k): 1.0 for k in key_freqs}
    comp_keys, comps = mech.logit_components(alphas, p, output)      # the logit is exactly their sum
    first = [(a, T - a) for a in range(0, T + 1, max(1, T // 4))]
    second = [(a, T + p - a) for a in (T + 1, (T + p) // 2, p - 1)]
    maxima = np.array([(a, (output - a) % p) for a in range(p)])[:3]
    attn = np.stack([np.full((p, p), 0.45)] * n_heads)
    pair = [i for i in by_k[k0] if i not in wave][:2]
    neuron_ids = wave + pair
    selections = {
        "wave_neurons": np.array(wave), "wave_sweeps": surfaces[wave][:, 0, :],
        "pair_neurons": np.array(pair), "pair_surfaces": pair_sur,
        "trig_coscos": cx * cy, "trig_sinsin": sx * sy, "trig_sum": trig_sum,
        "neuron_ids": np.array(neuron_ids), "neuron_surfaces": surfaces[neuron_ids],
        "crest_surface": crest, "crest_direction": rng.normal(size=d_model), "crest_points": np.array(first + second),
        "logit_surface": logit, "logit_maxima": maxima, "attn_eq_pattern": attn,
        "logit_components": comps, "logit_approx_surface": comps.sum(0),
    }
    evolution = {"epoch": epoch,
                 "wave_sweeps": (grow[:, None, None] * surfaces[wave][None, :, 0, :]).astype(np.float16),
                 "pair_surfaces": (grow[:, None, None, None] * pair_sur[None]).astype(np.float16),
                 "crest_surface": (grow[:, None, None] * crest[None]).astype(np.float16),
                 "logit_surface": (grow[:, None, None] * logit[None]).astype(np.float16)}
    # what the replays measure at each checkpoint: the waves, the crest and the logit's line form with the circuit
    evolution.update({"wave_fit": np.repeat(grow[:, None], len(wave), 1).astype(np.float16),
                      "crest_rows_on_line": grow.astype(np.float16), "logit_rows_on_line": grow.astype(np.float16)})
    n = p * p
    causal = np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None]          # uniform over the keys a query sees
    activations = {"attn.hook_pattern": np.broadcast_to(causal, (n, n_heads, 3, 3)).astype(np.float32),
                   "mlp.hook_post": surfaces.reshape(d_mlp, n).T.astype(np.float32),
                   "logits": np.zeros((n, p + 1), np.float32)}
    toy_x, toy_y = np.divmod(np.arange(25), 5)
    toy = {"x": toy_x, "y": toy_y, "sum": (toy_x + toy_y) % 5,
           "is_test": np.isin(np.arange(25), [3, 7, 11, 16, 18, 20, 22, 24]), "vocab": np.array(list("01234="))}
    files = {"curves": curves, "fourier": fourier, "neurons": neurons, "probes": probes,
             "selections": selections, "evolution": evolution, "activations": activations, "toy": toy}
    labels = [fo.freq_label(k, p) for k in key_freqs]
    decomp = {str(i): {k: v for k, v in fo.decompose(surfaces[i], 4).items() if k != "reconstruction"}
              for i in neuron_ids}
    summary = {
        "run": run, "synthetic": True, "epochs_done": E, "n_checkpoints": C,
        "task": {"p": p, "op": op, "a": 1, "b": 1, "frac": 0.3, "seed": seed, "epochs": E,
                 "d_model": d_model, "d_mlp": d_mlp, "n_heads": n_heads},
        "analysis_epoch": int(epoch[-1]), "grokked": True,
        "milestones": {"train_100": 10, "test_99": 300},
        "phases": {"memorised": 10, "memorisation_end": 40, "cleanup_start": 230, "cleanup_end": 300,
                   "grokked": 300, "rule": "synthetic"},
        "key_frequencies": list(key_freqs), "key_labels": labels, "key_rule": "planted",
        "story": fmt.Story.from_json({**story, "found": True}),
        "embedding_frequencies": list(key_freqs),
        "neurons": {"n": d_mlp, "fve_threshold": 0.85, "n_clustered": int((neurons["fve"] >= 0.85).sum()),
                    "share_clustered": float((neurons["fve"] >= 0.85).mean()),
                    "clusters": {str(k): int(((neurons["fve"] >= 0.85) & (neurons["freq"] == k)).sum()) for k in key_freqs}},
        "key_shares": {str(k): 0.4 for k in key_freqs},
        "logit_approx": {"alphas": alphas, "explained_variance": 0.95,
                         "loss": 1e-3, "model_loss": 2e-3},
        "W_L_rank": 2 * K,
        "probe": fmt.Probe(k=k0, label=fo.freq_label(k0, p), learned=True,
                           cos={"dims": [dim["cos"]], "weights": [1.0], "r2": 1.0},
                           sin={"dims": [dim["sin"]], "weights": [1.0], "r2": 1.0}, evidence={"why_k": story["rule"]}),
        "selections": {
            "wave_neurons": {"found": True, "neurons": wave, "freqs": [int(freq[i]) for i in wave],
                             "labels": [fo.freq_label(int(freq[i]), p) for i in wave], "fve": [0.9] * len(wave),
                             **{q: [fo.dominant_frequency(surfaces[i][0])[q] for i in wave] for q in ("amp", "phase")},
                             "story_k": k0, "pair_k": k0, "rule": "planted: the story frequency first"},
            "product_pair": {"found": True, "neurons": pair, "k": k0, "label": fo.freq_label(k0, p),
                             "story_k": k0,
                             "formulas": fo.product_formulas(k0, p),
                             "coefs": list(PAIR_COEFS), "qualifies": True, "T": T,
                             "term_fve": [float(t / pair_total[j]) for j, t in enumerate(pair_terms)],
                             "term_joint": [float(t / pair_joint[j]) for j, t in enumerate(pair_terms)],
                             "weights": list(PAIR_WEIGHTS), "votes": pair_votes,
                             "sum_share": mech.pair_sum_share(*pair_votes),
                             "trig_corr_sum": 1.0, "trig_corr_diff": 0.0},
            "crest": {"found": True, "qualifies": True, "T": T, "kind": "direction", "dimension": None,
                      "description": "synthetic crest: the key frequencies' waves in x + y, w = "
                                     + ", ".join(fo.freq_label(k, p) for k in sorted(key_freqs)),
                      "points": first + second,
                      "keys": sorted(key_freqs), "frequency_labels": [fo.freq_label(k, p) for k in crest_m["frequencies"]],
                      "k_rms": crest_m["k_rms"], "crest_width": crest_m["width"],
                      **{k: crest_m[k] for k in ("frequencies", "frequency_shares", "prominence", "sum_share",
                                                 "rows_in_crest", "ridge_on_crest")},
                      "rule": "planted: the key frequencies' waves in x + y, the lowest twice as strong"},
            "logit": {"found": True, "output": output, "maxima": maxima.tolist(), "on_line_fraction": 1.0,
                      "component_keys": comp_keys, "component_labels": [fo.freq_label(k, p) for k in comp_keys],
                      "component_alphas": [1.0] * len(comp_keys), "offset": 0.0,
                      "rival_after_each": [mech.rival_crest(mech.line_profile(c), output)
                                           for c in np.cumsum(comps, axis=0)],
                      "rival_model": mech.rival_crest(mech.line_profile(logit), output)},
            "neuron_surfaces": {"found": True, "neurons": neuron_ids, "featured": pair[0], "decompositions": decomp},
        },
        "final": {"train_loss": float(all_train_loss[-1]), "test_loss": float(all_test_loss[-1]),
                  "train_acc": 1.0, "test_acc": 1.0},
        "additive": fmt.Additive(op=op, **coordinates(op, p).to_json()),
        "diagnostics": (fmt.Diagnostics(measured_epochs=E + 1, first_collapse=61,
                                        final={k: float(v[-1]) for k, v in diag.items()}) if diagnostics else
                        fmt.Diagnostics(found=False, reason="this history has no collapse_share, grad_weight_cos, "
                                                            "grad_norm (synthetic)")),
    }
    tr, te = curves["all_train_acc"], curves["all_test_acc"]
    at = rp.claim_epochs(tr, te, epoch)
    claims = rp.claims(at, epoch, {"probe_r2": grow, "wave_fit": grow, "surface_rows": grow})
    summary["replay"] = fmt.Replay(per_checkpoint=True, claims=claims, epochs=at, crest_tol=0,
                                   thresholds={"shape_r2": rp.SHAPE_R2, "loops_r2": rp.LOOPS_R2,
                                               "ridge_rows": rp.RIDGE_ROWS, "rise_acc": rp.RISE_ACC})
    summary["story_check"] = story_check(p, k0, summary["selections"]["wave_neurons"], 1e-3, 2e-3, 0.95,
                                         summary["selections"]["logit"], summary["selections"]["crest"],
                                         in_time(tr, te, np.ones(E + 1, bool), claims))
    if waves_left_out:
        summary["selections"]["wave_neurons"]["left_out"] = waves_left_out
    for key, reason in (not_found or {}).items():
        cls = fmt.SELECTIONS[key]
        summary["selections"][key] = {"found": False, "reason": reason}
        for name in cls.ARRAYS:
            selections.pop(name)
        for name in cls.EVOLVES:
            evolution.pop(name)
    fmt.write(out, files, summary, {"run": run, "synthetic": True, "analysis_epoch": int(epoch[-1])})
    return out


def planted_history(fit: int = 100, grok: int = 3000, E: int = 5000, rise_from: int | None = None,
                    collapse: tuple[int, int] | None = None, test_every: int = 10):
    """A per-epoch accuracy history (entry e after e steps), as training.history writes it and
    filled() reads it: train accuracy climbs to 100 % at `fit`; test accuracy sits at 1 % until
    `rise_from` (default grok / 2), then climbs (linearly in log epoch) to 100 % at `grok`; test
    measured every `test_every` epochs (NaN between). `collapse` (start, end): both fall there,
    train to 21 % and test to 65 % (an un-grokking). Returns (train_acc, raw test_acc, filled test_acc)."""
    from grokking.training.history import filled
    e = np.arange(E + 1, dtype=float)
    train = np.clip(0.01 + 0.99 * e / fit, 0, 1)
    start = rise_from or grok // 2
    test = 0.01 + 0.99 * np.clip(np.log(np.maximum(e, 1) / start) / np.log(grok / start), 0, 1)
    if collapse:
        train[collapse[0]:collapse[1]] = 0.21
        test[collapse[0]:collapse[1]] = 0.65
    raw = np.where(e % test_every == 0, test, np.nan)
    if grok <= E:
        raw[grok] = test[grok]                              # the grokking epoch is measured
    f = filled({"train_loss": 1 - train, "test_loss": 1 - raw, "train_acc": train, "test_acc": raw})
    return train, raw, f["test_acc"]
