"""Extraction: a checkpoint history in, assets/<run>/ out (format: common/assets.py).

Two passes. First the analysis checkpoint (default: the last): key frequencies (fixed there and
reused for every checkpoint), neuron clusters, the logit approximation, the probes, and the
selections the scenes show. Then every checkpoint, in batches through the batched fast model:
losses (restricted, excluded), weights, Fourier norms, attention, probe outputs, and the
evolution of every selected surface.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from grokking.common import assets as fmt
from grokking.common.assets import Assets, AssetsError, Corrupt
from grokking.common.code import code_hash
from grokking.training import model, tasks
from grokking.common import paths
from grokking.training.history import Run, filled, versions
from grokking.training.reference import reference_forward

from . import fourier as fo
from . import mechanism as mech
from . import phases, story_check
from . import replay as rp
from .coords import collision_share, coordinates, power_map, sup
from .errors import ExtractionError
from .probes import r2, sparse_probe
from .settings import PROBE_MAX_DIMS, asked, check_values, settings_for


def code_version() -> str:
    """A hash of the code extraction runs: this module and every project module it imports,
    training's included (the model, the task, the history reader)."""
    return code_hash([Path(__file__)], follow_training=True)


def previous_flags(run_name: str, assets_root=None) -> dict | None:
    """The flags the run's last extraction was asked (its manifest's "asked"), or None."""
    try:
        return Assets(run_name, assets_root).manifest.get("asked")
    except AssetsError:                      # never extracted, or a corrupt manifest
        return None


def wanted_settings(run: Run, assets_root=None, **flags) -> tuple[dict, dict]:
    """(the flags asked, the settings they give): a flag left out is the last extraction's."""
    ask = asked(previous_flags(run.name, assets_root), **flags)
    epoch = check_settings(run, ask["analysis_epoch"], ask["T"], ask["output"])
    return ask, settings_for(run.config, epoch, ask["T"], ask["output"], ask["story_k"])


def status(run_name: str, runs_root=None, assets_root=None, **flags) -> tuple[str, str]:
    """('up to date' | 'stale' | 'missing', why). A flag left out is the last extraction's."""
    run = Run(run_name, runs_root)
    out = paths.confined(assets_root or paths.ASSETS_DIR, run_name)
    man = out / "manifest.json"
    if not man.exists():
        return "missing", "never extracted"
    assets = Assets(run_name, assets_root)
    try:
        m = assets.manifest
    except Corrupt as e:                     # rebuilt like any stale extraction
        return "stale", e.short
    _, wanted = wanted_settings(run, assets_root, **flags)
    if m.get("run_fingerprint") != run.fingerprint():
        return "stale", "the run was retrained or extended"
    if m.get("settings") != wanted:
        return "stale", "extraction settings changed"
    if m.get("code_version") != code_version():
        return "stale", "extraction code changed"
    try:
        assets.verify()                      # every file there, with its sha256
    except Corrupt as e:
        return "stale", e.short
    except AssetsError:
        return "stale", "files missing"
    return "up to date", ""


def check_settings(run: Run, analysis_epoch: int | None = None, T: int | None = None, output: int | None = None) -> int:
    """The analysis epoch (default: the last checkpoint); ExtractionError when --analysis-epoch
    names no checkpoint of the run or --T / --output is not a residue mod p."""
    return check_values(run.name, run.config.p, run.checkpoint_epochs(), analysis_epoch, T, output)


def _stack(ws: list[dict], device="cpu") -> dict[str, torch.Tensor]:
    return {n: torch.tensor(np.stack([w[n] for w in ws]), device=device) for n in model.PARAM_NAMES}


