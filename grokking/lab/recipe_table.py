#!/usr/bin/env python
"""The story check over sweeps: one row per point (recipe x seed), for choosing a default recipe
(docs/lab.md). Trains nothing: run the sweeps first, e.g.

    grokking sweep rA --preset video --grid "smooth=3e-4 seed=0,1,2,3,4"
    python -m grokking.lab.recipe_table rA rB [--at 6000,8000] [--json out.json]

Each point is checked at its last checkpoint (and at the checkpoints nearest to --at), as
extraction checks a run (extraction/extract.py check_at): story frequency, key frequencies and
their shares of the logit variance, restricted vs the model's test loss, the logit
approximation, the LogitSurface share, whether the crest qualifies, PASS/FAIL; with the grokking
epoch and the point's training seconds from the sweep. Printed as Markdown.
"""
from __future__ import annotations

import json
from pathlib import Path

import click



def row(run, epoch: int, seconds: float | None) -> dict:
    from grokking.extraction.extract import check_at
    S = check_at(run, epoch)
    crit = {c["name"]: c for c in S["story_check"]["criteria"]}
    alg = crit["algorithm"]
    m = run.manifest
    cfg = run.config
    from grokking.training.config import recipe_label
    lab = recipe_label(cfg.to_dict())
    return {"run": run.name, "recipe": (f"lr {cfg.lr:g}, " if cfg.lr != 1e-3 else "") + f"smooth {cfg.smooth:g}"
            + (f" until {cfg.smooth_until}" if cfg.smooth_until else "")
            + (f", frac {cfg.frac:g}" if cfg.frac != 0.3 else "") + (f", wd {cfg.weight_decay:g}" if cfg.weight_decay != 1 else "")
            + ("" if lab == "adamw" else f", {lab}"),
            "seed": cfg.seed, "epoch": epoch, "story_k": S["story"].get("k"),
            "keys": {int(k): round(S["key_shares"][str(k)], 3) for k in S["key_frequencies"]},
            "harmonics": S.get("key_harmonics", {}),
            "restricted_test_loss": alg["restricted_test_loss"], "model_test_loss": alg["model_test_loss"],
            "logit_ev": alg["explained_variance"], "on_line": S["selections"]["logit"]["on_line_fraction"],
            "crest_qualifies": bool(S["selections"]["crest"].get("qualifies")),
            "verdicts": {k: c["passed"] for k, c in crit.items()}, "passed": S["story_check"]["passed"],
            "test_99": m["milestones"]["test_99"], "seconds": seconds,
            "fit": crit["delay"]["fit_epoch"], "grok": crit["delay"]["grok_epoch"], "delay": crit["delay"]["ratio"],
            "steady": crit["steady"]["value"]}


def markdown(rows: list[dict]) -> str:
    head = ("| recipe | seed | epoch | story k | key frequencies (share of logit variance) | restricted / model "
            "test loss | logit approx. | LogitSurface on line | crest qualifies | train 99 % → test 99 % (delay) | check | train s |")
    out = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for r in rows:
        keys = ", ".join(f"{k} ({v:.0%})" + (" harmonic" if str(k) in r["harmonics"] else "") for k, v in r["keys"].items())
        fails = [k for k, v in r["verdicts"].items() if not v]
        rl, ml = r["restricted_test_loss"], r["model_test_loss"]
        loss = f"{rl:.2g} / {ml:.2g}" if rl is not None and ml is not None else "n/a"
        delay = "-" if r["delay"] is None else f"{r['delay']:.0f}x"
        out.append(f"| {r['recipe']} | {r['seed']} | {r['epoch']} | {r['story_k']} | {keys} | {loss} | "
                   f"{r['logit_ev']:.0%} | {r['on_line']:.0%} | {'yes' if r['crest_qualifies'] else 'no'} | "
                   + f"{r['fit']} → {r['grok']} ({delay}) | "
                   + ("PASS" if r["passed"] else "FAIL: " + ", ".join(fails))
                   + f" | {'' if r['seconds'] is None else round(r['seconds'])} |")
    return "\n".join(out)


@click.command()
@click.argument("sweeps", nargs=-1, required=True)
@click.option("--at", default="", help="Also check the checkpoints nearest to these epochs (comma-separated).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write the rows as JSON too.")
def main(sweeps, at, json_out):
    import torch
    torch.set_num_threads(1)
    from grokking.training import grid as sw
    from grokking.common.paths import RUNS_DIR
    from grokking.training.history import Run
    rows = []
    for name in sweeps:
        man = sw.read_manifest(Path(RUNS_DIR) / name)
        if man is None:
            raise click.UsageError(f"no sweep {name!r} in {RUNS_DIR}/")
        for pt in man["points"]:
            run = Run(f"{name}/{pt['name']}")
            if not run.exists() or not run.checkpoint_epochs():
                continue
            eps = run.checkpoint_epochs()
            want = [min(eps, key=lambda e: abs(e - int(a))) for a in at.split(",") if a.strip()] + [eps[-1]]
            for e in dict.fromkeys(want):
                rows.append(row(run, e, pt.get("seconds")))
                click.echo(markdown(rows[-1:]).splitlines()[-1], err=True)
    click.echo(markdown(rows))
    if json_out:
        Path(json_out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
