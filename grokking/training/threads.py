"""How many threads the trainer's CPU step uses, chosen by timing while it trains.

On a quiet 2-core machine two threads are fastest. With one competing CPU-bound process (a
browser, a renderer, another run), two threads are the slowest choice: at every parallel
region one thread waits, spinning, for a partner the OS has parked behind the other process
(measured: 35 % of quiet speed, against 67 % for one thread). No fixed choice is right on a
shared machine, so the tuner re-measures: every 30 s (or 500 epochs), and at once when its
epochs slow down by half, it runs a few epochs at each candidate count and keeps the fastest.

That is safe only where the thread count does not change the CPU step's rounding. On some CPUs it
does (an Intel Xeon's GEMMs split their sums by thread: the first backward's W_out differed by
7e-10 between 1 and 2 threads, and a resumed run drifted away from a straight one). So the
trainer first runs one step of the run's own model at each candidate count (`rounds_alike`);
where the bits differ, every step runs on one thread, the only count every process, sweep worker
and machine can always have, and the manifest says so. Resume then retraces the run on any CPU.

Subnormal float32 values (probabilities, gradients and Adam's second moments once the loss is
~1e-6) take a slow path on some CPUs (ten-fold on an Intel Xeon). `flush_subnormals` sets
flush-to-zero; torch's worker threads inherit it only if it is set before they start, so this
module sets it when imported (the trainer imports it first) and `subnormals_flushed` checks
every thread. Flushing changes nothing where no subnormal occurs.

A sweep's batch process is given a `limit` instead: the cores it may use now (its share of the
machine, which grows when the sweep's other processes finish). At a limit of one it runs one
thread; when the limit changes it re-measures among the limit and one at once.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np
import torch

from grokking.common.paths import cores


def flush_subnormals() -> None:
    """Flush subnormal floats to zero on this thread (and the threads it starts from now on)."""
    torch.set_flush_denormal(True)


flush_subnormals()      # at import: before torch's thread pool exists, so its threads inherit it


def subnormals_flushed() -> bool:
    """Whether every thread of torch's pool flushes: a subnormal times 1 over a tensor long enough
    to be split among them comes back zero everywhere (read as integers: a flushing thread's
    own comparison would call a subnormal zero)."""
    n = max(torch.get_num_threads(), 1)
    x = torch.from_numpy(np.full(n * 65536, 1e-39, dtype=np.float32))
    return not (torch.mul(x, 1.0).numpy().view(np.uint32) & 0x7FFFFFFF).any()


def rounds_alike(step: Callable[[], list[torch.Tensor]], counts: list[int]) -> bool:
    """Whether `step` (a pure computation returning tensors) gives the same bits at every thread
    count in `counts`."""
    before = torch.get_num_threads()
    outs = []
    try:
        for n in counts:
            torch.set_num_threads(n)
            outs.append([t.detach().clone() for t in step()])
    finally:
        torch.set_num_threads(before)
    return all(torch.equal(a, b) for o in outs[1:] for a, b in zip(outs[0], o))


ONE_THREAD = "this CPU rounds the step differently at {counts} threads: every step on one thread, so resume retraces the run"


class ThreadTuner:
    """Times `trials` train-only epochs at each candidate thread count and keeps the fastest;
    again every `period` epochs or `every_s` seconds, whichever comes first, and at once when the
    chosen count's epochs run `drift` times slower than when it was chosen (a competitor
    arrived). Epochs that also measure the test split are compared only with each other."""

    def __init__(self, candidates: list[int] | None = None, period: int = 500, trials: int = 3,
                 enabled: bool = True, every_s: float = 30.0, drift: float = 1.5,
                 limit: Callable[[], int] | None = None, pinned: str | None = None):
        """pinned: why every step must run on one thread (rounds_alike failed); the tuner is off."""
        self.pinned = pinned
        if pinned:
            enabled, limit = False, None
            torch.set_num_threads(1)
        n = cores()
        self.limit, self._cap = (limit if enabled else None), None
        if self.limit is not None:
            candidates = [self._capped(), 1]
        self.candidates = sorted(set(candidates or [n, 1]), reverse=True)
        self.period, self.trials, self.every_s, self.drift = period, trials, every_s, drift
        self.enabled = enabled and (len(self.candidates) > 1 or self.limit is not None)
        self.threads = self.candidates[0] if self.enabled else torch.get_num_threads()   # disabled: as set
        self.samples: dict[tuple[int, bool], list[float]] = {}
        self.history: list[tuple[int, int]] = []      # (epoch, threads chosen)
        self._queue: list[int] = []
        self._last: tuple[int, float] | None = None  # (epoch, time) of the last trial's start
        self._baseline: float | None = None           # the chosen count's train-only epoch time
        self._recent: list[float] = []
        if self.enabled:
            torch.set_num_threads(self.threads)

    def _due(self, epoch: int) -> bool:
        if self._last is None:
            return True
        e0, t0 = self._last
        slow = (self._baseline is not None and len(self._recent) >= 5
                and statistics.median(self._recent[-5:]) > self.drift * self._baseline)
        return epoch - e0 >= self.period or time.monotonic() - t0 >= self.every_s or slow

    def _capped(self) -> int:
        return max(1, min(int(self.limit()), cores()))

    def before(self, epoch: int):
        """Set the thread count for `epoch` (a trial's, or the chosen one)."""
        if not self.enabled:
            return
        cap = self._capped() if self.limit is not None else self._cap
        if cap != self._cap:                                         # the share changed: re-tune now
            self._cap = cap
            self.candidates = sorted({self._cap, 1}, reverse=True)
            self.threads, self._queue, self._last, self._baseline = self._cap, [], None, None
            if len(self.candidates) == 1 and (not self.history or self.history[-1][1] != self._cap):
                self.history.append((epoch, self._cap))
        if len(self.candidates) == 1:
            if torch.get_num_threads() != self.threads:
                torch.set_num_threads(self.threads)
            return
        if not self._queue and self._due(epoch):
            self._queue = [c for c in self.candidates for _ in range(self.trials)]
            self.samples, self._recent = {}, []
            self._last = (epoch, time.monotonic())
        want = self._queue[0] if self._queue else self.threads
        if torch.get_num_threads() != want:
            torch.set_num_threads(want)

    def record(self, epoch: int, seconds: float, with_test: bool):
        if not self.enabled or len(self.candidates) == 1:
            return
        if not self._queue:
            if not with_test:
                self._recent.append(seconds)
            return
        # an epoch that also measures the test split costs more: compare like with like
        self.samples.setdefault((self._queue.pop(0), with_test), []).append(seconds)
        if self._queue:
            return
        for kind in (False, True):
            timed = {c: statistics.median(self.samples[(c, kind)]) for c in self.candidates
                     if (c, kind) in self.samples}
            if len(timed) == len(self.candidates):
                best = min(timed, key=timed.get)
                if not self.history or self.history[-1][1] != best:
                    self.history.append((epoch, best))
                self.threads = best
                self._baseline = timed[best] if not kind else None
                break
        torch.set_num_threads(self.threads)

    def describe(self) -> dict:
        if self.pinned:
            return {"policy": "one thread", "why": self.pinned, "threads": 1, "chosen": []}
        return {"policy": ("shared" if self.limit else "tuned") if self.enabled else "fixed",
                "candidates": self.candidates,
                "period": self.period, "every_s": self.every_s, "drift": self.drift,
                "chosen": [{"epoch": e, "threads": t} for e, t in self.history],
                "threads": self.threads if self.enabled else torch.get_num_threads()}
