"""Training speed against the peers a user would otherwise train with, side by side in one run.

An epoch is what each trainer does per epoch: forward + backward + AdamW on the train split, the
train loss and accuracy, and at some epochs the test split's loss and accuracy. This project
measures the test split at each checkpoint epoch and every `test_every` epochs (its curves and
milestones are exact at that resolution: README, history format). Every implementation's two
kinds of epoch are timed apart, interleaved, and each row "the run's mix" is the same mix for all:
(E - n) train-only epochs and n with the test split, over E, where n is the number of epochs
`training.train.test_epochs` measures in the preset's run. Those rows are equal work, and the
headline ratio is theirs. A peer's row "epochs with the test split" is the peer measuring the
test split every epoch, as the paper's code and the TransformerLens demo do: against the
project's run mix that is unequal work, printed as such.

  plain nn.Module      the model as the paper's code writes it: every position, einsum attention
                       (benchmarks/plain_train.py)
  HookedTransformer    TransformerLens with the Grokking demo's config (when transformer_lens < 4
                       is installed: pip install -e ".[lens]")
  this project         the trainer's own step (training/train.py: backward, SeedAdamW)

Every implementation is first checked against training/reference.py, the correctness oracle:
the same weights give the same logits. Implementations run interleaved, round by round, so
machine noise hits them alike; each row prints the median and range over the rounds, each ratio
the median and range of the round-by-round ratios.
--under-load repeats the measurement beside a bounded busy process (one CPU-bound competitor)
and prints quiet and loaded medians side by side; the project uses the trainer's thread tuner.
--whole-process also times whole processes at equal work (benchmarks/train_process.py: the
project's `grokking train` extending a run against benchmarks/plain_train.py) and prints the
per-epoch and whole-process ratios side by side.

    python benchmarks/train_speed.py [--rounds 20] [--preset canonical] [--under-load]
                                     [--whole-process [--repeats 3] [--base-epochs 1000] [--extend 600]]
"""
from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import click
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from grokking.training import model, reference, tasks, train  # noqa: E402
from grokking.training.config import PRESETS  # noqa: E402
from grokking.training.optim import GradFilter, SeedAdamW, grad_diagnostics, orthogonalize_, tensor_dots  # noqa: E402
from grokking.training.threads import ThreadTuner, cores  # noqa: E402
from plain_train import PlainTransformer, epoch_fn, optimiser, split_tensors  # noqa: E402


# ---- peer 1: a plain nn.Module in the style of the paper's code (benchmarks/plain_train.py) ----

def _module_epochs(net, cfg, data, with_test: bool):
    """An epoch as the paper's training loop runs it (plain_train.epoch_fn: the full-batch train
    step, its loss and accuracy), with the test split's loss and accuracy or without."""
    epoch = epoch_fn(net, *optimiser(net, cfg), data)
    return lambda: epoch(with_test)


# ---- peer 2: TransformerLens with the Grokking demo's config ----------------------------------

def hooked_transformer(cfg):
    """A HookedTransformer as the demo builds it (biases frozen), or None without transformer_lens."""
    try:
        from transformer_lens import HookedTransformer, HookedTransformerConfig
    except ImportError:
        return None
    hc = HookedTransformerConfig(n_layers=1, n_heads=cfg.n_heads, d_model=cfg.d_model,
                                 d_head=cfg.d_head, d_mlp=cfg.d_mlp, act_fn="relu",
                                 normalization_type=None, d_vocab=cfg.d_vocab,
                                 d_vocab_out=cfg.d_vocab_out, n_ctx=cfg.n_ctx, init_weights=True,
                                 device="cpu", seed=999)
    net = HookedTransformer(hc)
    for name, p in net.named_parameters():
        if "b_" in name:
            p.requires_grad = False
    return net


def _load_into_hooked(net, W):
    from grokking.interop.transformer_lens import to_transformer_lens
    sd = {k: torch.tensor(v) for k, v in to_transformer_lens({k: v.numpy() for k, v in W.items()}).items()}
    net.load_state_dict(sd, strict=False)
    return net


# ---- this project -------------------------------------------------------------------------------

