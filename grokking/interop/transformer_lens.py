"""TransformerLens out: the project's checkpoint arrays under HookedTransformer's names.

The project already stores TransformerLens shapes (training/model.py), so the mapping is a
renaming plus the biases the model does not have, written as zeros:

    W_E   -> embed.W_E [d_vocab, d_model]        W_pos -> pos_embed.W_pos [n_ctx, d_model]
    W_Q, W_K, W_V -> blocks.0.attn.W_Q ... [H, d_model, d_head]   W_O -> blocks.0.attn.W_O [H, d_head, d_model]
    W_in, b_in, W_out, b_out -> blocks.0.mlp.*   W_U -> unembed.W_U [d_model, d_vocab_out]
    zeros: blocks.0.attn.b_Q, b_K, b_V [H, d_head], blocks.0.attn.b_O [d_model], unembed.b_U [d_vocab_out]

HookedTransformer needs transformer_lens 2.x or 3.x (4.x removed it); tested with 3.9.0, which
the `lens` extra pins. Inputs are [x, y, =] with '=' the token p; the answer is read at the last
position.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from grokking.common.io import atomic_write_bytes, write_json
from grokking.training.config import Config

from .errors import InteropError

TESTED = "3.9.0"
WORKS = ">=2,<4"            # the versions with HookedTransformer and these state-dict names
INSTALL = "pip install -e '.[lens]' (pins transformer_lens==3.9.0), or any transformer_lens>=2,<4"

# project name -> TransformerLens state-dict key (one layer)
TL_KEYS = {"W_E": "embed.W_E", "W_pos": "pos_embed.W_pos",
           "W_Q": "blocks.0.attn.W_Q", "W_K": "blocks.0.attn.W_K", "W_V": "blocks.0.attn.W_V",
           "W_O": "blocks.0.attn.W_O",
           "W_in": "blocks.0.mlp.W_in", "b_in": "blocks.0.mlp.b_in",
           "W_out": "blocks.0.mlp.W_out", "b_out": "blocks.0.mlp.b_out",
           "W_U": "unembed.W_U"}
# biases TransformerLens has and this model does not (always zero here)
ZERO_BIASES = ("blocks.0.attn.b_Q", "blocks.0.attn.b_K", "blocks.0.attn.b_V", "blocks.0.attn.b_O",
               "unembed.b_U")
# what an export folder holds (anything else in OUT is someone else's: refused)
EXPORT_FILES = ("config.json", "grokking.json", "model.safetensors", "model.pt")


def hooked_config(cfg: Config) -> dict:
    """The keyword arguments of HookedTransformerConfig for a run's model (plain JSON)."""
    return {"n_layers": 1, "n_heads": cfg.n_heads, "d_model": cfg.d_model, "d_head": cfg.d_head,
            "d_mlp": cfg.d_mlp, "act_fn": "relu", "normalization_type": None,
            "d_vocab": cfg.d_vocab, "d_vocab_out": cfg.d_vocab_out, "n_ctx": cfg.n_ctx}


