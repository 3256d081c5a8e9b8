"""The main job's seed choice (pipeline/choose.py): the default preset's seeds tried in order, the
first whose story check passes kept as the run, and the record of it read back by extraction."""
import json
import os

import pytest


def _check(passing: set[int]):
    """A story check stand-in: passes exactly the seeds in `passing`; fails the crest otherwise."""
    def check_at(run, epoch):
        ok = run.config.seed in passing
        return {"story_check": {"passed": ok, "criteria": [
            {"name": "legible", "passed": True}, {"name": "crest", "passed": ok}]}}
    return check_at


@pytest.fixture
def tries(runs_dir, tiny_cfg, monkeypatch):
    from grokking.extraction import extract
    from grokking.pipeline import choose
    from grokking.training.history import Run

    def go(passing, seeds=(5, 3, 8), **kw):
        monkeypatch.setattr(extract, "check_at", _check(passing))
        return choose.train_first_passing(Run("video", runs_dir), tiny_cfg, seeds, progress=False,
                                          log=lambda _: None, **kw)
    return go


def test_the_first_passing_seed_is_kept_and_later_seeds_are_never_trained(tries, runs_dir):
    from grokking.training.history import Run
    chosen = tries(passing={3, 8})
    run = Run("video", runs_dir)
    assert chosen["seed"] == 3 and chosen["passed"]
    assert [t["seed"] for t in chosen["tried"]] == [5, 3]
    assert chosen["tried"][0] == {**chosen["tried"][0], "passed": False, "failed": ["crest"]}
    assert run.config.seed == 3 and run.manifest["chosen"] == chosen and run.manifest["run"] == "video"
    assert run.manifest["status"] == "complete"
    assert Run("video-s5", runs_dir).exists()                 # the failed try stays, an ordinary run
    assert not Run("video-s3", runs_dir).dir.exists()         # renamed to the run
    assert not (runs_dir / "video-s8").exists()               # never trained


def test_none_passing_keeps_the_presets_own_seed_and_says_so(tries, runs_dir):
    from grokking.training.history import Run
    chosen = tries(passing=set(), seeds=(5, 3))
    assert chosen["seed"] == 5 and not chosen["passed"] and len(chosen["tried"]) == 2
    assert Run("video", runs_dir).config.seed == 5


def test_a_kill_before_the_rename_is_finished_by_the_next_main_job_without_retraining(tries, runs_dir, monkeypatch):
    from grokking.training.history import Run
    real = os.rename
    monkeypatch.setattr(os, "rename", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        tries(passing={3})
    monkeypatch.setattr(os, "rename", real)
    assert not Run("video", runs_dir).exists()
    from grokking.training import train as T
    real_train, skipped = T.train, []
    monkeypatch.setattr(T, "train", lambda jobs, **kw: skipped.append(real_train(jobs, **kw)["skipped"]))
    chosen = tries(passing={3})
    assert chosen["seed"] == 3 and Run("video", runs_dir).config.seed == 3
    assert skipped == [True, True]          # both tries found trained: nothing retrained


def test_the_choice_survives_extending_the_run_and_reaches_the_summary(tries, runs_dir, tmp_path):
    from grokking.common.assets import Assets, SeedChoice, seed_choice_line
    from grokking.extraction.extract import extract
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    chosen = tries(passing={3})
    run = Run("video", runs_dir)
    train([Seeded(run.config.replace(epochs=50), run)], progress=False)        # extended: the record stays
    assert run.manifest["chosen"] == chosen and run.manifest["epochs_done"] == 50
    extract("video", progress=False, runs_root=runs_dir, assets_root=tmp_path / "assets")
    c = Assets("video", tmp_path / "assets").seed_choice
    assert c.found and c.seed == 3 and c.tried == chosen["tried"]
    line = seed_choice_line(c)
    assert line.startswith("3, chosen by the story check among seeds 5, 3, 8") and "5 FAIL (crest)" in line
    assert "seed: 3, chosen" in (tmp_path / "assets" / "video" / "summary.md").read_text()


@pytest.mark.slow
def test_a_run_trained_directly_says_it_was_not_chosen(quick_run):
    from grokking.common.assets import Assets
    c = Assets("quick", quick_run["root"] / "assets").seed_choice
    assert not c.found and "trained directly" in c.why_not()


def test_only_a_new_or_forced_run_of_the_default_preset_tries_seeds(runs_dir, tries):
    from grokking.pipeline.make import Options, _chooses_seed
    from grokking.training.history import Run
    new = Run("mine", runs_dir)
    assert _chooses_seed(Options(run="mine"), new) and _chooses_seed(Options(run="mine", preset="video"), new)
    assert not _chooses_seed(Options(run="mine", preset="quick"), new)
    assert not _chooses_seed(Options(run="sweep/point"), new)
    tries(passing={3})
    trained = Run("video", runs_dir)
    assert not _chooses_seed(Options(run="video"), trained) and _chooses_seed(Options(run="video", force=True), trained)


def test_a_stranger_in_the_runs_folder_is_refused_before_any_try_and_left_alone(tries, runs_dir):
    """runs/video/ without a manifest but with a file the trainer did not write: refused with
    the way out, nothing trained, the file untouched; a folder outside runs/ is never reached."""
    from grokking.training.history import HistoryError
    (runs_dir / "video").mkdir(parents=True)
    sentinel = runs_dir / "video" / "notes.txt"
    sentinel.write_text("mine")
    outside = runs_dir.parent / "outside.txt"
    outside.write_text("mine too")
    with pytest.raises(HistoryError, match="notes.txt"):
        tries(passing={3})
    assert sentinel.read_text() == "mine" and outside.read_text() == "mine too"
    assert not (runs_dir / "video-s5").exists()


def test_a_forced_main_job_replaces_the_kept_run(tries, runs_dir):
    from grokking.training.history import Run
    tries(passing={3})
    chosen = tries(passing={5}, force=True)
    assert chosen["seed"] == 5 and Run("video", runs_dir).config.seed == 5


def test_batched_tries_train_every_seed_at_once_and_keep_the_first_passing(tries, runs_dir):
    """The GPU's way (forced here on the CPU): every seed trained as one batch, then checked in order."""
    from grokking.training.history import Run
    chosen = tries(passing={3, 8}, batched=True)
    assert chosen["batched"] and chosen["seed"] == 3 and [t["seed"] for t in chosen["tried"]] == [5, 3]
    assert Run("video", runs_dir).config.seed == 3
    assert Run("video-s8", runs_dir).exists()            # trained in the batch, never needed


def test_the_kept_line_says_first_tried_when_the_first_passes_and_names_the_others(runs_dir, tiny_cfg, monkeypatch):
    from grokking.extraction import extract
    from grokking.pipeline import choose
    from grokking.training.history import Run
    said = []
    monkeypatch.setattr(extract, "check_at", _check({5}))
    choose.train_first_passing(Run("video", runs_dir), tiny_cfg, (5, 3), progress=False, log=said.append)
    assert said[-1].endswith("kept seed 5, the first tried") and "(none)" not in said[-1]
    said.clear()
    monkeypatch.setattr(extract, "check_at", _check({3}))
    choose.train_first_passing(Run("other", runs_dir), tiny_cfg, (5, 3), progress=False, log=said.append)
    assert said[-1].endswith("kept seed 3 of 2 tried; the others stay as runs other-s5")
