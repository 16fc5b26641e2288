// Reports to keep, in Chromium (dist/): the evaluation saved as JSON and CSV holds what `ptq predict`
// gives for the same two files (accuracies, confusion matrices, agreement, the disagreeing images and
// their labels), in English and Persian alike; the training chart saves as a PNG of the chart's size.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve, launch, open, PTQ, MNIST, RESULTS } from './harness.mjs';

const DIR = join(RESULTS, 'report');

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

/** Click a download button; save the file as `name` (the part after a language prefix is the name the
 * page gives it, for the reports). */
async function download(page, testid, name, checkName = true) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  if (checkName) assert.equal(dl.suggestedFilename(), name.replace(/^(en|fa)-/, ''));
  const path = join(DIR, name);
  await dl.saveAs(path);
  return path;
}

/** The predicted class of each test image by `ptq predict` (the first largest output, as the page). */
function predictions(model, tag) {
  const raw = join(DIR, `${tag}.raw`);
  execFileSync(PTQ, ['predict', '--model', model, '--data', MNIST, '--raw', raw], { stdio: 'ignore' });
  const bytes = readFileSync(raw);
  const n = 10000;
  const width = bytes.length / n / 10;
  const view = width === 4 ? new Float32Array(bytes.buffer, bytes.byteOffset, n * 10) : width === 1 ? new Uint8Array(bytes.buffer, bytes.byteOffset, n * 10) : null;
  assert.ok(view, `${tag}: output width ${width}`);
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let c = 1; c < 10; c++) if (view[i * 10 + c] > view[i * 10 + best]) best = c;
    return best;
  });
}

test('the evaluation report (JSON and CSV) holds what ptq predict gives for the same files, in both languages', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.getByTestId('eval-start').click();
  await page.getByTestId('acc-quant').waitFor({ timeout: 120_000 });
  const floatFile = await download(page, 'download-float', 'page-mnist_float.tflite', false);
  const quantFile = await download(page, 'download-quant', 'page-mnist_quant.tflite', false);
  const labels = [...readFileSync(join(MNIST, 't10k-labels-idx1-ubyte')).subarray(8)];
  const preds = { float: predictions(floatFile, 'float'), quant: predictions(quantFile, 'quant') };
  const report = JSON.parse(readFileSync(await download(page, 'report-json', 'en-evaluation.json'), 'utf8'));
  assert.equal(report.test_images, 10000);
  assert.deepEqual(report.models.map((m) => m.slot), ['float', 'quant']);
  for (const m of report.models) {
    const confusion = Array.from({ length: 10 }, () => new Array(10).fill(0));
    preds[m.slot].forEach((p, i) => confusion[labels[i]][p]++);
    assert.deepEqual(m.confusion, confusion, m.slot);
    const correct = preds[m.slot].filter((p, i) => p === labels[i]).length;
    assert.equal(m.correct, correct);
    assert.equal(m.accuracy, correct / 10000);
    assert.equal(Number(await page.getByTestId(`acc-${m.slot}`).getAttribute('data-value')), m.accuracy);
  }
  const differ = preds.float.flatMap((p, i) => (p === preds.quant[i] ? [] : [i]));
  assert.deepEqual(report.disagreements, differ.map((index) => ({ index, label: labels[index] })));
  assert.equal(report.agreement, 1 - differ.length / 10000);
  assert.equal(report.models[1].mode, 'integer-only-uint8');
  // the CSV: the same numbers, one summary row per model, ten rows per confusion matrix
  const csv = readFileSync(await download(page, 'report-csv', 'en-evaluation.csv'), 'utf8').split('\n');
  assert.equal(csv[0], 'model,mode,accuracy,correct,test_images,seconds');
  report.models.forEach((m, k) => assert.ok(csv[1 + k].startsWith(`${m.label},${m.mode},${m.accuracy},${m.correct},10000,`), csv[1 + k]));
  const matrixRows = csv.filter((l) => /^[^,]+,\d,(\d+,){9}\d+$/.test(l));
  assert.equal(matrixRows.length, 20);
  assert.deepEqual(matrixRows.slice(10).map((l) => l.split(',').slice(2).map(Number)), report.models[1].confusion);
  // in Persian: the same data (labels translated, numbers as numbers)
  await page.getByTestId('lang').selectOption('fa');
  const fa = JSON.parse(readFileSync(await download(page, 'report-json', 'fa-evaluation.json'), 'utf8'));
  assert.deepEqual(fa.models.map((m) => m.confusion), report.models.map((m) => m.confusion));
  assert.notEqual(fa.models[0].label, report.models[0].label);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the training chart saves as a PNG of the chart', async () => {
  // English again (the test before chose Persian, which the page remembers)
  const { page, errors } = await open(browser.context, `${server.url}?lang=en`);
  await page.getByTestId('train-epochs').fill('1');
  await page.getByTestId('train-images').fill('320');
  await page.getByTestId('train-start').click();
  await page.waitForFunction(() => /done$/.test(document.querySelector('[data-testid=train-status]').textContent), null, { timeout: 300_000 });
  const png = readFileSync(await download(page, 'chart-png', 'training-chart.png'));
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  const size = await page.getByTestId('train-chart').evaluate((c) => [c.width, c.height]);
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], size);
  assert.deepEqual(errors, []);
  await page.close();
});
