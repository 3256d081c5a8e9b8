"""The story check (docs/science.md §8): is the story the scenes tell true of this run?

Each scene makes a claim; each claim is a measurable property of the run. Seven criteria
(common/assets.py StoryCheck.ROWS): four of the final model, three of training in time (delay,
steady, replay), each with the run's number, its target, PASS or FAIL, the scenes that depend on
it, what a FAIL means for them and what to try. Pure functions: numbers in, a dict out.
"""
from __future__ import annotations

import numpy as np

from grokking.common.assets import StoryCheck
from grokking.training.history import first_index

from . import fourier as fo
from . import mechanism as mech
from . import replay as rp

MIN_LOGIT_EV = 0.90       # Σ_k α_k cos(w_k(x+y−c)) explains >= 90 % of the logits' variance
MIN_ON_LINE = 0.95        # >= 95 % of the output's p largest logits on x + y ≡ output
# the story in time (docs/science.md §8): "it groks" after more than a decade of plateau, and stays grokked
FIT_ACC = 0.99            # the training data is fitted at the first epoch of >= 99 % train accuracy
GROK_ACC = 0.99           # grokked: the first epoch of >= 99 % test accuracy
MIN_DELAY = 20            # ... at >= 20x the epoch of fitting
EARLY_FACTOR = 5          # and at 5x that epoch the test accuracy is still
EARLY_MAX_TEST = 0.50     # below 50 %
STEADY_TRAIN = 0.99       # after grokking, every measured epoch keeps train accuracy >= 99 %
STEADY_TEST = 0.95        # and test accuracy >= 95 %

TRY = ("try another seed (grokking train --seed N), or the default recipe (grokking train --preset video); "
       "docs/story-check.md")


def legible(story_k: int | None, wave_freqs: list[int], left_out: list[dict], p: int) -> dict:
    """The story frequency draws as a smooth wave (>= 11 samples per period: k <= 10 at p = 113)
    and so does every wave neuron shown (>= 8: k <= 14); key frequencies left out are named."""
    spp = mech.samples_per_period(story_k, p) if story_k else 0.0
    worst = min((mech.samples_per_period(k, p) for k in wave_freqs), default=None)
    ok = bool(story_k) and spp >= mech.STORY_MIN_SAMPLES and (worst is None or worst >= mech.WAVE_MIN_SAMPLES)
    value = (f"story k={story_k} ({fo.freq_label(story_k, p)}, {spp:.1f} samples per period)" if story_k
             else "no story frequency")
    if wave_freqs:
        value += f"; wave neurons k={', '.join(str(k) for k in dict.fromkeys(wave_freqs))}"
    if left_out:
        value += "; left out of the wave scenes: " + ", ".join(f"k={e['k']} ({e['why']})" for e in left_out)
    return {"name": "legible", "passed": ok, "value": value,
            "target": f"story frequency >= {mech.STORY_MIN_SAMPLES} samples per period, every wave neuron shown "
                      f">= {mech.WAVE_MIN_SAMPLES}",
            "scenes": ["NeuronWaves", "NeuronLoops", "FourierPeak", "EmbeddingProbe", "Clock", "TrigIdentity"],
            "meaning": "the waves, probe and clock draw as scattered dots rather than smooth waves"}


def algorithm(restricted_test: float | None, model_test: float | None, logit_ev: float) -> dict:
    """The key frequencies alone do better than the model (restricted test loss below its test
    loss, docs/science.md §3-4) and their sum of cosines explains >= 90 % of the logit variance."""
    below = restricted_test is not None and model_test is not None and restricted_test < model_test
    ok = bool(below) and logit_ev >= MIN_LOGIT_EV
    rl = "n/a" if restricted_test is None else f"{restricted_test:.3g}"
    ml = "n/a" if model_test is None else f"{model_test:.3g}"
    return {"name": "algorithm", "passed": ok,
            "value": f"restricted test loss {rl} vs the model's {ml}; logit approximation explains {logit_ev:.1%}",
            "target": f"restricted < model's test loss, explained >= {MIN_LOGIT_EV:.0%}",
            "restricted_test_loss": restricted_test, "model_test_loss": model_test, "explained_variance": logit_ev,
            "scenes": ["LogitSurface", "ProgressMeasures (figure)", "restricted loss curves"],
            "meaning": "the logits are not (mostly) the key frequencies' sum of cosines: the trig-identity story "
                       "is not how this run computes its answer, or its clean-up is unfinished"}


