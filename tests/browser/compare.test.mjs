// The comparison of every conversion, on a subset of cells to keep the run short (two modes × two
// methods, and float16 which does not calibrate): each row's file is the one `ptq convert` writes with
// the row's flags, and its numbers are the CLI's (accuracy from `ptq eval`, agreement from the argmax of
// `ptq predict`'s raw outputs of the float and converted files, size); the table sorts by each column
// from buttons in its headers (keyboard too, aria-sort following), marks the best value of each column,
// shows progress and cancels; the methods offered are the library's; no long task on the page's thread.
// Screenshots go to test-results/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serve, launch, open, PTQ, MNIST, RESULTS, recordLongTasks, longTasksSince } from './harness.mjs';

const DIR = join(RESULTS, 'compare');
const MODES = ['integer-only-int8', 'full-integer', 'float16'];
const METHODS = ['minmax', 'entropy'];

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

async function openCompare() {
  // (in English whatever an earlier test chose: the choice is kept in the profile)
  const opened = await open(browser.context, `${server.url}?lang=en`);
  await opened.page.getByTestId('options-open').click();
  await opened.page.waitForSelector('body[data-options="ready"]');
  return opened;
}

/** Keep only these modes and methods checked. */
async function choose(page, modes, methods) {
  for (const box of await page.locator('input[name=cmp-mode]').all()) await box.setChecked(modes.includes(await box.getAttribute('value')));
  for (const box of await page.locator('input[name=cmp-method]').all()) await box.setChecked(methods.includes(await box.getAttribute('value')));
}

const rowsOf = (page) => page.$$eval('[data-testid=cmp-table] tbody tr', (trs) => trs.map((tr) => ({
  mode: tr.dataset.mode, method: tr.dataset.method, cmd: tr.dataset.cmd,
  values: Object.fromEntries([...tr.querySelectorAll('[data-value]')].map((c) => [c.closest('table').querySelectorAll('thead th')[c.cellIndex].dataset.key, c.dataset.value])),
  best: [...tr.querySelectorAll('.best')].map((c) => c.closest('table').querySelectorAll('thead th')[c.cellIndex].dataset.key),
})));

/** The class (first largest output) of each row of a `ptq predict --raw` file. */
function classes(path, dtype) {
  const buf = readFileSync(path);
  const read = { float32: (i) => buf.readFloatLE(i * 4), int8: (i) => buf.readInt8(i), uint8: (i) => buf.readUInt8(i) }[dtype];
  const size = { float32: 4, int8: 1, uint8: 1 }[dtype];
  const n = buf.length / size / 10;
  return Array.from({ length: n }, (_, r) => {
    let best = 0;
    for (let k = 1; k < 10; k++) if (read(r * 10 + k) > read(r * 10 + best)) best = k;
    return best;
  });
}

function predictions(model, name) {
  const raw = join(DIR, `${name}.raw`);
  execFileSync(PTQ, ['predict', '--model', model, '--raw', raw, '--data', MNIST], { stdio: 'ignore' });
  const report = JSON.parse(execFileSync(PTQ, ['inspect', '--json', model], { encoding: 'utf8' }));
  return classes(raw, report.output_types[0].toLowerCase());
}

