"""The assets format: what extraction writes and figures and scenes read (numpy and json only).
This module is the format: its files and arrays (below), the summary's parts as dataclasses,
the one `write()` extraction and the test fixtures call, and the typed readers.

    assets/<run>/
      manifest.json   format "grokking-assets/1"; the source run and its fingerprint; the analysis
                      epoch; the extraction settings (and the flags asked, read back when a flag is
                      left out); a hash of the extraction code; versions; one sha256 per file below
                      and one per array
      summary.json    every headline number and every selection with its evidence (see summary.md);
                      the parts below (Story, Probe, Additive, Diagnostics, each selection) carry
                      `found` and, when not found, `reason`
      summary.md      the same, readable
      curves.npz      per checkpoint, C of them (ascending `epoch` [C]):
                        train_loss, test_loss, train_acc, test_acc          [C]
                        restricted_loss_train, restricted_loss_test        [C]
                        excluded_loss (train; all key frequencies removed)  [C]
                        excluded_loss_by_freq  [C, K] (one key frequency removed), key_freqs [K]
                        sum_sq_weights [C], sum_sq_by_matrix [C, M], matrix_names [M]
                        gini_W_E, gini_W_L [C]
                        attn_eq_to_x, attn_eq_to_y, attn_eq_to_eq [C, H] (mean attention from '=')
                        collapse_share, grad_weight_cos, grad_norm [C] (DIAGNOSTICS: NaN where the
                          history did not measure them; summary "diagnostics" says whether it did)
                      and per epoch (E+1 entries, from the run's metrics):
                        all_epoch, all_train_loss, all_test_loss, all_train_acc, all_test_acc,
                        all_collapse_share, all_grad_weight_cos, all_grad_norm
                      CURVES below lists every member; write() refuses one missing or undeclared.
                      restricted_* and excluded_* are NaN where there are no key frequencies (a
                      run that never grokked, or summary "additive" not found: op mul or div)
      fourier.npz     basis [p, p] (rows: const, cos 1, sin 1, cos 2, ...), basis_labels [p]
                      embed_norms [C, p]: Fourier norms of W_E (digits) per basis row, per checkpoint
                      W_L_norms [p], logit_norms_2d [p, p] (analysis checkpoint)
      neurons.npz     freq [d_mlp] (k of the best frequency), fve [d_mlp], fve_by_freq [d_mlp, n//2 + 1] (k = 0 .. n//2, the Nyquist of an even n included)
                      (column k = fraction of variance in the {0, 2k-1, 2k}^2 block; column 0 unused)
      probes.npz      for f in (cos, sin): {f}_weights [d_model], {f}_bias [], {f}_dims [m],
                      {f}_target [p], {f}_out [C, p] (position 0, every checkpoint: the probe
                      refitted at that checkpoint), {f}_out_pos1 [C, p] (the same probe at
                      position 1), {f}_r2 [C] (its R²), {f}_r2_fixed [C] (the analysis
                      checkpoint's probe held fixed: what a replay without refitting shows);
                      resid_pos0, resid_pos1 [p, d_model] (analysis)
      selections.npz  each selection's arrays (SELECTIONS below: present exactly when it was found)
                      and attn_eq_pattern [H, p, p] (attention from '=' to x, over (x, y))
      evolution.npz   float16, every checkpoint: epoch [C] and each found selection's EVOLVES
      activations.npz ACTIVATIONS below: the analysis checkpoint, all p*p inputs (x-major), under
                      TransformerLens's names
      toy.npz         the p = 5 table of the intro: x, y, sum, is_test [25], vocab [6]

Surfaces are [p, p] with x the row index and y the column. No pickle: np.load(allow_pickle=False).
For op sub every surface, selection and evolution array (and every measure along x + y) is in the
op's coordinates, summary "additive" says which: the column is −y mod p, not y (x − y = x + (−y)),
so a crest on "x + y ≡ T" there is x − y ≡ T; activations.npz stays over the tokens (x-major).
For op div the pairs with y = 0 are not examples (training/tasks.py valid): surfaces and
activations still cover all p*p inputs, but every loss over "all pairs" is over the valid ones.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar

import numpy as np

from grokking.common import io   # through the module: a test's injected fault (disk full) reaches every write
from grokking.common import paths
from grokking.common.errors import UserError

FORMAT = "grokking-assets/1"
FILES = ("curves", "fourier", "neurons", "probes", "selections", "evolution", "activations", "toy")
# the file names write() puts in assets/<run>/ (and atomic_write_bytes' .<file>.tmp<pid>)
OWN_FILE = re.compile(rf"manifest\.json|summary\.json|summary\.md|({'|'.join(FILES)})\.npz|\.[^/]+\.tmp\d+")

# activations.npz: name -> (axes, the TransformerLens activation it is). N = p*p inputs (x-major),
# pos = 3 tokens (x, y, '='); one layer, so TransformerLens's names carry `blocks.0.` before these.
ACTIVATIONS = {
    "attn.hook_pattern": ("[N, H, 3, 3]", "blocks.0.attn.hook_pattern [batch, head, query_pos, key_pos]"),
    "hook_resid_mid": ("[N, d_model]", "blocks.0.hook_resid_mid[:, -1] (the '=' position)"),
    "mlp.hook_pre": ("[N, d_mlp]", "blocks.0.mlp.hook_pre[:, -1]"),
    "mlp.hook_post": ("[N, d_mlp]", "blocks.0.mlp.hook_post[:, -1]"),
    "hook_mlp_out": ("[N, d_model]", "blocks.0.hook_mlp_out[:, -1]"),
    "logits": ("[N, d_vocab_out]", "the model's output logits[:, -1]"),
}
# The trainer's per-epoch diagnostics (training/train.py DIAGNOSTICS, measured on the train split
# from the objective's raw gradient); histories made before them, and imported ones, lack them.
DIAGNOSTICS = {
    "collapse_share": "share of train examples whose loss is exactly 0 in the run's precision (softmax collapse)",
    "grad_weight_cos": "cosine between the full gradient and the weights, over all parameters",
    "grad_norm": "norm of the full gradient, over all parameters",
}
METRICS = ("train_loss", "test_loss", "train_acc", "test_acc", *DIAGNOSTICS)
# curves.npz: member -> axes (C checkpoints, K key frequencies, M matrices, H heads, E + 1 epochs)
CURVES = {
    "epoch": "[C]", **{k: "[C]" for k in METRICS},
    "restricted_loss_train": "[C]", "restricted_loss_test": "[C]", "excluded_loss": "[C]",
    "excluded_loss_by_freq": "[C, K]", "key_freqs": "[K]",
    "sum_sq_weights": "[C]", "sum_sq_by_matrix": "[C, M]", "matrix_names": "[M]",
    "gini_W_E": "[C]", "gini_W_L": "[C]",
    **{f"attn_eq_to_{t}": "[C, H]" for t in ("x", "y", "eq")},
    "all_epoch": "[E+1]", **{f"all_{k}": "[E+1]" for k in METRICS},
}
# selections.npz arrays that belong to no selection (always written)
ALWAYS_SELECTED = {"attn_eq_pattern": "[H, p, p] attn.hook_pattern[x*p + y, h, -1, 0]: '=' attending to x"}


# ---- the summary's parts ------------------------------------------------------------------

@dataclass
class Part:
    """A part of summary.json that extraction looked for: found, or not and the reason why.
    Typed fields are what readers use; `evidence` keeps every other entry exactly as written;
    `arrays` are its members of selections.npz (not in the JSON)."""
    found: bool = True
    reason: str | None = None
    evidence: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict, repr=False, compare=False)

    KEY: ClassVar[str] = ""                         # its key in summary.json
    ARRAYS: ClassVar[dict[str, tuple[str, str]]] = {}   # selections.npz member -> (producer's key, axes)
    EVOLVES: ClassVar[dict[str, str]] = {}          # evolution.npz member -> axes

    @classmethod
    def _typed(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name not in ("found", "reason", "evidence", "arrays")]

    @classmethod
    def from_json(cls, d: dict) -> "Part":
        d = dict(d)                                 # the whole entry is read (and recorded)
        typed = [k for k in cls._typed() if d.get(k) is not None]     # a null stays in evidence, as written
        known = {"found", "reason", *typed}
        return cls(found=bool(d["found"]), reason=d.get("reason"),
                   evidence={k: v for k, v in d.items() if k not in known}, **{k: d[k] for k in typed})

    @classmethod
    def from_result(cls, d: dict) -> "Part":
        """From a producer's dict: arrays (ndarrays) go to `arrays` under their selections.npz
        names, every other entry to the JSON."""
        part = cls.from_json({k: v for k, v in d.items() if not isinstance(v, np.ndarray)})
        if part.found:
            part.arrays = {name: np.asarray(d[src]) for name, (src, _) in cls.ARRAYS.items()}
        return part

    def to_json(self) -> dict:
        out: dict = {"found": self.found}
        if self.reason is not None:
            out["reason"] = self.reason
        out.update({k: getattr(self, k) for k in self._typed() if getattr(self, k) is not None})
        out.update(self.evidence)
        return out

    def why_not(self) -> str:
        return self.reason or "no reason recorded"


@dataclass
class Story(Part):
    """The one key frequency the story shows wherever it shows one (the lowest, unless named)."""
    k: int | None = None
    label: str | None = None
    rule: str | None = None
    order: list | None = None
    KEY: ClassVar[str] = "story"


@dataclass
class Probe(Part):
    """The sparse probes for cos and sin of the probe frequency on the embedded residual stream."""
    k: int | None = None
    label: str | None = None
    learned: bool | None = None
    cos: dict | None = None
    sin: dict | None = None
    KEY: ClassVar[str] = "probe"


@dataclass
class WaveNeurons(Part):
    """Neurons whose x = 0 sweep over y is one clean key-frequency wave, the story's pair first."""
    neurons: list | None = None
    freqs: list | None = None
    labels: list | None = None
    KEY: ClassVar[str] = "wave_neurons"
    ARRAYS: ClassVar = {"wave_neurons": ("neurons", "[n] neuron ids"),
                        "wave_sweeps": ("sweeps", "[n, p] mlp.hook_post at x = 0, y swept")}
    EVOLVES: ClassVar = {"wave_sweeps": "[C, n, p]",
                         "wave_fit": "[C, n] each sweep's R² at its own frequency, at that checkpoint"}


