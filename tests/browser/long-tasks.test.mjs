// The harness's long-task check itself (tests/browser/harness.mjs): a script that keeps the page's
// thread busy for 150 ms is reported with its CPU time, also where it runs as an import() resolves; a
// quiet page reports nothing; and a task that is long by the clock only because its thread was not
// running (its process stopped for 150 ms, as a thread waits while others hold the CPUs) is left out,
// though the browser reports it as a long task.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, launch, recordLongTasks, longTasksSince } from './harness.mjs';

let server;
let browser;
let dir;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptq-long-tasks-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>long tasks</title><p>quiet</p>');
  writeFileSync(join(dir, 'm.js'), 'export const m = 1;\n');
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

test('a long task where an import() resolves (a microtask checkpoint, not a task the scheduler runs) has its CPU time too', async () => {
  const page = await browser.context.newPage();
  await page.goto(server.url);
  await busy(page, 30);
  const t0 = await page.evaluate(() => performance.now());
  await page.evaluate(() => import(`./m.js?${Math.random()}`).then(() => {
    const end = performance.now() + 150;
    while (performance.now() < end);
  }));
  await page.waitForTimeout(100);
  const long = await longTasksSince(page, t0);
  assert.equal(long.length, 1, JSON.stringify(long));
  assert.ok(long[0].ms >= 150 && long[0].cpu > 50, JSON.stringify(long));
  assert.match(long[0].scripts?.join(' ') ?? '', /import\.then/);
  await page.close();
});

/** CPU time (ms) of the main thread of each process in `pids` (Linux: its tid is the pid). */
function mainThreadCpu(pids) {
  return pids.map((pid) => Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6);
}

test('a task long by the clock only because its process was not running is not the page\'s long task', async () => {
  const page = await browser.context.newPage();
  await page.goto(server.url);
  await busy(page, 30);
  const renderers = execFileSync('pgrep', ['-f', 'type=renderer'], { encoding: 'utf8' }).trim().split('\n');
  const t0 = await page.evaluate(() => performance.now());
  // the page spins until its clock jumps by 100 ms between two readings; once its thread has spun for
  // 10 ms on the CPU, its renderer is stopped for 150 ms, then let go on
  const before = mainThreadCpu(renderers);
  const spun = page.evaluate(() => new Promise((resolve) => setTimeout(() => {
    const start = performance.now();
    let last = start;
    for (;;) {
      const now = performance.now();
      if (now - last > 100 || now - start > 5000) return resolve(now - last);
      last = now;
    }
  }, 0)));
  let stopped = null;
  for (let i = 0; i < 500 && !stopped; i++) {
    await new Promise((r) => setTimeout(r, 2));
    stopped = renderers.find((pid, k) => mainThreadCpu([pid])[0] - before[k] > 10);
  }
  assert.ok(stopped, 'the page\'s thread spun');
  process.kill(Number(stopped), 'SIGSTOP');
  await new Promise((r) => setTimeout(r, 150));
  process.kill(Number(stopped), 'SIGCONT');
  assert.ok(await spun > 100, 'the page saw its clock jump');
  await page.waitForTimeout(100);
  const byClock = await page.evaluate((a) => globalThis.__longTasks.filter((x) => x.start >= a), t0);
  assert.ok(byClock.length === 1 && byClock[0].ms > 150, `the browser reports the task as long: ${JSON.stringify(byClock)}`);
  assert.deepEqual(await longTasksSince(page, t0), []);
  await page.close();
});
