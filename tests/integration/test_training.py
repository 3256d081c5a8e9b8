"""The training stage: the model, the data, the history on disk, resume, and grokking itself."""
import contextlib

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import grokking.cli as render
from grokking.common import io
from grokking.training import commit as C
from grokking.training import history, model, reference, tasks
from grokking.training.config import CANONICAL, QUICK, Config, ConfigError, schedule_epochs
from grokking.training.history import HistoryError, Run
from grokking.training.train import Seeded, train


def test_parameter_count_is_canonical():
    assert model.n_params(CANONICAL) == 226_816
    P = model.init_params(CANONICAL, [0])
    assert sum(v.numel() for v in P.values()) == 226_816
    assert model.n_params(CANONICAL.replace(unembed_eq=False)) == 226_816 - 128


def test_init_statistics():
    P = model.init_params(CANONICAL, [0])
    assert abs(P["W_in"].std().item() - 128 ** -0.5) < 0.002
    assert abs(P["W_U"].std().item() - 114 ** -0.5) < 0.004
    assert P["b_in"].abs().max() == 0


def _fast_and_reference(P, cfg, path="bag", n=600, seed=1):
    d = tasks.dataset(cfg)
    idx = np.random.default_rng(seed).choice(cfg.p ** 2, n, replace=False)
    x, y, lab = (torch.tensor(d[k][idx]) for k in ("x", "y", "label"))
    W = {k: v[0].detach().clone().requires_grad_(True) for k, v in P.items()}
    Pf = {k: v.detach().clone().requires_grad_(True) for k, v in P.items()}
    if path == "bag":   # the trainer's CPU step: train logits with grad, test logits without
        ex = model.Examples(x[None], y[None], cfg.d_vocab, cfg.n_heads)
        fast, fast_test = model.step_logits(Pf, ex, ex)
        torch.testing.assert_close(fast_test, fast.detach(), atol=1e-6, rtol=1e-6)
        assert not fast_test.requires_grad
        fast = fast[0]
    else:
        fast = model.forward(Pf, x[None], y[None])[0]
    ref = reference.reference_forward(W, torch.tensor(tasks.tokens(x.numpy(), y.numpy(), cfg.p)))[:, -1]
    model.loss_fn(fast[None], lab[None]).sum().backward()
    model.loss_fn(ref[None], lab[None]).sum().backward()
    return fast, ref, Pf, W


@pytest.mark.parametrize("path", ["bag", "dense"])
@pytest.mark.parametrize("sharpen", [1.0, 4.0])
def test_fast_path_equals_reference(sharpen, path):
    P = model.init_params(CANONICAL, [0])
    P["W_Q"] = P["W_Q"] * sharpen   # sharper attention, unlike uniform-ish init
    P["W_K"] = P["W_K"] * sharpen
    P["b_in"] = P["b_in"] + 0.1     # non-zero biases exercise their paths too
    P["b_out"] = P["b_out"] - 0.1
    fast, ref, Pf, W = _fast_and_reference(P, CANONICAL, path)
    assert ref.abs().max() > 1  # not a vacuous comparison
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)
    for k in model.PARAM_NAMES:
        torch.testing.assert_close(Pf[k].grad[0], W[k].grad, atol=1e-4, rtol=1e-4, msg=k)


