"""Interop: TransformerLens export round trip, import of the TransformerLens Grokking
demo's and the paper's checkpoint files (made here from a trained quick run, no downloads), the
refusals, and the notebook API."""
from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
torch = pytest.importorskip("torch")


def _render(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "render.py"), *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})


def _files(folder: Path) -> set:
    return {str(f.relative_to(folder)) for f in folder.rglob("*")} if folder.exists() else set()


# ---- synthetic foreign files, written from the quick run ---------------------------------------

def _tl_state(W):
    from grokking.interop.transformer_lens import to_transformer_lens
    sd = {k: torch.tensor(v) for k, v in to_transformer_lens(W).items()}
    sd["blocks.0.attn.mask"] = torch.tril(torch.ones(3, 3)).bool()      # buffers a real state dict carries
    sd["blocks.0.attn.IGNORE"] = torch.tensor(-1e5)
    return sd


def _paper_state(W):
    H, dh, d = W["W_O"].shape
    t = lambda a: torch.tensor(np.ascontiguousarray(a))
    return {"embed.W_E": t(W["W_E"].T), "pos_embed.W_pos": t(W["W_pos"]),
            "blocks.0.attn.W_K": t(W["W_K"].transpose(0, 2, 1)), "blocks.0.attn.W_Q": t(W["W_Q"].transpose(0, 2, 1)),
            "blocks.0.attn.W_V": t(W["W_V"].transpose(0, 2, 1)),
            "blocks.0.attn.W_O": t(W["W_O"].transpose(2, 0, 1).reshape(d, H * dh)),
            "blocks.0.attn.mask": torch.tril(torch.ones(3, 3)),
            "blocks.0.mlp.W_in": t(W["W_in"].T), "blocks.0.mlp.b_in": t(W["b_in"]),
            "blocks.0.mlp.W_out": t(W["W_out"].T), "blocks.0.mlp.b_out": t(W["b_out"]), "unembed.W_U": t(W["W_U"])}


def demo_file(run, path: Path, indices=True, config=None):
    """The TransformerLens Grokking demo's torch.save: checkpoints saved after step e (label e,
    weights after e + 1 steps), train loss before each step, test loss after it."""
    m = run.metrics()
    N = run.manifest["epochs_done"]
    eps = [e for e in run.checkpoint_epochs() if e >= 1]
    obj = {"model": _tl_state(run.load_checkpoint(N)),
           "checkpoints": [_tl_state(run.load_checkpoint(e)) for e in eps],
           "checkpoint_epochs": [e - 1 for e in eps],
           "train_losses": [float(v) for v in m["train_loss"][:N]],
           "test_losses": [float(v) for v in m["test_loss"][1:N + 1]]}
    if indices:
        sp = run.split()
        rng = np.random.default_rng(0)
        obj["train_indices"] = torch.tensor(rng.permutation(sp["train"]))
        obj["test_indices"] = torch.tensor(rng.permutation(sp["test"]))
    if config is not None:
        obj["config"] = config
    torch.save(obj, path)
    return path


def paper_file(run, path: Path, losses: str | None = "run", frac: float = 0.4, seed: int = 3, config=None):
    """The paper's full_run_data.pth: its own layouts, labels e for the weights after e + 1 steps,
    both losses measured before each step, no split. losses="run": the run's own recorded losses
    (its split is not the paper's rule); "rule": the losses these weights give on the paper's
    rule split for frac and seed (computed at the checkpoints with the textbook forward, NaN
    between), as the paper's code would have recorded them had it trained on that split."""
    m = run.metrics()
    N = run.manifest["epochs_done"]
    eps = [e for e in run.checkpoint_epochs() if e >= 1]
    obj = {"state_dicts": [_paper_state(run.load_checkpoint(e)) for e in eps], "epochs": [e - 1 for e in eps]}
    if losses == "run":
        obj["train_losses"] = [float(v) for v in m["train_loss"][:N]]
        obj["test_losses"] = [float(v) for v in m["test_loss"][:N]]
    elif losses == "rule":
        from grokking.training import tasks
        from grokking.training.reference import reference_forward
        p = run.config.p
        pairs = list(range(p * p))
        random.Random(seed).shuffle(pairs)
        train = np.array(pairs[:int(frac * p * p)])
        test = np.array(pairs[int(frac * p * p):])
        x, y = tasks.all_pairs(p)
        labels = torch.tensor(tasks.answers("add", x, y, p))
        tokens = torch.tensor(tasks.tokens(x, y, p))
        tr, te = np.full(N, np.nan), np.full(N, np.nan)
        for e in eps:
            if e < N:
                W = {k: torch.tensor(v) for k, v in run.load_checkpoint(e).items()}
                with torch.no_grad():
                    logp = reference_forward(W, tokens)[:, -1].double().log_softmax(-1)
                ce = -logp.gather(-1, labels[:, None])[:, 0].numpy()
                tr[e], te[e] = ce[train].mean(), ce[test].mean()
        obj["train_losses"], obj["test_losses"] = tr.tolist(), te.tolist()
    if config is not None:
        obj["config"] = config
    torch.save(obj, path)
    return path


