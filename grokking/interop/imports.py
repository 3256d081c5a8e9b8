"""Checkpoint histories trained elsewhere -> an ordinary run directory (runs/<run>/, the history
format of training/history.py), so `grokking all --run R` extracts, draws and renders it.

Two foreign formats, both single files written by torch.save:

transformer-lens-demo: TransformerLens's demos/Grokking_Demo.ipynb (`torch.save({...}, PTH_LOCATION)`):
    model              state dict (TransformerLens names) after the last step, len(train_losses) steps
    checkpoints        [state dict], the weights after checkpoint_epochs[i] + 1 steps (saved after the step)
    checkpoint_epochs  [int], the loop index at which each was saved
    train_losses       [float], entry i measured on the weights after i steps (before step i)
    test_losses        [float], entry i measured after step i: on the weights after i + 1 steps
    train_indices, test_indices   1-D int tensors into the x-major p*p grid (i = x*p + y), unsorted
    config             a HookedTransformerConfig object: pickled, so read only with --trust-pickle
  Its state dicts must have zero attention and unembed biases (the demo freezes them at zero).

paper: the progress-measures paper's full_run_data.pth (its Grokking_Analysis notebook), in its
own names and layouts:
    state_dicts   [state dict]: embed.W_E [d_model, d_vocab], pos_embed.W_pos [n_ctx, d_model],
                  blocks.0.attn.W_Q / W_K / W_V [H, d_head, d_model], blocks.0.attn.W_O [d_model, H*d_head],
                  blocks.0.attn.mask, blocks.0.mlp.W_in [d_mlp, d_model], blocks.0.mlp.b_in [d_mlp],
                  blocks.0.mlp.W_out [d_model, d_mlp], blocks.0.mlp.b_out [d_model], unembed.W_U [d_model, d_vocab]
    epochs        [int], one per state dict
    train_losses, test_losses   [float], entry i measured on the weights after i steps (before step i)
    config        optional: its Config (frac_train, seed, lr, weight_decay, fn_name); pickled unless a dict
  The split is not stored: the paper's code draws it with random.seed(seed); random.shuffle(the x-major
  pairs); the first int(frac_train * p*p) train. --frac/--seed (or the config) give it.

What is not in the file is never guessed silently:
  * the split: the file's indices; else the format's rule with --frac/--seed (or the file's config);
    else recovered from the losses (the per-example losses at the checkpoint where recorded train and
    test loss differ most, split where the recorded means are met). Any split is then checked against
    every recorded loss at every checkpoint and refused when it does not reproduce them.
  * which step a checkpoint holds (a label may count steps before or after its step): both readings
    are checked against the recorded losses and the one that reproduces them is kept.
  * accuracies (neither format records them) are computed at every checkpoint; between
    measurements train metrics hold their last value (the format has them at every epoch) and test
    metrics are NaN (as the trainer writes them); epochs before a metric's first measurement (the
    demo's epoch 0) take that first value. The manifest's `imported` entry says all of this.
Files are read with torch.load(weights_only=True); one that needs unpickling is refused naming the
object, unless --trust-pickle (then classes that cannot be imported load as empty stand-ins).
"""
from __future__ import annotations

import os
import pickle
import random
import re
import shutil
import time
import types
import uuid
from pathlib import Path

import numpy as np

from grokking.common.io import write_json, write_npz
from grokking.training import history, model, tasks
from grokking.common import paths
from grokking.training.config import Config

from .errors import InteropError
from .transformer_lens import from_transformer_lens

FORMATS = ("transformer-lens-demo", "paper")
# a split or step reading "reproduces" a recorded loss within this (float32 forward vs the original's)
RTOL, ATOL = 1e-3, 1e-6
SPLIT_RULES = {"transformer-lens-demo": "torch.manual_seed(seed); torch.randperm(p*p); the first int(p*p*frac) train",
               "paper": "random.seed(seed); random.shuffle(x-major pairs); the first int(frac*p*p) train"}


# ---- reading -----------------------------------------------------------------------------------

