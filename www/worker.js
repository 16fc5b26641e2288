// The worker owns its own wasm instances and does the long jobs (training, evaluating 10,000 images,
// conversions with every setting of the panel beside the mode, the deployment check, the comparison of
// every conversion, the views inside a quantization), so the page's thread only draws. Protocol (main ->
// worker): {type: init|train|quant-settings|cancel|eval|convert|deploy|compare|compare-cancel|inside-*,
// ...}, each type handled by its entry in `handlers`; (worker -> main): {type: status|progress|result|
// error, job, id?, ...}, which the page routes the same way (worker-client.js). The convert, deploy,
// compare and inside-* requests carry an `id` their answers repeat.

// the speed-optimized builds of the library (see wasm-build.js): pkg/fast/'s `Playground` for
// evaluations and conversions; pkg/inside/'s for the views inside a quantization, fetched when the first
// of them is asked for; and the training module's `Trainer` (pkg/train-relaxed/ or pkg/train/), fetched
// when a run, the training set or the model designer is first needed, which holds the training set; the
// page's thread uses the smaller pkg/
import { fetchBytes, gunzip } from './net.js';
import { loadBestTrainer, loadInside, loadPlayground } from './wasm-build.js';
import * as shared from './share-link.js';

/** Wall time a training chunk aims at: short enough for a cancel to act at once and the chart to move
 * a few times a second, long enough that messages cost nothing next to the work. */
const CHUNK_MS = 120;
/** Bytes of an MNIST image. */
const IMAGE = 784;
/** Images per evaluation step (a few milliseconds of work). */
const EVAL_CHUNK = 500;
/** Disagreements the page shows as thumbnails, whose predictions an evaluation sends with its report. */
const DISAGREEMENTS_SHOWN = 50;
/** Wall time a step of the per-layer error aims at (a cancel acts within about this long). */
const DEBUG_MS = 60;

let Playground;
let pg;
/** The page's `?simd=` parameter ('simd128' forces the plain training build), from its 'init'. */
let simdAsked;
let start;
const ready = new Promise((resolve) => {
  start = resolve;
}).then(async (asked) => {
  simdAsked = asked;
  const lib = await loadPlayground();
  Playground = lib.Playground;
  pg = new Playground();
});
/** The training module's Trainer (runs, the training set), once `trainer()` has loaded it. */
let tr = null;
/** The training module's `Trainer` class, whose static functions answer the model designer. */
let Trainer = null;
/** The build of the training module the worker and its helpers run ('relaxed' or 'simd128'). */
let build = null;
let trainerLoading = null;
/** Load the training module once (a failed load is tried again by the next job that needs it). */
function trainer() {
  trainerLoading ??= loadBestTrainer(simdAsked).then(({ lib, build: loaded }) => {
    const t = new lib.Trainer();
    t.set_test_set(testSet.images, testSet.labels); // validation after each epoch
    [tr, build, Trainer] = [t, loaded, lib.Trainer];
  }).catch((err) => {
    trainerLoading = null;
    throw err;
  });
  return trainerLoading;
}
let cancelRequested = false;
/** Generation of each job that a newer one or a cancel stops between steps (the inside panel's 'errors'
 * and 'keep', the comparison): a running job stops once its kind's number moves on. */
const runs = { errors: 0, keep: 0, compare: 0 };
/** The training set's download in progress, so that two jobs asking for it share one. */
let trainSetLoading = null;
/** The jobs that use the slots of `pg` (an evaluation, a conversion) run one after the other: loading a
 * model into a slot ends an evaluation in progress. */
let slotsFree = Promise.resolve();
function withSlots(run) {
  const turn = slotsFree.then(run);
  slotsFree = turn.catch(() => {});
  return turn;
}
/** The test set as the page sent it (the views inside a quantization load it into their own Playground). */
let testSet = null;
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

