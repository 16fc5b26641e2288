"""Check every preset design end to end with the official runtime (LiteRT, PyPI ai-edge-litert).

For each preset (tutorial, deep, mlp, mobile): trains it with `ptq train --preset P --epochs 1 --seed 0`
(and bn_softmax, a design with BatchNormalization, Activation, Dropout and a softmax output, on 10,000
training images),
converts the float model in the five modes of `ptq convert` (float, dynamic-range, full-integer,
integer-only with uint8 and with int8 I/O), runs the MNIST test images through LiteRT's reference
kernels (OpResolverType.BUILTIN_REF), one image per invoke, and compares LiteRT's raw outputs with ours
from `ptq predict`: bit-identical for the integer models, within 1e-4 for float and dynamic-range
models. Prints the float accuracy after one epoch and the agreement counts per preset and mode.

Usage: python presets_check.py PTQ_BINARY MNIST_DIR WORK_DIR [--presets a,b] [--images N]
Exit status 0 when every check passes.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

# (file, `ptq convert` arguments, input dtype, output dtype)
MODES = [
    ("float.tflite", ["--mode", "float"], "float32", "float32"),
    ("dynamic.tflite", ["--mode", "dynamic-range"], "float32", "float32"),
    ("fullint_floatio.tflite", ["--mode", "full-integer"], "float32", "float32"),
    ("intonly_uint8.tflite", ["--mode", "integer-only", "--io", "uint8"], "uint8", "uint8"),
    ("intonly_int8.tflite", ["--mode", "integer-only", "--io", "int8"], "int8", "int8"),
]

p = argparse.ArgumentParser()
p.add_argument("ptq")
p.add_argument("mnist")
p.add_argument("work")
p.add_argument("--presets", default="tutorial,deep,mlp,mobile,bn_softmax",
               help="preset names, and bn_softmax: a design of our own (below)")
p.add_argument("--images", type=int, default=10000, help="test images to compare (the first N)")
args = p.parse_args()

raw = open(os.path.join(args.mnist, "t10k-images-idx3-ubyte"), "rb").read()
pixels = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[: args.images]
labels = np.frombuffer(open(os.path.join(args.mnist, "t10k-labels-idx1-ubyte"), "rb").read(), np.uint8,
                       offset=8)[: args.images]
failures = []

# Beyond the presets: a design with the layers the presets leave out (BatchNormalization folded into a
# conv and a depthwise conv, Activation layers fused, Dropout dropped, a softmax output whose int8 output
# gets scale 1/256 and zero point -128), trained on the first 10,000 images to keep the check short.
EXTRA = {
    "bn_softmax": {"name": "bn_softmax", "input_shape": [28, 28], "layers": [
        {"type": "Reshape", "target_shape": [28, 28, 1]},
        {"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "same"},
        {"type": "BatchNormalization"},
        {"type": "Activation", "activation": "relu"},
        {"type": "MaxPooling2D", "pool_size": 2},
        {"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
        {"type": "BatchNormalization"},
        {"type": "Activation", "activation": "relu6"},
        {"type": "AveragePooling2D", "pool_size": 2, "padding": "same"},
        {"type": "Flatten"},
        {"type": "Dropout", "rate": 0.2},
        {"type": "Dense", "units": 10, "activation": "softmax"}]},
}


def fail(msg):
    failures.append(msg)
    print("  FAIL:", msg)


def litert_outputs(path):
    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    outs = np.empty((len(pixels),) + tuple(o["shape"][1:]), o["dtype"])
    for k in range(len(pixels)):
        if i["dtype"] == np.uint8:
            x = pixels[k]
        elif i["dtype"] == np.int8:
            x = (pixels[k].astype(np.int16) - 128).astype(np.int8)
        else:
            x = pixels[k].astype(np.float32) / np.float32(255)
        it.set_tensor(i["index"], x[None].astype(i["dtype"]))
        it.invoke()
        outs[k] = it.get_tensor(o["index"])[0]
    return i, o, outs


rows = []
for preset in args.presets.split(","):
    work = os.path.join(args.work, preset)
    os.makedirs(work, exist_ok=True)
    float_path = os.path.join(work, "float.tflite")
    if preset in EXTRA:
        design_path = os.path.join(work, "design.json")
        with open(design_path, "w") as f:
            json.dump(EXTRA[preset], f)
        which = ["--arch", design_path, "--train-images", "10000"]
    else:
        which = ["--preset", preset]
    out = subprocess.run([args.ptq, "train"] + which + ["--epochs", "1", "--seed", "0", "--data", args.mnist,
                                                        "--out", float_path, "--json"],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    epoch = summary["epochs"][-1]
    print(f"{preset}: 1 epoch in {epoch['train_seconds']:.1f}s, test accuracy {epoch['val_accuracy'] * 100:.2f}%")
    for name, convert_args, in_type, out_type in MODES:
        path = os.path.join(work, name)
        subprocess.run([args.ptq, "convert", "--in", float_path, "--data", args.mnist, "--out", path]
                       + convert_args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ours_path = path + ".ours.raw"
        subprocess.run([args.ptq, "predict", "--model", path, "--data", args.mnist, "--raw", ours_path],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        i, o, ref = litert_outputs(path)
        label = f"{preset}/{name}"
        if np.dtype(i["dtype"]).name != in_type or np.dtype(o["dtype"]).name != out_type:
            fail(f"{label}: I/O types {i['dtype']}/{o['dtype']}, expected {in_type}/{out_type}")
            continue
        if preset == "bn_softmax" and out_type != "float32":
            expected = (1 / 256, -128 if out_type == "int8" else 0)
            if tuple(o["quantization"]) != expected:
                fail(f"{label}: softmax output quantization {o['quantization']}, expected {expected}")
        ours = np.fromfile(ours_path, dtype=np.dtype(o["dtype"]).newbyteorder("<"))
        ours = ours.reshape((-1,) + ref.shape[1:])[: len(ref)]
        acc = (ref.argmax(1) == labels).mean() * 100
        same_pred = int((ours.argmax(1) == ref.argmax(1)).sum())
        if out_type == "float32" and name in ("float.tflite", "dynamic.tflite"):
            diff = float(np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max())
            agree = int((np.abs(ours.astype(np.float64) - ref.astype(np.float64)) <= 1e-4).all(axis=1).sum())
            print(f"  {name:<24} LiteRT accuracy {acc:.2f}%; ours within 1e-4 on {agree}/{len(ref)} "
                  f"(max |diff| {diff:.3g}), same prediction on {same_pred}")
            if diff > 1e-4:
                fail(f"{label}: float outputs differ by {diff}")
        else:
            # integer models (full-integer dequantizes its int8 output exactly: compare bits too)
            agree = int((ours == ref).all(axis=1).sum())
            print(f"  {name:<24} LiteRT accuracy {acc:.2f}%; raw outputs identical on {agree}/{len(ref)}")
            if agree != len(ref):
                fail(f"{label}: raw outputs differ on {len(ref) - agree} images")
        rows.append((preset, name, acc, agree, len(ref)))

print("presets_check:", "OK" if not failures else f"{len(failures)} FAILURES")
sys.exit(1 if failures else 0)
