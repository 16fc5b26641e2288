// The Training card: the settings form, starting and cancelling a run in the worker, the download,
// progress and status lines, the live chart and the Keras-style log, swapping the trained models in
// when the run ends, which float model is loaded (the site's pretrained one or one trained here) and
// restoring the pretrained one.

import { t, num } from './i18n.js';
import { $, site, session, stats, showError, hideError, message, intField } from './page.js';
import { fetchBytes } from './net.js';
import { currentJob, post, setJob, tell } from './worker-client.js';
import { currentSettings, loadTrained, predictAll, quantize, renderModels, takePending } from './quant-panel.js';

let run = null; // {points, val, total, lines, elapsed, p}
let status = ['train.s-idle', {}];
/** Where the loaded float model comes from: {kind: 'pretrained'} (model/mnist_float.tflite of the
 * site) or {kind: 'trained', epochs, images} (a run of this page). */
let source = { kind: 'pretrained' };
let restoring = false;
/** The model designer once opened (design-panel.js): forTraining() gives the design to train,
 * {json, name, resume?}, or {error}, or null for the tutorial's network. */
let designer = null;

export function useDesigner(panel) {
  designer = panel;
  renderDesign();
}

/** The line under the settings that says which design a run trains (none: the tutorial's). */
export function renderDesign() {
  const d = designer?.forTraining();
  const line = $('train-design');
  line.hidden = !d?.name;
  line.textContent = d?.name ? t('train.design-of', { name: d.name }) : '';
}

function setTrainStatus(key, vars = {}) {
  status = [key, vars];
  $('train-status').textContent = t(key, vars);
}

