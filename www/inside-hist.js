// The ranges-and-histograms view of the inside panel: the selected layer's float weights (per output
// channel) and activations on the first N representative images, drawn on the quantized tensor's grid
// (its levels, the calibrated range, real 0, what is clipped) beside the rounding error's distribution,
// with every calibration method's range on the same images drawn over the activations (brackets above
// the bars, listed below). Changing N or the calibration method calibrates again in the worker; each bin
// says what it holds when hovered or focused with the arrow keys.

import { t, num } from './i18n.js';
import { el, scaleText } from './view.js';
import { $, message } from './page.js';

/** Canvases waiting to be drawn. A new view is laid out in one animation frame with its canvases still
 * blank; they are drawn in the frames after it, one or a few per frame (up to 4 ms of drawing each), so
 * that no frame carries both the layout of the view and its drawing and none keeps the page's thread
 * busy for 50 ms. */
const pending = [];

function drawSoon(job) {
  pending.push(job);
  if (pending.length === 1) requestAnimationFrame(() => requestAnimationFrame(drawSome));
}

function drawSome() {
  const until = performance.now() + 4;
  try {
    do pending.shift()();
    while (pending.length && performance.now() < until);
  } finally {
    if (pending.length) requestAnimationFrame(drawSome);
  }
}

const real = (v) => num(v, { maximumSignificantDigits: 4 });

/** Ask for the histograms on `samples` images, one request at a time: a change while one runs is sent
 * when it returns (the view follows the field as fast as the worker goes). */
async function ask(ctx, samples = ctx.state.hist.samples) {
  const h = ctx.state.hist;
  h.want = samples;
  if (h.busy) return;
  h.busy = true;
  const status = document.querySelector('[data-testid=hist-status]');
  if (status) status.textContent = t('inside.loading');
  while (h.want !== null && ctx.state.hist === h) {
    const n = h.want;
    h.want = null;
    // the pair's own grids while the images and the method are the ones it was calibrated with
    const own = ctx.state.pairSamples === null || (n === ctx.state.pairSamples && h.method === 'minmax');
    try {
      const answer = await ctx.request('inside-hist', { samples: n, method: own ? null : h.method });
      if (ctx.state.hist !== h) return;
      h.report = answer.report;
      h.failed = null;
    } catch (err) {
      if (ctx.state.hist !== h) return;
      h.failed = message(err);
    }
    // every method's range on the same images (the pair's mode calibrated again: only where the images
    // the pair was calibrated on are known)
    if (ctx.state.pairSamples !== null && h.ranges?.samples !== n) {
      try {
        const answer = await ctx.request('inside-ranges', { samples: n });
        if (ctx.state.hist !== h) return;
        h.ranges = { samples: n, methods: answer.ranges };
      } catch {
        if (ctx.state.hist !== h) return;
        h.ranges = null; // the histograms say what went wrong
      }
    }
  }
  h.busy = false;
  // drawn in a task of its own, not in the one that received the worker's answer
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (ctx.state.hist === h) ctx.renderHist();
}

/** The level codes a real interval covers on the grid. */
function codes(g, a, b) {
  const q = (v) => Math.min(g.qmax, Math.max(g.qmin, Math.round(v / g.scale) + g.zero_point));
  return [q(a), q(b)];
}

/** What bin `i` of histogram `hist` holds, in words. */
function binText(th, which, i) {
  const hist = which === 'values' ? th.values : th.rounding_error;
  const w = (hist.hi - hist.lo) / hist.counts.length;
  const [a, b] = [hist.lo + i * w, hist.lo + (i + 1) * w];
  const n = hist.counts[i];
  if (which === 'error') return t('hist.bin-error', { a: real(a), b: real(b), n });
  const g = th.grid;
  if (b <= g.real_min || a >= g.real_max) {
    return t('hist.bin-clipped', { a: real(a), b: real(b), n, q: b <= g.real_min ? g.qmin : g.qmax });
  }
  const [qa, qb] = codes(g, Math.max(a, g.real_min), Math.min(b, g.real_max));
  return t('hist.bin', { a: real(a), b: real(b), n, qa, qb });
}

