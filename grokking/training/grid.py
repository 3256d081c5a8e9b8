"""A sweep's folder, the part every stage reads: the grid (FIELD=V1,V2 ...), its points' names
and configs, and the sweep manifest (runs/<sweep>/sweep.json) that says how to continue it. The
lab (grokking/lab/sweep.py) plans and trains the points; a history names its sweep's command
from here when a point is asked for before it is trained.

    runs/<sweep>/
      sweep.json          format grokking-sweep/1: the preset, the base config, the grid as asked,
                          every point (name, grid values, schedule, training seconds), and updates
      <point>/            an ordinary run (training/history.py), e.g. wd1-frac0.3-s0
      .<point>.lock       the trainer's per-run lock

A point's name is its grid values in grid order (`wd1-frac0.3-s0`; see point_name), so it always
satisfies the run-name rule and a point is found again by the same grid.

Compact histories: a sweep point keeps its metrics every epoch and about N_CHECKPOINTS
checkpoints (compact_schedule), not the preset's dense schedule (~1,150 at 20k epochs), which
is what figures and the report need; `--dense POINT` retrains a point under its preset's dense
schedule for scenes.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import time
from dataclasses import dataclass
from pathlib import Path

from grokking.common import paths

from .config import PRESETS, Config, ConfigError, Schedule

FORMAT = "grokking-sweep/1"
MANIFEST = paths.SWEEP_MANIFEST      # "sweep.json"
N_CHECKPOINTS = 100                      # compact schedule: about this many checkpoints per point
ALIASES = {"wd": "weight_decay", "s": "seed"}
SHORT = {"weight_decay": "wd", "seed": "s", "op": "", "smooth_until": "until", "optimizer": "", "loss": "",
         "precision": "", "grokfast": "gf-", "grokfast_alpha": "alpha", "grokfast_lamb": "lamb",
         "grokfast_window": "win", "init_scale": "init", "cooldown_from": "cool",
         "cooldown_half_life": "half"}     # prefixes in point names (op: the value alone)
NOT_GRIDDED = ("schedule", "betas")      # structured fields; the schedule is the sweep's own choice


class SweepError(ConfigError):
    """A sweep that cannot run as asked; the message says what to do (exit 2)."""


@dataclass(frozen=True)
class Point:
    name: str
    values: tuple            # ((field, value), ...) in grid order
    cfg: Config


# ---- the grid ----------------------------------------------------------------------------

def gridable() -> dict[str, type]:
    """Config fields a grid may name, with the type their values are parsed as."""
    base = Config()
    return {f.name: type(getattr(base, f.name)) for f in dataclasses.fields(Config) if f.name not in NOT_GRIDDED}


def _parse_value(field: str, kind: type, text: str):
    try:
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        return kind(text)
    except ValueError:
        what = {int: "an integer", float: "a number", bool: "true or false"}.get(kind, kind.__name__)
        raise SweepError(f"--grid: {field}={text!r} is not {what}; pass e.g. {field}=1,2") from None


def parse_grid(text: str) -> dict[str, list]:
    """'wd=0.3,1,3 frac=0.3,0.5 seed=0,1,2' -> {'weight_decay': [0.3, 1.0, 3.0], ...} in the
    order given. Any scalar Config field (or the aliases wd, s); each value once."""
    kinds, grid = gridable(), {}
    for item in (text or "").split():
        key, eq, vals = item.partition("=")
        field = ALIASES.get(key, key)
        if not eq or not vals.strip(","):
            raise SweepError(f"--grid: {item!r} is not FIELD=V1,V2,...; pass e.g. --grid \"wd=0.3,1 seed=0,1\"")
        if field not in kinds:
            raise SweepError(f"--grid: {key!r} is not a config field; choose from wd, {', '.join(kinds)}")
        if field in grid:
            raise SweepError(f"--grid names {key} twice; give all its values once, e.g. {key}=1,2")
        if "" in vals.split(","):
            raise SweepError(f"--grid: {item!r} has an empty value; separate values by single commas, e.g. "
                             f"{key}=1,2")
        values = [_parse_value(key, kinds[field], v) for v in vals.split(",")]
        dup = [v for i, v in enumerate(values) if v in values[:i]]
        if dup:
            raise SweepError(f"--grid: {key} lists {dup[0]} twice; list each value once")
        grid[field] = values
    if not grid:
        raise SweepError("--grid is empty; pass e.g. --grid \"wd=0.3,1,3 frac=0.3,0.5 seed=0,1,2\"")
    return grid


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(int(v))
    return f"{v:g}" if isinstance(v, float) else str(v)


def point_name(values) -> str:
    """wd1-frac0.3-s0: each grid field's short name and value, in grid order."""
    return "-".join(f"{SHORT.get(k, k)}{_fmt(v)}" for k, v in values)


