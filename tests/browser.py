"""A real browser for the tests: Debian's Chromium (/usr/bin/chromium) driven by Playwright's
Python package, which launches that binary (no browser download: `playwright install` is never
run). `bash scripts/setup.sh --browser` installs both. Where they are missing the browser tests
are skipped, except under CI (CI=true), where that is a failure: the test set-up must install them."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GROKKING_CHROMIUM", "/usr/bin/chromium")


def _missing(what: str):
    msg = f"{what}; install it with: bash scripts/setup.sh --browser"
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


@contextmanager
def chromium():
    """A headless Chromium page factory: yields the launched browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright is not installed")
    if not Path(CHROMIUM).exists():
        _missing(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def watch_console(page) -> list[str]:
    """Every console error and uncaught exception of the page, as they come."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    return problems


def unresolved_links(page, html_file: Path) -> list[str]:
    """Every href and src of the page that names no file (relative to the page), or leaves it."""
    refs = page.evaluate("""() => [...document.querySelectorAll('[href],[src]')]
        .map(e => e.getAttribute('href') || e.getAttribute('src'))""")
    bad = []
    for ref in refs:
        if ref.startswith(("http:", "https:", "//")):
            bad.append(f"{ref} (leaves the file system)")
        elif not ref.startswith("#") and not (Path(html_file).parent / ref.split("#")[0]).is_file():
            bad.append(ref)
    return bad
