// How a prediction panel's numbers work: the output's formula real = scale × (q − zero point) with its
// own scale and zero point, every raw code turned back into its real value beside the float model's value
// for the same digit, codes that sit at an end of their type (clipped) and codes several digits share
// (ties) marked and explained, and both models' probabilities with as many digits as it takes to tell
// them apart. Also the sentence that says why the converted file is not 4× smaller.

import { t, tNodes, num } from './i18n.js';
import { el, kb, scaleText } from './view.js';

/** The codes an integer output can hold. */
const LIMITS = { uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767] };

/**
 * Significant digits for percentages such that every pair [a, b] with a ≠ b prints differently (3 at
 * least, 9 at most: float32 probabilities hold no more).
 */
export function digitsToTellApart(pairs) {
  const pct = (x, d) => num(x, { style: 'percent', minimumSignificantDigits: d, maximumSignificantDigits: d });
  for (let d = 3; d < 9; d++) {
    if (pairs.every(([a, b]) => a === b || pct(a, d) !== pct(b, d))) return d;
  }
  return 9;
}

/** Classes grouped by shared code: code -> [classes], only codes held by two or more. */
function ties(codes) {
  const by = new Map();
  codes.forEach((q, d) => by.set(q, [...(by.get(q) ?? []), d]));
  return new Map([...by].filter(([, ds]) => ds.length > 1));
}

const list = (ds) => ds.map((d) => num(d)).join(t('numbers.and'));

/** A zero point to subtract in a formula: in parentheses when negative, so "q − (−128)" reads right. */
export const zpText = (zp) => (zp < 0 ? `(${num(zp)})` : num(zp));

/**
 * Fill `box` with the numbers of prediction `pred` of a model converted in `mode`; `float` is the float
 * model's prediction on the same input (or null when there is no float twin to show).
 */
export function renderNumbers(box, pred, float, mode) {
  if (!pred) {
    box.replaceChildren();
    return;
  }
  const o = pred.output;
  const limits = LIMITS[o.dtype];
  const quantized = o.scale > 0 && limits !== undefined;
  const twin = float && float.raw.length === pred.raw.length ? float : null;
  const real = pred.raw.map((q) => (quantized ? o.scale * (q - o.zero_point) : q));
  const digits = digitsToTellApart(twin ? pred.probabilities.map((p, d) => [p, twin.probabilities[d]]) : []);
  const pct = (p) => num(p, { style: 'percent', minimumSignificantDigits: digits, maximumSignificantDigits: digits });
  const fixed = (x) => num(x, { minimumFractionDigits: 4, maximumFractionDigits: 4 });
  const shared = quantized ? ties(pred.raw) : new Map();
  const parts = [];
  const math = el('code', { dir: 'ltr', text: `${t('numbers.real')} = ${scaleText(o.scale)} × (q − ${zpText(o.zero_point)})` });
  parts.push(el('p', { class: 'formula', 'data-testid': 'formula' }, quantized
    ? tNodes('numbers.formula', { math })
    : t(mode === 'full-integer' ? 'numbers.dequantized-output' : 'numbers.float-output', { dtype: o.dtype })));
  const cols = [
    'numbers.h-digit',
    ...(quantized ? ['numbers.h-code', 'numbers.h-real'] : ['numbers.h-value']),
    ...(twin ? ['numbers.h-float', 'numbers.h-diff'] : []),
    'numbers.h-p',
    ...(twin ? ['numbers.h-pfloat'] : []),
  ];
  const rows = pred.raw.map((q, d) => {
    const marks = [];
    const clipped = quantized && (q === limits[0] || q === limits[1]);
    if (clipped) marks.push(el('abbr', { class: 'mark clip', title: t('numbers.clipped-title'), text: q === limits[0] ? '⤓' : '⤒' }));
    if (shared.has(q)) marks.push(el('abbr', { class: 'mark tie', title: t('numbers.tie-title'), text: '=' }));
    const tr = el('tr', { 'data-digit': String(d), class: [clipped ? 'clipped' : '', shared.has(q) ? 'tied' : '', d === pred.class ? 'top' : ''].join(' ').trim() },
      el('th', { scope: 'row', text: num(d) }),
      ...(quantized ? [el('td', { class: 'num', 'data-value': String(q) }, num(q), ...marks)] : []),
      el('td', { class: 'num', 'data-value': String(real[d]), text: fixed(real[d]) }),
      ...(twin ? [
        el('td', { class: 'num', 'data-value': String(twin.raw[d]), text: fixed(twin.raw[d]) }),
        el('td', { class: 'num', text: fixed(real[d] - twin.raw[d]) }),
      ] : []),
      el('td', { class: 'num', 'data-value': String(pred.probabilities[d]), text: pct(pred.probabilities[d]) }),
      ...(twin ? [el('td', { class: 'num', 'data-value': String(twin.probabilities[d]), text: pct(twin.probabilities[d]) })] : []));
    return tr;
  });
  parts.push(el('div', { class: 'table-wrap', tabindex: '0' }, el('table', { class: 'numbers-table' },
    el('thead', {}, el('tr', {}, ...cols.map((k) => el('th', { scope: 'col', text: t(k) })))),
    el('tbody', {}, ...rows))));
  const notes = [];
  if (quantized && pred.raw.some((q) => q === limits[0] || q === limits[1])) {
    notes.push(['clip', t('numbers.clipped', { lo: limits[0], hi: limits[1], dtype: o.dtype })]);
  }
  const top = Math.max(...pred.raw);
  const topTie = shared.get(top);
  if (topTie) {
    notes.push(['tie', t('numbers.tie', {
      digits: list(topTie), q: top, first: topTie[0], p: pct(pred.probabilities[topTie[0]]),
    }) + (twin ? ` ${t('numbers.tie-float', { d: twin.class })}` : '')]);
  } else if (shared.size) {
    notes.push(['tie', t('numbers.ties')]);
  }
  for (const [kind, text] of notes) parts.push(el('p', { class: `note ${kind}`, 'data-testid': `note-${kind}`, text }));
  box.replaceChildren(...parts);
}

/**
 * Why the converted file is not 4× smaller, from its inspect report: how many of its bytes are 8-bit
 * weights, how many stay 32-bit (biases) and how many are the graph, shapes and quantization parameters.
 * Empty for a float conversion.
 */
export function sizeSentence(info) {
  if (!info || info.mode === 'float') return '';
  const tensors = info.report.subgraphs.flatMap((g) => g.tensors);
  const bytes = (types) => tensors.filter((x) => types.includes(x.dtype) && x.data_bytes > 0).reduce((s, x) => s + x.data_bytes, 0);
  const small = bytes(['INT8', 'UINT8']);
  const wide = bytes(['INT32', 'FLOAT32']);
  const rest = Math.max(0, info.bytes - small - wide);
  return t('numbers.size', { small: kb(small), wide: kb(wide), rest: kb(rest) });
}
