"""Training speed against the peers a user would otherwise train with, side by side in one run.

An epoch is what each trainer does per epoch: forward + backward + AdamW on the train split and
a forward on the test split. The peers measure the test split every epoch, as the paper's code
and the TransformerLens demo do; this project measures it at each checkpoint epoch and every
`test_every` epochs (its curves and milestones are exact at that resolution: README, history
format). Its two kinds of epoch are timed apart, interleaved, and its row is their mix in the
preset's own run: (E - n) train-only epochs and n with the test split, over E, where n is the
number of epochs `training.train.test_epochs` measures. The row "epochs with the test split"
is what measuring it every epoch would cost.

  plain nn.Module      the model as the paper's code writes it: every position, einsum attention
  HookedTransformer    TransformerLens with the Grokking demo's config (when transformer_lens < 4
                       is installed: pip install -e ".[lens]")
  this project         the trainer's own step (training/train.py: backward, SeedAdamW)

Every implementation is first checked against training/reference.py, the correctness oracle:
the same weights give the same logits. Implementations run interleaved, round by round, so
machine noise hits them alike; medians are printed with the ratio against each peer.
--under-load repeats the measurement beside a bounded busy process (one CPU-bound competitor)
and prints quiet and loaded medians side by side; the project uses the trainer's thread tuner.

    python benchmarks/train_speed.py [--rounds 20] [--preset canonical] [--under-load]
"""
from __future__ import annotations

import math
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import click
import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from training import model, reference, tasks, train  # noqa: E402
from training.config import PRESETS  # noqa: E402
from training.optim import SeedAdamW  # noqa: E402
from training.threads import ThreadTuner, cores  # noqa: E402


# ---- peer 1: a plain nn.Module in the style of the paper's code --------------------------------

class PlainTransformer(nn.Module):
    """One attention layer and one MLP over all positions, weights laid out as in the paper's
    code (W_E [d_model, d_vocab], W_O [d_model, H * d_head], W_in [d_mlp, d_model] ...)."""

    def __init__(self, cfg):
        super().__init__()
        d, H, dh, m, V = cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp, cfg.d_vocab
        p = lambda *s: nn.Parameter(torch.randn(*s) / math.sqrt(d))
        self.W_E, self.W_pos = p(d, V), p(cfg.n_ctx, d)
        self.W_Q, self.W_K, self.W_V = p(H, dh, d), p(H, dh, d), p(H, dh, d)
        self.W_O = p(d, H * dh)
        self.W_in, self.b_in = p(m, d), nn.Parameter(torch.zeros(m))
        self.W_out, self.b_out = p(d, m), nn.Parameter(torch.zeros(d))
        self.W_U = p(d, cfg.d_vocab_out)
        self.register_buffer("mask", torch.tril(torch.ones(cfg.n_ctx, cfg.n_ctx)))
        self.d_head = dh

    def forward(self, tokens):
        x = torch.einsum("dbp->bpd", self.W_E[:, tokens]) + self.W_pos[: tokens.shape[1]]
        k = torch.einsum("ihd,bpd->biph", self.W_K, x)
        q = torch.einsum("ihd,bpd->biph", self.W_Q, x)
        v = torch.einsum("ihd,bpd->biph", self.W_V, x)
        scores = torch.einsum("biph,biqh->biqp", k, q)
        n = tokens.shape[1]
        scores = torch.tril(scores) - 1e10 * (1 - self.mask[:n, :n])
        attn = torch.softmax(scores / math.sqrt(self.d_head), dim=-1)
        z = torch.einsum("biph,biqp->biqh", v, attn)
        z = z.permute(0, 2, 1, 3).reshape(z.shape[0], n, -1)
        x = x + torch.einsum("df,bqf->bqd", self.W_O, z)
        pre = torch.einsum("md,bpd->bpm", self.W_in, x) + self.b_in
        x = x + torch.einsum("dm,bpm->bpd", self.W_out, torch.relu(pre)) + self.b_out
        return x @ self.W_U

    def load_project(self, W: dict[str, torch.Tensor]):
        H, d, dh = W["W_Q"].shape
        with torch.no_grad():
            self.W_E.copy_(W["W_E"].T)
            self.W_pos.copy_(W["W_pos"])
            for name in ("W_Q", "W_K", "W_V"):
                getattr(self, name).copy_(W[name].transpose(1, 2))
            self.W_O.copy_(W["W_O"].reshape(H * dh, d).T)
            self.W_in.copy_(W["W_in"].T)
            self.b_in.copy_(W["b_in"])
            self.W_out.copy_(W["W_out"].T)
            self.b_out.copy_(W["b_out"])
            self.W_U.copy_(W["W_U"])
        return self


def high_precision_loss(logits, labels):
    """The paper's cross_entropy_high_precision: log-softmax in float64."""
    return -logits.to(torch.float64).log_softmax(-1).gather(-1, labels[:, None]).mean()


