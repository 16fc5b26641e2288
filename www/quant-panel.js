// The models on the page's thread and what is shown of them: loading the Playground with the default
// float model and the MNIST files, predictions on the current input (the float, quantized and uploaded
// panels, with the numbers under the quantized ones from output-numbers.js), and the Quantization card:
// converting with the form's settings, the I/O table, the download links and why the sizes differ as
// they do. The conversions come from Playground.modes(). The other settings belong to
// options-panel.js, loaded later (useOptions), which sends conversions beyond the defaults to the worker.

import init, { Playground } from '../pkg/ptq_playground.js';
import { t, num } from './i18n.js';
import { fetchBytes, fetchGz } from './net.js';
import * as view from './view.js';
import { renderNumbers, sizeSentence } from './output-numbers.js';
import { $, site, session, stats, setStatus, showError, hideError, message, intField, nextTask } from './page.js';
import { currentJob, tell } from './worker-client.js';
import { renderStrip } from './strip.js';

/** Conversion settings changed during training, not applied yet. */
let pending = false;
/** The options panel once loaded: {settings(), converts(settings)}. */
let options = null;

/** Let the options panel supply the settings beyond the mode and the samples. */
export function useOptions(panel) {
  options = panel;
}

/** Every setting of the form (the ones left out are `ptq convert`'s defaults). */
export function currentSettings() {
  return { mode: $('quant-mode').value, samples: intField('calib-samples', 1, 1000), ...options?.settings() };
}

/** Load the wasm module, the default float model, the test set and the representative images. */
export async function load() {
  const [, siteInfo, model, images, labels, representative] = await Promise.all([
    init(),
    fetchBytes(site('site.json')).then((b) => JSON.parse(new TextDecoder().decode(b))),
    fetchBytes(site('model/mnist_float.tflite')),
    fetchGz(site('data/t10k-images-idx3-ubyte.gz')),
    fetchGz(site('data/t10k-labels-idx1-ubyte.gz')),
    fetchGz(site('data/train-1000-images-idx3-ubyte.gz')),
  ]);
  setStatus('status.data');
  takeModes(Playground.modes());
  const pg = new Playground();
  session.testCount = pg.set_test_set(images, labels);
  session.testSet = { images, labels };
  session.siteInfo = siteInfo;
  pg.set_representative_images(representative);
  session.representative = representative;
  session.info.float = pg.load_model('float', model);
  session.pg = pg;
}

/** List the library's conversions (the tutorial's, then the extra ones) in the form, uint8 chosen. */
function takeModes(modes) {
  session.modes = modes;
  $('quant-mode').replaceChildren(...modes.map(({ id }) => view.el('option', {
    value: id, 'data-i18n': `mode.${id}`, text: t(`mode.${id}`), selected: id === 'integer-only-uint8',
  })));
}

export function activeSlots() {
  const slots = ['float', 'quant'];
  if (session.info.upload?.takes_mnist) slots.push('upload');
  return slots.filter((s) => session.info[s]);
}

/** Run every model on the current input and show the results. Returns the time in the wasm calls. */
export function predictAll() {
  if (!session.input) {
    for (const slot of ['float', 'quant', 'upload']) view.renderPanel($(`panel-${slot}`), null);
    renderAllNumbers();
    return 0;
  }
  const t0 = performance.now();
  const preds = {};
  for (const slot of activeSlots()) {
    try {
      preds[slot] = session.pg.predict(slot, session.input.pixels);
    } catch (err) {
      preds[slot] = null;
      console.warn(`prediction with the ${slot} model failed: ${message(err)}`);
    }
  }
  const ms = performance.now() - t0;
  session.pred = preds;
  for (const slot of activeSlots()) view.renderPanel($(`panel-${slot}`), preds[slot]);
  renderStrip(preds);
  renderAllNumbers();
  return ms;
}

/** The numbers under the quantized panels (the uploaded model has no float twin on the page). */
function renderAllNumbers() {
  const preds = session.input ? session.pred : {};
  renderNumbers($('numbers-quant'), preds.quant, preds.float, session.info.quant?.mode);
  renderNumbers($('numbers-upload'), session.info.upload?.takes_mnist ? preds.upload : null, null, session.info.upload?.mode);
}

export function renderModels() {
  const { float, quant, upload } = session.info;
  if (quant) $('panel-quant-h').textContent = t('quant.panel', { mode: t(`mode.${quant.mode}`) });
  $('panel-upload').hidden = !upload?.takes_mnist;
  if (upload) $('panel-upload-h').textContent = t('panel.upload', { name: session.upload?.name ?? '' });
  const rows = [];
  if (float) rows.push([t('io.float'), float]);
  if (quant) rows.push([t('io.quant'), quant]);
  view.renderIoTable($('io-table'), rows);
  for (const slot of ['float', 'quant']) link(slot);
  // a float conversion keeps every weight in 32 bits: no "1× smaller"
  $('size-ratio').textContent = !float || !quant ? ''
    : quant.mode === 'float' ? t('download.same-size')
      : t('download.ratio', { ratio: num(float.bytes / quant.bytes, { maximumFractionDigits: 2 }) });
  $('size-why').textContent = float && quant ? sizeSentence(quant) : '';
  showCalibration();
  document.dispatchEvent(new Event('ptq:models'));
}

