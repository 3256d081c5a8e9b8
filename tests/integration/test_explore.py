"""media/<run>/explore.html: packed faithfully, stamped like a figure, and in a real browser
(Chromium, see tests/browser.py): the slider moves every panel to the stored values of that
checkpoint, hovering reads them, no console errors, every link resolves, and a redraw is fast."""
import base64
import json
import re
import statistics
import zlib
from pathlib import Path

import numpy as np
import pytest

from grokking.common.assets import Assets
from grokking.pipeline import explore as ex
from grokking.pipeline import stamps as st
from grokking.pipeline.make import Options, explore, make_all
from tests.browser import chromium, unresolved_links, watch_console
from grokking.common.assets import Crest, Logit, WaveNeurons
from tests.synthetic import make_synthetic_assets


def _unpack(q: dict) -> np.ndarray:
    """What the page does with a q8 block, in numpy."""
    d = np.frombuffer(zlib.decompress(base64.b64decode(q["q8"])), np.uint8).reshape(q["shape"])
    qq = np.cumsum(d, axis=0, dtype=np.uint64) % 256          # the differences added back, mod 256
    f4 = lambda o: np.frombuffer(base64.b64decode(o["f4"]), "<f4").reshape(o["shape"])
    return ex.dequantise(qq.astype(np.uint8), f4(q["lo"]), f4(q["hi"]))


def test_packing_keeps_every_value_within_half_a_step():
    rng = np.random.default_rng(0)
    a = np.cumsum(rng.normal(size=(30, 3, 50)), axis=0).astype(np.float16)    # drifting, as training does
    a[5, 1] = 2.0                                                             # a flat group
    back = _unpack(ex.q8(a))
    a = a.astype(np.float64)
    step = (a.max(-1) - a.min(-1))[..., None] / 255
    assert np.all(np.abs(back - a) <= step / 2 + 1e-5 * np.abs(a).max())
    assert np.all(back[5, 1] == 2.0)


def test_a_small_budget_subsamples_the_surfaces_and_says_so(tmp_path):
    make_synthetic_assets(tmp_path / "assets", "s", p=23, n_ckpt=40)
    a = Assets("s", tmp_path / "assets")
    full = ex.page_data(a, {})
    assert full["surface_stride"] == 1 and full["crest"]["surface"]["frames"] is None
    small = ex.page_data(a, {}, budget=len(json.dumps(full)) * 2 // 3)
    frames = small["crest"]["surface"]["frames"]
    C = len(full["epochs"])
    assert small["surface_stride"] > 1 and frames[0] == 0 and frames[-1] == C - 1
    ev = a["evolution"]["crest_surface"].astype(float).reshape(C, 1, -1)
    got = _unpack(small["crest"]["surface"])
    span = ev.max(-1) - ev.min(-1)
    assert np.all(np.abs(got - ev[frames]) <= span[frames][..., None] / 510 + 1e-3)


def test_a_page_over_budget_even_at_the_fewest_surfaces_says_so(tmp_path):
    """The data besides the surfaces alone over the budget."""
    make_synthetic_assets(tmp_path / "assets", "s", p=23, n_ckpt=40)
    a = Assets("s", tmp_path / "assets")
    assert ex.page_data(a, {})["over_budget"] is None
    tight = ex.page_data(a, {}, budget=5_000)
    assert tight["surface_stride"] > 1 and len(tight["crest"]["surface"]["frames"]) <= 2
    said = tight["over_budget"]
    assert said and "over its 5 kB budget" in said and "40 checkpoints alone take" in said
    page = ex.render_page(tight).decode()
    assert "id='budget'" in page and "over its 5 kB budget" in page
    assert "id='budget'" not in ex.render_page(ex.page_data(a, {})).decode()


def test_links_find_what_was_made_outside_the_main_job_and_say_what_the_run_cannot_have(tmp_path):
    """A figure or scene made by `grokking figures` / `grokking scene` (no
    stamp) is linked; one the run lacks the mechanism for says so, not "not made yet"."""
    make_synthetic_assets(tmp_path / "assets", "s", p=23, n_ckpt=40, not_found={"crest": "planted reason"})
    o = Options(run="s", assets_root=tmp_path / "assets", media_root=tmp_path / "media", progress=False)
    fig = o.figure_dir / "grokking_curves.png"
    scene = tmp_path / "media" / "videos" / "s" / "480p15" / "TrainingStory.mp4"
    for f in (fig, scene):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"made")
    links = ex.panel_links(o, {}, o.media_dir)
    row = {name: (href, note) for panel in links.values() for _, name, href, note in panel}
    assert row["grokking_curves"] == ("../figures/s/grokking_curves.png", "")
    assert row["TrainingStory"] == ("../videos/s/480p15/TrainingStory.mp4", "")
    for name in ("Crest", "crest"):                                   # the scene and the figure
        assert row[name][0] is None and row[name][1].startswith("not drawn for this run") \
            and "planted reason" in row[name][1], row[name]
    assert row["anim_loops"] == (None, "not made yet (grokking figures --run s)")
    assert row["anim_surfaces"][1].startswith("not made yet")          # the product pair and logit remain
    assert row["NeuronLoops"][1] == "not made yet (grokking scene NeuronLoops --run s)"


