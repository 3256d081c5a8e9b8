"""The one-layer transformer of docs/science.md §1, as plain tensors with TransformerLens names.

Parameters live in a dict of tensors, every one with a leading seed axis S so that several
seeds train as one batched model (S = 1 for a single run). Shapes follow TransformerLens:

    W_E [S, d_vocab, d_model]     W_pos [S, n_ctx, d_model]
    W_Q, W_K, W_V [S, H, d_model, d_head]    W_O [S, H, d_head, d_model]
    W_in [S, d_model, d_mlp]  b_in [S, d_mlp]  W_out [S, d_mlp, d_model]  b_out [S, d_model]
    W_U [S, d_model, d_vocab_out]

`forward` is the fast training path. It exploits two facts of this task:
  * the answer is read at the last position only, whose input is always '=': its residual
    (W_E[=] + W_pos[2]) and hence its query are the same for every example, so only the last
    position needs a query, the MLP and the unembed;
  * inputs are one-hot, so each position's attention score and OV output is a row of a small
    per-token table [H, d_vocab, ...] computed once per step and gathered per example.
On CPU the trainer goes one step further (`step_logits`): everything between the attention
pattern and the ReLU is linear, so each table row is pushed through [W_in | W_U] once per step
and an example's pre-activations and direct logits are a pattern-weighted sum of 13 such rows
(an embedding bag), instead of a [d_model x d_mlp] product per example. That removes the
W_in GEMMs, forward and backward; a sparse backward (`_Bag`) keeps the bag's gradient cheap.
`training/reference.py` computes the same function the textbook way; a test holds them equal.
"""
from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F

from .config import Config

PARAM_NAMES = ("W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O",
               "W_in", "b_in", "W_out", "b_out", "W_U")


def param_shapes(cfg: Config) -> dict[str, tuple[int, ...]]:
    d, H, dh, m = cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp
    return {
        "W_E": (cfg.d_vocab, d), "W_pos": (cfg.n_ctx, d),
        "W_Q": (H, d, dh), "W_K": (H, d, dh), "W_V": (H, d, dh), "W_O": (H, dh, d),
        "W_in": (d, m), "b_in": (m,), "W_out": (m, d), "b_out": (d,),
        "W_U": (d, cfg.d_vocab_out),
    }


def n_params(cfg: Config) -> int:
    return sum(math.prod(s) for s in param_shapes(cfg).values())


def init_params(cfg: Config, seeds: list[int], device="cpu") -> dict[str, torch.Tensor]:
    """Seeded init, one generator per seed, so a seed's weights do not depend on its batch.
    Weights ~ N(0, 1/d_model), W_U ~ N(0, 1/d_vocab), biases 0 (docs/science.md §1), every weight
    times cfg.init_scale (Omnigrok's initial weight norm; 1 leaves the draw untouched)."""
    shapes = param_shapes(cfg)
    per_seed = []
    for seed in seeds:
        g = torch.Generator().manual_seed(int(seed))
        w = {}
        for name, shape in shapes.items():
            if name.startswith("b_"):
                w[name] = torch.zeros(shape)
            else:
                std = 1 / math.sqrt(cfg.d_vocab if name == "W_U" else cfg.d_model)
                w[name] = torch.randn(shape, generator=g) * std
                if cfg.init_scale != 1.0:
                    w[name] = w[name] * cfg.init_scale
        per_seed.append(w)
    return {n: torch.stack([w[n] for w in per_seed]).to(device) for n in shapes}