def element_name(outputs: list | None = None):
    """How the check names a group element: itself, or for ops whose elements are not the answers
    (mul and div, extraction/coords.py `outputs`) "14 (answer 7)"."""
    if not outputs or all(int(t) == i for i, t in enumerate(outputs)):
        return str
    return lambda m: f"{m} (answer {outputs[m]})"


def singled_out(on_line: float, output: int, rival_model: float | None = None, line: str = "x + y",
                named=str) -> dict:
    """The key frequencies interfere constructively only on the answer: >= 95 % of the output's
    p largest logits lie on x + y ≡ output (`line`: the sum in the op's terms, extraction/coords.py:
    "x − y" for sub; `named`: element_name's)."""
    value = f"{on_line:.0%} of logit {named(output)}'s top values on {line} ≡ {output}"
    if rival_model is not None:
        value += f"; the next diagonal crest reaches {rival_model:.0%} of its height"
    return {"name": "answer singled out", "passed": bool(on_line >= MIN_ON_LINE), "value": value,
            "target": f">= {MIN_ON_LINE:.0%} on the line",
            "scenes": ["LogitSurface", "TrigIdentity"],
            "meaning": f"the logit of {output} shows several equal diagonal ridges, not one on {line} ≡ {output}"}


def crest(c: dict, line: str = "x + y", named=str) -> dict:
    """The crest unit qualifies under the documented rule (extraction/mechanism.py crest): no
    fallback counts as a pass."""
    if not c.get("found"):
        return {"name": "crest", "passed": False, "value": f"none found ({c.get('reason')})",
                "target": "a qualifying crest", "scenes": ["Crest"],
                "meaning": "the Crest scene is not drawn"}
    T = c.get("T")
    value = (f"{c.get('description')}: other crests at most {1 - c.get('prominence', 0):.0%} of the one on "
             f"{line} ≡ {named(T)}, {c.get('rows_in_crest', 0):.0%} of rows peak within it")
    if not c.get("qualifies"):
        value += " (no candidate qualifies: the one shown is a fallback)"
    return {"name": "crest", "passed": bool(c.get("qualifies")), "value": value,
            "target": f"other crests <= {1 - mech.CREST_PROMINENCE:.0%}, >= {mech.CREST_MIN_ROWS:.0%} of rows "
                      "within it, no fallback",
            "scenes": ["Crest"], "meaning": f"the Crest scene does not show one unit firing on {line} ≡ {T}"}


TIME_SCENES = ["GrokkingCurve", "TrainingStory", "ExcludedLoss", "NeuronLoops (rewind)"]


def delay(train_acc, test_acc) -> dict:
    """It groks after a plateau of more than a decade: test accuracy reaches GROK_ACC at >= MIN_DELAY
    times the epoch train accuracy reaches FIT_ACC, and is below EARLY_MAX_TEST at EARLY_FACTOR times
    it. Per-epoch accuracies (entry e after e steps), the test's gaps filled with its latest
    measurement (training.history.filled); NaN past the epochs trained."""
    tr, te = np.asarray(train_acc, float), np.asarray(test_acc, float)
    fit, grok = first_index(tr >= FIT_ACC), first_index(te >= GROK_ACC)
    early = None if fit is None else EARLY_FACTOR * max(fit, 1)
    at_early = float(te[early]) if early is not None and early < te.size and np.isfinite(te[early]) else None
    ratio = grok / max(fit, 1) if fit is not None and grok is not None else None
    ok = ratio is not None and ratio >= MIN_DELAY and at_early is not None and at_early < EARLY_MAX_TEST
    if fit is None:
        value = f"train accuracy never reached {FIT_ACC:.0%}"
    else:
        value = (f"train {FIT_ACC:.0%} at epoch {fit:,}, test {GROK_ACC:.0%} at "
                 + (f"epoch {grok:,} ({ratio:.1f}x)" if grok is not None else "no epoch (never grokked)")
                 + f"; test accuracy at {EARLY_FACTOR}x ({early:,}): "
                 + (f"{at_early:.0%}" if at_early is not None else "not trained that far"))
    return {"name": "delay", "passed": bool(ok), "value": value,
            "target": f"test >= {GROK_ACC:.0%} at >= {MIN_DELAY}x the epoch of train >= {FIT_ACC:.0%}, "
                      f"test < {EARLY_MAX_TEST:.0%} at {EARLY_FACTOR}x it",
            "fit_epoch": fit, "grok_epoch": grok, "ratio": ratio, "early_epoch": early, "test_at_early": at_early,
            "scenes": TIME_SCENES[:3],
            "meaning": "the plateau between memorising and generalising spans less than a decade of the log "
                       "axis: 'it groks' after a long delay is not what this run did"}


