"""AdamW over stacked seeds, each seed with its own learning rate and weight decay.

The trainer keeps several runs as one batched model (a leading seed axis S on every
parameter), so torch.optim.AdamW, whose lr and weight decay are per tensor, cannot give a
sweep's points their own. This is the same update (decoupled weight decay, bias-corrected
moments, eps outside the square root), applied seed by seed: each seed's update is one call of
torch's fused AdamW kernel, with that seed's lr and weight decay, over that seed's slice of every
parameter (a contiguous view). It agrees with torch.optim.AdamW run on each seed alone to float
rounding (tests/test_training.py holds them together). The fused kernel makes one pass over
memory where the textbook update's eight elementwise operations made eight (1.9 -> 0.4 ms a
canonical step on CPU); its work units are cache-line aligned, so its rounding does not depend
on the thread count (the trainer's thread tuner relies on that; tests/test_training.py checks it).
"""
from __future__ import annotations

import torch


class SeedAdamW:
    """AdamW for parameters [S, ...]; `lr` and `weight_decay` are per-seed sequences."""

    def __init__(self, params: list[torch.Tensor], lr, weight_decay, betas=(0.9, 0.98), eps=1e-8):
        self.params = list(params)
        dev = self.params[0].device
        self.lr = [float(v) for v in torch.as_tensor(lr, dtype=torch.float64).reshape(-1)]
        self.wd = [float(v) for v in torch.as_tensor(weight_decay, dtype=torch.float64).reshape(-1)]
        self.betas, self.eps = tuple(betas), eps
        self.step_count = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self._step = torch.zeros((), dtype=torch.float32, device=dev)   # the kernel reads it

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, scale=1.0):
        """One update; `scale` multiplies the lr: one number for every seed, or one per seed (the
        warm-up and each seed's cool-down)."""
        self.step_count += 1
        self._step.fill_(float(self.step_count))
        b1, b2 = self.betas
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        scales = [float(scale)] * len(self.lr) if isinstance(scale, (int, float)) else [float(x) for x in scale]
        for s, (lr, wd, scale) in enumerate(zip(self.lr, self.wd, scales)):
            torch._fused_adamw_([self.params[i][s] for i in live], [self.params[i].grad[s] for i in live],
                                [self.exp_avg[i][s] for i in live], [self.exp_avg_sq[i][s] for i in live],
                                [], [self._step] * len(live), lr=lr * scale, beta1=b1, beta2=b2,
                                weight_decay=wd, eps=self.eps, amsgrad=False, maximize=False)

    def finite(self, s: int) -> bool:
        """Whether seed s's moments are finite (an overflowed second moment makes every step 0)."""
        return all(bool(torch.isfinite(v[s]).all()) for v in self.exp_avg + self.exp_avg_sq)

    # The resume state: the names and layout torch.optim.AdamW's state had in this project's
    # resume files (adam_<i>_exp_avg, adam_<i>_exp_avg_sq [S, ...], adam_<i>_step), per seed.
    def state_of(self, s: int) -> dict:
        out = {}
        if self.step_count == 0:
            return out
        for i, (m, v) in enumerate(zip(self.exp_avg, self.exp_avg_sq)):
            out[f"adam_{i}_exp_avg"] = m[s].cpu().numpy()
            out[f"adam_{i}_exp_avg_sq"] = v[s].cpu().numpy()
            out[f"adam_{i}_step"] = torch.tensor(float(self.step_count)).numpy()
        return out

    def load(self, states: list[dict]):
        """Stack each seed's saved state (a list in seed order); empty states = a fresh start."""
        if not states or "adam_0_step" not in states[0]:
            return
        import numpy as np
        dev = self.params[0].device
        self.step_count = int(float(states[0]["adam_0_step"]))
        for i in range(len(self.params)):
            self.exp_avg[i] = torch.tensor(np.stack([s[f"adam_{i}_exp_avg"] for s in states]), device=dev)
            self.exp_avg_sq[i] = torch.tensor(np.stack([s[f"adam_{i}_exp_avg_sq"] for s in states]), device=dev)


# ---- the grokking lab's gradient transforms (docs/lab.md) --------------------
# Each works on stacked seeds [S, ...] and keeps every seed's numbers apart, so a seed trained
# in a batch takes the same path as alone. The trainer applies them between the backward and
# the step, in this order: Grokfast's filter, then ⊥Grad (its projection is AdamW's input).