/** Paint a histogram: bars on a log scale (the rounding error with the even level dashed), and for values
 * the grid: its range shaded, the clipped zones tinted, a tick per level, real 0 marked, and each of
 * `marks` ({method, lo, hi}: a calibration method's range) as a bracket above the bars. */
function draw(canvas, th, which, cursor, marks = []) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 520;
  const cssH = canvas.clientHeight || 160;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  const c = canvas.getContext('2d');
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  const css = getComputedStyle(canvas);
  const color = (name) => css.getPropertyValue(name).trim() || '#888';
  const hist = which === 'values' ? th.values : th.rounding_error;
  // room above the bars for the brackets
  const pad = { l: 6, r: 6, t: 6 + marks.length * 5, b: 14 };
  const w = cssW - pad.l - pad.r;
  const h = cssH - pad.t - pad.b;
  const x = (v) => pad.l + ((v - hist.lo) / (hist.hi - hist.lo || 1)) * w;
  const g = th.grid;
  if (which === 'values') {
    c.fillStyle = `color-mix(in srgb, ${color('--loss')} 14%, transparent)`;
    c.fillRect(pad.l, pad.t, w, h);
    c.fillStyle = color('--card');
    c.fillRect(x(g.real_min), pad.t, x(g.real_max) - x(g.real_min), h);
    c.fillStyle = `color-mix(in srgb, ${color('--accent')} 10%, transparent)`;
    c.fillRect(x(g.real_min), pad.t, x(g.real_max) - x(g.real_min), h);
    c.strokeStyle = color('--muted');
    c.lineWidth = 1;
    c.beginPath();
    for (let q = g.qmin; q <= g.qmax; q++) {
      const px = Math.round(x(g.scale * (q - g.zero_point))) + 0.5;
      c.moveTo(px, pad.t + h);
      c.lineTo(px, pad.t + h + (q === g.zero_point ? 10 : 4));
    }
    c.stroke();
  }
  const n = hist.counts.length;
  const max = Math.max(1, ...hist.counts);
  const height = (k) => (Math.log1p(k) / Math.log1p(max)) * h;
  const bw = w / n;
  hist.counts.forEach((k, i) => {
    const a = hist.lo + (i / n) * (hist.hi - hist.lo);
    const b = a + (hist.hi - hist.lo) / n;
    const outside = which === 'values' && (b <= g.real_min || a >= g.real_max);
    c.fillStyle = i === cursor ? color('--fg') : outside ? color('--loss') : color('--acc');
    const bh = height(k);
    c.fillRect(pad.l + i * bw + 0.5, pad.t + h - bh, Math.max(1, bw - 1), bh);
  });
  c.strokeStyle = color('--val');
  c.lineWidth = 2;
  c.setLineDash([4, 3]);
  c.beginPath();
  if (which === 'values') {
    const z = x(0);
    c.moveTo(z, pad.t);
    c.lineTo(z, pad.t + h);
  } else {
    const even = height((th.count - th.clipped_below - th.clipped_above) / n);
    c.moveTo(pad.l, pad.t + h - even);
    c.lineTo(pad.l + w, pad.t + h - even);
  }
  c.stroke();
  c.setLineDash([]);
  marks.forEach((m, k) => {
    const [a, b] = [Math.max(pad.l, x(m.lo)), Math.min(pad.l + w, x(m.hi))];
    const y = 4 + k * 5;
    c.strokeStyle = color(`--m-${m.method}`);
    c.lineWidth = 2;
    c.beginPath();
    c.moveTo(a, y + 4);
    c.lineTo(a, y);
    c.lineTo(b, y);
    c.lineTo(b, y + 4);
    c.stroke();
  });
  return (clientX) => {
    const r = canvas.getBoundingClientRect();
    return Math.min(n - 1, Math.max(0, Math.floor(((clientX - r.left - pad.l) / w) * n)));
  };
}

/** One chart with its caption, its bin cursor (mouse or arrow keys) and the live line saying what the
 * bin holds. */
