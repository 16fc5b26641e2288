"""Check .tflite files downloaded from the page with the official runtime (LiteRT, PyPI ai-edge-litert).

For each file: it must load in LiteRT with the reference kernels (BUILTIN_REF); its input/output types
must be what the file name says (the tutorial's names, e.g. mnist_intonly_uint8.tflite: uint8 in and out,
input scale 1/255 and zero point 0); and LiteRT's raw outputs on the MNIST test images must equal our
interpreter's (`ptq predict --raw`): bit-identical for integer outputs, within 1e-4 for float ones.
With --page-raw INDEX=v1,v2,… the page's own raw output for one test image is checked the same way.

Usage: python litert_check.py PTQ_BINARY MNIST_DIR FILE... [--images N] [--page-raw FILE:INDEX=v,v,...]
Exit status 0 when every check passes.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

EXPECTED_IO = {
    "mnist_float.tflite": ("float32", "float32"),
    # the page's float conversion, saved beside the float model under a name of its own
    "mnist_float_converted.tflite": ("float32", "float32"),
    "mnist_dynamic.tflite": ("float32", "float32"),
    "mnist_fullint_floatio.tflite": ("float32", "float32"),
    "mnist_intonly_uint8.tflite": ("uint8", "uint8"),
    "mnist_intonly_int8.tflite": ("int8", "int8"),
}

p = argparse.ArgumentParser()
p.add_argument("ptq")
p.add_argument("mnist")
p.add_argument("files", nargs="+")
p.add_argument("--images", type=int, default=10000)
p.add_argument("--page-raw", action="append", default=[], help="FILE_NAME:INDEX=v1,v2,...")
args = p.parse_args()

raw = open(os.path.join(args.mnist, "t10k-images-idx3-ubyte"), "rb").read()
pixels = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[: args.images]
page_raw = {}
for item in args.page_raw:
    name, rest = item.split(":", 1)
    index, values = rest.split("=", 1)
    page_raw.setdefault(name, []).append((int(index), np.array([float(v) for v in values.split(",")])))
failures = []


def fail(msg):
    failures.append(msg)
    print("  FAIL:", msg)


def encode(x, detail):
    if detail["dtype"] == np.uint8:
        return x
    if detail["dtype"] == np.int8:
        return (x.astype(np.int16) - 128).astype(np.int8)
    return x.astype(np.float32) / np.float32(255)


with tempfile.TemporaryDirectory() as tmp:
    idx = os.path.join(tmp, "images.idx")
    with open(idx, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + len(pixels).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + pixels.tobytes())
    for path in args.files:
        name = os.path.basename(path)
        print(f"{name} ({os.path.getsize(path)} bytes)")
        try:
            it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            it.allocate_tensors()
        except Exception as e:  # noqa: BLE001 - report any load failure as a test failure
            fail(f"{name}: LiteRT cannot load it: {e}")
            continue
        i, o = it.get_input_details()[0], it.get_output_details()[0]
        print(f"  input:  {np.dtype(i['dtype']).name} {tuple(i['quantization'])}   output: {np.dtype(o['dtype']).name} {tuple(o['quantization'])}")
        want = EXPECTED_IO.get(name)
        got = (np.dtype(i["dtype"]).name, np.dtype(o["dtype"]).name)
        if want and got != want:
            fail(f"{name}: I/O types {got}, expected {want}")
        if got[0] == "uint8" and (abs(i["quantization"][0] - 1 / 255) > 1e-9 or i["quantization"][1] != 0):
            fail(f"{name}: uint8 input quantization {i['quantization']}, expected (1/255, 0)")
        if got[0] == "int8" and (abs(i["quantization"][0] - 1 / 255) > 1e-9 or i["quantization"][1] != -128):
            fail(f"{name}: int8 input quantization {i['quantization']}, expected (1/255, -128)")
        ref = np.empty((len(pixels),) + tuple(o["shape"][1:]), o["dtype"])
        for k in range(len(pixels)):
            it.set_tensor(i["index"], encode(pixels[k], i)[None])
            it.invoke()
            ref[k] = it.get_tensor(o["index"])[0]
        ours_path = os.path.join(tmp, name + ".raw")
        subprocess.run([args.ptq, "predict", "--model", path, "--images", idx, "--raw", ours_path],
                       check=True, stderr=subprocess.DEVNULL)
        ours = np.fromfile(ours_path, dtype=np.dtype(o["dtype"]).newbyteorder("<")).reshape(ref.shape)
        if got[1] == "float32":
            diff = float(np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max())
            print(f"  ours vs LiteRT on {len(ref)} images: max |diff| {diff:.3g}")
            if diff > 1e-4:
                fail(f"{name}: float outputs differ by {diff}")
        else:
            same = int((ours == ref).all(axis=1).sum())
            print(f"  ours vs LiteRT on {len(ref)} images: raw outputs identical on {same}/{len(ref)}")
            if same != len(ref):
                fail(f"{name}: raw outputs differ on {len(ref) - same} images")
        for index, values in page_raw.get(name, []):
            lite = ref[index].astype(np.float64)
            tol = 1e-4 if got[1] == "float32" else 0
            if values.shape != lite.shape or np.abs(values - lite).max() > tol:
                fail(f"{name}: the page's raw output for test image {index} {values.tolist()} differs from LiteRT's {lite.tolist()}")
            else:
                print(f"  the page's raw output for test image {index} equals LiteRT's")

print("litert_check:", "OK" if not failures else f"{len(failures)} FAILURES")
sys.exit(1 if failures else 0)