def load(source: Path, trust_pickle: bool = False):
    """The object torch.save wrote, read without unpickling code (or with, when trusted)."""
    import torch
    source = Path(source)
    if not source.is_file():
        raise InteropError(f"{source} is not a file; pass the .pth file the foreign code saved")
    _check_size(source)
    if trust_pickle:
        return torch.load(source, map_location="cpu", weights_only=False, pickle_module=_LENIENT)
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        m = re.search(r"GLOBAL ([\w.]+)", str(e))
        what = m[1] if m else str(e).splitlines()[0][:120]
        raise InteropError(f"{source} needs unpickling to read {what} (a Python object, and unpickling can run "
                           f"code); if you trust the file, pass --trust-pickle") from None
    except MemoryError:
        raise InteropError(f"{source} does not fit in this machine's memory; import it on a larger machine") from None
    except Exception as e:  # noqa: BLE001  an empty, text or torn file fails anywhere inside unpickling
        why = (str(e).strip().splitlines() or [type(e).__name__])[0][:100]
        raise InteropError(f"{source} is not a file torch.save wrote ({type(e).__name__}: {why}); pass the .pth "
                           f"file the foreign code saved") from None


def _check_size(source: Path):
    """Refused before loading: a file that, read into memory, would not fit (torch.load holds it all)."""
    from grokking.training import budget
    size, ram = source.stat().st_size, budget.physical_memory()
    if size == 0:
        raise InteropError(f"{source} is empty; pass the .pth file the foreign code saved")
    if ram is not None and 2 * size > ram:
        raise InteropError(f"{source} is {budget._size(size)}; loading it would need about {budget._size(2 * size)} "
                           f"of memory, this machine has {budget._size(ram)}: import it on a larger machine")


