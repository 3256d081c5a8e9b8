"""The product pair TrigIdentity shows, chosen from planted neurons and weights
(mechanism.product_pair): a nearly silent sin·sin neuron is never chosen, nor one whose product
term is a small part of what it does with x and y together; the chosen pair's measured votes for T
have opposite signs; the recorded shares, weights and votes are the planted ones."""
from __future__ import annotations

import numpy as np
import pytest

from grokking.extraction import mechanism as mech

P, K, D_MODEL = 23, 2, 6
X, Y = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
W = 2 * np.pi * K / P
CC, SS = np.cos(W * X) * np.cos(W * Y), np.sin(W * X) * np.sin(W * Y)
VOTE = np.array([3.0, 0, 0, 0, 0, 0])              # the direction voting for T, not normalised


def _planted(ss_weight_loud=-0.5):
    """Neurons of key frequency K, each (surface, weight W_out[i] · vote/|vote|):
    0 cos·cos, loud, weight +0.5 (vote +0.5); 1 sin·sin, nearly silent, weight −0.01 (vote −0.01:
    the right sign, but silent); 2 sin·sin, loud, weight +0.6 (vote +0.6, the same sign as 0);
    3 sin·sin, weight `ss_weight_loud` (vote 0.8 × it); 4 cos·cos with the loudest vote (−1.0) but
    its product term a small part of its joint variance (a stronger x·y term of frequency 2K)."""
    w2 = 2 * W
    units = [(2 + CC + 0.3 * np.cos(W * X), 0.5),
             (2 + SS, -0.01),
             (1 + SS, 0.6),
             (2 + 0.8 * SS + 0.4 * np.sin(W * Y), ss_weight_loud),
             (2 + 0.5 * CC + 0.7 * np.cos(w2 * X) * np.cos(w2 * Y), -2.0)]
    post = np.stack([z.ravel() for z, _ in units], axis=1)
    rng = np.random.default_rng(0)
    W_out = rng.normal(size=(len(units), D_MODEL))
    W_out[:, 0] = [m for _, m in units]             # the part along the vote direction
    freq, fve = np.full(len(units), K), np.ones(len(units))
    return post, W_out, freq, fve


def test_the_pair_is_loud_opposite_and_its_shares_are_the_planted_ones():
    post, W_out, freq, fve = _planted()
    r = mech.product_pair(post, P, [K], freq, fve, W_out=W_out, vote=VOTE, T=5)
    assert r["found"] and r["qualifies"] and "fallback" not in r
    a, b = r["neurons"]
    assert (a, b) == (0, 3)
    assert 1 not in r["neurons"] and 4 not in r["neurons"]        # the silent one, the impure one
    assert np.sign(r["votes"][0]) == -np.sign(r["votes"][1])
    assert r["weights"] == [pytest.approx(0.5), pytest.approx(-0.5)]
    assert r["coefs"] == [pytest.approx(1.0), pytest.approx(0.8)]
    assert r["votes"] == [pytest.approx(0.5), pytest.approx(-0.4)]
    # cos·cos has mean square 1/4, 0.3 cos(wx) 0.09/2; 0.8 sin·sin 0.64/4, 0.4 sin(wy) 0.16/2
    assert r["term_fve"] == [pytest.approx(0.25 / (0.25 + 0.045)), pytest.approx(0.16 / (0.16 + 0.08))]
    assert r["term_joint"] == [pytest.approx(1.0), pytest.approx(1.0)]     # all they do with x and y together
    # 0.5 cc − 0.4 ss = 0.45 cos(w(x + y)) + 0.05 cos(w(x − y))
    assert r["sum_share"] == pytest.approx(0.45 ** 2 / (0.45 ** 2 + 0.05 ** 2))
    assert r["T"] == 5


def test_the_impure_neuron_is_measured_as_such():
    post, *_ = _planted()
    joint = mech.joint_variance(post, P)
    # neuron 4: 0.5 cc (mean square 1/16) beside 0.7 cos(2wx)cos(2wy) (0.49/4), both joint
    assert joint[4] / (P * P) == pytest.approx(0.25 / 4 + 0.49 / 4)
    assert joint[0] / (P * P) == pytest.approx(0.25)


def test_a_silent_partner_is_never_chosen():
    """When the only sin·sin neuron voting against the cos·cos one is nearly silent, no pair
    qualifies: the fallback is shown as one, never the silent neuron as the identity's partner."""
    post, W_out, freq, fve = _planted(ss_weight_loud=+0.5)      # neuron 3 now votes with neuron 0
    r = mech.product_pair(post, P, [K], freq, fve, W_out=W_out, vote=VOTE, T=5)
    assert r["found"] and r["qualifies"] is False and "opposite signs" in r["fallback"]
    assert r["tried"][0]["sinsin_voting"] == 2 and r["tried"][0]["coscos_voting"] == 1   # 2 and 3, not 1
    # without weights nothing is measured, and the record says so
    r = mech.product_pair(post, P, [K], freq, fve)
    assert r["qualifies"] is False and "no weights" in r["fallback"] and "votes" not in r


def test_sum_share_of_a_weighted_pair():
    assert mech.pair_sum_share(1.0, -1.0) == pytest.approx(1.0)       # the identity: all x + y
    assert mech.pair_sum_share(1.0, 1.0) == pytest.approx(0.0)        # cos(w(x − y)) only
    assert mech.pair_sum_share(0.5, -0.4) == pytest.approx(0.81 / 0.82)
