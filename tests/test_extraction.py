"""The extraction stage: planted signals recovered exactly, and the mechanism in a real model."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import render
from extraction import fourier as fo
from extraction import mechanism as mech
from extraction import phases
from extraction.extract import extract, progress_losses, status
from extraction.probes import sparse_probe
from extraction.store import Assets

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
    r = mech.crest(M, P, [3, 5], T, W_U_T=np.ones(6))
    assert r["found"] and r["kind"] == "dimension" and r["dimension"] == 4
    assert all((a + b) % P == T for a, b in r["points"]) and r["ridge_on_crest"] == 1.0
    assert [0, T] in r["points"] and [T, 0] in r["points"] and any(a + b == T + P for a, b in r["points"])
    # no dimension peaks on T: a documented direction instead, said so
    r2 = mech.crest(M[:, [1]], P, [3], T, W_U_T=np.ones(1))
    assert r2["kind"] == "direction" and "unembedding direction" in r2["description"]


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
    lg = sel["logit"]
    assert lg["on_line_fraction"] > 0.9 and all((x + y) % p == lg["output"] for x, y in lg["maxima"])
    # the probe reads a clean wave from a handful of embedding dimensions
    assert 1 <= len(s["probe"]["cos"]["dims"]) <= 8 and s["probe"]["cos"]["r2"] > 0.9
    # evolution arrays cover every checkpoint
    ev = a["evolution"]
    assert ev["wave_sweeps"].shape == (len(c["epoch"]), 7, p) and ev["wave_sweeps"].dtype == np.float16
    assert a["probes"]["cos_r2"][-1] > 0.9 > a["probes"]["cos_r2"][0]
    assert (quick_run["assets"] / "summary.md").read_text().startswith("# quick")


def test_unchanged_run_is_not_re_extracted(quick_run):
    root = quick_run["root"]
    kw = dict(runs_root=root / "runs", assets_root=root / "assets")
    assert status("quick", **kw)[0] == "up to date"
    before = (quick_run["assets"] / "manifest.json").read_text()
    assert extract("quick", progress=False, **kw)["skipped"]
    assert (quick_run["assets"] / "manifest.json").read_text() == before
    assert status("quick", T=3, **kw) == ("stale", "extraction settings changed")


def _cli(args):
    res = CliRunner().invoke(render.cli, args)
    return res.exit_code, res.output


def test_bad_extract_input(runs_dir, tiny_cfg):
    from training.history import Run
    from training.train import Seeded, train
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
    from training.history import Run
    from training.train import Seeded, train
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
