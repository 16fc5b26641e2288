//! AVX-512 builds of the trainer's hot loops (conv.rs: the conv forward planes, weight gradient and
//! im2col rows; dense.rs: the three dense products; pool.rs: the 2×2 max pool over conv planes and
//! the routing of its gradient), picked at run time by the layers when the CPU has the [`Avx512`]
//! tier. They give the same bits as the AVX2 kernels of simd.rs, not merely close ones: a model
//! trained from a seed is the same on every x86-64 CPU with AVX2, with or without AVX-512 (the site's
//! default model is trained when the site is built, on whatever machine builds it).
//!
//! How each keeps the AVX2 kernel's arithmetic:
//! - conv forward: a lane is one output position, summed from the bias through the taps in order with
//!   fused multiply-adds, whatever the vector's width. 16 positions per vector, then one vector of 8
//!   where the AVX2 kernel has an odd one left; the channels covered are the AVX2 kernel's. The
//!   fewer than 8 positions it leaves to the portable code are summed here with the portable code's
//!   arithmetic (products rounded, then added), masked.
//! - conv weight gradient: the AVX2 kernel keeps 8 partial sums per (channel, tap), lane `j` summing
//!   the positions `≡ j (mod 8)` in order. Here a 512-bit register holds two channels' 8 partial sums
//!   side by side (the positions are not widened), so each sum sees the same terms in the same order,
//!   and the channels and taps covered are the AVX2 kernel's; the last positions are added term by
//!   term as the portable code adds them.
//! - dense products: the forward product's two samples share a register (8 partial sums each, the
//!   AVX2 kernel's lane sums and tails); the gradients' lanes are columns.
//! - max pool and routing: maxima, indices and routed gradients are exact; 16 windows per step.
//!
//! Vectors are loaded from and stored to arrays (`&[f32; 16]`, `&[f32; 8]`), so every memory access is
//! checked by the slice that produced the array; the `unsafe` blocks in the load and store helpers
//! only turn those references into pointers, and the pool's masked loads and stores touch only lanes
//! inside the slices they are given.

use std::arch::x86_64::*;

#[cfg(doc)]
use crate::cpu::Avx512;
use crate::cpu::{first8, first16};

mod conv;
mod dense;
mod pool;
#[cfg(test)]
mod tests;

pub use conv::{conv_forward, conv_weight_grad, copy_rows};
pub use dense::{dense_forward, dense_input_grad, dense_weight_grad};
pub use pool::{max_pool_2x2_planes, route_planes};

/// Floats per AVX-512 vector.
const LANES: usize = 16;

/// Floats per AVX vector: the AVX2 kernels' width, and so the width of the gradient's partial sums.
const HALF: usize = 8;

/// Load 16 floats.
#[inline]
#[target_feature(enable = "avx512f")]
fn load(a: &[f32; LANES]) -> __m512 {
    // SAFETY: `a` is a reference to 16 initialized floats; loadu has no alignment requirement.
    unsafe { _mm512_loadu_ps(a.as_ptr()) }
}

/// Store 16 floats.
#[inline]
#[target_feature(enable = "avx512f")]
fn store(a: &mut [f32; LANES], v: __m512) {
    // SAFETY: `a` is an exclusive reference to 16 floats; storeu has no alignment requirement.
    unsafe { _mm512_storeu_ps(a.as_mut_ptr(), v) }
}

/// Load 8 floats.
#[inline]
#[target_feature(enable = "avx")]
fn load8(a: &[f32; HALF]) -> __m256 {
    // SAFETY: `a` is a reference to 8 initialized floats; loadu has no alignment requirement.
    unsafe { _mm256_loadu_ps(a.as_ptr()) }
}

/// Store 8 floats.
#[inline]
#[target_feature(enable = "avx")]
fn store8(a: &mut [f32; HALF], v: __m256) {
    // SAFETY: `a` is an exclusive reference to 8 floats; storeu has no alignment requirement.
    unsafe { _mm256_storeu_ps(a.as_mut_ptr(), v) }
}

/// The first `a.len()` (< 8) floats of `a` in a vector, the other lanes zero.
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn load_tail(a: &[f32]) -> __m256 {
    // SAFETY: the masked load reads only the lanes its mask sets, the first `a.len()` (at most 8)
    // floats from the pointer, all inside `a`; masked-off lanes are not accessed.
    unsafe { _mm256_maskz_loadu_ps(first8(a.len()), a.as_ptr()) }
}

/// Store the first `a.len()` (< 8) lanes of `v` into `a`.
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn store_tail(a: &mut [f32], v: __m256) {
    // SAFETY: the masked store writes only the lanes its mask sets, the first `a.len()` (at most 8)
    // floats from the pointer, all inside `a`, which is exclusive.
    unsafe { _mm256_mask_storeu_ps(a.as_mut_ptr(), first8(a.len()), v) }
}