@pytest.mark.parametrize("p,heads,seeds", [(2, 1, [0]), (7, 2, [0, 1, 2]), (11, 4, [5, 6])])
def test_bag_step_equals_dense_forward(p, heads, seeds):
    """The CPU training step (embedding bag, sparse backward) against the dense forward, on odd
    shapes and batched seeds whose splits differ, values and gradients."""
    cfg = QUICK.replace(p=p, n_heads=heads, d_head=8, d_model=16, d_mlp=32)
    ds = [tasks.dataset(cfg.replace(seed=s)) for s in seeds]
    stack = lambda k, part: torch.tensor(np.stack([d[k][d[part]] for d in ds]))
    ex = {part: model.Examples(stack("x", part), stack("y", part), cfg.d_vocab, heads)
          for part in ("train", "test")}
    P = model.init_params(cfg, seeds)
    P["b_in"] = P["b_in"] + 0.3
    Pb = {k: v.clone().requires_grad_(True) for k, v in P.items()}
    Pd = {k: v.clone().requires_grad_(True) for k, v in P.items()}
    train_logits, test_logits = model.step_logits(Pb, ex["train"], ex["test"])
    dense = model.forward(Pd, ex["train"].x, ex["train"].y)
    torch.testing.assert_close(train_logits, dense, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(test_logits, model.forward(P, ex["test"].x, ex["test"].y), atol=1e-5, rtol=1e-5)
    (train_logits ** 2).sum().backward()
    (dense ** 2).sum().backward()
    for k in model.PARAM_NAMES:
        torch.testing.assert_close(Pb[k].grad, Pd[k].grad, atol=1e-4, rtol=1e-4, msg=k)


def test_fast_cache_matches_reference_last_position():
    P = model.init_params(QUICK, [3])
    d = tasks.dataset(QUICK)
    x, y = torch.tensor(d["x"][:200]), torch.tensor(d["y"][:200])
    cache, rc = {}, {}
    model.forward(P, x[None], y[None], cache=cache)
    reference.reference_forward({k: v[0] for k, v in P.items()},
                                torch.tensor(tasks.tokens(x.numpy(), y.numpy(), QUICK.p)), cache=rc)
    for name in ("mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_mid", "logits"):
        torch.testing.assert_close(cache[name][0], rc[name][:, -1], atol=1e-5, rtol=1e-5, msg=name)
    torch.testing.assert_close(cache["attn.hook_pattern"][0], rc["attn.hook_pattern"][:, :, -1])


def test_reference_is_causal():
    P = {k: v[0] for k, v in model.init_params(QUICK, [0]).items()}
    cache = {}
    reference.reference_forward(P, torch.tensor([[1, 2, QUICK.p]]), cache=cache)
    pat = cache["attn.hook_pattern"][0]
    assert torch.all(pat.triu(1) == 0)
    torch.testing.assert_close(pat.sum(-1), torch.ones_like(pat.sum(-1)))


def test_tasks_and_labels():
    x, y = tasks.all_pairs(7)
    assert (x[7 * 3 + 5], y[7 * 3 + 5]) == (3, 5)   # x-major grid
    assert tasks.answers("add", np.array([5]), np.array([4]), 7)[0] == 2
    assert tasks.answers("sub", np.array([2]), np.array([5]), 7)[0] == 4
    assert tasks.answers("pow", np.array([3]), np.array([2]), 7, a=2, b=3)[0] == (9 + 8) % 7
    toy = tasks.toy_table(5)
    assert toy["sum"].reshape(5, 5)[3, 4] == 2 and len(toy["vocab"]) == 6 and toy["is_test"].any()


def test_split_is_seeded_and_deterministic():
    tr, te = tasks.split(113, 0.3, 0)
    assert (tr.size, te.size) == (3830, 8939)
    assert not np.intersect1d(tr, te).size and np.union1d(tr, te).size == 113 ** 2
    tr2, _ = tasks.split(113, 0.3, 0)
    tr3, _ = tasks.split(113, 0.3, 1)
    assert np.array_equal(tr, tr2) and not np.array_equal(tr, tr3)
    # pinned to literal indices: the split must never change under a run's feet
    assert tr[:5].tolist() == [1, 11, 12, 14, 15] and tr[-3:].tolist() == [12758, 12759, 12764]
    assert int(tr.sum()) == 24606388


def test_schedule_is_dense_early_and_complete():
    e = schedule_epochs(CANONICAL.schedule, CANONICAL.epochs)
    assert len(e) >= 1000 and e[0] == 0 and e[-1] == CANONICAL.epochs
    assert set(range(101)) <= set(e)
    assert e == sorted(set(e))


def test_bad_configs_raise():
    for bad in (dict(p=1), dict(frac=0.0), dict(frac=1.0), dict(op="mod"), dict(a=0), dict(p=2, frac=0.1)):
        with pytest.raises(ConfigError):
            CANONICAL.replace(**bad).validate()


def test_checkpoint_round_trip_and_manifest(runs_dir, tiny_cfg):
    run = Run("rt")
    r = train([Seeded(tiny_cfg, run)], progress=False)
    m = run.manifest
    assert m["epochs_done"] == 40 and m["status"] == "complete"
    assert run.checkpoint_epochs() == schedule_epochs(tiny_cfg.schedule, 40)
    assert run.verify() == []
    w = run.load_checkpoint(40)
    last = m["resume"][-1]
    state = history.read_npz(run.dir / last["file"], last["sha256"])
    assert last["epoch"] == 40 and int(state["epoch"]) == 40 and str(state["run_id"]) == m["run_id"]
    for k in model.PARAM_NAMES:
        assert w[k].dtype == np.float32 and np.array_equal(w[k], state[k])
    assert w["W_E"].shape == (12, 16)
    metrics = run.metrics()
    assert not np.isnan(metrics["train_loss"]).any() and metrics["train_loss"].shape == (41,)
    assert Config.from_dict(m["config"]) == tiny_cfg
    sp = run.split()
    assert np.array_equal(sp["train"], tasks.split(11, 0.5, 0)[0])
    assert r["milestones"][0]["epochs_measured"] == 40


@contextlib.contextmanager
def _interrupted_after(monkeypatch, at: int):
    """Ctrl-C in the step loop right after the checkpoint of epoch `at` was handed to the
    background committer (expected inside the block): the commit in flight must still land."""
    import grokking.training.train as T
    real = C.Committer.submit

    def interrupting(self, fn, jobs, snaps, epoch, *rest):
        real(self, fn, jobs, snaps, epoch, *rest)
        if epoch == at:
            raise KeyboardInterrupt
    monkeypatch.setattr(C.Committer, "submit", interrupting)
    with pytest.raises(KeyboardInterrupt):
        yield
    monkeypatch.setattr(C.Committer, "submit", real)


def test_resume_is_bit_identical(runs_dir, tiny_cfg, monkeypatch):
    full = Run("full")
    train([Seeded(tiny_cfg, full)], progress=False, compile="off")

    # interrupt the second run right after its epoch-20 checkpoint, as Ctrl-C would
    part = Run("part")
    with _interrupted_after(monkeypatch, 20):
        train([Seeded(tiny_cfg, part)], progress=False, compile="off")
    assert part.manifest["epochs_done"] == 20 and part.verify() == []
    r = train([Seeded(tiny_cfg, part)], progress=False, compile="off")
    assert r["start"] == 20
    for e in full.checkpoint_epochs():
        a, b = full.load_checkpoint(e), part.load_checkpoint(e)
        assert all(np.array_equal(a[k], b[k]) for k in a), e
    fm, pm = full.metrics(), part.metrics()
    assert all(np.array_equal(fm[k], pm[k], equal_nan=True) for k in fm)


def test_extending_a_run_continues_it(runs_dir, tiny_cfg):
    run = Run("ext")
    train([Seeded(tiny_cfg.replace(epochs=20), run)], progress=False)
    r = train([Seeded(tiny_cfg, run)], progress=False)
    assert r["start"] == 20 and run.manifest["epochs_done"] == 40
    again = train([Seeded(tiny_cfg, run)], progress=False)
    assert again["skipped"]


def test_extending_with_another_schedule_keeps_both(runs_dir, tiny_cfg):
    """A resume may change the checkpoint schedule and the test cadence (a sweep point extended
    under a denser schedule): old checkpoints stay, new ones follow the new schedule, and the
    weights equal an uninterrupted run's."""
    from grokking.training.config import Schedule
    run, ref = Run("resched"), Run("ref")
    sparse = tiny_cfg.replace(epochs=20, schedule=Schedule(dense_until=2, log_until=2, n_log=0, stride=10))
    train([Seeded(sparse, run)], progress=False)
    assert run.checkpoint_epochs() == [0, 1, 2, 10, 20]
    train([Seeded(tiny_cfg.replace(test_every=3), run)], progress=False)
    assert run.checkpoint_epochs() == [0, 1, 2, 10, 20] + [e for e in schedule_epochs(tiny_cfg.schedule, 40) if e > 20]
    train([Seeded(tiny_cfg, ref)], progress=False)
    a, b = run.load_checkpoint(40), ref.load_checkpoint(40)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_batched_seeds_match_training_alone(runs_dir, tiny_cfg):
    cfg = tiny_cfg.replace(epochs=30)
    jobs = [Seeded(cfg.replace(seed=s), Run(f"b{s}")) for s in (0, 1, 2)]
    train(jobs, progress=False)
    alone = Run("alone1")
    train([Seeded(cfg.replace(seed=1), alone)], progress=False)
    a, b = alone.load_checkpoint(30), jobs[1].run.load_checkpoint(30)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-5, rtol=1e-4, err_msg=k)
    np.testing.assert_allclose(alone.metrics()["train_loss"], jobs[1].run.metrics()["train_loss"], rtol=1e-5)
    # and the seeds really are different models on different splits
    assert not np.allclose(jobs[0].run.load_checkpoint(30)["W_E"], b["W_E"])