def _ce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per batch entry (in float64): logits [B, N, C], labels [N]."""
    logp = logits.double().log_softmax(-1)
    return -logp.gather(-1, labels.expand(logits.shape[0], -1)[..., None])[..., 0].mean(-1)


def progress_losses(Ld: torch.Tensor, U: torch.Tensor, labels: torch.Tensor,
                    train: torch.Tensor, test: torch.Tensor) -> dict[str, torch.Tensor]:
    """Restricted and excluded losses (docs/science.md §3) of digit logits Ld [B, p*p, p] (x-major),
    given the key frequencies' sum directions U [2K, p*p] (rows cos_k, sin_k per key k).

    restricted: each logit's mean over inputs plus its projection on U (train and test);
    excluded:   the logits minus that projection (train only), and minus one key's at a time.
    Projections run in float32 (logit errors ~1e-6 move a loss by ~1e-6 of itself); the
    log-softmax runs in float64, which the tiny losses of a grokked model need."""
    mean = Ld.mean(1, keepdim=True)
    coef = torch.einsum("kn,bnc->bkc", U, Ld - mean)                  # [B, 2K, p]
    restricted = mean + torch.einsum("kn,bkc->bnc", U, coef)
    Lt, Ut = Ld[:, train], U[:, train]
    out = {"restricted_loss_train": _ce(restricted[:, train], labels[train]),
           "restricted_loss_test": _ce(restricted[:, test], labels[test]),
           "excluded_loss": _ce(Lt - torch.einsum("kn,bkc->bnc", Ut, coef), labels[train])}
    out["excluded_loss_by_freq"] = torch.stack(
        [_ce(Lt - torch.einsum("kn,bkc->bnc", Ut[j: j + 2], coef[:, j: j + 2]), labels[train])
         for j in range(0, U.shape[0], 2)], dim=1)
    return out


def analyse(W: dict, cfg, settings: dict) -> tuple[dict, dict]:
    """Everything at the analysis checkpoint. Returns (summary parts, arrays)."""
    p = cfg.p
    x, y = tasks.all_pairs(p)
    labels = tasks.answers(cfg.op, x, y, p, cfg.a, cfg.b)
    cache: dict = {}
    full: dict = {}
    with torch.no_grad():
        model.forward(_stack([W]), torch.tensor(x)[None], torch.tensor(y)[None], cache)
        # every query's attention, as TransformerLens has it: the fast model keeps the last query's only
        reference_forward({n: torch.tensor(W[n]) for n in model.PARAM_NAMES},
                          torch.tensor(tasks.tokens(x, y, p)), full)
    act = {k: v[0].numpy() for k, v in cache.items()}
    act["attn.hook_pattern"] = full["attn.hook_pattern"].numpy()          # [N, H, query, key]
    return analyse_activations(act, W, p, labels, settings, cfg.op, tasks.valid(cfg.op, p), cfg.a, cfg.b)


def directions(co, keys: list[int]) -> np.ndarray:
    """The key frequencies' sum directions cos/sin(w_k(u + v)) over the measure rows, orthonormal:
    [2K, rows] (a pow with no grid: made orthonormal over its pairs, mechanism.pair_directions)."""
    return fo.sum_directions(co.n, keys) if co.grid else mech.pair_directions(co.sums(), co.n, keys)


def answer_elements(co, labels: np.ndarray) -> np.ndarray:
    """The answer tokens `labels` as group elements (extraction/coords.py: the logit column order);
    −1 for an answer outside the group (mul and div's 0, only on the zero pairs)."""
    inv = np.full(co.p + 1, -1, np.int64)
    inv[co.outputs] = np.arange(co.n)
    return inv[np.asarray(labels)]


def zero_pairs(co, logits: np.ndarray, labels: np.ndarray, valid: np.ndarray | None) -> dict | None:
    """What the model does on the pairs outside the group (mul and div: x = 0 or y = 0, answer 0),
    from the natural digit logits [p*p, p]: how many, its accuracy there, the mean probability it
    gives 0, and its most common other answer. None for ops with no such pairs."""
    if co.apart is None:
        return None
    rows = co.apart if valid is None else co.apart[valid[co.apart]]
    L = logits[rows].astype(np.float64)
    z = L - L.max(1, keepdims=True)
    prob = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    guess = L.argmax(1)
    wrong = guess[guess != labels[rows]]
    return {"pairs": int(rows.size), "accuracy": float((guess == labels[rows]).mean()),
            "mean_p_zero": float(prob[:, 0].mean()),
            "other_answer": int(np.bincount(wrong).argmax()) if wrong.size else None,
            "rule": "the pairs with x = 0 or y = 0 (answer 0), outside the group the answer adds in: the model's "
                    "accuracy there, and the mean softmax probability it gives the answer 0"}


def answer_on_line(co, Ld: np.ndarray, output: int, valid: np.ndarray | None) -> dict:
    """The story check's "answer singled out" over pairs that are no grid (a colliding pow): of the
    output's m largest logits over the task's pairs, m the pairs whose u + v ≡ output, the share
    that are such pairs (on a grid, mechanism.logit_surface's on_line_fraction: m = p)."""
    rows = np.arange(Ld.shape[0]) if valid is None else np.flatnonzero(valid)
    on = co.sums()[rows] == output
    m = int(on.sum())
    top = np.argsort(-Ld[rows, output], kind="stable")[:m]
    return {"output": int(output), "pairs_on_line": m, "on_line_fraction": float(on[top].mean()) if m else 0.0,
            "rule": f"of the output's {m} largest logits over the pairs, the share on {co.line} ≡ output"}


def group_element(co, token: int, flag: str) -> int:
    """An answer token (--T, --output) as its element of the group; ExtractionError outside it."""
    try:
        return co.element(token)
    except ValueError as e:
        raise ExtractionError(f"--{flag} {token}: {e}; pass one of them") from None


def analyse_activations(act: dict, W: dict, p: int, labels: np.ndarray, settings: dict, op: str = "add",
                        valid: np.ndarray | None = None, a: int = 1, b: int = 1) -> tuple[dict, dict]:
    """analyse() from the analysis checkpoint's activations (common/assets.py ACTIVATIONS: the
    TransformerLens names and axes, x-major) and weights W: numpy only. Returns (summary parts,
    arrays). Everything along the sum is measured in the op's coordinates (extraction/coords.py):
    over the group Z_n its answer adds in (n = p, or p − 1 through the discrete log for mul and
    div), rows (u, v) u-major, logit columns and embedding rows in element order; `act`, `labels`
    (answer tokens) and `valid` come in the natural order (x-major) and are read in measure order
    here, so every selection's surface is over (u, v) and its T and output are elements; the stored
    activations stay in the natural order. A pow whose exponent collides has no grid: its key
    frequencies, logit approximation and neuron frequencies are measured over the pairs as they
    are, and the selections drawn over a grid are not found. `valid`: the task's pairs
    (tasks.valid), over which losses are taken; `a`, `b`: pow's exponents."""
    co = coordinates(op, p, a, b)
    n = co.n
    natural = act
    act = {k: co.rows(v) for k, v in act.items()}
    elements = answer_elements(co, co.rows(labels))
    valid_m = None if valid is None else co.rows(valid)
    Ld = act["logits"][:, co.outputs].astype(np.float64)
    post, mlp_out = act["mlp.hook_post"].astype(np.float64), act["hook_mlp_out"].astype(np.float64)
    W_U = W["W_U"][:, co.outputs]             # in the weights' own dtype, as add always measured it

    no_grid = None if co.grid else f"op pow here has no (x{sup(a)}, y{sup(b)}) grid: {'; '.join(co.collisions)}"
    keys, shares = key_frequencies_in(co, Ld, settings["key_share"])
    neu = mech.neuron_fve(post, n) if co.grid else mech.pair_neuron_fve(post, co.u, co.v, n)
    emb_keys, emb_power = mech.embedding_frequencies(W["W_E"][co.digits])
    W_L = W["W_out"] @ W_U                                              # neuron -> digit logit
    rank, sv = mech.effective_rank(W_L)
    approx = mech.logit_approximation(Ld, n, keys, elements, valid_m, None if co.grid else co.sums())
    fitted = approx.pop("approx")                                       # [n*n, n]: not for the JSON
    groups = mech.clusters(neu["freq"], neu["fve"], keys, settings["fve_threshold"])
    harmonic_of = mech.harmonics(keys, groups["clusters"], n)
    along = "x+y" if co.identity else (f"x + ({co.y_axis})" if op == "sub" else co.line)
    collide = {f"{var}{sup(e)}": coll for var, e, coll in (("x", a, collision_share(W["W_E"][:p], a, p)),
                                                               ("y", b, collision_share(W["W_E"][:p], b, p)))
               if op == "pow" and coll is not None}
    S = {"key_frequencies": keys, "key_labels": [fo.freq_label(k, n) for k in keys],
         "key_shares": {str(k): float(shares[k]) for k in keys},
         "key_rule": f"k is key when cos(w_k({along})) and sin(w_k({along})) carry >= {settings['key_share']:.0%} "
                     "of the centred digit logits' variance at the analysis checkpoint"
                     + (f", w_k = 2πk/{n}" if n != p else ""),
         "embedding_frequencies": emb_keys,
         "key_harmonics": {str(k): b_ for k, b_ in harmonic_of.items()},
         "additive": fmt.Additive(found=True, op=op, **co.to_json(),
                                  zero_pairs=zero_pairs(co, natural["logits"][:, :p], labels, valid),
                                  collision_share=collide or None,
                                  answer_on_line=None if co.grid else answer_on_line(
                                      co, Ld, settings["output"], valid_m)).to_json(),
         "neurons": groups, "logit_approx": approx,
         "W_L_rank": rank, "W_L_singular_values": [float(v) for v in sv[:16]]}
    try:                        # the one frequency the story shows wherever it shows one
        story = mech.story_frequency(keys, n, settings.get("story_k"), shares)
    except ValueError as e:
        raise ExtractionError(f"--story-k {settings.get('story_k')}: {e} at the analysis epoch; pass one of "
                              "them, or leave --story-k out for the lowest") from None
    story = fmt.Story.from_json({**story, "found": story["k"] is not None})
    S["story"] = story.to_json()
    story_k = story.k
    A = {"neurons": neu,
         "fourier": {"W_L_norms": fo.norms_1d(W_L.T),
                     "logit_norms_2d": (np.linalg.norm(fo.transform_2d(Ld.reshape(n, n, n)), axis=2) if co.grid
                                        else np.zeros((n, n)))},
         "activations": {k: natural[k] for k in fmt.ACTIVATIONS}}

    # probes: residual stream after embedding + position, for the story frequency (no key
    # frequencies: the one --story-k names, else the strongest embedding frequency), over the x
    # axis' elements (the discrete log for mul and div, x^a for pow)
    k_probe = story_k or settings.get("story_k") or (emb_keys[0] if emb_keys else 1)
    xs = np.arange(n) if co.grid else power_map(a, p)      # each digit's element (no grid: its x^a)
    R0, R1 = W["W_E"][co.digits] + W["W_pos"][0], W["W_E"][co.digits] + W["W_pos"][1]
    probe_S = {"k": k_probe, "label": fo.freq_label(k_probe, n), "learned": bool(keys),
               "why_k": story.rule if story_k else "no key frequencies: "
                        + ("named by --story-k" if settings.get("story_k") else "the strongest embedding frequency"),
               "rule": "relaxed Lasso on hook_embed + hook_pos_embed at position 0, at most "
                       f"{settings['probe_max_dims']} dimensions, fit at the analysis checkpoint"
                       + ("" if co.identity or op == "sub" else f", over {co.x_axis}")}
    probe_A = {"resid_pos0": R0, "resid_pos1": R1}
    for fn, f in (("cos", np.cos), ("sin", np.sin)):
        target = f(2 * np.pi * k_probe * xs / n)
        pr = sparse_probe(R0.astype(np.float64), target, settings["probe_max_dims"])
        probe_S[fn] = {"dims": [int(d) for d in pr["dims"]], "weights": [float(pr["weights"][d]) for d in pr["dims"]],
                       "bias": pr["bias"], "r2": pr["r2"], "alpha": pr["alpha"]}
        probe_A.update({f"{fn}_weights": pr["weights"], f"{fn}_bias": np.array(pr["bias"]),
                        f"{fn}_dims": np.array(pr["dims"], int), f"{fn}_target": target})
    S["probe"] = fmt.Probe.from_json({"found": True, **probe_S}).to_json()
    A["probes"] = probe_A

    # selections, each with its evidence or the reason none was found (common/assets.py)
    if no_grid:
        wave, pair, cr, lg = (cls(found=False, reason=no_grid)
                              for cls in (fmt.WaveNeurons, fmt.ProductPair, fmt.Crest, fmt.Logit))
    else:
        T, output = group_element(co, settings["T"], "T"), group_element(co, settings["output"], "output")
        wave = fmt.WaveNeurons.from_result(mech.wave_neurons(post, n, keys, story_k=story_k, neuron_freq=neu["freq"],
                                                             harmonic_of=harmonic_of))
        pair = fmt.ProductPair.from_result(mech.product_pair(         # its votes: onto the direction voting for T
            post, n, keys, neu["freq"], neu["fve"], story_k=story_k, W_out=W["W_out"].astype(np.float64),
            vote=W_U[:, T].astype(np.float64), T=T))
        cr = fmt.Crest.from_result(mech.crest(mlp_out, n, keys, T, W_U, answer=settings["T"]))
        lg = fmt.Logit.from_result(mech.logit_surface(Ld, n, output, approx["alphas"], fitted))
    ns = neuron_surfaces(post, n, wave, pair)
    parts = [wave, pair, cr, lg, ns]
    S["selections"] = fmt.selections_json(parts)
    A["selections"] = {**fmt.selection_arrays(parts),     # over (u, v); a pow with no grid: over (x, y)
                       "attn_eq_pattern": act["attn.hook_pattern"][:, :, -1, 0].reshape(n, n, -1).transpose(2, 0, 1)}
    return S, A


def neuron_surfaces(post: np.ndarray, p: int, wave: fmt.Part, pair: fmt.Part) -> fmt.NeuronSurfaces:
    """The surfaces of the wave neurons and the product pair, each with its 2D Fourier terms;
    featured: the cos·cos neuron of the pair (else the first wave neuron)."""
    ids = list(dict.fromkeys((wave.neurons or []) + (pair.neurons or [])))
    if not ids:
        why = "; ".join(dict.fromkeys(part.why_not() for part in (wave, pair)))
        return fmt.NeuronSurfaces(found=False, reason=why)
    surf = post.reshape(p, p, -1)[:, :, ids].transpose(2, 0, 1)
    decomps = {}
    for i, sf in zip(ids, surf):
        d = fo.decompose(sf, 4)
        d.pop("reconstruction")
        decomps[str(i)] = d
    return fmt.NeuronSurfaces.from_result({"found": True, "neurons": ids, "featured": (pair.neurons or ids)[0],
                                           "decompositions": decomps, "ids": np.array(ids), "surfaces": surf})


def crest_tolerance(crest: dict) -> int:
    """How many sums either side of x + y ≡ T a row's maximum may lie and still count as on the
    crest's line: half the crest's width at the analysis checkpoint (a broad crest's rows may peak
    a few sums off it, mechanism.crest)."""
    return int(crest.get("crest_width") or 1) // 2 if crest.get("found") else 0


def over_history(run: Run, cfg, epochs: list[int], S: dict, A: dict, batch: int = 8,
                 progress: bool = True, max_dims: int | None = None,
                 analysis_epoch: int | None = None) -> tuple[dict, dict]:
    """Every measure at every checkpoint, batched through the fast model; what the replays show
    measured at each checkpoint (extraction/replay.py: the probe refitted there, with at most
    `max_dims` dimensions, default the analysis probe's setting; at `analysis_epoch` the analysis
    probe itself). The checkpoints are read without checksums: the caller verifies the history
    once (Run.verify)."""
    co = coordinates(cfg.op, cfg.p, cfg.a, cfg.b)   # every pair in measure order (the op's coordinates)
    p = co.n                                 # the group's order: the side of every surface below
    x, y = co.pairs()
    labels = torch.tensor(answer_elements(co, tasks.answers(cfg.op, x, y, cfg.p, cfg.a, cfg.b)))
    sp = run.split()
    tr, te = torch.tensor(co.positions(sp["train"])), torch.tensor(co.positions(sp["test"]))
    keys = S["key_frequencies"]
    U = torch.tensor(directions(co, keys), dtype=torch.float32) if keys else None   # [2K, n*n]
    F = fo.basis(p)
    outputs, digits = torch.tensor(co.outputs), co.digits
    sel = A["selections"]
    wave_ids = sel.get("wave_neurons")
    pair_ids = sel.get("pair_neurons")
    crest_dir = torch.tensor(sel["crest_direction"], dtype=torch.float32) if "crest_direction" in sel else None
    output = S["selections"]["logit"]["output"] if S["selections"]["logit"]["found"] else None
    pr = A["probes"]
    max_dims = PROBE_MAX_DIMS if max_dims is None else max_dims
    C, K = len(epochs), len(keys)
    nan = lambda *shape: np.full(shape, np.nan)
    cur = {k: nan(C) for k in ("restricted_loss_train", "restricted_loss_test", "excluded_loss",
                               "sum_sq_weights", "gini_W_E", "gini_W_L")}
    cur["excluded_loss_by_freq"] = nan(C, K)
    cur["sum_sq_by_matrix"] = nan(C, len(model.PARAM_NAMES))
    for k in ("attn_eq_to_x", "attn_eq_to_y", "attn_eq_to_eq"):
        cur[k] = nan(C, cfg.n_heads)
    embed_norms = nan(C, p)
    probe = {f"{f}_{s}": nan(C, p) for f in ("cos", "sin") for s in ("out", "out_pos1")}
    probe.update({f"{f}_{s}": nan(C) for f in ("cos", "sin") for s in ("r2", "r2_fixed")})
    evo = {"epoch": np.array(epochs)}
    T = S["selections"]["crest"].get("T")
    crest_tol = crest_tolerance(S["selections"]["crest"])
    if wave_ids is not None:
        wave_freqs = S["selections"]["wave_neurons"]["freqs"]
        evo["wave_sweeps"] = np.zeros((C, len(wave_ids), p), np.float16)
        evo["wave_fit"] = np.zeros((C, len(wave_ids)), np.float16)
    if pair_ids is not None:
        evo["pair_surfaces"] = np.zeros((C, 2, p, p), np.float16)
    if crest_dir is not None:
        evo["crest_surface"] = np.zeros((C, p, p), np.float16)
        evo["crest_rows_on_line"] = np.zeros(C, np.float16)
    if output is not None:
        evo["logit_surface"] = np.zeros((C, p, p), np.float16)
        evo["logit_rows_on_line"] = np.zeros(C, np.float16)

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=C, desc="extract", unit="ckpt", mininterval=0.5)
    xb, yb = torch.tensor(x), torch.tensor(y)
    for lo in range(0, C, batch):
        idx = list(range(lo, min(C, lo + batch)))
        ws = [run.load_checkpoint(epochs[i], verify=False) for i in idx]   # extract() verified them
        B = len(ws)
        cache: dict = {}
        P = _stack(ws)
        with torch.no_grad():
            logits = model.forward(P, xb.expand(B, -1), yb.expand(B, -1), cache, mlp_out=False)
            Ld = logits[..., outputs]
            if U is not None:
                for key, v in progress_losses(Ld, U, labels, tr, te).items():
                    cur[key][idx] = v.numpy()
            pat = cache["attn.hook_pattern"].mean(1).numpy()                       # [B, H, 3]
            cur["attn_eq_to_x"][idx], cur["attn_eq_to_y"][idx], cur["attn_eq_to_eq"][idx] = (
                pat[..., 0], pat[..., 1], pat[..., 2])
            post = cache["mlp.hook_post"]
            # each checkpoint's own numbers (extraction/replay.py), from the float32 values
            if wave_ids is not None:
                sw = post[:, :p, wave_ids].transpose(1, 2).numpy()
                evo["wave_sweeps"][idx] = sw
                evo["wave_fit"][idx] = [rp.sweep_fit(s_, wave_freqs) for s_ in sw]
            if pair_ids is not None:
                evo["pair_surfaces"][idx] = post[:, :, pair_ids].transpose(1, 2).reshape(B, 2, p, p).numpy()
            if crest_dir is not None:   # hook_mlp_out along one direction: post @ (W_out d) + b_out·d
                w_d = P["W_out"] @ crest_dir
                b_d = P["b_out"] @ crest_dir
                cs = (torch.einsum("bnm,bm->bn", post, w_d) + b_d[:, None]).reshape(B, p, p).numpy()
                evo["crest_surface"][idx] = cs
                evo["crest_rows_on_line"][idx] = [rp.rows_on_line(c_, T, crest_tol) for c_ in cs]
            if output is not None:
                ls = Ld[..., output].reshape(B, p, p).numpy()
                evo["logit_surface"][idx] = ls
                evo["logit_rows_on_line"][idx] = [rp.rows_on_line(l_, output) for l_ in ls]
        for i, w in zip(idx, ws):
            sq = [float((w[n].astype(np.float64) ** 2).sum()) for n in model.PARAM_NAMES]
            cur["sum_sq_by_matrix"][i] = sq
            cur["sum_sq_weights"][i] = sum(sq)
            w64 = {n: w[n].astype(np.float64) for n in ("W_E", "W_out", "W_U")}
            embed_norms[i] = fo.norms_1d(w64["W_E"][digits], F)
            cur["gini_W_E"][i] = phases.gini(embed_norms[i])
            cur["gini_W_L"][i] = phases.gini(fo.norms_1d((w64["W_out"] @ w64["W_U"][:, co.outputs]).T, F))
            R0, R1 = (w["W_E"][digits] + w["W_pos"][pos] for pos in (0, 1))
            for f in ("cos", "sin"):
                fixed = (R0 @ pr[f"{f}_weights"] + pr[f"{f}_bias"], R1 @ pr[f"{f}_weights"] + pr[f"{f}_bias"])
                probe[f"{f}_r2_fixed"][i] = r2(fixed[0], pr[f"{f}_target"])
                if epochs[i] == analysis_epoch:      # the analysis probe: fitted here, as EmbeddingProbe shows it
                    at = {"out": fixed[0], "out_pos1": fixed[1], "r2": probe[f"{f}_r2_fixed"][i]}
                else:    # refitted here: a probe fitted at the end reads the end's basis, not this checkpoint's
                    at = rp.probe_at(R0, R1, pr[f"{f}_target"], max_dims, pr[f"{f}_dims"])
                probe[f"{f}_out"][i], probe[f"{f}_out_pos1"][i], probe[f"{f}_r2"][i] = at["out"], at["out_pos1"], at["r2"]
        if bar is not None:
            bar.update(B)
    if bar is not None:
        bar.close()
    cur["key_freqs"] = np.array(keys, int)
    cur["matrix_names"] = np.array(model.PARAM_NAMES)
    return cur, {"embed_norms": embed_norms, "probe": probe, "evolution": evo}