test('every cell\'s file and numbers are those of `ptq convert`, `ptq eval` and `ptq predict`; sorting and best marks', async () => {
  const { page, errors } = await openCompare();
  await page.getByTestId('calib-samples').fill('60');
  await page.getByTestId('calib-samples').dispatchEvent('change');
  await choose(page, MODES, METHODS);
  const t0 = await page.evaluate(() => performance.now());
  await page.getByTestId('cmp-start').click();
  // progress while it runs
  await page.waitForFunction(() => /of 5/.test(document.querySelector('[data-testid=cmp-status]').textContent));
  assert.equal(await page.getByTestId('cmp-cancel').isEnabled(), true);
  await page.waitForFunction(() => /5 conversions compared/.test(document.querySelector('[data-testid=cmp-status]').textContent), null, { timeout: 300_000 });
  assert.deepEqual(await longTasksSince(page, t0), []);
  assert.match(await page.locator('#cmp-with').textContent(), /60 images \(the first training images\)/);
  await page.locator('#options-body .compare').screenshot({ path: join(RESULTS, 'compare-en.png') });
  // (downloads and loading a second wasm module on the page's thread come after the long-task check)
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-float').click()]);
  const float = join(DIR, 'float.tflite');
  await dl.saveAs(float);
  // the methods offered are the worker's library's, in its order
  const offered = await page.$$eval('input[name=cmp-method]', (bs) => bs.map((b) => b.value));
  const library = await page.evaluate(async () => {
    const lib = await import(new URL('pkg/fast/ptq_playground.js', location.href).href);
    await lib.default();
    return lib.Playground.calibration_methods();
  });
  assert.deepEqual(offered, library);
  const rows = await rowsOf(page);
  // in the library's order of modes, then of methods
  assert.deepEqual(rows.map((r) => `${r.mode}/${r.method}`),
    ['full-integer/minmax', 'full-integer/entropy', 'integer-only-int8/minmax', 'integer-only-int8/entropy', 'float16/']);
  // each row against the CLI
  const floatEval = JSON.parse(execFileSync(PTQ, ['eval', '--model', float, '--json', '--data', MNIST], { encoding: 'utf8' }));
  const floatClasses = predictions(float, 'float');
  const links = page.getByTestId('cmp-download');
  for (const [i, r] of rows.entries()) {
    const [file] = await Promise.all([page.waitForEvent('download'), links.nth(i).click()]);
    const path = join(DIR, file.suggestedFilename());
    await file.saveAs(path);
    const bytes = readFileSync(path);
    const args = r.cmd.split(' ').slice(1);
    args[args.indexOf('--in') + 1] = float;
    const cli = join(DIR, `cli_${i}.tflite`);
    args[args.indexOf('--out') + 1] = cli;
    execFileSync(PTQ, [...args, '--data', MNIST], { stdio: 'ignore' });
    assert.ok(readFileSync(cli).equals(bytes), `${r.cmd}: the comparison and ptq convert wrote different bytes`);
    const ev = JSON.parse(execFileSync(PTQ, ['eval', '--model', path, '--json', '--data', MNIST], { encoding: 'utf8' }));
    assert.equal(Number(r.values.accuracy), ev.accuracy, r.cmd);
    assert.equal(Number(r.values.floatAccuracy), floatEval.accuracy);
    assert.equal(Number(r.values.bytes), bytes.length);
    const mine = predictions(path, `cell_${i}`);
    const agree = mine.filter((c, k) => c === floatClasses[k]).length / mine.length;
    assert.equal(Number(r.values.agreement), agree, r.cmd);
    assert.ok(Number(r.values.msPerImage) > 0);
  }
  // best per column: the largest accuracy and agreement, the smallest size and time (not the float
  // accuracy, the same in every row)
  for (const [key, pick] of [['accuracy', Math.max], ['agreement', Math.max], ['bytes', Math.min], ['msPerImage', Math.min]]) {
    const best = pick(...rows.map((r) => Number(r.values[key])));
    assert.deepEqual(rows.filter((r) => r.best.includes(key)).map((r) => r.cmd), rows.filter((r) => Number(r.values[key]) === best).map((r) => r.cmd), key);
  }
  assert.ok(rows.every((r) => !r.best.includes('floatAccuracy')));
  // sorting: a header button (best first, then the other way), from the keyboard too
  const header = (key) => page.locator(`[data-testid=cmp-table] th[data-key=${key}]`);
  await header('bytes').locator('button').click();
  assert.equal(await header('bytes').getAttribute('aria-sort'), 'ascending');
  let sorted = (await rowsOf(page)).map((r) => Number(r.values.bytes));
  assert.deepEqual(sorted, [...sorted].sort((a, b) => a - b));
  await header('accuracy').locator('button').focus();
  await page.keyboard.press('Enter');
  assert.equal(await header('accuracy').getAttribute('aria-sort'), 'descending');
  assert.equal(await header('bytes').getAttribute('aria-sort'), 'none');
  sorted = (await rowsOf(page)).map((r) => Number(r.values.accuracy));
  assert.deepEqual(sorted, [...sorted].sort((a, b) => b - a));
  assert.equal(await page.evaluate(() => document.activeElement.closest('th')?.dataset.key), 'accuracy');
  await page.keyboard.press('Space');
  assert.equal(await header('accuracy').getAttribute('aria-sort'), 'ascending');
  await page.getByTestId('lang').selectOption('fa');
  assert.match(await page.locator('[data-testid=cmp-table] thead').textContent(), /[\u0600-\u06FF]/);
  await page.locator('#options-body .compare').screenshot({ path: join(RESULTS, 'compare-fa.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a comparison can be cancelled, and one on the random set downloads the training set first', async () => {
  const { page, errors } = await openCompare();
  await choose(page, ['integer-only-uint8', 'float'], ['minmax', 'percentile', 'mse']);
  await page.getByTestId('opt-set').selectOption('random');
  await page.getByTestId('cmp-start').click();
  await page.waitForFunction(() => /of 4/.test(document.querySelector('[data-testid=cmp-status]').textContent), null, { timeout: 120_000 });
  await page.getByTestId('cmp-cancel').click();
  await page.waitForFunction(() => /Cancelled after \d rows/.test(document.querySelector('[data-testid=cmp-status]').textContent), null, { timeout: 60_000 });
  assert.ok((await rowsOf(page)).length < 4);
  assert.equal(await page.getByTestId('cmp-start').isEnabled(), true);
  assert.equal(await page.getByTestId('cmp-cancel').isEnabled(), false);
  assert.match(await page.locator('#cmp-with').textContent(), /training images at random/);
  assert.deepEqual(errors, []);
  await page.close();
});
