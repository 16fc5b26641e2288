// Links that reopen a state, in Chromium (dist/): language, conversion, representative images and test
// image come from the address; every change the student makes is a history entry, Back and Forward
// step through them; the address at any moment, opened elsewhere, shows the same; values the page
// cannot take are ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, servedBrowser } from './harness.mjs';

const site = servedBrowser({ dirs: [] });

/** What the page shows of the state. */
const seen = (page) => page.evaluate(() => ({
  lang: document.documentElement.lang,
  mode: document.getElementById('quant-mode').value,
  samples: document.getElementById('calib-samples').value,
  image: document.querySelector('[data-testid=test-index]').dataset.index,
  file: document.getElementById('download-quant').download,
}));
const query = (page) => Object.fromEntries(new URL(page.url()).searchParams);

test('a link opens its language, conversion, images and test image, and Back and Forward step through the changes', async () => {
  const { page, errors } = await open(site.browser.context, `${site.server.url}?lang=fa&mode=integer-only-int8&samples=7&image=18`);
  assert.deepEqual(await seen(page), { lang: 'fa', mode: 'integer-only-int8', samples: '7', image: '18', file: 'mnist_intonly_int8.tflite' });
  assert.deepEqual(query(page), { lang: 'fa', mode: 'integer-only-int8', samples: '7', image: '18' });
  // the I/O table (its scales come from the calibration on those 7 images), to compare after Back
  const io = await page.locator('#io-table').textContent();
  // changes: the conversion, then the next image
  await page.getByTestId('quant-mode').selectOption('float16');
  await page.waitForFunction(() => document.getElementById('download-quant').download === 'mnist_float16.tflite');
  await page.locator('#test-next').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=test-index]').dataset.index === '19');
  assert.deepEqual(query(page), { lang: 'fa', mode: 'float16', samples: '7', image: '19' });
  // the address, opened in another tab, shows the same
  const other = await open(site.browser.context, page.url());
  assert.deepEqual(await seen(other.page), { lang: 'fa', mode: 'float16', samples: '7', image: '19', file: 'mnist_float16.tflite' });
  await other.page.close();
  // Back: image 18, then the int8 model calibrated on 7 images again; Forward: float16
  await page.goBack();
  await page.waitForFunction(() => document.querySelector('[data-testid=test-index]').dataset.index === '18');
  assert.equal((await seen(page)).mode, 'float16');
  await page.goBack();
  await page.waitForFunction(() => document.getElementById('download-quant').download === 'mnist_intonly_int8.tflite');
  assert.deepEqual(await seen(page), { lang: 'fa', mode: 'integer-only-int8', samples: '7', image: '18', file: 'mnist_intonly_int8.tflite' });
  assert.equal(await page.locator('#io-table').textContent(), io);
  await page.goForward();
  await page.waitForFunction(() => document.getElementById('download-quant').download === 'mnist_float16.tflite');
  // the language too
  await page.getByTestId('lang').selectOption('en');
  assert.equal(query(page).lang, 'en');
  await page.goBack();
  await page.waitForFunction(() => document.documentElement.lang === 'fa');
  assert.deepEqual(errors, []);
  await page.close();
});

test('values the page cannot take are ignored', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  await page.evaluate(() => localStorage.removeItem('ptq-lang')); // (the language chosen above is kept there)
  await page.goto(`${site.server.url}?mode=nope&samples=0&image=99999&lang=xx`);
  await page.waitForSelector('body[data-ready="true"]');
  assert.deepEqual(await seen(page), { lang: 'en', mode: 'integer-only-uint8', samples: '100', image: '0', file: 'mnist_intonly_uint8.tflite' });
  assert.deepEqual(query(page), { lang: 'en', mode: 'integer-only-uint8', samples: '100', image: '0' });
  assert.deepEqual(errors, []);
  await page.close();
});

const pressed = (page) => page.evaluate(() => document.querySelector('[data-testid=inside-graph] button.op[aria-pressed=true]')?.dataset.op);

test('a link with a layer opens the inside panel on it; picking another is a history entry; an unknown one falls back', async () => {
  const { page, errors } = await open(site.browser.context, `${site.server.url}?lang=en&layer=5`);
  await page.waitForSelector('[data-testid=inside-graph] button.op[aria-pressed=true]', { timeout: 60_000 });
  assert.equal(await pressed(page), '5');
  assert.match(await page.locator('[data-testid=inside-graph] button.op[aria-pressed=true]').textContent(), /FULLY_CONNECTED/);
  await page.locator('[data-testid=inside-graph] button.op', { hasText: 'CONV_2D' }).click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('layer') === '2');
  await page.goBack();
  await page.waitForFunction(() => document.querySelector('[data-testid=inside-graph] button.op[aria-pressed=true]')?.dataset.op === '5');
  assert.equal(query(page).layer, '5');
  // closing the panel takes the layer out of the address
  await page.getByTestId('inside-open').click();
  await page.waitForFunction(() => !new URL(location.href).searchParams.has('layer'));
  // an operator the graph does not have: the panel opens on its first layer worked out by hand
  await page.goto(`${site.server.url}?lang=en&layer=999`);
  await page.waitForSelector('[data-testid=inside-graph] button.op[aria-pressed=true]', { timeout: 60_000 });
  assert.equal(await pressed(page), '2');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('layer') === '2');
  assert.deepEqual(errors, []);
  await page.close();
});
