//! The fast FULLY_CONNECTED kernels, float32 and int8, bit-identical to the reference kernels in
//! [`super`] (the hybrid one, in [`super::hybrid`], shares their scratch space and integer dot
//! product): weights transposed into register blocks of units or widened to i16, zero inputs skipped.

use crate::cpu::{self, Kernel};
use crate::error::Result;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::block::{block_width, padded_channels};
use crate::interp::kernels::fully_connected::{FcQuant, FcShape};
use crate::interp::kernels::{FastCall, Io, check_len};

// Bit-identical to the reference kernels (compared on random shapes in `tests.rs`):
//
// - The weights are transposed to `[D][U_pad]` (U rounded up with zero lanes), so the inner loop runs
//   over a register block of units, `acc[u] += x[d] · w[d][u]`; each unit still sums over d in order
//   from 0.0, so float results are unchanged.
// - Inputs that are 0 are skipped (a first pass lists the non-zero ones, in order). A term `0 · w` adds
//   nothing, exactly, in float too for finite weights. After ReLU and max pooling most of an MNIST
//   feature vector is 0.
// - int8 and hybrid work on the centred input `x − zp` (in [−255, 255]) as i16 against i16 weights,
//   summed densely in wrapping i32 ([`dot_i16`], `pmaddwd` with AVX2): `Σ w·(x − zp)` is exactly the
//   reference's accumulator (int8) or its `dot − row_sum·zp` (hybrid), modulo 2^32 like the reference.

/// Weights transposed to `[D][U_pad]` as f32 (float kernel).
#[derive(Clone, Debug, PartialEq)]
struct Transposed {
    shape: FcShape,
    u_pad: usize,
    wt: Vec<f32>,
}

impl Transposed {
    fn new<T: Copy + Into<f32>>(shape: FcShape, weights: &[T]) -> Option<Transposed> {
        if !shape.fits_weights(weights.len()) {
            return None;
        }
        let u_pad = padded_channels(shape.units);
        let mut wt = vec![0.0f32; shape.depth * u_pad];
        for u in 0..shape.units {
            for d in 0..shape.depth {
                wt[d * u_pad + u] = weights[u * shape.depth + d].into();
            }
        }
        Some(Transposed { shape, u_pad, wt })
    }

    #[inline(always)]
    fn check(&self, input: usize, output: usize, scratch: &FcFastScratch) -> Result<()> {
        let s = self.shape;
        s.check_io(input, output)?;
        check_len(
            "FULLY_CONNECTED",
            "accumulators",
            scratch.acc.len(),
            self.u_pad,
        )?;
        check_len(
            "FULLY_CONNECTED",
            "index scratch",
            scratch.nonzero.len(),
            s.depth,
        )
    }

    /// `acc[u] = Σ_{d in nonzero} x[d] · w[d][u]` over the listed depths (ascending), from 0.0.
    #[inline(always)]
    fn dot(&self, x: &[f32], nonzero: &[u32], acc: &mut [f32]) {
        match block_width(self.u_pad) {
            4 => self.dot_blocks::<4>(x, nonzero, acc),
            8 => self.dot_blocks::<8>(x, nonzero, acc),
            12 => self.dot_blocks::<12>(x, nonzero, acc),
            _ => self.dot_blocks::<16>(x, nonzero, acc),
        }
    }

    /// Units in register blocks of `B` (a `[f32; B]` accumulator kept in vector registers).
    #[inline(always)]
    fn dot_blocks<const B: usize>(&self, x: &[f32], nonzero: &[u32], acc: &mut [f32]) {
        for (block, out) in acc.chunks_exact_mut(B).enumerate() {
            let mut sums = [0.0f32; B];
            for &d in nonzero {
                let d = d as usize;
                let xv = x[d];
                let w_block = &self.wt[d * self.u_pad + block * B..][..B];
                for i in 0..B {
                    sums[i] += xv * w_block[i];
                }
            }
            out.copy_from_slice(&sums);
        }
    }
}