@dataclass
class ProductPair(Part):
    """Two neurons of one key frequency whose strongest terms are cos·cos and sin·sin, chosen by
    mechanism.product_pair: their product terms carry most of their joint variance and their
    measured votes for T have opposite signs (qualifies; False: a fallback, `fallback` says why).
    coefs: each product term's amplitude; term_fve / term_joint: its share of the neuron's variance /
    of its joint variance (after its parts in x alone and y alone); weights: W_out[i] · W_U[:, T]
    normalised; votes: coef × weight, what the product term adds along that direction; sum_share:
    the share of votes[0]·cos·cos + votes[1]·sin·sin on the wave in x + y. The trig identity's
    unit surfaces, trig_sum = trig_coscos − trig_sinsin = cos(w(x + y))."""
    k: int | None = None
    label: str | None = None
    neurons: list | None = None
    formulas: list | None = None            # extraction/fourier.py product_formulas(k, p)
    coefs: list | None = None
    term_fve: list | None = None
    term_joint: list | None = None
    qualifies: bool | None = None
    fallback: str | None = None
    T: int | None = None
    weights: list | None = None
    votes: list | None = None
    sum_share: float | None = None
    trig_corr_sum: float | None = None
    trig_corr_diff: float | None = None
    KEY: ClassVar[str] = "product_pair"
    ARRAYS: ClassVar = {"pair_neurons": ("neurons", "[2] the cos·cos and the sin·sin neuron"),
                        "pair_surfaces": ("surfaces", "[2, p, p] their mlp.hook_post over (x, y)"),
                        "trig_coscos": ("coscos", "[p, p] cos(wx)cos(wy)"),
                        "trig_sinsin": ("sinsin", "[p, p] sin(wx)sin(wy)"),
                        "trig_sum": ("trig_sum", "[p, p] trig_coscos − trig_sinsin")}
    EVOLVES: ClassVar = {"pair_surfaces": "[C, 2, p, p]"}


