// The model designer and the table of trained models, in real Chromium against the built site: a design
// built with the keyboard alone (fields, a new layer, reordering), its costs as Keras counts them, an
// invalid design refused with a sentence that names the layer while the page keeps predicting, a short
// training run of the design whose row in the comparison table matches `ptq eval` on the files the page
// downloads, a float model read back into the editor and trained further from its weights, and the
// designer's texts in Persian. Nothing blocks the page's thread for more than 50 ms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open, PTQ, MNIST, RESULTS, servedBrowser, longTasksSince, drawStroke, evaluateTestSet } from './harness.mjs';

const DIR = join(RESULTS, 'design');
const site = servedBrowser({ longTasks: true, dirs: [DIR] });

/** Open the page and the designer with the keyboard; `before(page)` runs first, once the page is ready. */
async function openDesigner(before) {
  // English whatever the last test chose (the page keeps the language in local storage)
  const opened = await open(site.browser.context, `${site.server.url}?lang=en`);
  const { page } = opened;
  await before?.(page);
  await page.getByTestId('design-open').focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-design="ready"]');
  await waitChecked(page);
  return opened;
}

/** Wait until the costs shown are the library's answer for the design as it stands. */
async function waitChecked(page) {
  await page.waitForFunction(() => {
    const valid = document.querySelector('[data-testid=dz-valid]').textContent;
    const problem = document.querySelector('[data-testid=dz-problem]');
    return valid.startsWith('Valid') || valid.startsWith('معتبر') || !problem.hidden;
  });
}

/** Type into a field with the keyboard and leave it (its change event applies it). */
async function typeField(page, testid, value) {
  await page.getByTestId(testid).focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(value);
  await page.keyboard.press('Tab');
}

/** Pick an option of a focused select with the arrow keys. */
async function arrowTo(page, testid, value) {
  const select = page.getByTestId(testid);
  await select.focus();
  await page.keyboard.press('Home');
  for (let i = 0; i < 20 && (await select.inputValue()) !== value; i++) await page.keyboard.press('ArrowDown');
  assert.equal(await select.inputValue(), value);
}

const layerTypes = (page) => page.locator('#dz-rows tr td:nth-child(2)').allTextContents();
const totalParams = (page) => page.locator('#dz-total td').first().textContent();

async function download(page, testid, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = join(DIR, name);
  await dl.saveAs(path);
  return path;
}

const evalJson = (file) => JSON.parse(execFileSync(PTQ, ['eval', '--model', file, '--data', MNIST, '--json'], { encoding: 'utf8' }));

