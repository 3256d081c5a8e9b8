"""`grokking film`: the scenes joined in story order (scenes/catalog.py) into media/<run>/story.mp4:
an opening card naming the run (its task, seed, key frequencies and story check, read from its
summary), a title card before each part of the story (a part is one file of scenes/), one chapter
per scene titled after the section of the video it retells (SECTIONS, by the scene's transcript
time), and a closing card naming the figures made for the run. Beside it, media/<run>/story.vtt:
one subtitle cue per chapter holding that chapter's claim (the story check's, measured on this
run, where it has one; else the scene's description). MP4 chapters: ffprobe -show_chapters and
PyAV's container.chapters() read them; a part's card opens the chapter of its first scene.
A run of another op is told in its own terms (common/assets.py Additive): the opening card names
the group its key frequencies live in and how the op is read, the titles use its axes, a mul or
div run's film opens the mechanism with Relabel, and the closing card names the scenes left out.

Scenes that are up to date are not rendered again (the same stamps and the same parallel renders,
one worker per core, as `grokking all`); the film itself is stamped with the scenes' stamps it
joined and the text of its cards and cues, and is rewritten only when one of them, the quality or
this code changed. Re-encoded with PyAV (which manim installs: no ffmpeg binary needed). The
run's gallery (media/<run>/index.html) is written again after, so that it links the film.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import textwrap
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from grokking.common import code
from grokking.common.palette import BACKGROUND_DARK, MUTED_DARK, TEXT_DARK
from grokking.common.errors import UserError

from .words import group_lines, task_name

# scenes/<module>.py -> the title of that part of the story, in story order
PARTS = {
    "intro": "The task: {task}",          # the run's own, theme.task_name: "(x · y) mod 113"
    "curve": "Grokking: memorise first, generalise later",
    "waves": "Waves inside the network",
    "probes": "Reading the waves out of the embedding",
    "clock": "A clock that adds angles",
    "relabel": "{Op} is addition in disguise",   # the Relabel scene's own heading; a mul or div run's
    "surfaces": "Neurons over ({x}, {y})",        # the run's axes: "(log₃ x, log₃ y)" on a mul run
    "trig": "The trig identity and the logits",
    "story": "The whole of training",
}
# The video's sections (its chapter list: start time, title). A scene's chapter is titled after the
# section its transcript time (scenes/catalog.py) falls in.
SECTIONS = [
    ("0:00", "Intro"),
    ("2:39", "Modular Addition"),
    ("3:54", "The Model's Perspective"),
    ("6:52", "An Accidental Discovery at OpenAI"),
    ("7:56", "It Groks!"),
    ("8:49", "Some Clues"),
    ("13:17", "New Welch Labs Book!"),
    ("13:57", "Deeper into the model"),
    ("15:13", "Linear Probes"),
    ("16:59", "Clocks perform modular addition"),
    ("19:17", "How do x and y interact exactly?"),
    ("23:19", "It learns a trig identity?!"),
    ("26:38", "Putting the pieces together & excluded loss"),
    ("30:02", "Anthropic finds 6D manifolds"),
    ("32:24", "Final thoughts"),
    ("34:02", "Welch Labs update"),
]
# The section of a scene the video has none for (its transcript time in the catalogue is "—")
BEYOND = ("—", "Beyond the video")
# What each scene shows, in a few words: told apart from the other scenes of its section
SHOTS = {
    "ModularTable": "the table wraps around",
    "OneHot": "what the model sees",
    "GrokkingCurve": "memorise, then generalise",
    "NeuronWaves": "neurons are waves",
    "NeuronLoops": "neuron pairs trace loops",
    "FourierPeak": "one frequency per neuron",
    "EmbeddingProbe": "a probe reads the wave",
    "Clock": "adding angles on a clock",
    "Relabel": "the {op} clock",
    "NeuronSurface": "one neuron over {x} and {y}",
    "Crest": "crests along {sum}",
    "TrigIdentity": "cos·cos − sin·sin",
    "LogitSurface": "the answer's logit",
    "TrainingStory": "training replayed",
    "ExcludedLoss": "the excluded loss",
}
# The parts that tell the mechanism: a mul or div run's Relabel part goes before the first of them
# (its waves, probes and surfaces run over the discrete log, which Relabel introduces)
MECHANISM = ("waves", "probes", "clock", "surfaces", "trig", "story")
# The ops whose film includes Relabel (the table sorted by the discrete log); other runs leave it out
RELABELLED_OPS = ("mul", "div")
CARD_SECONDS = 2.0
END_SECONDS = 4.0                      # the opening and closing cards hold more text
FILM = "story.mp4"
SUBTITLES = "story.vtt"


class FilmError(UserError, ValueError):
    """Nothing to join (every scene left out): the message says why, scene by scene."""


@dataclass
class Card:
    """A card's text: a small line above (`kicker`), the title, lines below; `chapter` and `claim`
    name its chapter and subtitle cue when it is one of its own (the opening and closing cards)."""
    kicker: str
    title: str
    lines: list[str] = field(default_factory=list)
    chapter: str = ""
    claim: str = ""


def code_hash() -> str:
    return code.code_hash([Path(__file__)])


def terms(additive=None, task: dict | None = None) -> dict:
    """The words the titles are written in, from the run's coordinates (common/assets.py Additive):
    its axes and the line they add along ("x", "y", "x + y"; "log₃ x", "log₃ y", "log₃ x + log₃ y"
    on a mul run) and its op ("multiplication", "Multiplication"; "division" on a div run)."""
    op = (task or {}).get("op") or getattr(additive, "op", None) or "add"
    word = {"div": "division"}.get(op, "multiplication")
    return {"x": getattr(additive, "x_label", "x"), "y": getattr(additive, "y_label", "y"),
            "sum": getattr(additive, "sum_label", "x + y"), "op": word, "Op": word.capitalize(), "task_op": op}


def in_terms(text: str, t: dict) -> str:
    """A catalogue description written for x and y, in the run's axes (the mechanism's scenes draw
    over them): "a hidden neuron over (x, y): x sweep, y sweep" -> "... over (log₃ x, log₃ y): log₃ x
    sweep, log₃ y sweep". Unchanged where the axes are x and y."""
    if (t["x"], t["y"]) == ("x", "y"):
        return text
    out = text.replace("x + y", t["sum"]).replace("(x, y)", f"({t['x']}, {t['y']})")
    out = out.replace("x sweep, y sweep", f"{t['x']} sweep, {t['y']} sweep")
    return out.replace("x = 0, y swept", f"{t['x']} = 0, {t['y']} swept").replace("coloured by y", f"coloured by {t['y']}")