/// `Σ_d w[d]·x[d]` with wrapping i32 sums, which is the reference's i32 accumulator exactly (wrapping
/// addition is associative, so any order gives the same bits). The operands are i16 (int8 weights and
/// centred inputs in [−255, 255]), so the loop compiles to `pmaddwd` pairs.
#[inline(always)]
pub(super) fn dot_i16(w: &[i16], x: &[i16]) -> i32 {
    w.iter()
        .zip(x)
        .fold(0i32, |acc, (&a, &b)| acc.wrapping_add(a as i32 * b as i32))
}

/// Weights `[units][depth]` as i16, for [`dot_i16`].
pub(super) fn weights_i16(weights: &[i8]) -> Vec<i16> {
    weights.iter().map(|&w| w as i16).collect()
}

/// List the indices of the non-zero values of `x` (in order) into `nonzero`; returns how many.
/// Branch-free: every index is written, the count advances only past non-zeros.
#[inline(always)]
fn list_nonzero(x: &[f32], nonzero: &mut [u32]) -> usize {
    let mut n = 0;
    for (d, &v) in x.iter().enumerate() {
        if let Some(slot) = nonzero.get_mut(n) {
            *slot = d as u32;
        }
        n += (v != 0.0) as usize;
    }
    n
}

/// Scratch of the fast kernels, sized when they are prepared (each kernel gets only what it uses).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FcFastScratch {
    /// Float kernel: one row of unit sums, and the indices of the non-zero inputs.
    acc: Vec<f32>,
    nonzero: Vec<u32>,
    /// Hybrid kernel: one row of inputs quantized to int8.
    pub(super) input_q: Vec<i8>,
    /// Int8 and hybrid kernels: one row of centred integer inputs as i16.
    pub(super) x16: Vec<i16>,
    /// Int8 kernel on AVX-512 CPUs: one row of inputs offset to unsigned bytes, padded to whole
    /// vectors (see [`super::avx512`]).
    pub(super) x_u8: Vec<u8>,
}

impl FcFastScratch {
    fn float(t: &Transposed) -> FcFastScratch {
        FcFastScratch {
            acc: vec![0.0; t.u_pad],
            nonzero: vec![0; t.shape.depth],
            ..FcFastScratch::default()
        }
    }

    pub(super) fn integer(shape: FcShape, hybrid: bool) -> FcFastScratch {
        FcFastScratch {
            input_q: vec![0; if hybrid { shape.depth } else { 0 }],
            x16: vec![0; shape.depth],
            ..FcFastScratch::default()
        }
    }

    /// The integer kernels' checks: input and output sizes, and the i16 (and, hybrid, int8) row.
    #[inline(always)]
    pub(super) fn check_integer(
        &self,
        shape: FcShape,
        input: usize,
        output: usize,
        hybrid: bool,
    ) -> Result<()> {
        shape.check_io(input, output)?;
        check_len(
            "FULLY_CONNECTED",
            "i16 scratch",
            self.x16.len(),
            shape.depth,
        )?;
        if hybrid {
            check_len(
                "FULLY_CONNECTED",
                "int8 scratch",
                self.input_q.len(),
                shape.depth,
            )?;
        }
        Ok(())
    }
}

impl FcShape {
    /// Whether `input` and `output` hold whole batches for this shape.
    #[inline(always)]
    fn check_io(&self, input: usize, output: usize) -> Result<()> {
        check_len("FULLY_CONNECTED", "input", input, self.batches * self.depth)?;
        check_len(
            "FULLY_CONNECTED",
            "output",
            output,
            self.batches * self.units,
        )
    }

    /// Whether `weights` are `units × depth` with a non-zero depth (what the fast kernels need).
    pub(super) fn fits_weights(&self, weights: usize) -> bool {
        self.depth > 0 && weights == self.units * self.depth
    }
}

/// A prepared fast float32 fully-connected layer.
#[derive(Clone, Debug, PartialEq)]
pub struct FcF32Fast {
    t: Transposed,
    bias: Vec<f32>,
    act: (f32, f32),
}

