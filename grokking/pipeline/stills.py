"""Where a rendered scene stands still: the stretches of frames without motion longer than a
threshold (0.5 s by default), each with the frame it holds, so that a held point (a claim left on
screen to be read) can be told from dead air by looking.

    python -m grokking.pipeline.stills media/videos/video/high/*.mp4 --frames media/stills

prints, per video, its length, the number of still stretches over the threshold, their total and
each one's start and length; --frames writes the frame each stretch holds as a PNG
(<video>-<start>s.png). Motion is measured on a grey thumbnail (the mean of each 4 × 4 block, so a
one-pixel move of an edge still shows): a frame is still
when no thumbnail pixel changed by more than `tol` grey levels from the frame before (the encoder's
noise on a still frame stays below it; a moving dot or a rising curve does not)."""
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


def changes(frames) -> np.ndarray:
    """[n - 1]: the largest change of any pixel from each frame to the next (grey levels)."""
    out, prev = [], None
    for f in frames:
        f = np.asarray(f, float)
        if prev is not None:
            out.append(float(np.abs(f - prev).max()))
        prev = f
    return np.asarray(out, float)


def still_stretches(change: np.ndarray, fps: float, longer: float = 0.5, tol: int = 6) -> list[Still]:
    """The runs of frames each no more than `tol` from the one before, held longer than `longer`
    seconds. change[i] is frame i -> i + 1; a run of k still changes holds its first frame for
    k + 1 frames, i.e. (k + 1) / fps seconds, counted to the end of the last frame shown."""
    still = np.append(np.asarray(change) <= tol, False)
    out, i, n = [], 0, len(still)
    while i < n:
        if not still[i]:
            i += 1
            continue
        j = i
        while still[j]:
            j += 1
        length = (j - i + 1) / fps
        if length > longer + 1e-9:
            out.append(Still(start=i / fps, length=length, frame=i))
        i = j + 1
    return out


def read(path: Path, keep: set[int] | None = None):
    """(fps, changes, {index: RGB frame} for the frames in `keep`): one decode of the video."""
    import av
    kept, grey = {}, []
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        fps = float(v.average_rate)
        for i, frame in enumerate(c.decode(v)):
            grey.append(thumbnail(frame.to_ndarray(format="gray")))
            if keep is not None and i in keep:
                kept[i] = frame.to_ndarray(format="rgb24")
    return fps, changes(grey), kept


def measure(path: Path, longer: float = 0.5, tol: int = 6) -> tuple[float, list[Still]]:
    """(the video's length in seconds, its still stretches)."""
    fps, change, _ = read(path)
    return (len(change) + 1) / fps, still_stretches(change, fps, longer, tol)


@click.command()
@click.argument("videos", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--longer", default=0.5, show_default=True, help="Report stills held longer than this (seconds).")
@click.option("--tol", default=6, show_default=True, help="Grey levels a still frame may change by (encoder noise).")
@click.option("--frames", "frames_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the frame each still holds here as PNG.")
def main(videos, longer, tol, frames_dir):
    """Still stretches of each video, and the frame each holds."""
    from PIL import Image
    total_still = total_len = 0.0
    for path in videos:
        fps, change, _ = read(path)
        stills = still_stretches(change, fps, longer, tol)
        length = (len(change) + 1) / fps
        held = sum(s.length for s in stills)
        total_still, total_len = total_still + held, total_len + length
        click.echo(f"{path.stem}: {length:.1f} s, {len(stills)} stills over {longer:g} s, {held:.1f} s held"
                   + "".join(f"\n  at {s.start:6.2f} s for {s.length:.2f} s" for s in stills))
        if frames_dir is not None and stills:
            frames_dir.mkdir(parents=True, exist_ok=True)
            _, _, kept = read(path, {s.frame for s in stills})
            for s in stills:
                img = Image.fromarray(kept[s.frame])
                img.thumbnail((960, 540))
                img.save(frames_dir / f"{path.stem}-{s.start:06.2f}s.png")
    click.echo(f"all: {total_len:.1f} s, {total_still:.1f} s held still ({total_still / max(total_len, 1e-9):.0%})")


if __name__ == "__main__":
    main()