def _seconds(t: str) -> int:
    m, s = t.split(":")
    return int(m) * 60 + int(s)


def section(scene: str) -> tuple[str, str]:
    """(start time, title) of the video's section the scene retells, by its transcript time
    (BEYOND for a scene with none)."""
    from grokking.scenes.catalog import SCENES
    if ":" not in SCENES[scene][2]:
        return BEYOND
    at = _seconds(SCENES[scene][2])
    return [s for s in SECTIONS if _seconds(s[0]) <= at][-1]


def chapter_title(scene: str, t: dict | None = None) -> str:
    """The scene's chapter: its section's title, with what the scene shows where the section
    holds more than one scene ("Some Clues — neurons are waves"), in the run's terms `t` (terms():
    "crests along log₃ x + log₃ y" on a mul run; x and y when None)."""
    from grokking.scenes.catalog import SCENES
    sec = section(scene)
    shared = sum(section(n) == sec for n in SCENES) > 1
    shot = SHOTS[scene].format(**(t or terms()))
    return f"{sec[1]} — {shot}" if shared or sec == BEYOND else sec[1]


def story(names: list[str], task: dict | None = None, additive=None) -> list[tuple[str, str, list[str]]]:
    """(module, part title, its scenes) in catalogue order, for the scenes named; `task` (the
    summary's) names the run's task in the titles (addition mod 113 when None), `additive` (the
    assets' Additive) its axes. On a mul or div run the Relabel part comes first of the mechanism
    (before the waves: everything after it runs over the discrete log it introduces)."""
    from grokking.scenes.catalog import SCENES
    task = task or {"op": "add", "p": 113}
    words = {**terms(additive, task), "task": task_name(task)}
    parts: list[tuple[str, str, list[str]]] = []
    for name in SCENES:
        if name not in names:
            continue
        module = SCENES[name][0]
        if not parts or parts[-1][0] != module:
            parts.append((module, PARTS.get(module, module).format(**words), []))
        parts[-1][2].append(name)
    if task.get("op") in RELABELLED_OPS and any(m == "relabel" for m, _, _ in parts):
        relabel = next(pt for pt in parts if pt[0] == "relabel")
        rest = [pt for pt in parts if pt[0] != "relabel"]
        at = next((i for i, pt in enumerate(rest) if pt[0] in MECHANISM), len(rest))
        parts = rest[:at] + [relabel] + rest[at:]
    return parts


