"""The static figures, one function each: assets in, a matplotlib Figure out (not yet saved).

Every axis over the inputs is in the op's coordinates and says so (common.Ops: 'log₃ x' for a mul
run, over Z_112 at p = 113); every frequency is 2πk/n; a selection's T and output are group
elements, named by their answer token.

Every number and label drawn comes from the assets (summary.json and the arrays). A function
raises common.Missing when what it needs is absent; build.py then skips that figure.
"""
from __future__ import annotations

import textwrap

import numpy as np

from grokking.common.assets import Crest, Logit, ProductPair
from grokking.extraction import fourier as fo

from . import style
from .common import (Missing, analysis_index, draw_residue_line, epochs_across_training, fit_title,
                     footnote, freq_norms, freq_rows, headroom, key_spectrum, keys, label_residue_segments,
                     mark_points, merged_ticks, n_freqs, need, ops, phase_at, phase_handles, phase_spans,
                     say_coordinates, selection, shade_phases, surface)


def _figure(width: float, height: float):
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), layout="constrained")


def _nb(s: str) -> str:
    """`s` with no-break spaces: a wrapped title keeps it on one line."""
    return s.replace(" ", "\u00a0")


def _positive(epoch, *ys):
    """Drop epoch 0 (log x axes start at epoch 1)."""
    m = np.asarray(epoch) > 0
    return [np.asarray(epoch)[m]] + [np.asarray(y)[m] for y in ys]


# ---- 1. grokking ---------------------------------------------------------------------------

def grokking_curves(a):
    """Train and test loss (log) and accuracy against epoch, the three phases shaded."""
    ep, trl, tel, tra, tea = _positive(*need(a, "curves", "all_epoch", "all_train_loss",
                                             "all_test_loss", "all_train_acc", "all_test_acc"))
    spans = phase_spans(a)
    fig = _figure(style.DOUBLE, 2.3)
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(ep, trl, color=style.ROLE["train"], label="train")
    ax_loss.plot(ep, tel, color=style.ROLE["test"], label="test")
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_acc.plot(ep, 100 * tra, color=style.ROLE["train"], label="train")
    ax_acc.plot(ep, 100 * tea, color=style.ROLE["test"], label="test")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.set_ylim(0, 102)
    unnamed = set()
    for ax, title in ((ax_loss, "(a) loss"), (ax_acc, "(b) accuracy")):
        ax.set_xscale("log")
        ax.set_xlim(ep[0], ep[-1])
        ax.set_xlabel("epoch")
        ax.set_title(title, loc="left")
        headroom(ax)
    fig.draw_without_rendering()          # the final axes widths decide which phase names fit
    for ax in (ax_loss, ax_acc):
        unnamed |= set(shade_phases(ax, spans))
    ax_loss.legend(loc="lower left")
    ax_acc.legend(loc="center left")
    _phase_legend(fig, spans, unnamed)
    return fig


def _phase_legend(fig, spans, unnamed, handles=()):
    """A legend under the figure: the given handles, and the phases when a band was too
    narrow for its name."""
    phases = phase_handles([n for n, _, _ in spans]) if unnamed else []
    handles = [*handles, *phases]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles) if len(handles) <= 6 else 4,
                   fontsize=style.FONT_SIZE - 1.5, handlelength=1.6, columnspacing=1.2)


# ---- 2. progress measures ------------------------------------------------------------------