def test_explorer_is_stamped_like_a_figure(tmp_path):
    make_synthetic_assets(tmp_path / "assets", "s", p=23, n_ckpt=40)
    o = Options(run="s", assets_root=tmp_path / "assets", media_root=tmp_path / "media", progress=False)
    row = lambda: next(r for r in status_rows(o) if r[0] == "page explore")
    r = explore(o, log=lambda _: None)
    assert r["written"] and r["path"].stat().st_size > 10_000
    assert not explore(o, log=lambda _: None)["written"]
    assert row()[1] == "up to date"
    stamps = st.load(o.stamps_path)
    assert any("curves.npz" in k for k in stamps["pages"]["explore"]["deps"])
    # a scene made since: the links change, so the page is stale and is written again
    video = o.media_dir.parent / "videos" / "s" / "low" / "Crest.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"not really a video")
    stamps.setdefault("scenes", {})["Crest"] = {"files": [str(video)]}
    st.save(o.stamps_path, stamps)
    assert row()[1] == "stale" and "options changed" in row()[2]
    assert explore(o, log=lambda _: None)["written"]
    assert "../videos/s/low/Crest.mp4" in r["path"].read_text()


def status_rows(o):
    """status() needs a run (training's row); the explorer's row alone, from the same code."""
    from grokking.pipeline.make import explorer_stale
    now = st.AssetHashes(o.assets_dir)
    why = explorer_stale(o, st.load(o.stamps_path), now)
    return [("page explore", "up to date" if why is None else why.split(":")[0], why or "")]


# ---- in a real browser -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(quick_run, tmp_path_factory):
    """The quick run's gallery and explorer, with a few figures and one scene (tiny frames)."""
    media = tmp_path_factory.mktemp("media")
    root = quick_run["root"]
    o = Options(run="quick", runs_root=root / "runs", assets_root=root / "assets", media_root=media,
                figures=["grokking_curves", "crest", "probe"], scenes=["GrokkingCurve"], scene_width=160,
                progress=False)
    s = make_all(o, log=lambda _: None)
    assert not s["failed"], s["failed"]
    return {"o": o, "gallery": Path(s["gallery"]), "explore": o.media_dir / "explore.html",
            "assets": Assets("quick", root / "assets")}


def _drag(page, to_frac: float):
    box = page.locator("#slider").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 4, y)
    page.mouse.down()
    for f in np.linspace(0.0, to_frac, 12)[1:]:
        page.mouse.move(box["x"] + 4 + f * (box["width"] - 8), y)
    page.mouse.up()


def _check_panels_show(page, a: Assets, i: int):
    """Every panel's values at checkpoint i are the assets' (packing's tolerance), and each says
    which epoch it shows."""
    cv, ev, pr, fo = a["curves"], a["evolution"], a["probes"], a["fourier"]
    epoch = int(cv["epoch"][i])
    for k in ("train_loss", "test_loss", "excluded_loss", "restricted_loss_test", "train_acc", "test_acc"):
        np.testing.assert_allclose(page.evaluate(f"explorer.values('curves')['{k}']"), cv[k][i], rtol=1e-6)
    np.testing.assert_allclose(page.evaluate("explorer.values('fourier')"), fo["embed_norms"][i], rtol=1e-6)
    probe = page.evaluate("explorer.values('probe')")
    for f in ("cos", "sin"):
        np.testing.assert_allclose(probe[f], pr[f"{f}_out"][i], rtol=1e-5, atol=1e-6)
    for name, key in (("crest", "crest_surface"), ("logit", "logit_surface"), ("waves", "wave_sweeps")):
        want = ev[key][i].astype(float)
        want = want.reshape(want.shape[0], -1) if name == "waves" else want.reshape(1, -1)
        got = np.asarray(page.evaluate(f"explorer.values('{name}')")).reshape(want.shape)
        span = want.max(-1, keepdims=True) - want.min(-1, keepdims=True)
        assert np.all(np.abs(got - want) <= span / 510 + 1e-4 * np.abs(want).max()), name
    for panel in ("curves", "fourier", "waves", "loops", "crest", "logit", "probe"):
        assert page.inner_text(f"#now-{panel}").startswith(f"epoch {epoch}"), panel
    assert page.inner_text("#epoch").startswith(f"epoch {epoch:,}")
    _check_said_by_numbers(page, a, i)


