"""The extraction stage: planted signals recovered exactly, and the mechanism in a real model."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import grokking.cli as render
from grokking.extraction import fourier as fo
from grokking.extraction import mechanism as mech
from grokking.extraction import phases
from grokking.extraction.extract import extract, progress_losses, status
from grokking.extraction.probes import sparse_probe
from grokking.common.assets import Assets, Logit

P = 23
X, Y = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")


def w(k, p=P):
    return 2 * np.pi * k / p


# ---- the Fourier toolkit -------------------------------------------------------------------

@pytest.mark.parametrize("p", [2, 5, 6, 23, 113])
def test_basis_is_orthonormal(p):
    F = fo.basis(p)
    np.testing.assert_allclose(F @ F.T, np.eye(p), atol=1e-12)
    assert len(fo.basis_labels(p)) == p
    if p >= 3:  # (at p = 2 the only wave is the Nyquist row, norm sqrt(p))
        np.testing.assert_allclose(F[fo.cos_row(1)] * np.sqrt(p / 2), np.cos(w(1, p) * np.arange(p)), atol=1e-12)


def test_labels_in_the_videos_form():
    assert fo.freq_label(4, 113) == "8π/113"
    assert fo.freq_label(3, 113) == "6π/113"
    assert fo.wave_label("cos", 4, 113, "y") == "cos(8πy/113)"


def test_planted_product_is_recovered_exactly():
    S = 0.42 * np.cos(w(4) * X) * np.cos(w(4) * Y) - 0.17 * np.cos(w(4) * Y) + 0.3
    d = fo.decompose(S, 2)
    assert d["terms"][0]["term"] == "cos(8πx/23)·cos(8πy/23)"
    assert d["terms"][0]["coef"] == pytest.approx(0.42)
    assert d["terms"][1]["term"] == "cos(8πy/23)" and d["terms"][1]["coef"] == pytest.approx(-0.17)
    assert d["mean"] == pytest.approx(0.3) and d["explained"] == pytest.approx(1.0)
    np.testing.assert_allclose(d["reconstruction"], S, atol=1e-12)
    np.testing.assert_allclose(fo.surface_from_terms(d["terms"], P, d["mean"]), S, atol=1e-12)
    assert d["formula"] == "0.42·cos(8πx/23)·cos(8πy/23) − 0.17·cos(8πy/23)"


def test_planted_sum_wave_lies_on_its_sum_directions():
    logits = np.stack([np.cos(w(5) * (X + Y - c)).ravel() for c in range(P)], axis=1)
    shares = mech.sum_direction_shares(logits, P)
    assert shares[5] == pytest.approx(1.0) and np.delete(shares, 5).max() < 1e-12
    keys, _ = mech.key_frequencies(logits, P)
    assert keys == [5]
    # cos(w(x+y)) = cos·cos − sin·sin: its 2D coefficients are exactly those two products
    d = fo.decompose(np.cos(w(5) * (X + Y)), 2)
    assert {t["term"]: round(t["coef"], 6) for t in d["terms"]} == {
        "cos(10πx/23)·cos(10πy/23)": 1.0, "sin(10πx/23)·sin(10πy/23)": -1.0}


def test_dominant_frequency_of_a_wave():
    f = 2.5 * np.cos(w(3) * np.arange(P) + 0.7) + 1
    r = fo.dominant_frequency(f)
    assert r["k"] == 3 and r["amp"] == pytest.approx(2.5) and r["phase"] == pytest.approx(0.7)
    assert r["fve"] == pytest.approx(1.0)
    assert np.argmax(fo.dft_magnitudes(f)) == 3


# ---- progress measures on synthetic logits ---------------------------------------------------

def _synthetic_logits(keys, alpha=8.0):
    c = np.arange(P)
    return sum(alpha * np.cos(w(k) * ((X + Y).ravel()[:, None] - c[None])) for k in keys)


def test_restricted_and_excluded_loss_behave_as_defined():
    keys = [3, 7]
    L = _synthetic_logits(keys)
    labels = torch.tensor(((X + Y) % P).ravel())
    idx = np.random.default_rng(0).permutation(P * P)
    tr, te = torch.tensor(np.sort(idx[:150])), torch.tensor(np.sort(idx[150:]))
    U = torch.tensor(fo.sum_directions(P, keys), dtype=torch.float32)
    out = progress_losses(torch.tensor(L, dtype=torch.float32)[None], U, labels, tr, te)
    full = torch.tensor(L)[None].log_softmax(-1)
    model_loss = -full[0, tr, labels[tr]].mean()
    # all the signal is on the key sum directions: restricting changes nothing...
    assert out["restricted_loss_train"][0] == pytest.approx(model_loss.item(), rel=1e-4)
    assert out["restricted_loss_test"][0] == pytest.approx(out["restricted_loss_train"][0].item(), rel=0.05)
    # ...and excluding leaves uniform logits: loss log p
    assert out["excluded_loss"][0] == pytest.approx(np.log(P), rel=1e-4)
    # removing one key leaves the other: in between
    by = out["excluded_loss_by_freq"][0]
    assert by.shape == (2,) and all(model_loss < b < np.log(P) for b in by)


def test_logit_approximation_recovers_planted_alphas():
    L = _synthetic_logits([2], 3.0) + 0.5 * _synthetic_logits([9], 1.0) + 0.1
    r = mech.logit_approximation(L, P, [2, 9], ((X + Y) % P).ravel())
    assert r["alphas"] == {"2": pytest.approx(3.0), "9": pytest.approx(0.5)}
    assert r["explained_variance"] == pytest.approx(1.0)


def test_neuron_fve_finds_planted_frequency():
    post = np.stack([np.maximum(0, np.cos(w(4) * X + a) + np.cos(w(4) * Y + b)).ravel()
                     for a, b in [(0, 0), (1, 2), (0.5, 3)]] + [np.random.default_rng(0).random(P * P)], 1)
    r = mech.neuron_fve(post, P)
    assert r["freq"][:3].tolist() == [4, 4, 4] and (r["fve"][:3] > 0.85).all() and r["fve"][3] < 0.5


def test_planted_probe_direction_is_recovered_exactly():
    rng = np.random.default_rng(0)
    R = rng.normal(size=(113, 128))
    w_true = np.zeros(128)
    w_true[[5, 17, 40]] = [0.7, -0.4, 0.3]
    res = sparse_probe(R, R @ w_true + 0.2)
    assert sorted(res["dims"].tolist()) == [5, 17, 40]
    np.testing.assert_allclose(res["weights"], w_true, atol=1e-9)
    assert res["bias"] == pytest.approx(0.2) and res["r2"] == pytest.approx(1.0)


def test_crest_at_planted_T():
    T = 9
    rng = np.random.default_rng(1)
    M = rng.normal(0, 0.05, (P * P, 6))
    M[:, 4] += 2 * np.cos(w(3) * (X + Y - T)).ravel() + np.cos(w(5) * (X + Y - T)).ravel()
    M[:, 1] += np.cos(w(3) * (X + Y - 4)).ravel()                 # a crest, but at the wrong T
    r = mech.crest(M, P, [3, 5], T, W_U=np.zeros((6, P)))         # no unembedding: dimensions only
    assert r["found"] and r["kind"] == "dimension" and r["dimension"] == 4
    assert r["frequencies"] == [3, 5] and r["considered"]["directions"] == 0
    assert all((a + b) % P == T for a, b in r["points"]) and r["ridge_on_crest"] == 1.0
    assert [0, T] in r["points"] and [T, 0] in r["points"] and any(a + b == T + P for a, b in r["points"])


# ---- legibility: two planted frequencies, a low one (2) and a high one (9, the stronger) --------

LOW, HIGH = 2, 9


def test_story_frequency_is_the_lowest_key_unless_named():
    assert mech.periods(21, 23) == 2 == mech.periods(2, 23) and mech.periods(56, 113) == 56
    s = mech.story_frequency([HIGH, LOW], P)
    assert s["k"] == LOW and s["order"] == [LOW, HIGH] and s["named"] is None
    assert [c["k"] for c in s["candidates"]] == [LOW, HIGH]
    assert s["candidates"][0]["samples_per_period"] == pytest.approx(P / LOW, abs=0.01)
    assert mech.story_frequency([HIGH, LOW], P, named=HIGH)["k"] == HIGH
    assert mech.story_frequency([HIGH, LOW], P, named=P - HIGH)["k"] == HIGH     # k and p-k: one wave
    with pytest.raises(ValueError, match="not a key frequency"):
        mech.story_frequency([HIGH, LOW], P, named=5)
    assert mech.story_frequency([], P)["k"] is None


def _planted_neurons():
    """Post-ReLU activations: six x+y waves of the high frequency (more of them, larger), three
    of the low one (phases 0, 0.3, π/2), and a cos·cos and a sin·sin neuron of each frequency, the
    high ones purer. Returns (post, phases of the low waves, indices)."""
    cols, phase_low = [], [0.0, 0.3, np.pi / 2]
    for ph in np.linspace(0, 2.5, 6):
        cols.append(3 + 2 * np.cos(w(HIGH) * (X + Y) + ph))
    for ph in phase_low:
        cols.append(2 + 1.5 * np.cos(w(LOW) * (X + Y) + ph))
    cc_hi, ss_hi = len(cols), len(cols) + 1
    cols += [2 + np.cos(w(HIGH) * X) * np.cos(w(HIGH) * Y), 2 + np.sin(w(HIGH) * X) * np.sin(w(HIGH) * Y)]
    cc_lo, ss_lo = len(cols), len(cols) + 1
    cols += [2 + 0.8 * np.cos(w(LOW) * X) * np.cos(w(LOW) * Y) + 0.3 * np.cos(w(LOW) * X),
             2 + 0.8 * np.sin(w(LOW) * X) * np.sin(w(LOW) * Y) + 0.3 * np.cos(w(LOW) * Y)]
    post = np.stack([c.ravel() for c in cols], axis=1)
    return post, phase_low, {"low_waves": [6, 7, 8], "cc_hi": cc_hi, "ss_hi": ss_hi, "cc_lo": cc_lo, "ss_lo": ss_lo}


def test_wave_neurons_start_with_the_low_frequency():
    post, phase_low, ix = _planted_neurons()
    r = mech.wave_neurons(post, P, [HIGH, LOW])
    assert r["found"] and r["story_k"] == LOW and r["pair_k"] == LOW
    assert r["candidates_by_freq"] == {str(LOW): 4, str(HIGH): 7}         # the high one is more numerous
    a, b = r["neurons"][:2]
    assert r["freqs"][:3] == [LOW, LOW, HIGH] and HIGH in r["freqs"][3:]
    # the pair: the low waves with phases 0 and π/2 (a quarter turn: a round loop), recovered exactly
    assert {a, b} == {ix["low_waves"][0], ix["low_waves"][2]}
    phases = dict(zip(r["neurons"], r["phase"]))
    assert phases[ix["low_waves"][0]] == pytest.approx(0, abs=1e-9)
    assert phases[ix["low_waves"][2]] == pytest.approx(np.pi / 2)
    assert r["amp"][:2] == [pytest.approx(1.5), pytest.approx(1.5)] and r["fve"][:2] == [pytest.approx(1.0)] * 2
    # later neurons of a frequency spread their phases (NeuronLoops: in step draws a line): of the
    # high waves at phases 0, 0.5 ... 2.5, the best fit (0), then the farthest, 1.5, then 2.5
    high = [i for i, k in zip(r["neurons"], r["freqs"]) if k == HIGH]
    assert high == [0, 3, 5] and [phases[i] for i in high] == [pytest.approx(v) for v in (0, 1.5, 2.5)]
    # a setting naming the high frequency puts it first
    assert mech.wave_neurons(post, P, [HIGH, LOW], story_k=HIGH)["freqs"][:3] == [HIGH, HIGH, LOW]


def test_product_pair_uses_the_low_frequency():
    post, _, ix = _planted_neurons()
    neu = mech.neuron_fve(post, P)
    r = mech.product_pair(post, P, [HIGH, LOW], neu["freq"], neu["fve"])
    assert r["found"] and r["k"] == LOW and r["neurons"] == [ix["cc_lo"], ix["ss_lo"]]
    assert r["coefs"] == [pytest.approx(0.8), pytest.approx(0.8)]          # the planted products, exactly
    assert r["term_fve"] == [pytest.approx(0.64 / (0.64 + 0.09 * 2)), pytest.approx(0.64 / (0.64 + 0.09 * 2))]
    assert [t["k"] for t in r["tried"]] == [LOW]
    assert r["trig_corr_sum"] > 0.99 and r["trig_corr_diff"] < 0.01
    # the high frequency's pair is purer, and is what a setting naming it gets
    hi = mech.product_pair(post, P, [HIGH, LOW], neu["freq"], neu["fve"], story_k=HIGH)
    assert hi["k"] == HIGH and hi["neurons"] == [ix["cc_hi"], ix["ss_hi"]] and min(hi["term_fve"]) > max(r["term_fve"])


def _clean_unembed(alpha_low=1.5, alpha_high=1.0, d=4):
    """A model whose MLP output carries cos/sin(w_k(x+y)) in dimensions 0..3 and whose unembedding
    reads them: logit c = Σ_k α_k cos(w_k(x + y − c))."""
    c = np.arange(P)
    M = np.zeros((P * P, d))
    W_U = np.zeros((d, P))
    for j, (k, a) in enumerate(((LOW, alpha_low), (HIGH, alpha_high))):
        M[:, 2 * j], M[:, 2 * j + 1] = np.cos(w(k) * (X + Y)).ravel(), np.sin(w(k) * (X + Y)).ravel()
        W_U[2 * j], W_U[2 * j + 1] = a * np.cos(w(k) * c), a * np.sin(w(k) * c)
    return M, W_U


def test_crest_prefers_the_broad_unit():
    T = 9
    s = (X + Y - T).ravel()
    M = np.zeros((P * P, 3))
    M[:, 0] = 1.0 * np.cos(w(LOW) * s) + 2.0 * np.cos(w(HIGH) * s)        # sharp: mostly the high one
    M[:, 1] = 2.0 * np.cos(w(LOW) * s) + 1.0 * np.cos(w(HIGH) * s)        # broad: mostly the low one
    M[:, 2] = 2.0 * np.cos(w(LOW) * (X + Y - 3)).ravel()                  # broad, but peaks on 3
    r = mech.crest(M, P, [HIGH, LOW], T, W_U=np.zeros((3, P)))
    assert r["found"] and r["kind"] == "dimension" and r["dimension"] == 1
    assert r["frequencies"] == [LOW, HIGH] and r["frequency_shares"] == [0.8, 0.2]     # 2², 1² of 5
    assert r["k_rms"] == pytest.approx(np.sqrt((4 * LOW ** 2 + HIGH ** 2) / 5))
    assert r["ridge_on_crest"] == 1.0 and r["sum_share"] == pytest.approx(1.0)
    # the sharp unit qualified too, and lost on breadth; the other peaks elsewhere
    sharp = [c for c in r["candidates"] if c.get("dimension") == 0]
    assert sharp and sharp[0]["k_rms"] == pytest.approx(np.sqrt((LOW ** 2 + 4 * HIGH ** 2) / 5))
    assert r["considered"] == {"dimensions": 3, "directions": 0, "peaking_on_T": 2, "qualifying": 2}
    assert r["broader_rejected"][0]["dimension"] == 2 and "peaks on s = 3" in r["broader_rejected"][0]["why_not"]
    assert "broadest" in r["rule"] and "rms frequency" in r["rule"]
    # one frequency alone peaks on T and on every other of its crests: a moiré-free but ambiguous wave
    m = mech.crest_measures(np.cos(w(LOW) * (X + Y - T)), T, fo.sum_directions(P, [LOW]))
    assert m["peak"] == T and m["prominence"] < 0.05


def test_broad_crest_may_peak_a_few_sums_off_the_line():
    """A one-period crest (the video's two broad crests, x + y = T and x + y = T + p) with a small
    wave in y alone: along each line x + y ≡ s it averages out, so the crest still peaks on T,
    but it moves each row's maximum a little off y = T − x. Rows peaking within the crest count."""
    T, s = 9, X + Y - 9
    M = np.stack([(np.cos(w(1) * s) + 0.3 * np.cos(w(1) * Y + 1)).ravel(),
                  (np.cos(w(1) * s) + 2 * np.cos(w(HIGH) * s)).ravel()], axis=1)
    r = mech.crest(M, P, [1, HIGH], T, W_U=np.zeros((2, P)))
    assert r["dimension"] == 0 and r["frequencies"] == [1] and r["k_rms"] == pytest.approx(1.0)
    assert r["crest_width"] == 7                         # cos(w(x + y − T)) >= 1/2: |x + y − T| <= 3
    assert r["prominence"] == pytest.approx(1 - np.cos(w(1) * 4))
    assert r["rows_in_crest"] == 1.0 and r["ridge_on_crest"] < 0.5
    assert [c["dimension"] for c in r["candidates"]] == [0, 1]           # the sharp one qualified too


def test_crest_falls_back_to_a_documented_unembedding_direction():
    T = 9
    M, W_U = _clean_unembed()
    r = mech.crest(M, P, [HIGH, LOW], T, W_U=W_U)
    assert r["found"] and r["kind"] == "direction" and r["dimension"] is None
    assert r["keys"] == [LOW, HIGH] and "unembedding of output 9" in r["description"]
    assert r["frequencies"] == [LOW, HIGH] and r["frequency_shares"] == [pytest.approx(1.5 ** 2 / 3.25, abs=1e-4),
                                                                         pytest.approx(1 / 3.25, abs=1e-4)]
    # the surface is exactly what those frequencies add to logit T: Σ α_k cos(w_k(x + y − T)), normalised
    want = 1.5 * np.cos(w(LOW) * (X + Y - T)) + np.cos(w(HIGH) * (X + Y - T))
    np.testing.assert_allclose(r["surface"], want / np.linalg.norm(W_U[:, T]), atol=1e-12)
    # the low frequency alone is broader but has a crest as high as T's elsewhere: rejected, said so
    low_only = [c for c in r["broader_rejected"] if c.get("keys") == [LOW]]
    assert low_only and "another crest reaches" in low_only[0]["why_not"]


def test_analysis_of_planted_activations_chooses_the_low_frequency():
    """The whole analysis (extract.analyse_activations) on planted activations: logits carry the
    high frequency more strongly, yet every single-frequency selection shows the low one."""
    from grokking.extraction.extract import analyse_activations
    n, d_model = P * P, 8
    c = np.arange(P)
    logits = np.zeros((n, P + 1))
    logits[:, :P] = (3 * np.cos(w(HIGH) * ((X + Y).ravel()[:, None] - c)) +
                     1.5 * np.cos(w(LOW) * ((X + Y).ravel()[:, None] - c)))
    post, _, ix = _planted_neurons()
    M4, W_U4 = _clean_unembed(1.5, 3.0)
    T = 9
    s = (X + Y - T).ravel()
    mlp_out = np.c_[M4, 2 * np.cos(w(LOW) * s) + np.cos(w(HIGH) * s), np.cos(w(LOW) * s) + 2 * np.cos(w(HIGH) * s),
                    np.zeros((n, 2))]
    W_E = np.zeros((P + 1, d_model))
    W_E[:P, 0], W_E[:P, 1] = 2 * np.cos(w(HIGH) * c), 2 * np.sin(w(HIGH) * c)
    W_E[:P, 2], W_E[:P, 3] = np.cos(w(LOW) * c), np.sin(w(LOW) * c)
    W = {"W_E": W_E, "W_pos": np.zeros((3, d_model)), "W_out": np.zeros((post.shape[1], d_model)),
         "W_U": np.r_[np.c_[W_U4, np.zeros((4, 1))], np.zeros((4, P + 1))]}
    act = {"logits": logits, "mlp.hook_post": post, "hook_mlp_out": mlp_out,
           "attn.hook_pattern": np.broadcast_to(np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None], (n, 2, 3, 3)),
           "hook_resid_mid": np.zeros((n, d_model)),
           "mlp.hook_pre": post}
    settings = {"analysis_epoch": 0, "T": T, "output": 7, "key_share": 0.01, "fve_threshold": 0.85,
                "probe_max_dims": 8, "story_k": None}
    S, A = analyse_activations(act, W, P, ((X + Y) % P).ravel(), settings)
    assert S["key_frequencies"] == [HIGH, LOW] and S["key_shares"] == {str(HIGH): pytest.approx(0.8),
                                                                       str(LOW): pytest.approx(0.2)}
    assert S["story"]["k"] == LOW and "lowest key frequency" in S["story"]["rule"]
    # the probe reads the low wave from exactly its two planted dimensions
    assert S["probe"]["k"] == LOW and S["probe"]["cos"]["dims"] == [2] and S["probe"]["sin"]["dims"] == [3]
    assert S["probe"]["cos"]["weights"] == [pytest.approx(1.0)] and S["probe"]["cos"]["r2"] == pytest.approx(1.0)
    np.testing.assert_allclose(A["probes"]["cos_target"], np.cos(w(LOW) * c), atol=1e-12)
    sel = S["selections"]
    assert sel["wave_neurons"]["freqs"][:3] == [LOW, LOW, HIGH]
    assert sel["product_pair"]["k"] == LOW and sel["product_pair"]["neurons"] == [ix["cc_lo"], ix["ss_lo"]]
    assert sel["neuron_surfaces"]["featured"] == ix["cc_lo"]
    # the crest: the broad dimension (4), not the sharp one (5) or the unembedding directions
    assert sel["crest"]["kind"] == "dimension" and sel["crest"]["dimension"] == 4
    assert sel["crest"]["frequencies"] == [LOW, HIGH]
    np.testing.assert_allclose(A["selections"]["crest_surface"], mlp_out[:, 4].reshape(P, P), atol=1e-12)
    # a setting names the high frequency instead, for every single-frequency selection
    S2, _ = analyse_activations(act, W, P, ((X + Y) % P).ravel(), dict(settings, story_k=HIGH))
    assert S2["story"]["k"] == S2["probe"]["k"] == S2["selections"]["product_pair"]["k"] == HIGH
    assert S2["selections"]["wave_neurons"]["freqs"][:2] == [HIGH, HIGH]
    from grokking.extraction.errors import ExtractionError
    with pytest.raises(ExtractionError, match="not a key frequency"):
        analyse_activations(act, W, P, ((X + Y) % P).ravel(), dict(settings, story_k=5))