def compact_schedule(epochs: int, n: int = N_CHECKPOINTS) -> Schedule:
    """About n checkpoints: every epoch to 10, 0.4 n log-spaced to epochs / 4 (memorisation and
    the start of the plateau), then 0.5 n evenly spaced to the end (grokking and clean-up)."""
    dense = min(10, epochs)
    log_until = max(dense, epochs // 4)
    return Schedule(dense_until=dense, log_until=log_until, n_log=int(0.4 * n),
                    stride=max(1, math.ceil((epochs - log_until) / (0.5 * n))))


def point_config(base: Config, values, dense: bool = False, preset: Config | None = None) -> Config:
    """The point's config: the base with the grid values, under the compact schedule (or the
    preset's dense one)."""
    cfg = base.replace(**dict(values))
    sched = (preset or base).schedule if dense else compact_schedule(cfg.epochs)
    return cfg.replace(schedule=sched)


def expand(base: Config, grid: dict[str, list], dense=(), preset: Config | None = None) -> list[Point]:
    """Every point of the grid (the cartesian product, the last field varying fastest)."""
    out = []
    for combo in itertools.product(*grid.values()):
        values = tuple(zip(grid, combo))
        name = point_name(values)
        try:
            paths.check_name(name)
        except ConfigError:
            raise SweepError(f"point name {name!r} breaks the run-name rule ({paths.NAME_RULE}); "
                             "use shorter or plainer grid values") from None
        try:
            cfg = point_config(base, values, name in dense, preset)
        except ConfigError as e:
            raise SweepError(f"point {name}: {e}") from None
        out.append(Point(name, values, cfg))
    names = [p.name for p in out]
    dup = [n for i, n in enumerate(names) if n in names[:i]]
    if dup:
        raise SweepError(f"two grid points share the name {dup[0]!r}; give values that print differently")
    return out


# ---- the sweep manifest ---------------------------------------------------------------------

def sweep_dir(name: str, runs_dir: Path | str | None = None) -> Path:
    if isinstance(name, str) and "/" in name:
        raise SweepError(f"sweep name {name!r} is not allowed: a sweep is one folder in runs/ (its points are "
                         f"NAME/POINT); pass e.g. wd")
    paths.check_runs_root(runs_dir or paths.RUNS_DIR, "--runs-dir" if runs_dir is not None else "the runs folder")
    root = paths.confined(runs_dir or paths.RUNS_DIR, name)
    if paths.is_run(root) and not paths.is_sweep(root):
        raise SweepError(f"{root} is a run, not a sweep (a sweep's --force or a run's would delete the other); "
                         f"choose another sweep name")
    return root


# the sweep's options (grokking sweep) that set the base config, by field
BASE_OPTIONS = {"p": "--p", "op": "--op", "a": "--a", "b": "--b", "frac": "--frac", "epochs": "--epochs",
                "lr": "--lr", "weight_decay": "--wd", "smooth": "--smooth", "smooth_until": "--smooth-until",
                "cooldown_from": "--cooldown-from", "settle_at_grok": "--settle-at-grok"}


def command(m: dict, runs_dir: Path | str | None = None, grid: str | None = None) -> str:
    """The command that (re)creates a sweep's manifest `m`: its preset, base options and grid."""
    import shlex
    base, preset = m.get("base", {}), PRESETS.get(m.get("preset"), PRESETS["quick"]).to_dict()
    opts = [(flag if base[k] else "--no-" + flag[2:]) if isinstance(base[k], bool) else f"{flag} {_fmt(base[k])}"
            for k, flag in BASE_OPTIONS.items() if k in base and base[k] != preset.get(k)]
    where = [f"--runs-dir {shlex.quote(str(runs_dir))}"] if runs_dir is not None else []
    return " ".join(["grokking sweep", m.get("sweep", "NAME"), "--preset", str(m.get("preset")), *opts,
                     "--grid", shlex.quote(grid if grid is not None else m.get("grid", "")), *where])


def point_advice(folder: Path, name: str) -> str:
    """Why the point `name` (SWEEP/POINT) of the sweep in `folder` has no history, and the next step."""
    sweep_name, point = name.split("/")
    m = read_manifest(folder)
    if m is None:
        return f"there is no sweep {sweep_name!r} in {folder.parent}/; start it with grokking sweep {sweep_name} --grid ..."
    names = [p["name"] for p in m["points"]]
    if point not in names:
        return (f"sweep {sweep_name!r} has no point {point!r}; its points are {', '.join(names[:6])}"
                + (f" and {len(names) - 6} more" if len(names) > 6 else ""))
    grid = next((g for g in reversed(m.get("grids", [])) if point in {q.name for q in _points_of(m, g)}),
                m.get("grid"))
    return (f"point {point!r} of sweep {sweep_name!r} is not trained yet; train it with its sweep: "
            f"{command(m, None if _default_root(folder.parent) else folder.parent, grid)}")


def _default_root(root: Path) -> bool:
    return Path(root).resolve() == Path(paths.RUNS_DIR).resolve()


def _points_of(m: dict, grid_text: str) -> list[Point]:
    try:
        return expand(Config.from_dict(m["base"]), parse_grid(grid_text))
    except ConfigError:
        return []


def read_manifest(folder: Path) -> dict | None:
    import json
    f = Path(folder) / MANIFEST
    if not f.exists():
        return None
    try:
        m = json.loads(f.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise SweepError(f"{f} is corrupted ({e}); move the folder away or choose another sweep name") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise SweepError(f"{f} is not a {FORMAT} manifest; choose another sweep name")
    return m


def load_points(folder: Path) -> list[Point]:
    """Every point a sweep's manifest names, with its config (the report's input)."""
    m = read_manifest(folder)
    if m is None:
        raise SweepError(f"no sweep in {folder}/; start one with: grokking sweep {Path(folder).name} --grid ...")
    base = Config.from_dict(m["base"])
    preset = PRESETS.get(m.get("preset"))
    return [Point(p["name"], tuple((k, v) for k, v in p["values"]),
                  point_config(base, p["values"], p.get("schedule") == "dense", preset))
            for p in m["points"]]


def merged_manifest(old: dict | None, name: str, preset: str, base: Config, grid_text: str,
                    grid: dict, points: list[Point], dense=()) -> dict:
    """The manifest after this request: a changed base (preset or options) is refused; new
    points are added to the ones already there (a grid may grow: more seeds, more values)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    if old is not None and old["base"] != base.to_dict():
        diff = sorted(k for k in old["base"] if old["base"][k] != base.to_dict().get(k))
        raise SweepError(f"sweep {name!r} exists with another base config ({', '.join(diff)} differ); "
                         "pass the same --preset and options, or choose another sweep name")
    entries = {p["name"]: p for p in (old or {}).get("points", [])}
    for p in points:
        e = entries.setdefault(p.name, {"name": p.name, "values": [list(v) for v in p.values], "seconds": 0.0})
        e["schedule"] = "dense" if p.name in dense or e.get("schedule") == "dense" else "compact"
    return {"format": FORMAT, "sweep": name, "preset": preset, "base": base.to_dict(), "grid": grid_text,
            "grids": list(dict.fromkeys((old or {}).get("grids", []) + [grid_text])),
            "axes": {k: list(v) for k, v in grid.items()},
            "schedule": f"compact: about {N_CHECKPOINTS} checkpoints per point (training/grid.py "
                        "compact_schedule); points marked dense use the preset's schedule",
            "points": list(entries.values()), "created": (old or {}).get("created", now), "updated": now}
