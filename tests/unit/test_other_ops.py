"""mul, div and pow measured in their own coordinates (extraction/coords.py), on planted models:
a network that multiplies by adding discrete logs is recognised with its planted frequencies over
Z_(p−1); a pow network whose x ↦ x^a is not one-to-one is recognised over the pairs as they are;
a one-to-one pow is a relabelled grid; add is untouched."""
import numpy as np
import pytest

from grokking.extraction import fourier as fo
from grokking.extraction import mechanism as mech
from grokking.extraction.coords import (collision_share, coordinates, discrete_log, generator, power_map,
                                        powers_of)
from grokking.extraction.extract import analyse_activations, answer_elements, directions
from grokking.training import tasks

P = 23                      # n = 22 for mul and div: its frequencies 1..10 and the Nyquist 11
N = P - 1
LOW, HIGH = 2, 5
SETTINGS = {"analysis_epoch": 0, "T": 9, "output": 7, "key_share": 0.01, "fve_threshold": 0.85,
            "probe_max_dims": 8, "story_k": None}


def wv(k, n):
    return 2 * np.pi * k / n


def planted_clock(n: int, T: int):
    """An add model over Z_n in measure order (row u·n + v, logit column = element): logit c =
    3 cos(w_5(u + v − c)) + 1.5 cos(w_2(u + v − c)); waves cos(w(u + v) + φ); the product neurons
    cos(wu)cos(wv), sin(wu)sin(wv); an MLP output whose dimension 0 crests on u + v ≡ T; an
    embedding carrying cos/sin of both frequencies of its element."""
    U, V = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    S, c = (U + V).ravel(), np.arange(n)
    logits = 3 * np.cos(wv(HIGH, n) * (S[:, None] - c)) + 1.5 * np.cos(wv(LOW, n) * (S[:, None] - c))
    cols = [3 + 2 * np.cos(wv(HIGH, n) * (U + V) + ph) for ph in np.linspace(0, 2.5, 6)]
    cols += [2 + 1.5 * np.cos(wv(LOW, n) * (U + V) + ph) for ph in (0.0, 0.3, np.pi / 2)]
    cols += [2 + np.cos(wv(k, n) * U) * np.cos(wv(k, n) * V) for k in (HIGH, LOW)]
    cols += [2 + np.sin(wv(k, n) * U) * np.sin(wv(k, n) * V) for k in (HIGH, LOW)]
    post = np.stack([col.ravel() for col in cols], axis=1)
    s = S - T
    mlp_out = np.c_[2 * np.cos(wv(LOW, n) * s) + np.cos(wv(HIGH, n) * s), np.cos(wv(LOW, n) * s + 1.0),
                    np.zeros((n * n, 2))]
    emb = np.stack([2 * np.cos(wv(HIGH, n) * c), 2 * np.sin(wv(HIGH, n) * c), np.cos(wv(LOW, n) * c),
                    np.sin(wv(LOW, n) * c)], axis=1)
    return {"logits": logits, "post": post, "mlp_out": mlp_out, "emb": emb}


def in_natural_order(op: str, clock: dict, p: int):
    """The planted clock placed where op's coordinates read it: measure row i at natural row
    order[i], element m's logit at token outputs[m], element m's embedding at token digits[m]. The
    zero pairs (outside the group) answer 0 with a logit of 10."""
    co = coordinates(op, p)
    d_model, n_rows = 8, p * p
    logits = np.zeros((n_rows, p + 1))
    logits[np.ix_(co.order, co.outputs)] = clock["logits"]
    if co.apart is not None:
        logits[co.apart, 0] = 10.0
        logits[np.ix_(co.order, [0])] = -10.0
    post = np.zeros((n_rows, clock["post"].shape[1]))
    post[co.order] = clock["post"]
    mlp_out = np.zeros((n_rows, 4))
    mlp_out[co.order] = clock["mlp_out"]
    W_E = np.zeros((p + 1, d_model))
    W_E[co.digits, :4] = clock["emb"]
    W = {"W_E": W_E, "W_pos": np.zeros((3, d_model)), "W_out": np.zeros((post.shape[1], d_model)),
         "W_U": np.zeros((d_model, p + 1))}
    act = {"logits": logits, "mlp.hook_post": post, "hook_mlp_out": mlp_out,
           "attn.hook_pattern": np.broadcast_to(np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None], (n_rows, 2, 3, 3)),
           "hook_resid_mid": np.zeros((n_rows, d_model)), "mlp.hook_pre": post}
    return act, W, tasks.answers(op, *tasks.all_pairs(p), p)


