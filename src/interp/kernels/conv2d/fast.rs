//! The fast CONV_2D kernels, float32 and int8, bit-identical to the reference kernels in
//! [`super`]: a padded copy of the input, the filter transposed into register blocks of output
//! channels, all-zero receptive fields skipped. [`super::fused_pool`] builds on the same pieces.

use crate::cpu::{self, Kernel};
use crate::error::Result;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::block::{block_width, padded_channels};
use crate::interp::kernels::conv2d::{ChannelQuant, ConvShape};
use crate::interp::kernels::requant::RequantLanes;
use crate::interp::kernels::window::Window;
use crate::interp::kernels::{FastCall, Io, check_len};

// Same results as the reference kernels (bit for bit; `tests.rs` compares them on random shapes),
// organised for speed:
//
// - The input is copied once per invoke into a padded float image whose border holds the value that
//   contributes nothing (0.0 for float; the input zero point for int8, since taps are `x − zp`). Every
//   output pixel then reads all KH·KW taps without bounds tests.
// - The filter is transposed to `[KH·KW·C][O_pad]` (O rounded up with zero lanes, see
//   [`padded_channels`]), so the innermost loop runs over a register block of output channels:
//   `acc[o] += x · w[k][o]`. Each channel still sums its taps in the reference order (filter_y,
//   filter_x, in_channel, from 0.0), so float results are identical.
// - int8 converts the input to `x − zp` once (so padding is 0, like a skipped tap) and accumulates in
//   f32, which is exact here: every partial sum is an integer of magnitude at most
//   `Σ_k |w[o][k]| · 255 ≤ 2^24` (checked when the kernel is prepared; otherwise the plan keeps the
//   reference kernel).
// - Output pixels whose whole receptive field is 0 (most of an MNIST digit's background) get 0 without
//   multiplying: every term would be `0 · w`, which adds nothing (exactly, in float too, for the finite
//   weights the fast kernels require).
// - int8 requantizes all channels at once and branch-free ([`RequantLanes`], equal to the reference
//   for every input; a channel whose right shift exceeds 30 leaves the convolution to the reference
//   kernel). An int8 MAX_POOL_2D right after the convolution can be fused ([`super::fused_pool`]):
//   requantization is monotone (non-decreasing) per channel, so the max of the requantized values is
//   the requantization of the max accumulator, and only the pooled values are requantized; a pool
//   window whose receptive fields are all zero is found with one integral-image query and gets the
//   precomputed requantized zero.
// - Each public fast kernel runs its body through [`cpu::dispatch`]: on x86-64 with AVX2+FMA the whole
//   body (every helper is `#[inline(always)]`) is compiled with those features, so the channel blocks
//   become 8-lane vectors. The int8 kernels also fuse multiply and add there (exact for their integer
//   sums); the float kernels keep separate multiplies and adds (Rust never contracts them), so their
//   results are the same on every CPU. Elsewhere (wasm32 with simd128, other CPUs) the same body runs
//   as compiled.
// - Single-channel 3×3 and 5×5 filters get loops with compile-time tap counts, and a 2×2 / stride 2
//   pool over them (the tutorial) a loop without per-pixel bookkeeping.

/// Largest partial-sum magnitude for which f32 accumulation of integers is exact.
pub const EXACT_F32_INTEGER: i64 = 1 << 24;

/// Geometry and transposed weights shared by the fast convolutions.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvFast {
    pub shape: ConvShape,
    /// Output channels rounded up for register blocks ([`padded_channels`]).
    pub(super) o_pad: usize,
    /// Filter as f32, `[KH][KW][C][O_pad]`.
    wt: Vec<f32>,
    /// Padded input height and width.
    pub(super) hp: usize,
    pub(super) wp: usize,
}

/// Largest padded input (and integral image) the fast convolution kernels allocate, in elements: far
/// above any real model's (a 224×224×64 image is 3.2 M), far below what a forged stride or dilation
/// could ask for.
pub const MAX_FAST_SCRATCH: usize = 1 << 24;

