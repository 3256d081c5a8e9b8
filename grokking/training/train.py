"""The training loop: full-batch AdamW, one step per epoch, several seeds batched as one model.

Read top to bottom: prepare the runs (fresh, resumed or extended), then per epoch measure
train and test loss/accuracy, step, and write a checkpoint when the schedule says so.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np
import torch

from . import threads  # first: it sets flush-to-zero before torch's thread pool starts
from grokking.common.assets import METRICS

from . import commit as C
from . import history, model, tasks
from .commit import Seeded
from .config import SETTLE_EVERY, Config, schedule_epochs, settle_epoch
from .history import HistoryError
from .optim import GradFilter, SeedAdamW, grad_diagnostics, orthogonalize_, tensor_dots
from .threads import ThreadTuner

# The diagnostics (the last three) are measured on the train split at every step, on the raw
# gradient of the objective before any filter or projection (Prieto et al. 2025): the share of
# train examples whose loss is exactly 0 in the run's precision (softmax collapse: their
# gradient vanishes), the gradient's cosine with the weights and its norm, over all parameters.
DIAGNOSTICS = METRICS[4:]
M = {k: i for i, k in enumerate(METRICS)}      # a metric's row in the [S, METRICS, epoch] array
# Config fields that may differ between the runs of one batch (the rest fix its shapes and its
# schedule); a sweep groups its points by batch_key.
PER_SEED = ("seed", "lr", "weight_decay", "smooth", "smooth_until")


def batch_key(cfg: Config) -> tuple:
    """Configs with equal keys can train as one batched model."""
    return tuple(sorted((k, repr(v)) for k, v in cfg.to_dict().items() if k not in PER_SEED))


def test_epochs(cfg: Config, end: int) -> set[int]:
    """The epochs whose weights get a test-split measurement: every checkpoint epoch, every
    cfg.test_every-th epoch and the last; train metrics are measured at every epoch."""
    settle = set(range(0, end + 1, SETTLE_EVERY)) if cfg.settle_at_grok else set()   # the grokking epoch's cadence
    return set(schedule_epochs(cfg.schedule, end)) | set(range(0, end + 1, cfg.test_every)) | {end} | settle


# Grokfast-MA's resume state holds its whole window (100 gradients: ~90 MB a canonical seed),
# too much to write at every checkpoint; its runs keep one every MA_RESUME_EVERY epochs (and at
# the end), so a kill retrains at most that many epochs.
MA_RESUME_EVERY = 500


def resume_due(cfg: Config, epoch: int, end: int) -> bool:
    """Whether the checkpoint at `epoch` also writes a resume state."""
    return cfg.grokfast != "ma" or epoch % MA_RESUME_EVERY == 0 or epoch == end


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise HistoryError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    return torch.device(device)


# What a resume may change: how long to train, and which epochs are checkpointed or measured on
# the test split; none of them changes the weights' path (a sweep point is extended this way).
RESUMABLE = ("epochs", "schedule", "test_every")


def _unused(c: dict) -> set[str]:
    """Config fields that change nothing in a run with these settings (a filter's knobs when it is
    off, pow's exponents for other ops, ...): a difference there is no difference."""
    off = set()
    if c.get("grokfast") != "ema":
        off.add("grokfast_alpha")
    if c.get("grokfast") != "ma":
        off.add("grokfast_window")
    if c.get("grokfast") == "none":
        off.add("grokfast_lamb")
    if c.get("op") != "pow":
        off |= {"a", "b"}
    if not c.get("cooldown_from"):
        off.add("cooldown_half_life")
    if not c.get("smooth"):
        off.add("smooth_until")
    return off


def _recorded(c: dict) -> dict:
    """A config as a manifest records it, with the fields added since at their defaults. Not a
    Config: a run made before a rule existed (op add with a=2) is compared as it was trained."""
    base = Config().to_dict()
    out = {**base, **{k: v for k, v in c.items() if k in base}}
    out["schedule"] = {**base["schedule"], **(c.get("schedule") or {})}
    out["betas"] = list(out["betas"])
    return out


def _config_diff(old: dict, new: dict) -> list[str]:
    old, new = _recorded(old), _recorded(new)
    skip = set(RESUMABLE) | (_unused(old) & _unused(new))
    return [k for k in sorted(set(old) | set(new)) if k not in skip and old.get(k) != new.get(k)]


def trained_with(old: dict) -> str | None:
    """The preset a run's config is nearest to (fewest fields apart, its seed and the resumable
    fields aside), with the fields it changed: "--preset quick with p=11", or None."""
    from .config import PRESETS
    best = min(((len(d), name, d) for name, preset in PRESETS.items()
                for d in [_config_diff(preset.replace(seed=int(old.get("seed", 0))).to_dict(), old)]))
    n, name, diff = best
    if n > 4:
        return None
    full = _recorded(old)
    return f"--preset {name}" + (" with " + ", ".join(f"{k}={full[k]}" for k in diff) if diff else "")


def prepare(jobs: list[Seeded], force: bool) -> int:
    """Check existing runs against the requested config; return the epoch to start from: the
    latest epoch at which every seed has a resume state (seeds a kill left one checkpoint
    ahead are rolled back to it, so a batched job resumes as one)."""
    have = []
    for j in jobs:
        if force and j.run.dir.exists():
            j.run.remove()              # only a folder the trainer made (Run.remove checks)
        if not j.run.exists():
            if j.run.dir.exists():      # a crash before the first manifest: nothing to keep
                j.run.remove()
            have.append({0})
            continue
        m = j.run.manifest
        diff = _config_diff(m["config"], j.cfg.to_dict())
        if diff:
            was = trained_with(m["config"])
            hint = f"; it was trained as {was}" if was else ""
            raise HistoryError(
                f"run {j.run.name!r} exists with a different config ({', '.join(diff)} differ{hint}); "
                f"choose another --run name, or pass --force to retrain it from scratch")
        have.append({r["epoch"] for r in history.resume_entries(m)})
    common = set.intersection(*have)
    if not common:
        raise HistoryError("the seeds' runs share no epoch to resume from "
                           f"({dict(zip([j.run.name for j in jobs], map(sorted, have)))}); "
                           "resume them one at a time, or retrain with --force")
    return max(common)


def examples(cfgs: list[Config], device, dense: bool | None = None):
    """Each part's examples, stacked over seeds and laid out for the fast forward, and labels.
    dense=True takes the GPU's path (no embedding bag) on any device; None: by device."""
    ds = [tasks.dataset(c) for c in cfgs]
    t = lambda key, part: torch.tensor(np.stack([d[key][d[part]] for d in ds]), device=device)
    return {part: (model.Examples(t("x", part), t("y", part), cfgs[0].d_vocab, cfgs[0].n_heads, dense=dense),
                   t("label", part)) for part in ("train", "test")}


def train(jobs: list[Seeded], device: str = "auto", compile: str = "auto",
          force: bool = False, progress: bool = True, dense: bool | None = None,
          tune_threads: bool = True, background_commits: bool = True, thread_limit=None) -> dict:
    """Train every job's seed to its cfg.epochs, batched; resume where the runs stopped.
    dense=True forces the GPU's code path (dense forward) on CPU, for tests; tune_threads=False
    keeps torch's thread count as it is (training/threads.py says why it is tuned);
    background_commits=False writes each checkpoint before the next step (see C.Committer);
    thread_limit: a callable giving the cores this process may use now (a sweep's share)."""
    with contextlib.ExitStack() as held:
        for j in jobs:     # one trainer per run: two would interleave their commits
            held.enter_context(j.run.trainer_lock())
        return _train(jobs, device, compile, force, progress, dense, tune_threads, background_commits,
                      thread_limit)


def _train(jobs, device, compile, force, progress, dense, tune_threads=True, background_commits=True,
           thread_limit=None) -> dict:
    cfg = jobs[0].cfg
    threads_before = torch.get_num_threads()   # restored on the way out (the tuner changes it)
    keys = {batch_key(j.cfg) for j in jobs}
    if len(keys) > 1:
        raise HistoryError("runs trained as one batch may differ only in " + ", ".join(PER_SEED)
                           + "; train the others separately")
    dev = pick_device(device)
    start = prepare(jobs, force)
    end = cfg.epochs
    if start >= end:
        return {"start": start, "end": end, "seconds": 0.0, "skipped": True}
    for j in jobs:
        j.run.dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)  # nothing below draws random numbers; this only pins stray defaults

    metrics = np.full((len(jobs), len(METRICS), end + 1), np.nan)
    if start == 0:
        P = model.init_params(cfg, [j.cfg.seed for j in jobs], device=dev)
        states, resumes = None, [[] for _ in jobs]
    else:
        P, states, old, resumes = C.stack_resume(jobs, start, dev)
        resumes = [[r] for r in resumes]
        n = min(old.shape[-1], end + 1)
        metrics[..., :n] = old[..., :n]
    for v in P.values():
        v.requires_grad_(True)
    opt = SeedAdamW(list(P.values()), [j.cfg.lr for j in jobs], [j.cfg.weight_decay for j in jobs],
                    betas=cfg.betas)
    opt.load(states or [])
    filt = GradFilter.of(cfg, list(P.values()))
    filt.load(states or [])

    data = examples([j.cfg for j in jobs], dev, dense)
    (train_ex, ltr), (test_ex, lte) = data["train"], data["test"]
    # auto = eager: compiling saves ~10 % a step, but its CPU kernels round differently with
    # another thread count, which would tie a run to one count and stop the thread tuner
    # from moving off a busy core (a loaded machine costs far more than 10 %).
    use_compile = compile == "on"
    tune = dev.type == "cpu" and tune_threads and not use_compile
    if dev.type == "cpu" and use_compile:    # fixed threads; a resume takes the run's own count
        rec = [j.run.manifest.get("threads") for j in jobs if j.run.exists()]
        if start > 0 and rec and rec[0] and rec[0].get("policy") == "fixed":
            torch.set_num_threads(int(rec[0]["threads"]))
    step_logits = torch.compile(model.step_logits) if use_compile else model.step_logits
    smooth_weights = _SmoothWeights([j.cfg for j in jobs], dev)
    # settle_at_grok: each seed's grokking epoch so far (None: not yet), from the measured history
    grokked = [settle_epoch(metrics[s, M["test_acc"]], start) for s in range(len(jobs))]

    plan = set(schedule_epochs(cfg.schedule, end))
    measure_test = test_epochs(cfg, end)
    done = [[c for c in j.run.manifest["checkpoints"] if c["epoch"] <= start] if j.run.exists() else []
            for j in jobs]
    commits = C.Committer(background_commits)
    bar = _progress(start, end, progress)
    t0 = time.perf_counter()
    # training seconds per seed over every session: what the manifests at `start` recorded, plus
    # this session's time shared among the batch's seeds (a killed session's time up to its
    # last commit is kept; the epochs after it are retrained and counted when they commit)
    before = [j.run.manifest.get("train_seconds", 0.0) if start > 0 and j.run.exists() else 0.0 for j in jobs]

    def spent():
        return [b + (time.perf_counter() - t0) / len(jobs) for b in before]
    pinned = None
    if dev.type == "cpu":
        threads.flush_subnormals()
        if not use_compile:
            counts = sorted({threads.cores(), 1, torch.get_num_threads()}
                            | ({int(thread_limit())} if thread_limit else set()), reverse=True)
            probe = lambda: _probe_step(P, [j.cfg for j in jobs], step_logits, train_ex, ltr, test_ex,
                                        smooth_weights(start, grokked), cfg)
            if len(counts) > 1 and not threads.rounds_alike(probe, counts):
                pinned = threads.ONE_THREAD.format(counts=" and ".join(map(str, counts)))
    tuner = ThreadTuner(enabled=tune, limit=thread_limit, pinned=pinned)
    cpu = {"subnormals": "flushed" if dev.type == "cpu" and threads.subnormals_flushed() else
           "not flushed" if dev.type == "cpu" else "n/a (GPU)"}
    try:
        for epoch in range(start, end):
            commits.check()
            tuner.before(epoch)
            with_test = epoch in measure_test
            t_step = time.perf_counter()
            logits, loss, lt, diag = backward(P, opt, step_logits, train_ex, ltr, test_ex if with_test else None,
                                              smooth_weights(epoch, grokked), cfg)
            with torch.no_grad():
                _measure(metrics, epoch, logits, ltr, lt, lte, cfg, train_loss=loss, diag=diag)
            if cfg.settle_at_grok and epoch % SETTLE_EVERY == 0:
                grokked = [g if g is not None else settle_epoch(metrics[s, M["test_acc"]], epoch + 1)
                           for s, g in enumerate(grokked)]
            if not np.isfinite(metrics[:, M["train_loss"], epoch]).all():
                bad = int(np.flatnonzero(~np.isfinite(metrics[:, M["train_loss"], epoch]))[0])
                raise HistoryError(C.diverged(jobs[bad], epoch, done[bad]))
            t_snap = time.perf_counter()
            if epoch in plan and (epoch > start or start == 0):
                # committed once its own metrics are measured (this epoch's forward ran on these
                # weights; the step has not changed them yet): a reader during training sees the
                # last checkpoint's train and test metrics, not NaN
                snaps = C.snapshot(jobs, P, opt, metrics, epoch, done, spent(), filt, resume_due(cfg, epoch, end))
                commits.submit(C.commit, jobs, snaps, epoch, done, resumes, tuner.describe() | cpu, True)
            t_snap = time.perf_counter() - t_snap
            step(cfg, opt, filt, diag[1], [j.cfg.lr_scale(epoch, g) for j, g in zip(jobs, grokked)])
            tuner.record(epoch, time.perf_counter() - t_step - t_snap, with_test)
            if epoch + 1 == end:          # the final weights' own measurements (a gradient, no step)
                train_lg, train_l, test_lg, diag = backward(P, opt, step_logits, train_ex, ltr, test_ex,
                                                            smooth_weights(end, grokked), cfg)
                opt.zero_grad()
                with torch.no_grad():
                    _measure(metrics, end, train_lg, ltr, test_lg, lte, cfg, train_loss=train_l, diag=diag)
                snaps = C.snapshot(jobs, P, opt, metrics, end, done, spent(), filt)
                commits.submit(C.commit, jobs, snaps, end, done, resumes, tuner.describe() | cpu, True)
            if bar is not None:
                bar.update(1)
                if epoch % 10 == 0 or epoch + 1 == end:
                    bar.set_postfix_str(_postfix(metrics, epoch), refresh=False)
        commits.wait()
    except BaseException:
        commits.close()
        for j in jobs:          # stopped before its first commit: leave no empty run folder
            if not j.run.exists() and j.run.dir.exists():
                with contextlib.suppress(HistoryError):    # a stranger's file inside: kept, and the
                    j.run.remove()                         # error that stopped training is the one raised
        raise
    finally:
        commits.close()         # after an error or Ctrl-C the commit in flight still finishes
        torch.set_num_threads(threads_before)
        if bar is not None:
            bar.close()
    secs = time.perf_counter() - t0
    return {"start": start, "end": end, "seconds": secs, "skipped": False, "train_seconds": spent(),
            "milestones": [history.milestones({k: metrics[s, i] for i, k in enumerate(METRICS)})
                           for s in range(len(jobs))]}


