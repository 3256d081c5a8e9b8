"""Extraction: a checkpoint history in, assets/<run>/ out (format: extraction/store.py).

Two passes. First the analysis checkpoint (default: the last): key frequencies (fixed there and
reused for every checkpoint), neuron clusters, the logit approximation, the probes, and the
selections the scenes show. Then every checkpoint, in batches through the batched fast model:
losses (restricted, excluded), weights, Fourier norms, attention, probe outputs, and the
evolution of every selected surface.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from training import model, paths, tasks
from training.history import Run, atomic_write_bytes, npz_bytes, versions, write_json

from . import fourier as fo
from . import mechanism as mech
from . import phases
from .errors import ExtractionError
from .probes import r2, sparse_probe
from .store import ASSETS_DIR, FORMAT, Assets, AssetsError, Corrupt, owned

CODE_FILES = ("extraction/extract.py", "extraction/mechanism.py", "extraction/fourier.py",
              "extraction/probes.py", "extraction/phases.py", "training/model.py")


def code_version() -> str:
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for f in CODE_FILES:
        h.update((root / f).read_bytes())
    return h.hexdigest()[:16]


def settings_for(cfg, analysis_epoch, T, output, story_k=None) -> dict:
    p = cfg.p
    return {"analysis_epoch": analysis_epoch, "T": (65 if T is None else T) % p,
            "output": (7 if output is None else output) % p, "key_share": mech.KEY_SHARE,
            "fve_threshold": mech.FVE_CLUSTER, "probe_max_dims": 8, "story_k": story_setting(p, story_k)}


def story_setting(p: int, story_k: int | None) -> int | None:
    """--story-k as stored in the settings: None (the lowest key frequency) or the frequency named,
    folded to min(k, p - k) (k and p - k are the same wave at the integers)."""
    if story_k is None:
        return None
    if not 1 <= story_k <= p - 1:
        raise ExtractionError(f"--story-k must be a frequency between 1 and {p - 1} at p={p} (got {story_k}); "
                              "leave it out for the lowest key frequency")
    return mech.periods(story_k, p)


def status(run_name: str, runs_root=None, assets_root=None, **settings) -> tuple[str, str]:
    """('up to date' | 'stale' | 'missing', why)."""
    run = Run(run_name, runs_root)
    out = paths.confined(assets_root or ASSETS_DIR, run_name)
    man = out / "manifest.json"
    if not man.exists():
        return "missing", "never extracted"
    assets = Assets(run_name, assets_root)
    try:
        m = assets.manifest
    except Corrupt as e:                     # rebuilt like any stale extraction
        return "stale", e.short
    wanted = settings_for(run.config, check_settings(run, settings.get("analysis_epoch"), settings.get("T"),
                                                     settings.get("output")),
                          settings.get("T"), settings.get("output"), settings.get("story_k"))
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


def check_settings(run: Run, analysis_epoch: int | None, T: int | None, output: int | None) -> int:
    """The analysis epoch (default: the last checkpoint); ExtractionError when --analysis-epoch
    names no checkpoint of the run or --T / --output is not a residue mod p."""
    return check_values(run.name, run.config.p, run.checkpoint_epochs(), analysis_epoch, T, output)


def check_values(name: str, p: int, epochs: list[int], analysis_epoch, T, output) -> int:
    """check_settings for a run of modulus p with checkpoints at `epochs` (trained or planned)."""
    if analysis_epoch is not None and analysis_epoch not in epochs:
        near = min(epochs, key=lambda e: abs(e - analysis_epoch))
        raise ExtractionError(f"run {name!r} has no checkpoint at epoch {analysis_epoch} "
                              f"(nearest: {near}); pass --analysis-epoch {near}")
    for name, v in (("T", T), ("output", output)):
        if v is not None and not 0 <= v < p:
            raise ExtractionError(f"--{name} must be between 0 and {p - 1} at p={p} (got {v}); pass e.g. "
                                  f"--{name} {v % p}")
    return epochs[-1] if analysis_epoch is None else analysis_epoch


def _stack(ws: list[dict], device="cpu") -> dict[str, torch.Tensor]:
    return {n: torch.tensor(np.stack([w[n] for w in ws]), device=device) for n in model.PARAM_NAMES}


def _ce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per batch entry (in float64): logits [B, N, C], labels [N]."""
    logp = logits.double().log_softmax(-1)
    return -logp.gather(-1, labels.expand(logits.shape[0], -1)[..., None])[..., 0].mean(-1)


