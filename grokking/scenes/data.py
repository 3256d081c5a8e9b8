"""What scenes read: assets/<run>/ (common/assets.py is the format), never torch.

The run is one setting, the environment variable GROKKING_RUN (default: training.config's
DEFAULT_RUN); GROKKING_ASSETS names the folder that holds assets/<run>/ folders (default assets/).
`grokking scene --run R` sets them while it renders (`using`); with Manim's own command line,
set them yourself: `GROKKING_RUN=quick manim -qm scenes/waves.py NeuronWaves`. Scenes call
`load()` at construct time.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np

from grokking.common import assets as fmt
from grokking.common import paths
from grokking.common.assets import Assets, AssetsError, NotFound  # noqa: F401 (NotFound: the renderer's)
from grokking.extraction import fourier as fo
from grokking.extraction.coords import sub, sup
from grokking.training.config import DEFAULT_RUN

RUN_ENV = "GROKKING_RUN"
ASSETS_ENV = "GROKKING_ASSETS"

# The mechanism each scene draws: the selections it needs found. A scene whose selection
# extraction did not find (a run that never grokked) is not drawn; `absent` says why instead.
NEEDS: dict[str, tuple[type[fmt.Part], ...]] = {
    "NeuronWaves": (fmt.WaveNeurons,), "NeuronLoops": (fmt.WaveNeurons,), "FourierPeak": (fmt.WaveNeurons,),
    "NeuronSurface": (fmt.NeuronSurfaces,), "Crest": (fmt.Crest,), "TrigIdentity": (fmt.ProductPair,),
    "LogitSurface": (fmt.Logit,),
}
# The scenes that draw the mechanism of (x + y) mod p (waves, probes, the clock, surfaces, the
# trig identity, the replay): drawn in the coordinates where the run's answer adds (summary
# "additive", extraction/coords.py: x + y; log₃ x + log₃ y over Z_112 for mul at p = 113; x³ + y⁵
# for a pow), with axes named in the op's terms; not drawn from assets that did not measure them.
ALONG_SUM = ("NeuronWaves", "NeuronLoops", "FourierPeak", "EmbeddingProbe", "Clock", "NeuronSurface", "Crest",
             "TrigIdentity", "LogitSurface", "TrainingStory")
# The scenes that draw arrays over the pairs (x, y) (surfaces, a neuron's sweep over y at x = 0):
# for a run measured in other coordinates (op sub: y read as −y mod p; mul and div: the discrete
# log; pow: the powers; extraction/coords.py) they say so (coordinates_note). EmbeddingProbe and the
# Clock draw the embedding of a digit: not these (they say so only where their x axis is not x).
EMBEDDING = ("EmbeddingProbe", "Clock")
OVER_PAIRS = tuple(s for s in ALONG_SUM if s not in EMBEDDING)
# selections.npz member -> the selection it belongs to
_OWNER = {name: cls for cls in fmt.SELECTIONS.values() for name in cls.ARRAYS}


def current_run() -> str:
    return os.environ.get(RUN_ENV) or DEFAULT_RUN


def assets_root() -> Path | None:
    root = os.environ.get(ASSETS_ENV)
    return Path(root) if root else None


@contextmanager
def using(run: str, root: Path | str | None = None):
    """Scenes constructed inside the block draw assets/<run>/ (under `root`): sets the settings
    above, and restores them after."""
    global _EMBEDDED
    saved = {k: os.environ.get(k) for k in (RUN_ENV, ASSETS_ENV)}
    os.environ[RUN_ENV] = run
    if root is not None:
        os.environ[ASSETS_ENV] = str(root)
    _EMBEDDED += 1
    try:
        yield
    finally:
        _EMBEDDED -= 1
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def load(run: str | None = None) -> "SceneData":
    a = Assets(run or current_run(), assets_root())
    if not a.exists():
        raise AssetsError(f"no extracted data for run {a.run!r} ({a.dir} missing); {next_step(a.run)}")
    return SceneData(a)


def next_step(run: str) -> str:
    """What makes a run's assets: extraction when it has a history, else training first (a
    sweep's point: its sweep)."""
    from grokking.training.history import HistoryError, Run
    try:
        h = Run(run)
        if h.exists():
            return f"make it with: grokking extract --run {run}"
        why = h.missing()
    except (HistoryError, ValueError) as e:        # ConfigError is a ValueError
        return str(e)
    if "/" in run:
        return why
    return (f"it is not trained either: grokking all --run {run} trains, extracts and renders it "
            f"(grokking train --run {run} --preset quick, then grokking extract --run {run}, for a quick one)")


