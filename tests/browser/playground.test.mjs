// The playground in real Chromium: load, draw, test images, Persian, downloads checked by our
// reader, `ptq convert` and LiteRT. Runs against the built site (dist/, `npm run build`) served on
// localhost. Artifacts (screenshots, downloaded files) go to test-results/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, serve, launch, open, PTQ, MNIST, RESULTS } from './harness.mjs';

const DOWNLOADS = join(RESULTS, 'downloads');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');

let server;
let browser;
before(async () => {
  mkdirSync(DOWNLOADS, { recursive: true });
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

const text = (page, id) => page.getByTestId(id).textContent();

/** Draw a polyline with real mouse input (pointerdown, pointermoves, pointerup) in canvas fractions. */
async function drawStroke(page, points) {
  const box = await page.getByTestId('draw-canvas').boundingBox();
  const at = ([fx, fy]) => [box.x + fx * box.width, box.y + fy * box.height];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 12 });
  await page.mouse.up();
}

test('a browser without DecompressionStream is told which file it cannot read (the wasm builds read plain IDX only)', async () => {
  const page = await browser.context.newPage();
  await page.addInitScript(() => {
    delete globalThis.DecompressionStream;
  });
  await page.goto(server.url);
  const error = page.locator('#load-error');
  await error.waitFor({ state: 'visible', timeout: 60_000 });
  assert.match(await error.textContent(), /^The page could not start: \/data\/(t10k|train-1000)-(images-idx3|labels-idx1)-ubyte\.gz: this browser cannot decompress gzip \(no DecompressionStream\)$/);
  assert.notEqual(await page.evaluate(() => document.body.dataset.ready), 'true', 'the page does not say it is ready');
  await page.close();
});

test('the page loads with no console errors and both models ready', async () => {
  const { page, errors } = await open(browser.context, server.url);
  assert.equal(await page.locator('body').getAttribute('data-ready'), 'true');
  assert.match(await text(page, 'pred-float'), /^\d$/);
  assert.match(await text(page, 'pred-quant'), /^\d$/);
  assert.equal(await page.locator('#panel-quant-h').textContent(), 'Integer only, uint8 input/output model');
  assert.equal(await page.getByTestId('download-quant').isEnabled(), true);
  await page.screenshot({ path: join(RESULTS, 'playground.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(RESULTS, 'playground-phone.png'), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the phone layout scrolls sideways by ${overflow}px`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a vertical stroke drawn with the pointer is a 1 in both panels', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await drawStroke(page, [[0.5, 0.15], [0.5, 0.5], [0.5, 0.85]]);
  await page.waitForFunction(() => document.querySelector('[data-testid=input-caption]').textContent === 'Your drawing');
  await page.waitForFunction(() => document.querySelector('[data-testid=pred-quant]').textContent === '1', null, { timeout: 5000 });
  assert.equal(await text(page, 'pred-float'), '1');
  assert.equal(await text(page, 'pred-quant'), '1');
  // what the models see: a narrow vertical bar centred in 28×28
  const ink = await page.evaluate(() => {
    const d = document.getElementById('input28').getContext('2d').getImageData(0, 0, 28, 28).data;
    const xs = [];
    for (let i = 0; i < 784; i++) if (d[i * 4] > 0) xs.push(i % 28);
    return { min: Math.min(...xs), max: Math.max(...xs) };
  });
  assert.ok(ink.min >= 10 && ink.max <= 17, JSON.stringify(ink));
  const times = await page.evaluate(() => globalThis.ptqPlayground.stats.inference.length);
  assert.ok(times > 0, 'predictions ran while drawing');
  await page.getByTestId('clear').click();
  assert.equal(await text(page, 'pred-float'), '–');
  assert.deepEqual(errors, []);
  await page.close();
});

test('test image 1 shows label 2 and both models predict 2', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.getByTestId('test-index').fill('1');
  await page.getByTestId('test-index').press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=test-label]').textContent === '2');
  assert.equal(await text(page, 'input-caption'), 'Test image 1, label 2');
  assert.equal(await text(page, 'pred-float'), '2');
  assert.equal(await text(page, 'pred-quant'), '2');
  // keyboard: the next button, then an out-of-range index gives a message beside the input
  await page.locator('#test-next').focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.getByTestId('test-index').inputValue(), '2');
  await page.getByTestId('test-index').fill('10000');
  await page.getByTestId('test-index').press('Enter');
  assert.match(await page.locator('#test-error').textContent(), /0 to 9,999/);
  assert.equal(await text(page, 'input-caption'), 'Test image 2, label 1', 'the previous input stays');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the Persian switch flips the layout to right-to-left', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.getByTestId('lang').selectOption('fa');
  assert.equal(await page.locator('html').getAttribute('dir'), 'rtl');
  assert.equal(await page.locator('html').getAttribute('lang'), 'fa');
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).direction), 'rtl');
  assert.match(await page.locator('h1').textContent(), /[\u0600-\u06FF]/);
  // the drawing canvas now sits at the right of its card; digits are Persian
  const [canvas, card] = await Promise.all([page.getByTestId('draw-canvas').boundingBox(), page.locator('section.input').boundingBox()]);
  assert.ok(canvas.x + canvas.width > card.x + card.width * 0.6, `canvas at ${canvas.x}`);
  assert.match(await text(page, 'pred-float'), /^[۰-۹]$/);
  await page.screenshot({ path: join(RESULTS, 'playground-fa.png'), fullPage: true });
  // the choice is remembered; English comes back left-to-right
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.locator('html').getAttribute('dir'), 'rtl');
  await page.getByTestId('lang').selectOption('en');
  assert.equal(await page.locator('html').getAttribute('dir'), 'ltr');
  assert.deepEqual(errors, []);
  await page.close();
});