def progress_measures(a):
    """Excluded and restricted loss against train and test loss; weight norm; sparsity; and
    below, the trainer's diagnostics: softmax collapse, gradient-weight cosine, gradient norm."""
    c = a["curves"]
    ep, trl, tel, exc, rtr, rte, ssw, gE, gL = _positive(*need(
        a, "curves", "epoch", "train_loss", "test_loss", "excluded_loss", "restricted_loss_train",
        "restricted_loss_test", "sum_sq_weights", "gini_W_E", "gini_W_L"))
    spans = phase_spans(a)
    measured = a.diagnostics.found        # else one short row says they were not measured
    fig = _figure(style.DOUBLE, 5.0 if measured else 3.6)
    gs = fig.add_gridspec(2, 3, height_ratios=[1, 0.85 if measured else 0.25])
    ax_l, ax_w, ax_g = (fig.add_subplot(gs[0, j]) for j in range(3))
    ax_l.plot(ep, trl, color=style.ROLE["train"], label="train")
    ax_l.plot(ep, tel, color=style.ROLE["test"], label="test")
    ax_l.plot(ep, exc, color=style.ROLE["excluded"], label="excluded (train; all keys removed)", lw=1.4)
    ax_l.plot(ep, rte, color=style.ROLE["restricted"], label="restricted (test)", lw=1.4)
    ax_l.plot(ep, rtr, color=style.ROLE["restricted"], ls=(0, (3, 2)), lw=0.8, label="restricted (train)")
    by_freq = c.get("excluded_loss_by_freq")
    if by_freq is not None and "key_freqs" in c:
        colour = {k: col for k, _, col in keys(a)}
        for j, k in enumerate(c["key_freqs"]):
            lab = fo.freq_label(int(k), a.n)
            ax_l.plot(ep, by_freq[np.asarray(c["epoch"]) > 0, j], color=colour.get(int(k), style.ROLE["other"]),
                      lw=0.7, alpha=0.9, label=f"excluded, {lab} removed")
    ax_l.set_yscale("log")
    ax_l.set_ylabel("cross-entropy loss")
    o = ops(a)
    ax_l.set_title("(a) excluded and restricted loss" + (f"\nalong {o.line} (mod {o.n})" if o.line != "x + y" else ""),
                   loc="left")
    ax_w.plot(ep, ssw, color=style.ROLE["weights"])
    ax_w.set_ylabel("sum of squared weights")
    ax_w.set_title("(b) total weight", loc="left")
    ax_g.plot(ep, gE, color=style.ROLE["gini_W_E"], label="W_E")
    ax_g.plot(ep, gL, color=style.ROLE["gini_W_L"], label="W_L")
    ax_g.set_ylim(0, 1.12)
    ax_g.set_yticks(np.linspace(0, 1, 6))
    ax_g.set_ylabel("Gini coefficient of Fourier norms")
    ax_g.set_title("(c) Fourier sparsity", loc="left")
    ax_g.legend(loc="center left")
    if not a.additive.found:              # op mul, div: no restricted or excluded loss to draw
        ax_l.text(0.03, 0.04, "\n".join(textwrap.wrap(f"no excluded or restricted loss: {a.additive.why_not()}", 40)),
                  transform=ax_l.transAxes, fontsize=style.FONT_SIZE - 2.5, color="#444444", gid="not-additive")
    below = _diagnostics(a, fig, gs[1, :])
    unnamed = set()
    for ax in (ax_l, ax_w, ax_g, *below):
        ax.set_xscale("log")
        ax.set_xlim(ep[0], ep[-1])
        if not ax.get_xlabel():
            ax.set_xlabel("epoch")
        if ax is not ax_g:
            headroom(ax)
    fig.draw_without_rendering()          # the final axes widths decide which phase names fit
    for ax in (ax_l, ax_w, ax_g, *below):
        unnamed |= set(shade_phases(ax, spans))
    _phase_legend(fig, spans, unnamed, ax_l.get_legend_handles_labels()[0])
    return fig


def _diagnostics(a, fig, where) -> list:
    """Panels (d)-(f) in `where` (a gridspec row of fig): the trainer's diagnostics at every epoch (curves' all_*; log x),
    or, when the history did not measure them, one panel that says so. Returns the axes drawn."""
    diag = a.diagnostics
    if not diag.found:
        ax = fig.add_subplot(where)
        ax.set_axis_off()
        ax.text(0.5, 0.7, "(d) softmax collapse, gradient-weight cosine, gradient norm: not measured in this "
                "history", ha="center", va="center", fontsize=style.FONT_SIZE, color="#444444",
                transform=ax.transAxes, gid="diagnostics-not-measured")
        ax.text(0.5, 0.2, "\n".join(textwrap.wrap(diag.why_not(), 120)), ha="center", va="center",
                fontsize=style.FONT_SIZE - 1.5, color="#777777", transform=ax.transAxes)
        return []
    ep, share, cos, norm = _positive(*need(a, "curves", "all_epoch", "all_collapse_share",
                                            "all_grad_weight_cos", "all_grad_norm"))
    collapsed = np.nan_to_num(share) > 0
    if not collapsed.any():
        # a panel of zeros shows nothing: the row is the other two, and the fact goes under them
        ax_a, ax_n = (fig.add_subplot(g) for g in where.subgridspec(1, 2))
        ax_c = None
        ax_a.set_xlabel("epoch\n(no softmax collapse: no train example\nreached loss 0 at any epoch)")
        ax_a.xaxis.label.set_gid("no-collapse")
    else:
        ax_c, ax_a, ax_n = (fig.add_subplot(g) for g in where.subgridspec(1, 3))
        ax_c.plot(ep, 100 * share, color=style.ROLE["diagnostic"], lw=0.8, gid="collapse-share")
        # every epoch with a collapse marked: one epoch is one sample wide, too thin to see as a line
        ax_c.plot(ep[collapsed], 100 * share[collapsed], ls="", marker="o", ms=2.5,
                  color=style.ROLE["diagnostic"], gid="collapse-epochs")
        peak = int(np.nanargmax(share))
        top = 1.2 * float(100 * share[peak])           # the scale of its largest share
        ax_c.set_ylim(-0.04 * top, top)
        ax_c.set_ylabel("train loss = 0 (% of examples)")
        ax_c.set_title("(d) softmax collapse", loc="left")
        n_ep, pct = int(collapsed.sum()), f"{100 * share[peak]:.2g} %"
        note = (f"only at epoch {int(ep[peak])}:\n{pct} of train examples" if n_ep == 1 else
                f"{n_ep} epochs, the first {diag.first_collapse};\nat most {pct} (epoch {int(ep[peak])})")
        ax_c.text(0.03, 0.62, note, transform=ax_c.transAxes, va="center", fontsize=style.FONT_SIZE - 1.5,
                  color="#444444", gid="collapse-note")
    d, e = "de" if ax_c is None else "ef"
    ax_a.axhline(0, color="#999999", lw=0.5)
    ax_a.plot(ep, cos, color=style.ROLE["diagnostic"], lw=0.8, gid="grad-weight-cos")
    ax_a.set_ylim(-1.05, 1.05)
    ax_a.set_ylabel("cos(gradient, weights)")
    ax_a.set_title(f"({d}) gradient-weight cosine", loc="left")
    ax_n.plot(ep, norm, color=style.ROLE["diagnostic"], lw=0.8, gid="grad-norm")
    ax_n.set_yscale("log")
    ax_n.set_ylabel("gradient norm")
    ax_n.set_title(f"({e}) gradient norm", loc="left")
    return [ax for ax in (ax_c, ax_a, ax_n) if ax is not None]