export function startTraining() {
  const fields = [
    ['train-epochs', 'train.epochs', 1, 100],
    ['train-batch', 'train.batch', 1, 4096],
    ['train-seed', 'train.seed', 0, 4294967295],
    ['train-images', 'train.images', 32, 60000],
    ['train-workers', 'train.workers', 1, 16],
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
  const design = designer?.forTraining() ?? null;
  if (design?.error) {
    showError('train-error', 'train.design-invalid', { msg: design.error });
    return;
  }
  const samples = intField('calib-samples', 1, 1000) ?? 100;
  hideError('train-error');
  setJob('train');
  const settings = { epochs: v['train-epochs'], batch_size: v['train-batch'], learning_rate: lr, seed: v['train-seed'], images: v['train-images'], design: design?.json };
  run = { points: [], val: [], total: 1, lines: [], epochs: settings.epochs, settings, designed: Boolean(design) };
  $('train-log').textContent = '';
  $('train-log').hidden = true;
  $('train-box').hidden = true;
  $('chart-box').hidden = false;
  $('train-progress').value = 0;
  $('train-text').textContent = '';
  redrawChart();
  setTrainStatus('train.s-training');
  renderSource();
  const sizes = session.siteInfo?.files ?? {};
  post({
    type: 'train',
    settings,
    quant: { ...currentSettings(), samples },
    resume: design?.resume,
    workers: v['train-workers'],
    files: {
      images: site('data/train-images-idx3-ubyte.gz'),
      labels: site('data/train-labels-idx1-ubyte.gz'),
      sizes: { images: sizes['train-images-idx3-ubyte.gz'] ?? 0, labels: sizes['train-labels-idx1-ubyte.gz'] ?? 0 },
    },
  });
}

export function cancelTraining() {
  if (currentJob() !== 'train' || !tell({ type: 'cancel' })) return;
  setTrainStatus('train.s-cancelling');
}

let chartFrame = 0;
/** plot.js, imported when the first chart is drawn (not part of the first load). */
let plot = null;
function redrawChart() {
  if (chartFrame) return;
  chartFrame = requestAnimationFrame(async () => {
    try {
      plot ??= await import('./plot.js');
      if (run) describeChart(plot.drawChart($('train-chart'), run, num, { x: t('chart.x'), loss: t('chart.y-loss'), acc: t('chart.y-acc') }));
    } finally {
      chartFrame = 0;
    }
  });
}

/** The chart's name for screen readers: its axes' ranges and the last validation accuracy. The loss
 * axis' top and the largest loss drawn are kept on the canvas too (data-loss-max, data-loss-data-max). */
function describeChart({ lossMax, dataMax }) {
  const canvas = $('train-chart');
  canvas.dataset.lossMax = String(lossMax);
  canvas.dataset.lossDataMax = String(dataMax);
  canvas.dataset.axes = JSON.stringify([t('chart.x'), t('chart.y-loss'), t('chart.y-acc')]);
  const last = run.val.at(-1);
  const name = t('chart.described', { loss: num(lossMax, { maximumFractionDigits: 2 }), epochs: run.epochs });
  canvas.setAttribute('aria-label', last ? `${name} ${t('chart.val-last', { pct: num(last.acc, { style: 'percent', maximumFractionDigits: 1 }) })}` : name);
}

/** Redraw the chart at the page's new size, if there is one. */
export function resizeChart() {
  if (run) redrawChart();
}

function mmss(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${num(Math.floor(s / 60))}:${num(s % 60, { minimumIntegerDigits: 2 })}`;
}

function renderTrainProgress() {
  const p = run?.p;
  if (!p) return;
  $('train-box').hidden = false;
  $('train-progress').value = p.steps_done / Math.max(1, p.steps_total);
  const rate = p.steps_done / Math.max(1e-3, run.elapsed / 1000);
  const step = p.step === p.steps_per_epoch && !p.finished ? p.steps_per_epoch : p.step;
  $('train-text').textContent = t('train.text', {
    epoch: Math.min(p.epoch + 1, p.epochs), epochs: p.epochs, step, steps: p.steps_per_epoch,
    rate: Math.round(rate), eta: mmss((p.steps_total - p.steps_done) / Math.max(rate, 1e-3)),
  });
}

/** Show the status line again in the current language (it has one before the page is loaded). */
export function relabelStatus() {
  setTrainStatus(...status);
}

/** The float model's source line, and the restore button (only for a model trained here, and not while
 * training runs: its end would replace the model again). */
function renderSource() {
  const line = $('float-source');
  line.dataset.source = source.kind;
  line.textContent = source.kind === 'pretrained'
    ? t('train.source-pretrained', { epochs: session.siteInfo?.model?.epochs ?? 5 })
    : t(source.epochs === 1 ? 'train.source-trained-1' : 'train.source-trained', { epochs: source.epochs, images: source.images });
  $('restore-pretrained').disabled = source.kind !== 'trained' || currentJob() === 'train' || restoring;
}

/** Load the site's pretrained float model again (the HTTP cache has it from the page's load) and convert
 * it with the form's settings, as at the page's start. The worker needs no copy: each of its jobs is
 * sent the models it works on. */
export async function restorePretrained() {
  if (source.kind !== 'trained' || currentJob() === 'train' || restoring) return;
  restoring = true;
  renderSource();
  hideError('train-error');
  try {
    const bytes = await fetchBytes(site('model/mnist_float.tflite'));
    if (currentJob() === 'train') return; // a run started meanwhile: its model comes next
    session.info.float = session.pg.load_model('float', bytes);
    session.floatDesign = null;
    source = { kind: 'pretrained' };
    // converted here, quantize() shows the models and predicts; converted in the worker (options
    // panel) or refused, the float model is shown now and the converted one when it arrives
    if (!quantize()) {
      renderModels();
      predictAll();
    }
  } catch (err) {
    showError('train-error', 'train.restore-failed', { msg: message(err) });
  } finally {
    restoring = false;
    renderSource();
    $('float-source').focus();
  }
}

/** The workers field's default: every core but the one the page's thread uses, at most 8. */
export function defaultWorkers() {
  const cores = navigator.hardwareConcurrency || 2;
  $('train-workers').value = String(Math.max(1, Math.min(8, cores - 1)));
  $('train-workers-why').textContent = t('train.workers-why', { cores });
}

// the page's code wires the other controls (main.js); these two only concern this card
$('restore-pretrained').addEventListener('click', restorePretrained);
document.addEventListener('ptq:models', renderSource);

/** The build the worker trains with ('relaxed' or 'simd128', www/wasm-build.js), once it has said. */
let simd = null;
/** How the run's workers pass their shares ('shared' memory or 'messages', www/share-link.js); null
 * for one worker. */
let exchange = null;

function renderSimd() {
  $('train-simd').hidden = !simd;
  if (simd) $('train-simd').textContent = [t(`train.simd-${simd}`), exchange && t(`train.exchange-${exchange}`)].filter(Boolean).join(' ');
}

/** Show the progress line and the chart again in the current language. */
export function relabel() {
  $('train-workers-why').textContent = t('train.workers-why', { cores: navigator.hardwareConcurrency || 2 });
  renderSimd();
  renderSource();
  renderDesign();
  renderTrainProgress();
  if (run) redrawChart();
}

// ---------------------------------------------------------------------------------------------------
// messages from the worker

/** {type: 'status', job: 'train', status}: downloading, decompressing, training, validating, quantizing. */
export function onStatus(msg) {
  setTrainStatus(`train.s-${msg.status}`, { workers: msg.workers ?? 1 });
  if (msg.simd) {
    simd = msg.simd;
    exchange = msg.exchange ?? null;
    renderSimd();
  }
  $('download-box').hidden = msg.status !== 'downloading' && msg.status !== 'decompressing';
}

/** {type: 'progress', job: 'download', loaded, total}: the training set's download. */
export function onDownloadProgress(msg) {
  $('download-box').hidden = false;
  $('download-progress').value = msg.total ? msg.loaded / msg.total : 0;
  $('download-text').textContent = t('train.loaded', {
    got: num(msg.loaded / 1e6, { maximumFractionDigits: 1 }), total: num(msg.total / 1e6, { maximumFractionDigits: 1 }),
  });
}

/** {type: 'progress', job: 'train', p, elapsed}: a chunk of steps is done. */
export function onProgress({ p, elapsed }) {
  $('download-box').hidden = true;
  run.total = p.steps_total;
  run.elapsed = elapsed;
  run.p = p;
  if (Number.isFinite(p.loss)) run.points.push({ x: p.steps_done, loss: p.loss, acc: p.accuracy });
  if (p.epoch_report) {
    run.val.push({ x: p.steps_done, acc: p.epoch_report.val_accuracy });
    run.lines.push(p.log_line);
    $('train-log').textContent = run.lines.join('\n');
    $('train-log').hidden = false;
  }
  renderTrainProgress();
  redrawChart();
}

/** {type: 'progress', job: 'compare-row', done, total}: the new models' evaluation for the comparison. */
export function onRowProgress({ done, total }) {
  setTrainStatus('train.comparing', { done, total });
}

/** {type: 'result', job: 'train', cancelled} or the trained models: {seconds, float, quant, ...}. */
export async function onResult(msg) {
  setJob(null);
  const changed = takePending();
  if (msg.cancelled) {
    setTrainStatus('train.s-cancelled');
    if (changed) quantize(); // settings changed while the run went on
    renderSource();
    return;
  }
  // new models; if one fails to load, the one before stays
  const floatBefore = session.info.float;
  try {
    await loadTrained(msg);
  } catch (err) {
    showError('train-error', 'train.failed', { msg: message(err) });
  }
  if (session.info.float !== floatBefore && run) {
    source = { kind: 'trained', epochs: run.settings.epochs, images: run.settings.images };
    // the design the float model was trained from (the TensorFlow code view writes its layers)
    session.floatDesign = run.designed ? msg.row?.design ?? (run.settings.design ? JSON.parse(run.settings.design) : null) : null;
  }
  renderModels(); // an evaluation of the models before is marked out of date (eval-panel.js)
  predictAll();
  stats.train = { seconds: msg.seconds, lines: run?.lines ?? [], simd: msg.simd, exchange: msg.exchange ?? null };
  setTrainStatus('train.s-done', { s: num(msg.seconds, { maximumFractionDigits: 1 }) });
  if (msg.row) {
    try {
      (await import('./models-table.js')).add(msg.row, { float: msg.float, quant: msg.quant, quantSettings: msg.quantSettings, design: session.floatDesign });
    } catch (err) {
      showError('train-error', 'train.failed', { msg: message(err) });
    }
  }
}

/** {type: 'error', job: 'train', message}: the run failed; settings changed meanwhile apply now. */
export function onError(msg) {
  showError('train-error', 'train.failed', { msg: msg.message });
  setTrainStatus('train.s-failed');
  $('download-box').hidden = true;
  if (takePending()) {
    setJob(null);
    quantize();
  }
  setJob(null);
  renderSource();
}

/** An error of the worker outside a job (it failed to start, or to take the test set). */
export function onWorkerError(msg) {
  showError('train-error', 'train.failed', { msg: msg.message });
  setJob(null);
  renderSource();
}
