// The per-layer error view of the inside panel: comparing the quantized model with its float twin on the
// first N test images in the worker (progress, cancel), TensorFlow's QuantizationDebugger metrics in two
// labelled tables (layer-wise and accumulated) with the selected layer's row marked, and keeping checked
// layers in float: the worker converts with and without them and evaluates both beside the float model
// (accuracy and file size), and the new file's graph shows where QUANTIZE and DEQUANTIZE went.

import { t, num } from './i18n.js';
import { el, kb, scaleText } from './view.js';
import { message } from './page.js';
import { graphList } from './inside-graph.js';

const MODES = ['layer-wise', 'accumulated'];
const METRICS = ['num_elements', 'stddev', 'mean_error', 'max_abs_error', 'mean_squared_error', 'range', 'rmse/scale', 'sqnr_db'];

/** A metric for the table: integers as they are, small values in scientific notation. */
function metric(key, v) {
  if (v === null || v === undefined) return key === 'sqnr_db' ? '∞' : '–';
  if (key === 'num_elements') return num(v);
  if (key === 'sqnr_db') return num(v, { maximumFractionDigits: 1 });
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 1e5)) return num(v, { notation: 'scientific', maximumSignificantDigits: 3 });
  return num(v, { maximumSignificantDigits: 4 });
}

/** The last part of a tensor name (TF's names are long paths). */
const short = (name) => name.split(/[/;]/).filter(Boolean).at(-1) ?? name;

async function run(ctx) {
  const e = ctx.state.errors;
  const input = document.getElementById('inside-images');
  const images = Number(input.value);
  if (!Number.isInteger(images) || images < 1 || images > 10000) {
    e.failed = t('inside.images-range');
    ctx.renderErrors();
    input.focus();
    return;
  }
  e.images = images;
  e.running = true;
  e.failed = null;
  e.reports = null;
  e.done = 0;
  e.total = images * MODES.length;
  ctx.renderErrors();
  const token = (e.token = {});
  try {
    const answer = await ctx.request('inside-errors', { images, modes: MODES }, {
      onProgress: (m) => {
        if (e.token !== token) return;
        e.done = m.done;
        e.total = m.total;
        renderProgress(e);
      },
    });
    if (e.token !== token) return;
    e.reports = answer.cancelled ? null : answer.reports;
    e.cancelled = Boolean(answer.cancelled);
  } catch (err) {
    if (e.token !== token) return;
    e.failed = message(err);
  }
  e.running = false;
  ctx.renderErrors();
}

function renderProgress(e) {
  const bar = document.getElementById('inside-errors-progress');
  if (!bar) return;
  bar.value = e.total ? e.done / e.total : 0;
  document.getElementById('inside-errors-text').textContent = t('inside.progress', { done: e.done, total: e.total });
}