def progress_losses(Ld: torch.Tensor, U: torch.Tensor, labels: torch.Tensor,
                    train: torch.Tensor, test: torch.Tensor) -> dict[str, torch.Tensor]:
    """Restricted and excluded losses (REFERENCE §3) of digit logits Ld [B, p*p, p] (x-major),
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
    with torch.no_grad():
        model.forward(_stack([W]), torch.tensor(x)[None], torch.tensor(y)[None], cache)
    act = {k: v[0].numpy() for k, v in cache.items()}
    return analyse_activations(act, W, p, labels, settings)


def analyse_activations(act: dict, W: dict, p: int, labels: np.ndarray, settings: dict) -> tuple[dict, dict]:
    """analyse() from the analysis checkpoint's activations (TransformerLens names, last position,
    x-major) and weights W: numpy only. Returns (summary parts, arrays)."""
    Ld = act["logits"][:, :p].astype(np.float64)
    post, mlp_out = act["mlp.hook_post"].astype(np.float64), act["hook_mlp_out"].astype(np.float64)

    keys, shares = mech.key_frequencies(Ld, p, settings["key_share"])
    emb_keys, emb_power = mech.embedding_frequencies(W["W_E"][:p])
    neu = mech.neuron_fve(post, p)
    W_L = W["W_out"] @ W["W_U"][:, :p]                                  # neuron -> digit logit
    rank, sv = mech.effective_rank(W_L)
    S = {"key_frequencies": keys, "key_labels": [fo.freq_label(k, p) for k in keys],
         "key_shares": {str(k): float(shares[k]) for k in keys},
         "key_rule": f"k is key when cos(w_k(x+y)) and sin(w_k(x+y)) carry >= {settings['key_share']:.0%} "
                     "of the centred digit logits' variance at the analysis checkpoint",
         "embedding_frequencies": emb_keys,
         "neurons": mech.clusters(neu["freq"], neu["fve"], keys, settings["fve_threshold"]),
         "logit_approx": mech.logit_approximation(Ld, p, keys, labels),
         "W_L_rank": rank, "W_L_singular_values": [float(v) for v in sv[:16]]}
    try:                        # the one frequency the story shows wherever it shows one
        story = mech.story_frequency(keys, p, settings.get("story_k"), shares)
    except ValueError as e:
        raise ExtractionError(f"--story-k {settings.get('story_k')}: {e} at the analysis epoch; pass one of "
                              "them, or leave --story-k out for the lowest") from None
    S["story"] = story
    story_k = story["k"]
    A = {"neurons": neu,
         "fourier": {"W_L_norms": fo.norms_1d(W_L.T),
                     "logit_norms_2d": np.linalg.norm(fo.transform_2d(Ld.reshape(p, p, p)), axis=2)},
         "activations": {k: act[k] for k in ("attn.hook_pattern", "hook_resid_mid", "mlp.hook_pre",
                                             "mlp.hook_post", "hook_mlp_out", "logits")}}

    # probes: residual stream after embedding + position, for the story frequency (no key
    # frequencies: the one --story-k names, else the strongest embedding frequency)
    k_probe = story_k or settings.get("story_k") or (emb_keys[0] if emb_keys else 1)
    xs = np.arange(p)
    R0, R1 = W["W_E"][:p] + W["W_pos"][0], W["W_E"][:p] + W["W_pos"][1]
    probe_S = {"k": k_probe, "label": fo.freq_label(k_probe, p), "learned": bool(keys),
               "why_k": story["rule"] if story_k else "no key frequencies: "
                        + ("named by --story-k" if settings.get("story_k") else "the strongest embedding frequency"),
               "rule": "relaxed Lasso on hook_embed + hook_pos_embed at position 0, at most "
                       f"{settings['probe_max_dims']} dimensions, fit at the analysis checkpoint"}
    probe_A = {"resid_pos0": R0, "resid_pos1": R1}
    for fn, f in (("cos", np.cos), ("sin", np.sin)):
        target = f(2 * np.pi * k_probe * xs / p)
        pr = sparse_probe(R0.astype(np.float64), target, settings["probe_max_dims"])
        probe_S[fn] = {"dims": [int(d) for d in pr["dims"]], "weights": [float(pr["weights"][d]) for d in pr["dims"]],
                       "bias": pr["bias"], "r2": pr["r2"], "alpha": pr["alpha"]}
        probe_A.update({f"{fn}_weights": pr["weights"], f"{fn}_bias": np.array(pr["bias"]),
                        f"{fn}_dims": np.array(pr["dims"], int), f"{fn}_target": target})
    S["probe"] = probe_S
    A["probes"] = probe_A

    # selections, each with its evidence or the reason none was found
    wave = mech.wave_neurons(post, p, keys, story_k=story_k)
    pair = mech.product_pair(post, p, keys, neu["freq"], neu["fve"], story_k=story_k)
    cr = mech.crest(mlp_out, p, keys, settings["T"], W["W_U"][:, :p])
    lg = mech.logit_surface(Ld, p, settings["output"])
    sel_A = {"logit_surface": lg.pop("surface"), "logit_maxima": np.array(lg["maxima"]),
             "attn_eq_pattern": act["attn.hook_pattern"][:, :, 0].reshape(p, p, -1).transpose(2, 0, 1)}
    if wave["found"]:
        sel_A.update({"wave_neurons": np.array(wave["neurons"]), "wave_sweeps": wave.pop("sweeps")})
    if pair["found"]:
        sel_A.update({"pair_neurons": np.array(pair["neurons"]), "pair_surfaces": pair.pop("surfaces"),
                      "trig_coscos": pair.pop("coscos"), "trig_sinsin": pair.pop("sinsin"),
                      "trig_sum": pair.pop("trig_sum")})
    if cr["found"]:
        sel_A.update({"crest_surface": cr.pop("surface"), "crest_direction": cr.pop("direction"),
                      "crest_points": np.array(cr["points"])})
    ids = list(dict.fromkeys((wave.get("neurons") or []) + (pair.get("neurons") or [])))
    decomps = {}
    if ids:
        surf = post.reshape(p, p, -1)[:, :, ids].transpose(2, 0, 1)
        sel_A.update({"neuron_ids": np.array(ids), "neuron_surfaces": surf})
        for i, s in zip(ids, surf):
            d = fo.decompose(s, 4)
            d.pop("reconstruction")
            decomps[str(i)] = d
    S["selections"] = {"wave_neurons": wave, "product_pair": pair, "crest": cr, "logit": lg,
                       "neuron_surfaces": {"neurons": ids, "featured": (pair.get("neurons") or ids or [None])[0],
                                           "decompositions": decomps}}
    A["selections"] = sel_A
    return S, A


def over_history(run: Run, cfg, epochs: list[int], S: dict, A: dict, batch: int = 8,
                 progress: bool = True) -> tuple[dict, dict]:
    """Every measure at every checkpoint, batched through the fast model. The checkpoints are
    read without checksums: the caller verifies the history once (Run.verify)."""
    p = cfg.p
    x, y = tasks.all_pairs(p)
    labels = torch.tensor(tasks.answers(cfg.op, x, y, p, cfg.a, cfg.b))
    sp = run.split()
    tr, te = torch.tensor(sp["train"]), torch.tensor(sp["test"])
    keys = S["key_frequencies"]
    U = torch.tensor(fo.sum_directions(p, keys), dtype=torch.float32) if keys else None   # [2K, p*p]
    F = fo.basis(p)
    sel = A["selections"]
    wave_ids = sel.get("wave_neurons")
    pair_ids = sel.get("pair_neurons")
    crest_dir = torch.tensor(sel["crest_direction"], dtype=torch.float32) if "crest_direction" in sel else None
    output = S["selections"]["logit"]["output"]
    pr = A["probes"]
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
    probe.update({f"{f}_r2": nan(C) for f in ("cos", "sin")})
    evo = {"epoch": np.array(epochs)}
    if wave_ids is not None:
        evo["wave_sweeps"] = np.zeros((C, len(wave_ids), p), np.float16)
    if pair_ids is not None:
        evo["pair_surfaces"] = np.zeros((C, 2, p, p), np.float16)
    if crest_dir is not None:
        evo["crest_surface"] = np.zeros((C, p, p), np.float16)
    evo["logit_surface"] = np.zeros((C, p, p), np.float16)

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
            Ld = logits[..., :p]
            if U is not None:
                for key, v in progress_losses(Ld, U, labels, tr, te).items():
                    cur[key][idx] = v.numpy()
            pat = cache["attn.hook_pattern"].mean(1).numpy()                       # [B, H, 3]
            cur["attn_eq_to_x"][idx], cur["attn_eq_to_y"][idx], cur["attn_eq_to_eq"][idx] = (
                pat[..., 0], pat[..., 1], pat[..., 2])
            post = cache["mlp.hook_post"]
            if wave_ids is not None:
                evo["wave_sweeps"][idx] = post[:, :p, wave_ids].transpose(1, 2).numpy()
            if pair_ids is not None:
                evo["pair_surfaces"][idx] = post[:, :, pair_ids].transpose(1, 2).reshape(B, 2, p, p).numpy()
            if crest_dir is not None:   # hook_mlp_out along one direction: post @ (W_out d) + b_out·d
                w_d = P["W_out"] @ crest_dir
                b_d = P["b_out"] @ crest_dir
                evo["crest_surface"][idx] = (torch.einsum("bnm,bm->bn", post, w_d) + b_d[:, None]).reshape(B, p, p).numpy()
            evo["logit_surface"][idx] = Ld[..., output].reshape(B, p, p).numpy()
        for i, w in zip(idx, ws):
            sq = [float((w[n].astype(np.float64) ** 2).sum()) for n in model.PARAM_NAMES]
            cur["sum_sq_by_matrix"][i] = sq
            cur["sum_sq_weights"][i] = sum(sq)
            w64 = {n: w[n].astype(np.float64) for n in ("W_E", "W_out", "W_U")}
            embed_norms[i] = fo.norms_1d(w64["W_E"][:p], F)
            cur["gini_W_E"][i] = phases.gini(embed_norms[i])
            cur["gini_W_L"][i] = phases.gini(fo.norms_1d((w64["W_out"] @ w64["W_U"][:, :p]).T, F))
            for f in ("cos", "sin"):
                for pos, key in ((0, "out"), (1, "out_pos1")):
                    probe[f"{f}_{key}"][i] = (w["W_E"][:p] + w["W_pos"][pos]) @ pr[f"{f}_weights"] + pr[f"{f}_bias"]
                probe[f"{f}_r2"][i] = r2(probe[f"{f}_out"][i], pr[f"{f}_target"])
        if bar is not None:
            bar.update(B)
    if bar is not None:
        bar.close()
    cur["key_freqs"] = np.array(keys, int)
    cur["matrix_names"] = np.array(model.PARAM_NAMES)
    return cur, {"embed_norms": embed_norms, "probe": probe, "evolution": evo}


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
            f"'render.py train --run {run_name}' or pass --partial to extract what is there")
    epochs = run.checkpoint_epochs()
    analysis_epoch = check_settings(run, analysis_epoch, T, output)
    settings = settings_for(cfg, analysis_epoch, T, output, story_k)
    out = paths.confined(assets_root or ASSETS_DIR, run_name)
    clean_swaps(out)                                   # what a killed extraction left next to it
    state, why = status(run_name, runs_root, assets_root, analysis_epoch=analysis_epoch, T=T, output=output,
                        story_k=story_k)
    if state == "up to date" and not force:
        return {"skipped": True, "dir": str(out)}

    problems = run.verify()
    if problems:
        raise ExtractionError(f"run {run_name!r} is damaged: {problems[0]}"
                              + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                              + f"; retrain it with 'render.py train --run {run_name} --force'")
    S, A = analyse(run.load_checkpoint(analysis_epoch, verify=False), cfg, settings)
    cur, hist = over_history(run, cfg, epochs, S, A, progress=progress)

    metrics = run.metrics()
    ep = np.array(epochs)
    cur.update({"epoch": ep, **{k: metrics[k][ep] for k in ("train_loss", "test_loss", "train_acc", "test_acc")},
                "all_epoch": np.arange(len(metrics["train_loss"])),
                **{f"all_{k}": v for k, v in metrics.items()}})
    ph = phases.locate(metrics["train_acc"], metrics["test_acc"], metrics["test_loss"], ep, cur["excluded_loss"])
    ms = m["milestones"]
    final = {k: float(metrics[k][m["epochs_done"]]) for k in ("train_loss", "test_loss", "train_acc", "test_acc")}
    summary = {
        "run": run_name,
        "task": {k: getattr(cfg, k) for k in ("p", "op", "a", "b", "frac", "seed", "epochs",
                                              "d_model", "d_mlp", "n_heads")},
        "epochs_done": m["epochs_done"], "n_checkpoints": len(epochs),
        "analysis_epoch": analysis_epoch, "grokked": m["grokked"], "milestones": ms,
        "phases": ph, **S, "final": final,
    }
    if cfg.op != "add":
        summary["note"] = ("the sum directions, crest and logit maxima describe (x + y) mod p; for op "
                           f"{cfg.op!r} they need not apply")
    if not m["grokked"]:
        summary["note"] = summary.get("note", "") + "this run never reached 99% test accuracy (not grokked)"

    files = {
        "curves": cur,
        "fourier": {"basis": fo.basis(cfg.p), "basis_labels": np.array(fo.basis_labels(cfg.p)),
                    "embed_norms": hist["embed_norms"], **A["fourier"]},
        "neurons": A["neurons"],
        "probes": {**A["probes"], **hist["probe"]},
        "selections": A["selections"],
        "evolution": hist["evolution"],
        "activations": A["activations"],
        "toy": {**tasks.toy_table(5)},
    }
    summary["extraction_seconds"] = round(time.perf_counter() - t0, 1)
    _write(out, files, summary, {
        "format": FORMAT, "run": run_name, "run_fingerprint": run.fingerprint(),
        "analysis_epoch": analysis_epoch, "settings": settings, "code_version": code_version(),
        "versions": versions(), "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
    return {"skipped": False, "dir": str(out), "summary": summary, "why": why}


def _swap_names(out: Path, pid: int) -> tuple[Path, Path]:
    """The folders a swap uses next to assets/<run>: its own per process, so two never share."""
    return out.with_name(f".{out.name}.tmp{pid}"), out.with_name(f".{out.name}.old{pid}")


def clean_swaps(out: Path):
    """Remove the swap folders of extractions that were killed (their process is gone), after
    checking that they hold only extraction's files."""
    pattern = re.compile(re.escape(f".{out.name}.") + r"(tmp|old)(\d*)")
    for d in out.parent.iterdir() if out.parent.is_dir() else ():
        m = pattern.fullmatch(d.name)
        if m and d.is_dir() and not d.is_symlink() and not (m[2] and paths.pid_alive(int(m[2]))):
            paths.remove_owned(d, owned(d), ExtractionError, f"Move it out of {out.parent}/.")


