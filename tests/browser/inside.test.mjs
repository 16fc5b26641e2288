// The views inside a quantization in Chromium (dist/): the numbers under the quantized panel; the inside
// panel, absent from the first load; its graph, per-layer error, histograms and by-hand views for the
// page's files and TF's uploaded ones, each number against the CLI's JSON for the same files (ptq debug,
// explain, inspect, eval, histograms; keeping a layer in float against ptq convert --deny); keyboard,
// Persian, phone, no long task on the page's thread. Screenshots go to test-results/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, serve, launch, PTQ, MNIST, RESULTS, recordLongTasks, longTasksSince, evaluateTestSet } from './harness.mjs';

const FILES = join(RESULTS, 'inside');
const DIST = join(ROOT, 'dist');
const REFERENCE = join(ROOT, 'tests', 'fixtures', 'reference');
const METRICS = ['num_elements', 'stddev', 'mean_error', 'max_abs_error', 'mean_squared_error', 'range', 'rmse/scale', 'sqnr_db'];

let server;
let browser;
before(async () => {
  mkdirSync(FILES, { recursive: true });
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

/** A `ptq` command's JSON output (every command but inspect reads MNIST). */
const cli = (...args) => JSON.parse(execFileSync(PTQ, [...args, ...(args[0] === 'inspect' ? [] : ['--data', MNIST])],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
const near = (a, b, rel = 1e-9) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

/** Open the page recording its requests and the page thread's long tasks (from `performance.now()` 0). */
async function openPage(url) {
  const page = await browser.context.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
  page.on('worker', (w) => w.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`worker console: ${msg.text()}`);
  }));
  page.on('request', (r) => requests.push(r.url()));
  await recordLongTasks(page);
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return { page, errors, requests };
}

async function selectTestImage(page, i) {
  await page.getByTestId('test-index').fill(String(i));
  await page.getByTestId('test-index').press('Enter');
  await page.waitForFunction((n) => document.querySelector('[data-testid=input-caption]').textContent.startsWith(`Test image ${n},`), i);
}

async function download(page, testid, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = join(FILES, name);
  await dl.saveAs(path);
  return path;
}

/** Open the inside panel and wait for its graph and its first explanation. */
async function openInside(page) {
  await page.getByTestId('inside-open').click();
  await page.waitForSelector('[data-testid=inside-graph] button.op', { timeout: 60_000 });
}

/** Run the per-layer error on `n` images and return both tables' rows: {mode: {op: {metric: value}}}. */
async function pageErrors(page, n) {
  await page.getByTestId('inside-images').fill(String(n));
  await page.getByTestId('inside-errors-run').click();
  await page.waitForSelector('[data-testid=errors-accumulated]', { timeout: 120_000 });
  return page.$$eval('table.errors-table', (tables) => Object.fromEntries(tables.map((tb) => [
    tb.dataset.testid.replace('errors-', ''),
    Object.fromEntries([...tb.querySelectorAll('tbody tr')].map((r) => [r.dataset.op,
      Object.fromEntries([...r.querySelectorAll('td[data-key]')].map((td) => [td.dataset.key, td.dataset.value]))])),
  ])));
}

/** The page's tables against `ptq debug --json` (layer-wise and --accumulated) for the same files. */
function checkErrors(tables, debugArgs, n) {
  for (const [mode, extra] of [['layer-wise', []], ['accumulated', ['--accumulated']]]) {
    const report = cli('debug', ...debugArgs, '--images', String(n), '--json', ...extra);
    const rows = tables[mode];
    assert.deepEqual(Object.keys(rows).map(Number), report.layers.map((l) => l.op_index), mode);
    for (const l of report.layers) {
      for (const k of METRICS) {
        const shown = rows[l.op_index][k];
        if (l[k] === null) assert.equal(shown, 'null', `${mode} ${l.op_name} ${k}`);
        else assert.ok(near(Number(shown), l[k], k === 'sqnr_db' ? 1e-9 : 1e-12), `${mode} ${l.op_name} ${k}: page ${shown}, CLI ${l[k]}`);
      }
    }
  }
}

/** The explanation on the page against `ptq explain --json` for the same element of the same files. */
async function checkExplain(page, quant, float) {
  const what = page.getByTestId('explain-what');
  const [tensor, coords, image] = await Promise.all(['data-tensor', 'data-coords', 'data-image'].map((a) => what.getAttribute(a)));
  const args = ['explain', '--model', quant, '--tensor', tensor, '--index', coords, '--image', image, '--json'];
  const e = cli(...args, ...(float ? ['--float', float] : []));
  const steps = await page.$$eval('[data-testid=explain-steps] tbody tr', (rows) => rows.map((r) => [r.dataset.step, Number(r.dataset.value)]));
  assert.deepEqual(steps, e.steps.map((s) => [s.id, s.real ?? s.value]));
  const value = async (id) => Number(await page.getByTestId(id).getAttribute('data-value'));
  assert.equal(await value('explain-result'), e.result);
  assert.equal(Math.fround(await value('explain-dequantized')), Math.fround(e.dequantized));
  // the interpreter's own output for the element is the same code
  assert.equal(await value('explain-interp'), e.result);
  if (float) assert.equal(Math.fround(await value('explain-float')), Math.fround(e.float_value));
  else assert.equal(await page.getByTestId('explain-float').count(), 0);
  return e;
}

/** Click the element (x, y) of the output map and wait until the explanation is about it. */
async function clickMap(page, x, y, shape) {
  const map = page.getByTestId('explain-map');
  await map.scrollIntoViewIfNeeded();
  const box = await map.boundingBox();
  const [, h, w] = shape;
  await map.click({ position: { x: ((x + 0.5) / w) * box.width, y: ((y + 0.5) / h) * box.height } });
  await page.waitForFunction(([xx, yy]) => {
    const c = document.querySelector('[data-testid=explain-what]')?.dataset.coords?.split(',').map(Number);
    return c && c[1] === yy && c[2] === xx;
  }, [x, y]);
}

test('the quantized panel turns every code back into its real value and explains ties and clipping', async () => {
  const { page, errors } = await openPage(server.url);
  const quant = await download(page, 'download-quant', 'page_quant.tflite');
  // test image 18: digits 3 and 5 share the top code, the model answers the first
  await selectTestImage(page, 18);
  const io = await page.locator('#panel-quant .raw .io').textContent();
  const [, scale, zp] = io.match(/scale ([\d.]+), zero point (-?\d+)/).map(Number);
  assert.match(await page.getByTestId('formula').textContent(), new RegExp(`${scale} × \\(q − ${zp}\\)`));
  const rows = await page.$$eval('[data-testid=numbers-quant] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.dataset.value)));
  const floatRaw = (await page.getByTestId('raw-float').getAttribute('data-raw')).split(',').map(Number);
  const codes = (await page.getByTestId('raw-quant').getAttribute('data-raw')).split(',').map(Number);
  assert.equal(rows.length, 10);
  rows.forEach(([q, real, float], d) => {
    assert.equal(Number(q), codes[d]);
    assert.ok(near(Number(real), scale * (codes[d] - zp), 1e-6), `digit ${d}: ${real}`);
    assert.equal(Number(float), floatRaw[d]);
  });
  const top = Math.max(...codes);
  const tied = codes.flatMap((q, d) => (q === top ? [d] : []));
  assert.deepEqual(tied, [3, 5], 'test image 18 ties digits 3 and 5 with the default model');
  assert.equal(await page.getByTestId('pred-quant').textContent(), '3');
  const tie = await page.getByTestId('note-tie').textContent();
  assert.match(tie, /digits 3 and 5 have the same code 165/);
  assert.match(tie, /answers 3, the first of them/);
  // the probabilities show enough digits to tell the models apart
  const probs = await page.$$eval('[data-testid=numbers-quant] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(-2).map((td) => [Number(td.dataset.value), td.textContent])));
  for (const [[pq, tq], [pf, tf]] of probs) if (pq !== pf) assert.notEqual(tq, tf);
  await page.locator('#panel-quant').screenshot({ path: join(RESULTS, 'inside-numbers-tie.png') });
  // the first test image with a code at an end of uint8 (0 or 255), found with the CLI on the same file
  execFileSync(PTQ, ['predict', '--model', quant, '--raw', join(FILES, 'page_quant.raw'), '--data', MNIST], { stdio: 'ignore' });
  const raw = readFileSync(join(FILES, 'page_quant.raw'));
  const clipped = [...Array(10000).keys()].find((i) => raw.subarray(i * 10, i * 10 + 10).some((v) => v === 0 || v === 255));
  assert.ok(clipped !== undefined);
  await selectTestImage(page, clipped);
  assert.ok(await page.locator('[data-testid=numbers-quant] tr.clipped').count() > 0);
  assert.match(await page.getByTestId('note-clip').textContent(), /end of uint8 \(0 or 255\)/);
  assert.equal(await page.getByTestId('note-tie').count(), 0);
  await page.locator('#panel-quant').screenshot({ path: join(RESULTS, 'inside-numbers-clipped.png') });
  // why the file is not 4× smaller: the three parts add up to the file
  const why = await page.getByTestId('size-why').textContent();
  const kb = [...why.matchAll(/([\d.]+) KB/g)].map((m) => Number(m[1]));
  assert.equal(kb.length, 3, why);
  assert.ok(Math.abs(kb.reduce((a, b) => a + b) - statSync(quant).size / 1024) < 0.2, why);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the inside panel is not part of the first load, which stays within 250 KB gzip; its wasm module comes when it opens', async () => {
  const { page, errors, requests } = await openPage(server.url);
  // the site's files requested so far, as paths in dist/
  const paths = () => requests.filter((u) => u.startsWith(server.url)).map((u) => new URL(u).pathname.slice(1) || 'index.html');
  const local = paths();
  assert.ok(!local.some((p) => p.includes('inside-')), local.join(' '));
  // the worker's evaluation module, not the inside views' one, until the panel opens
  await evaluateTestSet(page);
  const before = paths();
  assert.ok(before.includes('pkg/fast/ptq_playground_bg.wasm'), before.join(' '));
  assert.ok(!before.some((p) => p.startsWith('pkg/inside/')), before.join(' '));
  const counted = local.filter((p) => p === 'index.html' || p.startsWith('www/') || p.startsWith('pkg/'));
  const bytes = counted.reduce((s, p) => s + gzipSync(readFileSync(join(DIST, p)), { level: 9 }).length, 0);
  console.log(`first load: ${counted.length} files, ${(bytes / 1024).toFixed(1)} KB gzip`);
  assert.ok(bytes <= 250 * 1024, `${bytes} bytes`);
  const later = [];
  page.on('request', (r) => later.push(r.url()));
  await openInside(page);
  assert.ok(later.some((u) => u.endsWith('/www/inside-panel.js')));
  assert.ok(later.some((u) => u.endsWith('/pkg/inside/ptq_playground_bg.wasm')), later.join(' '));
  assert.deepEqual(errors, []);
  await page.close();
});

test('the page\'s models: graph, per-layer error and one output by hand agree with the CLI', async () => {
  const { page, errors } = await openPage(server.url);
  const float = await download(page, 'download-float', 'page_float.tflite');
  const quant = await download(page, 'download-quant', 'page_quant.tflite');
  const opened = await page.evaluate(() => performance.now());
  const marks = [];
  const mark = async (m) => marks.push([m, Math.round(await page.evaluate(() => performance.now()))]);
  await openInside(page);
  await mark('open');
  // the graph: one box per operator of the file, with its output's type, shape, scale and zero point
  const inspect = cli('inspect', quant, '--json');
  const sg = inspect.subgraphs[0];
  const boxes = await page.$$eval('[data-testid=inside-graph] button.op', (bs) => bs.map((b) => b.textContent));
  assert.equal(boxes.length, sg.operators.length);
  sg.operators.forEach((o, i) => {
    const out = sg.tensors[o.outputs[0]];
    assert.ok(boxes[i].startsWith(`${i} ${o.name}`), boxes[i]);
    assert.ok(boxes[i].includes(`${out.dtype.toLowerCase()} [${out.shape.join(', ')}]`), boxes[i]);
    assert.ok(boxes[i].includes(`zero point ${out.quantization.zero_point[0]}`), boxes[i]);
  });
  await page.getByTestId('inside-graph').screenshot({ path: join(RESULTS, 'inside-graph.png') });
  // the per-layer error of the two downloaded files, both modes
  const tables = await pageErrors(page, 100);
  await mark('errors');
  checkErrors(tables, ['--in', float, '--quantized', quant], 100);
  await mark('cli');
  await page.getByTestId('inside-errors').screenshot({ path: join(RESULTS, 'inside-errors.png') });
  // one output by hand: the convolution's largest output on test image 0, then a clicked pixel, then the
  // arrow keys
  await page.waitForSelector('[data-testid=explain-steps]');
  assert.equal(await page.getByTestId('explain-image').inputValue(), '0');
  await mark('explain');
  const e = await checkExplain(page, quant, float);
  await mark('explain-cli');
  assert.equal(e.op_name, 'CONV_2D');
  const shape = [1, 26, 26, 12];
  await clickMap(page, 3, 20, shape);
  await mark('click');
  await checkExplain(page, quant, float);
  await page.getByTestId('explain-map').press('ArrowRight');
  await page.waitForFunction(() => document.querySelector('[data-testid=explain-what]').dataset.coords.split(',')[2] === '4');
  await checkExplain(page, quant, float);
  await mark('arrow');
  await page.getByTestId('explain-channel').selectOption('7');
  await page.waitForFunction(() => document.querySelector('[data-testid=explain-what]').dataset.coords.endsWith(',7'));
  await checkExplain(page, quant, float);
  await mark('channel');
  await page.getByTestId('inside-explain').screenshot({ path: join(RESULTS, 'inside-explain-conv.png') });
  await mark('shot');
  // the logits of the fully connected layer, on another test image: a button per value
  await page.getByTestId('explain-image').fill('18');
  await page.getByTestId('explain-image').press('Enter');
  await page.locator('[data-testid=inside-graph] button.op', { hasText: 'FULLY_CONNECTED' }).click();
  await mark('fc');
  await page.getByTestId('explain-pick-5').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=explain-what]')?.dataset.coords === '0,5');
  assert.equal(await page.getByTestId('explain-what').getAttribute('data-image'), '18');
  await checkExplain(page, quant, float);
  await page.getByTestId('inside-explain').screenshot({ path: join(RESULTS, 'inside-explain-logit.png') });
  // the max pool, and a layer that is not worked out by hand
  await page.locator('[data-testid=inside-graph] button.op', { hasText: 'MAX_POOL_2D' }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=explain-what]')?.textContent.startsWith('MAX_POOL_2D'));
  await checkExplain(page, quant, float);
  await page.locator('[data-testid=inside-graph] button.op', { hasText: 'QUANTIZE' }).first().click();
  assert.match(await page.getByTestId('explain-note').textContent(), /QUANTIZE is not worked out by hand/);
  // nothing of this blocked the page's thread for more than 50 ms
  const long = await longTasksSince(page, opened);
  assert.deepEqual(long, [], `steps (ms since load): ${JSON.stringify(marks)}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('keeping a layer in float converts as `ptq convert --deny` does and shows accuracy and size', async () => {
  const { page, errors } = await openPage(server.url);
  const float = await download(page, 'download-float', 'keep_float.tflite');
  const opened = await page.evaluate(() => performance.now());
  await openInside(page);
  await pageErrors(page, 20);
  const conv = await page.locator('[data-testid=inside-graph] button.op', { hasText: 'CONV_2D' }).getAttribute('data-op');
  await page.getByTestId(`keep-${conv}`).check();
  await page.getByTestId('inside-keep-run').click();
  await page.waitForSelector('[data-testid=keep-result]', { timeout: 120_000 });
  // (checked before the download below, which is the browser's work, not the page's)
  assert.deepEqual(await longTasksSince(page, opened), []);
  const cells = await page.$$eval('[data-testid=keep-result] tbody tr', (rows) => Object.fromEntries(rows.map((r) => [r.dataset.slot,
    [...r.querySelectorAll('td')].map((td) => Number(td.dataset.value))])));
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download this file' }).click()]);
  const selective = join(FILES, 'keep_selective.tflite');
  await dl.saveAs(selective);
  // the CLI's command for the same list, as the page spells it
  const line = await page.locator('#inside-errors p', { hasText: 'ptq convert' }).textContent();
  const name = line.match(/--deny '([^']+)'/)[1];
  const cliSelective = join(FILES, 'cli_selective.tflite');
  const cliAll = join(FILES, 'cli_fullint.tflite');
  execFileSync(PTQ, ['convert', '--in', float, '--mode', 'full-integer', '--deny', name, '--out', cliSelective, '--data', MNIST], { stdio: 'ignore' });
  execFileSync(PTQ, ['convert', '--in', float, '--mode', 'full-integer', '--out', cliAll, '--data', MNIST], { stdio: 'ignore' });
  assert.ok(readFileSync(selective).equals(readFileSync(cliSelective)), 'the page kept the layer differently from ptq convert --deny');
  assert.equal(cells.selective[0], statSync(cliSelective).size);
  assert.equal(cells['all-int8'][0], statSync(cliAll).size);
  assert.equal(cells.float[0], statSync(float).size);
  for (const [slot, path] of [['selective', cliSelective], ['all-int8', cliAll], ['float', float]]) {
    assert.equal(cells[slot][1], cli('eval', '--model', path, '--json').accuracy, slot);
  }
  const ops = cli('inspect', cliSelective, '--json').subgraphs[0].operators.map((o) => o.name);
  assert.ok(ops.includes('DEQUANTIZE'), ops.join(' '));
  await page.getByTestId('inside-errors').screenshot({ path: join(RESULTS, 'inside-keep-float.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('uploaded TensorFlow files: the graph alone, then with its float model, agree with the CLI', async () => {
  const { page, errors } = await openPage(server.url);
  const quant = join(REFERENCE, 'mnist_intonly_uint8.tflite');
  const float = join(REFERENCE, 'mnist_float.tflite');
  await page.getByTestId('upload').setInputFiles(quant);
  await page.waitForSelector('#upload-report:not([hidden])');
  await openInside(page);
  await page.getByTestId('inside-source-upload').check();
  await page.waitForFunction(() => document.querySelector('[data-testid=inside-pair]').textContent.includes('without its float model'));
  await page.waitForSelector('[data-testid=explain-steps]', { timeout: 60_000 });
  const boxes = await page.locator('[data-testid=inside-graph] button.op').count();
  assert.equal(boxes, cli('inspect', quant, '--json').subgraphs[0].operators.length);
  assert.match(await page.getByTestId('inside-errors').textContent(), /needs the float model/);
  await checkExplain(page, quant, null);
  await page.locator('#inside').screenshot({ path: join(RESULTS, 'inside-upload-alone.png') });
  // with the float model it was converted from: the errors and the float values
  await page.getByTestId('inside-twin').setInputFiles(float);
  await page.waitForFunction(() => document.querySelector('[data-testid=inside-pair]').textContent.includes('compared with mnist_float.tflite'));
  checkErrors(await pageErrors(page, 50), ['--in', float, '--quantized', quant], 50);
  await page.waitForSelector('[data-testid=explain-float]');
  await checkExplain(page, quant, float);
  // the file's own grids (it cannot be calibrated again here), on the first 100 representative images
  await page.waitForSelector('[data-testid=hist-activations]', { timeout: 60_000 });
  assert.equal(await page.getByTestId('hist-method').isDisabled(), true);
  const tf = cli('histograms', '--in', float, '--quantized', quant, '--calibration-samples', '100', '--json');
  const conv = Number(await page.locator('[data-testid=inside-graph] button.op[aria-pressed=true]').getAttribute('data-op'));
  checkHistogram(await pageHistogram(page, 'activations'), tf.activations.find((h) => h.op_index === conv), 'TF file, conv activations');
  checkHistogram(await pageHistogram(page, 'weights'), tf.weights.find((h) => h.op_index === conv && h.channel === 0), 'TF file, conv weights');
  await page.locator('[data-testid=inside-graph] button.op', { hasText: 'FULLY_CONNECTED' }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=explain-what]')?.textContent.startsWith('FULLY_CONNECTED'));
  await checkExplain(page, quant, float);
  await page.locator('#inside').screenshot({ path: join(RESULTS, 'inside-upload-twin.png'), fullPage: false });
  // an uploaded float file is converted in the worker with the page's settings, as `ptq debug` converts it
  await page.getByTestId('upload').setInputFiles(float);
  await page.waitForFunction(() => document.querySelector('[data-testid=inside-pair]').textContent.includes('is a float model'));
  await page.waitForSelector('[data-testid=inside-graph] button.op');
  checkErrors(await pageErrors(page, 30), ['--in', float, '--mode', 'integer-only', '--io', 'uint8'], 30);
  assert.deepEqual(errors, []);
  await page.close();
});

/** A histogram view's numbers, as the page shows them (`key`: weights or activations). */
async function pageHistogram(page, key) {
  const box = page.getByTestId(`hist-${key}`);
  const attr = async (a) => box.getAttribute(a);
  const counts = async (which) => (await page.getByTestId(`hist-${key}-${which}`).getAttribute('data-counts')).split(',').map(Number);
  return {
    scale: Number(await attr('data-scale')), zp: Number(await attr('data-zp')),
    realMin: Number(await attr('data-real-min')), realMax: Number(await attr('data-real-max')),
    count: Number(await attr('data-count')), clipped: (await attr('data-clipped')).split(',').map(Number),
    values: await counts('values'), error: await counts('error'),
  };
}

/** The page's histogram against the CLI's for the same tensor. */
function checkHistogram(shown, cli, what) {
  assert.deepEqual(shown, {
    scale: Math.fround(cli.grid.scale), zp: cli.grid.zero_point, realMin: cli.grid.real_min, realMax: cli.grid.real_max,
    count: cli.count, clipped: [cli.clipped_below, cli.clipped_above], values: cli.values.counts, error: cli.rounding_error.counts,
  }, what);
}

/** Wait until the histograms are the ones for `n` images (and not being computed). */
async function histogramsFor(page, n) {
  await page.waitForFunction((k) => {
    const s = document.querySelector('[data-testid=hist-status]')?.textContent ?? '';
    return s.includes(` ${k.toLocaleString('en-US')} representative`);
  }, n, { timeout: 120_000 });
}

test('histograms on the integer grid agree with `ptq histograms`, and the range follows the images and the method', async () => {
  const { page, errors } = await openPage(server.url);
  const float = await download(page, 'download-float', 'hist_float.tflite');
  const quant = await download(page, 'download-quant', 'hist_quant.tflite');
  const opened = await page.evaluate(() => performance.now());
  await openInside(page);
  await page.waitForSelector('[data-testid=hist-activations]', { timeout: 60_000 });
  const conv = Number(await page.locator('[data-testid=inside-graph] button.op[aria-pressed=true]').getAttribute('data-op'));
  const fc = Number(await page.locator('[data-testid=inside-graph] button.op', { hasText: 'FULLY_CONNECTED' }).getAttribute('data-op'));
  // the quantized model's own grids, activations on the 100 images it was calibrated on
  const histograms = (...extra) => cli('histograms', '--in', float, ...extra, '--json');
  const own = histograms('--quantized', quant, '--calibration-samples', '100');
  const weightOf = (r, op, c) => r.weights.find((h) => h.op_index === op && h.channel === c);
  const actOf = (r, op) => r.activations.find((h) => h.op_index === op);
  checkHistogram(await pageHistogram(page, 'weights'), weightOf(own, conv, 0), 'conv weights, channel 0');
  checkHistogram(await pageHistogram(page, 'activations'), actOf(own, conv), 'conv activations');
  await page.getByTestId('hist-channel').selectOption('5');
  await page.waitForFunction(() => document.querySelector('[data-testid=hist-channel]').value === '5');
  checkHistogram(await pageHistogram(page, 'weights'), weightOf(own, conv, 5), 'conv weights, channel 5');
  // a bin says what it holds: focus the chart and move with the arrow keys
  const counts = (await pageHistogram(page, 'activations')).values;
  await page.getByTestId('hist-activations-values').focus();
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  const info = await page.getByTestId('hist-activations-values-info').textContent();
  assert.match(info, new RegExp(`: ${counts[2].toLocaleString('en-US')} values`), info);
  await page.getByTestId('inside-hist').screenshot({ path: join(RESULTS, 'inside-histograms.png') });
  // more images: calibrated again on them, as ptq histograms converts
  await page.getByTestId('hist-samples').fill('300');
  await histogramsFor(page, 300);
  const more = histograms('--mode', 'integer-only', '--io', 'uint8', '--calibration-samples', '300');
  checkHistogram(await pageHistogram(page, 'activations'), actOf(more, conv), 'conv activations, 300 images');
  await page.locator('[data-testid=inside-graph] button.op', { hasText: 'FULLY_CONNECTED' }).click();
  await page.waitForFunction(() => document.querySelector('#inside-hist h4:last-of-type')?.textContent.includes('FULLY_CONNECTED'));
  const fcShown = await pageHistogram(page, 'activations');
  checkHistogram(fcShown, actOf(more, fc), 'dense activations, 300 images');
  assert.notEqual(fcShown.realMax, actOf(own, fc).grid.real_max, 'the range did not move with the images');
  // another method: a percentile range clips the extremes
  await page.getByTestId('hist-method').selectOption('percentile');
  await page.waitForFunction(() => document.querySelector('[data-testid=hist-status]').textContent.includes('percentile'), null, { timeout: 120_000 });
  const cut = histograms('--mode', 'integer-only', '--io', 'uint8', '--calibration-samples', '300', '--calibration', 'percentile');
  const cutShown = await pageHistogram(page, 'activations');
  checkHistogram(cutShown, actOf(cut, fc), 'dense activations, percentile');
  assert.ok(cut.activations.some((h) => h.clipped_below + h.clipped_above > 0));
  await page.getByTestId('inside-hist').screenshot({ path: join(RESULTS, 'inside-histograms-percentile.png') });
  assert.deepEqual(await longTasksSince(page, opened), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('in Persian, with the keyboard only, and on a phone', async () => {
  const { page, errors } = await openPage(`${server.url}?lang=fa`);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByTestId('inside-open').focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid=explain-steps]', { timeout: 60_000 });
  assert.equal(await page.locator('#inside-explain h3').textContent(), 'یک خروجی، محاسبه با دست');
  // the graph in reading order: right to left, so ArrowLeft goes to the next operator
  await page.locator('[data-testid=inside-graph] button.op').first().focus();
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.op), '1');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Enter');
  // (in Persian the operator's Latin name sits in a left-to-right isolate, U+2066 … U+2069)
  await page.waitForFunction(() => document.querySelector('[data-testid=explain-what]')?.textContent.replace(/^\u2066/, '').startsWith('CONV_2D'));
  assert.equal(await page.locator('[data-testid=inside-graph] button.op[aria-pressed=true]').getAttribute('data-op'), '2');
  // the error table from the keyboard
  await page.getByTestId('inside-images').focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('10');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid=errors-accumulated]', { timeout: 60_000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the phone layout scrolls sideways by ${overflow}px`);
  await page.locator('#inside').screenshot({ path: join(RESULTS, 'inside-fa-phone.png') });
  await page.locator('#panel-quant').screenshot({ path: join(RESULTS, 'inside-numbers-fa-phone.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
