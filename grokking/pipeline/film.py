"""`grokking film`: the scenes joined in story order (scenes/catalog.py) into media/<run>/story.mp4,
a short title card before each part of the story (a part is one file of scenes/) and one chapter
per scene, named after it (MP4 chapters: ffprobe -show_chapters and PyAV's container.chapters()
read them; a part's card opens the chapter of its first scene).

Scenes that are up to date are not rendered again (the same stamps as `grokking all`); the film
itself is stamped with the scenes' stamps it joined and is rewritten only when one of them, the
quality or this code changed. Re-encoded with PyAV (which manim installs: no ffmpeg binary needed).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from grokking.common import code
from grokking.common.palette import BACKGROUND_DARK, MUTED_DARK, TEXT_DARK
from grokking.common.errors import UserError

# scenes/<module>.py -> the title of that part of the story, in story order
PARTS = {
    "intro": "The task: {task}",          # the run's own, theme.task_name: "(x · y) mod 113"
    "curve": "Grokking: memorise first, generalise later",
    "waves": "Waves inside the network",
    "probes": "Reading the waves out of the embedding",
    "clock": "A clock that adds angles",
    "surfaces": "Neurons over (x, y)",
    "trig": "The trig identity and the logits",
    "story": "The whole of training",
}
CARD_SECONDS = 2.0
FILM = "story.mp4"


class FilmError(UserError, ValueError):
    """Nothing to join (every scene left out): the message says why, scene by scene."""


def code_hash() -> str:
    return code.code_hash([Path(__file__)])


def task_name(task: dict) -> str:
    """The run's task as every text names it (scenes/theme.py): "(x · y) mod 113"."""
    from grokking.scenes.theme import task_name as named
    return named(task) if task.get("p") is not None else "?"


def story(names: list[str], task: dict | None = None) -> list[tuple[str, str, list[str]]]:
    """(module, part title, its scenes) in catalogue order, for the scenes named; `task` (the
    summary's) names the run's task in the titles (addition mod 113 when None)."""
    from grokking.scenes.catalog import SCENES
    named = task_name(task or {"op": "add", "p": 113})
    parts: list[tuple[str, str, list[str]]] = []
    for name in SCENES:
        if name not in names:
            continue
        module = SCENES[name][0]
        if not parts or parts[-1][0] != module:
            parts.append((module, PARTS.get(module, module).format(task=named), []))
        parts[-1][2].append(name)
    return parts


def card(width: int, height: int, title: str, number: int, scenes: list[str]) -> np.ndarray:
    """A title card: 'Part n', the part's title, its scenes; RGB [height, width, 3] uint8."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor=BACKGROUND_DARK)
    s = height / 480
    fig.text(0.5, 0.64, f"Part {number}", ha="center", va="center", color=MUTED_DARK, fontsize=18 * s)
    fig.text(0.5, 0.5, title, ha="center", va="center", color=TEXT_DARK, fontsize=30 * s, wrap=True)
    fig.text(0.5, 0.34, " · ".join(scenes), ha="center", va="center", color=MUTED_DARK, fontsize=13 * s, wrap=True)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _probe(path: Path) -> tuple[int, int, Fraction, int]:
    """(width, height, frame rate, frames) of a video."""
    import av
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        n = v.frames or sum(1 for pk in c.demux(v) if pk.size)
        return v.codec_context.width, v.codec_context.height, Fraction(v.average_rate or 15), n


def join(parts: list[tuple[str, list[tuple[str, Path]]]], out: Path, card_seconds: float = CARD_SECONDS) -> list[dict]:
    """Write one MP4 (H.264) to `out`: for each (part title, [(scene, video), ...]) a title card,
    then its scenes; one chapter per scene. The size and frame rate are the first video's; a video
    of another size is scaled to it. Returns the chapters as written ({title, start, end} seconds)."""
    import av
    clips = [(scene, Path(v)) for _, scenes in parts for scene, v in scenes]
    if not clips:
        raise ValueError("no scene to join")
    W, H, fps, _ = _probe(clips[0][1])
    W, H = W - W % 2, H - H % 2                        # yuv420p wants even sizes
    n_card = max(1, round(card_seconds * fps))
    chapters, t = [], 0
    for i, (title, scenes) in enumerate(parts):
        for j, (scene, video) in enumerate(scenes):
            n = _probe(video)[3] + (n_card if j == 0 else 0)
            chapters.append({"title": scene, "start": t, "end": t + n})
            t += n
    tmp = _temporary(out)
    try:
        with av.open(str(tmp), "w", format="mp4") as c:
            s = c.add_stream("libx264", rate=fps)
            s.width, s.height, s.pix_fmt = W, H, "yuv420p"
            s.options = {"crf": "20", "preset": "veryfast"}
            tb = Fraction(1, 1) / fps
            c.set_chapters([{"id": k, "start": ch["start"], "end": ch["end"], "time_base": tb,
                             "metadata": {"title": ch["title"]}} for k, ch in enumerate(chapters)])
            pts = 0

            def put(frame):
                nonlocal pts
                if frame.width != W or frame.height != H or frame.format.name != "yuv420p":
                    frame = frame.reformat(width=W, height=H, format="yuv420p")
                frame.pts, frame.time_base = pts, tb
                pts += 1
                for pk in s.encode(frame):
                    c.mux(pk)

            for number, (title, scenes) in enumerate(parts, 1):
                still = av.VideoFrame.from_ndarray(card(W, H, title, number, [n for n, _ in scenes]), format="rgb24")
                for _ in range(n_card):
                    put(still)
                for _, video in scenes:
                    with av.open(str(video)) as src:
                        for frame in src.decode(video=0):
                            put(frame)
            for pk in s.encode():
                c.mux(pk)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return [{"title": ch["title"], "start": float(ch["start"] / fps), "end": float(ch["end"] / fps)} for ch in chapters]


def _temporary(out: Path, pid: int | None = None) -> Path:
    """join()'s temporary file beside `out`: .story.tmp<pid>.mp4."""
    return out.with_name(f".{out.stem}.tmp{os.getpid() if pid is None else pid}{out.suffix}")


