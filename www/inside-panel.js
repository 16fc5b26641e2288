// The "See inside the quantization" panel, imported when first opened: the pair of models it looks at (the
// page's, or an uploaded file with its float model), the graph as operator boxes that select a layer, and
// that layer's views (inside-errors.js, inside-hist.js, inside-explain.js). All computing is the worker's
// (inside-* messages, answered by id); this module asks, draws, and drops answers no longer current.

import { tables, t } from './i18n.js';
import { el, kb } from './view.js';
import { $, session, message, intField, nextTask } from './page.js';
import { post } from './worker-client.js';
import { answer, request, stylesheet } from './panel-support.js';
import { texts } from './inside-i18n.js';
import { graphList } from './inside-graph.js';
import * as errors from './inside-errors.js';
import * as explain from './inside-explain.js';
import * as hist from './inside-hist.js';

for (const [lang, table] of Object.entries(texts)) Object.assign(tables[lang], table);
// the panel's styles come with it, before it draws anything
await stylesheet(new URL('./inside.css', import.meta.url).href);

/** What the panel shows; the views keep their own parts under `errors` and `explain`. */
const state = {
  source: 'page', // 'page' | 'upload'
  twin: null, // {name, bytes}: the float model an uploaded quantized file was converted from
  pair: null, // the worker's answer to inside-load: {quant, float, info, floatInfo}
  loading: false,
  failed: null, // why the pair could not be loaded
  layer: null, // selected operator index of the quantized graph
  image: 0,
  models: null, // the page's models the pair was made from (to notice when they change)
  pairSamples: null, // the representative images the pair's quantized model was calibrated on (null: not known)
  errors: {},
  explain: {},
  hist: {},
};

answer(['inside-load', 'inside-errors', 'inside-explain', 'inside-keep', 'inside-hist', 'inside-ranges']);

/** What the views need from the panel. */
const ctx = {
  state,
  request,
  cancel: (kind) => post({ type: 'inside-cancel', kind }),
  select,
  graphOf: () => state.pair?.quant ?? null,
  op: (index) => state.pair?.quant?.ops[index] ?? null,
  /** Whether the views that run images can run: a model that takes 28×28 images. */
  takesImages: () => Boolean(state.pair?.info?.takes_mnist ?? state.pair?.floatInfo?.takes_mnist),
  renderErrors: () => errors.render($('inside-errors'), ctx),
  renderExplain: () => explain.render($('inside-explain'), ctx),
  renderHist: () => hist.render($('inside-hist'), ctx),
};

// ---------------------------------------------------------------------------------------------------
// which models

/** The models of the chosen source, as inside-load takes them, with a sentence saying what they are. */
function pairRequest() {
  const form = $('quant-mode').value;
  const samples = intField('calib-samples', 1, 1000) ?? 100;
  const integer = form === 'full-integer' || form.startsWith('integer-only');
  if (state.source === 'upload' && session.info.upload) {
    const upload = session.info.upload;
    const bytes = session.pg.model_bytes('upload');
    if (upload.mode === 'float') {
      const mode = integer ? form : 'full-integer';
      return { samples, body: { float: bytes, convert: { mode, samples } }, note: t('inside.pair-upload-float', { name: session.upload.name, mode: t(`mode.${mode}`), n: samples }) };
    }
    const float = state.twin?.bytes.slice() ?? null;
    return {
      samples: null,
      body: { quant: bytes, float },
      note: state.twin ? t('inside.pair-upload-twin', { name: session.upload.name, twin: state.twin.name }) : t('inside.pair-upload-alone', { name: session.upload.name }),
    };
  }
  const quant = session.info.quant && session.info.quant.mode !== 'float' ? session.pg.model_bytes('quant') : null;
  return {
    samples,
    body: { float: session.pg.model_bytes('float'), quant },
    note: quant ? t('inside.pair-page', { mode: t(`mode.${session.info.quant.mode}`) }) : t('inside.pair-page-float'),
  };
}

let loadGen = 0;

/** Send the chosen pair to the worker and redraw everything once it answers. */
async function loadPair() {
  const gen = ++loadGen;
  state.models = { float: session.info.float, quant: session.info.quant, upload: session.info.upload };
  state.loading = true;
  state.failed = null;
  state.pair = null;
  state.errors = {};
  state.explain = {};
  state.hist = {};
  let pair;
  try {
    const { body, note, samples } = pairRequest();
    state.note = note;
    state.pairSamples = samples;
    renderAll();
    const transfer = [body.float, body.quant].filter(Boolean).map((b) => b.buffer);
    pair = await request('inside-load', { ...body, representative: session.representative }, { transfer });
  } catch (err) {
    if (gen !== loadGen) return;
    state.loading = false;
    state.failed = message(err);
    renderAll();
    return;
  }
  if (gen !== loadGen) return;
  state.loading = false;
  state.pair = pair;
  const graph = pair.quant ?? pair.float;
  // the layer a link asked for, if this graph has it; else the first one worked out by hand
  const wanted = graph.ops.find((o) => o.index === state.wantLayer);
  state.layer = wanted?.index ?? graph.ops.find((o) => o.explainable)?.index ?? graph.ops[0]?.index ?? null;
  renderAll();
  // the graph first, the by-hand view in a task of its own: together they came near 50 ms
  await nextTask();
  if (gen !== loadGen) return;
  explain.reload(ctx);
  document.dispatchEvent(new CustomEvent('ptq:layer', { detail: { index: state.layer, loaded: true } }));
}

