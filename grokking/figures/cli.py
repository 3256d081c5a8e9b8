"""`grokking figures`: the publication figures of a run (matplotlib and imageio load lazily)."""
from __future__ import annotations

import time
from pathlib import Path

import click

from grokking.training.config import DEFAULT_RUN

ALL_FORMATS = ("pdf", "svg", "png", "mp4", "gif")


def _formats(value: str | None) -> tuple[str, ...]:
    if not value:
        return ALL_FORMATS
    fmts = tuple(f.strip().lower().lstrip(".") for f in value.split(",") if f.strip())
    bad = [f for f in fmts if f not in ALL_FORMATS]
    if bad or not fmts:
        raise click.BadParameter(f"{bad[0] if bad else value!r} is not one of {','.join(ALL_FORMATS)}",
                                 param_hint="--format")
    return fmts


@click.command("figures")
@click.option("--run", "run_name", default=DEFAULT_RUN, show_default=True, help="Assets to draw from: assets/<run>/.")
@click.option("--only", default=None, metavar="NAME[,NAME]", help="Build only these figures (see --list).")
@click.option("--format", "fmt", default=None, metavar="FMT[,FMT]",
              help="Formats to write among pdf,svg,png (static) and mp4,gif (animations); default all.")
@click.option("--frames", default=150, show_default=True, type=click.IntRange(1, 2000),
              help="At most this many checkpoints per animation.")
@click.option("--assets", "assets_root", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Root of the assets folders (default: assets/ or $GROKKING_ASSETS).")
@click.option("--out", "outdir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: media/figures/<run>/).")
@click.option("--list", "list_", is_flag=True, help="Name every figure and exit.")
def figures(run_name, only, fmt, frames, assets_root, outdir, list_):
    """Publication figures (PDF, SVG, PNG at 300 dpi) and animations (MP4, GIF) from assets/<run>/.

    A figure whose data the extraction did not find is skipped with a one-line reason."""
    from .build import build, catalogue
    cat = catalogue()
    if list_:
        width = max(map(len, cat))
        for name, (_, kind, desc) in cat.items():
            click.echo(f"{name.ljust(width)}  {desc}")
        return
    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    for n in names or []:
        if n not in cat:
            raise click.BadParameter(f"unknown figure {n!r}; `grokking figures --list` names them",
                                     param_hint="--only")
    formats = _formats(fmt)
    t0 = time.perf_counter()
    results = build(run_name, root=assets_root, outdir=outdir, only=names, formats=formats, frames=frames,
                    log=lambda line: click.echo(line, err=True))
    made = [r for r in results if r.files]
    skipped = [r.name for r in results if r.skipped]
    failed = [r.name for r in results if r.failed]
    where = made[0].files[0].parent if made else (outdir or f"media/figures/{run_name}")
    click.echo(f"{len(made)} of {len(results)} figures in {where} ({time.perf_counter() - t0:.0f}s)"
               + (f"; skipped: {', '.join(skipped)}" if skipped else ""))
    if failed:
        raise click.ClickException(f"failed: {', '.join(failed)} (errors above)")
    if not made:
        raise click.ClickException("no figure was made (see the reasons above)")
