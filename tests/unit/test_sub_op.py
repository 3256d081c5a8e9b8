"""A `sub` run is measured as addition of x and −y mod p (extraction/coords.py):
key frequencies, restricted and excluded losses, the logit approximation, the crest and the story
check, in the coordinates (x, −y mod p), which the summary and the printed check name."""
import numpy as np
import pytest

from grokking.extraction import mechanism as mech
from grokking.extraction import story_check as sc
from grokking.extraction.coords import coordinates
from grokking.extraction.extract import analyse_activations
from grokking.training import tasks

P = 23
LOW, HIGH = 2, 5
X, Y = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")        # natural order: x the row, y the column
D = (X - Y)                                                           # the planted model computes x − y
SETTINGS = {"analysis_epoch": 0, "T": 9, "output": 7, "key_share": 0.01, "fve_threshold": 0.85,
            "probe_max_dims": 8, "story_k": None}


def w(k):
    return 2 * np.pi * k / P


def planted_sub(T=9):
    """Activations (natural order, x-major over the tokens) and weights of a model computing
    (x − y) mod p by the clock: logit c = 3 cos(w_5(x − y − c)) + 1.5 cos(w_2(x − y − c)); waves
    cos(w(x − y) + φ) of both frequencies, the product neurons cos(wx)cos(wy) and sin(wx)sin(wy)
    (their sum is cos(w(x − y))), and an MLP output whose dimension 0 has its crest on x − y ≡ T."""
    n, c = P * P, np.arange(P)
    logits = np.zeros((n, P + 1))
    logits[:, :P] = (3 * np.cos(w(HIGH) * (D.ravel()[:, None] - c)) + 1.5 * np.cos(w(LOW) * (D.ravel()[:, None] - c)))
    cols = [3 + 2 * np.cos(w(HIGH) * D + ph) for ph in np.linspace(0, 2.5, 6)]
    cols += [2 + 1.5 * np.cos(w(LOW) * D + ph) for ph in (0.0, 0.3, np.pi / 2)]
    cols += [2 + np.cos(w(k) * X) * np.cos(w(k) * Y) for k in (HIGH, LOW)]
    cols += [2 + np.sin(w(k) * X) * np.sin(w(k) * Y) for k in (HIGH, LOW)]
    post = np.stack([col.ravel() for col in cols], axis=1)
    s = (D - T).ravel()
    mlp_out = np.c_[2 * np.cos(w(LOW) * s) + np.cos(w(HIGH) * s), np.cos(w(LOW) * s + 1.0), np.zeros((n, 2))]
    d_model = 8
    W_E = np.zeros((P + 1, d_model))
    W_E[:P, 0], W_E[:P, 1] = 2 * np.cos(w(HIGH) * c), 2 * np.sin(w(HIGH) * c)
    W_E[:P, 2], W_E[:P, 3] = np.cos(w(LOW) * c), np.sin(w(LOW) * c)
    W = {"W_E": W_E, "W_pos": np.zeros((3, d_model)), "W_out": np.zeros((post.shape[1], d_model)),
         "W_U": np.zeros((d_model, P + 1))}
    act = {"logits": logits, "mlp.hook_post": post, "hook_mlp_out": mlp_out,
           "attn.hook_pattern": np.broadcast_to(np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None], (n, 2, 3, 3)),
           "hook_resid_mid": np.zeros((n, d_model)), "mlp.hook_pre": post}
    labels = tasks.answers("sub", X.ravel(), Y.ravel(), P)
    return act, W, labels