impl FcF32Fast {
    /// Prepare; `None` for non-finite weights (skipping `0 · inf` would change the result).
    pub fn new(
        shape: FcShape,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: (f32, f32),
    ) -> Option<(FcF32Fast, FcFastScratch)> {
        if weights.iter().any(|w| !w.is_finite()) {
            return None;
        }
        let t = Transposed::new(shape, weights)?;
        let scratch = FcFastScratch::float(&t);
        let bias = bias.map_or_else(|| vec![0.0; shape.units], <[f32]>::to_vec);
        Some((FcF32Fast { t, bias, act }, scratch))
    }
}

/// Fast float32 fully connected; identical to [`fully_connected_f32`].
pub fn fully_connected_f32_fast(
    k: &FcF32Fast,
    input: &[f32],
    scratch: &mut FcFastScratch,
    output: &mut [f32],
) -> Result<()> {
    cpu::dispatch(FastCall {
        kernel: k,
        args: &mut Io {
            input,
            scratch,
            output,
        },
    })
}

impl Kernel for FastCall<'_, FcF32Fast, Io<'_, f32, FcFastScratch, f32>> {
    type Output = Result<()>;

    /// Float sums: `FMA` is ignored, every product is added separately as in the reference.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel.invoke(io.input, io.scratch, io.output)
    }

    /// The same body compiled for AVX-512 (the channel blocks get wider vectors; each lane's sum
    /// keeps its order, so the bits are those of every other build).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn run_avx512(self, _cpu: crate::cpu::Avx512) -> Result<()> {
        self.run::<false>()
    }
}

impl FcF32Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke(&self, input: &[f32], scratch: &mut FcFastScratch, output: &mut [f32]) -> Result<()> {
        let s = self.t.shape;
        self.t.check(input.len(), output.len(), scratch)?;
        check_len("FULLY_CONNECTED", "bias", self.bias.len(), s.units)?;
        for (in_row, out_row) in input
            .chunks_exact(s.depth)
            .zip(output.chunks_exact_mut(s.units))
        {
            let n = list_nonzero(in_row, &mut scratch.nonzero);
            self.t.dot(in_row, &scratch.nonzero[..n], &mut scratch.acc);
            for ((o, &a), &b) in out_row.iter_mut().zip(&scratch.acc).zip(&self.bias) {
                *o = clamp_f32(a + b, self.act.0, self.act.1);
            }
        }
        Ok(())
    }
}

/// A prepared fast int8 fully-connected layer (symmetric weights only).
#[derive(Clone, Debug, PartialEq)]
pub struct FcI8Fast {
    shape: FcShape,
    /// The weights as i16, `[units][depth]`.
    w16: Vec<i16>,
    /// The weights as the AVX-512 VNNI dot products take them.
    #[cfg(target_arch = "x86_64")]
    vnni: super::avx512::VnniWeights,
    bias: Vec<i32>,
    quant: FcQuant,
    fixed_point: bool,
}

impl FcI8Fast {
    /// Prepare; `None` when the fast kernel does not apply (a weight zero point). `fixed_point` selects
    /// [`fully_connected_i8_fixed_point`]'s requantization instead of [`fully_connected_i8`]'s.
    pub fn new(
        shape: FcShape,
        q: &FcQuant,
        weights: &[i8],
        bias: Option<&[i32]>,
        fixed_point: bool,
    ) -> Option<(FcI8Fast, FcFastScratch)> {
        if q.weights_offset != 0 || !(-255..=255).contains(&q.input_offset) {
            return None;
        }
        if q.effective_scale.len() != shape.units
            || q.multiplier.len() != shape.units
            || q.shift.len() != shape.units
        {
            return None;
        }
        if !shape.fits_weights(weights.len()) {
            return None;
        }
        let bias = (0..shape.units)
            .map(|u| bias.and_then(|b| b.get(u).copied()).unwrap_or(0))
            .collect();
        #[allow(unused_mut)]
        let mut scratch = FcFastScratch::integer(shape, false);
        #[cfg(target_arch = "x86_64")]
        let vnni = super::avx512::VnniWeights::new(weights, shape.depth);
        #[cfg(target_arch = "x86_64")]
        {
            scratch.x_u8 = vec![0; vnni.input_len()];
        }
        Some((
            FcI8Fast {
                shape,
                w16: weights_i16(weights),
                #[cfg(target_arch = "x86_64")]
                vnni,
                bias,
                quant: q.clone(),
                fixed_point,
            },
            scratch,
        ))
    }
}

