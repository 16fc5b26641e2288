// The by-hand view of the inside panel: the selected layer's output on a test image (a convolution's or a
// pool's output map, one channel at a time, or a row of logits) where a click, a tap or the arrow keys
// pick one element, and that element computed the way the integer kernel computes it: the input window
// and the weights as small grids, each named step with its value, the output code, its real value, the
// float model's value, and the interpreter's own output for the element beside them.

import { t, num } from './i18n.js';
import { el, scaleText } from './view.js';
import { message } from './page.js';
import { zpText } from './output-numbers.js';

/** Ask the worker for the selected layer on the panel's image; `keepPick` keeps the element picked. */
export async function reload(ctx, { keepPick = false } = {}) {
  const s = ctx.state;
  const x = s.explain;
  const op = ctx.op(s.layer);
  const same = keepPick && x.op === s.layer;
  s.explain = { op: s.layer, image: s.image, channel: same ? x.channel : null, flat: same ? x.flat : null };
  ctx.renderExplain();
  if (!op?.explainable || !ctx.takesImages()) return;
  await ask(ctx, s.explain.flat, true);
}

/** Explain element `flat` (null: the largest of the layer), with the layer's output when `output`. */
async function ask(ctx, flat, output) {
  const x = ctx.state.explain;
  const token = (x.token = {});
  x.busy = true;
  try {
    const answer = await ctx.request('inside-explain', { op: x.op, flat, image: x.image, output });
    if (x.token !== token || ctx.state.explain !== x) return;
    if (answer.layer) x.layer = answer.layer;
    x.flat = answer.flat;
    x.answer = answer.explanation;
    x.unexplained = answer.unexplained;
    x.failed = null;
    const shape = x.layer?.shape ?? [];
    if (shape.length === 4) x.channel = answer.flat % shape[3];
  } catch (err) {
    if (x.token !== token) return;
    x.failed = message(err);
  }
  x.busy = false;
  const focused = document.activeElement?.id;
  ctx.renderExplain();
  if (focused) document.getElementById(focused)?.focus();
}

function pick(ctx, flat) {
  const x = ctx.state.explain;
  if (flat === x.flat) return;
  x.flat = flat;
  ask(ctx, flat, false);
}

/** Text kept left to right inside a sentence of either direction (a formula, coordinates). */
const ltr = (text) => `\u2066${text}\u2069`;

const cell = (v) => (v === null ? el('td', { class: 'pad', title: t('explain.pad'), text: '·' }) : el('td', { class: 'num', text: num(v) }));

/** A grid of the explanation: an input window or a filter, [h, w, channels] or [h, w]. */
function grid(g, caption, testid) {
  const parts = [];
  const [h, w, ch = 1] = g.shape;
  for (let c = 0; c < ch; c++) {
    const rows = [];
    for (let y = 0; y < h; y++) {
      rows.push(el('tr', {}, ...Array.from({ length: w }, (_, xx) => cell(g.values[(y * w + xx) * ch + c]))));
    }
    parts.push(el('table', { class: 'grid' }, ...(ch > 1 ? [el('caption', { text: t('explain.channel', { c }) })] : []), el('tbody', {}, ...rows)));
  }
  const scale = g.scale.map(scaleText).join(', ');
  return el('figure', { class: 'grid-box', 'data-testid': testid },
    el('figcaption', { text: t(caption, { scale, zp: g.zero_point, n: g.values.length }) }),
    el('div', { class: 'grids' }, ...parts));
}

/** A fully connected unit's inputs and weights (thousands of them): the terms that weigh most, and every
 * term as plain text once the student opens the list (a table of thousands of cells would block the
 * page for a long moment). */
