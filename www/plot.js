// A small canvas line chart for training: loss (left axis, from 0 to a little above the largest loss)
// and accuracy (right axis, 0–100%) against the epoch, with validation accuracy as ringed dots at each
// epoch's end joined by a dashed line, the last one's value written beside it. Colors come from the CSS
// variables --loss, --acc, --val, --line, --muted and --card, so the chart follows the page's theme.

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{total: number, epochs?: number, points: {x: number, loss: number, acc: number}[], val: {x: number, acc: number}[]}} data
 *   x in steps; `epochs` the run's epochs (`total` steps in all), for the epoch axis
 * @param {(x: number, options?: object) => string} format number formatting for the axis labels
 * @param {{x: string, loss: string, acc: string}} titles the axes' titles
 * @returns {{lossMax: number, dataMax: number}} the loss axis' top and the largest loss drawn
 */
export function drawChart(canvas, data, format, titles = { x: '', loss: '', acc: '' }) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 600;
  const cssH = canvas.clientHeight || 220;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  // numbers laid out left to right in either language (their digits follow `format`); titles in the page's direction
  const dir = getComputedStyle(canvas).direction;
  ctx.direction = 'ltr';
  ctx.clearRect(0, 0, cssW, cssH);
  const css = getComputedStyle(canvas);
  const color = (name) => css.getPropertyValue(name).trim() || '#888';
  // room above the plot for the two value axes' titles, below it for the epoch axis and its title
  const pad = { left: 44, right: 48, top: 22, bottom: 36 };
  const w = cssW - pad.left - pad.right;
  const h = cssH - pad.top - pad.bottom;
  const losses = data.points.map((p) => p.loss).filter(Number.isFinite);
  const dataMax = losses.length ? Math.max(...losses) : 0;
  // the loss axis fits the losses shown (a little headroom, then a round number)
  const lossMax = niceCeil(Math.max(0.05, dataMax * 1.03));
  if (w <= 0 || h <= 0) return { lossMax, dataMax };
  const total = Math.max(1, data.total);
  const epochs = Math.max(1, data.epochs ?? 1);
  const x = (v) => pad.left + (v / total) * w;
  const yLoss = (v) => pad.top + h - (Math.min(v, lossMax) / lossMax) * h;
  const yAcc = (v) => pad.top + h - v * h;

  // grid and axis labels: 5 lines, loss on the left, accuracy on the right
  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  ctx.strokeStyle = color('--line');
  ctx.fillStyle = color('--muted');
  for (let i = 0; i <= 4; i++) {
    const y = pad.top + h - (i / 4) * h;
    ctx.beginPath();
    ctx.moveTo(pad.left, y);
    ctx.lineTo(pad.left + w, y);
    ctx.stroke();
    ctx.textAlign = 'right';
    ctx.fillText(format((lossMax * i) / 4, { maximumFractionDigits: 2 }), pad.left - 6, y + 4);
    ctx.textAlign = 'left';
    ctx.fillText(format(i / 4, { style: 'percent' }), pad.left + w + 6, y + 4);
  }
  // the epoch axis: a tick at each epoch's end (at most about 10 labelled)
  const every = Math.ceil(epochs / 10);
  ctx.textAlign = 'center';
  for (let e = 0; e <= epochs; e += every) {
    const ex = x((e / epochs) * total);
    ctx.beginPath();
    ctx.moveTo(ex, pad.top + h);
    ctx.lineTo(ex, pad.top + h + 4);
    ctx.stroke();
    ctx.fillText(format(e), ex, pad.top + h + 15);
  }
  // the axes' titles, each beside its axis in that axis' colour
  ctx.font = '600 11px system-ui, sans-serif';
  ctx.direction = dir;
  ctx.fillStyle = color('--muted');
  ctx.fillText(titles.x, pad.left + w / 2, cssH - 4);
  ctx.fillStyle = color('--loss');
  ctx.textAlign = 'left';
  ctx.fillText(titles.loss, 4, 12);
  ctx.fillStyle = color('--acc');
  ctx.textAlign = 'right';
  ctx.fillText(titles.acc, cssW - 4, 12);

  const series = (key, y, stroke) => {
    const pts = data.points.filter((p) => Number.isFinite(p[key]));
    ctx.strokeStyle = stroke;
    ctx.fillStyle = stroke;
    ctx.lineWidth = 1.75;
    ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo(x(p.x), y(p[key])) : ctx.moveTo(x(p.x), y(p[key]))));
    ctx.stroke();
    // a lone point draws no line: a marker instead
    if (pts.length === 1) dot(x(pts[0].x), y(pts[0][key]), 3);
  };
  const dot = (cx, cy, r) => {
    ctx.beginPath();
    ctx.arc(cx, cy, r, 0, 2 * Math.PI);
    ctx.fill();
  };
  ctx.direction = 'ltr';
  series('loss', yLoss, color('--loss'));
  series('acc', yAcc, color('--acc'));

  // validation accuracy: a dashed line through the epochs' dots, each dot ringed so it stands out on
  // the lines, and the last value written beside its dot
  const val = color('--val');
  if (data.val.length > 1) {
    ctx.strokeStyle = val;
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 1.25;
    ctx.beginPath();
    data.val.forEach((v, i) => (i ? ctx.lineTo(x(v.x), yAcc(v.acc)) : ctx.moveTo(x(v.x), yAcc(v.acc))));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const v of data.val) {
    ctx.fillStyle = color('--card');
    dot(x(v.x), yAcc(v.acc), 6.5);
    ctx.fillStyle = val;
    dot(x(v.x), yAcc(v.acc), 4.5);
  }
  const last = data.val.at(-1);
  if (last) {
    ctx.font = '600 11px system-ui, sans-serif';
    ctx.fillStyle = val;
    const lx = x(last.x);
    const right = lx > pad.left + w / 2;
    ctx.textAlign = right ? 'right' : 'left';
    ctx.fillText(format(last.acc, { style: 'percent', maximumFractionDigits: 1 }), lx + (right ? -9 : 9), Math.min(pad.top + h - 4, yAcc(last.acc) + 16));
  }
  return { lossMax, dataMax };
}

/** A round number at least `v` whose quarters (the grid lines) are round too: 1, 1.2, 1.4, 1.6, 2, 2.4,
 * 2.8, 3.2, 4, 5, 6, 7 or 8 times a power of ten. */
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.4, 1.6, 2, 2.4, 2.8, 3.2, 4, 5, 6, 7, 8, 10]) if (m * p >= v * (1 - 1e-9)) return m * p;
  return 10 * p;
}
