"""`grokking all` and `grokking status`: train -> extract -> figures -> scenes -> gallery,
redoing only what is out of date. Every output is written under a temporary name and moved into
place, and its stamp is written after it, so an interrupted run resumes without redoing finished
work and never leaves a torn file under a final name."""
from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grokking.common.assets import Assets, AssetsError, recording
from grokking.common import paths

from . import choose
from . import stamps as st



@dataclass
class Options:
    run: str
    preset: str | None = None             # None: the run's own config when it exists, else the default preset
    quality: str = "low"
    T: int | None = None
    output: int | None = None
    story_k: int | None = None            # extraction's --story-k (None: the lowest key frequency)
    analysis_epoch: int | None = None
    figures: list[str] | None = None      # None: every figure
    scenes: list[str] | None = None       # None: every scene
    force: bool = False
    runs_root: Path | None = None
    assets_root: Path | None = None
    media_root: Path = paths.MEDIA_DIR
    scene_width: int | None = None        # tests render tiny frames
    progress: bool = True
    made: list[str] = field(default_factory=list)
    verify: bool = False                  # status: check every checkpoint's sha256, not only its size
    workers: int | None = None            # scene renders side by side (None: one per core)

    def __post_init__(self):
        paths.check_name(self.run)        # it names folders in runs/, assets/ and media/

    @property
    def assets_dir(self) -> Path:
        return paths.confined(self.assets_root or paths.ASSETS_DIR, self.run)

    @property
    def media_dir(self) -> Path:
        return paths.confined(self.media_root, self.run)

    @property
    def stamps_path(self) -> Path:
        return self.media_dir / "stamps.json"

    @property
    def figure_dir(self) -> Path:
        return paths.confined(Path(self.media_root) / "figures", self.run)

    @property
    def scene_dir(self) -> Path:
        return paths.confined(Path(self.media_root) / "videos", self.run) / self.quality

    @property
    def poster_dir(self) -> Path:
        return self.media_dir / "posters"

    @property
    def scratch_dir(self) -> Path:
        return paths.confined(Path(self.media_root) / ".scratch", self.run)


def _figure_names(o: Options) -> list[str]:
    from grokking.figures.build import catalogue
    return _known("figure", o.figures, list(catalogue()), "grokking figures --list")


def _scene_names(o: Options) -> list[str]:
    from grokking.scenes.catalog import SCENES
    return _known("scene", o.scenes, list(SCENES), "grokking scene --list")


def _known(kind: str, asked: list[str] | None, known: list[str], lister: str) -> list[str]:
    """The names asked for (all when None), spelt as the catalogue spells them (case aside);
    ConfigError for a name it does not have, before anything runs."""
    from grokking.common.errors import ConfigError
    if asked is None:
        return known
    by_lower = {n.lower(): n for n in known}
    bad = [n for n in asked if n.lower() not in by_lower]
    if bad:
        raise ConfigError(f"unknown {kind} {bad[0]!r}; `{lister}` names them (one of: {', '.join(known)})")
    return list(dict.fromkeys(by_lower[n.lower()] for n in asked))


def _config(o: Options):
    from grokking.training import config as C
    from grokking.training.history import Run
    run = Run(o.run, o.runs_root)
    if "/" in o.run and not run.exists():      # a sweep's point: only its sweep trains it, with its config
        from grokking.training.history import HistoryError
        raise HistoryError(run.missing())
    if run.exists() and o.preset is None:
        return run.config, run
    return C.PRESETS[o.preset or C.DEFAULT_PRESET], run


# ---- status ----------------------------------------------------------------------------------

