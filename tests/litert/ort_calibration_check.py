"""Our calibration methods against ONNX Runtime's histogram calibrator (PyPI onnxruntime) and a direct
brute force: `ptq calibrate --dump` writes the activations our calibrator collects for the tutorial's
float model on the first 100 training images and the range each method chose; here the same values go
into ONNX Runtime's own HistogramCollector with explicit parameters (2048 bins, percentile 99.999,
128 quantized bins for entropy, asymmetric), and for `mse` into a numpy search over the same symmetric
windows with TF's scale and zero point rules. Every threshold must agree within one histogram bin.

Usage: python ort_calibration_check.py PTQ_BINARY MNIST_DIR WORK_DIR FLOAT_MODEL
Exit status 0 when every range agrees.
"""
import json
import os
import subprocess
import sys

import numpy as np
from onnxruntime.quantization.calibrate import HistogramCollector

ptq, mnist, work, model = sys.argv[1:5]
os.makedirs(work, exist_ok=True)
out = subprocess.run([ptq, "calibrate", "--in", model, "--data", mnist, "--dump", work],
                     check=True, capture_output=True, text=True).stdout
ours = json.loads(out)["ranges"]
BINS, QBINS, PERCENTILE = 2048, 128, 99.999


def tf_params(lo, hi):
    """TF's int8 activation scale and zero point for [lo, hi] (range widened to include 0)."""
    lo, hi = np.float32(min(lo, 0.0)), np.float32(max(hi, 0.0))
    if hi - lo < 1e-6:
        hi = lo + np.float32(1e-6)
    scale = np.float32((hi - lo) / np.float32(255))
    zp_from_min = np.float32(-128.0 - float(lo) / float(scale))
    zp = -128 if zp_from_min < -128 else 127 if zp_from_min > 127 else int(np.sign(zp_from_min) * np.floor(abs(zp_from_min) + 0.5))
    return float(scale), zp


def mse_brute_force(values):
    lo_v, hi_v = float(values.min()), float(values.max())
    t = max(abs(lo_v), abs(hi_v))
    hist, edges = np.histogram(values.astype(np.float64), BINS, range=(-t, t))
    centres, weights = (edges[:-1] + edges[1:]) / 2, hist.astype(np.float64)
    zero, best = BINS // 2, None
    for i in range(QBINS // 2, zero + 1):
        lo, hi = max(edges[zero - i], lo_v), min(edges[min(zero + i + 1, BINS)], hi_v)
        scale, zp = tf_params(lo, hi)
        q = np.clip(np.sign(centres / scale) * np.floor(np.abs(centres / scale) + 0.5) + zp, -128, 127)
        err = float((weights * (centres - scale * (q - zp)) ** 2).sum())
        if best is None or err < best[0]:
            best = (err, (lo, hi))
    return best[1]


failures, compared = [], 0
for name in sorted(ours["minmax"], key=int):
    values = np.fromfile(os.path.join(work, f"{name}.f32"), dtype="<f4")
    t = max(abs(float(values.min())), abs(float(values.max())))
    width = 2 * t / BINS if t > 0 else 0.0
    expected = {"minmax": (float(values.min()), float(values.max())), "mse": mse_brute_force(values)}
    for method in ["percentile", "entropy"]:
        c = HistogramCollector(method=method, symmetric=False, num_bins=BINS, num_quantized_bins=QBINS,
                               percentile=PERCENTILE, scenario="same")
        c.collect({name: [values]})
        r = c.compute_collection_result()[name]
        expected[method] = (float(r[0]), float(r[1]))
    for method, (lo, hi) in expected.items():
        got = ours[method][name]
        ok = abs(got[0] - lo) <= width * 1.0001 + 1e-7 and abs(got[1] - hi) <= width * 1.0001 + 1e-7
        compared += 1
        status = "ok" if ok else "FAIL"
        print(f"tensor {name:>3} {method:<10} ours [{got[0]:.6g}, {got[1]:.6g}]  reference [{lo:.6g}, {hi:.6g}]"
              f"  (bin {width:.3g}) {status}")
        if not ok:
            failures.append(f"tensor {name} {method}")

print(f"{compared} ranges compared, {len(failures)} outside one bin")
sys.exit(1 if failures else 0)