test('dist/ works from a sub-path of a plain file server (python3 -m http.server)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ptq-site-'));
  mkdirSync(join(root, 'some', 'where'), { recursive: true });
  symlinkSync(join(ROOT, 'dist'), join(root, 'some', 'where', 'playground'));
  const py = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', root], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const url = await new Promise((res, rej) => {
      py.stdout.on('data', (d) => {
        const m = /port (\d+)/.exec(String(d));
        if (m) res(`http://127.0.0.1:${m[1]}/some/where/playground/`);
      });
      py.on('exit', (code) => rej(new Error(`http.server exited with ${code}`)));
    });
    const { page, errors } = await open(browser.context, url);
    assert.match(await text(page, 'pred-quant'), /^\d$/);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    py.kill();
    rmSync(root, { recursive: true, force: true });
  }
});

/** Click a download button and save the file under test-results/downloads; returns its path. */
async function download(page, testid, dir = DOWNLOADS) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = join(dir, dl.suggestedFilename());
  await dl.saveAs(path);
  return path;
}

test('the downloaded uint8 model is what `ptq convert` makes, and LiteRT and our interpreter agree on it', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.getByTestId('test-index').fill('1');
  await page.getByTestId('test-index').press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=test-label]').textContent === '2');
  const pageRaw = await page.getByTestId('raw-quant').getAttribute('data-raw');
  const floatPath = await download(page, 'download-float');
  const quantPath = await download(page, 'download-quant');
  assert.match(floatPath, /mnist_float\.tflite$/);
  assert.match(quantPath, /mnist_intonly_uint8\.tflite$/);
  assert.deepEqual(errors, []);
  await page.close();

  // our reader
  const report = JSON.parse(execFileSync(PTQ, ['inspect', quantPath, '--json'], { encoding: 'utf8' }));
  assert.deepEqual([report.input_types, report.output_types], [['UINT8'], ['UINT8']]);
  // the same bytes as the CLI's conversion of the same float weights
  const cli = join(DOWNLOADS, 'cli_intonly_uint8.tflite');
  execFileSync(PTQ, ['convert', '--in', floatPath, '--mode', 'integer-only', '--out', cli, '--data', MNIST], { stdio: 'ignore' });
  assert.ok(readFileSync(cli).equals(readFileSync(quantPath)), 'the page and `ptq convert` wrote different bytes');
  // LiteRT: uint8 I/O with scale 1/255, raw outputs identical to ours on all test images and to the page's
  execFileSync(PYTHON, [join(ROOT, 'tests', 'browser', 'litert_check.py'), PTQ, MNIST, quantPath, floatPath,
    '--page-raw', `mnist_intonly_uint8.tflite:1=${pageRaw}`], { stdio: 'inherit' });
});