def _tables(P: dict[str, torch.Tensor]):
    """Per-token attention tables: scores [S, V, H] and OV outputs [S, V, H, d] of a token at
    positions 0 and 1, and those of '=' at position 2 (the query position)."""
    W_E, W_pos = P["W_E"], P["W_pos"]
    eq = W_E.shape[1] - 1
    d_head = P["W_Q"].shape[-1]
    # Residual streams of a token at positions 0 and 1 (per-token tables) and of '=' at 2.
    E0 = W_E + W_pos[:, None, 0]                       # [S, V, d]
    E1 = W_E + W_pos[:, None, 1]
    r2 = W_E[:, eq] + W_pos[:, 2]                      # [S, d]
    # The one query, folded into the keys: score of a token = r2 W_Q W_K^T e / sqrt(d_head).
    q = torch.einsum("sd,shde->she", r2, P["W_Q"])
    qK = torch.einsum("she,shde->shd", q, P["W_K"]) / math.sqrt(d_head)
    s0 = torch.einsum("svd,shd->svh", E0, qK)          # [S, V, H]
    s1 = torch.einsum("svd,shd->svh", E1, qK)
    s2 = torch.einsum("sd,shd->sh", r2, qK)            # [S, H]
    # OV circuit per token: what a token at that position writes if fully attended to.
    OV = torch.einsum("shde,shem->shdm", P["W_V"], P["W_O"])   # [S, H, d, d]
    v0 = torch.einsum("svd,shdm->svhm", E0, OV)        # [S, V, H, d]
    v1 = torch.einsum("svd,shdm->svhm", E1, OV)
    v2 = torch.einsum("sd,shdm->shm", r2, OV)          # [S, H, d]
    return r2, (s0, s1, s2), (v0, v1, v2)


def _pattern(scores, x, y):
    """The last position's attention over [x, y, =] per head, [S, N, H, 3], from the tables."""
    s0, s1, s2 = scores
    S, N = x.shape
    return torch.stack([_rows(s0, x), _rows(s1, y), s2[:, None].expand(S, N, -1)], dim=-1).softmax(dim=-1)


def _rows(table: torch.Tensor, tok: torch.Tensor) -> torch.Tensor:
    """table[s, tok[s, n]] for every seed s and example n: [S, N, ...] from [S, V, ...]."""
    S, V = table.shape[:2]
    flat = tok + torch.arange(S, device=tok.device)[:, None] * V
    return _Lookup.apply(table.reshape(S * V, -1), flat).view(*tok.shape, *table.shape[2:])


class _Lookup(torch.autograd.Function):
    """Rows of a table by index, whose backward adds each row's gradients in example order
    (index_add_): indexing's backward (an accumulating index_put) adds them in an order that
    depends on the thread count, and the thread tuner needs the rounding not to; the
    embedding's backward keeps the order but took six times as long."""

    @staticmethod
    def forward(ctx, table, idx):
        ctx.save_for_backward(idx)
        ctx.rows = table.shape[0]
        return F.embedding(idx, table)

    @staticmethod
    def backward(ctx, g):
        idx, = ctx.saved_tensors
        return _added_by_row(ctx.rows, idx, g), None