def _write(out: Path, files: dict, summary: dict, manifest: dict):
    """Write into a fresh folder, then swap it in: readers never see a half-written assets dir.
    The folder replaced is removed only when it holds extraction's own files."""
    tmp, old = _swap_names(out, os.getpid())
    for mine in (tmp, old):          # a leftover of an earlier process that had our pid
        paths.remove_owned(mine, owned(mine), ExtractionError, f"Move it out of {out.parent}/.")
    tmp.mkdir(parents=True)
    fix = f"Move what you keep out of {out}/ (or choose another --run name) and extract again."
    try:
        shas, arrays_sha = {}, {}
        for name, arrays in files.items():
            shas[f"{name}.npz"] = atomic_write_bytes(tmp / f"{name}.npz", npz_bytes(arrays))
            arrays_sha[f"{name}.npz"] = {k: array_sha(v) for k, v in arrays.items()}
        shas["summary.json"] = write_json(tmp / "summary.json", _jsonable(summary))
        shas["summary.md"] = atomic_write_bytes(tmp / "summary.md", summary_md(summary).encode())
        # one hash per array: a figure or scene that read only some arrays is stale only when those change
        write_json(tmp / "manifest.json", {**manifest, "files": shas, "arrays": arrays_sha})
        if out.exists() or out.is_symlink():
            bad = paths.stranger(out, owned(out))
            if bad is not None:
                raise ExtractionError(f"{out} holds {bad}, which extraction did not write; not replacing it. {fix}")
            out.rename(old)
        tmp.rename(out)
    except BaseException:       # disk full, Ctrl-C, a stranger: leave the old assets as they were
        if old.exists() and not out.exists():
            old.rename(out)
        shutil.rmtree(tmp, ignore_errors=True)     # this process's own fresh folder
        raise
    paths.remove_owned(old, owned(old), ExtractionError, fix)


