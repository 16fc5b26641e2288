// The model designer, imported when first opened: a preset to start from, the layers as a table the
// keyboard can edit (every field a labelled control; move up, move down and remove buttons per layer; a
// new layer added at the end), each layer's output shape, parameters, multiply-adds and file sizes
// recomputed by the library in the worker as the design changes, and the sentence that names the layer
// and the problem when the design is not valid. The design is saved and opened as JSON (the format of
// `ptq train --arch`), or read back from a float model trained here, whose weights training then
// continues from. While the designer is open, the Training card trains its design (train-panel.js asks
// `forTraining`).

import { tables, t, num, tNodes } from './i18n.js';
import { texts, problem } from './design-i18n.js';
import { $, message } from './page.js';
import { el, kb } from './view.js';
import { answer, request, stylesheet } from './panel-support.js';
import { renderDesign, startTraining, useDesigner } from './train-panel.js';

for (const [lang, table] of Object.entries(texts)) Object.assign(tables[lang], table);
answer(['design-presets', 'design-check', 'design-of']);
await stylesheet(new URL('./design.css', import.meta.url).href);

/** The layer types the editor adds, with a new layer's fields (Keras's names and defaults). */
const NEW_LAYER = {
  Conv2D: { filters: 8, kernel_size: [3, 3], strides: [1, 1], padding: 'valid', activation: 'relu' },
  DepthwiseConv2D: { kernel_size: [3, 3], depth_multiplier: 1, strides: [1, 1], padding: 'same', activation: 'relu6' },
  MaxPooling2D: { pool_size: [2, 2], padding: 'valid' },
  AveragePooling2D: { pool_size: [2, 2], padding: 'valid' },
  Dense: { units: 10, activation: 'linear' },
  BatchNormalization: { momentum: 0.99, epsilon: 0.001 },
  Activation: { activation: 'relu' },
  Dropout: { rate: 0.25 },
  Flatten: {},
  Reshape: { target_shape: [28, 28, 1] },
  Softmax: {},
};
/** Keras's defaults of the fields a design file may leave out, written into the editor's copy so that
 * each has a control (the library reads either form the same way). */
const KERAS_DEFAULTS = {
  Conv2D: { strides: [1, 1], padding: 'valid', activation: 'linear' },
  DepthwiseConv2D: { depth_multiplier: 1, strides: [1, 1], padding: 'valid', activation: 'linear' },
  MaxPooling2D: { pool_size: [2, 2], padding: 'valid' },
  AveragePooling2D: { pool_size: [2, 2], padding: 'valid' },
  Dense: { activation: 'linear' },
  BatchNormalization: { momentum: 0.99, epsilon: 0.001 },
};
/** Fields holding one size or a pair (Keras accepts either), lists of sizes, choices, numbers. */
const PAIRS = new Set(['kernel_size', 'strides', 'pool_size']);
const CHOICES = {
  padding: ['valid', 'same'],
  activation: ['linear', 'relu', 'relu6', 'softmax'],
};
const COUNTS = new Set(['filters', 'units', 'depth_multiplier']);

const state = {
  presets: [],
  limits: null,
  design: null, // {name, input_shape, layers}
  check: null, // the library's answer for `checked`
  checked: '', // the JSON last checked
  asked: 0, // number of the latest check asked for; older answers are dropped
  resume: null, // {file, bytes, json}: a float model opened, and its design as opened
  opened: null, // the last file opened: {key, file}
};
let built = false;

/** The design as the library reads it. */
const json = () => JSON.stringify(state.design);

// ---------------------------------------------------------------------------------------------------
// building the panel

