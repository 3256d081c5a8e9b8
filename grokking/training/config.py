"""Run configuration: one small dataclass, two presets (nanoGPT style, no framework)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from grokking.common.errors import ConfigError

OPS = ("add", "sub", "pow", "mul", "div")
# The grokking lab's recipes (docs/lab.md): each a config field, recorded in the
# manifest, resumable and gridable; the defaults train exactly as before they existed.
GROKFAST = ("none", "ema", "ma")          # slow-gradient amplifiers of Lee et al. 2024
OPTIMIZERS = ("adamw", "orthoadamw")      # orthoadamw: ⊥Grad (Prieto et al. 2025) before AdamW
LOSSES = ("softmax", "stablemax")         # stablemax: s(x) in place of exp (Prieto et al. 2025)
PRECISIONS = ("float64", "float32")       # the dtype the loss is computed in


@dataclass
class Schedule:
    """Which epochs get a checkpoint: every epoch up to `dense_until`, `n_log` log-spaced
    epochs up to `log_until`, then every `stride` epochs, and always the last."""
    dense_until: int = 100
    log_until: int = 1000
    n_log: int = 100
    stride: int = 20


@dataclass
class Config:
    # task
    p: int = 113
    op: str = "add"
    a: int = 1                # exponents for op="pow": (x^a + y^b) mod p
    b: int = 1
    frac: float = 0.3         # fraction of the p^2 pairs used for training
    seed: int = 0             # drives both the split and the init
    # model (docs/science.md §1)
    d_model: int = 128
    n_heads: int = 4
    d_head: int = 32
    d_mlp: int = 512
    n_ctx: int = 3
    unembed_eq: bool = True   # unembed to p+1 outputs (226,816 params) rather than p
    # optimiser
    lr: float = 1e-3
    weight_decay: float = 1.0
    betas: tuple[float, float] = (0.9, 0.98)
    warmup: int = 10          # linear warm-up steps, as in the original code
    cooldown_from: int = 0    # from this epoch the lr halves every cooldown_half_life epochs; 0 = never
    cooldown_half_life: int = 250
    settle_at_grok: bool = False    # at the grokking epoch the penalty stops and the cool-down starts (settle_epoch)
    optimizer: str = "adamw"  # or "orthoadamw": each tensor's gradient made orthogonal to it first
    grokfast: str = "none"    # "ema" / "ma": add lamb x a low-pass of the gradient before the step
    grokfast_alpha: float = 0.98    # ema: the filter's decay
    grokfast_lamb: float = 2.0      # both: the amplification (Grokfast's defaults: ema 2, ma 5)
    grokfast_window: int = 100      # ma: the moving average's window, in steps
    loss: str = "softmax"     # or "stablemax"
    precision: str = "float64"      # the loss's dtype (float32: softmax collapse comes sooner)
    init_scale: float = 1.0   # every initial weight times this (Omnigrok's alpha)
    smooth: float = 0.0       # weight of the embedding smoothness penalty (model.smoothness); 0 = off
    smooth_until: int = 0     # the penalty applies to epochs < smooth_until only; 0 = the whole run
    epochs: int = 20000
    schedule: Schedule = field(default_factory=Schedule)
    # measurement: train loss/accuracy come free with every step; the test split's forward is
    # two thirds of an epoch, so it runs at every checkpoint epoch and every `test_every` epochs
    # (20: the checkpoint stride, so a canonical run's test curve has its checkpoints' resolution)
    test_every: int = 20

    @property
    def d_vocab(self) -> int:
        return self.p + 1     # p digits and the '=' token (index p)

    @property
    def d_vocab_out(self) -> int:
        return self.p + 1 if self.unembed_eq else self.p

    def __post_init__(self):
        self.validate()             # a Config that exists is a valid one (replace() checks again)

    def validate(self) -> "Config":
        if self.p < 2:
            raise ConfigError(f"p must be at least 2 (got {self.p}); pass e.g. --p 113")
        if self.op not in OPS:
            raise ConfigError(f"unknown operation {self.op!r}; choose one of {', '.join(OPS)}")
        if self.a < 1 or self.b < 1:
            raise ConfigError(f"exponents must be >= 1 (got a={self.a}, b={self.b}); pass e.g. --a 2 --b 1")
        if self.op != "pow" and (self.a, self.b) != (1, 1):
            raise ConfigError(f"--a and --b are the exponents of op pow, (x^a + y^b) mod p; op {self.op} has none "
                              f"(got a={self.a}, b={self.b}): leave them out, or pass --op pow")
        if self.op == "div" and _factor(self.p):
            f = _factor(self.p)
            raise ConfigError(f"op div needs a prime p: x / y mod p is x times the inverse of y, which every y != 0 "
                              f"has only when p is prime, and p={self.p} is not"
                              + (f" ({f} x {self.p // f})" if f > 1 else "") + "; pass a prime --p, e.g. 113 or 53")
        if not 0.0 < self.frac < 1.0:
            raise ConfigError(f"train fraction must be strictly between 0 and 1 (got {self.frac}); pass e.g. --frac 0.3")
        if not 1 <= int(self.frac * self.p * self.p) < self.p * self.p:
            raise ConfigError(f"frac={self.frac} at p={self.p} leaves an empty train or test set; raise p or change --frac")
        if not (self.smooth >= 0.0 and self.smooth < float("inf")):
            raise ConfigError(f"--smooth must be a finite number >= 0 (got {self.smooth}); pass e.g. --smooth 1e-3")
        if self.smooth_until < 0:
            raise ConfigError(f"--smooth-until must be an epoch >= 0 (got {self.smooth_until}); 0 keeps the "
                              "penalty on for the whole run")
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1 (got {self.epochs})")
        if not 0 <= self.seed < 2**63:     # numpy's and torch's generators take no negative seed
            raise ConfigError(f"--seed must be between 0 and 2^63 - 1 (got {self.seed}); pass e.g. --seed 0")
        # `not 0 < x < inf` is also true for nan: a nan or infinite step trains to nan weights
        if not 0.0 < self.lr < float("inf"):
            raise ConfigError(f"--lr must be a finite number > 0 (got {self.lr}); pass e.g. --lr 1e-3")
        if not 0.0 <= self.weight_decay < float("inf"):
            raise ConfigError(f"--wd must be a finite number >= 0 (got {self.weight_decay}); pass e.g. --wd 1.0")
        for name, value, allowed in (("optimizer", self.optimizer, OPTIMIZERS),
                                     ("grokfast", self.grokfast, GROKFAST), ("loss", self.loss, LOSSES),
                                     ("precision", self.precision, PRECISIONS)):
            if value not in allowed:
                raise ConfigError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")
        if not 0.0 <= self.grokfast_alpha < 1.0:
            raise ConfigError(f"--grokfast-alpha must be in [0, 1) (got {self.grokfast_alpha}); pass e.g. 0.98")
        if not 0.0 <= self.grokfast_lamb < float("inf"):
            raise ConfigError(f"--grokfast-lamb must be a finite number >= 0 (got {self.grokfast_lamb}); pass e.g. 2")
        if self.grokfast_window < 1:
            raise ConfigError(f"--grokfast-window must be at least 1 (got {self.grokfast_window}); pass e.g. 100")
        if not 0.0 < self.init_scale < float("inf"):
            raise ConfigError(f"--init-scale must be a finite number > 0 (got {self.init_scale}); pass e.g. 1")
        if self.warmup < 0:
            raise ConfigError(f"--warmup must be a number of steps >= 0 (got {self.warmup}); 0 = none")
        if self.cooldown_from < 0:
            raise ConfigError(f"--cooldown-from must be an epoch >= 0 (got {self.cooldown_from}); 0 keeps the lr")
        if not isinstance(self.settle_at_grok, bool):
            raise ConfigError(f"settle_at_grok must be true or false (got {self.settle_at_grok!r})")
        if self.cooldown_half_life < 1:
            raise ConfigError(f"--cooldown-half-life must be at least 1 epoch (got {self.cooldown_half_life}); "
                              f"pass e.g. 250")
        if self.op == "div" and self.frac * self.p * (self.p - 1) < 1:
            raise ConfigError(f"frac={self.frac} at p={self.p} leaves no train pair for div; raise p or --frac")
        if self.n_ctx != 3:
            raise ConfigError(f"n_ctx must be 3 (got {self.n_ctx}): every input is the three tokens [x, y, =]")
        if min(self.n_heads, self.d_head, self.d_model, self.d_mlp) <= 0:
            raise ConfigError("model sizes must be positive")
        if self.test_every < 1:
            raise ConfigError(f"--test-every must be at least 1 (got {self.test_every}); 1 measures the test split every epoch")
        s = self.schedule
        if s.stride < 1 or s.dense_until < 0 or s.log_until < s.dense_until or s.n_log < 0:
            raise ConfigError(f"bad checkpoint schedule {s}: need stride >= 1 and 0 <= dense_until <= log_until")
        return self

    def lr_scale(self, epoch: int, grokked: int | None = None) -> float:
        """The lr's factor at `epoch`: the linear warm-up, then from the cool-down's start a halving
        every cooldown_half_life epochs. The start is cooldown_from, or with settle_at_grok the
        grokking epoch `grokked` if sooner (settle_epoch). A pure function of the step and the
        history before it, so resumable; it does not depend on `epochs`, so an extended run keeps
        its path."""
        f = min(epoch / self.warmup, 1.0) if self.warmup else 1.0
        start = self._settle(self.cooldown_from, grokked)
        if start and epoch > start:
            f *= 0.5 ** ((epoch - start) / self.cooldown_half_life)
        return f

    def smooth_at(self, epoch: int, grokked: int | None = None) -> float:
        """The penalty's weight at `epoch`: on before smooth_until, or with settle_at_grok until
        the grokking epoch if sooner (a pure function of the step and the history, so resumable)."""
        until = self._settle(self.smooth_until, grokked)
        return self.smooth if not until or epoch < until else 0.0

    def _settle(self, bound: int, grokked: int | None) -> int:
        """An epoch setting (0 = never) brought forward to the grokking epoch under settle_at_grok;
        the grokking epoch is a multiple of SETTLE_EVERY, at least 1."""
        if self.settle_at_grok and grokked is not None:
            return min(bound, max(grokked, 1)) if bound else max(grokked, 1)
        return bound

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        d = dict(d)
        d["schedule"] = Schedule(**d.get("schedule", {}))
        d["betas"] = tuple(d.get("betas", (0.9, 0.98)))
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def replace(self, **kw) -> "Config":
        return dataclasses.replace(self, **kw)


# Canonical: docs/science.md §1. Grokking at ~10k epochs, clean-up done by ~14k; we stop at 20k.
CANONICAL = Config()

# Quick: a small task that still memorises first and groks after a visible plateau,
# in well under a minute on 2 CPU cores. Used by tests and demos.
QUICK = Config(
    p=53, frac=0.4, d_model=64, n_heads=4, d_head=16, d_mlp=256,
    lr=3e-3, weight_decay=2.0, epochs=1200,
    schedule=Schedule(dense_until=50, log_until=300, n_log=40, stride=10),
)

# Video: the default of `grokking all`, chosen so the story the scenes tell is true of the run,
# in time as well as at the end (docs/science.md §8, the story check; results/story-in-time.md): the
# canonical model at lr 1e-2 on the video's train fraction 0.25 with weight decay 0.2 (it memorises
# by epoch ~44 and groks at ~1,100-1,500: a plateau of 25-35x), the embedding smoothness penalty
# 1e-4 for legible waves until the grokking epoch, then the lr halving every 600 epochs from it
# (settle_at_grok: without it lr 1e-2 un-groks within a few hundred epochs of grokking on most
# seeds), 3,000 epochs. Seed 2 of 0-4 passes every row trained in a sweep; the others lean on one
# frequency at the end, so the main job tries seeds (pipeline/choose.py) until one passes.
VIDEO = CANONICAL.replace(lr=1e-2, frac=0.25, weight_decay=0.2, smooth=1e-4, smooth_until=2500, cooldown_from=2500,
                          cooldown_half_life=600, settle_at_grok=True, seed=2, epochs=3000)

# Fast: the canonical model and task for quick iterations at p = 113, from the lab's race (README
# "The grokking lab"): AdamW at lr 1e-2 grokked at epoch 338-560 on 5 of 5 seeds, at least 10x
# sooner than the canonical lr 1e-3 (3,720 on one seed, not by 6,000 on the others), with the
# mechanism intact at 2,000 (the key frequencies alone beat the model's test loss on every seed).
# It was the race's lr-matched control and beat every recipe from the literature (⊥AdamW with
# stablemax, also >= 5x on 4 of 5 seeds, grokked about twice as late).
FAST = CANONICAL.replace(lr=1e-2, epochs=2000)

PRESETS = {"video": VIDEO, "canonical": CANONICAL, "quick": QUICK, "fast": FAST}
DEFAULT_PRESET = "video"
DEFAULT_RUN = DEFAULT_PRESET     # a run trained from a preset is named after it


def _factor(p: int) -> int:
    """0 when p (>= 2) is prime, else a factor of it other than 1 (its smallest), or 1 for a
    composite too large to factor by trial division (Miller-Rabin, exact below 3.3e24)."""
    small = next((f for f in range(2, min(int(p ** 0.5), 10 ** 5) + 1) if p % f == 0), 0)
    if small or p <= 10 ** 10:
        return small
    d, r = p - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41):
        x = pow(a, d, p)
        if x in (1, p - 1):
            continue
        for _ in range(r - 1):
            x = x * x % p
            if x == p - 1:
                break
        else:
            return 1
    return 0


# settle_at_grok: the grokking epoch is the first multiple of SETTLE_EVERY whose test accuracy is at
# least SETTLE_ACC (the trainer measures the test split at every such epoch of such a run, so the
# epoch does not depend on the checkpoint schedule or test_every, which a resume may change).
SETTLE_EVERY = 20
SETTLE_ACC = 0.99


def settle_epoch(test_acc, upto: int) -> int | None:
    """The grokking epoch for settle_at_grok from a test-accuracy history (NaN where not measured),
    among the epochs < upto; None while not grokked."""
    for e in range(0, min(upto, len(test_acc)), SETTLE_EVERY):
        if test_acc[e] >= SETTLE_ACC:
            return e
    return None


def check_exponents(ops, given) -> None:
    """op pow has no default exponents: a = b = 1 would silently be addition. ConfigError unless
    both exponents were given (`given`: the fields set explicitly) wherever `ops` has pow, and
    when they were given where no op has them."""
    named = [k for k in ("a", "b") if k in given]
    if named and "pow" not in ops:
        two = len(named) > 1
        raise ConfigError(f"--{' and --'.join(named)} {'are the exponents' if two else 'is an exponent'} of op "
                          f"pow, (x^a + y^b) mod p; op {', '.join(sorted(ops))} has none: leave "
                          f"{'them' if two else 'it'} out, or pass --op pow")
    lacks = [k for k in ("a", "b") if k not in given]
    if "pow" in ops and lacks:
        raise ConfigError(f"op pow needs its exponents, (x^a + y^b) mod p: pass --a and --b (in a sweep, or "
                          f"a grid's a=... b=...), e.g. --a 2 --b 1; {' and '.join(lacks)} missing "
                          f"(a = b = 1 would be addition)")


def schedule_epochs(s: Schedule, epochs: int) -> list[int]:
    """The sorted checkpoint epochs for a run of `epochs` optimiser steps (0 = the init)."""
    import math
    keep = set(range(0, min(s.dense_until, epochs) + 1))
    if s.n_log > 0 and s.log_until > max(s.dense_until, 1):
        lo, hi = math.log(max(s.dense_until, 1)), math.log(s.log_until)
        for i in range(s.n_log + 1):
            e = int(round(math.exp(lo + (hi - lo) * i / s.n_log)))
            if e <= epochs:
                keep.add(e)
    start = s.log_until if s.log_until <= epochs else epochs
    keep.update(range(start - start % s.stride, epochs + 1, s.stride))
    keep.add(epochs)
    return sorted(e for e in keep if 0 <= e <= epochs)


def recipe_label(c: dict) -> str:
    """A run's training recipe in a few words, from its config dict (manifest or Config.to_dict):
    the lab's fields that differ from plain AdamW with softmax in float64."""
    d = {**Config().to_dict(), **c}
    parts = []
    if d["grokfast"] == "ema":
        parts.append(f"grokfast-ema a={d['grokfast_alpha']:g} l={d['grokfast_lamb']:g}")
    elif d["grokfast"] == "ma":
        parts.append(f"grokfast-ma w={d['grokfast_window']} l={d['grokfast_lamb']:g}")
    if d["optimizer"] == "orthoadamw":
        parts.append("⊥AdamW")
    if d["loss"] == "stablemax":
        parts.append("stablemax")
    if d["precision"] != "float64":
        parts.append(f"{d['precision']} loss")
    if d["init_scale"] != 1.0:
        parts.append(f"init x{d['init_scale']:g}")
    if d.get("settle_at_grok"):
        parts.append(f"penalty off and lr halving every {d['cooldown_half_life']} from grokking"
                     + (f" (by {d['cooldown_from']})" if d["cooldown_from"] else ""))
    elif d["cooldown_from"]:
        parts.append(f"lr halving every {d['cooldown_half_life']} from {d['cooldown_from']}")
    return ", ".join(parts) or "adamw"
