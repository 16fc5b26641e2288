// The Input card: the drawing pad and the MNIST test images, which set the current input every model
// predicts on, and the 28×28 view of what the models see.
// The pad draws with a pointer or from the keyboard (draw.js); the strip under it (strip.js) shows both
// predictions next to the drawing.

import { Playground } from '../pkg/ptq_playground.js';
import { t, num } from './i18n.js';
import { DrawPad } from './draw.js';
import * as view from './view.js';
import { $, session, stats, showError, hideError, message } from './page.js';
import { predictAll } from './quant-panel.js';
import { renderStrip } from './strip.js';

let pad;
/** The last test image shown: Previous and Next go on from it after a drawing. */
let lastIndex = null;

/** Start listening to the drawing canvas (pointer and keyboard). */
export function attachPad() {
  pad = new DrawPad($('draw'), onDraw, {
    cursor: $('draw-cursor'),
    onPen: (down) => {
      $('draw-pen').textContent = t(down ? 'draw.pen-down' : 'draw.pen-up');
    },
    onClear: clearDrawing,
  });
}

function onDraw() {
  if (pad.empty || !session.pg) return;
  const { pixels, width, height } = pad.gray();
  const t0 = performance.now();
  let input;
  try {
    input = Playground.preprocess(pixels, width, height);
  } catch (err) {
    console.warn(`preprocessing failed: ${message(err)}`);
    return;
  }
  const prep = performance.now() - t0;
  session.input = { pixels: input, source: 'draw' };
  const ms = prep + predictAll();
  stats.inference.push(ms);
  if (stats.inference.length > 1000) stats.inference.shift();
  renderInput();
}

export function clearDrawing() {
  pad.clear();
  if (session.input?.source === 'draw') {
    session.input = null;
    renderInput();
    predictAll();
    renderStrip(null);
  }
}

/** Let the index field go up to the last test image (once the test set is loaded); the arrow keys step
 * through the images (the field is text, so that it can show the number in the page's digits). */
export function limitIndex() {
  $('test-index').dataset.max = String(session.testCount - 1);
  $('test-index').addEventListener('keydown', (e) => {
    const step = { ArrowUp: selectNext, ArrowDown: selectPrevious }[e.key];
    if (!step) return;
    e.preventDefault();
    step();
  });
}

/** Show image number `index` in the field, in the language's digits (`data-index` keeps it in ASCII). */
function showIndex(index) {
  const field = $('test-index');
  field.value = num(index, { useGrouping: false });
  field.dataset.index = String(index);
}

/** A number typed in Latin, Persian or Arabic-Indic digits (NaN for anything else). */
function typedNumber(text) {
  const ascii = text.trim().replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660));
  return /^\d+$/.test(ascii) ? Number(ascii) : NaN;
}

export function selectTest(index) {
  const max = session.testCount - 1;
  if (!Number.isInteger(index) || index < 0 || index > max) {
    showError('test-error', 'test.range', { max });
    return;
  }
  hideError('test-error');
  try {
    session.input = { pixels: session.pg.test_image(index), source: 'test', index, label: session.pg.test_label(index) };
  } catch (err) {
    showError('test-error', 'status.failed', { msg: message(err) });
    return;
  }
  lastIndex = index;
  showIndex(index);
  $('test-label').textContent = num(session.input.label);
  $('test-label').dataset.value = String(session.input.label);
  pad.clear();
  renderInput();
  predictAll();
  document.dispatchEvent(new Event('ptq:input'));
}

/** The test image whose number is in the index field. */
export const selectTyped = () => selectTest(typedNumber($('test-index').value));
export const selectPrevious = () => selectTest(Math.max(0, (lastIndex ?? 1) - 1));
export const selectNext = () => selectTest(Math.min(session.testCount - 1, (lastIndex ?? -1) + 1));
export const selectRandom = () => selectTest(Math.floor(Math.random() * session.testCount));

function renderInput() {
  const inp = session.input;
  view.drawPixels($('input28'), inp?.pixels);
  $('input-caption').textContent = !inp ? '–' : inp.source === 'draw' ? t('input.drawing') : t('input.test', { i: inp.index, label: inp.label });
  // a true label only for a test image (not for a drawing, nor once cleared)
  $('test-label-row').hidden = inp?.source !== 'test';
}

/** Show the caption, the true label, the strip and the pen's state again in the current language. */
export function relabel() {
  renderInput();
  if (session.input?.source === 'test') $('test-label').textContent = num(session.input.label);
  if (lastIndex !== undefined && lastIndex !== null) showIndex(lastIndex);
  renderStrip(session.input ? session.pred : null);
  if ($('draw-pen').textContent) $('draw-pen').textContent = t(pad.pen ? 'draw.pen-down' : 'draw.pen-up');
}
