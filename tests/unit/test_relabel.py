"""The Relabel scene's arithmetic: sorted by the discrete log, the multiplication (and division)
table mod p is the addition table mod p − 1; in natural order it is not; the row slide starts at the
natural image and ends at the sorted one. No rendering."""
from __future__ import annotations

import numpy as np
import pytest

from grokking.extraction.coords import discrete_log, generator
from grokking.scenes import relabel as R


def _addition(n):
    i = np.arange(n)
    return (i[:, None] + i[None, :]) % n


@pytest.mark.parametrize("p", [7, 113])
@pytest.mark.parametrize("op", ["mul", "div"])
def test_log_order_is_the_addition_table(op, p):
    g = generator(p)
    T = R.table_in_log_order(op, p)
    assert T.shape == (p - 1, p - 1)
    assert (R.answer_logs(T, p, g) == _addition(p - 1)).all()
    # cell (i, j) is g^((i + j) mod (p − 1)) itself
    assert all(T[i, j] == pow(g, (i + j) % (p - 1), p) for i in range(0, p - 1, 5) for j in range(0, p - 1, 7))


@pytest.mark.parametrize("p", [7, 113])
@pytest.mark.parametrize("op", ["mul", "div"])
def test_natural_order_is_not(op, p):
    T = R.table(op, p)
    x, y = np.meshgrid(np.arange(1, p), np.arange(1, p), indexing="ij")
    assert (T == ((x * y) % p if op == "mul" else (x * np.array([pow(int(v), -1, p) for v in range(1, p)])[None, :]) % p)).all()
    logs = R.answer_logs(T, p)
    assert not (logs == _addition(p - 1)).all()
    # not even up to a shift of the log: natural order has no constant anti-diagonals
    assert not any(((logs - _addition(p - 1)) % (p - 1) == c).all() for c in range(p - 1))


def test_the_table_is_the_task_at_p():
    """The known small table: (x · y) mod 7 at row 3, and 3 generating it (3, 2, 6, 4, 5, 1)."""
    assert R.table("mul", 7)[2].tolist() == [3, 6, 2, 5, 1, 4]
    assert R.table("div", 7)[5, 1].tolist() == 3              # 6 / 2 = 3
    rows, cols = R.log_order("mul", 7)
    assert rows.tolist() == [1, 3, 2, 6, 4, 5] and cols.tolist() == rows.tolist()
    _, dcols = R.log_order("div", 7)
    assert dcols.tolist() == [1, 5, 4, 6, 2, 3]                # g^(−j): 3⁻¹ = 5 mod 7
    assert R.group_op("add") == "mul" and R.group_op("sub") == "mul" and R.group_op("div") == "div"


def test_another_generator_sorts_to_the_addition_table_too():
    """The order follows the generator given (a run's own): 5 also generates mod 7."""
    T = R.table_in_log_order("mul", 7, 5)
    assert (discrete_log(7, 5)[T] == _addition(6)).all()
    assert not (discrete_log(7, 3)[T] == _addition(6)).all()


def test_slide_runs_from_natural_to_log_order():
    rows, _ = R.log_order("mul", 7)
    assert np.allclose(R.slide(rows, 0.0), np.arange(6))
    end = R.slide(rows, 1.0)
    assert np.allclose(end[rows - 1], np.arange(6))            # token g^i ends at row i
    mid = R.slide(rows, 0.5)
    assert np.allclose(mid, (np.arange(6) + end) / 2)


@pytest.mark.parametrize("p", [7, 113])
def test_frame_at_the_ends_is_the_natural_then_the_sorted_image(p):
    n, s = p - 1, 3
    bg = np.array([1, 2, 3], np.uint8)
    colors = R.log_colors(R.answer_logs(R.table("mul", p), p), n)
    rows, cols = R.log_order("mul", p)
    up = lambda c: np.repeat(np.repeat(c, s, 0), s, 1)
    nat = np.arange(n)
    start = R.frame(colors, R.slide(rows, 0), R.slide(cols, 0), s, bg)
    assert start.shape == (n * s, n * s, 3) and (start == up(colors)).all()
    half = R.frame(colors, R.slide(rows, 1), nat, s, bg)        # rows sorted, columns not yet
    assert (half == up(colors[rows - 1])).all()
    end = R.frame(colors, R.slide(rows, 1), R.slide(cols, 1), s, bg)
    assert (end == up(colors[np.ix_(rows - 1, cols - 1)])).all()
    sorted_colors = R.log_colors(_addition(n), n)
    assert (end == up(sorted_colors)).all()                     # the addition table's colours
    assert not (start == end).all()
    # mid-slide: rows between places, the background shows where none is drawn
    mid = R.frame(colors, R.slide(rows, 0.37), nat, s, bg)
    assert not (mid == start).all() and not (mid == half).all()


def test_colours_are_cyclic_and_equal_answers_share_one():
    n = 112
    c = R.log_colors(np.arange(n), n).astype(int)
    step = np.abs(np.diff(c, axis=0)).sum(1)
    assert np.abs(c[0] - c[-1]).sum() <= 3 * step.max()        # n − 1 sits beside 0 on the clock
    T = R.table("mul", 113)
    cols = R.log_colors(R.answer_logs(T, 113), n)
    assert (cols[T == 5] == cols[T == 5][0]).all()
    ring = R.ring_image(6, px=60)
    assert ring.shape == (60, 60, 4) and ring[30, 30, 3] == 0 and ring[1, 30, 3] == 255