def steady(train_acc, test_acc, test_measured) -> dict:
    """Once grokked it stays grokked: at every measured epoch from the grokking epoch on, train
    accuracy >= STEADY_TRAIN and test accuracy >= STEADY_TEST. `test_measured`: the epochs whose
    test accuracy was measured (the raw history's finite entries); train is measured every epoch."""
    tr, te = np.asarray(train_acc, float), np.asarray(test_acc, float)
    grok = first_index(te >= GROK_ACC)
    target = f"after grokking, train >= {STEADY_TRAIN:.0%} and test >= {STEADY_TEST:.0%} at every measured epoch"
    row = {"name": "steady", "target": target, "scenes": TIME_SCENES[:3],
           "meaning": "the model un-groks after grokking: the curves show a collapse the story does not tell"}
    if grok is None:
        return {**row, "passed": False, "value": f"never grokked (test accuracy never reached {GROK_ACC:.0%})",
                "grok_epoch": None, "worst_train": None, "worst_test": None}
    after = np.arange(te.size) >= grok
    tr_at = np.flatnonzero(after & np.isfinite(tr))
    te_at = np.flatnonzero(after & np.asarray(test_measured, bool)[:te.size] & np.isfinite(te))
    wt = int(tr_at[np.argmin(tr[tr_at])]) if tr_at.size else None
    ws = int(te_at[np.argmin(te[te_at])]) if te_at.size else None
    ok = (wt is None or tr[wt] >= STEADY_TRAIN) and (ws is None or te[ws] >= STEADY_TEST)
    value = (f"after grokking at epoch {grok:,}: lowest train accuracy "
             + (f"{tr[wt]:.0%} (epoch {wt:,})" if wt is not None else "not measured")
             + ", lowest test accuracy " + (f"{te[ws]:.0%} (epoch {ws:,})" if ws is not None else "not measured"))
    return {**row, "passed": bool(ok), "value": value, "grok_epoch": grok,
            "worst_train": None if wt is None else {"epoch": wt, "acc": float(tr[wt])},
            "worst_test": None if ws is None else {"epoch": ws, "acc": float(te[ws])}}


def replay(claims: list[dict], per_checkpoint: bool = True) -> dict:
    """The replays tell what was true at each epoch: their numbers are measured at their epoch
    (`per_checkpoint`: the probe refitted, the sweeps and surfaces measured, at every checkpoint)
    and every claim a replay caption makes (extraction/replay.py CLAIMS) holds by its number, which
    is compared with its threshold here (a claim's own `holds` is not trusted)."""
    row = {"name": "replay",
           "target": "every replay number measured at its epoch; every caption's claim holds by its number "
                     "(thresholds: " + "; ".join(f"{n} {op.replace('>=', '≥')} {t:g}" for n, (*_, op, t, _)
                                                 in rp.CLAIMS.items()) + ")",
           "scenes": ["TrainingStory", "NeuronLoops", "the explorer"], "claims": claims}
    wrong = []
    for c in claims:
        v = c.get("value")
        holds = v is not None and bool(rp.OPS[c["op"]](v, c["threshold"]))
        if not holds:
            at = f"epoch {c['epoch']:,}" if c.get("epoch") is not None else "no such epoch"
            wrong.append(f"{c['scene']} at {at} ({c['when']}) says '{c['name']}' but {c['what']}: "
                         + rp.number(c))
    if not per_checkpoint:
        wrong.insert(0, "the replay's numbers are not measured per checkpoint (a probe fitted at the end, held fixed)")
    value = ("; ".join(wrong) if wrong else
             "; ".join(f"{c['name']} at epoch {c['epoch']:,} ({rp.number(c)})" for c in claims))
    return {**row, "passed": not wrong, "value": value,
            "meaning": "a replay caption claims what its own number denies: the scene shows the number instead, "
                       "and the video's story (no waves at memorising, the mechanism forming before the test "
                       "accuracy rises) is not what this run did"}


