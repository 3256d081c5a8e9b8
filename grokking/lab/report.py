"""`grokking sweep-report NAME`: a sweep's table, figures and race, in media/<sweep>/sweep-report/;
`grokking sweep-report NAME NAME ...`: the race of several sweeps, in media/race-report/.

    table.csv, table.md   per point: its grid values, status, epoch of 100 % train accuracy
                          (memorised), epoch of >= 99 % test accuracy (grokked, or "never"),
                          final accuracies, key frequencies, training seconds, disk
    phase_diagram.png     grokking epoch over two grid axes (lab/sweep_figures.py)
    curves.png            test accuracy of every point, per varying axis
    key_frequencies.png   key frequencies of every point, by seed (in each op's coordinates)
    label_balance.png     (pow tasks) the label distribution beside whether the task grokked
    race.md, race.csv     per recipe (a point's config minus its seed; recipe_label, lr and whatever
                          else tells recipes apart): seeds, median and range of the grokking epoch,
                          never-grokked and still-training counts, wall time to it, speed-up against
                          the baseline (adamw at the preset's lr) and the lr-matched control, final
                          restricted vs model test loss, key frequencies per seed (the notes say how)
    race.json             the same with every number and every seed
    race.png              test accuracy per recipe (median and range over seeds), grokking epoch per seed

Key frequencies are extraction's rule (extraction/mechanism.key_frequencies) at a point's last
checkpoint, in the op's coordinates (extraction/coords.py: over the discrete log for mul and div,
over the pairs for a pow whose powers collide). Every file is written under
a temporary name and renamed.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from grokking.common.io import atomic_write_bytes
from grokking.common import paths
from grokking.training import tasks
from grokking.training.history import Run
from grokking.training.grid import SweepError, load_points, read_manifest, sweep_dir


FOLDER = "sweep-report"


def report_dir(name: str, media_root: Path | str | None = None) -> Path:
    """media/<sweep>/sweep-report: the sweep's name is its own in runs/, so no run shares it."""
    return paths.confined(media_root or paths.MEDIA_DIR, name) / FOLDER


def digit_logits(W: dict, cfg) -> np.ndarray:
    """The model's digit logits [p*p, p] (x-major, float32) at the weights W: analyse's forward."""
    import torch
    from grokking.training import model
    x, y = tasks.all_pairs(cfg.p)
    P = {n: torch.tensor(W[n])[None] for n in model.PARAM_NAMES}
    with torch.no_grad():
        logits = model.forward(P, torch.tensor(x)[None], torch.tensor(y)[None], mlp_out=False)
    return logits[0, :, :cfg.p].numpy()


def keys_of(logits: np.ndarray, cfg) -> tuple[list[int], list[float]]:
    """Extraction's key frequencies of digit logits [p*p, p] in the op's coordinates
    (extraction/coords.py: over Z_(p−1) for mul and div), with their shares of the variance."""
    from grokking.extraction.coords import coordinates
    from grokking.extraction.extract import key_frequencies_of
    ks, shares = key_frequencies_of(coordinates(cfg.op, cfg.p, cfg.a, cfg.b), logits)
    return ks, [float(shares[k]) for k in ks]


def key_frequencies_at(W: dict, cfg) -> tuple[list[int], list[float]]:
    """Extraction's key frequencies of the weights W, with their shares of the logits' variance."""
    return keys_of(digit_logits(W, cfg), cfg)


def mechanism_at(W: dict, cfg, split: dict) -> dict:
    """What extraction's story check compares at a checkpoint (extraction/extract.py check_at),
    without its probes and selections: the key frequencies with their shares, the restricted test
    loss (docs/science.md §3: the logits' projection on the key frequencies' sum directions; None without
    a key frequency) and the model's own test loss, each in the op's coordinates."""
    from grokking.extraction.coords import coordinates
    from grokking.extraction.extract import model_test_loss, restricted_test_loss
    co = coordinates(cfg.op, cfg.p, cfg.a, cfg.b)
    logits = digit_logits(W, cfg)
    ks, key_shares = keys_of(logits, cfg)
    labels = tasks.answers(cfg.op, *tasks.all_pairs(cfg.p), cfg.p, cfg.a, cfg.b)
    return {"key_frequencies": ks, "key_shares": key_shares,
            "restricted_loss": restricted_test_loss(co, logits, labels, split, ks),
            "model_loss": float(model_test_loss(co, logits, labels, split["test"]))}