function terms(x, wt) {
  const all = x.values.map((v, i) => {
    const wv = wt.values[i];
    return { i, v, w: wv, p: (v - x.zero_point) * (wv - wt.zero_point) };
  });
  const top = [...all].sort((a, b) => Math.abs(b.p) - Math.abs(a.p) || a.i - b.i).slice(0, 10);
  const head = el('tr', {}, ...['explain.h-i', 'explain.h-x', 'explain.h-w', 'explain.h-p'].map((k) => el('th', { scope: 'col', class: 'num', text: t(k, { zx: zpText(x.zero_point), zw: zpText(wt.zero_point) }) })));
  const rows = top.map((r) => el('tr', {}, ...[r.i, r.v, r.w, r.p].map((v) => el('td', { class: 'num', text: num(v) }))));
  const list = el('pre', { class: 'terms', dir: 'ltr' });
  const details = el('details', { ontoggle: () => {
    if (details.open && !list.textContent) list.textContent = all.map((r) => `${r.i}: (${r.v} − ${x.zero_point}) × ${r.w} = ${r.p}`).join('\n');
  } }, el('summary', { text: t('explain.all-terms', { n: all.length }) }), list);
  return el('figure', { class: 'grid-box', 'data-testid': 'explain-input' },
    el('figcaption', { text: t('explain.terms', { n: all.length, sx: scaleText(x.scale[0]), sw: scaleText(wt.scale[0] ?? 0) }) }),
    el('div', { class: 'table-wrap', tabindex: '0' }, el('table', { class: 'grid' }, el('thead', {}, head), el('tbody', {}, ...rows))),
    details);
}

/** The named steps, each with what it is and its value. */
function steps(e) {
  const value = (id) => e.steps.find((s) => s.id === id)?.value;
  const m0 = value('m0');
  const shift = value('shift');
  const rows = e.steps.map((s) => {
    const shown = s.real !== null && s.real !== undefined ? num(s.real, { maximumSignificantDigits: 10 }) : num(s.value);
    const how = s.id === 'shift' && m0 !== undefined
      ? t('step.shift.how', { m0, shift, approx: num(m0 * 2 ** (shift - 31), { maximumSignificantDigits: 10 }) })
      : t(`step.${s.id}.how`);
    return el('tr', { 'data-step': s.id, 'data-value': String(s.real ?? s.value) },
      el('th', { scope: 'row', text: t(`step.${s.id}`) }), el('td', { class: 'small', text: how }), el('td', { class: 'num', text: shown }));
  });
  return el('div', { class: 'table-wrap', tabindex: '0' }, el('table', { class: 'steps', 'data-testid': 'explain-steps' },
    el('thead', {}, el('tr', {}, ...['explain.h-step', 'explain.h-how', 'explain.h-value'].map((k) => el('th', { scope: 'col', text: t(k) })))),
    el('tbody', {}, ...rows)));
}

