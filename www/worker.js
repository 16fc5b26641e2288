// The worker owns its own wasm instance and does the long jobs (training, evaluating 10,000 images), so
// the page's thread only draws. Protocol (main -> worker): {type: init|train|quant-settings|cancel|eval,
// ...}, each type handled by its entry in `handlers`; (worker -> main): {type: status|progress|result|error,
// job, ...}, which the page routes the same way (worker-client.js).

// the speed-optimized build of the library (pkg/fast/); the page's thread uses the smaller pkg/
import init, { Playground } from '../pkg/fast/ptq_playground.js';
import { fetchBytes, gunzip } from './net.js';

/** Wall time a training chunk aims at: short enough for a cancel to act at once and the chart to move
 * a few times a second, long enough that messages cost nothing next to the work. */
const CHUNK_MS = 120;
/** Images per evaluation step (a few milliseconds of work). */
const EVAL_CHUNK = 500;

let pg;
const ready = init().then(() => {
  pg = new Playground();
});
let cancelRequested = false;
/** Conversion settings for the model a training run ends with (the page may change them meanwhile). */
let quantSettings = null;

const post = (msg, transfer = []) => self.postMessage(msg, transfer);

// Between chunks the worker yields to its event loop so a 'cancel' message gets handled. A MessageChannel
// task runs at once; setTimeout would be clamped to 4 ms.
const channel = new MessageChannel();
let wake = () => {};
channel.port1.onmessage = () => wake();
const yieldNow = () => new Promise((resolve) => {
  wake = resolve;
  channel.port2.postMessage(0);
});

/** Run a job once the module is ready; a failure is posted as {type: 'error', job}. */
async function job(msg, run, onFailure) {
  try {
    await ready;
    await run(msg);
  } catch (err) {
    onFailure?.();
    post({ type: 'error', job: msg.type, message: err?.message ?? String(err) });
  }
}

/** What each message from the page does, by type. */
const handlers = {
  cancel() {
    cancelRequested = true;
  },
  'quant-settings'(msg) {
    quantSettings = msg.quant;
  },
  init: (msg) => job(msg, () => pg.set_test_set(msg.images, msg.labels)),
  train(msg) {
    // taken now, in message order: a later 'quant-settings' or 'cancel' must win even if this run still
    // waits for the module
    quantSettings = msg.quant;
    cancelRequested = false;
    return job(msg, runTraining, () => pg?.train_cancel());
  },
  eval: (msg) => job(msg, evaluate),
};

self.onmessage = (event) => handlers[event.data.type]?.(event.data);

async function loadTrainSet({ images, labels, sizes }) {
  post({ type: 'status', job: 'train', status: 'downloading' });
  const total = sizes.images + sizes.labels;
  const got = { images: 0, labels: 0 };
  let last = 0;
  const progress = (key) => (loaded) => {
    got[key] = loaded;
    const now = performance.now();
    if (now - last > 100) {
      last = now;
      post({ type: 'progress', job: 'download', loaded: got.images + got.labels, total });
    }
  };
  const [img, lab] = await Promise.all([
    fetchBytes(images, { onProgress: progress('images'), expected: sizes.images }),
    fetchBytes(labels, { onProgress: progress('labels'), expected: sizes.labels }),
  ]);
  post({ type: 'progress', job: 'download', loaded: total, total });
  post({ type: 'status', job: 'train', status: 'decompressing' });
  const [a, b] = await Promise.all([gunzip(img), gunzip(lab)]);
  pg.set_train_set(a, b);
}

async function runTraining({ settings, files }) {
  if (!pg.has_train_set()) await loadTrainSet(files);
  if (cancelRequested) {
    post({ type: 'result', job: 'train', cancelled: true });
    return;
  }
  post({ type: 'status', job: 'train', status: 'training' });
  let p = pg.train_begin(settings);
  const started = performance.now();
  let steps = 4;
  while (!p.finished) {
    const left = p.step === p.steps_per_epoch ? p.steps_per_epoch : p.steps_per_epoch - p.step;
    if (left <= steps) post({ type: 'status', job: 'train', status: 'validating' });
    const t = performance.now();
    p = pg.train_step(steps);
    const dt = performance.now() - t;
    post({ type: 'progress', job: 'train', p, elapsed: performance.now() - started });
    // adapt the chunk to the machine; chunks that end an epoch include validation, so they don't count
    if (!p.epoch_report) steps = Math.max(1, Math.min(4096, Math.round((steps * CHUNK_MS) / Math.max(dt, 1))));
    if (p.epoch_report && !p.finished) post({ type: 'status', job: 'train', status: 'training' });
    await yieldNow();
    if (cancelRequested) {
      pg.train_cancel();
      post({ type: 'result', job: 'train', cancelled: true });
      return;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  pg.train_finish();
  const float = pg.model_bytes('float');
  // quantize here too: calibration would be a long task on the page's thread
  post({ type: 'status', job: 'train', status: 'quantizing' });
  let quantized = null;
  let quantError = null;
  const latest = quantSettings;
  try {
    pg.quantize(latest.mode, latest.samples);
    quantized = pg.model_bytes('quant');
  } catch (err) {
    quantError = err.message;
  }
  const transfer = quantized ? [float.buffer, quantized.buffer] : [float.buffer];
  post({ type: 'result', job: 'train', seconds, float, quant: quantized, quantSettings: latest, quantError }, transfer);
}

async function evaluate({ models }) {
  for (const [slot, bytes] of models) pg.load_model(slot, bytes);
  let p = pg.eval_begin(models.map(([slot]) => slot).join(','));
  const seconds = {};
  while (p.done < p.total) {
    const t = performance.now();
    p = pg.eval_step(EVAL_CHUNK);
    seconds[p.slot] = (seconds[p.slot] ?? 0) + (performance.now() - t) / 1000;
    post({ type: 'progress', job: 'eval', done: p.done, total: p.total });
    await yieldNow();
  }
  post({ type: 'result', job: 'eval', report: pg.eval_report(), seconds });
}