def _module_step(net, cfg, data):
    """An epoch as the paper's training loop runs it: full-batch train step, test loss."""
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=cfg.lr,
                            betas=cfg.betas, weight_decay=cfg.weight_decay)
    (tr, ltr), (te, lte) = data

    def epoch():
        opt.zero_grad(set_to_none=True)
        high_precision_loss(net(tr)[:, -1], ltr).backward()
        opt.step()
        with torch.no_grad():
            high_precision_loss(net(te)[:, -1], lte)
    return epoch


# ---- peer 2: TransformerLens with the Grokking demo's config ----------------------------------

def hooked_transformer(cfg):
    """A HookedTransformer as the demo builds it (biases frozen), or None without transformer_lens."""
    try:
        from transformer_lens import HookedTransformer, HookedTransformerConfig
    except ImportError:
        return None
    hc = HookedTransformerConfig(n_layers=1, n_heads=cfg.n_heads, d_model=cfg.d_model,
                                 d_head=cfg.d_head, d_mlp=cfg.d_mlp, act_fn="relu",
                                 normalization_type=None, d_vocab=cfg.d_vocab,
                                 d_vocab_out=cfg.d_vocab_out, n_ctx=cfg.n_ctx, init_weights=True,
                                 device="cpu", seed=999)
    net = HookedTransformer(hc)
    for name, p in net.named_parameters():
        if "b_" in name:
            p.requires_grad = False
    return net


def _load_into_hooked(net, W):
    from interop.transformer_lens import to_transformer_lens
    sd = {k: torch.tensor(v) for k, v in to_transformer_lens({k: v.numpy() for k, v in W.items()}).items()}
    net.load_state_dict(sd, strict=False)
    return net


# ---- this project -------------------------------------------------------------------------------

def _project_epochs(cfg, seeds, dev, compiled, with_test: bool, n: int = 4):
    """n epochs of the trainer's step, each with a test forward or none (a run has both kinds)."""
    data = train.examples([cfg.replace(seed=s) for s in seeds], dev)
    (tr, ltr), (te, lte) = data["train"], data["test"]
    P = {k: v.requires_grad_(True) for k, v in model.init_params(cfg, seeds, device=dev).items()}
    opt = SeedAdamW(list(P.values()), [cfg.lr] * len(seeds), [cfg.weight_decay] * len(seeds), cfg.betas)
    step_logits = torch.compile(model.step_logits) if compiled else model.step_logits

    def epochs():
        for _ in range(n):
            logits, _, lt = train.backward(P, opt, step_logits, tr, ltr, te if with_test else None, None, cfg.p)
            with torch.no_grad():
                model.accuracy(logits, ltr)
                if lt is not None:
                    model.loss_fn(lt, lte), model.accuracy(lt, lte)
            opt.step(1.0)
    return epochs, n


# ---- the oracle ---------------------------------------------------------------------------------

def check_against_reference(cfg, peers: dict) -> float:
    """Max |logit difference| of each implementation against training/reference.py on the same
    weights, over 256 examples; raises when any exceeds 1e-4."""
    W = {k: v[0] for k, v in model.init_params(cfg, [0]).items()}
    d = tasks.dataset(cfg)
    idx = np.arange(256)
    tok = torch.tensor(tasks.tokens(d["x"][idx], d["y"][idx], cfg.p))
    with torch.no_grad():
        want = reference.reference_forward(W, tok)[:, -1]
        got = {"this project": model.forward({k: v[None] for k, v in W.items()},
                                             tok[None, :, 0], tok[None, :, 1])[0]}
        for name, net in peers.items():
            got[name] = net.load_project(W)(tok)[:, -1] if isinstance(net, PlainTransformer) \
                else _load_into_hooked(net, W)(tok)[:, -1]
    err = {k: float((v - want).abs().max()) for k, v in got.items()}
    bad = {k: e for k, e in err.items() if not e < 1e-4}
    if bad:
        raise SystemExit(f"implementations disagree with training/reference.py: {bad}")
    return max(err.values())


# ---- timing -------------------------------------------------------------------------------------

def _busy(seconds: float):
    """One CPU-bound competitor (pure Python: one core), bounded in time."""
    end = time.time() + seconds
    x = 0
    while time.time() < end:
        x += 1