def _check_said_by_numbers(page, a: Assets, i: int):
    """What the crest, logit and probe panels say at checkpoint i is what was measured there: the
    share of rows on the line, the refitted probe's R², each with the caption its threshold picks."""
    from grokking.common.assets import Crest, Logit
    from grokking.extraction import replay as rp
    ev, pr = a["evolution"], a["probes"]
    for name, key, line in (("crest", "crest_rows_on_line", a.selection(Crest).T),
                            ("logit", "logit_rows_on_line", a.selection(Logit).output)):
        if key not in ev:
            continue
        now, rows = page.inner_text(f"#now-{name}"), float(ev[key][i])
        assert f"{100 * rows:.1f}% of rows peak on {a.additive.sum_label} ≡ {line}" in now, now
        assert ("(a ridge:" in now) == (rows >= rp.RIDGE_ROWS) and ("no ridge yet" in now) == (rows < rp.RIDGE_ROWS), now
    now, r2 = page.inner_text("#now-probe"), float(pr["cos_r2"][i])
    assert ("(a wave:" in now) == (r2 >= rp.SHAPE_R2) and "held fixed would show" in now, now


@pytest.mark.slow
def test_explorer_in_a_real_browser(site, tmp_path):
    a = site["assets"]
    C = len(a["curves"]["epoch"])
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        problems = watch_console(page)

        # the gallery: every link resolves, and it leads to the explorer
        page.goto(site["gallery"].as_uri())
        assert unresolved_links(page, site["gallery"]) == []
        page.click("text=Explore training")
        page.wait_for_function("document.body.dataset.ready", timeout=60_000)
        assert page.evaluate("document.body.dataset.ready") == "1"
        assert Path(page.url.replace("file://", "")).resolve() == site["explore"].resolve()
        assert unresolved_links(page, site["explore"]) == []
        links = page.eval_on_selector_all(".links a", "as => as.map(a => a.getAttribute('href'))")
        assert any(h.endswith("GrokkingCurve.mp4") for h in links) and any(h.endswith("crest.png") for h in links)
        assert page.evaluate("explorer.C") == C and page.evaluate("explorer.stride") == 1
        # the header: the story check, every row, those in time included
        head = page.inner_text(".check")
        assert all(n in head for n in a.story_check.ROWS) and "in time" in head

        _check_panels_show(page, a, 0)
        crest0 = page.evaluate("explorer.values('crest')")

        # drag the slider about two thirds along (log epochs): the panels follow
        _drag(page, 0.66)
        i = page.evaluate("explorer.index()")
        E = a["curves"]["epoch"]
        share = np.log10(1 + E[i]) / np.log10(1 + E[-1])
        assert abs(share - 0.66) < 0.05 and 0 < i < C - 1, (i, E[i])     # the thumb follows the pointer, give or take its width
        _check_panels_show(page, a, i)
        assert page.evaluate("explorer.values('crest')") != crest0

        # the arrow keys step one checkpoint (Shift: ten)
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert page.evaluate("explorer.index()") == i + 2
        page.keyboard.press("Shift+ArrowLeft")
        assert page.evaluate("explorer.index()") == max(i + 2 - 10, 0)
        i = page.evaluate("explorer.index()")
        _check_panels_show(page, a, i)

        # hovering a cell reads epoch, x, y and the value stored there
        x, y = 7, 3
        page.locator("#panel-crest canvas").scroll_into_view_if_needed()
        page.mouse.move(*page.evaluate(f"explorer.cell('crest', {x}, {y})"))
        text = page.inner_text("#hover-crest")
        m = re.fullmatch(r"epoch (\d+), x (\d+), y (\d+): (\S+)", text.strip())
        assert m, text
        want = a["evolution"]["crest_surface"][i].astype(float)
        assert (int(m[1]), int(m[2]), int(m[3])) == (int(a["curves"]["epoch"][i]), x, y)
        assert abs(float(m[4]) - want[x, y]) <= (want.max() - want.min()) / 510 + 1e-3 * abs(want[x, y]) + 1e-3

        # play runs forward on its own; pause stops it
        page.evaluate("explorer.setIndex(0)")
        page.click("#play")
        page.wait_for_function("explorer.index() > 3")
        page.click("#play")
        stopped = page.evaluate("explorer.index()")
        page.wait_for_timeout(300)
        assert page.evaluate("explorer.index()") == stopped

        # speed: every checkpoint redrawn in turn, and a drag's steps to the next painted frame
        redraw = page.evaluate("""() => { const t = [];
            for (let i = 0; i < explorer.C; i++) { explorer.setIndex(i); t.push(explorer.lastRedrawMs()); } return t; }""")
        frames = page.evaluate("""async () => { const s = document.getElementById('slider'), t = [];
            const next = () => new Promise(r => requestAnimationFrame(() => r()));
            for (let i = 0; i < Math.min(explorer.C, 120); i++) { await next(); const t0 = performance.now();
              s.value = i / 120 * s.max; s.dispatchEvent(new Event('input')); await next(); t.push(performance.now() - t0); }
            return t; }""")
        page.screenshot(path=str(tmp_path / "explore.png"), full_page=True)
        assert problems == []
    report = {"checkpoints": C, "p": a.p, "bytes": site["explore"].stat().st_size,
              "redraw_ms_median": statistics.median(redraw), "redraw_ms_p95": float(np.percentile(redraw, 95)),
              "redraw_ms_max": max(redraw), "step_to_frame_ms_median": statistics.median(frames)}
    print("explorer", json.dumps(report))
    assert report["redraw_ms_median"] < 50, report


