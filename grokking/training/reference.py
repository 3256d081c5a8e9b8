"""The plain reference implementation: the same one-layer transformer computed the textbook way,
every position, every head, with a causal mask, one seed at a time (parameters without the seed
axis). Used by the equivalence test, the speed benchmark and extraction, which reads its cache.

Activation names follow TransformerLens (one layer, so no `blocks.0.` prefix):
hook_embed, hook_pos_embed, attn.hook_q/k/v, attn.hook_attn_scores, attn.hook_pattern,
attn.hook_z, hook_attn_out, hook_resid_mid, mlp.hook_pre, mlp.hook_post, hook_mlp_out,
hook_resid_post, logits. Batch axis first, then position: [N, pos, ...].
"""
from __future__ import annotations

import math

import torch


def reference_forward(W: dict[str, torch.Tensor], tokens: torch.Tensor,
                      cache: dict | None = None) -> torch.Tensor:
    """Logits at every position, [N, n_ctx, d_vocab_out], for tokens [N, n_ctx]."""
    c = {}
    c["hook_embed"] = W["W_E"][tokens]                               # [N, pos, d]
    c["hook_pos_embed"] = W["W_pos"][None, : tokens.shape[1]].expand_as(c["hook_embed"])
    resid = c["hook_embed"] + c["hook_pos_embed"]
    c["attn.hook_q"] = torch.einsum("npd,hde->nphe", resid, W["W_Q"])
    c["attn.hook_k"] = torch.einsum("npd,hde->nphe", resid, W["W_K"])
    c["attn.hook_v"] = torch.einsum("npd,hde->nphe", resid, W["W_V"])
    scores = torch.einsum("nqhe,nkhe->nhqk", c["attn.hook_q"], c["attn.hook_k"])
    scores = scores / math.sqrt(W["W_Q"].shape[-1])
    n_pos = tokens.shape[1]
    future = torch.triu(torch.ones(n_pos, n_pos, dtype=torch.bool, device=tokens.device), 1)
    c["attn.hook_attn_scores"] = scores.masked_fill(future, float("-inf"))
    c["attn.hook_pattern"] = c["attn.hook_attn_scores"].softmax(dim=-1)   # [N, H, q, k]
    c["attn.hook_z"] = torch.einsum("nhqk,nkhe->nqhe", c["attn.hook_pattern"], c["attn.hook_v"])
    c["hook_attn_out"] = torch.einsum("nqhe,hed->nqd", c["attn.hook_z"], W["W_O"])
    c["hook_resid_mid"] = resid + c["hook_attn_out"]
    c["mlp.hook_pre"] = c["hook_resid_mid"] @ W["W_in"] + W["b_in"]
    c["mlp.hook_post"] = torch.relu(c["mlp.hook_pre"])
    c["hook_mlp_out"] = c["mlp.hook_post"] @ W["W_out"] + W["b_out"]
    c["hook_resid_post"] = c["hook_resid_mid"] + c["hook_mlp_out"]
    c["logits"] = c["hook_resid_post"] @ W["W_U"]
    if cache is not None:
        cache.update(c)
    return c["logits"]
