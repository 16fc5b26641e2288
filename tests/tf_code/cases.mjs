// The conversions whose TensorFlow code tests/tf_code/check_tf_code.py runs: every mode TF's converter
// makes, and the settings the code view mirrors (images, calibration set, per-tensor weights), each with
// the `ptq convert` arguments that make the page's file. A case may name a known difference (`known`),
// which the check then expects to find.
import { tfCode } from '../../www/tf-code.js';

const base = { samples: 100, method: 'minmax', set: 'first', per_tensor: false, static_shapes: false };
const FILES = {
  float: 'mnist_float.tflite',
  'dynamic-range': 'mnist_dynamic.tflite',
  'full-integer': 'mnist_fullint_floatio.tflite',
  'integer-only-uint8': 'mnist_intonly_uint8.tflite',
  'integer-only-int8': 'mnist_intonly_int8.tflite',
  float16: 'mnist_float16.tflite',
  int16x8: 'mnist_int16x8.tflite',
  'int16x8-int16io': 'mnist_int16x8_int16io.tflite',
};

export const CASES = [
  { mode: 'float' },
  { mode: 'dynamic-range' },
  { mode: 'full-integer' },
  { mode: 'integer-only-uint8' },
  { mode: 'integer-only-int8' },
  { mode: 'float16' },
  { mode: 'integer-only-uint8', samples: 7 },
  { mode: 'integer-only-int8', set: 'digit:3', samples: 50 },
  // black images: every activation range is empty (0..0) and TF widens it, then moves the
  // convolution's weight scales so that its biases fit in int32
  { mode: 'full-integer', set: 'blank', samples: 10 },
  { mode: 'integer-only-int8', per_tensor: true },
  { mode: 'int16x8' },
  { mode: 'int16x8-int16io' },
  { mode: 'int16x8', per_tensor: true, samples: 20 },
].map((c, i) => {
  const { known, ...given } = c;
  const s = { ...base, ...given };
  const file = FILES[s.mode];
  const [mode, io] = s.mode.startsWith('integer-only-') ? ['integer-only', s.mode.slice(13)]
    : s.mode === 'int16x8-int16io' ? ['int16x8', 'int16'] : [s.mode, null];
  const cli = ['--mode', mode, ...(io ? ['--io', io] : [])];
  if (['full-integer', 'integer-only', 'int16x8'].includes(mode)) {
    cli.push('--calibration-samples', String(s.samples), '--calibration-set', s.set);
    if (s.per_tensor) cli.push('--per-tensor');
  }
  return { name: `${i}_${s.mode}`, settings: s, file, cli, code: tfCode(s, file), known: known ?? null };
});
