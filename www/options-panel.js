// The panel beside the mode, imported when first opened: the conversion settings (what the chosen
// conversion does, calibration method, calibration set, per-tensor weights, static shapes), each with a
// one-line explanation and disabled with the reason where the conversion ignores it; the equivalent
// `ptq convert` command; a strip of the images the last calibration used; and, below, the deployment
// check (options-deploy.js) and the comparison of every conversion (options-compare.js). Once this panel
// is loaded, conversions run in the worker (job 'convert', which downloads the training set first when
// the set needs it); the page's thread only loads the file it sends back, and the Quantization card's
// link (and one in the status line) then downloads it under a name that says its settings.

import { tables, t, tNodes } from './i18n.js';
import { texts } from './options-i18n.js';
import { $, session, stats, showError, hideError, message, nextTask } from './page.js';
import * as view from './view.js';
import { answer, request, stylesheet } from './panel-support.js';
import { currentSettings, predictAll, renderModels, useOptions } from './quant-panel.js';
import { METHODS, SETS, calibrates, effective, command, fileName, setName, conversionBody } from './options-settings.js';
import * as deploy from './options-deploy.js';
import * as compare from './options-compare.js';
import * as tfcode from './options-tfcode.js';

for (const [lang, table] of Object.entries(texts)) Object.assign(tables[lang], table);
answer(['convert', 'deploy', 'compare']);
// the panel's styles come with it, before it draws anything
await stylesheet(new URL('./options.css', import.meta.url).href);

/** Thumbnails drawn at most. */
const STRIP_MAX = 48;

let built = false;
/** Number of the latest conversion (the page's or the worker's); older answers are dropped. */
let latest = 0;
let shown = null; // {s, n}: the settings and number of images of the strip
let lastInfo = null; // the quantized model's info when the strip was last drawn

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

function checkbox(id, describedBy) {
  return view.el('input', { id, type: 'checkbox', 'data-testid': id, 'aria-describedby': describedBy });
}

function build() {
  const box = $('options-body');
  const digit = view.el('input', { id: 'opt-digit', type: 'number', min: 0, max: 9, value: 0, inputmode: 'numeric', 'data-testid': 'opt-digit' });
  const set = field('opt-set', 'opt.set', select('opt-set', SETS, 'opt.s.'), 'opt.set-why');
  set.append(view.el('label', { id: 'opt-digit-label', hidden: true }, view.el('span', { 'data-i18n': 'opt.digit' }), digit));
  box.append(
    view.el('h3', { 'data-i18n': 'opt.title' }),
    view.el('p', { class: 'small', id: 'opt-mode-why', 'data-testid': 'opt-mode-why' }),
    view.el('div', { class: 'form options' },
      field('opt-method', 'opt.method', select('opt-method', METHODS, 'opt.m.'), 'opt.method-why'),
      set,
      field('opt-per-tensor', 'opt.per-tensor', checkbox('opt-per-tensor', 'opt-per-tensor-why opt-off'), 'opt.per-tensor-why'),
      field('opt-static', 'opt.static', checkbox('opt-static', 'opt-static-why'), 'opt.static-why')),
    view.el('p', { class: 'small off', id: 'opt-off', 'data-testid': 'opt-off', hidden: true }),
    view.el('p', { class: 'small cli', id: 'opt-cli', 'data-testid': 'opt-cli' }),
    tfcode.build(),
    view.el('p', { class: 'small', id: 'opt-status', role: 'status' }),
    view.el('figure', { class: 'strip' },
      view.el('figcaption', { class: 'small', id: 'opt-strip-caption' }),
      view.el('canvas', { class: 'thumbs', id: 'opt-strip', 'data-testid': 'opt-strip', role: 'img', hidden: true })),
    deploy.build(),
    compare.build());
  for (const id of ['opt-method', 'opt-set', 'opt-digit', 'opt-per-tensor', 'opt-static']) {
    $(id).addEventListener('change', changed);
  }
  built = true;
}

/** The settings beyond mode and samples, as Playground.quantize_with takes them (the calibration
 * settings at their defaults where the form's conversion does not calibrate). */
function settings() {
  const set = $('opt-set').value;
  const d = Math.min(9, Math.max(0, Math.trunc(Number($('opt-digit').value)) || 0));
  const { method, set: chosen, per_tensor, static_shapes } = effective({
    mode: $('quant-mode').value,
    method: $('opt-method').value,
    set: set === 'digit' ? `digit:${d}` : set,
    per_tensor: $('opt-per-tensor').checked,
    static_shapes: $('opt-static').checked,
  });
  return { method, set: chosen, per_tensor, static_shapes };
}

/** What the chosen conversion does; enable what it uses and say why the rest is off. */
function refresh() {
  const s = currentSettings();
  const on = calibrates(s.mode);
  const about = `opt.mode.${s.mode}`;
  $('opt-mode-why').textContent = about in tables.en ? t(about) : t('opt.mode.other', { mode: s.mode });
  for (const id of ['opt-method', 'opt-set', 'opt-digit', 'opt-per-tensor']) $(id).disabled = !on;
  $('opt-off').hidden = on;
  $('opt-off').textContent = t('opt.no-calibration', { mode: t(`mode.${s.mode}`) });
  $('opt-digit-label').hidden = $('opt-set').value !== 'digit';
  $('opt-cli').replaceChildren(tNodes('opt.cli', { cmd: view.el('code', { dir: 'ltr' }, s.samples === null ? '…' : command(s)) }));
  tfcode.update(s, fileName(s));
}

function changed() {
  refresh();
  $('quant-mode').dispatchEvent(new Event('change'));
}

