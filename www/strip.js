// The strip under the drawing canvas: each model's predicted digit and its probability, kept in view
// on a phone while drawing (the full panels are further down the page there). Filled by predictAll().

import { t, num } from './i18n.js';
import { session } from './page.js';

/** Show `preds` ({float, quant}; null: no input) in the strip. */
export function renderStrip(preds) {
  const mode = session.info.quant?.mode;
  document.getElementById('strip-quant-name').textContent = mode ? t(`label.${mode}`) : '';
  for (const slot of ['float', 'quant']) {
    const p = preds?.[slot];
    const digit = document.getElementById(`strip-${slot}`);
    digit.textContent = p ? num(p.class) : '–';
    digit.dataset.value = p ? String(p.class) : '';
    const prob = p?.probabilities[p.class];
    document.getElementById(`strip-${slot}-pct`).textContent =
      Number.isFinite(prob) ? num(prob, { style: 'percent', maximumFractionDigits: 1 }) : '';
  }
}
