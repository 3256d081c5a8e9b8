"""The grokking lab: each recipe against a straightforward implementation of its published
formula, the diagnostics, the lab's tasks (mul, div), and the recipes' runs (batched seeds equal
a seed alone, a resume retraces the run)."""
from collections import deque

import numpy as np
import pytest
import torch

from grokking.training import model, tasks
from grokking.training import train as T
from grokking.training.config import Config, ConfigError, recipe_label
from grokking.training.history import Run
from grokking.training.optim import GradFilter, grad_diagnostics, orthogonalize_, tensor_dots
from grokking.training.train import Seeded, train


def _params(S=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(S, 5, 4, generator=g), torch.randn(S, 7, generator=g), torch.zeros(S, 3)]


def _grads(n, S=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(S, 5, 4, generator=g), torch.randn(S, 7, generator=g), torch.randn(S, 3, generator=g)]
            for _ in range(n)]


def _filtered(kind, steps, **kw):
    ps = [p.clone() for p in _params()]
    f = GradFilter(kind, ps, kw.get("alpha", 0.98), kw.get("lamb", 2.0), kw.get("window", 100))
    out = []
    for gs in steps:
        for p, g in zip(ps, gs):
            p.grad = g.clone()
        f()
        out.append([p.grad.clone() for p in ps])
    return out


def test_grokfast_ema_is_the_authors_formula():
    """h starts at the first gradient; h = alpha h + (1 - alpha) g; g + lamb h (Lee et al. 2024)."""
    steps = _grads(12)
    mine = _filtered("ema", steps, alpha=0.9, lamb=2.5)
    for s in range(3):                       # every seed alone, as the authors' loop does
        h = None
        for t, gs in enumerate(steps):
            g = [x[s].double() for x in gs]
            h = [x.clone() for x in g] if h is None else h
            h = [hi * 0.9 + gi * (1 - 0.9) for hi, gi in zip(h, g)]
            for i, (gi, hi) in enumerate(zip(g, h)):
                torch.testing.assert_close(mine[t][i][s].double(), gi + 2.5 * hi, rtol=1e-6, atol=1e-6)


def test_grokfast_ma_is_the_authors_formula_with_its_warm_up():
    """The mean of the last `window` gradients, added times lamb once the window is full."""
    steps = _grads(11)
    mine = _filtered("ma", steps, window=4, lamb=5.0)
    for s in range(3):
        window = [deque(maxlen=4) for _ in range(3)]
        for t, gs in enumerate(steps):
            for i, x in enumerate(gs):
                window[i].append(x[s].double())
                want = x[s].double()
                if len(window[i]) == 4:
                    want = want + 5.0 * sum(window[i]) / 4
                torch.testing.assert_close(mine[t][i][s].double(), want, rtol=1e-6, atol=1e-6)
    assert all(torch.equal(mine[t][i], steps[t][i]) for t in range(3) for i in range(3))   # warm-up


def test_orthograd_is_the_authors_projection_rescaled():
    """Per tensor and seed: g - (w.g / (w.w + 1e-30)) w, rescaled to |g|; a zero tensor's
    gradient passes unchanged (the biases at init)."""
    ps = _params()
    gs = _grads(1)[0]
    for p, g in zip(ps, gs):
        p.grad = g.clone()
    orthogonalize_(ps)
    for p, g in zip(ps, gs):
        for s in range(3):
            w, gv = p[s].double().flatten(), g[s].double().flatten()
            perp = gv - (w @ gv) / (w @ w + 1e-30) * w
            want = perp * gv.norm() / (perp.norm() + 1e-30)
            torch.testing.assert_close(p.grad[s].double().flatten(), want, rtol=1e-5, atol=1e-6)
            assert abs(float(p.grad[s].double().flatten() @ w)) < 1e-4 * (1 + float(w.norm() * gv.norm()))