/// Fast int8 fully connected; identical to [`fully_connected_i8`] (or the fixed-point variant).
pub fn fully_connected_i8_fast(
    k: &FcI8Fast,
    input: &[i8],
    scratch: &mut FcFastScratch,
    output: &mut [i8],
) -> Result<()> {
    cpu::dispatch(FastCall {
        kernel: k,
        args: &mut Io {
            input,
            scratch,
            output,
        },
    })
}

impl Kernel for FastCall<'_, FcI8Fast, Io<'_, i8, FcFastScratch, i8>> {
    type Output = Result<()>;

    /// Wrapping i32 sums: `FMA` does not apply.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel.invoke(io.input, io.scratch, io.output)
    }

    /// The dot products with VNNI (same sums, see [`super::avx512`]).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn run_avx512(self, cpu: crate::cpu::Avx512) -> Result<()> {
        let io = self.args;
        self.kernel
            .invoke_avx512(cpu, io.input, io.scratch, io.output)
    }
}

impl FcI8Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke(&self, input: &[i8], scratch: &mut FcFastScratch, output: &mut [i8]) -> Result<()> {
        let s = self.shape;
        scratch.check_integer(s, input.len(), output.len(), false)?;
        let q = &self.quant;
        for (in_row, out_row) in input
            .chunks_exact(s.depth)
            .zip(output.chunks_exact_mut(s.units))
        {
            // Centred inputs x − zp lie in [−255, 255] (checked when prepared).
            for (v, &x) in scratch.x16.iter_mut().zip(in_row) {
                *v = (x as i32 + q.input_offset) as i16;
            }
            for (u, (o, w_row)) in out_row
                .iter_mut()
                .zip(self.w16.chunks_exact(s.depth))
                .enumerate()
            {
                *o = self.output(u, dot_i16(w_row, &scratch.x16));
            }
        }
        Ok(())
    }

    /// [`Self::invoke`] with the AVX-512 VNNI dot products.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn invoke_avx512(
        &self,
        cpu: crate::cpu::Avx512,
        input: &[i8],
        scratch: &mut FcFastScratch,
        output: &mut [i8],
    ) -> Result<()> {
        let s = self.shape;
        scratch.check_integer(s, input.len(), output.len(), false)?;
        check_len(
            "FULLY_CONNECTED",
            "byte scratch",
            scratch.x_u8.len(),
            self.vnni.input_len(),
        )?;
        for (in_row, out_row) in input
            .chunks_exact(s.depth)
            .zip(output.chunks_exact_mut(s.units))
        {
            super::avx512::offset_input(in_row, &mut scratch.x_u8);
            super::avx512::dot_rows(
                cpu,
                &self.vnni,
                &scratch.x_u8,
                self.quant.input_offset,
                |u, dot| {
                    if let Some(o) = out_row.get_mut(u) {
                        *o = self.output(u, dot);
                    }
                },
            );
        }
        Ok(())
    }

    /// Unit `u`'s output from its accumulator `dot` (before the bias): bias, requantization, output
    /// zero point, activation.
    #[inline(always)]
    fn output(&self, u: usize, dot: i32) -> i8 {
        let q = &self.quant;
        let acc = dot.wrapping_add(self.bias[u]);
        let scaled = if self.fixed_point {
            crate::interp::fixed_point::multiply_by_quantized_multiplier_fast(
                acc,
                q.multiplier[u],
                q.shift[u],
            )
        } else {
            (acc as f64 * q.effective_scale[u]).round() as i32
        };
        scaled
            .wrapping_add(q.output_offset)
            .max(q.act_min)
            .min(q.act_max) as i8
    }
}