function chart(ctx, th, which, key, marks) {
  const h = ctx.state.hist;
  const hist = which === 'values' ? th.values : th.rounding_error;
  const id = `hist-${key}-${which}`;
  const cursor = h.cursor?.[id] ?? null;
  const info = el('p', { class: 'small bin-info', 'aria-live': 'polite', 'data-testid': `${id}-info`,
    text: cursor === null ? t('hist.hint') : binText(th, which, cursor) });
  const canvas = el('canvas', { id, tabindex: '0', role: 'img', class: 'hist', 'data-testid': id,
    'data-counts': hist.counts.join(','),
    'aria-label': which === 'values'
      ? t('hist.values-label', { n: th.count, min: real(th.min), max: real(th.max), lo: real(th.grid.real_min), hi: real(th.grid.real_max) })
      : t('hist.error-label', { s: scaleText(th.grid.scale) }) });
  const set = (i) => {
    h.cursor = { ...h.cursor, [id]: i };
    info.textContent = binText(th, which, i);
    binAt = draw(canvas, th, which, i, marks);
  };
  let binAt = () => 0;
  drawSoon(() => {
    binAt = draw(canvas, th, which, cursor, marks);
  });
  canvas.addEventListener('pointermove', (e) => set(binAt(e.clientX)));
  canvas.addEventListener('keydown', (e) => {
    const n = hist.counts.length;
    const now = h.cursor?.[id] ?? -1;
    // the axis runs left to right in either direction of text, like the numbers on it
    const next = { ArrowRight: now + 1, ArrowLeft: now - 1, Home: 0, End: n - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    set(Math.min(n - 1, Math.max(0, next)));
  });
  const lo = which === 'values' ? hist.lo : -th.grid.scale / 2;
  const hi = which === 'values' ? hist.hi : th.grid.scale / 2;
  return el('figure', { class: 'hist-box' },
    el('figcaption', { text: t(which === 'values' ? 'hist.values' : 'hist.error') }),
    canvas,
    el('div', { class: 'axis', dir: 'ltr' }, el('span', { text: real(lo) }), el('span', { text: real(hi) })),
    info);
}

/** Every method's range for activation `th`, as draw() takes them (none when they are not known). */
function methodMarks(ctx, th) {
  const r = ctx.state.hist.ranges;
  if (th.kind !== 'activations' || r?.samples !== ctx.state.hist.report?.samples) return [];
  return r.methods.flatMap(({ method, ranges }) => {
    const range = ranges.find((x) => x.tensor_name === th.tensor_name);
    return range ? [{ method, lo: range.real_min, hi: range.real_max }] : [];
  });
}

/** One tensor's histograms with the sentence that reads them. */
function tensorPart(ctx, th, key) {
  const g = th.grid;
  const marks = methodMarks(ctx, th);
  const summary = t('hist.summary', {
    min: real(th.min), max: real(th.max), lo: real(g.real_min), hi: real(g.real_max),
    levels: g.qmax - g.qmin + 1, s: scaleText(g.scale), zp: g.zero_point,
    below: th.clipped_below, above: th.clipped_above, n: th.count,
  });
  return el('div', { class: 'hist-tensor', 'data-testid': `hist-${key}`, 'data-tensor': th.tensor_name, 'data-scale': String(g.scale), 'data-zp': String(g.zero_point),
    'data-real-min': String(g.real_min), 'data-real-max': String(g.real_max), 'data-count': String(th.count),
    'data-clipped': `${th.clipped_below},${th.clipped_above}` },
  el('p', { class: 'small', text: summary }),
  el('div', { class: 'hist-row' }, chart(ctx, th, 'values', key, marks), chart(ctx, th, 'error', key)),
  ...(marks.length ? [el('p', { class: 'small', text: t('hist.ranges', { n: ctx.state.hist.report.samples }) }),
    el('ul', { class: 'ranges', 'data-testid': `hist-${key}-ranges` }, ...marks.map((m) => el('li', {
      class: `m-${m.method}`, 'data-method': m.method, 'data-lo': String(m.lo), 'data-hi': String(m.hi),
    }, el('span', { class: 'swatch', 'aria-hidden': 'true' }),
    t('hist.range', { m: t(`hist.m-${m.method}`), lo: real(m.lo), hi: real(m.hi) }),
    m.lo === g.real_min && m.hi === g.real_max ? ` ${t('hist.range-shown')}` : '')))] : []));
}

/** Draw the view from the panel's state. */
export function render(box, ctx) {
  const s = ctx.state;
  const h = (s.hist ??= {});
  const parts = [el('h3', { id: 'inside-hist-h', text: t('hist.title') })];
  const graph = ctx.graphOf();
  const op = ctx.op(s.layer);
  const note = (key) => parts.push(el('p', { class: 'note', text: t(key) }));
  if (!graph || !s.pair?.float) {
    if (s.pair) note(graph ? 'inside.needs-float' : 'inside.needs-quant');
    box.replaceChildren(...parts);
    return;
  }
  if (!graph.integer) {
    note('inside.needs-integer');
    box.replaceChildren(...parts);
    return;
  }
  const samples = h.samples ?? s.pairSamples ?? 100;
  h.samples = samples;
  parts.push(el('p', { class: 'small', text: t('hist.intro') }));
  // the same field from one drawing to the next, so that typing in it goes on undisturbed
  const field = (h.field ??= el('input', { id: 'hist-samples', type: 'number', min: '1', max: '1000', value: String(samples), inputmode: 'numeric', 'data-testid': 'hist-samples',
    oninput: (e) => {
      const v = Number(e.target.value);
      if (!Number.isInteger(v) || v < 1 || v > 1000) return;
      h.samples = v;
      ask(ctx, v);
    } }));
  h.method ??= 'minmax';
  const methods = el('select', { id: 'hist-method', 'data-testid': 'hist-method', disabled: s.pairSamples === null,
    onchange: (e) => {
      h.method = e.target.value;
      ask(ctx);
    } }, ...['minmax', 'percentile', 'entropy', 'mse'].map((m) => el('option', { value: m, selected: m === h.method, text: t(`hist.m-${m}`) })));
  parts.push(el('div', { class: 'form' }, el('label', {}, el('span', { text: t('hist.samples') }), field),
    el('label', {}, el('span', { text: t('hist.method') }), methods),
    el('span', { class: 'small', 'aria-live': 'polite', 'data-testid': 'hist-status',
      text: h.busy ? t('inside.loading') : h.report ? t(h.report.recalibrated ? 'hist.recalibrated' : 'hist.own', { n: h.report.samples, m: t(`hist.m-${h.report.recalibrated}`) }) : '' })));
  if (s.pairSamples === null) parts.push(el('p', { class: 'small', text: t('hist.fixed') }));
  if (h.failed) parts.push(el('p', { class: 'error', role: 'alert', text: h.failed }));
  const r = h.report;
  if (!r && !h.busy && !h.failed) ask(ctx, samples);
  if (r && op) {
    const act = r.activations.find((x) => x.op_index === op.index);
    const weights = r.weights.filter((x) => x.op_index === op.index);
    if (!act && !weights.length) parts.push(el('p', { class: 'note', text: t('hist.none', { op: op.name }) }));
    if (weights.length) {
      const ch = Math.min(h.channel ?? 0, weights.length - 1);
      parts.push(el('h4', { text: t('hist.weights', { op: op.name }) }));
      if (weights.length > 1) {
        parts.push(el('div', { class: 'form' }, el('label', {}, el('span', { text: t('hist.channel') }),
          el('select', { id: 'hist-channel', 'data-testid': 'hist-channel', onchange: (e) => {
            h.channel = Number(e.target.value);
            ctx.renderHist();
            $('hist-channel')?.focus();
          } }, ...weights.map((_, i) => el('option', { value: String(i), selected: i === ch, text: num(i) }))))));
      }
      parts.push(tensorPart(ctx, weights[ch], 'weights'));
    }
    if (act) {
      parts.push(el('h4', { text: t('hist.activations', { op: op.name, n: r.samples }) }));
      parts.push(tensorPart(ctx, act, 'activations'));
    }
  }
  const focused = document.activeElement?.id;
  box.replaceChildren(...parts);
  if (focused) document.getElementById(focused)?.focus();
}
