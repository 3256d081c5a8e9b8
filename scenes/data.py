"""What scenes read: assets/<run>/ (extraction/store.py documents every file), never torch.

The run is chosen once per render: `use(run)` (what render.py's `scene --run` does), else the
environment variable GROKKING_RUN, else training.config.DEFAULT_RUN. Scenes call `load()` at construct time.
"""
from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np

from extraction import fourier as fo
from training.config import DEFAULT_RUN
from extraction.store import Assets, AssetsError

# The mechanism each scene draws: summary.json selections it needs found. A scene whose selection
# extraction did not find (a run that never grokked) is not drawn; `absent` says why instead.
NEEDS: dict[str, tuple[str, ...]] = {
    "NeuronWaves": ("wave_neurons",), "NeuronLoops": ("wave_neurons",), "FourierPeak": ("wave_neurons",),
    "NeuronSurface": ("neuron_surfaces",), "Crest": ("crest",), "TrigIdentity": ("product_pair",),
    "LogitSurface": ("logit",),
}
# selections.npz arrays by the summary selection that explains their absence
_ARRAY_OF = {"wave": "wave_neurons", "pair": "product_pair", "trig": "product_pair", "crest": "crest",
             "logit": "logit", "neuron": "neuron_surfaces"}


class NotFound(AssetsError):
    """The run has no such mechanism (extraction looked and found none): the message says why,
    `reason` the same without the scene's name."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


RUN_ENV = "GROKKING_RUN"
_run: str | None = None
_root: Path | None = None


def use(run: str | None, root: Path | str | None = None) -> None:
    """Select the run (and optionally the assets root) for the scenes rendered next."""
    global _run, _root
    _run = run
    _root = Path(root) if root is not None else None


def current_run() -> str:
    return _run or os.environ.get(RUN_ENV) or DEFAULT_RUN


def load(run: str | None = None) -> "SceneData":
    a = Assets(run or current_run(), _root)
    if not a.exists():
        raise AssetsError(f"no extracted data for run {a.run!r} ({a.dir} missing); make it with: "
                          f"render.py extract --run {a.run}")
    return SceneData(a)


def check(run: str | None = None) -> None:
    """Fail early (AssetsError) when the run's assets are missing or corrupt."""
    load(run).a.verify()


def absent(scene: str, run: str | None = None) -> str | None:
    """Why `scene` cannot be drawn from this run (a selection it needs was not found), or None."""
    d = load(run)
    for key in NEEDS.get(scene, ()):
        why = d.not_found(key)
        if why:
            return f"run {d.run!r} has no {key.replace('_', ' ')}: none found ({why})"
    return None