def _probe_step(P, cfgs: list[Config], step_logits, train_ex, train_labels, test_ex, smooth, cfg: Config):
    """One training step on copies of the weights, with a fresh optimiser: everything whose
    rounding could depend on the thread count (logits, losses, gradients, their dot products,
    ⊥Grad's projection, AdamW's update). Pure: P and the real optimiser are untouched."""
    Q = {k: v.detach().clone().requires_grad_(True) for k, v in P.items()}
    opt = SeedAdamW(list(Q.values()), [c.lr for c in cfgs], [c.weight_decay for c in cfgs], betas=cfg.betas)
    logits, loss, test_logits, (diag, dots) = backward(Q, opt, step_logits, train_ex, train_labels, test_ex,
                                                       smooth, cfg)
    grads = [q.grad.clone() for q in opt.params]
    if cfg.optimizer == "orthoadamw":
        orthogonalize_(opt.params, dots)
    opt.step(1.0)
    return [logits, loss, test_logits, *diag, *dots, *grads, *opt.params]


class _SmoothWeights:
    """The penalty's weight per seed at an epoch, [S] on the device, or None when it is off for
    every seed (no penalty term at all); a tensor is made once per distinct set of weights."""
    def __init__(self, cfgs: list[Config], dev):
        self.cfgs, self.dev, self.cache = cfgs, dev, {}

    def __call__(self, epoch: int, grokked: list[int | None]):
        w = tuple(c.smooth_at(epoch, g) for c, g in zip(self.cfgs, grokked))
        if not any(w):
            return None
        if w not in self.cache:
            self.cache[w] = torch.tensor(w, device=self.dev)
        return self.cache[w]


