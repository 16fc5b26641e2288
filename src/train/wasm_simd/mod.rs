//! Explicit WebAssembly SIMD128 builds of the trainer's hot kernels: the conv forward planes and
//! weight gradient (conv.rs), the 2×2 max pool over planes (pool.rs; together the fused conv + pool
//! pair), the dense forward, weight-gradient and input-gradient products (dense.rs), and Adam's
//! update (adam.rs); this file holds the loads and stores they share. The layers and Adam call them
//! on wasm32 built with `simd128` (as the project's wasm builds are), in place of the portable
//! twins in train/kernels.rs and train/adam.rs that LLVM auto-vectorizes; all but the dense input
//! gradient, whose twin's general product already runs matrixmultiply's own SIMD128 kernel and
//! measured as fast (bench/wasm_kernels.sh).
//!
//! In the SIMD128 build, every kernel here gives the same bits as its portable twin, not merely
//! close ones: SIMD128 has no fused multiply-add, so each sum is taken with a separate
//! multiplication and addition per term, term by term in the twin's order, and only independent
//! sums share a vector. In detail:
//! - conv forward: each output from the bias through the taps in order, as the twin; the twin's
//!   ReLU differs between its tiles (`a > 0 ? a : 0`) and the positions after them (`a < 0 ? 0 :
//!   a`, which keeps −0 and NaN), and so does this kernel, region by region.
//! - conv weight gradient: lane `j` of each 8-lane partial sum gains the positions `p ≡ j (mod 8)`
//!   in order, onto what it held, as the twin; here the 8 lanes are two 4-float vectors.
//! - max pool: maxima and the index of the first maximum involve no rounding.
//! - dense products: the twins are ndarray's general products, which run matrixmultiply's sgemm. It
//!   sums each output over the inner dimension in blocks of [`GEMM_KC`] terms, each block from zero
//!   term by term with a separate multiply and add, then adds the blocks to the output in order
//!   (multiplying by α = 1 and β = 1, which is exact). These kernels keep that order, without
//!   packing the operands (the matrices are skinny: the tutorial's dense layer is 10 units over
//!   2,028 inputs).
//! - Adam: elementwise, the same IEEE operations (square root and division are correctly rounded).
//!
//! Measured with bench/wasm_kernels.sh (Node 20's V8 on a 2-core x86-64 machine shared with other
//! jobs; one call = one batch of 32 on the tutorial's shapes, fastest of 9 runs) against the twins:
//! conv forward 6.7–8×, conv weight gradient 2.6–3×, dense forward and weight gradient 1.4×, the
//! max pool 1.0× (1.3× since it stores its maxima as vectors), Adam 1.0× (LLVM already vectorizes
//! its twin as well), the unused dense input gradient 1.4× on its own but at best at parity once the
//! layer calls it. One training epoch on
//! 60,000 made-up images went from 3.9–5.6 s to 2.5–4.0 s in the same runs, with the same loss to
//! the last bit; those images left Adam's moments subnormal, so the bench now trains on MNIST's
//! real images, where an epoch with these kernels takes 1.8–1.9 s.
//!
//! Built with relaxed SIMD too (`-C target-feature=+relaxed-simd`: the worker's second build,
//! pkg/relaxed/), every multiply-add above is one `f32x4.relaxed_madd`, which the engine may fuse
//! (one rounding) or not (two, the bits above); V8 fuses it on x86-64 CPUs with FMA. The sums then
//! differ from the twins' within the bounds the AVX2 kernels' tests allow, and one epoch takes
//! 1.59–1.60 s instead of 1.80–1.91 s (bench/wasm_kernels.sh --relaxed, Node 20). LLVM applies a
//! wasm module's features to all its functions, and with relaxed SIMD it also compiles the
//! `pmin`/`pmax` selects of the whole library (ReLUs, clamps, pools, here and in the interpreter)
//! to relaxed minima and maxima: the same results but for NaN and ±0 operands, where the engine
//! chooses. V8 on x86-64 gives the selects' own results there (tests/web_train_kernels.rs checks
//! it). Browsers without relaxed SIMD cannot even load that build; the page then runs this one
//! (www/wasm-build.js).
//!
//! Vectors are loaded from and stored to `&[f32; 4]`s, so every memory access is checked by the
//! slice that produced the array; the `unsafe` blocks in `load`, `store` and `store_u32` only turn
//! those references into pointers.