impl ConvFast {
    /// Transpose `filter` (OHWI) for a convolution without groups; `None` with groups or when the
    /// padded image would be too large (see [`MAX_FAST_SCRATCH`]).
    pub(super) fn new<T: Copy + Into<f32>>(shape: &ConvShape, filter: &[T]) -> Option<ConvFast> {
        if shape.groups() != 1 || filter.len() != shape.filter_len() {
            return None;
        }
        let w = &shape.window;
        let k = w.filter_h * w.filter_w * shape.in_c;
        let o_pad = padded_channels(shape.out_c);
        let mut wt = vec![0.0f32; k * o_pad];
        for o in 0..shape.out_c {
            for t in 0..k {
                wt[t * o_pad + o] = filter[o * k + t].into();
            }
        }
        // Rows/columns the windows reach: (out − 1)·stride + (k − 1)·dilation + 1, at least the image.
        // Strides and dilations come from the file: the arithmetic is checked, and a geometry whose
        // padded image (or its integral image) would exceed `MAX_FAST_SCRATCH` elements is left to the
        // reference kernel, which needs no padded copy.
        let reach = |out: usize, stride: usize, filter: usize, dilation: usize, image: usize| {
            let span = (out.max(1) - 1)
                .checked_mul(stride)?
                .checked_add(filter.checked_sub(1)?.checked_mul(dilation)?)?
                .checked_add(1)?;
            Some(span.max(image))
        };
        let hp = reach(
            w.out_h,
            w.stride_h,
            w.filter_h,
            w.dilation_h,
            w.in_h.checked_add(w.pad_h)?,
        )?;
        let wp = reach(
            w.out_w,
            w.stride_w,
            w.filter_w,
            w.dilation_w,
            w.in_w.checked_add(w.pad_w)?,
        )?;
        let padded = [w.batches, hp, wp, shape.in_c]
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))?;
        let integral = (hp + 1).checked_mul(wp + 1)?;
        if padded.max(integral) > MAX_FAST_SCRATCH {
            return None;
        }
        Some(ConvFast {
            shape: shape.clone(),
            o_pad,
            wt,
            hp,
            wp,
        })
    }

    /// Elements of the padded input.
    pub(super) fn padded_len(&self) -> usize {
        self.shape.window.batches * self.hp * self.wp * self.shape.in_c
    }

    /// Elements of a per-pixel accumulator map (`[N][OH][OW][O_pad]`).
    pub(super) fn acc_map_len(&self) -> usize {
        let w = &self.shape.window;
        w.batches * w.out_h * w.out_w * self.o_pad
    }

    /// Copy `input` into the padded image, converting with `f` and filling the border with `pad`.
    #[inline(always)]
    pub(super) fn pad_input<T: Copy>(
        &self,
        input: &[T],
        pad: f32,
        f: impl Fn(T) -> f32,
        xpad: &mut [f32],
    ) -> Result<()> {
        let s = &self.shape;
        let w = &s.window;
        check_len("CONV_2D", "input", input.len(), w.in_len(s.in_c))?;
        check_len("CONV_2D", "padded input", xpad.len(), self.padded_len())?;
        xpad.iter_mut().for_each(|v| *v = pad);
        let row = w.in_w * s.in_c;
        for b in 0..w.batches {
            for y in 0..w.in_h {
                let src = &input[(b * w.in_h + y) * row..][..row];
                let dst =
                    &mut xpad[((b * self.hp + y + w.pad_h) * self.wp + w.pad_w) * s.in_c..][..row];
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = f(v);
                }
            }
        }
        Ok(())
    }

    /// Elements of the per-batch nonzero-count integral image.
    pub(super) fn integral_len(&self) -> usize {
        (self.hp + 1) * (self.wp + 1)
    }

    /// Accumulate `Σ_k x · w[k][o]` for every output pixel into `acc_map` (`[N][OH][OW][O_pad]`).
    #[inline(always)]
    fn accumulate<const FMA: bool>(
        &self,
        xpad: &[f32],
        acc_map: &mut [f32],
        integral: &mut [u32],
    ) -> Result<()> {
        check_len("CONV_2D", "padded input", xpad.len(), self.padded_len())?;
        check_len("CONV_2D", "accumulators", acc_map.len(), self.acc_map_len())?;
        check_len(
            "CONV_2D",
            "integral image",
            integral.len(),
            self.integral_len(),
        )?;
        // Channels go in register-sized blocks (a `[f32; B]` the compiler keeps in vector registers for
        // the whole tap loop); the block width is a compile-time constant per instance.
        match block_width(self.o_pad) {
            4 => self.accumulate_blocks::<4, FMA>(xpad, acc_map, integral),
            8 => self.accumulate_blocks::<8, FMA>(xpad, acc_map, integral),
            12 => self.accumulate_blocks::<12, FMA>(xpad, acc_map, integral),
            _ => self.accumulate_blocks::<16, FMA>(xpad, acc_map, integral),
        }
        Ok(())
    }

    /// Build the integral image of "pixel is non-zero" for batch `b`: `integral[(y+1)(W+1) + x+1]` counts
    /// the non-zero pixels (any channel) in rows `..=y`, columns `..=x` of the padded image. "Zero" is
    /// `zero`, the value of a tap that contributes nothing (0.0 in the float image; the padding value in
    /// the byte image of the AVX-512 kernels).
    #[inline(always)]
    pub(super) fn build_integral<T: Copy + PartialEq>(
        &self,
        xpad: &[T],
        zero: T,
        b: usize,
        integral: &mut [u32],
    ) {
        let (c, wp1) = (self.shape.in_c, self.wp + 1);
        integral[..wp1].iter_mut().for_each(|v| *v = 0);
        for y in 0..self.hp {
            let row = &xpad[(b * self.hp + y) * self.wp * c..][..self.wp * c];
            let (above, rest) = integral.split_at_mut((y + 1) * wp1);
            let above = &above[y * wp1..];
            let current = &mut rest[..wp1];
            current[0] = 0;
            let mut row_count = 0u32;
            if c == 1 {
                for ((cur, &up), &v) in current[1..].iter_mut().zip(&above[1..]).zip(row) {
                    row_count += (v != zero) as u32;
                    *cur = up + row_count;
                }
            } else {
                for (x, pixel) in row.chunks_exact(c.max(1)).enumerate() {
                    row_count += pixel.iter().any(|&v| v != zero) as u32;
                    current[x + 1] = above[x + 1] + row_count;
                }
            }
        }
    }

    /// Whether rows `y0..y1`, columns `x0..x1` of the padded input (of the batch `integral` was built
    /// for) are all zero: 4 lookups in the integral image.
    #[inline(always)]
    pub(super) fn rect_is_zero(
        &self,
        integral: &[u32],
        (y0, x0): (usize, usize),
        (y1, x1): (usize, usize),
    ) -> bool {
        let wp1 = self.wp + 1;
        integral[y1 * wp1 + x1] + integral[y0 * wp1 + x0]
            == integral[y0 * wp1 + x1] + integral[y1 * wp1 + x0]
    }

    /// Whether every tap of output pixel (`b`, `out_y`, `out_x`) reads `zero`. Without dilation the
    /// window is a rectangle and its non-zero count is 4 lookups in `integral` (built for batch `b`);
    /// dilated windows test their taps one by one.
    #[inline(always)]
    pub(super) fn receptive_field_is_zero<T: Copy + PartialEq>(
        &self,
        xpad: &[T],
        zero: T,
        integral: &[u32],
        b: usize,
        out_y: usize,
        out_x: usize,
    ) -> bool {
        let w = &self.shape.window;
        let c = self.shape.in_c;
        if w.dilation_h == 1 && w.dilation_w == 1 {
            let (y0, x0) = (out_y * w.stride_h, out_x * w.stride_w);
            self.rect_is_zero(integral, (y0, x0), (y0 + w.filter_h, x0 + w.filter_w))
        } else {
            (0..w.filter_h).all(|filter_y| {
                let y = out_y * w.stride_h + filter_y * w.dilation_h;
                (0..w.filter_w).all(|filter_x| {
                    let x = out_x * w.stride_w + filter_x * w.dilation_w;
                    xpad[((b * self.hp + y) * self.wp + x) * c..][..c]
                        .iter()
                        .all(|&v| v == zero)
                })
            })
        }
    }

    /// One output pixel's sums for channels `block·B .. block·B + B`. With `FMA` the products are
    /// fused into the sums, which only the integer (int8) kernels may ask for: their products and
    /// partial sums are integers below 2^24, exact either way.
    #[inline(always)]
    pub(super) fn pixel_block<const B: usize, const FMA: bool>(
        &self,
        xpad: &[f32],
        b: usize,
        out_y: usize,
        out_x: usize,
        block: usize,
    ) -> [f32; B] {
        let w = &self.shape.window;
        let (c, o_pad) = (self.shape.in_c, self.o_pad);
        // With dilation 1 along x, one filter row's taps are contiguous in the padded image: KW·C
        // values, matching KW·C consecutive rows of the transposed filter.
        let (row_taps, row_steps) = if w.dilation_w == 1 {
            (w.filter_w * c, 1)
        } else {
            (c, w.filter_w)
        };
        // Common small filters with compile-time sizes, so the tap loops unroll.
        match (row_steps, w.filter_h, row_taps) {
            (1, 3, 3) => {
                return self.pixel_block_fixed::<B, FMA, 3, 3>(xpad, b, out_y, out_x, block);
            }
            (1, 5, 5) => {
                return self.pixel_block_fixed::<B, FMA, 5, 5>(xpad, b, out_y, out_x, block);
            }
            _ => {}
        }
        let mut acc = [0.0f32; B];
        for filter_y in 0..w.filter_h {
            let y = out_y * w.stride_h + filter_y * w.dilation_h;
            for step in 0..row_steps {
                let x = out_x * w.stride_w + step * w.dilation_w;
                // Hoisted slices: the padded-image row segment and the matching filter rows, so the
                // inner loops index without bounds checks.
                let xs = &xpad[((b * self.hp + y) * self.wp + x) * c..][..row_taps];
                let ws =
                    &self.wt[((filter_y * w.filter_w + step) * c) * o_pad..][..row_taps * o_pad];
                for (&xv, w_row) in xs.iter().zip(ws.chunks_exact(o_pad)) {
                    madd_block::<B, FMA>(&mut acc, xv, &w_row[block * B..][..B]);
                }
            }
        }
        acc
    }

    /// [`Self::pixel_block`] for `KH` filter rows of `RT` contiguous taps each (dilation 1 along x).
    #[inline(always)]
    pub(super) fn pixel_block_fixed<
        const B: usize,
        const FMA: bool,
        const KH: usize,
        const RT: usize,
    >(
        &self,
        xpad: &[f32],
        b: usize,
        out_y: usize,
        out_x: usize,
        block: usize,
    ) -> [f32; B] {
        let w = &self.shape.window;
        let (c, o_pad) = (self.shape.in_c, self.o_pad);
        let mut acc = [0.0f32; B];
        for filter_y in 0..KH {
            let y = out_y * w.stride_h + filter_y * w.dilation_h;
            let xs = &xpad[((b * self.hp + y) * self.wp + out_x * w.stride_w) * c..][..RT];
            let ws = &self.wt[filter_y * RT * o_pad..][..RT * o_pad];
            for t in 0..RT {
                madd_block::<B, FMA>(&mut acc, xs[t], &ws[t * o_pad + block * B..][..B]);
            }
        }
        acc
    }

    #[inline(always)]
    fn accumulate_blocks<const B: usize, const FMA: bool>(
        &self,
        xpad: &[f32],
        acc_map: &mut [f32],
        integral: &mut [u32],
    ) {
        let w = &self.shape.window;
        let mut pixels = acc_map.chunks_exact_mut(self.o_pad);
        for b in 0..w.batches {
            self.build_integral(xpad, 0.0, b, integral);
            for out_y in 0..w.out_h {
                for out_x in 0..w.out_w {
                    let Some(acc_px) = pixels.next() else { return };
                    if self.receptive_field_is_zero(xpad, 0.0, integral, b, out_y, out_x) {
                        acc_px.iter_mut().for_each(|a| *a = 0.0);
                        continue;
                    }
                    for (block, out) in acc_px.chunks_exact_mut(B).enumerate() {
                        out.copy_from_slice(
                            &self.pixel_block::<B, FMA>(xpad, b, out_y, out_x, block),
                        );
                    }
                }
            }
        }
    }
}

