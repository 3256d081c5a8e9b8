"""The sweep report's figures (numpy and matplotlib only; lab/report.py reads the runs).

Every function takes plain rows and arrays and returns a matplotlib Figure:

    phase_diagram     the grokking epoch as a heatmap over two grid axes, seeds pooled, "never" marked
    curves            test accuracy of every point, one panel per varying axis, coloured by its value
    key_frequencies   the key frequencies of every point, rows grouped by seed
    label_balance     for pow tasks: how often each label (x^a + y^b) mod p occurs, beside whether
                      the points of that task grokked
"""
from __future__ import annotations

import numpy as np

from grokking.figures import style

NEVER = "#B0B0B0"          # cells and bars of points that never grokked (style's "other" grey)
GROKKED = style.OKABE_ITO["bluish_green"]


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _figure(width: float, height: float):
    import matplotlib.pyplot as plt
    style.apply()
    return plt.figure(figsize=(width, height), layout="constrained")


def axis_colours(values: list) -> dict:
    """A colour per axis value: ordered (viridis, never white) for numbers, distinct otherwise."""
    import matplotlib as mpl
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        cmap = mpl.colormaps[style.CMAP_MAGNITUDE]
        n = max(len(values) - 1, 1)
        return {v: mpl.colors.to_hex(cmap(0.9 * i / n)) for i, v in enumerate(sorted(values))}
    return {v: style.key_color(i) for i, v in enumerate(values)}


def cells(rows: list[dict], xf: str, yf: str | None) -> dict:
    """Pool the points of each (x, y) cell: the median grokking epoch of those that grokked, how
    many never did (finished without reaching 99 % test accuracy) and how many are unfinished."""
    xs = sorted({r[xf] for r in rows}, key=_order)
    ys = sorted({r[yf] for r in rows}, key=_order) if yf else [None]
    med = np.full((len(ys), len(xs)), np.nan)
    never = np.zeros((len(ys), len(xs)), int)
    unfinished = np.zeros((len(ys), len(xs)), int)
    total = np.zeros((len(ys), len(xs)), int)
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            here = [r for r in rows if r[xf] == x and (yf is None or r[yf] == y)]
            total[i, j] = len(here)
            g = [r["grokked"] for r in here if isinstance(r["grokked"], int)]
            never[i, j] = sum(r["grokked"] == "never" for r in here)
            unfinished[i, j] = len(here) - len(g) - never[i, j]
            if g:
                med[i, j] = float(np.median(g))
    return {"x": xs, "y": ys, "median": med, "never": never, "unfinished": unfinished, "total": total}


def _order(v):
    return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))


def phase_diagram(rows: list[dict], xf: str, yf: str | None, title: str = ""):
    """Grokking epoch over two grid axes (median over the seeds and any other axis); a cell whose
    points all never grokked is grey and says so, a partly grokked cell says how many never did."""
    import matplotlib as mpl
    c = cells(rows, xf, yf)
    ny, nx = c["median"].shape
    fig = _figure(min(style.DOUBLE, 1.6 + 1.05 * nx), 1.3 + 0.75 * ny)
    ax = fig.add_subplot()
    finite = c["median"][np.isfinite(c["median"])]
    lo, hi = (finite.min(), finite.max()) if finite.size else (1.0, 10.0)
    norm = mpl.colors.LogNorm(vmin=max(lo, 1.0), vmax=max(hi, lo * 1.5, 2.0))
    cmap = mpl.colormaps[style.CMAP_MAGNITUDE].with_extremes(bad=NEVER)
    im = ax.imshow(np.ma.masked_invalid(c["median"]), cmap=cmap, norm=norm, aspect="auto", origin="lower")
    for i in range(ny):
        for j in range(nx):
            m, nv, un, tot = c["median"][i, j], c["never"][i, j], c["unfinished"][i, j], c["total"][i, j]
            if np.isfinite(m):
                text = f"{m:.0f}"
                rgb = cmap(norm(m))[:3]
                colour = "black" if np.dot(rgb, [0.299, 0.587, 0.114]) > 0.5 else "white"
            else:
                text, colour = ("never" if nv else "—"), "black"
                if nv:
                    ax.add_patch(mpl.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///",
                                                       edgecolor="#777777", linewidth=0))
            extra = [f"{nv}/{tot} never" if nv and np.isfinite(m) else "", f"{un} unfinished" if un else ""]
            text += "".join("\n" + e for e in extra if e)
            ax.text(j, i, text, ha="center", va="center", fontsize=style.FONT_SIZE, color=colour)
    ax.set_xticks(range(nx), [_fmt(v) for v in c["x"]])
    ax.set_yticks(range(ny), [_fmt(v) for v in c["y"]] if yf else [""])
    ax.set_xlabel(xf)
    ax.set_ylabel(yf or "")
    for s in ax.spines.values():
        s.set_visible(False)
    fig.colorbar(im, ax=ax, label="epoch test acc. ≥ 99 %\n(median over seeds)", shrink=0.9)
    ax.set_title(title or f"Grokking epoch over {xf}" + (f" × {yf}" if yf else "") + "  (grey: never grokked)")
    return fig