def point_row(point, root: Path, entry: dict) -> tuple[dict, dict | None]:
    """The table row of one point and its curves (None when it has no history yet)."""
    row = {"point": point.name, **dict(point.values), "seed": point.cfg.seed, "p": point.cfg.p,
           "epochs": point.cfg.epochs, "seconds": entry.get("seconds"), "key_frequencies": None,
           "key_shares": None, "restricted_loss": None, "model_loss": None, "grokked_flag": False}
    run = Run(point.name, root)
    if not run.exists():
        return {**row, "status": "not started", "epochs_done": 0, "memorised": None, "grokked": "not yet",
                "final_train_acc": None, "final_test_acc": None, "checkpoints": 0, "disk_MiB": 0.0}, None
    m = run.manifest
    met = run.metrics()
    if m.get("train_seconds") is not None:        # every session's, up to the last commit (the trainer's)
        row["seconds"] = round(float(m["train_seconds"]), 2)
    done, ms = m["epochs_done"], m["milestones"]
    # a point extended past its sweep's epochs (training.train on the run, e.g. only the seeds
    # that had not grokked) trains to its own manifest's epochs: that is its cap
    row["epochs"] = int(m["config"].get("epochs", point.cfg.epochs))
    complete = m["status"] == "complete"
    grokked = ms["test_99"] if ms["test_99"] is not None else ("never" if complete else "not yet")
    row.update({"status": m["status"] if complete else f"training {done}/{row['epochs']}",
                "epochs_done": done, "memorised": ms["train_100"], "grokked": grokked,
                "grokked_flag": ms["test_99"] is not None,
                "final_train_acc": float(met["train_acc"][done]), "final_test_acc": float(met["test_acc"][done]),
                "checkpoints": len(m["checkpoints"]), "disk_MiB": run.size_bytes() / 2 ** 20})
    mech = mechanism_at(run.load_checkpoint(run.checkpoint_epochs()[-1]), point.cfg, run.split())
    row.update(mech)
    curve = {"values": dict(point.values), "epoch": np.arange(len(met["test_acc"])),
             "test_acc": np.asarray(met["test_acc"], float), "train_acc": np.asarray(met["train_acc"], float)}
    return row, curve


COLUMNS = ("status", "memorised", "grokked", "final_test_acc", "key_frequencies", "seconds", "checkpoints",
           "disk_MiB")


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return " ".join(map(str, v)) if v else "none"
    return str(v)


def table(rows: list[dict], fields: list[str]) -> tuple[str, str]:
    """(CSV, Markdown) of the rows: the point, its grid values, then COLUMNS."""
    head = ["point", *fields, *COLUMNS]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    for r in rows:
        w.writerow([_cell(r.get(h)) for h in head])
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(_cell(r.get(h)) for h in head) + " |" for r in rows]
    return buf.getvalue(), "\n".join(md) + "\n"


def varying(rows: list[dict], fields: list[str]) -> list[str]:
    return [f for f in fields if len({r[f] for r in rows}) > 1]


def diagram_axes(rows: list[dict], fields: list[str], asked: list[str] | None) -> tuple[str, str | None]:
    """The phase diagram's (x, y) fields: those asked for, else the first two varying fields that
    are not the seed (the seeds are pooled), else the seed."""
    if asked:
        from grokking.training.grid import ALIASES
        asked = [ALIASES.get(a, a) for a in asked]
        bad = [a for a in asked if a not in fields]
        if len(asked) == 2 and asked[0] == asked[1]:
            raise SweepError(f"--axes names {asked[0]} twice; name two different grid fields, or one "
                             f"({', '.join(fields)})")
        if bad or not 1 <= len(asked) <= 2:
            raise SweepError(f"--axes {','.join(asked)}: name one or two of the grid's fields ({', '.join(fields)})")
        return asked[0], (asked[1] if len(asked) > 1 else None)
    v = varying(rows, fields)
    pick = [f for f in v if f != "seed"] or v or fields
    return pick[0], (pick[1] if len(pick) > 1 else None)


def pow_tasks(rows: list[dict], points) -> list[dict]:
    """Each distinct pow task (p, a, b) of the sweep: its label counts and how many points grokked."""
    out = {}
    for r, pt in zip(rows, points):
        c = pt.cfg
        if c.op != "pow":
            continue
        t = out.setdefault((c.p, c.a, c.b), {"p": c.p, "a": c.a, "b": c.b, "n_points": 0, "n_grokked": 0,
                                             "counts": label_counts(c.p, c.a, c.b)})
        t["n_points"] += 1
        t["n_grokked"] += bool(r["grokked_flag"])
    return list(out.values())


