"""media/<run>/explore.html: the run's checkpoints in the browser, one epoch slider over all of
them. Opens offline from the file system: the data is embedded in the page (browsers refuse
file:// fetches), the script is pipeline/explore.js, inlined.

Every number comes from assets/<run>/ (read through common.assets, so the pipeline's stamps know
exactly what the page depends on), and every number a panel shows at an epoch is measured at that
epoch (extraction/replay.py): the probe refitted there, the sweeps and the loop grid scaled to
that checkpoint's range with each neuron's fit, the crest and logit panels marking their line
x + y ≡ T with the share of rows peaking on it; a caption that claims something (a ridge, a
wave) is chosen by that number and its threshold, stated beside it. The header shows the story
check. What is made smaller, and how (PACKING in the page says the same):
  - curves, embedding Fourier norms, probe outputs: float32 (the assets hold float64);
  - the wave sweeps and the crest and logit surfaces (evolution.npz, float16): 8 bits per value,
    each checkpoint's (and, for the sweeps, each neuron's) own range mapped onto 0..255, so a
    value is off by at most (max - min) / 510 of that frame; stored as differences from the
    previous checkpoint (mod 256) and deflated, which is where most of the saving comes from;
  - only if all that still exceeds BUDGET_BYTES, the surfaces keep every s-th checkpoint (and the
    last), s the smallest that fits; the panels then say which checkpoint a surface is from; and
    if even the fewest do not fit (the rest alone too large), the page says so at its top.

The look is the project's: every colour the page draws with is common/palette.py's (its roles, key
frequencies, phases, dark-background text, and its colour maps sampled from matplotlib), written
into the page as JSON (PALETTE in the page), so the explorer, the figures and the scenes agree.
The epoch axes (the loss panel, the slider and the phase bar under it) are log10(1 + epoch), as the
scenes' (scenes/story.py lx). The surfaces' colours and the wave rows are on one scale over all
checkpoints by default (a growing pattern shows growing); a toggle puts each checkpoint on its own
range (the loops always are, as NeuronLoops: their shape is the point).

Another op is drawn in the coordinates extraction measures it in (common/assets.py Additive):
every surface is n × n and every sweep and probe n long (n = p − 1 for mul and div), the axes
and the line named as the op's ("log₃ x", "log₃ y", "log₃ x + log₃ y"; the page says they are
discrete logs), a selection's element named with its answer token, a hovered cell with its input
tokens. A pow run with no grid has no surfaces: those panels say so, with extraction's reason.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import zlib
from pathlib import Path

import numpy as np

from grokking.common import code
from grokking.common import palette as pal
from grokking.common.assets import Assets, Crest, Logit, ProductPair, WaveNeurons
from grokking.common.io import atomic_write_bytes
from grokking.extraction.coords import sup

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "explore.js"
BUDGET_BYTES = 19_000_000            # the page, all told, stays under 20 MB
PAGE = "explore.html"

# Which scenes and figures show what each panel shows (names of scenes/catalog.py and figures/build.py).
PANELS = {
    "curves": (["GrokkingCurve", "ExcludedLoss", "TrainingStory"], ["grokking_curves", "progress_measures"]),
    "fourier": (["FourierPeak"], ["embedding_fourier", "anim_embedding"]),
    "waves": (["NeuronWaves", "FourierPeak"], ["neurons"]),
    "loops": (["NeuronLoops"], ["anim_loops"]),
    "crest": (["Crest", "NeuronSurface", "TrainingStory"], ["crest", "anim_surfaces"]),
    "logit": (["LogitSurface", "TrigIdentity"], ["logits", "anim_surfaces"]),
    "probe": (["EmbeddingProbe", "Clock", "TrainingStory"], ["probe"]),
}

PACKING = ("Curves, embedding Fourier norms and probe outputs: float32. Wave sweeps, crest and logit "
           "surfaces: 8 bits per value over each checkpoint's own range (off by at most range/510), "
           "stored as differences between checkpoints and deflated.")


def code_hash() -> str:
    """This module (and what it imports) plus the page's script."""
    h = hashlib.sha256(code.code_hash([Path(__file__)]).encode())
    h.update(SCRIPT.read_bytes())
    return h.hexdigest()[:16]


# ---- packing arrays for the page ------------------------------------------------------------

def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def f32(a) -> dict:
    a = np.asarray(a, dtype="<f4")
    return {"f4": _b64(a.tobytes()), "shape": list(a.shape)}