def test_cross_entropy_is_the_float64_log_softmax_chain():
    """loss_fn's one-pass forward and backward give autograd's float64 log_softmax numbers,
    also where the loss is ~1e-9 (float32 would round it to 0: the slingshot regime)."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 300, 23, generator=g) * 3
    labels = torch.randint(0, 23, (2, 300), generator=g)
    logits[1].scatter_(-1, labels[1][:, None], 25.0)          # seed 1: every example far ahead
    a, b = logits.clone().requires_grad_(True), logits.clone().requires_grad_(True)
    mine = model.loss_fn(a, labels)
    textbook = -b.to(torch.float64).log_softmax(-1).gather(-1, labels[..., None])[..., 0].mean(-1)
    assert mine.dtype == torch.float64 and 0 < mine[1] < 1e-6
    torch.testing.assert_close(mine, textbook, rtol=1e-8, atol=0)   # logsumexp - logit: 1e-6 off
    (mine * torch.tensor([1.0, 3.0], dtype=torch.float64)).sum().backward()
    (textbook * torch.tensor([1.0, 3.0], dtype=torch.float64)).sum().backward()
    assert a.grad.dtype == torch.float32
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=1e-12)


def test_rounds_alike_tells_a_thread_dependent_step_from_a_pure_one():
    from grokking.training.threads import rounds_alike
    x = torch.arange(10, dtype=torch.float32)
    assert rounds_alike(lambda: [x * 2], [2, 1])
    assert not rounds_alike(lambda: [x + torch.get_num_threads()], [2, 1])


def _canonical_small(seed=0, epochs=8):
    """The canonical model and task (its GEMMs are the size whose sums some CPUs split by
    thread), a few epochs with a checkpoint at each."""
    from grokking.training.config import Schedule
    return CANONICAL.replace(seed=seed, epochs=epochs, lr=1e-2, test_every=3,
                             schedule=Schedule(dense_until=epochs, log_until=epochs, n_log=0, stride=1))


@pytest.mark.parametrize("seeds", [[0], [0, 1]])
@pytest.mark.slow
def test_canonical_resume_retraces_the_run_whatever_the_thread_counts(runs_dir, monkeypatch, seeds):
    """On any CPU (on some, the thread count changes a canonical step's rounding, and the
    trainer then runs every step on one thread): a run whose tuner switches thread counts every
    few epochs, killed and resumed by a session that starts on another count, has every
    checkpoint and metric bit for bit of a run trained straight on one thread."""
    import functools
    import grokking.training.train as T
    from grokking.training.threads import ThreadTuner
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        straight = [Seeded(_canonical_small(s), Run(f"straight{s}")) for s in seeds]
        train(straight, progress=False, compile="off", tune_threads=False)
        monkeypatch.setattr(T, "ThreadTuner", functools.partial(ThreadTuner, candidates=[2, 1], period=2, trials=1))
        torch.set_num_threads(2)
        part = [Seeded(_canonical_small(s), Run(f"part{s}")) for s in seeds]
        with _interrupted_after(monkeypatch, 4):
            train(part, progress=False, compile="off")
        torch.set_num_threads(1)                  # the next session starts on another count
        assert train(part, progress=False, compile="off")["start"] == 4
    finally:
        torch.set_num_threads(before)
    for a, b in zip(straight, part):
        for e in a.run.checkpoint_epochs():
            wa, wb = a.run.load_checkpoint(e), b.run.load_checkpoint(e)
            assert all(np.array_equal(wa[k], wb[k]) for k in wa), (e, a.cfg.seed)
        ma, mb = a.run.metrics(), b.run.metrics()
        assert all(np.array_equal(ma[k], mb[k], equal_nan=True) for k in ("train_loss", "test_loss")), a.cfg.seed
        assert b.run.manifest["threads"]["subnormals"] == "flushed"


def test_a_cpu_that_rounds_by_thread_count_trains_on_one_thread(runs_dir, tiny_cfg, monkeypatch):
    """Where the probe step's bits differ between thread counts, every step runs on one thread
    (never the tuner's trials on two) and the manifest says why."""
    import grokking.training.threads as TH
    import grokking.training.train as T
    monkeypatch.setattr(TH, "rounds_alike", lambda step, counts: False)
    monkeypatch.setattr(TH, "cores", lambda: 2)
    seen = []
    real = T.backward
    monkeypatch.setattr(T, "backward", lambda *a, **k: seen.append(torch.get_num_threads()) or real(*a, **k))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        run = Run("pinned")
        train([Seeded(tiny_cfg, run)], progress=False, compile="off")
    finally:
        torch.set_num_threads(before)
    assert set(seen) == {1}
    t = run.manifest["threads"]
    assert t["policy"] == "one thread" and t["threads"] == 1 and "rounds the step differently" in t["why"]


@pytest.mark.slow
def test_subnormals_are_flushed_in_every_thread_of_a_training_process(tmp_path):
    """The trainer's process flushes subnormals on all of torch's threads (set at import, before
    the pool starts): measured, not assumed, in a fresh process as `grokking train` runs."""
    import json
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    code = ("import torch, grokking.training.train as T; from grokking.training import threads; torch.set_num_threads(2); "
            "print(threads.subnormals_flushed())")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    # and without the project's flush, the same check sees subnormals (the check can fail)
    code = ("import torch, numpy as np; torch.set_num_threads(2); n = 2 * 65536; "
            "x = torch.from_numpy(np.full(n, 1e-39, dtype=np.float32)); "
            "print(bool((torch.mul(x, 1.0).numpy().view(np.uint32) & 0x7FFFFFFF).any()))")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    r = subprocess.run([sys.executable, str(root / "render.py"), "train", "--run", "flush", "--preset", "quick",
                        "--epochs", "3", "--p", "11", "--quiet"] , cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "runs" / "flush" / "manifest.json").read_text())
    assert m["threads"]["subnormals"] == "flushed"


