// Accessibility audit with axe-core in Chromium (dist/): every panel open and filled (predictions and
// their numbers, training chart, evaluation results, an uploaded file's report, the inside panel's
// graph, per-layer errors, histograms and by-hand view, the model designer showing a problem and the
// table of trained models), in English and in Persian, on a desktop and a
// phone viewport: no serious or critical violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serve, launch, open } from './harness.mjs';

const AXE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const UPLOAD = join(ROOT, 'tests', 'fixtures', 'reference', 'mnist_fullint_floatio.tflite');

let server;
let browser;
before(async () => {
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

/** axe's serious and critical violations on the whole page, one line each. */
async function audit(page) {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')} (${v.nodes.length})`);
}

for (const lang of ['en', 'fa']) {
  test(`every panel, filled, has no serious or critical accessibility violation (${lang})`, async () => {
    const { page, errors } = await open(browser.context, `${server.url}?lang=${lang}`);
    const found = {};
    found.start = await audit(page);
    // the designer open: the run trains its design and ends in the table of trained models
    await page.getByTestId('design-open').click();
    await page.waitForSelector('body[data-design="ready"]');
    await page.getByTestId('train-epochs').fill('1');
    await page.getByTestId('train-images').fill('64');
    await page.getByTestId('train-start').click();
    await page.waitForSelector('#chart-box:not([hidden])');
    await page.waitForFunction(() => document.getElementById('train-start').disabled === false, null, { timeout: 300_000 });
    await page.getByTestId('eval-start').click();
    await page.getByTestId('acc-quant').waitFor({ timeout: 120_000 });
    await page.getByTestId('upload').setInputFiles(UPLOAD);
    await page.waitForSelector('#upload-report:not([hidden])');
    found.results = await audit(page);
    await page.getByTestId('inside-open').click();
    await page.waitForSelector('[data-testid=inside-graph] button.op', { timeout: 60_000 });
    await page.getByTestId('inside-errors-run').click();
    await page.waitForSelector('[data-testid=errors-accumulated]', { timeout: 120_000 });
    await page.waitForSelector('[data-testid=explain-steps]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid=models-row-1]');
    // and showing an invalid design's problem
    await page.getByTestId('dz-1-kernel_size').fill('30');
    await page.getByTestId('dz-1-kernel_size').dispatchEvent('change');
    await page.waitForSelector('[data-testid=dz-problem]:not([hidden])');
    found.inside = await audit(page);
    await page.setViewportSize({ width: 390, height: 844 });
    found.phone = await audit(page);
    assert.deepEqual(found, { start: [], results: [], inside: [], phone: [] });
    assert.deepEqual(errors, []);
    await page.close();
  });
}
