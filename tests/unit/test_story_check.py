"""The story check (docs/science.md §8) on planted logits at p = 113: a model leaning on one frequency
fails it, one whose answer three frequencies single out passes it."""
import numpy as np
import pytest
import torch

from grokking.extraction import fourier as fo
from grokking.extraction import mechanism as mech
from grokking.extraction import story_check as sc
from grokking.extraction.extract import progress_losses

P = 113
OUT = 7


def _planted(ks, alphas, bump: float, noise: float, seed: int = 0) -> np.ndarray:
    """Digit logits [p*p, p]: Σ α_k cos(w_k(x + y − c)), plus `bump` on the right answer (what a
    memorising model adds, on no key frequency) and Gaussian noise."""
    x, y = np.divmod(np.arange(P * P), P)
    c = np.arange(P)
    s = (x + y)[:, None] - c[None, :]
    L = sum(a * np.cos(2 * np.pi * k * s / P) for k, a in zip(ks, alphas))
    L = L + bump * (((x + y) % P)[:, None] == c[None, :])
    return L + noise * np.random.default_rng(seed).normal(size=L.shape)


def _check(L: np.ndarray) -> dict:
    """The story check of planted logits, each measure computed as extraction computes it."""
    labels = (np.arange(P * P) // P + np.arange(P * P) % P) % P
    keys, shares = mech.key_frequencies(L, P)
    story = mech.story_frequency(keys, P, shares=shares)
    la = mech.logit_approximation(L, P, keys, labels)
    logit = mech.logit_surface(L, P, OUT, la["alphas"], la["approx"])
    test = torch.tensor(np.arange(P * P)[np.random.default_rng(1).random(P * P) >= 0.3])
    train = torch.tensor(np.setdiff1d(np.arange(P * P), test.numpy()))
    U = torch.tensor(fo.sum_directions(P, keys), dtype=torch.float32)
    r = progress_losses(torch.tensor(L, dtype=torch.float32)[None], U, torch.tensor(labels), train, test)
    model_test = mech.loss_all(L[test.numpy()], labels[test.numpy()])
    wave = {"freqs": [story["k"]] * 7, "left_out": []}
    crest = {"found": True, "qualifies": True, "T": 65, "description": "planted", "prominence": 0.5,
             "rows_in_crest": 1.0}
    return sc.story_check(P, story["k"], wave, float(r["restricted_loss_test"][0]), model_test,
                          la["explained_variance"], logit, crest, _in_time())


def _in_time():
    """The rows in time of a planted history that tells the story (tests/test_story_time.py varies it)."""
    from tests.synthetic import planted_history
    from grokking.extraction import replay as rp
    train, raw, test = planted_history()
    ck = [0, 100, 1000, 1400, 3000, 5000]
    claims = rp.claims(rp.claim_epochs(train, test, ck), ck, {"probe_r2": [0.3, 0.3, 0.6, 0.9, 0.95, 0.97],
                                                             "wave_fit": [0.1, 0.1, 0.5, 0.9, 0.95, 0.97],
                                                             "surface_rows": [0.0, 0.01, 0.3, 0.7, 1.0, 1.0]})
    return sc.in_time(train, test, np.isfinite(raw), claims)


def _verdicts(chk):
    return {c["name"]: c["passed"] for c in chk["criteria"]}


def test_one_frequency_fails_the_story_check():
    # k = 5 carries the logits; the answer is found by a memorised bump the key frequencies lack
    chk = _check(_planted([5], [8.0], bump=6.0, noise=0.5))
    v = _verdicts(chk)
    assert not chk["passed"] and not v["algorithm"]
    alg = next(c for c in chk["criteria"] if c["name"] == "algorithm")
    assert alg["restricted_test_loss"] > 10 * alg["model_test_loss"]
    lines = sc.lines(chk)
    assert lines[0] == "story check: FAIL" and any("FAIL  algorithm" in ln for ln in lines)
    assert any("means: LogitSurface" in ln and "try another seed" in ln for ln in lines)


def test_three_frequencies_pass_the_story_check():
    chk = _check(_planted([5, 14, 31], [8.0, 7.0, 6.0], bump=0.0, noise=0.5))
    assert chk["passed"], sc.lines(chk)
    alg = next(c for c in chk["criteria"] if c["name"] == "algorithm")
    assert alg["restricted_test_loss"] < alg["model_test_loss"] and alg["explained_variance"] > 0.9


def test_one_frequency_peaks_on_several_diagonals_three_on_one():
    """What LogitSurface shows: one cosine's crests are all as high as the answer's; adding the
    other frequencies leaves the one on x + y ≡ output alone at the top."""
    L = _planted([5, 14, 31], [8.0, 7.0, 6.0], bump=0.0, noise=0.0)
    la = mech.logit_approximation(L, P, [5, 14, 31], np.zeros(P * P, int))
    lg = mech.logit_surface(L, P, OUT, la["alphas"], la["approx"])
    assert lg["component_keys"] == [5, 14, 31]                      # largest |α| first
    assert lg["rival_after_each"][0] == pytest.approx(1.0, abs=0.01)  # one cosine: every crest as high
    assert lg["rival_after_each"][-1] < 0.8 < lg["rival_after_each"][0]     # the answer's ridge rises
    np.testing.assert_allclose(lg["offset"] + lg["components"].sum(0), lg["approx_surface"], atol=1e-9)
    assert lg["on_line_fraction"] == 1.0


@pytest.mark.parametrize("story_k, waves, ok", [(4, [4, 4, 9, 14], True), (11, [11], False), (4, [4, 20], False),
                                                (None, [], False)])
def test_legibility_is_samples_per_period(story_k, waves, ok):
    c = sc.legible(story_k, waves, [{"k": 51, "label": "102π/113", "why": "2.2 samples per period"}], P)
    assert c["passed"] is ok and "left out of the wave scenes: k=51" in c["value"]


def test_a_fallback_crest_is_never_a_pass():
    c = sc.crest({"found": True, "qualifies": False, "T": 65, "description": "hook_mlp_out dimension 3",
                  "prominence": 0.01, "rows_in_crest": 0.3})
    assert not c["passed"] and "fallback" in c["value"] and "99%" in c["value"]


def test_harmonics_and_illegible_keys_are_left_out_of_the_waves():
    """A clipped k = 5 wave whose sweep peaks at 10 is not a k = 10 neuron; k = 10 with no neuron
    of its own is a harmonic; k = 51 (2.2 samples per period) is named, not drawn."""
    assert mech.harmonics([5, 8, 10, 51], {"5": 100, "8": 177, "10": 0, "51": 20}, P) == {10: 5}
    assert mech.harmonics([5, 10], {"5": 100, "10": 30}, P) == {}      # a cluster of its own: a frequency
    y = np.arange(P)
    waves = [np.cos(2 * np.pi * k * y / P + ph) for k in (5, 5, 8, 8, 51, 51) for ph in (0.0, 1.0, 2.0)]
    clipped = np.maximum(np.cos(2 * np.pi * 5 * y / P), 0.0) ** 3        # a ReLU'd k = 5: strong harmonics
    sweeps = np.array(waves + [clipped]).T                               # [y, neuron]
    post = np.zeros((P, P, sweeps.shape[1]))
    post[0] = sweeps                                                     # x = 0: the sweeps
    own = np.array([5] * 6 + [8] * 6 + [51] * 6 + [5])
    r = mech.wave_neurons(post.reshape(P * P, -1), P, [5, 8, 10, 51], neuron_freq=own, harmonic_of={10: 5})
    assert r["found"] and r["legible"] and set(r["freqs"]) == {5, 8}
    assert 18 not in r["neurons"]                                        # the clipped wave
    assert {e["k"] for e in r["left_out"]} == {10, 51}
    assert any("harmonic" in e["why"] for e in r["left_out"])
    # what the wave scenes put on screen for them: every label, each reason once, in short
    from grokking.scenes import look as L
    brief = L.left_out_brief(r["left_out"])
    text = " ".join(t.text for t in brief)
    assert all(e["label"].replace(" ", "") in text.replace(" ", "") for e in r["left_out"])
    assert "fewerthan8samplesperperiod" in text.replace(" ", "") and "harmonic" in text
    assert L.left_out_brief([]) is None and L.left_out_note([]) is None
    assert len(L.left_out_note(r["left_out"])) == 2                      # one line each