@dataclass
class Crest(Part):
    """The MLP output along one direction over (x, y), its crest on x + y ≡ T."""
    T: int | None = None
    kind: str | None = None
    dimension: int | None = None
    description: str | None = None
    keys: list | str | None = None
    frequencies: list | None = None
    frequency_labels: list | None = None
    qualifies: bool | None = None           # False: no candidate met the rule; the one shown is a fallback
    crest_width: int | None = None
    prominence: float | None = None
    rows_in_crest: float | None = None
    ridge_on_crest: float | None = None
    points: list | None = None
    KEY: ClassVar[str] = "crest"
    ARRAYS: ClassVar = {"crest_surface": ("surface", "[p, p] hook_mlp_out @ crest_direction"),
                        "crest_direction": ("direction", "[d_model] unit vector"),
                        "crest_points": ("points", "[n, 2] (x, y) on x + y = T and x + y = T + p")}
    EVOLVES: ClassVar = {"crest_surface": "[C, p, p]",
                         "crest_rows_on_line": "[C] share of rows x peaking within Replay.crest_tol sums of x + y ≡ T"}


@dataclass
class Logit(Part):
    """The logit of one output over (x, y); its maxima on x + y ≡ output. And the logit
    approximation's view of it, which LogitSurface builds up: offset + Σ components = approx_surface,
    each component α_k cos(w_k(x + y − output)) of one key frequency, largest |α_k| first;
    rival_after_each[i]: after adding components 0..i, the next-highest diagonal crest as a
    fraction of the crest on x + y ≡ output (rival_model: the same of the model's own surface)."""
    output: int | None = None
    maxima: list | None = None
    on_line_fraction: float | None = None
    component_keys: list | None = None
    component_labels: list | None = None
    component_alphas: list | None = None
    offset: float | None = None
    rival_after_each: list | None = None
    rival_model: float | None = None
    KEY: ClassVar[str] = "logit"
    ARRAYS: ClassVar = {"logit_surface": ("surface", "[p, p] logits[:, output]"),
                        "logit_maxima": ("maxima", "[n, 2] (x, y) marked"),
                        "logit_components": ("components", "[K, p, p] α_k cos(w_k(x + y − output)), "
                                                           "largest |α_k| first"),
                        "logit_approx_surface": ("approx_surface", "[p, p] the logit approximation of "
                                                                   "logits[:, output]: offset + Σ components")}
    EVOLVES: ClassVar = {"logit_surface": "[C, p, p]",
                         "logit_rows_on_line": "[C] share of rows x peaking on x + y ≡ output"}


