// Wiring of the page. The page's thread owns one wasm Playground (drawing predictions, quantization,
// uploads); a worker (worker.js) owns another for training and evaluation. Every fallible wasm call
// throws an Error whose message comes from the library; it is shown beside the control that caused it,
// and the models loaded before stay loaded.

import init, { Playground } from '../pkg/ptq_playground.js';
import { t, tNodes, num, setLanguage, language, tables } from './i18n.js';
import { DrawPad } from './draw.js';
import { fetchBytes, fetchGz } from './net.js';
import { drawChart } from './plot.js';
import * as view from './view.js';

const $ = (id) => document.getElementById(id);
/** URL of a file of the site (relative to the site's root, so any sub-path works). */
const site = (path) => new URL(`../${path}`, import.meta.url).href;

/** Uploads larger than this are refused before reading (the reader has its own limits too). */
const UPLOAD_LIMIT = 64 * 1024 * 1024;
const FILE_NAMES = {
  float: 'mnist_float.tflite',
  'dynamic-range': 'mnist_dynamic.tflite',
  'full-integer': 'mnist_fullint_floatio.tflite',
  'integer-only-uint8': 'mnist_intonly_uint8.tflite',
  'integer-only-int8': 'mnist_intonly_int8.tflite',
};

// Timings for the benchmark script (bench/page.mjs): one entry per live prediction, in milliseconds.
const stats = { inference: [], quantizeMs: [], eval: null, train: null };
globalThis.ptqPlayground = { stats };

const state = {
  pg: null,
  info: {}, // slot -> ModelInfo
  pred: {}, // slot -> last prediction
  input: null, // {pixels, source: 'draw'|'test', index, label}
  testCount: 0,
  testSet: null,
  siteInfo: null,
  upload: null, // {name, report}
  worker: null,
  job: null, // 'train' | 'eval' while the worker is busy
  train: null, // {points, val, total, started, lines}
  trainStatus: ['train.s-idle', {}],
  evalResult: null,
  status: ['status.wasm', {}],
  quantPending: false, // conversion settings changed during training, not applied yet
  errors: new Map(), // element id -> [key, vars]
};

// ---------------------------------------------------------------------------------------------------
// messages

function setStatus(key, vars = {}) {
  state.status = [key, vars];
  $('status').textContent = t(key, vars);
}

function showError(id, key, vars = {}) {
  state.errors.set(id, [key, vars]);
  const e = $(id);
  e.textContent = t(key, vars);
  e.hidden = false;
}

function hideError(id) {
  state.errors.delete(id);
  $(id).hidden = true;
  $(id).textContent = '';
}

const message = (err) => (err && err.message) || String(err);

/** Parse a form field as an integer in [min, max], or null. */
function intField(id, min, max) {
  const raw = $(id).value.trim();
  if (!/^\d+$/.test(raw)) return null;
  const v = Number(raw);
  return v >= min && v <= max ? v : null;
}

// ---------------------------------------------------------------------------------------------------
// models and predictions

function activeSlots() {
  const slots = ['float', 'quant'];
  if (state.info.upload?.takes_mnist) slots.push('upload');
  return slots.filter((s) => state.info[s]);
}

/** Run every model on the current input and show the results. Returns the time in the wasm calls. */
function predictAll() {
  if (!state.input) {
    for (const slot of ['float', 'quant', 'upload']) view.renderPanel($(`panel-${slot}`), null);
    return 0;
  }
  const t0 = performance.now();
  const preds = {};
  for (const slot of activeSlots()) {
    try {
      preds[slot] = state.pg.predict(slot, state.input.pixels);
    } catch (err) {
      preds[slot] = null;
      console.warn(`prediction with the ${slot} model failed: ${message(err)}`);
    }
  }
  const ms = performance.now() - t0;
  state.pred = preds;
  for (const slot of activeSlots()) view.renderPanel($(`panel-${slot}`), preds[slot]);
  return ms;
}

function renderInput() {
  const inp = state.input;
  view.drawPixels($('input28'), inp?.pixels);
  $('input-caption').textContent = !inp ? '–' : inp.source === 'draw' ? t('input.drawing') : t('input.test', { i: inp.index, label: inp.label });
}

