// Wiring of the page: the controls' events to the panels, the worker's messages to their handlers, the
// language switch, and the start-up sequence. The page's thread owns one wasm Playground (drawing
// predictions, quantization, uploads; quant-panel.js); a worker (worker.js, reached through
// worker-client.js) owns another for training and evaluation. Every fallible wasm call throws an Error
// whose message comes from the library; it is shown beside the control that caused it, and the models
// loaded before stay loaded.
//
// Every module of the first load is imported here, the ones only the panels use included, so the browser
// requests them all at once when it parses this file rather than one round trip per level of imports
// (the wasm module's JavaScript is preloaded by index.html). The panels inside-*.js and options-*.js are
// imported when first opened, the training chart (plot.js) when it is first drawn.

import './draw.js';
import './net.js';
import './output-numbers.js';
import './strip.js';
import './view.js';
import { setLanguage, language, tables, t } from './i18n.js';
import { $, session, setStatus, showError, hideError, relabelMessages, message, intField } from './page.js';
import * as worker from './worker-client.js';
import * as quant from './quant-panel.js';
import * as input from './input-panel.js';
import * as train from './train-panel.js';
import * as evaluation from './eval-panel.js';
import * as uploads from './upload.js';
import * as offline from './offline.js';
import * as reports from './report.js';
import * as address from './url-state.js';

function applyLanguage(code) {
  setLanguage(code);
  try {
    localStorage.setItem('ptq-lang', language());
  } catch {
    // storage may be disabled; the choice then lasts for this visit
  }
  $('lang').value = language();
  relabelMessages();
  train.relabelStatus();
  if (!session.pg) return;
  input.relabel();
  quant.relabel();
  train.relabel();
  evaluation.render();
  uploads.render();
  offline.relabel();
  for (const panel of Object.values(lazy)) panel.relabel();
}

/** Panels imported when first opened (they are not part of the first load): name -> module. */
const lazy = {};

/** Open or close the panel `${name}-panel.js` (button `${name}-open`, body `${name}-body`). */
async function toggle(name, errorId, errorKey) {
  const button = $(`${name}-open`);
  const body = $(`${name}-body`);
  const opening = body.hidden;
  body.hidden = !opening;
  button.setAttribute('aria-expanded', String(opening));
  button.dataset.i18n = `${name}.${opening ? 'close' : 'open'}`;
  button.textContent = t(button.dataset.i18n);
  if (!opening) {
    lazy[name]?.closed?.();
    return;
  }
  try {
    lazy[name] ??= await import(`./${name}-panel.js`);
    hideError(errorId);
    await lazy[name].open();
    document.body.dataset[name] = 'ready';
  } catch (err) {
    showError(errorId, errorKey, { msg: message(err) });
  }
}

function initialLanguage() {
  const asked = new URLSearchParams(location.search).get('lang');
  if (asked in tables) return asked;
  try {
    const saved = localStorage.getItem('ptq-lang');
    if (saved in tables) return saved;
  } catch {
    // no storage: fall through
  }
  return 'en';
}

function wire() {
  input.attachPad();
  $('clear').addEventListener('click', input.clearDrawing);
  $('lang').addEventListener('change', (e) => applyLanguage(e.target.value));
  $('test-index').addEventListener('change', input.selectTyped);
  $('test-prev').addEventListener('click', input.selectPrevious);
  $('test-next').addEventListener('click', input.selectNext);
  $('test-random').addEventListener('click', input.selectRandom);
  $('quant-mode').addEventListener('change', quant.quantize);
  $('calib-samples').addEventListener('change', quant.quantize);
  $('train-start').addEventListener('click', train.startTraining);
  $('train-cancel').addEventListener('click', train.cancelTraining);
  $('eval-start').addEventListener('click', evaluation.startEval);
  $('report-json').addEventListener('click', reports.saveJson);
  $('report-csv').addEventListener('click', reports.saveCsv);
  $('chart-png').addEventListener('click', reports.saveChart);
  $('upload').addEventListener('change', (e) => uploads.upload(e.target.files?.[0]));
  $('inside-open').addEventListener('click', () => toggle('inside', 'inside-error', 'inside.load-failed'));
  $('options-open').addEventListener('click', () => toggle('options', 'quant-error', 'quant.failed'));
  $('design-open').addEventListener('click', () => toggle('design', 'design-error', 'design.load-failed'));
  for (const [event, method] of [['ptq:models', 'modelsUpdated'], ['ptq:input', 'inputUpdated']]) {
    document.addEventListener(event, () => Object.values(lazy).forEach((panel) => panel[method]?.()));
  }
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    uploads.upload(e.dataTransfer?.files?.[0]);
  });
  window.addEventListener('resize', train.resizeChart);
  // what the worker posts, by job and then by type (see worker.js for the protocol)
  worker.handle({
    train: { status: train.onStatus, progress: train.onProgress, result: train.onResult, error: train.onError },
    download: { progress: train.onDownloadProgress },
    eval: { progress: evaluation.onProgress, result: evaluation.onResult, error: evaluation.onError },
    'compare-row': { progress: train.onRowProgress },
    other: { error: train.onWorkerError },
  });
}