DIAGNOSTICS_RULE = ("measured by the trainer at every epoch on the train split, from the objective's raw "
                    "gradient (before Grokfast's filter and ⊥Grad's projection); entry e: the weights after e steps")


def diagnostic_curves(metrics: dict, ep: np.ndarray, last: int) -> tuple[dict, fmt.Diagnostics]:
    """curves.npz's DIAGNOSTICS at the checkpoints `ep` and at every epoch (all_*), and the summary
    part saying whether the history measured them; NaN where it did not (histories made before
    the trainer measured them, and imported ones, have none). `last`: the last epoch trained."""
    n = len(metrics["train_loss"])
    missing = [k for k in fmt.DIAGNOSTICS if k not in metrics]
    v = {k: np.full(n, np.nan) if k in missing else np.asarray(metrics[k], float) for k in fmt.DIAGNOSTICS}
    cur = {**{k: a[ep] for k, a in v.items()}, **{f"all_{k}": a for k, a in v.items()}}
    measured = np.isfinite(np.asarray(metrics["train_loss"], float)) & np.all([np.isfinite(a) for a in v.values()], 0)
    if not measured.any():
        why = (f"this history has no {', '.join(missing)}: it was made before the trainer measured them, or "
               "imported" if missing else "this history's diagnostics are NaN at every epoch")
        return cur, fmt.Diagnostics(found=False, reason=why)
    finite = lambda x: float(x) if np.isfinite(x) else None
    hit = np.flatnonzero(measured & (v["collapse_share"] > 0))
    return cur, fmt.Diagnostics(measured_epochs=int(measured.sum()), final={k: finite(a[last]) for k, a in v.items()},
                                first_collapse=int(hit[0]) if hit.size else None,
                                evidence={"rule": DIAGNOSTICS_RULE, "definitions": dict(fmt.DIAGNOSTICS)})


