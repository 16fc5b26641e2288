"""Check our full-integer variants with the official runtime: selective quantization (`--deny`),
per-tensor weights (`--per-tensor`), the calibration methods (`--calibration`) and static shapes
(`--static-shapes`); and the float16 and 16x8 modes (int16 activations, float or int16 input and
output). LiteRT's reference kernels load each file, run the 10,000 MNIST test images, and agree with our interpreter's outputs (`ptq predict`),
bit for bit on every image; accuracy and size are printed next to the plain full-integer file's.

Usage: python selective_check.py PTQ_BINARY MNIST_DIR WORK_DIR FLOAT_MODEL
  FLOAT_MODEL: the tutorial's float model (e.g. the mnist_float.tflite verify_ours.py trained).
Also converts two op fixtures (a softmax output, depthwise convolutions) from tests/fixtures/ops.
Exit status 0 when every check passes.
"""
import os
import subprocess
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

ptq, mnist, work, tutorial = sys.argv[1:5]
here = os.path.dirname(os.path.abspath(__file__))
ops_dir = os.path.join(os.path.dirname(here), "fixtures", "ops")
os.makedirs(work, exist_ok=True)
raw = open(os.path.join(mnist, "t10k-images-idx3-ubyte"), "rb").read()
pixels = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
labels = np.frombuffer(open(os.path.join(mnist, "t10k-labels-idx1-ubyte"), "rb").read(), np.uint8, offset=8)

softmax = os.path.join(ops_dir, "cnn_softmax_float.tflite")
depthwise = os.path.join(ops_dir, "depthwise_float.tflite")
CASES = [
    (tutorial, []),
    (tutorial, ["--deny", "CONV_2D"]),
    (tutorial, ["--deny", "FULLY_CONNECTED"]),
    (tutorial, ["--deny", "RESHAPE"]),
    (tutorial, ["--per-tensor"]),
    (tutorial, ["--calibration", "percentile"]),
    (tutorial, ["--calibration", "entropy"]),
    (tutorial, ["--calibration", "mse"]),
    (tutorial, ["--static-shapes"]),
    (tutorial, ["--mode", "float16"]),
    (tutorial, ["--mode", "int16x8"]),
    (tutorial, ["--mode", "int16x8", "--io", "int16"]),
    (tutorial, ["--mode", "int16x8", "--per-tensor"]),
    (tutorial, ["--mode", "int16x8", "--calibration", "entropy"]),
    (softmax, []),
    (softmax, ["--deny", "SOFTMAX"]),
    (softmax, ["--per-tensor"]),
    (depthwise, []),
    (depthwise, ["--deny", "DEPTHWISE_CONV_2D"]),
    (depthwise, ["--per-tensor"]),
    (depthwise, ["--static-shapes"]),
    (depthwise, ["--mode", "int16x8", "--static-shapes"]),
]
# 16x8 on every op fixture (dilated, grouped and odd-shaped convolutions, 3-D and bias-free dense layers,
# pools with padding, softmax outputs, depthwise with one input channel, …)
CASES += [(os.path.join(ops_dir, f), ["--mode", "int16x8"])
          for f in sorted(os.listdir(ops_dir)) if f.endswith("_float.tflite")]
failures = []
for float_path, extra in CASES:
    stem = os.path.basename(float_path).replace("_float.tflite", "").replace(".tflite", "")
    label = " ".join(extra) or "plain"
    name = f"{stem}_{'_'.join(a.strip('-').lower() for a in extra) or 'plain'}.tflite"
    path = os.path.join(work, name)
    mode = [] if "--mode" in extra else ["--mode", "full-integer"]
    cmd = [ptq, "convert", "--in", float_path, "--out", path, "--data", mnist] + mode + extra
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    subprocess.run([ptq, "predict", "--model", path, "--data", mnist, "--raw", path + ".ours.raw"],
                   check=True, stderr=subprocess.DEVNULL)
    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    ref = np.empty((len(pixels), 10), o["dtype"])
    for k in range(len(pixels)):
        x = pixels[k].astype(np.float32) / np.float32(255)
        if i["dtype"] == np.int16:  # round(pixel / 255 / scale) + zero point, as `ptq predict` feeds it
            scale, zero_point = i["quantization"]
            x = np.clip(np.round(pixels[k] / 255.0 / scale) + zero_point, -32768, 32767)
        it.set_tensor(i["index"], x.astype(i["dtype"]).reshape(i["shape"]))
        it.invoke()
        ref[k] = it.get_tensor(o["index"]).reshape(-1)
    ours = np.fromfile(path + ".ours.raw", dtype=ref.dtype.newbyteorder("<")).reshape(ref.shape)
    same = int((ours == ref).all(axis=1).sum())
    if ref.dtype == np.float32:
        same = int((ours.view(np.uint32) == ref.view(np.uint32)).all(axis=1).sum())
    acc = (ref.argmax(1) == labels).mean() * 100  # argmax of the raw values (positive scales)
    print(f"{stem} {'' if '--mode' in extra else 'full-integer '}{label}: {os.path.getsize(path)} bytes; LiteRT BUILTIN_REF accuracy "
          f"{acc:.2f}%; ours identical on {same}/{len(ref)} images")
    if same != len(ref):
        failures.append(f"{name}: outputs differ on {len(ref) - same} images")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
