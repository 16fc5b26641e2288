// What a conversion's settings mean, for the panels beside the mode (options-*.js): which settings act in
// which conversion (from the library's mode list), the `ptq convert` command that writes the same file,
// the file's name, and the fields every conversion request to the worker carries.

import { t, num } from './i18n.js';
import { session, site } from './page.js';

/** The calibration methods, in the library's order (a browser test checks it against the worker's). */
export const METHODS = ['minmax', 'percentile', 'entropy', 'mse'];
/** The calibration sets (`digit` takes a digit: `digit:D`). */
export const SETS = ['first', 'random', 'digit', 'blank', 'noise'];

/** A calibration set in words (`digit:3`: images of the digit 3). */
export function setName(set) {
  return set.startsWith('digit:') ? t('opt.sn.digit', { d: num(Number(set.slice(6))) }) : t(`opt.sn.${set}`);
}

/** Whether conversion `mode` calibrates on representative images (the library's ModeFile.calibrates). */
export const calibrates = (mode) => session.modes.find((m) => m.id === mode)?.calibrates ?? false;

/** The settings as they act in their mode: where it does not calibrate, the calibration settings and
 * per-tensor weights are the defaults (the library refuses per-tensor weights there). */
export function effective(s) {
  return calibrates(s.mode) ? s : { ...s, method: 'minmax', set: 'first', per_tensor: false };
}

/** The `ptq convert` command that writes the same file (flags at their defaults left out). */
export function command(s) {
  const [mode, io] = s.mode.startsWith('integer-only-') ? ['integer-only', s.mode.slice(13)]
    : s.mode === 'int16x8-int16io' ? ['int16x8', 'int16'] : [s.mode, null];
  const args = ['ptq convert --in mnist_float.tflite', `--mode ${mode}`];
  if (io && io !== 'uint8') args.push(`--io ${io}`);
  if (calibrates(s.mode)) {
    if (s.samples !== 100) args.push(`--calibration-samples ${s.samples}`);
    if (s.set !== 'first') args.push(`--calibration-set ${s.set}`);
    if (s.method !== 'minmax') args.push(`--calibration ${s.method}`);
    if (s.per_tensor) args.push('--per-tensor');
  }
  if (s.static_shapes) args.push('--static-shapes');
  args.push('--out model.tflite');
  return args.join(' ');
}

/** The file's name: the tutorial's for the mode, with the settings that differ from the defaults
 * (`mnist_intonly_int8_percentile_digit3_pertensor_static.tflite`). */
export function fileName(s) {
  const base = (session.modes.find((m) => m.id === s.mode)?.file ?? 'model.tflite').replace(/\.tflite$/, '');
  const parts = [base];
  if (calibrates(s.mode)) {
    if (s.method !== 'minmax') parts.push(s.method);
    if (s.set !== 'first') parts.push(s.set.replace(':', ''));
    if (s.per_tensor) parts.push('pertensor');
  }
  if (s.static_shapes) parts.push('static');
  return `${parts.join('_')}.tflite`;
}

/** What a conversion request to the worker carries besides its settings: the float model, the
 * representative images (the calibration pool while the training set is not loaded) and where the
 * training set is (the random and digit sets need it). */
export function conversionBody() {
  const size = (name) => session.siteInfo?.files?.[name] ?? 0;
  return {
    float: session.pg.model_bytes('float'),
    representative: session.representative,
    files: {
      images: site('data/train-images-idx3-ubyte.gz'),
      labels: site('data/train-labels-idx1-ubyte.gz'),
      sizes: { images: size('train-images-idx3-ubyte.gz'), labels: size('train-labels-idx1-ubyte.gz') },
    },
  };
}
