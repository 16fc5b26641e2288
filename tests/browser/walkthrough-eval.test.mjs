// The teacher's walkthrough (issue 14), evaluation and training parts, in Chromium against dist/: an
// evaluation stays tied to the models it was computed for (marked out of date once they change, its
// disagreements then closed, its report saying so); the disagreements are thumbnails of the test images
// with their labels and both models' predictions; the training chart's loss axis fits the losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, open, MNIST, RESULTS, longTasksSince, servedBrowser } from './harness.mjs';

const DIR = join(RESULTS, 'walkthrough-eval');

const site = servedBrowser({ longTasks: true, dirs: [DIR] });

const IMAGES = readFileSync(join(MNIST, 't10k-images-idx3-ubyte'));
const LABELS = readFileSync(join(MNIST, 't10k-labels-idx1-ubyte'));

async function evaluate(page) {
  await page.getByTestId('eval-start').click();
  await page.waitForFunction(() => !document.getElementById('eval-result').hidden && document.getElementById('eval-start').disabled === false
    && document.querySelector('[data-testid=acc-quant]'), null, { timeout: 120_000 });
  // the disagreements are added a few per frame; the page marks the last one painted
  await page.waitForSelector('[data-testid=disagreements][data-painted=true]');
}

async function saveJson(page, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-json').click()]);
  const path = join(DIR, name);
  await dl.saveAs(path);
  return JSON.parse(readFileSync(path, 'utf8'));
}

async function saveCsv(page, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-csv').click()]);
  const path = join(DIR, name);
  await dl.saveAs(path);
  return readFileSync(path, 'utf8');
}