def test_the_discrete_log_turns_mul_into_addition():
    g = generator(113)
    assert g == 3 and generator(P) == 5 and generator(11) == 2
    pw, lg = powers_of(g, 113), discrete_log(113)
    assert sorted(pw.tolist()) == list(range(1, 113)) and (lg[pw] == np.arange(112)).all() and lg[0] == -1
    for op in ("mul", "div"):
        co = coordinates(op, P)
        x, y = co.pairs()
        c = tasks.answers(op, x, y, P)
        # in measure order the answer's element is u + v mod p − 1
        assert (answer_elements(co, c) == co.sums()).all() and co.n == N and co.grid
        assert (co.outputs[co.sums()] == c).all()
        # the group's pairs and the zero pairs apart are every example, each once
        examples = np.flatnonzero(tasks.valid(op, P))
        assert sorted(np.r_[co.order, co.apart].tolist()) == examples.tolist()
    # a train split of natural rows lands on its group pairs; the zero pairs drop out
    co = coordinates("mul", P)
    idx = np.array([0, 5, P + 1, 3 * P + 7, P * P - 1])
    pos = co.positions(idx)
    assert sorted(co.order[pos].tolist()) == [P + 1, 3 * P + 7, P * P - 1]


def test_a_planted_mul_model_is_recognised_over_the_discrete_log():
    co = coordinates("mul", P)
    T, out = co.element(SETTINGS["T"]), co.element(SETTINGS["output"])
    act, W, labels = in_natural_order("mul", planted_clock(N, T), P)
    S, A = analyse_activations(act, W, P, labels, SETTINGS, "mul", tasks.valid("mul", P))
    assert S["key_frequencies"] == [HIGH, LOW]
    assert S["key_shares"] == {str(HIGH): pytest.approx(0.8), str(LOW): pytest.approx(0.2)}
    assert S["key_labels"] == [fo.freq_label(HIGH, N), fo.freq_label(LOW, N)] and "2πk/22" in S["key_rule"]
    add = S["additive"]
    assert add["found"] and add["n"] == N and add["generator"] == 5 and add["line"] == "log₅ x + log₅ y"
    la = S["logit_approx"]
    assert la["explained_variance"] == pytest.approx(1.0)
    assert la["alphas"] == {str(HIGH): pytest.approx(3.0), str(LOW): pytest.approx(1.5)}
    # the answer singled out on i + j ≡ log 7, the crest on i + j ≡ log 9: elements, named by their answers
    sel = S["selections"]
    assert sel["logit"]["output"] == out and sel["logit"]["on_line_fraction"] == 1.0
    assert all((u + v) % N == out for u, v in sel["logit"]["maxima"])
    cr = sel["crest"]
    assert cr["found"] and cr["qualifies"] and cr["T"] == T and all((u + v) % N == T for u, v in cr["points"])
    assert A["selections"]["crest_surface"].shape == (N, N)
    assert sel["wave_neurons"]["found"] and sel["product_pair"]["found"] and sel["product_pair"]["k"] == LOW
    # the embedding's waves and the probe are over the discrete log
    assert S["embedding_frequencies"][:2] == [HIGH, LOW] and S["probe"]["cos"]["r2"] > 0.99
    # the zero pairs apart: 2p − 1 of them, all answered 0
    zp = add["zero_pairs"]
    assert zp["pairs"] == 2 * P - 1 and zp["accuracy"] == 1.0 and zp["mean_p_zero"] > 0.99
    # the activations are stored as they came
    np.testing.assert_array_equal(A["activations"]["logits"], act["logits"])


