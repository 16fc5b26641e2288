// The Python that makes the page's conversion with TensorFlow's own converter, and the LiteRT code that
// runs the file: for the TensorFlow code view of the options panel (options-tfcode.js), and for
// tests/tf_code/check_tf_code.py, which runs it with TensorFlow and compares the file with the page's.
// No DOM here: Node imports this module too (tests/tf_code/generate.mjs).
//
// The program has three parts. `model` trains the tutorial's network in Keras (as the page's trainer
// does); `convert` turns `model` into the .tflite file with the page's settings, calibrating on
// `train_images`/`train_labels` where the conversion calibrates; `run` loads the file with LiteRT and
// classifies the first test image. The check replaces `model` by the page's own float weights.

/** TF's converter settings per conversion: optimize, calibrate, integer-only I/O type, float16, 16x8
 * (int16 activations, with `io` its int16 I/O). */
const MODES = {
  float: {},
  'dynamic-range': { optimize: true },
  'full-integer': { optimize: true, calibrate: true },
  'integer-only-uint8': { optimize: true, calibrate: true, io: 'uint8' },
  'integer-only-int8': { optimize: true, calibrate: true, io: 'int8' },
  float16: { optimize: true, float16: true },
  int16x8: { optimize: true, calibrate: true, int16: true },
  'int16x8-int16io': { optimize: true, calibrate: true, int16: true, io: 'int16' },
};

/** Whether TF's converter can make conversion `mode` (the page may offer more). */
export const hasTfCode = (mode) => mode in MODES;

const MODEL = `import numpy as np
import tensorflow as tf

# MNIST, pixels scaled to 0..1 (float32), and the tutorial's network: 3x3 convolution with 12 filters
# and ReLU, 2x2 max pooling, a dense layer to 10 logits.
(train_images, train_labels), (test_images, test_labels) = tf.keras.datasets.mnist.load_data()
train_images = (train_images / 255.0).astype(np.float32)
test_images = (test_images / 255.0).astype(np.float32)
model = tf.keras.Sequential([
    tf.keras.layers.InputLayer(shape=(28, 28)),
    tf.keras.layers.Reshape((28, 28, 1)),
    tf.keras.layers.Conv2D(12, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D((2, 2)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(10),
])
model.compile(optimizer="adam",
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.fit(train_images, train_labels, epochs=5, validation_data=(test_images, test_labels))
`;

