"""The race figure (numpy and matplotlib only; lab/report.py reads the runs and
summarises the recipes, `race`):

    race    above: test accuracy over epochs per recipe, the median over its seeds as a line and the
            seeds' range shaded; below: every seed's grokking epoch per recipe (dots), the median
            (a bar), the cap (dashed), seeds that never grokked as open triangles at the cap and
            seeds still training as open grey circles where they are
"""
from __future__ import annotations

import textwrap

import numpy as np

from grokking.figures import style

ORDER = ("blue", "vermillion", "bluish_green", "orange", "reddish_purple", "sky_blue", "black")
TRAINING = "#B0B0B0"


def recipe_colour(i: int) -> str:
    """The i-th recipe's colour: Okabe-Ito without its yellow (faint on white), then the key palette."""
    return style.OKABE_ITO[ORDER[i]] if i < len(ORDER) else style.key_color(i - len(ORDER))


def held(v: np.ndarray) -> np.ndarray:
    """A curve measured at some epochs only (NaN between): each gap holds the latest measurement,
    NaN before the first and after the last."""
    v = np.asarray(v, float)
    have = np.isfinite(v)
    if not have.any():
        return v.copy()
    idx = np.where(have, np.arange(v.size), -1)
    np.maximum.accumulate(idx, out=idx)
    out = np.where(idx >= 0, v[np.maximum(idx, 0)], np.nan)
    out[np.flatnonzero(have)[-1] + 1:] = np.nan
    return out


def band(curves: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(median, min, max) over the curves at each epoch that every curve reaches (NaN after the
    shortest ends: a median over the seeds still running past the others' cap, say the one seed
    extended because it had not grokked, would drop to that seed's curve); gaps are held first."""
    n = max((len(c) for c in curves), default=0)
    A = np.full((len(curves), n), np.nan)
    for i, c in enumerate(curves):
        A[i, :len(c)] = held(c)
    some = np.isfinite(A).all(0)
    med, lo, hi = (np.full(n, np.nan) for _ in range(3))
    if some.any():
        med[some] = np.nanmedian(A[:, some], 0)
        lo[some], hi[some] = np.nanmin(A[:, some], 0), np.nanmax(A[:, some], 0)
    return med, lo, hi


def left_edge(recipes: list[dict], cap: int) -> float:
    """The log x axis starts a decade below the earliest grokking epoch (at 1 at the lowest)."""
    first = [s["grokked"] for r in recipes for s in r["seeds"] if s["state"] == "grokked"]
    return max(1.0, 10.0 ** (np.floor(np.log10(max(min(first, default=cap), 1))) - 1))


def race(rc: dict):
    """The race figure of `rc` (lab/report.py race): recipes in its order."""
    import matplotlib.pyplot as plt
    style.apply()
    recipes, curves = rc["recipes"], rc["curves"]
    n = len(recipes)
    fig = plt.figure(figsize=(style.DOUBLE, 2.9 + 0.42 * n + 0.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.9, 0.42 * n + 0.5])
    cap = max(c for r in recipes for c in r["caps"])
    for i, (r, cs) in enumerate(zip(recipes, curves)):
        if not cs:
            continue
        med, lo, hi = band([c["test_acc"] for c in cs])
        e = np.arange(med.size)
        ok = np.isfinite(med) & (e >= 1)
        col = recipe_colour(i)
        top.fill_between(e[ok], lo[ok], hi[ok], color=col, alpha=0.12, linewidth=0)
        top.plot(e[ok], med[ok], color=col, lw=1.4 if r["role"] else 1.1)
    top.axhline(0.99, color="#777777", lw=0.5, ls=":")
    top.set_ylim(-0.02, 1.02)
    top.set_ylabel("test accuracy")
    top.set_xscale("log")
    top.set_title("Test accuracy per recipe, colours as below (line: median of the seeds; band: their range)",
                  loc="left")
    _dots(bottom, recipes, cap)
    bottom.set_xlabel("epoch")
    bottom.set_xlim(left_edge(recipes, cap), cap * 1.15)
    return fig


def _dots(ax, recipes: list[dict], cap: int):
    """One row per recipe: each seed's grokking epoch, the median, the cap."""
    for i, r in enumerate(recipes):
        col = recipe_colour(i)
        seeds = r["seeds"]
        for j, s in enumerate(seeds):
            y = i + (j - (len(seeds) - 1) / 2) * min(0.2, 0.7 / max(len(seeds), 1))
            if s["state"] == "grokked":
                ax.scatter(s["grokked"], y, s=16, color=col, edgecolor="black", linewidth=0.3, zorder=3)
            elif s["state"] == "never":
                ax.scatter(s["cap"], y, s=22, marker=">", facecolor="white", edgecolor=col, linewidth=0.9, zorder=3)
            elif s.get("epochs_done"):
                ax.scatter(s["epochs_done"], y, s=14, facecolor="white", edgecolor=TRAINING, linewidth=0.8, zorder=2)
        for c in r["caps"]:
            ax.plot([c, c], [i - 0.42, i + 0.42], color="#555555", lw=0.8, ls="--", zorder=1)
        g = r["grok"]
        if g is not None and g["median"]["hi"] is not None:
            ax.plot([g["median"]["lo"]] * 2, [i - 0.38, i + 0.38], color="black", lw=1.6, zorder=4)
    ax.set_yticks(range(len(recipes)), [textwrap.fill(r["recipe"], 22) + "\n" + ", ".join(
        r["role"] + [f"{r['n_grokked']}/{r['n_seeds']} grokked"]) for r in recipes])
    for t, i in zip(ax.get_yticklabels(), range(len(recipes))):
        t.set_color(recipe_colour(i))
    ax.set_ylim(len(recipes) - 0.5, -0.5)
    ax.set_xscale("log")
    ax.set_title("Grokking epoch per seed (bar: median; dashed: cap; ▷: never; grey ○: still training)", loc="left")