def test_seed_adamw_is_torch_adamw():
    """With one lr and weight decay, the per-seed AdamW takes torch.optim.AdamW's steps."""
    from grokking.training.optim import SeedAdamW
    g = torch.Generator().manual_seed(0)
    a = [torch.randn(3, 5, 4, generator=g).requires_grad_(True), torch.randn(3, 7, generator=g).requires_grad_(True)]
    b = [t.detach().clone().requires_grad_(True) for t in a]
    mine = SeedAdamW(a, [1e-2] * 3, [1.0] * 3, betas=(0.9, 0.98))
    ref = torch.optim.AdamW(b, lr=1e-2, betas=(0.9, 0.98), weight_decay=1.0)
    for step in range(25):
        scale = min(step / 10, 1.0)
        for g_ in ref.param_groups:
            g_["lr"] = 1e-2 * scale
        for ps in (a, b):
            sum((p.sin() * (i + 1)).pow(2).sum() for i, p in enumerate(ps)).backward()
        mine.step(scale)
        ref.step()
        mine.zero_grad()
        ref.zero_grad()
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.detach().numpy(), y.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_seed_adamw_gives_each_seed_its_own_lr_and_weight_decay():
    """Each seed of the batch takes torch.optim.AdamW's steps with its own lr and weight decay."""
    from grokking.training.optim import SeedAdamW
    lrs, wds = [1e-2, 3e-3, 3e-2], [1.0, 0.0, 0.3]
    g = torch.Generator().manual_seed(1)
    a = [torch.randn(3, 5, 4, generator=g).requires_grad_(True), torch.randn(3, 7, generator=g).requires_grad_(True)]
    mine = SeedAdamW(a, lrs, wds, betas=(0.9, 0.98))
    refs = [[t[s].detach().clone().requires_grad_(True) for t in a] for s in range(3)]
    opts = [torch.optim.AdamW(r, lr=lr, betas=(0.9, 0.98), weight_decay=wd) for r, lr, wd in zip(refs, lrs, wds)]
    loss = lambda ps: sum((p.sin() * (i + 1)).pow(2).sum() for i, p in enumerate(ps))
    for step in range(20):
        loss(a).backward()
        mine.step()
        mine.zero_grad()
        for r, o in zip(refs, opts):
            loss(r).backward()
            o.step()
            o.zero_grad()
    for s in range(3):
        for x, y in zip(a, refs[s]):
            np.testing.assert_allclose(x[s].detach().numpy(), y.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_batch_points_with_their_own_lr_and_wd_match_training_alone(runs_dir, tiny_cfg):
    """A sweep's points differing in lr and weight decay train as one batch, each as if alone."""
    from grokking.training.train import batch_key
    cfg = tiny_cfg.replace(epochs=30)
    pts = [cfg.replace(seed=0, lr=1e-3, weight_decay=1.0), cfg.replace(seed=0, lr=3e-3, weight_decay=0.1),
           cfg.replace(seed=1, lr=1e-3, weight_decay=3.0, smooth=1e-2)]
    assert len({batch_key(c) for c in pts}) == 1
    jobs = [Seeded(c, Run(f"pt{i}")) for i, c in enumerate(pts)]
    train(jobs, progress=False)
    for i in (1, 2):
        alone = Run(f"alone{i}")
        train([Seeded(pts[i], alone)], progress=False)
        a, b = alone.load_checkpoint(30), jobs[i].run.load_checkpoint(30)
        for k in a:
            np.testing.assert_allclose(a[k], b[k], atol=1e-5, rtol=1e-4, err_msg=f"point {i} {k}")
    # the points really took different paths
    assert not np.allclose(jobs[0].run.load_checkpoint(30)["W_E"], jobs[1].run.load_checkpoint(30)["W_E"])
    with pytest.raises(HistoryError, match="may differ only in"):
        train([Seeded(cfg, Run("q0")), Seeded(cfg.replace(frac=0.4), Run("q1"))], progress=False)


def test_test_split_is_measured_at_checkpoints_and_every_test_every(runs_dir, tiny_cfg):
    """Test metrics at checkpoint epochs, every test_every-th epoch and the last (NaN between);
    history.filled carries them forward so milestones land on measured epochs."""
    from grokking.training.train import test_epochs
    cfg = tiny_cfg.replace(test_every=7)
    run = Run("thin")
    train([Seeded(cfg, run)], progress=False)
    m = run.metrics()
    measured = set(np.flatnonzero(np.isfinite(m["test_loss"])).tolist())
    assert measured == test_epochs(cfg, 40) == set(schedule_epochs(cfg.schedule, 40)) | {0, 7, 14, 21, 28, 35, 40}
    assert np.isfinite(m["train_loss"]).all()
    f = history.filled(m)
    assert np.isfinite(f["test_loss"]).all()
    for e in range(41):
        last = max(x for x in measured if x <= e)
        assert f["test_acc"][e] == m["test_acc"][last]
    # every epoch measured when asked: the same run's values at the measured epochs
    every = Run("every")
    train([Seeded(cfg.replace(test_every=1), every)], progress=False)
    me = every.metrics()
    assert np.isfinite(me["test_loss"]).all()
    idx = sorted(measured)
    np.testing.assert_allclose(me["test_loss"][idx], m["test_loss"][idx], rtol=1e-6)


def test_thread_tuner_follows_a_sweeps_share_of_the_cores(monkeypatch):
    """In a sweep's batch process: one thread while the share is one core; when another batch
    finishes and the share grows, a trial among the share and one at once."""
    import grokking.training.threads as TH
    monkeypatch.setattr(TH, "cores", lambda: 2)
    share = [1]
    t = TH.ThreadTuner(limit=lambda: share[0], period=10_000, trials=1, every_s=1e9)
    speed = {2: 0.10, 1: 0.15}
    for e in range(3):
        t.before(e); t.record(e, speed[torch.get_num_threads()], False)
        assert torch.get_num_threads() == 1 and t.threads == 1
    share[0] = 2                          # the other batch finished
    used = []
    for e in range(3, 6):
        t.before(e); used.append(torch.get_num_threads()); t.record(e, speed[torch.get_num_threads()], False)
    assert used[:2] == [2, 1] and t.threads == 2 and torch.get_num_threads() == 2
    d = t.describe()
    assert d["policy"] == "shared" and d["chosen"] == [{"epoch": 0, "threads": 1}, {"epoch": 4, "threads": 2}]
    share[0] = 5                          # never more than the machine's cores
    t.before(6)
    assert t.candidates == [2, 1]


def test_thread_tuner_keeps_the_faster_count_and_rounding(runs_dir, tiny_cfg, monkeypatch):
    """The tuner picks the count whose train-only epochs were faster, and switching threads
    mid-run leaves every checkpoint bit-identical to a one-thread run."""
    import functools
    import grokking.training.train as T
    from grokking.training.threads import ThreadTuner
    t = ThreadTuner(candidates=[2, 1], period=10, trials=2)
    fake = {2: 0.30, 1: 0.10}           # as under load: one thread is faster
    for e in range(10, 15):
        t.before(e)
        t.record(e, fake[torch.get_num_threads()] + (0.5 if e == 12 else 0), with_test=e == 12)
    assert t.threads == 1 and t.describe()["chosen"] == [{"epoch": 13, "threads": 1}]

    # a competitor arrives: the chosen count's epochs slow down, and a new trial starts at once
    q = ThreadTuner(candidates=[2, 1], period=10_000, trials=1, every_s=1e9)
    speed = {2: 0.10, 1: 0.15}            # quiet: two threads are faster
    e = 0
    for _ in range(2):
        q.before(e); q.record(e, speed[torch.get_num_threads()], False); e += 1
    assert q.threads == 2
    speed = {2: 0.40, 1: 0.15}            # loaded
    while q.threads == 2 and e < 20:
        q.before(e); q.record(e, speed[torch.get_num_threads()], False); e += 1
    assert q.threads == 1 and e <= 10     # five slow epochs, then a two-epoch trial

    monkeypatch.setattr(T, "ThreadTuner", functools.partial(ThreadTuner, candidates=[2, 1], period=6, trials=1))
    tuned = Run("tuned")
    train([Seeded(tiny_cfg, tuned)], progress=False, compile="off")
    assert tuned.manifest["threads"]["policy"] == "tuned"
    torch.set_num_threads(1)
    try:
        one = Run("one")
        train([Seeded(tiny_cfg, one)], progress=False, compile="off", tune_threads=False)
    finally:
        torch.set_num_threads(2)
    for e in one.checkpoint_epochs():
        a, b = one.load_checkpoint(e), tuned.load_checkpoint(e)
        assert all(np.array_equal(a[k], b[k]) for k in a), e


def test_corrupted_checkpoint_is_detected(runs_dir, tiny_cfg):
    run = Run("bad")
    train([Seeded(tiny_cfg, run)], progress=False)
    f = run.dir / history.ckpt_name(10)
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(HistoryError, match="corrupted"):
        run.load_checkpoint(10)
    assert any("corrupted" in p for p in run.verify())
    f.write_bytes(bytes(data[:100]))                      # truncated
    with pytest.raises(HistoryError):
        run.load_checkpoint(10, verify=False)


def _cli(args):
    res = CliRunner().invoke(render.cli, args)
    return res.exit_code, res.output


@pytest.mark.parametrize("args, words", [
    (["--p", "1"], "p must be at least 2"),
    (["--frac", "1.5"], "strictly between 0 and 1"),
    (["--op", "mod"], "unknown operation"),
    (["--op", "pow", "--a", "0"], "exponents must be >= 1"),
    (["--seeds", "0,x"], "comma-separated"),
])
def test_bad_train_input_is_one_clear_line(runs_dir, args, words):
    code, out = _cli(["train", "--preset", "quick", "--run", "x", "--quiet", *args])
    assert code == 2 and words in out and "Traceback" not in out
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_run_with_other_config_is_refused(runs_dir):
    args = ["train", "--preset", "quick", "--run", "r", "--quiet", "--epochs", "5", "--p", "11"]
    assert _cli(args)[0] == 0
    before = (runs_dir / "r" / "manifest.json").read_bytes()
    code, out = _cli(args[:-1] + ["13"])
    assert code == 2 and "different config" in out and "--force" in out
    assert (runs_dir / "r" / "manifest.json").read_bytes() == before
    code, out = _cli(["runs"])
    assert code == 0 and "r " in out and "5/5" in out


def test_missing_run_is_a_clear_error(runs_dir):
    with pytest.raises(HistoryError, match="grokking train --run nope"):
        Run("nope").manifest


@pytest.mark.slow
def test_quick_preset_groks(quick_run):
    """Memorise first, then generalise after a visible plateau: the phenomenon itself."""
    run = quick_run["run"]
    ms = quick_run["train"]["milestones"][0]
    assert ms["train_100"] is not None and ms["test_99"] is not None
    m = history.filled(run.metrics())   # the test split is measured every few epochs
    assert m["test_acc"][ms["train_100"]] < 0.5          # memorised, not generalised
    assert ms["test_99"] > 3 * ms["train_100"]            # a plateau, not simultaneous
    assert m["test_acc"][-1] >= 0.99 and m["test_loss"][-1] < 0.1


def test_gpu_code_path_runs_end_to_end_on_cpu(runs_dir, tiny_cfg, monkeypatch):
    """The trainer's CUDA path (dense forward, no embedding bag) forced on CPU: train, a kill
    after a checkpoint, resume bit-identical, the same model as the bag path, and extraction."""
    from grokking.extraction.extract import extract
    cfg = tiny_cfg.replace(p=13)
    full = Run("dense-full")
    train([Seeded(cfg, full)], progress=False, compile="off", dense=True)
    part = Run("dense-part")
    with _interrupted_after(monkeypatch, 20):
        train([Seeded(cfg, part)], progress=False, compile="off", dense=True)
    assert train([Seeded(cfg, part)], progress=False, compile="off", dense=True)["start"] == 20
    for e in full.checkpoint_epochs():
        a, b = full.load_checkpoint(e), part.load_checkpoint(e)
        assert all(np.array_equal(a[k], b[k]) for k in a), e
    bag = Run("bag")
    train([Seeded(cfg, bag)], progress=False, compile="off", dense=False)
    a, b = full.load_checkpoint(40), bag.load_checkpoint(40)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-4, rtol=1e-3, err_msg=k)
    r = extract("dense-full", progress=False, assets_root=runs_dir.parent / "assets")
    assert r["summary"]["n_checkpoints"] == len(full.checkpoint_epochs())


