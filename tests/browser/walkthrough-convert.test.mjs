// The conversion card and the tables after a teacher's walkthrough (issue 14), in Chromium (dist/): a
// float conversion is not called smaller and saves under its own name; the representative-images field
// is off, with its reason, where a conversion does not calibrate; an uploaded file's tables stay inside
// their card on a desktop, say when they scroll on a phone, and list every per-channel scale; numbers are
// not broken across lines; in Persian, Latin runs keep their order (isolated), shapes use Persian
// digits and the screen-reader labels are Persian. Screenshots go to test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, RESULTS, open, servedBrowser } from './harness.mjs';

const TF_UINT8 = join(ROOT, 'tests', 'fixtures', 'reference', 'mnist_intonly_uint8.tflite');

const site = servedBrowser();

async function convert(page, mode) {
  await page.getByTestId('quant-mode').selectOption(mode);
  await page.waitForFunction((m) => document.getElementById('quant-mode').value === m
    && document.getElementById('download-quant').textContent !== '', mode);
}

const fieldState = (page) => page.evaluate(() => ({
  disabled: document.getElementById('calib-samples').disabled,
  why: !document.getElementById('calib-unused').hidden && document.getElementById('calib-unused').textContent !== '',
}));

test('a float conversion is not "1× smaller" and does not save under the float model\'s name', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  await convert(page, 'float');
  const names = await page.evaluate(() => ['float', 'quant'].map((s) => document.getElementById(`download-${s}`).download));
  assert.equal(names[0], 'mnist_float.tflite');
  assert.notEqual(names[1], names[0]);
  assert.match(names[1], /\.tflite$/);
  assert.doesNotMatch(await page.locator('#size-ratio').textContent(), /×/);
  await convert(page, 'integer-only-uint8');
  assert.match(await page.locator('#size-ratio').textContent(), /\d×/);
  assert.equal(await page.evaluate(() => document.getElementById('download-quant').download), 'mnist_intonly_uint8.tflite');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the representative-images field is off, with its reason, exactly for the conversions that do not calibrate', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  const modes = await page.evaluate(async () => {
    const { Playground } = await import('./pkg/ptq_playground.js');
    return Playground.modes().map((m) => [m.id, m.calibrates]);
  });
  assert.ok(modes.some(([, c]) => c) && modes.some(([, c]) => !c));
  for (const [mode, calibrates] of modes) {
    await convert(page, mode);
    assert.deepEqual(await fieldState(page), { disabled: !calibrates, why: !calibrates }, mode);
  }
  // switching back from a mode without calibration turns the field on again
  await convert(page, 'dynamic-range');
  await convert(page, 'integer-only-int8');
  assert.deepEqual(await fieldState(page), { disabled: false, why: false });
  assert.deepEqual(errors, []);
  await page.close();
});

/** Every cell of the uploaded file's tables: whether it ends inside its card (both directions). */
function cellsInside(page) {
  return page.evaluate(() => {
    const card = document.getElementById('upload-report').closest('.card').getBoundingClientRect();
    return [...document.querySelectorAll('#upload-report td, #upload-report th')]
      .filter((c) => { const r = c.getBoundingClientRect(); return r.left < card.left - 0.5 || r.right > card.right + 0.5; }).length;
  });
}

const wraps = (page) => page.$$eval('#upload-report .table-wrap', (ws) => ws.map((w) => ({
  overflows: w.scrollWidth > w.clientWidth + 1,
  hint: !document.querySelector(`[data-testid=${w.dataset.testid}-hint]`).hidden,
})));

test('an uploaded file\'s tables fit their card on a desktop, say so when they scroll on a phone, and list every per-channel scale', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.getByTestId('upload').setInputFiles(TF_UINT8);
  await page.waitForSelector('#upload-report:not([hidden]) [data-testid=upload-tensors]');
  assert.equal(await cellsInside(page), 0);
  assert.deepEqual(await wraps(page), [{ overflows: false, hint: false }, { overflows: false, hint: false }]);
  // per-channel parameters: all of them, behind their summary
  const lists = await page.$$eval('[data-testid=channel-scales]', (ls) => ls.map((l) => ({
    n: l.children.length, summary: l.closest('details').querySelector('summary').textContent,
  })));
  assert.ok(lists.length > 0);
  for (const { n, summary } of lists) assert.ok(summary.startsWith(`${n} scales`), summary);
  // a shape stays on one line
  const shapeLines = await page.$$eval('#upload-report td.shape', (tds) => Math.max(...tds.map((td) => {
    const range = document.createRange();
    range.selectNodeContents(td);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  })));
  assert.equal(shapeLines, 1);
  await page.screenshot({ path: join(RESULTS, 'walkthrough-desktop.png'), fullPage: true });
  for (const lang of ['en', 'fa']) {
    await page.getByTestId('lang').selectOption(lang);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid$=-hint]:not([hidden])').length > 0);
    for (const w of await wraps(page)) assert.equal(w.hint, w.overflows, lang);
    assert.ok((await wraps(page)).some((w) => w.overflows), lang);
    await page.setViewportSize({ width: 1366, height: 900 });
  }
  assert.deepEqual(errors, []);
  await page.close();
});