/** One report as a table; the layer-wise one carries the keep-in-float checkboxes. */
function table(ctx, report, withKeep) {
  const s = ctx.state;
  const keep = (s.errors.keep ??= new Set());
  const head = el('tr', {},
    el('th', { scope: 'col', text: t('inside.h-op') }),
    el('th', { scope: 'col', text: t('inside.h-tensor') }),
    el('th', { scope: 'col', class: 'num', text: t('inside.h-scale') }),
    el('th', { scope: 'col', class: 'num', text: t('inside.h-zp') }),
    ...METRICS.map((k) => el('th', { scope: 'col', class: 'num', text: t(`inside.m-${k}`) })),
    ...(withKeep ? [el('th', { scope: 'col', text: t('inside.h-keep') })] : []));
  const rows = report.layers.map((l) => {
    const op = ctx.op(l.op_index);
    const name = op?.keep_float_name;
    const cells = [
      el('th', { scope: 'row' }, el('button', {
        type: 'button', class: 'link', text: `${num(l.op_index)} ${l.op_name}`,
        title: t('inside.select', { i: l.op_index, op: l.op_name }), onclick: () => ctx.select(l.op_index),
      })),
      el('td', { class: 'mono', title: l.tensor_name, text: short(l.tensor_name) }),
      el('td', { class: 'num', text: scaleText(l.scale) }),
      el('td', { class: 'num', text: num(l.zero_point) }),
      ...METRICS.map((k) => el('td', { class: 'num', 'data-key': k, 'data-value': String(l[k] ?? null), text: metric(k, l[k]) })),
    ];
    if (withKeep) {
      cells.push(el('td', {}, name ? el('input', {
        type: 'checkbox', checked: keep.has(name), 'data-testid': `keep-${l.op_index}`,
        'aria-label': t('inside.keep-label', { i: l.op_index, op: l.op_name }),
        onchange: (ev) => {
          if (ev.target.checked) keep.add(name);
          else keep.delete(name);
          const button = document.getElementById('inside-keep-run');
          if (button) button.disabled = keep.size === 0 || Boolean(s.errors.keepRun?.running);
        },
      }) : el('span', { class: 'small', text: t('inside.keep-no') })));
    }
    return el('tr', { 'data-op': String(l.op_index), class: l.op_index === s.layer ? 'selected' : '' }, ...cells);
  });
  // the caption above the scrolling table, so that it wraps on a narrow screen
  const id = `inside-cap-${report.mode}`;
  return [el('p', { class: 'caption', id, text: t(`inside.cap-${report.mode}`, { n: report.images }) }),
    el('div', { class: 'table-wrap', tabindex: '0' }, el('table', { class: 'errors-table', 'data-testid': `errors-${report.mode}`, 'data-images': String(report.images), 'aria-labelledby': id },
      el('thead', {}, head), el('tbody', {}, ...rows)))];
}

async function keepFloat(ctx) {
  const s = ctx.state;
  const names = [...(s.errors.keep ?? [])];
  const k = (s.errors.keepRun = { running: true, done: 0, total: 0 });
  ctx.renderErrors();
  const samples = Number(document.getElementById('calib-samples').value) || 100;
  try {
    const answer = await ctx.request('inside-keep', { keep: names, samples: Math.min(1000, Math.max(1, samples)) }, {
      onProgress: (m) => {
        if (s.errors.keepRun !== k) return;
        k.done = m.done;
        k.total = m.total;
        const bar = document.getElementById('inside-keep-progress');
        if (bar) bar.value = m.total ? m.done / m.total : 0;
      },
    });
    if (s.errors.keepRun !== k) return;
    k.result = answer.cancelled ? null : { ...answer, names };
  } catch (err) {
    if (s.errors.keepRun !== k) return;
    k.failed = message(err);
  }
  k.running = false;
  ctx.renderErrors();
}