/** A Keras layer of a design (the format of src/design, Keras's own names) as Python. */
function kerasLayer(l) {
  const pair = (v) => (Array.isArray(v) ? `(${v[0]}, ${v[1]})` : `(${v}, ${v})`);
  const act = l.activation && l.activation !== 'linear' ? `, activation="${l.activation}"` : '';
  const pad = l.padding === 'same' ? ', padding="same"' : '';
  const strides = (v) => (v && pair(v) !== '(1, 1)' ? `, strides=${pair(v)}` : '');
  switch (l.type) {
    case 'Reshape': return `Reshape((${l.target_shape.join(', ')}))`;
    case 'Flatten': return 'Flatten()';
    case 'Conv2D': return `Conv2D(${l.filters}, ${pair(l.kernel_size)}${strides(l.strides)}${pad}${act})`;
    case 'DepthwiseConv2D': {
      const m = (l.depth_multiplier ?? 1) > 1 ? `, depth_multiplier=${l.depth_multiplier}` : '';
      return `DepthwiseConv2D(${pair(l.kernel_size)}${m}${strides(l.strides)}${pad}${act})`;
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      return `${l.type}(${pair(l.pool_size ?? 2)}${l.strides ? `, strides=${pair(l.strides)}` : ''}${pad})`;
    case 'Dense': return `Dense(${l.units}${act})`;
    case 'BatchNormalization': return `BatchNormalization(momentum=${l.momentum ?? 0.99}, epsilon=${l.epsilon ?? 0.001})`;
    case 'Activation': return `Activation("${l.activation}")`;
    case 'Dropout': return `Dropout(${l.rate})`;
    case 'Softmax': return 'Softmax()';
    default: return `${l.type}()  # not a layer of the designer`;
  }
}

/** The `model` part for a design: the same data, the design's layers, and the loss its output needs
 * (probabilities after a softmax, logits otherwise). */
export function designModelCode(design) {
  const last = design.layers.at(-1);
  const probabilities = last?.type === 'Softmax' || last?.activation === 'softmax';
  return `import numpy as np
import tensorflow as tf

# MNIST, pixels scaled to 0..1 (float32), and the design "${String(design.name).replace(/["\\\n]/g, '')}" from the page's designer.
(train_images, train_labels), (test_images, test_labels) = tf.keras.datasets.mnist.load_data()
train_images = (train_images / 255.0).astype(np.float32)
test_images = (test_images / 255.0).astype(np.float32)
model = tf.keras.Sequential([
    tf.keras.layers.InputLayer(shape=(${design.input_shape.join(', ')})),
${design.layers.map((l) => `    tf.keras.layers.${kerasLayer(l)},`).join('\n')}
])
model.compile(optimizer="adam",
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=${probabilities ? 'False' : 'True'}),
              metrics=["accuracy"])
model.fit(train_images, train_labels, epochs=5, validation_data=(test_images, test_labels))
`;
}

/** The representative images of calibration set `set` (null where numpy cannot draw the page's). */
function images(set, n) {
  if (set === 'first') return `train_images[:${n}]`;
  if (set === 'blank') return `np.zeros((${n}, 28, 28), np.float32)`;
  if (set.startsWith('digit:')) return `train_images[train_labels == ${Number(set.slice(6))}][:${n}]`;
  return null;
}

/**
 * The program for settings `s` ({mode, samples, method, set, per_tensor, static_shapes}) saving to
 * `file`, for the tutorial's network or a `design` of the page's designer: {model, convert, run} (Python source), and `differs`: why TF's file is not the page's, each
 * as 'method' | 'set' | 'static' (settings TF's converter does not have: the code makes the closest
 * file it can). Null when TF's converter has no such conversion.
 */
export function tfCode(s, file, design = null) {
  const m = MODES[s.mode];
  if (!m) return null;
  const differs = [];
  const lines = ['converter = tf.lite.TFLiteConverter.from_keras_model(model)'];
  if (m.optimize) lines.push('converter.optimizations = [tf.lite.Optimize.DEFAULT]');
  if (m.float16) lines.push('converter.target_spec.supported_types = [tf.float16]');
  if (m.calibrate) {
    if (s.method && s.method !== 'minmax') differs.push('method');
    let pool = images(s.set ?? 'first', s.samples);
    if (pool === null) {
      differs.push('set');
      pool = s.set === 'noise'
        ? `np.random.default_rng(0).random((${s.samples}, 28, 28), np.float32)`
        : `train_images[np.random.default_rng(0).choice(len(train_images), ${s.samples}, replace=False)]`;
    }
    lines.push(
      '',
      '# calibration: the converter runs the float model on these images, one at a time, and records',
      '# the range of every activation',
      'def representative_images():',
      `    for image in ${pool}:`,
      '        yield [image[np.newaxis]]',
      '',
      'converter.representative_dataset = representative_images',
    );
    if (s.per_tensor) lines.push('converter._experimental_disable_per_channel = True  # one scale per weight tensor');
    if (m.int16) {
      lines.push('converter.target_spec.supported_ops = [',
        '    tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]  # int16 activations');
    } else if (m.io) {
      lines.push('converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]');
    }
    if (m.io) {
      lines.push(
        `converter.inference_input_type = tf.${m.io}`,
        `converter.inference_output_type = tf.${m.io}`,
      );
    }
  }
  if (s.static_shapes) differs.push('static');
  lines.push('', 'tflite_model = converter.convert()', `with open("${file}", "wb") as f:`, '    f.write(tflite_model)', '');
  const input = m.io === 'uint8' ? 'np.round(test_images[:1] * 255).astype(np.uint8)'
    : m.io === 'int8' ? '(np.round(test_images[:1] * 255) - 128).astype(np.int8)'
      : m.io === 'int16' ? 'np.round(test_images[:1] / inp["quantization"][0]).astype(np.int16)'
        : 'test_images[:1]';
  const run = `from ai_edge_litert.interpreter import Interpreter

interpreter = Interpreter(model_path="${file}")
interpreter.allocate_tensors()
inp = interpreter.get_input_details()[0]
out = interpreter.get_output_details()[0]
interpreter.set_tensor(inp["index"], ${input})
interpreter.invoke()
raw = interpreter.get_tensor(out["index"])[0]
print("raw output:", raw, "prediction:", int(np.argmax(raw)), "true label:", int(test_labels[0]))
`;
  return { model: design ? designModelCode(design) : MODEL, convert: lines.join('\n'), run, differs };
}
