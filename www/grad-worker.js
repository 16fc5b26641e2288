// A helper of data-parallel training, started by worker.js when the Training card asks for more than
// one worker: its own wasm instance with a network of the run's design. For each share it is sent (the
// run's parameters, the share's images and labels) it answers with that share's gradient. Protocol
// (in): {type: 'init', design} (every run), {type: 'share', params, pixels, labels}; (out): {type:
// 'ready'}, {type: 'share', report, gradient}, {type: 'error', message}.

import init, { Playground } from '../pkg/fast/ptq_playground.js';

let pg;
const ready = init().then(() => {
  pg = new Playground();
});

const handlers = {
  init({ design }) {
    pg.share_begin(design);
    self.postMessage({ type: 'ready' });
  },
  share({ params, pixels, labels }) {
    const report = pg.share_compute(params, pixels, labels);
    const gradient = pg.share_gradient();
    self.postMessage({ type: 'share', report, gradient }, [gradient.buffer]);
  },
};

self.onmessage = async ({ data }) => {
  try {
    await ready;
    handlers[data.type]?.(data);
  } catch (err) {
    self.postMessage({ type: 'error', message: err?.message ?? String(err) });
  }
};