function explanation(x) {
  const e = x.answer;
  const parts = [el('p', { class: 'what', 'data-testid': 'explain-what', 'data-tensor': String(e.tensor_index), 'data-coords': e.coords.join(','),
    'data-image': String(x.image), text: t('explain.element', { op: e.op_name, i: e.op_index, coords: ltr(e.coords.join(', ')), image: x.image }) })];
  if (e.input.shape.length === 1 && e.weights) parts.push(terms(e.input, e.weights));
  else {
    parts.push(el('div', { class: 'grids-row' },
      grid(e.input, 'explain.input', 'explain-input'),
      ...(e.weights ? [grid(e.weights, 'explain.weights', 'explain-weights')] : [])));
  }
  parts.push(steps(e));
  if (e.op_name === 'FULLY_CONNECTED') parts.push(el('p', { class: 'note', text: t('explain.fc-double') }));
  const before = e.steps.find((s) => s.id === 'before_clamp' || s.id === 'maximum' || s.id === 'average')?.value;
  const lo = e.steps.find((s) => s.id === 'clamp_min')?.value;
  const hi = e.steps.find((s) => s.id === 'clamp_max')?.value;
  if (before !== undefined && (before < lo || before > hi)) parts.push(el('p', { class: 'note', 'data-testid': 'explain-clamped', text: t('explain.clamped', { v: before, lo, hi }) }));
  const real = (v) => num(v, { maximumSignificantDigits: 7 });
  const interp = x.layer?.values[x.flat];
  const lines = [
    el('li', { 'data-testid': 'explain-result', 'data-value': String(e.result) }, t('explain.code', { q: e.result })),
    el('li', { 'data-testid': 'explain-dequantized', 'data-value': String(e.dequantized) },
      t('explain.real', { math: ltr(`${scaleText(e.output_scale)} × (${num(e.result)} − ${zpText(e.output_zero_point)}) = ${real(e.dequantized)}`) })),
  ];
  if (e.float_value !== null && e.float_value !== undefined) {
    lines.push(el('li', { 'data-testid': 'explain-float', 'data-value': String(e.float_value) },
      t('explain.float', { v: real(e.float_value), d: real(e.dequantized - e.float_value) })));
  } else {
    lines.push(el('li', { class: 'small', text: t('explain.no-float') }));
  }
  if (interp !== undefined) {
    lines.push(el('li', { 'data-testid': 'explain-interp', 'data-value': String(interp) },
      t(interp === e.result ? 'explain.same' : 'explain.differs', { v: interp })));
  }
  parts.push(el('ul', { class: 'result' }, ...lines));
  return parts;
}

/** The layer's output to pick an element from: a map per channel, a row of values, or a number. */
function picker(ctx) {
  const x = ctx.state.explain;
  const l = x.layer;
  if (!l) return [];
  const shape = l.shape;
  const code = (v) => num(v);
  if (shape.length === 4 && shape[0] === 1) {
    const [, h, w, c] = shape;
    const ch = x.channel ?? 0;
    const select = el('select', { id: 'explain-channel', 'data-testid': 'explain-channel', onchange: (e) => {
      x.channel = Number(e.target.value);
      const flat = x.flat ?? 0;
      const px = Math.floor(flat / c);
      pick(ctx, px * c + x.channel);
    } }, ...Array.from({ length: c }, (_, i) => el('option', { value: String(i), selected: i === ch, text: num(i) })));
    const canvas = el('canvas', { id: 'explain-map', 'data-testid': 'explain-map', tabindex: '0', role: 'img', class: 'map',
      'aria-label': t('explain.map-label', { op: ctx.op(x.op)?.name ?? '', c: ch, h, w }) });
    const at = (flat) => {
      const p = Math.floor(flat / c);
      return [p % w, Math.floor(p / w)];
    };
    const [sx, sy] = x.flat === null ? [0, 0] : at(x.flat);
    drawMap(canvas, l, ch, sx, sy);
    canvas.addEventListener('click', (ev) => {
      const r = canvas.getBoundingClientRect();
      const px = Math.min(w - 1, Math.max(0, Math.floor(((ev.clientX - r.left) / r.width) * w)));
      const py = Math.min(h - 1, Math.max(0, Math.floor(((ev.clientY - r.top) / r.height) * h)));
      canvas.focus();
      pick(ctx, (py * w + px) * c + ch);
    });
    canvas.addEventListener('keydown', (ev) => {
      const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[ev.key];
      if (!d) return;
      ev.preventDefault();
      const nx = Math.min(w - 1, Math.max(0, sx + d[0]));
      const ny = Math.min(h - 1, Math.max(0, sy + d[1]));
      pick(ctx, (ny * w + nx) * c + ch);
    });
    const value = x.flat === null ? '' : t('explain.picked', { y: sy, x: sx, c: ch, q: code(l.values[x.flat]) });
    return [
      el('div', { class: 'form' }, el('label', {}, el('span', { text: t('explain.channel-pick') }), select)),
      canvas,
      el('p', { class: 'small', 'aria-live': 'polite', 'data-testid': 'explain-picked', text: value }),
      el('p', { class: 'small', text: t('explain.map-hint') }),
    ];
  }
  if (l.values.length <= 64) {
    return [el('div', { class: 'row logits', role: 'group', 'aria-label': t('explain.logits') },
      ...l.values.map((v, i) => el('button', { type: 'button', class: 'logit', 'data-flat': String(i), 'data-testid': `explain-pick-${i}`,
        'aria-pressed': String(i === x.flat), text: `${num(i)}: ${code(v)}`, onclick: () => pick(ctx, i) })))];
  }
  return [el('label', {}, el('span', { text: t('explain.flat') }), el('input', {
    type: 'number', min: '0', max: String(l.values.length - 1), value: String(x.flat ?? 0),
    onchange: (e) => pick(ctx, Math.min(l.values.length - 1, Math.max(0, Number(e.target.value) || 0))),
  }))];
}

