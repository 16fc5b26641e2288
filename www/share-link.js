// Data-parallel training through shared memory, used only where the page is cross-origin isolated (its
// host sends the COOP and COEP headers, as `node scripts/serve.mjs DIR --isolated` does, or the page
// comes from its offline copy, sw.js). Elsewhere SharedArrayBuffer does not exist and the worker and its
// helpers exchange messages (worker.js, grad-worker.js), the default of every test but those of this
// path: there each helper mirrors the run (it takes every step itself and is sent only images and
// gradients). A message costs a fraction of a millisecond each way, next to about a millisecond for a
// whole step of the tutorial; here the worker writes the parameters and a share into the helper's
// buffer and wakes it with Atomics.notify, and the helper writes the share's gradient back the same
// way. The mirroring helpers hold these same parameters, bit for bit, and every way sums the same
// gradients in the same order, so the model is the same.
//
// One link per helper, one SharedArrayBuffer:
//   Int32 control words (below) | f32 loss | params (P f32) | gradient (P f32) |
//   pixels (capacity · 784 u8) | labels (capacity u8) | error text (ERROR_BYTES u8)

const IMAGE = 784;
const ERROR_BYTES = 512;
/** Control words: the share posted last (the worker counts them), the share answered last (the
 * helper), stop (1: leave the loop), the share's images, its report's n and correct, failed (1: the
 * error text holds why), the error text's length, and how long the helper spins before it sleeps
 * (µs; see SPIN_MS). */
const POSTED = 0;
const ANSWERED = 1;
const STOP = 2;
const COUNT = 3;
const N = 4;
const CORRECT = 5;
const FAILED = 6;
const ERROR_LEN = 7;
const SPIN = 8;
const WORDS = 9;
/** How long the worker waits for a helper's answer before it gives up on it. */
const ANSWER_MS = 30_000;
/** How long a side checks the other's word in a loop before it sleeps in Atomics.wait. Waking a
 * sleeping thread cost about 40 µs each way on the 2-core machine we measure on (an 85 µs round trip), against about 0.4 ms
 * for a share of the tutorial's batch; a waiting side that keeps checking sees the word at once. Both
 * waits are short in a run (the other side's compute, or the Adam step between two shares), so a side
 * that spins spins through them, and sleeps only when a run pauses or ends. But a spinning thread
 * holds its core: worker.js lets a side spin only where the cores allow it (see `link`). */
export const SPIN_MS = 2;

/** Wait until `ctrl[at]` differs from `value`: checking for up to `spinMs`, then sleeping up to
 * `sleepMs` (undefined: until woken). Returns the word's value then. */
function waitChange(ctrl, at, value, spinMs, sleepMs) {
  const t0 = performance.now();
  for (let i = 0; spinMs > 0; i++) {
    const now = Atomics.load(ctrl, at);
    if (now !== value) return now;
    if ((i & 63) === 63 && performance.now() - t0 > spinMs) break;
  }
  Atomics.wait(ctrl, at, value, sleepMs);
  return Atomics.load(ctrl, at);
}

/** Whether this context can share memory with its workers (cross-origin isolated). */
export const canShare = () =>
  globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function' && typeof Atomics?.wait === 'function';

/** A new link's buffer for `params` parameters and shares of at most `capacity` images. */
export function linkBuffer(params, capacity) {
  return new SharedArrayBuffer(4 * WORDS + 4 + 8 * params + (IMAGE + 1) * capacity + ERROR_BYTES);
}

/** A new link for the worker's side: the views of a new buffer, and the share count. Before they
 * sleep, the worker spins for `spin.worker` ms while it waits for an answer, the helper for
 * `spin.helper` ms while it waits for a share (0: sleep at once). */
export function link(params, capacity, spin) {
  const buffer = linkBuffer(params, capacity);
  const v = views(buffer, params, capacity);
  Atomics.store(v.ctrl, SPIN, Math.round(spin.helper * 1000));
  return { ...v, buffer, posted: 0, spinMs: spin.worker };
}