class _Stub:
    """Stands in for a class the trusted file names but this environment cannot import."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state):
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.state = state


class _LenientUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            return type(name, (_Stub,), {"__module__": module})


_LENIENT = types.SimpleNamespace(Unpickler=_LenientUnpickler, load=lambda f, **kw: _LenientUnpickler(f, **kw).load(),
                                 __name__="pickle")


def detect(obj) -> str:
    if isinstance(obj, dict) and "checkpoints" in obj and "checkpoint_epochs" in obj:
        return "transformer-lens-demo"
    if isinstance(obj, dict) and "state_dicts" in obj and "epochs" in obj:
        return "paper"
    keys = sorted(map(str, obj))[:8] if isinstance(obj, dict) else type(obj).__name__
    raise InteropError(f"not a checkpoint history this project reads (found {keys}); it reads the TransformerLens "
                       f"Grokking demo's file (checkpoints, checkpoint_epochs, ...) and the paper's full_run_data.pth "
                       f"(state_dicts, epochs, ...)")


def _np(v) -> np.ndarray:
    return v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)


def from_paper(sd: dict, where: str = "the state dict") -> dict[str, np.ndarray]:
    """The project's arrays from a state dict in the paper's names and layouts."""
    need = ("embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.0.attn.W_K", "blocks.0.attn.W_V",
            "blocks.0.attn.W_O", "blocks.0.mlp.W_in", "blocks.0.mlp.b_in", "blocks.0.mlp.W_out",
            "blocks.0.mlp.b_out", "unembed.W_U")
    lacks = [k for k in need if k not in sd]
    if lacks:
        raise InteropError(f"{where} lacks {lacks[0]}: not a state dict of the paper's one-layer model")
    extra = [k for k in sd if k not in need and not k.endswith(".mask")]
    if extra:
        raise InteropError(f"{where} has {extra[0]}, which this project's model does not have (one layer, "
                           f"no layer norm); only such models can be imported")
    g = {k: _np(sd[k]).astype(np.float32) for k in need}
    H = g["blocks.0.attn.W_Q"].shape[0]
    d = g["embed.W_E"].shape[0]
    return {"W_E": g["embed.W_E"].T, "W_pos": g["pos_embed.W_pos"],
            "W_Q": g["blocks.0.attn.W_Q"].transpose(0, 2, 1), "W_K": g["blocks.0.attn.W_K"].transpose(0, 2, 1),
            "W_V": g["blocks.0.attn.W_V"].transpose(0, 2, 1),
            # [d_model, (head d_head)] -> [head, d_head, d_model]
            "W_O": g["blocks.0.attn.W_O"].reshape(d, H, -1).transpose(1, 2, 0),
            "W_in": g["blocks.0.mlp.W_in"].T, "b_in": g["blocks.0.mlp.b_in"],
            "W_out": g["blocks.0.mlp.W_out"].T, "b_out": g["blocks.0.mlp.b_out"], "W_U": g["unembed.W_U"]}


def _attrs(obj) -> dict:
    if obj is None:
        return {}
    return dict(obj) if isinstance(obj, dict) else dict(getattr(obj, "__dict__", {}))


def parse(obj, fmt: str, source="the file") -> dict:
    """parse_history, with a malformed entry (a number where a list belongs, text where a loss
    does) refused in one line naming it rather than failing somewhere inside."""
    try:
        f = parse_history(obj, fmt)
    except InteropError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
        raise InteropError(f"{source} is a malformed {fmt} file ({_malformed(obj, fmt) or type(e).__name__ + ': ' + str(e)[:100]}); "
                           f"it cannot be imported") from None
    check_checkpoints(f, source)
    return f


def _malformed(obj, fmt: str) -> str | None:
    """The first entry of a foreign history that is not of its documented kind, or None."""
    lists = ("checkpoints", "checkpoint_epochs") if fmt == "transformer-lens-demo" else ("state_dicts", "epochs")
    for k in lists:
        if not isinstance(obj.get(k), (list, tuple)):
            return f"{k} is a {type(obj.get(k)).__name__}, not a list"
    for k in ("train_losses", "test_losses"):
        v = obj.get(k)
        if v is None:
            continue
        try:
            np.asarray(v, np.float64)
        except (TypeError, ValueError):
            return f"{k} is not a list of numbers"
    sds = obj[lists[0]]
    bad = next((i for i, sd in enumerate(sds) if not isinstance(sd, dict)), None)
    if bad is not None:
        return f"{lists[0]}[{bad}] is a {type(sds[bad]).__name__}, not a state dict"
    return None


def check_checkpoints(f: dict, source) -> None:
    """Every checkpoint one model of this task, finite: the same shapes as the last checkpoint's,
    which must themselves fit together (W_E [d_vocab, d_model], W_pos [3, d_model], ...); refused
    naming the checkpoint and the tensor."""
    items = list(f["ckpts"]) + ([("model", f["final"])] if f["final"] is not None else [])
    if not items:
        raise InteropError(f"{source} holds no checkpoints")
    W = items[-1][1]
    try:
        d_vocab, d_model = W["W_E"].shape
        H, _, d_head = W["W_Q"].shape
        d_mlp, d_out = W["W_in"].shape[1], W["W_U"].shape[1]
    except ValueError:
        raise InteropError(f"{source}: {_where(items[-1][0])}: W_E or W_Q has the wrong number of dimensions "
                           f"({W['W_E'].shape}, {W['W_Q'].shape}); not this project's one-layer model") from None
    if d_out not in (d_vocab - 1, d_vocab):
        raise InteropError(f"{source}: {_where(items[-1][0])}: W_U has {d_out} outputs and W_E {d_vocab} tokens; "
                           f"this project reads models of p digits and '=' with p or p + 1 outputs")
    want = {"W_E": (d_vocab, d_model), "W_pos": (3, d_model), "W_Q": (H, d_model, d_head),
            "W_K": (H, d_model, d_head), "W_V": (H, d_model, d_head), "W_O": (H, d_head, d_model),
            "W_in": (d_model, d_mlp), "b_in": (d_mlp,), "W_out": (d_mlp, d_model), "b_out": (d_model,),
            "W_U": (d_model, d_out)}
    for lab, w in items:
        where = _where(lab)
        for k, shape in want.items():
            got = tuple(w[k].shape)
            if got != shape:
                raise InteropError(f"{source}: {where}: {k} has shape {got}, expected {shape} (d_vocab {d_vocab}, "
                                   f"d_model {d_model}, {H} heads of {d_head}, d_mlp {d_mlp}, 3 positions, as "
                                   f"{_where(items[-1][0])}); every checkpoint must be one model of this task, "
                                   f"in its documented layout")
            if not np.isfinite(w[k]).all():
                bad = int((~np.isfinite(w[k])).sum())
                raise InteropError(f"{source}: {where}: {k} holds {bad} non-finite value{'s' * (bad > 1)} (NaN or "
                                   f"infinity); a history with a diverged checkpoint cannot be imported (drop that "
                                   f"checkpoint from the file, or import an earlier save)")


def _where(label) -> str:
    return f"checkpoint {label}" if label != "model" else "its final 'model'"


def check_memory(W: dict, n_ckpts: int, source):
    """Refused before the checkpoints are evaluated over every input pair when that would not fit
    in memory (as `train` refuses: budget.py): the labels and pairs, per-example losses of every
    checkpoint, and a batch's activations."""
    from grokking.training import budget
    p = W["W_E"].shape[0] - 1
    d_out, d_mlp, d_model = W["W_U"].shape[1], W["W_in"].shape[1], W["W_E"].shape[1]
    pairs = p * p
    batch = min(8, n_ckpts)
    need = pairs * (3 * 8 + n_ckpts * 9 + batch * (4 * 3 * d_out + 8 * 2 * d_out + 4 * (2 * d_mlp + 6 * d_model)))
    ram = budget.physical_memory()
    if ram is not None and need > ram:
        raise InteropError(f"{source}: checking its {n_ckpts} checkpoints of p = {p} ({pairs:,} input pairs) against "
                           f"its losses would need about {budget._size(need)} of memory, this machine has "
                           f"{budget._size(ram)}; import it on a larger machine")