/** Show the models, the last predictions and the last conversion time again in the current language. */
export function relabel() {
  renderModels();
  for (const slot of activeSlots()) view.renderPanel($(`panel-${slot}`), session.pred[slot]);
  renderAllNumbers();
  const quantMs = stats.quantizeMs.at(-1);
  if (quantMs !== undefined) $('quant-time').textContent = t('quant.time', { ms: Math.round(quantMs) });
}

/** Convert the float model with the form's settings (on this thread: well under a second). */
export function quantize() {
  const samples = intField('calib-samples', 1, 1000);
  if (samples === null) {
    showError('quant-error', 'quant.samples-range');
    return false;
  }
  showCalibration();
  const settings = currentSettings();
  const mode = settings.mode;
  if (currentJob() === 'train') {
    // calibration would be a long task while the chart is live; the worker converts the new model
    // when training ends, and the training panel applies settings changed in the meantime
    hideError('quant-error');
    $('quant-time').textContent = t('quant.after-training');
    pending = true;
    tell({ type: 'quant-settings', quant: settings });
    return false;
  }
  if (options?.converts(settings)) {
    // once the options panel is loaded, it converts in the worker
    hideError('quant-error');
    return false;
  }
  if (session.floatDesign || !(session.modes.find((m) => m.id === mode)?.here ?? true)) {
    // this thread's module does not make this conversion (16x8), or the model is a design, whose
    // calibration may take longer than a frame here: the worker converts
    convertInWorker(settings);
    return false;
  }
  const t0 = performance.now();
  try {
    session.info.quant = session.pg.quantize(mode, samples);
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

let workerRun = 0;

/** A conversion the page's module leaves to the worker's (16x8, a design's): asked of the worker with the code the
 * options panel uses (imported now), then the file loads here, where it runs (every build has its
 * kernels). */
async function convertInWorker(form) {
  const mine = ++workerRun;
  const settings = { method: 'minmax', set: 'first', per_tensor: false, static_shapes: false, ...form };
  hideError('quant-error');
  $('quant-time').textContent = t('quant.in-worker');
  try {
    const [support, forms] = await Promise.all([import('./panel-support.js'), import('./options-settings.js')]);
    support.answer(['convert']);
    const msg = await support.request('convert', { settings, ...forms.conversionBody() });
    if (mine !== workerRun) return;
    session.info.quant = session.pg.load_model('quant', msg.bytes);
    session.info.quant.file = forms.fileName(msg.settings);
    stats.quantizeMs.push(msg.ms);
    $('quant-time').textContent = t('quant.time', { ms: Math.round(msg.ms) });
    renderModels();
    await nextTask();
    predictAll();
  } catch (err) {
    if (mine !== workerRun) return;
    $('quant-time').textContent = '';
    showError('quant-error', 'quant.failed', { msg: message(err) });
  }
}

/** Whether settings changed while training ran; clears the flag. */
export function takePending() {
  const was = pending;
  pending = false;
  return was;
}

/**
 * Load the models a training run ended with, each in its own task (no long task on this thread).
 * The worker converted with the settings it was last sent; if the form says otherwise by now, the
 * new float model is converted here instead. Throws if the float model does not load (the one before
 * then stays).
 */
export async function loadTrained(msg) {
  performance.mark('trained-load-float');
  session.info.float = session.pg.load_model('float', msg.float);
  performance.measure('load trained float', 'trained-load-float');
  await nextTask();
  const q = msg.quantSettings;
  if (msg.quant && JSON.stringify(q) === JSON.stringify(currentSettings())) {
    // with the options panel loaded, converted again through it (it names the file after its settings)
    if (!options?.converts(q)) {
      performance.mark('trained-load-quant');
      session.info.quant = session.pg.load_model('quant', msg.quant);
      performance.measure('load trained quant', 'trained-load-quant');
      hideError('quant-error');
      $('quant-time').textContent = '';
    }
  } else if (msg.quant) {
    quantize(); // the settings changed while training ran
  } else if (msg.quantError) {
    showError('quant-error', 'quant.failed', { msg: msg.quantError });
  }
  await nextTask();
}

/** The name the slot's file is saved under: the conversion's own name, or for the converted model one
 * that differs from the float model's (a float conversion would otherwise save as mnist_float.tflite
 * twice). */
function fileName(slot) {
  const named = (info) => info.file ?? session.modes.find((m) => m.id === info.mode)?.file ?? 'model.tflite';
  const name = named(session.info[slot]);
  if (slot !== 'quant' || !session.info.float || name !== named(session.info.float)) return name;
  return name.replace(/(\.tflite)?$/, '_converted.tflite');
}

/** The representative-images field only matters to conversions that calibrate: disabled, with the
 * reason beside it, for the others. */
export function showCalibration() {
  const mode = session.modes?.find((m) => m.id === $('quant-mode').value);
  const unused = mode !== undefined && !mode.calibrates;
  $('calib-samples').disabled = unused;
  const why = $('calib-unused');
  why.hidden = !unused;
  why.textContent = unused ? t('quant.samples-unused', { mode: t(`mode.${mode.id}`) }) : '';
}

/** The slot's download link: its file's name and size. */
function link(slot) {
  const a = $(`download-${slot}`);
  const info = session.info[slot];
  a.hidden = !info;
  if (!info) return;
  if (a.info !== info) {
    URL.revokeObjectURL(a.href);
    a.href = URL.createObjectURL(new Blob([session.pg.model_bytes(slot)]));
    a.info = info;
  }
  a.download = fileName(slot);
  a.textContent = t('download.file', { file: a.download, size: view.kb(info.bytes) });
}
