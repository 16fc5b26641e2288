// Wiring of the page: the controls' events to the panels, the worker's messages to their handlers, the
// language switch, and the start-up sequence. The page's thread owns one wasm Playground (drawing
// predictions, quantization, uploads; quant-panel.js); a worker (worker.js, reached through
// worker-client.js) owns another for training and evaluation. Every fallible wasm call throws an Error
// whose message comes from the library; it is shown beside the control that caused it, and the models
// loaded before stay loaded.
//
// Every module of the first load is imported here, the ones only the panels use included, so the browser
// requests them all at once when it parses this file rather than one round trip per level of imports
// (the wasm module's JavaScript is preloaded by index.html). The inside panel (inside-*.js) is imported
// when the student first opens it, and so are the conversion settings beside the mode (options-*.js).

import './draw.js';
import './net.js';
import './output-numbers.js';
import './plot.js';
import './view.js';
import { setLanguage, language, tables, t } from './i18n.js';
import { $, session, setStatus, showError, hideError, relabelMessages, message, intField } from './page.js';
import * as worker from './worker-client.js';
import * as quant from './quant-panel.js';
import * as input from './input-panel.js';
import * as train from './train-panel.js';
import * as evaluation from './eval-panel.js';
import * as uploads from './upload.js';

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
  inside?.relabel();
  options?.relabel();
}

/** The conversion settings beside the mode (options-panel.js), imported when first opened. */
let options = null;

async function toggleOptions() {
  const button = $('options-open');
  const opening = $('quant-options').hidden;
  $('quant-options').hidden = !opening;
  button.setAttribute('aria-expanded', String(opening));
  button.dataset.i18n = opening ? 'options.close' : 'options.open';
  button.textContent = t(button.dataset.i18n);
  if (!opening || options) return;
  try {
    const panel = await import('./options-panel.js');
    panel.open();
    options = panel;
    document.body.dataset.options = 'ready';
  } catch (err) {
    showError('quant-error', 'quant.failed', { msg: message(err) });
  }
}

/** The inside panel's module, once opened (imported on demand: it is not part of the first load). */
let inside = null;

async function toggleInside() {
  const button = $('inside-open');
  const opening = $('inside-body').hidden;
  $('inside-body').hidden = !opening;
  button.setAttribute('aria-expanded', String(opening));
  button.dataset.i18n = opening ? 'inside.close' : 'inside.open';
  button.textContent = t(button.dataset.i18n);
  if (!opening) return;
  try {
    inside ??= await import('./inside-panel.js');
    hideError('inside-error');
    inside.open();
  } catch (err) {
    showError('inside-error', 'inside.load-failed', { msg: message(err) });
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
  $('download-float').addEventListener('click', () => quant.download('float'));
  $('download-quant').addEventListener('click', () => quant.download('quant'));
  $('train-start').addEventListener('click', train.startTraining);
  $('train-cancel').addEventListener('click', train.cancelTraining);
  $('eval-start').addEventListener('click', evaluation.startEval);
  $('upload').addEventListener('change', (e) => uploads.upload(e.target.files?.[0]));
  $('inside-open').addEventListener('click', toggleInside);
  $('options-open').addEventListener('click', toggleOptions);
  document.addEventListener('ptq:models', () => inside?.modelsUpdated());
  document.addEventListener('ptq:input', () => inside?.inputUpdated());
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
  setStatus('status.quantizing', { n: intField('calib-samples', 1, 1000) ?? 100 });
  quant.quantize();
  input.selectTest(0);
  worker.setJob(null);
  $('inside-open').disabled = false;
  setStatus('status.ready', { ms: Math.round(performance.now()) });
  performance.mark('data-ready');
  $('options-open').disabled = false;
  document.body.dataset.ready = 'true';
}

start();
