#!/usr/bin/env python
"""The command line over every stage: train, extract, figures, scenes, all.

    grokking train --preset quick --run demo
    grokking runs
"""
from __future__ import annotations

import errno
import importlib

import click

from grokking.common.errors import UserError

from grokking.extraction.settings import DEFAULT_OUTPUT, DEFAULT_T
from grokking.training.config import DEFAULT_PRESET, DEFAULT_RUN, PRESETS, Config

# what to do about the operating system's refusals, by errno
OS_FIXES = {errno.ENOSPC: "free some disk space, then run the same command again (finished work is kept)",
            errno.EDQUOT: "free some disk space, then run the same command again (finished work is kept)",
            errno.EROFS: "that file system is read-only: run from a writable copy of the project",
            errno.EACCES: "you may not write there: make it writable by you, or run from a writable copy",
            errno.EPERM: "you may not write there: make it writable by you, or run from a writable copy"}


class Refused(click.ClickException):
    """A UserError as the command line shows it: one line, exit code 2, no traceback."""
    exit_code = 2


class Stages(click.Group):
    """Every subcommand: a UserError (every stage's refusals derive from it) becomes one line with
    exit code 2, Ctrl-C exits 130."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:
            raise Refused(str(e))
        except OSError as e:            # disk full, read-only, no permission: the machine, not a bug
            raise Refused(_os_error(e))
        except KeyboardInterrupt:
            click.echo("\ninterrupted: finished files are intact; run the same command again to resume",
                       err=True)
            ctx.exit(130)


def _os_error(e: OSError) -> str:
    where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
    fix = OS_FIXES.get(e.errno, "check that path, then run the same command again")
    return f"{e.strerror or e}{': ' + where if where else ''}; {fix}"


def _run_name(ctx, param, value):
    """Every --run is checked where it enters (also where a stage would fall back to a default)."""
    from grokking.common.paths import check_name
    if value is not None:
        check_name(value)
    return value


@click.group(cls=Stages, context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """Grokking, explained: train the model, extract what it learned, render figures and scenes."""


def _seeds(seed: int | None, seeds: str | None, default: int = 0) -> list[int]:
    if seeds is None:
        return [seed if seed is not None else default]
    if seed is not None:
        raise UserError("pass either --seed or --seeds, not both")
    try:
        out = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        out = None
    if not out:
        raise UserError(f"--seeds must be a comma-separated list of integers, got {seeds!r}; pass e.g. --seeds 0,1,2")
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        raise UserError(f"--seeds names seed {dup[0]} twice (two runs would share one folder); pass each seed once")
    return out


@cli.command()
@click.option("--run", "run_name", default=None, help="Run name (default: the preset's name). Histories live in runs/<run>/.")
@click.option("--preset", type=click.Choice(list(PRESETS)), default=DEFAULT_PRESET, show_default=True,
              help="video: the canonical model at lr 1e-2 on 25 % of pairs, wd 0.2, the smoothness penalty (slow "
                   "waves) until it groks, then a cool-down (a plateau of 25-35x); canonical: the paper's; "
                   "quick: p = 53 in seconds; fast: the canonical model at lr 1e-2, groks by ~600 epochs.")
@click.option("--p", type=int, help="Modulus (default 113; the quick preset uses 53).")
@click.option("--op", type=str, help="Operation: add, sub, mul, div (x / y, y != 0) or pow ((x^a + y^b) mod p).")
@click.option("--a", type=int, help="Exponent of x for --op pow.")
@click.option("--b", type=int, help="Exponent of y for --op pow.")
@click.option("--frac", type=float, help="Fraction of pairs used for training (default 0.3).")
@click.option("--seed", type=int, help="Seed of the split and the init (default 0).")
@click.option("--seeds", type=str, help="Several seeds trained batched, e.g. 0,1,2,3: runs <run>-s0, <run>-s1, ...")
@click.option("--epochs", type=int, help="Optimiser steps (full batch: one per epoch).")
@click.option("--lr", type=float)
@click.option("--weight-decay", "--wd", "weight_decay", type=float)
@click.option("--smooth", type=float, help="Weight of the embedding smoothness penalty, "
              "smooth * sum_x ||W_E[x] - W_E[x-1]||^2 over digits, circular (video 1e-3; 0 = off).")
@click.option("--smooth-until", "smooth_until", type=int,
              help="Switch the smoothness penalty off from this epoch on (0 = keep it on for the whole run).")
@click.option("--optimizer", type=click.Choice(["adamw", "orthoadamw"]),
              help="orthoadamw: ⊥Grad (each tensor's gradient made orthogonal to it, same norm) before AdamW.")
@click.option("--grokfast", type=click.Choice(["none", "ema", "ma"]),
              help="Grokfast: add lamb x a low-pass of the gradient (ema: alpha; ma: window) before the step.")
@click.option("--grokfast-alpha", "grokfast_alpha", type=float, help="Grokfast-EMA's decay (default 0.98).")
@click.option("--grokfast-lamb", "grokfast_lamb", type=float, help="Grokfast's amplification (default 2; the authors' MA used 5).")
@click.option("--grokfast-window", "grokfast_window", type=int, help="Grokfast-MA's window in steps (default 100).")
@click.option("--loss", type=click.Choice(["softmax", "stablemax"]), help="The cross-entropy's normaliser (stablemax: "
              "s(z) = z + 1 for z >= 0, 1 / (1 - z) below, in place of exp).")
@click.option("--precision", type=click.Choice(["float64", "float32"]), help="The dtype the loss is computed in.")
@click.option("--init-scale", "init_scale", type=float, help="Multiply every initial weight by this (Omnigrok's alpha).")
@click.option("--warmup", type=int, help="Linear learning-rate warm-up, in steps (default 10; 0 = none).")
@click.option("--cooldown-from", "cooldown_from", type=int,
              help="From this epoch the lr halves every --cooldown-half-life epochs (default 0: never).")
@click.option("--cooldown-half-life", "cooldown_half_life", type=int, help="The cool-down's half-life in epochs (default 250).")
@click.option("--settle-at-grok/--no-settle-at-grok", "settle_at_grok", default=None,
              help="At the grokking epoch (test accuracy >= 99 %, checked every 20 epochs) switch the smoothness "
                   "penalty off and start the cool-down, if sooner than --smooth-until and --cooldown-from.")
@click.option("--d-model", type=int)
@click.option("--d-mlp", type=int)
@click.option("--stride", type=int, help="Checkpoint every STRIDE epochs after the dense early part.")
@click.option("--test-every", "test_every", type=int,
              help=f"Measure the test split every N epochs as well as at each checkpoint (default {Config.test_every}; "
              "1 = every epoch).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--compile", "compile_", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="torch.compile the forward (auto: off; on CPU, on fixes the thread count, see training/threads.py).")
@click.option("--force", is_flag=True, help="Delete an existing run of that name and train from scratch.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(run_name, preset, seed, seeds, device, compile_, force, quiet, stride, **over):
    """Train a model (or several seeds at once) and write its checkpoint history.

    Re-running on an interrupted run resumes from its last checkpoint; a larger --epochs
    extends a finished one."""
    from grokking.training import budget
    from grokking.common import paths
    from grokking.training import config as C
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train as train_runs
    cfg = C.PRESETS[preset]
    cfg = cfg.replace(**{k: v for k, v in over.items() if v is not None})
    if stride is not None:
        cfg = cfg.replace(schedule=C.Schedule(**{**vars(cfg.schedule), "stride": stride}))
    seed_list = _seeds(seed, seeds, cfg.seed)   # left out: the preset's
    name = preset if run_name is None else run_name
    if len(seed_list) > 1:              # each seed's run is <run>-s<seed>
        from grokking.pipeline.make import check_suffixed
        check_suffixed(name, [f"-s{s}" for s in seed_list], "--seeds")
    jobs = []
    for s in seed_list:
        c = cfg.replace(seed=s)
        jobs.append(Seeded(c, Run(name if len(seed_list) == 1 else f"{name}-s{s}")))
    C.check_exponents({cfg.op}, {k for k in ("a", "b") if over[k] is not None})     # after the values' own checks
    if "/" in name:                     # runs/SWEEP/POINT: the sweep trains its points, with its own config
        run = jobs[0].run
        raise UserError("grokking train does not train a sweep's points (their sweep holds their config); "
                        + (run.missing() if not run.exists() else
                           f"{name} is trained: grokking all --run {name} renders it"))
    for j in jobs:                      # a damaged run is named before anything starts
        if j.run.exists() and not force:
            j.run.manifest
        elif force:                     # and what --force would refuse to delete (a user's file, a sweep)
            j.run.check_removable()
    paths.check_writable(jobs[0].run.dir.parent, "the run's history")
    # refused with the numbers before any folder is made, rather than MemoryError half-way
    budget.check(jobs[0].cfg, len(jobs), jobs[0].run.dir.parent,
                 sum(j.run.size_bytes() for j in jobs if j.run.dir.is_dir()))
    for j in jobs:
        paths.clean_temp(j.run.dir)     # what a killed writer left in this run's own folder
    click.echo(f"training {', '.join(j.run.name for j in jobs)}: p={cfg.p} op={cfg.op} frac={cfg.frac} "
               f"epochs={cfg.epochs} ({len(jobs)} seed{'s' * (len(jobs) > 1)})", err=True)
    r = train_runs(jobs, device=device, compile=compile_, force=force, progress=not quiet)
    if r["skipped"]:
        click.echo(f"already trained to epoch {r['end']}: nothing to do (pass --epochs to extend, --force to retrain)")
        return
    for j, ms in zip(jobs, r["milestones"]):
        click.echo(f"{j.run.name}: epochs {r['start']}->{r['end']} in {r['seconds']:.0f}s; "
                   + (f"train acc 100% at epoch {ms['train_100']}" if ms["train_100"] is not None
                      else "train acc never 100%")
                   + (f", test acc >= 99% at epoch {ms['test_99']}" if ms["test_99"] is not None
                      else ", test acc never >= 99% (not grokked)"))


@cli.command()
def runs():
    """List the runs in runs/ with their status."""
    from grokking.training.history import list_runs, list_sweeps
    rs, sweeps = list_runs(), list_sweeps()
    if not rs and not sweeps:
        click.echo("no runs yet: train one with  grokking train --preset quick")
        return
    rows = [("run", "task", "epochs", "status", "train 100%", "test 99%", "grokked", "size")]
    for r in rs:
        rows.append(_run_row(r.name, r))
    for name, points in sweeps:
        done = sum(1 for _, r in points if r is not None and _complete(r))
        size = sum(r.size_bytes() for _, r in points if r is not None and r.dir.is_dir())
        rows.append((f"{name}/", "sweep", "", f"{done}/{len(points)} points done", "", "", "",
                     f"{size / 2**20:.0f} MiB"))
        for point, r in points:
            rows.append(_run_row(f"  {name}/{point}", r))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _complete(run) -> bool:
    try:
        return run.exists() and run.manifest["status"] == "complete"
    except Exception:  # noqa: BLE001  a damaged point is not done
        return False


def _run_row(label: str, r) -> tuple:
    """One row of `grokking runs`: milestones never reached say so ('never', or '-' while training)."""
    from grokking.training.config import recipe_label
    if r is None or not r.exists():
        return (label, "", "", "not started", "", "", "", "")
    try:
        m = r.manifest
    except Exception as e:  # noqa: BLE001  one broken run must not hide the others
        return (label, "?", "?", f"unreadable: {e}", "", "", "", "")
    c, ms = m["config"], m["milestones"]
    task = f"{c['op']} p={c['p']}" + (f" a={c['a']} b={c['b']}" if c["op"] == "pow" else "")
    task += f" smooth={c['smooth']:g}" if c.get("smooth") else ""
    task += f" until {c['smooth_until']}" if c.get("smooth") and c.get("smooth_until") else ""
    task += "" if recipe_label(c) == "adamw" else f" ({recipe_label(c)})"
    unreached = "never" if m["status"] == "complete" else "-"
    return (label, task, f"{m['epochs_done']}/{c['epochs']}", m["status"],
            unreached if ms["train_100"] is None else str(ms["train_100"]),
            unreached if ms["test_99"] is None else str(ms["test_99"]), "yes" if m["grokked"] else "no",
            f"{r.size_bytes() / 2**20:.0f} MiB")


@cli.command("all")
@click.option("--run", "run_name", default=None, help=f"Run name (default: the preset's name, {DEFAULT_RUN}).")
@click.option("--preset", type=click.Choice(list(PRESETS)), default=None,
              help=f"Configuration for a new run (default {DEFAULT_PRESET}; an existing run keeps its own).")
@click.option("--quality", type=click.Choice(["low", "medium", "high", "4k"]), default="low", show_default=True,
              help="Scene quality.")
@click.option("--T", "T", type=int, help=f"Crest target sum, mod p (left out: as last extracted, else {DEFAULT_T}).")
@click.option("--output", type=int, help=f"Output whose logit surface is shown (left out: as last extracted, else {DEFAULT_OUTPUT}).")
@click.option("--story-k", "story_k", type=int,
              help="Key frequency the story shows where it shows one (default: the lowest key frequency).")
@click.option("--analysis-epoch", type=int, help="Checkpoint to analyse (default: the last).")
@click.option("--figures", "only_figures", help="Only these figures (comma-separated; '' for none).")
@click.option("--scenes", "only_scenes", help="Only these scenes (comma-separated; '' for none).")
@click.option("--force", is_flag=True, help="Redo everything, training included.")
@click.option("--quiet", is_flag=True)
def all_(run_name, preset, quality, T, output, story_k, analysis_epoch, only_figures, only_scenes, force, quiet):
    """Train (if needed), extract, draw every figure, render every scene, write the gallery:
    only what is out of date. Interrupt at any time; run it again to finish. A new run of the
    default preset tries its seeds (pipeline/choose.py MAIN_JOB_SEEDS) in order and keeps the
    first whose story check passes.

    Exit status: 0 when everything was made (or skipped because the run lacks that mechanism),
    1 when a figure or scene failed (named in the last line; the others are made), 2 when
    refused (bad input, or another `all` running on the run), 130 when interrupted."""
    from grokking.pipeline.make import Options, final_line, make_all
    run = run_name if run_name is not None else preset or DEFAULT_RUN    # '' is refused, not the default
    o = Options(run=run, preset=preset, quality=quality, T=T, output=output,
                story_k=story_k, analysis_epoch=analysis_epoch, figures=_split_names(only_figures), scenes=_split_names(only_scenes),
                force=force, progress=not quiet)
    s = make_all(o, log=lambda line: click.echo(line, err=True))
    from grokking.extraction.story_check import lines
    for line in lines(s["story_check"]):
        click.echo(line)
    click.echo(f"gallery: {s['gallery']}")
    click.echo(final_line(s))
    if s["failed"]:
        click.get_current_context().exit(1)


def _split_names(value):
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


@cli.command()
@click.option("--run", "run_name", default=DEFAULT_RUN, show_default=True)
@click.option("--quality", type=click.Choice(["low", "medium", "high", "4k"]), default="low", show_default=True)
@click.option("--T", "T", type=int, help=f"As given to 'all' (left out: as last extracted, else {DEFAULT_T} mod p).")
@click.option("--output", type=int, help=f"As given to 'all' (left out: as last extracted, else {DEFAULT_OUTPUT}).")
@click.option("--story-k", "story_k", type=int, help="As given to 'all' (default: the lowest key frequency).")
@click.option("--analysis-epoch", type=int, help="As given to 'all' (default: the last).")
@click.option("--verify", is_flag=True, help="Check every checkpoint's sha256 (without: only that each is there "
                                             "and has the usual size).")
def status(run_name, quality, T, output, story_k, analysis_epoch, verify):
    """What is up to date, stale (and why) or missing, for every stage, figure and scene."""
    from grokking.pipeline.make import Options, status as pipeline_status
    rows = pipeline_status(Options(run=run_name, quality=quality, T=T, output=output, story_k=story_k,
                                   analysis_epoch=analysis_epoch, verify=verify))
    w = max(len(r[0]) for r in rows)
    for item, state, why in rows:
        click.echo(f"{item.ljust(w)}  {state:<10}  {why if why != state else ''}".rstrip())


@cli.command()
@click.option("--run", "run_name", default=DEFAULT_RUN, show_default=True)
@click.option("--force", is_flag=True, help="Write it even when it is up to date.")
def explore(run_name, force):
    """Write media/<run>/explore.html: every checkpoint on one epoch slider (curves, Fourier norms,
    wave neurons, neuron-pair loops, the crest and logit surfaces, the probes). Opens offline."""
    from grokking.pipeline.make import Options, explore as make_explore
    r = make_explore(Options(run=run_name, force=force), log=lambda line: click.echo(line, err=True))
    size = r["path"].stat().st_size / 1e6
    click.echo(f"explorer: {r['path']} ({size:.1f} MB)" + ("" if r["written"] else ", up to date"))


@cli.command()
@click.option("--run", "run_name", default=DEFAULT_RUN, show_default=True)
@click.option("--quality", type=click.Choice(["low", "medium", "high", "4k"]), default="low", show_default=True,
              help="Scene quality (scenes not yet rendered at it are rendered first).")
@click.option("--scenes", "only_scenes", help="Only these scenes (comma-separated), still in story order.")
@click.option("--workers", type=click.IntRange(min=1), help="Scenes rendered side by side, one process each "
              "[default: one per core, as `grokking all`].")
@click.option("--force", is_flag=True, help="Render every scene and join them again.")
@click.option("--quiet", is_flag=True)
def film(run_name, quality, only_scenes, workers, force, quiet):
    """Join the scenes in story order into media/<run>/story.mp4: an opening card naming the run
    (task, seed, key frequencies, story check), a title card per part, one chapter per scene titled
    after the video's section it retells, a closing card naming the run's figures; subtitles beside
    it (story.vtt, each chapter's claim). Renders only the scenes that are not up to date (in
    parallel, one worker per core); rejoins only when one changed; the gallery then links the film."""
    from grokking.pipeline.film import make_film
    from grokking.pipeline.make import Options
    o = Options(run=run_name, quality=quality, scenes=_split_names(only_scenes), force=force, progress=not quiet,
                workers=workers)
    r = make_film(o, log=lambda line: click.echo(line, err=True))
    chs = r["chapters"]
    click.echo(f"film: {r['path']} ({chs[-1]['end']:.0f} s, {len(chs)} chapters"
               + ("" if r["written"] else ", up to date") + f"); subtitles: {r['subtitles']}")
    for ch in chs:
        m, s_ = divmod(ch["start"], 60)
        click.echo(f"  {int(m)}:{s_:04.1f}  {ch['title']}")
    if r["failed"]:
        click.get_current_context().exit(1)


# Stages that live in their own packages register their commands here.
for _module, _names in (("grokking.extraction.cli", ["extract"]), ("grokking.figures.cli", ["figures"]),
                        ("grokking.scenes.cli", ["scene", "scenes"])):
    try:
        _m = importlib.import_module(_module)
    except ModuleNotFoundError as _e:
        if _e.name != _module:
            raise
        continue
    for _n in _names:
        cli.add_command(getattr(_m, _n))
for _cmd in cli.commands.values():
    for _p in _cmd.params:
        if _p.name in ("run", "run_name") and _p.callback is None:
            _p.callback = _run_name


@cli.command()
@click.argument("name")
@click.option("--grid", required=True, help="Config fields and their values, e.g. \"wd=0.3,1,3 frac=0.3,0.5 "
              "seed=0,1,2\" (any scalar field: seed, weight_decay/wd, frac, lr, p, op, a, b, epochs, smooth, "
              "and the lab's recipes: grokfast, grokfast_lamb, optimizer, loss, precision, init_scale, warmup ...).")
@click.option("--preset", type=click.Choice(list(PRESETS)), default=DEFAULT_PRESET, show_default=True,
              help="The base config every point starts from.")
@click.option("--p", type=int)
@click.option("--op", type=str)
@click.option("--a", type=int)
@click.option("--b", type=int)
@click.option("--frac", type=float)
@click.option("--epochs", type=int)
@click.option("--lr", type=float)
@click.option("--weight-decay", "--wd", "weight_decay", type=float)
@click.option("--smooth", type=float)
@click.option("--smooth-until", "smooth_until", type=int)
@click.option("--cooldown-from", "cooldown_from", type=int)
@click.option("--settle-at-grok/--no-settle-at-grok", "settle_at_grok", default=None)
@click.option("--runs-dir", type=click.Path(file_okay=False), default=None,
              help="Folder that holds the sweep's folder (default runs/, or $GROKKING_RUNS); with --ray, a "
                   "path every node sees.")
@click.option("--threads", type=int, help="Threads per training process (default: the cores shared among the "
                                          "batches, processes x threads <= cores).")
@click.option("--ray", "ray_address", help="Train on Ray: 'auto' (the cluster this node belongs to), an "
                                           "address (ray://host:10001, host:6379), or 'local' (start one here).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--dense", help="Points (comma-separated) to retrain under the preset's dense checkpoint "
                              "schedule, for scenes.")
@click.option("--force", is_flag=True, help="Retrain every point of the grid from scratch.")
@click.option("--quiet", is_flag=True)
def sweep(name, grid, preset, runs_dir, threads, ray_address, device, dense, force, quiet, **over):
    """Train a grid of runs into runs/NAME/<point>/ (ordinary runs, named NAME/<point> for
    extraction, figures and scenes). Running it again finishes what is unfinished; a larger grid adds its new points."""
    from grokking.lab.sweep import sweep as run_sweep
    r = run_sweep(name, grid, preset=preset, overrides=over, runs_dir=runs_dir, threads=threads,
                  ray=ray_address, device=device, force=force, dense=_split_names(dense) or (),
                  progress=not quiet, log=lambda line: click.echo(line, err=True))
    if r["trained"]:
        import shlex
        where = "" if runs_dir is None else f" --runs-dir {shlex.quote(runs_dir)}"
        env = "" if runs_dir is None else f"GROKKING_RUNS={shlex.quote(runs_dir)} "
        click.echo(f"sweep {name}: {r['trained']} point{'s' * (r['trained'] != 1)} trained in {r['seconds']:.0f}s; "
                   f"report: grokking sweep-report {name}{where}; one point: {env}grokking all --run {name}/POINT")


@cli.command("sweep-report")
@click.argument("names", nargs=-1, required=True, metavar="NAME [NAME ...]")
@click.option("--runs-dir", type=click.Path(file_okay=False), default=None,
              help="Folder that holds the sweeps' folders (default runs/, or $GROKKING_RUNS).")
@click.option("--axes", help="The phase diagram's two grid fields, e.g. weight_decay,frac (default: the first "
                             "two that vary, seeds pooled); one sweep only.")
@click.option("--quiet", is_flag=True)
def sweep_report(names, runs_dir, axes, quiet):
    """One sweep: its table (CSV, Markdown) and figures, and the race of its recipes, in
    media/NAME/sweep-report/. Several sweeps: the race of all their recipes, in media/race-report/.

    The race groups points by recipe (the config minus the seed) and writes race.md, race.csv,
    race.json and race.png: per recipe the seeds, the median and range of the epoch of 99 % test
    accuracy, never-grokked and still-training counts, the wall time to it, the speed-up against
    the baseline (adamw at the preset's lr) and the lr-matched control (the adamw lr that groks
    first), the final restricted vs the model's test loss, the key frequencies per seed."""
    from grokking.lab.report import race_report, report
    if len(names) > 1:
        if axes:
            raise UserError("--axes is for one sweep's phase diagram; the race of several sweeps has no axes")
        out = race_report(list(names), runs_dir=runs_dir, progress=not quiet)
        click.echo(f"race of {', '.join(names)}: {out['dir']} ({', '.join(sorted(out['files']))})")
        if len(out["presets"]) > 1:
            click.echo(f"note: the sweeps have different presets ({', '.join(map(str, out['presets']))}); the "
                       f"baseline is adamw at {out['presets'][0]}'s lr", err=True)
        return
    name = names[0]
    out = report(name, runs_dir=runs_dir, axes=_split_names(axes), progress=not quiet)
    click.echo(f"sweep report: {out['dir']} ({', '.join(sorted(out['files']))})")
    if out["pooled"]:
        fields = ", ".join(f"{f} ({', '.join(v)})" for f, v in out["pooled"].items())
        click.echo(f"note: the phase diagram's cells pool points that differ in {fields}; pass --axes with "
                   f"{'that field' if len(out['pooled']) == 1 else 'those fields'} to separate them, or read table.md",
                   err=True)


