// Training, evaluation, every conversion and uploads in real Chromium, against the built site.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serve, launch, open, PTQ, MNIST, RESULTS, recordLongTasks, longTasksSince } from './harness.mjs';

const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const TF_UINT8 = join(ROOT, 'tests', 'fixtures', 'reference', 'mnist_intonly_uint8.tflite');
const DENSE_4096 = join(ROOT, 'tests', 'fixtures', 'interp', 'dense4096_rowsum_dynamic.tflite');

let server;
let browser;
before(async () => {
  mkdirSync(RESULTS, { recursive: true });
  server = await serve();
  browser = await launch();
  await recordLongTasks(browser.context);
});
after(async () => {
  await browser?.close();
  server?.close();
});

const text = (page, id) => page.getByTestId(id).textContent();
const rawFloat = (page) => page.getByTestId('raw-float').getAttribute('data-raw');

async function showTestImage(page, index) {
  await page.getByTestId('test-index').fill(String(index));
  await page.getByTestId('test-index').press('Enter');
  await page.waitForFunction((i) => document.querySelector('[data-testid=input-caption]').textContent.startsWith(`Test image ${i},`), index);
}

async function download(page, testid, dir) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = join(dir, dl.suggestedFilename());
  await dl.saveAs(path);
  return path;
}

test('a short training run completes with a live chart, swaps the model in, and never blocks the page; cancel keeps the model', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await showTestImage(page, 1);
  const before = await rawFloat(page);
  // 1 epoch on 9,600 images = 300 steps of 32
  await page.getByTestId('train-epochs').fill('1');
  await page.getByTestId('train-images').fill('9600');
  const t0 = await page.evaluate(() => performance.now());
  await page.getByTestId('train-start').click();
  assert.equal(await page.getByTestId('train-cancel').isEnabled(), true);
  assert.equal(await page.locator('#chart-box').isVisible(), true);
  // changing the conversion while training runs: applied to the new model (by the worker) at the end
  await page.getByTestId('quant-mode').selectOption('integer-only-int8');
  const deferred = await page.locator('#quant-time').textContent();
  await page.waitForFunction(() => /done$/.test(document.querySelector('[data-testid=train-status]').textContent), null, { timeout: 300_000 });
  assert.equal(deferred, 'Applied when the training run ends.');
  assert.equal(await page.locator('#panel-quant-h').textContent(), 'Integer only, int8 input/output model');
  assert.match(await page.locator('#io-table tbody tr:nth-child(2) td:nth-child(2)').textContent(), /^int8,/);
  const t1 = await page.evaluate(() => performance.now());
  const log = await page.getByTestId('train-log').textContent();
  assert.match(log, /^Epoch 1\/1 - loss: [\d.]+ - accuracy: [\d.]+ - val_loss: [\d.]+ - val_accuracy: 0\.9\d+$/);
  assert.equal(await page.locator('#train-progress').evaluate((p) => p.value), 1);
  assert.match(await page.locator('#train-text').textContent(), /step 300\/300/);
  // the chart was drawn (some pixels set)
  const inked = await page.getByTestId('train-chart').evaluate((c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0));
  assert.ok(inked, 'the chart is empty');
  // the new float model is in place, quantized, and predicts
  const after = await rawFloat(page);
  assert.notEqual(after, before, 'the float model did not change');
  assert.equal(await text(page, 'pred-float'), '2');
  assert.match(await text(page, 'pred-quant'), /^\d$/);
  const long = await longTasksSince(page, t0, t1);
  const timeline = await page.evaluate(() => performance.getEntriesByType('measure').map((m) => `${m.name} at ${m.startTime.toFixed(0)} for ${m.duration.toFixed(1)} ms`));
  assert.deepEqual(long, [], `long tasks on the page's thread during training (started at ${t0.toFixed(0)}): ${JSON.stringify(long)}; ${timeline.join('; ')}`);
  await page.screenshot({ path: join(RESULTS, 'training.png'), fullPage: true });

  // cancel: the trained model stays
  await page.getByTestId('train-images').fill('60000');
  await page.getByTestId('train-start').click();
  await page.waitForFunction(() => /step \d+\//.test(document.querySelector('#train-text').textContent) && !/step 0\//.test(document.querySelector('#train-text').textContent), null, { timeout: 120_000 });
  await page.getByTestId('train-cancel').click();
  await page.waitForFunction(() => /Cancelled/.test(document.querySelector('[data-testid=train-status]').textContent), null, { timeout: 60_000 });
  assert.equal(await rawFloat(page), after);
  assert.equal(await page.getByTestId('train-start').isEnabled(), true);
  // settings out of range: a message beside the controls, nothing starts
  await page.getByTestId('train-epochs').fill('0');
  await page.getByTestId('train-start').click();
  assert.match(await page.locator('#train-error').textContent(), /Epochs must be from 1 to 100/);
  assert.equal(await page.getByTestId('train-cancel').isEnabled(), false);
  assert.deepEqual(errors, []);
  await page.close();
});