/** How many lines each number of a panel's raw output spans (at most 1 when none is broken). */
const numberLines = (page, slot) => page.evaluate((s) => {
  const code = document.querySelector(`[data-testid=raw-${s}]`);
  const text = code.firstChild;
  let most = 0;
  for (const m of text.data.matchAll(/-?[\d.]+/g)) {
    const range = document.createRange();
    range.setStart(text, m.index);
    range.setEnd(text, m.index + m[0].length);
    most = Math.max(most, new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size);
  }
  return most;
}, slot);

test('raw outputs do not break a number across lines, and both prediction panels show theirs the same way', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  for (const width of [390, 1366]) {
    await page.setViewportSize({ width, height: 844 });
    for (const slot of ['float', 'quant']) assert.equal(await numberLines(page, slot), 1, `${slot} at ${width} px`);
  }
  const open_ = await page.$$eval('#panel-float details.raw, #panel-quant details.raw', (ds) => ds.map((d) => d.open));
  assert.equal(open_[0], open_[1]);
  const sizes = await page.$$eval('#panel-float .bars li, #panel-float .raw code', (es) => es.map((e) => parseFloat(getComputedStyle(e).fontSize)));
  assert.ok(Math.min(...sizes) >= 14, `font sizes ${sizes}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('in Persian, Latin runs are isolated in their order, shapes use Persian digits and every label is Persian', async () => {
  const { page, errors } = await open(site.browser.context, `${site.server.url}?lang=fa`);
  const title = await page.locator('[data-i18n="upload.title"]').textContent();
  // ".tflite" is one left-to-right run: the dot before the letters, inside its isolate
  assert.ok(title.includes('\u2066.tflite\u2069'), JSON.stringify(title));
  const hint = await page.locator('[data-i18n="upload.hint"]').textContent();
  assert.ok(hint.includes('\u2066.tflite\u2069'), JSON.stringify(hint));
  const io = await page.locator('#panel-float .raw .io').textContent();
  assert.ok(io.includes('[۱، ۱۰]'), JSON.stringify(io));
  assert.doesNotMatch(io, /\[1, 10\]/);
  const labels = await page.$$eval('.panels, .panels .bars', (es) => es.map((e) => e.getAttribute('aria-label')));
  for (const l of labels) assert.match(l, /[\u0600-\u06ff]/, l);
  // a conversion's name inside a Persian sentence, and the conversion intro without code marks
  await convert(page, 'float');
  const why = await page.getByTestId('calib-unused').textContent();
  assert.match(why, /\u2066.*\u2069/);
  assert.doesNotMatch(await page.locator('[data-i18n="quant.intro"]').textContent(), /`/);
  await page.screenshot({ path: join(RESULTS, 'walkthrough-fa.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('in Persian the image number is in Persian digits and takes them typed, and the evaluation\'s times are a Persian list', async () => {
  const { page, errors } = await open(site.browser.context, `${site.server.url}?lang=fa`);
  const field = page.getByTestId('test-index');
  assert.equal(await field.inputValue(), '۰');
  await field.fill('۲۵');
  await field.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=test-index]').dataset.index === '25');
  assert.equal(await field.inputValue(), '۲۵');
  await field.press('ArrowUp');
  await page.waitForFunction(() => document.querySelector('[data-testid=test-index]').dataset.index === '26');
  assert.equal(await field.inputValue(), '۲۶');
  // Latin digits typed are taken too, and shown back in Persian
  await field.fill('18');
  await field.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=test-index]').dataset.index === '18');
  assert.equal(await field.inputValue(), '۱۸');
  // the evaluation's time line: the models' names isolated, the list with the Persian comma
  await page.getByTestId('eval-start').click();
  await page.getByTestId('acc-quant').waitFor({ timeout: 120_000 });
  const times = await page.evaluate(() => [...document.querySelectorAll('#eval-result *')]
    .map((e) => e.textContent).find((s) => s.includes('worker')) ?? '');
  assert.ok(times.includes('، '), JSON.stringify(times));
  assert.doesNotMatch(times, /\d, /);
  // on a phone, the confusion matrices stay inside their card (they scroll within it)
  await page.setViewportSize({ width: 390, height: 844 });
  const outside = await page.$$eval('table.confusion', (ts) => ts.map((tb) => {
    const card = tb.closest('.card').getBoundingClientRect();
    const r = tb.getBoundingClientRect();
    return r.left < card.left - 0.5 || r.right > card.right + 0.5;
  }));
  assert.ok(outside.length >= 2);
  assert.deepEqual(outside, outside.map(() => false));
  await page.screenshot({ path: join(RESULTS, 'walkthrough-phone-eval-fa.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
