"""Build the figures of a run: assets/<run>/ in, media/figures/<run>/<name>.{pdf,svg,png,mp4,gif} out.

    from grokking.figures.build import build
    build("video")                                      # every figure, every format
    build("synth", root=tmp/"assets", outdir=tmp/"out", only=["crest"], formats=["png"])

A figure whose data is missing is skipped with a one-line reason; the others are still made.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from grokking.common import paths
from grokking.common.assets import Assets, AssetsError

from .common import Missing

STATIC_FORMATS = ("pdf", "svg", "png")
ANIMATION_FORMATS = ("mp4", "gif")
FORMATS = STATIC_FORMATS + ANIMATION_FORMATS


def catalogue() -> dict[str, tuple]:
    """name -> (function, kind, one-line description), in the order of the figures."""
    from .animations import ANIMATIONS
    from .static import STATIC
    out = {name: (fn, "static", desc) for name, (fn, desc) in STATIC.items()}
    out.update({name: (fn, "animation", desc) for name, (fn, desc) in ANIMATIONS.items()})
    return out


@dataclass
class Result:
    name: str
    files: list[Path]
    seconds: float
    skipped: str | None = None      # the reason, when the assets lack what it needs
    failed: str | None = None       # an error while drawing (a bug): reported, the others still made


def _save_static(fig, path_stem: Path, formats) -> list[Path]:
    from . import style
    out = []
    for fmt in formats:
        path = path_stem.with_suffix(f".{fmt}")
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")     # per process: two builds never share one
        fig.savefig(tmp, format=fmt, dpi=style.DPI,
                    metadata={"Date": None} if fmt in ("pdf", "svg") else None)
        tmp.replace(path)              # never a torn file under the final name
        out.append(path)
    return out


def build_one(a: Assets, name: str, outdir: Path, formats, frames: int = 150) -> Result:
    """One figure in the requested formats that apply to it; Missing data -> skipped."""
    fn, kind, _ = catalogue()[name]
    wanted = [f for f in formats if f in (STATIC_FORMATS if kind == "static" else ANIMATION_FORMATS)]
    t0 = time.perf_counter()
    if not wanted:
        return Result(name, [], 0.0, skipped=f"no {kind} format among {','.join(formats)}")
    fig = None
    try:
        if kind == "static":
            fig = fn(a)
            files = _save_static(fig, outdir / name, wanted)
        else:
            from .animations import write
            anim = fn(a, frames=frames)
            fig = anim.fig
            paths = {f: outdir / f"{name}.{f}" for f in wanted}
            tmp = {f: p.with_name(f".{p.stem}.tmp{os.getpid()}.{f}") for f, p in paths.items()}
            write(anim, tmp)
            for f in wanted:
                tmp[f].replace(paths[f])
            files = list(paths.values())
    except (Missing, AssetsError) as e:
        return Result(name, [], time.perf_counter() - t0, skipped=str(e))
    except Exception as e:  # noqa: BLE001  one broken figure must not cost the others
        for leftover in outdir.glob(f".{name}.*tmp{os.getpid()}*"):   # ours only: another build may be writing
            leftover.unlink(missing_ok=True)
        return Result(name, [], time.perf_counter() - t0, failed=f"{type(e).__name__}: {e}")
    finally:
        if fig is not None:
            fig.clear()                # free the figure's memory before the next one
    return Result(name, files, time.perf_counter() - t0)


def build(run: str, root: Path | None = None, outdir: Path | None = None, only=None,
          formats=FORMATS, frames: int = 150, log=None) -> list[Result]:
    """Every figure (or those named in `only`) of a run. Raises AssetsError when the run has no
    assets at all; `log(line)` hears about each figure as it is made."""
    import matplotlib
    matplotlib.use("Agg")                 # files only, never a window
    from . import style
    a = Assets(run, root)
    a.verify()                            # missing or corrupt assets: AssetsError naming the file
    names = list(catalogue()) if not only else list(only)
    unknown = [n for n in names if n not in catalogue()]
    if unknown:
        raise ValueError(f"unknown figure {unknown[0]!r}; known: {', '.join(catalogue())}")
    out = Path(outdir) if outdir is not None else paths.MEDIA_DIR / "figures" / run
    out.mkdir(parents=True, exist_ok=True)
    style.apply()
    results = []
    for name in names:
        r = build_one(a, name, out, formats, frames)
        results.append(r)
        if log:
            log(f"{name}: skipped: {r.skipped}" if r.skipped else f"{name}: FAILED: {r.failed}" if r.failed
                else f"{name}: {', '.join(p.suffix[1:] for p in r.files)} in {r.seconds:.1f}s")
    return results