def parse_history(obj, fmt: str) -> dict:
    """A foreign history in the project's terms: labelled checkpoints (project arrays), recorded
    losses per epoch (train[k], test[k] measured on the weights after k steps, NaN unknown), the
    split if stored, the config entries the file has, and what each checkpoint label means."""
    if fmt == "transformer-lens-demo":
        sds = list(obj["checkpoints"])
        labels = [int(e) for e in obj["checkpoint_epochs"]]
        if len(sds) != len(labels):
            raise InteropError(f"the file has {len(sds)} checkpoints but {len(labels)} checkpoint_epochs")
        ckpts = [(lab, from_transformer_lens({k: _np(v) for k, v in sd.items()}, f"checkpoint {lab}"))
                 for lab, sd in zip(labels, sds)]
        tr, te = _losses(obj, shift_test=1)
        n_steps = len(obj.get("train_losses") or ()) or None
        final = (from_transformer_lens({k: _np(v) for k, v in obj["model"].items()}, "model")
                 if "model" in obj and n_steps else None)
        split = None
        if "train_indices" in obj and "test_indices" in obj:
            split = (np.sort(_np(obj["train_indices"]).astype(np.int64)),
                     np.sort(_np(obj["test_indices"]).astype(np.int64)))
        return {"ckpts": ckpts, "offsets": (1, 0), "train": tr, "test": te, "final": final, "n_steps": n_steps,
                "split": split, "config": _attrs(obj.get("config"))}
    sds = list(obj["state_dicts"])
    labels = [int(e) for e in obj["epochs"]]
    if len(sds) != len(labels):
        raise InteropError(f"the file has {len(sds)} state_dicts but {len(labels)} epochs")
    ckpts = [(lab, from_paper(sd, f"state dict of epoch {lab}")) for lab, sd in zip(labels, sds)]
    tr, te = _losses(obj, shift_test=0)
    return {"ckpts": ckpts, "offsets": (0, 1), "train": tr, "test": te, "final": None, "n_steps": None,
            "split": None, "config": _attrs(obj.get("config"))}


def _losses(obj, shift_test: int) -> tuple[np.ndarray, np.ndarray]:
    """Recorded losses as per-epoch arrays in the project's convention (index = steps taken)."""
    tr = np.asarray(obj.get("train_losses") or [], np.float64)
    te_raw = np.asarray(obj.get("test_losses") or [], np.float64)
    n = max(len(tr), len(te_raw) + shift_test)
    out_tr, out_te = np.full(n, np.nan), np.full(n, np.nan)
    out_tr[:len(tr)] = tr
    out_te[shift_test:shift_test + len(te_raw)] = te_raw
    return out_tr, out_te


# ---- the task, the split, the steps ------------------------------------------------------------