def status(o: Options) -> list[tuple[str, str, str]]:
    """(item, state, why) for the stages and every figure and scene."""
    from grokking.extraction.extract import status as extract_status
    cfg, run = _config(o)
    _check(o, cfg, run)
    rows = []
    if not run.exists():
        rows.append(("train", "missing", f"run {o.run!r} not trained"))
    else:
        m = run.manifest
        problems = run.verify() if o.verify else run.quick_problems()
        if problems:
            rows.append(("train", "damaged", problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1
                                                            else "") + f"; retrain: grokking train --run {o.run} --force"))
        elif m["status"] != "complete" or m["epochs_done"] < cfg.epochs:
            rows.append(("train", "stale", f"{m['epochs_done']}/{cfg.epochs} epochs"))
        else:
            rows.append(("train", "up to date", f"{m['epochs_done']} epochs"))
    if not run.exists():
        rows.append(("extract", "missing", "needs the run"))
        state, why = "missing", "needs extracted assets"
    else:
        state, why = extract_status(o.run, o.runs_root, o.assets_root, analysis_epoch=o.analysis_epoch,
                                    T=o.T, output=o.output, story_k=o.story_k)
        rows.append(("extract", state, why))
    stamps = st.at_quality(st.load(o.stamps_path), o.quality)
    now, absent = None, "needs extracted assets"
    if (o.assets_dir / "manifest.json").exists():
        try:
            now = st.AssetHashes(o.assets_dir, o.run)
        except AssetsError as e:               # corrupt: `all` re-extracts, then redraws what read it
            absent = f"{getattr(e, 'short', e)}; `grokking all` rebuilds it"
    fig_code = st.figure_code_hash()
    for kind, names in (("figure", _figure_names(o)), ("scene", _scene_names(o))):
        for name in names:
            stamp = stamps.get(kind + "s", {}).get(name)
            if now is None:
                rows.append((f"{kind} {name}", "missing" if absent.startswith("needs") else "stale", absent))
                continue
            code = fig_code if kind == "figure" else st.scene_code_hash(name)
            why = st.why_stale(stamp, now, code, _opts(o, kind))
            if stamp and stamp.get("skipped"):
                rows.append((f"{kind} {name}", "skipped" if why is None else "stale",
                             stamp["skipped"] if why is None else why))
                continue
            rows.append((f"{kind} {name}", "up to date" if why is None else why.split(":")[0].split(" (")[0],
                         "" if why is None else why))
    if now is None:
        rows.append(("page explore", "missing" if absent.startswith("needs") else "stale", absent))
    else:
        why = explorer_stale(o, stamps, now)
        rows.append(("page explore", "up to date" if why is None else why.split(":")[0].split(" (")[0],
                     "" if why is None else why))
    return rows


def _check(o: Options, cfg, run):
    """Refuse, before anything runs: an unknown figure or scene name, and --T, --output or
    --analysis-epoch that extraction would refuse (against the run, or the config it will get)."""
    from grokking.extraction.extract import check_settings
    from grokking.extraction.settings import check_values, story_setting
    from grokking.training.config import schedule_epochs
    _figure_names(o), _scene_names(o)
    story_setting(cfg.p, o.story_k)
    if run.exists():
        check_settings(run, o.analysis_epoch, o.T, o.output)
    else:
        planned = schedule_epochs(cfg.schedule, cfg.epochs) if o.analysis_epoch is not None else [0]
        check_values(o.run, cfg.p, planned, o.analysis_epoch, o.T, o.output)


def check_suffixed(name: str, suffixes: list[str], who: str):
    """ConfigError, before anything is written, when `name` with a suffix a command adds to it
    (the seed choice's and --seeds' -s<seed>) is too long for a run name: the message names the
    suffix and the longest --run that fits, not only the length of a name the user never typed."""
    from grokking.common.errors import ConfigError
    from grokking.common.paths import MAX_LEN
    last = name.split("/")[-1]
    longest = max(suffixes, key=len)
    if len(last) + len(longest) > MAX_LEN:
        raise ConfigError(
            f"run name {name[:24]!r}... is {len(last)} characters; {who} adds {longest} to it "
            f"({', '.join(suffixes)}), which makes {len(last) + len(longest)}, and at most {MAX_LEN} are allowed: "
            f"pass a --run of at most {MAX_LEN - len(longest)} characters")


def _chooses_seed(o: Options, run) -> bool:
    """Whether `all` trains `run` by trying the default preset's seeds (pipeline/choose.py applies:
    a new run of the default preset, or a --force'd one the seed choice made, never a sweep's point)."""
    from .choose import applies
    return applies(run, o.preset, o.force, o.run)


def _clean_leftovers(o: Options, run):
    """What killed runs of this run left in its own folders: temporary files whose writer is
    gone, and scene scratch folders (media/.scratch/<run>/, the pipeline's alone)."""
    paths.clean_temp(run.dir)
    paths.clean_temp(o.figure_dir)
    if o.scratch_dir.is_dir() and not o.scratch_dir.is_symlink():
        shutil.rmtree(o.scratch_dir)


