// The models trained in this session side by side (the last four runs), imported with the first run
// that ends: architecture, parameters, float and quantized accuracy on the test set and the drop, file
// sizes and time per image, all measured by the worker when the run ended (worker.js, compareRow). Each
// run keeps its two files, so its models can be loaded into the page again to draw on them.

import { tables, t, num } from './i18n.js';
import { texts } from './design-i18n.js';
import { $, session } from './page.js';
import { el, kb } from './view.js';
import { stylesheet } from './panel-support.js';
import { loadTrained, predictAll, renderModels } from './quant-panel.js';

for (const [lang, table] of Object.entries(texts)) Object.assign(tables[lang], table);
await stylesheet(new URL('./design.css', import.meta.url).href);

/** Runs the table keeps; a fifth pushes the oldest out. */
export const KEPT = 4;

const runs = []; // {n, row, files}
let count = 0;
let inUse = null; // number of the run whose models are loaded
let note = null; // [key, vars] of the last line under the table

/** Add the run that just ended (its models are the ones loaded now). */
export function add(row, files) {
  runs.push({ n: ++count, row, files });
  inUse = count;
  note = null;
  if (runs.length > KEPT) note = ['mt.dropped', { n: runs.shift().n }];
  render();
}

const pct = (x) => num(x, { style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const ms = (x) => num(x, { maximumFractionDigits: 3 });

/** One line on the layers: "Conv2D 12 3×3 relu · MaxPooling2D · Flatten · Dense 10". */
function architecture(design) {
  return design.layers.map((l) => {
    const size = l.kernel_size ?? l.pool_size;
    const parts = [l.type, l.filters ?? l.units, size && `${size[0]}×${size[1]}`, l.activation !== 'linear' ? l.activation : undefined];
    return parts.filter((p) => p !== undefined && p !== null).join(' ');
  }).join(' · ');
}

function render() {
  const box = $('models-compare');
  box.hidden = runs.length === 0;
  const head = ['n', 'model', 'params', 'float-acc', 'quant-acc', 'drop', 'sizes', 'ms', 'actions'];
  box.replaceChildren(
    el('h3', { text: t('mt.title') }),
    el('p', { class: 'small', text: t('mt.intro') }),
    el('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': t('mt.caption') },
      el('table', { class: 'models-table', 'data-testid': 'models-table' },
        el('caption', { class: 'vh', text: t('mt.caption') }),
        el('thead', {}, el('tr', {}, ...head.map((k) => el('th', { scope: 'col', text: t(`mt.${k}`) })))),
        el('tbody', {}, ...runs.map(rowOf)))),
    el('p', { class: 'small', role: 'status', 'data-testid': 'models-note', text: note ? t(...note) : '' }));
}

function rowOf({ n, row, files }) {
  const r = row;
  const drop = (r.floatAccuracy - r.quantAccuracy) * 100;
  const images = r.images ?? 60000;
  return el('tr', { class: n === inUse ? 'in-use' : '', 'data-run': n, 'data-testid': `models-row-${n}` },
    el('th', { scope: 'row', text: num(n) }),
    el('td', { class: 'arch' },
      el('strong', { dir: 'ltr', text: r.design.name }), el('br'),
      el('span', { dir: 'ltr', text: architecture(r.design) }), el('br'),
      el('span', { class: 'small', text: [t(r.epochs === 1 ? 'mt.run-1' : 'mt.run', { epochs: r.epochs, images }), r.resumed ? t('mt.resumed') : null, r.workers > 1 ? t('mt.workers', { n: r.workers }) : null, t(`mode.${r.mode}`)].filter(Boolean).join(' · ') }),
      ...folding(r.folding)),
    el('td', { class: 'num', 'data-col': 'params', text: r.summary ? num(r.summary.params) : '–' }),
    el('td', { class: 'num', 'data-col': 'float-acc', text: pct(r.floatAccuracy) }),
    el('td', { class: 'num', 'data-col': 'quant-acc', text: pct(r.quantAccuracy) }),
    el('td', { class: 'num', 'data-col': 'drop', text: t('mt.pp', { pp: num(drop, { maximumFractionDigits: 2, signDisplay: 'exceptZero' }) }) }),
    el('td', { class: 'num', 'data-col': 'sizes', text: t('mt.pair', { a: kb(r.floatBytes), b: kb(r.quantBytes) }) }),
    el('td', { class: 'num', 'data-col': 'ms', text: t('mt.pair', { a: ms(r.floatMs), b: ms(r.quantMs) }) }),
    el('td', {},
      el('button', { type: 'button', 'data-testid': `models-use-${n}`, 'aria-label': t('mt.use-label', { n }), text: t('mt.use'), onclick: () => use(n, files) }),
      ' ',
      el('button', { type: 'button', 'data-testid': `models-remove-${n}`, 'aria-label': t('mt.remove-label', { n }), text: t('mt.remove'), onclick: () => removeRun(n) })));
}

/** The weights' ranges before and after each BatchNormalization was folded into them. */
function folding(folds) {
  if (!folds?.length) return [];
  const v = (x) => num(x, { maximumSignificantDigits: 3 });
  return [el('details', { class: 'small', 'data-testid': 'models-folding' },
    el('summary', { text: t('mt.folding') }),
    el('ul', {}, ...folds.map((f) => el('li', {
      text: t('mt.folding-row', { kind: f.kind, n: f.layer + 1, a: v(f.unfolded[0]), b: v(f.unfolded[1]), c: v(f.folded[0]), d: v(f.folded[1]) }),
    }))))];
}

/** Load a run's float and quantized models into the page (converted again if the settings changed). */
async function use(n, files) {
  await loadTrained({ float: files.float, quant: files.quant, quantSettings: files.quantSettings });
  session.floatDesign = files.design;
  renderModels();
  predictAll();
  inUse = n;
  note = ['mt.in-use', { n }];
  render();
  $('models-compare').querySelector(`[data-testid="models-use-${n}"]`)?.focus();
}

function removeRun(n) {
  const i = runs.findIndex((r) => r.n === n);
  if (i < 0) return;
  runs.splice(i, 1);
  note = null;
  render();
  const buttons = $('models-compare').querySelectorAll('[data-testid^="models-remove-"]');
  (buttons[Math.min(i, buttons.length - 1)] ?? $('train-start')).focus();
}

/** Draw the table again in the current language. */
export function relabel() {
  if (runs.length) render();
}

$('lang').addEventListener('change', relabel);