def in_time(train_acc, test_acc, test_measured, claims: list[dict] | None, per_checkpoint: bool = True) -> list[dict]:
    """The three rows of the story in time, from the per-epoch history (filled test accuracy,
    `test_measured` the raw history's finite test entries) and the replay claims."""
    return [delay(train_acc, test_acc), steady(train_acc, test_acc, test_measured),
            replay(claims or [], per_checkpoint)]


def story_check(p: int, story_k: int | None, wave: dict, restricted_test: float | None,
                model_test: float | None, logit_ev: float, logit: dict, crest_sel: dict,
                time_rows: list[dict] | None = None, line: str = "x + y", coords: str | None = None,
                outputs: list | None = None, answer_pairs: dict | None = None) -> dict:
    """Every criterion of docs/science.md §8 for one run (the StoryCheck part of summary.json);
    `time_rows`: in_time()'s (None: not measured, each FAIL with that reason). `line`, `coords`:
    the op's coordinates (extraction/coords.py), the sum in its terms ("x − y" for sub) and the
    sentence saying what they are (None: x and y as they are), which the check records and prints;
    `p`: the group's order (the modulus of its frequencies); `outputs`: each element's answer token;
    `answer_pairs`: a pow without a grid, its answer singled out over the pairs (extract.answer_on_line),
    which the row reads where there is no logit surface."""
    named = element_name(outputs)
    if logit.get("found", True):
        answer = singled_out(logit["on_line_fraction"], logit["output"], logit.get("rival_model"), line, named)
    elif answer_pairs:
        answer = singled_out(answer_pairs["on_line_fraction"], answer_pairs["output"], None, line, named)
        answer["value"] += f" (over the pairs: no grid; {answer_pairs['pairs_on_line']} pairs on the line)"
    else:
        answer = {**singled_out(0.0, 0, None, line), "value": f"none found ({logit.get('reason')})",
                  "meaning": "the LogitSurface scene is not drawn"}
    crit = [legible(story_k, wave.get("freqs") or [], wave.get("left_out") or [], p),
            algorithm(restricted_test, model_test, logit_ev), answer, crest(crest_sel, line, named)] + (time_rows or _unmeasured_time("no training history given"))
    for c in crit:
        c["advice"] = None if c["passed"] else TRY
    return {"found": True, "passed": all(c["passed"] for c in crit), "criteria": crit,
            **({"coordinates": coords} if coords else {})}


def _unmeasured_time(reason: str) -> list[dict]:
    rows = in_time([], [], [], [])
    for c in rows:
        c.update(passed=False, value=f"not measured: {reason}")
    return rows


def lines(check: dict) -> list[str]:
    """The check as printed at the end of `extract` and `all`: one line per criterion (the final
    model's, then those in time), and for each FAIL what it means for its scenes and what to try."""
    out = [f"story check: {'PASS' if check['passed'] else 'FAIL'}"]
    if check.get("coordinates"):
        out.append(f"  measured in the op's coordinates: {check['coordinates']}")
    for c in check["criteria"]:
        if c["name"] == StoryCheck.TIME_ROWS[0]:
            out.append("  in time:")
        out.append(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['name']}: {c['value']} (target: {c['target']})")
        if not c["passed"]:
            out.append(f"        means: {', '.join(c['scenes'])}: {c['meaning']}; {c['advice']}")
    return out
