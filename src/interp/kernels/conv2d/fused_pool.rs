//! CONV_2D fused with the MAX_POOL_2D that is its only reader, float32 and int8: each pool window's
//! convolution sums are computed and maxed in registers, and only the maxima get the bias, the
//! requantization and the activations. Identical to running the two reference kernels.

use crate::cpu::{self, Kernel};
use crate::error::Result;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::block::block_width;
use crate::interp::kernels::conv2d::fast::{ConvF32Fast, ConvFast, ConvFastScratch, ConvI8Fast};
use crate::interp::kernels::requant::RequantLanes;
use crate::interp::kernels::window::Window;
use crate::interp::kernels::{FastCall, check_len};

impl ConvFast {
    /// For every pool output, the window maximum of the convolution sums (per channel, NaN skipped like
    /// `max < v` skips it), computed pixel by pixel in registers, into `scratch.pooled`: `O_pad`
    /// maxima per pool output (`[N][PH][PW][O_pad]`). `xpad` must already hold the padded input.
    #[inline(always)]
    fn pooled_maxima<const FMA: bool>(
        &self,
        pool: &Window,
        scratch: &mut ConvFastScratch,
    ) -> Result<()> {
        let w = &self.shape.window;
        if (pool.batches, pool.in_h, pool.in_w) != (w.batches, w.out_h, w.out_w) {
            return Err(crate::Error::InvalidModel(
                "CONV_2D + MAX_POOL_2D: pool geometry does not fit the convolution".into(),
            ));
        }
        // Every window must reach the image (the planner checks; empty windows would leave −∞).
        if (0..pool.out_h).any(|y| pool.clipped_y(y).0 >= pool.clipped_y(y).1)
            || (0..pool.out_w).any(|x| pool.clipped_x(x).0 >= pool.clipped_x(x).1)
        {
            return Err(crate::Error::InvalidModel(
                "MAX_POOL_2D: a window lies entirely in the padding".into(),
            ));
        }
        check_len(
            "CONV_2D",
            "integral image",
            scratch.integral.len(),
            self.integral_len(),
        )?;
        check_len(
            "MAX_POOL_2D",
            "pool scratch",
            scratch.pooled.len(),
            pool.out_len(self.o_pad),
        )?;
        check_len(
            "MAX_POOL_2D",
            "pool flags",
            scratch.pooled_zero.len(),
            pool.out_len(1),
        )?;
        match block_width(self.o_pad) {
            4 => self.pooled_blocks::<4, FMA>(pool, scratch),
            8 => self.pooled_blocks::<8, FMA>(pool, scratch),
            12 => self.pooled_blocks::<12, FMA>(pool, scratch),
            _ => self.pooled_blocks::<16, FMA>(pool, scratch),
        }
        Ok(())
    }