def _project_epochs(cfg, seeds, dev, compiled, with_test: bool, n: int = 4):
    """n epochs of the trainer's step, each with a test forward or none (a run has both kinds)."""
    data = train.examples([cfg.replace(seed=s) for s in seeds], dev)
    (tr, ltr), (te, lte) = data["train"], data["test"]
    P = {k: v.requires_grad_(True) for k, v in model.init_params(cfg, seeds, device=dev).items()}
    opt = SeedAdamW(list(P.values()), [cfg.lr] * len(seeds), [cfg.weight_decay] * len(seeds), cfg.betas)
    filt = GradFilter.of(cfg, opt.params)
    step_logits = torch.compile(model.step_logits) if compiled else model.step_logits

    def epochs():      # the trainer's epoch (training/train.py backward and step)
        for _ in range(n):
            logits, _, lt, diag = train.backward(P, opt, step_logits, tr, ltr, te if with_test else None, None, cfg)
            with torch.no_grad():
                model.accuracy(logits, ltr)
                if lt is not None:
                    model.loss_fn(lt, lte, cfg.loss, cfg.precision), model.accuracy(lt, lte)
            train.step(cfg, opt, filt, diag[1], 1.0)
    return epochs, n


# ---- the oracle ---------------------------------------------------------------------------------

def check_against_reference(cfg, peers: dict) -> float:
    """Max |logit difference| of each implementation against training/reference.py on the same
    weights, over 256 examples; raises when any exceeds 1e-4."""
    W = {k: v[0] for k, v in model.init_params(cfg, [0]).items()}
    d = tasks.dataset(cfg)
    idx = np.arange(256)
    tok = torch.tensor(tasks.tokens(d["x"][idx], d["y"][idx], cfg.p))
    with torch.no_grad():
        want = reference.reference_forward(W, tok)[:, -1]
        got = {"this project": model.forward({k: v[None] for k, v in W.items()},
                                             tok[None, :, 0], tok[None, :, 1])[0]}
        for name, net in peers.items():
            got[name] = net.load_project(W)(tok)[:, -1] if isinstance(net, PlainTransformer) \
                else _load_into_hooked(net, W)(tok)[:, -1]
    err = {k: float((v - want).abs().max()) for k, v in got.items()}
    bad = {k: e for k, e in err.items() if not e < 1e-4}
    if bad:
        raise SystemExit(f"implementations disagree with training/reference.py: {bad}")
    return max(err.values())


# ---- timing -------------------------------------------------------------------------------------

TRAIN_ONLY, WITH_TEST, MIX = "train-only epochs", "epochs with the test split", "the run's mix"
EVERY_EPOCH = "peer measuring the test split every epoch"


def _busy(seconds: float):
    """One CPU-bound competitor (pure Python: one core), bounded in time."""
    end = time.time() + seconds
    x = 0
    while time.time() < end:
        x += 1


def measure(rows, rounds: int, tune: bool) -> dict[str, list[float]]:
    """Seconds per epoch of each row in each round, interleaved round by round. The project's
    rows run under the trainer's thread tuner (re-tuned at the start of each round) when tune is
    set."""
    for _, fn, _ in rows:         # warm-up, compilation
        fn()
    times = {name: [] for name, _, _ in rows}
    tuners = {name: ThreadTuner(period=1, trials=1, enabled=tune) for name, _, _ in rows}   # one per kind of epoch
    for r in range(rounds):
        for name, fn, per in rows:
            if name.startswith("this project") and tune:
                tuner = tuners[name]
                for c in tuner.candidates:          # the tuner's trial, as in the trainer
                    tuner.before(r)
                    t = time.perf_counter(); fn(); tuner.record(r, time.perf_counter() - t, False)
            else:
                torch.set_num_threads(cores())
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) / per)
        torch.set_num_threads(cores())
    return times


def with_mix(times: dict[str, list[float]], kinds: list[str], share: float) -> dict[str, list[float]]:
    """Each kind's "the run's mix" row, round by round: (1 - share) of its train-only epochs and
    share of its epochs with the test split, the same mix for every kind (equal work)."""
    out = dict(times)
    for k in kinds:
        out[f"{k}, {MIX}"] = [(1 - share) * a + share * b
                              for a, b in zip(times[f"{k}, {TRAIN_ONLY}"], times[f"{k}, {WITH_TEST}"])]
    return out


def spread(xs) -> str:
    return f"{statistics.median(xs):5.1f} [{min(xs):.1f}-{max(xs):.1f}]"


