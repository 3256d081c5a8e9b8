"""`grokking scene NAME` and `grokking scenes`: render the Manim scenes from assets/<run>/.

    grokking scene --list
    grokking scene GrokkingCurve --run canonical --quality medium
    grokking scene Clock --still                 # the last frame as a PNG
    grokking scenes --quality low                # every scene

Output under media/: media/videos/<run>/<quality>/<Scene>.<mp4|gif>, media/images/<run>/<Scene>.png
(`output_dirs`; <quality> as Manim names it, e.g. 480p15). manim is imported only when something is
rendered. Manim's own command line renders the same scenes into the same places (manim.cfg):

    GROKKING_RUN=quick manim -qm scenes/waves.py NeuronWaves

"""
from __future__ import annotations

import time
from pathlib import Path

import click

from grokking.common import paths

from grokking.training.config import DEFAULT_RUN

from .catalog import SCENES

QUALITIES = {"low": "low_quality", "medium": "medium_quality", "high": "high_quality",
             "4k": "fourk_quality"}


def render(name: str, run: str = DEFAULT_RUN, quality: str = "low", fmt: str = "mp4",
           still: bool = False, media_dir: str | Path | None = None, root: str | Path | None = None,
           pixel_width: int | None = None, pixel_height: int | None = None,
           frame_rate: float | None = None, progress: bool = True) -> Path:
    """Render one scene; returns the written file. Raises AssetsError when the run's assets are
    missing or corrupt, data.NotFound (an AssetsError) when the run lacks the mechanism it shows."""
    from . import data
    with data.using(run, root):
        data.check()
        why = data.absent(name)
        if why:
            raise data.NotFound(f"{name} not drawn: {why}", reason=why)
        return _render(name, run, quality, fmt, still, Path(media_dir or paths.MEDIA_DIR), pixel_width, pixel_height, frame_rate, progress)


def output_dirs(media: Path, run: str) -> dict[str, str]:
    """Where a scene's files go (manim.cfg at the repository root says the same for Manim's own
    command line, with {run} filled from GROKKING_RUN): {quality} is Manim's, e.g. 480p15."""
    return {"media_dir": str(media), "video_dir": str(media / "videos" / run / "{quality}"),
            "images_dir": str(media / "images" / run),
            "partial_movie_dir": str(media / "videos" / run / "{quality}" / "partial_movie_files" / "{scene_name}")}


def _render(name, run, quality, fmt, still, media: Path, pixel_width, pixel_height, frame_rate, progress) -> Path:
    from manim import config, tempconfig
    from .catalog import scene_class
    cls = scene_class(name)
    opts = {
        "quality": QUALITIES[quality], **output_dirs(media, run),
        "format": "png" if (still or fmt == "png") else fmt,
        "output_file": name, "disable_caching": True, "verbosity": "WARNING",
        "progress_bar": "display" if progress else "none",
    }
    with tempconfig(opts):
        if pixel_width:
            config.pixel_width = pixel_width
            config.pixel_height = pixel_height or int(round(pixel_width * 9 / 16))
            config.frame_width = config.frame_height * config.pixel_width / config.pixel_height
        if frame_rate:
            config.frame_rate = frame_rate
        scene = cls()
        scene.render()
        path = scene.output_plan.primary_artifact
    return Path(path) if path else None


def _list():
    width = max(map(len, SCENES))
    for n, (_, desc, ts) in SCENES.items():
        click.echo(f"{n.ljust(width)}  {ts:>5}  {desc}")


def _options(f):
    f = click.option("--run", default=DEFAULT_RUN, show_default=True, help="Which assets/<run>/ to draw from.")(f)
    f = click.option("--quality", type=click.Choice(list(QUALITIES)), default="low", show_default=True)(f)
    f = click.option("--format", "fmt", type=click.Choice(["mp4", "gif", "png"]), default="mp4", show_default=True,
                     help="png: the last frame only.")(f)
    f = click.option("--still", is_flag=True, help="Render only the last frame (PNG).")(f)
    return f


@click.command("scene")
@click.argument("name", required=False)
@_options
@click.option("--list", "list_", is_flag=True, help="Name every scene with a one-line description.")
def scene(name, run, quality, fmt, still, list_):
    """Render one Manim scene (NAME; see --list) from assets/<run>/ into media/."""
    if list_ or not name:
        _list()
        return
    if name not in SCENES:
        match = {n.lower(): n for n in SCENES}.get(name.lower())
        if not match:
            raise click.UsageError(f"unknown scene {name!r}; one of: {', '.join(SCENES)}")
        name = match
    t = time.perf_counter()
    path = render(name, run, quality, fmt, still)
    click.echo(f"{name}: {path} ({time.perf_counter() - t:.1f}s)")


@click.command("scenes")
@_options
def scenes(run, quality, fmt, still):
    """Render every scene from assets/<run>/ into media/ (a scene whose mechanism the run lacks
    is skipped with the reason)."""
    from .data import NotFound
    for name in SCENES:
        t = time.perf_counter()
        try:
            path = render(name, run, quality, fmt, still)
        except NotFound as e:
            click.echo(f"{name}: skipped: {e}")
            continue
        click.echo(f"{name}: {path} ({time.perf_counter() - t:.1f}s)")
