// Reports to keep: the last evaluation as JSON or CSV (every model's accuracy, time and confusion matrix,
// their agreement, the images where they disagree with their true labels) and the training chart as PNG.
// Files are made in the page from what is on screen; nothing is sent anywhere. An evaluation of models
// replaced since is still saved, with "stale": true (a first CSV row "stale,true").

import { $, session } from './page.js';
import { currentResult, modelLabel } from './eval-panel.js';
import { el } from './view.js';

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The last evaluation as plain data, or null before one. */
export function evaluationReport() {
  const r = currentResult();
  if (!r) return null;
  const { report, seconds, modes } = r;
  return {
    // the models changed after this evaluation: its numbers are not those of the models loaded now
    stale: r.stale,
    test_images: report.total,
    models: Object.keys(modes).map((slot) => ({
      slot,
      label: modelLabel(slot),
      mode: slot === 'upload' ? null : modes[slot],
      accuracy: report.models[slot].accuracy,
      correct: report.models[slot].correct,
      seconds: seconds[slot] ?? null,
      confusion: report.models[slot].confusion,
    })),
    agreement: report.agreement,
    disagreements: report.disagreements.map((index) => ({ index, label: session.pg.test_label(index) })),
  };
}

const csvField = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
const csvRow = (cells) => cells.map(csvField).join(',');

/** The same report as CSV: a summary table, then every confusion matrix as rows, then the disagreements. */
export function evaluationCsv(rep) {
  const lines = [csvRow(['model', 'mode', 'accuracy', 'correct', 'test_images', 'seconds'])];
  if (rep.stale) lines.unshift(csvRow(['stale', 'true']), '');
  for (const m of rep.models) lines.push(csvRow([m.label, m.mode ?? '', m.accuracy, m.correct, rep.test_images, m.seconds ?? '']));
  lines.push('', csvRow(['model', 'true_label', ...Array.from({ length: 10 }, (_, d) => `predicted_${d}`)]));
  for (const m of rep.models) m.confusion.forEach((row, label) => lines.push(csvRow([m.label, label, ...row])));
  lines.push('', csvRow(['agreement', rep.agreement ?? '']), csvRow(['disagreeing_image', 'true_label']));
  for (const d of rep.disagreements) lines.push(csvRow([d.index, d.label]));
  return lines.join('\n') + '\n';
}

export function saveJson() {
  const rep = evaluationReport();
  if (rep) save(new Blob([JSON.stringify(rep, null, 2) + '\n'], { type: 'application/json' }), 'evaluation.json');
}

export function saveCsv() {
  const rep = evaluationReport();
  if (rep) save(new Blob([evaluationCsv(rep)], { type: 'text/csv' }), 'evaluation.csv');
}

export function saveChart() {
  $('train-chart').toBlob((blob) => blob && save(blob, 'training-chart.png'), 'image/png');
}
