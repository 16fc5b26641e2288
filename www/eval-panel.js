// The Evaluation card: sending the loaded models to the worker to run on all 10,000 test images, its
// progress, and the result: accuracies, agreement, timings, confusion matrices and the list of images
// where the models disagree (each opens in the Input card).

import { t, tNodes, num } from './i18n.js';
import * as view from './view.js';
import { $, session, stats, hideError, showError } from './page.js';
import { currentJob, post, setJob } from './worker-client.js';
import { activeSlots } from './quant-panel.js';
import { selectTest } from './input-panel.js';

let result = null; // {report, seconds, modes: slot -> conversion id}

export function startEval() {
  if (currentJob()) return;
  hideError('eval-error');
  const models = activeSlots().map((slot) => [slot, session.pg.model_bytes(slot)]);
  setJob('eval');
  $('eval-progress').hidden = false;
  $('eval-progress').value = 0;
  $('eval-text').textContent = '';
  post({ type: 'eval', models }, models.map(([, b]) => b.buffer));
}

/** Forget the result (it was for models that are no longer loaded). */
export function clearResult() {
  result = null;
  $('eval-result').hidden = true;
}

/** The last evaluation ({report, seconds, modes}), or null. */
export const currentResult = () => result;

/** A model's name in the evaluation, in the page's language. */
export const modelLabel = (slot) => (slot === 'upload' ? t('panel.upload', { name: session.upload?.name ?? '' }) : t(`label.${result?.modes[slot]}`));

export function render() {
  const r = result;
  $('eval-result').hidden = !r;
  if (!r) return;
  const { report, seconds } = r;
  const label = modelLabel;
  $('acc-list').replaceChildren(...Object.keys(r.modes).map((slot) => {
    const m = report.models[slot];
    const acc = view.el('span', { 'data-testid': `acc-${slot}`, 'data-value': String(m.accuracy), text: num(m.accuracy * 100, { minimumFractionDigits: 4, maximumFractionDigits: 4 }) });
    return view.el('li', {}, tNodes('eval.sentence', { label: label(slot), acc, n: report.total }));
  }));
  const times = Object.keys(r.modes).map((slot) => t('eval.time', { label: label(slot), s: num(seconds[slot] ?? 0, { maximumFractionDigits: 2 }) }));
  $('agreement').replaceChildren(
    report.agreement === null ? '' : t('eval.agree', { pct: num(report.agreement * 100, { maximumFractionDigits: 2 }), n: report.disagreements.length }),
    view.el('br'), t('eval.times', { list: times.join(', ') }));
  $('matrices').replaceChildren(...Object.keys(r.modes).map((slot) => view.confusionTable(report.models[slot].confusion, t('eval.matrix', { label: label(slot) }))));
  const list = report.disagreements;
  $('differ').replaceChildren(...(list.length ? list.map((i) => view.el('button', {
    type: 'button', class: 'link', text: num(i), 'aria-label': t('eval.open', { i }), 'data-index': String(i),
    onclick: () => {
      selectTest(i);
      $('test-index').focus();
    },
  })) : [t('eval.none')]));
}

// ---------------------------------------------------------------------------------------------------
// messages from the worker

/** {type: 'progress', job: 'eval', done, total}: images evaluated so far. */
export function onProgress(msg) {
  $('eval-progress').value = msg.done / Math.max(1, msg.total);
  $('eval-text').textContent = t('eval.progress', { done: msg.done, total: msg.total });
}

/** {type: 'result', job: 'eval', report, seconds}: the report of every model sent. */
export function onResult(msg) {
  const modes = {};
  for (const slot of Object.keys(msg.report.models)) modes[slot] = session.info[slot]?.mode ?? 'float';
  result = { report: msg.report, seconds: msg.seconds, modes };
  stats.eval = msg.seconds;
  $('eval-progress').hidden = true;
  $('eval-text').textContent = '';
  setJob(null);
  render();
}

/** {type: 'error', job: 'eval', message}. */
export function onError(msg) {
  showError('eval-error', 'eval.failed', { msg: msg.message });
  $('eval-progress').hidden = true;
  setJob(null);
}