function renderModels() {
  const { float, quant, upload } = state.info;
  if (quant) $('panel-quant-h').textContent = t('quant.panel', { mode: t(`mode.${quant.mode}`) });
  $('panel-upload').hidden = !upload?.takes_mnist;
  if (upload) $('panel-upload-h').textContent = t('panel.upload', { name: state.upload?.name ?? '' });
  const rows = [];
  if (float) rows.push([t('io.float'), float]);
  if (quant) rows.push([t('io.quant'), quant]);
  view.renderIoTable($('io-table'), rows);
  if (float) $('download-float').textContent = t('download.float', { size: view.kb(float.bytes) });
  if (quant) $('download-quant').textContent = t('download.quant', { size: view.kb(quant.bytes) });
  $('download-float').disabled = !float;
  $('download-quant').disabled = !quant;
  $('size-ratio').textContent = float && quant
    ? t('download.ratio', { ratio: num(float.bytes / quant.bytes, { maximumFractionDigits: 2 }) }) : '';
}

/** Convert the float model with the form's settings (on this thread: well under a second). */
function quantize() {
  const samples = intField('calib-samples', 1, 1000);
  if (samples === null) {
    showError('quant-error', 'quant.samples-range');
    return false;
  }
  const mode = $('quant-mode').value;
  if (state.job === 'train') {
    // calibration would be a long task while the chart is live; the worker converts the new model
    // when training ends, and onTrainResult applies settings changed in the meantime
    hideError('quant-error');
    $('quant-time').textContent = t('quant.after-training');
    state.quantPending = true;
    state.worker?.postMessage({ type: 'quant-settings', quant: { mode, samples } });
    return false;
  }
  const t0 = performance.now();
  try {
    state.info.quant = state.pg.quantize(mode, samples);
  } catch (err) {
    showError('quant-error', 'quant.failed', { msg: message(err) });
    return false;
  }
  const ms = performance.now() - t0;
  stats.quantizeMs.push(ms);
  hideError('quant-error');
  $('quant-time').textContent = t('quant.time', { ms: Math.round(ms) });
  renderModels();
  predictAll();
  return true;
}

