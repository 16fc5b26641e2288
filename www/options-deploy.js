// The deployment check of the converted model, in the panel beside the mode: per operator, whether an
// integer-only accelerator (Edge TPU style) would run it and if not why, where it runs once the model is
// split (from the first operator that does not map, everything runs on the CPU), and a summary. The
// worker computes it with the library's check (`ptq inspect --deploy`); it is a lint from the published
// requirements, not the vendor's compiler, and the view says so. The static-shapes setting changes the
// converted model and so the verdict.

import { t, num } from './i18n.js';
import { reason } from './options-i18n.js';
import { $, session, message } from './page.js';
import * as view from './view.js';
import { request } from './panel-support.js';

/** Number of the latest request; older answers are dropped. */
let latest = 0;
/** {info, check} of the model shown, or {info, failed}. */
let shown = null;

export function build() {
  return view.el('section', { class: 'deploy', 'aria-labelledby': 'dep-h' },
    view.el('h3', { id: 'dep-h', 'data-i18n': 'dep.title' }),
    view.el('p', { class: 'small', 'data-i18n': 'dep.lint' }),
    view.el('p', { id: 'dep-summary', 'data-testid': 'dep-summary', role: 'status' }),
    view.el('p', { class: 'small', id: 'dep-hint', hidden: true }),
    view.el('div', { class: 'table-wrap' }, view.el('table', { id: 'dep-table', 'data-testid': 'dep-table' })));
}

/** Check the converted model if it changed since the last check. */
export async function update() {
  const info = session.info.quant;
  if (!info || shown?.info === info) return;
  const mine = ++latest;
  shown = { info, check: null };
  $('dep-summary').textContent = t('dep.checking');
  try {
    const { check } = await request('deploy', { bytes: session.pg.model_bytes('quant') });
    if (mine === latest) shown = { info, check };
  } catch (err) {
    if (mine === latest) shown = { info, failed: message(err) };
  }
  if (mine === latest) render();
}

function render() {
  const table = $('dep-table');
  const { check, failed } = shown ?? {};
  if (!check) {
    $('dep-summary').textContent = failed ? t('dep.failed', { msg: failed }) : '';
    table.replaceChildren();
    return;
  }
  const total = check.ops.length;
  const first = check.first_unmapped;
  $('dep-summary').textContent = [
    t('dep.summary', { mapped: check.mapped, total }),
    first === null || first === undefined ? t('dep.all') : t('dep.split', { i: num(first), op: check.ops[first].op_name }),
  ].join(' ');
  // the results for tests (the library's report as it came, and the file it is about)
  table.dataset.check = JSON.stringify(check);
  table.dataset.for = shown.info.file ?? '';
  const runTime = check.ops.some((o) => o.reasons.some((r) => r.includes('run time')));
  $('dep-hint').hidden = !runTime;
  $('dep-hint').textContent = runTime ? t('dep.try-static') : '';
  table.replaceChildren(
    view.el('caption', { class: 'small', text: t('dep.caption', { mode: t(`mode.${shown.info.mode}`) }) }),
    view.el('thead', {}, view.el('tr', {}, ...['dep.op-index', 'dep.op', 'dep.maps', 'dep.where', 'dep.why']
      .map((k) => view.el('th', { scope: 'col', text: t(k) })))),
    view.el('tbody', {}, ...check.ops.map((o) => view.el('tr', {
      'data-op': String(o.op_index), 'data-maps': String(o.maps), 'data-placement': o.placement,
      class: o.placement === 'accelerator' ? 'on-accel' : 'on-cpu',
    },
    view.el('td', { class: 'num', text: num(o.op_index) }),
    view.el('td', { dir: 'ltr', text: o.op_name }),
    view.el('td', { text: t(o.maps ? 'dep.yes' : 'dep.no') }),
    view.el('td', { text: t(`dep.${o.placement}`) }),
    view.el('td', {}, ...why(o))))));
}

/** Why an operator runs where it does: the library's reasons, or why one that maps is on the CPU. */
function why(o) {
  if (!o.maps) return o.reasons.flatMap((r, i) => [i ? view.el('br') : '', reason(r)]);
  return [t(o.placement === 'accelerator' ? 'dep.ok' : 'dep.after')];
}

export function relabel() {
  if (shown?.check || shown?.failed) render();
}