def test_sub_coordinates_read_y_as_minus_y():
    co = coordinates("sub", P)
    x, y = co.pairs()
    u, v = np.divmod(np.arange(P * P), P)
    assert (x == u).all() and (y == (-v) % P).all()
    # in measure order the answer is u + v: sub is addition of x and −y mod p
    assert (tasks.answers("sub", x, y, P) == (u + v) % P).all()
    assert (co.rows(np.arange(P * P)) == co.order).all()
    # a split of natural rows lands on the same pairs in measure order
    idx = np.array([0, 1, P + 3, P * P - 1])
    pos = co.positions(idx)
    assert sorted(co.order[pos].tolist()) == sorted(idx.tolist())
    assert co.y_axis == "−y mod p" and co.line == "x − y" and "−y mod p" in co.description and not co.identity
    # add (and pow, measured along x + y as before) are the identity: their numbers do not move
    for op in ("add", "pow"):
        assert coordinates(op, P).identity and (coordinates(op, P).order == np.arange(P * P)).all()


def test_a_planted_sub_model_is_recognised_with_its_key_frequencies():
    act, W, labels = planted_sub()
    S, A = analyse_activations(act, W, P, labels, SETTINGS, "sub", tasks.valid("sub", P))
    assert S["key_frequencies"] == [HIGH, LOW]
    assert S["key_shares"] == {str(HIGH): pytest.approx(0.8), str(LOW): pytest.approx(0.2)}
    add = S["additive"]
    assert add["found"] and add["y_axis"] == "−y mod p" and add["line"] == "x − y" and "−y mod p" in add["coordinates"]
    assert "x + (−y mod p)" in S["key_rule"]
    # the logit approximation in (x, −y) is exact: α_k recovered, its loss the model's
    la = S["logit_approx"]
    assert la["explained_variance"] == pytest.approx(1.0) and la["alphas"] == {str(HIGH): pytest.approx(3.0),
                                                                               str(LOW): pytest.approx(1.5)}
    assert la["loss"] == pytest.approx(la["model_loss"])
    assert S["story"]["k"] == LOW
    sel = S["selections"]
    assert sel["wave_neurons"]["found"] and sel["wave_neurons"]["freqs"][:2] == [LOW, LOW]
    assert sel["product_pair"]["found"] and sel["product_pair"]["k"] == LOW
    assert sel["product_pair"]["trig_corr_sum"] > 0.99          # cos·cos − sin·sin along x + (−y)
    # the crest on x − y ≡ T: dimension 0, its surface over (x, −y mod p), its points on u + v ≡ T
    cr = sel["crest"]
    assert cr["found"] and cr["qualifies"] and cr["kind"] == "dimension" and cr["dimension"] == 0
    assert all((u + v) % P == SETTINGS["T"] for u, v in cr["points"])
    co = coordinates("sub", P)
    np.testing.assert_allclose(A["selections"]["crest_surface"], co.rows(act["hook_mlp_out"][:, 0]).reshape(P, P))
    lg = sel["logit"]
    assert lg["on_line_fraction"] == 1.0 and all((u + v) % P == lg["output"] for u, v in lg["maxima"])
    # activations are stored as they came (over the tokens, x-major)
    np.testing.assert_array_equal(A["activations"]["logits"], act["logits"])
    # the same activations read as addition (what a sub run got before): nothing along x + y
    S_add, _ = analyse_activations(act, W, P, labels, SETTINGS, "add")
    assert S_add["key_frequencies"] == []


def test_a_planted_sub_model_measures_as_its_add_twin():
    """Relabelling y by −y mod p turns the planted sub model into an add model: every number the
    analysis gives the sub run is the one it gives that add model (add's numbers unchanged)."""
    act, W, labels = planted_sub()
    co = coordinates("sub", P)
    twin = {k: co.rows(v) for k, v in act.items()}          # row x*p + v holds the sub model's (x, −v)
    S_sub, A_sub = analyse_activations(act, W, P, labels, SETTINGS, "sub")
    S_add, A_add = analyse_activations(twin, W, P, co.rows(labels), SETTINGS, "add")
    assert (co.rows(labels) == (X + Y).ravel() % P).all()
    for key in ("key_frequencies", "key_shares", "logit_approx", "story", "neurons", "probe"):
        assert S_sub[key] == S_add[key], key
    for name in ("wave_neurons", "product_pair", "crest", "logit"):
        assert S_sub["selections"][name] == S_add["selections"][name], name
    for name, arr in A_add["selections"].items():
        np.testing.assert_allclose(A_sub["selections"][name], arr, err_msg=name)
    assert S_add["additive"]["y_axis"] == "y" and S_add["additive"]["line"] == "x + y"