def _bias_shapes(W: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    H, d, dh = W["W_Q"].shape
    return {"blocks.0.attn.b_Q": (H, dh), "blocks.0.attn.b_K": (H, dh), "blocks.0.attn.b_V": (H, dh),
            "blocks.0.attn.b_O": (d,), "unembed.b_U": (W["W_U"].shape[1],)}


def to_transformer_lens(W: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A checkpoint's arrays as a TransformerLens state dict (float32, zero biases added)."""
    sd = {TL_KEYS[n]: np.ascontiguousarray(W[n], dtype=np.float32) for n in TL_KEYS}
    sd.update({k: np.zeros(s, np.float32) for k, s in _bias_shapes(W).items()})
    return sd


def from_transformer_lens(sd: dict[str, np.ndarray], where: str = "the state dict") -> dict[str, np.ndarray]:
    """The project's arrays from a one-layer TransformerLens state dict; refused when it has
    weights this model lacks (a nonzero attention or unembed bias, a layer norm, a second layer)."""
    missing = [k for k in TL_KEYS.values() if k not in sd]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InteropError(f"{where} lacks {missing[0]}{more}: not a one-layer TransformerLens model of this task")
    extra = [k for k in sd if k not in TL_KEYS.values() and k not in ZERO_BIASES
             and not k.endswith((".mask", ".IGNORE"))]
    if extra:
        raise InteropError(f"{where} has {extra[0]}, which this project's model does not have (one layer, no "
                           f"layer norm); only such models can be imported")
    for k in ZERO_BIASES:
        if k in sd and np.abs(np.asarray(sd[k], np.float64)).max(initial=0.0) != 0.0:
            raise InteropError(f"{where}: {k} is not zero (max |b| = {np.abs(sd[k]).max():.3g}); this project's "
                               f"model has no attention or unembed biases, so it cannot represent it")
    return {n: np.asarray(sd[k], np.float32) for n, k in TL_KEYS.items()}


# ---- export ------------------------------------------------------------------------------------

def export(run_name: str, out: Path, epoch: int | None = None, fmt: str = "safetensors",
           runs_root: Path | None = None) -> dict:
    """Write runs/<run>'s checkpoint at `epoch` (default: the last) as a TransformerLens state
    dict (OUT/model.safetensors or a weights-only OUT/model.pt), OUT/config.json (the keyword
    arguments of HookedTransformerConfig) and OUT/grokking.json (where it came from). OUT is
    written whole or not at all, and only replaced when it holds nothing but such files."""
    from grokking.training.history import Run
    run = Run(run_name, runs_root)
    m = run.manifest
    epochs = run.checkpoint_epochs()
    epoch = epochs[-1] if epoch is None else epoch
    if epoch not in epochs:
        raise InteropError(f"run {run_name!r} has no checkpoint at epoch {epoch}; it has {len(epochs)} "
                           f"between {epochs[0]} and {epochs[-1]} (pass one of them to --epoch)")
    out = Path(out)
    _check_out(out)
    cfg = run.config
    sd = to_transformer_lens(run.load_checkpoint(epoch))
    weights = _serialise(sd, fmt, {"run": run_name, "epoch": str(epoch)})
    info = {"run": run_name, "epoch": epoch, "run_id": m.get("run_id"), "fingerprint": run.fingerprint(),
            "task": {k: getattr(cfg, k) for k in ("p", "op", "a", "b", "frac", "seed")},
            "tokens": f"inputs [x, y, =], digits 0..{cfg.p - 1}, '=' is token {cfg.p}; read the last position",
            "load": "HookedTransformer(HookedTransformerConfig(**json.load(open('config.json')))) then "
                    "load_state_dict(state dict, strict=False): mask and IGNORE are the model's own buffers",
            "transformer_lens": f"{WORKS} (tested {TESTED})"}
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        atomic_write_bytes(tmp / f"model.{'safetensors' if fmt == 'safetensors' else 'pt'}", weights)
        write_json(tmp / "config.json", hooked_config(cfg))
        write_json(tmp / "grokking.json", info)
        if out.exists():
            shutil.rmtree(out)                  # _check_out: nothing but an earlier export's files
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"dir": str(out), "epoch": epoch, "files": sorted(f.name for f in out.iterdir())}


def _check_out(out: Path):
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise InteropError(f"{out} exists and is not a folder; pass a new folder name as OUT")
    if out.is_dir():
        strangers = sorted(f.name for f in out.iterdir() if f.name not in EXPORT_FILES)
        if strangers:
            raise InteropError(f"{out} holds {strangers[0]}, which an export did not write; pass a new or "
                               f"empty folder as OUT")


def _serialise(sd: dict[str, np.ndarray], fmt: str, meta: dict[str, str]) -> bytes:
    import torch
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}
    if fmt == "pt":
        import io
        buf = io.BytesIO()
        torch.save(tensors, buf)                 # a dict of tensors: torch.load(weights_only=True) reads it
        return buf.getvalue()
    if fmt != "safetensors":
        raise InteropError(f"unknown format {fmt!r}; choose safetensors or pt")
    try:
        from safetensors.torch import save
    except ImportError:
        raise InteropError(f"safetensors is not installed: {INSTALL}, or pass --format pt") from None
    return save(tensors, metadata=meta)


def load_export(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(HookedTransformerConfig keyword arguments, state dict) of an export folder, no pickle."""
    folder = Path(folder)
    cfg = json.loads((folder / "config.json").read_text())
    if (folder / "model.safetensors").exists():
        from safetensors.numpy import load_file
        return cfg, load_file(str(folder / "model.safetensors"))
    import torch
    sd = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    return cfg, {k: v.numpy() for k, v in sd.items()}


# ---- a ready HookedTransformer -----------------------------------------------------------------

def transformer_lens_module():
    """transformer_lens itself, or InteropError saying which versions work and how to get one."""
    try:
        import transformer_lens as tl
    except ImportError:
        raise InteropError(f"transformer_lens is not installed; HookedTransformer needs transformer_lens "
                           f"{WORKS} (tested {TESTED}): {INSTALL}") from None
    from importlib.metadata import PackageNotFoundError, version
    try:
        have = version("transformer_lens")
    except PackageNotFoundError:
        have = getattr(tl, "__version__", "unknown")
    if not hasattr(tl, "HookedTransformer") or have.split(".")[0].isdigit() and int(have.split(".")[0]) >= 4:
        raise InteropError(f"transformer_lens {have} has no HookedTransformer (4.x removed it); install "
                           f"transformer_lens {WORKS} (tested {TESTED}): {INSTALL}")
    return tl


def hooked_transformer(run_name: str, epoch: int | None = None, device: str = "cpu",
                       runs_root: Path | None = None):
    """A HookedTransformer holding runs/<run>'s weights at `epoch` (default: the last checkpoint),
    in eval mode. Needs transformer_lens 2.x or 3.x; InteropError says so otherwise."""
    import warnings

    import torch

    from grokking.training.history import Run
    tl = transformer_lens_module()
    run = Run(run_name, runs_root)
    epochs = run.checkpoint_epochs()
    epoch = epochs[-1] if epoch is None else epoch
    W = run.load_checkpoint(epoch)
    with warnings.catch_warnings():          # 3.x announces HookedTransformer's deprecation in favour of 4.x
        warnings.simplefilter("ignore", DeprecationWarning)
        model = tl.HookedTransformer(tl.HookedTransformerConfig(**hooked_config(run.config), device=device,
                                                                init_weights=False))
    sd = model.state_dict()
    sd.update({k: torch.from_numpy(v) for k, v in to_transformer_lens(W).items()})
    model.load_state_dict(sd)
    return model.eval()