def checked(cfg, S: dict, restricted_test: float, model_test: float, time_rows: list[dict] | None = None) -> dict:
    """The story check (extraction/story_check.py) of the analysis summary S, given the restricted
    and the model's test loss at the analysis checkpoint and the rows in time (time_rows()), in the
    op's coordinates (extraction/coords.py)."""
    finite = lambda v: float(v) if np.isfinite(v) else None
    co = coordinates(cfg.op, cfg.p, cfg.a, cfg.b)
    return fmt.StoryCheck.from_json(story_check.story_check(
        co.n, S["story"].get("k"), S["selections"]["wave_neurons"], finite(restricted_test), finite(model_test),
        S["logit_approx"]["explained_variance"], S["selections"]["logit"], S["selections"]["crest"],
        time_rows, line=co.line, coords=None if co.identity else co.description,
        outputs=[int(t) for t in co.outputs], answer_pairs=S["additive"].get("answer_on_line"))).to_json()


def replay_measures(hist: dict) -> dict:
    """over_history's per-checkpoint numbers the replay claims are about (extraction/replay.py
    CLAIMS): the cos probe's R² refitted at each checkpoint, the wave neurons' mean fit at their own
    frequencies, the share of rows on the line of the surface TrainingStory shows (the crest's,
    else the logit's)."""
    ev = hist["evolution"]
    m = {"probe_r2": hist["probe"]["cos_r2"]}
    if "wave_fit" in ev:
        m["wave_fit"] = np.asarray(ev["wave_fit"], float).mean(1)
    surf = "crest_rows_on_line" if "crest_rows_on_line" in ev else "logit_rows_on_line"
    if surf in ev:
        m["surface_rows"] = np.asarray(ev[surf], float)
    return m