def _opts(o: Options, kind: str) -> dict:
    return {"quality": o.quality, "width": o.scene_width} if kind == "scene" else {}


# ---- all -------------------------------------------------------------------------------------

RunBusy = paths.RunBusy


def run_lock(folder: Path, run: str):
    """Hold media/<run>/.lock while `all` runs on that run, or raise RunBusy."""
    folder.mkdir(parents=True, exist_ok=True)
    return paths.hold_lock(folder / ".lock", f"another `grokking all` is running on run {run!r}")


class Interrupts:
    """Ctrl-C raises KeyboardInterrupt as usual, and is remembered: a library that swallows it
    (tqdm's destructor once did: Python ignores an exception raised inside __del__), or a
    subprocess that turns it into a broken pipe, cannot make `all` run on; `check()` raises it
    again at the next step."""

    def __init__(self):
        self.hit = False
        self._installed, self._old = False, None

    def _handler(self, signum, frame):
        self.hit = True
        raise KeyboardInterrupt

    def __enter__(self):
        # only Python's own handler is replaced: an ignored SIGINT (a background job) stays ignored
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._old = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc):
        if self._installed:
            signal.signal(signal.SIGINT, self._old)
        return False

    def check(self):
        if self.hit:
            raise KeyboardInterrupt


def make_all(o: Options, log=print) -> dict:
    """Every stage, redoing what is stale. One at a time per run (a second is refused: RunBusy);
    Ctrl-C always ends it with KeyboardInterrupt, even one a library swallowed. A figure or scene
    that fails is reported in summary["failed"] and the others are still made."""
    t0 = time.perf_counter()
    summary = {"trained": False, "extracted": False, "figures": [], "scenes": [], "pages": [], "skipped": [],
               "failed": []}
    cfg, run = _config(o)
    from grokking.training import budget
    _check(o, cfg, run)
    if _chooses_seed(o, run):              # each try is a run of its own, <run>-s<seed>
        check_suffixed(o.run, [f"-s{s}" for s in choose.MAIN_JOB_SEEDS], "the seed choice, keeping each seed's try as a run,")
    for root, what in ((run.dir.parent, "the run's history"), (o.assets_dir.parent, "extracted assets"),
                       (o.media_root, "figures and scenes")):
        paths.check_writable(root, what)
    tries = len(choose.MAIN_JOB_SEEDS) if _chooses_seed(o, run) else 1     # each try is a run of its own
    budget.check(cfg, tries, run.dir.parent, run.size_bytes() if run.dir.is_dir() else 0)
    with run_lock(o.stamps_path.parent, o.run), Interrupts() as guard:
        return _make_all(o, log, cfg, run, summary, guard, t0)