@pytest.fixture(scope="module")
def world(quick_run, tmp_path_factory):
    d = tmp_path_factory.mktemp("interop")
    (d / "runs").mkdir()
    return {"dir": d, "run": quick_run["run"], "quick": quick_run}


# ---- export ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_export_round_trip_hooked_transformer(world):
    """Export, load into a HookedTransformer, and every logit over all p^2 inputs equals the
    project's activations.npz; run_with_cache names every array the assets have."""
    tl = pytest.importorskip("transformer_lens", reason="TransformerLens 2.x/3.x: pip install -e '.[lens]'")
    from grokking.interop.transformer_lens import load_export
    out = world["dir"] / "export"
    q = world["quick"]
    r = _render("export", str(out), "--run", "quick", cwd=q["root"])
    assert r.returncode == 0, r.stderr
    assert _files(out) == {"config.json", "grokking.json", "model.safetensors"}
    cfg, sd = load_export(out)
    model = tl.HookedTransformer(tl.HookedTransformerConfig(**cfg))
    missing, unexpected = model.load_state_dict({k: torch.tensor(v) for k, v in sd.items()}, strict=False)
    assert not unexpected and all(k.endswith((".mask", ".IGNORE")) for k in missing)
    p = cfg["d_vocab"] - 1
    x, y = np.divmod(np.arange(p * p), p)
    tokens = torch.tensor(np.stack([x, y, np.full_like(x, p)], 1))
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
    act = dict(np.load(q["assets"] / "activations.npz"))
    err = np.abs(logits[:, -1].numpy() - act["logits"]).max()
    assert err < 1e-4, err
    for name, a in act.items():
        if name == "logits":
            continue
        key = name if name in cache else f"blocks.0.{name}"
        assert key in cache, f"{name} has no TransformerLens hook"
        ours = cache[key].numpy()
        if ours.shape != a.shape:                  # the assets keep the last position (query) only
            ours = ours[:, :, -1] if name.endswith("hook_pattern") else ours[:, -1]
        assert ours.shape == a.shape, (name, ours.shape, a.shape)
        assert np.abs(ours - a).max() < 1e-4 * max(1.0, np.abs(a).max()), name


@pytest.mark.slow
def test_hooked_transformer_helper_and_pt_export(world):
    pytest.importorskip("transformer_lens", reason="TransformerLens 2.x/3.x: pip install -e '.[lens]'")
    from grokking.interop import open_run
    q = world["quick"]
    r = open_run("quick", q["root"] / "runs", q["assets"].parent)
    model = r.hooked_transformer(epoch=int(r.epochs[-1]))
    act = r.asset("activations")
    p = r.config.p
    x, y = np.divmod(np.arange(p * p), p)
    with torch.no_grad():
        logits = model(torch.tensor(np.stack([x, y, np.full_like(x, p)], 1)))[:, -1].numpy()
    assert np.abs(logits - act["logits"]).max() < 1e-4
    out = world["dir"] / "export_pt"
    res = _render("export", str(out), "--run", "quick", "--format", "pt", cwd=q["root"])
    assert res.returncode == 0, res.stderr
    sd = torch.load(out / "model.pt", weights_only=True)
    assert np.array_equal(sd["embed.W_E"].numpy(), r.checkpoint()["W_E"])
    assert not sd["unembed.b_U"].any() and sd["blocks.0.attn.b_O"].shape == (r.config.d_model,)


@pytest.mark.slow
def test_export_refuses_a_stranger_folder_and_a_missing_epoch(world):
    q = world["quick"]
    out = world["dir"] / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    r = _render("export", str(out), "--run", "quick", cwd=q["root"])
    assert r.returncode == 2 and "notes.txt" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert _files(out) == {"notes.txt"}
    r = _render("export", str(world["dir"] / "new"), "--run", "quick", "--epoch", "7777", cwd=q["root"])
    assert r.returncode == 2 and "7777" in r.stderr and not (world["dir"] / "new").exists()


def test_missing_transformer_lens_says_which_versions(monkeypatch):
    from grokking.interop import InteropError
    from grokking.interop.transformer_lens import transformer_lens_module
    monkeypatch.setitem(sys.modules, "transformer_lens", None)          # import fails
    with pytest.raises(InteropError, match=r">=2,<4"):
        transformer_lens_module()
    monkeypatch.setitem(sys.modules, "transformer_lens", types.ModuleType("transformer_lens"))   # 4.x: no HookedTransformer
    with pytest.raises(InteropError, match="4.x removed it"):
        transformer_lens_module()