def test_smooth_penalty_trains_and_round_trips_through_the_manifest(runs_dir, tiny_cfg):
    from grokking.training.config import PRESETS, VIDEO
    assert VIDEO.smooth > 0 and PRESETS["video"] is VIDEO
    assert Config.from_dict(VIDEO.to_dict()) == VIDEO
    cfg = tiny_cfg.replace(smooth=1e-2, epochs=10)
    run = Run("sm")
    train([Seeded(cfg, run)], progress=False)
    assert run.config == cfg and run.config.smooth == 1e-2
    assert "smooth" in run.manifest["loss"]
    plain = Run("plain")
    train([Seeded(cfg.replace(smooth=0.0), plain)], progress=False)
    # the penalty changes the trajectory, and makes neighbouring digit rows closer
    e_s, e_p = run.load_checkpoint(10)["W_E"][:11], plain.load_checkpoint(10)["W_E"][:11]
    rough = lambda W: float(((W - np.roll(W, 1, axis=0)) ** 2).sum())
    assert rough(e_s) < rough(e_p)
    # changing the penalty of an existing run is refused like any config change ...
    with pytest.raises(HistoryError, match="smooth"):
        train([Seeded(cfg.replace(smooth=0.0, epochs=20), run)], progress=False)
    # ... and a manifest written before the field existed reads as smooth = 0 and extends
    m = plain.manifest
    del m["config"]["smooth"]
    io.write_json(plain.manifest_path, m)
    assert train([Seeded(cfg.replace(smooth=0.0, epochs=20), Run("plain"))], progress=False)["start"] == 10