@dataclass
class StoryCheck(Part):
    """Whether the story the scenes tell is true of this run (docs/science.md §8), computed by
    extraction/story_check.py: `passed` when every criterion passes; `criteria`, one dict per row
    of ROWS in that order, each with ROW_KEYS: name, passed, value (the run's number, readable),
    target, scenes (that depend on it), meaning (what a FAIL means for them) and advice (what to
    try, None on a PASS). The rows in time carry their numbers too (TIME_KEYS): delay the epochs of
    fitting and grokking, their ratio and the test accuracy at 5x fitting; steady the grokking epoch
    and the lowest train and test accuracy after it ({epoch, acc}); replay its claims (Replay)."""
    passed: bool | None = None
    criteria: list | None = None
    KEY: ClassVar[str] = "story_check"
    FINAL_ROWS: ClassVar = ("legible", "algorithm", "answer singled out", "crest")     # the final model
    TIME_ROWS: ClassVar = ("delay", "steady", "replay")                                # training, in time
    ROWS: ClassVar = FINAL_ROWS + TIME_ROWS
    ROW_KEYS: ClassVar = ("name", "passed", "value", "target", "scenes", "meaning", "advice")
    TIME_KEYS: ClassVar = {"delay": ("fit_epoch", "grok_epoch", "ratio", "early_epoch", "test_at_early"),
                           "steady": ("grok_epoch", "worst_train", "worst_test"), "replay": ("claims",)}

    def row(self, name: str) -> dict:
        """One criterion by its name (KeyError for a name not in ROWS)."""
        if name not in self.ROWS:
            raise KeyError(f"{name!r} is not a story-check row ({', '.join(self.ROWS)})")
        return next(c for c in self.criteria or [] if c["name"] == name)

    def problems(self) -> list[str]:
        """Where the check breaks this schema (empty when it keeps it)."""
        names = [c.get("name") for c in self.criteria or []]
        if tuple(names) != self.ROWS:
            return [f"story_check rows {names}, expected {list(self.ROWS)}"]
        out = []
        for c in self.criteria:
            need = self.ROW_KEYS + self.TIME_KEYS.get(c["name"], ())
            out += [f"story_check row {c['name']!r} lacks {k!r}" for k in need if k not in c]
        if self.passed != all(c["passed"] for c in self.criteria):
            out.append("story_check passed disagrees with its rows")
        return out


@dataclass
class Replay(Part):
    """What the replays show at each checkpoint, measured there (extraction/replay.py): the probe
    refitted at every checkpoint (probes.npz {f}_out, {f}_r2; {f}_r2_fixed the analysis probe held
    fixed, for comparison), each wave neuron's fit at its own frequency (evolution wave_fit), the
    share of rows peaking on the crest's and the logit's line (evolution crest_rows_on_line,
    logit_rows_on_line; the crest's within `crest_tol` sums). `thresholds`: name -> value the
    captions are chosen by; `claims`: what each replay caption claims, one dict each: name, scene,
    when, epoch (its checkpoint), caption, measure, what, value, op, threshold, holds; `epochs`:
    memorised_epoch, rise_epoch and the checkpoints the claims are measured at."""
    per_checkpoint: bool | None = None
    thresholds: dict | None = None
    claims: list | None = None
    epochs: dict | None = None
    crest_tol: int | None = None
    KEY: ClassVar[str] = "replay"

    def claim(self, name: str) -> dict | None:
        return next((c for c in self.claims or [] if c["name"] == name), None)


@dataclass
class SeedChoice(Part):
    """How the run's seed was chosen (pipeline/choose.py, the run manifest's `chosen`): found when
    the main job tried the default preset's seeds in order and kept the first whose story check
    passed (`passed` false: none did, the first was kept); `tried`, one dict per seed tried:
    seed, passed, failed (criteria), train_seconds; `seconds`: the whole choice, checks included.
    Not found: the run was trained directly, at the seed it was given."""
    seed: int | None = None
    passed: bool | None = None
    seeds: list | None = None
    tried: list | None = None
    seconds: float | None = None
    KEY: ClassVar[str] = "seed_choice"

    @classmethod
    def of_manifest(cls, m: dict) -> "SeedChoice":
        chosen = m.get("chosen")
        if not chosen:
            return cls(found=False, reason="trained directly at its seed (not chosen among seeds by the main job)")
        return cls.from_json({"found": True, **chosen})


@dataclass
class NeuronSurfaces(Part):
    """The wave neurons' and the product pair's surfaces with their 2D Fourier decompositions."""
    neurons: list | None = None
    featured: int | None = None
    decompositions: dict | None = None
    KEY: ClassVar[str] = "neuron_surfaces"
    ARRAYS: ClassVar = {"neuron_ids": ("ids", "[n] neuron ids"),
                        "neuron_surfaces": ("surfaces", "[n, p, p] mlp.hook_post over (x, y)")}


@dataclass
class Additive(Part):
    """The coordinates in which the run's answer adds (extraction/coords.py), which every measure
    along the sum uses: the sum directions, key frequencies, restricted and excluded losses, the
    logit approximation, the story frequency, every selection and the story check.

    `x_axis`, `y_axis`: the rows and columns of every surface and selection in the task's terms
    ("x", "y"; "x", "−y mod p" for sub; "log₃ x", "log₃ y" for mul; "x³", "y⁵" for pow); `line`: the
    sum in the task's terms ("x + y"; "x − y"; "log₃ x + log₃ y"), the line a crest and the logit
    maxima lie on; `coordinates`: one sentence saying so. `n`: the group's order, the side of every
    surface and the modulus of every frequency (p, or p − 1 for mul and div: w_k = 2πk/n);
    `generator`: g of the discrete log (mul, div); `outputs` [n]: the answer token of each element
    (a selection's T and output are elements: the token is outputs[T]); `digits` [n]: the token on
    the x axis at each element; `grid`: False for a pow whose exponent collides (x ↦ x^a not
    one-to-one): no surfaces, only the measures over the pairs as they are; `zero_pairs`: mul and
    div's pairs outside the group (extract.zero_pairs); `collision_share`: pow, per colliding
    power, the share of the embedding's variance that is a function of that power (1: colliding
    inputs embedded alike); `answer_on_line`: a pow without a grid, the answer singled out over the
    pairs as they are (extract.answer_on_line: no surface to draw it on). Assets older than these
    fields: x and y as they are, n = p.
    Not found (assets of a version that did not measure mul and div): each measure is not found with
    this reason. activations.npz stays in the natural order (x-major over the tokens x, y)."""
    op: str | None = None
    x_axis: str | None = None
    y_axis: str | None = None
    line: str | None = None
    coordinates: str | None = None
    n: int | None = None
    generator: int | None = None
    grid: bool | None = None
    outputs: list | None = None
    digits: list | None = None
    zero_pairs: dict | None = None
    collision_share: dict | None = None
    answer_on_line: dict | None = None
    KEY: ClassVar[str] = "additive"

    @property
    def x_label(self) -> str:
        return self.x_axis or "x"

    @property
    def y_label(self) -> str:
        """What every surface's y axis is ("y"; "−y mod p" for sub)."""
        return self.y_axis or "y"

    @property
    def sum_label(self) -> str:
        """The sum in the task's terms ("x + y"; "x − y" for sub)."""
        return self.line or "x + y"

    @property
    def relabelled(self) -> bool:
        """Whether the surfaces' axes are not x and y themselves."""
        return self.y_label != "y" or self.x_label != "x"

    def order(self, p: int) -> int:
        """The side of every surface and the modulus of every frequency: n (p when not recorded)."""
        return self.n or p

    def token(self, element: int) -> int:
        """The answer token of a group element (a selection's T or output)."""
        return int(self.outputs[element]) if self.outputs else int(element)