def ratios(times: dict[str, list[float]], peers: list[str], ours: str) -> dict[str, dict[str, list[float]]]:
    """Round-by-round speed-ups of `ours` (a project kind's run mix) over each peer: at equal work
    (the peer's run mix) and against the peer measuring the test split every epoch."""
    mine = times[f"{ours}, {MIX}"]
    per = lambda row: [a / b for a, b in zip(times[row], mine)]
    return {"equal work (the run's mix)": {p: per(f"{p}, {MIX}") for p in peers},
            EVERY_EPOCH: {p: per(f"{p}, {WITH_TEST}") for p in peers}}


def table(times: dict[str, list[float]], kinds: list[str], peers: list[str]) -> str:
    """Milliseconds per epoch (median [range over rounds]) of every row, each kind's run mix
    first, and the project's speed-ups (median [range] of the per-round ratios)."""
    lines = []
    for k in kinds:
        for what in (MIX, TRAIN_ONLY, WITH_TEST):
            ms = [t * 1e3 for t in times[f"{k}, {what}"]]
            note = f"  (= {EVERY_EPOCH})" if what == WITH_TEST and k in peers else ""
            lines.append(f"{k + ', ' + what:>58}: {spread(ms)} ms/epoch{note}")
    for ours in (k for k in kinds if k not in peers):
        for label, by_peer in ratios(times, peers, ours).items():
            lines.append(f"{ours} vs {label}: " + "   ".join(f"x{spread(r)} vs {p}" for p, r in by_peer.items()))
    return "\n".join(lines)


RECIPES = {"adamw": {}, "grokfast-ema (a 0.98, l 2)": dict(grokfast="ema"),
           "grokfast-ma (window 100, l 5)": dict(grokfast="ma", grokfast_lamb=5.0),
           "⊥AdamW": dict(optimizer="orthoadamw"), "stablemax": dict(loss="stablemax"),
           "⊥AdamW + stablemax": dict(optimizer="orthoadamw", loss="stablemax")}


def recipe_overhead(cfg, dev, rounds: int, tune: bool):
    """Each recipe's epoch (the trainer's: diagnostics, filter, projection, AdamW) at the run's
    mix of train-only and test epochs, and its cost over plain AdamW: median [range] of the
    per-round ratios (the bound: a filter may not slow the canonical step by > 15 %)."""
    rows = []
    for name, kw in RECIPES.items():
        c = cfg.replace(**kw)
        rows.append((f"{name}, {TRAIN_ONLY}", *_project_epochs(c, [0], dev, False, False)))
        rows.append((f"{name}, {WITH_TEST}", *_project_epochs(c, [0], dev, False, True)))
    share = len(train.test_epochs(cfg, cfg.epochs)) / cfg.epochs
    times = with_mix(measure(rows, rounds, tune), list(RECIPES), share)
    base = times[f"adamw, {MIX}"]
    print(f"the project's epoch per recipe, ms at the run's mix ({share:.1%} with the test split): median "
          f"[range] of {rounds} interleaved rounds; overhead = per-round ratio to adamw")
    for name in RECIPES:
        mine = times[f"{name}, {MIX}"]
        over = [100 * (a / b - 1) for a, b in zip(mine, base)]
        print(f"{name:>32}: {spread([t * 1e3 for t in mine])} ms/epoch   overhead {spread(over)} %")
    # The transforms alone, each timed over the same canonical gradients: short calls, so far less
    # exposed to a busy machine than the whole epochs above.
    step = statistics.median(base)
    P = {k: v.requires_grad_(True) for k, v in model.init_params(cfg, [0], device=dev).items()}
    params = list(P.values())
    for w in params:
        w.grad = torch.randn_like(w) * 1e-3
    transforms = {"diagnostics (every recipe)": lambda: grad_diagnostics(tensor_dots(params)),
                  "grokfast-ema filter": GradFilter("ema", params, 0.98, 2.0, 100),
                  "grokfast-ma filter": GradFilter("ma", params, 0.98, 5.0, 100),
                  "⊥Grad projection": lambda: orthogonalize_(params)}
    print(f"\nthe transforms alone, median of 50 calls, against the adamw epoch's median ({step * 1e3:.1f} ms):")
    for name, fn in transforms.items():
        t = []
        for _ in range(50):
            t0 = time.perf_counter(); fn(); t.append(time.perf_counter() - t0)
        print(f"{name:>32}: {statistics.median(t) * 1e3:6.2f} ms  ({100 * statistics.median(t) / step:.1f} % of the epoch)")


# ---- the late phase: epochs of a run past its loss floor against its first epochs -----------

