// The deployment check beside the settings: for the page's conversions, with and without static shapes,
// the verdict per operator (maps or not, why, where it runs) and the counts are those of `ptq inspect
// --deploy --json` on the downloaded file; the static-shapes switch changes it; the view says it is a
// lint, not the vendor's compiler; the reasons read in Persian; no long task on the page's thread.
// Screenshots go to test-results/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serve, launch, open, PTQ, RESULTS, recordLongTasks, longTasksSince } from './harness.mjs';

const DIR = join(RESULTS, 'deploy');

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

/** Choose a conversion and static shapes, and wait until the check shown is the new model's. */
async function choose(page, mode, staticShapes) {
  await page.getByTestId('quant-mode').selectOption(mode);
  await page.getByTestId('opt-static').setChecked(staticShapes);
  const cmd = await page.locator('#opt-cli code').textContent();
  await page.waitForFunction((c) => document.getElementById('options-body').dataset.converted === c, cmd, { timeout: 60_000 });
  const file = await page.getByTestId('download-quant').getAttribute('download');
  await page.waitForFunction((f) => {
    const table = document.querySelector('[data-testid=dep-table]');
    return table?.dataset.check && table.querySelector('caption') && document.getElementById('download-quant').download === f
      && table.dataset.for === f;
  }, file, { timeout: 60_000 });
  return JSON.parse(await page.getByTestId('dep-table').getAttribute('data-check'));
}

test('the deployment check is `ptq inspect --deploy` of the converted file, and static shapes change it', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.getByTestId('options-open').click();
  await page.waitForSelector('body[data-options="ready"]');
  assert.match(await page.locator('#options-body .deploy').textContent(), /not the vendor’s compiler/);
  const t0 = await page.evaluate(() => performance.now());
  const seen = [];
  for (const [mode, staticShapes] of [['integer-only-uint8', false], ['integer-only-uint8', true], ['full-integer', true],
    ['integer-only-int8', true], ['float16', false], ['dynamic-range', true]]) {
    const check = await choose(page, mode, staticShapes);
    // the rows as shown: one per operator, its verdict, where it runs and why
    const rows = await page.$$eval('[data-testid=dep-table] tbody tr', (trs) => trs.map((tr) => ({
      op: Number(tr.dataset.op), maps: tr.dataset.maps === 'true', placement: tr.dataset.placement,
      why: tr.lastElementChild.innerText.split('\n'),
    })));
    seen.push({ mode, staticShapes, check, rows, summary: await page.getByTestId('dep-summary').textContent() });
  }
  assert.deepEqual(await longTasksSince(page, t0), []);
  await page.locator('#options-body .deploy').screenshot({ path: join(RESULTS, 'deploy-en.png') });
  // the same files, downloaded, through the CLI
  for (const [i, s] of seen.entries()) {
    await choose(page, s.mode, s.staticShapes);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-quant').click()]);
    const path = join(DIR, `${i}_${dl.suggestedFilename()}`);
    await dl.saveAs(path);
    const cli = JSON.parse(execFileSync(PTQ, ['inspect', '--deploy', '--json', path], { encoding: 'utf8' }));
    // (the wasm boundary leaves out a field that is None; the CLI's JSON has it as null)
    assert.deepEqual({ first_unmapped: null, ...s.check }, cli, `${s.mode} static=${s.staticShapes}`);
    assert.equal(s.rows.length, cli.ops.length);
    for (const [j, o] of cli.ops.entries()) {
      assert.deepEqual(s.rows[j], {
        op: o.op_index, maps: o.maps, placement: o.placement,
        why: o.maps ? [o.placement === 'accelerator' ? 'maps' : 'maps, but follows an operator that does not'] : o.reasons,
      });
    }
    const split = cli.first_unmapped === null ? 'The whole model maps.' : `From operator ${cli.first_unmapped} (${cli.ops[cli.first_unmapped].op_name}) on, everything runs on the CPU.`;
    assert.equal(s.summary, `${cli.mapped} of ${cli.ops.length} operators run on the accelerator. ${split}`);
  }
  // static shapes: the integer-only model maps whole; without them nothing does
  assert.equal(seen[0].check.mapped, 0);
  assert.equal(seen[1].check.mapped, seen[1].check.ops.length);
  // Persian: the reasons in Persian words around the tensor names
  await choose(page, 'integer-only-uint8', false);
  await page.getByTestId('lang').selectOption('fa');
  const why = await page.locator('[data-testid=dep-table] tbody tr td:last-child').allInnerTexts();
  assert.ok(why.every((w) => /[\u0600-\u06FF]/.test(w) && !/run time|quantized|not /.test(w)), why.join('\n'));
  await page.locator('#options-body .deploy').screenshot({ path: join(RESULTS, 'deploy-fa.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