@dataclass
class Diagnostics(Part):
    """Whether the history measured DIAGNOSTICS (found) or not (made before them, or imported:
    their curves are NaN); `final`: each at the last epoch; `first_collapse`: the first epoch with
    collapse_share > 0 (None: never)."""
    measured_epochs: int | None = None
    final: dict | None = None
    first_collapse: int | None = None
    KEY: ClassVar[str] = "diagnostics"


# summary.json "selections": key -> its part, in the order summary.md lists them
SELECTIONS: dict[str, type[Part]] = {c.KEY: c for c in (WaveNeurons, ProductPair, Crest, Logit, NeuronSurfaces)}


def selections_json(parts: list[Part]) -> dict:
    return {part.KEY: part.to_json() for part in parts}


def selection_arrays(parts: list[Part]) -> dict[str, np.ndarray]:
    return {k: v for part in parts for k, v in part.arrays.items()}


# ---- what a figure or scene read (so the pipeline knows exactly what it depends on) ----------

_recorders: list[set] = []


@contextmanager
def recording():
    """Collect every read made through Assets inside the block: ('summary', *path) for an entry
    of summary.json and ('npz', file, key) for an array; a path ending in '*' means the whole
    node was used (iterated). A path with no recorded extension stands for its whole value."""
    reads: set = set()
    _recorders.append(reads)
    try:
        yield reads
    finally:
        _recorders.remove(reads)


def _note(path: tuple):
    for r in _recorders:
        r.add(path)


class _Recorded(dict):
    """A dict that notes which keys are read (and wraps nested dicts the same way)."""

    def __init__(self, data: dict, prefix: tuple):
        super().__init__(data)
        self._prefix = prefix

    def __getitem__(self, key):
        value = super().__getitem__(key)
        path = self._prefix + (key,)
        _note(path)
        return _Recorded(value, path) if isinstance(value, dict) else value

    def get(self, key, default=None):
        if dict.__contains__(self, key):
            return self[key]
        _note(self._prefix + (key,))          # its absence is a dependency too
        return default

    def __contains__(self, key):
        _note(self._prefix + (key,))
        return dict.__contains__(self, key)

    def _whole(self):
        _note(self._prefix + ("*",))

    def __iter__(self):
        self._whole()
        return dict.__iter__(self)

    def items(self):
        self._whole()
        return dict.items(self)

    def values(self):
        self._whole()
        return dict.values(self)

    def keys(self):
        self._whole()
        return dict.keys(self)

    def __len__(self):
        self._whole()
        return dict.__len__(self)


# ---- errors ----------------------------------------------------------------------------------

class AssetsError(UserError, RuntimeError):
    """Assets missing or unreadable; the message says which command makes them."""


class Corrupt(AssetsError):
    """A file of assets/<run>/ that cannot be read or does not match its manifest: one line
    naming it, and the command that rebuilds it (`all` and `extract` rebuild it themselves)."""

    def __init__(self, path: Path, what: str, run: str):
        self.path, self.what = Path(path), what
        super().__init__(f"{path} is corrupt ({what}); rebuild it with: grokking extract --run {run} --force")

    @property
    def short(self) -> str:
        return f"{self.path.name} is corrupt ({self.what})"