def _late_child(run_name: str, runs_root: str | None, flush: bool, rounds: int, n: int, queue):
    """In a fresh process (flush-to-zero is inherited by torch's threads only when set before
    they start, so off and on need a process each): seconds per train-only epoch of the
    trainer's step from the run's first weights and from its last resume state, interleaved
    round by round, each round from the same state."""
    torch.set_flush_denormal(flush)          # before any operation: the pool inherits it
    from grokking.training.history import Run, read_npz, resume_entries
    run = Run(run_name, runs_root)
    cfg = run.config
    torch.set_num_threads(cores())
    last = resume_entries(run.manifest)[-1]
    late = read_npz(run.dir / last["file"], last.get("sha256"))
    data = train.examples([cfg], "cpu")
    (tr, ltr) = data["train"]
    init = {k: v[0].numpy() for k, v in model.init_params(cfg, [cfg.seed]).items()}

    def epochs(state: dict, scale: float):
        P = {k: torch.tensor(state[k][None]).requires_grad_(True) for k in model.PARAM_NAMES}
        opt = SeedAdamW(list(P.values()), [cfg.lr], [cfg.weight_decay], cfg.betas)
        opt.load([state] if "adam_0_step" in state else [])
        filt = GradFilter.of(cfg, opt.params)
        t = time.perf_counter()
        for _ in range(n):
            _, loss, _, diag = train.backward(P, opt, model.step_logits, tr, ltr, None, None, cfg)
            train.step(cfg, opt, filt, diag[1], scale)
        return (time.perf_counter() - t) / n, float(loss[0])

    out = {"early": [], "late": [], "epoch": int(last["epoch"]), "flush": flush}
    for _ in range(rounds):
        for kind, state, scale in (("early", init, 1.0), ("late", late, cfg.lr_scale(int(last["epoch"])))):
            sec, loss = epochs(state, scale)
            out[kind].append(sec)
            out[kind + "_loss"] = loss
    queue.put(out)


def late_phase(run_name: str, runs_root: str | None = None, rounds: int = 5, n: int = 10) -> list[dict]:
    """The late segment with subnormals as they come (before this project flushed them) and
    flushed (now), each in its own process; per-epoch seconds per round."""
    ctx = mp.get_context("spawn")
    res = []
    for flush in (False, True):
        q = ctx.Queue()
        proc = ctx.Process(target=_late_child, args=(run_name, runs_root, flush, rounds, n, q))
        proc.start()
        res.append(q.get())
        proc.join()
    return res


def late_report(res: list[dict], run_name: str) -> str:
    lines = [f"the late phase: train-only epochs/s of the trainer's step, run {run_name!r} from its first weights "
             f"(early) and from its resume state at epoch {res[0]['epoch']} (late, past its loss floor: train loss "
             f"{res[0]['late_loss']:.1e}); median [range] over rounds, each in a fresh process"]
    for r in res:
        early = [1 / t for t in r["early"]]
        late = [1 / t for t in r["late"]]
        ratio = statistics.median(early) / statistics.median(late)
        lines.append(f"{'subnormals flushed (now)' if r['flush'] else 'subnormals as they come (before)':>34}: "
                     f"early {spread(early)} ep/s, late {spread(late)} ep/s, early/late x{ratio:.2f}")
    return "\n".join(lines)


@click.command()
@click.option("--rounds", default=15, show_default=True, help="Timed rounds (each runs every implementation).")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="canonical", show_default=True)
@click.option("--under-load", is_flag=True, help="Also measure beside one CPU-bound competing process.")
@click.option("--compile", "compiled", is_flag=True, help="Also time the project's step under torch.compile.")
@click.option("--no-tune", is_flag=True, help="Fixed threads (all cores) instead of the trainer's tuner.")
@click.option("--whole-process", "whole", is_flag=True,
              help="Also time whole processes at equal work (benchmarks/train_process.py) and print every ratio side by side.")
@click.option("--repeats", default=3, show_default=True, help="With --whole-process: pairs of processes.")
@click.option("--base-epochs", default=1000, show_default=True, help="With --whole-process: the run's length before the extension.")
@click.option("--extend", default=600, show_default=True, help="With --whole-process: epochs each process trains.")
@click.option("--late", "late_run", default=None, metavar="RUN",
              help="Instead: the late phase, epochs/s of RUN's last resume state (past its loss floor) against "
                   "its first epochs, with subnormals flushed and not (e.g. --late video after grokking all).")
