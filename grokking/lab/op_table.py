#!/usr/bin/env python
"""Every op in its own coordinates, one row per run (docs/science.md §9; results/other-ops.md).
Trains nothing: train the runs first, e.g.

    grokking train --preset fast --op mul --seeds 0,1,2 --run mul
    python -m grokking.lab.op_table mul-s0 mul-s1 mul-s2 [--json out.json]

Each run is checked at its last checkpoint as extraction checks a run (extraction/extract.py
check_at), in the op's coordinates (extraction/coords.py): the group its answer adds in, the
grokking epoch, the key frequencies with their shares, the restricted against the model's test
loss, the logit approximation, mul and div's zero pairs, pow's collisions, and the story check's
rows. Printed as Markdown.
"""
from __future__ import annotations

import json
from pathlib import Path

import click


def task_label(cfg) -> str:
    from grokking.extraction.coords import sup
    if cfg.op == "pow":
        return f"pow x{sup(cfg.a)} + y{sup(cfg.b)}"
    return cfg.op


def row(run) -> dict:
    """One run's row, at its last checkpoint."""
    from grokking.extraction.extract import check_at
    epoch = run.checkpoint_epochs()[-1]
    S = check_at(run, epoch)
    crit = {c["name"]: c for c in S["story_check"]["criteria"]}
    alg = crit["algorithm"]
    add = S["additive"]
    ms = run.manifest["milestones"]
    return {"run": run.name, "task": task_label(run.config), "seed": run.config.seed, "epoch": epoch,
            "complete": run.manifest["status"] == "complete",
            "group": f"Z_{add['n']}" + (f" (log base {add['generator']})" if add.get("generator") else "")
                     + ("" if add.get("grid", True) else ", no grid"),
            "memorised": ms.get("train_100"), "grokked": ms.get("test_99"),
            "keys": {int(k): round(S["key_shares"][str(k)], 3) for k in S["key_frequencies"]},
            "restricted_test_loss": alg["restricted_test_loss"], "model_test_loss": alg["model_test_loss"],
            "logit_ev": alg["explained_variance"],
            "zero_pairs": (add.get("zero_pairs") or {}).get("accuracy"),
            "collision_share": add.get("collision_share"),
            "passed": [n for n, c in crit.items() if c["passed"]], "failed": [n for n, c in crit.items() if not c["passed"]]}


def _num(v, fmt="{:.2g}") -> str:
    return "—" if v is None else fmt.format(v)


def markdown(rows: list[dict]) -> str:
    head = ("| run | task | group | memorised | grokked | key frequencies (share) | restricted / model test loss "
            "| logit approx. | zero pairs acc. | collisions | story check: failed rows |")
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        keys = ", ".join(f"{k} ({v:.0%})" for k, v in r["keys"].items()) or "none"
        below = (r["restricted_test_loss"] is not None and r["model_test_loss"] is not None
                 and r["restricted_test_loss"] < r["model_test_loss"])
        loss = f"{_num(r['restricted_test_loss'])} / {_num(r['model_test_loss'])}" + (" (below)" if below else "")
        coll = ", ".join(f"{k}: {v:.0%}" for k, v in (r["collision_share"] or {}).items()) or "—"
        name = r["run"] if r.get("complete", True) else f"{r['run']} (training, at {r['epoch']})"
        out.append(f"| {name} | {r['task']} | {r['group']} | {_num(r['memorised'], '{}')} | "
                   f"{_num(r['grokked'], '{}') if r['grokked'] is not None else 'never'} | {keys} | {loss} | "
                   f"{r['logit_ev']:.1%} | {_num(r['zero_pairs'], '{:.0%}')} | {coll} | "
                   f"{', '.join(r['failed']) or 'none (PASS)'} |")
    return "\n".join(out)


@click.command()
@click.argument("runs", nargs=-1, required=True)
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write the rows as JSON too.")
def main(runs, json_out):
    """One row per RUN (trained runs in runs/)."""
    from grokking.training.history import HistoryError, Run
    rows = []
    for name in runs:
        try:
            rows.append(row(Run(name)))
        except HistoryError as e:
            raise click.UsageError(str(e)) from None
        click.echo(markdown(rows[-1:]).splitlines()[-1], err=True)
    click.echo(markdown(rows))
    if json_out:
        Path(json_out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
