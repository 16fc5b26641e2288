// The harness's long-task check itself (tests/browser/harness.mjs): a script that keeps the page's
// thread busy for 150 ms is reported with its CPU time; a quiet page reports nothing; and a task that
// is long by the clock only because another process held the thread's CPU is left out, while the same
// task by the clock is a long task to the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, launch, recordLongTasks, longTasksSince } from './harness.mjs';

let server;
let browser;
let dir;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptq-long-tasks-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>long tasks</title><p>quiet</p>');
  server = await serve(dir);
  browser = await launch();
  await recordLongTasks(browser.context);
});
after(async () => {
  await browser?.close();
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Keep the page's thread busy for `ms` by the clock, in a task of its own; resolves when it has run. */
function busy(page, ms) {
  return page.evaluate((n) => new Promise((resolve) => setTimeout(() => {
    const end = performance.now() + n;
    while (performance.now() < end);
    setTimeout(resolve, 20);
  }, 0)), ms);
}

test('a task that keeps the page\'s thread busy for 150 ms is a long task, with its CPU time; a quiet page has none', async () => {
  const page = await browser.context.newPage();
  await page.goto(server.url);
  await busy(page, 30);
  const t0 = await page.evaluate(() => performance.now());
  await busy(page, 150);
  const long = await longTasksSince(page, t0);
  assert.equal(long.length, 1, JSON.stringify(long));
  assert.ok(long[0].ms >= 150 && long[0].cpu > 50, JSON.stringify(long));
  const t1 = await page.evaluate(() => performance.now());
  await page.waitForTimeout(300);
  assert.deepEqual(await longTasksSince(page, t1), []);
  await page.close();
});

test('a task long by the clock only because another process held its CPU is not the page\'s long task', async () => {
  const page = await browser.context.newPage();
  await page.goto(server.url);
  // the browser's renderers, every thread of them, on CPU 0
  const renderers = execFileSync('pgrep', ['-f', 'type=renderer'], { encoding: 'utf8' }).trim().split('\n');
  for (const pid of renderers) execFileSync('taskset', ['-a', '-p', '-c', '0', pid], { stdio: 'ignore' });
  // a process that wants CPU 0 all the time: the page's thread gets about half of it
  const hog = spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' });
  execFileSync('taskset', ['-p', '-c', '0', String(hog.pid)], { stdio: 'ignore' });
  try {
    await page.waitForTimeout(100);
    await busy(page, 30);
    const t0 = await page.evaluate(() => performance.now());
    await busy(page, 70);
    const byClock = await page.evaluate((a) => globalThis.__longTasks.filter((x) => x.start >= a), t0);
    assert.equal(byClock.length, 1, 'the browser reports the task as long');
    assert.deepEqual(await longTasksSince(page, t0), []);
  } finally {
    hog.kill();
  }
  await page.close();
});