function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The keep-in-float part: the button, its progress, and the comparison of the three files. */
function keepPart(ctx) {
  const s = ctx.state;
  const k = s.errors.keepRun;
  const parts = [el('h4', { text: t('inside.keep-title') }), el('p', { class: 'small', text: t('inside.keep-intro') })];
  const row = el('div', { class: 'row' },
    el('button', { type: 'button', id: 'inside-keep-run', 'data-testid': 'inside-keep-run', text: t('inside.keep-run'),
      disabled: !(s.errors.keep?.size) || Boolean(k?.running), onclick: () => keepFloat(ctx) }));
  if (k?.running) {
    row.append(el('progress', { id: 'inside-keep-progress', max: '1', value: String(k.total ? k.done / k.total : 0), 'aria-label': t('inside.keep-title') }),
      el('button', { type: 'button', text: t('inside.cancel'), onclick: () => {
        s.errors.keepRun = null;
        ctx.cancel('keep');
        ctx.renderErrors();
      } }));
  }
  parts.push(row);
  if (k?.failed) parts.push(el('p', { class: 'error', role: 'alert', text: t('inside.keep-failed', { msg: k.failed }) }));
  const r = k?.result;
  if (r) {
    const acc = (slot) => r.report.models[slot];
    const line = (slot, label, bytes) => el('tr', { 'data-slot': slot },
      el('th', { scope: 'row', text: label }),
      el('td', { class: 'num', 'data-value': String(bytes), text: kb(bytes) }),
      el('td', { class: 'num', 'data-value': String(acc(slot).accuracy), text: num(acc(slot).accuracy * 100, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + '%' }));
    const kept = r.conversion.kept.length ? r.names.map(short).join(', ') : '–';
    parts.push(el('div', { class: 'table-wrap', tabindex: '0' }, el('table', { 'data-testid': 'keep-result' },
      el('thead', {}, el('tr', {}, ...['inside.h-file', 'inside.h-size', 'inside.h-acc'].map((key) => el('th', { scope: 'col', text: t(key) })))),
      el('tbody', {},
        line('float', t('inside.file-float'), s.pair.floatInfo.bytes),
        line('all-int8', t('inside.file-all'), r.conversion.all_int8.bytes),
        line('selective', t('inside.file-kept', { list: kept }), r.conversion.selective.bytes)))));
    parts.push(el('p', { class: 'small', text: t('inside.keep-samples', { n: r.conversion.samples, total: r.report.total }) }));
    if (r.conversion.ignored.length) parts.push(el('p', { class: 'note', text: t('inside.keep-ignored', { list: r.conversion.ignored.join(', ') }) }));
    if (r.graph) parts.push(graphList(r.graph, { label: t('inside.keep-graph') }));
    parts.push(el('p', { class: 'small', text: t('inside.keep-cli', { list: r.names.map((n) => `--deny '${n}'`).join(' ') }) }));
    parts.push(el('div', { class: 'row' }, el('button', { type: 'button', text: t('inside.keep-download'), onclick: () => download(r.bytes.selective, 'mnist_selective.tflite') })));
  }
  return parts;
}

/** Draw the view from the panel's state. */
export function render(box, ctx) {
  const s = ctx.state;
  const e = s.errors;
  const parts = [el('h3', { id: 'inside-errors-h', text: t('inside.errors-title') })];
  const graph = ctx.graphOf();
  if (!graph || !s.pair?.float) {
    parts.push(el('p', { class: 'note', text: s.pair ? t(graph ? 'inside.needs-float' : 'inside.needs-quant') : '' }));
    box.replaceChildren(...parts);
    return;
  }
  if (!graph.integer || !ctx.takesImages()) {
    parts.push(el('p', { class: 'note', text: t(graph.integer ? 'inside.needs-images' : 'inside.needs-integer') }));
    box.replaceChildren(...parts);
    return;
  }
  parts.push(el('p', { class: 'small', text: t('inside.errors-intro') }));
  const controls = el('div', { class: 'form' },
    el('label', {}, el('span', { text: t('inside.images') }),
      el('input', { id: 'inside-images', 'data-testid': 'inside-images', type: 'number', min: '1', max: '10000', value: String(e.images ?? 100), inputmode: 'numeric' })),
    el('button', { type: 'button', 'data-testid': 'inside-errors-run', text: t('inside.errors-run'), disabled: Boolean(e.running), onclick: () => run(ctx) }));
  if (e.running) {
    controls.append(el('button', { type: 'button', 'data-testid': 'inside-errors-cancel', text: t('inside.cancel'), onclick: () => {
      e.token = null;
      e.running = false;
      e.cancelled = true;
      ctx.cancel('errors');
      ctx.renderErrors();
    } }));
  }
  parts.push(controls);
  if (e.running) {
    parts.push(el('div', { class: 'progress' },
      el('label', { for: 'inside-errors-progress', text: t('inside.comparing') }),
      el('progress', { id: 'inside-errors-progress', max: '1', value: String(e.total ? e.done / e.total : 0) }),
      el('span', { id: 'inside-errors-text', class: 'small', text: t('inside.progress', { done: e.done, total: e.total }) })));
  }
  if (e.failed) parts.push(el('p', { class: 'error', role: 'alert', text: e.failed }));
  if (e.cancelled && !e.running && !e.reports) parts.push(el('p', { class: 'small', text: t('inside.cancelled') }));
  if (e.reports) {
    for (const report of e.reports) parts.push(...table(ctx, report, report.mode === 'layer-wise'));
    parts.push(el('p', { class: 'small', text: t('inside.rmse-ideal') }));
    parts.push(el('p', { class: 'small', text: t('inside.sqnr') }));
    parts.push(...keepPart(ctx));
  }
  box.replaceChildren(...parts);
}