function build() {
  const box = $('design-body');
  const presetSelect = el('select', { id: 'dz-preset', 'data-testid': 'dz-preset', 'aria-describedby': 'dz-preset-desc dz-preset-why' },
    ...state.presets.map((p) => el('option', { value: p.name, 'data-i18n': `dz.p.${p.name}` })));
  const addSelect = el('select', { id: 'dz-add-type', 'data-testid': 'dz-add-type' },
    ...Object.keys(NEW_LAYER).map((k) => el('option', { value: k, text: k })));
  const fileInput = el('input', { id: 'dz-file', type: 'file', accept: '.json,.tflite,application/json,application/octet-stream', 'data-testid': 'dz-file', 'aria-describedby': 'dz-file-status' });
  box.append(
    el('div', { class: 'form' },
      el('label', {}, el('span', { 'data-i18n': 'dz.preset' }), presetSelect),
      el('button', { type: 'button', id: 'dz-preset-use', 'data-testid': 'dz-preset-use', 'data-i18n': 'dz.preset-use', onclick: usePreset }),
      el('label', {}, el('span', { 'data-i18n': 'dz.name' }),
        el('input', { id: 'dz-name', 'data-testid': 'dz-name', type: 'text', maxlength: 100, autocomplete: 'off', onchange: (e) => edit(() => { state.design.name = e.target.value; }) }))),
    el('p', { class: 'small', id: 'dz-preset-desc', 'data-testid': 'dz-preset-desc' }),
    el('p', { class: 'small', id: 'dz-preset-why', 'data-i18n': 'dz.preset-why' }),
    el('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-labelledby': 'dz-caption' },
      el('table', { class: 'dz-table', id: 'dz-table', 'data-testid': 'dz-table' },
        el('caption', { id: 'dz-caption', 'data-i18n': 'dz.layers' }),
        el('thead', {}, el('tr', {}, ...['n', 'type', 'fields', 'shape', 'params', 'macs', 'float', 'int8', 'actions']
          .map((c) => el('th', { scope: 'col', 'data-i18n': `dz.c.${c}` })))),
        el('tbody', { id: 'dz-rows' }),
        el('tfoot', {}, el('tr', { id: 'dz-total' })))),
    el('div', { class: 'form' },
      el('label', {}, el('span', { 'data-i18n': 'dz.add-type' }), addSelect),
      el('button', { type: 'button', id: 'dz-add', 'data-testid': 'dz-add', 'data-i18n': 'dz.add', onclick: addLayer })),
    el('p', { id: 'dz-live', class: 'small', role: 'status', 'aria-live': 'polite', 'data-testid': 'dz-live' }),
    el('p', { id: 'dz-problem', class: 'error', 'data-testid': 'dz-problem', role: 'alert', hidden: true }),
    el('p', { id: 'dz-valid', class: 'small', 'data-testid': 'dz-valid', 'aria-live': 'polite' }),
    el('p', { id: 'dz-limits', class: 'small', 'data-testid': 'dz-limits' }),
    el('p', { class: 'small', 'data-i18n': 'dz.trains' }),
    el('div', { class: 'row' },
      el('button', { type: 'button', id: 'dz-train', 'data-testid': 'dz-train', 'data-i18n': 'dz.train', onclick: trainNow }),
      el('button', { type: 'button', id: 'dz-save', 'data-testid': 'dz-save', 'data-i18n': 'dz.save', onclick: save })),
    el('label', { class: 'drop' }, el('span', { 'data-i18n': 'dz.open-file' }), fileInput),
    el('p', { id: 'dz-file-status', class: 'small', 'data-testid': 'dz-file-status', 'aria-live': 'polite' }),
    el('label', { id: 'dz-resume-box', hidden: true },
      el('input', { type: 'checkbox', id: 'dz-resume', 'data-testid': 'dz-resume', checked: true, onchange: renderDesign }),
      el('span', { id: 'dz-resume-text' })),
    el('p', { id: 'dz-resume-off', class: 'small', hidden: true }));
  presetSelect.addEventListener('change', describePreset);
  fileInput.addEventListener('change', (e) => openFile(e.target.files?.[0]));
  built = true;
}

function describePreset() {
  $('dz-preset-desc').textContent = t(`dz.pd.${$('dz-preset').value}`);
}