use core::arch::wasm32::*;

mod adam;
mod conv;
mod dense;
mod pool;

pub use adam::adam_update;
pub use conv::{conv_forward, conv_weight_grad};
pub use dense::{GEMM_KC, dense_forward, dense_input_grad, dense_weight_grad};
pub use pool::max_pool_2x2_planes;

/// Floats per SIMD128 vector.
const V: usize = 4;

/// Load 4 floats.
#[inline(always)]
fn load(a: &[f32; V]) -> v128 {
    // SAFETY: `a` is a reference to 4 initialized floats; v128.load has no alignment requirement.
    unsafe { v128_load(a.as_ptr().cast()) }
}

/// Store 4 floats.
#[inline(always)]
fn store(a: &mut [f32; V], v: v128) {
    // SAFETY: `a` is an exclusive reference to 4 floats; v128.store has no alignment requirement.
    unsafe { v128_store(a.as_mut_ptr().cast(), v) }
}

/// Store 4 u32s.
#[inline(always)]
fn store_u32(a: &mut [u32; V], v: v128) {
    // SAFETY: `a` is an exclusive reference to 4 u32s (16 bytes); no alignment requirement.
    unsafe { v128_store(a.as_mut_ptr().cast(), v) }
}

/// The 4 floats at `s[at..at + 4]` (`at + 4 ≤ s.len()` is the caller's loop bound).
#[inline(always)]
fn load_at(s: &[f32], at: usize) -> v128 {
    match s[at..].first_chunk::<V>() {
        Some(a) => load(a),
        None => f32x4_splat(0.0), // never: the loops stop 4 short of the end
    }
}

/// Store 4 floats at `s[at..at + 4]`.
#[inline(always)]
fn store_at(s: &mut [f32], at: usize, v: v128) {
    if let Some(a) = s[at..].first_chunk_mut::<V>() {
        store(a, v);
    }
}

/// `acc + a·b`, rounded after the multiplication and after the addition; in the relaxed-SIMD
/// build, rounded once or twice, as the engine chooses.
#[inline(always)]
fn mul_add(a: v128, b: v128, acc: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    return f32x4_relaxed_madd(a, b, acc);
    #[cfg(not(target_feature = "relaxed-simd"))]
    f32x4_add(acc, f32x4_mul(a, b))
}

/// Load 8 floats as two vectors.
#[inline(always)]
fn load2(a: &[f32; 2 * V]) -> (v128, v128) {
    let (halves, _) = a.as_chunks::<V>();
    (load(&halves[0]), load(&halves[1]))
}

/// Store two vectors as 8 floats.
#[inline(always)]
fn store2(a: &mut [f32; 2 * V], lo: v128, hi: v128) {
    let (halves, _) = a.as_chunks_mut::<V>();
    store(&mut halves[0], lo);
    store(&mut halves[1], hi);
}

/// The portable twins, reachable from the browser tests (tests/web_train_kernels.rs) and the
/// benchmarks.
pub mod portable {
    pub use crate::train::kernels::{
        conv_forward, conv_weight_grad, dense_forward, dense_input_grad, dense_weight_grad,
        max_pool_2x2_planes,
    };

    /// Adam's portable update (what train/adam.rs runs off wasm).
    pub fn adam_update(
        coefficients: (f32, f32, f32),
        alpha: f32,
        param: &mut [f32],
        grad: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        crate::train::adam::update_body(coefficients, alpha, param, grad, m, v);
    }
}
