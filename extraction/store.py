"""The assets format: what extraction writes and figures and scenes read (numpy and json only).

    assets/<run>/
      manifest.json   format "grokking-assets/1"; the source run and its fingerprint; the analysis
                      epoch; the extraction settings; a hash of the extraction code; versions;
                      one sha256 per file below
      summary.json    every headline number and every selection with its evidence (see summary.md)
      summary.md      the same, readable
      curves.npz      per checkpoint, C of them (ascending `epoch` [C]):
                        train_loss, test_loss, train_acc, test_acc          [C]
                        restricted_loss_train, restricted_loss_test        [C]
                        excluded_loss (train; all key frequencies removed)  [C]
                        excluded_loss_by_freq  [C, K] (one key frequency removed), key_freqs [K]
                        sum_sq_weights [C], sum_sq_by_matrix [C, M], matrix_names [M]
                        gini_W_E, gini_W_L [C]
                        attn_eq_to_x, attn_eq_to_y, attn_eq_to_eq [C, H] (mean attention from '=')
                      and per epoch (E+1 entries, from the run's metrics):
                        all_epoch, all_train_loss, all_test_loss, all_train_acc, all_test_acc
      fourier.npz     basis [p, p] (rows: const, cos 1, sin 1, cos 2, ...), basis_labels [p]
                      embed_norms [C, p]: Fourier norms of W_E (digits) per basis row, per checkpoint
                      W_L_norms [p], logit_norms_2d [p, p] (analysis checkpoint)
      neurons.npz     freq [d_mlp] (k of the best frequency), fve [d_mlp], fve_by_freq [d_mlp, n_freq+1]
                      (column k = fraction of variance in the {0, 2k-1, 2k}^2 block; column 0 unused)
      probes.npz      for f in (cos, sin): {f}_weights [d_model], {f}_bias [], {f}_dims [m],
                      {f}_target [p], {f}_out [C, p] (position 0, every checkpoint),
                      {f}_out_pos1 [C, p], {f}_r2 [C]; resid_pos0, resid_pos1 [p, d_model] (analysis)
      selections.npz  wave_neurons [7], wave_sweeps [7, p] (x = 0, y swept);
                      pair_neurons [2], pair_surfaces [2, p, p],
                      trig_coscos, trig_sinsin, trig_sum [p, p];
                      neuron_surfaces [n, p, p] for neuron_ids [n];
                      crest_surface [p, p], crest_direction [d_model], crest_points [n, 2];
                      logit_surface [p, p], logit_maxima [n, 2]; attn_eq_pattern [H, p, p]
                      (entries are absent when no mechanism was found; summary.json says why)
      evolution.npz   float16, every checkpoint: epoch [C], wave_sweeps [C, 7, p],
                      pair_surfaces [C, 2, p, p], crest_surface [C, p, p], logit_surface [C, p, p]
      activations.npz at the analysis checkpoint, last position, all p*p inputs (x-major),
                      TransformerLens names: attn.hook_pattern [p*p, H, 3], hook_resid_mid,
                      mlp.hook_pre, mlp.hook_post [p*p, d_mlp], hook_mlp_out, logits
      toy.npz         the p = 5 table of the intro: x, y, sum, is_test [25], vocab [6]

Surfaces are [p, p] with x the row index and y the column. No pickle: np.load(allow_pickle=False).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from training import paths

FORMAT = "grokking-assets/1"
ASSETS_DIR = Path(os.environ.get("GROKKING_ASSETS", "assets"))
FILES = ("curves", "fourier", "neurons", "probes", "selections", "evolution", "activations", "toy")
# the file names extraction writes in assets/<run>/ (and atomic_write_bytes' .<file>.tmp<pid>)
OWN_FILE = re.compile(rf"manifest\.json|summary\.json|summary\.md|({'|'.join(FILES)})\.npz|\.[^/]+\.tmp\d+")


def owned(folder: Path):
    """A test for remove_owned: every name is extraction's own, or the folder has its manifest."""
    try:
        ours = json.loads((Path(folder) / "manifest.json").read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        ours = False
    return lambda rel: ours or OWN_FILE.fullmatch(rel) is not None


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


class AssetsError(RuntimeError):
    """Assets missing or unreadable; the message says which command makes them."""


class Corrupt(AssetsError):
    """A file of assets/<run>/ that cannot be read or does not match its manifest: one line
    naming it, and the command that rebuilds it (`all` and `extract` rebuild it themselves)."""

    def __init__(self, path: Path, what: str, run: str):
        self.path, self.what = Path(path), what
        super().__init__(f"{path} is corrupt ({what}); rebuild it with: render.py extract --run {run} --force")

    @property
    def short(self) -> str:
        return f"{self.path.name} is corrupt ({self.what})"


# files whose sha256 matched the manifest, by (path, size, mtime): verified once per process
_verified: set[tuple] = set()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Assets:
    """Read side of assets/<run>/: `a.summary`, `a["curves"]["excluded_loss"]`, `a.get(...)`."""

    def __init__(self, run: str, root: Path | None = None):
        self.run = run
        self.dir = paths.confined(root or ASSETS_DIR, run)      # a valid name, inside assets/
        self._cache: dict[str, dict] = {}

    def exists(self) -> bool:
        return (self.dir / "manifest.json").exists()

    def _json(self, name):
        path = self.dir / name
        if not path.exists():
            raise AssetsError(f"no extracted data for run {self.run!r} ({path} missing); "
                              f"make it with: render.py extract --run {self.run}")
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
        files = m.get("files", {} if m.get("synthetic") else None)   # synthetic assets list no files
        if m.get("format") != FORMAT or not isinstance(files, dict):
            raise Corrupt(self.dir / "manifest.json", f"not a {FORMAT} manifest", self.run)
        self.summary                         # summary.json parses (synthetic assets list no hashes)
        for name, sha in files.items():
            path = self.dir / name
            try:
                st = path.stat()
            except FileNotFoundError:
                raise AssetsError(f"{path} is missing; rebuild it with: render.py extract --run {self.run} --force") from None
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
                raise AssetsError(f"{path} is missing; re-run: render.py extract --run {self.run}")
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