def test_a_planted_mul_model_measures_as_its_add_twin_over_z_p_minus_1():
    """Read through the discrete log, the planted mul network IS an add network over Z_(p−1):
    every number the analysis gives it is the twin's."""
    co = coordinates("mul", P)
    T, out = co.element(SETTINGS["T"]), co.element(SETTINGS["output"])
    clock = planted_clock(N, T)
    act, W, labels = in_natural_order("mul", clock, P)
    S_mul, A_mul = analyse_activations(act, W, P, labels, SETTINGS, "mul", tasks.valid("mul", P))
    twin = {"logits": np.c_[clock["logits"], np.zeros(N * N)], "mlp.hook_post": clock["post"],
            "hook_mlp_out": clock["mlp_out"], "mlp.hook_pre": clock["post"], "hook_resid_mid": np.zeros((N * N, 8)),
            "attn.hook_pattern": act["attn.hook_pattern"][:N * N]}
    W_twin = {**W, "W_E": np.r_[W["W_E"][co.digits], np.zeros((1, 8))], "W_U": np.zeros((8, N + 1))}
    U, V = np.divmod(np.arange(N * N), N)
    S_add, A_add = analyse_activations(twin, W_twin, N, (U + V) % N, dict(SETTINGS, T=T, output=out), "add")
    for key in ("key_frequencies", "key_shares", "key_labels", "logit_approx", "story", "neurons"):
        assert close(S_mul[key], S_add[key]), key
    assert S_mul["probe"].pop("rule").endswith(", over log₅ x")        # the probe says what its x axis is
    S_add["probe"].pop("rule")
    assert close(S_mul["probe"], S_add["probe"])
    for name in ("wave_neurons", "product_pair", "logit"):
        assert close(S_mul["selections"][name], S_add["selections"][name]), name
    for name in ("crest_surface", "logit_surface", "pair_surfaces", "wave_surfaces"):
        if name in A_add["selections"]:
            np.testing.assert_allclose(A_mul["selections"][name], A_add["selections"][name], err_msg=name)


def close(a, b) -> bool:
    """JSON values equal, their floats to 1e-12 (the twin's losses sum in another order)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(close(u, v) for u, v in zip(a, b))
    if isinstance(a, float):
        return b == pytest.approx(a, rel=1e-12, abs=1e-12)
    return a == b


def test_a_planted_div_model_reads_y_as_minus_its_log():
    co = coordinates("div", P)
    T = co.element(SETTINGS["T"])
    act, W, labels = in_natural_order("div", planted_clock(N, T), P)
    S, _ = analyse_activations(act, W, P, labels, SETTINGS, "div", tasks.valid("div", P))
    assert S["key_frequencies"] == [HIGH, LOW] and S["logit_approx"]["explained_variance"] == pytest.approx(1.0)
    assert S["additive"]["y_axis"] == "−log₅ y mod 22" and S["additive"]["zero_pairs"]["pairs"] == P - 1


def planted_pow(a: int, b: int, ks=(HIGH, LOW), alphas=(3.0, 1.5), alike: bool = True):
    """A pow network over the pairs as they are: logit c = Σ α cos(w_k(x^a + y^b − c)) mod p; its
    embedding carries cos/sin(w x^a) (alike) — or, not alike, a wave of x itself."""
    x, y = tasks.all_pairs(P)
    s = (power_map(a, P)[x] + power_map(b, P)[y]) % P
    c = np.arange(P)
    logits = np.zeros((P * P, P + 1))
    for k, al in zip(ks, alphas):
        logits[:, :P] += al * np.cos(wv(k, P) * (s[:, None] - c))
    cols = [2 + np.cos(wv(k, P) * s + ph) for k in ks for ph in (0.0, 1.0)]
    post = np.stack(cols, axis=1)
    t = power_map(a, P) if alike else np.arange(P)
    W_E = np.zeros((P + 1, 8))
    W_E[:P, 0], W_E[:P, 1] = np.cos(wv(HIGH, P) * t), np.sin(wv(HIGH, P) * t)
    W = {"W_E": W_E, "W_pos": np.zeros((3, 8)), "W_out": np.zeros((post.shape[1], 8)), "W_U": np.zeros((8, P + 1))}
    act = {"logits": logits, "mlp.hook_post": post, "hook_mlp_out": np.zeros((P * P, 8)), "mlp.hook_pre": post,
           "hook_resid_mid": np.zeros((P * P, 8)),
           "attn.hook_pattern": np.broadcast_to(np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None], (P * P, 2, 3, 3))}
    return act, W, tasks.answers("pow", x, y, P, a, b)


def test_a_pow_network_with_a_colliding_power_is_recognised():
    """x ↦ x² is 2-to-1 mod 23: no grid, yet the planted frequencies are found over the pairs as
    they are, the logit approximation is exact, and the embedding's collisions are measured."""
    co = coordinates("pow", P, 2, 2)
    assert not co.grid and co.collisions and "2-to-1" in co.collisions[0]
    act, W, labels = planted_pow(2, 2)
    S, A = analyse_activations(act, W, P, labels, SETTINGS, "pow", tasks.valid("pow", P), 2, 2)
    assert S["key_frequencies"] == [HIGH, LOW]
    assert S["key_shares"][str(HIGH)] == pytest.approx(0.8, abs=0.02)
    la = S["logit_approx"]
    assert la["explained_variance"] == pytest.approx(1.0)
    assert la["alphas"] == {str(HIGH): pytest.approx(3.0), str(LOW): pytest.approx(1.5)}
    assert la["loss"] == pytest.approx(la["model_loss"])
    add = S["additive"]
    assert add["grid"] is False and add["x_axis"] == "x²" and add["line"] == "x² + y²"
    assert add["collision_share"] == {"x²": pytest.approx(1.0), "y²": pytest.approx(1.0)}   # colliding inputs alike
    # neurons that are waves of x² + y² are found at their frequency over the pairs
    neu = A["neurons"]
    assert neu["freq"][:2].tolist() == [HIGH, HIGH] and neu["fve"].min() > 0.99
    # what needs a grid is not found, saying why
    for name in ("wave_neurons", "product_pair", "crest", "logit"):
        part = S["selections"][name]
        assert part["found"] is False and "2-to-1" in part["reason"], name
    # an embedding that ignores the collisions (a wave of x itself) is told apart
    _, W_x, _ = planted_pow(2, 2, alike=False)
    assert collision_share(W_x["W_E"][:P], 2, P) < 0.7
    assert collision_share(W["W_E"][:P], 3, P) is None                   # x³ is one-to-one mod 23


