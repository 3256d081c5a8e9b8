"""A plain training script in the style of the paper's code, the peer of `grokking train`.

The model is a plain nn.Module as the paper's code writes it (every position, einsum attention,
float32 weights); the loss is the paper's cross_entropy_high_precision (log-softmax in float64);
the optimiser is torch's AdamW (lr, betas, weight decay of the preset) with the paper's linear
warm-up (LambdaLR, min(step / warmup, 1)); one full-batch step per epoch. The data are the
project's own split of the preset (training/tasks.py), so both trainers see the same examples.

An epoch is what the project's epoch is: a train step, the train loss and accuracy; at the epochs
a plan names, the test split's loss and accuracy; at the plan's checkpoint epochs, the weights and
the optimiser state written with torch.save (the paper keeps its checkpoints in memory and saves
them at the end; here each is written when made, in the foreground, as a script that may be
interrupted would).

    python benchmarks/plain_train.py --plan plan.json --out DIR [--resume DIR/e000001.pt]

plan.json: {"preset": "canonical", "start": E0, "end": E1, "test": [...], "checkpoints": [...]};
--resume loads a state this script wrote (model, optimiser, scheduler) and counts epochs on from
the plan's start (the weights' values do not change the work of an epoch).
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

# As the project's trainer does (training/threads.py): subnormal floats, common once the loss is
# ~1e-6, take a slow path on some CPUs; flushed before the thread pool starts, so the two
# trainers compare at equal arithmetic.
torch.set_flush_denormal(True)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from grokking.training import tasks  # noqa: E402   (the data only: the split and the labels)
from grokking.training.config import PRESETS  # noqa: E402


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


def split_tensors(cfg):
    """((train tokens, labels), (test tokens, labels)) of the preset's split, as the paper's
    [x, y, =] sequences."""
    d = tasks.dataset(cfg)
    part = lambda name: (torch.tensor(tasks.tokens(d["x"][d[name]], d["y"][d[name]], cfg.p)),
                         torch.tensor(d["label"][d[name]]))
    return part("train"), part("test")


def optimiser(net, cfg):
    """AdamW over the trainable parameters and the paper's linear warm-up."""
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=cfg.lr,
                            betas=cfg.betas, weight_decay=cfg.weight_decay)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(step / max(cfg.warmup, 1), 1.0))


def epoch_fn(net, opt, sched, data):
    """One epoch as the paper's loop runs it: the full-batch step and its train loss and accuracy,
    and, when asked, the test split's loss and accuracy. Returns the metrics (floats; NaN for a
    test split not measured)."""
    (tr, ltr), (te, lte) = data

    def epoch(with_test: bool) -> tuple[float, float, float, float]:
        opt.zero_grad(set_to_none=True)
        logits = net(tr)[:, -1]
        loss = high_precision_loss(logits, ltr)
        loss.backward()
        opt.step()
        sched.step()
        train_acc = (logits.argmax(-1) == ltr).float().mean().item()
        test_loss = test_acc = math.nan
        if with_test:
            with torch.no_grad():
                lt = net(te)[:, -1]
                test_loss = high_precision_loss(lt, lte).item()
                test_acc = (lt.argmax(-1) == lte).float().mean().item()
        return loss.item(), test_loss, train_acc, test_acc
    return epoch


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plan", required=True, help="JSON: preset, start, end, test and checkpoint epochs")
    ap.add_argument("--out", required=True, help="Folder for the checkpoints (made if missing)")
    ap.add_argument("--resume", help="A state this script wrote, to go on from")
    a = ap.parse_args(argv)
    plan = json.loads(Path(a.plan).read_text())
    cfg = PRESETS[plan["preset"]]
    torch.manual_seed(cfg.seed)
    data = split_tensors(cfg)
    net = PlainTransformer(cfg)
    opt, sched = optimiser(net, cfg)
    if a.resume:
        state = torch.load(a.resume)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    test, ckpts = set(plan["test"]), set(plan["checkpoints"])
    epoch = epoch_fn(net, opt, sched, data)
    metrics = []
    t0 = time.perf_counter()
    for e in range(plan["start"] + 1, plan["end"] + 1):
        metrics.append(epoch(e in test))
        if e in ckpts:
            torch.save({"epoch": e, "model": net.state_dict(), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "metrics": metrics}, out / f"e{e:06d}.pt")
    print(f"plain: {len(metrics)} epochs from {plan['start']} in {time.perf_counter() - t0:.1f} s, "
          f"{sum(m[1] == m[1] for m in metrics)} with the test split, {len(list(out.glob('e*.pt')))} "
          f"checkpoints; last train loss {metrics[-1][0] if metrics else float('nan'):.3g}", file=sys.stderr)


if __name__ == "__main__":
    main()
