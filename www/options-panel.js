// The conversion settings beside the mode, loaded once the page is ready: calibration method, calibration
// set (one digit's images or others), per-tensor weights and static shapes, each with a one-line
// explanation and disabled with the reason where the chosen mode ignores it; the equivalent `ptq convert`
// command; and a strip of thumbnails of the images the last calibration used. Conversions with settings
// other than the defaults run in the worker (job 'convert'), which downloads the training set first when
// the set needs it; the page's thread only loads the file it sends back.

import { tables, t, tNodes } from './i18n.js';
import { texts } from './options-i18n.js';
import { $, session, site, showError } from './page.js';
import * as view from './view.js';
import { addHandlers, post } from './worker-client.js';
import { currentSettings, takeConverted, useOptions } from './quant-panel.js';

for (const [lang, table] of Object.entries(texts)) Object.assign(tables[lang], table);

const METHODS = ['minmax', 'percentile', 'entropy', 'mse'];
const SETS = ['first', 'random', 'digit', 'blank', 'noise'];
/** Thumbnails drawn at most. */
const STRIP_MAX = 48;

let built = false;
/** Id of the latest conversion sent to the worker; older answers are dropped. */
let latest = 0;
let representativeSent = false;
let shown = null; // {settings, images} of the strip

const calibrates = (mode) => mode === 'full-integer' || mode.startsWith('integer-only');

function field(id, labelKey, control, whyKey) {
  return view.el('div', { class: 'option' },
    view.el('label', { for: id }, view.el('span', { 'data-i18n': labelKey })),
    control,
    view.el('p', { class: 'small', id: `${id}-why`, 'data-i18n': whyKey }));
}

function select(id, values, prefix) {
  return view.el('select', { id, 'data-testid': id, 'aria-describedby': `${id}-why opt-off` },
    ...values.map((v) => view.el('option', { value: v, 'data-i18n': `${prefix}${v}` })));
}

function checkbox(id) {
  return view.el('input', { id, type: 'checkbox', 'data-testid': id, 'aria-describedby': `${id}-why opt-off` });
}

function build() {
  const box = $('quant-options');
  const digit = view.el('input', { id: 'opt-digit', type: 'number', min: 0, max: 9, value: 0, inputmode: 'numeric', 'data-testid': 'opt-digit' });
  const digitLabel = view.el('label', { id: 'opt-digit-label', hidden: true },
    view.el('span', { 'data-i18n': 'opt.digit' }), digit);
  const set = field('opt-set', 'opt.set', select('opt-set', SETS, 'opt.s.'), 'opt.set-why');
  set.append(digitLabel);
  const perTensor = field('opt-per-tensor', 'opt.per-tensor', checkbox('opt-per-tensor'), 'opt.per-tensor-why');
  const calibrationOff = view.el('p', { class: 'small off', id: 'opt-off', 'data-i18n': 'opt.no-calibration', hidden: true });
  box.append(
    view.el('div', { class: 'form options' },
      field('opt-method', 'opt.method', select('opt-method', METHODS, 'opt.m.'), 'opt.method-why'),
      set,
      perTensor,
      field('opt-static', 'opt.static', checkbox('opt-static'), 'opt.static-why')),
    calibrationOff,
    view.el('p', { class: 'small cli', id: 'opt-cli', 'data-testid': 'opt-cli' }),
    view.el('p', { class: 'small', id: 'opt-status', role: 'status' }),
    view.el('figure', { class: 'strip' },
      view.el('figcaption', { class: 'small', id: 'opt-strip-caption' }),
      view.el('div', { class: 'thumbs', id: 'opt-strip', 'data-testid': 'opt-strip' })));
  for (const id of ['opt-method', 'opt-set', 'opt-digit', 'opt-per-tensor', 'opt-static']) {
    $(id).addEventListener('change', changed);
  }
  $('opt-static').setAttribute('aria-describedby', 'opt-static-why');
  built = true;
}

/** The settings beyond mode and samples, as Playground.quantize_with takes them. */
function settings() {
  const set = $('opt-set').value;
  const d = Math.min(9, Math.max(0, Math.trunc(Number($('opt-digit').value)) || 0));
  return {
    method: $('opt-method').value,
    set: set === 'digit' ? `digit:${d}` : set,
    per_tensor: $('opt-per-tensor').checked,
    static_shapes: $('opt-static').checked,
  };
}