def test_smooth_until_switches_the_penalty_off_and_resumes_exactly(runs_dir, tiny_cfg, monkeypatch):
    """smooth_until = E: the penalty shapes epochs before E only. Up to E the run equals the
    always-penalised one; from E on each step equals a plain step from the same state; a run
    interrupted before the switch resumes bit for bit; 0 keeps it on (today's runs unchanged)."""
    cfg = tiny_cfg.replace(smooth=5e-2, epochs=30)
    assert cfg.smooth_at(29) == 5e-2 and cfg.replace(smooth_until=20).smooth_at(20) == 0.0
    on, until = Run("on"), Run("until")
    train([Seeded(cfg, on)], progress=False, compile="off")
    train([Seeded(cfg.replace(smooth_until=20), until)], progress=False, compile="off")
    same = lambda a, b: all(np.array_equal(a[k], b[k]) for k in a)
    assert same(on.load_checkpoint(20), until.load_checkpoint(20))
    assert not same(on.load_checkpoint(30), until.load_checkpoint(30))
    part = Run("part")
    with _interrupted_after(monkeypatch, 10):
        train([Seeded(cfg.replace(smooth_until=20), part)], progress=False, compile="off")
    train([Seeded(cfg.replace(smooth_until=20), part)], progress=False, compile="off")
    assert same(part.load_checkpoint(30), until.load_checkpoint(30))
    # batched with a seed whose penalty stays on, each seed keeps its own schedule
    jobs = [Seeded(cfg.replace(smooth_until=20), Run("b0")), Seeded(cfg.replace(seed=1), Run("b1"))]
    train(jobs, progress=False, compile="off")
    np.testing.assert_allclose(jobs[0].run.load_checkpoint(30)["W_E"], until.load_checkpoint(30)["W_E"],
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ConfigError, match="smooth-until"):
        cfg.replace(smooth_until=-1).validate()