def test_catalogued_after_the_clock_and_filmed_as_beyond_the_video():
    """The catalogue's "—" (no transcript time): the film titles its chapter and part card as a step
    beyond the video, not as a section the video has."""
    from grokking.pipeline import film
    from grokking.scenes import catalog
    names = list(catalog.SCENES)
    assert names[names.index("Clock") + 1] == "Relabel"
    assert catalog.scene_class("Relabel") is R.Relabel
    assert film.section("Relabel") == film.BEYOND
    assert film.chapter_title("Relabel").startswith("Beyond the video — ")
    parts = film.story(["Clock", "Relabel", "NeuronSurface"])
    assert [m for m, _, _ in parts] == ["clock", "relabel", "surfaces"]
    card = film.part_card(2, parts[1][1], parts[1][2])
    assert "beyond the video" in " ".join(card.lines) and "retelling" not in " ".join(card.lines)
    assert film.part_card(1, parts[0][1], parts[0][2]).lines[0].startswith("retelling the video's")


# ---- the scene's text, from synthetic assets (renders a still: slow) ------------------------------

@pytest.fixture(scope="module")
def synth_runs(tmp_path_factory):
    """Synthetic assets at p = 23: the add run as written, and mul and div runs planted from it (the
    summary's task and "additive" as extraction writes them for those ops, key frequencies over
    Z_22; the manifest's sha256 of the summary made again)."""
    import hashlib
    import json
    import shutil
    from tests.synthetic import make_synthetic_assets
    from grokking.extraction.coords import coordinates
    root = tmp_path_factory.mktemp("assets")
    make_synthetic_assets(root, run="synth")
    for op in ("mul", "div"):
        shutil.copytree(root / "synth", root / op)
        s = json.loads((root / op / "summary.json").read_text())
        s["run"] = op
        s["task"]["op"] = op
        c = coordinates(op, 23)
        s["additive"] = {"found": True, "op": op, "x_axis": c.x_axis, "y_axis": c.y_axis, "line": c.line,
                         "coordinates": c.description, "n": c.n, "generator": c.generator}
        s["key_frequencies"] = [3, 7]
        (root / op / "summary.json").write_text(json.dumps(s))
        m = json.loads((root / op / "manifest.json").read_text())
        m["files"]["summary.json"] = hashlib.sha256((root / op / "summary.json").read_bytes()).hexdigest()
        (root / op / "manifest.json").write_text(json.dumps(m))
    return root


@pytest.mark.slow
@pytest.mark.parametrize("run", ["synth", "mul", "div"])
def test_scene_says_what_it_shows_and_is_legible(run, synth_runs, tmp_path):
    """Every text at least theme.MIN_TEXT; p and p − 1 are the run's (23, 22); a mul or div run
    names its key frequencies over Z_22, an add run says the table is the multiplication table at
    its p; a div run shows x / y with its columns by −log y."""
    pytest.importorskip("manim")
    from tests.unit.test_figures import _smallest_texts
    from grokking.scenes.theme import MIN_TEXT
    texts = _smallest_texts("Relabel", synth_runs, tmp_path, run=run)
    small = [(s, t) for s, t in texts if s < MIN_TEXT - 0.05]
    assert not small, small[:5]
    shown = " | ".join(t for _, t in texts)                  # Manim's Text drops the spaces
    has = lambda phrase: phrase.replace(" ", "") in shown
    assert has("(x · y) mod 23") or has("(x / y) mod 23")
    assert has("the clock again, with 22 hours") and has("the addition table mod 22")
    assert has("k = 3, 7 of Z₂₂") == (run != "synth")
    assert has("this is the multiplication table at its p = 23") == (run == "synth")
    assert has("(x / y) mod 23") == (run == "div") and has("−log₅ y mod 22") == (run == "div")
    assert has("x · y = 5ⁱ⁺ʲ") or has("x / y = 5ⁱ⁺ʲ")


@pytest.mark.parametrize("p", [7, 23, 113])
@pytest.mark.parametrize("op", ["mul", "div"])
def test_wrap_example_passes_zero_on_the_clock(op, p):
    """The example cell: its logs add past p − 1 (the hand passes 0), x · y is g to their sum mod
    p − 1, and no pair with a smaller x + y does so (brute force)."""
    g = generator(p)
    n = p - 1
    x, y, i, j = R.wrap_example(op, p)
    lg = discrete_log(p, g)
    assert i == lg[x] and j == (lg[y] if op == "mul" else (-lg[y]) % n)
    assert i + j > n and x != y and min(x, y) >= 2
    assert R.table(op, p)[x - 1, y - 1] == pow(g, (i + j) % n, p)
    for a in range(2, p):
        for b in range(2, p):
            jb = lg[b] if op == "mul" else (-lg[b]) % n
            if a != b and lg[a] + jb > n:
                assert (x + y, x) <= (a + b, a)
    assert R.wrap_example("mul", 113) == (5, 8, 83, 36)          # 3⁸³ · 3³⁶ = 3¹¹⁹ = 3⁷ = 40
    assert R.wrap_example("mul", 3) is None                       # two hours: no pair of distinct x, y ≥ 2