def part_card(number: int, title: str, scenes: list[str]) -> Card:
    """A part's card: 'Part n', its title, the video's sections its scenes retell (with times), or
    that they go beyond it."""
    secs = [s for s in dict.fromkeys(section(n) for n in scenes) if s != BEYOND]
    told = ("retelling the video's " + " · ".join(f"“{t}” ({at})" for at, t in secs)) if secs else ""
    beyond = "a step beyond the video" if any(section(n) == BEYOND for n in scenes) else ""
    return Card(f"Part {number}", title, [" · ".join(x for x in (told, beyond) if x)])


def opening_card(a) -> Card:
    """The opening card of run `a` (common.assets.Assets): its task, seed, key frequencies and
    story check (rows passed of all), every one read from its summary."""
    s = a.summary
    task = s.get("task") or {}
    named = task_name(task)
    keys = ", ".join(f"{lab} (k={k})" for k, lab in zip(s.get("key_frequencies") or [], s.get("key_labels") or []))
    over, coords = group_lines(a)
    chk = a.story_check
    rows = chk.criteria or []
    check = (f"story check: {sum(bool(c['passed']) for c in rows)}/{len(rows)} rows pass"
             + ("" if chk.passed else " (" + ", ".join(c["name"] for c in rows if not c["passed"]) + " fail)")
             if chk.found else f"story check: not made ({chk.why_not()})")
    seed = task.get("seed", "?")
    frac = f", trained on {task['frac']:.0%} of the pairs" if task.get("frac") is not None else ""
    grok = (s.get("phases") or {}).get("grokked")
    grokked = f" · grokked at epoch {grok:,}" if grok is not None else (" · grokked" if s.get("grokked") else
                                                                        " · not grokked")
    lines = [f"run {a.run} · seed {seed}{frac}{grokked}",
             f"key frequencies{over}: " + (keys or "none"), *coords, check]
    return Card("Grokking, retold from one real training run", named, lines,
                chapter=f"The run: {named}, seed {seed}",
                claim=f"{named}, seed {seed}; key frequencies{over + ':' if over else ''} {keys or 'none'}; "
                      + "".join(f"{c}; " for c in coords) + check)


def figures_made(stamps: dict, figure_dir: Path | None = None) -> list[str]:
    """The figures made for the run: those its stamps record with files that exist, else the
    figures folder's (one name per figure, whatever its formats)."""
    made = [n for n, st in (stamps.get("figures") or {}).items()
            if not st.get("skipped") and any(Path(f).exists() for f in st.get("files", []))]
    if not made and figure_dir is not None and Path(figure_dir).is_dir():
        made = sorted({f.stem for f in Path(figure_dir).iterdir() if f.suffix in (".png", ".pdf", ".svg", ".mp4", ".gif")})
    return made


def closing_card(run: str, figures: list[str], figure_dir: str, gallery: str | None = None,
                 left_out: dict | None = None) -> Card:
    """The closing card: the figures the film rests on (made from the same run), and where they
    are; `left_out` (scene -> why) the scenes the film skips, each reason once with its scenes."""
    names = " · ".join(f.replace("_", " ") for f in figures) or "none made yet (grokking figures --run " + run + ")"
    skipped = left_out_lines(left_out or {})
    return Card(f"Every number in this film is computed from run {run}", "The figures it rests on",
                [names, f"in {figure_dir}/ · all of it: {gallery or f'media/{run}/index.html'}", *skipped],
                chapter="The figures it rests on",
                claim=f"figures of run {run}: {names}" + "".join(f"; {line}" for line in skipped))