def test_cooldown_halves_the_lr_from_its_epoch_and_resumes_exactly(runs_dir, tiny_cfg, monkeypatch):
    """cooldown_from = F: the lr's factor is the warm-up's until F, then halves every half-life;
    it does not depend on `epochs` (an extended run keeps its path); a run interrupted inside the
    cool-down resumes bit for bit; 0 keeps the lr (today's runs unchanged)."""
    cfg = tiny_cfg.replace(epochs=30, warmup=4)
    cool = cfg.replace(cooldown_from=10, cooldown_half_life=5)
    assert [cfg.lr_scale(e) for e in (0, 2, 4, 29)] == [0.0, 0.5, 1.0, 1.0]
    assert cool.lr_scale(10) == 1.0 and cool.lr_scale(15) == 0.5 and cool.lr_scale(20) == 0.25
    assert cool.replace(epochs=1000).lr_scale(20) == cool.lr_scale(20)
    plain, cooled = Run("plain"), Run("cooled")
    train([Seeded(cfg, plain)], progress=False, compile="off")
    train([Seeded(cool, cooled)], progress=False, compile="off")
    same = lambda a, b: all(np.array_equal(a[k], b[k]) for k in a)
    assert same(plain.load_checkpoint(10), cooled.load_checkpoint(10))
    assert not same(plain.load_checkpoint(30), cooled.load_checkpoint(30))
    # the cool-down's steps are smaller: the weights move less over the last 10 epochs
    moved = lambda r: sum(np.abs(r.load_checkpoint(30)[k] - r.load_checkpoint(20)[k]).sum()
                          for k in r.load_checkpoint(30))
    assert moved(cooled) < 0.6 * moved(plain)
    part = Run("part")
    with _interrupted_after(monkeypatch, 14):
        train([Seeded(cool, part)], progress=False, compile="off")
    train([Seeded(cool, part)], progress=False, compile="off")
    assert same(part.load_checkpoint(30), cooled.load_checkpoint(30))
    for bad in ({"cooldown_from": -1}, {"cooldown_half_life": 0}):
        with pytest.raises(ConfigError, match="cooldown"):
            cfg.replace(**bad).validate()


TINY_CLI = ["--preset", "quick", "--quiet", "--epochs", "6", "--p", "11"]


def test_a_grokfast_amplification_past_float32_stops_as_diverged_naming_it(runs_dir):
    """--grokfast-lamb 1e30 overflows AdamW's second moment (every step then 0: the weights only
    decay); the run stops as diverged, naming the setting, instead of finishing having learned
    nothing."""
    code, out = _cli(["train", "--run", "gl", *TINY_CLI, "--grokfast", "ema", "--grokfast-lamb", "1e30"])
    assert code == 2 and "diverged" in out and "--grokfast-lamb (now 1e+30)" in out and "second moment" in out
    assert "Traceback" not in out and len([ln for ln in out.splitlines() if "diverged" in ln]) == 1


def test_an_initialisation_that_overflows_names_init_scale_and_leaves_no_folder(runs_dir):
    code, out = _cli(["train", "--run", "big", *TINY_CLI, "--init-scale", "1e30"])
    assert code == 2 and "--init-scale (now 1e+30)" in out and "None" not in out
    assert "no checkpoint was written" in out and "Traceback" not in out
    assert not (runs_dir / "big").exists()