class NotFound(AssetsError):
    """The run has no such mechanism (extraction looked and found none): the message says why,
    `reason` the same without the drawing's name."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


# ---- writing -----------------------------------------------------------------------------------

def owned(folder: Path):
    """A test for remove_owned: every name is write()'s own, or the folder has its manifest."""
    try:
        ours = json.loads((Path(folder) / "manifest.json").read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        ours = False
    return lambda rel: ours or OWN_FILE.fullmatch(rel) is not None


def array_sha(a) -> str:
    a = np.ascontiguousarray(a)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()[:16]


def jsonable(o):
    """Plain JSON values from numpy values and Parts."""
    if isinstance(o, Part):
        return jsonable(o.to_json())
    if isinstance(o, dict):
        return {str(k): jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return o


def check_files(files: dict[str, dict], summary: dict) -> None:
    """The contract, checked before anything is written: every file of FILES; each selection's
    arrays present exactly when it was found; activations under their documented names; the story
    check's rows as StoryCheck has them."""
    if set(files) != set(FILES):
        raise ValueError(f"assets need the files {FILES}, got {sorted(files)}")
    bad = StoryCheck.from_json(summary["story_check"]).problems() if "story_check" in summary else []
    if bad:
        raise ValueError(bad[0])
    sel = files["selections"]
    for key, cls in SELECTIONS.items():
        found = bool(summary["selections"][key].get("found"))
        for name in cls.ARRAYS:
            if (name in sel) != found:
                raise ValueError(f"selections.npz {name}: {'missing' if found else 'present'} although "
                                 f"{key} was {'found' if found else 'not found'}")
    extra = set(sel) - {n for c in SELECTIONS.values() for n in c.ARRAYS} - set(ALWAYS_SELECTED)
    if extra:
        raise ValueError(f"selections.npz members {sorted(extra)} belong to no selection of common/assets.py")
    cur = set(files["curves"])
    if cur != set(CURVES):
        raise ValueError(f"curves.npz members {sorted(cur - set(CURVES))} are not documented in common/assets.py"
                         if cur - set(CURVES) else f"curves.npz lacks {sorted(set(CURVES) - cur)}")
    acts = set(files["activations"]) - set(ACTIVATIONS)
    if acts:
        raise ValueError(f"activations.npz members {sorted(acts)} are not documented in common/assets.py")


def _swap_names(out: Path, pid: int) -> tuple[Path, Path]:
    """The folders a swap uses next to assets/<run>: its own per process, so two never share."""
    return out.with_name(f".{out.name}.tmp{pid}"), out.with_name(f".{out.name}.old{pid}")


def clean_swaps(out: Path, error: type[Exception] = AssetsError):
    """Remove the swap folders of writes that were killed (their process is gone), after
    checking that they hold only write()'s files."""
    pattern = re.compile(re.escape(f".{out.name}.") + r"(tmp|old)(\d*)")
    for d in out.parent.iterdir() if out.parent.is_dir() else ():
        m = pattern.fullmatch(d.name)
        if m and d.is_dir() and not d.is_symlink() and not (m[2] and paths.pid_alive(int(m[2]))):
            paths.remove_owned(d, owned(d), error, f"Move it out of {out.parent}/.")


def write(out: Path, files: dict[str, dict], summary: dict, manifest: dict,
          error: type[Exception] = AssetsError) -> None:
    """Write assets/<run>/ whole: into a fresh folder, then swapped in, so readers never see a
    half-written one. The folder replaced is removed only when it holds write()'s own files
    (else `error`, naming the stranger). summary may hold Parts; manifest gets the format, one
    sha256 per file and one hash per array."""
    out = Path(out)
    summary = jsonable(summary)
    check_files(files, summary)
    tmp, old = _swap_names(out, os.getpid())
    for mine in (tmp, old):          # a leftover of an earlier process that had our pid
        paths.remove_owned(mine, owned(mine), error, f"Move it out of {out.parent}/.")
    tmp.mkdir(parents=True)
    fix = f"Move what you keep out of {out}/ (or choose another --run name) and extract again."
    try:
        shas, arrays_sha = {}, {}
        for name, arrays in files.items():
            shas[f"{name}.npz"] = io.atomic_write_bytes(tmp / f"{name}.npz", io.npz_bytes(arrays))
            arrays_sha[f"{name}.npz"] = {k: array_sha(v) for k, v in arrays.items()}
        shas["summary.json"] = io.write_json(tmp / "summary.json", summary)
        shas["summary.md"] = io.atomic_write_bytes(tmp / "summary.md", summary_md(summary).encode())
        # one hash per array: a figure or scene that read only some arrays is stale only when those change
        io.write_json(tmp / "manifest.json", {"format": FORMAT, **manifest, "files": shas, "arrays": arrays_sha})
        if out.exists() or out.is_symlink():
            bad = paths.stranger(out, owned(out))
            if bad is not None:
                raise error(f"{out} holds {bad}, which extraction did not write; not replacing it. {fix}")
            out.rename(old)
        tmp.rename(out)
    except BaseException:       # disk full, Ctrl-C, a stranger: leave the old assets as they were
        if old.exists() and not out.exists():
            old.rename(out)
        shutil.rmtree(tmp, ignore_errors=True)     # this process's own fresh folder
        raise
    paths.remove_owned(old, owned(old), error, fix)


def seed_choice_line(c: SeedChoice) -> str:
    """One line for the gallery and summary.md: which seeds were tried, what each failed, the cost."""
    if not c.found:
        return c.why_not()
    tried = "; ".join(f"{t['seed']} " + ("PASS" if t["passed"] else "FAIL (" + ", ".join(t["failed"]) + ")")
                      for t in c.tried)
    return (f"{c.seed}, chosen by the story check among seeds {', '.join(map(str, c.seeds))}: tried {tried}; "
            f"{c.seconds / 60:.1f} min" + ("" if c.passed else "; none passed, the first kept"))


def summary_md(s: dict) -> str:
    t = s["task"]
    sel = s["selections"]
    n = s["neurons"]
    la = s["logit_approx"]
    ph = s["phases"]
    story = Story.from_json(s["story"])
    add = Additive.from_json(s.get(Additive.KEY) or {"found": True})
    diag = Diagnostics.from_json(s.get(Diagnostics.KEY) or {"found": False, "reason": "not recorded"})
    choice = SeedChoice.from_json(s.get(SeedChoice.KEY) or {"found": False, "reason": "not recorded"})
    lines = [f"# {s['run']}: {t['op']} mod {t['p']}, seed {t['seed']}, {s['epochs_done']} epochs",
             "", f"- grokked: {'yes' if s['grokked'] else 'no'} (train 100% at epoch {s['milestones']['train_100']}, "
             f"test >= 99% at epoch {s['milestones']['test_99']})",
             f"- phases: memorised {ph['memorised']}, memorisation ends {ph['memorisation_end']}, "
             f"clean-up {ph['cleanup_start']}-{ph['cleanup_end']}, grokked {ph['grokked']}",
             f"- key frequencies (analysis epoch {s['analysis_epoch']}): "
             + (", ".join(f"k={k} ({lab}, {s['key_shares'][str(k)]:.0%} of logit variance"
                          + (f", a harmonic of k={s['key_harmonics'][str(k)]})" if str(k) in s.get("key_harmonics", {})
                             else ")")
                          for k, lab in zip(s["key_frequencies"], s["key_labels"])) or "none"),
             *([] if add.found else [f"- measures along x + y: none ({add.why_not()})"]),
             *([f"- coordinates: {add.coordinates}"] if add.found and add.relabelled else []),
             "- story frequency: " + (f"k={story.k} ({story.label}): {story.rule}" if story.found
                                      else f"none ({story.why_not()})"),
             f"- embedding frequencies: {s['embedding_frequencies']}",
             f"- neurons with FVE >= {n['fve_threshold']}: {n['n_clustered']} of {n['n']} ({n['share_clustered']:.0%}); "
             f"clusters {n['clusters']}",
             (f"- logit approximation: explains {la['explained_variance']:.1%} of the logit variance; loss "
              f"{la['loss']} vs the model's {la['model_loss']:.3g}" if la.get("found", True) else
              f"- logit approximation: none ({la['reason']}); the model's loss {la['model_loss']:.3g}"),
             f"- W_L effective rank: {s['W_L_rank']}",
             f"- seed: {seed_choice_line(choice)}",
             f"- probe k={s['probe']['k']} ({s['probe']['label']}): cos dims {s['probe']['cos']['dims']} "
             f"(R² {s['probe']['cos']['r2']:.3f}), sin dims {s['probe']['sin']['dims']} (R² {s['probe']['sin']['r2']:.3f})",
             "- training diagnostics: " + (f"measured at {diag.measured_epochs} epochs; last epoch "
                                           + ", ".join(f"{k} {v:.3g}" for k, v in diag.final.items() if v is not None)
                                           if diag.found else f"not measured ({diag.why_not()})"),
             "", "## Story check: " + ("PASS" if s["story_check"]["passed"] else "FAIL"), ""]
    lines += [f"- {'PASS' if c['passed'] else 'FAIL'} {c['name']}: {c['value']} (target: {c['target']})"
              for c in s["story_check"]["criteria"]]
    rep = Replay.from_json(s.get(Replay.KEY) or {"found": False})
    if rep.found:                # what each replay caption claims, measured at its checkpoint
        lines += ["", "## Replay claims (measured at their checkpoints)", ""]
        lines += [f"- {c['scene']}, {c['when']} (epoch {c['epoch']}): '{c['name']}' "
                  f"{'holds' if c['holds'] else 'does not hold'}: {c['what']} = "
                  + ("not measured" if c["value"] is None else f"{c['value']:.3g} (it needs {c['op']} {c['threshold']:g})")
                  for c in rep.claims or []]
    lines += ["", "## Selections", ""]
    for name, v in sel.items():
        if name == NeuronSurfaces.KEY:
            continue
        if v["found"]:
            keep = {k: v[k] for k in v if k not in ("found", "candidates", "broader_rejected", "tried")}
            lines.append(f"- {name}: " + json.dumps(keep))
        else:
            lines.append(f"- {name}: none found ({v['reason']})")
    for i, d in (NeuronSurfaces.from_json(sel[NeuronSurfaces.KEY]).decompositions or {}).items():
        lines.append(f"- neuron {i}: {d['formula']} (+ mean {d['mean']:.2f}; top terms explain {d['explained']:.0%})")
    if s.get("note"):
        lines += ["", f"Note: {s['note']}"]
    return "\n".join(lines) + "\n"


# ---- reading -----------------------------------------------------------------------------------

# files whose sha256 matched the manifest, by (path, size, mtime): verified once per process
_verified: set[tuple] = set()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Assets:
    """Read side of assets/<run>/: `a.summary`, `a["curves"]["excluded_loss"]`, `a.get(...)`, and
    the typed parts: `a.selection(Crest)`, `a.story`, `a.probe`."""

    def __init__(self, run: str, root: Path | None = None):
        self.run = run
        self.dir = paths.confined(root or paths.ASSETS_DIR, run)      # a valid name, inside assets/
        self._cache: dict[str, dict] = {}

    def exists(self) -> bool:
        return (self.dir / "manifest.json").exists()

    def _json(self, name):
        path = self.dir / name
        if not path.exists():
            raise AssetsError(f"no extracted data for run {self.run!r} ({path} missing); "
                              f"make it with: grokking extract --run {self.run}")
        try:
            value = json.loads(path.read_text())
        except (OSError, ValueError) as e:         # ValueError: bad JSON or bad UTF-8
            raise Corrupt(path, f"not readable JSON: {str(e).splitlines()[0][:80]}", self.run) from None
        if not isinstance(value, dict):
            raise Corrupt(path, f"a JSON {type(value).__name__}, not an object", self.run)
        return value

    @property
    def manifest(self) -> dict:
        return self._json("manifest.json")

    def verify(self) -> dict:
        """The manifest, after checking that it is extraction's and that every file it lists is
        there with its sha256 (so a flipped byte or an edited summary is caught, not drawn).
        Raises AssetsError (Corrupt when a file is damaged)."""
        m = self.manifest
        files = m.get("files")
        if m.get("format") != FORMAT or not isinstance(files, dict):
            raise Corrupt(self.dir / "manifest.json", f"not a {FORMAT} manifest", self.run)
        self.summary                         # summary.json parses
        for name, sha in files.items():
            path = self.dir / name
            try:
                st = path.stat()
            except FileNotFoundError:
                raise AssetsError(f"{path} is missing; rebuild it with: grokking extract --run {self.run} --force") from None
            key = (str(path.resolve()), st.st_size, st.st_mtime_ns, sha)
            if key not in _verified:
                if _sha256(path) != sha:
                    raise Corrupt(path, "its sha256 differs from manifest.json", self.run)
                _verified.add(key)
        return m

    @property
    def summary(self) -> dict:
        if "summary" not in self._cache:
            self._cache["summary"] = self._json("summary.json")
        return _Recorded(self._cache["summary"], ("summary",))

    def __getitem__(self, name: str) -> dict[str, np.ndarray]:
        if name not in self._cache:
            path = self.dir / f"{name}.npz"
            if not path.exists():
                raise AssetsError(f"{path} is missing; re-run: grokking extract --run {self.run}")
            try:
                with np.load(path, allow_pickle=False) as z:
                    self._cache[name] = {k: z[k] for k in z.files}    # reading checks each member's CRC
            except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
                raise Corrupt(path, f"{type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''}",
                              self.run) from None
        return _Recorded(self._cache[name], ("npz", f"{name}.npz"))

    def get(self, name: str, key: str):
        """An array, or None where extraction found nothing to store."""
        return self[name].get(key)

    @property
    def p(self) -> int:
        return int(self.summary["task"]["p"])

    @property
    def n(self) -> int:
        """The order of the group the answer adds in: the side of every surface and the modulus of
        every frequency (p; p − 1 for mul and div, over the discrete log)."""
        return self.additive.order(self.p)

    # ---- typed parts ---------------------------------------------------------------------------

    def selection(self, cls: type[Part]) -> Part:
        """summary.json's selection of that kind, found or not (`.found`, `.why_not()`)."""
        return cls.from_json(self.summary["selections"][cls.KEY])

    def found(self, cls: type[Part], what: str) -> Part:
        """The selection when extraction found it, else NotFound with extraction's reason."""
        sel = self.selection(cls)
        if not sel.found:
            raise NotFound(f"extraction found no {what} ({sel.why_not()})", reason=sel.why_not())
        return sel

    def selected(self, cls: type[Part], name: str) -> np.ndarray:
        """One of a selection's arrays (selections.npz), or NotFound with extraction's reason."""
        if name not in cls.ARRAYS:
            raise KeyError(f"{name} is not an array of {cls.__name__}")
        sel = self.selection(cls)
        if not sel.found:
            raise NotFound(f"run {self.run!r} has no {name} in selections.npz (none found: {sel.why_not()})",
                           reason=sel.why_not())
        return self["selections"][name]

    @property
    def story(self) -> Story:
        return Story.from_json(self.summary["story"])

    @property
    def probe(self) -> Probe:
        return Probe.from_json(self.summary["probe"])

    @property
    def story_check(self) -> StoryCheck:
        return StoryCheck.from_json(self.summary["story_check"])

    @property
    def replay(self) -> Replay:
        """What the replays show, measured per checkpoint (assets older than this part: not)."""
        d = self.summary.get(Replay.KEY)
        return Replay.from_json(d) if d else Replay(found=False, reason="extracted before replays were measured "
                                                                        "per checkpoint")

    @property
    def diagnostics(self) -> Diagnostics:
        """Whether curves' DIAGNOSTICS were measured (assets older than them: not found)."""
        d = self.summary.get(Diagnostics.KEY)
        return Diagnostics.from_json(d) if d else Diagnostics(found=False, reason="extracted before the "
                                                                             "diagnostics existed")

    @property
    def seed_choice(self) -> SeedChoice:
        """How the run's seed was chosen (assets older than this part: not recorded)."""
        d = self.summary.get(SeedChoice.KEY)
        return SeedChoice.from_json(d) if d else SeedChoice(found=False, reason="extracted before seed choices "
                                                                                "were recorded")

    @property
    def additive(self) -> Additive:
        """Whether the measures along x + y apply (assets older than this part: they did)."""
        d = self.summary.get(Additive.KEY)
        return Additive.from_json(d) if d else Additive(op=self.summary["task"].get("op"))