def task_config(W: dict[str, np.ndarray], foreign_cfg: dict, n_train: int, seed: int | None, epochs: int) -> Config:
    d_vocab, d_model = W["W_E"].shape
    H, _, d_head = W["W_Q"].shape
    p = d_vocab - 1
    d_out = W["W_U"].shape[1]
    if d_out not in (p, p + 1):
        raise InteropError(f"the unembedding has {d_out} outputs; this project reads models of p = {p} "
                           f"with p or p + 1 outputs")
    op = {"add": "add", "subtract": "sub"}.get(str(foreign_cfg.get("fn_name", "add")))
    if op is None:
        raise InteropError(f"the file's task is {foreign_cfg.get('fn_name')!r}; this project imports add and "
                           f"subtract only")
    frac = n_train / (p * p)
    while int(frac * p * p) < n_train:          # the split's size must come back out of frac
        frac = float(np.nextafter(frac, 1.0))
    known = {k: float(foreign_cfg[k]) for k in ("lr", "weight_decay") if k in foreign_cfg}
    return Config(p=p, op=op, frac=frac, seed=seed or 0, d_model=d_model, n_heads=H, d_head=d_head,
                  d_mlp=W["W_in"].shape[1], n_ctx=W["W_pos"].shape[0], unembed_eq=d_out == p + 1,
                  epochs=epochs, **known)


def rule_split(fmt: str, p: int, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The foreign code's own split rule (SPLIT_RULES), as sorted indices into the x-major grid."""
    n = int(frac * p * p) if fmt == "paper" else int(p * p * frac)
    if fmt == "paper":
        perm = list(range(p * p))
        random.Random(seed).shuffle(perm)         # shuffling indices permutes exactly as shuffling the pairs
        perm = np.array(perm)
    else:
        import torch
        perm = torch.randperm(p * p, generator=torch.Generator().manual_seed(seed)).numpy()
    return np.sort(perm[:n]), np.sort(perm[n:])


def evaluate(ws: list[dict[str, np.ndarray]], labels: np.ndarray, progress: bool = False,
             batch: int = 8) -> np.ndarray:
    """Per-example cross-entropy [C, p*p] (float64) and argmax-correct [C, p*p] of each checkpoint
    over every input, through the project's own forward."""
    import torch
    p = ws[0]["W_E"].shape[0] - 1
    x, y = (torch.tensor(a) for a in tasks.all_pairs(p))
    lab = torch.tensor(labels)
    ce, ok = [], []
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(ws), desc="check", unit="ckpt", mininterval=0.5)
    try:
        for lo in range(0, len(ws), batch):
            chunk = ws[lo: lo + batch]
            P = {n: torch.tensor(np.stack([w[n] for w in chunk])) for n in model.PARAM_NAMES}
            with torch.no_grad():
                logits = model.forward(P, x.expand(len(chunk), -1), y.expand(len(chunk), -1), mlp_out=False)
            logp = logits.double().log_softmax(-1)
            ce.append(-logp.gather(-1, lab.expand(len(chunk), -1)[..., None])[..., 0].numpy())
            ok.append((logits.argmax(-1) == lab).numpy())
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    return np.concatenate(ce), np.concatenate(ok)


def recover_split(ce: np.ndarray, epochs: list[int], tr: np.ndarray, te: np.ndarray,
                  boundary: int = 1000, max_swaps: int = 5000) -> tuple[np.ndarray, np.ndarray] | None:
    """The split the recorded losses imply, or None when no checkpoint has both recorded.

    Each checkpoint with recorded train and test loss gives two equations on the unknown split:
    the mean per-example loss over the train pairs and over the test pairs. Their sum fixes the
    number of train pairs (least squares, one unknown); the pairs with the lowest loss at the
    most memorised checkpoint are the first guess; then swaps across the boundary that bring every
    checkpoint's two means closer to the recorded ones are made while any helps. The caller checks
    the result against every recorded loss (and refuses it when it does not reproduce them)."""
    rows = [i for i, k in enumerate(epochs)
            if k < min(len(tr), len(te)) and np.isfinite(tr[k]) and np.isfinite(te[k]) and tr[k] > 0]
    if not rows:
        return None
    ks = [epochs[i] for i in rows]
    A, t_tr, t_te = ce[rows], tr[ks], te[ks]
    N = A.shape[1]
    d = t_te - t_tr                                   # sum_i = n t_tr + (N - n) t_te
    n = int(round(float((d * (N * t_te - A.sum(1))).sum() / max((d * d).sum(), 1e-300))))
    if not 0 < n < N:
        return None
    # residuals relative to the recorded means; W's column j is what pair j adds to them as a train pair
    W = np.concatenate([A / (n * t_tr[:, None]), -A / ((N - n) * t_te[:, None])])
    base = np.r_[-np.ones(len(rows)), A.sum(1) / ((N - n) * t_te) - 1.0]

    def residual(s):
        return W[:, s].sum(1) + base

    # first guess: the n lowest-loss pairs of the checkpoint where that guess fits best
    guesses = [np.argsort(A[i], kind="stable") for i in range(len(rows))]
    fits = []
    for order in guesses:
        s = np.zeros(N, bool)
        s[order[:n]] = True
        fits.append(float((residual(s) ** 2).sum()))
    order = guesses[int(np.argmin(fits))]
    s = np.zeros(N, bool)
    s[order[:n]] = True
    r = residual(s)
    cand_in = order[max(0, n - boundary): n]          # train pairs nearest the boundary
    cand_out = order[n: n + boundary]
    sq = (W * W).sum(0)
    for _ in range(max_swaps):
        a = cand_in[s[cand_in]]
        b = cand_out[~s[cand_out]]
        if not len(a) or not len(b):
            break
        Wa, Wb = W[:, a], W[:, b]
        gain = (2 * (r @ Wb)[None, :] - 2 * (r @ Wa)[:, None] + sq[b][None, :] + sq[a][:, None] - 2 * Wa.T @ Wb)
        i, j = np.unravel_index(np.argmin(gain), gain.shape)
        if gain[i, j] >= 0:
            break
        s[a[i]], s[b[j]] = False, True
        r += Wb[:, j] - Wa[:, i]
        cand_in, cand_out = np.union1d(cand_in, [b[j]]), np.union1d(cand_out, [a[i]])
    return np.flatnonzero(s), np.flatnonzero(~s)


