"""AdamW over stacked seeds, each seed with its own learning rate and weight decay.

The trainer keeps several runs as one batched model (a leading seed axis S on every
parameter), so torch.optim.AdamW, whose lr and weight decay are per tensor, cannot give a
sweep's points their own. This is the same update (decoupled weight decay, bias-corrected
moments, eps outside the square root), written with lr and weight decay as [S] tensors
broadcast over each parameter's seed axis. With one lr and weight decay it agrees with
torch.optim.AdamW to float rounding (tests/test_training.py holds them together).
"""
from __future__ import annotations

import torch


class SeedAdamW:
    """AdamW for parameters [S, ...]; `lr` and `weight_decay` are per-seed sequences."""

    def __init__(self, params: list[torch.Tensor], lr, weight_decay, betas=(0.9, 0.98), eps=1e-8):
        self.params = list(params)
        dev = self.params[0].device
        self.lr = torch.as_tensor(lr, dtype=torch.float32, device=dev).reshape(-1)
        self.wd = torch.as_tensor(weight_decay, dtype=torch.float32, device=dev).reshape(-1)
        self.betas, self.eps = tuple(betas), eps
        self.step_count = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, scale: float = 1.0):
        """One update; `scale` multiplies every seed's lr (the warm-up)."""
        self.step_count += 1
        b1, b2 = self.betas
        bc1 = 1 - b1 ** self.step_count
        bc2_sqrt = (1 - b2 ** self.step_count) ** 0.5
        lr = self.lr * scale
        shrink = 1 - lr * self.wd            # decoupled weight decay, per seed
        step_size = -lr / bc1
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq):
            g = p.grad
            if g is None:
                continue
            view = (-1,) + (1,) * (p.dim() - 1)
            p.mul_(shrink.view(view))
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
            p.addcdiv_(m * step_size.view(view), denom)

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