# ---- 3. embedding in the Fourier basis -----------------------------------------------------

def _freq_bars(ax, power_norm, key_colour, width=0.8):
    """One bar per frequency k = 1..n, key frequencies in their colours."""
    ks = np.arange(1, len(power_norm) + 1)
    cols = [key_colour.get(int(k), style.ROLE["other"]) for k in ks]
    return ax.bar(ks, power_norm, width=width, color=cols, lw=0)


def embedding_fourier(a):
    """Fourier norms of W_E at the analysis checkpoint (cos and sin bars per frequency, key
    frequencies named 2πk/n), and the norm per frequency at epochs across training. The rows of
    W_E are the x axis' elements (mul: x = 3^i in order of i = log₃ x), n of them; an even n's
    Nyquist k = n/2 is drawn too (a cos bar alone)."""
    norms, = need(a, "fourier", "embed_norms")
    epochs = a["curves"]["epoch"]
    if len(epochs) != len(norms):
        raise Missing("fourier.npz embed_norms and curves.npz epoch differ in length")
    o = ops(a)
    N = norms.shape[1]
    if N != o.n:
        raise Missing(f"fourier.npz embed_norms has {N} rows, the assets' n is {o.n}")
    n_freqs(N)
    ks, cos_rows, sin_rows = freq_rows(N)
    n = len(ks)
    kinfo = keys(a)
    colour = {k: col for k, _, col in kinfo}
    i0 = analysis_index(a)
    fig = _figure(style.DOUBLE, 3.7 + 0.3 * bool(o.note()))
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.25, 1])
    ax = top.subplots()
    cos = norms[i0, cos_rows]
    sin = np.array([norms[i0, r] if r is not None else 0.0 for r in sin_rows])
    cols = [colour.get(int(k), style.ROLE["other"]) for k in ks]
    ax.bar(ks - 0.21, cos, width=0.42, color=cols, lw=0)
    ax.bar(ks + 0.21, sin, width=0.42, color=cols, alpha=0.45, lw=0)
    # neighbouring key frequencies (41 and 42, say) get their labels on staggered lines
    fs = style.FONT_SIZE - 1
    k_per_inch = n / (fig.get_figwidth() * 0.85)
    last_end, max_level = {}, 0
    for k, label, col in sorted(kinfo):
        if not 1 <= k <= n:
            continue
        half = len(label) * 0.3 * fs / 72 * k_per_inch
        level = next(lv for lv in range(len(kinfo) + 1) if last_end.get(lv, -np.inf) < k - half)
        last_end[level] = k + half
        max_level = max(max_level, level)
        ax.annotate(label, (k, max(cos[k - 1], sin[k - 1])), xytext=(0, 2 + level * (fs + 1)),
                    textcoords="offset points", ha="center", va="bottom", fontsize=fs, color="#222222",
                    gid="key-label", arrowprops=dict(arrowstyle="-", lw=0.4, color="#888888",
                                                     shrinkA=0, shrinkB=1) if level else None)
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color="#666666", label="cos"), Patch(color="#666666", alpha=0.45, label="sin")],
              loc="upper right", ncol=2)
    ax.set_xlim(0.3, n + 0.7)
    ax.set_ylim(0, max(cos.max(), sin.max()) * (1.18 + 0.1 * max_level) or 1)
    ax.set_xlabel("frequency k  (w = 2πk/p)" if not o.note() else f"frequency k  (w = 2πk/{o.n}, a wave in {o.x})")
    ax.set_ylabel("norm of W_E component")
    ax.set_title("(a) embedding W_E " + (f"over {o.x} " if o.relabelled else "")
                 + f"in the Fourier basis, epoch {int(epochs[i0])}", loc="left")

    idx = epochs_across_training(a, np.asarray(epochs))
    spans = phase_spans(a)
    axes = np.atleast_1d(bottom.subplots(1, len(idx), sharey=True))
    per_freq = freq_norms(norms[idx])
    for ax_i, i, row in zip(axes, idx, per_freq):
        _freq_bars(ax_i, row, colour)
        phase = phase_at(spans, float(epochs[i]))
        ax_i.set_title(f"epoch {int(epochs[i])}" + (f"\n{phase}" if phase else ""), fontsize=style.FONT_SIZE - 1)
        ax_i.set_xlim(0.3, n + 0.7)
        ax_i.set_xlabel("k", labelpad=1)
    axes[0].set_ylabel("norm per frequency")
    bottom.suptitle("(b) across training", x=0.01, ha="left", fontsize=style.FONT_SIZE)
    say_coordinates(fig, o)
    return fig


# ---- 4. neurons ----------------------------------------------------------------------------

