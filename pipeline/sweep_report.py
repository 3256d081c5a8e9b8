"""`render.py sweep-report NAME`: a sweep's table and figures, in media/<sweep>/sweep-report/.

    table.csv, table.md   per point: its grid values, status, epoch of 100 % train accuracy
                          (memorised), epoch of >= 99 % test accuracy (grokked, or "never"),
                          final accuracies, key frequencies, training seconds, disk
    phase_diagram.png     grokking epoch over two grid axes (figures/sweep.py)
    curves.png            test accuracy of every point, per varying axis
    key_frequencies.png   (add tasks) key frequencies of every point, by seed
    label_balance.png     (pow tasks) the label distribution beside whether the task grokked

Key frequencies are extraction's rule (extraction/mechanism.key_frequencies) at a point's last
checkpoint; it describes (x + y) mod p, so only add tasks get them. Every file is written under
a temporary name and renamed.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from common.io import atomic_write_bytes
from training import paths, tasks
from training.history import Run
from training.sweep import SweepError, load_points, read_manifest, sweep_dir

from .make import MEDIA

FOLDER = "sweep-report"


def report_dir(name: str, media_root: Path | str | None = None) -> Path:
    """media/<sweep>/sweep-report: the sweep's name is its own in runs/, so no run shares it."""
    return paths.confined(media_root or MEDIA, name) / FOLDER


def key_frequencies_at(W: dict, cfg) -> tuple[list[int], list[float]]:
    """Extraction's key frequencies of the weights W, with their shares of the logits' variance."""
    import torch
    from extraction.mechanism import key_frequencies
    from training import model
    x, y = tasks.all_pairs(cfg.p)
    P = {n: torch.tensor(W[n])[None] for n in model.PARAM_NAMES}
    with torch.no_grad():
        logits = model.forward(P, torch.tensor(x)[None], torch.tensor(y)[None], mlp_out=False)
    ks, shares = key_frequencies(logits[0, :, :cfg.p].double().numpy(), cfg.p)
    return ks, [float(shares[k]) for k in ks]


def point_row(point, root: Path, entry: dict) -> tuple[dict, dict | None]:
    """The table row of one point and its curves (None when it has no history yet)."""
    row = {"point": point.name, **dict(point.values), "seed": point.cfg.seed, "p": point.cfg.p,
           "epochs": point.cfg.epochs, "seconds": entry.get("seconds"), "key_frequencies": None,
           "key_shares": None, "grokked_flag": False}
    run = Run(point.name, root)
    if not run.exists():
        return {**row, "status": "not started", "epochs_done": 0, "memorised": None, "grokked": "not yet",
                "final_train_acc": None, "final_test_acc": None, "checkpoints": 0, "disk_MiB": 0.0}, None
    m = run.manifest
    met = run.metrics()
    if m.get("train_seconds") is not None:        # every session's, up to the last commit (the trainer's)
        row["seconds"] = round(float(m["train_seconds"]), 2)
    done, ms = m["epochs_done"], m["milestones"]
    complete = m["status"] == "complete"
    grokked = ms["test_99"] if ms["test_99"] is not None else ("never" if complete else "not yet")
    row.update({"status": m["status"] if complete else f"training {done}/{point.cfg.epochs}",
                "epochs_done": done, "memorised": ms["train_100"], "grokked": grokked,
                "grokked_flag": ms["test_99"] is not None,
                "final_train_acc": float(met["train_acc"][done]), "final_test_acc": float(met["test_acc"][done]),
                "checkpoints": len(m["checkpoints"]), "disk_MiB": run.size_bytes() / 2 ** 20})
    if point.cfg.op == "add":
        last = run.checkpoint_epochs()[-1]
        row["key_frequencies"], row["key_shares"] = key_frequencies_at(run.load_checkpoint(last), point.cfg)
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
        from training.sweep import ALIASES
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


def report(name: str, runs_dir=None, media_root=None, axes: list[str] | None = None, progress: bool = True) -> dict:
    from figures import sweep as F
    root = sweep_dir(name, runs_dir)
    points = load_points(root)
    entries = {p["name"]: p for p in read_manifest(root)["points"]}
    fields = list(dict.fromkeys(k for p in points for k, _ in p.values))
    rows, series = [], []
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(points), desc="sweep-report", unit="point", mininterval=0.5)
    for p in points:
        row, curve = point_row(p, root, entries.get(p.name, {}))
        for f in fields:                         # a field absent from a point's grid: the base value
            row.setdefault(f, getattr(p.cfg, f))
        rows.append(row)
        if curve is not None:
            series.append({**curve, "values": {f: row[f] for f in fields}})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
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
    for fname, data in files.items():
        atomic_write_bytes(out / fname, data)
    return {"dir": str(out), "files": list(files), "rows": rows, "axes": (xf, yf), "pooled": pooled}
