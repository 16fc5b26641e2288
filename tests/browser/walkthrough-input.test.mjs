// The input card after the teacher's walkthrough (issue 14), in Chromium (dist/): Previous and Next go
// on from the last test image after a drawing, and the true label shows only for a test image; the
// canvas draws from the keyboard alone (a cross moved by the arrow keys, Space for the pen, Delete to
// clear) through the same path as the pointer; on a phone the float-vs-quantized strip is on screen
// with the canvas, in English and in Persian. No long task on the page's thread while drawing.
// Screenshots go to test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { open, RESULTS, longTasksSince, servedBrowser, drawStroke } from './harness.mjs';

const site = servedBrowser({ longTasks: true });

const text = (page, id) => page.getByTestId(id).textContent();
/** The page's clock once the frames queued so far are drawn (the start of a drawing's time window). */
const settled = (page) => page.evaluate(() => new Promise((resolve) => {
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
}));

/** A vertical stroke with real mouse input, in the middle of the canvas. */
async function drawOne(page) {
  await drawStroke(page);
  await page.waitForFunction(() => document.querySelector('[data-testid=input-caption]').textContent === 'Your drawing'
    || document.querySelector('[data-testid=input-caption]').textContent === 'نقاشی شما');
}

/** Until the quantized panel shows a digit (either language). */
const predicted = (page) => page.waitForFunction(
  () => /^[0-9۰-۹]$/.test(document.querySelector('[data-testid=pred-quant]').textContent), null, { timeout: 5000 });

test('after a drawing, Next and Previous go on from the last test image; the true label shows only for a test image', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  const label = page.getByTestId('test-label');
  await page.getByTestId('test-index').fill('5');
  await page.getByTestId('test-index').press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=input-caption]').textContent.startsWith('Test image 5'));
  assert.equal(await label.isVisible(), true);

  await drawOne(page);
  assert.equal(await label.isVisible(), false, 'no true label for a drawing');
  await page.locator('#test-next').click();
  assert.equal(await page.getByTestId('test-index').inputValue(), '6');
  assert.match(await text(page, 'input-caption'), /^Test image 6,/);
  assert.equal(await label.isVisible(), true, 'the true label is back for a test image');

  await drawOne(page);
  await page.locator('#test-prev').click();
  assert.equal(await page.getByTestId('test-index').inputValue(), '5');
  assert.match(await text(page, 'input-caption'), /^Test image 5,/);

  await drawOne(page);
  await page.getByTestId('clear').click();
  assert.equal(await text(page, 'input-caption'), '–');
  assert.equal(await label.isVisible(), false, 'no true label once cleared');
  assert.equal(await text(page, 'strip-float'), '–');
  assert.equal(await text(page, 'strip-quant'), '–');
  await page.locator('#test-next').click();
  assert.equal(await page.getByTestId('test-index').inputValue(), '6');
  assert.equal(await label.isVisible(), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the canvas draws from the keyboard alone: Tab to it, arrows and Space draw a 1, Delete clears', async () => {
  const { page, errors } = await open(site.browser.context, site.server.url);
  // Tab from the top of the page until the canvas has the focus
  await page.locator('#lang').focus();
  for (let i = 0; i < 10 && !(await page.evaluate(() => document.activeElement?.id === 'draw')); i++) await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'draw', 'the canvas is reached with Tab');
  assert.equal(await page.locator('#draw-cursor').isVisible(), true, 'a cross shows where the keyboard pen is');
  assert.equal(await page.locator('#draw-keys').isVisible(), true, 'the keys are explained beside the canvas');
  const describedBy = await page.getByTestId('draw-canvas').getAttribute('aria-describedby');
  assert.equal(describedBy, 'draw-keys');

  // a vertical stroke: up from the centre, pen down, down in big steps, pen up
  const t0 = await settled(page);
  await page.keyboard.press('Shift+ArrowUp');
  await page.keyboard.press('Shift+ArrowUp');
  await page.keyboard.press('Space');
  for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+ArrowDown');
  await page.keyboard.press('Space');
  await page.waitForFunction(() => document.querySelector('[data-testid=input-caption]').textContent === 'Your drawing');
  await predicted(page);
  const pred = { float: await text(page, 'pred-float'), quant: await text(page, 'pred-quant') };
  assert.equal(pred.quant, '1', 'a vertical stroke is a 1');
  assert.equal(pred.float, pred.quant);
  assert.equal(await text(page, 'strip-float'), pred.float);
  assert.equal(await text(page, 'strip-quant'), pred.quant);
  assert.match(await page.locator('#strip-quant-pct').textContent(), /^\d+(\.\d)?%$/);
  // the pen up: moving no longer draws; the ink stays where it was
  const ink = () => page.evaluate(() => {
    const c = document.getElementById('draw');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) n += d[i] > 0;
    return n;
  });
  const before = await ink();
  assert.ok(before > 1000, `ink drawn from the keyboard: ${before} pixels`);
  await page.keyboard.press('Shift+ArrowRight');
  assert.equal(await ink(), before);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'draw', 'the focus stays on the canvas');

  await page.keyboard.press('Delete');
  assert.equal(await ink(), 0);
  assert.equal(await text(page, 'input-caption'), '–');
  assert.equal(await text(page, 'pred-quant'), '–');
  assert.equal(await text(page, 'strip-quant'), '–');
  assert.deepEqual(await longTasksSince(page, t0), [], 'no long task while drawing');
  assert.deepEqual(errors, []);
  await page.close();
});