/** A control for one field of layer `i`, labelled for screen readers with the layer's number. */
function control(i, key, value) {
  const label = t('dz.f.label', { n: i + 1, field: t(`dz.f.${key}`) });
  const id = `dz-${i}-${key}`;
  const common = { id, 'data-testid': id, 'aria-label': label, 'data-field': key };
  let input;
  if (CHOICES[key]) {
    input = el('select', common, ...CHOICES[key].map((c) => el('option', { value: c, text: c, selected: c === value })));
  } else if (PAIRS.has(key) || key === 'target_shape') {
    const shown = Array.isArray(value) ? (PAIRS.has(key) && value[0] === value[1] ? String(value[0]) : value.join(',')) : String(value);
    input = el('input', { ...common, type: 'text', size: 6, inputmode: 'numeric', autocomplete: 'off', value: shown });
  } else {
    const integer = COUNTS.has(key);
    input = el('input', { ...common, type: 'number', step: integer ? 1 : 'any', min: integer ? 1 : 0, value: String(value), size: 6 });
  }
  input.addEventListener('change', () => setField(i, key, input));
  return el('label', { class: 'dz-field' }, el('span', { 'aria-hidden': 'true', text: t(`dz.f.${key}`) }), input);
}

/** Read a control back into the design; a value that is no number at all is kept as it was typed so that
 * the library's check names the layer and the field. */
function setField(i, key, input) {
  const layer = state.design.layers[i];
  const raw = input.value.trim();
  edit(() => {
    if (CHOICES[key]) layer[key] = raw;
    else if (PAIRS.has(key) || key === 'target_shape') {
      const parts = raw.split(/[\s,×x]+/).filter(Boolean).map(Number);
      layer[key] = PAIRS.has(key) && parts.length === 1 ? [parts[0], parts[0]] : parts;
    } else layer[key] = raw === '' ? raw : Number(raw);
  }, false);
}

function actionButton(i, kind, text, disabled, onclick) {
  return el('button', {
    type: 'button', class: 'dz-act', 'data-testid': `dz-${kind}-${i}`, 'data-act': kind,
    'aria-label': t(`dz.${kind}`, { n: i + 1 }), text, disabled, onclick,
  });
}

/** Draw the layers' rows (after a change of their number or order, a preset, a file). */
function renderRows() {
  const layers = state.design.layers;
  $('dz-name').value = state.design.name;
  $('dz-rows').replaceChildren(...layers.map((layer, i) => el('tr', { 'data-index': i },
    el('th', { scope: 'row', text: num(i + 1) }),
    el('td', { text: layer.type, dir: 'ltr' }),
    el('td', { class: 'dz-fields' }, ...Object.entries(layer).filter(([k]) => k !== 'type').map(([k, v]) => control(i, k, v))),
    el('td', { class: 'num', 'data-cost': 'shape', dir: 'ltr' }),
    el('td', { class: 'num', 'data-cost': 'params' }),
    el('td', { class: 'num', 'data-cost': 'macs' }),
    el('td', { class: 'num', 'data-cost': 'float' }),
    el('td', { class: 'num', 'data-cost': 'int8' }),
    el('td', { class: 'dz-actions' },
      actionButton(i, 'up', '↑', i === 0, () => move(i, -1)),
      actionButton(i, 'down', '↓', i === layers.length - 1, () => move(i, 1)),
      actionButton(i, 'remove', '✕', layers.length === 1, () => remove(i))))));
  renderCosts();
}