def tensor_dots(params: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per tensor and seed, g·g, g·w and w·w of each parameter w and its gradient g: three
    [n_tensors, S] float64 arrays (the diagnostics' and ⊥Grad's shared reductions)."""
    gg, gw, ww = [], [], []
    for w in params:
        g, w = _rows(w.grad), _rows(w.detach())
        gg.append(_dot(g, g))
        gw.append(_dot(g, w))
        ww.append(_dot(w, w))
    return torch.stack(gg), torch.stack(gw), torch.stack(ww)


def _rows(t: torch.Tensor) -> torch.Tensor:
    """[S, rows, last dim]: each seed's tensor as rows of its last axis."""
    return t.reshape(t.shape[0], -1, t.shape[-1]) if t.dim() > 2 else t[:, None, :]


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per seed, sum(a * b) in float64, summed row by row and then over the rows: a reduction over
    one long axis is split among torch's threads (its rounding then depends on their number),
    one over many short rows gives each row to one thread whole, so a resume on another thread
    count measures the same bits."""
    return (a * b).sum(-1, dtype=torch.float64).sum(-1)


def grad_diagnostics(dots) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradient's norm and its cosine with the weights, over all parameters as one vector,
    per seed [S] (Prieto et al.'s naive-loss-minimisation direction: a cosine near -1 means the
    step mostly scales the weights up)."""
    gg, gw, ww = (d.sum(0) for d in dots)
    return gg.sqrt(), gw / (gg.sqrt() * ww.sqrt()).clamp_min(1e-300)


@torch.no_grad()
def orthogonalize_(params: list[torch.Tensor], dots=None):
    """⊥Grad (Prieto et al. 2025, the authors' orthograd.py): each tensor's gradient, per seed
    and flattened, loses its component along the tensor, g - (w·g / (w·w + 1e-30)) w, and is
    rescaled to its former norm, ||g|| / (||g_perp|| + 1e-30), as the authors' code does."""
    gg, gw, ww = dots if dots is not None else tensor_dots(params)
    for i, w in enumerate(params):
        shape = (-1,) + (1,) * (w.dim() - 1)
        g = w.grad
        g.sub_(w * (gw[i] / (ww[i] + 1e-30)).to(g.dtype).view(shape))
        norm = g.flatten(1).norm(dim=1)
        g.mul_((gg[i].sqrt().to(g.dtype) / (norm + 1e-30)).view(shape))


class GradFilter:
    """Grokfast (Lee et al. 2024): the gradient plus lamb x a low-pass of its history.
    ema: h <- alpha h + (1 - alpha) g (h starts at the first gradient), g <- g + lamb h;
    ma:  the mean of the last `window` gradients, added as lamb x mean once the window is full
    (the authors' warm-up: until then the gradient passes unchanged). One buffer per parameter
    (ma: `window` of them, in a ring, and their float64 running sum so the mean costs one
    update a step instead of `window` additions). Its state is part of a seed's resume state."""

    def __init__(self, kind: str, params: list[torch.Tensor], alpha: float, lamb: float, window: int):
        self.kind, self.params, self.alpha, self.lamb, self.window = kind, list(params), alpha, lamb, window
        self.count = 0                      # gradients seen
        self.ema = self.ring = self.total = None

    @classmethod
    def of(cls, cfg, params: list[torch.Tensor]) -> "GradFilter":
        """The filter a run's config (training.config.Config) asks for."""
        return cls(cfg.grokfast, params, cfg.grokfast_alpha, cfg.grokfast_lamb, cfg.grokfast_window)

    @torch.no_grad()
    def __call__(self):
        if self.kind == "none":
            return
        grads = [w.grad for w in self.params]
        if self.kind == "ema":
            if self.ema is None:
                self.ema = [g.clone() for g in grads]
            for h, g in zip(self.ema, grads):
                h.mul_(self.alpha).add_(g * (1 - self.alpha))
                g.add_(h * self.lamb)
        else:
            if self.ring is None:
                self.ring = [g.new_zeros((g.shape[0], self.window) + g.shape[1:]) for g in grads]
                self.total = [torch.zeros_like(g, dtype=torch.float64) for g in grads]
            slot = self.count % self.window
            for r, t, g in zip(self.ring, self.total, grads):
                if self.count >= self.window:
                    t.sub_(r[:, slot])
                r[:, slot] = g
                t.add_(g)
            if self.count + 1 >= self.window:
                for t, g in zip(self.total, grads):
                    g.add_((t / self.window).to(g.dtype) * self.lamb)
        self.count += 1

    # The resume state, per seed, beside the optimiser's (names gf_<i>_... in the resume file)
    def state_of(self, s: int) -> dict:
        if self.kind == "none" or self.count == 0:
            return {}
        out = {"gf_count": torch.tensor(self.count).numpy()}
        for i in range(len(self.params)):
            if self.kind == "ema":
                out[f"gf_{i}_ema"] = self.ema[i][s].cpu().numpy()
            else:
                out[f"gf_{i}_ring"] = self.ring[i][s].cpu().numpy()
                out[f"gf_{i}_sum"] = self.total[i][s].cpu().numpy()
        return out

    def load(self, states: list[dict]):
        if self.kind == "none" or not states or "gf_count" not in states[0]:
            return
        import numpy as np
        dev = self.params[0].device
        stack = lambda key: torch.tensor(np.stack([s[key] for s in states]), device=dev)
        self.count = int(states[0]["gf_count"])
        n = len(self.params)
        if self.kind == "ema":
            self.ema = [stack(f"gf_{i}_ema") for i in range(n)]
        else:
            self.ring = [stack(f"gf_{i}_ring") for i in range(n)]
            self.total = [stack(f"gf_{i}_sum") for i in range(n)]
