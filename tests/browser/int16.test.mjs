// The 16x8 conversions in Chromium (dist/): int16 activations with int8 weights, float or int16 input and
// output. The page's own module leaves this conversion to the worker's, so the quantization card says
// so while it runs; the file the page then offers is byte for byte what `ptq convert --mode int16x8`
// writes (LiteRT's reference kernels run that file in CI: tests/litert/variants_check.py); the
// quantized panel predicts with it; a link with the mode opens it; the texts exist in Persian.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { open, servedBrowser, PTQ, MNIST, RESULTS } from './harness.mjs';

const DIR = join(RESULTS, 'int16');
const site = servedBrowser({ dirs: [DIR] });

async function download(page, testid, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = join(DIR, name);
  await dl.saveAs(path);
  return { path, suggested: dl.suggestedFilename() };
}

const shown = (page, file) => page.waitForFunction((f) => document.getElementById('download-quant').download === f, file, { timeout: 60_000 });

test('16x8 with float and int16 I/O: converted by the worker, the CLI’s bytes, predicting on the page', async () => {
  mkdirSync(DIR, { recursive: true });
  const { page, errors } = await open(site.browser.context, `${site.server.url}?lang=en`);
  const float = (await download(page, 'download-float', 'float.tflite')).path;
  for (const [mode, io, file] of [['int16x8', 'float', 'mnist_int16x8.tflite'], ['int16x8-int16io', 'int16', 'mnist_int16x8_int16io.tflite']]) {
    await page.getByTestId('quant-mode').selectOption(mode);
    await shown(page, file);
    const got = await download(page, 'download-quant', `page_${mode}.tflite`);
    assert.equal(got.suggested, file);
    const cli = join(DIR, `cli_${mode}.tflite`);
    execFileSync(PTQ, ['convert', '--in', float, '--mode', 'int16x8', '--io', io, '--out', cli, '--data', MNIST], { stdio: 'ignore' });
    assert.ok(readFileSync(got.path).equals(readFileSync(cli)), `${mode}: the page and ptq convert wrote different bytes`);
    // the quantized panel predicts test image 0 (a 7) with the 16x8 model: its raw output is int16
    // codes for int16 output, floats otherwise
    await page.waitForFunction(() => /16x8/.test(document.getElementById('panel-quant-h').textContent)
      && document.querySelector('[data-testid=pred-quant]').dataset.value === '7');
    const raw = await page.locator('#panel-quant .raw .io').textContent();
    assert.equal(raw.includes('int16'), io === 'int16', raw);
    const table = await page.locator('#io-table').textContent();
    assert.equal(table.includes('int16'), io === 'int16', table);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('a link with the 16x8 mode opens it, in Persian too', async () => {
  const { page, errors } = await open(site.browser.context, `${site.server.url}?lang=fa&mode=int16x8-int16io&samples=20`);
  await shown(page, 'mnist_int16x8_int16io.tflite');
  const option = await page.locator('#quant-mode option[value=int16x8-int16io]').textContent();
  assert.match(option, /^کوانتیزهٔ \u2066?16x8/); // (Latin runs sit in left-to-right isolates)
  await page.waitForFunction(() => document.querySelector('[data-testid=pred-quant]').dataset.value === '7');
  await page.screenshot({ path: join(DIR, 'int16-fa.png'), fullPage: false });
  assert.deepEqual(errors, []);
  await page.close();
});