# ---- import ------------------------------------------------------------------------------------

def _key_frequencies(root: Path, run: str):
    from grokking.extraction.extract import extract
    extract(run, progress=False, runs_root=root / "runs", assets_root=root / "assets")
    return json.loads((root / "assets" / run / "summary.json").read_text())["key_frequencies"]


@pytest.mark.slow
def test_import_demo_format_extracts_the_same_key_frequencies(world):
    from grokking.training.history import Run
    d, run = world["dir"], world["run"]
    src = demo_file(run, d / "grokking_demo.pth")
    r = _render("import", str(src), "--run", "demo", "--quiet", cwd=d)
    assert r.returncode == 0, r.stderr
    imp = Run("demo", d / "runs")
    assert imp.checkpoint_epochs() == [e for e in run.checkpoint_epochs() if e >= 1]
    ck = imp.checkpoint_epochs()
    for e in (ck[0], ck[len(ck) // 2], ck[-1]):
        a, b = imp.load_checkpoint(e), run.load_checkpoint(e)
        assert all(np.array_equal(a[n], b[n]) for n in a)
    assert all(np.array_equal(imp.split()[k], run.split()[k]) for k in ("train", "test"))
    mi, mo = imp.metrics(), run.metrics()
    N = run.manifest["epochs_done"]
    assert np.array_equal(mi["train_loss"][:N], mo["train_loss"][:N])
    assert np.array_equal(mi["test_loss"][1:], mo["test_loss"][1:], equal_nan=True)
    # accuracies: computed at every checkpoint
    assert np.array_equal(mi["test_acc"][ck], mo["test_acc"][ck])
    assert imp.manifest["milestones"]["test_99"] == run.manifest["milestones"]["test_99"]
    orig = json.loads((world["quick"]["assets"] / "summary.json").read_text())["key_frequencies"]
    assert _key_frequencies(d, "demo") == orig and orig


@pytest.mark.slow
def test_import_paper_format_split_from_its_config_and_steps_from_losses(world):
    """The paper's layouts, its split rule named by its config, and labels one step behind the
    weights: the recorded losses pick the reading, and the key frequencies come out the same."""
    from grokking.training.history import Run
    d, run = world["dir"], world["run"]
    cfg = {"fn_name": "add", "frac_train": 0.4, "seed": 3, "lr": 3e-3, "weight_decay": 2.0}
    src = paper_file(run, d / "full_run_data.pth", losses="rule", frac=0.4, seed=3, config=cfg)
    r = _render("import", str(src), "--run", "paper", "--quiet", cwd=d)
    assert r.returncode == 0, r.stderr
    imp = Run("paper", d / "runs")
    p = run.config.p
    pairs = [(i, j, p) for i in range(p) for j in range(p)]         # the paper's gen_train_test
    random.seed(3)
    random.shuffle(pairs)
    assert imp.split()["train"].tolist() == sorted(i * p + j for i, j, _ in pairs[:int(0.4 * p * p)])
    assert imp.checkpoint_epochs() == [e for e in run.checkpoint_epochs() if e >= 1]
    e = imp.checkpoint_epochs()[-1]
    a, b = imp.load_checkpoint(e), run.load_checkpoint(e)
    assert all(np.array_equal(a[n], b[n]) for n in a)
    assert imp.config.lr == 3e-3 and "lr" not in imp.manifest["imported"]["config_unknown"]
    orig = json.loads((world["quick"]["assets"] / "summary.json").read_text())["key_frequencies"]
    assert _key_frequencies(d, "paper") == orig
    # the same file with a seed its losses contradict is refused
    before = _files(d / "runs")
    r = _render("import", str(src), "--run", "paper2", "--frac", "0.4", "--seed", "4", "--quiet", cwd=d)
    assert r.returncode == 2 and "do not reproduce" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert _files(d / "runs") == before


def test_recover_split_from_losses_planted():
    """A memorising history planted with a known split: the recorded means give it back exactly."""
    from grokking.interop.imports import mismatch, recover_split
    rng = np.random.default_rng(1)
    N, n, C = 400, 120, 12
    train = np.sort(rng.choice(N, n, replace=False))
    test = np.setdiff1d(np.arange(N), train)
    ce = np.empty((C, N))
    for i in range(C):                        # train loss falls to ~0, test loss climbs
        ce[i, train] = 4.0 * np.exp(-i) * rng.uniform(0.5, 1.5, n)
        ce[i, test] = 4.0 + i * rng.uniform(0.2, 1.0, N - n)
    epochs = list(range(0, 10 * C, 10))
    tr, te = np.full(200, np.nan), np.full(200, np.nan)
    tr[epochs], te[epochs] = ce[:, train].mean(1), ce[:, test].mean(1)
    got = recover_split(ce, epochs, tr, te)
    assert np.array_equal(got[0], train) and np.array_equal(got[1], test)
    assert mismatch(ce, epochs, got, tr, te)[1] is None


def test_split_rules_are_the_foreign_codes_own():
    from grokking.interop.imports import rule_split
    p, frac, seed = 7, 0.3, 5
    pairs = [(i, j, p) for i in range(p) for j in range(p)]            # the paper's gen_train_test
    random.seed(seed)
    random.shuffle(pairs)
    div = int(frac * len(pairs))
    want = sorted(i * p + j for i, j, _ in pairs[:div])
    assert rule_split("paper", p, frac, seed)[0].tolist() == want
    torch.manual_seed(seed)                                              # the demo's cell
    idx = torch.randperm(p * p)
    assert rule_split("transformer-lens-demo", p, frac, seed)[0].tolist() == sorted(idx[:int(p * p * frac)].tolist())


def _fake_config_class():
    """A dataclass from a module that exists only while the file is written (as transformer_lens'
    HookedTransformerConfig is absent where the file is read)."""
    mod = types.ModuleType("h15_foreign_lib")

    @dataclasses.dataclass
    class ForeignConfig:
        d_model: int = 64
    ForeignConfig.__module__ = "h15_foreign_lib"
    ForeignConfig.__qualname__ = "ForeignConfig"
    mod.ForeignConfig = ForeignConfig
    return mod, ForeignConfig


@pytest.mark.slow
def test_pickled_object_is_refused_unless_trusted(world, monkeypatch):
    d, run = world["dir"], world["run"]
    mod, cls = _fake_config_class()
    monkeypatch.setitem(sys.modules, "h15_foreign_lib", mod)
    src = demo_file(run, d / "pickled.pth", config=cls())
    monkeypatch.delitem(sys.modules, "h15_foreign_lib")
    before = _files(d / "runs")
    r = _render("import", str(src), "--run", "pickled", "--quiet", cwd=d)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "h15_foreign_lib.ForeignConfig" in r.stderr and "--trust-pickle" in r.stderr
    assert _files(d / "runs") == before
    r = _render("import", str(src), "--run", "pickled", "--quiet", "--trust-pickle", cwd=d)
    assert r.returncode == 0, r.stderr
    assert (d / "runs" / "pickled" / "manifest.json").exists()


@pytest.mark.slow
def test_missing_split_is_asked_for_never_guessed(world):
    d, run = world["dir"], world["run"]
    src = paper_file(run, d / "no_losses.pth", losses=None)
    before = _files(d / "runs")
    r = _render("import", str(src), "--run", "nosplit", "--quiet", cwd=d)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--frac" in r.stderr and "--seed" in r.stderr
    assert _files(d / "runs") == before
    # losses that do not pin the split down (this run generalises some test pairs while it
    # memorises): the recovered split does not reproduce them, so the flags are asked for
    src = paper_file(run, d / "with_losses.pth", losses="run")
    r = _render("import", str(src), "--run", "unrecovered", "--quiet", cwd=d)
    assert r.returncode == 2 and "--frac" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert _files(d / "runs") == before


@pytest.mark.slow
def test_import_refuses_nonzero_bias_and_an_existing_run(world):
    d, run = world["dir"], world["run"]
    src = demo_file(run, d / "bias.pth")
    obj = torch.load(src, weights_only=True)
    obj["checkpoints"][3]["unembed.b_U"] += 0.5
    torch.save(obj, src)
    before = _files(d / "runs")
    r = _render("import", str(src), "--run", "bias", "--quiet", cwd=d)
    assert r.returncode == 2 and "unembed.b_U" in r.stderr and _files(d / "runs") == before
    (d / "runs" / "taken").mkdir()
    r = _render("import", str(demo_file(run, d / "ok.pth")), "--run", "taken", "--quiet", cwd=d)
    assert r.returncode == 2 and "--force" in r.stderr


# ---- the notebook API --------------------------------------------------------------------------

@pytest.mark.slow
def test_open_run_gives_arrays(world):
    from grokking.interop import open_run
    q = world["quick"]
    r = open_run("quick", q["root"] / "runs", q["assets"].parent)
    assert r.metrics["test_acc"].shape == (r.manifest["epochs_done"] + 1,)
    assert r.weights("W_E", every=20).shape == (len(r.epochs[::20]), r.config.d_vocab, r.config.d_model)
    assert r.summary["key_frequencies"] == json.loads((q["assets"] / "summary.json").read_text())["key_frequencies"]
    assert np.array_equal(r.curves["epoch"], r.epochs)
    assert "crest" in r.selections and "arrays" in r.selections
    assert set(r.split) == {"train", "test"}