/** The `ptq convert` command that writes the same file. */
function command(s) {
  const [mode, io] = s.mode.startsWith('integer-only-') ? ['integer-only', s.mode.slice(13)] : [s.mode, null];
  const args = ['ptq convert --in mnist_float.tflite', `--mode ${mode}`];
  if (io && io !== 'uint8') args.push(`--io ${io}`);
  if (calibrates(s.mode)) {
    if (s.samples !== 100) args.push(`--calibration-samples ${s.samples}`);
    if (s.set !== 'first') args.push(`--calibration-set ${s.set}`);
    if (s.method !== 'minmax') args.push(`--calibration ${s.method}`);
    if (s.per_tensor) args.push('--per-tensor');
  }
  if (s.static_shapes) args.push('--static-shapes');
  args.push('--out model.tflite');
  return args.join(' ');
}

/** Enable what the mode uses; say why the rest is off. */
function refresh() {
  const s = currentSettings();
  const on = calibrates(s.mode);
  for (const id of ['opt-method', 'opt-set', 'opt-digit', 'opt-per-tensor']) $(id).disabled = !on;
  $('opt-off').hidden = on;
  $('opt-digit-label').hidden = $('opt-set').value !== 'digit';
  $('opt-cli').textContent = '';
  $('opt-cli').append(tNodes('opt.cli', { cmd: view.el('code', { dir: 'ltr' }, command(s)) }));
}

function changed() {
  refresh();
  $('quant-mode').dispatchEvent(new Event('change'));
}

/** Send a conversion to the worker (the quantization panel calls this for non-default settings). */
function convert(s) {
  const id = ++latest;
  const msg = {
    type: 'convert', id, settings: s,
    float: session.pg.model_bytes('float'),
    files: {
      images: site('data/train-images-idx3-ubyte.gz'),
      labels: site('data/train-labels-idx1-ubyte.gz'),
      sizes: {
        images: session.siteInfo?.files?.['train-images-idx3-ubyte.gz'] ?? 0,
        labels: session.siteInfo?.files?.['train-labels-idx1-ubyte.gz'] ?? 0,
      },
    },
  };
  if (!representativeSent) {
    msg.representative = session.representative;
    representativeSent = true;
  }
  $('opt-status').textContent = t('opt.s-converting');
  post(msg);
}

function onStatus(msg) {
  if (msg.id !== undefined && msg.id !== latest) return;
  $('opt-status').textContent = t(msg.status === 'downloading' ? 'opt.s-downloading' : 'opt.s-converting');
}

function onResult(msg) {
  if (msg.id !== latest) return;
  $('opt-status').textContent = '';
  takeConverted(msg.bytes, msg.settings, msg.ms);
  drawStrip(msg.settings, msg.images);
  // for tests: which conversion the quantized panel shows
  $('quant-options').dataset.converted = command(msg.settings);
}

function onError(msg) {
  if (msg.id !== latest) return;
  $('opt-status').textContent = '';
  showError('quant-error', 'quant.failed', { msg: msg.message });
}

/** The page converted on its own thread with the default set: its first `samples` representative images. */
function pageConverted(s) {
  latest++; // a conversion still in the worker is older than this one
  $('quant-options').dataset.converted = command(s);
  if (!calibrates(s.mode)) return drawStrip(s, null);
  const idx = session.representative;
  const n = Math.min(s.samples, (idx.length - 16) / 784);
  return drawStrip(s, idx.subarray(16, 16 + n * 784));
}

function drawStrip(s, images) {
  shown = { s, images };
  const strip = $('opt-strip');
  strip.textContent = '';
  const n = images ? images.length / 784 : 0;
  const caption = $('opt-strip-caption');
  if (!n) {
    caption.textContent = t('opt.strip-none');
    return;
  }
  caption.textContent = `${t('opt.strip', { n })}${n > STRIP_MAX ? ` ${t('opt.strip-more', { shown: STRIP_MAX })}` : ''}`;
  for (let i = 0; i < Math.min(n, STRIP_MAX); i++) {
    const c = view.el('canvas', { width: 28, height: 28 });
    view.drawPixels(c, images.subarray(i * 784, (i + 1) * 784));
    strip.append(c);
  }
}

/** Build the controls once, then follow the mode. */
export function open() {
  if (!built) {
    build();
    addHandlers({ convert: { status: onStatus, progress: () => {}, result: onResult, error: onError } });
    useOptions({ settings, convert, shown: pageConverted });
    $('quant-mode').addEventListener('change', refresh);
    $('calib-samples').addEventListener('change', refresh);
  }
  relabel();
  pageConverted(currentSettings());
}

/** Texts in the current language. */
export function relabel() {
  const box = $('quant-options');
  for (const el of box.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  refresh();
  if (shown) drawStrip(shown.s, shown.images);
}