@pytest.mark.slow
def test_explorer_at_the_default_size_redraws_fast(tmp_path):
    """p = 113 (the default run's modulus), synthetic assets: a redraw of every panel under 50 ms."""
    make_synthetic_assets(tmp_path / "assets", "big", p=113, n_ckpt=200)
    o = Options(run="big", assets_root=tmp_path / "assets", media_root=tmp_path / "media", progress=False)
    path = explore(o, log=lambda _: None)["path"]
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        problems = watch_console(page)
        page.goto(path.as_uri())
        page.wait_for_function("document.body.dataset.ready", timeout=60_000)
        redraw = page.evaluate("""() => { const t = [];
            for (let i = 0; i < explorer.C; i++) { explorer.setIndex(i); t.push(explorer.lastRedrawMs()); } return t; }""")
        assert problems == []
    print("explorer p=113", json.dumps({"checkpoints": len(redraw), "bytes": path.stat().st_size,
                                         "redraw_ms_median": statistics.median(redraw),
                                         "redraw_ms_p95": float(np.percentile(redraw, 95))}))
    assert statistics.median(redraw) < 50


@pytest.mark.slow
def test_explorer_of_a_run_without_a_mechanism_says_why(tmp_path):
    from grokking.common.assets import SELECTIONS
    make_synthetic_assets(tmp_path / "assets", "none", p=23, not_found={k: "planted reason" for k in SELECTIONS})
    o = Options(run="none", assets_root=tmp_path / "assets", media_root=tmp_path / "media", progress=False)
    path = explore(o, log=lambda _: None)["path"]
    with chromium() as browser:
        page = browser.new_page()
        problems = watch_console(page)
        page.goto(path.as_uri())
        page.wait_for_function("document.body.dataset.ready", timeout=60_000)
        page.keyboard.press("ArrowRight")
        assert page.evaluate("explorer.index()") == 1
        for panel in ("waves", "loops", "crest", "logit"):
            assert page.inner_text(f"#now-{panel}") == "not shown: planted reason"
        assert page.inner_text("#now-curves").startswith("epoch ")
        assert problems == []


# ---- camera-ready: the project's palette, a log-epoch axis, legible text, a fixed colour scale ----

def _palette_colours() -> set[str]:
    """Every colour common/palette.py names, lower-case #rrggbb."""
    from grokking.common import palette as pal
    named = [*pal.ROLE.values(), *pal.KEY_FREQ, *pal.PHASE.values(), *pal.OKABE_ITO.values(),
             pal.TEXT_DARK, pal.MUTED_DARK, pal.GRID_DARK, pal.BACKGROUND_DARK, pal.PANEL_DARK, pal.BACKGROUND]
    return {c.lower() for c in named}


