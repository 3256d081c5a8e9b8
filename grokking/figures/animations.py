"""Figure 10: training replayed (MP4 and GIF through imageio), one function per animation.

Each function returns an Animation: a figure, the artists that change, an update(i) that
sets them for checkpoint i, and the checkpoint indices to show (at most `frames`, evenly
spread in epoch). write() blits only the changing artists onto a background drawn once, so
a frame costs milliseconds. Shapes are scaled per frame (what matters is the pattern
appearing, not the weights shrinking under weight decay); the frame counter shows the epoch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from grokking.common.assets import Crest, Logit, ProductPair, WaveNeurons

from . import style
from .common import (Missing, frame_indices, freq_norms, keys, merged_ticks, n_freqs, need, ops, phase_at,
                     phase_spans, selection)

FPS = 15
HOLD_S = 1.5          # the last frame stays this long
DPI = 100             # frame sizes below are multiples of 16 pixels at this dpi (video codecs like that)
COUNTER_PX = 22       # a band at the bottom of every frame for the epoch counter


@dataclass
class Animation:
    fig: object
    artists: list
    update: Callable[[int], None]
    indices: np.ndarray


def _figure(width_px: int, height_px: int):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, layout="constrained")
    band = COUNTER_PX / height_px
    fig.get_layout_engine().set(rect=(0, band, 1, 1 - band))
    return fig


def _unit(v: np.ndarray, axis=None) -> np.ndarray:
    """Centre and scale to [-1, 1] (per frame): the shape, whatever the overall size."""
    v = np.asarray(v, np.float32)
    v = v - v.mean(axis=axis, keepdims=axis is not None)
    m = np.abs(v).max(axis=axis, keepdims=axis is not None)
    return v / np.where(m > 0, m, 1)


def _counter(fig, a, epochs):
    """'epoch N · phase' in the band under the plots; returns (artist, setter)."""
    spans = phase_spans(a)
    txt = fig.text(0.01, 4 / (fig.get_figheight() * DPI), "", ha="left", va="bottom", fontsize=9,
                   family="DejaVu Sans Mono", fontweight="bold")

    def set_epoch(i):
        e = int(epochs[i])
        phase = phase_at(spans, e)
        txt.set_text(f"epoch {e:>6d}" + (f"  ·  {phase}" if phase else ""))
    return txt, set_epoch


def _note(fig, text: str) -> None:
    """A fixed remark in the counter band, right-aligned (how the frames are scaled, say)."""
    fig.text(0.995, 4 / (fig.get_figheight() * DPI), text, ha="right", va="bottom", fontsize=7,
             color="#666666")


def _loss_strip(ax, a):
    """Train and test loss over all epochs with a moving marker; returns the marker."""
    ep, trl, tel = need(a, "curves", "all_epoch", "all_train_loss", "all_test_loss")
    ax.plot(ep, trl, color=style.ROLE["train"], lw=0.8, label="train loss")
    ax.plot(ep, tel, color=style.ROLE["test"], lw=0.8, label="test loss")
    ax.set_yscale("log")
    ax.set_xlim(ep[0], ep[-1])
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return ax.axvline(ep[0], color="#222222", lw=1)


# ---- the three animations ------------------------------------------------------------------

def anim_embedding(a, frames: int = 150) -> Animation:
    """W_E's Fourier norm per frequency, checkpoint by checkpoint."""
    norms, = need(a, "fourier", "embed_norms")
    epochs = np.asarray(a["curves"]["epoch"])
    if len(epochs) != len(norms):
        raise Missing("fourier.npz embed_norms and curves.npz epoch differ in length")
    idx = frame_indices(epochs, frames)
    o = ops(a)
    n_freqs(norms.shape[1])
    per_freq = freq_norms(norms[idx])                          # [frames, n//2] (an even n's Nyquist last)
    n = per_freq.shape[1]
    kinfo = keys(a)
    colour = {k: c for k, _, c in kinfo}
    fig = _figure(720, 400)
    ax, ax_l = fig.subplots(2, 1, height_ratios=[3, 1])
    ks = np.arange(1, n + 1)
    bars = ax.bar(ks, per_freq[0], width=0.8, lw=0,
                  color=[colour.get(int(k), style.ROLE["other"]) for k in ks])
    ax.set_xlim(0.3, n + 0.7)
    ax.set_ylim(0, per_freq.max() * 1.05 or 1)
    ax.set_xticks(*merged_ticks([k for k, _, _ in kinfo], [lab for _, lab, _ in kinfo], min_gap=0.08 * n),
                  fontsize=7)
    ax.set_ylabel("norm of W_E per frequency", fontsize=8)
    ax.set_title("embedding W_E " + (f"over {o.x} " if o.relabelled else "")
                 + "in the Fourier basis (key frequencies named)", fontsize=9, loc="left")
    marker = _loss_strip(ax_l, a)
    txt, set_epoch = _counter(fig, a, epochs)
    lookup = {int(i): j for j, i in enumerate(idx)}

    def update(i):
        for b, h in zip(bars, per_freq[lookup[int(i)]]):
            b.set_height(h)
        marker.set_xdata([epochs[i]] * 2)
        set_epoch(i)
    return Animation(fig, [*bars, marker, txt], update, idx)


