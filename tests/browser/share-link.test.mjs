// The shared-memory link between the training worker and a helper (www/share-link.js), in Node's
// worker threads (which have SharedArrayBuffer and Atomics.wait without a page): shares go one way and
// answers the other, in order; a helper's error reaches the worker with its message; a share larger
// than the link is refused, not overrun; stop ends the helper's loop; all of it with both sides
// spinning before they sleep, with the helper alone spinning, and with both sleeping at once. The page's own use of it is
// tested in Chromium (parallel.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { link as newLink, views, post, answer, stop, serveShares, SPIN_MS } from '../../www/share-link.js';

const PARAMS = 5;
const CAPACITY = 3;

if (!isMainThread) {
  // the helper: its "gradient" is params + the sum of the share's pixels, and a share whose first
  // label is 9 fails
  const link = views(workerData, PARAMS, CAPACITY);
  serveShares(link, (params, pixels, labels) => {
    if (labels[0] === 9) throw new Error('label 9 is refused here');
    const sum = pixels.reduce((a, b) => a + b, 0);
    return {
      report: { n: labels.length, loss: sum / 1000, correct: labels.filter((l) => l === 1).length },
      gradient: Float32Array.from(params, (p) => p + sum),
    };
  });
  parentPort.postMessage('stopped');
} else {
  for (const [worker, helper] of [[SPIN_MS, SPIN_MS], [0, SPIN_MS], [0, 0]]) test(`shares and answers travel through the link in order; errors and stops reach the other side (spinning ${worker} and ${helper} ms)`, async () => {
    const link = newLink(PARAMS, CAPACITY, { worker, helper });
    const thread = new Worker(new URL(import.meta.url), { workerData: link.buffer });
    const stopped = new Promise((resolve) => thread.once('message', resolve));
    try {
      const params = Float32Array.from([1, 2, 3, 4, 5]);
      for (let step = 0; step < 200; step++) {
        const n = 1 + (step % CAPACITY);
        const pixels = new Uint8Array(784 * n).fill(step % 7);
        const labels = new Uint8Array(n).fill(1);
        post(link, params, pixels, labels);
        const { report, gradient } = answer(link);
        const sum = 784 * n * (step % 7);
        assert.deepEqual(report, { n, loss: Math.fround(sum / 1000), correct: n });
        assert.deepEqual([...gradient], [...params].map((p) => p + sum));
      }
      // the helper's error, with its message; the link goes on working after it
      post(link, params, new Uint8Array(784), Uint8Array.of(9));
      assert.throws(() => answer(link), /label 9 is refused here/);
      // more images than the link holds: refused by the helper (post itself cannot write past it)
      assert.throws(() => post(link, params, new Uint8Array(784 * (CAPACITY + 1)), new Uint8Array(CAPACITY + 1)), RangeError);
      link.ctrl[3] = CAPACITY + 1; // a count word past the capacity, as a corrupted post would leave it
      link.posted += 1;
      Atomics.store(link.ctrl, 0, link.posted);
      Atomics.notify(link.ctrl, 0);
      assert.throws(() => answer(link), /a share of 4 images in a link for 3/);
      post(link, params, new Uint8Array(784).fill(1), Uint8Array.of(1));
      assert.equal(answer(link).report.n, 1);
      stop(link);
      assert.equal(await stopped, 'stopped');
    } finally {
      await thread.terminate();
    }
  });
}
