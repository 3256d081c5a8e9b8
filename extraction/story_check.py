"""The story check (REFERENCE §8): is the story the scenes tell true of this run?

Each scene makes a claim; each claim is a measurable property of the run. Four criteria, each
with the run's number, its target, PASS or FAIL, the scenes that depend on it, what a FAIL means
for them and what to try. Pure functions: numbers in, a dict out (common/assets.py StoryCheck).
"""
from __future__ import annotations

from . import fourier as fo
from . import mechanism as mech

MIN_LOGIT_EV = 0.90       # Σ_k α_k cos(w_k(x+y−c)) explains >= 90 % of the logits' variance
MIN_ON_LINE = 0.95        # >= 95 % of the output's p largest logits on x + y ≡ output

TRY = ("try another seed (render.py train --seed N), or the default recipe (render.py train --preset video); "
       "README: 'The story check'")


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
    loss, REFERENCE §3-4) and their sum of cosines explains >= 90 % of the logit variance."""
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


def singled_out(on_line: float, output: int, rival_model: float | None = None) -> dict:
    """The key frequencies interfere constructively only on the answer: >= 95 % of the output's
    p largest logits lie on x + y ≡ output."""
    value = f"{on_line:.0%} of logit {output}'s top values on x + y ≡ {output}"
    if rival_model is not None:
        value += f"; the next diagonal crest reaches {rival_model:.0%} of its height"
    return {"name": "answer singled out", "passed": bool(on_line >= MIN_ON_LINE), "value": value,
            "target": f">= {MIN_ON_LINE:.0%} on the line",
            "scenes": ["LogitSurface", "TrigIdentity"],
            "meaning": f"the logit of {output} shows several equal diagonal ridges, not one on x + y ≡ {output}"}


def crest(c: dict) -> dict:
    """The crest unit qualifies under the documented rule (extraction/mechanism.py crest): no
    fallback counts as a pass."""
    if not c.get("found"):
        return {"name": "crest", "passed": False, "value": f"none found ({c.get('reason')})",
                "target": "a qualifying crest", "scenes": ["Crest"],
                "meaning": "the Crest scene is not drawn"}
    T = c.get("T")
    value = (f"{c.get('description')}: other crests at most {1 - c.get('prominence', 0):.0%} of the one on "
             f"x + y ≡ {T}, {c.get('rows_in_crest', 0):.0%} of rows peak within it")
    if not c.get("qualifies"):
        value += " (no candidate qualifies: the one shown is a fallback)"
    return {"name": "crest", "passed": bool(c.get("qualifies")), "value": value,
            "target": f"other crests <= {1 - mech.CREST_PROMINENCE:.0%}, >= {mech.CREST_MIN_ROWS:.0%} of rows "
                      "within it, no fallback",
            "scenes": ["Crest"], "meaning": f"the Crest scene does not show one unit firing on x + y ≡ {T}"}


def story_check(p: int, story_k: int | None, wave: dict, restricted_test: float | None,
                model_test: float | None, logit_ev: float, logit: dict, crest_sel: dict) -> dict:
    """Every criterion of REFERENCE §8 for one run (the StoryCheck part of summary.json)."""
    crit = [legible(story_k, wave.get("freqs") or [], wave.get("left_out") or [], p),
            algorithm(restricted_test, model_test, logit_ev),
            singled_out(logit["on_line_fraction"], logit["output"], logit.get("rival_model")),
            crest(crest_sel)]
    for c in crit:
        c["advice"] = None if c["passed"] else TRY
    return {"found": True, "passed": all(c["passed"] for c in crit), "criteria": crit}


def not_measured(p: int, reason: str) -> dict:
    """The check of a run whose op is not addition (mechanism.not_addition): not found, every
    criterion FAIL with the reason as its value (its target and scenes as always)."""
    crit = [legible(None, [], [], p), algorithm(None, None, 0.0), singled_out(0.0, 0), crest({"found": False})]
    for c in crit:
        c.update(value=f"not measured: {reason}", passed=False, meaning="they show the x + y mechanism: not drawn",
                 advice="the story is of (x + y) mod p: train an add run (render.py train --op add)")
    return {"found": False, "reason": reason, "passed": False, "criteria": crit}


def lines(check: dict) -> list[str]:
    """The check as printed at the end of `extract` and `all`: one line per criterion, and for
    each FAIL what it means for its scenes and what to try."""
    out = [f"story check: {'PASS' if check['passed'] else 'FAIL'}"]
    for c in check["criteria"]:
        out.append(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['name']}: {c['value']} (target: {c['target']})")
        if not c["passed"]:
            out.append(f"        means: {', '.join(c['scenes'])}: {c['meaning']}; {c['advice']}")
    return out
