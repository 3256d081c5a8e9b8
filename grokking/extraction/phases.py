"""The phases of training, located from the curves by a documented rule (numpy only).

  memorised          first epoch with 100 % train accuracy
  memorisation_end   (= circuit formation starts) the checkpoint where the excluded loss is lowest
                     before the model generalises: it falls with the train loss while the model
                     memorises, then climbs as the Fourier circuit forms
  cleanup_start      the test-loss collapse has covered 10 % of its fall (in log10, from its
                     plateau peak after memorisation_end to its final value)
  cleanup_end        ... 90 % of its fall
  grokked            first epoch with test accuracy >= 99 %
"""
from __future__ import annotations

import numpy as np

from grokking.training.history import first_index, milestones

RULE = ("memorised: first epoch at 100% train accuracy; memorisation_end (circuit formation starts): "
        "the checkpoint with the lowest excluded loss before grokking; cleanup_start / cleanup_end: "
        "the epochs where log10(test loss) has covered 10% / 90% of its fall from its plateau peak "
        "(after memorisation_end) to its final value; grokked: first epoch at >= 99% test accuracy")


def locate(all_train_acc, all_test_acc, all_test_loss, ckpt_epoch, excluded_loss) -> dict:
    ms = milestones({"train_acc": np.asarray(all_train_acc, float), "test_acc": np.asarray(all_test_acc, float)})
    memorised, grokked = ms["train_100"], ms["test_99"]
    out = {"memorised": memorised, "memorisation_end": None, "cleanup_start": None,
           "cleanup_end": None, "grokked": grokked, "rule": RULE}
    ex = np.asarray(excluded_loss, float)
    if np.isfinite(ex).any():
        limit = grokked if grokked is not None else ckpt_epoch[-1]
        ok = (ckpt_epoch <= limit) & np.isfinite(ex)
        if ok.any():
            out["memorisation_end"] = int(ckpt_epoch[ok][np.argmin(ex[ok])])
    if grokked is not None:
        L = np.log10(np.maximum(all_test_loss, 1e-30))
        start = out["memorisation_end"] or 0
        peak = start + int(np.argmax(L[start: grokked + 1]))
        hi, lo = L[peak], L[-1]
        if hi > lo:
            out["cleanup_start"] = first_index(np.r_[np.zeros(peak, bool), L[peak:] <= hi - 0.1 * (hi - lo)])
            out["cleanup_end"] = first_index(np.r_[np.zeros(peak, bool), L[peak:] <= hi - 0.9 * (hi - lo)])
    return out


def gini(v: np.ndarray) -> np.ndarray:
    """Gini coefficient along the last axis (0: all equal, -> 1: one entry holds everything)."""
    v = np.sort(np.abs(v), axis=-1)
    n = v.shape[-1]
    i = np.arange(1, n + 1)
    return ((2 * i - n - 1) * v).sum(-1) / (n * np.maximum(v.sum(-1), 1e-30))
