#!/usr/bin/env python
"""A contact sheet of rendered scenes: a few frames of each video side by side, one row per
scene, as one PNG (for looking at a whole render at a glance, next to the transcript).

    python scripts/contact_sheet.py media/videos/video/720p30 --frames 4 --out sheet.png
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageDraw


def frames_of(video: Path, n: int) -> list[np.ndarray]:
    """n frames spread over the video, the last frame included."""
    all_frames = list(iio.imiter(video))
    idx = np.linspace(0, len(all_frames) - 1, n).round().astype(int)
    return [all_frames[i] for i in idx]


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--frames", default=4, show_default=True)
@click.option("--width", default=480, show_default=True, help="Width of each frame in the sheet.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("contact_sheet.png"), show_default=True)
@click.option("--split", default=0, help="At most this many scenes a sheet (0: all on one); sheets get -1, -2, ...")
def main(folder, frames, width, out, split):
    videos = sorted(folder.glob("*.mp4"))
    if not videos:
        click.echo(f"no .mp4 in {folder}", err=True)
        sys.exit(2)
    groups = [videos[i:i + split] for i in range(0, len(videos), split)] if split else [videos]
    for g, group in enumerate(groups, 1):
        rows = []
        for v in group:
            tiles = [Image.fromarray(f).convert("RGB") for f in frames_of(v, frames)]
            h = round(tiles[0].height * width / tiles[0].width)
            row = Image.new("RGB", (width * frames, h + 24), "white")
            for i, t in enumerate(tiles):
                row.paste(t.resize((width, h)), (i * width, 24))
            ImageDraw.Draw(row).text((6, 4), v.stem, fill="black")
            rows.append(row)
        sheet = Image.new("RGB", (rows[0].width, sum(r.height for r in rows)), "white")
        y = 0
        for r in rows:
            sheet.paste(r, (0, y))
            y += r.height
        path = out if not split else out.with_name(f"{out.stem}-{g}{out.suffix}")
        sheet.save(path)
        click.echo(f"{path}: {len(group)} scenes x {frames} frames")


if __name__ == "__main__":
    main()
