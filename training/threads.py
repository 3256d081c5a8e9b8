"""How many threads the trainer's CPU step uses, chosen by timing while it trains.

On a quiet 2-core machine two threads are fastest. With one competing CPU-bound process (a
browser, a renderer, another run), two threads are the slowest choice: at every parallel
region one thread waits, spinning, for a partner the OS has parked behind the other process
(measured: 35 % of quiet speed, against 67 % for one thread). No fixed choice is right on a
shared machine, so the tuner re-measures: every `period` epochs it runs a few epochs at each
candidate count and keeps the fastest. The thread count does not change the CPU step's
rounding (tests/test_training.py checks 1 against 2 bit for bit), so resume stays exact.
"""
from __future__ import annotations

import os
import statistics

import torch


def cores() -> int:
    """CPUs this process may run on (a container's or taskset's limit, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class ThreadTuner:
    """Every `period` epochs, time `trials` train-only epochs at each candidate thread count
    and keep the fastest; epochs that also measure the test split are not compared."""

    def __init__(self, candidates: list[int] | None = None, period: int = 500, trials: int = 3,
                 enabled: bool = True):
        n = cores()
        self.candidates = sorted(set(candidates or [n, 1]), reverse=True)
        self.period, self.trials = period, trials
        self.enabled = enabled and len(self.candidates) > 1
        self.threads = self.candidates[0] if self.enabled else torch.get_num_threads()   # disabled: as set
        self.samples: dict[tuple[int, bool], list[float]] = {}
        self.history: list[tuple[int, int]] = []      # (epoch, threads chosen)
        self._queue: list[int] = []
        if self.enabled:
            torch.set_num_threads(self.threads)

    def before(self, epoch: int):
        """Set the thread count for `epoch` (a trial's, or the chosen one)."""
        if not self.enabled:
            return
        if epoch % self.period == 0 and not self._queue:
            self._queue = [c for c in self.candidates for _ in range(self.trials)]
            self.samples = {}
        want = self._queue[0] if self._queue else self.threads
        if torch.get_num_threads() != want:
            torch.set_num_threads(want)

    def record(self, epoch: int, seconds: float, with_test: bool):
        if not self.enabled or not self._queue:
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
                if best != self.threads or not self.history:
                    self.history.append((epoch, best))
                self.threads = best
                break
        torch.set_num_threads(self.threads)

    def describe(self) -> dict:
        return {"policy": "tuned" if self.enabled else "fixed", "candidates": self.candidates,
                "period": self.period, "chosen": [{"epoch": e, "threads": t} for e, t in self.history],
                "threads": self.threads if self.enabled else torch.get_num_threads()}