@cli.command("export")
@click.argument("out", type=click.Path(path_type=str))
@click.option("--run", "run_name", default=DEFAULT_RUN, show_default=True, callback=_run_name)
@click.option("--epoch", type=int, help="Checkpoint to export (default: the last).")
@click.option("--to", "target", type=click.Choice(["transformer-lens"]), default="transformer-lens", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["safetensors", "pt"]), default="safetensors", show_default=True,
              help="safetensors, or a weights-only torch .pt (torch.load(weights_only=True) reads it).")
def export_(out, run_name, epoch, target, fmt):
    """Write a checkpoint as a TransformerLens state dict and HookedTransformerConfig JSON into the
    folder OUT (interop/transformer_lens.py)."""
    from grokking.interop.transformer_lens import export
    r = export(run_name, out, epoch=epoch, fmt=fmt)
    click.echo(f"exported run {run_name} at epoch {r['epoch']} to {r['dir']}/ ({', '.join(r['files'])})")


@cli.command("import")
@click.argument("source", type=click.Path(path_type=str))
@click.option("--run", "run_name", required=True, callback=_run_name, help="Name of the new run (runs/<run>/).")
@click.option("--format", "fmt", type=click.Choice(["auto", "transformer-lens-demo", "paper"]), default="auto",
              show_default=True)
@click.option("--trust-pickle", is_flag=True, help="Read a file that needs unpickling (it can run code: only "
                                                   "files you trust).")
@click.option("--frac", type=float, help="Train fraction of the split, when the file stores none (with --seed).")
@click.option("--seed", type=int, help="Seed of the foreign code's split rule, when the file stores none.")
@click.option("--force", is_flag=True, help="Replace an existing run of that name.")
@click.option("--quiet", is_flag=True, help="No progress bar and no progress lines.")
def import_(source, run_name, fmt, trust_pickle, frac, seed, force, quiet):
    """Turn a checkpoint history trained elsewhere (the TransformerLens Grokking demo's file, the
    paper's full_run_data.pth) into runs/<run>/, checked against its recorded losses
    (interop/imports.py)."""
    from grokking.interop.imports import import_history
    r = import_history(source, run_name, fmt=fmt, trust_pickle=trust_pickle, frac=frac, seed=seed,
                       force=force, progress=not quiet,
                       log=lambda line: None if quiet else click.echo(line, err=True))
    click.echo(f"imported {r['checkpoints']} checkpoints ({r['epochs']} epochs) into {r['dir']}/; "
               f"next: grokking all --run {run_name}")


def main():
    cli()


if __name__ == "__main__":
    main()
