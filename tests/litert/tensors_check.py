"""Every intermediate tensor the explanation and debugging views show, checked against LiteRT's own:
for TF's integer tutorial files and integer op fixtures, `ptq tensors` writes every tensor after a test
image, and LiteRT's reference kernels (BUILTIN_REF, experimental_preserve_all_tensors=True) run the same
file on the same input; every tensor both hold must be bit-identical.

Usage: python tensors_check.py PTQ_BINARY MNIST_DIR WORK_DIR
Exit status 0 when every tensor agrees.
"""
import json
import os
import subprocess
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

ptq, mnist, work = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(os.path.dirname(here), "fixtures")
FILES = [os.path.join(fixtures, "reference", f) for f in
         ["mnist_fullint_floatio.tflite", "mnist_intonly_uint8.tflite", "mnist_intonly_int8.tflite"]]
FILES += [os.path.join(fixtures, "ops", f"{m}_intonly_int8.tflite") for m in
          ["depthwise", "pools", "conv_same_s2", "dilated_b1", "mlp_softmax", "cnn_softmax", "conv_bn"]]
IMAGES = [0, 18, 1234]
DTYPES = {"Float32": np.float32, "Int8": np.int8, "UInt8": np.uint8, "Int32": np.int32, "Int64": np.int64,
          "Int16": np.int16}
raw = open(os.path.join(mnist, "t10k-images-idx3-ubyte"), "rb").read()
pixels = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)

failures, compared = [], 0
for path in FILES:
    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    i = it.get_input_details()[0]
    for image in IMAGES:
        out = os.path.join(work, os.path.basename(path) + f".{image}")
        subprocess.run([ptq, "tensors", "--model", path, "--image", str(image), "--out", out, "--data", mnist],
                       check=True, stderr=subprocess.DEVNULL)
        x = pixels[image]
        if i["dtype"] == np.int8:
            x = (x.astype(np.int16) - 128).astype(np.int8)
        elif i["dtype"] == np.float32:
            x = x.astype(np.float32) / np.float32(255)
        it.set_tensor(i["index"], x.reshape(i["shape"]).astype(i["dtype"]))
        it.invoke()
        same = 0
        index = json.load(open(os.path.join(out, "tensors.json")))
        for t in index:
            try:
                theirs = it.get_tensor(t["index"])
            except ValueError:
                continue  # a tensor LiteRT did not keep
            ours = np.fromfile(os.path.join(out, f"{t['index']}.raw"), dtype=np.dtype(DTYPES[t["dtype"]]).newbyteorder("<"))
            if ours.size != theirs.size or ours.tobytes() != np.ascontiguousarray(theirs).astype(ours.dtype).tobytes():
                failures.append(f"{os.path.basename(path)} image {image}: tensor {t['index']} ({t['name']}) differs")
            else:
                same += 1
            compared += 1
        print(f"{os.path.basename(path)} image {image}: {same}/{len(index)} tensors identical to LiteRT's")

print(f"{compared} tensors compared, {len(failures)} differ")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