/** Paint channel `ch` of a [1, h, w, c] output, codes as grays, and outline the picked element. */
function drawMap(canvas, l, ch, sx, sy) {
  const [, h, w, c] = l.shape;
  const k = Math.max(4, Math.floor(260 / Math.max(h, w)));
  canvas.width = w * k;
  canvas.height = h * k;
  const ctx2d = canvas.getContext('2d');
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = ch; i < l.values.length; i += c) {
    lo = Math.min(lo, l.values[i]);
    hi = Math.max(hi, l.values[i]);
  }
  const span = Math.max(1e-9, hi - lo);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const g = Math.round(((l.values[(y * w + x) * c + ch] - lo) / span) * 255);
      ctx2d.fillStyle = `rgb(${g},${g},${g})`;
      ctx2d.fillRect(x * k, y * k, k, k);
    }
  }
  ctx2d.lineWidth = Math.max(2, k / 4);
  ctx2d.strokeStyle = getComputedStyle(canvas).getPropertyValue('--loss').trim() || '#d1495b';
  ctx2d.strokeRect(sx * k + 1, sy * k + 1, k - 2, k - 2);
}

/** Draw the view from the panel's state. */
export function render(box, ctx) {
  const s = ctx.state;
  const x = s.explain;
  const parts = [el('h3', { id: 'inside-explain-h', text: t('explain.title') })];
  const graph = ctx.graphOf();
  const op = ctx.op(s.layer);
  const note = (key, vars) => parts.push(el('p', { class: 'note', 'data-testid': 'explain-note', text: t(key, vars) }));
  if (!graph) {
    if (s.pair) note('inside.needs-quant');
  } else if (!graph.integer) {
    note('inside.needs-integer');
  } else if (!ctx.takesImages()) {
    note('inside.needs-images');
  } else if (!op) {
    note('explain.choose');
  } else if (!op.explainable && op.outputs[0]?.dtype === 'int16') {
    note('explain.int16', { op: op.name });
  } else if (!op.explainable) {
    note('explain.other', { op: op.name });
  } else {
    parts.push(el('p', { class: 'small', text: t('explain.intro') }));
    parts.push(el('div', { class: 'form' }, el('label', {}, el('span', { text: t('explain.image') }),
      el('input', { id: 'explain-image', 'data-testid': 'explain-image', type: 'number', min: '0', max: '9999', value: String(s.image), inputmode: 'numeric',
        onchange: (e) => {
          const v = Number(e.target.value);
          if (!Number.isInteger(v) || v < 0 || v > 9999) return;
          s.image = v;
          reload(ctx, { keepPick: true });
        } }))));
    parts.push(...picker(ctx));
    if (x.failed) parts.push(el('p', { class: 'error', role: 'alert', text: x.failed }));
    else if (x.unexplained) parts.push(el('p', { class: 'note', text: x.unexplained }));
    else if (x.answer) parts.push(...explanation(x));
    else parts.push(el('p', { class: 'small', text: t('inside.loading') }));
  }
  box.replaceChildren(...parts);
}