def neurons(a):
    """FVE histogram and cluster sizes; the selected neurons over (x, y) and their spectra."""
    fve, freq = need(a, "neurons", "fve", "freq")
    ids, surfs = a["selections"].get("neuron_ids", []), a["selections"].get("neuron_surfaces", [])
    s = a.summary.get("neurons", {})
    thr = float(s.get("fve_threshold", 0.85))
    kinfo = keys(a)
    colour = {k: col for k, _, col in kinfo}
    o = ops(a)
    # at most nine: the product pair first (figure 8's neurons), then the others in the assets' order
    pair = [int(i) for i in a.selection(ProductPair).neurons or []]
    order = sorted(range(len(ids)), key=lambda j: (int(ids[j]) not in pair, j))[:9]
    shown = [(ids[j], surfs[j]) for j in order]
    if shown:
        fig = _figure(style.DOUBLE, 4.3 + 0.45 * bool(o.note()))
        top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.45])
    else:                                  # no selected neurons: the population panels alone
        fig = top = _figure(style.DOUBLE, 1.9 + 0.3 * bool(o.note()))
    ax_h, ax_c = top.subplots(1, 2, width_ratios=[1.6, 1])

    bins = np.linspace(0, 1, 41)
    groups = [fve[freq == k] for k, _, _ in kinfo] + [fve[~np.isin(freq, [k for k, _, _ in kinfo])]]
    labels = [lab for _, lab, _ in kinfo] + ["other k"]
    ax_h.hist(groups, bins=bins, stacked=True, color=[c for _, _, c in kinfo] + [style.ROLE["other"]],
              label=labels, lw=0)
    ax_h.axvline(thr, color="#222222", lw=0.8, ls=(0, (3, 2)))
    n_cl = int(s.get("n_clustered", int((fve >= thr).sum())))
    ax_h.text(thr - 0.01, 0.97, f"{n_cl} of {len(fve)} neurons\nhave FVE ≥ {thr:g}", transform=ax_h.get_xaxis_transform(),
              ha="right", va="top", fontsize=style.FONT_SIZE - 1)
    ax_h.set_xlabel("fraction of variance explained by the best frequency (FVE)")
    ax_h.set_ylabel("neurons")
    ax_h.set_title("(a) each neuron is one frequency", loc="left")
    ax_h.legend(loc="upper left", title="neuron's k", title_fontsize=style.FONT_SIZE - 1)

    clusters = s.get("clusters") or {str(k): int(((fve >= thr) & (freq == k)).sum()) for k, _, _ in kinfo}
    sizes = [int(clusters.get(str(k), 0)) for k, _, _ in kinfo]
    names, cols = [lab for _, lab, _ in kinfo], [c for _, _, c in kinfo]
    if n_cl - sum(sizes) > 0:
        names.append("other k"), sizes.append(n_cl - sum(sizes)), cols.append(style.ROLE["other"])
    names.append(f"FVE < {thr:g}"), sizes.append(len(fve) - n_cl), cols.append("#E0E0E0")
    bars = ax_c.bar(range(len(sizes)), sizes, color=cols, lw=0)
    ax_c.bar_label(bars, fontsize=style.FONT_SIZE - 1, padding=1)
    ax_c.set_xticks(range(len(sizes)), names, fontsize=style.FONT_SIZE - 1.5,
                    rotation=30 if len(sizes) > 3 else 0, ha="right" if len(sizes) > 3 else "center",
                    rotation_mode="anchor")
    ax_c.set_ylabel("neurons")
    ax_c.set_ylim(0, max(sizes) * 1.15 or 1)
    ax_c.set_title("(b) cluster sizes per key frequency", loc="left")

    if not shown:
        say_coordinates(fig, o)
        return fig
    axes = np.asarray(bottom.subplots(2, len(shown), squeeze=False))
    for j, (nid, S) in enumerate(shown):
        k = int(freq[nid])
        cmap = style.CMAP_MAGNITUDE if S.min() >= 0 else style.CMAP_SIGNED
        surface(axes[0, j], S, cmap=cmap, labels=j == 0, names=(o.x, o.y))
        axes[0, j].set_title(f"#{int(nid)}: {fo.freq_label(k, o.n)}\nFVE {fve[nid]:.2f}", fontsize=style.FONT_SIZE - 1.5,
                             color="#222222")
        for side in ("bottom", "left", "top", "right"):
            axes[0, j].spines[side].set_color(colour.get(k, style.ROLE["other"]))
            axes[0, j].spines[side].set_linewidth(1.5)
        B, names_k = key_spectrum(S, [kk for kk, _, _ in kinfo])
        axes[1, j].imshow(B.T, origin="lower", cmap="Greys", vmin=0)
        axes[1, j].set_xticks(range(len(names_k)), names_k, rotation=90)
        axes[1, j].set_yticks(range(len(names_k)), names_k)
        for side in ("top", "right"):
            axes[1, j].spines[side].set_visible(True)
        if j == 0:
            axes[1, j].set_xlabel(f"k of {o.x.split(' mod ')[0]}")        # (a frequency of −y is one of y)
            axes[1, j].set_ylabel(f"k of {o.y.split(' mod ')[0]}")
    for ax in axes.flat:
        ax.tick_params(labelsize=style.FONT_SIZE - 2, length=1.5, pad=1)
        if ax not in (axes[0, 0], axes[1, 0]):
            ax.set_yticklabels([])
    bottom.suptitle(f"(c) selected neurons over ({o.x}, {o.y}),{' ' if not o.relabelled else chr(10)}and their 2D "
                    "Fourier spectra (norm per pair of key frequencies; 'other' gathers the rest)",
                    x=0.01, ha="left", fontsize=style.FONT_SIZE)
    say_coordinates(fig, o)
    return fig


