"""A run and its assets in a notebook, as numpy arrays and dicts (no torch needed until
`hooked_transformer`).

    from grokking.interop import open_run
    r = open_run("quick")                    # runs/quick/ and assets/quick/ under the working directory
    r.config.p, r.epochs                     # the task; checkpoint epochs [C]
    r.metrics["test_acc"]                    # per epoch, entry e after e steps [E+1]
    r.checkpoint()["W_E"]                    # the last checkpoint's weights (or r.checkpoint(epoch))
    r.weights("W_E", every=10)               # one matrix at every 10th checkpoint, stacked [C/10, ...]
    r.split["train"]                         # indices into the x-major p*p grid
    r.summary["key_frequencies"]             # assets/<run>/summary.json
    r.curves["excluded_loss"], r.selections["crest"], r.asset("activations")["mlp.hook_post"]
    model = r.hooked_transformer()           # TransformerLens 2.x/3.x, the last checkpoint's weights
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from grokking.common.assets import Assets
from grokking.training.config import Config
from grokking.training.history import Run


class RunView:
    """One run's history (always) and extracted assets (once `grokking extract` made them)."""

    def __init__(self, name: str, runs_root: Path | None = None, assets_root: Path | None = None):
        self.name = name
        self.history = Run(name, runs_root)
        self.assets = Assets(name, assets_root)
        self._runs_root = runs_root
        self.history.manifest                # a missing or damaged run is named now, with the fix

    def __repr__(self):
        c, m = self.config, self.history.manifest
        return (f"RunView({self.name!r}: {c.op} mod {c.p}, {m['epochs_done']} epochs, {len(self.epochs)} "
                f"checkpoints, grokked={m['grokked']}, assets={'yes' if self.assets.exists() else 'no'})")

    # ---- the history ----
    @property
    def config(self) -> Config:
        return self.history.config

    @property
    def manifest(self) -> dict:
        return self.history.manifest

    @property
    def epochs(self) -> np.ndarray:
        return np.array(self.history.checkpoint_epochs())

    @property
    def metrics(self) -> dict[str, np.ndarray]:
        """train_loss, test_loss, train_acc, test_acc [E+1] and epoch [E+1]: the history's latest
        commit (reread when the manifest names another metrics file, as it does while training)."""
        entry = self.history.manifest["metrics"]
        if getattr(self, "_metrics", (None,))[0] != entry["sha256"]:
            m = dict(self.history.metrics())
            m["epoch"] = np.arange(len(m["train_loss"]))
            self._metrics = (entry["sha256"], m)
        return self._metrics[1]

    @cached_property
    def split(self) -> dict[str, np.ndarray]:
        return self.history.split()

    def checkpoint(self, epoch: int | None = None) -> dict[str, np.ndarray]:
        """The weights after `epoch` steps (default: the last checkpoint), TransformerLens shapes."""
        return self.history.load_checkpoint(int(self.epochs[-1]) if epoch is None else int(epoch))

    def weights(self, name: str, every: int = 1) -> np.ndarray:
        """One parameter at every `every`-th checkpoint, stacked [C, ...] (pair with epochs[::every])."""
        return np.stack([self.history.load_checkpoint(int(e), verify=False)[name] for e in self.epochs[::every]])

    # ---- the assets ----
    @property
    def summary(self) -> dict:
        return dict(self.assets.summary)

    @property
    def curves(self) -> dict[str, np.ndarray]:
        return self.asset("curves")

    @property
    def selections(self) -> dict:
        """Every selection's summary entry, with its arrays (selections.npz) under `arrays`."""
        out = {k: dict(v) if isinstance(v, dict) else v for k, v in self.summary["selections"].items()}
        out["arrays"] = self.asset("selections")
        return out

    def asset(self, name: str) -> dict[str, np.ndarray]:
        """Every array of assets/<run>/<name>.npz (curves, fourier, neurons, probes, selections,
        evolution, activations, toy)."""
        return dict(self.assets[name])

    # ---- TransformerLens ----
    def hooked_transformer(self, epoch: int | None = None, device: str = "cpu"):
        from .transformer_lens import hooked_transformer
        return hooked_transformer(self.name, epoch, device, self._runs_root)


def open_run(name: str, runs_root: Path | str | None = None, assets_root: Path | str | None = None) -> RunView:
    """The run `name` (runs/<name>/, assets/<name>/ by default, relative to the working directory)."""
    return RunView(name, Path(runs_root) if runs_root else None, Path(assets_root) if assets_root else None)