def test_stablemax_cross_entropy_is_the_published_formula():
    """s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0); loss = -log s(z_label) / sum s(z); its
    gradient is autograd's of that formula; float64 unless precision says float32."""
    g = torch.Generator().manual_seed(2)
    z = (torch.randn(2, 6, 9, generator=g) * 4).requires_grad_(True)
    lab = torch.randint(0, 9, (2, 6), generator=g)
    mine = model.loss_fn(z, lab, "stablemax")
    zn = z.detach().double().numpy()
    s = np.where(zn >= 0, zn + 1, 1 / (1 - zn))
    want = -np.log(np.take_along_axis(s, lab.numpy()[..., None], -1)[..., 0] / s.sum(-1)).mean(-1)
    np.testing.assert_allclose(mine.detach().numpy(), want, rtol=1e-12)
    assert mine.dtype == torch.float64
    mine.sum().backward()
    z2 = z.detach().double().requires_grad_(True)
    s2 = torch.where(z2 >= 0, z2 + 1, 1 / (1 - z2))
    (-(s2.gather(-1, lab[..., None])[..., 0] / s2.sum(-1)).log().mean(-1)).sum().backward()
    torch.testing.assert_close(z.grad.double(), z2.grad, rtol=1e-5, atol=1e-7)
    assert model.loss_fn(z, lab, "stablemax", "float32").dtype == torch.float32
    # the softmax path is unchanged, and float32 is float32
    ref = torch.nn.functional.cross_entropy(z.detach().double().flatten(0, 1), lab.flatten(), reduction="none")
    torch.testing.assert_close(model.loss_fn(z.detach(), lab), ref.view(2, 6).mean(-1))
    assert model.loss_fn(z.detach(), lab, "softmax", "float32").dtype == torch.float32


def test_diagnostics_collapse_share_and_gradient_against_the_weights():
    """collapse share: the examples whose loss is exactly 0 in the run's precision (softmax
    collapse); the gradient's norm and cosine with the weights over all tensors as one vector."""
    z = torch.zeros(1, 4, 5, dtype=torch.float32)
    z[0, :2, 0] = 30.0        # exp(-30) is lost beside 1 in float32, not in float64
    z[0, 2:, 0] = 1.0
    lab = torch.zeros(1, 4, dtype=torch.long)
    assert float((model.example_losses(z, lab, precision="float32") == 0).double().mean()) == 0.5
    assert float((model.example_losses(z, lab) == 0).double().mean()) == 0.0
    ps = _params()
    for p, g in zip(ps, _grads(1)[0]):
        p.grad = g
    norm, cos = grad_diagnostics(tensor_dots(ps))
    for s in range(3):
        gv = torch.cat([p.grad[s].double().flatten() for p in ps])
        wv = torch.cat([p[s].double().flatten() for p in ps])
        assert abs(float(norm[s]) - float(gv.norm())) < 1e-6 * float(gv.norm())
        assert abs(float(cos[s]) - float(gv @ wv / (gv.norm() * wv.norm()))) < 1e-6


def test_init_scale_multiplies_every_initial_weight():
    cfg = Config(p=11, d_model=16, n_heads=2, d_head=8, d_mlp=32)
    a, b = model.init_params(cfg, [3]), model.init_params(cfg.replace(init_scale=0.25), [3])
    for k in a:
        torch.testing.assert_close(b[k], a[k] * 0.25, rtol=0, atol=0)


def test_mul_and_div_tasks():
    p = 13
    x, y = tasks.all_pairs(p)
    assert np.array_equal(tasks.answers("mul", x, y, p), (x * y) % p)
    d = tasks.answers("div", x, y, p)
    ok = y != 0
    assert np.array_equal((d[ok] * y[ok]) % p, x[ok])          # x / y: the c with c * y = x
    train_, test_ = tasks.split(p, 0.4, 5, "div")
    both = np.concatenate([train_, test_])
    assert np.array_equal(np.sort(both), np.flatnonzero(ok)) and train_.size == int(0.4 * p * (p - 1))
    # every other op keeps the split it always had (a permutation of all p*p pairs)
    perm = np.random.Generator(np.random.PCG64(5)).permutation(p * p)
    assert np.array_equal(tasks.split(p, 0.4, 5)[0], np.sort(perm[: int(0.4 * p * p)]))