def mismatch(ce: np.ndarray, epochs: list[int], split, tr: np.ndarray, te: np.ndarray) -> tuple[float, str | None]:
    """(worst relative error, the first recorded loss not reproduced or None) of a split and a step
    reading, over every checkpoint with a recorded loss."""
    train, test = split
    worst, first = 0.0, None
    for i, k in enumerate(epochs):
        for name, rec, idx in (("train", tr, train), ("test", te, test)):
            if k < len(rec) and np.isfinite(rec[k]):
                got = ce[i, idx].mean()
                err = abs(got - rec[k])
                worst = max(worst, err / max(abs(rec[k]), ATOL))
                if first is None and err > RTOL * abs(rec[k]) + ATOL:
                    first = f"{name} loss after {k} steps: recorded {rec[k]:.6g}, these weights give {got:.6g}"
    return worst, first


# ---- the run -----------------------------------------------------------------------------------

def import_history(source: Path, run_name: str, fmt: str = "auto", trust_pickle: bool = False,
                   frac: float | None = None, seed: int | None = None, force: bool = False,
                   runs_root: Path | None = None, progress: bool = True, log=print) -> dict:
    """Read `source`, check it, and write runs/<run>/ whole (a temporary folder renamed into place)."""
    run = history.Run(run_name, runs_root)
    if "/" in run_name:
        raise InteropError(f"{run_name} names a point of a sweep, which its sweep trains; import into a plain "
                           f"--run (e.g. --run {run_name.replace('/', '-')})")
    if run.dir.exists() and not force:
        raise InteropError(f"run {run_name!r} exists; choose another --run, or pass --force to replace it")
    if (frac is None) != (seed is None):
        raise InteropError("pass --frac and --seed together (they name the split by the foreign code's rule)")
    obj = load(source, trust_pickle)
    found = detect(obj)
    if fmt != "auto" and fmt != found:
        raise InteropError(f"{source} looks like the {found} format, not {fmt}; pass --format {found} or auto")
    fmt = found
    f = parse(obj, fmt, source)
    W0 = f["ckpts"][-1][1]
    check_memory(W0, len(f["ckpts"]) + (f["final"] is not None), source)
    p = W0["W_E"].shape[0] - 1
    x, y = tasks.all_pairs(p)
    op = {"add": "add", "subtract": "sub"}.get(str(f["config"].get("fn_name", "add")), "add")
    labels = tasks.answers(op, x, y, p)
    ws = [w for _, w in f["ckpts"]] + ([f["final"]] if f["final"] is not None else [])
    log(f"[import] {source}: {fmt}, p = {p}, {len(ws)} checkpoints")
    ce, ok = evaluate(ws, labels, progress)
    tr, te = f["train"], f["test"]
    has_losses = bool(np.isfinite(tr).any() or np.isfinite(te).any())

    # which step each checkpoint holds: its label + offset, the documented reading first
    def epochs_for(offset):
        eps = [lab + offset for lab, _ in f["ckpts"]]
        return eps + ([f["n_steps"]] if f["final"] is not None else [])

    # the split
    cfg_frac, cfg_seed = f["config"].get("frac_train"), f["config"].get("seed")
    if f["split"] is not None:
        split, how = f["split"], "the file's train_indices and test_indices"
    elif frac is not None:
        split, how = rule_split(fmt, p, frac, seed), f"--frac {frac} --seed {seed} by its rule: {SPLIT_RULES[fmt]}"
    elif cfg_frac is not None and cfg_seed is not None and fmt == "paper":
        frac, seed = float(cfg_frac), int(cfg_seed)
        split, how = rule_split(fmt, p, frac, seed), f"the file's config (frac_train {frac}, seed {seed}) by its rule: {SPLIT_RULES[fmt]}"
    elif has_losses:
        split = recover_split(ce, epochs_for(f["offsets"][0]), tr, te)
        if split is None:
            raise InteropError(f"{source} stores no train/test split and its losses cannot recover it; pass --frac and "
                               f"--seed (its rule: {SPLIT_RULES[fmt]})")
        how = "recovered from the recorded losses (per-example losses at the most memorised checkpoint)"
    else:
        raise InteropError(f"{source} stores no train/test split and no losses to recover it from; pass --frac and "
                           f"--seed (its rule: {SPLIT_RULES[fmt]})")
    _check_partition(split, p)

    # check split and step reading against every recorded loss
    if has_losses:
        tried = [(mismatch(ce, epochs_for(o), split, tr, te), o) for o in f["offsets"]]
        (worst, first), offset = min(tried, key=lambda t: t[0][0])
        if first is not None:
            if f["split"] is not None:      # --frac/--seed would not change it: the file's own split is used
                raise InteropError(f"the file's own split (train_indices, test_indices) and its checkpoints do not "
                                   f"reproduce its recorded losses under either reading of the checkpoint labels "
                                   f"(saved before or after their step): {first}; the file's labels, losses or "
                                   f"indices do not belong to its weights, so it cannot be imported as it is")
            raise InteropError(f"the split ({how.split(' by ')[0]}) and checkpoints do not reproduce the file's "
                               f"losses: {first}; pass the --frac and --seed it was trained with")
        checked = f"reproduces every recorded loss at the checkpoints (worst relative error {worst:.1e})"
    else:
        offset, checked = f["offsets"][0], "not checked: the file records no losses"
    at = dict(zip(epochs_for(offset), range(len(ws))))          # one checkpoint per epoch, ascending
    epochs = sorted(at)
    keep = [at[e] for e in epochs]
    ws, ce, ok = [ws[i] for i in keep], ce[keep], ok[keep]
    if epochs[0] < 0:
        raise InteropError(f"checkpoint labels start at {epochs[0]}: not a count of steps")
    end = epochs[-1]
    metrics, filled = per_epoch_metrics(end, epochs, ce, ok, split, tr, te)
    cfg = task_config(ws[-1], f["config"], len(split[0]), seed, end)
    log(f"[import] split: {how}; {checked}")
    imported = {"source": str(source), "format": fmt, "split": how, "check": checked,
                "steps": f"checkpoint label + {offset} = steps taken" + (
                    f"; 'model' holds the weights after {f['n_steps']} steps" if f["final"] is not None else ""),
                "metrics": filled,
                "config_unknown": [k for k in ("lr", "weight_decay") if k not in f["config"]]
                                  + ["betas", "warmup", "smooth"] + ([] if seed is not None else ["seed"]),
                "note": "config entries listed in config_unknown are the project's defaults, not the file's; "
                        "this run has no optimiser state, so it cannot be trained further"}
    write_run(run, cfg, epochs, ws, metrics, split, imported, force)
    return {"run": run_name, "dir": str(run.dir), "format": fmt, "epochs": end, "checkpoints": len(epochs),
            "split": how, "check": checked}