for (const lang of ['en', 'fa']) {
  test(`on a phone the strip is on screen with the canvas and shows both predictions (${lang})`, async () => {
    const { page, errors } = await open(site.browser.context, `${site.server.url}?lang=${lang}`);
    await page.setViewportSize({ width: 390, height: 844 });
    const digits = lang === 'fa' ? /^[۰-۹]$/ : /^[0-9]$/;
    const inView = async (height = 844) => {
      for (const id of ['strip-float', 'strip-quant']) {
        const b = await page.getByTestId(id).boundingBox();
        assert.ok(b && b.y >= 0 && b.y + b.height <= height && b.x >= 0 && b.x + b.width <= 390, `${id} at ${JSON.stringify(b)}`);
      }
    };
    const same = async () => {
      assert.equal(await text(page, 'strip-float'), await text(page, 'pred-float'));
      assert.equal(await text(page, 'strip-quant'), await text(page, 'pred-quant'));
      assert.match(await text(page, 'strip-quant'), digits);
    };
    // the test image at load
    await same();
    // drawing with the canvas on screen
    await page.getByTestId('draw-canvas').scrollIntoViewIfNeeded();
    const t0 = await settled(page);
    await drawOne(page);
    await predicted(page);
    await same();
    await inView();
    await page.screenshot({ path: join(RESULTS, lang === 'fa' ? 'walkthrough-phone-fa.png' : 'walkthrough-phone.png') });
    assert.deepEqual(await longTasksSince(page, t0), [], 'no long task while drawing');
    // a shorter phone screen, the canvas's lower part below it: the strip stays at the bottom of the screen
    await page.setViewportSize({ width: 390, height: 600 });
    await page.evaluate(() => scrollTo(0, 0));
    const canvas = await page.getByTestId('draw-canvas').boundingBox();
    assert.ok(canvas.y < 600 && canvas.y + canvas.height > 600, `the canvas is partly below the screen: ${JSON.stringify(canvas)}`);
    await inView(600);
    // a conversion changes the quantized prediction's source: the strip follows
    await page.getByTestId('quant-mode').selectOption('float16');
    await page.waitForFunction(() => document.querySelector('#panel-quant-h').textContent.includes('16'));
    await same();
    assert.match(await page.locator('#strip-quant-name').textContent(), /16/);
    assert.deepEqual(errors, []);
    await page.close();
  });
}
