// What every panel of the page shares: the state of the page thread's wasm Playground (`session`),
// element lookup and site URLs, the status line, the error messages shown beside the control that
// caused them (kept so a language switch can translate them), form-field parsing, and the timings the
// benchmark script (bench/page.mjs) reads.

import { t } from './i18n.js';

export const $ = (id) => document.getElementById(id);
/** URL of a file of the site (relative to the site's root, so any sub-path works). */
export const site = (path) => new URL(`../${path}`, import.meta.url).href;

/** The page thread's wasm Playground and what it holds. */
export const session = {
  pg: null,
  info: {}, // slot -> ModelInfo
  pred: {}, // slot -> last prediction
  input: null, // {pixels, source: 'draw'|'test', index, label}
  testCount: 0,
  testSet: null,
  representative: null, // the representative images' IDX bytes (the worker calibrates on them too)
  siteInfo: null,
  upload: null, // {name, report, info}
};

// Timings for the benchmark script (bench/page.mjs): one entry per live prediction, in milliseconds.
export const stats = { inference: [], quantizeMs: [], eval: null, train: null };
globalThis.ptqPlayground = { stats };

let status = ['status.wasm', {}];
const errors = new Map(); // element id -> [key, vars]

export function setStatus(key, vars = {}) {
  status = [key, vars];
  $('status').textContent = t(key, vars);
}

export function showError(id, key, vars = {}) {
  errors.set(id, [key, vars]);
  const e = $(id);
  e.textContent = t(key, vars);
  e.hidden = false;
}

export function hideError(id) {
  errors.delete(id);
  $(id).hidden = true;
  $(id).textContent = '';
}

/** Show the status line and the visible error messages again in the current language. */
export function relabelMessages() {
  setStatus(...status);
  for (const [id, [key, vars]] of errors) showError(id, key, vars);
}

export const message = (err) => (err && err.message) || String(err);

/** Parse a form field as an integer in [min, max], or null. */
export function intField(id, min, max) {
  const raw = $(id).value.trim();
  if (!/^\d+$/.test(raw)) return null;
  const v = Number(raw);
  return v >= min && v <= max ? v : null;
}

export const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));
