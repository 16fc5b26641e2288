// The TensorFlow code view in Chromium (dist/): for each conversion TF's converter makes, the program
// shown is www/tf-code.js's for the form's settings and the file the page saves (the program
// tests/tf_code/check_tf_code.py ran with TensorFlow); the copy button puts it on the clipboard; settings
// TF's converter does not mirror are named; in Persian the texts are Persian and the code stays as is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, servedBrowser } from './harness.mjs';
import { tfCode } from '../../www/tf-code.js';

const site = servedBrowser({ dirs: [] });

async function openOptions(url) {
  const opened = await open(site.browser.context, url);
  await opened.page.getByTestId('options-open').click();
  await opened.page.waitForSelector('body[data-options="ready"]');
  await opened.page.locator('[data-testid=tf-box] summary').click();
  return opened;
}

/** Choose the mode, wait for its file, and read the form's settings, the file's name and the code. */
async function shown(page, mode) {
  await page.getByTestId('quant-mode').selectOption(mode);
  await page.waitForFunction((m) => document.getElementById('download-quant').download.startsWith(
    { float: 'mnist_float', 'dynamic-range': 'mnist_dynamic', 'full-integer': 'mnist_fullint', 'integer-only-uint8': 'mnist_intonly_uint8',
      'integer-only-int8': 'mnist_intonly_int8', float16: 'mnist_float16' }[m]), mode, { timeout: 60_000 });
  return page.evaluate(() => ({
    samples: Number(document.getElementById('calib-samples').value),
    method: document.getElementById('opt-method').value,
    set: document.getElementById('opt-set').value,
    perTensor: document.getElementById('opt-per-tensor').checked,
    static: document.getElementById('opt-static').checked,
    code: document.querySelector('[data-testid=tf-code]').textContent,
    differs: document.querySelector('[data-testid=tf-differs]').hidden ? '' : document.querySelector('[data-testid=tf-differs]').textContent,
  }));
}

const expected = (mode, f, file) => {
  const c = tfCode({ mode, samples: f.samples, method: f.method, set: f.set, per_tensor: f.perTensor, static_shapes: f.static }, file);
  return `${c.model}\n${c.convert}\n${c.run}`;
};

test('the code shown is the generator\'s for every conversion TF makes, and the copy button copies it', async () => {
  await site.browser.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const { page, errors } = await openOptions(site.server.url);
  for (const [mode, file] of [['float', 'mnist_float.tflite'], ['dynamic-range', 'mnist_dynamic.tflite'],
    ['full-integer', 'mnist_fullint_floatio.tflite'], ['integer-only-uint8', 'mnist_intonly_uint8.tflite'],
    ['integer-only-int8', 'mnist_intonly_int8.tflite'], ['float16', 'mnist_float16.tflite']]) {
    const f = await shown(page, mode);
    assert.equal(f.code, expected(mode, f, file), mode);
    assert.equal(f.differs, '', mode);
  }
  // the representative images' number goes into the code
  await shown(page, 'integer-only-uint8');
  await page.getByTestId('calib-samples').fill('7');
  await page.getByTestId('calib-samples').dispatchEvent('change');
  await page.waitForFunction(() => document.querySelector('[data-testid=tf-code]').textContent.includes('train_images[:7]'));
  await page.getByTestId('tf-copy').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('tf-copied').textContent !== '');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, await page.getByTestId('tf-code').textContent());
  // a calibration method TF does not have is named
  await page.getByTestId('opt-method').selectOption('percentile');
  await page.waitForFunction(() => !document.querySelector('[data-testid=tf-differs]').hidden);
  assert.ok((await page.getByTestId('tf-code').textContent()).includes('converter.representative_dataset'));
  assert.deepEqual(errors, []);
  await page.close();
});

test('in Persian the view\'s texts are Persian and the code is the same program', async () => {
  const { page, errors } = await openOptions(`${site.server.url}?lang=fa`);
  const f = await shown(page, 'integer-only-int8');
  assert.equal(f.code, expected('integer-only-int8', f, 'mnist_intonly_int8.tflite'));
  assert.match(await page.locator('[data-testid=tf-box] summary').textContent(), /کد/);
  assert.match(await page.getByTestId('tf-copy').textContent(), /[\u0600-\u06ff]/);
  assert.equal(await page.getByTestId('tf-code').evaluate((c) => getComputedStyle(c).direction), 'ltr');
  assert.deepEqual(errors, []);
  await page.close();
});
