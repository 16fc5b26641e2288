// The Evaluation card: sending the loaded models to the worker to run on all 10,000 test images, its
// progress, and the result: accuracies, agreement, timings, confusion matrices and the list of images
// where the models disagree (thumbnails, each opens in the Input card). A result stays tied to the models
// it was computed for: once one of them is replaced it is marked out of date until evaluated again.

import { t, tNodes, num, list } from './i18n.js';
import * as view from './view.js';
import { $, session, stats, hideError, showError } from './page.js';
import { currentJob, post, setJob } from './worker-client.js';
import { activeSlots, currentSettings } from './quant-panel.js';
import { selectTest } from './input-panel.js';

/** Disagreements shown as thumbnails (the worker sends the predictions of as many; see worker.js). */
const SHOWN = 50;

/** {report, seconds, modes: slot -> conversion id, infos: slot -> ModelInfo evaluated, names: the
 * models' description for the out-of-date note, upload: the uploaded file's name, predictions: slot ->
 * class of each shown disagreement, stale: the models changed since} */
let result = null;
/** The models an evaluation in progress was sent (slot -> ModelInfo) and their description. */
let sent = null;

export function startEval() {
  if (currentJob()) return;
  hideError('eval-error');
  const slots = activeSlots();
  const models = slots.map((slot) => [slot, session.pg.model_bytes(slot)]);
  sent = { infos: Object.fromEntries(slots.map((slot) => [slot, session.info[slot]])), names: describe(slots), upload: session.upload?.name ?? '' };
  setJob('eval');
  $('eval-progress').hidden = false;
  $('eval-progress').value = 0;
  $('eval-text').textContent = '';
  post({ type: 'eval', models }, models.map(([, b]) => b.buffer));
}

/** What the out-of-date note names: each model's conversion (with its representative samples). */
function describe(slots) {
  const settings = currentSettings();
  return slots.map((slot) => {
    if (slot === 'upload') return { key: 'panel.upload', vars: { name: session.upload?.name ?? '' } };
    const mode = session.info[slot]?.mode ?? 'float';
    const calibrates = slot === 'quant' && session.modes?.find((m) => m.id === mode)?.calibrates;
    return calibrates && settings.samples ? { key: 'eval.stale-samples', vars: { mode, n: settings.samples } } : { key: 'eval.stale-mode', vars: { mode } };
  });
}

/** Whether a model the result was computed for is no longer the one loaded in its slot. */
const changed = (r) => Object.entries(r.infos).some(([slot, info]) => session.info[slot] !== info);

// Conversions, uploads and training runs all announce new models with this event (quant-panel.js
// renderModels); a language switch sends it too, with the same models.
document.addEventListener('ptq:models', () => {
  if (result && !result.stale && changed(result)) {
    result.stale = true;
    renderStale(result);
  }
});

/** The last evaluation ({report, seconds, modes, stale, ...}), or null. */
export const currentResult = () => result;

/** A model's name in the evaluation, in the page's language (the file evaluated, for an upload). */
export const modelLabel = (slot) => (slot === 'upload' ? t('panel.upload', { name: result?.upload ?? '' }) : t(`label.${result?.modes[slot]}`));

export function render() {
  const r = result;
  $('eval-result').hidden = !r;
  if (!r) return;
  const { report, seconds } = r;
  const label = modelLabel;
  renderStale(r);
  $('acc-list').replaceChildren(...Object.keys(r.modes).map((slot) => {
    const m = report.models[slot];
    const acc = view.el('span', { 'data-testid': `acc-${slot}`, 'data-value': String(m.accuracy), text: num(m.accuracy * 100, { minimumFractionDigits: 4, maximumFractionDigits: 4 }) });
    return view.el('li', {}, tNodes('eval.sentence', { label: label(slot), acc, n: report.total }));
  }));
  const times = Object.keys(r.modes).map((slot) => t('eval.time', { label: label(slot), s: num(seconds[slot] ?? 0, { maximumFractionDigits: 2 }) }));
  $('agreement').replaceChildren(
    report.agreement === null ? '' : t('eval.agree', { pct: num(report.agreement * 100, { maximumFractionDigits: 2 }), n: report.disagreements.length }),
    view.el('br'), t('eval.times', { list: list(times) }));
  $('matrices').replaceChildren(...Object.keys(r.modes).map((slot) => view.confusionTable(report.models[slot].confusion, t('eval.matrix', { label: label(slot) }))));
  renderDisagreements(r);
}

/** What changes when the result goes out of date: the note naming the models it was computed for, the
 * disagreements disabled and the reports' titles. The rest stays as it is, not built again. */