def step(cfg: Config, opt: SeedAdamW, filt: GradFilter, dots, scale):
    """The update from backward's raw gradients: Grokfast's filter, then ⊥Grad (its projection is
    AdamW's input; `dots`: backward's per-tensor dot products), then AdamW with every seed's lr
    times `scale`, one for all or one per seed (Config.lr_scale: the warm-up and cool-down)."""
    filt()
    if cfg.optimizer == "orthoadamw":
        orthogonalize_(opt.params, dots)
    opt.step(scale)


def backward(P, opt, step_logits, train_ex, train_labels, test_ex, smooth, cfg: Config):
    """One epoch's forward and backward: train logits with grad (and test logits, no grad, when
    test_ex is given); the objective is the train cross-entropy (cfg.loss in cfg.precision) plus
    smooth * smoothness(W_E) when smooth (per seed, [S]) is given. Leaves the raw gradients for
    the filter and opt.step; returns the train logits, the train cross-entropy per seed, the
    test logits (or None) and the diagnostics: (DIAGNOSTICS' values, each [S]; the per-tensor
    dot products tensor_dots gave, which ⊥Grad reuses)."""
    opt.zero_grad()
    logits, test_logits = step_logits(P, train_ex, test_ex)
    per_example = model.example_losses(logits, train_labels, cfg.loss, cfg.precision)
    loss = per_example.mean(dim=-1)
    objective = loss + smooth * model.smoothness(P["W_E"], cfg.p) if smooth is not None else loss
    objective.sum().backward()
    with torch.no_grad():
        dots = tensor_dots(opt.params)
        norm, cos = grad_diagnostics(dots)
        collapse = (per_example == 0).to(torch.float64).mean(dim=-1)
    return logits, loss.detach(), test_logits, ((collapse, cos, norm), dots)