test('evaluating all 10,000 test images gives the accuracies `ptq eval` prints for the same files', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.getByTestId('eval-start').click();
  await page.getByTestId('acc-quant').waitFor({ timeout: 120_000 });
  const dir = join(RESULTS, 'eval');
  mkdirSync(dir, { recursive: true });
  const files = { float: await download(page, 'download-float', dir), quant: await download(page, 'download-quant', dir) };
  for (const slot of ['float', 'quant']) {
    const cli = JSON.parse(execFileSync(PTQ, ['eval', '--model', files[slot], '--data', MNIST, '--json'], { encoding: 'utf8' }));
    const shown = await page.getByTestId(`acc-${slot}`);
    assert.equal(Number(await shown.getAttribute('data-value')), cli.accuracy, slot);
    assert.equal(await shown.textContent(), (cli.accuracy * 100).toFixed(4), slot);
  }
  const sentence = await page.locator('#acc-list li').first().textContent();
  assert.match(sentence, /^Float model accuracy is \d+\.\d{4}% \(Number of test samples=10,000\)$/);
  assert.equal(await page.locator('#matrices table').count(), 2);
  // a disagreement opens in the test-image view (over 10,000 images float and uint8 always differ
  // somewhere)
  await page.waitForSelector('[data-testid=disagreements][data-painted=true]');
  const first = page.locator('#differ button').first();
  assert.ok(await first.count(), 'no disagreement listed');
  const index = await first.getAttribute('data-index');
  await first.click();
  assert.equal(await page.getByTestId('test-index').inputValue(), index);
  assert.deepEqual(errors, []);
  await page.close();
});

test('every conversion downloads a file that LiteRT loads, with the I/O the tutorial prints', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await showTestImage(page, 1);
  const dir = join(RESULTS, 'modes');
  mkdirSync(dir, { recursive: true });
  const paths = [];
  const pageRaw = [];
  const io = {
    float: 'float32', 'dynamic-range': 'float32', 'full-integer': 'float32',
    'integer-only-uint8': 'uint8, scale 0.0039215689, zero point 0', 'integer-only-int8': 'int8, scale 0.0039215689, zero point -128',
  };
  for (const mode of Object.keys(io)) {
    await page.getByTestId('quant-mode').selectOption(mode);
    await page.waitForFunction((m) => document.querySelector('[data-testid=quant-mode]').value === m && document.querySelector('#quant-error').hidden, mode);
    assert.equal(await page.locator('#io-table tbody tr:nth-child(2) td:nth-child(2)').textContent(), io[mode], mode);
    const path = await download(page, 'download-quant', dir);
    paths.push(path);
    pageRaw.push('--page-raw', `${path.split('/').pop()}:1=${await page.getByTestId('raw-quant').getAttribute('data-raw')}`);
  }
  // representative samples: 1 and 1,000 each calibrate a different model than the default 100 (the
  // int8 file just downloaded); 0 is refused beside the field and the model stays
  const hundred = readFileSync(paths.at(-1));
  const converted = {};
  for (const n of ['1000', '1']) {
    await page.getByTestId('calib-samples').fill(n);
    await page.getByTestId('calib-samples').press('Enter');
    assert.match(await page.locator('#quant-time').textContent(), /Converted in \d+ ms/);
    const sub = join(dir, `samples-${n}`); // beside, not over, the files LiteRT checks below
    mkdirSync(sub, { recursive: true });
    converted[n] = readFileSync(await download(page, 'download-quant', sub));
  }
  assert.notDeepEqual(converted['1000'], hundred, '1000 samples calibrate like 100');
  assert.notDeepEqual(converted['1'], hundred, '1 sample calibrates like 100');
  const size = await page.getByTestId('download-quant').textContent();
  await page.getByTestId('calib-samples').fill('0');
  await page.getByTestId('calib-samples').press('Enter');
  assert.match(await page.locator('#quant-error').textContent(), /from 1 to 1,000/);
  assert.equal(await page.getByTestId('download-quant').textContent(), size);
  assert.deepEqual(errors, []);
  await page.close();
  assert.deepEqual(paths.map((p) => p.split('/').pop()).sort(), ['mnist_dynamic.tflite', 'mnist_float_converted.tflite',
    'mnist_fullint_floatio.tflite', 'mnist_intonly_int8.tflite', 'mnist_intonly_uint8.tflite']);
  execFileSync(PYTHON, [join(ROOT, 'tests', 'browser', 'litert_check.py'), PTQ, MNIST, ...paths, '--images', '2000', ...pageRaw], { stdio: 'inherit' });
});