def _added_by_row(n_rows: int, idx: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The backward of a row lookup: [n_rows, ...], each row the sum of the gradients of the
    examples that read it, added in example order (index_add_ on CPU), so the rounding does
    not depend on the thread count."""
    d = g.new_zeros(n_rows, g.shape[-1])
    return d.index_add_(0, idx.reshape(-1), g.reshape(-1, g.shape[-1]))


def _mlp_unembed(P, resid_mid, pattern, attn_out, cache, mlp_out: bool):
    pre = torch.baddbmm(P["b_in"][:, None], resid_mid, P["W_in"])
    post = torch.relu(pre)
    # Neurons straight to logits through W_L = W_out W_U ([d_mlp, vocab_out] is smaller than
    # W_out then W_U per example): a quarter fewer flops in the step.
    W_L = torch.bmm(P["W_out"], P["W_U"])
    bias = torch.bmm(P["b_out"][:, None], P["W_U"])                  # [S, 1, V_out]
    logits = torch.baddbmm(bias, resid_mid, P["W_U"]) + torch.bmm(post, W_L)
    if cache is not None:
        cache.update({"attn.hook_pattern": pattern, "hook_attn_out": attn_out,
                      "hook_resid_mid": resid_mid, "mlp.hook_pre": pre, "mlp.hook_post": post,
                      "logits": logits})
        if mlp_out:   # extraction skips this [N, d_model] product when it needs no hook_mlp_out
            out = torch.baddbmm(P["b_out"][:, None], post, P["W_out"])
            cache.update({"hook_mlp_out": out, "hook_resid_post": resid_mid + out})
    return logits


def forward(P: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor,
            cache: dict | None = None, mlp_out: bool = True) -> torch.Tensor:
    """Logits at the last position, [S, N, d_vocab_out], for inputs [x, y, =].

    x, y: [S, N] token indices (each seed may have its own examples). When `cache` is a dict it
    is filled with the last position's activations under TransformerLens names (each [S, N, ...]);
    mlp_out=False leaves out hook_mlp_out and hook_resid_post.
    """
    r2, scores, (v0, v1, v2) = _tables(P)
    pattern = _pattern(scores, x, y)
    # Weighted sums over heads as broadcasts: einsum would lower these to S*N tiny matmuls.
    attn_out = ((pattern[..., 0, None] * _rows(v0, x)).sum(dim=2)
                + (pattern[..., 1, None] * _rows(v1, y)).sum(dim=2)
                + pattern[..., 2] @ v2)
    resid_mid = r2[:, None] + attn_out                 # [S, N, d]
    return _mlp_unembed(P, resid_mid, pattern, attn_out, cache, mlp_out)


class Examples:
    """A training job's fixed examples [S, N] and, on CPU, their layout for the bag forward:
    per example the 13 table rows it sums (4 heads x positions 0, 1, 2, and the constant row),
    with the sparse structures the backward needs, built once per job rather than per step.
    A seed's R table rows: x*H + h for position 0, V*H + y*H + h for position 1 (a token's heads
    side by side: they are read by the same examples, which keeps the sparse backward's reads in
    cache), then the H rows of '=' and the constant row (the rows every example reads)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, d_vocab: int, n_heads: int,
                 dense: bool | None = None):
        self.x, self.y = x, y
        # On GPU the dense forward's GEMMs are cheap; dense=True forces that path anywhere.
        self.bag = x.device.type == "cpu" if dense is None else not dense
        if not self.bag:
            return
        S, N = x.shape
        V, H = d_vocab, n_heads
        R = 2 * V * H + H + 1                # table rows per seed: pos 0, pos 1, '=', constant
        h = torch.arange(H)
        idx = torch.cat([x[..., None] * H + h, V * H + y[..., None] * H + h,
                         (2 * V * H + h).expand(S, N, H), torch.full((S, N, 1), R - 1)], dim=-1)
        idx = idx + (torch.arange(S) * R)[:, None, None]   # seed s reads its own block of rows
        K = idx.shape[-1]
        self.shape, self.seeds, self.rows, self.shared = (S * N, S * R), S, R, H + 1
        self.idx = idx.reshape(S * N, K)
        # CSR of the [examples x rows] weight matrix (each row's columns ascend, no repeats), for
        # the weights' gradient ...
        self.crow = torch.arange(0, S * N * K + 1, K)
        self.col = self.idx.reshape(-1)
        # ... and the transpose of its position-0 and -1 columns, as a permutation of their
        # values, for the tables' gradient. The H + 1 rows every example reads are left to a
        # dense product: as CSR rows with N entries each they made the sparse product 2.5x slower.
        col = self.idx[:, :K - self.shared].reshape(-1)
        self.order = torch.argsort(col, stable=True)
        self.crow_t = torch.zeros(S * R + 1, dtype=torch.long)
        self.crow_t[1:] = torch.cumsum(torch.bincount(col, minlength=S * R), 0)
        self.col_t = torch.arange(S * N).repeat_interleave(K - self.shared)[self.order]
        # Each example's three rows of the step's scores [S * (2V + 1), H]: its x at position 0,
        # its y at 1, and '=' at 2, as one index per key position, [3, S * N].
        base = (torch.arange(S) * (2 * V + 1))[:, None]
        self.score_rows = torch.stack([x + base, V + y + base, (2 * V + base).expand(S, N)]).reshape(3, S * N)


