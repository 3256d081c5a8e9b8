"""Scene render times: every scene (or those named) at a quality, one after the other.

The budget is 60 s per scene at low quality on 2 CPU cores. This reports; it is not a test.
Each scene renders in a fresh process (a clean manim config and fair timing), into a temporary
media folder unless --media is given.

    python benchmarks/scene_speed.py                     # assets/canonical, low quality
    python benchmarks/scene_speed.py --run quick --quality medium NeuronLoops Clock
    python benchmarks/scene_speed.py --synthetic         # synthetic assets at p = 113 (no run needed)
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grokking.scenes.catalog import SCENES  # noqa: E402

BUDGET_S = 60.0

_ONE = """
import sys, time, json
sys.path.insert(0, {root!r})
from grokking.scenes.cli import render
t = time.perf_counter()
path = render({name!r}, run={run!r}, quality={quality!r}, fmt="mp4", media_dir={media!r}, root={assets!r},
              progress=False)
print(json.dumps({{"seconds": time.perf_counter() - t, "path": str(path)}}))
"""


@click.command()
@click.argument("names", nargs=-1)
@click.option("--run", default="canonical", show_default=True)
@click.option("--quality", type=click.Choice(["low", "medium", "high", "4k"]), default="low", show_default=True)
@click.option("--synthetic", is_flag=True, help="Build synthetic assets at p = 113 in a temporary folder and time those.")
@click.option("--media", type=click.Path(path_type=Path), default=None, help="Keep the renders here (default: a temporary folder).")
def main(names, run, quality, synthetic, media):
    names = list(names) or list(SCENES)
    unknown = [n for n in names if n not in SCENES]
    if unknown:
        raise click.UsageError(f"unknown scenes: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory() as tmp:
        assets = None
        if synthetic:
            from tests.synthetic import make_synthetic_assets
            run = "synthetic-113"
            assets = str(Path(tmp) / "assets")
            make_synthetic_assets(Path(assets), run=run, p=113, key_freqs=(4, 14, 35), n_ckpt=300,
                                  d_model=128, d_mlp=512, T=65, output=7)
        out = str(media or Path(tmp) / "media")
        rows = []
        for name in names:
            t = time.perf_counter()
            r = subprocess.run([sys.executable, "-c", _ONE.format(root=str(ROOT), name=name, run=run, quality=quality,
                                                                   media=out, assets=assets)],
                               capture_output=True, text=True, cwd=ROOT)
            wall = time.perf_counter() - t
            if r.returncode:
                last = (r.stderr.strip().splitlines() or ["?"])[-1]
                rows.append((name, None, wall, f"FAILED: {last}"))
            else:
                res = json.loads(r.stdout.strip().splitlines()[-1])
                rows.append((name, res["seconds"], wall, res["path"]))
            s = rows[-1][1]
            flag = "" if s is None else ("  over budget" if quality == "low" and s > BUDGET_S else "")
            click.echo(f"{name:16s} {'' if s is None else f'{s:6.1f}s'}  (process {wall:5.1f}s){flag}  {rows[-1][3]}")
        done = [r[1] for r in rows if r[1] is not None]
        click.echo(f"{len(done)}/{len(rows)} rendered at {quality} quality from run {run!r}; "
                   f"total {sum(done):.0f}s, slowest {max(done, default=0):.1f}s (budget {BUDGET_S:.0f}s at low)")


if __name__ == "__main__":
    main()