def test_synthetic_assets_tell_the_story_in_the_low_frequency(tmp_path):
    """The synthetic assets figures and scenes are tested on plant a high (5, listed first) and a low (2)
    frequency, and select as extraction does: the low one wherever one frequency is shown."""
    from tests.synthetic import make_synthetic_assets
    a = Assets("synth", make_synthetic_assets(tmp_path).parent)
    s, sel = a.summary, a.summary["selections"]
    assert s["key_frequencies"] == [5, 2] and s["story"]["k"] == 2 == s["probe"]["k"]
    assert sel["product_pair"]["k"] == 2 and sel["wave_neurons"]["freqs"][:3] == [2, 2, 5]
    assert a["neurons"]["freq"][sel["product_pair"]["neurons"]].tolist() == [2, 2]
    pr, x = a["probes"], np.arange(a.p)
    out = pr["resid_pos0"] @ pr["cos_weights"] + pr["cos_bias"]
    assert np.corrcoef(out, np.cos(2 * np.pi * 2 * x / a.p))[0, 1] > 0.95
    assert sel["crest"]["frequencies"] == [2, 5] and sel["crest"]["frequency_shares"] == [0.8, 0.2]


def test_trig_identity_runs_along_x_plus_y():
    k = 4
    coscos, sinsin = np.cos(w(k) * X) * np.cos(w(k) * Y), np.sin(w(k) * X) * np.sin(w(k) * Y)
    right = mech.diagonal_correlations(coscos - sinsin, k)
    wrong = mech.diagonal_correlations(coscos + sinsin, k)    # the public scene code's bug
    assert right["trig_corr_sum"] > 0.99 and right["trig_corr_diff"] < 0.01
    assert wrong["trig_corr_diff"] > 0.99 and wrong["trig_corr_sum"] < 0.01