def test_the_pair_directions_are_the_grids_on_a_grid():
    """On a one-to-one map the generic directions span what fo.sum_directions spans: the restricted
    loss of any logits is the same through either."""
    co = coordinates("add", P)
    G = fo.sum_directions(P, [HIGH, LOW])
    Q = mech.pair_directions(co.sums(), P, [HIGH, LOW])
    np.testing.assert_allclose(Q @ Q.T, np.eye(4), atol=1e-10)
    np.testing.assert_allclose(G.T @ G, Q.T @ Q, atol=1e-10)
    assert (directions(co, [HIGH]) == fo.sum_directions(P, [HIGH])).all()        # add: the grid's own


def test_a_one_to_one_pow_is_a_relabelled_grid():
    """x ↦ x³ and y ↦ y⁵ are one-to-one mod 23 (gcd with 22 is 1): a p×p grid over (x³, y⁵), on
    which the planted network is an add network."""
    co = coordinates("pow", P, 3, 5)
    assert co.grid and co.n == P and co.x_axis == "x³" and co.y_axis == "y⁵"
    x, y = co.pairs()
    assert (tasks.answers("pow", x, y, P, 3, 5) == co.sums()).all()
    act, W, labels = planted_pow(3, 5)
    S, _ = analyse_activations(act, W, P, labels, SETTINGS, "pow", tasks.valid("pow", P), 3, 5)
    assert S["key_frequencies"] == [HIGH, LOW] and S["logit_approx"]["explained_variance"] == pytest.approx(1.0)
    assert S["selections"]["logit"]["found"] and S["selections"]["logit"]["on_line_fraction"] == 1.0


def test_add_and_sub_keep_their_coordinates():
    for op in ("add", "sub"):
        co = coordinates(op, P)
        assert co.n == P and co.grid and co.apart is None and co.generator is None
        assert (co.outputs == np.arange(P)).all() and (co.digits == np.arange(P)).all()
    assert coordinates("add", P).identity and coordinates("pow", P, 1, 1).identity


