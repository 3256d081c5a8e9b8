"""Sweeps: a grid of configurations trained as ordinary runs, on this machine or on a Ray cluster.

The grid, the points and the sweep manifest are the sweep folder's format (training/grid.py).
Points are planned into batches: configs with the same batch key train as one batched model
(stacked weights), the batches run in parallel processes sized to the cores (threads x processes
<= cores), or as Ray tasks (`--ray`, lab/cluster.py). Re-running a sweep trains only what is
unfinished (the trainer resumes every point from its manifest); a point whose config changed is
refused as for single runs.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from grokking.common import paths
from grokking.common.io import write_json
from grokking.training import budget
from grokking.training.config import PRESETS, Config, ConfigError
from grokking.training.grid import (MANIFEST, Point, SweepError, expand, merged_manifest, parse_grid, read_manifest,
                                    sweep_dir)
from grokking.training.history import HistoryError, Run

from .cluster import _ray_running, connect_ray, reach_ray, run_ray


# ---- planning ---------------------------------------------------------------------------

def batch_key(cfg: Config):
    """Configs with equal keys train as one batched model: the trainer's rule when it has one,
    else every field but the seed."""
    from grokking.training import train as T
    if hasattr(T, "batch_key"):
        return T.batch_key(cfg)
    d = cfg.to_dict()
    d.pop("seed")
    return repr(sorted(d.items()))


def cost(cfg: Config) -> float:
    """Relative work of one point: steps x examples x MLP width (the forward's bulk)."""
    return cfg.epochs * cfg.p * cfg.p * (cfg.d_mlp + cfg.d_vocab_out)


def plan(points: list[Point], slots: int) -> list[list[Point]]:
    """Batches: points with one batch key together, halving the largest batch while there are
    fewer batches than `slots` (parallel processes); the largest work first."""
    groups: dict = {}
    for p in points:
        groups.setdefault(batch_key(p.cfg), []).append(p)
    batches = list(groups.values())
    while len(batches) < slots:
        big = max(batches, key=len)
        if len(big) < 2:
            break
        batches.remove(big)
        batches += [big[: len(big) // 2], big[len(big) // 2:]]
    return sorted(batches, key=lambda b: -sum(cost(p.cfg) for p in b))


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def processes_and_threads(n_batches: int, n_cores: int, threads: int | None = None) -> tuple[int, int]:
    """(processes, threads each) with processes x threads <= cores: one process per batch up to
    the cores, the spare cores given to the batches as threads."""
    if threads is not None:
        if not 1 <= threads <= n_cores:
            raise SweepError(f"--threads must be between 1 and the {n_cores} cores; pass e.g. --threads 1")
        return max(1, min(n_batches, n_cores // threads)), threads
    procs = max(1, min(n_batches, n_cores))
    return procs, max(1, n_cores // procs)


# ---- one batch (a local process or a Ray task) -------------------------------------------

def batch_spec(points: list[Point], root: Path, threads: int, device: str = "cpu", compile: str = "auto") -> dict:
    """What a worker needs, as plain data (it crosses a process or the network)."""
    return {"root": str(Path(root).resolve()), "threads": threads, "device": device, "compile": compile,
            "points": [{"name": p.name, "config": p.cfg.to_dict()} for p in points]}


def run_batch(spec: dict) -> dict:
    """Train one batch (in a worker). Resumes whatever its points' manifests hold, so a retried
    task loses only the work since its last checkpoint. `spec['fault']` (tests only):
    {"marker": path, "after_epoch": E}; while the marker does not exist, the process creates it
    and dies (os._exit) as soon as a point has committed a checkpoint at epoch >= E."""
    import torch
    from grokking.training.train import Seeded, train
    torch.set_num_threads(int(spec["threads"]))
    root = Path(spec["root"])
    jobs = [Seeded(Config.from_dict(p["config"]), Run(p["name"], root)) for p in spec["points"]]
    for j in jobs:
        paths.clean_temp(j.run.dir)
    if spec.get("fault"):
        _die_after_checkpoint([j.run for j in jobs], Path(spec["fault"]["marker"]), spec["fault"]["after_epoch"])
    # the sweep sized this process's threads; the trainer's own tuner may only choose among
    # counts that fit in them (it tries all cores and 1), so it runs only when given every core,
    # or, in a local pool, within the share the driver keeps up to date (_SHARE)
    limit = (lambda: _SHARE.value) if _SHARE is not None and spec.get("share") else None
    r = train(jobs, device=spec["device"], compile=spec["compile"], progress=False,
              tune_threads=limit is not None or int(spec["threads"]) >= cores(), thread_limit=limit)
    share = r["seconds"] / len(jobs)
    return {"points": [p["name"] for p in spec["points"]], "seconds": r["seconds"], "share": share,
            "start": r["start"], "end": r["end"], "skipped": r["skipped"], "faulted": bool(spec.get("fault"))}


def _die_after_checkpoint(runs: list[Run], marker: Path, after_epoch: int):
    if marker.exists():
        return

    def watch():
        while True:
            try:
                if any(r.exists() and r.manifest["epochs_done"] >= after_epoch for r in runs):
                    marker.touch()
                    os._exit(1)
            except (HistoryError, OSError, KeyError):
                pass
            time.sleep(0.002)
    threading.Thread(target=watch, daemon=True).start()


_SHARE = None    # in a local pool's worker: the cores each running batch may use now


def _spawn_init(share=None, driver: int | None = None):
    global _SHARE
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _SHARE = share
    if driver is not None:
        exit_with(driver)


def exit_with(driver: int, every: float = 0.2):
    """End this worker when the driver process dies (kill -9 included), rather than training on
    and then waiting forever to hand back a result nobody reads: the kernel's parent-death
    signal where there is one (Linux), and a watch on the parent pid in any case. A kill at any
    instant leaves only committed checkpoints (every write is atomic; the next run removes the
    temporary files)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)          # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch():
        while True:
            if os.getppid() != driver:
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(every)
    if os.getppid() != driver:                           # it died before the signal was asked for
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=watch, daemon=True, name="driver-watch").start()


def share_of(n_cores: int, procs: int, unfinished: int) -> int:
    """Threads each running batch may use: the cores over the batches running at once (fewer
    than the processes once the queue runs dry, so the last batches get the freed cores)."""
    return max(1, n_cores // max(1, min(procs, unfinished)))


# ---- running a sweep --------------------------------------------------------------------

def check_points(points: list[Point], root: Path, force=()):
    """Refuse before anything starts: a point that exists with another config (as single runs
    are refused), or a damaged point manifest."""
    from grokking.training.train import _config_diff
    for p in points:
        run = Run(p.name, root)
        if p.name in force or not run.exists():
            continue
        diff = _config_diff(run.manifest["config"], p.cfg.to_dict())
        if diff:
            raise SweepError(f"point {p.name!r} exists with a different config ({', '.join(diff)} differ); "
                             "choose another sweep name, or pass --force to retrain the sweep")


def fit_memory(batches: list[list[Point]], procs: int) -> list[list[Point]]:
    """Batches split so that `procs` of them running at once fit in this machine's memory (a
    batch's memory grows with its points: a grid of thousands of seeds is trained a few hundred
    at a time rather than refused)."""
    ram = budget.physical_memory()
    if ram is None:
        return batches
    out = []
    for b in batches:
        per_point = budget.memory_bytes(b[0].cfg, 1) - budget.PROCESS_BYTES
        cap = max(1, int((ram / procs - budget.PROCESS_BYTES) // per_point))
        out += [b[i: i + cap] for i in range(0, len(b), cap)]
    return sorted(out, key=lambda b: -sum(cost(p.cfg) for p in b))


def check_resources(batches: list[list[Point]], procs: int, root: Path):
    """Memory of the `procs` largest batches running at once, and disk for every point; refused
    before anything is written, with advice that works."""
    mem = sorted((budget.memory_bytes(b[0].cfg, len(b)) for b in batches), reverse=True)[:procs]
    ram = budget.physical_memory()
    if ram is not None and sum(mem) > ram:
        big = max((p for b in batches for p in b), key=lambda p: budget.memory_bytes(p.cfg, 1))
        one = budget.memory_bytes(big.cfg, 1)
        raise SweepError(f"{procs} batches at once would need about {budget._size(sum(mem))} of memory, this machine "
                         f"has {budget._size(ram)}; " + (
                             f"point {big.name} alone needs {budget._size(one)}: "
                             + ("lower its grokfast_window (Grokfast-MA keeps that many gradients)"
                                if big.cfg.grokfast == "ma" and 4 * budget.filter_bytes(big.cfg) > one / 2
                                else "lower its p or model size")
                             if one > ram else f"pass --threads {cores()} (one batch at a time)"))
    per_point = [budget.disk_bytes(p.cfg) - (Run(p.name, root).size_bytes() if (root / p.name).is_dir() else 0)
                 for b in batches for p in b]
    disk, free = sum(per_point), budget.free_disk(root)
    if disk > free:
        fit = int(free // max(1, max(per_point)))
        raise SweepError(f"the sweep would write about {budget._size(disk)} to {root}/ for its {len(per_point)} points "
                         f"to train, only {budget._size(free)} is free (about {fit} point{'s' * (fit != 1)}' worth): "
                         f"free some space, or sweep fewer values now (a grid may grow later: the same sweep with "
                         f"more values adds only its new points)")


def state_of(points: list[Point], root: Path) -> dict[str, int]:
    """Epochs done per point, from its manifest (0 when it has none yet)."""
    out = {}
    for p in points:
        run = Run(p.name, root)
        try:
            out[p.name] = min(run.manifest["epochs_done"], p.cfg.epochs) if run.exists() else 0
        except (HistoryError, OSError):
            out[p.name] = 0
    return out


class Progress:
    """One bar for the sweep: epochs trained over every point, and points done / running / left."""

    def __init__(self, points: list[Point], root: Path, enabled: bool):
        self.points, self.root = points, root
        self.total = {p.name: p.cfg.epochs for p in points}
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=sum(self.total.values()), desc="sweep", unit="ep", mininterval=0.5,
                            dynamic_ncols=True, smoothing=0.1)

    def update(self, running: set[str]):
        if self.bar is None:
            return
        done = state_of(self.points, self.root)
        finished = {n for n in done if done[n] >= self.total[n]}
        busy = len(running - finished)
        self.bar.n = sum(done.values())
        self.bar.set_postfix_str(f"points: {len(finished)} done, {busy} running, "
                                 f"{len(done) - len(finished) - busy} left", refresh=False)
        self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.update(set())
            self.bar.close()


def run_local(specs: list[dict], procs: int, progress: Progress, record) -> list[str]:
    """Every batch in a pool of `procs` fresh processes (spawned: no inherited torch threads).
    Batches marked `share` (threads chosen by the sweep) take the cores of finished processes:
    a sweep's batches rarely take equally long (a larger train fraction has more examples)."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    failed = []
    ctx = mp.get_context("spawn")
    share = ctx.Value("i", share_of(cores(), procs, len(specs)))
    pool = ProcessPoolExecutor(procs, mp_context=ctx, initializer=_spawn_init, initargs=(share, os.getpid()))
    try:
        futs = {pool.submit(run_batch, s): s for s in specs}
        pending = set(futs)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for f in done:
                try:
                    record(f.result())
                except (HistoryError, ConfigError, paths.RunBusy) as e:
                    failed.append(f"{', '.join(p['name'] for p in futs[f]['points'])}: {e}")
            share.value = share_of(cores(), procs, len(pending))
            progress.update({p["name"] for f in pending if f.running() for p in futs[f]["points"]})
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)   # workers stop at Ctrl-C with the same signal
        raise
    pool.shutdown()
    return failed


def sweep(name: str, grid_text: str, preset: str = "quick", overrides: dict | None = None,
          runs_dir: Path | str | None = None, threads: int | None = None, ray: str | None = None,
          device: str = "cpu", compile: str = "auto", force: bool = False, dense=(),
          progress: bool = True, log=print, fault: dict | None = None, gpus: float = 1.0) -> dict:
    """Train every point of the grid that is not finished; return what was done."""
    if preset not in PRESETS:
        raise SweepError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if ray is None and fault is not None:
        raise SweepError("fault injection is for Ray runs only")
    if ray is not None and not _ray_running():
        reach_ray(ray)                  # a malformed or unreachable address: refused before anything else
    grid = parse_grid(grid_text)
    base = PRESETS[preset].replace(**{k: v for k, v in (overrides or {}).items() if v is not None})
    from grokking.training.config import check_exponents
    check_exponents(set(grid.get("op", [base.op])),
                    {k for k in ("a", "b") if k in grid or (overrides or {}).get(k) is not None})
    root = sweep_dir(name, runs_dir)
    paths.check_writable(root.parent, "the sweep")
    old = read_manifest(root)
    dense = set(dense)
    marked = {p["name"] for p in (old or {}).get("points", []) if p.get("schedule") == "dense"}
    points = expand(base, grid, dense | marked, PRESETS[preset])
    unknown = dense - {p.name for p in points}
    if unknown:
        raise SweepError(f"--dense names {sorted(unknown)[0]!r}, which is not a point of this grid; "
                         f"points look like {points[0].name}")
    # a point turned dense is retrained from scratch: its old checkpoints cannot be filled in
    redo = {p.name for p in points} if force else {
        n for n in dense - marked if Run(n, root).exists()}
    if force and old is not None and old["base"] != base.to_dict():
        old = None          # --force: a new base config replaces the old manifest's points
    manifest = merged_manifest(old, name, preset, base, grid_text, grid, points, dense)
    check_points(points, root, redo)
    todo = [p for p in points if p.name in redo
            or state_of([p], root)[p.name] < p.cfg.epochs]
    if device == "auto":
        import torch     # the driver decides, so every task asks for a GPU or none
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if ray is None:
        batches = plan(todo, cores()) if todo else []
        procs, nthreads = processes_and_threads(len(batches), cores(), threads)
        batches = fit_memory(batches, procs)
    else:                   # connected before anything is written: says how to install Ray
        nthreads = threads or 1
        batches = plan(todo, max(1, int(connect_ray(ray).cluster_resources().get("CPU", 1)) // nthreads)) if todo else []
        procs = len(batches)
    if batches:                 # refused before anything is written (a refused sweep leaves no trace)
        check_resources(batches, procs, root)
    root.mkdir(parents=True, exist_ok=True)
    with paths.hold_lock(root / ".sweep.lock", f"another sweep is writing {name!r}"):
        write_json(root / MANIFEST, manifest)
        if not batches:
            _record_seconds(root)
            log(f"sweep {name}: {'all ' * (len(points) != 1)}{_count(len(points), 'point')} "
                f"{'are' if len(points) != 1 else 'is'} trained; nothing to do")
            return {"points": len(points), "trained": 0, "seconds": 0.0, "failed": [], "dir": str(root)}
        for n in redo:          # retrained from scratch: only folders the trainer made (Run.remove checks)
            Run(n, root).remove()
        specs = [batch_spec(b, root, nthreads, device, compile) for b in batches]
        for spec in specs:     # threads the sweep chose (not --threads) follow the cores freed
            spec["share"] = threads is None and ray is None and device == "cpu"
        if fault is not None:
            specs[0]["fault"] = fault
        where = f"Ray ({ray})" if ray else f"{procs} process{'es' * (procs > 1)} x {nthreads} thread{'s' * (nthreads > 1)}"
        log(f"sweep {name}: {len(todo)} of {_count(len(points), 'point')} to train in {_count(len(batches), 'batch')} "
            f"({', '.join(str(len(b)) for b in batches)} point{'s' * (len(todo) != 1)}) on {where}; "
            f"histories in {root}/")
        bar = Progress(points, root, progress)
        results = []

        def record(r):
            results.append(r)
            _record_seconds(root, r["points"], len(r["points"]))
        t0 = time.perf_counter()
        try:
            failed = (run_ray(run_batch, specs, ray, gpus, bar, record) if ray is not None
                      else run_local(specs, procs, bar, record))
        finally:
            bar.close()
            _record_seconds(root)       # also after Ctrl-C: the time of every commit so far
        secs = time.perf_counter() - t0
    if failed:
        raise SweepError(f"{len(failed)} of {_count(len(batches), 'batch')} failed (the others are trained; fix and run "
                         f"the same command again): {failed[0]}")
    return {"points": len(points), "trained": len(todo), "batches": len(batches), "seconds": secs,
            "results": results, "failed": failed, "dir": str(root)}


def _count(n: int, noun: str) -> str:
    """'1 point', '2 points', '1 batch', '3 batches'."""
    return f"{n} {noun}" + ("" if n == 1 else "es" if noun.endswith(("s", "sh", "ch", "x")) else "s")


def _record_seconds(root: Path, names=None, batched_with: int | None = None):
    """Copy each point's training seconds from its history (the trainer's train_seconds: every
    session's time, shared among the points it was batched with, up to its last commit) into the
    sweep's manifest, for the points `names` (None: all). The driver is the manifest's one writer."""
    m = read_manifest(root)
    for p in m["points"]:
        if names is not None and p["name"] not in names:
            continue
        try:
            run = Run(p["name"], root)
            secs = run.manifest.get("train_seconds") if run.exists() else None
        except (HistoryError, ConfigError):
            secs = None
        if secs is not None:
            p["seconds"] = round(float(secs), 2)
        if batched_with is not None:
            p["batched_with"] = batched_with
    m["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_json(root / MANIFEST, m)