def left_out_lines(left_out: dict, width: int = 110, most: int = 3) -> list[str]:
    """"left out: Crest, LogitSurface (why)": the scenes a film skips, grouped by their reason (the
    mechanism's own where the reason is that a selection was not found, so that the scenes a pow
    run without a grid lacks share one line; the run's name, said on the card already, dropped),
    each reason cut to `width` characters, at most `most` lines (the rest counted, the gallery
    says why)."""
    by: dict[str, list[str]] = {}
    for name, why in left_out.items():
        why = re.sub(r"^run '[^']*'( has| learns)? ?", "", str(why)).strip() or str(why)
        core = re.fullmatch(r"no [^:]+: none found \((.*)\)", why)
        by.setdefault(core[1] if core else why, []).append(name)
    cut = lambda w: w if len(w) <= width else w[:width - 1].rstrip() + "…"
    lines = [f"left out: {', '.join(names)} ({cut(why)})" for why, names in by.items()]
    if len(lines) > most:
        rest = sum(len(names) for names in list(by.values())[most - 1:])
        lines = lines[:most - 1] + [f"and {rest} more scenes left out (the gallery says why)"]
    return lines


def claim(scene: str, check=None, t: dict | None = None) -> str:
    """The scene's one-line claim: the story check's, measured on this run, where a row of it
    names the scene (a replay row with the scene's own captions first, then the row naming fewest
    scenes), else the scene's description in the catalogue, a mechanism scene's in the run's axes
    (`t`, terms())."""
    from grokking.scenes.catalog import SCENES
    rows = [c for c in (getattr(check, "criteria", None) or []) if scene in (c.get("scenes") or [])]
    if not rows:
        module, text, _ = SCENES[scene]
        return in_terms(text, t) if t is not None and module in MECHANISM else text
    row = min(rows, key=lambda c: (not any(x.get("scene") == scene for x in c.get("claims") or []), len(c["scenes"])))
    value = row.get("value", "")
    if row["name"] == "replay" and row.get("claims"):
        own = [c for c in row["claims"] if c.get("scene") == scene]
        if own:
            value = "; ".join(f"“{c['caption']}” at epoch {c['epoch']:,}: {c['what']} "
                              + (f"{c['value']:.2f} {c['op']} {c['threshold']:g}" if c.get("value") is not None
                                 else f"not measured (target {c['op']} {c['threshold']:g})")
                              + ("" if c.get("holds") else " (does NOT hold)") for c in own)
    verdict = "holds" if row.get("passed") else "FAILS: " + str(row.get("meaning", ""))
    return f"{value} (story check, {row['name']}: {verdict})"


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width) or [""]


