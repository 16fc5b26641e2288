"""Check our own .tflite files with the official runtime (LiteRT, PyPI ai-edge-litert).

Trains a model with `ptq tutorial` (or takes a folder with the five files), then for each of the five
files: loads it with LiteRT's reference kernels (OpResolverType.BUILTIN_REF), checks the input/output
dtypes and quantization the tutorial prints (uint8 in with scale 1/255 and zero point 0, ...), runs the
10,000 MNIST test images one per invoke, and compares LiteRT's raw outputs with ours from `ptq predict`:
bit-identical for integer models, within 1e-4 for float and dynamic-range models, same predictions.
Also runs the `serving_default` signature runner, and reports agreement with LiteRT's default XNNPACK path.

Usage: python verify_ours.py PTQ_BINARY MNIST_DIR WORK_DIR [--epochs N] [--existing]
Exit status 0 when every check passes.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

FILES = {
    "mnist_float.tflite": ("float32", "float32"),
    "mnist_dynamic.tflite": ("float32", "float32"),
    "mnist_fullint_floatio.tflite": ("float32", "float32"),
    "mnist_intonly_uint8.tflite": ("uint8", "uint8"),
    "mnist_intonly_int8.tflite": ("int8", "int8"),
}

p = argparse.ArgumentParser()
p.add_argument("ptq")
p.add_argument("mnist")
p.add_argument("work")
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--existing", action="store_true", help="use the .tflite files already in WORK")
args = p.parse_args()
os.makedirs(args.work, exist_ok=True)
if not args.existing:
    subprocess.run([args.ptq, "tutorial", "--out", args.work, "--epochs", str(args.epochs), "--data", args.mnist],
                   check=True, stdout=subprocess.DEVNULL)

raw = open(os.path.join(args.mnist, "t10k-images-idx3-ubyte"), "rb").read()
pixels = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
labels = np.frombuffer(open(os.path.join(args.mnist, "t10k-labels-idx1-ubyte"), "rb").read(), np.uint8, offset=8)
failures = []


def fail(msg):
    failures.append(msg)
    print("  FAIL:", msg)


def run(path, resolver):
    it = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
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
    return it, i, o, outs


for name, (in_type, out_type) in FILES.items():
    path = os.path.join(args.work, name)
    print(f"{name} ({os.path.getsize(path)} bytes)")
    ours_path = path + ".ours.raw"
    subprocess.run([args.ptq, "predict", "--model", path, "--data", args.mnist, "--raw", ours_path],
                   check=True, stderr=subprocess.DEVNULL)
    it, i, o, ref = run(path, OpResolverType.BUILTIN_REF)
    # I/O as the tutorial prints it
    print(f"  input:  {i['dtype']} {tuple(i['quantization'])}   output: {o['dtype']} {tuple(o['quantization'])}")
    if np.dtype(i["dtype"]).name != in_type or np.dtype(o["dtype"]).name != out_type:
        fail(f"{name}: I/O types {i['dtype']}/{o['dtype']}, expected {in_type}/{out_type}")
    if in_type == "uint8" and (abs(i["quantization"][0] - 1 / 255) > 1e-9 or i["quantization"][1] != 0):
        fail(f"{name}: uint8 input quantization {i['quantization']}, expected (1/255, 0)")
    if in_type == "int8" and (abs(i["quantization"][0] - 1 / 255) > 1e-9 or i["quantization"][1] != -128):
        fail(f"{name}: int8 input quantization {i['quantization']}, expected (1/255, -128)")
    if out_type != "float32" and o["quantization"][0] <= 0:
        fail(f"{name}: quantized output without a scale")
    ours = np.fromfile(ours_path, dtype=np.dtype(o["dtype"]).newbyteorder("<")).reshape(ref.shape)
    pred_ours, pred_ref = ours.argmax(1), ref.argmax(1)
    acc = (pred_ref == labels).mean() * 100
    if out_type == "float32":
        diff = float(np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max())
        print(f"  LiteRT BUILTIN_REF accuracy {acc:.2f}%; ours vs LiteRT: max |diff| {diff:.3g}, "
              f"predictions equal on {(pred_ours == pred_ref).sum()}/{len(ref)}")
        if diff > 1e-4:
            fail(f"{name}: float outputs differ by {diff}")
    else:
        same = int((ours == ref).all(axis=1).sum())
        print(f"  LiteRT BUILTIN_REF accuracy {acc:.2f}%; ours vs LiteRT: raw outputs identical on {same}/{len(ref)}")
        if same != len(ref):
            fail(f"{name}: raw outputs differ on {len(ref) - same} images")
    if (pred_ours != pred_ref).sum() > (0 if out_type != "float32" else 2):
        fail(f"{name}: predictions differ on {(pred_ours != pred_ref).sum()} images")
    # the signature runner (needs the serving_default signature)
    runner = it.get_signature_runner("serving_default")
    sig_in = list(runner.get_input_details())[0]
    x = pixels[1][None]
    if in_type == "int8":
        x = (x.astype(np.int16) - 128).astype(np.int8)
    elif in_type == "float32":
        x = x.astype(np.float32) / np.float32(255)
    y = list(runner(**{sig_in: x}).values())[0][0]
    if not np.array_equal(y, ref[1]):
        fail(f"{name}: signature runner output differs from invoke")
    else:
        print(f"  signature runner 'serving_default' ({sig_in} -> output): ok, image 1 -> {int(y.argmax())}")
    # XNNPACK, reported only
    _, _, _, xnn = run(path, OpResolverType.AUTO)
    if out_type == "float32":
        print(f"  LiteRT XNNPACK vs ours: max |diff| {float(np.abs(xnn.astype(np.float64) - ours).max()):.3g}")
    else:
        d = np.abs(xnn.astype(np.int32) - ours.astype(np.int32))
        print(f"  LiteRT XNNPACK vs ours: identical on {int((d == 0).all(axis=1).sum())}/{len(ref)} images, max {int(d.max())} LSB")

print("verify_ours:", "OK" if not failures else f"{len(failures)} FAILURES")
sys.exit(1 if failures else 0)