def test_the_printed_check_names_the_coordinates():
    act, W, labels = planted_sub()
    S, _ = analyse_activations(act, W, P, labels, SETTINGS, "sub")
    sel = S["selections"]
    chk = sc.story_check(P, S["story"]["k"], sel["wave_neurons"], 0.01, 0.02, S["logit_approx"]["explained_variance"],
                         sel["logit"], sel["crest"], line=S["additive"]["line"], coords=S["additive"]["coordinates"])
    rows = {c["name"]: c for c in chk["criteria"]}
    assert rows["algorithm"]["passed"] and rows["answer singled out"]["passed"] and rows["crest"]["passed"]
    assert "x − y ≡ 7" in rows["answer singled out"]["value"] and "x − y ≡ 9" in rows["crest"]["value"]
    text = "\n".join(sc.lines(chk))
    assert "measured in the op's coordinates: x, and y read as −y mod p" in text
    # add's check prints no such line
    add = sc.story_check(P, S["story"]["k"], sel["wave_neurons"], 0.01, 0.02, 1.0, sel["logit"], sel["crest"])
    assert "coordinates" not in add and "x + y ≡ 7" in "\n".join(sc.lines(add))


def test_scenes_say_the_y_axis_of_a_sub_run(tmp_path):
    """Scenes read only assets: a sub run's surfaces are over (x, −y mod p) and every scene that
    draws the mechanism along x + y says so; an add run's say nothing."""
    from grokking.scenes import data as scene_data
    from grokking.scenes.surfaces import Crest
    from tests.synthetic import make_synthetic_assets
    make_synthetic_assets(tmp_path, run="synth-sub", op="sub")
    make_synthetic_assets(tmp_path, run="synth-add")
    with scene_data.using("synth-sub", tmp_path):
        assert scene_data.y_axis() == "−y mod p"
        note = scene_data.coordinates_note()
        assert note.startswith("y read as −y mod p: x − y = x + (−y mod p)")
        assert scene_data.absent("Crest") is None
        scene = Crest()
        scene.setup()
        assert scene.coordinates_note is not None and scene.coordinates_note in scene.mobjects
        assert scene.coordinates_note.text.replace(" ", "") == note.replace(" ", "")
    with scene_data.using("synth-add", tmp_path):
        assert scene_data.y_axis() == "y" and scene_data.coordinates_note() is None
        scene = Crest()
        scene.setup()
        assert scene.coordinates_note is None


# ---- a real sub run that groks ------------------------------------------------------------------

@pytest.fixture(scope="module")
def sub_run(tmp_path_factory):
    """The quick preset on (x − y) mod 53 at lr 1e-2 (groks at about epoch 900 of 1,500), with
    sparse checkpoints, trained and extracted once (about 20 s)."""
    from grokking.extraction.extract import extract
    from grokking.training.config import QUICK, Schedule
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    root = tmp_path_factory.mktemp("sub")
    cfg = QUICK.replace(op="sub", lr=1e-2, epochs=1500,
                        schedule=Schedule(dense_until=10, log_until=200, n_log=10, stride=100))
    train([Seeded(cfg, Run("h4-sub", root / "runs"))], progress=False)
    extract("h4-sub", progress=False, runs_root=root / "runs", assets_root=root / "assets")
    return root