/** Run a job once the module is ready; a failure is posted as {type: 'error', job, id}. */
async function job(msg, run, onFailure) {
  try {
    await ready;
    await run(msg);
  } catch (err) {
    onFailure?.();
    post({ type: 'error', job: msg.type, id: msg.id, message: err?.message ?? String(err) });
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
  init(msg) {
    start(msg.simd);
    testSet = { images: msg.images, labels: msg.labels };
    return job(msg, () => pg.set_test_set(msg.images, msg.labels));
  },
  train(msg) {
    // taken now, in message order: a later 'quant-settings' or 'cancel' must win even if this run still
    // waits for the module
    quantSettings = msg.quant;
    cancelRequested = false;
    return job(msg, runTraining, () => tr?.train_cancel());
  },
  eval: (msg) => job(msg, (m) => withSlots(() => evaluate(m))),
  convert: (msg) => job(msg, convert),
  deploy: (msg) => job(msg, deploy),
  compare: (msg) => job(msg, compare),
  'compare-cancel'() {
    runs.compare++;
  },
  'inside-load': (msg) => job(msg, insideLoad),
  'inside-errors': (msg) => job(msg, insideErrors),
  'inside-explain': (msg) => job(msg, insideExplain),
  'inside-keep': (msg) => job(msg, insideKeep),
  'inside-hist': (msg) => job(msg, insideHist),
  'inside-ranges': (msg) => job(msg, insideRanges),
  // the model designer's questions go to the training module, which trains what it designs
  'design-presets': (msg) => job(msg, async ({ id }) => {
    await trainer();
    post({ type: 'result', job: 'design-presets', id, presets: Trainer.design_presets(), limits: Trainer.design_limits() });
  }),
  'design-check': (msg) => job(msg, async ({ id, json }) => {
    await trainer();
    post({ type: 'result', job: 'design-check', id, check: Trainer.design_check(json) });
  }),
  'design-of': (msg) => job(msg, async ({ id, bytes }) => {
    await trainer();
    post({ type: 'result', job: 'design-of', id, json: Trainer.design_of(bytes) });
  }),
  'inside-cancel'(msg) {
    runs[msg.kind] = (runs[msg.kind] ?? 0) + 1;
  },
};

self.onmessage = (event) => handlers[event.data.type]?.(event.data);

/** Download the training set into the training module's `tr` once (loading the module first); a job
 * asking while another's download runs waits for it. */
async function trainSet(files, job, id) {
  await trainer();
  if (tr.has_train_set()) return;
  trainSetLoading ??= loadTrainSet(files, job, id).finally(() => {
    trainSetLoading = null;
  });
  return trainSetLoading;
}

/** Download, decompress and load the training set, with status and progress messages for `job` (and
 * request `id`); the training job's progress goes to the page's download bar (job 'download'). */
async function loadTrainSet({ images, labels, sizes }, job, id) {
  post({ type: 'status', job, id, status: 'downloading' });
  const total = sizes.images + sizes.labels;
  const got = { images: 0, labels: 0 };
  let last = 0;
  const progress = (key) => (loaded) => {
    got[key] = loaded;
    const now = performance.now();
    if (now - last > 100) {
      last = now;
      post({ type: 'progress', job: job === 'train' ? 'download' : job, id, loaded: got.images + got.labels, total });
    }
  };
  const [img, lab] = await Promise.all([
    fetchBytes(images, { onProgress: progress('images'), expected: sizes.images }),
    fetchBytes(labels, { onProgress: progress('labels'), expected: sizes.labels }),
  ]);
  post({ type: 'progress', job: job === 'train' ? 'download' : job, id, loaded: total, total });
  post({ type: 'status', job, id, status: 'decompressing' });
  const [a, b] = await Promise.all([gunzip(img, images), gunzip(lab, labels)]);
  tr.set_train_set(a, b);
}

// ---------------------------------------------------------------------------------------------------
// Data-parallel training: helper workers (grad-worker.js) compute the gradients of shares of each batch;
// this worker computes share 0, sums the shares in their order and takes the Adam step
// (src/wasm/session/parallel.rs). The helpers are kept between runs. Two ways, the same numbers:
// - messages (any host): each helper mirrors the run. It is sent the run's parameters and optimizer
//   once, then at each step only the images of its share (a step ahead within an epoch) and the other
//   shares' gradients (share 0's from this worker, the other helpers' from them, through channels
//   between the helpers), and takes every step itself, as this worker does. A step then waits for one
//   message each way, not for the parameters to go out and the gradient to come back;
// - shared memory, where the page is cross-origin isolated (share-link.js): the helpers are sent the
//   parameters and the images with each share and answer with its gradient.

/** [{worker, call(msg, transfer, type) -> Promise of its answer of that type, answer(run, step) ->
 * Promise of its gradient of that step, link: shared views or null, unlinked: Promise of the link's
 * end, buffers: its last answer's buffers, reused for its next step}] */
const helpers = [];

function startHelper() {
  const worker = new Worker(new URL('./grad-worker.js', import.meta.url), { type: 'module' });
  const h = { worker, waiting: null, inbox: [], failed: null, link: null, unlinked: null, buffers: null };
  const settle = (fn, value) => {
    const w = h.waiting;
    h.waiting = null;
    w?.[fn](value);
  };
  // an error with nobody waiting (a mirroring helper fails between steps) fails the next wait for a step
  const failed = (err) => (h.waiting ? settle('reject', err) : (h.failed = err));
  worker.onmessage = ({ data }) => {
    if (data.type === 'error') failed(new Error(data.message));
    else if (h.waiting?.accepts(data)) settle('resolve', data);
    // a gradient that came before this worker waits for it; anything else is a late answer of a run
    // that has ended, dropped
    else if (data.type === 'share' && data.run === mirror.run) h.inbox.push(data);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    failed(new Error(e.message || 'a training helper stopped'));
  };
  h.call = (msg, transfer, type) => new Promise((resolve, reject) => {
    h.failed = null;
    h.waiting = { resolve, reject, accepts: (d) => d.type === type };
    worker.postMessage(msg, transfer);
  });
  h.answer = (run, step) => {
    const accepts = (d) => d.type === 'share' && d.run === run && d.step === step;
    const i = h.inbox.findIndex(accepts);
    if (i >= 0) return Promise.resolve(h.inbox.splice(i, 1)[0]);
    if (h.failed) return Promise.reject(h.failed);
    return new Promise((resolve, reject) => {
      h.waiting = { resolve, reject, accepts };
    });
  };
  return h;
}

/** `count` helpers ready for the run in progress (a network of its design). */
async function readyHelpers(count) {
  while (helpers.length > count) helpers.pop().worker.terminate();
  while (helpers.length < count) helpers.push(startHelper());
  const design = tr.train_design();
  await Promise.all(helpers.map((h) => h.call({ type: 'init', design, build }, [], 'ready')));
}

/** The run the helpers mirror (messages): its number (a helper's answers carry it: a late one of an
 * earlier run is told apart), its next step, and the last step whose images the helpers have. */
const mirror = { run: 0, step: 0, sent: -1 };

/** Make every helper mirror the run in progress, from its state now. */
async function mirrorHelpers() {
  mirror.run += 1;
  mirror.step = 0;
  mirror.sent = -1;
  const state = tr.train_mirror_state();
  // a channel between every two helpers, for their gradients; a helper's ports by share (0: none)
  const ports = helpers.map(() => [null, ...helpers.map(() => null)]);
  for (let a = 0; a < helpers.length; a++) {
    for (let b = a + 1; b < helpers.length; b++) {
      const c = new MessageChannel();
      ports[a][b + 1] = c.port1;
      ports[b][a + 1] = c.port2;
    }
  }
  await Promise.all(helpers.map((h, a) => {
    h.inbox = [];
    const msg = { type: 'mirror', run: mirror.run, state, share: a + 1, ports: ports[a] };
    return h.call(msg, ports[a].filter(Boolean), 'ready');
  }));
}

/** Each helper linked through shared memory for `size` parameters and shares of at most `capacity`
 * images (a link of a smaller capacity is replaced). */
async function linkHelpers(size, capacity) {
  if (helpers.every((h) => h.link && h.link.capacity >= capacity && h.link.params.length === size)) return;
  await unlinkHelpers();
  // Spinning holds a core. With a core left for the page's thread, both sides spin. With one worker
  // per core, only the helpers do, while this worker sleeps in its longer wait (for their answers):
  // the page's thread has that time. With more workers than cores, nobody spins.
  const cores = navigator.hardwareConcurrency || 1;
  const workers = helpers.length + 1;
  const spin = {
    worker: workers < cores ? shared.SPIN_MS : 0,
    helper: workers <= cores ? shared.SPIN_MS : 0,
  };
  for (const h of helpers) {
    h.link = shared.link(size, capacity, spin);
    h.unlinked = h.call({ type: 'link', buffer: h.link.buffer, params: size, capacity }, [], 'unlinked').catch(() => {});
  }
}

/** The helpers back on messages, once each has left its loop. */
async function unlinkHelpers() {
  for (const h of helpers) if (h.link) shared.stop(h.link);
  await Promise.all(helpers.map((h) => h.unlinked));
  for (const h of helpers) {
    h.link = null;
    h.unlinked = null;
  }
}

/** The gradients of the helpers' shares, one after the other (reused between steps). */
let gathered = new Float32Array(0);

/** `buf` if it holds `n` values, else a new array of `n` (a buffer that has not come back, from a
 * helper that failed or had no share, is detached: its length is 0). */
const fit = (buf, Type, n) => (buf?.length === n ? buf : new Type(n));

/** The images of the staged shares (helper i's is share i + 1; `sizes` all of them), for the helpers'
 * messages of step `step`: in each helper's buffers from its last answer, moved to it (nothing is
 * allocated or copied by the message once they exist). Read the staged views before calling the
 * module again. */
function stagedImages(step, sizes) {
  const pixels = tr.staged_pixels();
  const labels = tr.staged_labels();
  let at = 0;
  return helpers.map((h, i) => {
    const n = sizes[i + 1] ?? 0;
    const b = h.buffers;
    const images = {
      step,
      sizes,
      pixels: fit(b?.pixels, Uint8Array, n * IMAGE),
      labels: fit(b?.labels, Uint8Array, n),
    };
    if (b) [b.pixels, b.labels] = [null, null];
    images.pixels.set(pixels.subarray(at * IMAGE, (at + n) * IMAGE));
    images.labels.set(labels.subarray(at, at + n));
    at += n;
    return images;
  });
}

/** Steps split over `k` workers for about CHUNK_MS (an epoch's end stops the chunk); the last
 * progress. `share`: whether shares go through shared memory. */
async function parallelChunk(k, p, share) {
  const t0 = performance.now();
  do {
    // the step's shares: their sizes here, the parameters and the helpers' images in the module
    const sizes = tr.train_stage(k);
    if (!sizes) break;
    if (p.step === p.steps_per_epoch - 1) post({ type: 'status', job: 'train', status: 'validating' });
    const { report, answers } = share ? await sharedStep(sizes) : mirroredStep(sizes, k);
    const got = await Promise.all(answers);
    const size = tr.staged_params().length;
    if (gathered.length !== size * got.length) gathered = new Float32Array(size * got.length);
    got.forEach((g, i) => {
      gathered.set(g.gradient, i * size);
      if (!share) helpers[i].buffers = { gradient: g.gradient, pixels: g.pixels, labels: g.labels };
    });
    p = tr.train_apply_shares(report, got.map((g) => g.report), gathered);
    if (!share) mirror.step += 1;
  } while (!p.epoch_report && !cancelRequested && performance.now() - t0 < CHUNK_MS);
  return p;
}

/** A step through shared memory: the parameters and each helper's images posted to its link, share 0
 * computed here; `{report, answers}`: share 0's report and the helpers' answers. */
async function sharedStep(sizes) {
  const others = [...sizes.subarray(1)];
  if (others.length) await linkHelpers(tr.staged_params().length, Math.max(...others));
  // the staged views are read before the module is called again
  const params = tr.staged_params();
  const pixels = tr.staged_pixels();
  const labels = tr.staged_labels();
  let at = 0;
  others.forEach((n, i) => {
    shared.post(helpers[i].link, params, pixels.subarray(at * IMAGE, (at + n) * IMAGE), labels.subarray(at, at + n));
    at += n;
  });
  const report = tr.train_own_staged();
  return { report, answers: others.map((_, i) => shared.answer(helpers[i].link)) };
}

/** A step over `k` workers with helpers that mirror the run: their images (where they were not sent a
 * step ahead), share 0 computed here, its gradient sent to every helper with the next step's images;
 * `{report, answers}`: share 0's report and the promises of the helpers' answers (those with a share). */
function mirroredStep(sizes, k) {
  const { run, step } = mirror;
  if (mirror.sent < step) {
    // the first step of a run or of an epoch
    stagedImages(step, sizes).forEach((images, i) => {
      helpers[i].worker.postMessage({ type: 'mirrored', run, images }, [images.pixels.buffer, images.labels.buffer]);
    });
    mirror.sent = step;
  }
  const report = tr.train_own_staged();
  // share 0's gradient, copied into each helper's buffer before the module is called again
  const view = tr.train_own_gradient_view();
  const gradients = helpers.map((h) => {
    const g = fit(h.buffers?.gradient, Float32Array, view.length);
    if (h.buffers) h.buffers.gradient = null;
    g.set(view);
    return g;
  });
  const next = tr.train_stage_next(k);
  const ahead = next ? stagedImages(step + 1, next) : null;
  helpers.forEach((h, i) => {
    const msg = { type: 'mirrored', run, gradient: { step, values: gradients[i] } };
    const transfer = [gradients[i].buffer];
    if (ahead) {
      msg.images = ahead[i];
      transfer.push(ahead[i].pixels.buffer, ahead[i].labels.buffer);
    }
    h.worker.postMessage(msg, transfer);
  });
  if (next) mirror.sent = step + 1;
  return { report, answers: helpers.filter((_, i) => i + 1 < sizes.length).map((h) => h.answer(run, step)) };
}

async function runTraining({ settings, files, resume, workers = 1 }) {
  await trainSet(files, 'train');
  if (cancelRequested) {
    post({ type: 'result', job: 'train', cancelled: true });
    return;
  }
  let p = resume ? tr.train_begin_from(settings, resume) : tr.train_begin(settings);
  // workers beyond this one: helpers, where workers can start workers and the design allows it
  const wanted = Math.max(1, Math.min(16, Math.floor(workers) || 1));
  const k = wanted > 1 && typeof Worker !== 'undefined' && tr.train_parallel_ready() ? wanted : 1;
  if (k > 1) {
    post({ type: 'status', job: 'train', status: 'helpers', workers: k });
    await readyHelpers(k - 1);
    if (cancelRequested) {
      tr.train_cancel();
      post({ type: 'result', job: 'train', cancelled: true });
      return;
    }
  }
  // shares through shared memory where the page is cross-origin isolated, else as messages
  const share = k > 1 && shared.canShare();
  const exchange = k > 1 ? (share ? 'shared' : 'messages') : null;
  if (k > 1 && !share) await mirrorHelpers();
  post({ type: 'status', job: 'train', status: k > 1 ? 'training-parallel' : wanted > 1 ? 'training-one' : 'training', workers: k, simd: build, exchange });
  const started = performance.now();
  let steps = 4;
  try {
    while (!p.finished) {
      const left = p.step === p.steps_per_epoch ? p.steps_per_epoch : p.steps_per_epoch - p.step;
      if (k === 1 && left <= steps) post({ type: 'status', job: 'train', status: 'validating' });
      const t = performance.now();
      p = k > 1 ? await parallelChunk(k, p, share) : tr.train_step(steps);
      const dt = performance.now() - t;
      post({ type: 'progress', job: 'train', p, elapsed: performance.now() - started });
      // adapt the chunk to the machine; chunks that end an epoch include validation, so they don't count
      if (!p.epoch_report) steps = Math.max(1, Math.min(4096, Math.round((steps * CHUNK_MS) / Math.max(dt, 1))));
      if (p.epoch_report && !p.finished) post({ type: 'status', job: 'train', status: k > 1 ? 'training-parallel' : 'training', workers: k });
      await yieldNow();
      if (cancelRequested) {
        tr.train_cancel();
        post({ type: 'result', job: 'train', cancelled: true });
        return;
      }
    }
  } finally {
    // the helpers leave their loops (a run that ends, is cancelled or fails alike)
    if (share) await unlinkHelpers();
  }
  const seconds = (performance.now() - started) / 1000;
  const float = tr.train_finish();
  pg.load_model('float', float);
  // quantize here too: calibration would be a long task on the page's thread
  post({ type: 'status', job: 'train', status: 'quantizing' });
  let quantized = null;
  let quantError = null;
  const latest = quantSettings;
  try {
    // calibrated on the images the training module picks from the training set
    const images = tr.calibration_images(latest);
    pg.quantize_with(latest, images);
    quantized = pg.model_bytes('quant');
  } catch (err) {
    quantError = err.message;
  }
  const row = quantized ? await compareRow(float, quantized, settings, resume, k) : null;
  const transfer = quantized ? [float.buffer, quantized.buffer] : [float.buffer];
  post({ type: 'result', job: 'train', seconds, workers: k, simd: build, exchange, float, quant: quantized, quantSettings: latest, quantError, row }, transfer);
}

/** The trained models' line of the comparison table (www/models-table.js): both evaluated on the test
 * set on a Playground of their own, with the time per image, and the design's costs. Null when the run
 * is cancelled meanwhile (the models themselves are kept). */
let rowPg = null;
async function compareRow(float, quant, settings, resume, workers) {
  post({ type: 'status', job: 'train', status: 'comparing' });
  let design;
  try {
    design = Trainer.design_of(float);
  } catch {
    design = Trainer.design_presets()[0].json; // the tutorial's network, exported without its design
  }
  const check = Trainer.design_check(design);
  let folding = [];
  try {
    folding = Trainer.folded_ranges(float);
  } catch {
    // the tutorial's network, exported without its design: nothing folded
  }
  if (!rowPg) {
    rowPg = new Playground();
    rowPg.set_test_set(testSet.images, testSet.labels);
  }
  rowPg.load_model('float', float);
  rowPg.load_model('quant', quant);
  let p = rowPg.eval_begin('float,quant');
  const seconds = { float: 0, quant: 0 };
  while (p.done < p.total) {
    const t = performance.now();
    p = rowPg.eval_step(EVAL_CHUNK);
    seconds[p.slot] += (performance.now() - t) / 1000;
    post({ type: 'progress', job: 'compare-row', done: p.done, total: p.total });
    await yieldNow();
    if (cancelRequested) return null;
  }
  const report = rowPg.eval_report();
  const n = report.total;
  return {
    design: JSON.parse(design),
    summary: check.summary,
    folding,
    resumed: Boolean(resume),
    workers,
    epochs: settings.epochs,
    images: settings.images,
    mode: rowPg.model_info('quant').mode,
    floatAccuracy: report.models.float.accuracy,
    quantAccuracy: report.models.quant.accuracy,
    floatBytes: float.length,
    quantBytes: quant.length,
    floatMs: (seconds.float * 1000) / n,
    quantMs: (seconds.quant * 1000) / n,
  };
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
  const report = pg.eval_report();
  // what the first two models predict on the first disagreements (the page shows those as thumbnails;
  // the report itself holds only the image numbers)
  const shown = report.disagreements.slice(0, DISAGREEMENTS_SHOWN);
  const predictions = {};
  for (const [slot] of models.slice(0, 2)) predictions[slot] = shown.map((i) => pg.predict(slot, pg.test_image(i)).class);
  post({ type: 'result', job: 'eval', report, seconds, predictions });
}

/** Sets of calibration images that need the whole training set (the representative images are too few,
 * and unlabelled). */
const needsTrainSet = (set) => set === 'random' || set.startsWith('digit:');
/** Whether conversion `mode` calibrates, from the library's lists. */
const calibrates = (mode) => Playground.modes().find((m) => m.id === mode)?.calibrates ?? false;

/** The images `settings` calibrate on, or null for a conversion that does not calibrate: from the
 * training set where the training module holds it (downloading it first if the set needs it), else from
 * `pg`'s representative images. */
async function calibrationImages(settings, representative, files, job, id) {
  if (representative) pg.set_representative_images(representative);
  if (!calibrates(settings.mode)) return null;
  if (needsTrainSet(settings.set)) await trainSet(files, job, id);
  return tr?.has_train_set() ? tr.calibration_images(settings) : pg.calibration_images(settings.set, settings.samples);
}

/** {id, float, representative?, settings, files}: convert the float model with every setting of the form
 * (`Playground.quantize_with`); answers with the file and the calibration images. */
async function convert({ id, float, representative, settings, files }) {
  const images = await calibrationImages(settings, representative, files, 'convert', id);
  await withSlots(() => {
    post({ type: 'status', job: 'convert', id, status: 'converting' });
    const t0 = performance.now();
    pg.load_model('float', float);
    pg.quantize_with(settings, images ?? undefined);
    const ms = performance.now() - t0;
    const bytes = pg.model_bytes('quant');
    post({ type: 'result', job: 'convert', id, bytes, images, settings, ms }, [bytes.buffer]);
  });
}

/** {id, bytes}: the integer-only accelerator check of a .tflite file (`ptq inspect --deploy`). */
async function deploy({ id, bytes }) {
  post({ type: 'result', job: 'deploy', id, check: Playground.deploy_check(bytes) });
}

// ---------------------------------------------------------------------------------------------------
// The comparison of every conversion runs on a Playground of its own (its "float" and "quant" slots), so
// it neither waits for nor disturbs the page's conversions and evaluations. It calibrates on the images
// the form's set picks (`calibrationImages`), loaded as its representative
// images: the same images, so the same files as `ptq convert` with the form's flags.

let comparing = null;

/** 784-byte images as an IDX file of n×28×28 unsigned bytes. */
function idx(images) {
  const out = new Uint8Array(16 + images.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x803);
  view.setUint32(4, images.length / 784);
  view.setUint32(8, 28);
  view.setUint32(12, 28);
  out.set(images, 16);
  return out;
}

/** {id, float, representative?, settings, modes, methods, files}: convert the float model in every chosen
 * mode (and, in the modes that calibrate, with every chosen method) with the other settings of the form,
 * and evaluate each file with the float model on the test set. Each row is posted as it is done
 * ({type: 'progress', row}); a 'compare-cancel' or a newer comparison stops it between steps. */
async function compare({ id, float, representative, settings, modes, methods, files }) {
  const me = ++runs.compare;
  const cells = [];
  for (const m of Playground.modes().filter((m) => modes.includes(m.id))) {
    if (!m.calibrates) cells.push({ mode: m.id, method: null });
    else for (const method of Playground.calibration_methods().filter((x) => methods.includes(x))) cells.push({ mode: m.id, method });
  }
  const calibrating = cells.find((c) => c.method);
  const images = calibrating ? await calibrationImages({ ...settings, mode: calibrating.mode }, representative, files, 'compare', id) : null;
  if (runs.compare !== me) return post({ type: 'result', job: 'compare', id, cancelled: true });
  if (!comparing) {
    comparing = new Playground();
    comparing.set_test_set(testSet.images, testSet.labels);
  }
  const c = comparing;
  c.load_model('float', float);
  if (images) c.set_representative_images(idx(images));
  const samples = images ? images.length / 784 : 1;
  const perImage = c.test_count();
  for (const [i, cell] of cells.entries()) {
    post({ type: 'progress', job: 'compare', id, cell: i, cells: cells.length, done: i * perImage * 2, total: cells.length * perImage * 2 });
    const asked = {
      ...settings, mode: cell.mode, method: cell.method ?? 'minmax', set: 'first', samples,
      per_tensor: Boolean(cell.method) && settings.per_tensor,
    };
    const t0 = performance.now();
    c.quantize_with(asked);
    const convertMs = performance.now() - t0;
    const bytes = c.model_bytes('quant');
    let p = c.eval_begin('float,quant');
    let quantSeconds = 0;
    while (p.done < p.total) {
      const t = performance.now();
      p = c.eval_step(EVAL_CHUNK);
      if (p.slot === 'quant') quantSeconds += (performance.now() - t) / 1000;
      post({ type: 'progress', job: 'compare', id, cell: i, cells: cells.length, done: i * perImage * 2 + p.done, total: cells.length * perImage * 2 });
      await yieldNow();
      if (runs.compare !== me) return post({ type: 'result', job: 'compare', id, cancelled: true });
    }
    const report = c.eval_report();
    const row = {
      ...cell,
      floatAccuracy: report.models.float.accuracy,
      accuracy: report.models.quant.accuracy,
      agreement: report.agreement,
      bytes: bytes.length,
      msPerImage: (quantSeconds * 1000) / report.total,
      convertMs,
      file: bytes,
    };
    post({ type: 'progress', job: 'compare', id, row, cell: i, cells: cells.length, done: (i + 1) * perImage * 2, total: cells.length * perImage * 2 }, [bytes.buffer]);
  }
  post({ type: 'result', job: 'compare', id, rows: cells.length });
}

// ---------------------------------------------------------------------------------------------------
// The views inside a quantization run on a Playground of their own (slots "float" and "quant": the pair
// being looked at), from their own module (pkg/inside/, fetched for the first of them), so they neither
// wait for nor disturb a training run or an evaluation: their steps interleave at the yields. A long job
// ('errors', 'keep') stops when runs[kind] moves on: a newer job of its kind, a cancel, or other models.

let insideLoading = null;

/** The views' Playground, its module loaded once (a failed load is tried again by the next view). */
function insidePlayground() {
  insideLoading ??= loadInside().then((lib) => {
    const p = new lib.Playground();
    p.set_test_set(testSet.images, testSet.labels);
    return p;
  }).catch((err) => {
    insideLoading = null;
    throw err;
  });
  return insideLoading;
}

/** {float?, quant?, convert?: {mode, samples}, representative?}: the pair to look at (the quantized model
 * given, or converted here from the float one). Answers with both graphs and the quantized model's info. */
async function insideLoad({ id, float, quant, convert, representative }) {
  const p = await insidePlayground();
  runs.errors++;
  runs.keep++;
  p.debug_cancel();
  if (representative) p.set_representative_images(representative);
  for (const [slot, bytes] of [['float', float], ['quant', quant]]) {
    if (bytes) p.load_model(slot, bytes);
    else p.remove_model(slot);
  }
  if (convert) p.quantize(convert.mode, convert.samples);
  const has = new Set(p.slots());
  post({
    type: 'result', job: 'inside-load', id,
    quant: has.has('quant') ? p.graph('quant', has.has('float') ? 'float' : undefined) : null,
    float: has.has('float') ? p.graph('float') : null,
    info: has.has('quant') ? p.model_info('quant') : null,
    floatInfo: has.has('float') ? p.model_info('float') : null,
  });
}

/** {images, modes}: the per-layer error of the pair, in steps of about DEBUG_MS. */
async function insideErrors({ id, images, modes }) {
  const p = await insidePlayground();
  const me = ++runs.errors;
  let progress = p.debug_begin('float', 'quant', images, modes.join(','));
  let count = 4;
  while (progress.done < progress.total) {
    const t = performance.now();
    progress = p.debug_step(count);
    const dt = performance.now() - t;
    count = Math.max(1, Math.min(1000, Math.round((count * DEBUG_MS) / Math.max(dt, 1))));
    post({ type: 'progress', job: 'inside-errors', id, done: progress.done, total: progress.total, mode: progress.mode });
    await yieldNow();
    if (runs.errors !== me) {
      post({ type: 'result', job: 'inside-errors', id, cancelled: true });
      return;
    }
  }
  post({ type: 'result', job: 'inside-errors', id, reports: p.debug_report() });
}

/** {op, flat, image, output}: one element worked out by hand (with the float value when the pair has a
 * float model; flat null: the layer's largest element); with `output`, also the layer's whole output on
 * that image. */
async function insideExplain({ id, op, flat, image, output }) {
  const p = await insidePlayground();
  const float = p.slots().includes('float') ? 'float' : undefined;
  const layer = output || flat === null ? p.layer_output('quant', op, image) : null;
  const at = flat ?? layer.values.reduce((best, v, i, all) => (v > all[best] ? i : best), 0);
  let explanation = null;
  let unexplained = null;
  try {
    explanation = p.explain('quant', float, op, at, image);
  } catch (err) {
    unexplained = err.message;
  }
  post({ type: 'result', job: 'inside-explain', id, flat: at, explanation, unexplained, layer: output ? layer : null });
}

/** {keep, samples}: convert keeping the named layers in float and keeping none, then evaluate the float
 * model and both conversions on the test set. */
async function insideKeep({ id, keep, samples }) {
  const p = await insidePlayground();
  const me = ++runs.keep;
  const conversion = p.convert_keeping_float('float', keep, samples);
  const bytes = { selective: p.model_bytes('selective'), all: p.model_bytes('all-int8') };
  let progress = p.eval_begin('float,selective,all-int8');
  while (progress.done < progress.total) {
    progress = p.eval_step(EVAL_CHUNK);
    post({ type: 'progress', job: 'inside-keep', id, done: progress.done, total: progress.total });
    await yieldNow();
    if (runs.keep !== me) {
      post({ type: 'result', job: 'inside-keep', id, cancelled: true });
      return;
    }
  }
  const graph = p.graph('selective', 'float');
  post({ type: 'result', job: 'inside-keep', id, conversion, graph, report: p.eval_report(), bytes },
    [bytes.selective.buffer, bytes.all.buffer]);
}

/** {samples, method}: weights and activations on their integer grids (64 bins, as ptq histograms); with a
 * calibration method, on the grids of a new calibration on those images. */
async function insideHist({ id, samples, method }) {
  const report = (await insidePlayground()).histograms('float', 'quant', samples, method ?? undefined, 64);
  post({ type: 'result', job: 'inside-hist', id, report });
}

/** {samples}: every calibration method's range for each activation of the pair, calibrated on those
 * images (the pair's mode converted again with each method). */
async function insideRanges({ id, samples }) {
  post({ type: 'result', job: 'inside-ranges', id, ranges: (await insidePlayground()).method_ranges('float', 'quant', samples) });
}