def replay_part(at: dict, epochs: list[int], hist: dict, S: dict) -> fmt.Replay:
    """summary.json's replay: the claims measured at their checkpoints (`hist`: over_history's
    second result over `epochs`) and the thresholds they are chosen by."""
    return fmt.Replay(per_checkpoint=True, claims=rp.claims(at, epochs, replay_measures(hist)), epochs=at,
                      crest_tol=crest_tolerance(S["selections"]["crest"]),
                      thresholds={"shape_r2": rp.SHAPE_R2, "loops_r2": rp.LOOPS_R2, "ridge_rows": rp.RIDGE_ROWS,
                                  "rise_acc": rp.RISE_ACC},
                      evidence={"rule": "the probe refitted on every checkpoint's embedding (same target, at most "
                                        "the analysis probe's dimensions); wave neurons, crest direction and logit "
                                        "output chosen at the analysis checkpoint and measured at every checkpoint"})


def history_upto(metrics: dict, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train accuracy, test accuracy with its gaps filled, which test entries were measured) for
    epochs 0..epoch of a run's metrics."""
    f = filled(metrics)
    n = epoch + 1
    return (np.asarray(f["train_acc"], float)[:n], np.asarray(f["test_acc"], float)[:n],
            np.isfinite(np.asarray(metrics["test_acc"], float))[:n])