test('a design built with the keyboard is costed, refused while invalid, trained, compared, and trained again from its file', async () => {
  // the wasm modules the page and its worker fetch (the directory of each), from before the page opens
  const fetched = [];
  const record = (r) => {
    if (r.url().endsWith('.wasm')) fetched.push(new URL(r.url()).pathname.split('/').slice(-2, -1)[0]);
  };
  site.browser.context.on('request', record);
  let beforeDesigner;
  const { page, errors } = await openDesigner(async (p) => {
    // the worker is up once it has evaluated the test set
    await evaluateTestSet(p);
    beforeDesigner = [...fetched];
  });
  site.browser.context.off('request', record);
  // the worker evaluates with its evaluation module; the training module, which answers the designer,
  // is fetched (in the build this browser runs) only when the designer opens
  const training = (dirs) => dirs.filter((d) => d === 'train' || d === 'train-relaxed');
  assert.ok(beforeDesigner.includes('fast'), beforeDesigner.join(' '));
  assert.deepEqual(training(beforeDesigner), []);
  assert.equal(training(fetched).length, 1, fetched.join(' '));
  const t0 = await page.evaluate(() => performance.now());
  // the tutorial's CNN is loaded; Keras counts 12·(9+1) + (13·13·12+1)·10 = 20,410 parameters
  assert.deepEqual(await layerTypes(page), ['Reshape', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense']);
  assert.equal(await totalParams(page), '20,410');
  assert.match(await page.getByTestId('dz-limits').textContent(), /at most 32 layers, 1,000,000 parameters, 5,000,000 multiply-adds/);

  // name it, 4 filters, a hidden Dense(32, relu) before a new Dense(10) added at the end
  await typeField(page, 'dz-name', 'keyboard-net');
  await typeField(page, 'dz-1-filters', '4');
  await typeField(page, 'dz-4-units', '32');
  await arrowTo(page, 'dz-4-activation', 'relu');
  await page.keyboard.press('Tab');
  await arrowTo(page, 'dz-add-type', 'Dense');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'dz-add');
  await page.keyboard.press('Enter');
  // the focus is on the new layer's first field
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'dz-5-units');
  assert.match(await page.getByTestId('dz-live').textContent(), /Layer 6 \(Dense\) added/);
  await waitChecked(page);
  // 4·10 + (13·13·4+1)·32 + (32+1)·10 = 40 + 21,664 + 330
  assert.equal(await totalParams(page), '22,034');
  assert.equal(await page.locator('#dz-rows tr:nth-child(5) [data-cost=shape]').textContent(), '(32)');
  assert.equal(await page.locator('#dz-rows tr:nth-child(2) [data-cost=macs]').textContent(), '24,336'); // 26·26·4·9

  // reorder with the keyboard: the new layer up one place, then back down; the focus follows it
  await page.getByTestId('dz-up-5').focus();
  await page.keyboard.press('Enter');
  assert.deepEqual((await layerTypes(page)).slice(3), ['Flatten', 'Dense', 'Dense']);
  assert.match(await page.getByTestId('dz-live').textContent(), /Layer Dense is now layer 5/);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'dz-up-4');
  await page.getByTestId('dz-down-4').focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'dz-up-5');
  await waitChecked(page);
  assert.equal(await page.getByTestId('dz-4-units').inputValue(), '32');

  // an invalid design: a 30×30 kernel on a 28×28 image names layer 2 and is refused by training
  await typeField(page, 'dz-1-kernel_size', '30');
  await page.waitForSelector('[data-testid=dz-problem]:not([hidden])');
  const sentence = await page.getByTestId('dz-problem').textContent();
  assert.equal(sentence, 'Layer 2 (Conv2D): kernel [30, 30] with strides [1, 1] does not fit its input [28, 28, 1]');
  assert.equal(await page.locator('#dz-rows tr:nth-child(2)').getAttribute('class'), 'invalid');
  await page.getByTestId('train-start').click();
  assert.equal(await page.locator('#train-error').textContent(), `The design in the designer cannot be trained: ${sentence}`);
  // the page keeps working: a drawing is predicted by both models
  await drawStroke(page);
  await page.waitForFunction(() => document.querySelector('[data-testid=pred-quant]').dataset.value !== '');
  // and a design past a limit: 2,000 hidden units
  await typeField(page, 'dz-1-kernel_size', '3');
  await typeField(page, 'dz-4-units', '2000');
  await page.waitForFunction(() => /over the limit of 1,?000,?000/.test(document.querySelector('[data-testid=dz-problem]').textContent));
  // 40 + (13·13·4+1)·2000: the sum passes the limit at layer 5
  assert.equal(await page.getByTestId('dz-problem').textContent(), 'Layer 5 (Dense): the design reaches 1,354,040 parameters here, over the limit of 1,000,000');
  await typeField(page, 'dz-4-units', '32');
  await waitChecked(page);
  assert.equal(await page.getByTestId('dz-problem').isHidden(), true);
  assert.equal(await totalParams(page), '22,034');
  assert.match(await page.getByTestId('train-design').textContent(), /keyboard-net/);

  // the saved design is the format ptq train --arch reads
  const saved = JSON.parse(readFileSync(await download(page, 'dz-save', 'keyboard-net.json'), 'utf8'));
  assert.equal(saved.name, 'keyboard-net');
  assert.deepEqual(saved.layers.map((l) => l.type), ['Reshape', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense']);

  // train it briefly from the designer's button (keyboard): 1 epoch on 3,200 images
  await page.getByTestId('train-epochs').fill('1');
  await page.getByTestId('train-images').fill('3200');
  await page.getByTestId('dz-train').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /done$/.test(document.querySelector('[data-testid=train-status]').textContent), null, { timeout: 300_000 });
  await page.waitForSelector('[data-testid=models-row-1]');
  const row = page.getByTestId('models-row-1');
  assert.match(await row.locator('.arch').textContent(), /^keyboard-net/);
  assert.equal(await row.locator('[data-col=params]').textContent(), '22,034');
  // the row's accuracies are those of the two files the page holds, as the CLI measures them
  const floatFile = await download(page, 'download-float', 'keyboard-net_float.tflite');
  const quantFile = await download(page, 'download-quant', 'keyboard-net_quant.tflite');
  const [f, q] = [evalJson(floatFile), evalJson(quantFile)];
  const pct = (x) => `${(x * 100).toFixed(2)}%`;
  assert.equal(await row.locator('[data-col=float-acc]').textContent(), pct(f.accuracy));
  assert.equal(await row.locator('[data-col=quant-acc]').textContent(), pct(q.accuracy));
  // the CLI trains the saved design to the same accuracy (same trainer, seed and images; the native
  // build's vector kernels may round differently from the wasm build's)
  const cliFile = join(DIR, 'keyboard-net_cli.tflite');
  execFileSync(PTQ, ['train', '--arch', join(DIR, 'keyboard-net.json'), '--epochs', '1', '--train-images', '3200', '--data', MNIST, '--out', cliFile], { stdio: 'ignore' });
  const cli = evalJson(cliFile);
  assert.ok(Math.abs(cli.accuracy - f.accuracy) < 0.01, `page ${f.accuracy}, CLI ${cli.accuracy}`);
  assert.ok(f.accuracy > 0.5, `float accuracy ${f.accuracy}`);

  // the float model read back into the editor, and trained one more epoch from its weights
  await page.getByTestId('dz-file').setInputFiles(floatFile);
  await page.waitForFunction(() => document.querySelector('[data-testid=dz-file-status]').textContent.startsWith('Opened the design of'));
  assert.equal(await page.getByTestId('dz-resume').isChecked(), true);
  assert.equal(await page.getByTestId('dz-name').inputValue(), 'keyboard-net');
  await waitChecked(page);
  assert.equal(await totalParams(page), '22,034');
  await page.getByTestId('dz-train').click();
  await page.waitForSelector('[data-testid=models-row-2]', { timeout: 300_000 });
  const again = Number.parseFloat(await page.getByTestId('models-row-2').locator('[data-col=float-acc]').textContent());
  // continuing from trained weights: a second epoch on the same images starts where the first ended, so
  // it ends better than the first (a run from new weights with the same seed would repeat it exactly)
  assert.ok(again > f.accuracy * 100 + 1, `${again}% after resuming, ${f.accuracy * 100}% before`);
  // the first run's models can be loaded back
  await page.getByTestId('models-use-1').click();
  await page.waitForFunction(() => /Run 1’s models are loaded/.test(document.querySelector('[data-testid=models-note]').textContent));

  const t1 = await page.evaluate(() => performance.now());
  assert.deepEqual(await longTasksSince(page, t0, t1), []);
  assert.deepEqual(errors, []);
  await page.locator('#design').screenshot({ path: join(DIR, 'designer.png') });
  await page.getByTestId('models-compare').screenshot({ path: join(DIR, 'models-table.png') });
});