def quantise(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a [C, G, M] -> (q uint8 [C, G, M], lo [C, G], hi [C, G]): each (checkpoint, group) mapped
    from its own min..max onto 0..255 (a flat group is all 0 at lo)."""
    a = np.asarray(a, np.float64)
    if not np.isfinite(a).all():
        raise ValueError("non-finite values cannot be packed")
    lo, hi = a.min(-1), a.max(-1)
    span = np.where(hi > lo, hi - lo, 1.0)
    q = np.rint((a - lo[..., None]) / span[..., None] * 255).astype(np.uint8)
    return q, lo.astype(np.float32), hi.astype(np.float32)


def dequantise(q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """What the page computes: lo + q * (hi - lo) / 255 (in float32, as the page does)."""
    lo, hi = lo.astype(np.float32), hi.astype(np.float32)
    return lo[..., None] + q.astype(np.float32) * ((hi - lo) / np.float32(255))[..., None]


def q8(a: np.ndarray, frames: np.ndarray | None = None) -> dict:
    """a [C, G, M] as 8-bit values, differences along C (mod 256), deflated; `frames` names the
    checkpoints kept (None: all)."""
    a = np.asarray(a)
    if frames is not None:
        a = a[frames]
    q, lo, hi = quantise(a)
    d = np.diff(q, axis=0, prepend=np.zeros_like(q[:1]))        # uint8 arithmetic wraps: mod 256
    return {"q8": _b64(zlib.compress(d.tobytes(), 9)), "lo": f32(lo), "hi": f32(hi), "shape": list(q.shape),
            "frames": None if frames is None else [int(f) for f in frames]}


def strided(C: int, s: int) -> np.ndarray | None:
    """Every s-th checkpoint and the last (None when s == 1: all of them)."""
    if s <= 1:
        return None
    return np.unique(np.r_[np.arange(0, C, s), C - 1])


# ---- the palette --------------------------------------------------------------------------------

def _lut(name: str) -> list[int]:
    """A matplotlib colour map sampled at 256 points: [r0, g0, b0, r1, ...] (0..255)."""
    import matplotlib
    rgba = matplotlib.colormaps[name](np.linspace(0, 1, 256))
    return [int(v) for v in np.rint(rgba[:, :3] * 255).astype(int).ravel()]


def palette_data() -> dict:
    """common/palette.py as the page reads it: the only colours its script draws with."""
    return {"role": dict(pal.ROLE), "key_freq": list(pal.KEY_FREQ), "phase": dict(pal.PHASE),
            "phase_alpha": pal.PHASE_ALPHA, "background": pal.BACKGROUND_DARK, "text": pal.TEXT_DARK,
            "muted": pal.MUTED_DARK, "grid": pal.GRID_DARK, "highlight": pal.OKABE_ITO["yellow"],
            "cmaps": {"signed": pal.CMAP_SIGNED, "by_input": pal.CMAP_BY_INPUT},
            "lut": {"signed": _lut(pal.CMAP_SIGNED), "by_input": _lut(pal.CMAP_BY_INPUT)}}


# ---- the page's data -------------------------------------------------------------------------

def page_data(a: Assets, links: dict, budget: int = BUDGET_BYTES) -> dict:
    """Everything the page shows, from the assets."""
    from grokking.figures.common import phase_spans
    s = a.summary
    p = a.p
    cv = a["curves"]
    epochs = np.asarray(cv["epoch"])
    C = len(epochs)
    ph = s.get("phases") or {}
    axes = axes_data(a)
    n = axes["n"]
    data = {
        "run": a.run, "p": p, "n": n, "task": task_title(s["task"]), "epochs": [int(e) for e in epochs],
        "axes": axes, "axes_note": axes_note(a),
        "phases": {k: ph.get(k) for k in ("memorised", "memorisation_end", "cleanup_start", "cleanup_end", "grokked")},
        "spans": [[n, lo, hi] for n, lo, hi in phase_spans(a)],
        "analysis_epoch": s.get("analysis_epoch"),
        "key_freqs": [int(k) for k in s["key_frequencies"]], "key_labels": list(s["key_labels"]),
        "packing": PACKING, "links": links, "palette": palette_data(),
    }
    data["curves"] = {k: f32(cv[k]) for k in ("train_loss", "test_loss", "train_acc", "test_acc", "excluded_loss",
                                              "restricted_loss_train", "restricted_loss_test")}
    fo = a["fourier"]
    data["fourier"] = {"labels": [str(v) for v in fo["basis_labels"]], "norms": f32(fo["embed_norms"])}
    pr = a["probes"]
    probe = a.probe
    replay = a.replay
    # what the replays show at each checkpoint, measured there, and the thresholds its captions are chosen by
    data["replay"] = {"found": replay.found, "reason": replay.reason, "thresholds": replay.thresholds or {},
                      "crest_tol": replay.crest_tol or 0}
    data["check"] = check_rows(a)
    parts = ("target", "out", "r2") + (("r2_fixed",) if "cos_r2_fixed" in pr else ())
    data["probe"] = {"k": probe.k, "label": probe.label, "refitted": replay.found,
                     **{f"{f}_{part}": f32(pr[f"{f}_{part}"]) for f in ("cos", "sin") for part in parts}}
    ev = a["evolution"]
    if not np.array_equal(np.asarray(ev["epoch"]), epochs):
        raise ValueError("evolution.npz and curves.npz have different checkpoints")
    measured = lambda key: f32(ev[key]) if key in ev else None
    waves = a.selection(WaveNeurons)
    data["waves"] = ({"found": True, "neurons": [int(n) for n in waves.neurons], "freqs": [int(k) for k in waves.freqs],
                      "sweeps": q8(ev["wave_sweeps"]), "fit": measured("wave_fit")}
                     if waves.found else {"found": False, "reason": waves.why_not()})
    crest, logit = a.selection(Crest), a.selection(Logit)
    surf = {"crest": (crest, "crest_surface", {"T": crest.T, "points": crest.points, "line": crest.T,
                                               "answer": answer_note(a, crest.T),
                                               "tol": replay.crest_tol or 0, "rows": measured("crest_rows_on_line")}),
            "logit": (logit, "logit_surface", {"output": logit.output, "maxima": logit.maxima, "line": logit.output,
                                               "answer": answer_note(a, logit.output),
                                               "tol": 0, "rows": measured("logit_rows_on_line")})}
    raw = {name: np.asarray(ev[key])[:, None].reshape(C, 1, n * n)
           for name, (sel, key, _) in surf.items() if sel.found}
    rest = len(json.dumps(data))
    stride = 1
    while True:
        frames = strided(C, stride)
        packed = {name: q8(arr, frames) for name, arr in raw.items()}
        size = rest + sum(len(json.dumps(v)) for v in packed.values())
        if size <= budget or (frames is not None and len(frames) <= 2) or not raw:
            break
        stride += 1
    for name, (sel, _, extra) in surf.items():
        data[name] = ({"found": True, **extra, "surface": packed[name]} if sel.found
                      else {"found": False, "reason": sel.why_not()})
    data["surface_stride"] = stride
    data["over_budget"] = over_budget(size, rest, budget, C, stride)
    return data


def task_title(task: dict) -> str:
    """The task as the page's title names it: "add mod 113" for addition (as it always has), the
    operation itself for every other op ("(x · y) mod 113", scenes/theme.py's task_name)."""
    if task.get("op", "add") == "add":
        return f"add mod {task['p']}"
    from grokking.scenes.theme import task_name
    return task_name(task)


def axes_data(a: Assets) -> dict:
    """The op's coordinates as the page names them (common/assets.py Additive): `n` the side of
    every surface and the length of every sweep and probe; `x`, `y`, `sum` the axes and the line in
    the task's terms ("log₃ x", "log₃ y", "log₃ x + log₃ y"); `probe_x` what the embedding's rows
    (Fourier norms, probe) run over; `answers` [n] the answer token of each element (None where the
    element is the answer); `x_tokens`, `y_tokens` [n] the input token at each element of an axis
    (None where the axes are x and y themselves, or no grid); `log` whether the axes are discrete
    logs (mul, div); `grid` False for a pow whose powers collide (no surfaces)."""
    add = a.additive
    task = a.summary["task"]
    n, op = a.n, task.get("op", "add")
    grid = add.grid is not False
    outputs = [int(t) for t in add.outputs] if add.outputs else None
    d = {"op": op, "n": n, "x": add.x_label, "y": add.y_label, "sum": add.sum_label,
         "relabelled": bool(add.relabelled), "grid": grid, "generator": add.generator,
         "log": op in ("mul", "div") and add.generator is not None,
         "probe_x": add.x_label if grid else "x",
         "answers": outputs if outputs is not None and outputs != list(range(len(outputs))) else None,
         "x_tokens": None, "y_tokens": None}
    if grid and add.relabelled:
        d["x_tokens"], d["y_tokens"] = axis_tokens(a)
    return d


def axis_tokens(a: Assets) -> tuple[list | None, list | None]:
    """The input tokens (x, y) at each element of the surfaces' axes: the arithmetic of the run's
    op at its p (extraction/coords.py), checked against what the assets record (their digits and
    outputs); (None, None) where they disagree (then the page names elements only)."""
    from grokking.extraction.coords import coordinates
    task, add = a.summary["task"], a.additive
    try:
        co = coordinates(task.get("op", "add"), a.p, int(task.get("a") or 1), int(task.get("b") or 1))
    except ValueError:
        return None, None
    n = a.n
    if not co.grid or co.n != n or (add.digits and list(map(int, co.digits)) != list(add.digits)) \
            or (add.outputs and list(map(int, co.outputs)) != list(add.outputs)):
        return None, None
    order = np.asarray(co.order)
    return [int(t) for t in order[np.arange(n) * n] // a.p], [int(t) for t in order[:n] % a.p]


def answer_note(a: Assets, element: int | None) -> str:
    """What a selection's T or output (a group element) is in the task's terms: "" where the element
    is the answer itself (add, sub, pow); "the answer 65 = 3¹⁰⁵" for mul and div (T = 105 is log₃ 65)."""
    add = a.additive
    if element is None or not add.outputs or list(add.outputs) == list(range(len(add.outputs))):
        return ""
    tok = add.token(element)
    if add.generator is not None and add.op in ("mul", "div"):
        return f"the answer {tok} = {add.generator}{sup(element)}"
    return f"the answer {tok}"


def axes_note(a: Assets) -> str | None:
    """The header's line on the op's coordinates (None for add and for assets without them): the
    axes are discrete logs (mul, div) over Z_n, the pairs with a zero apart with the model's
    accuracy there; or a pow's powers collide and the surfaces are absent."""
    add = a.additive
    if not add.found or not (add.relabelled or add.grid is False or a.n != a.p):
        return None
    n = a.n
    out = []
    if add.op in ("mul", "div") and add.generator is not None:
        g = add.generator
        out.append(f"The axes are discrete logs base {g}: {add.x_label} and {add.y_label} (x = {g}ⁱ, "
                   f"y = {g}{'⁻ʲ' if add.op == 'div' else 'ʲ'} for x, y ≠ 0), so every surface is {n} × {n}, every sweep and probe runs over "
                   f"{n} elements and every frequency is over Z_{n} (w = 2πk/{n}); the answer is "
                   f"{g} to the power ({add.sum_label}) mod {n}.")
        zp = add.zero_pairs or {}
        if zp.get("pairs"):
            which = "x = 0" if add.op == "div" else "x = 0 or y = 0"
            out.append(f"The {zp['pairs']} pairs with {which} (answer 0) are outside the group and not drawn: "
                       f"the model's accuracy there {zp['accuracy']:.1%}"
                       + (f", mean probability of 0 {zp['mean_p_zero']:.3f}" if zp.get("mean_p_zero") is not None
                          else "") + ".")
    elif add.coordinates:
        out.append(f"Coordinates: {add.coordinates}.")
    if add.grid is False:
        share = add.collision_share or {}
        if share:
            out.append("How alike the embedding treats colliding inputs: " + ", ".join(
                f"{v:.0%} of its variance is a function of {k}" for k, v in share.items()) + ".")
        out.append(f"No ({add.x_label}, {add.y_label}) grid: the wave neurons, their loops and the crest and "
                   "logit surfaces are absent; the curves, the embedding's Fourier norms and the probe remain.")
    return " ".join(out)


def over_budget(size: int, rest: int, budget: int, C: int, stride: int) -> str | None:
    """What the page says when it is over its budget even with the surfaces at their fewest
    checkpoints (the data besides them alone too large: many checkpoints, a large p); None
    when it fits."""
    if size <= budget:
        return None
    mb = lambda n: f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.0f} kB"
    return (f"this page's data is {mb(size)}, over its {mb(budget)} budget: the curves, Fourier norms, probes and "
            f"wave sweeps of {C} checkpoints alone take {mb(rest)}"
            + (f", and the surfaces keep only every {stride}th checkpoint" if stride > 1 else "")
            + "; a browser may be slow to open it")


def check_rows(a: Assets) -> dict:
    """The story check as the page's header shows it: each row's verdict, number and target."""
    chk = a.story_check
    return {"passed": bool(chk.passed), "time_rows": list(chk.TIME_ROWS),
            "rows": [{k: c.get(k) for k in ("name", "passed", "value", "target")} for c in chk.criteria or []]}


def check_html(check: dict) -> str:
    """The header's story-check table: the final model's rows, then those in time."""
    e = html.escape
    out = [f"<details class='check'{'' if check['passed'] else ' open'}><summary><b>Story check: "
           f"{'PASS' if check['passed'] else 'FAIL'}</b> <span class='muted'>(is the story the scenes tell true of this "
           "run? docs/science.md §8; the rows in time say whether each replay caption's number says what it claims)"
           "</span></summary><table>"]
    for c in check["rows"]:
        if c["name"] == (check["time_rows"] or [None])[0]:
            out.append("<tr><td></td><th colspan='2' class='muted'>in time</th></tr>")
        v = "<b class='pass'>PASS</b>" if c["passed"] else "<b class='fail'>FAIL</b>"
        out.append(f"<tr><td>{v}</td><th>{e(c['name'])}</th><td>{e(c['value'])} "
                   f"<span class='muted'>(target: {e(c['target'])})</span></td></tr>")
    return "".join(out) + "</table></details>"


# The figures a run may lack the data for (figures/static.py and animations.py skip them): name ->
# the selections it needs, all of them ("all") or any one ("any"). Scenes say it themselves (scenes/data.py).
FIGURE_NEEDS = {"crest": ("all", (Crest,)), "logits": ("all", (Logit,)), "anim_loops": ("all", (WaveNeurons,)),
                "anim_surfaces": ("any", (ProductPair, Crest, Logit))}


def never_made(o, kind: str, name: str) -> str | None:
    """Why a scene or figure will never be made for this run (its mechanism was not found), or None."""
    a = Assets(o.run, o.assets_root)
    if kind == "scene":
        from grokking.scenes.data import absent, using
        with using(o.run, o.assets_root):
            return absent(name, o.run)
    how, needs = FIGURE_NEEDS.get(name, ("all", ()))
    lacking = [a.selection(c) for c in needs if not a.selection(c).found]
    if needs and (lacking if how == "all" else len(lacking) == len(needs)):
        return "; ".join(dict.fromkeys(f"no {c.KEY.replace('_', ' ')}: none found ({c.why_not()})" for c in lacking))
    return None


def made_file(o, kind: str, name: str, stamp: dict | None) -> Path | None:
    """The file that shows a scene or figure: the one its stamp names, else the one a command
    outside the main job (grokking scene, grokking figures) left where it writes it."""
    want = (".mp4", ".gif") if kind == "scene" else (".png", ".mp4", ".gif")
    files = [Path(f) for f in (stamp or {}).get("files", [])]
    if kind == "scene":              # the main job's quality first, then what `grokking scene` made at any
        files += [Path(o.scene_dir) / f"{name}{ext}" for ext in want]
        files += sorted((Path(o.media_root) / "videos" / o.run).glob(f"*/{name}.mp4"))
    else:
        files += [Path(o.figure_dir) / f"{name}{ext}" for ext in want]
    return next((f for f in files if f.suffix in want and f.exists()), None)


def panel_links(o, stamps: dict, out_dir: Path) -> dict:
    """panel -> [[kind, name, href or None, note]]: the scenes and figures that show it, linked to
    their files where they are made (relative to the page, so the links work offline); one the run
    cannot have says why, one not made yet the command that makes it."""
    out = {}
    for panel, (scenes, figures) in PANELS.items():
        row = []
        for kind, names in (("scene", scenes), ("figure", figures)):
            for name in names:
                st = stamps.get(kind + "s", {}).get(name)
                f = made_file(o, kind, name, st)
                if st and st.get("skipped"):
                    row.append([kind, name, None, f"not drawn: {st['skipped']}"])
                elif f is not None:
                    row.append([kind, name, Path(os.path.relpath(f, out_dir)).as_posix(), ""])
                elif (why := never_made(o, kind, name)) is not None:
                    row.append([kind, name, None, f"not drawn for this run: {why}"])
                else:
                    cmd = f"grokking scene {name} --run {o.run}" if kind == "scene" else f"grokking figures --run {o.run}"
                    row.append([kind, name, None, f"not made yet ({cmd})"])
        out[panel] = row
    return out


def linked_files(links: dict) -> list[str]:
    return sorted({href for row in links.values() for _, _, href, _ in row if href})


# Every text at least 12 px (the canvases' fonts too: explore.js sizes them by how large each canvas
# is shown). Colours: the palette's dark-background text, muted text, rules, background and panel.
CSS = """body{font-family:system-ui,sans-serif;font-size:16px;margin:0 auto;max-width:1500px;padding:0 1em 2em;
background:%(bg)s;color:%(text)s}
a{color:%(link)s}h1{font-size:26px;font-weight:600;margin:.5em 0 .2em}h2{font-size:16px;margin:.2em 0}
#bar{position:sticky;top:0;background:%(bg)s;padding:.4em 0;z-index:2;border-bottom:1px solid %(grid)s}
#bar .row{display:flex;align-items:center;gap:1em;font-size:15px}#play{width:6.5em;font-size:15px}
#slider{width:100%%;display:block;margin:.3em 0 0;accent-color:%(hover)s}#scale{font-size:15px}
#epoch{font-variant-numeric:tabular-nums;flex:1}#phasebar{width:100%%;height:58px;display:block}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(660px,100%%),1fr));gap:1em;margin-top:1em}
.panel{background:%(panel)s;padding:.6em;border-radius:6px}.panel canvas{width:100%%;display:block;background:%(bg)s}
.now,.hover{font-size:14px;font-variant-numeric:tabular-nums;min-height:1.3em;color:%(text)s}.hover{color:%(hover)s}
.links{font-size:13px;color:%(muted)s;margin-top:.3em}.muted{color:%(muted)s;font-size:14px}
.check{font-size:14px;margin:.3em 0}.check .muted{font-size:13px}
.check td,.check th{padding:.1em .6em;text-align:left;vertical-align:top}
.pass{color:%(pass)s}.fail{color:%(fail)s}""" % pal.PAGE_DARK


def render_page(data: dict) -> bytes:
    e = html.escape
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return "\n".join([
        "<!doctype html><html lang='en'><meta charset='utf-8'>",
        f"<title>{e(data['run'])}: explore training</title><style>{CSS}</style>",
        f"<h1>Run {e(data['run'])}: {e(data['task'])}, through training</h1>",
        "<p class='muted'><a href='index.html'>gallery</a> · drag the slider (epochs on a log scale, as the loss "
        "panel's axis and the phase bar under it), or use ← → to step one checkpoint (Shift: 10), "
        "Space to play; hover a panel to read its values. " + e(data["packing"]) + "</p>",
        f"<p class='muted' id='axes'>{e(data['axes_note'])}</p>" if data.get("axes_note") else "",
        f"<p class='fail' id='budget'>{e(data['over_budget'])}</p>" if data.get("over_budget") else "",
        check_html(data["check"]),
        "<div id='bar'><div class='row'><button id='play'>▶ play</button><span id='epoch'></span>"
        "<label>scales: <select id='scale' aria-label='colour and axis scales'>"
        "<option value='fixed' selected>fixed over all checkpoints</option>"
        "<option value='own'>each checkpoint its own</option></select></label></div>"
        "<input id='slider' type='range' min='0' max='1000' value='0' step='any' "
        "aria-label='epoch (log scale)'><canvas id='phasebar'></canvas></div>",
        "<div class='grid' id='panels'></div>",
        f"<script id='data' type='application/json'>{payload}</script>",
        f"<script>{SCRIPT.read_text()}</script>",
        "</html>"]).encode()


def write_explorer(o, stamps: dict, budget: int = BUDGET_BYTES) -> tuple[Path, dict]:
    """Write media/<run>/explore.html; returns (its path, the links it carries)."""
    out_dir = Path(o.media_root) / o.run
    out_dir.mkdir(parents=True, exist_ok=True)
    links = panel_links(o, stamps, out_dir)
    data = page_data(Assets(o.run, o.assets_root), links, budget)
    path = out_dir / PAGE
    atomic_write_bytes(path, render_page(data))
    return path, links
