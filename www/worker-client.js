// The page's side of the worker (worker.js), which owns a second wasm instance for the long jobs
// (training, evaluation, the views inside a quantization): starting it on first use with the test set,
// posting to it, the one training or evaluation job it runs at a time (and the buttons that follow it),
// and a handler table that routes each message the worker posts, {type: status|progress|result|error,
// job}, to the panel that shows it.

import { $, session } from './page.js';

let worker = null;
let job = null; // 'train' | 'eval' while the worker is busy
/** job -> {type -> handler(msg)}; `other` takes the messages of any other job (or of none). */
let handlers = {};

/** Set the handler table: `{[job]: {[type]: (msg) => void}, other: {...}}`. */
export function handle(table) {
  handlers = table;
}

/** Add the handlers of more jobs to the table (a panel loaded later brings its own). */
export function addHandlers(table) {
  Object.assign(handlers, table);
}

function dispatch(msg) {
  (handlers[msg.job] ?? handlers.other)?.[msg.type]?.(msg);
}

function running() {
  if (worker) return worker;
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  w.onmessage = (e) => dispatch(e.data);
  w.onerror = (e) => {
    e.preventDefault();
    dispatch({ type: 'error', job, message: e.message || 'the worker stopped' });
    worker = null;
  };
  // `?simd=simd128` makes the worker run the plain SIMD128 build even where relaxed SIMD is there
  const simd = new URLSearchParams(location.search).get('simd');
  w.postMessage({ type: 'init', images: session.testSet.images, labels: session.testSet.labels, simd });
  worker = w;
  return w;
}

/** Post a message that starts work, starting the worker first if it is not running. */
export function post(msg, transfer = []) {
  running().postMessage(msg, transfer);
}

/** Post a message only to a running worker (one that concerns a job already under way); false if none. */
export function tell(msg) {
  worker?.postMessage(msg);
  return worker !== null;
}

export const currentJob = () => job;

export function setJob(next) {
  job = next;
  $('train-start').disabled = next !== null;
  $('train-cancel').disabled = next !== 'train';
  $('eval-start').disabled = next !== null;
}