def test_a_resume_names_only_fields_the_run_uses_and_the_preset_it_was_trained_with(runs_dir):
    """grokfast_alpha differing while grokfast is none changes nothing (accepted); a real
    difference names the fields and the preset the run was trained with."""
    from grokking.training.train import _config_diff, trained_with
    base = QUICK.to_dict()
    # (a manifest's dict: a Config of op add with a=3 is refused on construction)
    assert _config_diff(base, {**base, "grokfast_alpha": 0.5, "a": 3, "cooldown_half_life": 9}) == []
    assert _config_diff(base, QUICK.replace(grokfast="ema", grokfast_alpha=0.5).to_dict()) == \
        ["grokfast", "grokfast_alpha"]
    assert trained_with(QUICK.replace(seed=4, epochs=99).to_dict()) == "--preset quick"
    assert trained_with(QUICK.replace(p=11).to_dict()) == "--preset quick with p=11"
    assert trained_with(QUICK.replace(p=7, lr=0.5, frac=0.9, d_mlp=8, d_model=8).to_dict()) is None
    args = ["train", "--run", "r", *TINY_CLI]
    assert _cli(args)[0] == 0
    code, out = _cli(["train", "--run", "r", "--preset", "canonical", "--quiet", "--epochs", "6", "--p", "11"])
    assert code == 2 and "it was trained as --preset quick with p=11" in out and "grokfast_alpha" not in out


@pytest.mark.slow
def test_settle_at_grok_stops_the_penalty_and_starts_the_cool_down_at_each_seeds_grokking(runs_dir, tiny_cfg):
    """The grokking epoch is the first multiple of 20 with test accuracy >= 99 % (measured there
    whatever test_every says); from it, per seed in a batch, the penalty is off and the lr halves
    every half-life; a killed and resumed run retraces it; settle off trains as before."""
    from grokking.training.config import SETTLE_EVERY, settle_epoch
    acc = np.full(100, np.nan)
    acc[[0, 20, 40, 45, 60]] = [0.1, 0.5, 0.98, 0.995, 0.999]
    assert settle_epoch(acc, 100) == 60 and settle_epoch(acc, 60) is None   # 45 is not on the cadence
    c = tiny_cfg.replace(smooth=1e-3, smooth_until=500, cooldown_from=400, cooldown_half_life=10, settle_at_grok=True)
    assert c.smooth_at(59, 60) == 1e-3 and c.smooth_at(60, 60) == 0.0 and c.smooth_at(60, None) == 1e-3
    assert c.lr_scale(60, 60) == 1.0 and c.lr_scale(70, 60) == 0.5 and c.lr_scale(70, None) == 1.0
    assert c.replace(settle_at_grok=False).lr_scale(70, 60) == 1.0
    assert c.lr_scale(420, None) == 0.25                       # cooldown_from still bounds it
    from grokking.training.train import test_epochs
    assert set(range(0, 201, SETTLE_EVERY)) <= test_epochs(c.replace(test_every=7, epochs=200), 200)

    cfg = QUICK.replace(p=23, frac=0.6, lr=1e-2, epochs=300, smooth=1e-3, cooldown_half_life=20, settle_at_grok=True)
    jobs = [Seeded(cfg.replace(seed=s), Run(f"settle{s}")) for s in (0, 1)]
    train(jobs, progress=False)
    groks = [settle_epoch(j.run.metrics()["test_acc"], 301) for j in jobs]
    assert all(g is not None for g in groks), groks            # groks by 300 (at 200)
    alone = Run("settle-alone")
    train([Seeded(cfg.replace(seed=1), alone)], progress=False)
    a, b = alone.load_checkpoint(300), jobs[1].run.load_checkpoint(300)
    assert all(np.allclose(a[k], b[k], rtol=1e-4, atol=1e-6) for k in a)
    plain = Run("settle-off")
    train([Seeded(cfg.replace(seed=0, settle_at_grok=False), plain)], progress=False)
    assert not np.array_equal(plain.load_checkpoint(300)["W_E"], jobs[0].run.load_checkpoint(300)["W_E"])
    # resume across the switch
    part = Run("settle-part")
    g0 = groks[0]
    train([Seeded(cfg.replace(seed=0, epochs=g0 + 5), part)], progress=False)
    train([Seeded(cfg.replace(seed=0), part)], progress=False)
    w, v = part.load_checkpoint(300), jobs[0].run.load_checkpoint(300)
    assert all(np.array_equal(w[k], v[k]) for k in w)


@pytest.mark.parametrize("seeds", [[0], [0, 1, 2]])
def test_the_gradients_dot_products_round_alike_on_one_and_two_threads(seeds):
    """The diagnostics' and ⊥Grad's per-tensor dot products are torch's own reductions, summed
    row by row: their bits do not depend on the thread count on any CPU (a sum over one long
    axis did: the probe step then pinned every run to one thread)."""
    from grokking.training.optim import tensor_dots
    g = torch.Generator().manual_seed(0)
    P = model.init_params(CANONICAL, seeds)
    for v in P.values():
        v.grad = torch.randn(v.shape, generator=g) * 1e-3
    before = torch.get_num_threads()
    try:
        out = []
        for n in (1, 2):
            torch.set_num_threads(n)
            out.append(tensor_dots(list(P.values())))
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(a, b) for a, b in zip(*out))
    flat = [(v.grad.double() * v.double()).flatten(1).sum(1) for v in P.values()]
    torch.testing.assert_close(out[0][1], torch.stack(flat), rtol=1e-6, atol=1e-12)   # float32 products