def _check_partition(split, p: int):
    train, test = split
    both = np.concatenate([train, test])
    if both.size != p * p or not np.array_equal(np.sort(both), np.arange(p * p)):
        raise InteropError(f"the split's train and test indices do not partition the {p}x{p} grid "
                           f"({train.size} + {test.size} indices for {p * p} pairs)")


def per_epoch_metrics(end: int, epochs: list[int], ce, ok, split, tr, te) -> tuple[dict, str]:
    """train/test loss and accuracy per epoch 0..end: the recorded losses, then what the
    checkpoints give where nothing was recorded. The history format has train metrics at every
    epoch, so their gaps hold the last measured value; test metrics stay NaN where not measured
    (history.filled carries them forward for readers). Before its first measurement (the demo
    has no test loss and no checkpoint at epoch 0) a metric takes that first value."""
    train, test = split
    out = {}
    for part, idx, rec in (("train", train, tr), ("test", test, te)):
        loss = np.full(end + 1, np.nan)
        n = min(len(rec), end + 1)
        loss[:n] = rec[:n]
        acc = np.full(end + 1, np.nan)
        for i, k in enumerate(epochs):
            if not np.isfinite(loss[k]):
                loss[k] = ce[i, idx].mean()
            acc[k] = ok[i, idx].mean()
        if part == "train":                     # the format has train metrics at every epoch
            loss, acc = _hold(loss), _hold(acc)
        else:                                   # and test metrics from epoch 0 on (the demo has none there)
            loss, acc = _lead(loss), _lead(acc)
        out[f"{part}_loss"], out[f"{part}_acc"] = loss, acc
    filled = ("losses: recorded per epoch where the file has them, else computed at the checkpoints; "
              "accuracies: computed at the checkpoints; train metrics hold their last measured value "
              "between measurements, test metrics are NaN there (as training's TEST_NOTE); epochs before "
              "a metric's first measurement take that first value")
    return out, filled