def check_at(run: Run, epoch: int) -> dict:
    """The analysis summary of one checkpoint with its story check, without a full extraction (what
    the main job's seed choice, pipeline/choose.py, and grokking/lab/recipe_table.py use): key
    frequencies, logit approximation, selections, replay, story_check. The rows in time read the
    history up to `epoch`; the replay's claims are measured at their own checkpoints only."""
    cfg = run.config
    settings = settings_for(cfg, epoch, None, None)
    S, A = analyse(run.load_checkpoint(epoch), cfg, settings)
    logits, sp = A["activations"]["logits"][:, :cfg.p], run.split()      # analyse's forward, not another
    labels = tasks.answers(cfg.op, *tasks.all_pairs(cfg.p), cfg.p, cfg.a, cfg.b)
    co = coordinates(cfg.op, cfg.p, cfg.a, cfg.b)
    restricted = restricted_test_loss(co, logits, labels, sp, S["key_frequencies"])
    restricted = np.nan if restricted is None else restricted
    tr, te, measured = history_upto(run.metrics(), epoch)
    at = rp.claim_epochs(tr, te, run.checkpoint_epochs(), upto=epoch)
    needed = sorted({e for e in (at["memorised"], at["before the rise"]) if e is not None})
    hist = (over_history(run, cfg, needed, S, A, progress=False, max_dims=settings["probe_max_dims"],
                         analysis_epoch=epoch)[1] if needed
            else {"probe": {"cos_r2": np.zeros(0)}, "evolution": {}})
    S["replay"] = replay_part(at, needed, hist, S).to_json()
    S["story_check"] = checked(cfg, S, restricted, model_test_loss(co, logits, labels, sp["test"]),
                               story_check.in_time(tr, te, measured, S["replay"]["claims"]))
    return S