/// `acc[i] += x · w[i]` for a register block, fused when `FMA` (integer kernels only).
#[inline(always)]
fn madd_block<const B: usize, const FMA: bool>(acc: &mut [f32; B], x: f32, w: &[f32]) {
    let w = &w[..B];
    for i in 0..B {
        acc[i] = if FMA {
            x.mul_add(w[i], acc[i])
        } else {
            acc[i] + x * w[i]
        };
    }
}
/// Scratch space of the fast convolutions, sized when the kernel is prepared.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConvFastScratch {
    pub(super) xpad: Vec<f32>,
    pub(super) acc_map: Vec<f32>,
    /// Pooled accumulators, `O_pad` per pool output (fused pooling).
    pub(super) pooled: Vec<f32>,
    /// Per pool output: every convolution pixel of its window reads only zeros, so its pooled
    /// accumulators are all 0 (fused pooling).
    pub(super) pooled_zero: Vec<bool>,
    /// Non-zero-count integral image of one batch of the padded input.
    pub(super) integral: Vec<u32>,
    /// The int8 kernels on AVX-512 CPUs: the padded input as unsigned bytes (see [`super::avx512`]).
    pub(super) xbytes: Vec<u8>,
}

/// A prepared fast float32 convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvF32Fast {
    pub(crate) conv: ConvFast,
    pub(super) bias: Vec<f32>,
    pub(super) act: (f32, f32),
}