function renderStale(r) {
  const box = $('eval-result');
  box.classList.toggle('stale', r.stale);
  box.dataset.stale = String(r.stale);
  $('eval-stale').hidden = !r.stale;
  $('eval-stale').textContent = r.stale
    ? t('eval.stale', { models: r.names.map(({ key, vars }) => t(key, vars.mode ? { ...vars, mode: t(`mode.${vars.mode}`) } : vars)).join(' + ') }) : '';
  for (const button of $('differ').querySelectorAll('button.thumb')) button.disabled = r.stale;
  for (const id of ['report-json', 'report-csv']) $(id).title = r.stale ? t('eval.stale-report') : '';
}

let thumbsFrame = 0;
const digit = (d) => (d === undefined ? '?' : num(d));

/** Thumbnails added to the page per frame, at most (each is a copy out of the wasm memory, a
 * putImageData, and a canvas more for the frame to lay out, paint and hand to the compositor). */
const THUMBS_PER_FRAME = 10;

/** The first disagreements as buttons: the image, its true label and what the two models predict; each
 * opens its image as the input. They are added a few per frame, each with its image painted. Disabled
 * while the result is out of date (the loaded models would show another pair of predictions). */
function renderDisagreements(r) {
  const list = r.report.disagreements;
  const [a, b] = Object.keys(r.predictions ?? {});
  const preds = r.predictions ?? {};
  cancelAnimationFrame(thumbsFrame);
  if (!list.length) {
    $('differ').replaceChildren(t('eval.none'));
    $('differ-more').hidden = true;
    $('differ').dataset.painted = 'true';
    return;
  }
  const shown = list.slice(0, SHOWN);
  const pending = shown.map((i, k) => {
    const label = session.pg.test_label(i);
    const f = preds[a]?.[k];
    const q = preds[b]?.[k];
    const canvas = view.el('canvas', { width: '28', height: '28', 'aria-hidden': 'true' });
    // the name is the visible text, with the words only a screen reader needs visually hidden:
    // "Test image 134: true 8 float 9 quant. 6"
    const number = tNodes('eval.thumb-i', { i: view.el('span', { text: num(i, { useGrouping: false }) }) });
    for (const node of [...number.childNodes]) if (node.nodeType === Node.TEXT_NODE) node.replaceWith(view.el('span', { class: 'vh', text: node.textContent }));
    const button = view.el('button', {
      type: 'button', class: 'thumb', 'data-index': String(i), 'data-label': String(label),
      'data-float': String(f ?? ''), 'data-quant': String(q ?? ''),
      onclick: () => {
        if (result?.stale) return;
        selectTest(i);
        $('test-index').focus();
      },
    }, canvas,
    view.el('span', { class: 'thumb-i' }, number),
    view.el('span', { class: 'thumb-p' }, tNodes('eval.thumb', { label: view.el('b', { text: num(label) }), f: digit(f), q: digit(q) })));
    return [button, canvas, i];
  });
  $('differ').replaceChildren();
  $('differ-more').hidden = list.length <= SHOWN;
  $('differ-more').textContent = list.length > SHOWN ? t('eval.more', { n: list.length - SHOWN }) : '';
  const add = () => {
    performance.mark('eval-thumbs');
    const end = performance.now() + 4;
    const batch = [];
    while (pending.length && batch.length < THUMBS_PER_FRAME && performance.now() < end) {
      const [button, canvas, i] = pending.shift();
      view.drawPixels(canvas, session.pg.test_image(i));
      button.disabled = Boolean(result?.stale);
      batch.push(button);
    }
    $('differ').append(...batch);
    performance.measure('paint disagreements', 'eval-thumbs');
    thumbsFrame = pending.length ? requestAnimationFrame(add) : 0;
    if (!pending.length) $('differ').dataset.painted = 'true';
  };
  $('differ').dataset.painted = 'false';
  thumbsFrame = requestAnimationFrame(add);
}

// ---------------------------------------------------------------------------------------------------
// messages from the worker

/** {type: 'progress', job: 'eval', done, total}: images evaluated so far. */
export function onProgress(msg) {
  $('eval-progress').value = msg.done / Math.max(1, msg.total);
  $('eval-text').textContent = t('eval.progress', { done: msg.done, total: msg.total });
}

/** {type: 'result', job: 'eval', report, seconds, predictions}: the report of every model sent, and what
 * the first two predict on the first disagreements. */
export function onResult(msg) {
  const modes = {};
  for (const slot of Object.keys(msg.report.models)) modes[slot] = sent?.infos[slot]?.mode ?? 'float';
  result = { report: msg.report, seconds: msg.seconds, modes, predictions: msg.predictions, ...sent, stale: false };
  // the models may have changed while the worker evaluated
  result.stale = changed(result);
  stats.eval = msg.seconds;
  $('eval-progress').hidden = true;
  $('eval-text').textContent = '';
  setJob(null);
  performance.mark('eval-render');
  render();
  performance.measure('render evaluation', 'eval-render');
}

/** {type: 'error', job: 'eval', message}. */
export function onError(msg) {
  showError('eval-error', 'eval.failed', { msg: msg.message });
  $('eval-progress').hidden = true;
  setJob(null);
}