def _measure(metrics, epoch, train_logits, train_labels, test_logits, test_labels, cfg: Config,
             train_loss=None, diag=None):
    """Loss and accuracy of both splits at `epoch`, per seed, into metrics[:, METRICS, epoch];
    test_logits None: the test split was not measured at this epoch (left NaN); train_loss:
    the step's own cross-entropy, when it has one (the same number, not computed twice);
    diag: the step's diagnostics (backward's), copied to the host in the same transfer."""
    rows, values = [], []
    for part, lg, lab in (("train", train_logits, train_labels), ("test", test_logits, test_labels)):
        if lg is None:
            continue
        loss = train_loss if part == "train" and train_loss is not None else \
            model.loss_fn(lg, lab, cfg.loss, cfg.precision)
        rows += [M[f"{part}_loss"], M[f"{part}_acc"]]
        values += [loss.detach().to(torch.float64), model.accuracy(lg, lab)]
    if diag is not None:
        rows += [M[k] for k in DIAGNOSTICS]
        values += list(diag[0])
    metrics[:, rows, epoch] = torch.stack(values, dim=1).cpu().numpy()   # one copy to the host (a GPU sync)


def _postfix(metrics, epoch) -> str:
    """Seed-averaged train metrics at `epoch`, and the test split's latest measurement."""
    m = metrics[:, :, epoch].mean(axis=0)
    back = history.first_index(np.isfinite(metrics[0, M["test_loss"], epoch::-1]))   # epochs since it
    t = metrics[:, :, epoch - back].mean(axis=0) if back is not None else np.full(len(METRICS), np.nan)
    return (f"train {m[M['train_loss']]:.2e} ({m[M['train_acc']]:.0%})  "
            f"test {t[M['test_loss']]:.2e} ({t[M['test_acc']]:.0%})")


def _progress(start, end, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=end, initial=start, desc="train", unit="ep", mininterval=0.5,
                dynamic_ncols=True, smoothing=0.05)
