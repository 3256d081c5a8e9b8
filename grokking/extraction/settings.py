"""Extraction's settings: their defaults (defined here only), their checks, and how a flag left
out is resolved. numpy only: the command line imports this for its help texts.

A flag left out means "as the last extraction of this run was asked" (the manifest keeps the
flags asked), else the default; so `status` after `all --T 5` sees what `all` made, and a plain
`all` keeps T = 5 until another --T is given.
"""
from __future__ import annotations

from . import mechanism as mech
from .coords import coordinates
from .errors import ExtractionError

DEFAULT_T = 65              # the crest's target sum, taken mod p (the video's)
DEFAULT_OUTPUT = 7          # the output whose logit surface is shown (the video's)
PROBE_MAX_DIMS = 8          # the sparse probe's largest support

FLAGS = ("analysis_epoch", "T", "output", "story_k")


def asked(previous: dict | None, **flags) -> dict:
    """The flags of this extraction: each one given, else the one the previous extraction was asked
    (`previous`: its manifest's "asked"), else None (its default)."""
    previous = previous or {}
    return {k: flags.get(k) if flags.get(k) is not None else previous.get(k) for k in FLAGS}


def settings_for(cfg, analysis_epoch: int, T: int | None, output: int | None, story_k: int | None = None) -> dict:
    """The settings an extraction of a run of config `cfg` runs with (stored in its manifest; a
    change stales the assets)."""
    p = cfg.p
    n = coordinates(cfg.op, p, cfg.a, cfg.b).n      # story k is a frequency of the group the answer adds in
    return {"analysis_epoch": analysis_epoch, "T": (DEFAULT_T if T is None else T) % p,
            "output": (DEFAULT_OUTPUT if output is None else output) % p, "key_share": mech.KEY_SHARE,
            "fve_threshold": mech.FVE_CLUSTER, "probe_max_dims": PROBE_MAX_DIMS, "story_k": story_setting(n, story_k)}


def story_setting(p: int, story_k: int | None) -> int | None:
    """--story-k as stored in the settings: None (the lowest key frequency) or the frequency named,
    folded to min(k, p - k) (k and p - k are the same wave at the integers)."""
    if story_k is None:
        return None
    if not 1 <= story_k <= p - 1:
        raise ExtractionError(f"--story-k must be a frequency between 1 and {p - 1} at p={p} (got {story_k}); "
                              "leave it out for the lowest key frequency")
    return mech.periods(story_k, p)


def check_values(name: str, p: int, epochs: list[int], analysis_epoch, T, output) -> int:
    """The analysis epoch (default: the last of `epochs`, the run's checkpoints, trained or
    planned); ExtractionError when --analysis-epoch names no checkpoint or --T / --output is not a
    residue mod p."""
    if analysis_epoch is not None and analysis_epoch not in epochs:
        near = min(epochs, key=lambda e: abs(e - analysis_epoch))
        raise ExtractionError(f"run {name!r} has no checkpoint at epoch {analysis_epoch} "
                              f"(nearest: {near}); pass --analysis-epoch {near}")
    for flag, v in (("T", T), ("output", output)):
        if v is not None and not 0 <= v < p:
            raise ExtractionError(f"--{flag} must be between 0 and {p - 1} at p={p} (got {v}); pass e.g. "
                                  f"--{flag} {v % p}")
    return epochs[-1] if analysis_epoch is None else analysis_epoch