@pytest.mark.slow
def test_the_op_table_rows_name_each_runs_group(runs_dir, tiny_cfg):
    """grokking.lab.op_table: one row per run, in the run's own coordinates."""
    from grokking.lab import op_table
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    cfgs = {"m": tiny_cfg.replace(op="mul"), "q": tiny_cfg.replace(op="pow", a=2, b=3)}
    for name, c in cfgs.items():
        train([Seeded(c, Run(name))], progress=False)
    rows = {name: op_table.row(Run(name)) for name in cfgs}
    assert rows["m"]["group"] == "Z_10 (log base 2)" and rows["m"]["task"] == "mul"
    assert 0 <= rows["m"]["zero_pairs"] <= 1 and rows["m"]["collision_share"] is None
    assert rows["q"]["group"] == "Z_11, no grid" and rows["q"]["task"] == "pow x² + y³"
    assert set(rows["q"]["collision_share"]) == {"x²"}        # y ↦ y³ is one-to-one mod 11 (gcd(3, 10) = 1)
    md = op_table.markdown(list(rows.values())).splitlines()
    assert len(md) == 4 and all(line.count("|") == md[0].count("|") for line in md)


def test_the_legendre_symbol_is_a_frequency_of_the_discrete_log():
    """n = p − 1 is even: its Nyquist wave cos(π(i + j)) = (−1)^(i+j) — whether x·y is a square mod
    p — is a real frequency of Z_(p−1), and a mul network using it is measured with it (without it
    the restricted loss would miss that part of the logits)."""
    co = coordinates("mul", P)
    T = co.element(SETTINGS["T"])
    clock = planted_clock(N, T)
    S_ = (np.divmod(np.arange(N * N), N)[0] + np.divmod(np.arange(N * N), N)[1])
    clock["logits"] = clock["logits"] + 0.8 * np.cos(np.pi * (S_[:, None] - np.arange(N)))
    clock["post"] = np.c_[clock["post"], 2 + (-1.0) ** S_]           # a Legendre-symbol neuron
    act, W, labels = in_natural_order("mul", clock, P)
    S, A = analyse_activations(act, W, P, labels, SETTINGS, "mul", tasks.valid("mul", P))
    assert set(S["key_frequencies"]) == {HIGH, LOW, N // 2} and S["key_labels"][-1] == "π"
    assert A["neurons"]["freq"][-1] == N // 2 and A["neurons"]["fve"][-1] == pytest.approx(1.0)
    assert S["neurons"]["clusters"][str(N // 2)] == 1
    la = S["logit_approx"]
    assert la["explained_variance"] == pytest.approx(1.0) and la["alphas"][str(N // 2)] == pytest.approx(0.8)
    assert fo.rows_of(N // 2, N) == [N - 1] and fo.sum_directions(N, [N // 2])[1].any() == False
    # on an odd p there is no Nyquist: add's frequencies are what they always were
    assert list(fo.frequencies(113)) == list(range(1, 57)) and not fo.is_nyquist(56, 113)


def test_the_answer_is_singled_out_over_the_pairs_of_a_colliding_pow():
    """No surface, yet the story check's row is measured: the output's largest logits lie on
    x² + y² ≡ output over the pairs as they are; a network whose logits are noise fails it."""
    from grokking.extraction import story_check as sc
    act, W, labels = planted_pow(2, 2)
    S, _ = analyse_activations(act, W, P, labels, SETTINGS, "pow", tasks.valid("pow", P), 2, 2)
    on = S["additive"]["answer_on_line"]
    co = coordinates("pow", P, 2, 2)
    assert on["output"] == SETTINGS["output"] and on["pairs_on_line"] == int((co.sums() == 7).sum())
    assert on["on_line_fraction"] == 1.0
    sel = S["selections"]
    chk = sc.story_check(P, S["story"]["k"], sel["wave_neurons"], 0.01, 0.02, 1.0, sel["logit"], sel["crest"],
                         line=S["additive"]["line"], answer_pairs=on)
    row = {c["name"]: c for c in chk["criteria"]}["answer singled out"]
    assert row["passed"] and "x² + y² ≡ 7" in row["value"] and "no grid" in row["value"]
    noise = dict(act, logits=np.random.default_rng(0).normal(size=act["logits"].shape))
    S2, _ = analyse_activations(noise, W, P, labels, SETTINGS, "pow", tasks.valid("pow", P), 2, 2)
    assert S2["additive"]["answer_on_line"]["on_line_fraction"] < 0.5
    # on a grid the row reads the logit surface: no pairs measure
    act35, W35, labels35 = planted_pow(3, 5)
    S35, _ = analyse_activations(act35, W35, P, labels35, SETTINGS, "pow", None, 3, 5)
    assert S35["additive"].get("answer_on_line") is None and S35["selections"]["logit"]["found"]