# ---- 5. logits -----------------------------------------------------------------------------

def logits(a):
    """The logits' 2D Fourier norms (only the diagonal sum terms survive) and the surface of
    the chosen output with its maxima."""
    norms2d, = need(a, "fourier", "logit_norms_2d")
    sel = selection(a, Logit, "logit surface")
    S, maxima = need(a, "selections", "logit_surface", "logit_maxima")
    c = int(sel.output)
    o = ops(a)
    p = o.n
    kinfo = keys(a)
    note = o.note()
    fig = _figure(style.DOUBLE, 3.2 + 0.25 * bool(note))
    ax_f, ax_s = fig.subplots(1, 2)
    N = np.asarray(norms2d, float)
    im = ax_f.imshow(N.T, origin="lower", cmap="Greys", extent=(-0.5, p - 0.5, -0.5, p - 0.5))
    fig.colorbar(im, ax=ax_f, shrink=0.8, label="norm")
    blocks = [fo.rows_of(k, p) for k, _, _ in kinfo]
    diag = sum((N[np.ix_(b, b)] ** 2).sum() for b in blocks)
    total = (N ** 2).sum() - N[0, 0] ** 2
    ticks, tick_labels = merged_ticks([fo.cos_row(k) + 0.5 for k, _, _ in kinfo],
                                      [str(k) for k, _, _ in kinfo], min_gap=0.06 * p)
    ax_f.set_xticks(ticks, tick_labels, fontsize=style.FONT_SIZE - 2)
    ax_f.set_yticks(ticks, tick_labels, fontsize=style.FONT_SIZE - 2)
    for (k, _, col) in kinfo:
        for r in fo.rows_of(k, p):
            ax_f.plot([r], [r], marker="s", ms=5, mfc="none", mec=col, mew=0.8, ls="", gid="key-diagonal",
                      **({"clip_on": False} if fo.is_nyquist(k, p) else {}))     # an even n's Nyquist: in the corner
    ax_f.set_xlabel(f"{o.x} basis: cos k, sin k (key k marked)")
    ax_f.set_ylabel(f"{o.y} basis")
    share = f"{100 * diag / total:.0f} %" if total > 0 else "n/a"
    im = surface(ax_s, S, names=(o.x, o.y))
    fig.colorbar(im, ax=ax_s, shrink=0.8, label=f"logit of output {o.token(c)}")
    segments = draw_residue_line(ax_s, p, c, gid="logit-line", lw=0.8)
    mark_points(ax_s, maxima, gid="logit-maxima")
    on_line = sel.on_line_fraction
    # each title wrapped to end at its map's right edge, clear of the colour bar beside it
    # (no-break spaces keep a formula on one line)
    fit_title(ax_f, f"(a) 2D Fourier norms of the logits: {_nb(share)} of the squared norm in the "
                    f"{_nb('key (k, k) blocks')}")
    said = f"; {_nb(o.answer(c))}" if o.answer(c) else ""
    fit_title(ax_s, f"(b) logit of output {_nb(o.output(c))}; dashed: {_nb(o.line_eq(c))}{said}"
              + (f"; {on_line:.0%} of its {p} largest values lie on it" if on_line is not None else ""))
    say_coordinates(fig, o)
    label_residue_segments(ax_s, segments, gid="logit-line-label", line=o.line, modulus=p if o.negated else None)
    return fig


# ---- 6. crest ------------------------------------------------------------------------------

def crest(a):
    """The crest unit seen from above, the line x + y ≡ T (mod p) and the crest points."""
    sel = selection(a, Crest, "crest unit")
    S, pts = need(a, "selections", "crest_surface", "crest_points")
    o = ops(a)
    T, p = int(sel.T), o.n
    fig = _figure(style.SINGLE, 3.3 + 0.55 * bool(o.note()))
    ax = fig.subplots()
    im = surface(ax, S, names=(o.x, o.y))
    ax.set_aspect("equal")
    fig.colorbar(im, ax=ax, shrink=0.75, label="activation", pad=0.02)
    segments = draw_residue_line(ax, p, T, gid="crest-line", lw=0.8)
    mark_points(ax, pts, gid="crest-points")
    what = sel.description
    if o.log and o.token(T) != T:      # T is an element: the direction is the unembedding of its answer token
        said = f"{T} = {o.x.removesuffix(' x')} {o.token(T)}"
        swapped = what.replace(f"votes for {T} ", f"votes for {o.token(T)} ").replace(
            f"output {T})", f"output {o.token(T)}; {said})")
        what = (swapped if swapped != what else f"{what[:-1]}; {said})" if what.endswith(")") else
                f"{what} ({said})")
        what += "."
    fit_title(ax, f"crests on {_nb(o.line_eq(T))}" + (f"\n{_nb(o.answer(T))}" if o.answer(T) else ""),
              fontsize=style.FONT_SIZE)
    if o.note():                       # what the axes are, under the crest's own description
        say_coordinates(fig, o, before=what)
    else:
        fig.supxlabel("\n".join(textwrap.wrap(what, 70, max_lines=3, placeholder=" …")),
                      fontsize=style.FONT_SIZE - 1.5, color="#444444")
    label_residue_segments(ax, segments, gid="crest-line-label", line=o.line, modulus=p if o.negated else None)
    return fig