impl ConvF32Fast {
    /// Prepare; `None` when the fast kernel does not apply (groups, or non-finite weights, whose
    /// products with padding would not be 0).
    pub fn new(
        shape: &ConvShape,
        filter: &[f32],
        bias: Option<&[f32]>,
        act: (f32, f32),
    ) -> Option<(ConvF32Fast, ConvFastScratch)> {
        if filter.iter().any(|w| !w.is_finite()) {
            return None;
        }
        let conv = ConvFast::new(shape, filter)?;
        let scratch = ConvFastScratch {
            xpad: vec![0.0; conv.padded_len()],
            acc_map: vec![0.0; conv.acc_map_len()],
            pooled: vec![0.0; conv.o_pad],
            pooled_zero: Vec::new(),
            integral: vec![0; conv.integral_len()],
            xbytes: Vec::new(),
        };
        let bias = bias.map_or_else(|| vec![0.0; shape.out_c], <[f32]>::to_vec);
        Some((ConvF32Fast { conv, bias, act }, scratch))
    }
}

impl ConvFastScratch {
    /// Size the pooled-maxima scratch for fusing `conv` with the max pool `pool` (plan time).
    pub fn for_pool(&mut self, conv: &ConvFast, pool: &Window) {
        self.pooled = vec![0.0; pool.out_len(conv.o_pad)];
        self.pooled_zero = vec![false; pool.out_len(1)];
    }
}