def anim_surfaces(a, frames: int = 150) -> Animation:
    """The selected surfaces over training: the product pair, the crest unit, the logit."""
    ev = a["evolution"]
    if "epoch" not in ev:
        raise Missing("evolution.npz has no epoch")
    epochs = np.asarray(ev["epoch"])
    pp, crest, logit = a.selection(ProductPair), a.selection(Crest), a.selection(Logit)
    o = ops(a)
    panels = []                       # (title, [C, p, p] array, (its line, [C] share of rows on it) or None)
    tol = a.replay.crest_tol or 0
    if pp.found:
        for j, (i, f) in enumerate(zip(pp.neurons, o.product_formulas(int(pp.k), pp.formulas))):
            f = f.replace(")·", ")\n· ") if o.relabelled else f      # a long formula on two lines
            panels.append((f"neuron #{i}\n≈ {f}", ev["pair_surfaces"][:, j], None))
    if crest.found:
        panels.append((f"crest unit, {o.line} ≡ {crest.T} dashed"
                       + (f"\n({o.answer(crest.T)})" if o.answer(crest.T) else ""), ev["crest_surface"],
                       (crest.T, ev.get("crest_rows_on_line"), tol)))
    if logit.found:
        panels.append((f"logit of output {o.output(logit.output)}\n{o.line} ≡ {logit.output} dashed",
                       ev["logit_surface"],
                       (logit.output, ev.get("logit_rows_on_line"), 0)))
    if not panels:
        found = [sel for sel in (pp, crest, logit) if sel.found]
        raise Missing("evolution.npz has no selected surfaces" if found else
                      f"extraction found no selected surface ({crest.why_not()})")
    idx = frame_indices(epochs, frames)
    p = o.n
    fig = _figure(720, 320)
    sub_s, sub_l = fig.subfigures(2, 1, height_ratios=[3.2, 1])
    axes = np.atleast_1d(sub_s.subplots(1, len(panels)))
    images, shares, lines = [], [], []
    for ax, (title, arr, on) in zip(axes, panels):
        im = ax.imshow(_unit(arr[idx[0]]).T, origin="lower", cmap=style.CMAP_SIGNED, vmin=-1, vmax=1,
                       extent=(-0.5, p - 0.5, -0.5, p - 0.5), interpolation="nearest")
        ax.set_title(title, fontsize=7)
        if on is not None:           # the line, and what share of rows peak on it at each checkpoint
            c, rows, w = on
            lines += ax.plot([0, c], [c, 0], [c + 1, p - 1], [p - 1, c + 1], color="#e6a800", lw=1.0,
                             ls=(0, (3, 2)))      # blitted after its map, which is redrawn every frame
            if rows is not None:     # said under the map, in the room of its x label (kept blank)
                ax.set_xlabel(" ", fontsize=7, labelpad=1)
                said = ax.text(0.5, -0.01, "", transform=ax.transAxes, ha="center", va="top", fontsize=6.5)
                shares.append((said, np.asarray(rows, float), c, w))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlim(-0.5, p - 0.5)
        ax.set_ylim(-0.5, p - 0.5)
        if not (on is not None and on[1] is not None):
            ax.set_xlabel(o.x, fontsize=7, labelpad=1)
        ax.set_ylabel(o.y, fontsize=7, labelpad=1)
        images.append(im)
    marker = _loss_strip(sub_l.subplots(), a)
    txt, set_epoch = _counter(fig, a, epochs)

    def update(i):
        for im, (_, arr, _) in zip(images, panels):
            im.set_data(_unit(arr[i]).T)
        for said, rows, c, w in shares:
            said.set_text(f"{o.x}; {rows[i]:.0%} of rows peak on the line" + (f" (±{w})" if w else ""))
        marker.set_xdata([epochs[i]] * 2)
        set_epoch(i)
    _note(fig, "each map scaled to its own range in every frame")
    return Animation(fig, [*images, *lines, *(said for said, *_ in shares), marker, txt], update, idx)