const AXE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** axe's serious and critical violations in the evaluation card. */
async function audit(page) {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(() => globalThis.axe.run(document.querySelector('section[aria-labelledby=eval-h]'), { resultTypes: ['violations'] }));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id} (${v.nodes.length})`);
}

const thumbs = (page) => page.locator('[data-testid=disagreements] button');

test('a result is marked out of date when the conversion changes (disagreements closed, report says stale) until evaluated again', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  await evaluate(page);
  assert.equal(await page.getByTestId('eval-stale').isVisible(), false);
  assert.ok(await thumbs(page).count() > 0, 'no disagreement listed');
  assert.equal(await thumbs(page).first().isEnabled(), true);
  const fresh = await saveJson(page, 'fresh.json');
  assert.equal(fresh.stale, false);
  assert.equal((await saveCsv(page, 'fresh.csv')).split('\n')[0], 'model,mode,accuracy,correct,test_images,seconds');
  const accBefore = await page.getByTestId('acc-quant').getAttribute('data-value');
  // a language switch sends the models' event too, with the same models: still current
  await page.getByTestId('lang').selectOption('fa');
  assert.equal(await page.getByTestId('eval-stale').isVisible(), false);
  await page.getByTestId('lang').selectOption('en');

  // another conversion: the old numbers stay, marked, and their images no longer open
  await page.getByTestId('quant-mode').selectOption('integer-only-int8');
  await page.getByTestId('eval-stale').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#eval-result').getAttribute('data-stale'), 'true');
  assert.equal(await page.getByTestId('acc-quant').getAttribute('data-value'), accBefore);
  const n = await thumbs(page).count();
  for (let k = 0; k < n; k++) assert.equal(await thumbs(page).nth(k).isDisabled(), true, `disagreement ${k} still enabled`);
  const stale = await saveJson(page, 'stale.json');
  assert.equal(stale.stale, true);
  assert.equal(stale.models[1].mode, 'integer-only-uint8', 'the report is of the models evaluated');
  assert.deepEqual((await saveCsv(page, 'stale.csv')).split('\n').slice(0, 2), ['stale,true', '']);
  await page.locator('#eval-result').screenshot({ path: join(DIR, 'stale.png') });
  // the mark follows the language; the marked result stays readable (contrast) in both
  assert.deepEqual(await audit(page), []);
  await page.getByTestId('lang').selectOption('fa');
  assert.equal(await page.getByTestId('eval-stale').isVisible(), true);
  assert.deepEqual(await audit(page), []);
  await page.getByTestId('lang').selectOption('en');

  // evaluating again: current, the new conversion's numbers
  await evaluate(page);
  assert.equal(await page.getByTestId('eval-stale').isVisible(), false);
  assert.equal(await page.locator('#eval-result').getAttribute('data-stale'), 'false');
  assert.equal(await thumbs(page).first().isEnabled(), true);
  assert.equal((await saveJson(page, 'again.json')).models[1].mode, 'integer-only-int8');

  // the representative samples alone change the model too
  await page.getByTestId('calib-samples').fill('1');
  await page.getByTestId('calib-samples').press('Enter');
  await page.getByTestId('eval-stale').waitFor({ state: 'visible' });
  assert.equal(await thumbs(page).first().isDisabled(), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('each disagreement is a thumbnail of its test image with the true label and what each model predicts when it is opened', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  await evaluate(page);
  await page.waitForSelector('[data-testid=disagreements][data-painted=true]');
  // from the result's arrival to the last thumbnail painted (the page marks both)
  const [t0, t1] = await page.evaluate(() => {
    const m = performance.getEntriesByType('measure');
    const render = m.filter((e) => e.name === 'render evaluation').at(-1);
    const paint = m.filter((e) => e.name === 'paint disagreements').at(-1);
    return [render.startTime, paint.startTime + paint.duration];
  });
  const count = await thumbs(page).count();
  const total = Number((await saveJson(page, 'thumbs.json')).disagreements.length);
  assert.equal(count, Math.min(total, 50));
  if (total > 50) assert.equal(await page.locator('#differ-more').isVisible(), true);
  // every canvas holds its test image, pixel for pixel (the file read here, not the page)
  const painted = await page.$$eval('[data-testid=disagreements] button', (bs) => bs.map((b) => {
    const c = b.querySelector('canvas');
    const data = c.getContext('2d').getImageData(0, 0, 28, 28).data;
    return { index: Number(b.dataset.index), w: c.width, h: c.height, gray: Array.from({ length: 784 }, (_, p) => data[p * 4]) };
  }));
  for (const { index, w, h, gray } of painted) {
    assert.deepEqual([w, h], [28, 28]);
    assert.deepEqual(gray, [...IMAGES.subarray(16 + 784 * index, 16 + 784 * (index + 1))], `image ${index}`);
  }
  // the stated labels are the file's and, for a few, what the page predicts once the image is opened
  const entries = await page.$$eval('[data-testid=disagreements] button', (bs) => bs.map((b) => ({
    index: Number(b.dataset.index), label: b.dataset.label, float: b.dataset.float, quant: b.dataset.quant,
  })));
  // each button's accessible name, as the browser computes it
  for (const [k, e] of entries.entries()) e.name = (await thumbs(page).nth(k).ariaSnapshot()).replace(/^- button "(.*)"$/s, '$1');
  for (const e of entries) {
    assert.equal(Number(e.label), LABELS[8 + e.index], `label of ${e.index}`);
    assert.notEqual(e.float, e.quant, `${e.index} is listed but both models say ${e.float}`);
    // the image's number, then the true label and the two predictions in that order
    assert.match(e.name, new RegExp(`\\b${e.index}\\b\\D+${e.label}\\D+${e.float}\\D+${e.quant}\\D*$`), `"${e.name}"`);
  }
  for (const k of [0, Math.floor(entries.length / 2), entries.length - 1]) {
    const e = entries[k];
    // by keyboard: focus the button, press Enter
    await thumbs(page).nth(k).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction((i) => document.querySelector('[data-testid=test-index]').dataset.index === String(i), e.index);
    assert.equal(await page.getByTestId('pred-float').getAttribute('data-value'), e.float, `float prediction of ${e.index}`);
    assert.equal(await page.getByTestId('pred-quant').getAttribute('data-value'), e.quant, `quantized prediction of ${e.index}`);
    assert.equal(await page.getByTestId('test-label').getAttribute('data-value'), e.label);
  }
  const long = await longTasksSince(page, t0, t1);
  const timeline = await page.evaluate(() => performance.getEntriesByType('measure').map((m) => `${m.name} at ${m.startTime.toFixed(0)} for ${m.duration.toFixed(1)} ms`));
  assert.deepEqual(long, [], `long tasks while the evaluation was shown (from ${t0.toFixed(0)} to ${t1.toFixed(0)}): ${JSON.stringify(long)}; ${timeline.join('; ')}`);
  await page.locator('#eval-result').screenshot({ path: join(RESULTS, 'walkthrough-eval.png') });
  // Persian: the same entries, renamed in Persian digits
  await page.getByTestId('lang').selectOption('fa');
  const fa = await thumbs(page).first().ariaSnapshot();
  assert.notEqual(fa, entries[0].name);
  assert.match(fa, /[۰-۹]/);
  await page.getByTestId('lang').selectOption('en');
  assert.deepEqual(errors, []);
  await page.close();
});

async function train(page, epochs, images) {
  await page.getByTestId('train-epochs').fill(String(epochs));
  await page.getByTestId('train-images').fill(String(images));
  await page.getByTestId('train-start').click();
  await page.waitForFunction(() => /done$/.test(document.querySelector('[data-testid=train-status]').textContent), null, { timeout: 300_000 });
}

test('the training chart fits its loss axis to the losses and titles its axes, in both languages', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  await train(page, 1, 64);
  const chart = page.getByTestId('train-chart');
  await page.waitForFunction(() => document.querySelector('[data-testid=train-chart]').dataset.lossMax);
  const read = () => chart.evaluate((c) => ({ top: Number(c.dataset.lossMax), max: Number(c.dataset.lossDataMax), axes: JSON.parse(c.dataset.axes), name: c.getAttribute('aria-label') }));
  const en = await read();
  assert.ok(en.max > 0, 'no loss drawn');
  // the axis reaches just above the largest loss, not a fixed 0–5
  assert.ok(en.top >= en.max, `axis top ${en.top} below the largest loss ${en.max}`);
  assert.ok(en.top <= en.max * 1.35 + 0.01, `axis top ${en.top} leaves the curve flat (largest loss ${en.max})`);
  if (en.max < 2) assert.ok(en.top < 5);
  // three titled axes; the chart's name gives the loss axis' range
  assert.equal(en.axes.length, 3);
  for (const title of en.axes) assert.ok(title.trim().length > 0);
  assert.notEqual(en.name, 'Loss and accuracy during training');
  // the validation dot of the single epoch is drawn: its colour is on the canvas
  const valSeen = await chart.evaluate((c) => {
    const hex = getComputedStyle(c).getPropertyValue('--val').trim();
    const rgb = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - rgb[0]) < 8 && Math.abs(d[i + 1] - rgb[1]) < 8 && Math.abs(d[i + 2] - rgb[2]) < 8 && d[i + 3] > 200) n++;
    return n;
  });
  assert.ok(valSeen >= 40, `the validation marker is ${valSeen} pixels`);
  await page.getByTestId('lang').selectOption('fa');
  await page.waitForFunction((axes) => document.querySelector('[data-testid=train-chart]').dataset.axes !== axes, JSON.stringify(en.axes));
  const fa = await read();
  assert.notDeepEqual(fa.axes, en.axes);
  assert.equal(fa.top, en.top);
  await page.locator('#chart-box').screenshot({ path: join(DIR, 'chart-fa.png') });
  await page.getByTestId('lang').selectOption('en');
  await page.locator('#chart-box').screenshot({ path: join(DIR, 'chart-en.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the training card says which float model is loaded, and restores the pretrained one after a run', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  const source = page.getByTestId('float-source');
  const restore = page.getByTestId('restore-pretrained');
  const raw = (slot) => page.getByTestId(`raw-${slot}`).getAttribute('data-raw');
  assert.equal(await page.getByTestId('test-index').inputValue(), '0');
  const before = { float: await raw('float'), quant: await raw('quant') };
  assert.equal(await source.getAttribute('data-source'), 'pretrained');
  assert.ok((await source.textContent()).length > 0);
  assert.equal(await restore.isDisabled(), true);
  const pretrainedText = await source.textContent();

  await train(page, 1, 64);
  assert.equal(await source.getAttribute('data-source'), 'trained');
  assert.notEqual(await source.textContent(), pretrainedText);
  assert.match(await source.textContent(), /64/);
  assert.notEqual(await raw('float'), before.float, 'training did not replace the float model');
  assert.equal(await restore.isEnabled(), true);
  // the source line follows the language
  await page.getByTestId('lang').selectOption('fa');
  assert.match(await source.textContent(), /۶۴/);
  await page.getByTestId('lang').selectOption('en');

  // by keyboard: the pretrained model, converted as before, predicts exactly as it did at the start
  await restore.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=float-source]').dataset.source === 'pretrained');
  await page.waitForFunction((f) => document.querySelector('[data-testid=raw-float]').dataset.raw === f, before.float);
  assert.equal(await raw('quant'), before.quant);
  assert.equal(await source.textContent(), pretrainedText);
  assert.equal(await restore.isDisabled(), true);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'float-source');
  // the float model's download is the site's file again
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-float').click()]);
  const path = join(DIR, 'restored-float.tflite');
  await dl.saveAs(path);
  const shipped = await page.evaluate(async () => [...new Uint8Array(await (await fetch('model/mnist_float.tflite')).arrayBuffer())]);
  assert.deepEqual([...readFileSync(path)], shipped);
  assert.deepEqual(errors, []);
  await page.close();
});

test('with more disagreements than shown, the first 50 are thumbnails painted over frames and the rest are counted', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  // a barely trained float model disagrees with its quantized copy on a few hundred images
  await train(page, 1, 64);
  await evaluate(page);
  await page.waitForSelector('[data-testid=disagreements][data-painted=true]');
  const total = (await saveJson(page, 'many.json')).disagreements;
  assert.ok(total.length > 50, `only ${total.length} disagreements`);
  assert.equal(await thumbs(page).count(), 50);
  assert.deepEqual(await page.$$eval('[data-testid=disagreements] button', (bs) => bs.map((b) => Number(b.dataset.index))), total.slice(0, 50).map((d) => d.index));
  assert.equal(await page.locator('#differ-more').isVisible(), true);
  assert.match(await page.locator('#differ-more').textContent(), new RegExp(String(total.length - 50)));
  const last = await thumbs(page).last().evaluate((b) => {
    const d = b.querySelector('canvas').getContext('2d').getImageData(0, 0, 28, 28).data;
    return { index: Number(b.dataset.index), gray: Array.from({ length: 784 }, (_, p) => d[p * 4]) };
  });
  assert.deepEqual(last.gray, [...IMAGES.subarray(16 + 784 * last.index, 16 + 784 * (last.index + 1))]);
  const [t0, t1] = await page.evaluate(() => {
    const m = performance.getEntriesByType('measure');
    const render = m.filter((e) => e.name === 'render evaluation').at(-1);
    const paint = m.filter((e) => e.name === 'paint disagreements').at(-1);
    return [render.startTime, paint.startTime + paint.duration];
  });
  const long = await longTasksSince(page, t0, t1);
  const timeline = await page.evaluate(() => performance.getEntriesByType("measure").map((m) => `${m.name} at ${m.startTime.toFixed(0)} for ${m.duration.toFixed(1)} ms`));
  assert.deepEqual(long, [], `long tasks from the result to the last thumbnail: ${JSON.stringify(long)}; ${timeline.join("; ")}`);
  assert.deepEqual(errors, []);
  await page.close();
});