def curves(series: list[dict], fields: list[str]):
    """Test accuracy against epoch for every point, one panel per field, coloured by the point's
    value of that field (the other fields and the seeds are the lines of one colour)."""
    fig = _figure(style.DOUBLE, 2.3 * len(fields) if len(fields) > 1 else 2.6)
    axes = fig.subplots(len(fields), 1, squeeze=False)[:, 0]
    for ax, f in zip(axes, fields):
        colours = axis_colours(list(dict.fromkeys(s["values"][f] for s in series)))
        for s in series:
            e, acc = s["epoch"], s["test_acc"]
            ok = np.isfinite(acc) & (e >= 1)
            ax.plot(e[ok], acc[ok], color=colours[s["values"][f]], lw=0.9, alpha=0.85)
        for v, col in sorted(colours.items(), key=lambda kv: _order(kv[0])):
            ax.plot([], [], color=col, lw=2, label=_fmt(v))
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.axhline(0.99, color="#777777", lw=0.5, ls=":")
        ax.set_ylabel("test accuracy")
        ax.legend(title=f, loc="upper left", ncols=min(len(colours), 6))
    axes[-1].set_xlabel("epoch")
    axes[0].set_title("Grokking curves of every point (dotted: 99 %)")
    return fig


def key_frequencies(rows: list[dict]):
    """One row per point (grouped by seed), a dot at each key frequency k (1..p/2), area by its
    share of the logits' variance, colour by its rank in that point."""
    rows = [r for r in rows if r["key_frequencies"] is not None]
    rows = sorted(rows, key=lambda r: (r["seed"], r["point"]))
    kmax = max(r["p"] for r in rows) // 2
    fig = _figure(style.DOUBLE, 0.9 + 0.2 * len(rows))
    ax = fig.add_subplot()
    for i, r in enumerate(rows):
        ks, shares = r["key_frequencies"], r["key_shares"]
        ax.axhline(i, color="#EEEEEE", lw=0.5, zorder=0)
        if not ks:
            ax.text(kmax + 0.5, i, "none", va="center", ha="right", color="#777777", fontsize=style.FONT_SIZE - 1)
        for rank, (k, sh) in enumerate(zip(ks, shares)):
            ax.scatter(k, i, s=15 + 220 * sh, color=style.key_color(rank), edgecolor="black", linewidth=0.3,
                       zorder=2)
    ax.set_yticks(range(len(rows)), [f"s{r['seed']}  {r['point']}" + ("" if r["grokked_flag"] else "  (not grokked)")
                                      for r in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.invert_yaxis()
    ax.set_xlim(0.5, kmax + 0.5)
    ax.set_xlabel("key frequency k (dot area: share of the logits' variance on cos/sin(w_k(x+y)))")
    ax.set_title("Key frequencies of every point, grouped by seed (colour: rank within the point)")
    return fig


def label_balance(tasks: list[dict]):
    """For each pow task: the count of every label over the p² pairs (a flat bar chart is an even
    label distribution), coloured by whether its points grokked."""
    n = len(tasks)
    cols = min(n, 3)
    nrows = -(-n // cols)
    fig = _figure(style.DOUBLE, 0.5 + 1.8 * nrows)
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    for ax, t in zip(axes, tasks):
        counts = np.asarray(t["counts"])
        colour = GROKKED if t["n_grokked"] == t["n_points"] else NEVER if t["n_grokked"] == 0 else style.OKABE_ITO["orange"]
        ax.bar(np.arange(counts.size), counts, width=1.0, color=colour)
        ax.axhline(counts.sum() / counts.size, color="black", lw=0.6, ls="--")
        ax.set_title(f"p={t['p']} a={t['a']} b={t['b']}: {t['n_grokked']}/{t['n_points']} grokked\n"
                     f"unused labels {int((counts == 0).sum())}, max/mean {counts.max() / counts.mean():.1f}")
        ax.set_xlabel("label (x^a + y^b) mod p")
        ax.set_ylabel("pairs")
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle("Label distribution of each pow task (dashed: uniform; green: grokked, grey: never, "
                 "orange: some seeds)")
    return fig