/** Select the layer `index` of the graph (from a box, a table row or a link). */
function select(index) {
  if (state.layer === index) return;
  state.layer = index;
  state.wantLayer = index;
  renderGraph();
  ctx.renderErrors();
  ctx.renderHist();
  explain.reload(ctx);
  document.dispatchEvent(new CustomEvent('ptq:layer', { detail: { index, loaded: false } }));
}

/** Show layer `index` (from a link, or Back and Forward): now if the graph has it, else once it loads. */
export function selectLayer(index) {
  state.wantLayer = index;
  const graph = state.pair?.quant ?? state.pair?.float;
  if (graph?.ops.some((o) => o.index === index)) select(index);
}

/** The selected layer (null before a graph is loaded). */
export const layer = () => state.layer ?? null;

// ---------------------------------------------------------------------------------------------------
// drawing

function renderGraph() {
  const box = $('inside-graph');
  const graph = state.pair?.quant ?? state.pair?.float;
  if (!graph) {
    box.replaceChildren();
    return;
  }
  const focused = document.activeElement?.dataset?.op;
  const parts = [el('h3', { text: t(state.pair.quant ? 'inside.graph-quant' : 'inside.graph-float') })];
  if (graph.pairing_error) parts.push(el('p', { class: 'note', text: t('inside.unpaired', { msg: graph.pairing_error }) }));
  parts.push(graphList(graph, { selected: state.layer, onSelect: select, label: t('inside.graph-label') }));
  parts.push(el('p', { class: 'small', text: t('inside.graph-hint') }));
  box.replaceChildren(...parts);
  if (focused !== undefined) box.querySelector(`button[data-op="${focused}"]`)?.focus();
}

function renderSource() {
  const upload = session.info.upload;
  const uploadQuantized = upload && upload.mode !== 'float';
  const radio = (value, text, disabled) => el('label', {},
    el('input', { type: 'radio', name: 'inside-source', value, 'data-testid': `inside-source-${value}`, checked: state.source === value, disabled,
      onchange: () => {
        state.source = value;
        loadPair();
      } }), ' ', text);
  const parts = [
    el('legend', { text: t('inside.source') }),
    radio('page', t('inside.source-page'), false),
    radio('upload', upload ? t('inside.source-upload', { name: session.upload.name }) : t('inside.source-none'), !upload),
  ];
  if (state.source === 'upload' && uploadQuantized) {
    parts.push(el('label', { class: 'twin' }, t('inside.twin'), ' ',
      el('input', { type: 'file', accept: '.tflite,application/octet-stream', 'data-testid': 'inside-twin', onchange: (e) => takeTwin(e.target.files?.[0]) })));
    if (state.twin) parts.push(el('span', { class: 'small mono', text: state.twin.name }));
  }
  $('inside-source').replaceChildren(...parts);
  const status = state.loading ? t('inside.loading') : state.failed ? t('inside.failed', { msg: state.failed }) : state.note ?? '';
  $('inside-pair').textContent = status;
  $('inside-pair').classList.toggle('error', Boolean(state.failed));
  const sizes = [];
  if (state.pair?.floatInfo) sizes.push(t('inside.size-float', { size: kb(state.pair.floatInfo.bytes) }));
  if (state.pair?.info) sizes.push(t('inside.size-quant', { size: kb(state.pair.info.bytes) }));
  $('inside-sizes').textContent = sizes.join(' · ');
}

async function takeTwin(file) {
  if (!file) return;
  state.twin = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  loadPair();
}

function renderAll() {
  renderSource();
  renderGraph();
  ctx.renderErrors();
  ctx.renderHist();
  ctx.renderExplain();
}

// ---------------------------------------------------------------------------------------------------
// the panel's life

let built = false;

function build() {
  $('inside-body').replaceChildren(
    el('fieldset', { id: 'inside-source', class: 'inside-source' }),
    el('p', { id: 'inside-pair', class: 'small', 'data-testid': 'inside-pair', 'aria-live': 'polite' }),
    el('p', { id: 'inside-sizes', class: 'small' }),
    el('div', { id: 'inside-graph', 'data-testid': 'inside-graph' }),
    el('div', { class: 'inside-views' },
      el('section', { id: 'inside-errors', 'data-testid': 'inside-errors', 'aria-labelledby': 'inside-errors-h' }),
      el('section', { id: 'inside-hist', 'data-testid': 'inside-hist', 'aria-labelledby': 'inside-hist-h' }),
      el('section', { id: 'inside-explain', 'data-testid': 'inside-explain', 'aria-labelledby': 'inside-explain-h' })));
  built = true;
}

/** Show the panel for the page's current models (called each time the student opens it). */
export function open() {
  if (!built) build();
  if (session.input?.source === 'test') state.image = session.input.index;
  if (!state.pair && !state.loading) loadPair();
  else modelsUpdated();
  renderAll();
}

/** The page's models changed (a conversion, a training run, an upload): look at the new ones if they are
 * the ones shown (an uploaded float model is converted with the page's settings, so those count too). */
export function modelsUpdated() {
  if (!built || !state.models) return;
  const m = state.models;
  const uploadChanged = m.upload !== session.info.upload;
  if (uploadChanged && state.source === 'upload') {
    state.twin = null;
    if (!session.info.upload) state.source = 'page';
  }
  const page = m.float !== session.info.float || m.quant !== session.info.quant;
  if (page || (uploadChanged && state.source === 'upload')) {
    loadPair();
  } else {
    m.upload = session.info.upload;
    renderSource();
  }
}

/** The page's input changed: the by-hand view follows a test image. */
export function inputUpdated() {
  if (!built || session.input?.source !== 'test' || session.input.index === state.image) return;
  state.image = session.input.index;
  explain.reload(ctx, { keepPick: true });
}

/** Draw everything again in the current language. */
export function relabel() {
  if (built) renderAll();
}