def test_phases_from_synthetic_curves():
    e = np.arange(1001)
    train_acc = np.minimum(1, e / 50)
    g = 1 / (1 + np.exp(-(e - 700) / 20))
    test_acc = 0.05 + 0.95 * g
    test_loss = 10 ** (1 - 6 * g)
    ck = np.arange(0, 1001, 10)
    ex = np.r_[np.linspace(5, 1, 20), np.linspace(1, 8, len(ck) - 20)]
    ph = phases.locate(train_acc, test_acc, test_loss, ck, ex)
    assert ph["memorised"] == 50 and ph["memorisation_end"] == 190
    assert 600 < ph["cleanup_start"] < 700 < ph["cleanup_end"] < 800
    assert ph["grokked"] == int(np.flatnonzero(test_acc >= 0.99)[0])
    assert phases.gini(np.ones(10)) == pytest.approx(0) and phases.gini(np.eye(10)[0]) == pytest.approx(0.9)


# ---- a real model that groks -----------------------------------------------------------------

@pytest.mark.slow
def test_quick_model_shows_the_mechanism(quick_run):
    a = Assets("quick", quick_run["root"] / "assets")
    s = a.summary
    p = s["task"]["p"]
    assert s["grokked"] and 2 <= len(s["key_frequencies"]) <= 8
    assert s["neurons"]["share_clustered"] > 0.7
    assert sum(s["neurons"]["clusters"].values()) > 0.6 * s["neurons"]["n"]
    assert s["logit_approx"]["explained_variance"] > 0.8
    c = a["curves"]
    after = c["epoch"] > s["milestones"]["test_99"]
    assert (c["excluded_loss"][after] > 10 * c["restricted_loss_train"][after]).all()
    assert c["excluded_loss"][after].min() > 1.0 > c["restricted_loss_test"][-1]
    # the excluded loss dips with the train loss, then climbs through the plateau
    me = s["phases"]["memorisation_end"]
    assert me is not None and c["excluded_loss"].max() > 2 * c["excluded_loss"][c["epoch"] == me][0]
    # W_L lives on the key frequencies only
    power = fo.freq_power(a["fourier"]["W_L_norms"])
    assert power[s["key_frequencies"]].sum() > 0.9 * power[1:].sum()
    # the selections exist, carry evidence, and are what the scenes need
    sel = s["selections"]
    assert sel["wave_neurons"]["found"] and len(sel["wave_neurons"]["neurons"]) == 7
    pair = sel["product_pair"]
    assert pair["found"] and pair["trig_corr_sum"] > 0.99 and pair["trig_corr_diff"] < 0.05
    sums = a["selections"]["trig_sum"]
    assert mech.diagonal_correlations(sums, pair["k"])["trig_corr_sum"] > 0.99
    cr = sel["crest"]
    assert cr["found"] and cr["ridge_on_crest"] > 0.9
    assert all((x + y) % p == cr["T"] for x, y in cr["points"])
    # legibility: one frequency, the lowest key frequency, wherever the story shows one
    low = min(s["key_frequencies"])
    assert s["story"]["k"] == low == s["probe"]["k"] == pair["k"] == sel["wave_neurons"]["freqs"][0]
    wn = sel["wave_neurons"]                # the other key frequencies follow the first pair
    assert set(wn["freqs"]) == {int(k) for k, n in wn["candidates_by_freq"].items() if n}
    assert cr["prominence"] >= mech.CREST_PROMINENCE and cr["chosen_because"] == "the broadest qualifying candidate"
    assert all(c["k_rms"] >= cr["k_rms"] for c in cr["candidates"]) and set(cr["frequencies"]) <= set(s["key_frequencies"])
    lg = sel["logit"]
    assert lg["on_line_fraction"] > 0.9 and all((x + y) % p == lg["output"] for x, y in lg["maxima"])
    # the probe reads a clean wave from a handful of embedding dimensions
    assert 1 <= len(s["probe"]["cos"]["dims"]) <= 8 and s["probe"]["cos"]["r2"] > 0.9
    # evolution arrays cover every checkpoint
    ev = a["evolution"]
    assert ev["wave_sweeps"].shape == (len(c["epoch"]), 7, p) and ev["wave_sweeps"].dtype == np.float16
    assert a["probes"]["cos_r2"][-1] > 0.9 > a["probes"]["cos_r2"][0]
    assert (quick_run["assets"] / "summary.md").read_text().startswith("# quick")
    # LogitSurface's components add up to the stored logit approximation
    lg = a.selection(Logit)
    comps, approx = a["selections"]["logit_components"], a["selections"]["logit_approx_surface"]
    assert [int(k) for k in lg.component_keys] and len(comps) == len(lg.component_keys)
    np.testing.assert_allclose(lg.offset + comps.sum(0), approx, rtol=1e-9, atol=1e-9)
    Ld = a["activations"]["logits"][:, :p].astype(np.float64)
    fit = mech.logit_approximation(Ld, p, s["key_frequencies"], ((np.arange(p * p) // p + np.arange(p * p) % p) % p))
    np.testing.assert_allclose(approx, fit["approx"][:, lg.output].reshape(p, p), rtol=1e-6, atol=1e-6)
    # the story check is in the summary, each criterion with a number and a verdict
    chk = a.story_check
    assert [c["name"] for c in chk.criteria] == ["legible", "algorithm", "answer singled out", "crest",
                                                 "delay", "steady", "replay"]
    assert chk.passed == all(c["passed"] for c in chk.criteria) and chk.problems() == []
    # the replay claims are measured at their checkpoints: the numbers are the per-checkpoint arrays'
    rep = a.replay
    ck = [int(e) for e in c["epoch"]]
    for cl in rep.claims:
        arr = {"probe_r2": a["probes"]["cos_r2"], "wave_fit": np.asarray(ev["wave_fit"], float).mean(1),
               "surface_rows": ev["crest_rows_on_line"] if "crest_rows_on_line" in ev else ev["logit_rows_on_line"]}
        assert cl["value"] == pytest.approx(float(arr[cl["measure"]][ck.index(cl["epoch"])]), rel=1e-6)
    assert chk.row("replay")["claims"] == rep.claims
    assert cr["qualifies"] == next(c for c in chk.criteria if c["name"] == "crest")["passed"]


@pytest.mark.slow
def test_unchanged_run_is_not_re_extracted(quick_run):
    root = quick_run["root"]
    kw = dict(runs_root=root / "runs", assets_root=root / "assets")
    assert status("quick", **kw)[0] == "up to date"
    before = (quick_run["assets"] / "manifest.json").read_text()
    assert extract("quick", progress=False, **kw)["skipped"]
    assert (quick_run["assets"] / "manifest.json").read_text() == before
    assert status("quick", T=3, **kw) == ("stale", "extraction settings changed")
    other = max(Assets("quick", root / "assets").summary["key_frequencies"])
    assert status("quick", story_k=other, **kw) == ("stale", "extraction settings changed")
    from grokking.extraction.errors import ExtractionError
    with pytest.raises(ExtractionError, match="--story-k must be a frequency between 1 and"):
        status("quick", story_k=0, **kw)


def _cli(args):
    res = CliRunner().invoke(render.cli, args)
    return res.exit_code, res.output


def test_bad_extract_input(runs_dir, tiny_cfg):
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    code, out = _cli(["extract", "--run", "nope", "--quiet"])
    assert code == 2 and "no run named 'nope'" in out and "Traceback" not in out
    train([Seeded(tiny_cfg.replace(epochs=10), Run("half"))], progress=False)
    m = json.loads((runs_dir / "half" / "manifest.json").read_text())
    m["status"], m["config"]["epochs"] = "training", 40       # as if stopped at 10 of 40
    (runs_dir / "half" / "manifest.json").write_text(json.dumps(m))
    code, out = _cli(["extract", "--run", "half", "--quiet"])
    assert code == 2 and "half-trained" in out and "--partial" in out
    code, out = _cli(["extract", "--run", "half", "--quiet", "--partial", "--analysis-epoch", "7777"])
    assert code == 2 and "no checkpoint at epoch 7777" in out
    assert not (runs_dir.parent / "assets" / "half").exists()


def test_run_that_never_grokked_still_extracts(runs_dir, tiny_cfg):
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    train([Seeded(tiny_cfg.replace(epochs=10), Run("young"))], progress=False)
    code, out = _cli(["extract", "--run", "young", "--quiet"])
    assert code == 0 and "never grokked" in out
    s = Assets("young").summary
    assert not s["grokked"] and "not grokked" in s["note"]
    for name in ("wave_neurons", "product_pair", "crest"):
        sel = s["selections"][name]
        assert sel["found"] is False and sel["reason"]
    code, out = _cli(["extract", "--run", "young", "--quiet"])
    assert code == 0 and "up to date" in out
    # extending the run makes the assets stale, and extract redoes them
    train([Seeded(tiny_cfg.replace(epochs=15), Run("young"))], progress=False)
    assert status("young")[0] == "stale"
    code, out = _cli(["extract", "--run", "young", "--quiet"])
    assert code == 0 and "wrote" in out


# ---- the trainer's diagnostics; ops that are not addition --------------------------------------

def test_diagnostic_curves_read_nan_and_not_measured_for_a_history_without_them():
    from grokking.extraction.extract import diagnostic_curves
    n, ep = 6, np.array([0, 2, 5])
    base = {"train_loss": np.linspace(2, 1, n), "test_loss": np.full(n, np.nan)}
    cur, part = diagnostic_curves(base, ep, 5)                 # made before the trainer measured them
    assert not part.found and "made before the trainer measured them" in part.why_not()
    assert cur["collapse_share"].shape == (3,) and np.isnan(cur["all_grad_norm"]).all()
    measured = {**base, "collapse_share": np.array([0, 0, 0, .5, 1, 1.]), "grad_weight_cos": np.full(n, -.5),
                "grad_norm": np.arange(n) + 1.0}
    cur, part = diagnostic_curves(measured, ep, 5)
    assert part.found and part.first_collapse == 3 and part.measured_epochs == n
    assert part.final == {"collapse_share": 1.0, "grad_weight_cos": -0.5, "grad_norm": 6.0}
    assert list(cur["grad_norm"]) == [1.0, 3.0, 6.0] and list(cur["all_collapse_share"]) == list(measured["collapse_share"])


def _non_finite(o, path=()):
    """Every path in a JSON value to a number that is not finite (NaN or ±Infinity)."""
    if isinstance(o, float):
        return [] if np.isfinite(o) else [path]
    if isinstance(o, dict):
        return [b for k, v in o.items() for b in _non_finite(v, path + (k,))]
    if isinstance(o, list):
        return [b for i, v in enumerate(o) for b in _non_finite(v, path + (i,))]
    return []


@pytest.mark.parametrize("op", ["mul", "div"])
@pytest.mark.slow
def test_mul_and_div_extract_over_the_discrete_log(runs_dir, tiny_cfg, tmp_path, op):
    """A mul or div run is measured over Z_(p−1) through the discrete log (extraction/coords.py):
    every measure along the sum is found, over (p−1)×(p−1) surfaces, and the zero pairs are
    reported apart; figures and scenes read the assets."""
    from grokking.training import tasks
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    from grokking.figures.build import build
    from grokking.extraction.coords import coordinates
    train([Seeded(tiny_cfg.replace(op=op), Run(op))], progress=False)
    assert _cli(["extract", "--run", op, "--quiet"])[0] == 0
    text = (runs_dir.parent / "assets" / op / "summary.json").read_text()
    s = json.loads(text)
    assert _non_finite(s) == [] and "NaN" not in text and "Infinity" not in text
    p, n = tiny_cfg.p, tiny_cfg.p - 1
    add = s["additive"]
    assert add["found"] and add["n"] == n and add["generator"] == 2 and add["grid"]      # 2 generates mod 11
    assert add["x_axis"] == "log₂ x" and add["line"] == ("log₂ x + log₂ y" if op == "mul" else "log₂ x − log₂ y")
    assert add["outputs"] == [pow(2, i, p) for i in range(n)]
    zp = add["zero_pairs"]
    assert zp["pairs"] == (2 * p - 1 if op == "mul" else p - 1) and 0 <= zp["accuracy"] <= 1
    a = Assets(op)
    assert a.n == n and a["activations"]["logits"].shape[0] == p * p         # activations stay natural
    assert a["selections"]["attn_eq_pattern"].shape[1:] == (n, n)
    assert a["fourier"]["embed_norms"].shape[1] == n and np.isfinite(a["curves"]["excluded_loss"]).any() == bool(
        s["key_frequencies"])
    # losses over the group: the pairs without a zero, softmax over the p − 1 nonzero answers
    co = coordinates(op, p)
    labels = tasks.answers(op, *tasks.all_pairs(p), p)
    logits = co.rows(a["activations"]["logits"][:, :p].astype(np.float64))[:, co.outputs]
    inv = {int(t): m for m, t in enumerate(co.outputs)}
    el = np.array([inv[int(c)] for c in co.rows(labels)])
    assert s["logit_approx"]["model_loss"] == pytest.approx(mech.loss_all(logits, el))
    assert a.diagnostics.found and np.isfinite(a["curves"]["all_grad_norm"]).all()
    # the figures stage reads such assets: each figure drawn or skipped with a reason, none fails
    results = build(op, outdir=tmp_path / "fig", formats=("png",), frames=4)
    assert not [r for r in results if r.failed], [(r.name, r.failed) for r in results if r.failed]
    assert {r.name for r in results if not r.skipped} >= {"grokking_curves", "progress_measures"}