test('the designer in Persian: presets, costs and problems in Persian words', async () => {
  const { page, errors } = await openDesigner();
  await page.getByTestId('lang').selectOption('fa');
  await arrowTo(page, 'dz-preset', 'mobile');
  assert.match(await page.getByTestId('dz-preset-desc').textContent(), /کانولوشن عمقی/);
  await page.getByTestId('dz-preset-use').click();
  await waitChecked(page);
  assert.deepEqual(await layerTypes(page), ['Reshape', 'Conv2D', 'DepthwiseConv2D', 'Conv2D', 'AveragePooling2D', 'Flatten', 'Dense']);
  assert.match(await page.getByTestId('dz-valid').textContent(), /^معتبر/);
  // a softmax in the middle: the sentence names layer 3 in Persian
  await page.getByTestId('dz-2-activation').selectOption('softmax');
  await page.waitForSelector('[data-testid=dz-problem]:not([hidden])');
  const bare = (text) => text.replace(/[\u2066-\u2069]/g, '');
  assert.match(bare(await page.getByTestId('dz-problem').textContent()), /^لایهٔ ۳ \(DepthwiseConv2D\): softmax باید لایهٔ آخر باشد/);
  assert.match(await page.getByTestId('dz-limits').textContent(), /^محدودیت‌هایی که طرح را/);
  assert.match(await page.locator('#dz-table thead').textContent(), /شکل خروجی/);
  assert.deepEqual(errors, []);
});