/** Views of a link's buffer (see the layout above). */
export function views(buffer, params, capacity) {
  let at = 0;
  const take = (Type, length) => {
    const v = new Type(buffer, at, length);
    at += length * Type.BYTES_PER_ELEMENT;
    return v;
  };
  const ctrl = take(Int32Array, WORDS);
  const loss = take(Float32Array, 1);
  return {
    ctrl, loss,
    params: take(Float32Array, params),
    gradient: take(Float32Array, params),
    pixels: take(Uint8Array, IMAGE * capacity),
    labels: take(Uint8Array, capacity),
    error: take(Uint8Array, ERROR_BYTES),
    capacity,
  };
}

// --- the worker's side ----------------------------------------------------------------------------

/** Post a share to the helper at `link` (the run's parameters, the share's images and labels). */
export function post(link, params, pixels, labels) {
  link.params.set(params);
  link.pixels.set(pixels);
  link.labels.set(labels);
  link.ctrl[COUNT] = labels.length;
  link.posted += 1;
  Atomics.store(link.ctrl, POSTED, link.posted);
  Atomics.notify(link.ctrl, POSTED);
}

/** Block until the helper has answered the share posted last: its report and a view of its gradient
 * (valid until the next post). Throws the helper's error, or after ANSWER_MS without an answer. */
export function answer(link) {
  const t0 = performance.now();
  let seen = Atomics.load(link.ctrl, ANSWERED);
  while (seen !== link.posted) {
    if (performance.now() - t0 > ANSWER_MS) throw new Error('a training helper stopped answering');
    seen = waitChange(link.ctrl, ANSWERED, seen, link.spinMs, 100);
  }
  if (link.ctrl[FAILED]) throw new Error(new TextDecoder().decode(link.error.slice(0, link.ctrl[ERROR_LEN])));
  return { report: { n: link.ctrl[N], loss: link.loss[0], correct: link.ctrl[CORRECT] }, gradient: link.gradient };
}

/** Tell the helper at `link` to leave its loop (it answers the message that started it). */
export function stop(link) {
  Atomics.store(link.ctrl, STOP, 1);
  Atomics.add(link.ctrl, POSTED, 1);
  Atomics.notify(link.ctrl, POSTED);
}

// --- the helper's side ----------------------------------------------------------------------------

/** Answer the shares posted to `link` with `compute(params, pixels, labels)` -> {report, gradient}
 * until told to stop. Blocks the helper's thread in between (a worker's, never the page's). */
export function serveShares(link, compute) {
  let seen = 0;
  for (;;) {
    // (Atomics.wait returns only once the word has changed, but a loop costs nothing to be sure)
    let now = seen;
    while (now === seen) now = waitChange(link.ctrl, POSTED, seen, link.ctrl[SPIN] / 1000);
    seen = now;
    if (Atomics.load(link.ctrl, STOP)) return;
    const count = link.ctrl[COUNT];
    try {
      if (count < 1 || count > link.capacity) throw new Error(`a share of ${count} images in a link for ${link.capacity}`);
      const { report, gradient } = compute(link.params, link.pixels.subarray(0, count * IMAGE), link.labels.subarray(0, count));
      link.gradient.set(gradient);
      link.ctrl[N] = report.n;
      link.ctrl[CORRECT] = report.correct;
      link.loss[0] = report.loss;
      link.ctrl[FAILED] = 0;
    } catch (err) {
      const text = new TextEncoder().encode(err?.message ?? String(err)).slice(0, ERROR_BYTES);
      link.error.set(text);
      link.ctrl[ERROR_LEN] = text.length;
      link.ctrl[FAILED] = 1;
    }
    Atomics.store(link.ctrl, ANSWERED, seen);
    Atomics.notify(link.ctrl, ANSWERED);
  }
}