test("uploading TensorFlow's mnist_intonly_uint8.tflite works; a truncated file dropped on the page is an error and the page keeps working; a non-MNIST model is inspected only", async () => {
  const { page, errors } = await open(browser.context, server.url);
  await showTestImage(page, 1);
  await page.getByTestId('upload').setInputFiles(TF_UINT8);
  await page.locator('#panel-upload').waitFor({ state: 'visible' });
  assert.equal(await text(page, 'pred-upload'), '2');
  const report = page.locator('#upload-report');
  assert.match(await report.textContent(), /CONV_2D/);
  assert.match(await report.textContent(), /UINT8 → UINT8/);
  assert.equal(await page.locator('[data-testid=error]:visible').count(), 0);
  // evaluation includes the uploaded model
  await page.getByTestId('eval-start').click();
  await page.getByTestId('acc-upload').waitFor({ timeout: 120_000 });
  const cli = JSON.parse(execFileSync(PTQ, ['eval', '--model', TF_UINT8, '--data', MNIST, '--json'], { encoding: 'utf8' }));
  assert.equal(Number(await page.getByTestId('acc-upload').getAttribute('data-value')), cli.accuracy);

  // a truncated copy, dropped on the drop zone: a plain message beside the upload control; the models
  // and their predictions stay
  const bytes = readFileSync(TF_UINT8);
  writeFileSync(join(RESULTS, 'truncated.tflite'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  const half = [...bytes.subarray(0, Math.floor(bytes.length / 2))];
  await page.evaluate((data) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data)], 'truncated.tflite'));
    document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, half);
  const err = page.locator('[data-testid=error]:visible');
  await err.waitFor();
  assert.match(await err.textContent(), /^This file is not a model we can read: malformed \.tflite: .+ The previously loaded models are kept\.$/);
  assert.equal(await page.locator('#upload-error').isVisible(), true, 'the message is beside the upload control');
  assert.equal(await text(page, 'pred-upload'), '2');
  await showTestImage(page, 0);
  assert.equal(await text(page, 'pred-float'), '7');
  assert.equal(await text(page, 'pred-upload'), '7');
  await page.screenshot({ path: join(RESULTS, 'upload-error.png'), fullPage: true });

  // a valid model whose input is not 28×28: inspected, said so, not run
  await page.getByTestId('upload').setInputFiles(DENSE_4096);
  await page.waitForFunction(() => /28×28/.test(document.getElementById('upload-error').textContent));
  assert.match(await page.locator('#upload-report').textContent(), /FULLY_CONNECTED/);
  assert.equal(await page.locator('#panel-upload').isVisible(), false);
  assert.equal(await text(page, 'pred-quant'), '7');
  assert.deepEqual(errors, []);
  await page.close();
});