test('a design with BatchNormalization opened from JSON: folded ranges in the table, and its models evaluated, converted in other modes and looked inside', async () => {
  const { page, errors } = await openDesigner();
  const t0 = await page.evaluate(() => performance.now());
  const design = {
    name: 'bn-net',
    input_shape: [28, 28],
    layers: [
      { type: 'Reshape', target_shape: [28, 28, 1] },
      { type: 'Conv2D', filters: 8, kernel_size: 3, strides: 2, padding: 'same' },
      { type: 'BatchNormalization' },
      { type: 'Activation', activation: 'relu6' },
      { type: 'DepthwiseConv2D', kernel_size: 3, padding: 'same', activation: 'relu6' },
      { type: 'AveragePooling2D', pool_size: 2 },
      { type: 'Flatten' },
      { type: 'Dropout', rate: 0.2 },
      { type: 'Dense', units: 10, activation: 'softmax' },
    ],
  };
  const file = join(DIR, 'bn-net.json');
  writeFileSync(file, JSON.stringify(design));
  await page.getByTestId('dz-file').setInputFiles(file);
  await page.waitForFunction(() => document.querySelector('[data-testid=dz-file-status]').textContent === 'Opened the design in bn-net.json.');
  await waitChecked(page);
  // Keras's counts: 8·(9+1) + 4·8 + 8·(9+1) + (7·7·8+1)·10 = 80 + 32 + 80 + 3,930
  assert.equal(await totalParams(page), '4,122');
  await page.getByTestId('train-epochs').fill('1');
  await page.getByTestId('train-images').fill('3200');
  await page.getByTestId('dz-train').click();
  await page.waitForSelector('[data-testid=models-row-1]', { timeout: 300_000 });
  const row = page.getByTestId('models-row-1');
  assert.equal(await row.locator('[data-col=params]').textContent(), '4,122');
  assert.match(await row.locator('[data-testid=models-folding] li').textContent(),
    /^Conv2D \(layer 2\): weights in \[-?[\d.]+, -?[\d.]+\] as trained, \[-?[\d.]+, -?[\d.]+\] folded$/);
  const quantAcc = await row.locator('[data-col=quant-acc]').textContent();

  // the page's evaluation of the same models agrees with the table's
  await page.getByTestId('eval-start').click();
  await page.waitForSelector('[data-testid=acc-quant]', { timeout: 120_000 });
  const shown = Number(await page.getByTestId('acc-quant').getAttribute('data-value'));
  assert.equal(`${(shown * 100).toFixed(2)}%`, quantAcc);
  // other conversions of the design's float model predict on a drawing
  // (a design's conversions run in the worker: the quantized panel's title names the new one when done)
  for (const [mode, title] of [['dynamic-range', /^Dynamic range/], ['full-integer', /^Full integer/], ['float16', /^Float16/]]) {
    await page.getByTestId('quant-mode').selectOption(mode);
    await page.waitForFunction((re) => new RegExp(re).test(document.getElementById('panel-quant-h').textContent), title.source);
    await drawStroke(page);
    await page.waitForFunction(() => document.querySelector('[data-testid=pred-quant]').dataset.value !== '');
  }
  // the TensorFlow code view writes the design's layers, not the tutorial's
  await page.getByTestId('options-open').click();
  await page.waitForSelector('body[data-options="ready"]');
  const code = await page.getByTestId('tf-code').textContent();
  assert.match(code, /design "bn-net"/);
  assert.match(code, /tf\.keras\.layers\.Conv2D\(8, \(3, 3\), strides=\(2, 2\), padding="same"\),\n    tf\.keras\.layers\.BatchNormalization\(momentum=0\.99, epsilon=0\.001\),/);
  assert.match(code, /from_logits=False/);
  // inside the quantization: the design's operators in the graph
  await page.getByTestId('quant-mode').selectOption('integer-only-int8');
  await page.getByTestId('inside-open').click();
  await page.waitForSelector('[data-testid=inside-graph] button.op', { timeout: 60_000 });
  const ops = await page.locator('[data-testid=inside-graph] button.op').allTextContents();
  for (const op of ['CONV_2D', 'DEPTHWISE_CONV_2D', 'AVERAGE_POOL_2D', 'FULLY_CONNECTED', 'SOFTMAX']) {
    assert.ok(ops.some((o) => o.includes(op)), `${op} in ${ops.join(' | ')}`);
  }
  const t1 = await page.evaluate(() => performance.now());
  assert.deepEqual(await longTasksSince(page, t0, t1), []);
  assert.deepEqual(errors, []);
});
