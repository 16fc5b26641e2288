// A small canvas line chart for training: loss (left axis, from 0) and accuracy (right axis, 0–100%)
// against the step, with validation accuracy as dots at each epoch's end. Colors come from the CSS
// variables --loss, --acc, --val, --line and --muted, so the chart follows the page's theme.

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{total: number, points: {x: number, loss: number, acc: number}[], val: {x: number, acc: number}[]}} data
 * @param {(x: number, options?: object) => string} format number formatting for the axis labels
 */
export function drawChart(canvas, data, format) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 600;
  const cssH = canvas.clientHeight || 220;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  const css = getComputedStyle(canvas);
  const color = (name) => css.getPropertyValue(name).trim() || '#888';
  const pad = { left: 44, right: 48, top: 10, bottom: 24 };
  const w = cssW - pad.left - pad.right;
  const h = cssH - pad.top - pad.bottom;
  if (w <= 0 || h <= 0) return;
  const total = Math.max(1, data.total);
  const losses = data.points.map((p) => p.loss).filter(Number.isFinite);
  const maxLoss = niceCeil(Math.max(0.1, ...losses));
  const x = (v) => pad.left + (v / total) * w;
  const yLoss = (v) => pad.top + h - (Math.min(v, maxLoss) / maxLoss) * h;
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
    ctx.fillText(format((maxLoss * i) / 4, { maximumFractionDigits: 2 }), pad.left - 6, y + 4);
    ctx.textAlign = 'left';
    ctx.fillText(format(i / 4, { style: 'percent' }), pad.left + w + 6, y + 4);
  }
  ctx.textAlign = 'center';
  ctx.fillText(format(0), x(0), cssH - 6);
  ctx.fillText(format(total), x(total) - 10, cssH - 6);

  const line = (key, y, stroke) => {
    ctx.strokeStyle = stroke;
    ctx.lineWidth = 1.75;
    ctx.beginPath();
    let started = false;
    for (const p of data.points) {
      if (!Number.isFinite(p[key])) continue;
      if (started) ctx.lineTo(x(p.x), y(p[key]));
      else ctx.moveTo(x(p.x), y(p[key]));
      started = true;
    }
    ctx.stroke();
  };
  line('loss', yLoss, color('--loss'));
  line('acc', yAcc, color('--acc'));
  ctx.fillStyle = color('--val');
  for (const v of data.val) {
    ctx.beginPath();
    ctx.arc(x(v.x), yAcc(v.acc), 4, 0, 2 * Math.PI);
    ctx.fill();
  }
}

/** 1, 2 or 5 times a power of ten, at least `v`. */
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
