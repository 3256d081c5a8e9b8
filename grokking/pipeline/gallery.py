"""media/<run>/index.html: every figure, a poster frame of every scene linking to its video,
and the run's summary. Self-contained (relative links, inline CSS): opens offline."""
from __future__ import annotations

import html
import os
from pathlib import Path

from grokking.common import palette as pal
from grokking.common.assets import Assets, Crest, Story, seed_choice_line
from grokking.common.io import atomic_write_bytes

# every colour the palette's (common/palette.py PAGE_DARK): a figure on print white, a scene on the
# scenes' background
CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;background:%(bg)s;color:%(text)s}
a{color:%(link)s}h1{font-weight:600}table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1.2em}
figure{margin:0;background:%(panel)s;padding:.6em;border-radius:6px}figure img{width:100%%;background:%(print)s}
figure.scene img,video{background:%(bg)s}figcaption{font-size:.9em;margin-top:.4em}.muted{color:%(muted)s}
.pass{color:%(pass)s}.fail{color:%(fail)s}""" % pal.PAGE_DARK


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def write_gallery(o, stamps: dict, failed: dict | None = None) -> Path:
    """The page; `failed` (item -> error) names what this `all` could not make."""
    failed = failed or {}
    out_dir = Path(o.media_root) / o.run
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    a = Assets(o.run, o.assets_root)
    s = a.summary
    e = html.escape
    ph = s.get("phases", {})
    from .words import group_lines, task_name
    over, coords = group_lines(a)
    op = s["task"].get("op", "add")
    rows = [("task", (f"{op} mod {s['task']['p']}" if op == "add" else task_name(s["task"]))
                     + f", train fraction {s['task']['frac']}, seed {s['task']['seed']}"
                     + (f", smoothness penalty {s['task']['smooth']:g}" if s["task"].get("smooth") else "")),
            ("seed", seed_choice_line(a.seed_choice)),
            ("grokked", "yes" if s.get("grokked") else "no"),
            ("memorised (100% train)", ph.get("memorised")), ("circuit formation from", ph.get("memorisation_end")),
            ("clean-up", f"{ph.get('cleanup_start')} to {ph.get('cleanup_end')}"), ("grokked (99% test)", ph.get("grokked")),
            ("key frequencies" + over, ", ".join(f"{lab} (k={k})" for k, lab in zip(s["key_frequencies"], s["key_labels"]))
             or "none"),
            *[("coordinates" if i == 0 else "", line) for i, line in enumerate(coords)],
            ("story frequency", _story(a.story)),
            ("crest made of", ", ".join(a.selection(Crest).frequency_labels or []) or "none"),
            ("neurons in clusters", f"{s['neurons']['n_clustered']} of {s['neurons']['n']}"),
            ("logit approximation explains", f"{s['logit_approx']['explained_variance']:.1%}")]
    parts = [f"<!doctype html><meta charset='utf-8'><title>{e(o.run)}: grokking</title><style>{CSS}</style>",
             f"<h1>Run {e(o.run)}</h1><table>"]
    parts += [f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in rows]
    parts.append("</table><p class='muted'>Phases: " + e(ph.get("rule", "")) + "</p>")
    chk = a.story_check
    parts.append(f"<h2>Story check: {'PASS' if chk.passed else 'FAIL'}</h2><p class='muted'>Is the story the "
                 "scenes tell true of this run? (docs/science.md §8)</p><table>")
    for c in chk.criteria or []:
        if c["name"] == chk.TIME_ROWS[0]:
            parts.append("<tr><td></td><th colspan='2' class='muted'>in time: the plateau, after grokking, "
                         "and what the replays say at each epoch</th></tr>")
        verdict = "<b class='pass'>PASS</b>" if c["passed"] else "<b class='fail'>FAIL</b>"
        more = "" if c["passed"] else (f"<br><span class='muted'>{e(', '.join(c['scenes']))}: {e(c['meaning'])}; "
                                       f"{e(c['advice'] or '')}</span>")
        parts.append(f"<tr><td>{verdict}</td><th>{e(c['name'])}</th><td>{e(c['value'])} "
                     f"<span class='muted'>(target: {e(c['target'])})</span>{more}</td></tr>")
    parts.append("</table>")
    if (out_dir / "explore.html").exists():
        parts.append("<p><a href='explore.html'><b>Explore training</b></a>: every checkpoint on one slider "
                     "(curves, Fourier norms, wave neurons, loops, surfaces, probes)</p>")
    parts += _film(out_dir)

    if failed:
        parts.append("<p><b>Failed</b> (run <code>grokking all</code> again after fixing): "
                     + "; ".join(f"{e(k)}: {e(v)}" for k, v in failed.items()) + "</p>")
    parts.append("<h2>Figures</h2><div class='grid'>")
    for name, st in stamps.get("figures", {}).items():
        files = [Path(f) for f in st.get("files", []) if Path(f).exists()]
        if st.get("skipped"):
            parts.append(f"<figure><figcaption><b>{e(name)}</b>: skipped ({e(st['skipped'])})</figcaption></figure>")
            continue
        if not files:
            continue
        img = next((f for f in files if f.suffix in (".png", ".gif")), None)
        links = " · ".join(f"<a href='{e(_rel(f, out_dir))}'>{f.suffix[1:]}</a>" for f in files)
        pic = f"<img loading='lazy' src='{e(_rel(img, out_dir))}' alt='{e(name)}'>" if img else ""
        parts.append(f"<figure>{pic}<figcaption><b>{e(name)}</b> {links}</figcaption></figure>")
    parts.append("</div><h2>Scenes</h2><div class='grid'>")
    from grokking.scenes.catalog import SCENES
    for name, st in stamps.get("scenes", {}).items():
        files = [Path(f) for f in st.get("files", []) if Path(f).exists()]
        video = next((f for f in files if f.suffix in (".mp4", ".gif")), None)
        poster = next((f for f in files if f.suffix == ".png"), None)
        if st.get("skipped"):                  # the run lacks what it shows: say why, honestly
            parts.append(f"<figure class='scene'><figcaption><b>{e(name)}</b>: not drawn, because "
                         f"{e(st['skipped'])}</figcaption></figure>")
            continue
        if not video:
            continue
        desc = SCENES.get(name, ("", "", ""))
        pic = f"<img loading='lazy' src='{e(_rel(poster, out_dir))}' alt='{e(name)}'>" if poster else name
        parts.append(f"<figure class='scene'><a href='{e(_rel(video, out_dir))}'>{pic}</a><figcaption>"
                     f"<b>{e(name)}</b> ({e(desc[2])}) {e(desc[1])} · <a href='{e(_rel(video, out_dir))}'>video</a>"
                     "</figcaption></figure>")
    parts.append("</div>")
    atomic_write_bytes(index, "\n".join(parts).encode())
    return index


def _film(out_dir: Path) -> list[str]:
    """The film (pipeline/film.py) when it exists: played in the page, with its subtitles (each
    chapter's claim) when they exist, and linked."""
    film, subtitles = out_dir / "story.mp4", out_dir / "story.vtt"
    if not film.exists():
        return []
    track = (f"<track kind='subtitles' src='{subtitles.name}' srclang='en' label='claims' default>"
             if subtitles.exists() else "")
    return ["<h2>The film</h2>",
            f"<video controls preload='metadata' style='width:100%;max-width:960px'>"
            f"<source src='{film.name}' type='video/mp4'>{track}</video>",
            f"<p><a href='{film.name}'><b>The story as one film</b></a> (every scene in story order, with "
            "chapters: an opening card naming the run, a card per part, a closing card naming the figures)"
            + (f" · <a href='{subtitles.name}'>subtitles</a> (each chapter's claim)" if track else "") + "</p>"]


def _story(st: Story) -> str:
    """The one frequency the story shows (waves' first pair, FourierPeak, probe, clock, products)."""
    if not st.found:
        return f"none ({st.why_not()})"
    return (f"{st.label} (k={st.k}): {st.rule}; shown by the first wave pair, FourierPeak, "
            f"the probe, the clock, the product pair and TrigIdentity")