class _Bag(torch.autograd.Function):
    """out[n] = sum_k w[n, k] T[idx[n, k]]. The backward is two sparse products, where
    aten's embedding-bag backward (scatter plus per-weight dots) costs three times as much."""

    @staticmethod
    def forward(ctx, T, w, ex):
        ctx.save_for_backward(T, w)
        ctx.ex = ex
        return F.embedding_bag(ex.idx, T, per_sample_weights=w, mode="sum")

    @staticmethod
    def backward(ctx, d_out):
        T, w = ctx.saved_tensors
        ex, d_out = ctx.ex, d_out.contiguous()
        n_own = w.shape[1] - ex.shared             # bag entries of the example's own tokens
        with warnings.catch_warnings():      # "sparse CSR support is in beta"
            warnings.simplefilter("ignore")
            own = w[:, :n_own].reshape(-1)
            W_t = torch.sparse_csr_tensor(ex.crow_t, ex.col_t, own[ex.order], size=ex.shape[::-1])
            pattern = torch.sparse_csr_tensor(ex.crow, ex.col, w.new_zeros(w.numel()), size=ex.shape)
            d_T = W_t @ d_out
            d_w = torch.sparse.sampled_addmm(pattern, d_out, T.t(), beta=0.0).values()
        # The rows every example reads (the last `shared` of each seed's block): a dense product.
        S = ex.seeds
        d_T.view(S, ex.rows, -1)[:, -ex.shared:] += _summed_over_examples(
            w[:, n_own:].reshape(S, -1, ex.shared), d_out.view(S, -1, d_out.shape[-1]))
        return d_T, d_w.reshape(w.shape), None


