// A helper of data-parallel training, started by worker.js when the Training card asks for more than
// one worker: its own instance of the training module (in the build the worker runs, wasm-build.js)
// with a network of the run's design. For each share it is sent (the run's parameters, the share's
// images and labels) it answers with that share's gradient. Protocol (in): {type: 'init', design,
// build} (every run), {type: 'share', params, pixels, labels}, or, where the page is cross-origin
// isolated, {type: 'link', buffer, params, capacity}: answer the shares posted to that shared buffer
// until told to stop (share-link.js); (out): {type: 'ready'}, {type: 'share', report, gradient,
// pixels, labels} (the share's own buffers back, the gradient in the parameters' buffer),
// {type: 'unlinked'} once a link stops, {type: 'error', message}.

import { loadTrainer } from './wasm-build.js';
import { serveShares, views } from './share-link.js';

let pg;
/** The training module, loaded in the build the first 'init' names (the worker's). */
let loading = null;

const handlers = {
  async init({ design, build }) {
    loading ??= loadTrainer(build).then(({ Trainer }) => {
      pg = new Trainer();
    });
    await loading;
    pg.share_begin(design);
    self.postMessage({ type: 'ready' });
  },
  share({ params, pixels, labels }) {
    const report = pg.share_compute(params, pixels, labels);
    // the gradient goes back in the parameters' buffer (as long), with the share's buffers: the
    // coordinator reuses them for the next share
    const gradient = params;
    gradient.set(pg.share_gradient_view());
    self.postMessage({ type: 'share', report, gradient, pixels, labels }, [gradient.buffer, pixels.buffer, labels.buffer]);
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
    self.postMessage({ type: 'error', message: err?.message ?? String(err) });
  }
};
