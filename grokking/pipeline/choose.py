"""The main job's default run: the preset's seeds tried in order, the first whose story check
passes kept (docs/story-check.md). No recipe found passes on every seed, so the
seed is chosen by the check the scenes depend on, and the run says how it was chosen.

Each try is an ordinary run, <run>-s<seed>; the kept one is renamed to <run>, its manifest's
`chosen` says which seeds were tried, what each failed and what they cost. On a CPU the tries
train one after another, stopping at the first that passes (a 3-seed batch here costs about as
much as three tries, more than the one or two usually needed); on a GPU they train as one batch."""
from __future__ import annotations

import os
import time

from grokking.training import config as C
from grokking.common.io import write_json
from grokking.training.history import HistoryError, Run

# The main job (`grokking all` on a new run of the default preset) tries these seeds in order and
# keeps the first whose story check passes: no recipe passes on every seed.
MAIN_JOB_SEEDS = (C.VIDEO.seed, 1, 0)


def applies(run: Run, preset: str | None, force: bool, name: str | None = None) -> bool:
    """Whether `all` trains `run` by this seed choice: a run of the default preset (by name, or
    --preset left out) that is not a sweep's point, and either new or itself made by the seed
    choice (its manifest's `chosen`). A --force'd re-run of a run trained otherwise (its own
    --seed, another preset) keeps its own config, seed included: it is not re-chosen. `name`: the
    run's name as asked (default run.name)."""
    if "/" in (name or run.name) or (preset or C.DEFAULT_PRESET) != C.DEFAULT_PRESET:
        return False
    if not run.exists():
        return True
    if not force:
        return False
    if preset is not None:              # --preset video --force: a new run of the preset, asked for
        return True
    try:
        return "chosen" in run.manifest
    except HistoryError:                # unreadable: not known to be the seed choice's
        return False


def check_names(run: Run, cands: list[tuple[C.Config, Run]]):
    """Refuse, before any try is trained, a name the choice would write that holds something it
    did not make: the run's folder or a try's with files the trainer does not write, or a try's
    name taken by a run of another config (which neither resuming nor --force may touch)."""
    from grokking.training.train import _config_diff
    run.check_removable()
    for cfg, r in cands:
        r.check_removable()
        if not r.exists():
            continue
        diff = _config_diff(r.manifest["config"], cfg.to_dict())
        if diff:
            raise HistoryError(
                f"run {r.name!r} exists with another config ({', '.join(diff)} differ), and the seed choice for "
                f"{run.name!r} would try seed {cfg.seed} under that name: rename or move {r.dir}/ (it is kept, even "
                f"with --force), or pass another --run")


def candidates(run: Run, cfg: C.Config, seeds: tuple[int, ...]) -> list[tuple[C.Config, Run]]:
    return [(cfg.replace(seed=s), Run(f"{run.name}-s{s}", run.dir.parent)) for s in seeds]


def verdict(seed: int, check: dict, seconds: float) -> dict:
    """One try's line in `chosen.tried`."""
    return {"seed": seed, "passed": bool(check["passed"]),
            "failed": [c["name"] for c in check["criteria"] if not c["passed"]],
            "train_seconds": round(float(seconds), 1)}


def first_passing(tries: list[dict]) -> int:
    """Index of the try to keep: the first that passed, else the first (the preset's own seed)."""
    return next((i for i, t in enumerate(tries) if t["passed"]), 0)


def train_first_passing(run: Run, cfg: C.Config, seeds: tuple[int, ...], force: bool = False,
                        progress: bool = True, device: str = "auto", log=print, batched: bool | None = None) -> dict:
    """Train `cfg` at each of `seeds` until one passes the story check; keep it as `run`.
    Returns the `chosen` record written into its manifest. A try already trained (an earlier,
    interrupted main job) is resumed or reused, not retrained. batched: every seed as one batch
    first (None: on a GPU)."""
    with run.trainer_lock():     # the trainer's own: no `grokking train` of the run meanwhile
        return _train_first_passing(run, cfg, seeds, force, progress, device, log, batched)


def _train_first_passing(run, cfg, seeds, force, progress, device, log, batched) -> dict:
    from grokking.extraction.extract import check_at
    from grokking.training.train import Seeded, pick_device, train
    t0 = time.perf_counter()
    cands = candidates(run, cfg, seeds)
    check_names(run, cands)             # every name the tries will use, before the first try
    # a --force'd run, or what a crash before its manifest left: only the trainer's own files go
    # (Run.remove refuses a folder holding anything else, before any try is trained)
    run.remove()
    batched = pick_device(device).type == "cuda" if batched is None else batched
    if batched:
        train([Seeded(c, r) for c, r in cands], device=device, force=force, progress=progress)
    tries = []
    for c, r in cands:
        if not batched:
            log(f"[train] {r.name}: seed {c.seed} ({len(tries) + 1} of at most {len(seeds)}), {c.epochs} epochs")
            train([Seeded(c, r)], device=device, force=force, progress=progress)
        check = check_at(r, r.checkpoint_epochs()[-1])["story_check"]
        tries.append(verdict(c.seed, check, r.manifest["train_seconds"]))
        log(f"[train] {r.name}: story check {'PASS' if check['passed'] else 'FAIL: ' + ', '.join(tries[-1]['failed'])}")
        if check["passed"]:
            break
    keep = first_passing(tries)
    chosen = {"seed": tries[keep]["seed"], "passed": tries[keep]["passed"], "seeds": list(seeds), "tried": tries,
              "batched": batched, "seconds": round(time.perf_counter() - t0, 1),
              "rule": "the preset's seeds in order; the first whose story check passes is kept, else the first"}
    kept = cands[keep][1]
    m = kept.manifest
    # the record first, then the rename: a kill between them leaves a try that the next main job
    # finds trained, checks again and renames
    write_json(kept.manifest_path, {**m, "run": run.name, "chosen": chosen})
    os.rename(kept.dir, run.dir)
    others = [r.name for i, (_, r) in enumerate(cands) if i != keep and r.exists()]
    log(f"[train] {run.name}: kept seed {chosen['seed']}"
        + (f" of {len(tries)} tried" if len(tries) > 1 else ", the first tried")
        + ("" if chosen["passed"] else " (none passed: the preset's own seed, its story check says what fails)")
        + (f"; the others stay as runs {', '.join(others)}" if others else ""))
    return chosen
