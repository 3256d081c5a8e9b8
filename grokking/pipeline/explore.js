// The explorer's script (pipeline/explore.py inlines it into media/<run>/explore.html).
// Every number drawn comes from the page's data block, written from assets/<run>/.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const C = D.epochs.length;
  // the op's coordinates (pipeline/explore.py axes_data): N the side of every surface and the length
  // of every sweep and probe (p; p − 1 for mul and div, over the discrete log); the axes and the line
  // in the task's terms ("x", "y", "x + y"; "log₃ x", "log₃ y", "log₃ x + log₃ y")
  const AX = D.axes || {n: D.p, x: "x", y: "y", sum: "x + y", probe_x: "x", grid: true};
  const P = AX.n, XL = AX.x, YL = AX.y, SUM = AX.sum, PX = AX.probe_x;
  // the input tokens at elements (u, v), where the axes are not x and y themselves: " (x = 40, y = 27)"
  const tokens = (u, v) => !AX.x_tokens ? "" : u === null ? ` (y = ${AX.y_tokens[v]})` :
    v === null ? ` (x = ${AX.x_tokens[u]})` : ` (x = ${AX.x_tokens[u]}, y = ${AX.y_tokens[v]})`;
  const at = (u, v) => `${XL} ${u}, ${YL} ${v}` + tokens(u, v);
  // the project's one palette (common/palette.py, written into the page by pipeline/explore.py):
  // no colour of this script is its own
  const PAL = D.palette, ROLE = PAL.role;
  const COL = {train: ROLE.train, test: ROLE.test, excluded: ROLE.excluded, restricted: ROLE.restricted,
               cos: ROLE.cos, sin: ROLE.sin, line: ROLE.line, other: ROLE.other,
               text: PAL.text, muted: PAL.muted, grid: PAL.grid, cursor: PAL.highlight};
  const KEY = PAL.key_freq, PHASE = PAL.phase;
  const L_SIGNED = PAL.lut.signed, L_Y = PAL.lut.by_input;     // 256 colours each, [r, g, b, r, ...]
  const rgb = (l, i) => "#" + [0, 1, 2].map(c => l[i * 3 + c].toString(16).padStart(2, "0")).join("");
  const yColour = Array.from({length: P}, (_, y) => rgb(L_Y, Math.round(y / Math.max(P - 1, 1) * 255)));

  // ---- unpacking (see pipeline/explore.py) ----
  function bytes(b64) {
    const s = atob(b64), out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  const f4 = o => new Float32Array(bytes(o.f4).buffer);
  async function q8(o) {
    const z = bytes(o.q8);
    const stream = new Blob([z]).stream().pipeThrough(new DecompressionStream("deflate"));
    const q = new Uint8Array(await new Response(stream).arrayBuffer());
    const [n, g, m] = o.shape, F = g * m;
    for (let c = 1; c < n; c++) {                       // undo the differences along checkpoints
      const a = c * F, b = a - F;
      for (let j = 0; j < F; j++) q[a + j] = (q[a + j] + q[b + j]) & 255;
    }
    const lo = f4(o.lo), hi = f4(o.hi);
    // frame index for every checkpoint: the stored one at or before it
    const at = new Int32Array(C);
    if (o.frames) { let k = 0; for (let c = 0; c < C; c++) { while (k + 1 < o.frames.length && o.frames[k + 1] <= c) k++; at[c] = k; } }
    else for (let c = 0; c < C; c++) at[c] = c;
    // each group's range over every stored checkpoint: the fixed scale
    const allLo = new Float32Array(g).fill(Infinity), allHi = new Float32Array(g).fill(-Infinity);
    for (let k = 0; k < n; k++) for (let gi = 0; gi < g; gi++) {
      allLo[gi] = Math.min(allLo[gi], lo[k * g + gi]); allHi[gi] = Math.max(allHi[gi], hi[k * g + gi]);
    }
    return {g, m, F, q, lo, hi, at, frames: o.frames,
      // group gi's range at checkpoint c: its own there, or over all checkpoints (the fixed scale)
      range(c, gi = 0, fixed = false) {
        return fixed ? [allLo[gi], allHi[gi]] : [lo[at[c] * g + gi], hi[at[c] * g + gi]];
      },
      // values of group gi at checkpoint c, dequantised as pipeline/explore.py dequantise()
      values(c, gi = 0) {
        const k = at[c], lo_ = lo[k * g + gi], sc = (hi[k * g + gi] - lo_) / 255, out = new Float32Array(m);
        const base = k * F + gi * m;
        for (let j = 0; j < m; j++) out[j] = lo_ + q[base + j] * sc;
        return out;
      },
      epoch(c) { return D.epochs[o.frames ? o.frames[at[c]] : c]; }};
  }

  // ---- helpers ----
  const fmt = v => (v === null || v === undefined || Number.isNaN(v)) ? "–" :
    (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)) ? v.toExponential(3) : v.toPrecision(4);
  const pct = v => Number.isNaN(v) ? "–" : (100 * v).toFixed(1) + "%";
  // 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, ...
  const ordinal = n => n + ((n % 100 >= 11 && n % 100 <= 13) ? "th" : ({1: "st", 2: "nd", 3: "rd"}[n % 10] || "th"));
  function phaseAt(e) { for (const [n, s, t] of D.spans) if (e >= s && e < t) return n; return ""; }
  function el(tag, attrs = {}, parent = null, text = "") {
    const x = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) x.setAttribute(k, v);
    if (text) x.textContent = text;
    if (parent) parent.appendChild(x);
    return x;
  }
  // a canvas's fonts: `px` CSS pixels (12 at least) as the canvas is shown, however it is scaled
  const MIN_PX = 12;
  function font(ctx, px = 13, weight = "") {
    const cv = ctx.canvas.shownOn || ctx.canvas, k = cv.clientWidth ? Math.max(1, (cv.lw || cv.width) / cv.clientWidth) : 1;
    ctx.font = `${weight ? weight + " " : ""}${Math.ceil(Math.max(px, MIN_PX) * k * 10) / 10}px system-ui`;
    return ctx;
  }
  // epochs on the scenes' log axis (scenes/story.py lx): log10(1 + epoch), so epoch 0 sits at 0
  const lx = e => Math.log10(1 + e), LX_MAX = lx(D.epochs[C - 1] || 1) || 1;
  // the epochs ticked (0, 1, 10, 100, ... up to the last) and the unlabelled ones between (2..9 x 10^k)
  const DECADES = [0], MINOR = [];
  for (let e = 1; e <= (D.epochs[C - 1] || 1); e *= 10) {
    DECADES.push(e);
    for (let j = 2; j < 10 && j * e <= D.epochs[C - 1]; j++) MINOR.push(j * e);
  }
  // the checkpoint nearest an epoch on that axis
  function nearest(e) {
    const t = lx(Math.max(e, 0)); let best = 0;
    for (let c = 1; c < C; c++) if (Math.abs(lx(D.epochs[c]) - t) < Math.abs(lx(D.epochs[best]) - t)) best = c;
    return best;
  }
  // A canvas is drawn in its own units, w × h (every panel's layout below is in them), on a backing
  // store of the pixels it is shown at (its CSS width × the device's pixel ratio): sharp at any
  // window width, never a 640-pixel picture stretched.
  const shownCanvases = [];
  function canvas(panel, w, h) {
    const c = el("canvas", {width: w, height: h}, panel.body);
    c.style.aspectRatio = `${w} / ${h}`;
    c.lw = w; c.lh = h;
    shownCanvases.push(c); sharpen(c);
    return c;
  }
  // give c (drawn in units c.lw × c.lh) the backing store `like` is shown at; true when it changed,
  // which clears it
  function sharpen(c, like = c) {
    const s = Math.min(4, Math.max(1, (like.clientWidth || like.lw) * (window.devicePixelRatio || 1) / like.lw));
    if (c.scale === s) return false;
    c.scale = s; c.width = Math.round(c.lw * s); c.height = Math.round(c.lh * s);
    c.getContext("2d").setTransform(s, 0, 0, s, 0, 0);
    return true;
  }
  const panels = {};
  function panel(id, title) {
    const box = el("div", {class: "panel", id: "panel-" + id}, document.getElementById("panels"));
    el("h2", {}, box, title);
    const body = el("div", {}, box);
    const now = el("div", {class: "now", id: "now-" + id}, box);
    const hover = el("div", {class: "hover", id: "hover-" + id}, box, " ");
    const links = el("div", {class: "links"}, box, "shown in: ");
    (D.links[id] || []).forEach(([kind, name, href, note], i) => {
      if (i) links.appendChild(document.createTextNode(" · "));
      if (href) el("a", {href}, links, `${kind} ${name}`);
      else el("span", {title: note}, links, `${kind} ${name} (${note})`);
    });
    return (panels[id] = {id, box, body, now, hover});
  }
  function absent(p, why) { p.now.textContent = "not shown: " + why; }

  // axes: a plotting rectangle inside a canvas with data ranges
  // axes: a plotting rectangle inside a canvas with data ranges (x on log10(1 + x) with logx)
  function axes(cv, x0, x1, y0, y1, m = {l: 52, r: 8, t: 8, b: 30}, logy = false, logx = false) {
    const W = cv.lw || cv.width, H = cv.lh || cv.height;
    const ty = v => logy ? Math.log10(Math.max(v, 1e-300)) : v, tx = v => logx ? lx(v) : v;
    const Y0 = ty(y0), Y1 = ty(y1), X0 = tx(x0), X1 = tx(x1);
    return {m, W, H, x0, x1, y0, y1, logy, logx,
      px: x => m.l + (tx(x) - X0) / (X1 - X0 || 1) * (W - m.l - m.r),
      py: y => H - m.b - (ty(y) - Y0) / (Y1 - Y0 || 1) * (H - m.t - m.b),
      ix: X => { const t = X0 + (X - m.l) / (W - m.l - m.r) * (X1 - X0); return logx ? Math.pow(10, t) - 1 : t; },
      inside: (X, Y) => X >= m.l && X <= W - m.r && Y >= m.t && Y <= H - m.b};
  }
  function frame(ctx, ax, xlabel, ylabel, yticks) {
    ctx.strokeStyle = COL.grid; ctx.lineWidth = 1;
    ctx.strokeRect(ax.m.l, ax.m.t, ax.W - ax.m.l - ax.m.r, ax.H - ax.m.t - ax.m.b);
    font(ctx); ctx.fillStyle = COL.muted; ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const [v, s] of yticks) ctx.fillText(s, ax.m.l - 4, ax.py(v));
    ctx.textAlign = "center"; ctx.textBaseline = "bottom";
    if (xlabel) ctx.fillText(xlabel, (ax.m.l + ax.W - ax.m.r) / 2, ax.H - 1);
    if (ylabel) { ctx.save(); ctx.translate(10, (ax.m.t + ax.H - ax.m.b) / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = "middle"; ctx.fillText(ylabel, 0, 0); ctx.restore(); }
  }
  // epoch ticks along an axes' bottom (numbers with `labels`), and faint rules up through it
  function epochTicks(ctx, ax, labels) {
    ctx.strokeStyle = COL.grid; ctx.lineWidth = 1;
    const y = ax.py(ax.y0);
    for (const e of MINOR) { const X = ax.px(e); ctx.beginPath(); ctx.moveTo(X, y); ctx.lineTo(X, y + 3); ctx.stroke(); }
    for (const e of DECADES) {
      const X = ax.px(e);
      ctx.globalAlpha = .5; ctx.beginPath(); ctx.moveTo(X, ax.m.t); ctx.lineTo(X, y); ctx.stroke(); ctx.globalAlpha = 1;
      ctx.beginPath(); ctx.moveTo(X, y); ctx.lineTo(X, y + 5); ctx.stroke();
    }
    if (!labels) return;
    font(ctx); ctx.fillStyle = COL.muted; ctx.textBaseline = "top";
    for (const e of DECADES) { ctx.textAlign = e ? "center" : "left"; ctx.fillText(e.toLocaleString("en"), ax.px(e) - (e ? 0 : 2), y + 6); }
  }
  function mouse(cv, fn, leave) {
    cv.addEventListener("mousemove", ev => {
      const r = cv.getBoundingClientRect();
      fn((ev.clientX - r.left) * cv.lw / r.width, (ev.clientY - r.top) * cv.lh / r.height);
    });
    cv.addEventListener("mouseleave", leave);
  }
  // a canvas drawn off the page and copied onto `shownOn` (its fonts are sized for that one)
  // (at the pixels that one is shown at: sharpen(c, shownOn) before drawing on it)
  function offscreen(w, h, shownOn = null) {
    const c = document.createElement("canvas"); c.width = c.lw = w; c.height = c.lh = h; c.shownOn = shownOn; return c;
  }

  // ---- the state and the slider ----
  // The slider runs over log10(1 + epoch), as the loss panel's axis and the phase bar under it:
  // a position picks the checkpoint nearest it, and the thumb sits at that checkpoint's epoch.
  const state = {i: 0, playing: false, fixed: true};
  const slider = document.getElementById("slider"), epochLabel = document.getElementById("epoch");
  const scaleChoice = document.getElementById("scale");
  state.fixed = scaleChoice.value === "fixed";
  const SLIDER_MAX = +slider.max;
  const drawers = [];
  let lastRedrawMs = 0;
  function setIndex(i) {
    i = Math.max(0, Math.min(C - 1, Math.round(i)));
    state.i = i;
    const t0 = performance.now();
    const e = D.epochs[i], ph = phaseAt(e);
    slider.value = lx(e) / LX_MAX * SLIDER_MAX;
    epochLabel.textContent = `epoch ${e.toLocaleString("en")} · checkpoint ${i + 1}/${C}` + (ph ? ` · ${ph}` : "");
    for (const d of drawers) d(i);
    drawPhaseBar();
    lastRedrawMs = performance.now() - t0;
  }

  // the phase bar: the phases, the milestones and the epoch ticks on the slider's own track (the
  // range input's track runs from half a thumb in at either end)
  const phaseBar = document.getElementById("phasebar"), THUMB = 8;
  let barX = null;
  function drawPhaseBar() {
    const cv = phaseBar, W = cv.clientWidth || 800, H = 58;
    if (cv.lw !== W) { cv.lw = W; cv.lh = H; cv.scale = null; }      // drawn in CSS pixels
    sharpen(cv);
    const ctx = cv.getContext("2d");
    ctx.clearRect(0, 0, W, H);
    const r = cv.getBoundingClientRect(), s = slider.getBoundingClientRect();
    const x0 = (s.width ? s.left - r.left : 0) + THUMB, x1 = (s.width ? s.right - r.left : W) - THUMB;
    const xOf = e => x0 + lx(Math.max(e, 0)) / LX_MAX * (x1 - x0);
    barX = xOf;
    for (const [n, s, t] of D.spans) { ctx.fillStyle = PHASE[n] || COL.grid; ctx.globalAlpha = .45; ctx.fillRect(xOf(s), 0, Math.max(xOf(t) - xOf(s), 1), 16); }
    ctx.globalAlpha = 1; font(ctx, 12); ctx.textBaseline = "middle"; ctx.textAlign = "left";
    for (const [n, s, t] of D.spans) { ctx.fillStyle = COL.text; if (xOf(t) - xOf(s) > ctx.measureText(n).width + 6) ctx.fillText(n, xOf(s) + 3, 8.5); }
    // epoch ticks, numbered at each power of ten
    ctx.strokeStyle = COL.muted; ctx.lineWidth = 1; ctx.fillStyle = COL.muted; ctx.textBaseline = "top";
    for (const e of MINOR) { const X = xOf(e); ctx.beginPath(); ctx.moveTo(X, 16); ctx.lineTo(X, 19); ctx.stroke(); }
    for (const e of DECADES) { const X = xOf(e); ctx.beginPath(); ctx.moveTo(X, 16); ctx.lineTo(X, 22); ctx.stroke();
      ctx.textAlign = e ? "center" : "left"; ctx.fillText(e.toLocaleString("en"), X - (e ? 0 : 3), 23); }
    // the milestones, on a row of their own
    const marks = [["memorised", D.phases.memorised], ["grokked", D.phases.grokked]];
    ctx.fillStyle = COL.text;
    for (const [n, e] of marks) if (e !== null && e !== undefined) {
      const X = xOf(e), t = `${n} ${e.toLocaleString("en")}`, w = ctx.measureText(t).width;
      ctx.fillRect(X - 1, 0, 2, 16); ctx.textAlign = "center"; ctx.fillText(t, Math.min(Math.max(X, x0 + w / 2), x1 - w / 2), 40);
    }
    const X = xOf(D.epochs[state.i]);
    ctx.fillStyle = COL.cursor; ctx.fillRect(X - 1.5, 0, 3, 22);
  }
  // ---- panel: loss and accuracy ----
  function curvesPanel() {
    const p = panel("curves", "Loss and accuracy (per checkpoint)");
    const cv = canvas(p, 640, 440), ctx = cv.getContext("2d");
    const S = Object.fromEntries(Object.entries(D.curves).map(([k, v]) => [k, f4(v)]));
    const E = D.epochs, eMax = E[C - 1] || 1;
    const losses = [["train_loss", "train", COL.train, []], ["test_loss", "test", COL.test, []],
                    ["excluded_loss", "excluded (train)", COL.excluded, []],
                    ["restricted_loss_train", "restricted (train)", COL.restricted, [5, 3]],
                    ["restricted_loss_test", "restricted (test)", COL.restricted, []]];
    let lo = Infinity, hi = -Infinity;
    for (const [k] of losses) for (const v of S[k]) if (v > 0 && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    lo = Math.pow(10, Math.floor(Math.log10(lo))); hi = Math.pow(10, Math.ceil(Math.log10(hi)));
    // both on the scenes' log-epoch axis (log10(1 + epoch)), the cursor and the phase bar with them
    const aL = axes({width: 640, height: 262}, 0, eMax, lo, hi, {l: 54, r: 12, t: 44, b: 8}, true, true);
    const aA = axes({width: 640, height: 440}, 0, eMax, 0, 1, {l: 54, r: 12, t: 274, b: 40}, false, true);
    const bg = offscreen(640, 440, cv);
    let bgScale = null;
    function background() {           // drawn again when the canvas is shown at another size (its fonts)
      const b = bg.getContext("2d");
      sharpen(bg, cv); bgScale = `${cv.clientWidth} ${cv.scale}`; b.clearRect(0, 0, 640, 440);
      for (const ax of [aL, aA]) for (const [n, s, t] of D.spans) {
        b.fillStyle = PHASE[n] || COL.grid; b.globalAlpha = PAL.phase_alpha;
        b.fillRect(ax.px(s), ax.m.t, ax.px(Math.min(t, eMax)) - ax.px(s), ax.py(ax.y0) - ax.m.t);
      }
      b.globalAlpha = 1;
      const ticks = []; for (let v = lo; v <= hi * 1.001; v *= 10) ticks.push([v, v.toExponential(0)]);
      frame(b, aL, "", "loss", ticks);
      frame(b, aA, "epoch (log scale)", "accuracy", [[0, "0"], [.5, "50%"], [1, "100%"]]);
      epochTicks(b, aL, false); epochTicks(b, aA, true);
      function line(ax, arr, col, dash) {
        b.strokeStyle = col; b.setLineDash(dash); b.lineWidth = 1.8; b.beginPath(); let pen = false;
        for (let c = 0; c < C; c++) { const v = arr[c]; if (!isFinite(v) || (ax.logy && v <= 0)) { pen = false; continue; }
          const X = ax.px(E[c]), Y = ax.py(v); pen ? b.lineTo(X, Y) : b.moveTo(X, Y); pen = true; }
        b.stroke(); b.setLineDash([]);
      }
      for (const [k, , col, dash] of losses) line(aL, S[k], col, dash);
      line(aA, S.train_acc, COL.train, []); line(aA, S.test_acc, COL.test, []);
      // the legend, in two rows if it needs them
      font(b, 13); b.textAlign = "left"; b.textBaseline = "top";
      let x = aL.m.l + 4, y = 4;
      for (const [, name, col, dash] of losses) {
        const w = 22 + b.measureText(name).width + 14;
        if (x + w > 640 - aL.m.r) { x = aL.m.l + 4; y += 19; }
        b.strokeStyle = col; b.lineWidth = 2.5; b.setLineDash(dash); b.beginPath(); b.moveTo(x, y + 8); b.lineTo(x + 18, y + 8); b.stroke(); b.setLineDash([]);
        b.fillStyle = col; b.fillText(name, x + 22, y); x += w;
      }
    }
    const show = (c) => `epoch ${E[c]}: loss train ${fmt(S.train_loss[c])}, test ${fmt(S.test_loss[c])}, excluded ${fmt(S.excluded_loss[c])}, ` +
      `restricted train ${fmt(S.restricted_loss_train[c])}, test ${fmt(S.restricted_loss_test[c])}; accuracy train ${pct(S.train_acc[c])}, test ${pct(S.test_acc[c])}`;
    drawers.push(i => {
      if (bgScale !== `${cv.clientWidth} ${cv.scale}`) background();
      ctx.clearRect(0, 0, 640, 440); ctx.drawImage(bg, 0, 0, 640, 440);
      const X = aL.px(E[i]); ctx.strokeStyle = COL.cursor; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(X, aL.m.t); ctx.lineTo(X, aA.py(0)); ctx.stroke();
      p.cursorX = X;
      for (const [ax, keys] of [[aL, losses.map(l => [l[0], l[2]])], [aA, [["train_acc", COL.train], ["test_acc", COL.test]]]])
        for (const [k, col] of keys) { const v = S[k][i]; if (!isFinite(v) || (ax.logy && v <= 0)) continue;
          ctx.fillStyle = col; ctx.beginPath(); ctx.arc(X, ax.py(v), 3.5, 0, 7); ctx.fill(); }
      p.now.textContent = show(i);
    });
    mouse(cv, (X, Y) => {
      if (X < aL.m.l || X > 640 - aL.m.r) return;
      p.hover.textContent = show(nearest(aL.ix(X)));
    }, () => p.hover.textContent = " ");
    p.values = i => Object.fromEntries(Object.keys(S).map(k => [k, S[k][i]]));
    // where the epoch axis puts an epoch, as a share of the plot's width (the cursor's too)
    p.axis = {at: e => (aL.px(e) - aL.m.l) / (640 - aL.m.l - aL.m.r), cursor: () => (p.cursorX - aL.m.l) / (640 - aL.m.l - aL.m.r)};
  }

  // ---- panel: the embedding's Fourier norms ----
  function fourierPanel() {
    const p = panel("fourier", "Embedding W_E: Fourier norms per basis row" +
      (!AX.grid ? ` (its rows over x as it is; the key frequencies, coloured, are over ${SUM})` :
       PX === "x" && P === D.p ? "" : `, its rows over ${PX} (frequencies over Z_${P}: w = 2πk/${P})`));
    const cv = canvas(p, 640, 280), ctx = cv.getContext("2d");
    const N = f4(D.fourier.norms), labels = D.fourier.labels, n = labels.length;
    let hi = 0; for (const v of N) hi = Math.max(hi, v);
    const ax = axes(cv, -0.5, n - 0.5, 0, hi * 1.05, {l: 52, r: 8, t: 26, b: 22});
    const keyOf = j => { const k = Math.ceil(j / 2); return j > 0 ? D.key_freqs.indexOf(k) : -1; };
    drawers.push(i => {
      ctx.clearRect(0, 0, cv.lw, cv.lh);
      frame(ctx, ax, "basis row (const, cos 1, sin 1, …); scale: the largest over training", "norm", [[0, "0"], [hi, fmt(hi)]]);
      const w = (ax.px(1) - ax.px(0)) * .8;
      for (let j = 0; j < n; j++) { const v = N[i * n + j], q = keyOf(j);
        ctx.fillStyle = q >= 0 ? KEY[q % KEY.length] : COL.other; ctx.fillRect(ax.px(j) - w / 2, ax.py(v), w, ax.py(0) - ax.py(v)); }
      font(ctx, 13); ctx.textAlign = "left"; ctx.textBaseline = "top";
      let lx0 = ax.m.l + 4;
      D.key_freqs.forEach((k, q) => { const t = `k=${k} (${D.key_labels[q]})`; ctx.fillStyle = KEY[q % KEY.length];
        ctx.fillText(t, lx0, 5); lx0 += ctx.measureText(t).width + 16; });
      const row = Array.from(N.subarray(i * n, i * n + n)), top = row.map((v, j) => [v, j]).sort((a, b) => b[0] - a[0]).slice(0, 3);
      p.now.textContent = `epoch ${D.epochs[i]}: largest ` + top.map(([v, j]) => `${labels[j]} ${fmt(v)}`).join(", ");
    });
    mouse(cv, (X) => { const j = Math.round(ax.ix(X)); if (j < 0 || j >= n) return;
      p.hover.textContent = `epoch ${D.epochs[state.i]}, ${labels[j]}: norm ${fmt(N[state.i * n + j])}`; }, () => p.hover.textContent = " ");
    p.values = i => Array.from(N.subarray(i * n, i * n + n));
  }

  // ---- panels: the wave neurons swept over y, and their pair loops ----
  function wavesPanels(W) {
    const p = panel("waves", AX.grid ? `Wave neurons at ${XL} = 0${XL === "x" || !AX.x_tokens ? "" : tokens(0, null)}, swept over ${YL}`
      : `Wave neurons: none, (${XL}, ${YL}) is no grid`);
    const q = panel("loops", AX.grid ? `Neuron against neuron, dots coloured by ${YL} (diagonal: the neuron over ${YL})`
      : "Neuron against neuron: none, no grid");
    if (!D.waves.found) { absent(p, D.waves.reason); absent(q, D.waves.reason); return; }
    const n = W.g, neurons = D.waves.neurons;
    // each neuron's row spans its range over all checkpoints (fixed scales: a wave grows as it forms) or
    // at this checkpoint (a wave forming shows while it is small); its fit at its own frequency,
    // measured at this checkpoint, says how much of it is the wave
    const fit = D.waves.fit ? f4(D.waves.fit) : null, loopsAt = (D.replay.thresholds || {}).loops_r2;
    const fitOf = (i, g) => fit ? fit[i * n + g] : NaN;
    const cv = canvas(p, 640, 60 * n + 44), ctx = cv.getContext("2d"), rowH = 60, m = {l: 88, r: 10};
    const xs = y => m.l + y / (P - 1) * (640 - m.l - m.r);
    const cur = [];
    drawers.push(i => {
      ctx.clearRect(0, 0, cv.lw, cv.lh); font(ctx, 12);
      cur.length = 0;
      for (let g = 0; g < n; g++) {
        const v = W.values(i, g); cur.push(v);
        const [lo, hi] = W.range(i, g, state.fixed);
        const y0 = g * rowH + 4, h = rowH - 8, sy = t => y0 + h - (t - lo) / ((hi - lo) || 1) * h;
        ctx.strokeStyle = COL.grid; ctx.strokeRect(m.l, y0, 640 - m.l - m.r, h);
        ctx.fillStyle = COL.muted; ctx.textAlign = "right"; ctx.textBaseline = "middle";
        ctx.fillText(`#${neurons[g]} k=${D.waves.freqs[g]}`, m.l - 4, y0 + h / 2 - 7);
        if (fit) ctx.fillText(`R² ${fitOf(i, g).toFixed(2)}`, m.l - 4, y0 + h / 2 + 7);
        ctx.strokeStyle = COL.muted; ctx.lineWidth = 1; ctx.beginPath();
        for (let y = 0; y < P; y++) y ? ctx.lineTo(xs(y), sy(v[y])) : ctx.moveTo(xs(y), sy(v[y]));
        ctx.stroke();
        for (let y = 0; y < P; y++) { ctx.fillStyle = yColour[y]; ctx.fillRect(xs(y) - 1.5, sy(v[y]) - 1.5, 3, 3); }
      }
      ctx.fillStyle = COL.muted; ctx.textAlign = "center"; ctx.textBaseline = "bottom";
      ctx.fillText(`${YL} = 0 … ${P - 1}`, (m.l + 640 - m.r) / 2, cv.lh - 22);
      ctx.fillText(`each row on its neuron's range ${state.fixed ? "over all checkpoints" : "at this checkpoint"}; R²: its fit at its own frequency`, 320, cv.lh - 3);
      p.now.textContent = `epoch ${W.epoch(i)}: ` + cur.map((v, g) => `#${neurons[g]} ${fmt(Math.min(...v))}…${fmt(Math.max(...v))}` +
        (fit ? ` (R² ${fitOf(i, g).toFixed(2)})` : "")).join(", ");
    });
    mouse(cv, (X, Y) => { const g = Math.floor((Y - 4) / rowH), y = Math.round((X - m.l) / (640 - m.l - m.r) * (P - 1));
      if (g < 0 || g >= n || y < 0 || y >= P || !cur[g]) return;
      p.hover.textContent = `epoch ${W.epoch(state.i)}, neuron ${neurons[g]}, ${at(0, y)}: ${fmt(cur[g][y])}`; }, () => p.hover.textContent = " ");
    p.values = i => Array.from({length: n}, (_, g) => Array.from(W.values(i, g)));

    // the loop grid: cell (i, j) has neuron j across and neuron i up; each neuron's axis spans its
    // range at this checkpoint, whichever the scales (as NeuronLoops): a loop's shape shows while it is small
    const S = 600, cell = S / n, cv2 = canvas(q, S + 40, S + 28), c2 = cv2.getContext("2d");
    let pos = null;
    drawers.push(i => {
      c2.clearRect(0, 0, cv2.lw, cv2.lh);
      const v = Array.from({length: n}, (_, g) => W.values(i, g));
      const lo = v.map(a => Math.min(...a)), hi = v.map(a => Math.max(...a));
      const u = (g, t) => (t - lo[g]) / ((hi[g] - lo[g]) || 1);
      pos = {lo, hi, v};
      font(c2, 12); c2.fillStyle = COL.muted;
      for (let a = 0; a < n; a++) {
        c2.textAlign = "center"; c2.textBaseline = "top"; c2.fillText(`#${neurons[a]}`, 36 + a * cell + cell / 2, S + 6);
        c2.save(); c2.translate(16, a * cell + cell / 2); c2.rotate(-Math.PI / 2); c2.textBaseline = "middle"; c2.fillText(`#${neurons[a]}`, 0, 0); c2.restore();
      }
      c2.strokeStyle = COL.grid;
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) c2.strokeRect(36 + b * cell + 2, a * cell + 2, cell - 4, cell - 4);
      for (let y = 0; y < P; y++) {                   // one colour (its y) at a time: every cell's dot for y
        c2.fillStyle = yColour[y];
        for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) {
          const ux = a === b ? y / (P - 1) : u(b, v[b][y]), uy = u(a, v[a][y]);
          c2.fillRect(36 + b * cell + 4 + ux * (cell - 10), a * cell + cell - 6 - uy * (cell - 10), 2.4, 2.4);
        }
      }
      let said = "";
      if (fit) {      // the caption is chosen by the fit measured here, its threshold beside it
        let mean = 0; for (let g = 0; g < n; g++) mean += fitOf(i, g) / n;
        said = `; mean fit R² ${mean.toFixed(2)}` + (loopsAt === undefined ? "" : mean >= loopsAt ?
          `: waves, so loops (≥ ${loopsAt.toFixed(2)})` : `: no clean waves, no loops yet (< ${loopsAt.toFixed(2)})`);
      }
      q.now.textContent = `epoch ${W.epoch(i)}: ${n} × ${n} neuron pairs, ${P} dots each, each neuron on its range at this checkpoint ` +
        `(whichever the scales: the loop's shape)${said}`;
    });
    mouse(cv2, (X, Y) => { const b = Math.floor((X - 36) / cell), a = Math.floor(Y / cell);
      if (!pos || a < 0 || b < 0 || a >= n || b >= n) return;
      // the dot nearest the pointer in that cell
      const x0 = 36 + b * cell, y0 = a * cell, u = (g, t) => (t - pos.lo[g]) / ((pos.hi[g] - pos.lo[g]) || 1);
      let best = 0, bd = Infinity;
      for (let y = 0; y < P; y++) { const ux = a === b ? y / (P - 1) : u(b, pos.v[b][y]), uy = u(a, pos.v[a][y]);
        const d = (x0 + 4 + ux * (cell - 10) - X) ** 2 + (y0 + cell - 6 - uy * (cell - 10) - Y) ** 2; if (d < bd) { bd = d; best = y; } }
      q.hover.textContent = `epoch ${W.epoch(state.i)}, ${at(0, best)}: neuron ${neurons[b]} ${fmt(pos.v[b][best])}, neuron ${neurons[a]} ${fmt(pos.v[a][best])}`;
    }, () => q.hover.textContent = " ");
  }

  // ---- panels: surfaces over (x, y) as heat maps ----
  function surfacePanel(id, title, info, S) {
    const p = panel(id, title);
    if (!info.found) { absent(p, info.reason); return; }
    const px = Math.max(2, Math.floor(500 / P)), M = {l: 36, b: 26, t: 6, r: 96};
    const side = px * P, cv = canvas(p, M.l + side + M.r, M.t + side + M.b), ctx = cv.getContext("2d");
    const img = offscreen(P, P), ic = img.getContext("2d"), data = ic.createImageData(P, P);
    let cur = null, vmax = 1;
    // the share of rows peaking on the line at this checkpoint (measured on the unpacked surface by
    // extraction); "a ridge" only from the threshold up, stated beside it
    const rows = info.rows ? f4(info.rows) : null, ridge = (D.replay.thresholds || {}).ridge_rows;
    const onLine = i => {
      if (!rows) return "";
      const r = rows[i], on = `${SUM} ≡ ${info.line}` + (info.tol ? ` (±${info.tol})` : "");
      return `${pct(r)} of rows peak on ${on}` + (ridge === undefined ? "" : r >= ridge ?
        ` (a ridge: ≥ ${pct(ridge)})` : ` (no ridge yet: < ${pct(ridge)})`) + "; ";
    };
    drawers.push(i => {
      const v = S.values(i); cur = v;
      // the colour scale: symmetric about 0, over all checkpoints (fixed) or this one's values
      const [lo, hi] = S.range(i, 0, state.fixed);
      vmax = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
      const d = data.data;
      // value at (x, y) is v[x * P + y]; the picture has x across and y up (as the figures)
      for (let x = 0; x < P; x++) for (let y = 0; y < P; y++) {
        const k = Math.max(0, Math.min(255, Math.round((v[x * P + y] / vmax + 1) * 127.5))), o = ((P - 1 - y) * P + x) * 4;
        d[o] = L_SIGNED[k * 3]; d[o + 1] = L_SIGNED[k * 3 + 1]; d[o + 2] = L_SIGNED[k * 3 + 2]; d[o + 3] = 255;
      }
      ic.putImageData(data, 0, 0);
      ctx.clearRect(0, 0, cv.lw, cv.lh); ctx.imageSmoothingEnabled = false;
      ctx.drawImage(img, M.l, M.t, side, side);
      ctx.strokeStyle = COL.grid; ctx.strokeRect(M.l, M.t, side, side);
      if (info.line !== undefined && info.line !== null) {      // the line u + v ≡ line (two segments), dashed
        const c = info.line, cx = x => M.l + (x + .5) * px, cy = y => M.t + (P - 1 - y + .5) * px;
        ctx.save(); ctx.setLineDash([5, 3]); ctx.strokeStyle = COL.line; ctx.lineWidth = 1.6; ctx.beginPath();
        ctx.moveTo(cx(0), cy(c)); ctx.lineTo(cx(c), cy(0));
        if (c < P - 1) { ctx.moveTo(cx(c + 1), cy(P - 1)); ctx.lineTo(cx(P - 1), cy(c + 1)); }
        ctx.stroke(); ctx.restore();
      }
      ctx.fillStyle = COL.muted; font(ctx, 13); ctx.textAlign = "center"; ctx.textBaseline = "top";
      ctx.fillText(`${XL} = 0 … ${P - 1}`, M.l + side / 2, M.t + side + 6);
      ctx.save(); ctx.translate(14, M.t + side / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = "middle"; ctx.fillText(`${YL} = 0 … ${P - 1}`, 0, 0); ctx.restore();
      const bx = M.l + side + 16, bh = side;
      // each row overlaps the next: at a backing store of a fractional scale, abutting rows leave seams
      for (let r = 0; r < bh; r++) { const k = Math.round((1 - r / (bh - 1)) * 255); ctx.fillStyle = rgb(L_SIGNED, k); ctx.fillRect(bx, M.t + r, 12, r < bh - 1 ? 2 : 1); }
      ctx.textAlign = "left"; ctx.textBaseline = "middle"; ctx.fillStyle = COL.muted;
      ctx.textBaseline = "top"; ctx.fillText(fmt(vmax), bx + 16, M.t); ctx.textBaseline = "middle"; ctx.fillText("0", bx + 16, M.t + bh / 2);
      ctx.textBaseline = "bottom"; ctx.fillText(fmt(-vmax), bx + 16, M.t + bh);
      ctx.save(); ctx.translate(bx + 16 + 12, M.t + bh * .75); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center"; ctx.textBaseline = "top";
      ctx.fillText(state.fixed ? "fixed: all checkpoints" : "this checkpoint's", 0, 0); ctx.restore();
      let mi = 0; for (let j = 1; j < v.length; j++) if (v[j] > v[mi]) mi = j;
      const from = S.frames ? ` (surface from checkpoint epoch ${S.epoch(i)}: every ${ordinal(D.surface_stride)} stored)` : "";
      p.now.textContent = `epoch ${D.epochs[i]}${from}: ${onLine(i)}max ${fmt(v[mi])} at (${XL} ${Math.floor(mi / P)}, ${YL} ${mi % P}${tokens(Math.floor(mi / P), mi % P).replace(" (", "; ").replace(")", "")}), min ${fmt(Math.min(...v))}; ` +
        `colour scale ±${fmt(vmax)} (${state.fixed ? "fixed over all checkpoints" : "this checkpoint's"})`;
    });
    mouse(cv, (X, Y) => { const x = Math.floor((X - M.l) / px), y = P - 1 - Math.floor((Y - M.t) / px);
      if (!cur || x < 0 || y < 0 || x >= P || y >= P) return;
      p.hover.textContent = `epoch ${S.epoch(state.i)}, ${at(x, y)}: ${fmt(cur[x * P + y])}`; }, () => p.hover.textContent = " ");
    p.values = i => Array.from(S.values(i));
    p.scale = () => vmax;            // the colour scale of the last drawing: ±vmax
    // where on the screen the cell (x, y) is drawn (client coordinates): for pointing at it
    p.cell = (x, y) => { const r = cv.getBoundingClientRect(), k = r.width / cv.lw;
      return [r.left + (M.l + (x + .5) * px) * k, r.top + (M.t + (P - 1 - y + .5) * px) * k]; };
  }

  // ---- panel: the probe's wave against the cosine ----
  function probePanel() {
    const pr = D.probe, p = panel("probe", `Sparse probes on the embedding: cos and sin of ${pr.label} (k = ${pr.k}) over ${PX}` +
      (pr.refitted ? ", refitted at each checkpoint" : ", fitted at the analysis checkpoint"));
    const cv = canvas(p, 640, 300), ctx = cv.getContext("2d");
    const A = {cos_out: f4(pr.cos_out), sin_out: f4(pr.sin_out), cos_target: f4(pr.cos_target), sin_target: f4(pr.sin_target),
               cos_r2: f4(pr.cos_r2), sin_r2: f4(pr.sin_r2)};
    const fixed = pr.cos_r2_fixed ? {cos: f4(pr.cos_r2_fixed), sin: f4(pr.sin_r2_fixed)} : null;
    const shape = (D.replay.thresholds || {}).shape_r2;
    let lim = 1; for (const k of ["cos_out", "sin_out", "cos_target", "sin_target"]) for (const v of A[k]) if (isFinite(v)) lim = Math.max(lim, Math.abs(v));
    const ax = axes(cv, 0, P - 1, -lim * 1.05, lim * 1.05, {l: 52, r: 8, t: 26, b: 24});
    drawers.push(i => {
      ctx.clearRect(0, 0, cv.lw, cv.lh);
      frame(ctx, ax, `${PX} = 0 … ${P - 1} (position 0)`, "probe output", [[-1, "−1"], [0, "0"], [1, "1"], [lim, fmt(lim)]]);
      for (const [f, col] of [["cos", COL.cos], ["sin", COL.sin]]) {
        const t = A[f + "_target"], o = A[f + "_out"].subarray(i * P, i * P + P);
        ctx.strokeStyle = col; ctx.globalAlpha = .55; ctx.lineWidth = 1.2; ctx.beginPath();
        for (let x = 0; x < P; x++) x ? ctx.lineTo(ax.px(x), ax.py(t[x])) : ctx.moveTo(ax.px(x), ax.py(t[x]));
        ctx.stroke(); ctx.globalAlpha = 1; ctx.fillStyle = col;
        for (let x = 0; x < P; x++) { ctx.beginPath(); ctx.arc(ax.px(x), ax.py(o[x]), 2.6, 0, 7); ctx.fill(); }
      }
      font(ctx, 13); ctx.textAlign = "left"; ctx.textBaseline = "top";
      const wx = PX === "x" ? "wx" : `w·${PX}`, cosText = `cos probe (dots), cos(${wx}) (line)`;
      ctx.fillStyle = COL.cos; ctx.fillText(cosText, ax.m.l + 4, 5);
      ctx.fillStyle = COL.sin; ctx.fillText(`sin probe (dots), sin(${wx}) (line)`, ax.m.l + 4 + ctx.measureText(cosText).width + 24, 5);
      const c = A.cos_r2[i];
      p.now.textContent = `epoch ${D.epochs[i]}: R² cos ${fmt(c)}, sin ${fmt(A.sin_r2[i])}` +
        (shape === undefined ? "" : c >= shape ? ` (a wave: ≥ ${shape.toFixed(2)})` : ` (no wave yet: < ${shape.toFixed(2)})`) +
        (fixed ? `; the analysis checkpoint's probe held fixed would show R² cos ${fmt(fixed.cos[i])}, sin ${fmt(fixed.sin[i])}` : "");
    });
    mouse(cv, (X) => { const x = Math.round(ax.ix(X)); if (x < 0 || x >= P) return; const i = state.i;
      p.hover.textContent = `epoch ${D.epochs[i]}, ${PX} ${x}${PX === "x" ? "" : tokens(x, null)}: cos probe ${fmt(A.cos_out[i * P + x])} (cos ${fmt(A.cos_target[x])}), ` +
        `sin probe ${fmt(A.sin_out[i * P + x])} (sin ${fmt(A.sin_target[x])})`; }, () => p.hover.textContent = " ");
    p.values = i => ({cos: Array.from(A.cos_out.subarray(i * P, i * P + P)), sin: Array.from(A.sin_out.subarray(i * P, i * P + P))});
  }

  // ---- start ----
  async function start() {
    const W = D.waves.found ? await q8(D.waves.sweeps) : null;
    const SC = D.crest.found ? await q8(D.crest.surface) : null;
    const SL = D.logit.found ? await q8(D.logit.surface) : null;
    curvesPanel();
    fourierPanel();
    wavesPanels(W);
    const answer = D.crest.answer ? `: ${D.crest.answer}` : "";
    surfacePanel("crest", D.crest.found ? `The crest unit over (${XL}, ${YL}), the line ${SUM} ≡ ${D.crest.T} (mod ${P}) dashed${answer}` :
      AX.grid ? "The crest unit" : "The crest unit: none, no grid", D.crest, SC);
    surfacePanel("logit", D.logit.found ? `The logit of ${D.logit.answer || `output ${D.logit.output}`} over (${XL}, ${YL}), the line ${SUM} ≡ ${D.logit.output} dashed` :
      AX.grid ? "The logit surface" : "The logit surface: none, no grid", D.logit, SL);
    probePanel();
    // a slider position is a log epoch: the checkpoint nearest it
    slider.addEventListener("input", () => setIndex(nearest(Math.pow(10, +slider.value / SLIDER_MAX * LX_MAX) - 1)));
    scaleChoice.addEventListener("change", () => { state.fixed = scaleChoice.value === "fixed"; setIndex(state.i); });
    const play = document.getElementById("play");
    let timer = null;
    function toggle() {
      state.playing = !state.playing; play.textContent = state.playing ? "❚❚ pause" : "▶ play";
      if (state.playing) {
        if (state.i >= C - 1) setIndex(0);
        const step = () => { if (!state.playing) return; if (state.i >= C - 1) { toggle(); return; } setIndex(state.i + 1); timer = setTimeout(step, 60); };
        step();
      } else clearTimeout(timer);
    }
    play.addEventListener("click", toggle);
    document.addEventListener("keydown", ev => {
      if (ev.target === scaleChoice) return;
      const d = ev.shiftKey ? 10 : 1;          // a checkpoint at a time (the slider's own steps are log epochs)
      if (ev.key === "ArrowRight") { setIndex(state.i + d); ev.preventDefault(); }
      else if (ev.key === "ArrowLeft") { setIndex(state.i - d); ev.preventDefault(); }
      else if (ev.key === " " && ev.target.tagName !== "BUTTON") { toggle(); ev.preventDefault(); }
    });
    window.addEventListener("resize", () => {     // the backing stores and fonts follow the canvases' sizes
      for (const c of shownCanvases) sharpen(c);
      setIndex(state.i);
    });
    setIndex(0);
    window.explorer = {C, epochs: D.epochs, setIndex, index: () => state.i, lastRedrawMs: () => lastRedrawMs,
                       values: (id, i = state.i) => panels[id] && panels[id].values ? panels[id].values(i) : null,
                       cell: (id, x, y) => panels[id].cell(x, y), stride: D.surface_stride,
                       scale: id => panels[id].scale(), fixed: () => state.fixed, palette: PAL,
                       // where the current epoch is, as a share of each one's width: the loss panel's
                       // cursor, the phase bar's cursor (on the slider's track) and the slider
                       where: () => { const s = slider.getBoundingClientRect(), r = phaseBar.getBoundingClientRect(), e = D.epochs[state.i];
                         return {epoch: e, curves: panels.curves.axis.cursor(), curvesAt: panels.curves.axis.at(e),
                                 bar: (barX(e) - (s.left - r.left) - THUMB) / (s.width - 2 * THUMB), slider: +slider.value / SLIDER_MAX,
                                 log: lx(e) / LX_MAX}; },
                       ready: true};
    document.body.dataset.ready = "1";
  }
  start().catch(err => { document.body.dataset.ready = "error"; console.error(err); throw err; });
})();