function download(slot) {
  const info = state.info[slot];
  if (!info) return;
  const bytes = state.pg.model_bytes(slot);
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = view.el('a', { href: url, download: FILE_NAMES[info.mode] ?? 'model.tflite' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------------------------------------------------------------------------------------------------
// input: drawing and test images

let pad;

function onDraw() {
  if (pad.empty || !state.pg) return;
  const { pixels, width, height } = pad.gray();
  const t0 = performance.now();
  let input;
  try {
    input = Playground.preprocess(pixels, width, height);
  } catch (err) {
    console.warn(`preprocessing failed: ${message(err)}`);
    return;
  }
  const prep = performance.now() - t0;
  state.input = { pixels: input, source: 'draw' };
  const ms = prep + predictAll();
  stats.inference.push(ms);
  if (stats.inference.length > 1000) stats.inference.shift();
  renderInput();
}

function clearDrawing() {
  pad.clear();
  if (state.input?.source === 'draw') {
    state.input = null;
    renderInput();
    predictAll();
  }
}

function selectTest(index) {
  const max = state.testCount - 1;
  if (!Number.isInteger(index) || index < 0 || index > max) {
    showError('test-error', 'test.range', { max });
    return;
  }
  hideError('test-error');
  try {
    state.input = { pixels: state.pg.test_image(index), source: 'test', index, label: state.pg.test_label(index) };
  } catch (err) {
    showError('test-error', 'status.failed', { msg: message(err) });
    return;
  }
  $('test-index').value = String(index);
  $('test-label').textContent = num(state.input.label);
  $('test-label').dataset.value = String(state.input.label);
  pad.clear();
  renderInput();
  predictAll();
}

// ---------------------------------------------------------------------------------------------------
// the worker: training and evaluation

function worker() {
  if (state.worker) return state.worker;
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  w.onmessage = (e) => onWorkerMessage(e.data);
  w.onerror = (e) => {
    e.preventDefault();
    onWorkerMessage({ type: 'error', job: state.job, message: e.message || 'the worker stopped' });
    state.worker = null;
  };
  w.postMessage({ type: 'init', images: state.testSet.images, labels: state.testSet.labels });
  state.worker = w;
  return w;
}

function setJob(job) {
  state.job = job;
  $('train-start').disabled = job !== null;
  $('train-cancel').disabled = job !== 'train';
  $('eval-start').disabled = job !== null;
}

function setTrainStatus(key, vars = {}) {
  state.trainStatus = [key, vars];
  $('train-status').textContent = t(key, vars);
}

function startTraining() {
  const fields = [
    ['train-epochs', 'train.epochs', 1, 100],
    ['train-batch', 'train.batch', 1, 4096],
    ['train-seed', 'train.seed', 0, 4294967295],
    ['train-images', 'train.images', 32, 60000],
  ];
  const v = {};
  for (const [id, label, min, max] of fields) {
    v[id] = intField(id, min, max);
    if (v[id] === null) {
      showError('train-error', 'train.range', { field: t(label), min, max });
      $(id).focus();
      return;
    }
  }
  const lr = Number($('train-lr').value);
  if (!(lr > 0 && lr <= 1)) {
    showError('train-error', 'train.range', { field: t('train.lr'), min: 0.00001, max: 1 });
    $('train-lr').focus();
    return;
  }
  const samples = intField('calib-samples', 1, 1000) ?? 100;
  hideError('train-error');
  setJob('train');
  const settings = { epochs: v['train-epochs'], batch_size: v['train-batch'], learning_rate: lr, seed: v['train-seed'], images: v['train-images'] };
  state.train = { points: [], val: [], total: 1, lines: [] };
  $('train-log').textContent = '';
  $('train-log').hidden = true;
  $('train-box').hidden = true;
  $('chart-box').hidden = false;
  $('train-progress').value = 0;
  $('train-text').textContent = '';
  redrawChart();
  setTrainStatus('train.s-training');
  const sizes = state.siteInfo?.files ?? {};
  worker().postMessage({
    type: 'train',
    settings,
    quant: { mode: $('quant-mode').value, samples },
    files: {
      images: site('data/train-images-idx3-ubyte.gz'),
      labels: site('data/train-labels-idx1-ubyte.gz'),
      sizes: { images: sizes['train-images-idx3-ubyte.gz'] ?? 0, labels: sizes['train-labels-idx1-ubyte.gz'] ?? 0 },
    },
  });
}

function cancelTraining() {
  if (state.job !== 'train' || !state.worker) return;
  state.worker.postMessage({ type: 'cancel' });
  setTrainStatus('train.s-cancelling');
}

let chartFrame = 0;
function redrawChart() {
  if (chartFrame) return;
  chartFrame = requestAnimationFrame(() => {
    chartFrame = 0;
    if (state.train) drawChart($('train-chart'), state.train, num);
  });
}

function mmss(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${num(Math.floor(s / 60))}:${num(s % 60, { minimumIntegerDigits: 2 })}`;
}

function onTrainProgress(p, elapsed) {
  const tr = state.train;
  tr.total = p.steps_total;
  tr.elapsed = elapsed;
  tr.p = p;
  if (Number.isFinite(p.loss)) tr.points.push({ x: p.steps_done, loss: p.loss, acc: p.accuracy });
  if (p.epoch_report) {
    tr.val.push({ x: p.steps_done, acc: p.epoch_report.val_accuracy });
    tr.lines.push(p.log_line);
    $('train-log').textContent = tr.lines.join('\n');
    $('train-log').hidden = false;
  }
  renderTrainProgress();
  redrawChart();
}

function renderTrainProgress() {
  const tr = state.train;
  const p = tr?.p;
  if (!p) return;
  $('train-box').hidden = false;
  $('train-progress').value = p.steps_done / Math.max(1, p.steps_total);
  const rate = p.steps_done / Math.max(1e-3, tr.elapsed / 1000);
  const step = p.step === p.steps_per_epoch && !p.finished ? p.steps_per_epoch : p.step;
  $('train-text').textContent = t('train.text', {
    epoch: Math.min(p.epoch + 1, p.epochs), epochs: p.epochs, step, steps: p.steps_per_epoch,
    rate: Math.round(rate), eta: mmss((p.steps_total - p.steps_done) / Math.max(rate, 1e-3)),
  });
}

async function onTrainResult(msg) {
  setJob(null);
  const pending = state.quantPending;
  state.quantPending = false;
  if (msg.cancelled) {
    setTrainStatus('train.s-cancelled');
    if (pending) quantize(); // settings changed while the run went on
    return;
  }
  // New models: load them, each in its own task (no long task on this thread); if one fails, the one
  // before stays.
  try {
    performance.mark('trained-load-float');
    state.info.float = state.pg.load_model('float', msg.float);
    performance.measure('load trained float', 'trained-load-float');
    await nextTask();
    const q = msg.quantSettings;
    if (msg.quant && q.mode === $('quant-mode').value && q.samples === intField('calib-samples', 1, 1000)) {
      performance.mark('trained-load-quant');
      state.info.quant = state.pg.load_model('quant', msg.quant);
      performance.measure('load trained quant', 'trained-load-quant');
      hideError('quant-error');
      $('quant-time').textContent = '';
    } else if (msg.quant) {
      quantize(); // the settings changed while training ran
    } else if (msg.quantError) {
      showError('quant-error', 'quant.failed', { msg: msg.quantError });
    }
    await nextTask();
  } catch (err) {
    showError('train-error', 'train.failed', { msg: message(err) });
  }
  state.evalResult = null;
  $('eval-result').hidden = true;
  renderModels();
  predictAll();
  stats.train = { seconds: msg.seconds, lines: state.train?.lines ?? [] };
  setTrainStatus('train.s-done', { s: num(msg.seconds, { maximumFractionDigits: 1 }) });
}

function startEval() {
  if (state.job) return;
  hideError('eval-error');
  const models = activeSlots().map((slot) => [slot, state.pg.model_bytes(slot)]);
  setJob('eval');
  $('eval-progress').hidden = false;
  $('eval-progress').value = 0;
  $('eval-text').textContent = '';
  worker().postMessage({ type: 'eval', models }, models.map(([, b]) => b.buffer));
}

function renderEval() {
  const r = state.evalResult;
  $('eval-result').hidden = !r;
  if (!r) return;
  const { report, seconds } = r;
  const label = (slot) => (slot === 'upload' ? t('panel.upload', { name: state.upload?.name ?? '' }) : t(`label.${r.modes[slot]}`));
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

function onWorkerMessage(msg) {
  if (msg.type === 'status' && msg.job === 'train') {
    setTrainStatus(`train.s-${msg.status}`);
    $('download-box').hidden = msg.status !== 'downloading' && msg.status !== 'decompressing';
  } else if (msg.type === 'progress' && msg.job === 'download') {
    $('download-box').hidden = false;
    $('download-progress').value = msg.total ? msg.loaded / msg.total : 0;
    $('download-text').textContent = t('train.loaded', {
      got: num(msg.loaded / 1e6, { maximumFractionDigits: 1 }), total: num(msg.total / 1e6, { maximumFractionDigits: 1 }),
    });
  } else if (msg.type === 'progress' && msg.job === 'train') {
    $('download-box').hidden = true;
    onTrainProgress(msg.p, msg.elapsed);
  } else if (msg.type === 'result' && msg.job === 'train') {
    onTrainResult(msg);
  } else if (msg.type === 'progress' && msg.job === 'eval') {
    $('eval-progress').value = msg.done / Math.max(1, msg.total);
    $('eval-text').textContent = t('eval.progress', { done: msg.done, total: msg.total });
  } else if (msg.type === 'result' && msg.job === 'eval') {
    const modes = {};
    for (const slot of Object.keys(msg.report.models)) modes[slot] = state.info[slot]?.mode ?? 'float';
    state.evalResult = { report: msg.report, seconds: msg.seconds, modes };
    stats.eval = msg.seconds;
    $('eval-progress').hidden = true;
    $('eval-text').textContent = '';
    setJob(null);
    renderEval();
  } else if (msg.type === 'error') {
    if (msg.job === 'train') {
      showError('train-error', 'train.failed', { msg: msg.message });
      setTrainStatus('train.s-failed');
      $('download-box').hidden = true;
      if (state.quantPending) {
        state.quantPending = false;
        setJob(null);
        quantize();
      }
    } else if (msg.job === 'eval') {
      showError('eval-error', 'eval.failed', { msg: msg.message });
      $('eval-progress').hidden = true;
    } else {
      showError('train-error', 'train.failed', { msg: msg.message });
    }
    setJob(null);
  }
}

// ---------------------------------------------------------------------------------------------------
// upload

async function upload(file) {
  if (!file || !state.pg) return;
  hideError('upload-error');
  if (file.size > UPLOAD_LIMIT) {
    showError('upload-error', 'upload.too-big', { size: view.kb(file.size), limit: view.kb(UPLOAD_LIMIT) });
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  let report;
  try {
    report = Playground.inspect(bytes);
  } catch (err) {
    showError('upload-error', 'upload.bad', { msg: `${message(err)} ${t('upload.kept')}` });
    return;
  }
  let info = null;
  try {
    info = state.pg.load_model('upload', bytes);
  } catch (err) {
    showError('upload-error', 'upload.cannot-run', { msg: `${message(err)} ${t('upload.kept')}` });
  }
  state.upload = { name: file.name, report, info };
  if (info) {
    state.info.upload = info;
    if (!info.takes_mnist) showError('upload-error', 'upload.not-mnist');
  }
  renderUpload();
  renderModels();
  predictAll();
}

function renderUpload() {
  const u = state.upload;
  $('upload-report').hidden = !u;
  if (u) view.renderReport($('upload-report'), u.name, u.report, u.info);
}

// ---------------------------------------------------------------------------------------------------
// language

function applyLanguage(code) {
  setLanguage(code);
  try {
    localStorage.setItem('ptq-lang', language());
  } catch {
    // storage may be disabled; the choice then lasts for this visit
  }
  $('lang').value = language();
  setStatus(...state.status);
  setTrainStatus(...state.trainStatus);
  for (const [id, [key, vars]] of state.errors) showError(id, key, vars);
  if (!state.pg) return;
  renderInput();
  renderModels();
  if (state.input?.source === 'test') $('test-label').textContent = num(state.input.label);
  for (const slot of activeSlots()) view.renderPanel($(`panel-${slot}`), state.pred[slot]);
  renderTrainProgress();
  if (state.train) redrawChart();
  renderEval();
  renderUpload();
  const quantMs = stats.quantizeMs.at(-1);
  if (quantMs !== undefined) $('quant-time').textContent = t('quant.time', { ms: Math.round(quantMs) });
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

// ---------------------------------------------------------------------------------------------------
// start

const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

function wire() {
  pad = new DrawPad($('draw'), onDraw);
  $('clear').addEventListener('click', clearDrawing);
  $('lang').addEventListener('change', (e) => applyLanguage(e.target.value));
  $('test-index').addEventListener('change', () => selectTest(Number($('test-index').value.trim() || NaN)));
  $('test-prev').addEventListener('click', () => selectTest(Math.max(0, (state.input?.index ?? 1) - 1)));
  $('test-next').addEventListener('click', () => selectTest(Math.min(state.testCount - 1, (state.input?.index ?? -1) + 1)));
  $('test-random').addEventListener('click', () => selectTest(Math.floor(Math.random() * state.testCount)));
  $('quant-mode').addEventListener('change', quantize);
  $('calib-samples').addEventListener('change', quantize);
  $('download-float').addEventListener('click', () => download('float'));
  $('download-quant').addEventListener('click', () => download('quant'));
  $('train-start').addEventListener('click', startTraining);
  $('train-cancel').addEventListener('click', cancelTraining);
  $('eval-start').addEventListener('click', startEval);
  $('upload').addEventListener('change', (e) => upload(e.target.files?.[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    upload(e.dataTransfer?.files?.[0]);
  });
  window.addEventListener('resize', () => state.train && redrawChart());
}

async function start() {
  applyLanguage(initialLanguage());
  wire();
  setStatus('status.wasm');
  try {
    const [, siteInfo, model, images, labels, representative] = await Promise.all([
      init(),
      fetchBytes(site('site.json')).then((b) => JSON.parse(new TextDecoder().decode(b))),
      fetchBytes(site('model/mnist_float.tflite')),
      fetchGz(site('data/t10k-images-idx3-ubyte.gz')),
      fetchGz(site('data/t10k-labels-idx1-ubyte.gz')),
      fetchGz(site('data/train-1000-images-idx3-ubyte.gz')),
    ]);
    setStatus('status.data');
    const pg = new Playground();
    state.testCount = pg.set_test_set(images, labels);
    state.testSet = { images, labels };
    state.siteInfo = siteInfo;
    pg.set_representative_images(representative);
    state.info.float = pg.load_model('float', model);
    state.pg = pg;
    $('test-index').max = String(state.testCount - 1);
  } catch (err) {
    showError('load-error', 'status.failed', { msg: message(err) });
    setStatus('status.none');
    return;
  }
  setStatus('status.quantizing', { n: intField('calib-samples', 1, 1000) ?? 100 });
  quantize();
  selectTest(0);
  setJob(null);
  setStatus('status.ready', { ms: Math.round(performance.now()) });
  performance.mark('data-ready');
  document.body.dataset.ready = 'true';
}

start();
