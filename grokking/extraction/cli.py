"""`grokking extract`: a checkpoint history in, assets/<run>/ out."""
from __future__ import annotations

import click

from grokking.training.config import DEFAULT_RUN

from .settings import DEFAULT_OUTPUT, DEFAULT_T

LEFT_OUT = "left out: as the run's last extraction was asked, else"


@click.command("extract")
@click.option("--run", "run_name", default=DEFAULT_RUN, show_default=True)
@click.option("--analysis-epoch", type=int, help=f"Checkpoint to analyse ({LEFT_OUT} the last).")
@click.option("--T", "T", type=int, help=f"Target sum of the crest, taken mod p ({LEFT_OUT} {DEFAULT_T}).")
@click.option("--output", type=int, help=f"Output whose logit surface is shown ({LEFT_OUT} {DEFAULT_OUTPUT}).")
@click.option("--story-k", "story_k", type=int,
              help=f"Key frequency the story shows where it shows one ({LEFT_OUT} the lowest key frequency).")
@click.option("--partial", is_flag=True, help="Extract a run that is still training.")
@click.option("--force", is_flag=True, help="Re-extract even when up to date.")
@click.option("--quiet", is_flag=True)
def extract(run_name, analysis_epoch, T, output, story_k, partial, force, quiet):
    """Analyse a trained run: Fourier structure, probes, progress measures -> assets/<run>/."""
    from .extract import extract as run_extract
    r = run_extract(run_name, analysis_epoch=analysis_epoch, T=T, output=output, story_k=story_k, force=force,
                    partial=partial, progress=not quiet)
    if r["skipped"]:
        click.echo(f"{r['dir']} is up to date: nothing to do (--force re-extracts)")
        return
    s = r["summary"]
    click.echo(f"wrote {r['dir']}/ in {s['extraction_seconds']:.0f}s")
    if not s["grokked"]:
        click.echo(f"note: run {run_name!r} never grokked; selections that need the mechanism report none found")
    from grokking.common.assets import Story
    story = Story.from_json(s["story"])
    click.echo(f"key frequencies: {', '.join(s['key_labels']) or 'none'}; "
               + (f"the story shows k={story.k} ({story.label}); " if story.found else "")
               + f"{s['neurons']['share_clustered']:.0%} of neurons clustered; "
               f"logit approximation explains {s['logit_approx']['explained_variance']:.1%}")
    from .story_check import lines
    for line in lines(s["story_check"]):
        click.echo(line)
