// The offline copy in Chromium (dist/): after one visit the page is ready, draws, converts, evaluates and
// (once the training set was fetched) trains with the network off; the manifest makes it installable; a
// new deployment waits beside the old one, is offered, and replaces its cache whole; with service workers
// blocked the page works from the network as before; installing the offline copy leaves no long task on
// the page's thread; the pages it serves are cross-origin isolated (their training workers share memory).
// Screenshots go to test-results/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, CHROMIUM, CHROMIUM_ARGS, serve, RESULTS, recordLongTasks, longTasksSince, drawStroke } from './harness.mjs';

const DIST = join(ROOT, 'dist');
const profiles = [];

before(() => mkdirSync(RESULTS, { recursive: true }));
after(() => {
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
});

/** A fresh Chromium profile (its own service workers and caches). */
async function browser(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'ptq-offline-'));
  profiles.push(profile);
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    args: CHROMIUM_ARGS,
    ...options,
  });
}

function watch(page) {
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
  return errors;
}

const ready = (page) => page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
/** Until the offline copy controls the page (it does once every listed file is cached). */
const controlled = (page) => page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });

async function drawOne(page) {
  await drawStroke(page);
  await page.waitForFunction(() => document.querySelector('[data-testid=pred-quant]').textContent === '1', null, { timeout: 5000 });
}

test('after one visit the page works with the network off, and the manifest makes it installable', async () => {
  const server = await serve();
  const context = await browser();
  try {
    const page = await context.newPage();
    const errors = watch(page);
    await recordLongTasks(page);
    await page.goto(server.url);
    await ready(page);
    assert.equal(await page.evaluate(() => crossOriginIsolated), false, 'the host sends no isolation headers');
    // the offline copy installs at the first pause in the drawing: no long task on the page, drawing or
    // installing
    const t0 = await page.evaluate(() => performance.now());
    await drawOne(page);
    await controlled(page);
    assert.deepEqual(await longTasksSince(page, t0), []);
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    assert.deepEqual(installabilityErrors, []);
    // one short training run online fetches the training set, which the offline copy then keeps
    await page.getByTestId('train-epochs').fill('1');
    await page.getByTestId('train-images').fill('64');
    await page.getByTestId('train-start').click();
    await page.waitForFunction(() => /done$/.test(document.querySelector('[data-testid=train-status]').textContent), null, { timeout: 300_000 });

    await context.setOffline(true);
    assert.equal(await page.evaluate(() => navigator.onLine), false);
    await page.goto(`${server.url}?lang=fa`);
    await ready(page);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fa');
    await page.goto(server.url.replace(/\/?$/, '/') + '?lang=en');
    await ready(page);
    await drawOne(page);
    // a conversion, then an evaluation of all 10,000 test images (the worker and its wasm build offline)
    await page.getByTestId('quant-mode').selectOption('integer-only-int8');
    await page.waitForFunction(() => document.querySelector('#panel-quant-h').textContent.includes('int8'));
    await page.getByTestId('eval-start').click();
    await page.getByTestId('acc-quant').waitFor({ timeout: 120_000 });
    assert.match(await page.getByTestId('acc-quant').textContent(), /\d/);
    // training offline, from the kept training set, on two workers: the offline copy's page is
    // cross-origin isolated, so they share memory
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'the offline copy isolates the page');
    await page.getByTestId('train-epochs').fill('1');
    await page.getByTestId('train-images').fill('64');
    await page.getByTestId('train-workers').fill('2');
    await page.getByTestId('train-start').click();
    await page.waitForFunction(() => /done$/.test(document.querySelector('[data-testid=train-status]').textContent), null, { timeout: 300_000 });
    assert.equal(await page.evaluate(() => globalThis.ptqPlayground.stats.train.exchange), 'shared');
    await page.screenshot({ path: join(RESULTS, 'offline.png'), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    server.close();
  }
});

test('a new deployment waits beside the old one, is offered, and replaces the old cache whole', async () => {
  const site = mkdtempSync(join(tmpdir(), 'ptq-site-'));
  profiles.push(site);
  cpSync(DIST, site, { recursive: true });
  const server = await serve(site);
  const context = await browser();
  try {
    const page = await context.newPage();
    const errors = watch(page);
    await page.goto(server.url);
    await ready(page);
    await controlled(page);
    const before = await page.evaluate(() => caches.keys());
    assert.equal(before.length, 1);
    // deploy again: one changed text, and the build's new version
    const i18n = join(site, 'www', 'i18n.js');
    writeFileSync(i18n, readFileSync(i18n, 'utf8').replace(/(['"])Ready: both models are loaded/, '$1Ready (new): both models are loaded'));
    const sw = join(site, 'sw.js');
    writeFileSync(sw, readFileSync(sw, 'utf8').replace(/version: "(\w+)"/, 'version: "$1-new"'));
    // the next visit still gets the old deployment, whole, and is offered the new one
    await page.reload();
    await ready(page);
    assert.match(await page.locator('#status').textContent(), /^Ready: both models/);
    await page.getByTestId('update').waitFor({ state: 'visible', timeout: 60_000 });
    await page.screenshot({ path: join(RESULTS, 'offline-update.png') });
    await Promise.all([page.waitForEvent('load', { timeout: 60_000 }), page.getByTestId('update').click()]);
    await ready(page);
    assert.match(await page.locator('#status').textContent(), /^Ready \(new\): both models/);
    const after = await page.evaluate(() => caches.keys());
    assert.deepEqual(after, [before[0] + '-new']);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    server.close();
  }
});

test('with service workers blocked the page works from the network', async () => {
  const server = await serve();
  const context = await browser({ serviceWorkers: 'block' });
  try {
    const page = await context.newPage();
    const errors = watch(page);
    await page.goto(server.url);
    await ready(page);
    await drawOne(page);
    assert.equal(await page.evaluate(() => navigator.serviceWorker.controller), null);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    server.close();
  }
});