/** The costs of each layer and the totals from the last check, or the problem it found. */
function renderCosts() {
  const s = state.check?.summary;
  const current = state.checked === json();
  for (const row of $('dz-rows').children) {
    const i = Number(row.dataset.index);
    const l = current ? s?.layers[i] : null;
    const cell = (name, text) => { row.querySelector(`[data-cost="${name}"]`).textContent = l ? text : ''; };
    cell('shape', l ? `(${l.output_shape.join(', ')})` : '');
    cell('params', l ? num(l.params) : '');
    cell('macs', l ? num(l.macs) : '');
    cell('float', l ? kb(l.float_bytes) : '');
    cell('int8', l ? kb(l.int8_bytes) : '');
    const bad = current && state.check?.problem?.layer === i;
    row.classList.toggle('invalid', bad);
    for (const c of row.querySelectorAll('[data-field]')) c.setAttribute('aria-invalid', bad ? 'true' : 'false');
  }
  const total = current && s;
  $('dz-total').replaceChildren(
    el('th', { scope: 'row', colspan: 4, 'data-i18n': 'dz.total', text: t('dz.total') }),
    el('td', { class: 'num', text: total ? num(s.params) : '' }),
    el('td', { class: 'num', text: total ? num(s.macs) : '' }),
    el('td', { class: 'num', text: total ? kb(s.float_bytes) : '' }),
    el('td', { class: 'num', text: total ? kb(s.int8_bytes) : '' }),
    el('td'));
  const p = current ? state.check?.problem : null;
  const box = $('dz-problem');
  box.hidden = !p;
  box.replaceChildren();
  if (p) {
    box.append(p.layer !== null && p.layer !== undefined
      ? tNodes('dz.invalid-layer', { n: p.layer + 1, kind: p.kind, problem: problem(p.problem) })
      : tNodes('dz.invalid', { problem: problem(p.problem) }));
  }
  $('dz-valid').textContent = total
    ? t('dz.valid', { params: s.params, macs: s.macs, float: kb(s.float_bytes), int8: kb(s.int8_bytes) })
    : current ? '' : t('dz.checking');
  const l = state.limits;
  $('dz-limits').textContent = l ? t('dz.limits', { layers: l.layers, params: l.params, macs: l.macs, values: l.values }) : '';
  renderResume();
  renderDesign();
}

// ---------------------------------------------------------------------------------------------------
// changes

/** Apply a change to the design, draw it (all rows when `rows`), and check it again. */
function edit(change, rows = true) {
  change();
  if (rows) renderRows();
  else renderCosts();
  check();
}

let checkTimer = 0;
/** Ask the library about the design, once the editing pauses (a few hundredths of a second). */
function check() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(async () => {
    const asked = ++state.asked;
    const text = json();
    try {
      const answer = await request('design-check', { json: text });
      if (asked !== state.asked) return;
      state.check = answer.check;
      state.checked = text;
    } catch (err) {
      if (asked !== state.asked) return;
      state.check = { summary: null, problem: { layer: null, kind: null, problem: message(err) } };
      state.checked = text;
    }
    renderCosts();
  }, 80);
}

/** Say what changed, in the live region. */
function say(key, vars) {
  $('dz-live').textContent = t(key, vars);
}

function addLayer() {
  const kind = $('dz-add-type').value;
  edit(() => state.design.layers.push({ type: kind, ...structuredClone(NEW_LAYER[kind]) }));
  const n = state.design.layers.length;
  say('dz.added', { n, kind });
  // the new layer's first field, or its remove button when it has none
  const row = $('dz-rows').lastElementChild;
  (row.querySelector('[data-field]') ?? row.querySelector('[data-act="remove"]')).focus();
}

function move(i, by) {
  const layers = state.design.layers;
  const j = i + by;
  if (j < 0 || j >= layers.length) return;
  edit(() => {
    [layers[i], layers[j]] = [layers[j], layers[i]];
  });
  say('dz.moved', { kind: layers[j].type, n: j + 1 });
  // the focus follows the layer; at the top or the bottom, to the other direction's button
  const row = $('dz-rows').children[j];
  const same = row.querySelector(`[data-act="${by < 0 ? 'up' : 'down'}"]`);
  (same.disabled ? row.querySelector(`[data-act="${by < 0 ? 'down' : 'up'}"]`) : same).focus();
}

function remove(i) {
  const layers = state.design.layers;
  if (layers.length === 1) return;
  const [gone] = layers.slice(i, i + 1);
  edit(() => layers.splice(i, 1));
  say('dz.removed', { n: i + 1, kind: gone.type });
  const rows = $('dz-rows').children;
  rows[Math.min(i, rows.length - 1)].querySelector('[data-act="remove"]').focus();
}

