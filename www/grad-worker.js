// A helper of data-parallel training, started by worker.js when the Training card asks for more than
// one worker: its own instance of the training module (in the build the worker runs, wasm-build.js)
// with a network of the run's design. It computes the gradients of its shares of each batch, in one of
// two ways (worker.js): it mirrors the run, taking every step itself (messages, on any host), or it
// is sent the parameters with each share through shared memory (share-link.js, where the page is
// cross-origin isolated).
// Protocol (in): {type: 'init', design, build} (every run); {type: 'mirror', run, state, share, ports}
// (mirror the run from `state`, as share number `share`; `ports[j]` a channel to the helper of share
// j); {type: 'mirrored', run, gradient?: {step, values} (share 0's), images?: {step, sizes, pixels,
// labels} (this helper's share of that step, and every share's size)}; {type: 'link', buffer,
// params, capacity}: answer the shares posted to that shared buffer until told to stop.
// (out): {type: 'ready'}; {type: 'share', run, step, report, gradient, pixels, labels} (the share's
// buffers back, the gradient in the one share 0's came in); {type: 'unlinked'} once a link stops;
// {type: 'error', message}. Between helpers: {run, step, share, values} (a share's gradient).

import { loadTrainer } from './wasm-build.js';
import { serveShares, views } from './share-link.js';

let pg;
/** The training module, loaded in the build the first 'init' names (the worker's). */
let loading = null;

/** The run this helper mirrors: its number, this helper's share, the channels to the other helpers,
 * the next step to take, what has come for each step ({sizes, pixels, labels, gradients: Map share ->
 * values}), whether this step's share is computed, the buffer its next answer goes back in, and
 * scratch space for the other shares' gradients. */
let mirror = null;

/** What has come for `step` of the mirrored run. */
function record(step) {
  let r = mirror.steps.get(step);
  if (!r) mirror.steps.set(step, (r = { sizes: null, pixels: null, labels: null, gradients: new Map() }));
  return r;
}

/** Take the mirrored run's steps as far as what has come allows: compute this helper's share of the
 * next step once its images are here (with the parameters of the step before), send its gradient to
 * the worker and the other helpers, and take the step once every other share's gradient is here. */
function advance() {
  for (;;) {
    const { share, step } = mirror;
    const r = mirror.steps.get(step);
    if (!r?.sizes) return;
    const mine = share < r.sizes.length;
    if (mine && !mirror.computed) {
      const report = pg.share_compute_mirrored(r.pixels, r.labels);
      // copied out of the module's memory before it is called again
      const view = pg.share_gradient_view();
      const peers = mirror.ports.filter(Boolean);
      if (peers.length) {
        const values = view.slice();
        for (const port of peers) port.postMessage({ run: mirror.run, step, share, values });
      }
      const gradient = mirror.spare?.length === view.length ? mirror.spare : new Float32Array(view.length);
      mirror.spare = null;
      gradient.set(view);
      const { pixels, labels } = r;
      self.postMessage({ type: 'share', run: mirror.run, step, report, gradient, pixels, labels }, [gradient.buffer, pixels.buffer, labels.buffer]);
      mirror.computed = true;
      continue;
    }
    const needed = r.sizes.length - (mine ? 1 : 0);
    if (r.gradients.size < needed) return;
    const size = r.gradients.values().next().value.length;
    if (mirror.others.length !== needed * size) mirror.others = new Float32Array(needed * size);
    let at = 0;
    for (let j = 0; j < r.sizes.length; j++) {
      if (j === share) continue;
      mirror.others.set(r.gradients.get(j), at);
      at += size;
    }
    pg.share_apply(r.sizes, mine ? share : -1, mirror.others);
    // share 0's gradient came in a buffer of the worker's: this helper's next answer goes back in it
    mirror.spare = r.gradients.get(0);
    mirror.steps.delete(step);
    mirror.step += 1;
    mirror.computed = false;
  }
}

/** A message of the mirrored run `run` (from the worker or another helper): kept, and the run taken
 * as far as it allows. One of an earlier run is dropped. */
function mirrored(run, { gradient, images }) {
  if (!mirror || run !== mirror.run) return;
  if (gradient) record(gradient.step).gradients.set(gradient.share ?? 0, gradient.values);
  if (images) Object.assign(record(images.step), { sizes: Uint32Array.from(images.sizes), pixels: images.pixels, labels: images.labels });
  advance();
}

/** Stop mirroring (its channels closed). */
function unmirror() {
  for (const port of mirror?.ports ?? []) port?.close();
  mirror = null;
}

const fail = (err) => self.postMessage({ type: 'error', message: err?.message ?? String(err) });

const handlers = {
  async init({ design, build }) {
    loading ??= loadTrainer(build).then(({ Trainer }) => {
      pg = new Trainer();
    });
    await loading;
    unmirror();
    pg.share_begin(design);
    self.postMessage({ type: 'ready' });
  },
  mirror({ run, state, share, ports }) {
    unmirror();
    pg.share_mirror(state.params, state.moments, state.adam);
    mirror = { run, share, ports, step: 0, steps: new Map(), computed: false, spare: null, others: new Float32Array(0) };
    for (const port of ports) {
      if (!port) continue;
      port.onmessage = ({ data }) => {
        try {
          mirrored(data.run, { gradient: data });
        } catch (err) {
          fail(err);
        }
      };
    }
    self.postMessage({ type: 'ready' });
  },
  mirrored({ run, gradient, images }) {
    mirrored(run, { gradient, images });
  },
  link({ buffer, params, capacity }) {
    serveShares(views(buffer, params, capacity), (p, pixels, labels) => ({
      report: pg.share_compute(p, pixels, labels),
      // a view of the module's memory, copied into the link before the module is called again
      gradient: pg.share_gradient_view(),
    }));
    self.postMessage({ type: 'unlinked' });
  },
};

self.onmessage = async ({ data }) => {
  try {
    if (data.type !== 'init') await loading;
    await handlers[data.type]?.(data);
  } catch (err) {
    fail(err);
  }
};