def _make_all(o: Options, log, cfg, run, summary: dict, guard: "Interrupts", t0: float) -> dict:
    _clean_leftovers(o, run)                   # safe: no other `all` of this run is running

    stage = _StageClock(summary)
    # 1. train (resumes an interrupted run; refuses a name taken by another config)
    from grokking.training.train import Seeded, train
    if _chooses_seed(o, run):
        # the default preset: its seeds in order, the first whose story check passes kept
        from .choose import candidates, train_first_passing
        log(f"[train] {o.run}: {cfg.op} mod {cfg.p}, {cfg.epochs} epochs; seeds {', '.join(map(str, choose.MAIN_JOB_SEEDS))} "
            f"tried in order until one passes the story check")
        done_before = {c.seed: _trained(r, c) for c, r in candidates(run, cfg, choose.MAIN_JOB_SEEDS)}
        chosen = train_first_passing(run, cfg, choose.MAIN_JOB_SEEDS, force=o.force, progress=o.progress, log=log)
        # every try found trained (an earlier main job's): reused, not trained (--force retrains them)
        reused = not o.force and all(done_before.get(t["seed"]) for t in chosen["tried"])
        summary["trained"] = not reused
        summary["reused"] = len(chosen["tried"]) if reused else 0
    elif o.force or not run.exists() or run.manifest["epochs_done"] < cfg.epochs:
        log(f"[train] {o.run}: {cfg.op} mod {cfg.p}, {cfg.epochs} epochs")
        r = train([Seeded(cfg, run)], force=o.force, progress=o.progress)
        summary["trained"] = not r["skipped"]
    else:
        log(f"[train] {o.run}: up to date")
    guard.check()
    stage("train")

    # 2. extract (skips itself when up to date)
    from grokking.extraction.extract import extract
    r = extract(o.run, analysis_epoch=o.analysis_epoch, T=o.T, output=o.output, story_k=o.story_k, force=o.force,
                progress=o.progress, runs_root=o.runs_root, assets_root=o.assets_root)
    summary["extracted"] = not r["skipped"]
    log(f"[extract] {o.run}: " + ("up to date" if r["skipped"] else f"wrote {r['dir']}"))
    guard.check()
    stage("extract")

    now = st.AssetHashes(o.assets_dir, o.run)
    stamps = st.load(o.stamps_path)
    # 3. figures
    fig_code = st.figure_code_hash()
    for name in _figure_names(o):
        if not o.force and st.why_stale(stamps.get("figures", {}).get(name), now, fig_code, {}) is None:
            continue
        res, deps = _make_figure(o, name)
        guard.check()                          # a Ctrl-C may surface as the writer's broken pipe
        if res.failed:
            summary["failed"].append((f"figure {name}", res.failed))
            log(f"[figures] {name}: FAILED: {res.failed}")
            continue
        _record(o, stamps, summary, log, "figure", name, now.deps(deps), fig_code, {}, res.files, res.skipped,
                f"{', '.join(f.suffix[1:] for f in res.files)} ({res.seconds:.1f}s)")

    stage("figures")
    # 4. scenes (a scene whose mechanism the run lacks is skipped with extraction's reason)
    make_scenes(o, stamps, now, summary, log, guard)
    stage("scenes")

    # 5. the explorer (media/<run>/explore.html), after the scenes and figures it links to
    try:
        make_explorer(o, stamps, now, summary, log)
    except Exception as e:  # noqa: BLE001  the gallery is still written
        guard.check()
        summary["failed"].append(("page explore", f"{type(e).__name__}: {e}"))
        log(f"[pages] explore: FAILED: {type(e).__name__}: {e}")
    guard.check()

    # 6. gallery
    from .gallery import write_gallery
    index = write_gallery(o, stamps, dict(summary["failed"]))
    guard.check()
    summary["gallery"] = str(index)
    summary["story_check"] = Assets(o.run, o.assets_root).summary["story_check"]
    stage("explorer and gallery")
    summary["seconds"] = time.perf_counter() - t0
    return summary


class _StageClock:
    """Seconds of each stage of `all`, in order, into summary["stages"] (the final line shows them)."""
    def __init__(self, summary: dict):
        self.stages, self.t = summary.setdefault("stages", {}), time.perf_counter()

    def __call__(self, name: str):
        now = time.perf_counter()
        self.stages[name], self.t = now - self.t, now


def make_scenes(o: Options, stamps: dict, now: "st.AssetHashes", summary: dict, log, guard: "Interrupts"):
    """Render every scene of o.scenes that is not up to date (at o.quality), stamping each; a scene
    that fails is named in summary["failed"] and the others are still made. One bar for the stage,
    not Manim's bar for every animation of every scene."""
    st.at_quality(stamps, o.quality)          # each quality's renders kept and reused
    todo = [n for n in _scene_names(o) if o.force or st.why_stale(stamps.get("scenes", {}).get(n), now,
                                                                   st.scene_code_hash(n), _opts(o, "scene")) is not None]
    bar = None
    if o.progress and todo:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo), desc="scenes", unit="scene", mininterval=0.5, leave=False)
    try:
        _make_scenes(o, todo, stamps, summary, log, now, guard, bar)
    finally:
        if bar is not None:
            bar.close()


def _scene_job(o: Options, name: str) -> dict:
    """One scene in a worker process: its files, the assets it read, a skip reason or an error."""
    t = time.perf_counter()
    try:
        files, deps, skipped = _make_scene(o, name)
    except Exception as e:  # noqa: BLE001  reported by the parent, which goes on with the others
        return {"name": name, "error": f"{type(e).__name__}: {e}"}
    return {"name": name, "files": files, "deps": deps, "skipped": skipped, "seconds": time.perf_counter() - t,
            "pid": os.getpid()}


