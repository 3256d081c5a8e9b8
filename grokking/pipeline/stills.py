"""Where a rendered scene stands still: the stretches of frames without motion longer than a
threshold (0.5 s by default), each with the frame it holds, so that a held point (a claim left on
screen to be read) can be told from dead air by looking.

    python -m grokking.pipeline.stills media/videos/video/high/*.mp4 --frames media/stills

prints, per video, its length, the number of still stretches over the threshold, their total and
each one's start and length; --frames writes the frame each stretch holds as a PNG
(<video>-<start>s.png). Motion is measured on a grey thumbnail (the mean of each 4 × 4 block, so a
one-pixel move of an edge still shows): a frame belongs to a still when no thumbnail pixel differs
by more than `tol` grey levels from the still's first frame (the encoder's flicker on a still frame
of fine texture, up to about 6 levels at 1080p60, stays below it; a moving dot or a rising curve
does not)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

STEP = 4            # the thumbnail's pixel: the mean of a STEP × STEP block


def thumbnail(grey: np.ndarray) -> np.ndarray:
    h, w = (grey.shape[0] // STEP) * STEP, (grey.shape[1] // STEP) * STEP
    return grey[:h, :w].reshape(h // STEP, STEP, w // STEP, STEP).mean(axis=(1, 3))


@dataclass(frozen=True)
class Still:
    start: float        # seconds: the first frame that no longer moves
    length: float       # seconds it is held
    frame: int          # that frame's index


def still_stretches(frames, fps: float, longer: float = 0.5, tol: float = 10.0) -> list[Still]:
    """The runs of frames that each stay within `tol` grey levels (largest change of any thumbnail
    pixel) of the run's first frame, held longer than `longer` seconds. Against the run's first
    frame, not the one before: the encoder's flicker on a still frame does not add up, while a
    slow drift does. `frames`: grey thumbnails, any iterable (read one at a time)."""
    out, anchor, start, n = [], None, 0, 0

    def close(end: int):
        if anchor is not None and (end - start) / fps > longer + 1e-9:
            out.append(Still(start=start / fps, length=(end - start) / fps, frame=start))
    for i, f in enumerate(frames):
        n = i + 1
        f = np.asarray(f, float)
        if anchor is not None and np.abs(f - anchor).max() <= tol:
            continue
        close(i)
        anchor, start = f, i
    close(n)
    return out


def thumbnails(path: Path):
    """(fps, an iterator over the video's grey thumbnails)."""
    import av
    c = av.open(str(path))
    v = c.streams.video[0]

    def frames():
        with c:
            for frame in c.decode(v):
                yield thumbnail(frame.to_ndarray(format="gray"))
    return float(v.average_rate), frames()


def frames_at(path: Path, keep: set[int]) -> dict[int, np.ndarray]:
    """The RGB frames of those indices."""
    import av
    kept = {}
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(c.streams.video[0])):
            if i in keep:
                kept[i] = frame.to_ndarray(format="rgb24")
    return kept


def measure(path: Path, longer: float = 0.5, tol: float = 10.0) -> tuple[float, list[Still]]:
    """(the video's length in seconds, its still stretches)."""
    fps, frames = thumbnails(path)
    count = [0]

    def counted():
        for f in frames:
            count[0] += 1
            yield f
    stills = still_stretches(counted(), fps, longer, tol)
    return count[0] / fps, stills


@click.command()
@click.argument("videos", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--longer", default=0.5, show_default=True, help="Report stills held longer than this (seconds).")
@click.option("--tol", default=10.0, show_default=True,
              help="Grey levels a still frame may differ from the still's first frame by (the encoder's flicker).")
@click.option("--frames", "frames_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the frame each still holds here as PNG.")
def main(videos, longer, tol, frames_dir):
    """Still stretches of each video, and the frame each holds."""
    from PIL import Image
    total_still = total_len = 0.0
    for path in videos:
        length, stills = measure(path, longer, tol)
        held = sum(s.length for s in stills)
        total_still, total_len = total_still + held, total_len + length
        click.echo(f"{path.stem}: {length:.1f} s, {len(stills)} stills over {longer:g} s, {held:.1f} s held"
                   + "".join(f"\n  at {s.start:6.2f} s for {s.length:.2f} s" for s in stills))
        if frames_dir is not None and stills:
            frames_dir.mkdir(parents=True, exist_ok=True)
            kept = frames_at(path, {s.frame for s in stills})
            for s in stills:
                img = Image.fromarray(kept[s.frame])
                img.thumbnail((960, 540))
                img.save(frames_dir / f"{path.stem}-{s.start:06.2f}s.png")
    click.echo(f"all: {total_len:.1f} s, {total_still:.1f} s held still ({total_still / max(total_len, 1e-9):.0%})")


if __name__ == "__main__":
    main()