def label_counts(p: int, a: int, b: int) -> np.ndarray:
    """How many of the p² pairs have each label (x^a + y^b) mod p."""
    x, y = tasks.all_pairs(p)
    return np.bincount(tasks.answers("pow", x, y, p, a, b), minlength=p)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    plt.close(fig)
    return buf.getvalue()


def collect(name: str, runs_dir=None, progress: bool = True) -> dict:
    """A sweep's points read back: their rows (point_row, with the sweep's name and the point's
    config), the curves of those with a history, and the grid's fields."""
    root = sweep_dir(name, runs_dir)
    points = load_points(root)
    m = read_manifest(root)
    entries = {p["name"]: p for p in m["points"]}
    fields = list(dict.fromkeys(k for p in points for k, _ in p.values))
    rows, series = [], []
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(points), desc=f"sweep-report {name}", unit="point", mininterval=0.5)
    for p in points:
        row, curve = point_row(p, root, entries.get(p.name, {}))
        for f in fields:                         # a field absent from a point's grid: the base value
            row.setdefault(f, getattr(p.cfg, f))
        row.update({"sweep": name, "config": p.cfg.to_dict(), "curve": curve})
        rows.append(row)
        if curve is not None:
            series.append({**curve, "values": {f: row[f] for f in fields}})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return {"name": name, "points": points, "rows": rows, "series": series, "fields": fields,
            "preset": m.get("preset")}


def report(name: str, runs_dir=None, media_root=None, axes: list[str] | None = None, progress: bool = True) -> dict:
    """The sweep's table and figures, and the race of its recipes (race.md, .csv, .json, .png)."""
    from grokking.lab import sweep_figures as F
    got = collect(name, runs_dir, progress)
    points, rows, series, fields = got["points"], got["rows"], got["series"], got["fields"]
    xf, yf = diagram_axes(rows, fields, axes)
    # fields that vary but are neither axis (nor the seed, pooled by design): their points share
    # a cell, which the diagram's title and the command's output say
    pooled = {f: sorted({_cell(r[f]) for r in rows}) for f in varying(rows, fields) if f not in (xf, yf, "seed")}
    note = "; ".join(f"{f} ({', '.join(v)})" for f, v in pooled.items())
    out = report_dir(name, media_root)
    csv_text, md = table(rows, fields)
    title = f"Sweep {name}: grokking epoch" + (f"\ncells pool points of different {note}" if pooled else "")
    files = {"table.csv": csv_text.encode(), "table.md": (f"# Sweep {name}\n\n" + md).encode(),
             "phase_diagram.png": _png(F.phase_diagram(rows, xf, yf, title))}
    if series:
        files["curves.png"] = _png(F.curves(series, varying(rows, fields) or fields))
    if any(r["key_frequencies"] is not None for r in rows):
        files["key_frequencies.png"] = _png(F.key_frequencies(rows))
    pw = pow_tasks(rows, points)
    if pw:
        files["label_balance.png"] = _png(F.label_balance(pw))
    files.update(race_files(race(rows, got["preset"]), [name]))
    for fname, data in files.items():
        atomic_write_bytes(out / fname, data)
    return {"dir": str(out), "files": list(files), "rows": rows, "axes": (xf, yf), "pooled": pooled}


# ---- the race: recipes against each other, seeds pooled -----------------------

RACE_DIR = "race-report"      # media/race-report/: the race of several sweeps
INF = float("inf")
# the config fields recipe_label names (training/config.py)
LAB_FIELDS = ("grokfast", "grokfast_alpha", "grokfast_lamb", "grokfast_window", "optimizer", "loss", "precision",
              "init_scale")
NAMED = {"lr": "lr", "weight_decay": "wd"}


def race_dir(media_root: Path | str | None = None) -> Path:
    return paths.confined(media_root or paths.MEDIA_DIR, RACE_DIR)


def recipe_key(cfg: dict) -> str:
    """A recipe: the config minus its seed (and the checkpoint schedule, the sweep's choice)."""
    import json
    return json.dumps({k: v for k, v in cfg.items() if k not in ("seed", "schedule")}, sort_keys=True)