@click.option("--recipes", is_flag=True, help="Instead: the project's epoch under each of the lab's recipes against "
              "plain AdamW (the filters' and the projection's CPU overhead), interleaved, at the run's mix.")
def main(rounds, preset, under_load, compiled, no_tune, whole, repeats, base_epochs, extend, late_run, recipes):
    cfg = PRESETS[preset].replace(smooth=0.0)
    dev = torch.device("cpu")
    torch.set_num_threads(cores())
    if late_run:
        from grokking.training.history import HistoryError, Run, resume_entries
        try:
            if not resume_entries(Run(late_run).manifest):
                raise HistoryError(f"run {late_run!r} has no resume state")
        except HistoryError as e:
            raise click.UsageError(f"{e}; --late needs a trained run (grokking train --run {late_run})")
        return print(late_report(late_phase(late_run, rounds=min(rounds, 7)), late_run))
    if recipes:
        return recipe_overhead(cfg, dev, rounds, not no_tune)
    split = split_tensors(cfg)
    peers = {"plain nn.Module": PlainTransformer(cfg)}
    ht = hooked_transformer(cfg)
    if ht is not None:
        peers["HookedTransformer"] = ht
    err = check_against_reference(cfg, peers)
    print(f"{preset}: p={cfg.p}, d_model={cfg.d_model}, {len(split[0][1])} train / {len(split[1][1])} test, "
          f"{cores()} cores, torch {torch.__version__}; oracle: max |logit - reference| = {err:.1e}")
    if ht is None:
        print("(transformer_lens not installed: no HookedTransformer row; pip install -e '.[lens]')")
    rows = []
    for n, net in peers.items():
        rows.append((f"{n}, {TRAIN_ONLY}", _module_epochs(net, cfg, split, False), 1))
        rows.append((f"{n}, {WITH_TEST}", _module_epochs(net, cfg, split, True), 1))
    ours = {"this project": False} | ({"this project, compiled": True} if compiled else {})
    for kind, comp in ours.items():
        rows.append((f"{kind}, {TRAIN_ONLY}", *_project_epochs(cfg, [0], dev, comp, False)))
        rows.append((f"{kind}, {WITH_TEST}", *_project_epochs(cfg, [0], dev, comp, True)))
    n_test = len(train.test_epochs(cfg, cfg.epochs))
    share = n_test / cfg.epochs
    kinds, names = list(peers) + list(ours), list(peers)
    print(f"the run's mix, every row alike (equal work): {n_test:,} of {cfg.epochs:,} epochs ({share:.1%}) "
          f"measure the test split (test_every = {cfg.test_every}, and every checkpoint epoch); "
          f"'epochs with the test split' of a peer is the peer measuring it every epoch (unequal work)")
    quiet = with_mix(measure(rows, rounds, not no_tune), kinds, share)
    print(f"\nquiet, ms per epoch: median [range] of {rounds} interleaved rounds\n" + table(quiet, kinds, names))
    if under_load:
        busy = mp.get_context("spawn").Process(target=_busy, args=(1800,), daemon=True)  # stopped below
        busy.start()
        try:
            time.sleep(1.0)
            loaded = with_mix(measure(rows, rounds, not no_tune), kinds, share)
        finally:
            busy.terminate()
            busy.join()
        print("\nbeside one CPU-bound process:\n" + table(loaded, kinds, names))
        print("\nloaded / quiet throughput (medians):")
        for n in quiet:
            print(f"{n:>58}: {statistics.median(quiet[n]) / statistics.median(loaded[n]):5.0%}")
    minutes = cfg.epochs * statistics.median(quiet[f"this project, {MIX}"]) / 60
    print(f"\n{cfg.epochs:,} {preset} epochs at the project's quiet speed: ~{minutes:.1f} min "
          f"(checkpoints are written in the background)")
    if whole:
        import train_process
        proc = train_process.measure(preset, base_epochs, extend, repeats)
        print("\n" + train_process.report(proc))
        per_epoch = ratios(quiet, names, "this project")
        print("\nside by side, this project's speed-up over the plain nn.Module (median [range]):")
        for label, by_peer in per_epoch.items():
            print(f"{'per epoch, ' + label:>62}: x{spread(by_peer['plain nn.Module'])}  ({rounds} rounds)")
        print(f"{'whole processes, equal work (' + str(extend) + ' epochs from ' + str(base_epochs) + ')':>62}: "
              f"x{spread(proc['ratio'])}  ({repeats} pairs)")


if __name__ == "__main__":
    main()