_EMBEDDED = 0        # > 0 while grokking renders (data.using): errors go to its own handling


def standalone() -> bool:
    """Whether a scene is being rendered by Manim's own command line (not by the grokking command)."""
    return _EMBEDDED == 0


def refuse(scene: str, why: str):
    """End Manim's own command line with one line on stderr saying what is wrong and what to do
    (instead of Manim's many-line traceback of the error inside the scene)."""
    import sys
    others = [a.run for a in _runs_with_assets()]
    hint = (f"; runs with assets here: {', '.join(others[:8])} (GROKKING_RUN=<run> manim ...)" if others else "")
    print(f"cannot render {scene}: {why}{hint}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def _runs_with_assets() -> list[Assets]:
    root = assets_root() or paths.ASSETS_DIR
    out = []
    for d in sorted(Path(root).iterdir()) if Path(root).is_dir() else ():
        try:
            a = Assets(d.name, assets_root())
        except (ValueError, AssetsError):
            continue
        if a.exists() and a.run != current_run():
            out.append(a)
    return out


def check(run: str | None = None) -> None:
    """Fail early (AssetsError) when the run's assets are missing or corrupt."""
    load(run).a.verify()


def absent(scene: str, run: str | None = None) -> str | None:
    """Why `scene` cannot be drawn from this run (a selection it needs was not found; a pow run
    whose power collides has no grid in (x^a, y^b): no surface or sweep over them; its Clock and
    EmbeddingProbe are drawn over the tokens x where its probes are the waves of x^a at each
    token, SceneData.probe_power), or None."""
    d = load(run)
    add = d.a.additive
    if scene in ALONG_SUM and not add.found:
        return f"run {d.run!r}: {add.why_not()}"
    if scene in ALONG_SUM and add.grid is False:
        # no axis in the coordinates the answer adds in: no surface or sweep over x^a; the embedding
        # of each token x is still drawn where its probes are the waves of x^a (EMBEDDING)
        if scene in EMBEDDING and d.probe_power is not None:
            return None
        why = (f"run {d.run!r} has no ({add.x_label}, {add.y_label}) grid "
               f"({_collisions(d) or add.coordinates or 'a power is not one-to-one'}): it measures only the key "
               "frequencies, the losses, the logit approximation, the neurons' frequencies and the probes of "
               "the embedding, ")
        if scene in EMBEDDING:
            return why + (f"and its probes are not waves in {short(add.x_label)} at each token x (assets made "
                          f"before extraction fitted them so): re-extract it (grokking extract --run {d.run})")
        return why + "none of which this scene draws"
    for cls in NEEDS.get(scene, ()):
        sel = d.a.selection(cls)
        if not sel.found:
            return f"run {d.run!r} has no {cls.KEY.replace('_', ' ')}: none found ({sel.why_not()})"
    return None


def y_axis(run: str | None = None) -> str:
    """What the y axis of the run's surfaces is (summary "additive", extraction/coords.py): "y",
    or for op sub "−y mod p" (x − y = x + (−y mod p): the surfaces are drawn over (x, −y mod p),
    where the answer's line is x + y again). "y" when no assets can be read."""
    try:
        return load(run).a.additive.y_label
    except (AssetsError, ValueError, KeyError):
        return "y"


def _collisions(d: "SceneData") -> str:
    """"x ↦ x² is 2-to-1 mod 53 (gcd(2, 52) = 2)" for each power of a pow task that collides."""
    from math import gcd
    task, p = d.summary.get("task", {}), d.p
    out = []
    for v, key in (("x", "a"), ("y", "b")):
        e = int(task.get(key, 1))
        if task.get("op") == "pow" and gcd(e, p - 1) > 1:
            out.append(f"{v} ↦ {v}{sup(e)} is {gcd(e, p - 1)}-to-1 mod {p} (gcd({e}, {p - 1}) = {gcd(e, p - 1)})")
    return "; ".join(out)


def axis_names(run: str | None = None) -> tuple[str, str]:
    """The names of the surfaces' axes, short (a trailing " mod p" left to the coordinates note):
    ("x", "y"); ("x", "−y") for sub; ("log₃ x", "log₃ y") for mul; ("log₃ x", "−log₃ y") for div;
    ("x³", "y⁵") for pow. ("x", "y") when no assets can be read."""
    try:
        add = load(run).a.additive
    except (AssetsError, ValueError, KeyError):
        return "x", "y"
    return short(add.x_label), short(add.y_label)


def short(name: str) -> str:
    """An axis name without its trailing modulus: "−y mod p" -> "−y", "−log₃ y mod 112" -> "−log₃ y"."""
    head, sep, tail = name.rpartition(" mod ")
    return head if sep and tail.strip() and " " not in tail.strip() else name


def coordinates_note(run: str | None = None, scene: str | None = None) -> str | None:
    """The line a scene drawing the mechanism along the sum shows for a run whose axes are not x
    and y themselves (op sub: "y read as −y mod p: x − y = x + (−y mod p)", so the x + y it draws is
    x − y; mul and div: the discrete log; pow: the powers); None when they are x and y. A scene of
    the embedding of a digit (`scene` EmbeddingProbe or Clock) has one only when its x axis is not
    x (mul, div and a pow with a grid: the embedding drawn in the x axis' element order)."""
    try:
        add = load(run).a.additive
    except (AssetsError, ValueError, KeyError):
        return None
    if not add.found or not add.relabelled:
        return None
    if add.op in ("mul", "div") and add.generator:
        g, n = add.generator, add.order(0)
        zero = "x = 0, y = 0" if add.op == "mul" else "x = 0"
        return (f"axes: the discrete log base {g}; {add.sum_label} ≡ log{sub(g)}(answer) mod {n}; "
                f"{zero} apart")
    if scene in ("EmbeddingProbe", "Clock"):
        if add.x_label == "x" or add.grid is False:
            return None
        return f"x axis {add.x_label}: the embedding of the x with that {add.x_label}, in its order"
    if add.op == "pow":
        return (f"axes {add.x_label} and {add.y_label} (each one-to-one mod p): the answer is "
                f"({add.sum_label}) mod p")
    return f"y read as {add.y_label}: {add.sum_label} = x + ({add.y_label})"


def wave_text(fn: str, k: int, n: int, var: str = "x") -> str:
    """'cos(8πx/113)'; a variable of more than one word in brackets: 'cos(13π(log₃ x)/56)'."""
    if " " in var and not var.startswith("("):
        var = f"({var})"
    return fo.wave_label(fn, k, n, var)


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
        """The task's modulus (the intro scenes' and the task's name)."""
        return self.a.p

    @property
    def n(self) -> int:
        """The order of the group the answer adds in: the side of every surface, the length of every
        sweep and probe, the modulus of every frequency (p; p − 1 for mul and div)."""
        return self.a.n

    # ---- the axes in the op's terms (summary "additive", extraction/coords.py) ------------------

    @property
    def additive(self) -> fmt.Additive:
        return self.a.additive

    @property
    def relabelled(self) -> bool:
        """Whether the axes are not x and y themselves (sub, mul, div, pow)."""
        return self.additive.relabelled

    @property
    def x_name(self) -> str:
        """The surfaces' rows: "x"; "log₃ x" (mul, div); "x³" (pow)."""
        return short(self.additive.x_label)

    @property
    def y_name(self) -> str:
        """The surfaces' columns: "y"; "−y" (sub); "log₃ y" (mul); "−log₃ y" (div); "y⁵" (pow)."""
        return short(self.additive.y_label)

    @property
    def sum_name(self) -> str:
        """The sum the answer is, in the op's terms: "x + y"; "log₃ x + log₃ y"; "x³ + y⁵"."""
        return self.additive.sum_label

    @property
    def axes_sum(self) -> str:
        """The sum of the two axes' values, for an equation over the grid's unreduced sums ("x + y =
        178"): the sum itself where the axes are its terms ("x + y", "log₃ x + log₃ y", "x³ + y⁵"),
        else the axes written out: "x + (−y)" (sub), "log₃ x + (−log₃ y)" (div)."""
        x, y = self.x_name, self.y_name
        return f"{x} + ({y})" if y.startswith("−") else f"{x} + {y}"

    @property
    def diff_name(self) -> str:
        """The difference of the two axes, in the op's terms: "x − y"; "log₃ x − log₃ y"; a y axis
        read negated adds: "x + y" (sub), "log₃ x + log₃ y" (div)."""
        x, y = self.x_name, self.y_name
        return f"{x} + {y[1:]}" if y.startswith("−") else f"{x} − {y}"

    def embed_name(self, pos: int = 0) -> str:
        """What the probes' and the clock's axis is: the embedding of the digit at position `pos`
        in the x axis' element order (probes.npz: row m is the token additive.digits[m]): "x" ("y"
        at position 1); "log₃ x" for mul and div; "x³" for a pow with a grid; "x" for a pow
        without one (its digits are the tokens as they are)."""
        name = "x" if self.additive.grid is False else self.x_name.lstrip("−")
        return name if pos == 0 else name.replace("x", "y")

    @cached_property
    def probe_power(self) -> np.ndarray | None:
        """[p]: x^a mod p of each token x, for a pow run without a grid whose probes extraction fitted
        to the waves of x^a at each token x (probes.npz cos_target = cos(2πk·x^a/p)); the Clock and
        EmbeddingProbe draw each token at its x^a. None for every other run (its probes are waves in
        the embedding's own axis, embed_name) and for assets whose targets are waves in x itself."""
        add, task = self.additive, self.summary.get("task", {})
        if add.grid is not False or add.op != "pow":
            return None
        from grokking.extraction.coords import power_map
        xa = power_map(int(task.get("a") or 1), self.p)
        target = np.asarray(self["probes"]["cos_target"], float)
        k = self.a.probe.k
        if k is None or target.shape != xa.shape:
            return None
        return xa if np.allclose(target, np.cos(2 * np.pi * int(k) * xa / self.p), atol=1e-6) else None

    def probe_axis(self) -> np.ndarray:
        """[n]: where each row of the probes (each token of the x axis) sits along a probe's axis: its
        element m (0 … n − 1 in the axis' order), or for a pow without a grid its x^a (probe_power)."""
        return np.arange(self.n) if self.probe_power is None else self.probe_power

    def probe_var(self, pos: int = 0) -> str:
        """The variable the probes' waves are in: embed_name ("x", "log₃ x", "x³"; "y" … at position
        1); "x²" ("y²") for a pow without a grid (the same power of the token at either position:
        the probe reads the table both positions share)."""
        if self.probe_power is None:
            return self.embed_name(pos)
        name = short(self.additive.x_label)
        return name if pos == 0 else name.replace("x", "y")

    def collisions(self) -> dict:
        """For a pow without a grid (probe_power): how the tokens x share the clock's points.
        `power` "x²"; `fold` gcd(a, p − 1), the tokens per value of x^a (x and −x for 2);
        `points` the number of values x^a takes; `first` [p] the smallest token with each token's
        x^a; `share` the measured collision share of x^a (summary additive.collision_share: the
        embedding's variance over x ≠ 0 that is a function of x^a; None when not measured);
        `phrase` "x and −x (x² equal)" (None when one-to-one)."""
        from math import gcd
        xa, p = self.probe_power, self.p
        power = short(self.additive.x_label)
        fold = gcd(int(self.summary.get("task", {}).get("a") or 1), p - 1)
        first = np.zeros(p, int)
        seen: dict[int, int] = {}
        for x in range(p):
            first[x] = seen.setdefault(int(xa[x]), x)
        share = (self.additive.collision_share or {}).get(power)
        phrase = (None if fold == 1 else f"x and −x ({power} equal)" if fold == 2
                  else f"the {fold} tokens x with one {power}")
        return {"power": power, "fold": fold, "points": len(seen), "first": first,
                "share": None if share is None else float(share), "phrase": phrase}

    def digit(self, m: int) -> int:
        """The token at the x axis' element m (the embedding row the probes read)."""
        dg = self.additive.digits
        return int(dg[m]) if dg else int(m)

    @cached_property
    def _y_tokens(self) -> np.ndarray:
        """[n]: the token y of each column of the surfaces (the task's own map, extraction/coords.py;
        the identity for add and assets that record no coordinates)."""
        add, task = self.additive, self.summary.get("task", {})
        if not add.found or not add.relabelled or add.grid is False:
            return np.arange(self.n)
        from grokking.extraction.coords import coordinates
        co = coordinates(add.op or task.get("op", "add"), self.p, int(task.get("a", 1)), int(task.get("b", 1)))
        return co.order[:co.n] % self.p          # row u = 0: the pairs (digits[0], y_v)

    def y_token(self, v: int) -> int:
        """The token y at the y axis' element v (5 for add; 3^v mod p for mul)."""
        return int(self._y_tokens[v])

    def at_x(self, m: int) -> str:
        """"x = 0"; "log₃ x = 0 (x = 1)" where the element is not the token."""
        name = self.embed_name(0)
        tok = self.digit(m)
        return f"{name} = {m}" + (f" (x = {tok})" if name != "x" else "")

    def answer(self, element: int) -> int:
        """The answer token of a group element (a selection's T, the logit's output)."""
        return self.additive.token(int(element))

    def on_line(self, T: int, mod: bool = False) -> str:
        """"x + y ≡ 7"; "log₃ x + log₃ y ≡ 105 (answer 65)" where the element is not the token;
        with `mod` the modulus too: "x + y ≡ 7  (mod 113)", "log₃ x + log₃ y ≡ 105  (mod 112;
        answer 65)"."""
        tok = self.answer(T)
        text = f"{self.sum_name} ≡ {T}"
        if mod:
            return text + f"  (mod {self.n}" + (f"; answer {tok})" if tok != T else ")")
        return text + (f" (answer {tok})" if tok != T else "")

    def output_name(self, element: int) -> str:
        """The answer a logit or a vote is for: the token ("7"), with its element where they differ
        ("7 (log₃ 7 = 8)" for mul)."""
        tok = self.answer(element)
        if tok == element:
            return str(tok)
        g = self.additive.generator
        return f"{tok} (log{sub(g)} {tok} = {element})" if g else f"{tok} (element {element})"

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
        frequency (extraction: the lowest key frequency unless --story-k names another), else,
        with no key frequency, the probe's."""
        story = self.a.story
        return int(story.k if story.found else self.a.probe.k)

    def w(self, k: int | None = None) -> float:
        """w = 2πk/n (k: the story frequency unless given)."""
        return 2 * np.pi * (k or self.key_k) / self.n

    def freq_label(self, k: int | None = None) -> str:
        return fo.freq_label(k or self.key_k, self.n)

    def wave_label(self, fn: str, k: int | None = None, var: str | None = None) -> str:
        """'cos(8πx/113)'; over the probes' variable (probe_var: the embedding's axis; x² for a pow
        without a grid) unless `var` names another: 'cos(13π(log₃ x)/56)' for mul."""
        return wave_text(fn, k or self.key_k, self.n, var or self.probe_var(0))

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

    def sel(self, cls: type[fmt.Part]) -> fmt.Part:
        """summary.json's selection of that kind (common/assets.py), found or not."""
        return self.a.selection(cls)

    def selection(self, key: str) -> np.ndarray:
        """A selections.npz array of a selection extraction found, else NotFound with its reason."""
        return np.asarray(self.a.selected(_OWNER[key], key), float)

    @cached_property
    def wave_neurons(self) -> list[int]:
        return [int(n) for n in self.selection("wave_neurons")]

    @cached_property
    def wave_sweeps(self) -> np.ndarray:
        return self.selection("wave_sweeps")

    @cached_property
    def wave_fits(self) -> list[dict]:
        """Each wave neuron's cosine as extraction fitted it (fourier.dominant_frequency: its
        sweep ≈ mean + amp·cos(2πk·y/p + phase), k its frequency); the constant is the sweep's
        mean, the DFT's k = 0 term; r2 the fraction of the sweep's variance the cosine explains."""
        ev = self.sel(fmt.WaveNeurons).evidence
        return [{"k": int(k), "amp": float(a), "phase": float(ph), "mean": float(s.mean()), "r2": float(r2)}
                for k, a, ph, r2, s in zip(self.sel(fmt.WaveNeurons).freqs, ev["amp"], ev["phase"], ev["fve"],
                                           self.wave_sweeps)]

    @property
    def wave_fit_threshold(self) -> float:
        """The R² from which a fitted cosine is drawn as the neuron's wave (extraction's)."""
        return float(self.sel(fmt.WaveNeurons).evidence.get("fit_threshold", 0.0))

    @property
    def waves_left_out(self) -> list[dict]:
        """Key frequencies the wave scenes leave out (illegible or harmonics), with the reason."""
        return list(self.sel(fmt.WaveNeurons).evidence.get("left_out") or [])

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
        r2 = getattr(self.a.probe, fn)["r2"]
        return {"dims": dims, "weights": [float(wts[d]) for d in dims], "bias": bias,
                "sweeps": resid[:, dims].T if dims else np.zeros((0, resid.shape[0])),
                "out": out, "target": np.asarray(pr[f"{fn}_target"], float), "r2": r2,
                "d_model": resid.shape[1]}

    # ---- the trig identity (part 2) ------------------------------------------------------------

    def trig_identity(self) -> dict:
        """The product pair's unit product terms cos(wx)cos(wy) and sin(wx)sin(wy) and the weights
        the next layer gives them: `weights`, each term's measured vote for T (its product
        coefficient × its neuron's W_out row · the direction that votes for T; summary
        selections.product_pair.votes) and `measured` True; when the assets predate the votes,
        the identity's (1, −1) and `measured` False (re-extract). `sum`: weights[0]·coscos +
        weights[1]·sinsin; `sum_share`: extraction's share of it on the wave in x + y (None when
        not measured). `identity`: the assets' trig_sum, coscos − sinsin = cos(w(x + y)).
        `qualifies` False (with `fallback`, extraction's reason) when the pair is a fallback."""
        pp = self.a.found(fmt.ProductPair, "product pair")
        cc, ss = self.selection("trig_coscos"), self.selection("trig_sinsin")
        measured = bool(pp.votes) and len(pp.votes) == 2
        weights = (float(pp.votes[0]), float(pp.votes[1])) if measured else (1.0, -1.0)
        return {"coscos": cc, "sinsin": ss, "weights": weights, "measured": measured,
                "sum": weights[0] * cc + weights[1] * ss, "identity": self.selection("trig_sum"),
                "sum_share": float(pp.sum_share) if measured and pp.sum_share is not None else None,
                "qualifies": pp.qualifies is not False, "fallback": pp.fallback,
                "k": int(pp.k), "formulas": pp.formulas}