def clean_leftovers(out: Path) -> list[Path]:
    """Remove the temporaries of joins killed before they could (kill -9, a power cut): only
    files named as join() names them beside `out`, whose process is gone; a live join's file
    and every other file are kept."""
    from grokking.common.paths import pid_alive
    pattern = re.compile(re.escape(f".{out.stem}.tmp") + r"(\d+)" + re.escape(out.suffix))
    gone = []
    if out.parent.is_dir() and not out.parent.is_symlink():
        for f in sorted(out.parent.iterdir()):
            m = pattern.fullmatch(f.name)
            if m and f.is_file() and not f.is_symlink() and not pid_alive(int(m[1])):
                f.unlink(missing_ok=True)
                gone.append(f)
    return gone


def chapters(path: Path) -> list[dict]:
    """The chapters of a video as a player sees them: {title, start, end} in seconds."""
    import av
    with av.open(str(path)) as c:
        return [{"title": ch["metadata"].get("title"), "start": float(ch["start"] * ch["time_base"]),
                 "end": float(ch["end"] * ch["time_base"])} for ch in c.chapters()]


def duration(path: Path) -> float:
    import av
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return float(v.duration * v.time_base) if v.duration else float(c.duration / av.time_base)


def make_film(o, log=print) -> dict:
    """Render the scenes that are not up to date (as `grokking all` would), then join them into
    media/<run>/story.mp4 unless it already joins exactly these renders. o.scenes picks scenes
    (None: all); scenes the run lacks the mechanism for are left out, with their reason logged."""
    from . import make
    from . import stamps as st
    if o.scenes is not None and not o.scenes:        # --scenes "": a film of nothing
        raise FilmError("no scene to join: --scenes names none; name one or more (grokking scene --list "
                        "lists them), or leave --scenes out for every scene")
    summary = {"scenes": [], "pages": [], "skipped": [], "failed": []}
    out = o.media_dir / FILM
    with make.run_lock(o.stamps_path.parent, o.run), make.Interrupts() as guard:
        clean_leftovers(out)                   # safe: no other film of this run is joining
        now = st.AssetHashes(o.assets_dir, o.run)
        stamps = st.load(o.stamps_path)
        make.make_scenes(o, stamps, now, summary, log, guard)
        joined, left_out = [], {}
        failed = dict(summary["failed"])
        for name in make._scene_names(o):
            stamp = stamps.get("scenes", {}).get(name) or {}
            video = next((Path(f) for f in stamp.get("files", []) if f.endswith(".mp4")), None)
            if f"scene {name}" in failed:      # never an older render in place of one that just failed
                left_out[name] = f"its render failed: {failed[f'scene {name}']}" + (
                    "; the older render is not joined" if video is not None and video.exists() else "")
                continue
            if stamp.get("skipped") or video is None or not video.exists() or \
                    st.why_stale(stamp, now, st.scene_code_hash(name), make._opts(o, "scene")) is not None:
                left_out[name] = stamp.get("skipped") or "not made"
                continue
            made = video.stat()
            # what this render is: its stamp (code, inputs, options) and the file itself (a render
            # within the same second as the last has the same "made" time, never the same mtime_ns)
            joined.append((name, video, [stamp.get("code"), stamp.get("deps"), stamp.get("options"),
                                         made.st_size, made.st_mtime_ns]))
        for name, why in left_out.items():
            log(f"[film] {name}: left out ({why})")
        task = now.summary.get("task") or {}
        options = {"quality": o.quality, "width": o.scene_width, "task": task_name(task),
                   "scenes": hashlib.sha256(json.dumps([(n, str(v), m) for n, v, m in joined],
                                                       sort_keys=True).encode()).hexdigest()[:16]}
        film_code = code_hash()
        old = stamps.get("pages", {}).get("film")
        if not o.force and out.exists() and old and old.get("code") == film_code and old.get("options") == options:
            log(f"[film] {out}: up to date")
            return {"path": out, "written": False, "chapters": chapters(out), "left_out": left_out, **summary}
        t = time.perf_counter()
        if not joined:
            raise FilmError("no scene to join: " + "; ".join(f"{n}: {w}" for n, w in left_out.items()))
        videos = {n: v for n, v, _ in joined}
        parts = [(title, [(n, videos[n]) for n in names]) for _, title, names in story(list(videos), task)]
        chs = join(parts, out)
        guard.check()
        make._record(o, stamps, summary, log, "page", "film", {}, film_code, options, [out], None,
                     f"{out} ({len(chs)} chapters, {chs[-1]['end']:.0f}s, {time.perf_counter() - t:.0f}s to join)")
    return {"path": out, "written": True, "chapters": chs, "left_out": left_out, **summary}
