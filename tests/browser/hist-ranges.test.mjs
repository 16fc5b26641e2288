// Every calibration method's range on the same histogram, in the inside panel's histograms view: for the
// selected layer's activations, the range each method (min/max, percentile, entropy, MSE) gives on the
// same N representative images, drawn as brackets over the bars and listed, equal to the grid
// `ptq histograms --calibration METHOD` computes for the same float model, images and conversion; they
// follow the number of images; the list reads in Persian; no long task on the page's thread.
// Screenshots go to test-results/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serve, launch, open, PTQ, MNIST, RESULTS, recordLongTasks, longTasksSince } from './harness.mjs';

const DIR = join(RESULTS, 'hist-ranges');
const METHODS = ['minmax', 'percentile', 'entropy', 'mse'];

let server;
let browser;
before(async () => {
  mkdirSync(DIR, { recursive: true });
  server = await serve();
  browser = await launch();
  await recordLongTasks(browser.context);
});
after(async () => {
  await browser?.close();
  server?.close();
});

/** The ranges listed under the activations: method -> [lo, hi], with the tensor they are for. */
async function shownRanges(page, n) {
  await page.waitForFunction((k) => {
    const list = document.querySelector('[data-testid=hist-activations-ranges]');
    return list && document.querySelector('[data-testid=hist-status]').textContent.includes(`${k} `);
  }, n, { timeout: 120_000 });
  const tensor = await page.getByTestId('hist-activations').getAttribute('data-tensor');
  const ranges = await page.$$eval('[data-testid=hist-activations-ranges] li', (lis) => Object.fromEntries(lis.map((li) => [li.dataset.method, [Number(li.dataset.lo), Number(li.dataset.hi)]])));
  return { tensor, ranges };
}

/** Each method's grid for `tensor` from `ptq histograms` (the page's conversion: integer-only, uint8). */
function cliRanges(float, samples, tensor) {
  return Object.fromEntries(METHODS.map((m) => {
    const r = JSON.parse(execFileSync(PTQ, ['histograms', '--in', float, '--mode', 'integer-only', '--io', 'uint8',
      '--calibration-samples', String(samples), '--calibration', m, '--bins', '8', '--json', '--data', MNIST], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const g = r.activations.find((h) => h.tensor_name === tensor).grid;
    return [m, [g.real_min, g.real_max]];
  }));
}

test('each calibration method\'s range on the same histogram is the grid `ptq histograms` gives with that method', async () => {
  const { page, errors } = await open(browser.context, server.url);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-float').click()]);
  const float = join(DIR, 'float.tflite');
  await dl.saveAs(float);
  const t0 = await page.evaluate(() => performance.now());
  await page.getByTestId('inside-open').click();
  const conv = await shownRanges(page, 100);
  assert.deepEqual(Object.keys(conv.ranges), METHODS);
  assert.deepEqual(conv.ranges, cliRanges(float, 100, conv.tensor));
  // the methods do not all agree, and the shaded grid is min/max's (the page's conversion)
  assert.ok(new Set(Object.values(conv.ranges).map(String)).size > 1);
  assert.match(await page.locator('[data-testid=hist-activations-ranges] li[data-method=minmax]').textContent(), /shaded/);
  await page.getByTestId('inside-hist').screenshot({ path: join(RESULTS, 'hist-ranges.png') });
  // the dense layer, on 300 images
  await page.locator('[data-testid=inside-graph] button.op', { hasText: 'FULLY_CONNECTED' }).click();
  await page.getByTestId('hist-samples').fill('300');
  const fc = await shownRanges(page, 300);
  assert.notEqual(fc.tensor, conv.tensor);
  assert.deepEqual(fc.ranges, cliRanges(float, 300, fc.tensor));
  assert.deepEqual(await longTasksSince(page, t0), []);
  await page.getByTestId('lang').selectOption('fa');
  assert.match(await page.getByTestId('hist-activations-ranges').textContent(), /[\u0600-\u06FF]/);
  await page.getByTestId('inside-hist').screenshot({ path: join(RESULTS, 'hist-ranges-fa.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
