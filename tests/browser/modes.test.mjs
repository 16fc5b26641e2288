// The page's conversions come from the library (Playground.modes(), then Playground.extra_modes()): the
// Conversion options in index.html must list the same ids in the same order, and a page whose options differ refuses to start
// with a message instead of offering a conversion the library does not have.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

test('the Conversion options are the library\'s modes, in its order', async () => {
  const server = await serve();
  try {
    const { page, errors } = await open(browser.context, server.url);
    const offered = await page.$$eval('#quant-mode option', (options) => options.map((o) => o.value));
    const modes = await page.evaluate(async () => {
      const lib = await import(new URL('pkg/ptq_playground.js', location.href).href);
      return [...lib.Playground.modes(), ...lib.Playground.extra_modes()];
    });
    assert.deepEqual(offered, modes.map((m) => m.id));
    assert.deepEqual(offered.slice(5), ['float16']);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    server.close();
  }
});

test('a page whose Conversion options differ from the library\'s does not start, and says why', async () => {
  // dist/ with an index.html that offers one conversion more
  const root = mkdtempSync(join(tmpdir(), 'ptq-modes-'));
  for (const name of readdirSync(DIST)) if (name !== 'index.html') symlinkSync(join(DIST, name), join(root, name));
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const changed = html.replace('<option value="float"', '<option value="integer-only"></option>\n        <option value="float"');
  assert.notEqual(changed, html);
  writeFileSync(join(root, 'index.html'), changed);
  const server = await serve(root);
  try {
    const page = await browser.context.newPage();
    await page.goto(server.url);
    const error = page.locator('#load-error');
    await error.waitFor({ state: 'visible', timeout: 60_000 });
    assert.match(await error.textContent(), /^The page could not start: the conversions offered \(integer-only, float, .+\) are not the library's \(float, /);
    assert.equal(await page.locator('body').getAttribute('data-ready'), 'false');
    assert.equal(await page.getByTestId('download-quant').isEnabled(), false);
    await page.close();
  } finally {
    server.close();
    rmSync(root, { recursive: true, force: true });
  }
});