@pytest.mark.slow
def test_a_grokked_sub_run_extracts_its_key_frequencies_and_measures_the_story(sub_run):
    from grokking.common.assets import Assets
    a = Assets("h4-sub", sub_run / "assets")
    s = a.summary
    p = s["task"]["p"]
    assert s["task"]["op"] == "sub" and s["grokked"]
    assert 2 <= len(s["key_frequencies"]) <= 8                  # not "none"
    assert s["additive"]["found"] and s["additive"]["y_axis"] == "−y mod p" and "note" not in s
    assert "- coordinates: x, and y read as −y mod p" in (sub_run / "assets" / "h4-sub" / "summary.md").read_text()
    assert s["logit_approx"]["explained_variance"] > 0.8
    # restricted and excluded losses along x + (−y): the key frequencies alone beat the model, and
    # removing them leaves nothing that fits the training data
    c = a["curves"]
    assert np.isfinite(c["restricted_loss_test"]).all() and c["restricted_loss_test"][-1] < c["test_loss"][-1]
    assert c["excluded_loss"][-1] > 1.0 > 10 * c["restricted_loss_train"][-1]
    # every row of the story check measured (none "not measured"), the lines named x − y
    chk = a.story_check
    assert chk.found and chk.evidence["coordinates"] == s["additive"]["coordinates"]
    for name in chk.FINAL_ROWS + chk.TIME_ROWS:
        assert not str(chk.row(name)["value"]).startswith("not measured"), name
    alg = chk.row("algorithm")
    assert alg["restricted_test_loss"] < alg["model_test_loss"]
    assert f"on x − y ≡ {s['selections']['logit']['output']}" in chk.row("answer singled out")["value"]
    assert "measured in the op's coordinates" in "\n".join(sc.lines(s["story_check"]))
    # surfaces over (x, −y mod p): the crest's points and the logit's maxima are pairs (x, v) with
    # x + v ≡ T, i.e. tokens (x, y = −v) with x − y ≡ T; the logit surface is the model's, reordered
    cr = s["selections"]["crest"]
    assert cr["found"] and all((u + v) % p == cr["T"] for u, v in cr["points"])
    out = s["selections"]["logit"]["output"]
    co = coordinates("sub", p)
    np.testing.assert_allclose(a["selections"]["logit_surface"],
                               co.rows(a["activations"]["logits"][:, out]).reshape(p, p))
    assert s["selections"]["logit"]["on_line_fraction"] > 0.7


def test_scenes_of_a_digits_embedding_carry_no_note(tmp_path):
    """EmbeddingProbe and the Clock draw the embedding of a digit: for sub over x as it is, as for
    add, so no note (mul's, over the discrete log, has one: tests/unit/test_scene_ops.py)."""
    from grokking.scenes import data as scene_data
    from grokking.scenes.clock import Clock
    from grokking.scenes.probes import EmbeddingProbe
    from tests.synthetic import make_synthetic_assets
    make_synthetic_assets(tmp_path, run="synth-sub", op="sub")
    assert "Crest" in scene_data.OVER_PAIRS and "EmbeddingProbe" not in scene_data.OVER_PAIRS
    with scene_data.using("synth-sub", tmp_path):
        for cls in (Clock, EmbeddingProbe):
            scene = cls()
            scene.setup()
            assert scene.coordinates_note is None


@pytest.mark.slow
def test_the_seed_choices_check_of_a_sub_run_is_extractions(sub_run):
    """check_at (the main job's seed choice, grokking/lab/recipe_table.py) measures a sub run in the
    same coordinates as extraction: the same rows, the same numbers."""
    from grokking.common.assets import Assets
    from grokking.extraction.extract import check_at
    from grokking.training.history import Run
    s = Assets("h4-sub", sub_run / "assets").summary
    S = check_at(Run("h4-sub", sub_run / "runs"), s["analysis_epoch"])
    assert S["key_frequencies"] and S["key_frequencies"] == s["key_frequencies"]
    ours = {c["name"]: c for c in S["story_check"]["criteria"]}
    for c in s["story_check"]["criteria"]:
        if c["name"] in ("algorithm", "answer singled out", "crest"):
            assert ours[c["name"]]["value"] == c["value"] and ours[c["name"]]["passed"] == c["passed"], c["name"]