/// Fast float32 convolution; identical to [`conv2d_f32`].
pub fn conv2d_f32_fast(
    k: &ConvF32Fast,
    input: &[f32],
    scratch: &mut ConvFastScratch,
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

impl Kernel for FastCall<'_, ConvF32Fast, Io<'_, f32, ConvFastScratch, f32>> {
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

impl ConvF32Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke(
        &self,
        input: &[f32],
        scratch: &mut ConvFastScratch,
        output: &mut [f32],
    ) -> Result<()> {
        let s = &self.conv.shape;
        check_len("CONV_2D", "output", output.len(), s.window.out_len(s.out_c))?;
        check_len("CONV_2D", "bias", self.bias.len(), s.out_c)?;
        self.conv.pad_input(input, 0.0, |v| v, &mut scratch.xpad)?;
        self.conv.accumulate::<false>(
            &scratch.xpad,
            &mut scratch.acc_map,
            &mut scratch.integral,
        )?;
        let (lo, hi) = self.act;
        for (out, acc) in output
            .chunks_exact_mut(s.out_c)
            .zip(scratch.acc_map.chunks_exact(self.conv.o_pad))
        {
            for ((o, &a), &b) in out.iter_mut().zip(acc).zip(&self.bias) {
                *o = clamp_f32(a + b, lo, hi);
            }
        }
        Ok(())
    }
}

/// A prepared fast int8 convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvI8Fast {
    pub(crate) conv: ConvFast,
    /// −input zero point.
    pub(super) input_offset: i32,
    /// The bias and the per-channel requantization.
    pub(super) lanes: RequantLanes,
    /// The filter for the VNNI sums on AVX-512 CPUs, when they apply.
    #[cfg(target_arch = "x86_64")]
    pub(super) vnni: Option<super::avx512::ConvVnni>,
}