def measure(rows, rounds: int, tune: bool) -> dict[str, float]:
    """Median seconds per epoch of each row, interleaved round by round. The project's rows run
    under the trainer's thread tuner (re-tuned at the start of each round) when tune is set."""
    for _, fn, _ in rows:         # warm-up, compilation
        fn()
    times = {name: [] for name, _, _ in rows}
    tuners = {name: ThreadTuner(period=1, trials=1, enabled=tune) for name, _, _ in rows}   # one per kind of epoch
    for r in range(rounds):
        for name, fn, per in rows:
            if name.startswith("this project") and tune:
                tuner = tuners[name]
                for c in tuner.candidates:          # the tuner's trial, as in the trainer
                    tuner.before(r)
                    t = time.perf_counter(); fn(); tuner.record(r, time.perf_counter() - t, False)
            else:
                torch.set_num_threads(cores())
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) / per)
        torch.set_num_threads(cores())
    return {k: statistics.median(v) for k, v in times.items()}


def table(med: dict[str, float], peers: list[str]) -> str:
    lines = []
    for name, s in med.items():
        ratios = "   ".join(f"x{med[p] / s:5.1f} vs {p}" for p in peers if p in med and p != name)
        lines.append(f"{name:>44}: {s * 1e3:8.1f} ms/epoch  {1 / s:6.1f} epochs/s   {ratios}")
    return "\n".join(lines)


@click.command()
@click.option("--rounds", default=15, show_default=True, help="Timed rounds (each runs every implementation).")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="canonical", show_default=True)
@click.option("--under-load", is_flag=True, help="Also measure beside one CPU-bound competing process.")
@click.option("--compile", "compiled", is_flag=True, help="Also time the project's step under torch.compile.")
@click.option("--no-tune", is_flag=True, help="Fixed threads (all cores) instead of the trainer's tuner.")
def main(rounds, preset, under_load, compiled, no_tune):
    cfg = PRESETS[preset].replace(smooth=0.0)
    dev = torch.device("cpu")
    torch.set_num_threads(cores())
    data = tasks.dataset(cfg)
    tok = {part: torch.tensor(tasks.tokens(data["x"][data[part]], data["y"][data[part]], cfg.p))
           for part in ("train", "test")}
    lab = {part: torch.tensor(data["label"][data[part]]) for part in ("train", "test")}
    split = ((tok["train"], lab["train"]), (tok["test"], lab["test"]))
    peers = {"plain nn.Module": PlainTransformer(cfg)}
    ht = hooked_transformer(cfg)
    if ht is not None:
        peers["HookedTransformer"] = ht
    err = check_against_reference(cfg, peers)
    print(f"{preset}: p={cfg.p}, d_model={cfg.d_model}, {len(tok['train'])} train / {len(tok['test'])} test, "
          f"{cores()} cores, torch {torch.__version__}; oracle: max |logit - reference| = {err:.1e}")
    if ht is None:
        print("(transformer_lens not installed: no HookedTransformer row; pip install -e '.[lens]')")
    rows = [(n, _module_step(net, cfg, split), 1) for n, net in peers.items()]
    kinds = {"this project": False} | ({"this project, compiled": True} if compiled else {})
    for kind, comp in kinds.items():
        rows.append((f"{kind}, train-only epochs", *_project_epochs(cfg, [0], dev, comp, False)))
        rows.append((f"{kind}, epochs with the test split", *_project_epochs(cfg, [0], dev, comp, True)))
    n_test = len(train.test_epochs(cfg, cfg.epochs))
    share = n_test / cfg.epochs

    def with_run_rows(med):
        """Each project row pair's mix as the preset's run has it (a share of epochs measure the
        test split), listed after the peers and before the pair."""
        out = {k: v for k, v in med.items() if not k.startswith("this project")}
        for kind in kinds:
            out[f"{kind}, the run's mix"] = ((1 - share) * med[f"{kind}, train-only epochs"]
                                             + share * med[f"{kind}, epochs with the test split"])
        return out | {k: v for k, v in med.items() if k.startswith("this project")}
    names = list(peers)
    print(f"the run's mix: {n_test:,} of {cfg.epochs:,} epochs ({share:.1%}) measure the test split "
          f"(test_every = {cfg.test_every}, and every checkpoint epoch)")
    quiet = with_run_rows(measure(rows, rounds, not no_tune))
    print("\nquiet (medians):\n" + table(quiet, names))
    if under_load:
        busy = mp.get_context("spawn").Process(target=_busy, args=(1800,), daemon=True)  # stopped below
        busy.start()
        try:
            time.sleep(1.0)
            loaded = with_run_rows(measure(rows, rounds, not no_tune))
        finally:
            busy.terminate()
            busy.join()
        print("\nbeside one CPU-bound process (medians):\n" + table(loaded, names))
        print("\nloaded / quiet throughput:")
        for n in quiet:
            print(f"{n:>44}: {quiet[n] / loaded[n]:5.0%}")
    minutes = cfg.epochs * quiet["this project, the run's mix"] / 60
    print(f"\n{cfg.epochs:,} {preset} epochs at the project's quiet speed: ~{minutes:.1f} min "
          f"(checkpoints are written in the background)")


if __name__ == "__main__":
    main()