def key_frequencies_in(co, Ld: np.ndarray, share: float = mech.KEY_SHARE) -> tuple[list[int], np.ndarray]:
    """The key frequencies of digit logits already in measure order (rows and columns in the op's
    coordinates `co`): over the grid, or over the pairs where there is none."""
    if co.grid:
        return mech.key_frequencies(Ld, co.n, share)
    return mech.pair_key_frequencies(Ld, co.sums(), co.n, share)


def key_frequencies_of(co, logits: np.ndarray, share: float = mech.KEY_SHARE) -> tuple[list[int], np.ndarray]:
    """analyse's key frequencies of natural digit logits [p*p, p], in the op's coordinates `co`."""
    return key_frequencies_in(co, co.rows(logits)[:, co.outputs].astype(np.float64), share)


def restricted_test_loss(co, logits: np.ndarray, labels: np.ndarray, split: dict, keys: list[int]) -> float | None:
    """The restricted test loss (docs/science.md §3) of natural digit logits [p*p, p] with answer
    tokens `labels`, in the op's coordinates `co`, as over_history measures it; None without keys."""
    if not keys:
        return None
    U = torch.tensor(directions(co, keys), dtype=torch.float32)
    return float(progress_losses(torch.tensor(co.rows(logits)[:, co.outputs])[None], U,
                                 torch.tensor(answer_elements(co, co.rows(labels))),
                                 torch.tensor(co.positions(split["train"])),
                                 torch.tensor(co.positions(split["test"])))["restricted_loss_test"][0])


def model_test_loss(co, logits: np.ndarray, labels: np.ndarray, test: np.ndarray) -> float:
    """The model's own test loss from the analysis checkpoint's digit logits (float64), for the
    story check: a running history's metric at its last checkpoint lags one epoch. Over the
    group's pairs and answers, as the restricted loss it is compared with (extraction/coords.py: for
    mul and div the pairs without a zero, softmax over the p − 1 nonzero answers)."""
    if co.apart is None:
        return mech.loss_all(logits[test].astype(np.float64), labels[test])
    at = co.positions(test)
    return mech.loss_all(co.rows(logits)[at][:, co.outputs].astype(np.float64),
                         answer_elements(co, co.rows(labels)[at]))