@pytest.mark.parametrize("bad, words", [
    (dict(grokfast="fast"), "grokfast"), (dict(optimizer="sgd"), "optimizer"), (dict(loss="hinge"), "loss"),
    (dict(precision="float16"), "precision"), (dict(grokfast_alpha=1.0), "alpha"), (dict(init_scale=0.0), "init"),
    (dict(grokfast_window=0), "window"), (dict(op="mod"), "operation")])
def test_bad_recipes_are_refused(bad, words):
    with pytest.raises(ConfigError, match=words):
        Config(**bad).validate()


RECIPES = [dict(grokfast="ema"), dict(grokfast="ma", grokfast_window=5, grokfast_lamb=5.0),
           dict(optimizer="orthoadamw", loss="stablemax", weight_decay=0.0),
           dict(loss="softmax", precision="float32", init_scale=0.5), dict(op="div"), dict(op="mul")]


@pytest.mark.parametrize("recipe", RECIPES, ids=recipe_label)
@pytest.mark.slow
def test_a_recipe_batched_equals_the_seed_alone_and_is_recorded(runs_dir, tiny_cfg, recipe):
    cfg = tiny_cfg.replace(epochs=30, **recipe)
    jobs = [Seeded(cfg.replace(seed=s), Run(f"b{s}")) for s in (0, 1)]
    train(jobs, progress=False)
    alone = Run("alone")
    train([Seeded(cfg.replace(seed=1), alone)], progress=False)
    a, b = alone.load_checkpoint(30), jobs[1].run.load_checkpoint(30)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-5, rtol=1e-4, err_msg=k)
    assert not np.allclose(jobs[0].run.load_checkpoint(30)["W_E"], b["W_E"])
    m = alone.manifest["config"]
    assert all(m[k] == v for k, v in recipe.items())
    metrics = alone.metrics()
    for k in T.DIAGNOSTICS:                   # measured at every epoch, the last one included
        assert np.isfinite(metrics[k]).all(), k


@pytest.mark.parametrize("recipe", [dict(grokfast="ema"), dict(grokfast="ma", grokfast_window=4),
                                    dict(optimizer="orthoadamw", loss="stablemax")], ids=recipe_label)
@pytest.mark.slow
def test_a_recipe_resumes_bit_identically(runs_dir, tiny_cfg, recipe, monkeypatch):
    """The filter's state is part of the resume state (Grokfast-MA's every MA_RESUME_EVERY
    epochs): a run stopped and resumed takes the uninterrupted run's path, bit for bit."""
    monkeypatch.setattr(T, "MA_RESUME_EVERY", 10)
    cfg = tiny_cfg.replace(**recipe)
    full, part = Run("full"), Run("part")
    train([Seeded(cfg, full)], progress=False)
    train([Seeded(cfg.replace(epochs=23), part)], progress=False)
    if recipe.get("grokfast") == "ma":        # a resume state at 10, 20 and the end only
        assert [r["epoch"] for r in part.manifest["resume"]] == [20, 23]
    train([Seeded(cfg, part)], progress=False)
    a, b = full.load_checkpoint(40), part.load_checkpoint(40)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    fm, pm = full.metrics(), part.metrics()     # (the test split was measured at 23 in part only)
    assert all(np.array_equal(fm[k], pm[k], equal_nan=True) for k in fm if not k.startswith("test"))


def test_recipes_on_the_gpu_code_path(runs_dir, tiny_cfg):
    """The trainer's CUDA path (dense forward, forced on CPU) trains every recipe to the bag
    path's model: the filters and the projection act on gradients, not on the forward."""
    cfg = tiny_cfg.replace(p=13, epochs=25, grokfast="ema", optimizer="orthoadamw", loss="stablemax",
                           init_scale=0.8)
    dense, bag = Run("dense"), Run("bag")
    train([Seeded(cfg, dense)], progress=False, dense=True)
    train([Seeded(cfg, bag)], progress=False, dense=False)
    a, b = dense.load_checkpoint(25), bag.load_checkpoint(25)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-4, rtol=1e-3, err_msg=k)
    ma = Run("dense-ma")
    train([Seeded(cfg.replace(grokfast="ma", grokfast_window=3, optimizer="adamw"), ma)], progress=False, dense=True)
    assert np.isfinite(ma.metrics()["grad_norm"]).all()
