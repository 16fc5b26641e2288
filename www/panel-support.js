// What the panels imported on demand share, loaded with the first of them rather than with the page:
// requests to the worker that carry an id (each answer, result or error, with that id settles the
// request's promise; its progress and status messages go to the caller's callback), and the panels'
// own stylesheets.

import { post, addHandlers } from './worker-client.js';

/** Add a stylesheet to the page; resolves once it is loaded (or failed: the panel then works unstyled). */
export function stylesheet(url) {
  return new Promise((resolve) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = url;
    link.onload = link.onerror = resolve;
    document.head.append(link);
  });
}

let nextId = 1;
const waiting = new Map();

function settle(msg, ok) {
  const w = waiting.get(msg.id);
  if (!w) return;
  waiting.delete(msg.id);
  if (ok) w.resolve(msg);
  else w.reject(new Error(msg.message));
}

/** Route the answers of these worker jobs (message types) to the requests waiting for them. */
export function answer(jobs) {
  const progress = (m) => waiting.get(m.id)?.onProgress?.(m);
  addHandlers(Object.fromEntries(jobs.map((job) => [job, {
    result: (m) => settle(m, true),
    error: (m) => settle(m, false),
    progress,
    status: progress,
  }])));
}

/** Ask the worker; resolves to its result message, rejects with its error. */
export function request(type, body = {}, { onProgress, transfer = [] } = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject, onProgress });
    post({ type, id, ...body }, transfer);
  });
}
