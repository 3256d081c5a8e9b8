#!/usr/bin/env python
"""Extend the points of sweeps that finished without grokking to more epochs, batched per recipe
(the points' configs minus the seed), leaving the points that grokked as they are: a race
(grokking sweep-report A B ...) then reads each seed's cap from its own manifest.

    python -m grokking.lab.extend_ungrokked race-ema race-adamw --epochs 4000 [--runs-dir DIR]
    [--points "lr0.001-*"] [--deadline 20:25]

Trains nothing past --deadline (HH:MM, local time) is reached before a batch starts; a batch in
flight can be interrupted and resumed like any training (the same command). Bad input (a sweep
that is not there, a glob that matches no point, a bad --epochs or --deadline, a job that does not
fit this machine) is refused in one line, exit 2, before anything is written.
"""
from __future__ import annotations

import re
import time

import click

from grokking.common.errors import UserError


class Refused(click.ClickException):
    """A UserError shown as the grokking command shows it: one line, exit code 2."""
    exit_code = 2


def _deadline(text: str | None) -> str | None:
    """'9:05' or '09:05' -> '09:05' (compared with time.strftime('%H:%M')); refused otherwise."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise Refused(f"--deadline {text!r} is not a time of day HH:MM (local time); pass e.g. --deadline 20:25")
    return f"{int(m[1]):02d}:{m[2]}"


def plan(sweeps, epochs: int, runs_dir, points: str) -> tuple[list[list], list[str]]:
    """The batches to train (jobs grouped by recipe) and a line per sweep of what was left as it
    is; SweepError, HistoryError or ConfigError for what cannot be done."""
    import fnmatch
    from grokking.training import budget
    from grokking.training.history import Run
    from grokking.training.grid import SweepError, load_points, sweep_dir
    from grokking.training.train import Seeded, batch_key
    groups: dict = {}
    roots = [(name, sweep_dir(name, runs_dir)) for name in dict.fromkeys(sweeps)]
    loaded = [(name, root, load_points(root)) for name, root in roots]      # every sweep found first
    if not any(fnmatch.fnmatch(p.name, points) for _, _, pts in loaded for p in pts):
        names = [p.name for _, _, pts in loaded for p in pts]
        raise SweepError(f"--points {points!r} matches no point of {', '.join(repr(n) for n, _, _ in loaded)}; "
                         f"their points are {', '.join(names[:6]) or '(none)'}"
                         + (f" and {len(names) - 6} more" if len(names) > 6 else ""))
    notes = []
    for name, root, pts in loaded:
        matched = [p for p in pts if fnmatch.fnmatch(p.name, points)]
        if not matched:
            notes.append(f"{name}: no point matches --points {points!r}")
            continue
        left = {"not trained": 0, "still training": 0, "grokked": 0, f"at {epochs} epochs or more": 0}
        for p in matched:
            run = Run(p.name, root)
            if not run.exists():
                left["not trained"] += 1
                continue
            m = run.manifest
            why = ("still training" if m["status"] != "complete"
                   else "grokked" if m["milestones"]["test_99"] is not None
                   else f"at {epochs} epochs or more" if m["epochs_done"] >= epochs else None)
            if why:
                left[why] += 1
                continue
            cfg = run.config.replace(epochs=epochs)
            groups.setdefault(batch_key(cfg), []).append(Seeded(cfg, run))
        if any(left.values()):
            notes.append(f"{name}: left as they are: " + ", ".join(f"{n} {k}" for k, n in left.items() if n))
    for jobs in groups.values():            # refused with the numbers before anything is trained
        budget.check(jobs[0].cfg, len(jobs), jobs[0].run.dir.parent,
                     sum(j.run.size_bytes() for j in jobs if j.run.dir.is_dir()))
    return list(groups.values()), notes


@click.command()
@click.argument("sweeps", nargs=-1, required=True)
@click.option("--epochs", type=int, required=True)
@click.option("--runs-dir", default=None)
@click.option("--deadline", default=None, help="HH:MM: start no batch after it.")
@click.option("--points", default="*", show_default=True, help="Only the points whose names match this glob.")
def main(sweeps, epochs, runs_dir, deadline, points):
    from grokking.training.train import train
    if epochs < 1:
        raise Refused(f"--epochs must be at least 1 (got {epochs}): the epochs to extend the ungrokked points to, "
                        f"e.g. --epochs 4000")
    deadline = _deadline(deadline)
    try:
        batches, notes = plan(sweeps, epochs, runs_dir, points)
        for line in notes:
            click.echo(line, err=True)
        if not batches:
            click.echo(f"nothing to extend to {epochs} epochs")
            return
        for jobs in batches:
            if deadline and time.strftime("%H:%M") >= deadline:
                click.echo(f"deadline {deadline} reached; left: {[j.run.name for j in jobs]}")
                continue
            click.echo(f"extending to {epochs}: {', '.join(j.run.name for j in jobs)}", err=True)
            train(jobs, progress=False)
    except UserError as e:
        raise Refused(str(e))


if __name__ == "__main__":
    main()