function load(design) {
  const layers = Array.isArray(design.layers) ? design.layers : [];
  state.design = {
    ...design,
    layers: layers.map((l) => {
      const full = { type: l?.type, ...l };
      for (const [k, v] of Object.entries(KERAS_DEFAULTS[l?.type] ?? {})) if (!(k in full)) full[k] = structuredClone(v);
      return full;
    }),
  };
  renderRows();
  check();
}

function usePreset() {
  const p = state.presets.find((x) => x.name === $('dz-preset').value);
  if (!p) return;
  state.resume = null;
  state.opened = null;
  $('dz-file-status').textContent = '';
  load(JSON.parse(p.json));
}

function trainNow() {
  startTraining();
  $('train-status').scrollIntoView({ block: 'center' });
}

/** Download the design as JSON under its name. */
function save() {
  const blob = new Blob([`${JSON.stringify(state.design, null, 2)}\n`], { type: 'application/json' });
  const a = el('a', { href: URL.createObjectURL(blob), download: `${(state.design.name || 'design').replace(/[^\w.-]+/g, '_')}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** Open a design (JSON) or a float model trained here (.tflite, its design and weights). */
async function openFile(file) {
  if (!file) return;
  const status = $('dz-file-status');
  status.textContent = '';
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const isModel = bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === 'TFL3';
    let design;
    if (isModel) {
      const answer = await request('design-of', { bytes });
      design = JSON.parse(answer.json);
      state.resume = { file: file.name, bytes };
      $('dz-resume').checked = true;
    } else {
      design = JSON.parse(new TextDecoder().decode(bytes));
      if (!design || typeof design !== 'object' || !Array.isArray(design.layers)) throw new Error('"layers" is missing');
      state.resume = null;
    }
    state.opened = { key: isModel ? 'dz.opened-model' : 'dz.opened-json', file: file.name };
    load(design);
    // the design as the editor holds it (Keras's defaults written out) is the one the weights belong to
    if (state.resume) state.resume.json = json();
    renderResume();
    renderDesign();
    status.textContent = t(state.opened.key, { file: file.name });
  } catch (err) {
    status.textContent = t('dz.file-error', { file: file.name, msg: message(err) });
  }
}

/** The checkbox that continues from an opened model's weights: shown while the layers are as opened. */
function renderResume() {
  const r = state.resume;
  const same = r && r.json === json();
  $('dz-resume-box').hidden = !same;
  $('dz-resume-text').textContent = r ? t('dz.resume', { file: r.file }) : '';
  $('dz-resume-off').hidden = !r || same;
  $('dz-resume-off').textContent = r && !same ? t('dz.resume-off', { file: r.file }) : '';
}

// ---------------------------------------------------------------------------------------------------
// the panel's interface (main.js toggles it; train-panel.js asks it what to train)

/** What the Training card trains: null (the tutorial's network) while the designer is closed. */
function forTraining() {
  if ($('design-body').hidden || !state.design) return null;
  const text = json();
  if (state.checked === text && state.check?.problem) {
    const p = state.check.problem;
    const sentence = p.layer !== null && p.layer !== undefined
      ? el('span', {}, tNodes('dz.invalid-layer', { n: p.layer + 1, kind: p.kind, problem: problem(p.problem) })).textContent
      : el('span', {}, problem(p.problem)).textContent;
    return { error: sentence };
  }
  const r = state.resume;
  const resume = r && r.json === text && $('dz-resume').checked ? r.bytes : undefined;
  return { json: text, name: state.design.name, resume };
}

export async function open() {
  if (!built) {
    const answer = await request('design-presets');
    state.presets = answer.presets;
    state.limits = answer.limits;
    build();
    relabel();
    load(JSON.parse(state.presets[0].json));
    useDesigner({ forTraining });
  }
  renderDesign();
  $('dz-preset').focus();
}

export function relabel() {
  if (!built) return;
  for (const node of $('design-body').querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  describePreset();
  if (state.opened) $('dz-file-status').textContent = t(state.opened.key, { file: state.opened.file });
  if (state.design) renderRows();
}

/** The designer was closed: the Training card trains the tutorial's network again. */
export function closed() {
  renderDesign();
}