def extract(run_name: str, analysis_epoch: int | None = None, T: int | None = None,
            output: int | None = None, story_k: int | None = None, force: bool = False, partial: bool = False,
            progress: bool = True, runs_root=None, assets_root=None) -> dict:
    t0 = time.perf_counter()
    run = Run(run_name, runs_root)
    m = run.manifest                                   # a missing run raises a clear HistoryError
    cfg = run.config
    if m["status"] != "complete" and not partial:
        raise ExtractionError(
            f"run {run_name!r} is still half-trained ({m['epochs_done']}/{cfg.epochs} epochs); finish it with "
            f"'grokking train --run {run_name}' or pass --partial to extract what is there")
    epochs = run.checkpoint_epochs()
    check_settings(run, analysis_epoch, T, output)     # the flags given, before any is read back
    ask, settings = wanted_settings(run, assets_root, analysis_epoch=analysis_epoch, T=T, output=output,
                                    story_k=story_k)
    analysis_epoch = settings["analysis_epoch"]
    out = paths.confined(assets_root or paths.ASSETS_DIR, run_name)
    fmt.clean_swaps(out, ExtractionError)              # what a killed extraction left next to it
    state, why = status(run_name, runs_root, assets_root, **ask)
    if state == "up to date" and not force:
        return {"skipped": True, "dir": str(out)}

    problems = run.verify()
    if problems:
        raise ExtractionError(f"run {run_name!r} is damaged: {problems[0]}"
                              + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                              + f"; retrain it with 'grokking train --run {run_name} --force'")
    S, A = analyse(run.load_checkpoint(analysis_epoch, verify=False), cfg, settings)
    cur, hist = over_history(run, cfg, epochs, S, A, progress=progress, max_dims=settings["probe_max_dims"],
                             analysis_epoch=analysis_epoch)

    metrics = filled(run.metrics())   # test gaps carry the latest measurement
    ep = np.array(epochs)
    base = ("train_loss", "test_loss", "train_acc", "test_acc")
    diag_cur, diag = diagnostic_curves(metrics, ep, m["epochs_done"])
    cur.update({"epoch": ep, **{k: metrics[k][ep] for k in base}, "all_epoch": np.arange(len(metrics["train_loss"])),
                **{f"all_{k}": metrics[k] for k in base}, **diag_cur})
    ph = phases.locate(metrics["train_acc"], metrics["test_acc"], metrics["test_loss"], ep, cur["excluded_loss"])
    ms = m["milestones"]
    at = epochs.index(analysis_epoch)
    labels = tasks.answers(cfg.op, *tasks.all_pairs(cfg.p), cfg.p, cfg.a, cfg.b)
    tr, te, measured = history_upto(run.metrics(), m["epochs_done"])
    S["replay"] = replay_part(rp.claim_epochs(tr, te, epochs), epochs, hist, S).to_json()
    S["story_check"] = checked(cfg, S, cur["restricted_loss_test"][at],
                               model_test_loss(coordinates(cfg.op, cfg.p, cfg.a, cfg.b),
                                               A["activations"]["logits"][:, :cfg.p], labels, run.split()["test"]),
                               story_check.in_time(tr, te, measured, S["replay"]["claims"]))
    final = {k: float(metrics[k][m["epochs_done"]]) for k in ("train_loss", "test_loss", "train_acc", "test_acc")}
    summary = {
        "run": run_name,
        "task": {k: getattr(cfg, k) for k in ("p", "op", "a", "b", "frac", "seed", "epochs",
                                              "d_model", "d_mlp", "n_heads")},
        "epochs_done": m["epochs_done"], "n_checkpoints": len(epochs),
        "analysis_epoch": analysis_epoch, "grokked": m["grokked"], "milestones": ms,
        "phases": ph, **S, "final": final, "diagnostics": diag.to_json(),
        fmt.SeedChoice.KEY: fmt.SeedChoice.of_manifest(m).to_json(),
    }
    notes = [] if m["grokked"] else ["this run never reached 99% test accuracy (not grokked)"]
    if notes:
        summary["note"] = "; ".join(notes)

    files = {
        "curves": cur,
        "fourier": {"basis": fo.basis(S["additive"]["n"]), "basis_labels": np.array(fo.basis_labels(S["additive"]["n"])),
                    "embed_norms": hist["embed_norms"], **A["fourier"]},
        "neurons": A["neurons"],
        "probes": {**A["probes"], **hist["probe"]},
        "selections": A["selections"],
        "evolution": hist["evolution"],
        "activations": A["activations"],
        "toy": {**tasks.toy_table(5)},
    }
    summary["extraction_seconds"] = round(time.perf_counter() - t0, 1)
    fmt.write(out, files, summary, {
        "run": run_name, "run_fingerprint": run.fingerprint(), "analysis_epoch": analysis_epoch,
        "settings": settings, "asked": ask, "code_version": code_version(), "versions": versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S")}, error=ExtractionError)
    return {"skipped": False, "dir": str(out), "summary": summary, "why": why}