async function start() {
  applyLanguage(initialLanguage());
  wire();
  setStatus('status.wasm');
  try {
    await quant.load();
    input.limitIndex();
  } catch (err) {
    showError('load-error', 'status.failed', { msg: message(err) });
    setStatus('status.none');
    return;
  }
  // a link's conversion, representative images and test image (its language was taken above)
  const asked = address.read(Object.keys(tables));
  if (asked.mode) $('quant-mode').value = asked.mode;
  if (asked.samples) $('calib-samples').value = String(asked.samples);
  setStatus('status.quantizing', { n: intField('calib-samples', 1, 1000) ?? 100 });
  quant.quantize();
  input.selectTest(asked.image ?? 0);
  worker.setJob(null);
  train.defaultWorkers();
  $('inside-open').disabled = false;
  setStatus('status.ready', { ms: Math.round(performance.now()) });
  performance.mark('data-ready');
  $('options-open').disabled = false;
  $('design-open').disabled = false;
  document.body.dataset.ready = 'true';
  followAddress();
  if (asked.layer !== undefined) showLayer(asked.layer);
  offline.register();
}

/** Open the inside panel (if closed) on layer `index`. */
async function showLayer(index) {
  if ($('inside-body').hidden) await toggle('inside', 'inside-error', 'inside.load-failed');
  lazy.inside?.selectLayer(index);
}

/** The state a link reopens, in the address from now on (see url-state.js): the current one replaces
 * the entry the page was opened with, each change adds an entry, Back and Forward apply them. */
function followAddress() {
  const state = () => ({
    lang: language(),
    mode: $('quant-mode').value,
    samples: intField('calib-samples', 1, 1000),
    image: session.input?.source === 'test' ? session.input.index : undefined,
  });
  address.write(state(), true);
  $('lang').addEventListener('change', () => address.write({ lang: language() }));
  $('quant-mode').addEventListener('change', () => address.write({ mode: $('quant-mode').value }));
  $('calib-samples').addEventListener('change', () => {
    const n = intField('calib-samples', 1, 1000);
    if (n !== null) address.write({ samples: n });
  });
  document.addEventListener('ptq:input', () => {
    if (session.input?.source === 'test') address.write({ image: session.input.index });
  });
  // the layer shown once a graph loads replaces the address's; a layer the student picks is an entry
  document.addEventListener('ptq:layer', (e) => {
    if (!$('inside-body').hidden) address.write({ layer: e.detail.index }, e.detail.loaded);
  });
  $('inside-open').addEventListener('click', () => {
    if ($('inside-body').hidden) address.write({ layer: null });
    else if (lazy.inside?.layer() != null) address.write({ layer: lazy.inside.layer() });
  });
  address.follow(Object.keys(tables), (s) => {
    if (s.lang && s.lang !== language()) applyLanguage(s.lang);
    const mode = s.mode ?? 'integer-only-uint8';
    const samples = String(s.samples ?? 100);
    if ($('quant-mode').value !== mode || $('calib-samples').value !== samples) {
      $('quant-mode').value = mode;
      $('calib-samples').value = samples;
      $('quant-mode').dispatchEvent(new Event('change'));
    }
    const image = s.image ?? 0;
    if (session.input?.source !== 'test' || session.input.index !== image) input.selectTest(image);
    if (s.layer !== undefined) showLayer(s.layer);
  });
}

start();
