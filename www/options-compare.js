// The comparison of every conversion, in the panel beside the mode: each chosen mode (from the library's
// lists) and, in the modes that calibrate, each chosen calibration method, converted with the form's other
// settings and run on the 10,000 test images in the worker (job 'compare'), one row as each finishes:
// float accuracy, converted accuracy, agreement with the float model, file size, time per image, and a
// download link for the file. Sortable by each column (buttons in the headers, aria-sort on them), the
// best value of each column marked; progress and cancel.

import { t, num } from './i18n.js';
import { $, session, showError, hideError, message } from './page.js';
import * as view from './view.js';
import { post } from './worker-client.js';
import { request } from './panel-support.js';
import { currentSettings } from './quant-panel.js';
import { METHODS, effective, command, fileName, setName, conversionBody } from './options-settings.js';

/** The columns: key of the row's value, text key, how to sort (`better`: which end is best). */
const COLUMNS = [
  { key: 'mode', label: 'cmp.mode', order: (r) => session.modes.findIndex((m) => m.id === r.mode) },
  { key: 'method', label: 'cmp.method', order: (r) => (r.method ? METHODS.indexOf(r.method) : -1) },
  { key: 'floatAccuracy', label: 'cmp.float', better: 'max' },
  { key: 'accuracy', label: 'cmp.accuracy', better: 'max' },
  { key: 'agreement', label: 'cmp.agreement', better: 'max' },
  { key: 'bytes', label: 'cmp.size', better: 'min' },
  { key: 'msPerImage', label: 'cmp.ms', better: 'min' },
];

/** Comparisons started so far (numbers them). */
let runs = 0;
const state = {
  rows: [], // {mode, method, floatAccuracy, accuracy, agreement, bytes, msPerImage, url, file, cmd}
  sort: null, // {key, dir: 'ascending'|'descending'}
  run: 0, // number of the comparison running, 0 when none
  progress: null, // {done, total, cell, cells}
  settings: null, // the settings the rows were made with
  cancelled: false,
};

export function build() {
  const checks = (name, values, label) => view.el('fieldset', { class: 'checks' },
    view.el('legend', { 'data-i18n': `cmp.${name}s` }),
    ...values.map((v) => view.el('label', {},
      view.el('input', { type: 'checkbox', checked: true, value: v, name: `cmp-${name}`, 'data-testid': `cmp-${name}-${v}` }),
      view.el('span', { 'data-i18n': label(v) }))));
  return view.el('section', { class: 'compare', 'aria-labelledby': 'cmp-h' },
    view.el('h3', { id: 'cmp-h', 'data-i18n': 'cmp.title' }),
    view.el('p', { class: 'small', 'data-i18n': 'cmp.intro' }),
    view.el('div', { class: 'row' },
      checks('mode', session.modes.map((m) => m.id), (id) => `mode.${id}`),
      checks('method', METHODS, (m) => `opt.m.${m}`)),
    view.el('div', { class: 'row' },
      view.el('button', { type: 'button', id: 'cmp-start', 'data-testid': 'cmp-start', 'data-i18n': 'cmp.start', onclick: start }),
      view.el('button', { type: 'button', id: 'cmp-cancel', 'data-testid': 'cmp-cancel', 'data-i18n': 'cmp.cancel', disabled: true, onclick: cancel }),
      view.el('progress', { id: 'cmp-progress', max: 1, value: 0, hidden: true, 'aria-labelledby': 'cmp-h' }),
      view.el('span', { class: 'small', id: 'cmp-status', 'data-testid': 'cmp-status', role: 'status' })),
    view.el('p', { class: 'error', id: 'cmp-error', role: 'alert', hidden: true }),
    view.el('p', { class: 'small', id: 'cmp-with' }),
    view.el('div', { class: 'table-wrap' }, view.el('table', { id: 'cmp-table', 'data-testid': 'cmp-table' })));
}

const chosen = (name) => [...document.querySelectorAll(`input[name=cmp-${name}]:checked`)].map((i) => i.value);

async function start() {
  const settings = currentSettings();
  if (settings.samples === null) {
    showError('cmp-error', 'quant.samples-range');
    return;
  }
  hideError('cmp-error');
  const modes = chosen('mode');
  const methods = chosen('method');
  for (const r of state.rows) URL.revokeObjectURL(r.url);
  const mine = ++runs;
  Object.assign(state, { rows: [], run: mine, settings, progress: null, cancelled: false });
  $('cmp-start').disabled = true;
  $('cmp-cancel').disabled = false;
  $('cmp-progress').hidden = false;
  render();
  try {
    const msg = await request('compare', { settings, modes, methods, ...conversionBody() }, { onProgress: (m) => progress(mine, m) });
    if (state.run === mine) state.cancelled = Boolean(msg.cancelled);
  } catch (err) {
    if (state.run === mine) showError('cmp-error', 'cmp.failed', { msg: message(err) });
  }
  if (state.run !== mine) return;
  state.run = 0;
  $('cmp-start').disabled = false;
  $('cmp-cancel').disabled = true;
  $('cmp-progress').hidden = true;
  renderStatus();
}

function cancel() {
  post({ type: 'compare-cancel' });
  $('cmp-cancel').disabled = true;
}