def _make_scenes(o: Options, todo: list[str], stamps: dict, summary: dict, log, now, guard, bar):
    """Scenes are independent Manim renders, each in one process that a single core keeps busy:
    on a machine with several cores they render side by side, one worker per core."""
    workers = min(o.workers or paths.cores(), len(todo))
    if workers > 1:
        return _make_scenes_parallel(o, todo, stamps, summary, log, now, guard, bar, workers)
    for name in todo:
        if bar is not None:
            bar.set_postfix_str(name, refresh=True)
        r = _scene_job(o, name)
        guard.check()                          # a Ctrl-C may surface as the renderer's error
        _take_scene(o, r, stamps, summary, log, now, bar)


def _take_scene(o: Options, r: dict, stamps: dict, summary: dict, log, now, bar):
    """Stamp a finished scene (_scene_job's result), or name it in summary["failed"]."""
    name = r["name"]
    if "error" in r:
        summary["failed"].append((f"scene {name}", r["error"]))
        log(f"[scenes] {name}: FAILED: {r['error']}")
    else:
        files = r["files"]
        summary.setdefault("scene_workers", set()).add(r["pid"])
        _record(o, stamps, summary, log, "scene", name, now.deps(r["deps"]), st.scene_code_hash(name),
                _opts(o, "scene"), files, r["skipped"], f"{files[0] if files else ''} ({r['seconds']:.1f}s)")
    if bar is not None:
        bar.update(1)


def _make_scenes_parallel(o: Options, todo: list[str], stamps: dict, summary: dict, log, now, guard, bar,
                          workers: int):
    """The scenes on `workers` processes; each is stamped here as it finishes (an interrupted
    `all` keeps the finished ones). Ctrl-C stops the pool: its workers' scratch folders are the
    pipeline's own and go at the next run."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))
    try:
        pending = {pool.submit(_scene_job, o, name) for name in todo}
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            guard.check()
            for f in done:
                _take_scene(o, f.result(), stamps, summary, log, now, bar)
    except BaseException:
        for proc in list(getattr(pool, "_processes", {}).values()):   # Ctrl-C: stop the renders now
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _record(o: Options, stamps: dict, summary: dict, log, kind: str, name: str, deps: dict, code: str,
            options: dict, files, skipped: str | None, made: str):
    """Stamp one figure or scene (what it read, the code and options it was made with, its files)
    and save the stamps at once, so an interrupted `all` keeps it; a skip records its reason."""
    entry = {"deps": deps, "code": code, "options": options, "files": [str(f) for f in files],
             "made": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if skipped:
        entry["skipped"] = skipped
        summary["skipped"].append(f"{kind} {name}: {skipped}")
        log(f"[{kind}s] {name}: skipped: {skipped}")
    else:
        summary[kind + "s"].append(name)
        log(f"[{kind}s] {name}: {made}")
    stamps.setdefault(kind + "s", {})[name] = entry
    st.save(o.stamps_path, stamps)


def _trained(run, cfg) -> bool:
    """Whether `run` is trained to the end of `cfg` already (the trainer would skip it)."""
    try:
        m = run.manifest if run.exists() else None
    except Exception:  # noqa: BLE001  unreadable: not known to be trained
        return False
    return bool(m) and m.get("status") == "complete" and m.get("epochs_done", -1) >= cfg.epochs


def final_line(s: dict) -> str:
    """`all`'s last words: what was done, and every failure by name."""
    n = s.get("reused", 0)
    did = (["trained"] if s["trained"] else [f"reused the seed choice's {n} tr{'y' if n == 1 else 'ies'} (trained "
                                               f"before, none trained now)"] if n else [])
    did += ["extracted"] if s["extracted"] else []
    did += [f"{len(s[k])} {k} made" for k in ("figures", "scenes") if s[k]]
    did += ["explorer written"] if "explore" in s.get("pages", []) else []
    did += [f"{len(s['skipped'])} skipped (data or mechanism absent; reasons in the gallery)"] if s["skipped"] else []
    line = f"done in {s['seconds']:.0f}s: " + (", ".join(did) or "everything was up to date")
    if s.get("stages"):
        line += " (" + ", ".join(f"{k} {_duration(v)}" for k, v in s["stages"].items()) + ")"
    if s["failed"]:
        line += f"; FAILED: {', '.join(name for name, _ in s['failed'])} (errors above)"
    return line


