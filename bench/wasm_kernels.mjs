// Times each kernel of bench/wasm_kernels.rs, portable twin and SIMD128 build alternately: the
// iteration count grows until one run takes at least 200 ms, then 5 runs of each are timed and the
// median time per call is printed. Usage: node bench/wasm_kernels.mjs path/to/wasm_kernels.js
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import path from "node:path";

const require = createRequire(import.meta.url);
const { KernelBench } = require(path.resolve(process.argv[2]));
const bench = new KernelBench();

const time = (kernel, vector, iterations) => {
  const start = performance.now();
  bench.run(kernel, vector, iterations);
  return performance.now() - start;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`node ${process.version}; one call = one batch of 32 on the tutorial's shapes`);
console.log("kernel               portable ms   simd128 ms   speed-up");
KernelBench.kernels().forEach((name, kernel) => {
  let iterations = 1;
  time(kernel, false, 3);
  time(kernel, true, 3);
  while (time(kernel, false, iterations) < 200) iterations *= 2;
  const per = { false: [], true: [] };
  for (let rep = 0; rep < 5; rep++) {
    for (const vector of [false, true]) per[vector].push(time(kernel, vector, iterations) / iterations);
  }
  const [p, s] = [median(per.false), median(per.true)];
  console.log(`${name.padEnd(20)} ${p.toFixed(4).padStart(11)} ${s.toFixed(4).padStart(12)} ${(p / s).toFixed(2).padStart(9)}×`);
});