def _lead(v: np.ndarray) -> np.ndarray:
    """The first measured value in place of the NaNs before it."""
    have = np.flatnonzero(np.isfinite(v))
    out = v.copy()
    if have.size:
        out[:have[0]] = v[have[0]]
    return out


def _hold(v: np.ndarray) -> np.ndarray:
    have = np.isfinite(v)
    if not have.any():
        return v
    idx = np.where(have, np.arange(len(v)), 0)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.flatnonzero(have)[0])
    idx[:first] = first
    return v[idx]


def write_run(run: history.Run, cfg: Config, epochs: list[int], ws: list[dict], metrics: dict,
              split, imported: dict, force: bool):
    """runs/<run>/ in the history format, written in a temporary folder and renamed into place."""
    root = run.dir.parent
    paths.check_writable(root, "the run's history")
    name = run.dir.name                        # the last component (SWEEP/POINT: the point)
    for d in root.glob(f".{name}.tmp*") if root.is_dir() else ():
        m = re.fullmatch(rf"\.{re.escape(name)}\.tmp(\d+)", d.name)
        if m and d.is_dir() and not paths.pid_alive(int(m[1])):
            shutil.rmtree(d)                   # what a killed import of this name left
    tmp = root / f".{name}.tmp{os.getpid()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        ckpts = [{"epoch": e, "file": history.ckpt_name(e), "sha256": write_npz(tmp / history.ckpt_name(e), w)}
                 for e, w in zip(epochs, ws)]
        end = epochs[-1]
        m_entry = {"file": history.metrics_name(end), "epoch": end,
                   "sha256": write_npz(tmp / history.metrics_name(end), metrics)}
        train, test = split
        s_entry = {"file": "split.npz", "sha256": write_npz(tmp / "split.npz", {"train": train, "test": test}),
                   "n_train": int(train.size), "n_test": int(test.size), "rule": f"imported: {imported['split']}"}
        ms = history.milestones(metrics)
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        write_json(tmp / "manifest.json", {
            "format": history.FORMAT, "run": run.name, "run_id": uuid.uuid4().hex[:16],
            "config": cfg.to_dict(), "n_params": model.n_params(cfg), "epochs_done": end, "status": "complete",
            "schedule": epochs, "checkpoints": ckpts, "split": s_entry, "metrics": m_entry, "resume": [],
            "loss": "train_loss and test_loss are the cross-entropy of the imported history",
            "milestones": ms, "grokked": ms["test_99"] is not None, "versions": history.versions(),
            "created": now, "updated": now, "imported": imported})
        if force and run.dir.exists():
            run.remove()                       # only a folder the project made (Run.remove checks)
        os.rename(tmp, run.dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
