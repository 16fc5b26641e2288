// The worker's modules, each fetched when first needed: pkg/fast/, its `Playground` (evaluation,
// conversions); pkg/inside/, the same `Playground` with the views inside a quantization (when the
// inside panel is first opened); and the training module, its `Trainer` (training runs, the helpers'
// shares, the model designer's questions), in one of two builds. pkg/train-relaxed/ computes the trainer's multiply-adds with relaxed SIMD's
// `f32x4.relaxed_madd`, which the engine may fuse (V8 does on x86-64 CPUs with FMA: 5 epochs 7–10%
// shorter in Chromium); pkg/train/ is the same trainer with plain SIMD128 (src/train/wasm_simd/). An
// engine without relaxed SIMD cannot compile the first, so it is asked first, with a module of one
// function whose body is one relaxed multiply-add: it validates only where relaxed SIMD is there.

/** A module with one function, (v128, v128, v128) -> v128: f32x4.relaxed_madd of its parameters. */
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // one type: 3 × v128 -> v128
  0x03, 0x02, 0x01, 0x00, // one function, of that type
  // its code: no locals; local.get 0, 1, 2; f32x4.relaxed_madd (0xfd 261); end
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

/** The build to run: 'relaxed' where the engine compiles relaxed SIMD, else 'simd128'; `asked`
 * ('simd128', from the page's `?simd=` parameter) forces the plain build. */
function pickBuild(asked) {
  return asked !== 'simd128' && WebAssembly.validate(PROBE) ? 'relaxed' : 'simd128';
}

/** The worker's `Playground` module, initialized. */
export async function loadPlayground() {
  const lib = await import('../pkg/fast/ptq_playground.js');
  await lib.default();
  return lib;
}

/** The worker's `Playground` module with the views inside a quantization, initialized. */
export async function loadInside() {
  const lib = await import('../pkg/inside/ptq_playground.js');
  await lib.default();
  return lib;
}

/** The training module in `build` ('relaxed' or 'simd128'), initialized. */
export async function loadTrainer(build) {
  const lib = build === 'relaxed' ? await import('../pkg/train-relaxed/ptq_playground.js') : await import('../pkg/train/ptq_playground.js');
  await lib.default();
  return lib;
}

/** The training module in the build `pickBuild(asked)` chooses, or in the plain build if the relaxed
 * one fails to load (a host that lacks it, a download cut short): `{lib, build}`, `build` the one
 * loaded. */
export async function loadBestTrainer(asked) {
  if (pickBuild(asked) === 'relaxed') {
    try {
      return { lib: await loadTrainer('relaxed'), build: 'relaxed' };
    } catch {
      // the plain build below; if that fails too, its error is the one reported
    }
  }
  return { lib: await loadTrainer('simd128'), build: 'simd128' };
}