def anim_loops(a, frames: int = 150) -> Animation:
    """The wave neurons swept over y (x = 0; mul: log₃ y at log₃ x = 0), pairwise: the loops appear as
    the circuit forms."""
    selection(a, WaveNeurons, "wave neurons")
    ev = a["evolution"]
    if "wave_sweeps" not in ev or "epoch" not in ev:
        raise Missing("evolution.npz has no wave_sweeps")
    epochs = np.asarray(ev["epoch"])
    o = ops(a)
    sweeps = ev["wave_sweeps"]                                 # [C, n, p]
    ids = a["selections"].get("wave_neurons", np.arange(sweeps.shape[1]))
    n, p = sweeps.shape[1], sweeps.shape[2]
    idx = frame_indices(epochs, frames)
    y = np.arange(p)
    from matplotlib import colormaps
    colours = colormaps[style.CMAP_BY_INPUT](y / max(p - 1, 1))
    fig = _figure(640, 640)
    fig.get_layout_engine().set(w_pad=0.01, h_pad=0.01, wspace=0.02, hspace=0.02)     # keeps the band
    axes = np.asarray(fig.subplots(n, n, squeeze=False))
    lines, dots = {}, {}
    v0 = _unit(sweeps[idx[0]], axis=1)
    for r in range(n):
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_ylim(-1.15, 1.15)
            if c > r:
                ax.axis("off")
                continue
            for side in ("top", "right"):
                ax.spines[side].set_visible(True)
            if r == c:
                ax.set_xlim(0, p - 1)
                lines[r], = ax.plot(y, v0[r], color="#333333", lw=0.8)
            else:
                ax.set_xlim(-1.15, 1.15)
                dots[r, c] = ax.scatter(v0[c], v0[r], c=colours, s=4 if p > 60 else 9, lw=0)
            if c == 0:
                ax.set_ylabel(f"#{int(ids[r])}", fontsize=7)
            if r == n - 1:
                ax.set_xlabel(f"#{int(ids[c])}" if c != r else f"#{int(ids[c])} vs {o.y}", fontsize=7)
    fig.text(0.98, 0.97, f"wave neurons, {o.sweep()}\n(points coloured by {o.y})\n"
             f"diagonal: each neuron against {o.y}", ha="right", va="top", fontsize=8)
    txt, set_epoch = _counter(fig, a, epochs)

    def update(i):
        v = _unit(sweeps[i], axis=1)
        for r, ln in lines.items():
            ln.set_ydata(v[r])
        for (r, c), d in dots.items():
            d.set_offsets(np.c_[v[c], v[r]])
        set_epoch(i)
    _note(fig, "each neuron scaled to its own range in every frame")
    return Animation(fig, [*lines.values(), *dots.values(), txt], update, idx)


ANIMATIONS = {
    "anim_embedding": (anim_embedding, "10a. animation: embedding Fourier norms over training"),
    "anim_surfaces": (anim_surfaces, "10b. animation: the selected surfaces over training"),
    "anim_loops": (anim_loops, "10c. animation: the wave-neuron pair loops over training"),
}


# ---- writing -------------------------------------------------------------------------------

def frames_of(anim: Animation):
    """RGB frames [H, W, 3] uint8: the background drawn once, the changing artists blitted."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(anim.fig)
    for art in anim.artists:
        art.set_animated(True)
    anim.update(anim.indices[0])
    canvas.draw()
    anim.fig.set_layout_engine("none")        # freeze the layout: the background stays valid
    background = canvas.copy_from_bbox(anim.fig.bbox)
    for i in anim.indices:
        anim.update(i)
        canvas.restore_region(background)
        for art in anim.artists:
            anim.fig.draw_artist(art)
        yield np.asarray(canvas.buffer_rgba())[..., :3].copy()


def write(anim: Animation, paths: dict[str, Path], fps: int = FPS) -> None:
    """Write the frames to every path given ({'mp4': ..., 'gif': ...}) in one pass."""
    import imageio.v2 as iio
    writers = []
    try:
        if "mp4" in paths:
            writers.append(iio.get_writer(paths["mp4"], fps=fps, codec="libx264", quality=7,
                                          macro_block_size=1, ffmpeg_log_level="error"))
        if "gif" in paths:
            writers.append(iio.get_writer(paths["gif"], mode="I", duration=1000 / fps, loop=0))
        frame = None
        for frame in frames_of(anim):
            for w in writers:
                w.append_data(frame)
        for _ in range(int(HOLD_S * fps) if len(anim.indices) > 1 else 0):
            for w in writers:
                w.append_data(frame)
    finally:
        for w in writers:
            w.close()
