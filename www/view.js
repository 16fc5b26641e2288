// DOM rendering of the wasm library's reports: prediction panels, I/O details, confusion matrices and the
// `ptq inspect` report of an uploaded file. No state here: the panels decide what to show.

import { t, num, list } from './i18n.js';

/** Create an element with attributes/properties and children. */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children);
  return e;
}

/** Paint 784 grayscale pixels (MNIST: white ink on black) onto a 28×28 canvas. */
export function drawPixels(canvas, pixels) {
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(28, 28);
  const rgba = img.data;
  for (let i = 0, o = 0; i < 784; i++, o += 4) {
    const v = pixels ? pixels[i] : 0;
    rgba[o] = v;
    rgba[o + 1] = v;
    rgba[o + 2] = v;
    rgba[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Scale as the tutorial prints it (float32 digits), or a dash for float tensors. */
export function scaleText(scale) {
  return scale > 0 ? num(scale, { maximumSignificantDigits: 8 }) : '–';
}

/** "uint8, scale 0.003921569, zero point 0" (or just the type for float tensors). */
export function ioText(io) {
  if (!(io.scale > 0)) return io.dtype;
  return t('io.detail', { dtype: io.dtype, scale: scaleText(io.scale), zp: io.zero_point });
}

export function kb(bytes) {
  return t('size.kb', { n: num(bytes / 1024, { maximumFractionDigits: 1 }) });
}

/** Fill a prediction panel: digit, probability bars, raw output with its quantization. */
export function renderPanel(panel, pred) {
  const out = panel.querySelector('output');
  const bars = panel.querySelector('.bars');
  const code = panel.querySelector('.raw code');
  const io = panel.querySelector('.raw .io');
  if (!pred) {
    out.textContent = '–';
    out.dataset.value = '';
    bars.replaceChildren();
    code.textContent = '';
    io.textContent = '';
    return;
  }
  out.textContent = num(pred.class);
  out.dataset.value = String(pred.class);
  if (bars.children.length !== pred.probabilities.length) {
    bars.replaceChildren(...pred.probabilities.map((_, d) =>
      el('li', {}, el('span', { text: num(d) }), el('span', { class: 'track' }, el('span', { class: 'fill' })), el('span', { class: 'pct' }))));
  }
  pred.probabilities.forEach((p, d) => {
    const li = bars.children[d];
    li.firstChild.textContent = num(d); // digits follow the language
    li.classList.toggle('top', d === pred.class);
    li.querySelector('.fill').style.transform = `scaleX(${Number.isFinite(p) ? p : 0})`;
    const pct = num(p, { style: 'percent', maximumFractionDigits: 1 });
    li.querySelector('.pct').textContent = pct;
    li.setAttribute('aria-label', t('panel.prob', { d, p: pct }));
  });
  const o = pred.output;
  const quantized = o.scale > 0;
  code.textContent = pred.raw.map((v) => (quantized ? String(v) : v.toFixed(4))).join(', ');
  code.dataset.raw = pred.raw.join(',');
  const shape = list(o.shape.map((d) => num(d)));
  io.textContent = quantized
    ? t('panel.ioq', { dtype: o.dtype, shape, scale: scaleText(o.scale), zp: o.zero_point })
    : t('panel.io', { dtype: o.dtype, shape });
}

/** The tutorial's view of both models: input/output type, scale and zero point, and file size. */
export function renderIoTable(table, rows) {
  const head = el('tr', {}, ...['io.model', 'io.input', 'io.output', 'io.size'].map((k) => el('th', { scope: 'col', text: t(k) })));
  const body = rows.map(([name, info]) => el('tr', {},
    el('th', { scope: 'row', text: name }),
    el('td', { text: ioText(info.input) }),
    el('td', { text: ioText(info.output) }),
    el('td', { class: 'num', text: kb(info.bytes) })));
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
}

/** A 10×10 confusion matrix (rows: true label, columns: prediction), shaded by count. */
export function confusionTable(matrix, caption) {
  const max = Math.max(1, ...matrix.flat());
  const head = el('tr', {}, el('th', { text: '' }), ...matrix.map((_, d) => el('th', { scope: 'col', text: num(d) })));
  const rows = matrix.map((row, y) => el('tr', {}, el('th', { scope: 'row', text: num(y) }),
    ...row.map((n) => {
      // two shades the text stays readable on (contrast ≥ 4.5): up to 40% of the accent colour under
      // the page's text, the full accent colour under its own text colour for the largest counts
      const v = n / max;
      const td = el('td', { class: v > 0.5 ? 'hot' : '', text: num(n) });
      td.style.setProperty('--v', n === 0 ? 0 : v > 0.5 ? 1 : Math.max(0.06, 0.8 * v).toFixed(3));
      return td;
    })));
  return el('table', { class: 'confusion', tabindex: '0' }, el('caption', { text: caption }), el('thead', {}, head), el('tbody', {}, ...rows));
}

/** A tensor's quantization: "scale / zero point", or for per-channel parameters every channel's scale
 * and zero point, folded under a summary. */
function quantCell(q) {
  if (!q || !q.scale.length) return el('td', { class: 'mono', text: '–' });
  if (q.scale.length === 1) return el('td', { class: 'mono', text: `${scaleText(q.scale[0])} / ${q.zero_point[0]}` });
  const rows = q.scale.map((s, i) => el('li', { text: `${scaleText(s)} / ${q.zero_point[i] ?? q.zero_point[0]}` }));
  return el('td', { class: 'mono' }, el('details', { class: 'channels' },
    el('summary', { text: t('upload.perchannel', { n: q.scale.length, axis: q.axis ?? 0, first: scaleText(q.scale[0]) }) }),
    el('ol', { start: '0', 'data-testid': 'channel-scales' }, ...rows)));
}

/** Mark a scrolling table box that holds more than it shows, with a line saying so above it. */
function hintOverflow(wrap, hint) {
  const check = () => {
    hint.hidden = wrap.scrollWidth <= wrap.clientWidth + 1;
  };
  new ResizeObserver(check).observe(wrap);
}

/** The `ptq inspect` report of a file: summary, operators, tensors. */
export function renderReport(box, name, report, info) {
  const sg = report.subgraphs[0] ?? { operators: [], tensors: [] };
  const summary = el('dl', {},
    el('dt', { text: t('upload.file') }), el('dd', { class: 'mono', text: name }),
    el('dt', { text: t('upload.size') }), el('dd', { text: kb(report.file_size) }),
    ...(info ? [el('dt', { text: t('upload.kind') }), el('dd', { text: t(`mode.${info.mode}`) })] : []),
    el('dt', { text: t('upload.io') }),
    el('dd', { class: 'mono', text: `${report.input_types.join(', ')} → ${report.output_types.join(', ')}` }));
  const ops = el('table', {},
    el('thead', {}, el('tr', {}, ...['upload.h-index', 'upload.h-op', 'upload.h-inputs', 'upload.h-outputs', 'upload.h-options']
      .map((k) => el('th', { scope: 'col', text: t(k) })))),
    el('tbody', {}, ...sg.operators.map((op) => el('tr', {},
      el('td', { class: 'num', text: String(op.index) }),
      el('td', { class: 'mono', text: `${op.name} v${op.version}` }),
      el('td', { class: 'mono', text: op.inputs.join(', ') }),
      el('td', { class: 'mono', text: op.outputs.join(', ') }),
      el('td', { class: 'mono', text: op.options })))));
  const tensors = el('table', {},
    el('thead', {}, el('tr', {}, ...['upload.h-index', 'upload.h-name', 'upload.h-type', 'upload.h-shape', 'upload.h-quant']
      .map((k) => el('th', { scope: 'col', text: t(k) })))),
    el('tbody', {}, ...sg.tensors.map((ts) => el('tr', {},
      el('td', { class: 'num', text: String(ts.index) }),
      el('td', { class: 'mono name', text: ts.name }),
      el('td', { class: 'mono', text: ts.dtype }),
      el('td', { class: 'mono shape', text: `[${ts.shape.join(', ')}]` }),
      quantCell(ts.quantization)))));
  const scrolled = (table, testid) => {
    const wrap = el('div', { class: 'table-wrap', tabindex: '0', 'data-testid': testid }, table);
    const hint = el('p', { class: 'small scroll-hint', 'data-testid': `${testid}-hint`, 'data-i18n': 'table.scroll', text: t('table.scroll'), hidden: true });
    hintOverflow(wrap, hint);
    return [hint, wrap];
  };
  box.replaceChildren(summary,
    el('h3', { text: t('upload.ops', { n: sg.operators.length }) }), ...scrolled(ops, 'upload-ops'),
    el('h3', { text: t('upload.tensors', { n: sg.tensors.length }) }), ...scrolled(tensors, 'upload-tensors'));
}
