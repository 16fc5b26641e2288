// The conversion settings beside the mode: every calibration set (first, random, digit, blank, noise),
// method and switch downloads the bytes `ptq convert` writes with the same flags, through links the
// student clicks (the Quantization card's and the one in the status line once the worker is done), under
// a name that says its settings; the strip shows the images the calibration used; settings a conversion
// ignores are disabled with the reason; every text exists in Persian; and nothing of it blocks the page's
// thread for more than 50 ms. Screenshots go to test-results/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serve, launch, open, PTQ, MNIST, RESULTS, recordLongTasks, longTasksSince } from './harness.mjs';

const DIR = join(RESULTS, 'options');

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

/** Click a download link; the saved file's path and the name the page suggested. */
async function download(page, testid, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = join(DIR, name);
  await dl.saveAs(path);
  return { path, suggested: dl.suggestedFilename() };
}

/** Open the page (recording the page thread's long tasks) and the panel beside the mode. */
async function openOptions() {
  const opened = await open(browser.context, server.url);
  await opened.page.getByTestId('options-open').click();
  await opened.page.waitForSelector('body[data-options="ready"]');
  return opened;
}

/** Set the form, then wait until the quantized panel shows that conversion (its `ptq convert` command). */
async function convert(page, { mode, method = 'minmax', set = 'first', digit, perTensor = false, staticShapes = false, samples = 100 }) {
  await page.getByTestId('quant-mode').selectOption(mode);
  // (the field is off for conversions that do not calibrate)
  if (!(await page.getByTestId('calib-samples').isDisabled())) {
    await page.getByTestId('calib-samples').fill(String(samples));
    await page.getByTestId('calib-samples').dispatchEvent('change');
  }
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
  await page.waitForFunction((c) => document.getElementById('options-body').dataset.converted === c, cmd, { timeout: 180_000 });
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

/** The conversions that calibrate on representative images. */
const calibrating = (mode) => mode === 'full-integer' || mode.startsWith('integer-only') || mode.startsWith('int16x8');

const CASES = [
  { mode: 'float16', file: 'mnist_float16.tflite' },
  { mode: 'integer-only-int8', method: 'percentile', file: 'mnist_intonly_int8_percentile.tflite' },
  { mode: 'full-integer', set: 'random', samples: 60, file: 'mnist_fullint_floatio_random.tflite' },
  { mode: 'integer-only-uint8', set: 'digit', digit: 3, method: 'entropy', samples: 50, file: 'mnist_intonly_uint8_entropy_digit3.tflite' },
  { mode: 'integer-only-int8', set: 'blank', method: 'mse', perTensor: true, samples: 10, file: 'mnist_intonly_int8_mse_blank_pertensor.tflite' },
  { mode: 'full-integer', set: 'noise', staticShapes: true, samples: 30, file: 'mnist_fullint_floatio_noise_static.tflite' },
  { mode: 'float16', staticShapes: true, file: 'mnist_float16_static.tflite' },
  { mode: 'dynamic-range', file: 'mnist_dynamic.tflite' },
  { mode: 'int16x8', method: 'entropy', samples: 40, file: 'mnist_int16x8_entropy.tflite' },
  { mode: 'int16x8-int16io', perTensor: true, file: 'mnist_int16x8_int16io_pertensor.tflite' },
];

test('every calibration set, method and switch downloads the bytes `ptq convert` writes, from links the student clicks', async () => {
  const { page, errors } = await openOptions();
  const float = (await download(page, 'download-float', 'float.tflite')).path;
  for (const [i, c] of CASES.entries()) {
    const cmd = await convert(page, c);
    // the link says the file's name and size; the file is the CLI's
    const link = await page.getByTestId('download-quant').textContent();
    const got = await download(page, 'download-quant', `page_${i}.tflite`);
    const bytes = readFileSync(got.path);
    assert.equal(got.suggested, c.file, cmd);
    assert.ok(link.includes(c.file) && /\d KB\)$/.test(link), link);
    assert.ok(cliBytes(cmd, float, `cli_${i}.tflite`).equals(bytes), `${cmd}: the page and ptq convert wrote different bytes`);
    // the worker's conversion also puts its link in the status line, beside the settings
    const again = await download(page, 'opt-download', `status_${i}.tflite`);
    assert.equal(again.suggested, c.file);
    assert.ok(readFileSync(again.path).equals(bytes));
    // the strip shows the images the calibration used (at most 48 drawn), and says which set
    const calibrated = calibrating(c.mode);
    assert.equal(Number(await page.getByTestId('opt-strip').getAttribute('data-count')), calibrated ? Math.min(48, c.samples ?? 100) : 0, cmd);
    if (c.set === 'digit') assert.match(await page.locator('#opt-strip-caption').textContent(), /images of the digit 3/);
  }
  await page.screenshot({ path: join(RESULTS, 'options-settings.png'), fullPage: false });
  // the blank set's strip: black images only
  await convert(page, CASES[4]);
  const strip = await page.getByTestId('opt-strip').evaluate((c) => ({ count: c.dataset.count, ink: c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 !== 3 && v) }));
  assert.deepEqual(strip, { count: '10', ink: false });
  assert.deepEqual(errors, []);
  await page.close();
});

test('converting in the worker, training set download included, keeps the page\'s thread free', async () => {
  const { page, errors } = await openOptions();
  const opened = await page.evaluate(() => performance.now());
  await convert(page, { mode: 'integer-only-int8', set: 'digit', digit: 7, method: 'entropy', samples: 200 });
  await convert(page, { mode: 'integer-only-uint8', method: 'percentile', staticShapes: true, samples: 1000 });
  await convert(page, { mode: 'integer-only-uint8' });
  assert.deepEqual(await longTasksSince(page, opened), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('settings a conversion ignores are disabled with the reason, in English and Persian', async () => {
  const { page, errors } = await openOptions();
  const modes = await page.$$eval('#quant-mode option', (os) => os.map((o) => o.value));
  for (const mode of modes) {
    await page.getByTestId('quant-mode').selectOption(mode);
    const calibrates = calibrating(mode);
    for (const id of ['opt-method', 'opt-set', 'opt-per-tensor']) assert.equal(await page.getByTestId(id).isDisabled(), !calibrates, `${mode} ${id}`);
    assert.equal(await page.getByTestId('opt-off').isVisible(), !calibrates, mode);
    assert.ok(await page.getByTestId('opt-static').isEnabled());
    assert.ok((await page.getByTestId('opt-mode-why').textContent()).length > 30, mode);
  }
  // a checked per-tensor box does not reach a conversion that takes no per-tensor weights
  await page.getByTestId('quant-mode').selectOption('full-integer');
  await page.getByTestId('opt-per-tensor').check();
  await page.getByTestId('quant-mode').selectOption('float16');
  await page.waitForFunction(() => document.getElementById('options-body').dataset.converted?.includes('float16'));
  assert.equal(await page.getByTestId('error').first().isVisible(), false);
  assert.match(await page.getByTestId('opt-off').textContent(), /Float16 weights/);
  await page.getByTestId('lang').selectOption('fa');
  assert.equal(await page.locator('html').getAttribute('dir'), 'rtl');
  for (const sel of ['#opt-method-why', '#opt-mode-why', '[data-testid=opt-off]', '#opt-cli', '#opt-strip-caption']) {
    assert.match(await page.locator(sel).textContent(), /[\u0600-\u06FF]/, sel);
  }
  await page.locator('#options-body').screenshot({ path: join(RESULTS, 'options-fa.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