def test_explorer_palette_is_the_projects(tmp_path):
    """The page carries common/palette.py's colours (and its colour maps, sampled), and its script
    names no colour of its own: a hard-coded one (a drifted copy) fails here."""
    import matplotlib
    from grokking.common import palette as pal
    make_synthetic_assets(tmp_path / "assets", "s", p=23, n_ckpt=40)
    got = ex.page_data(Assets("s", tmp_path / "assets"), {})["palette"]
    assert got["role"] == pal.ROLE and got["role"]["cos"] == pal.OKABE_ITO["blue"]
    assert got["key_freq"] == pal.KEY_FREQ and got["phase"] == pal.PHASE and got["phase_alpha"] == pal.PHASE_ALPHA
    assert (got["text"], got["muted"], got["grid"], got["background"]) == \
        (pal.TEXT_DARK, pal.MUTED_DARK, pal.GRID_DARK, pal.BACKGROUND_DARK)
    for key, name in (("signed", pal.CMAP_SIGNED), ("by_input", pal.CMAP_BY_INPUT)):
        want = np.rint(matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255)
        assert np.array_equal(np.reshape(got["lut"][key], (256, 3)), want), key
    script = ex.SCRIPT.read_text()
    code_only = re.sub(r"//[^\n]*", "", script)
    literals = re.findall(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?)\(\s*\d", code_only)
    assert literals == [], f"explore.js names colours of its own: {literals}"
    assert not re.search(r"\bRDBU\b|\bVIRIDIS\b|const (KEY|PHASE) = \[", script)
    # the check can fail: a planted copy of a colour is found
    assert re.findall(r"#[0-9a-fA-F]{3,8}\b", 'const COL = {cos: "#56B4E9"};') == ["#56B4E9"]


def test_the_pages_backgrounds_and_text_are_the_palettes():
    """The explorer's and the gallery's styles name only common/palette.py's colours (a grey of
    their own fails here), and the two pages share its dark page."""
    from grokking.pipeline import gallery
    for css in (ex.CSS, gallery.CSS):
        literals = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{3,8}\b", css)}
        assert literals and literals <= _palette_colours(), literals - _palette_colours()
        assert "background:#0e1117" in css.lower()
    assert "#111" not in _palette_colours() and "#1c1c1c" not in _palette_colours()   # the old greys fail


# Records what the canvases draw: each text's font size as shown (CSS px), its position, and every
# colour used (an off-page canvas counts as the one it is copied onto: canvas.shownOn).
_RECORD = """(() => {
  const P = CanvasRenderingContext2D.prototype, seen = window.__drawn = {texts: [], colours: new Set()};
  const shown = c => c.shownOn || c, panelOf = c => { const p = shown(c).closest && shown(c).closest('.panel, #bar');
    return p ? p.id || 'bar' : ''; };
  const wrap = (name, style) => { const f = P[name]; P[name] = function (...a) {
    seen.colours.add(String(this[style]).toLowerCase());
    if (name === 'fillText') { const c = shown(this.canvas), k = c.clientWidth / (c.lw || c.width);
      seen.texts.push({text: String(a[0]), x: a[1], y: a[2], px: parseFloat(this.font.match(/([\\d.]+)px/)[1]) * k,
                       panel: panelOf(this.canvas), align: this.textAlign, colour: String(this.fillStyle).toLowerCase()}); }
    return f.apply(this, a); }; };
  for (const [n, s] of [['fillText', 'fillStyle'], ['fillRect', 'fillStyle'], ['fill', 'fillStyle'],
                        ['stroke', 'strokeStyle'], ['strokeRect', 'strokeStyle']]) wrap(n, s);
})();"""


@pytest.fixture(scope="module")
def synthetic_page(tmp_path_factory):
    root = tmp_path_factory.mktemp("camera")
    make_synthetic_assets(root / "assets", "s", p=23, n_ckpt=40)
    o = Options(run="s", assets_root=root / "assets", media_root=root / "media", progress=False)
    return {"path": explore(o, log=lambda _: None)["path"], "assets": Assets("s", root / "assets")}


def _open(browser, path, width=1500, scale=1):
    page = browser.new_page(viewport={"width": width, "height": 1000}, device_scale_factor=scale)
    problems = watch_console(page)
    page.add_init_script(_RECORD)
    page.goto(path.as_uri())
    page.wait_for_function("document.body.dataset.ready", timeout=60_000)
    return page, problems


@pytest.mark.slow
def test_explorer_text_is_at_least_12px(synthetic_page):
    """Every text on the page, 12 px or more as shown: the DOM's (computed styles) and the
    canvases' (each font as the canvas is scaled on screen), at a wide and a narrow window."""
    with chromium() as browser:
        for width in (1500, 700):
            page, problems = _open(browser, synthetic_page["path"], width)
            for i in range(0, page.evaluate("explorer.C"), 7):
                page.evaluate(f"explorer.setIndex({i})")
            page.select_option("#scale", "own")
            sizes = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.tagName !== 'SCRIPT' && e.tagName !== 'STYLE' && e.getClientRects().length &&
                        ([...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) ||
                         ['BUTTON', 'SELECT', 'OPTION', 'INPUT'].includes(e.tagName)))
                .map(e => [e.tagName + '#' + e.id + '.' + e.className, parseFloat(getComputedStyle(e).fontSize)])""")
            small = [s for s in sizes if s[1] < 12]
            assert sizes and small == [], small[:10]
            texts = page.evaluate("window.__drawn.texts")
            panels = {t["panel"] for t in texts}
            assert {"panel-curves", "panel-fourier", "panel-waves", "panel-crest", "panel-probe", "bar"} <= panels, panels
            tiny = [(t["text"], t["panel"], round(t["px"], 1)) for t in texts if t["px"] < 12 - 1e-6]
            assert tiny == [], tiny[:10]
            assert problems == []
            page.close()


@pytest.mark.slow
def test_explorer_canvases_are_drawn_at_the_pixels_they_are_shown_at(synthetic_page):
    """Every canvas's backing store is its size on screen times the device's pixel ratio (nothing
    drawn at 640 px and stretched), on a wide window at ratio 2 and after the window narrows; the
    texts stay at 12 px or more."""
    with chromium() as browser:
        page, problems = _open(browser, synthetic_page["path"], 1500, scale=2)
        for width in (1500, 800):
            page.set_viewport_size({"width": width, "height": 1000})
            page.evaluate("window.dispatchEvent(new Event('resize'))")
            sizes = page.evaluate("""() => [...document.querySelectorAll('canvas')].filter(c => c.clientWidth)
                .map(c => [c.id || c.closest('.panel').id, c.width, c.height, c.clientWidth, c.clientHeight])""")
            assert len(sizes) >= 6, sizes
            blurred = [s for s in sizes if abs(s[1] - 2 * s[3]) > 1.01 or abs(s[2] - 2 * s[4]) > 2.01]
            assert blurred == [], (width, blurred)
            page.evaluate("explorer.setIndex(3)")
            tiny = [t["text"] for t in page.evaluate("window.__drawn.texts") if t["px"] < 12 - 1e-6]
            assert tiny == [], tiny[:5]
        assert problems == []


@pytest.mark.slow
def test_explorer_epoch_axis_is_log_and_agrees_with_the_slider_and_phase_bar(synthetic_page):
    """The loss panel's epoch axis is numbered (0, 1, 10, 100 up to the last epoch) at x affine in
    log10(1 + epoch), as the scenes'; its cursor, the phase bar's and the slider's thumb sit at the
    same share of their width for every checkpoint, and dragging the slider picks the checkpoint
    nearest that log epoch."""
    epochs = synthetic_page["assets"]["curves"]["epoch"]
    lx = lambda e: np.log10(1 + np.asarray(e, float))
    with chromium() as browser:
        page, problems = _open(browser, synthetic_page["path"])
        texts = page.evaluate("window.__drawn.texts")
        ticks = {}
        for t in texts:
            if t["panel"] == "panel-curves" and re.fullmatch(r"[\d,]+", t["text"]) and t["align"] == "center":
                ticks.setdefault(int(t["text"].replace(",", "")), t["x"])
        assert set(ticks) == {1, 10, 100}, ticks          # 0 is left-aligned at the axis' start
        e = np.array(sorted(ticks))
        x = np.array([ticks[v] for v in e])
        b, a = np.polyfit(lx(e), x, 1)
        assert np.abs(a + b * lx(e) - x).max() < 0.01 and b > 0
        # equal steps in log10(1 + epoch) are equal steps on screen; a linear axis would not be
        assert abs((x[2] - x[1]) / (lx(100) - lx(10)) - (x[1] - x[0]) / (lx(10) - lx(1))) < 1e-6 * b
        assert (x[2] - x[1]) < 3 * (x[1] - x[0])          # linear in epoch: 10 times
        for i in range(0, len(epochs), 3):
            page.evaluate(f"explorer.setIndex({i})")
            w = page.evaluate("explorer.where()")
            want = lx(epochs[i]) / lx(epochs[-1])
            for k in ("curves", "curvesAt", "bar", "slider", "log"):
                assert abs(w[k] - want) < 1e-4, (i, k, w)
        # dragging to 60% of the slider: the checkpoint nearest epoch 10 ** (0.6 * lx(E)) - 1, give
        # or take the thumb's width
        _drag(page, 0.6)
        i = page.evaluate("explorer.index()")
        assert abs(lx(epochs[i]) / lx(epochs[-1]) - 0.6) < 0.05, (i, epochs[i])
        assert abs(page.evaluate("explorer.where()")["slider"] - lx(epochs[i]) / lx(epochs[-1])) < 1e-4
        assert problems == []


@pytest.mark.slow
def test_explorer_draws_only_the_palettes_colours(synthetic_page):
    """Every colour the canvases draw with is common/palette.py's, or one of its colour maps'."""
    with chromium() as browser:
        page, problems = _open(browser, synthetic_page["path"])
        for i in range(0, page.evaluate("explorer.C"), 5):
            page.evaluate(f"explorer.setIndex({i})")
        pal = page.evaluate("explorer.palette")
        lut = set()
        for l in pal["lut"].values():
            lut |= {"#%02x%02x%02x" % tuple(l[j:j + 3]) for j in range(0, len(l), 3)}
        used = set(page.evaluate("[...window.__drawn.colours]"))
        assert used and used - _palette_colours() - lut == set()
        # each legend in its role's colour: the probe's cosine is the figures' blue, not a copy's sky blue
        from grokking.common import palette as pp
        said = {t["text"]: t["colour"] for t in page.evaluate("window.__drawn.texts")}
        assert said["cos probe (dots), cos(wx) (line)"] == pp.ROLE["cos"].lower() == "#0072b2"
        assert said["sin probe (dots), sin(wx) (line)"] == pp.ROLE["sin"].lower()
        assert (said["train"], said["test"]) == (pp.ROLE["train"].lower(), pp.ROLE["test"].lower())
        assert problems == []


@pytest.mark.slow
def test_explorer_fixed_colour_scale_keeps_its_range(synthetic_page):
    """By default (and labelled so) the surfaces' colours span the largest |value| over all
    checkpoints, the same at every checkpoint; per checkpoint, each its own."""
    ev = synthetic_page["assets"]["evolution"]
    with chromium() as browser:
        page, problems = _open(browser, synthetic_page["path"])
        assert page.evaluate("explorer.fixed()") and page.input_value("#scale") == "fixed"
        C = page.evaluate("explorer.C")
        for name, key in (("crest", "crest_surface"), ("logit", "logit_surface")):
            z = np.abs(ev[key].astype(float)).reshape(C, -1)
            tol = lambda i: (z[i].max() * 2) / 510 + 1e-3
            seen = []
            for i in (0, C // 3, C - 1):
                page.evaluate(f"explorer.setIndex({i})")
                seen.append(page.evaluate(f"explorer.scale('{name}')"))
                assert "fixed over all checkpoints" in page.inner_text(f"#now-{name}")
            assert seen[0] == seen[1] == seen[2], seen
            assert abs(seen[0] - z.max()) <= (z.max() * 2) / 510 + 1e-3
            page.select_option("#scale", "own")
            own = []
            for i in (0, C - 1):
                page.evaluate(f"explorer.setIndex({i})")
                own.append(page.evaluate(f"explorer.scale('{name}')"))
                assert abs(own[-1] - z[i].max()) <= tol(i), (name, i, own[-1], z[i].max())
                assert "this checkpoint's" in page.inner_text(f"#now-{name}")
            assert own[0] < 0.5 * own[1], own                 # the planted surface grows: epoch 0 is small
            page.select_option("#scale", "fixed")
        assert problems == []


# ---- a run of another op: mul, over Z_(p−1) through the discrete log -------------------------------

@pytest.fixture(scope="module")
def tiny_mul(tmp_path_factory):
    """A tiny mul run at p = 11 (as tests/unit/test_extraction.py's), trained long enough that its
    mechanism is found, extracted, and its explorer and gallery written."""
    from grokking.extraction.extract import extract
    from grokking.pipeline.gallery import write_gallery
    from grokking.training.config import Config, Schedule
    from grokking.training.history import Run
    from grokking.training.train import Seeded, train
    root = tmp_path_factory.mktemp("mul")
    cfg = Config(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, epochs=300, op="mul",
                 schedule=Schedule(dense_until=5, log_until=20, n_log=4, stride=5))
    train([Seeded(cfg, Run("mul", root / "runs"))], progress=False)
    extract("mul", progress=False, runs_root=root / "runs", assets_root=root / "assets")
    o = Options(run="mul", runs_root=root / "runs", assets_root=root / "assets", media_root=root / "media",
                progress=False)
    path = explore(o, log=lambda _: None)["path"]
    return {"o": o, "path": path, "assets": Assets("mul", root / "assets"), "gallery": write_gallery(o, {})}


@pytest.mark.slow
def test_explorer_data_of_a_mul_run_is_over_the_group(tiny_mul):
    """n = p − 1 = 10: every surface n × n, every sweep and probe n long, the axes the discrete log's,
    a selection's element named with its answer token; the gallery names the task and the group."""
    a, n = tiny_mul["assets"], 10
    d = ex.page_data(a, {})
    assert d["p"] == 11 and d["n"] == n and d["task"] == "(x · y) mod 11"
    ax = d["axes"]
    assert (ax["x"], ax["y"], ax["sum"], ax["probe_x"], ax["log"]) == ("log₂ x", "log₂ y", "log₂ x + log₂ y", "log₂ x", True)
    assert ax["answers"] == [pow(2, e, 11) for e in range(n)]
    assert ax["x_tokens"] == ax["y_tokens"] == [pow(2, e, 11) for e in range(n)]         # x = 2^u, y = 2^v
    assert "discrete logs base 2" in d["axes_note"] and "10 × 10" in d["axes_note"] and "Z_10" in d["axes_note"]
    C = len(d["epochs"])
    assert d["logit"]["found"], d["logit"]
    for name in ("crest", "logit"):
        if d[name]["found"]:
            assert d[name]["surface"]["shape"] == [C, 1, n * n]
    out = d["logit"]["output"]
    assert d["logit"]["answer"] == f"the answer {pow(2, out, 11)} = 2{str(out).translate(str.maketrans('0123456789', '⁰¹²³⁴⁵⁶⁷⁸⁹'))}"
    assert d["probe"]["cos_out"]["shape"] == [C, n] and len(d["fourier"]["labels"]) == n
    if d["waves"]["found"]:
        assert d["waves"]["sweeps"]["shape"][2] == n
    # the add page has none of it
    page = tiny_mul["path"].read_text()
    assert "id='axes'" in page and "Run mul: (x · y) mod 11, through training" in page
    gallery = tiny_mul["gallery"].read_text()
    assert "(x · y) mod 11, train fraction 0.5" in gallery and "key frequencies over log₂ x, in Z_10" in gallery


@pytest.mark.slow
def test_explorer_of_a_mul_run_in_a_real_browser(tiny_mul, tmp_path):
    """In Chromium: every panel is n = 10 wide and says the discrete log's axes; hovering a cell
    reads its elements, their input tokens and the stored value; no console errors."""
    a, n = tiny_mul["assets"], 10
    ev = a["evolution"]
    with chromium() as browser:
        page, problems = _open(browser, tiny_mul["path"])
        C = page.evaluate("explorer.C")
        i = C - 1
        page.evaluate(f"explorer.setIndex({i})")
        head = page.inner_text("#axes")
        assert "The axes are discrete logs base 2: log₂ x and log₂ y" in head and "outside the group" in head
        titles = {pid: page.inner_text(f"#panel-{pid} h2") for pid in ("fourier", "waves", "loops", "crest", "logit", "probe")}
        assert titles["fourier"].endswith("its rows over log₂ x (frequencies over Z_10: w = 2πk/10)")
        assert "over log₂ x" in titles["probe"]
        out = a.selection(Logit).output
        assert titles["logit"].startswith(f"The logit of the answer {pow(2, out, 11)} = 2") and \
            f"over (log₂ x, log₂ y), the line log₂ x + log₂ y ≡ {out} dashed" in titles["logit"]
        if a.selection(WaveNeurons).found:
            assert titles["waves"] == "Wave neurons at log₂ x = 0 (x = 1), swept over log₂ y"
            assert len(page.evaluate("explorer.values('waves')")[0]) == n
        if a.selection(Crest).found:
            assert "over (log₂ x, log₂ y), the line log₂ x + log₂ y ≡" in titles["crest"] and "(mod 10)" in titles["crest"]
        np.testing.assert_allclose(page.evaluate("explorer.values('probe')")["cos"], a["probes"]["cos_out"][i], rtol=1e-5, atol=1e-6)
        _check_said_by_numbers(page, a, i)
        # the logit surface: n × n values, the stored ones; a hovered cell read in the op's terms
        got = np.asarray(page.evaluate("explorer.values('logit')"))
        want = ev["logit_surface"][i].astype(float)
        assert got.shape == (n * n,) and want.shape == (n, n)
        assert np.all(np.abs(got.reshape(n, n) - want) <= (want.max() - want.min()) / 510 + 1e-4 * np.abs(want).max())
        u, v = 7, 3
        page.locator("#panel-logit canvas").scroll_into_view_if_needed()
        page.mouse.move(*page.evaluate(f"explorer.cell('logit', {u}, {v})"))
        text = page.inner_text("#hover-logit").strip()
        m = re.fullmatch(r"epoch (\d+), log₂ x (\d+), log₂ y (\d+) \(x = (\d+), y = (\d+)\): (\S+)", text)
        assert m, text
        assert [int(g) for g in m.groups()[1:5]] == [u, v, pow(2, u, 11), pow(2, v, 11)]
        assert abs(float(m[6]) - want[u, v]) <= (want.max() - want.min()) / 510 + 1e-3 * abs(want[u, v]) + 1e-3
        drawn = {t["text"] for t in page.evaluate("window.__drawn.texts")}
        assert {"log₂ x = 0 … 9", "log₂ y = 0 … 9", "log₂ x = 0 … 9 (position 0)"} <= drawn, drawn
        assert not any(t in drawn for t in ("x = 0 … 9", "y = 0 … 9", "x = 0 … 10", "y = 0 … 10"))
        page.screenshot(path=str(tmp_path / "explore-mul.png"), full_page=True)
        assert problems == []


@pytest.mark.slow
def test_explorer_of_a_pow_run_without_a_grid_says_its_surfaces_are_absent(tmp_path):
    """A pow run whose powers collide (x ↦ x² two-to-one): no surfaces; its wave, loop, crest and
    logit panels say so with extraction's reason, the header says why, the rest is drawn."""
    import hashlib
    from grokking.common.assets import SELECTIONS
    from grokking.extraction.coords import coordinates
    co = coordinates("pow", 23, 2, 2)
    reason = "op pow here has no (x², y²) grid: " + "; ".join(co.collisions)
    make_synthetic_assets(tmp_path / "assets", "w", p=23, not_found={k: reason for k in SELECTIONS})
    path = tmp_path / "assets" / "w" / "summary.json"
    s = json.loads(path.read_text())
    s["task"].update(op="pow", a=2, b=2)
    s["additive"] = {"found": True, "op": "pow", **co.to_json(), "collision_share": {"x²": 0.97}}
    path.write_text(json.dumps(s))
    m = json.loads((path.parent / "manifest.json").read_text())
    m["files"]["summary.json"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (path.parent / "manifest.json").write_text(json.dumps(m))
    o = Options(run="w", assets_root=tmp_path / "assets", media_root=tmp_path / "media", progress=False)
    d = ex.page_data(Assets("w", tmp_path / "assets"), {})
    assert d["axes"]["grid"] is False and d["axes"]["x_tokens"] is None and d["axes"]["probe_x"] == "x"
    path = explore(o, log=lambda _: None)["path"]
    with chromium() as browser:
        page, problems = _open(browser, path)
        head = page.inner_text("#axes")
        assert "No (x², y²) grid" in head and "97% of its variance is a function of x²" in head, head
        for panel, title in (("waves", "Wave neurons: none, (x², y²) is no grid"), ("loops", "Neuron against neuron: none, no grid"),
                             ("crest", "The crest unit: none, no grid"), ("logit", "The logit surface: none, no grid")):
            assert page.inner_text(f"#panel-{panel} h2") == title
            assert page.inner_text(f"#now-{panel}") == f"not shown: {reason}"
        assert page.inner_text("#now-probe").startswith("epoch ") and page.inner_text("#now-fourier").startswith("epoch ")
        assert "over x² + y²" in page.inner_text("#panel-fourier h2")
        assert problems == []