def array_sha(a) -> str:
    a = np.ascontiguousarray(a)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()[:16]


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return o


def summary_md(s: dict) -> str:
    t = s["task"]
    sel = s["selections"]
    n = s["neurons"]
    la = s["logit_approx"]
    ph = s["phases"]
    lines = [f"# {s['run']}: {t['op']} mod {t['p']}, seed {t['seed']}, {s['epochs_done']} epochs",
             "", f"- grokked: {'yes' if s['grokked'] else 'no'} (train 100% at epoch {s['milestones']['train_100']}, "
             f"test >= 99% at epoch {s['milestones']['test_99']})",
             f"- phases: memorised {ph['memorised']}, memorisation ends {ph['memorisation_end']}, "
             f"clean-up {ph['cleanup_start']}-{ph['cleanup_end']}, grokked {ph['grokked']}",
             f"- key frequencies (analysis epoch {s['analysis_epoch']}): "
             + (", ".join(f"k={k} ({lab}, {s['key_shares'][str(k)]:.0%} of logit variance)"
                          for k, lab in zip(s["key_frequencies"], s["key_labels"])) or "none"),
             f"- story frequency: " + (f"k={s['story']['k']} ({s['story']['label']}): {s['story']['rule']}"
                                       if (s.get("story") or {}).get("k") else "none (no key frequencies)"),
             f"- embedding frequencies: {s['embedding_frequencies']}",
             f"- neurons with FVE >= {n['fve_threshold']}: {n['n_clustered']} of {n['n']} ({n['share_clustered']:.0%}); "
             f"clusters {n['clusters']}",
             f"- logit approximation: explains {la['explained_variance']:.1%} of the logit variance; loss "
             f"{la['loss']} vs the model's {la['model_loss']:.3g}",
             f"- W_L effective rank: {s['W_L_rank']}",
             f"- probe k={s['probe']['k']} ({s['probe']['label']}): cos dims {s['probe']['cos']['dims']} "
             f"(R² {s['probe']['cos']['r2']:.3f}), sin dims {s['probe']['sin']['dims']} (R² {s['probe']['sin']['r2']:.3f})",
             "", "## Selections", ""]
    for name, v in sel.items():
        if name == "neuron_surfaces":
            continue
        if v.get("found"):
            keep = {k: v[k] for k in v if k not in ("found", "candidates", "broader_rejected", "tried")
                    and not isinstance(v[k], (np.ndarray,))}
            lines.append(f"- {name}: " + json.dumps(_jsonable(keep)))
        else:
            lines.append(f"- {name}: none found ({v.get('reason')})")
    for i, d in sel["neuron_surfaces"]["decompositions"].items():
        lines.append(f"- neuron {i}: {d['formula']} (+ mean {d['mean']:.2f}; top terms explain {d['explained']:.0%})")
    if s.get("note"):
        lines += ["", f"Note: {s['note']}"]
    return "\n".join(lines) + "\n"
