// A model graph as the inside panel draws it: one box per operator with its output's type, shape, scale
// and zero point and its weights' type (per-channel scales counted), in execution order. Boxes are
// buttons when the graph selects layers; the arrow keys move between them in reading order.

import { t, num } from './i18n.js';
import { el, scaleText } from './view.js';

/** Arrow keys move along the graph (in reading order: the other way round in right-to-left text). */
function moveFocus(e) {
  const rtl = document.documentElement.dir === 'rtl';
  const step = { ArrowRight: rtl ? -1 : 1, ArrowLeft: rtl ? 1 : -1, ArrowDown: 1, ArrowUp: -1 }[e.key];
  if (!step) return;
  const boxes = [...e.currentTarget.closest('ol').querySelectorAll('button.op')];
  const i = boxes.indexOf(e.currentTarget) + step;
  if (i >= 0 && i < boxes.length) {
    e.preventDefault();
    boxes[i].focus();
  }
}

function opBox(o, { selected, onSelect }) {
  const out = o.outputs[0];
  const weights = o.inputs.find((x) => x.constant && x.shape.length > 1);
  const parts = [el('span', { class: 'op-name', text: `${num(o.index)} ${o.name}` })];
  if (out) parts.push(el('span', { class: 'mono', text: `${out.dtype} [${out.shape.join(', ')}]` }));
  if (out?.scale.length === 1) {
    parts.push(el('span', { class: 'op-q', text: t('inside.scale-zp', { s: scaleText(out.scale[0]), zp: out.zero_point[0] }) }));
  }
  if (weights) {
    parts.push(el('span', { class: 'op-w', text: weights.scale.length > 1
      ? t('inside.weights-pc', { dtype: weights.dtype, n: weights.scale.length })
      : t('inside.weights', { dtype: weights.dtype }) }));
  }
  const label = t('inside.op-label', { i: o.index, op: o.name, dtype: out?.dtype ?? '', shape: out?.shape.join('×') ?? '' });
  if (!onSelect) return el('li', { class: 'op static', 'aria-label': label }, ...parts);
  return el('li', {}, el('button', {
    type: 'button',
    class: `op${o.explainable ? ' explainable' : ''}`,
    'data-op': String(o.index),
    'data-testid': `op-${o.index}`,
    'aria-pressed': String(selected === o.index),
    onclick: () => onSelect(o.index),
    onkeydown: moveFocus,
  }, ...parts));
}

/** The graph as a list of boxes; with `onSelect`, each box is a button that selects its operator. */
export function graphList(graph, { selected = null, onSelect = null, label = '' } = {}) {
  return el('ol', { class: 'graph', 'aria-label': label }, ...graph.ops.map((o) => opBox(o, { selected, onSelect })));
}