/** A message of the running comparison: progress, a download, or a finished row. */
function progress(mine, m) {
  if (state.run !== mine) return;
  if (m.type === 'status' || m.loaded !== undefined) {
    state.progress = { download: m.loaded !== undefined ? m.loaded / Math.max(m.total, 1) : 0 };
    return renderStatus();
  }
  state.progress = m;
  $('cmp-progress').value = m.total ? m.done / m.total : 0;
  if (m.row) {
    const cell = effective({ ...state.settings, mode: m.row.mode, method: m.row.method ?? 'minmax' });
    const url = URL.createObjectURL(new Blob([m.row.file], { type: 'application/octet-stream' }));
    state.rows.push({ ...m.row, file: fileName(cell), cmd: command(cell), url });
    render();
  } else {
    renderStatus();
  }
}

function renderStatus() {
  const p = state.progress;
  let text = '';
  if (state.run && p?.download !== undefined) text = t('cmp.downloading', { pct: Math.round(p.download * 100) });
  else if (state.run && p) text = t('cmp.running', { i: p.cell + 1, n: p.cells });
  else if (state.run) text = t('cmp.starting');
  else if (state.cancelled) text = t('cmp.cancelled', { n: state.rows.length });
  else if (state.rows.length) text = t('cmp.done', { n: state.rows.length });
  $('cmp-status').textContent = text;
  const s = state.settings;
  $('cmp-with').textContent = s ? t('cmp.with', {
    n: s.samples, set: setName(s.set),
    extra: [s.per_tensor ? t('opt.per-tensor') : '', s.static_shapes ? t('opt.static') : ''].filter(Boolean).join(', ') || t('cmp.none'),
  }) : '';
}

/** The best value of a column, or null when every row has the same (nothing to mark). */
function best(col) {
  const values = state.rows.map((r) => r[col.key]).filter((v) => typeof v === 'number');
  if (!col.better || values.length < 2 || values.every((v) => v === values[0])) return null;
  return col.better === 'max' ? Math.max(...values) : Math.min(...values);
}

function sortValue(col, r) {
  return col.order ? col.order(r) : r[col.key];
}

function sorted() {
  const rows = [...state.rows];
  const s = state.sort;
  if (!s) return rows;
  const col = COLUMNS.find((c) => c.key === s.key);
  const sign = s.dir === 'ascending' ? 1 : -1;
  // stable: equal values keep the order the rows were made in
  return rows.sort((a, b) => sign * (sortValue(col, a) - sortValue(col, b)));
}

/** Sort by a column: best first on the first press, then the other way round. */
function sortBy(key) {
  const col = COLUMNS.find((c) => c.key === key);
  const bestFirst = col.better === 'max' ? 'descending' : 'ascending';
  const dir = state.sort?.key === key ? (state.sort.dir === 'ascending' ? 'descending' : 'ascending') : bestFirst;
  state.sort = { key, dir };
  render();
  document.querySelector(`#cmp-table th[data-key=${key}] button`)?.focus();
}

function cellText(col, r) {
  const v = r[col.key];
  switch (col.key) {
    case 'mode': return t(`mode.${v}`);
    case 'method': return v ? t(`opt.m.${v}`) : t('cmp.no-method');
    case 'bytes': return view.kb(v);
    case 'msPerImage': return num(v, { maximumSignificantDigits: 3 });
    default: return v === null ? '–' : num(v, { style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
}

function render() {
  renderStatus();
  const table = $('cmp-table');
  if (!state.rows.length) {
    table.replaceChildren();
    return;
  }
  const bests = new Map(COLUMNS.map((c) => [c.key, best(c)]));
  const head = view.el('tr', {}, ...COLUMNS.map((c) => view.el('th', {
    scope: 'col', 'data-key': c.key, class: c.better ? 'num' : '', 'aria-sort': state.sort?.key === c.key ? state.sort.dir : 'none',
  }, view.el('button', { type: 'button', class: 'sort', onclick: () => sortBy(c.key) }, t(c.label),
    view.el('span', { 'aria-hidden': 'true', text: state.sort?.key === c.key ? (state.sort.dir === 'ascending' ? ' ▲' : ' ▼') : '' })))),
  view.el('th', { scope: 'col', text: t('cmp.file') }));
  const body = sorted().map((r) => view.el('tr', { 'data-mode': r.mode, 'data-method': r.method ?? '', 'data-cmd': r.cmd },
    ...COLUMNS.map((c) => {
      const top = bests.get(c.key) !== null && r[c.key] === bests.get(c.key);
      return view.el(c.key === 'mode' ? 'th' : 'td', {
        scope: c.key === 'mode' ? 'row' : undefined, class: [c.better ? 'num' : '', top ? 'best' : ''].join(' ').trim(),
        'data-value': String(r[c.key] ?? ''),
      }, cellText(c, r), top ? view.el('span', { class: 'best-mark', title: t('cmp.best') },
        view.el('span', { 'aria-hidden': 'true', text: ' ★' }), view.el('span', { class: 'vh', text: ` (${t('cmp.best')})` })) : '');
    }),
    view.el('td', {}, view.el('a', { href: r.url, download: r.file, 'data-testid': 'cmp-download', text: r.file, dir: 'ltr' }))));
  table.replaceChildren(
    view.el('caption', { class: 'small', text: t('cmp.caption') }),
    view.el('thead', {}, head),
    view.el('tbody', {}, ...body));
}

export function relabel() {
  render();
}