def _duration(seconds: float) -> str:
    m, sec = divmod(round(seconds), 60)
    return f"{m} min {sec} s" if m else f"{sec} s"


def _explorer_options(o: Options, stamps: dict) -> dict:
    """What the explorer carries besides the assets: its links (a hash of them: a scene or figure
    made or skipped since changes them)."""
    import hashlib
    import json
    from .explore import panel_links
    links = panel_links(o, stamps, o.media_dir)
    return {"links": hashlib.sha256(json.dumps(links, sort_keys=True).encode()).hexdigest()[:16]}


def explorer_stale(o: Options, stamps: dict, now: "st.AssetHashes") -> str | None:
    from .explore import code_hash
    why = st.why_stale(stamps.get("pages", {}).get("explore"), now, code_hash(), _explorer_options(o, stamps))
    if why and why.startswith("stale: options changed"):
        return "stale: options changed (the scenes and figures it links to)"
    return why


def make_explorer(o: Options, stamps: dict, now: "st.AssetHashes", summary: dict, log=print) -> bool:
    """Write media/<run>/explore.html unless it is up to date (or o.force); stamp it like a figure.
    Returns whether it was written."""
    from .explore import code_hash, write_explorer
    if not o.force and explorer_stale(o, stamps, now) is None:
        return False
    t = time.perf_counter()
    with recording() as reads:
        path, _ = write_explorer(o, stamps)
    _record(o, stamps, summary, log, "page", "explore", now.deps(reads), code_hash(), _explorer_options(o, stamps),
            [path], None, f"{path} ({path.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t:.1f}s)")
    return True


def explore(o: Options, log=print) -> dict:
    """`grokking explore`: the explorer alone, from the run's assets as they are (linking the
    scenes and figures made so far)."""
    summary = {"pages": [], "skipped": [], "failed": []}
    with run_lock(o.stamps_path.parent, o.run):
        now = st.AssetHashes(o.assets_dir, o.run)
        stamps = st.load(o.stamps_path)
        made = make_explorer(o, stamps, now, summary, log)
    return {"written": made, "path": o.media_dir / "explore.html"}


def _make_figure(o: Options, name: str):
    import matplotlib
    matplotlib.use("Agg")
    from grokking.figures import style
    from grokking.figures.build import build_one
    style.apply()
    o.figure_dir.mkdir(parents=True, exist_ok=True)
    with recording() as reads:
        res = build_one(Assets(o.run, o.assets_root), name, o.figure_dir, ("pdf", "svg", "png", "mp4", "gif"))
    return res, reads


def _make_scene(o: Options, name: str) -> tuple[list[Path], set, str | None]:
    """Render into a scratch folder of this process, then move the video and its poster frame
    into place. Returns (files, reads, None), or ([], reads, reason) when the run lacks the
    mechanism the scene shows."""
    from grokking.scenes.cli import render
    from grokking.scenes.data import NotFound
    scratch = Path(o.media_root) / ".scratch" / o.run / f"{name}.{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        with recording() as reads:
            try:
                video = render(name, o.run, o.quality, "mp4", media_dir=scratch, root=o.assets_root,
                               pixel_width=o.scene_width, progress=False)     # `all` shows its own bar
            except NotFound as e:
                return [], reads, e.reason
        o.scene_dir.mkdir(parents=True, exist_ok=True)
        o.poster_dir.mkdir(parents=True, exist_ok=True)
        poster_tmp = scratch / "poster.png"
        _poster(video, poster_tmp)
        final, poster = o.scene_dir / f"{name}.mp4", o.poster_dir / f"{name}.png"
        Path(video).replace(final)
        poster_tmp.replace(poster)
        return [final, poster], reads, None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _poster(video: Path, out: Path):
    """The scene's last frame, as its poster."""
    import imageio.v3 as iio
    frame = None
    for frame in iio.imiter(video, plugin="pyav"):
        pass
    iio.imwrite(out, frame)