def recipe_names(cfgs: list[dict], reference: dict | None = None) -> list[str]:
    """Each recipe's name: recipe_label, its lr, then every other field that tells two of the
    raced recipes apart, with this recipe's value, e.g. "adamw lr=0.003", "grokfast-ema a=0.98
    l=2 lr=0.001", "adamw lr=0.001 wd=0.3", "adamw lr=0.001 op=mul". `reference` (the preset's
    config, the baseline's): a field where the recipe has the reference's value is left out, so
    a name without wd= has the preset's wd; None: every such field on every recipe."""
    from grokking.training.config import recipe_label
    keys = [k for k in cfgs[0] if k not in ("seed", "schedule", "lr")] if cfgs else []
    differ = [k for k in keys if len({repr(c.get(k)) for c in cfgs}) > 1]

    def name(c, fields):
        shown = [k for k in fields if reference is None or _fmt(c.get(k)) != _fmt(reference.get(k))]
        return " ".join([recipe_label(c), f"lr={_fmt(c['lr'])}"] + [f"{NAMED.get(k, k)}={_fmt(c.get(k))}" for k in shown])
    names = [name(c, [k for k in differ if k not in LAB_FIELDS]) for c in cfgs]
    if len(set(names)) < len(names):             # the label hides a difference (e.g. alpha without ema)
        names = [name(c, differ) for c in cfgs]
    return names


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def grok_interval(grokked, cap: int) -> tuple[float, float] | None:
    """The grokking epoch as an interval [lo, hi]: exact when the seed grokked, [cap, inf) when it
    finished without grokking (it would take more than the cap), None while it trains."""
    if isinstance(grokked, (int, np.integer)) and not isinstance(grokked, bool):
        return float(grokked), float(grokked)
    return (float(cap), INF) if grokked == "never" else None