impl ConvI8Fast {
    /// Prepare; `None` when the fast kernel does not apply: groups, weights large enough that f32
    /// accumulation could be inexact, or a right shift above 30 (see [`RequantLanes::new`]).
    pub fn new(
        shape: &ConvShape,
        q: &ChannelQuant,
        filter: &[i8],
        bias: Option<&[i32]>,
    ) -> Option<(ConvI8Fast, ConvFastScratch)> {
        let k = shape.window.filter_h * shape.window.filter_w * shape.in_c;
        if k == 0
            || q.multiplier.len() != shape.out_c
            || q.shift.len() != shape.out_c
            || !(-255..=255).contains(&q.input_offset)
        {
            return None;
        }
        // The centred input x − zp lies in [−255, 255].
        if filter
            .chunks_exact(k)
            .any(|row| row.iter().map(|&w| (w as i64).abs()).sum::<i64>() * 255 > EXACT_F32_INTEGER)
        {
            return None;
        }
        let lanes = RequantLanes::new(q, bias.unwrap_or(&[]))?;
        let conv = ConvFast::new(shape, filter)?;
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
        let mut scratch = ConvFastScratch {
            xpad: vec![0.0; conv.padded_len()],
            acc_map: vec![0.0; conv.acc_map_len()],
            pooled: vec![0.0; conv.o_pad],
            pooled_zero: Vec::new(),
            integral: vec![0; conv.integral_len()],
            xbytes: Vec::new(),
        };
        #[cfg(target_arch = "x86_64")]
        let vnni = {
            use super::avx512::ConvVnni;
            let vnni = ConvVnni::new(&conv, filter, q.input_offset);
            if vnni.is_some() {
                scratch.xbytes = vec![0; ConvVnni::image_len(&conv)];
            }
            vnni
        };
        let k = ConvI8Fast {
            conv,
            input_offset: q.input_offset,
            lanes,
            #[cfg(target_arch = "x86_64")]
            vnni,
        };
        Some((k, scratch))
    }

    #[inline(always)]
    fn prepare_accumulators<const FMA: bool>(
        &self,
        input: &[i8],
        scratch: &mut ConvFastScratch,
    ) -> Result<()> {
        // Centred input x − zp (exact in f32); padding taps are then 0 like the reference's skipped ones.
        let offset = self.input_offset;
        self.conv.pad_input(
            input,
            0.0,
            |v| (v as i32 + offset) as f32,
            &mut scratch.xpad,
        )?;
        self.conv
            .accumulate::<FMA>(&scratch.xpad, &mut scratch.acc_map, &mut scratch.integral)
    }
}

/// Fast int8 convolution; identical to [`conv2d_i8`].
pub fn conv2d_i8_fast(
    k: &ConvI8Fast,
    input: &[i8],
    scratch: &mut ConvFastScratch,
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

impl Kernel for FastCall<'_, ConvI8Fast, Io<'_, i8, ConvFastScratch, i8>> {
    type Output = Result<()>;

    /// Integer sums in f32, exact either way: fused multiply-adds where the CPU has them.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel.invoke::<FMA>(io.input, io.scratch, io.output)
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
        vnni.accumulate(cpu, &kernel.conv, io.input, io.scratch)?;
        kernel.requantize_map(io.scratch, io.output, |lanes, acc, bounds, out| {
            lanes.requantize_avx512(cpu, acc, bounds, out)
        })
    }
}

impl ConvI8Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke<const FMA: bool>(
        &self,
        input: &[i8],
        scratch: &mut ConvFastScratch,
        output: &mut [i8],
    ) -> Result<()> {
        self.prepare_accumulators::<FMA>(input, scratch)?;
        self.requantize_map(scratch, output, RequantLanes::requantize::<f32>)
    }

    /// Requantize the accumulator map into `output` with `requantize` (a build of
    /// [`RequantLanes::requantize`]).
    #[inline(always)]
    pub(super) fn requantize_map(
        &self,
        scratch: &ConvFastScratch,
        output: &mut [i8],
        requantize: impl Fn(&RequantLanes, &[f32], (i32, i32), &mut [i8]),
    ) -> Result<()> {
        let s = &self.conv.shape;
        check_len("CONV_2D", "output", output.len(), s.window.out_len(s.out_c))?;
        for (out, acc) in output
            .chunks_exact_mut(s.out_c)
            .zip(scratch.acc_map.chunks_exact(self.conv.o_pad))
        {
            requantize(&self.lanes, acc, (i32::MIN, i32::MAX), out);
        }
        Ok(())
    }
}
