"""The assets contract (common/assets.py): write() refuses what the format does not say, the parts
read back what was written, activations carry TransformerLens's layouts, extraction's staleness
follows its settings as asked and its code as imported."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from grokking.common import assets as fmt
from tests.synthetic import make_synthetic_assets


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return make_synthetic_assets(tmp_path_factory.mktemp("assets"), run="synth")


def _contents(folder):
    a = fmt.Assets(folder.name, folder.parent)
    files = {name: dict(a[name]) for name in fmt.FILES}
    return files, json.loads((folder / "summary.json").read_text())


# ---- write() is the contract -------------------------------------------------------------------

@pytest.mark.parametrize("fault, message", [
    ("drop a found selection's array", "selections.npz crest_surface: missing although crest was found"),
    ("keep a not-found selection's array", "selections.npz wave_sweeps: present although wave_neurons was not found"),
    ("an array of no selection", "belong to no selection"),
    ("an undocumented activation", "not documented"),
    ("a file short", "assets need the files"),
    ("a curve short", "curves.npz lacks \\['all_grad_norm'\\]"),
    ("an undeclared curve", "curves.npz members \\['mystery'\\] are not documented"),
])
def test_write_refuses_what_the_format_does_not_say(synth, tmp_path, fault, message):
    files, summary = _contents(synth)
    if fault == "drop a found selection's array":
        files["selections"].pop("crest_surface")
    elif fault == "keep a not-found selection's array":
        summary["selections"]["wave_neurons"] = {"found": False, "reason": "planted"}
        files["selections"].pop("wave_neurons")            # its other array, wave_sweeps, stays
    elif fault == "an array of no selection":
        files["selections"]["mystery"] = np.zeros(3)
    elif fault == "an undocumented activation":
        files["activations"]["hook_attn_out"] = np.zeros((3, 2))
    elif fault == "a curve short":
        files["curves"].pop("all_grad_norm")
    elif fault == "an undeclared curve":
        files["curves"]["mystery"] = np.zeros(3)
    else:
        files.pop("toy")
    out = tmp_path / "synth"
    with pytest.raises(ValueError, match=message):
        fmt.write(out, files, summary, {"run": "synth"})
    assert not out.exists() and not list(tmp_path.iterdir())          # nothing written


def test_written_assets_verify_and_a_changed_byte_is_named(synth, tmp_path):
    files, summary = _contents(synth)
    out = tmp_path / "copy"
    fmt.write(out, files, summary, {"run": "copy"})
    m = fmt.Assets("copy", tmp_path).verify()
    assert m["format"] == fmt.FORMAT and set(m["files"]) == {f"{n}.npz" for n in fmt.FILES} | {"summary.json", "summary.md"}
    (out / "summary.json").write_text((out / "summary.json").read_text().replace('"T": 9', '"T": 8'))
    with pytest.raises(fmt.Corrupt, match="summary.json is corrupt"):
        fmt.Assets("copy", tmp_path).verify()


# ---- the parts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", list(fmt.SELECTIONS.values()) + [fmt.Story, fmt.Probe])
def test_a_part_reads_back_exactly_what_was_written(synth, cls):
    s = json.loads((synth / "summary.json").read_text())
    written = s[cls.KEY] if cls.KEY in s else s["selections"][cls.KEY]
    part = cls.from_json(written)
    assert part.found is True and part.to_json() == written
    assert all(part.evidence[k] is None for k in set(part.evidence) & set(cls._typed()))   # only a written null


def test_a_selection_not_found_gives_its_reason_to_every_reader(tmp_path):
    from grokking.figures.static import crest as crest_figure
    from grokking.scenes import data
    d = make_synthetic_assets(tmp_path, run="synth", not_found={"crest": "planted: no crest"})
    a = fmt.Assets("synth", tmp_path)
    a.verify()
    assert a.selection(fmt.Crest).found is False and a.selection(fmt.Crest).why_not() == "planted: no crest"
    with pytest.raises(fmt.NotFound, match=r"extraction found no crest unit \(planted: no crest\)"):
        crest_figure(a)
    with pytest.raises(fmt.NotFound, match="planted: no crest"):
        a.selected(fmt.Crest, "crest_surface")
    with data.using("synth", tmp_path):
        assert data.absent("Crest") == "run 'synth' has no crest: none found (planted: no crest)"
        assert data.absent("TrigIdentity") is None
    assert "- crest: none found (planted: no crest)" in (d / "summary.md").read_text()


def test_the_product_formulas_are_built_once_and_read_as_written(synth):
    from grokking.extraction import fourier as fo
    a = fmt.Assets("synth", synth.parent)
    pp = a.found(fmt.ProductPair, "product pair")
    assert pp.formulas == fo.product_formulas(pp.k, a.p) == [
        f"cos({2 * pp.k}πx/{a.p})·cos({2 * pp.k}πy/{a.p})", f"sin({2 * pp.k}πx/{a.p})·sin({2 * pp.k}πy/{a.p})"]


# ---- TransformerLens's layouts -------------------------------------------------------------------

@pytest.mark.slow
def test_activations_hold_the_full_attention_pattern_as_transformer_lens_does(quick_run):
    """attn.hook_pattern is [batch, head, query, key]: causal, each query a distribution, and its
    last query is what the per-checkpoint curves measured from the fast model at that epoch."""
    a = fmt.Assets("quick", quick_run["root"] / "assets")
    act, cur = a["activations"], a["curves"]
    p, H = a.p, a.summary["task"]["n_heads"]
    pat = act["attn.hook_pattern"]
    assert pat.shape == (p * p, H, 3, 3)
    np.testing.assert_allclose(pat.sum(-1), 1, atol=1e-5)
    assert np.all(pat[:, :, 0, 1:] == 0) and np.all(pat[:, :, 1, 2] == 0)           # no query sees the future
    i = int(np.flatnonzero(cur["epoch"] == a.summary["analysis_epoch"])[0])
    for key, name in enumerate(("attn_eq_to_x", "attn_eq_to_y", "attn_eq_to_eq")):
        np.testing.assert_allclose(pat[:, :, -1, key].mean(0), cur[name][i], atol=1e-5)
    eq_to_x = a["selections"]["attn_eq_pattern"]                                    # [H, x, y]
    np.testing.assert_allclose(eq_to_x, pat[:, :, -1, 0].reshape(p, p, H).transpose(2, 0, 1))
    for name, (axes, _) in fmt.ACTIVATIONS.items():
        assert act[name].ndim == axes.count(",") + 1, name


# ---- staleness: settings as asked, code as imported ----------------------------------------------

@pytest.mark.slow
def test_status_agrees_with_an_extraction_given_other_settings(quick_run, tmp_path):
    """After `extract --T 5`, a plain status (and a plain extract) sees T = 5 as what was asked:
    up to date; another --T, or the default named, is stale."""
    from grokking.extraction.extract import extract, status
    from grokking.extraction.settings import DEFAULT_T
    shutil.copytree(quick_run["root"] / "assets", tmp_path / "assets")
    kw = dict(runs_root=quick_run["root"] / "runs", assets_root=tmp_path / "assets")
    r = extract("quick", T=5, progress=False, **kw)
    assert not r["skipped"]
    m = fmt.Assets("quick", tmp_path / "assets").manifest
    assert m["settings"]["T"] == 5 and m["asked"]["T"] == 5
    assert status("quick", **kw) == ("up to date", "")
    assert extract("quick", progress=False, **kw)["skipped"]
    assert status("quick", T=DEFAULT_T % 53, **kw) == ("stale", "extraction settings changed")   # quick: p = 53


def test_extractions_code_hash_covers_what_it_imports():
    from grokking.common.code import ROOT, imported
    used = {f.relative_to(ROOT / "grokking").as_posix() for f in imported(ROOT / "grokking" / "extraction" / "extract.py", follow_training=True)}
    assert {"extraction/mechanism.py", "extraction/settings.py", "common/assets.py", "training/model.py",
            "training/tasks.py", "training/reference.py"} <= used
    assert "figures/static.py" not in used and "scenes/data.py" not in used


def test_the_diagnostics_declared_are_the_trainers():
    from grokking.training import train
    assert train.METRICS is fmt.METRICS and train.DIAGNOSTICS == tuple(fmt.DIAGNOSTICS)   # one definition


def test_older_assets_read_as_additive_and_not_measured(synth, tmp_path):
    """Assets written before the additive and diagnostics parts: the readers say what they meant."""
    files, summary = _contents(synth)
    del summary["additive"], summary["diagnostics"]
    fmt.write(tmp_path / "old", files, summary, {"run": "old"})
    a = fmt.Assets("old", tmp_path)
    assert a.additive.found and a.additive.op == "add"
    assert not a.diagnostics.found and "before the diagnostics existed" in a.diagnostics.why_not()
    assert "training diagnostics: not measured" in (tmp_path / "old" / "summary.md").read_text()