def _summed_over_examples(a: torch.Tensor, b: torch.Tensor, parts: int = 8) -> torch.Tensor:
    """a^T b per seed, [S, A, B] from a [S, N, A] and b [S, N, B], as `parts` fixed slices of
    the examples summed afterwards. With A as small as 5, MKL splits one product's sum over
    examples between threads, so its rounding followed the thread count (the thread tuner
    needs it not to); slices batched as one bmm are each summed whole, and run in parallel."""
    S, N, A = a.shape
    parts = min(parts, N)
    n = N // parts * parts
    out = torch.bmm(a[:, :n].reshape(S * parts, n // parts, A).transpose(1, 2),
                    b[:, :n].reshape(S * parts, n // parts, -1)).view(S, parts, A, -1).sum(dim=1)
    if n < N:
        out += torch.bmm(a[:, n:].transpose(1, 2), b[:, n:])
    return out


@torch.compiler.disable   # sparse autograd stays eager; torch.compile fuses what is around it
def _bag(T, w, ex):
    if torch.is_grad_enabled() and (T.requires_grad or w.requires_grad):
        return _Bag.apply(T, w, ex)
    return F.embedding_bag(ex.idx, T, per_sample_weights=w, mode="sum")


def _bag_tables(P):
    """Attention scores [S, 2V + 1, H] (of each token at positions 0 and 1, then of '=' at 2),
    every table row already through [W_in | W_U] (biases folded into the constant row),
    [S, R, d_mlp + d_vocab_out] in Examples' row order, and W_L = W_out W_U."""
    return _Tables.apply(*(P[n] for n in PARAM_NAMES))


class _Tables(torch.autograd.Function):
    """The per-step tables, with a hand-written backward: autograd's graph of these thirty
    small products and views cost more in bookkeeping than in arithmetic (~2 ms a step).

    X stacks the residual streams a position can hold: each token at positions 0 and 1, and
    '=' at 2 (r2). A table row is a token's value vector (d_head wide) through W_O [W_in | W_U];
    pushing values through that [H, d_head, C] product, rather than the OV circuit's d_model
    wide outputs through [W_in | W_U], is a quarter of the work. Every product is a bmm over
    an explicit seed (or seed x head) axis, so a seed's numbers are the same bits whichever
    batch it trains in (matmul's broadcasting picks kernels by the whole batch's shape)."""

    @staticmethod
    def forward(ctx, W_E, W_pos, W_Q, W_K, W_V, W_O, W_in, b_in, W_out, b_out, W_U):
        S, V, d = W_E.shape
        H, e = W_V.shape[1], W_V.shape[-1]
        r2 = W_E[:, -1] + W_pos[:, 2]                                   # '=' is the last token
        X = torch.cat([W_E + W_pos[:, None, 0], W_E + W_pos[:, None, 1], r2[:, None]], dim=1)
        # The one query (at '='), folded into the keys: a score is X W_K^T q / sqrt(d_head).
        W_Qf = W_Q.permute(0, 2, 1, 3).reshape(S, d, H * e)
        q = torch.bmm(r2[:, None], W_Qf).view(S * H, e, 1)
        qK = torch.bmm(W_K.reshape(S * H, d, e), q).view(S, H, d) / math.sqrt(e)
        scores = torch.bmm(X, qK.transpose(1, 2))                       # [S, 2V + 1, H]
        W_cat = torch.cat([W_in, W_U], dim=-1)                          # [S, d, C]
        C = W_cat.shape[-1]
        OW = torch.bmm(W_O.reshape(S, H * e, d), W_cat).view(S * H, e, C)
        W_Vf = W_V.permute(0, 2, 1, 3).reshape(S, d, H * e)
        Z = torch.bmm(X, W_Vf).view(S, 2 * V + 1, H, e).transpose(1, 2).reshape(S * H, 2 * V + 1, e)
        Y = torch.bmm(Z, OW).view(S, H, 2 * V + 1, C)                   # every value through W_O [W_in | W_U]
        T = X.new_empty(S, 2 * V * H + H + 1, C)
        T[:, :2 * V * H].view(S, 2 * V, H, C).copy_(Y[:, :, :2 * V].transpose(1, 2))
        T[:, 2 * V * H:-1] = Y[:, :, 2 * V]
        T[:, -1] = torch.bmm(r2[:, None], W_cat)[:, 0] + torch.cat([b_in, torch.bmm(b_out[:, None], W_U)[:, 0]], dim=-1)
        ctx.save_for_backward(X, q, qK, W_Qf, W_K, W_Vf, W_O, Z, OW, W_cat, W_out, b_out, W_U)
        ctx.n_pos = W_pos.shape[1]
        return scores, T, torch.bmm(W_out, W_U)

    @staticmethod
    def backward(ctx, d_scores, d_T, d_W_L):
        X, q, qK, W_Qf, W_K, W_Vf, W_O, Z, OW, W_cat, W_out, b_out, W_U = ctx.saved_tensors
        S, n, d = X.shape
        V, H, e, C = (n - 1) // 2, qK.shape[1], Z.shape[-1], W_cat.shape[-1]
        m = C - W_U.shape[-1]
        r2 = X[:, -1]
        # T's rows back to the values they came from
        d_Y = d_T.new_empty(S, H, n, C)
        d_Y[:, :, :2 * V].copy_(d_T[:, :2 * V * H].view(S, 2 * V, H, C).transpose(1, 2))
        d_Y[:, :, 2 * V] = d_T[:, 2 * V * H:-1]
        d_Y = d_Y.view(S * H, n, C)
        d_const = d_T[:, -1]                                            # [S, C]
        d_OW = torch.bmm(Z.transpose(1, 2), d_Y).view(S, H * e, C)
        d_Z = torch.bmm(d_Y, OW.transpose(1, 2)).view(S, H, n, e).transpose(1, 2).reshape(S, n, H * e)
        d_W_O = torch.bmm(d_OW, W_cat.transpose(1, 2)).view(W_O.shape)
        d_W_cat = torch.baddbmm(torch.bmm(W_O.reshape(S, H * e, d).transpose(1, 2), d_OW),
                                r2[:, :, None], d_const[:, None])
        d_W_V = torch.bmm(X.transpose(1, 2), d_Z).view(S, d, H, e).permute(0, 2, 1, 3)
        d_X = torch.baddbmm(torch.bmm(d_Z, W_Vf.transpose(1, 2)), d_scores, qK)
        # the scores' path: the query through W_Q and W_K
        d_qK = torch.bmm(d_scores.transpose(1, 2), X).view(S * H, d, 1) / math.sqrt(e)
        d_q = torch.bmm(W_K.reshape(S * H, d, e).transpose(1, 2), d_qK).view(S, 1, H * e)
        d_W_K = torch.bmm(d_qK, q.transpose(1, 2)).view(W_K.shape)
        d_W_Q = torch.bmm(r2[:, :, None], d_q).view(S, d, H, e).permute(0, 2, 1, 3)
        d_r2 = d_X[:, -1] + torch.bmm(d_q, W_Qf.transpose(1, 2))[:, 0] \
            + torch.bmm(d_const[:, None], W_cat.transpose(1, 2))[:, 0]
        d_W_E = d_X[:, :V] + d_X[:, V:2 * V]
        d_W_E[:, -1] += d_r2
        d_W_pos = torch.stack([d_X[:, :V].sum(dim=1), d_X[:, V:2 * V].sum(dim=1), d_r2]
                              + [torch.zeros_like(d_r2)] * (ctx.n_pos - 3), dim=1)
        d_bU = d_const[:, m:]                                           # of b_out W_U
        d_W_U = d_W_cat[:, :, m:] + torch.bmm(b_out[:, :, None], d_bU[:, None]) \
            + torch.bmm(W_out.transpose(1, 2), d_W_L)
        return (d_W_E, d_W_pos, d_W_Q, d_W_K, d_W_V, d_W_O, d_W_cat[:, :, :m], d_const[:, :m],
                torch.bmm(d_W_L, W_U.transpose(1, 2)), torch.bmm(d_bU[:, None], W_U.transpose(1, 2))[:, 0], d_W_U)


def _bag_logits(tabs, ex: Examples):
    scores, T, W_L = tabs
    S, N = ex.x.shape
    w = _Attention.apply(scores.reshape(-1, scores.shape[-1]), ex.score_rows)
    out = _bag(T.reshape(-1, T.shape[-1]), w, ex).reshape(S, N, -1)
    if torch.is_grad_enabled() and (out.requires_grad or W_L.requires_grad):
        return _Neurons.apply(out, W_L)
    pre, direct = out.split([out.shape[-1] - W_L.shape[-1], W_L.shape[-1]], dim=-1)
    return torch.baddbmm(direct, torch.relu(pre), W_L)


class _Attention(torch.autograd.Function):
    """The bag's weights [S * N, 3H + 1]: the last position's attention over its keys x, y and
    '=' (each head's softmax over three scores), in the rows' order (position 0 for every head,
    then 1, then 2), then 1 for the constant row. Written out for three keys, where aten's
    softmax over a last axis of 3, the lookups, the stack and the concatenation were ten graph
    nodes; the backward adds each score row's gradients as _Lookup's does."""

    @staticmethod
    def forward(ctx, scores, rows):
        a = scores[rows.reshape(-1)].view(3, rows.shape[1], -1)         # [key, example, head]
        e = (a - a.amax(dim=0)).exp_()
        p = e / e.sum(dim=0)
        ctx.save_for_backward(p, rows)
        ctx.n_rows = scores.shape[0]
        H = a.shape[-1]
        w = p.new_ones(rows.shape[1], 3 * H + 1)
        w[:, :3 * H].view(-1, 3, H).copy_(p.transpose(0, 1))
        return w

    @staticmethod
    def backward(ctx, d_w):
        p, rows = ctx.saved_tensors
        H = p.shape[-1]
        d_p = d_w[:, :3 * H].view(-1, 3, H).transpose(0, 1)
        d_a = p * (d_p - (p * d_p).sum(dim=0))                          # softmax's backward
        return _added_by_row(ctx.n_rows, rows, d_a), None


class _Neurons(torch.autograd.Function):
    """logits = direct + relu(pre) W_L from the bag's out = [pre | direct]. The backward writes
    the gradient of `out` in place, both halves into one buffer, where autograd's split
    backward concatenated them afterwards (a copy of the largest tensor of the step)."""

    @staticmethod
    def forward(ctx, out, W_L):
        pre, direct = out.split([out.shape[-1] - W_L.shape[-1], W_L.shape[-1]], dim=-1)
        post = torch.relu(pre)
        ctx.save_for_backward(post, W_L)
        return torch.baddbmm(direct, post, W_L)

    @staticmethod
    def backward(ctx, g):
        post, W_L = ctx.saved_tensors
        m = post.shape[-1]
        d_out = g.new_empty(*g.shape[:-1], m + g.shape[-1])
        torch.ops.aten.threshold_backward.grad_input(torch.bmm(g, W_L.transpose(1, 2)), post, 0,
                                                     grad_input=d_out[..., :m])
        d_out[..., m:] = g
        return d_out, torch.bmm(post.transpose(1, 2), g)


def step_logits(P: dict[str, torch.Tensor], train: Examples, test: Examples | None = None):
    """A training step's forward: train logits (differentiable) and test logits (no grad; None
    when no test examples are given), both [S, N, d_vocab_out], from one set of per-step tables."""
    if not train.bag:
        logits = forward(P, train.x, train.y)
        with torch.no_grad():
            return logits, None if test is None else forward(P, test.x, test.y)
    tabs = _bag_tables(P)
    logits = _bag_logits(tabs, train)
    if test is None:
        return logits, None
    with torch.no_grad():   # no graph, and _bag takes its plain (no sparse backward) path
        return logits, _bag_logits(tabs, test)


def smoothness(W_E: torch.Tensor, p: int) -> torch.Tensor:
    """The embedding smoothness penalty per seed, [S]: sum_x ||W_E[x] - W_E[x-1]||^2 over the
    digit rows x = 0 .. p-1, circularly (row -1 is row p-1); the '=' row is left out.
    Neighbouring digits pulled together favour slow waves, the video's low key frequencies."""
    digits = W_E[:, :p]
    return (digits - digits.roll(1, dims=1)).pow(2).sum(dim=(1, 2))


DTYPES = {"float64": torch.float64, "float32": torch.float32}


def example_losses(logits: torch.Tensor, labels: torch.Tensor, loss: str = "softmax",
                   precision: str = "float64") -> torch.Tensor:
    """Cross-entropy per example, [S, N], computed in `precision` (float64 by default: float32
    there causes the 'slingshot' spikes once the loss nears 1e-7). loss "softmax": -log of
    exp(z_label) / sum exp(z); "stablemax" (Prieto et al. 2025): the same with s(z) = z + 1 for
    z >= 0 and 1 / (1 - z) for z < 0 in place of exp, which cannot underflow to an exact 0."""
    if loss == "softmax":
        return _SoftmaxCE.apply(logits, labels, DTYPES[precision])
    z = logits.to(DTYPES[precision])
    # each branch on its own half-line: where() differentiates both, and 1 / (1 - z) at z >= 1
    # would put an inf into the unused branch's gradient
    s = torch.where(z >= 0, z.clamp(min=0) + 1, 1 / (1 - z.clamp(max=0)))
    return s.sum(dim=-1).log() - s.gather(-1, labels[..., None])[..., 0].log()


def loss_fn(logits: torch.Tensor, labels: torch.Tensor, loss: str = "softmax",
            precision: str = "float64") -> torch.Tensor:
    """Mean cross-entropy per seed, [S] (example_losses averaged over examples)."""
    return example_losses(logits, labels, loss, precision).mean(dim=-1)


class _SoftmaxCE(torch.autograd.Function):
    """-log_softmax(logits in dtype)[label] per example, with the gradient softmax - onehot
    written in one pass: autograd's log_softmax, gather and cast chain took twice as long, for
    the same numbers (tests/test_training.py compares them)."""

    @staticmethod
    def forward(ctx, logits, labels, dtype):
        z = logits.to(dtype)
        z = z - z.amax(dim=-1, keepdim=True)     # the label's logit minus the largest: exact
        e = z.exp()
        total = e.sum(dim=-1, keepdim=True)
        ctx.save_for_backward(e, total, labels)
        ctx.dtype = logits.dtype
        # log(total) - z[label], not logsumexp - logit: near a loss of 1e-9 the latter
        # subtracts two numbers ~25 and keeps six digits fewer
        return (total.log() - z.gather(-1, labels[..., None]))[..., 0]

    @staticmethod
    def backward(ctx, g):
        e, total, labels = ctx.saved_tensors
        p = e / total                            # the softmax
        p.scatter_add_(-1, labels[..., None], torch.full_like(total, -1.0))
        return p.mul_(g[..., None].to(p.dtype)).to(ctx.dtype), None, None


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(dim=-1) == labels).to(torch.float64).mean(dim=-1)