    #[inline(always)]
    fn pooled_blocks<const B: usize, const FMA: bool>(
        &self,
        pool: &Window,
        scratch: &mut ConvFastScratch,
    ) {
        let ConvFastScratch {
            xpad,
            integral,
            pooled,
            pooled_zero,
            ..
        } = scratch;
        let w = &self.shape.window;
        let undilated = w.dilation_h == 1 && w.dilation_w == 1;
        // The common case gets a specialised loop: a 2×2 / stride 2 pool without padding over a
        // single-channel 3×3 or 5×5 convolution (the tutorial's first layer).
        let two_by_two = (pool.filter_h, pool.filter_w, pool.stride_h, pool.stride_w)
            == (2, 2, 2, 2)
            && pool.pad_h == 0
            && pool.pad_w == 0
            && pool.out_h * 2 <= pool.in_h
            && pool.out_w * 2 <= pool.in_w;
        let fixed = match (w.filter_h, w.filter_w * self.shape.in_c, w.dilation_w) {
            (3, 3, 1) | (5, 5, 1) if two_by_two => Some(w.filter_h),
            _ => None,
        };
        let mut outputs = pooled
            .chunks_exact_mut(self.o_pad)
            .zip(pooled_zero.iter_mut());
        for b in 0..pool.batches {
            self.build_integral(xpad, 0.0, b, integral);
            for out_y in 0..pool.out_h {
                let (fy0, fy1) = pool.clipped_y(out_y);
                for out_x in 0..pool.out_w {
                    let (fx0, fx1) = pool.clipped_x(out_x);
                    let Some((pooled, zero)) = outputs.next() else {
                        return;
                    };
                    // The union of the window's receptive fields is a rectangle of the padded input;
                    // if it is all zeros (MNIST background) so is every sum, with no per-pixel work.
                    let (cy0, cx0) = (
                        out_y * pool.stride_h + fy0 - pool.pad_h,
                        out_x * pool.stride_w + fx0 - pool.pad_w,
                    );
                    let (cy1, cx1) = (
                        out_y * pool.stride_h + fy1 - pool.pad_h,
                        out_x * pool.stride_w + fx1 - pool.pad_w,
                    );
                    *zero = undilated
                        && self.rect_is_zero(
                            integral,
                            (cy0 * w.stride_h, cx0 * w.stride_w),
                            (
                                (cy1 - 1) * w.stride_h + w.filter_h,
                                (cx1 - 1) * w.stride_w + w.filter_w,
                            ),
                        );
                    if *zero {
                        pooled.iter_mut().for_each(|v| *v = 0.0);
                        continue;
                    }
                    if let Some(fixed) = fixed {
                        // 2×2 windows inside the image: the four pixels without per-pixel checks
                        // (a zero receptive field sums to 0 anyway), in registers.
                        let (y, x) = (out_y * 2, out_x * 2);
                        for (block, max_block) in pooled.chunks_exact_mut(B).enumerate() {
                            let mut max = [f32::NEG_INFINITY; B];
                            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                                let acc = match fixed {
                                    3 => self.pixel_block_fixed::<B, FMA, 3, 3>(
                                        xpad,
                                        b,
                                        y + dy,
                                        x + dx,
                                        block,
                                    ),
                                    _ => self.pixel_block_fixed::<B, FMA, 5, 5>(
                                        xpad,
                                        b,
                                        y + dy,
                                        x + dx,
                                        block,
                                    ),
                                };
                                for i in 0..B {
                                    max[i] = if max[i] < acc[i] { acc[i] } else { max[i] };
                                }
                            }
                            max_block.copy_from_slice(&max);
                        }
                        continue;
                    }
                    for (block, max_block) in pooled.chunks_exact_mut(B).enumerate() {
                        let mut max = [f32::NEG_INFINITY; B];
                        for fy in fy0..fy1 {
                            let y = out_y * pool.stride_h + fy - pool.pad_h;
                            for fx in fx0..fx1 {
                                let x = out_x * pool.stride_w + fx - pool.pad_w;
                                let acc =
                                    if self.receptive_field_is_zero(xpad, 0.0, integral, b, y, x) {
                                        [0.0f32; B]
                                    } else {
                                        self.pixel_block::<B, FMA>(xpad, b, y, x, block)
                                    };
                                for i in 0..B {
                                    max[i] = if max[i] < acc[i] { acc[i] } else { max[i] };
                                }
                            }
                        }
                        max_block.copy_from_slice(&max);
                    }
                }
            }
        }
    }
}

/// The arguments of a fast convolution with the max pool fused after it: the pool's geometry on the
/// convolution's output, the pool's activation range `A`, and the input, scratch and output `X`/`Y`.
pub(crate) struct PooledIo<'a, A, X, Y> {
    pool: &'a Window,
    act: A,
    input: &'a [X],
    scratch: &'a mut ConvFastScratch,
    output: &'a mut [Y],
}

/// Fast int8 convolution followed by int8 MAX_POOL_2D (`pool` is the pooling geometry on the
/// convolution's output, `pool_act` the pool's activation range); identical to running
/// [`conv2d_i8`] then `max_pool2d_quant`. Each pool window's convolution pixels are computed and maxed in
/// registers, then only the maxima are requantized (requantization is monotone per channel, so it
/// commutes with the max).
pub fn conv2d_i8_max_pool2d_fast(
    k: &ConvI8Fast,
    pool: &Window,
    pool_act: (i32, i32),
    input: &[i8],
    scratch: &mut ConvFastScratch,
    output: &mut [i8],
) -> Result<()> {
    cpu::dispatch(FastCall {
        kernel: k,
        args: &mut PooledIo {
            pool,
            act: pool_act,
            input,
            scratch,
            output,
        },
    })
}

impl Kernel for FastCall<'_, ConvI8Fast, PooledIo<'_, (i32, i32), i8, i8>> {
    type Output = Result<()>;

    /// Integer sums in f32, exact either way: fused multiply-adds where the CPU has them.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel
            .invoke_pooled::<FMA>(io.pool, io.act, io.input, io.scratch, io.output)
    }

    /// The sums with VNNI where they apply (same values, see [`super::avx512`]).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn run_avx512(self, cpu: crate::cpu::Avx512) -> Result<()> {
        let kernel = self.kernel;
        let Some(vnni) = &kernel.vnni else {
            return cpu.avx2_fma().run(self);
        };
        let io = self.args;
        let out_c = kernel.conv.shape.out_c;
        check_len(
            "MAX_POOL_2D",
            "output",
            io.output.len(),
            io.pool.out_len(out_c),
        )?;
        vnni.pooled_maxima(cpu, &kernel.conv, io.pool, io.input, io.scratch)?;
        kernel.requantize_pooled(io.act, io.scratch, io.output, |lanes, acc, bounds, out| {
            lanes.requantize_avx512(cpu, acc, bounds, out)
        })
    }
}

