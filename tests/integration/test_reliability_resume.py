"""Resume after a kill at every write step of a checkpoint: bit-identical to an uninterrupted
run, for one seed and for batched seeds; a foreign or stale resume state is refused; a
diverging run stops with its last good checkpoint; readers never mistake a commit for damage."""
import shutil
import threading

import numpy as np
import pytest
import torch

from grokking.common import io
from grokking.training import history, model
from grokking.training.history import HistoryError, Run
from grokking.training.train import Seeded, train


_ATOMIC = io.atomic_write_bytes   # every history write goes through it


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not even the trainer's own clean-up)."""


def _writes(monkeypatch, kill_at=None, after=False):
    """Record every atomic write's path; raise Killed before (or after) write number kill_at."""
    log, real = [], _ATOMIC

    def write(path, data):
        log.append(str(path))
        if len(log) == kill_at and not after:
            raise Killed
        sha = real(path, data)
        if len(log) == kill_at and after:
            raise Killed
        return sha
    monkeypatch.setattr(io, "atomic_write_bytes", write)
    return log


def _same_history(a: Run, b: Run):
    assert a.checkpoint_epochs() == b.checkpoint_epochs()
    for e in a.checkpoint_epochs():
        wa, wb = a.load_checkpoint(e), b.load_checkpoint(e)
        assert all(np.array_equal(wa[k], wb[k]) for k in wa), e
    ma, mb = a.metrics(), b.metrics()
    assert all(np.array_equal(ma[k], mb[k], equal_nan=True) for k in ma)
    assert b.verify() == []


def _steps_of_epoch(log, epoch, n_seeds):
    """Indices (1-based) of the writes that commit `epoch`: n_seeds x 3 data files, then the manifests."""
    first = next(i for i, p in enumerate(log) if f"e{epoch:06d}" in p)
    return list(range(first + 1, first + 1 + 4 * n_seeds))


@pytest.fixture
def reference_runs(runs_dir, tiny_cfg, monkeypatch):
    """Uninterrupted single and batched runs, and the write log of each."""
    logs = {}
    logs[1] = _writes(monkeypatch)
    train([Seeded(tiny_cfg, Run("full"))], progress=False, compile="off")
    logs[2] = _writes(monkeypatch)
    train([Seeded(tiny_cfg.replace(seed=s), Run(f"fullb-s{s}")) for s in (0, 1)], progress=False, compile="off")
    monkeypatch.setattr(io, "atomic_write_bytes", _ATOMIC)
    return logs


@pytest.mark.parametrize("after", [False, True])
@pytest.mark.slow
def test_kill_at_each_write_step_resumes_bit_identical(reference_runs, tiny_cfg, monkeypatch, after):
    steps = _steps_of_epoch(reference_runs[1], 20, 1)
    assert len(steps) == 4                                  # checkpoint, metrics, resume, manifest
    for i, step in enumerate(steps):
        name = f"k{i}{'a' if after else 'b'}"
        _writes(monkeypatch, kill_at=step, after=after)
        with pytest.raises(Killed):
            train([Seeded(tiny_cfg, Run(name))], progress=False, compile="off")
        _writes(monkeypatch)                                # no more kills
        r = train([Seeded(tiny_cfg, Run(name))], progress=False, compile="off")
        assert r["start"] in (14, 20)                       # the last committed checkpoint
        _same_history(Run("full"), Run(name))


@pytest.mark.parametrize("after", [False, True])
@pytest.mark.slow
def test_batched_seeds_killed_at_each_write_step_resume_as_one(reference_runs, tiny_cfg, monkeypatch, after):
    """A kill between two seeds' commits leaves them one checkpoint apart; the same command
    rolls the one ahead back and resumes the batch, bit-identical to the uninterrupted batch."""
    steps = _steps_of_epoch(reference_runs[2], 20, 2)
    for i, step in enumerate(steps):
        names = [f"b{i}{'a' if after else 'b'}-s{s}" for s in (0, 1)]
        jobs = lambda: [Seeded(tiny_cfg.replace(seed=s), Run(n)) for s, n in zip((0, 1), names)]
        _writes(monkeypatch, kill_at=step, after=after)
        with pytest.raises(Killed):
            train(jobs(), progress=False, compile="off")
        _writes(monkeypatch)
        train(jobs(), progress=False, compile="off")
        for s, n in zip((0, 1), names):
            _same_history(Run(f"fullb-s{s}"), Run(n))