class SceneData:
    """The assets of one run with the few derived things scenes need (labels, indices)."""

    def __init__(self, assets: Assets):
        self.a = assets
        self.run = assets.run

    def __getitem__(self, name):
        return self.a[name]

    def get(self, name, key):
        return self.a.get(name, key)

    @property
    def summary(self) -> dict:
        return self.a.summary

    @property
    def p(self) -> int:
        return self.a.p

    # ---- the headline numbers ---------------------------------------------------------------

    @property
    def memorised_epoch(self):
        """First epoch at 100 % train accuracy."""
        ms = self.summary.get("milestones", {})
        return ms.get("train_100")

    @property
    def grokked_epoch(self):
        """First epoch at >= 99 % test accuracy (None when the run never generalised)."""
        return self.summary.get("milestones", {}).get("test_99")

    @property
    def key_k(self) -> int:
        """The key frequency the probes (and the video's story) follow: summary.json's story
        frequency (extraction: the lowest key frequency unless --story-k names another)."""
        for k in ((self.summary.get("story") or {}).get("k"), (self.summary.get("probe") or {}).get("k")):
            if k:
                return int(k)
        return int(min(self.summary["key_frequencies"]))

    def w(self, k: int | None = None) -> float:
        return 2 * np.pi * (k or self.key_k) / self.p

    def freq_label(self, k: int | None = None) -> str:
        return fo.freq_label(k or self.key_k, self.p)

    def wave_label(self, fn: str, k: int | None = None, var: str = "x") -> str:
        return fo.wave_label(fn, k or self.key_k, self.p, var)

    # ---- checkpoints ---------------------------------------------------------------------------

    @cached_property
    def ckpt_epochs(self) -> np.ndarray:
        return np.asarray(self["curves"]["epoch"])

    def ckpt_index(self, epoch) -> int:
        """Index of the first checkpoint at or after `epoch` (the last one if none)."""
        e = self.ckpt_epochs
        i = int(np.searchsorted(e, epoch))
        return min(i, len(e) - 1)

    @property
    def analysis_index(self) -> int:
        return self.ckpt_index(self.summary.get("analysis_epoch", self.ckpt_epochs[-1]))

    # ---- selections ---------------------------------------------------------------------------

    def not_found(self, name: str) -> str | None:
        """Extraction's reason when the selection `name` (summary.json) was not found, else None."""
        sel = self.summary.get("selections", {}).get(name)
        if sel is None:                           # not looked for: nothing to explain
            return None
        if name == "neuron_surfaces":             # found when wave neurons or the product pair were
            if sel.get("neurons"):
                return None
            whys = (self.not_found("wave_neurons"), self.not_found("product_pair"))
            return "; ".join(dict.fromkeys(filter(None, whys))) or "no neurons"
        if sel.get("found", True):
            return None
        return sel.get("reason") or "no reason recorded"

    def selection(self, key: str):
        v = self.get("selections", key)
        if v is None:
            why = self.not_found(_ARRAY_OF.get(key.split("_")[0], key))
            raise (NotFound if why else AssetsError)(
                f"run {self.run!r} has no {key} in selections.npz" + (f" (none found: {why})" if why else "")
                + "; this scene needs it")
        return np.asarray(v, float)

    @cached_property
    def wave_neurons(self) -> list[int]:
        return [int(n) for n in self.selection("wave_neurons")]

    @cached_property
    def wave_sweeps(self) -> np.ndarray:
        return self.selection("wave_sweeps")

    # ---- probes --------------------------------------------------------------------------------

    def probe(self, fn: str, pos: int = 0) -> dict:
        """The sparse probe `fn` (cos or sin) applied to the residual stream at position `pos`
        (analysis checkpoint): its dimensions, their weights, each dimension's sweep, the output."""
        pr = self["probes"]
        wts = np.asarray(pr[f"{fn}_weights"], float)
        dims = [int(d) for d in np.asarray(pr[f"{fn}_dims"]).ravel()]
        resid = np.asarray(pr["resid_pos0" if pos == 0 else "resid_pos1"], float)
        bias = float(np.asarray(pr[f"{fn}_bias"]))
        out = resid @ wts + bias
        r2 = (self.summary.get("probe", {}).get(fn) or {}).get("r2")
        return {"dims": dims, "weights": [float(wts[d]) for d in dims], "bias": bias,
                "sweeps": resid[:, dims].T if dims else np.zeros((0, resid.shape[0])),
                "out": out, "target": np.asarray(pr[f"{fn}_target"], float), "r2": r2,
                "d_model": resid.shape[1]}

    # ---- the trig identity (part 2) ------------------------------------------------------------

    def trig_identity(self) -> dict:
        """The product pair's surfaces and the sum drawn: +1·(cos·cos) − 1·(sin·sin).

        The sum is the assets' trig_sum when present (and must equal the weighted sum drawn); it
        is cos(w(x + y)): the diagonal runs along x + y = const, not x − y."""
        coscos, sinsin = self.selection("trig_coscos"), self.selection("trig_sinsin")
        weights = (1.0, -1.0)
        drawn = weights[0] * coscos + weights[1] * sinsin
        stored = self.get("selections", "trig_sum")
        if stored is not None and not np.allclose(np.asarray(stored, float), drawn, atol=1e-4 * (np.abs(drawn).max() + 1e-12)):
            raise AssetsError(f"run {self.run!r}: selections.npz trig_sum is not trig_coscos − trig_sinsin")
        pp = self.summary.get("selections", {}).get("product_pair", {})
        return {"coscos": coscos, "sinsin": sinsin, "weights": weights,
                "sum": drawn if stored is None else np.asarray(stored, float),
                "k": int(pp.get("k") or self.key_k), "formulas": pp.get("formulas")}