def ratio_intervals(ref_lo, ref_hi, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Per seed, the speed-up ref / new as an interval, from the two grokking-epoch intervals:
    [ref_lo / hi, ref_hi / lo] (a seed the reference never grokked gives >= cap / epoch)."""
    ref_lo, ref_hi, lo, hi = (np.asarray(a, float) for a in (ref_lo, ref_hi, lo, hi))
    return ref_lo / hi, ref_hi / np.maximum(lo, 1.0)


def bound(lo: float, hi: float, fmt=lambda v: f"{v:.3g}") -> dict:
    """An interval as JSON (hi None: unbounded) and as text: "350", ">= 3.2", "<= 0.5", "2-4"."""
    lo, hi = float(lo), float(hi)
    if lo == hi:
        text = fmt(lo)
    elif hi == INF:
        text = f">= {fmt(lo)}" if lo > 0 else "unknown"
    elif lo == 0:
        text = f"<= {fmt(hi)}"
    else:
        text = f"{fmt(lo)}-{fmt(hi)}"
    return {"lo": lo, "hi": None if hi == INF else hi, "text": text}


def interval_stats(lo, hi, fmt=lambda v: f"{v:.3g}") -> dict | None:
    """Median, min and max of quantities known as intervals [lo, hi] (each a monotone function of
    its values, so its bounds are the bounds' statistic); None for no values."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if not lo.size:
        return None
    return {k: bound(f(lo), f(hi), fmt) for k, f in (("median", np.median), ("min", np.min), ("max", np.max))}


def seconds_text(v: float) -> str:
    return f"{v:.0f} s" if v < 120 else f"{v / 60:.3g} min" if v < 7200 else f"{v / 3600:.3g} h"


def seed_entry(r: dict) -> dict:
    """One seed of a recipe: its state, grokking epoch interval, seconds per epoch, mechanism."""
    iv = grok_interval(r["grokked"], r["epochs"])
    done = r.get("epochs_done") or 0
    spe = r["seconds"] / done if r.get("seconds") and done else None
    return {"seed": r["seed"], "point": f"{r['sweep']}/{r['point']}", "cap": r["epochs"], "epochs_done": done,
            "state": "grokked" if r["grokked_flag"] else r["grokked"], "grokked": r["grokked"],
            "interval": iv, "seconds_per_epoch": spe, "complete": r.get("status") == "complete",
            "key_frequencies": r.get("key_frequencies"), "key_shares": r.get("key_shares"),
            "restricted_loss": r.get("restricted_loss"), "model_loss": r.get("model_loss")}


def loss_summary(op: str, seeds: list[dict]) -> dict:
    """The final restricted test loss against the model's own, median over the complete seeds, and
    how many have restricted < model (each in the op's coordinates); "n/a (...)" where no seed has them."""
    have = [s for s in seeds if s["complete"] and s["restricted_loss"] is not None and s["model_loss"] is not None]
    if not have:
        why = ("n/a (no complete seed)" if not any(s["complete"] for s in seeds)
               else "n/a (no key frequency at the last checkpoint)")
        return {"text": why, "below": why, "restricted": None, "model": None, "n_below": None, "n": 0}
    rl = float(np.median([s["restricted_loss"] for s in have]))
    ml = float(np.median([s["model_loss"] for s in have]))
    n_below = sum(s["restricted_loss"] < s["model_loss"] for s in have)
    return {"text": f"{rl:.3g} / {ml:.3g}", "below": f"{n_below}/{len(have)}", "restricted": rl, "model": ml,
            "n_below": n_below, "n": len(have)}


def keys_text(seeds: list[dict], op: str) -> str:
    """Each complete seed's key frequencies at its last checkpoint, with their shares; for mul and
    div they are frequencies over the discrete log (Z_(p−1), extraction/coords.py), and say so."""
    parts = []
    for s in seeds:
        ks = s["key_frequencies"]
        if ks is None or not s["complete"]:
            continue
        inner = ", ".join(f"{k} ({sh:.0%})" for k, sh in zip(ks, s["key_shares"])) if ks else "none"
        parts.append(f"s{s['seed']}: {inner}")
    over = " (over the discrete log, Z_(p−1))" if op in ("mul", "div") and parts else ""
    return ("; ".join(parts) + over) or "n/a (no complete seed)"


def recipe_summary(name: str, rows: list[dict]) -> dict:
    """One recipe's line of the race, from its seeds' rows."""
    from grokking.training.config import recipe_label
    seeds = sorted((seed_entry(r) for r in rows), key=lambda s: s["seed"])
    cfg = {k: v for k, v in rows[0]["config"].items() if k not in ("seed", "schedule")}
    known = [s for s in seeds if s["interval"] is not None]
    lo, hi = np.array([s["interval"] for s in known], float).reshape(-1, 2).T
    timed = [s for s in known if s["seconds_per_epoch"] is not None]
    t_lo = [s["interval"][0] * s["seconds_per_epoch"] for s in timed]
    t_hi = [s["interval"][1] * s["seconds_per_epoch"] for s in timed]
    return {"recipe": name, "label": recipe_label(cfg), "config": cfg, "op": cfg["op"],
            "sweeps": sorted({r["sweep"] for r in rows}), "n_seeds": len(seeds),
            "caps": sorted({s["cap"] for s in seeds}),
            "n_grokked": sum(s["state"] == "grokked" for s in seeds),
            "n_never": sum(s["state"] == "never" for s in seeds),
            "n_not_yet": sum(s["state"] == "not yet" for s in seeds),
            "grok": interval_stats(lo, hi, lambda v: f"{v:.0f}"),
            "wall": interval_stats(t_lo, t_hi, seconds_text),
            "losses": loss_summary(cfg["op"], seeds), "keys": keys_text(seeds, cfg["op"]),
            "seeds": seeds, "role": []}


def _rank(r: dict) -> tuple[float, float]:
    """The order of "lowest median grokking epoch": its lower bound, then its upper (unbounded last);
    a recipe with no finished seed last."""
    g = r["grok"]
    if g is None:
        return INF, INF
    m = g["median"]
    return m["lo"], INF if m["hi"] is None else m["hi"]


def baseline_index(recipes: list[dict], preset: dict) -> int | None:
    """The baseline: plain adamw at the preset's lr; where several, the one with the most other
    fields as the preset has them (wd, op, p, ...), then the first."""
    at = [i for i, r in enumerate(recipes) if r["label"] == "adamw" and r["config"]["lr"] == preset["lr"]]
    alike = lambda i: sum(recipes[i]["config"].get(k) == v for k, v in preset.items())
    return max(at, key=lambda i: (alike(i), -i)) if at else None


def control_index(recipes: list[dict], baseline: int | None) -> int | None:
    """The lr-matched control: among the adamw recipes that differ from the baseline only in lr
    (without a baseline: the largest such family), the lowest median grokking epoch."""
    def family(r):
        return recipe_key({**r["config"], "lr": None})
    adam = [i for i, r in enumerate(recipes) if r["label"] == "adamw"]
    if not adam:
        return None
    if baseline is not None:
        fam = family(recipes[baseline])
    else:
        counts = {}
        for i in adam:
            counts[family(recipes[i])] = counts.get(family(recipes[i]), 0) + 1
        fam = max(counts, key=counts.get)
    members = [i for i in adam if family(recipes[i]) == fam]
    return min(members, key=lambda i: _rank(recipes[i]))


def speedup(ref: dict, new: dict) -> dict | None:
    """The reference's grokking epoch over the recipe's, per seed both have finished (paired by
    seed): median and min of the per-seed ratios, bounds where a seed never grokked within the cap."""
    a = {s["seed"]: s["interval"] for s in ref["seeds"] if s["interval"] is not None}
    b = {s["seed"]: s["interval"] for s in new["seeds"] if s["interval"] is not None}
    common = sorted(set(a) & set(b))
    if not common:
        return None
    lo, hi = ratio_intervals([a[s][0] for s in common], [a[s][1] for s in common],
                             [b[s][0] for s in common], [b[s][1] for s in common])
    fmt = lambda v: f"{v:.2f}x"
    st = interval_stats(lo, hi, fmt)
    return {"seeds": common, "per_seed": {str(s): bound(l, h, fmt) for s, l, h in zip(common, lo, hi)},
            "median": st["median"], "min": st["min"],
            "text": f"{st['median']['text']} (min {st['min']['text']}, {len(common)} seeds)"}


def race(rows: list[dict], preset: str | None) -> dict:
    """The race: the rows (point_row, with config and sweep) grouped into recipes, each summarised,
    the baseline and the lr-matched control marked, every recipe's speed-up against both."""
    from grokking.training.config import PRESETS
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(recipe_key(r["config"]), []).append(r)
    base_cfg = PRESETS.get(preset or "", PRESETS["canonical"]).to_dict()
    names = recipe_names([g[0]["config"] for g in groups.values()], base_cfg)
    recipes = [recipe_summary(n, g) for n, g in zip(names, groups.values())]
    b = baseline_index(recipes, base_cfg)
    c = control_index(recipes, b)
    if b is not None:
        recipes[b]["role"].append("baseline")
    if c is not None:
        recipes[c]["role"].append("control (best lr)")
    for r in recipes:
        r["vs_baseline"] = speedup(recipes[b], r) if b is not None else None
        r["vs_control"] = speedup(recipes[c], r) if c is not None else None
    return {"preset": preset, "preset_lr": base_cfg["lr"], "baseline": None if b is None else recipes[b]["recipe"],
            "control": None if c is None else recipes[c]["recipe"], "recipes": recipes,
            "curves": [[r["curve"] for r in g if r.get("curve") is not None] for g in groups.values()]}


RACE_COLUMNS = ("recipe", "role", "seeds", "grokked at (median)", "range", "never", "not yet",
                "wall time to grok (median)", "speed-up vs baseline", "speed-up vs control",
                "restricted / model test loss (median)", "restricted < model", "key frequencies (share)")


def race_rows(rc: dict) -> list[list[str]]:
    """The race table's cells, one list per recipe, in RACE_COLUMNS' order."""
    out = []
    for r in rc["recipes"]:
        g, w = r["grok"], r["wall"]
        vs = [("itself" if role in r["role"] else (r[k]["text"] if r[k] else "n/a (no seed finished in both)"))
              if rc[ref] is not None else f"n/a (no {ref})"
              for k, ref, role in (("vs_baseline", "baseline", "baseline"),
                                   ("vs_control", "control", "control (best lr)"))]
        out.append([r["recipe"], ", ".join(r["role"]), str(r["n_seeds"]),
                    g["median"]["text"] if g else "n/a (no seed finished)",
                    f"{g['min']['text']} - {g['max']['text']}" if g else "",
                    str(r["n_never"]), str(r["n_not_yet"]), w["median"]["text"] if w else "n/a (no timing)", *vs,
                    r["losses"]["text"], r["losses"]["below"], r["keys"]])
    return out


def race_notes(rc: dict, names: list[str]) -> list[str]:
    caps = sorted({c for r in rc["recipes"] for c in r["caps"]})
    return [
        f"Sweeps: {', '.join(names)}. A recipe is a point's config minus its seed; its seeds are pooled. A "
        f"recipe's name gives its lr and every field on which the raced recipes differ, except where it has the "
        f"preset's value (a name without wd= has the preset's weight decay).",
        f"grokked at: the first epoch with test accuracy >= 99 % (the run's milestone test_99; the test split is "
        f"measured every test_every epochs). The cap is each run's epochs ({', '.join(map(str, caps))}); a seed that "
        f"finished without grokking is 'never' and counts as >= cap in the median and range. 'not yet': still "
        f"training, left out of every statistic.",
        f"baseline: adamw at the preset's lr ({_fmt(rc['preset_lr'])}, preset {rc['preset']}): "
        f"{rc['baseline'] or 'none in this race'}. control (best lr): among the adamw recipes that differ from "
        f"it only in lr, the lowest median grokking epoch: {rc['control'] or 'none in this race'}.",
        "speed-up: the reference's grokking epoch over the recipe's, per seed (paired by seed, over the seeds "
        "finished in both); the median and the min of those ratios. A seed the reference never grokked within "
        "its cap gives a lower bound (>= cap / epoch), one the recipe never grokked an upper bound.",
        "wall time: the point's training seconds (its manifest's train_seconds) per epoch trained, times the "
        "grokking epoch. Seeds trained as one batched model share the batch's wall time equally "
        "(training/train.py); sweeps trained at the same time shared the cores, so compare times only between "
        "recipes trained alike.",
        "restricted / model test loss: at each complete seed's last checkpoint, the restricted loss (docs/science.md §3: "
        "the logits' projection on the key frequencies' sum directions) against the model's own test loss, as "
        "extraction's story check computes them; 'restricted < model' counts the seeds where the key "
        "frequencies alone do better. Key frequencies: extraction's rule at each seed's last checkpoint, with "
        "their shares of the logits' variance.",
    ]


def race_table(rc: dict, names: list[str]) -> tuple[str, str]:
    """(CSV, Markdown) of the race: one row per recipe, then the notes (Markdown only)."""
    cells = race_rows(rc)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RACE_COLUMNS)
    w.writerows(cells)
    esc = lambda t: t.replace("|", "\\|")
    md = [f"# The race: {', '.join(names)}", "", "| " + " | ".join(RACE_COLUMNS) + " |",
          "|" + "---|" * len(RACE_COLUMNS)]
    md += ["| " + " | ".join(esc(c) for c in row) + " |" for row in cells]
    md += ["", *[f"- {n}" for n in race_notes(rc, names)]]
    return buf.getvalue(), "\n".join(md) + "\n"


def race_files(rc: dict, names: list[str]) -> dict[str, bytes]:
    """race.md, race.csv, race.json (every number, per seed) and race.png."""
    import json
    from grokking.lab import race_figure as FR
    csv_text, md = race_table(rc, names)
    data = {"sweeps": names, **{k: v for k, v in rc.items() if k != "curves"}, "notes": race_notes(rc, names)}
    return {"race.csv": csv_text.encode(), "race.md": md.encode(),
            "race.json": (json.dumps(plain(data), indent=1, allow_nan=False) + "\n").encode(),
            "race.png": _png(FR.race(rc))}


def plain(v):
    """v as strict JSON values: numpy scalars as Python's, tuples as lists, inf and NaN as None (an
    unbounded interval's end; the text beside it says what it means)."""
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def race_report(names: list[str], runs_dir=None, media_root=None, progress: bool = True) -> dict:
    """The race of several sweeps' recipes, into media/race-report/. Every sweep is found before
    anything is read or written; a sweep named twice is refused (its seeds would count twice)."""
    seen: dict = {}
    for n in names:
        root = sweep_dir(n, runs_dir)
        key = root.resolve()
        if key in seen:
            raise SweepError(f"sweep {n!r} is named twice" + (f" (as {seen[key]!r} too)" if seen[key] != n else "")
                             + ": the race would count each of its seeds twice; name each sweep once")
        seen[key] = n
        load_points(root)
    got = [collect(n, runs_dir, progress) for n in names]
    presets = list(dict.fromkeys(g["preset"] for g in got))
    rc = race([r for g in got for r in g["rows"]], presets[0])
    files = race_files(rc, list(names))
    out = race_dir(media_root)
    for fname, data in files.items():
        atomic_write_bytes(out / fname, data)
    return {"dir": str(out), "files": list(files), "race": rc, "presets": presets}
