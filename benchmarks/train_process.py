"""Training speed at equal work, timed as whole processes: start-up, test cadence and checkpoints in.

  this project   `grokking train --preset P --run R --epochs E+N --quiet`, extending a run of the
                 preset first trained to E epochs (it resumes from its last checkpoint)
  plain          benchmarks/plain_train.py: the paper's style (a plain nn.Module over every position,
                 torch's AdamW, full batch, float32 weights, float64 log-softmax in the loss), the
                 same split, resuming from a state of its own and training the same N epochs

Both processes measure the test split at the same epochs (`training.train.test_epochs` of the
extended run: every checkpoint epoch and every `test_every`-th) and write a checkpoint at the same
epochs (the preset's schedule after E). What still differs: the project writes its checkpoints in
the background as npz files (weights, metrics, the resume state with AdamW's moments, a manifest
with hashes) and tunes its thread count; the plain script writes each with torch.save in the
foreground (weights, AdamW's state, the metrics so far) on torch's default threads, and its
resume state is one epoch old (the weights' values do not change the work of an epoch).

The pairs run interleaved (project first in even repeats, plain first in odd ones) so machine
noise hits both alike; every run starts from a fresh copy of the base run in a temporary folder
(GROKKING_RUNS; nothing is written under the repository's runs/), removed afterwards.

    python benchmarks/train_process.py [--repeats 3] [--base-epochs 1000] [--extend 600] [--preset canonical]

--extend 0 times the start-up alone (no epochs: the project's process finds the run trained).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grokking.training import train  # noqa: E402
from grokking.training.config import PRESETS, schedule_epochs  # noqa: E402

RUN = "bench"


def _timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process; raises with its output if it fails."""
    cpu = lambda: (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(resource.RUSAGE_CHILDREN))
    c0, t0 = cpu(), time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall, used = time.perf_counter() - t0, cpu() - c0
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return wall, used


def _project(runs: Path, preset: str, epochs: int, cwd: Path) -> tuple[float, float]:
    env = dict(os.environ, GROKKING_RUNS=str(runs))
    return _timed([sys.executable, str(ROOT / "render.py"), "train", "--preset", preset, "--run", RUN,
                   "--epochs", str(epochs), "--quiet"], cwd, env)


def _plain(plan: Path, out: Path, resume: Path | None, cwd: Path) -> tuple[float, float]:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "plain_train.py"), "--plan", str(plan), "--out", str(out)]
    return _timed(cmd + (["--resume", str(resume)] if resume else []), cwd)


def plan_for(preset: str, base: int, extend: int) -> dict:
    """The epochs the extension trains, measures on the test split and checkpoints, as the
    project's trainer chooses them for the extended run."""
    end = base + extend
    cfg = PRESETS[preset].replace(epochs=end)
    after = lambda es: sorted(e for e in es if e > base)
    return {"preset": preset, "start": base, "end": end, "test": after(train.test_epochs(cfg, end)),
            "checkpoints": after(schedule_epochs(cfg.schedule, end))}


def measure(preset: str = "canonical", base: int = 1000, extend: int = 600, repeats: int = 3,
            log=lambda s: print(s, file=sys.stderr, flush=True)) -> dict:
    """Wall and CPU seconds of each process, per repeat, and the per-pair wall ratio plain / project."""
    tmp = Path(tempfile.mkdtemp(prefix="train_process."))
    try:
        plan = plan_for(preset, base, extend)
        (tmp / "plan.json").write_text(json.dumps(plan))
        log(f"base run: {preset} to epoch {base} (untimed) in {tmp}")
        wall, _ = _project(tmp / "base", preset, base, tmp)
        log(f"  {wall:.0f} s")
        start = {**plan, "start": 0, "end": 1, "test": [1], "checkpoints": [1]}
        (tmp / "start.json").write_text(json.dumps(start))
        _plain(tmp / "start.json", tmp / "plain-start", None, tmp)          # the plain script's own resume state
        out = {"plan": plan, "project": [], "plain": [], "project_cpu": [], "plain_cpu": []}
        for i in range(repeats):
            for who in (("project", "plain") if i % 2 == 0 else ("plain", "project")):
                work = tmp / f"{who}-{i}"
                if who == "project":
                    shutil.copytree(tmp / "base", work)
                    wall, cpu = _project(work, preset, plan["end"], tmp)
                    m = json.loads((work / RUN / "manifest.json").read_text())
                    done = [c["epoch"] for c in m["checkpoints"] if c["epoch"] > base]
                    assert m["epochs_done"] == plan["end"] and done == plan["checkpoints"], (m["epochs_done"], done)
                else:
                    wall, cpu = _plain(tmp / "plan.json", work, tmp / "plain-start" / "e000001.pt", tmp)
                    assert len(list(work.glob("e*.pt"))) == len(plan["checkpoints"])
                shutil.rmtree(work)
                out[who].append(wall)
                out[who + "_cpu"].append(cpu)
                log(f"  repeat {i + 1}/{repeats} {who}: {wall:.1f} s wall, {cpu:.1f} s CPU")
        out["ratio"] = [a / b for a, b in zip(out["plain"], out["project"])]
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(r: dict) -> str:
    p = r["plan"]
    med = lambda xs: f"{statistics.median(xs):6.1f} s [{min(xs):.1f}-{max(xs):.1f}]"
    what = (f"epochs {p['start'] + 1}-{p['end']} of {p['preset']}, {len(p['test'])} with the test split, "
            f"{len(p['checkpoints'])} checkpoints" if p["end"] > p["start"] else
            f"no epochs, start-up only (grokking train finds {p['preset']} trained to {p['end']} and stops; "
            f"the plain script builds its data and model and loads its state)")
    lines = [f"whole processes at equal work: {what}; median [range] of {len(r['ratio'])} interleaved pairs",
             f"{'this project (grokking train, resumed)':>44}: {med(r['project'])} wall, CPU {med(r['project_cpu'])}",
             f"{'plain nn.Module script (plain_train.py)':>44}: {med(r['plain'])} wall, CPU {med(r['plain_cpu'])}",
             f"{'plain / project, pair by pair':>44}: x{statistics.median(r['ratio']):.1f} "
             f"[{min(r['ratio']):.1f}-{max(r['ratio']):.1f}]"]
    return "\n".join(lines)


@click.command()
@click.option("--repeats", default=3, show_default=True, help="Interleaved pairs of processes.")
@click.option("--base-epochs", default=1000, show_default=True, help="Epochs the run is trained to first (untimed).")
@click.option("--extend", default=600, show_default=True, help="Epochs each timed process trains.")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="canonical", show_default=True)
def main(repeats, base_epochs, extend, preset):
    print(report(measure(preset, base_epochs, extend, repeats)))


if __name__ == "__main__":
    main()