def card(width: int, height: int, c: Card) -> np.ndarray:
    """A card: its kicker, title and lines, wrapped to the frame; RGB [height, width, 3] uint8."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor=BACKGROUND_DARK)
    s = height / 480
    chars = max(24, int(80 * (width / height) / (854 / 480)))      # ~80 characters of 14 pt across 854 x 480
    rows = [(t, 17, MUTED_DARK, 0.0) for t in _wrap(c.kicker, int(chars * 0.8))] + \
           [(t, 30, TEXT_DARK, 0.03 if i == 0 else 0.0) for i, t in enumerate(_wrap(c.title, int(chars * 0.4)))] + \
           [(t, 14, MUTED_DARK, 0.04 if i == 0 else 0.0) for i, t in enumerate(w for ln in c.lines for w in _wrap(ln, chars))]
    step = 1.3 * 100 / (72 * 480)                # a line's height, as a fraction of the frame, per point
    y = 0.5 + (sum(size * step + gap for _, size, _, gap in rows)) / 2          # the block centred
    for text, size, colour, gap in rows:
        y -= gap + size * step / 2
        fig.text(0.5, y, text, ha="center", va="center", color=colour, fontsize=size * s)
        y -= size * step / 2
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


def join(parts: list[tuple[str | Card, list[tuple[str, Path]]]], out: Path, card_seconds: float = CARD_SECONDS,
         opening: Card | None = None, closing: Card | None = None, end_seconds: float = END_SECONDS) -> list[dict]:
    """Write one MP4 (H.264) to `out`: the opening card (a chapter of its own), then for each
    (part card or title, [(chapter title, video), ...]) its card and its videos, one chapter each,
    then the closing card (a chapter of its own). The size and frame rate are the first video's; a
    video of another size is scaled to it. Returns the chapters as written ({title, start, end} s)."""
    import av
    clips = [(scene, Path(v)) for _, scenes in parts for scene, v in scenes]
    if not clips:
        raise ValueError("no scene to join")
    W, H, fps, _ = _probe(clips[0][1])
    W, H = W - W % 2, H - H % 2                        # yuv420p wants even sizes
    n_card, n_end = max(1, round(card_seconds * fps)), max(1, round(end_seconds * fps))
    cards = [c if isinstance(c, Card) else Card(f"Part {i}", c, [" · ".join(n for n, _ in scenes)])
             for i, (c, scenes) in enumerate(parts, 1)]
    chapters, t = [], 0
    if opening is not None:
        chapters.append({"title": opening.chapter or opening.title, "start": 0, "end": n_end})
        t = n_end
    for i, (_, scenes) in enumerate(parts):
        for j, (scene, video) in enumerate(scenes):
            n = _probe(video)[3] + (n_card if j == 0 else 0)
            chapters.append({"title": scene, "start": t, "end": t + n})
            t += n
    if closing is not None:
        chapters.append({"title": closing.chapter or closing.title, "start": t, "end": t + n_end})
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

            def still(text: Card, n: int):
                frame = av.VideoFrame.from_ndarray(card(W, H, text), format="rgb24")
                for _ in range(n):
                    put(frame)

            if opening is not None:
                still(opening, n_end)
            for text, (_, scenes) in zip(cards, parts):
                still(text, n_card)
                for _, video in scenes:
                    with av.open(str(video)) as src:
                        for frame in src.decode(video=0):
                            put(frame)
            if closing is not None:
                still(closing, n_end)
            for pk in s.encode():
                c.mux(pk)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return [{"title": ch["title"], "start": float(ch["start"] / fps), "end": float(ch["end"] / fps)} for ch in chapters]


def _stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def vtt(chapters: list[dict], claims: list[str]) -> str:
    """WebVTT subtitles: one cue per chapter, over its start to end, holding its claim (one line)."""
    if len(chapters) != len(claims):
        raise ValueError(f"{len(chapters)} chapters but {len(claims)} claims")
    cues = ["WEBVTT", ""]
    for i, (ch, text) in enumerate(zip(chapters, claims), 1):
        one = " ".join(str(text).replace("-->", "→").split()) or ch["title"]
        cues += [str(i), f"{_stamp(ch['start'])} --> {_stamp(ch['end'])}", one, ""]
    return "\n".join(cues)


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
    """Render the scenes that are not up to date (as `grokking all` would: in parallel, one worker
    per core), then join them into media/<run>/story.mp4 with its subtitles media/<run>/story.vtt,
    unless they already join exactly these renders with these cards; then write the run's gallery
    again, linking the film. o.scenes picks scenes (None: all); scenes the run lacks the mechanism
    for are left out, with their reason logged."""
    from grokking.common.assets import Assets
    from grokking.common.io import atomic_write_bytes
    from . import make
    from . import stamps as st
    from .gallery import write_gallery
    if o.scenes is not None and not o.scenes:        # --scenes "": a film of nothing
        raise FilmError("no scene to join: --scenes names none; name one or more (grokking scene --list "
                        "lists them), or leave --scenes out for every scene")
    summary = {"scenes": [], "pages": [], "skipped": [], "failed": []}
    o, beside = _relabel_for_op(o)
    out = o.media_dir / FILM
    subtitles = out.with_name(SUBTITLES)
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
            if stamp.get("skipped") or video is None or not video.exists():
                left_out[name] = stamp.get("skipped") or "not made"
                continue
            stale = st.why_stale(stamp, now, st.scene_code_hash(name), make._opts(o, "scene"))
            if stale is not None:              # e.g. its code changed while the others rendered
                left_out[name] = f"its render is not up to date ({stale})"
                continue
            made = video.stat()
            # what this render is: its stamp (code, inputs, options) and the file itself (a render
            # within the same second as the last has the same "made" time, never the same mtime_ns)
            joined.append((name, video, [stamp.get("code"), stamp.get("deps"), stamp.get("options"),
                                         made.st_size, made.st_mtime_ns]))
        for name, why in {**beside, **left_out}.items():
            log(f"[film] {name}: left out ({why})")
        a = Assets(o.run, o.assets_root)
        task = now.summary.get("task") or {}
        words = terms(a.additive, task)
        videos = {n: v for n, v, _ in joined}
        parts = story(list(videos), task, a.additive)
        opening = opening_card(a)
        closing = closing_card(o.run, figures_made(stamps, o.figure_dir), _shown(o.figure_dir),
                               _shown(o.media_dir / "index.html"), left_out)
        cards = [part_card(i, title, names) for i, (_, title, names) in enumerate(parts, 1)]
        claims = [opening.claim] + [claim(n, a.story_check, words) for _, _, names in parts for n in names] + [closing.claim]
        text = [[c.kicker, c.title, c.lines, c.chapter] for c in [opening, *cards, closing]] + \
               [[chapter_title(n, words) for n in videos], claims]
        options = {"quality": o.quality, "width": o.scene_width, "task": task_name(task),
                   "scenes": hashlib.sha256(json.dumps([(n, str(v), m) for n, v, m in joined],
                                                       sort_keys=True).encode()).hexdigest()[:16],
                   "text": hashlib.sha256(json.dumps(text).encode()).hexdigest()[:16]}
        film_code = code_hash()
        old = stamps.get("pages", {}).get("film")
        if not o.force and out.exists() and subtitles.exists() and old and old.get("code") == film_code \
                and old.get("options") == options:
            log(f"[film] {out}: up to date")
            written, chs = False, chapters(out)
        else:
            t = time.perf_counter()
            if not joined:
                raise FilmError("no scene to join: " + "; ".join(f"{n}: {w}" for n, w in left_out.items()))
            chs = join([(c, [(chapter_title(n, words), videos[n]) for n in names]) for c, (_, _, names) in zip(cards, parts)],
                       out, opening=opening, closing=closing)
            atomic_write_bytes(subtitles, vtt(chs, claims).encode())
            guard.check()
            make._record(o, stamps, summary, log, "page", "film", {}, film_code, options, [out, subtitles], None,
                         f"{out} ({len(chs)} chapters, {chs[-1]['end']:.0f}s, {time.perf_counter() - t:.0f}s to join)")
            written = True
        try:
            index = write_gallery(o, stamps, failed)
            log(f"[film] {index}: links the film")
        except Exception as e:  # noqa: BLE001  the film is made; the gallery is `grokking all`'s to mend
            index = None
            log(f"[film] the gallery was not written again ({type(e).__name__}: {e}); grokking all writes it")
    return {"path": out, "subtitles": subtitles, "written": written, "chapters": chs, "left_out": left_out,
            "gallery": index, **summary}


def _relabel_for_op(o):
    """(the options the film renders and joins with, {scene: why} of those it leaves out by the
    run's op): Relabel (the table sorted by the discrete log) belongs to a mul or div run's film;
    another run's film leaves it out unless --scenes names it."""
    from dataclasses import replace
    from grokking.common.assets import Assets
    from grokking.scenes.catalog import SCENES
    from . import make
    if o.scenes is not None or "Relabel" not in SCENES:
        return o, {}
    try:
        op = Assets(o.run, o.assets_root).summary["task"].get("op", "add")
    except Exception:  # noqa: BLE001  no assets yet: the film's own checks say so
        return o, {}
    if op in RELABELLED_OPS:
        return o, {}
    why = (f"a {op} run's film: Relabel sorts the multiplication table by the discrete log, which mul and div "
           f"runs add in; --scenes Relabel joins it, `grokking scene Relabel --run {o.run}` renders it")
    return replace(o, scenes=[n for n in make._scene_names(o) if n != "Relabel"]), {"Relabel": why}


def _shown(folder: Path) -> str:
    """A folder as a card names it: relative to the working directory where it is inside it."""
    try:
        return Path(folder).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(folder)
