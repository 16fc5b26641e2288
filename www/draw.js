// The drawing canvas: Pointer Events (mouse, touch, pen), round strokes on a transparent canvas, and the
// ink as a grayscale image (the alpha channel: 0 background, 255 ink) for the wasm preprocessing.
// Changes are reported at most once per animation frame, so drawing stays smooth however slow the
// listener is.
// From the keyboard: a cross (the element `cursor`, placed over the canvas) moves with the arrow keys
// (Shift: four times the step), Space or Enter puts the pen down or lifts it, and moving with the pen
// down draws through stroke(), as the pointer does. Delete or Backspace asks for the pad to be cleared.

export class DrawPad {
  /** `onChange()` runs after strokes change (throttled to animation frames); `keys` (optional):
   * {cursor: element, onPen(down), onClear()}. */
  constructor(canvas, onChange, keys = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { willReadFrequently: true });
    this.onChange = onChange;
    this.keys = keys;
    this.pointer = null;
    this.last = null;
    this.frame = 0;
    this.empty = true;
    this.cursor = [canvas.width / 2, canvas.height / 2];
    this.pen = false;
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) canvas.addEventListener(type, (e) => this.up(e));
    canvas.addEventListener('keydown', (e) => this.key(e));
    canvas.addEventListener('blur', () => this.setPen(false));
    this.place();
  }

  key(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const step = (this.canvas.width / 28) * (e.shiftKey ? 4 : 1);
    const dir = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (dir) {
      const { width, height } = this.canvas;
      const [x, y] = this.cursor;
      this.cursor = [Math.min(width, Math.max(0, x + dir[0] * step)), Math.min(height, Math.max(0, y + dir[1] * step))];
      if (this.pen) {
        this.last = [x, y];
        this.stroke([this.cursor]);
      }
      this.place();
    } else if (e.key === ' ' || e.key === 'Enter') {
      this.setPen(!this.pen);
    } else if (e.key === 'Delete' || e.key === 'Backspace') {
      this.keys.onClear?.();
    } else if (e.key === 'Escape' && this.pen) {
      this.setPen(false);
    } else {
      return;
    }
    e.preventDefault();
  }

  /** Put the keyboard's pen down (a dot where the cross is) or lift it. */
  setPen(down) {
    if (down === this.pen) return;
    this.pen = down;
    if (down) {
      this.last = this.cursor;
      this.stroke([this.last]);
    }
    this.place();
    this.keys.onPen?.(down);
  }

  /** Move the cross to the keyboard's position (canvas pixels, as fractions of its box). */
  place() {
    const c = this.keys.cursor;
    if (!c) return;
    c.style.setProperty('--x', String(this.cursor[0] / this.canvas.width));
    c.style.setProperty('--y', String(this.cursor[1] / this.canvas.height));
    c.classList.toggle('down', this.pen);
  }

  /** Canvas pixel coordinates of a pointer event (the canvas is scaled by CSS). */
  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * this.canvas.width, ((e.clientY - r.top) / r.height) * this.canvas.height];
  }

  down(e) {
    if (this.pointer !== null || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    this.pointer = e.pointerId;
    this.canvas.setPointerCapture?.(e.pointerId);
    this.last = this.point(e);
    this.stroke([this.last]);
  }

  move(e) {
    if (e.pointerId !== this.pointer) return;
    e.preventDefault();
    // coalesced events carry the positions the browser merged into this one (smooth fast strokes)
    const events = e.getCoalescedEvents?.() ?? [];
    this.stroke((events.length ? events : [e]).map((c) => this.point(c)));
  }

  up(e) {
    if (e.pointerId !== this.pointer) return;
    this.pointer = null;
    this.schedule();
  }

  stroke(points) {
    const { ctx, canvas } = this;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    // about as thick, relative to the digit, as the pen strokes of MNIST
    ctx.lineWidth = canvas.width / 14;
    ctx.strokeStyle = '#000';
    ctx.beginPath();
    ctx.moveTo(...this.last);
    for (const p of points) ctx.lineTo(...p);
    if (points.length === 1 && points[0] === this.last) ctx.lineTo(this.last[0] + 0.01, this.last[1]);
    ctx.stroke();
    this.last = points[points.length - 1];
    this.empty = false;
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.onChange();
    });
  }

  clear() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.empty = true;
    this.pointer = null;
    this.setPen(false);
  }

  /** The ink as `width × height` grayscale bytes. */
  gray() {
    const { width, height } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, width, height).data;
    const out = new Uint8Array(width * height);
    for (let i = 0, j = 3; i < out.length; i++, j += 4) out[i] = rgba[j];
    return { pixels: out, width, height };
  }
}