def test_kill_while_pruning_leaves_a_resumable_run(runs_dir, tiny_cfg, monkeypatch):
    real = history.prune
    calls = []

    def prune(run):
        calls.append(run.dir)
        if len(calls) == 8:
            raise Killed
        real(run)
    monkeypatch.setattr(history, "prune", prune)
    with pytest.raises(Killed):
        train([Seeded(tiny_cfg, Run("pr"))], progress=False, compile="off")
    monkeypatch.setattr(history, "prune", real)
    train([Seeded(tiny_cfg, Run("pr"))], progress=False, compile="off")
    train([Seeded(tiny_cfg, Run("ref"))], progress=False, compile="off")
    _same_history(Run("ref"), Run("pr"))
    assert len(list((runs_dir / "pr" / "resume").iterdir())) == 2   # leftovers pruned


def test_resume_state_from_another_run_or_epoch_is_refused(runs_dir, tiny_cfg):
    train([Seeded(tiny_cfg, Run("a"))], progress=False)
    train([Seeded(tiny_cfg.replace(epochs=20), Run("b"))], progress=False)
    b = Run("b")
    mine = b.dir / b.manifest["resume"][-1]["file"]
    theirs = Run("a").dir / Run("a").manifest["resume"][-1]["file"]
    shutil.copyfile(theirs, mine)                           # a resume state copied in by hand
    with pytest.raises(HistoryError, match="corrupted|another run|epoch"):
        train([Seeded(tiny_cfg, b)], progress=False)
    # the older layout (one resume.npz, no checksum) is checked by its epoch and run_id
    state = history.read_npz(theirs)
    m = b.manifest
    m.pop("resume")
    io.write_json(b.manifest_path, m)
    io.write_npz(b.dir / "resume.npz", state)          # epoch 40 into a run at 20
    with pytest.raises(HistoryError, match="epoch 40 but its manifest at 20"):
        train([Seeded(tiny_cfg, Run("b"))], progress=False)


def test_divergence_stops_with_the_last_good_checkpoint(runs_dir, tiny_cfg):
    run = Run("nan")
    with pytest.raises(HistoryError, match="diverged.*last good checkpoint.*--lr"):
        train([Seeded(tiny_cfg.replace(lr=1e30), run)], progress=False)
    m = run.manifest
    assert run.verify() == []
    for e in run.checkpoint_epochs():
        assert all(np.isfinite(v).all() for v in run.load_checkpoint(e).values())
    assert m["status"] == "training"


@pytest.mark.slow
def test_reader_never_mistakes_a_live_commit_for_damage(runs_dir, tiny_cfg):
    """extract --partial reads metrics and verifies while the trainer commits checkpoints."""
    cfg = tiny_cfg.replace(epochs=400)
    run = Run("live")
    train([Seeded(cfg.replace(epochs=5), run)], progress=False)
    errors, done = [], threading.Event()

    def read():
        reader = Run("live")
        while not done.is_set():
            try:
                reader.metrics()
                assert reader.verify() == []
            except Exception as e:   # noqa: BLE001 - any failure is the finding
                errors.append(e)
                return
    t = threading.Thread(target=read)
    t.start()
    try:
        train([Seeded(cfg, Run("live"))], progress=False, compile="off")
    finally:
        done.set()
        t.join()
    assert errors == []


def test_smoothness_gradient_matches_finite_difference():
    p = 7
    W = torch.randn(2, p + 1, 5, dtype=torch.float64, requires_grad=True)
    pen = model.smoothness(W, p)
    pen.sum().backward()
    eps = 1e-6
    for s, x, d in ((0, 0, 0), (1, 3, 4), (0, p - 1, 2), (1, p, 1)):   # row p is '=': no gradient
        Wp, Wm = W.detach().clone(), W.detach().clone()
        Wp[s, x, d] += eps
        Wm[s, x, d] -= eps
        fd = (model.smoothness(Wp, p)[s] - model.smoothness(Wm, p)[s]) / (2 * eps)
        assert abs(fd.item() - W.grad[s, x, d].item()) < 1e-6
    assert W.grad[:, p].abs().max() == 0
    # a constant embedding costs nothing, a one-period wave costs 2 sum(1 - cos(2 pi / p))
    const = torch.ones(1, p + 1, 1)
    assert model.smoothness(const, p).item() == 0
    wave = torch.cos(2 * torch.pi * torch.arange(p + 1) / p)[None, :, None].double()
    expect = ((wave[0, :p, 0] - wave[0, :p, 0].roll(1)) ** 2).sum()
    assert torch.isclose(model.smoothness(wave, p)[0], expect)


def test_a_second_trainer_on_a_run_is_refused_naming_the_holder(runs_dir, tiny_cfg):
    from grokking.common import paths
    runs_dir.mkdir()
    with paths.hold_lock(runs_dir / ".held.lock", "x"):
        with pytest.raises(paths.RunBusy, match=r"another trainer is writing run 'held' \(pid \d+\)"):
            train([Seeded(tiny_cfg, Run("held"))], progress=False)
    assert not (runs_dir / "held").exists()
    train([Seeded(tiny_cfg, Run("held"))], progress=False)     # released: it trains
    assert Run("held").manifest["status"] == "complete"