# ---- 7. probe ------------------------------------------------------------------------------

SHOWN_DIMS = 3          # each probe's heaviest dimensions drawn, one small panel each

def probe(a):
    """The sparse probe: its embedding dimensions against x, its outputs against the true cos
    and sin, and the circle they trace."""
    pr = a.probe
    resid, cdims, sdims, cw, sw, cout, sout, ctgt, stgt = need(
        a, "probes", "resid_pos0", "cos_dims", "sin_dims", "cos_weights", "sin_weights",
        "cos_out", "sin_out", "cos_target", "sin_target")
    o = ops(a)
    k, p = int(pr.k), o.n
    n_freqs(p)                         # p = 2: no wave to probe for, the clock would be flat
    if len(ctgt) != p or resid.shape[0] != p:
        raise Missing(f"probes.npz is over {len(ctgt)} inputs, the assets' n is {p}")
    i0 = analysis_index(a)
    x = np.arange(p)                   # the x axis' elements (mul: i = log₃ x, the token 3^i)
    # each probe's heaviest dimensions, one small panel each (overlaid, eight noisy lines tangle)
    n_show = max(1, min(SHOWN_DIMS, max(len(cdims), len(sdims))))
    rows = [[f"cos{j}", f"sin{j}"] for j in range(n_show)] + [["out", "out"]]
    note = o.note() if o.log else ""       # (a relabelled grid: the x axis names itself)
    wave = o.wave
    if not o.grid:                          # no grid: the axis is the token x; the target a wave in x or in x^a
        xa = np.array([pow(int(v), int(a.summary["task"].get("a") or 1), a.p) for v in x])
        power = a.additive.x_label
        if np.allclose(ctgt, np.cos(2 * np.pi * k * xa / p), atol=1e-6):
            wave = lambda fn, k: fo.wave_label(fn, k, p, o.var(power))      # noqa: E731
            note = (f"Each token x's target is the wave in {power} (x ↦ {power} is not one-to-one: tokens with "
                    f"one {power} share it); the key frequencies are waves in {o.line}.")
        else:
            note = (f"The probe's target is a wave in the token x itself; x ↦ {power} is not one-to-one, and "
                    f"the key frequencies are waves in {o.line}.")
    fig = _figure(style.DOUBLE, 2.0 + 0.55 * n_show + 0.25 * bool(note))
    left, right = fig.subfigures(1, 2, width_ratios=[2.05, 1])
    ax = left.subplot_mosaic(rows, height_ratios=[1] * n_show + [2.2])
    ax["clock"] = right.subplots()
    for fn, dims, w in (("cos", cdims, cw), ("sin", sdims, sw)):
        dims = np.asarray(dims, int)
        heaviest = dims[np.argsort(-np.abs(w[dims]))][:n_show]
        for j in range(n_show):
            a_j = ax[f"{fn}{j}"]
            if j < len(heaviest):
                d = int(heaviest[j])
                a_j.plot(x, resid[:, d], lw=0.8, color=style.ROLE[fn], gid=f"{fn}-dim")
                a_j.text(1.02, 0.5, f"dim {d}\n× {w[d]:+.2f}".replace("-", "−"), transform=a_j.transAxes,
                         va="center", ha="left", fontsize=style.FONT_SIZE - 1.5, color=style.ROLE[fn])
            else:
                a_j.set_axis_off()
            a_j.set_xlim(0, p - 1)
            a_j.tick_params(labelsize=style.FONT_SIZE - 2)
            from matplotlib.ticker import MaxNLocator
            a_j.yaxis.set_major_locator(MaxNLocator(nbins=2, symmetric=True))
            if j < n_show - 1:
                a_j.set_xticklabels([])
        shown = min(n_show, len(dims))
        # the title may reach past its panel, over the dimension names, up to the next panel
        room = ((lambda r: ax["sin0"].get_tightbbox(r).x0 - 6) if fn == "cos" else
                (lambda r: left.bbox.x1 - 4))
        fit_title(ax[f"{fn}0"], f"({'ab'[fn == 'sin']}) {fn} probe: "
                  + (f"top {shown} of its {len(dims)} dims" if shown < len(dims) else
                     f"its {len(dims)} dim{'s' * (len(dims) != 1)}"), right=room)
        ax[f"{fn}{n_show - 1}"].set_xlabel(o.x, labelpad=0)
    ax["cos0"].set_ylabel("residual, pos. 0", loc="top")
    for fn, out, tgt in (("cos", cout[i0], ctgt), ("sin", sout[i0], stgt)):
        r2 = getattr(pr, fn)["r2"]
        ax["out"].plot(x, tgt, color=style.ROLE[fn], lw=2.4, alpha=0.3, label=wave(fn, k))
        ax["out"].plot(x, out, color=style.ROLE[fn], lw=0.8, marker=".", ms=2,
                       label=f"{fn} probe" + (f" (R² {r2:.3f})" if r2 is not None else ""))
    ax["out"].set_xlim(0, p - 1)
    from matplotlib.ticker import MaxNLocator
    for name in [f"{fn}{j}" for fn in ("cos", "sin") for j in range(n_show)] + ["out"]:
        ax[name].xaxis.set_major_locator(MaxNLocator(nbins=5 if name == "out" else 4, integer=True))
    ax["out"].set_xlabel(o.x + (f"   (i = {o.x}: the input token x = {o.generator}ⁱ)" if o.log else ""))
    ax["out"].set_title(f"(c) probe outputs against the true waves, epoch {int(a['curves']['epoch'][i0])}",
                        loc="left")
    ax["out"].legend(fontsize=style.FONT_SIZE - 2, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                     handlelength=1.2)
    sc = ax["clock"].scatter(cout[i0], sout[i0], c=x, cmap=style.CMAP_BY_INPUT, s=9, lw=0, vmin=0, vmax=p - 1)
    right.colorbar(sc, ax=ax["clock"], location="bottom", shrink=0.7, label=o.x, ticks=[0, p // 2, p - 1])
    ax["clock"].set_aspect("equal")
    ax["clock"].set_xlabel("cos probe")
    ax["clock"].set_ylabel("sin probe")
    # short lines: the clock's panel is narrow (its aspect is equal) and its title starts at its left
    ax["clock"].set_title(f"(d) the clock: w = {fo.freq_label(k, p)}"
                          + ("\n(not a key frequency)" if pr.learned is False else ""), loc="left")
    lo, hi = min(cout[i0].min(), sout[i0].min()), max(cout[i0].max(), sout[i0].max())
    xr, yr = np.ptp(cout[i0]), np.ptp(sout[i0])
    if min(xr, yr) < 0.5 * max(xr, yr):       # one probe flat: a squashed clock; both axes on one range
        pad = 0.08 * (hi - lo or 1)
        ax["clock"].set_xlim(lo - pad, hi + pad)
        ax["clock"].set_ylim(lo - pad, hi + pad)
    if note:
        footnote(fig, note)
    _fit_left_title(fig, ax["clock"])
    return fig


def _fit_left_title(fig, ax, smallest: float = 0.6):
    """Shrink `ax`'s left title where it would run off the figure's right edge (it starts at the
    axes' left edge; a long frequency label at a large p did), down to `smallest` of its size."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    t = ax._left_title
    size, dpi = t.get_fontsize(), fig.dpi
    fig.set_dpi(style.DPI)                    # measured as saved: text does not scale exactly with dpi
    try:
        for _ in range(4):
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            b = t.get_window_extent(canvas.get_renderer())
            over = b.x1 - 0.99 * fig.bbox.width
            if over <= 0 or t.get_fontsize() <= smallest * size:
                return
            t.set_fontsize(max(smallest * size, t.get_fontsize() * (b.width - over) / b.width))
    finally:
        fig.set_dpi(dpi)


# ---- 8. the trig identity ------------------------------------------------------------------

def _signed(v: float, digits: int = 2) -> str:
    """'+0.57', '−0.82' (a true minus sign; never '−0.00')."""
    return f"{round(v, digits) + 0.0:+.{digits}f}".replace("-", "−")


def trig_identity(a):
    """The product pair's two product terms, each weighted by its measured vote for T (its product
    coefficient × its neuron's W_out row · the direction that votes for T), and their sum: with
    opposite votes the waves in x + y add and those in x − y offset, wholly only when the votes are
    equal and opposite (cos a cos b − sin a sin b = cos(a + b)); the sum's share on the wave in
    x + y is extraction's (sum_share), its split drawn under it. Assets without
    measured votes are drawn with the identity's +1 and −1, and the figure says so; a fallback pair
    (qualifies False) is named as one, with extraction's reason."""
    sel = selection(a, ProductPair, "product pair")
    cc, ss = need(a, "selections", "trig_coscos", "trig_sinsin")
    o = ops(a)
    k = int(sel.k)
    fml = o.product_formulas(k, sel.formulas)
    ids = sel.neurons
    measured = bool(sel.votes) and len(sel.votes) == 2
    va, vb = (float(sel.votes[0]), float(sel.votes[1])) if measured else (1.0, -1.0)
    terms = (va * cc, vb * ss)
    drawn = terms[0] + terms[1]
    half_sum, half_diff = (va - vb) / 2, (va + vb) / 2      # va·cc + vb·ss = half_sum·cos(w(x+y)) + half_diff·cos(w(x−y))
    vmax = max(float(np.abs(A).max()) for A in (*terms, drawn)) or 1.0
    notes = []
    if not measured:
        notes.append("these assets record no measured votes (re-extract the run): drawn with the identity's "
                     "weights +1 and −1, not the model's")
    if sel.qualifies is False:
        notes.append("fallback: no pair met the rule; " + (sel.fallback or "no reason recorded"))
    fig = _figure(style.DOUBLE, 3.0 + 0.3 * len(notes))
    axes = fig.subplots(1, 3)
    titles = []
    # a formula kept whole on its line; a long one (in logs, say) may break between its two factors
    whole = (lambda f: ")· ".join(_nb(part) for part in f.split(")·"))) if o.relabelled else _nb
    for j, (v, f) in enumerate(zip((va, vb), fml)):
        who = f"neuron #{ids[j]}" if ids and ids[j] is not None else ("cos·cos", "sin·sin")[j] + " neuron"
        if measured:
            lines = [f"({'ab'[j]}) {_signed(v)} × {whole(f)}", f"{who}'s vote for {o.output(sel.T)}, measured"]
            if sel.coefs and sel.weights:
                lines.append(_nb(f"coefficient {sel.coefs[j]:.2f} × weight {_signed(sel.weights[j], 3)}"))
        else:
            lines = [f"({'ab'[j]}) {_signed(v, 0)} × {whole(f)}", f"{who}: not measured"]
        if sel.term_joint:
            lines.append(f"this term: {sel.term_joint[j]:.0%} of its joint variance")
        titles.append("\n".join(lines))
    if measured:
        share = (f"{sel.sum_share:.0%} of it on the wave in {_nb(o.line)}" if sel.sum_share is not None
                 else f"its share on the wave in {o.line} not recorded")
        keep = _nb if o.relabelled else str          # a long sum kept on one line
        why = (f"opposite votes: the waves in {keep(o.line)} add" if va * vb < 0 else
               f"votes of one sign: the waves in {keep(o.diff)} add")
        titles.append(f"(c) their sum\n{share}\n{why}")
    else:
        titles.append(f"(c) their sum = {_nb(o.sum_wave('cos', k))}\nby the identity, not measured")
    for j, (ax, A, t) in enumerate(zip(axes, (*terms, drawn), titles)):
        im = surface(ax, A, vmax=vmax, labels=j == 0, names=(o.x, o.y))
        fit_title(ax, t, fontsize=style.FONT_SIZE - 1)
        ax.set_aspect("equal")
        ax.set_gid(("coscos", "sinsin", "sum")[j])
    if measured:                                  # (with the identity's ±1 the split is the identity itself)
        axes[2].set_xlabel(f"= {_signed(half_sum)}·{o.sum_wave('cos', k)}\n"
                           f"  {_signed(half_diff)}·{o.sum_wave('cos', k, diff=True)}",
                           fontsize=style.FONT_SIZE - 1, loc="left")
    if o.note():
        notes.append(o.note())
        fig.set_figheight(fig.get_figheight() + 0.3)
    if notes:
        fig.supxlabel("\n".join(textwrap.fill(n, 130) for n in notes), x=0.01, ha="left",
                      fontsize=style.FONT_SIZE - 1).set_gid("trig-notes")
    _side_colorbar(fig, im, axes[2], "height" if not measured else f"vote for {o.token(sel.T)}")
    return fig


def _side_colorbar(fig, im, ax, label=None):
    """A colorbar exactly as tall as `ax` (an inset, so square maps keep their size)."""
    cb = fig.colorbar(im, cax=ax.inset_axes([1.04, 0, 0.05, 1]))
    if label:
        cb.set_label(label)
    return cb


# ---- 9. attention --------------------------------------------------------------------------

def attention(a):
    """Attention from '=' to x, per head, over (x, y)."""
    pat, = need(a, "selections", "attn_eq_pattern")
    c = a["curves"]
    i0 = analysis_index(a)
    o = ops(a)
    H = pat.shape[0]
    ncol = min(H, 4)
    nrow = int(np.ceil(H / ncol))
    fig = _figure(style.DOUBLE, 0.55 + 1.75 * nrow)
    gs = fig.add_gridspec(nrow, ncol)
    vmax = float(pat.max()) or 1.0
    for h in range(H):
        ax = fig.add_subplot(gs[h // ncol, h % ncol])
        im = surface(ax, pat[h], cmap=style.CMAP_MAGNITUDE, vmin=0, vmax=vmax, labels=h == 0, names=(o.x, o.y))
        title = f"head {h}"
        if all(n in c for n in ("attn_eq_to_x", "attn_eq_to_y", "attn_eq_to_eq")):
            title += (f"\nmean to x {c['attn_eq_to_x'][i0, h]:.2f} · y {c['attn_eq_to_y'][i0, h]:.2f}"
                      f" · = {c['attn_eq_to_eq'][i0, h]:.3f}")
        ax.set_title(title, loc="left", fontsize=style.FONT_SIZE - 1.5)
        ax.set_aspect("equal")
    _side_colorbar(fig, im, ax, "attention from '=' to x")
    if o.note():
        fig.set_figheight(fig.get_figheight() + 0.25)
        say_coordinates(fig, o)
    return fig


STATIC = {
    "grokking_curves": (grokking_curves, "1. train and test loss and accuracy, phases shaded"),
    "progress_measures": (progress_measures, "2. excluded and restricted loss, weight norm, Gini sparsity; "
                                             "softmax collapse, gradient-weight cosine, gradient norm"),
    "embedding_fourier": (embedding_fourier, "3. W_E Fourier norms at the analysis checkpoint and across training"),
    "neurons": (neurons, "4. FVE histogram, cluster sizes, neuron surfaces and 2D spectra"),
    "logits": (logits, "5. logit 2D Fourier norms; the chosen output's surface and maxima"),
    "crest": (crest, "6. the crest unit from above with x + y ≡ T (mod p) and the crest points"),
    "probe": (probe, "7. sparse probe: dimensions, outputs against cos and sin, the circle"),
    "trig_identity": (trig_identity, "8. the product pair's cos·cos and sin·sin terms at their measured votes, "
                                     "and their sum, a wave in x + y"),
    "attention": (attention, "9. attention from '=' over (x, y), per head"),
}