/** For the quantization panel: once this panel is loaded, every conversion runs in the worker (the
 * calibration methods and sets take longer than a frame, and the page's thread stays free). */
function converts(s) {
  convert(s);
  return true;
}

/** Load a model the worker converted (the bytes of its file, saved as `file`) and show its details;
 * false if it does not load (the previous one stays). The predictions follow in a task of their own. */
function takeConverted(bytes, ms, file) {
  try {
    session.info.quant = session.pg.load_model('quant', bytes);
    session.info.quant.file = file;
  } catch (err) {
    showError('quant-error', 'quant.failed', { msg: message(err) });
    return false;
  }
  stats.quantizeMs.push(ms);
  hideError('quant-error');
  $('quant-time').textContent = t('quant.time', { ms: Math.round(ms) });
  renderModels();
  return true;
}

/** The status line: [key, vars] (`opt.s-done` with the converted model's download link), or null. */
let status = null;

function showStatus(key, vars = {}) {
  status = key ? [key, vars] : null;
  const line = $('opt-status');
  const info = session.info.quant;
  if (!status) line.replaceChildren();
  else if (key !== 'opt.s-done') line.textContent = t(key, vars);
  else if (info === vars.info) {
    // the file, where the settings are (the Quantization card's link below downloads it too)
    const a = $('download-quant');
    line.replaceChildren(tNodes(key, { ms: vars.ms, link: view.el('a', {
      href: a.href, download: a.download, 'data-testid': 'opt-download', text: t('download.file', { file: a.download, size: view.kb(info.bytes) }),
    }) }));
  } else showStatus(null);
}

/** Convert in the worker. */
async function convert(s) {
  const mine = ++latest;
  showStatus('opt.s-converting');
  const onProgress = (m) => {
    if (mine !== latest) return;
    if (m.type === 'progress') showStatus('opt.s-downloading-pct', { pct: Math.round((100 * m.loaded) / Math.max(m.total, 1)) });
    else showStatus(m.status === 'converting' ? 'opt.s-converting' : 'opt.s-downloading');
  };
  try {
    const msg = await request('convert', { settings: s, ...conversionBody() }, { onProgress });
    if (mine !== latest) return;
    if (!takeConverted(msg.bytes, msg.ms, fileName(msg.settings))) return showStatus(null);
    showStatus('opt.s-done', { ms: Math.round(msg.ms), info: session.info.quant });
    // the predictions, then the strip, each in a task of its own
    await nextTask();
    predictAll();
    await nextTask();
    if (mine !== latest) return;
    drawStrip(msg.settings, msg.images);
    // for tests: which conversion the quantized panel shows
    $('options-body').dataset.converted = command(msg.settings);
  } catch (err) {
    if (mine !== latest) return;
    showStatus(null);
    showError('quant-error', 'quant.failed', { msg: message(err) });
  }
}

/** The page converted on its own thread with the default set: its first `samples` representative images. */
function pageConverted(s) {
  latest++; // a conversion still in the worker is older than this one
  showStatus(null);
  $('options-body').dataset.converted = command(s);
  if (!calibrates(s.mode)) return drawStrip(s, null);
  const idx = session.representative;
  const n = Math.min(s.samples, (idx.length - 16) / 784);
  return drawStrip(s, idx.subarray(16, 16 + n * 784));
}

/** Draw the calibration images (at most STRIP_MAX) into the strip's one canvas, 1 px apart. */
function drawStrip(s, images) {
  shown = { s, n: images ? images.length / 784 : 0 };
  const canvas = $('opt-strip');
  const count = Math.min(shown.n, STRIP_MAX);
  const cols = Math.min(count, 24);
  const rows = Math.ceil(count / cols) || 0;
  canvas.width = cols * 29 - 1;
  canvas.height = rows * 29 - 1;
  canvas.hidden = !count;
  canvas.dataset.count = String(count);
  if (count) {
    const ctx = canvas.getContext('2d');
    const img = ctx.createImageData(canvas.width, canvas.height);
    const d = img.data;
    for (let i = 0; i < count; i++) {
      const x0 = (i % cols) * 29;
      const y0 = Math.floor(i / cols) * 29;
      for (let p = 0; p < 784; p++) {
        const o = ((y0 + Math.floor(p / 28)) * canvas.width + x0 + (p % 28)) * 4;
        d[o] = d[o + 1] = d[o + 2] = images[i * 784 + p];
        d[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }
  captionStrip();
}

function captionStrip() {
  const { s, n } = shown;
  const text = n ? `${t('opt.strip', { n, set: setName(s.set) })}${n > STRIP_MAX ? ` ${t('opt.strip-more', { shown: STRIP_MAX })}` : ''}` : t('opt.strip-none');
  $('opt-strip-caption').textContent = text;
  $('opt-strip').setAttribute('aria-label', text);
}

/** Build the controls once, then follow the mode. */
export function open() {
  if (!built) {
    build();
    useOptions({ settings, converts });
    $('quant-mode').addEventListener('change', refresh);
    $('calib-samples').addEventListener('change', refresh);
    relabel();
    lastInfo = session.info.quant;
    pageConverted(currentSettings());
    deploy.update();
  }
}

/** Texts in the current language. */
export function relabel() {
  const box = $('options-body');
  for (const el of box.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  refresh();
  if (status) showStatus(...status);
  if (shown) captionStrip();
  deploy.relabel();
  compare.relabel();
}

/** The page's models changed: the strip of a conversion on the page's thread, the new model's check. */
export function modelsUpdated() {
  const info = session.info.quant;
  if (info && info !== lastInfo && !info.file) pageConverted(currentSettings());
  if (status?.[0] === 'opt.s-done' && info !== status[1].info) showStatus(null);
  lastInfo = info;
  deploy.update();
}
