// A helper of data-parallel training, started by worker.js when the Training card asks for more than
// one worker: its own wasm instance with the training set and a network of the run's design. For each
// share it is sent (the run's parameters and the share's image indices) it answers with that share's
// gradient. Protocol (in): {type: 'init', images?, labels?, design} (the training set once, the design
// for every run), {type: 'share', params, ids}; (out): {type: 'ready'}, {type: 'share', report,
// gradient}, {type: 'error', message}.

import init, { Playground } from '../pkg/fast/ptq_playground.js';

let pg;
const ready = init().then(() => {
  pg = new Playground();
});

const handlers = {
  init({ images, labels, design }) {
    if (images) pg.set_train_set(images, labels);
    pg.share_begin(design);
    self.postMessage({ type: 'ready' });
  },
  share({ params, ids }) {
    const report = pg.share_compute(params, ids);
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