impl ConvI8Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke_pooled<const FMA: bool>(
        &self,
        pool: &Window,
        pool_act: (i32, i32),
        input: &[i8],
        scratch: &mut ConvFastScratch,
        output: &mut [i8],
    ) -> Result<()> {
        let out_c = self.conv.shape.out_c;
        check_len("MAX_POOL_2D", "output", output.len(), pool.out_len(out_c))?;
        let offset = self.input_offset;
        self.conv.pad_input(
            input,
            0.0,
            |v| (v as i32 + offset) as f32,
            &mut scratch.xpad,
        )?;
        self.conv.pooled_maxima::<FMA>(pool, scratch)?;
        self.requantize_pooled(pool_act, scratch, output, RequantLanes::requantize::<f32>)
    }

    /// Requantize the pooled maxima in `scratch` into `output` (checked to hold the pool's output)
    /// with `requantize` (a build of [`RequantLanes::requantize`]).
    #[inline(always)]
    pub(super) fn requantize_pooled(
        &self,
        pool_act: (i32, i32),
        scratch: &ConvFastScratch,
        output: &mut [i8],
        requantize: impl Fn(&RequantLanes, &[f32], (i32, i32), &mut [i8]),
    ) -> Result<()> {
        let out_c = self.conv.shape.out_c;
        // What an all-zero window gives, requantized once.
        let mut zero_out = [0i8; 64];
        let zeros = [0.0f32; 64];
        let precomputed = out_c <= zero_out.len();
        if precomputed {
            requantize(
                &self.lanes,
                &zeros[..out_c],
                pool_act,
                &mut zero_out[..out_c],
            );
        }
        let pooled = scratch
            .pooled
            .chunks_exact(self.conv.o_pad)
            .zip(&scratch.pooled_zero);
        for (out, (maxima, &zero)) in output.chunks_exact_mut(out_c).zip(pooled) {
            if zero && precomputed {
                out.copy_from_slice(&zero_out[..out_c]);
                continue;
            }
            requantize(&self.lanes, maxima, pool_act, out);
        }
        Ok(())
    }
}

/// The portable build of [`conv2d_i8_max_pool2d_fast`] (the VNNI build's test oracle).
#[cfg(test)]
pub(super) fn portable_pooled(
    k: &ConvI8Fast,
    pool: &Window,
    pool_act: (i32, i32),
    input: &[i8],
    scratch: &mut ConvFastScratch,
    output: &mut [i8],
) -> Result<()> {
    k.invoke_pooled::<false>(pool, pool_act, input, scratch, output)
}

/// Fast float32 convolution followed by float32 MAX_POOL_2D; identical to running [`conv2d_f32`] then
/// `max_pool2d_f32` for inputs without NaN. `x ↦ clamp(x + bias)` is monotone, so the window max is
/// taken on the raw sums and the bias and activations applied once per pooled value. (A window whose
/// sums are all NaN gives the conv's activation minimum here, the pool's initial lowest value there.)
pub fn conv2d_f32_max_pool2d_fast(
    k: &ConvF32Fast,
    pool: &Window,
    pool_act: (f32, f32),
    input: &[f32],
    scratch: &mut ConvFastScratch,
    output: &mut [f32],
) -> Result<()> {
    cpu::dispatch(FastCall {
        kernel: k,
        args: &mut PooledIo {
            pool,
            act: pool_act,
            input,
            scratch,
            output,
        },
    })
}

impl Kernel for FastCall<'_, ConvF32Fast, PooledIo<'_, (f32, f32), f32, f32>> {
    type Output = Result<()>;

    /// Float sums: `FMA` is ignored, every product is added separately as in the reference.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel
            .invoke_pooled(io.pool, io.act, io.input, io.scratch, io.output)
    }

    /// The same body compiled for AVX-512 (the channel blocks get wider vectors; each lane's sum
    /// keeps its order, so the bits are those of every other build).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn run_avx512(self, _cpu: crate::cpu::Avx512) -> Result<()> {
        self.run::<false>()
    }
}

impl ConvF32Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke_pooled(
        &self,
        pool: &Window,
        pool_act: (f32, f32),
        input: &[f32],
        scratch: &mut ConvFastScratch,
        output: &mut [f32],
    ) -> Result<()> {
        let out_c = self.conv.shape.out_c;
        check_len("MAX_POOL_2D", "output", output.len(), pool.out_len(out_c))?;
        check_len("CONV_2D", "bias", self.bias.len(), out_c)?;
        self.conv.pad_input(input, 0.0, |v| v, &mut scratch.xpad)?;
        let (lo, hi) = self.act;
        self.conv.pooled_maxima::<false>(pool, scratch)?;
        let pooled = scratch.pooled.chunks_exact(self.conv.o_pad);
        for (out, maxima) in output.chunks_exact_mut(out_c).zip(pooled) {
            for ((o, &max), &b) in out.iter_mut().zip(maxima).zip(&self.bias) {
                *o = clamp_f32(clamp_f32(max + b, lo, hi), pool_act.0, pool_act.1);
            }
        }
        Ok(())
    }
}
