// The page's conversions come from the library (Playground.modes()): the Conversion list is filled from
// it in its order, every conversion has its texts in English and Persian (its name, and its one-line
// explanation beside the settings), and a conversion the library adds later appears in the list and in
// the comparison without a change to the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, serve, launch, open } from './harness.mjs';

const DIST = join(ROOT, 'dist');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('the Conversion list is the library\'s modes, in its order, each named and explained in both languages', async () => {
  const server = await serve();
  try {
    const { page, errors } = await open(browser.context, server.url);
    const offered = await page.$$eval('#quant-mode option', (options) => options.map((o) => o.value));
    const { modes, en, fa } = await page.evaluate(async () => {
      const lib = await import(new URL('pkg/ptq_playground.js', location.href).href);
      const { tables } = await import(new URL('www/i18n.js', location.href).href);
      const { texts } = await import(new URL('www/options-i18n.js', location.href).href);
      return { modes: lib.Playground.modes(), en: { ...tables.en, ...texts.en }, fa: { ...tables.fa, ...texts.fa } };
    });
    assert.deepEqual(offered, modes.map((m) => m.id));
    assert.deepEqual(offered.slice(0, 6), ['float', 'dynamic-range', 'full-integer', 'integer-only-uint8', 'integer-only-int8', 'float16']);
    assert.equal(await page.getByTestId('quant-mode').inputValue(), 'integer-only-uint8');
    for (const { id } of modes) {
      for (const key of [`mode.${id}`, `opt.mode.${id}`]) {
        assert.ok(en[key], `no English text ${key}`);
        assert.match(fa[key] ?? '', /[\u0600-\u06FF]/, `no Persian text ${key}`);
      }
    }
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    server.close();
  }
});

test('a conversion the library adds appears in the list and the comparison, and the page explains what it cannot do', async () => {
  // dist/ whose wasm module lists one conversion more (one the library does not convert)
  const root = mkdtempSync(join(tmpdir(), 'ptq-modes-'));
  for (const name of readdirSync(DIST)) if (name !== 'pkg') symlinkSync(join(DIST, name), join(root, name));
  mkdirSync(join(root, 'pkg'));
  for (const name of readdirSync(join(DIST, 'pkg'))) if (name !== 'ptq_playground.js') symlinkSync(join(DIST, 'pkg', name), join(root, 'pkg', name));
  const glue = readFileSync(join(DIST, 'pkg', 'ptq_playground.js'), 'utf8');
  const changed = glue.replace('static modes() {', 'static modes() {\n        return [...Playground.libraryModes(), { id: "int4", file: "mnist_int4.tflite", calibrates: true }];\n    }\n    static libraryModes() {');
  assert.notEqual(changed, glue);
  writeFileSync(join(root, 'pkg', 'ptq_playground.js'), changed);
  const server = await serve(root);
  try {
    const { page, errors } = await open(browser.context, server.url);
    const offered = await page.$$eval('#quant-mode option', (options) => options.map((o) => o.value));
    assert.equal(offered.at(-1), 'int4');
    await page.getByTestId('options-open').click();
    await page.waitForSelector('body[data-options="ready"]');
    assert.equal(await page.getByTestId('cmp-mode-int4').isChecked(), true);
    await page.getByTestId('quant-mode').selectOption('int4');
    assert.match(await page.locator('#opt-mode-why').textContent(), /int4/);
    const error = page.locator('#quant-error');
    await error.waitFor({ state: 'visible', timeout: 60_000 });
    assert.match(await error.textContent(), /unknown mode "int4"/);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    server.close();
    rmSync(root, { recursive: true, force: true });
  }
});
