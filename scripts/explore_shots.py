"""Screenshots of a run's explorer (media/<run>/explore.html) in headless Chromium, one per moment
of training: half-way through memorisation, inside circuit formation (the geometric middle of the
phase), and the last checkpoint (after clean-up). Needs the browser set-up (scripts/setup.sh --browser).

    .venv/bin/python scripts/explore_shots.py --run quick --out shots/
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def moments(spans: list, last: int) -> dict[str, float]:
    by = {name: (s, e) for name, s, e in spans}
    out = {}
    if "memorisation" in by:
        out["memorising"] = sum(by["memorisation"]) / 2
    if "circuit formation" in by:
        s, e = by["circuit formation"]
        out["circuit-formation"] = math.sqrt(max(s, 1) * e)
    out["after-cleanup"] = last
    return out


@click.command()
@click.option("--run", required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--media", type=click.Path(path_type=Path), default=Path("media"), show_default=True)
@click.option("--chromium", default="/usr/bin/chromium", show_default=True)
def main(run, out, media, chromium):
    import json

    from playwright.sync_api import sync_playwright
    page_file = (media / run / "explore.html").resolve()
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        page.wait_for_function("document.body.dataset.ready", timeout=60_000)
        data = json.loads(page.inner_text("#data"))
        epochs = data["epochs"]
        for name, epoch in moments(data["spans"], epochs[-1]).items():
            i = min(range(len(epochs)), key=lambda k: abs(epochs[k] - epoch))
            page.evaluate(f"explorer.setIndex({i})")
            path = out / f"explore-{run}-{name}-e{epochs[i]}.png"
            page.screenshot(path=str(path), full_page=True)
            click.echo(f"{path}  ({page.inner_text('#epoch')}; redraw {page.evaluate('explorer.lastRedrawMs()'):.1f} ms)")
        browser.close()
    if errors:
        raise SystemExit("console errors: " + "; ".join(errors))


if __name__ == "__main__":
    main()
