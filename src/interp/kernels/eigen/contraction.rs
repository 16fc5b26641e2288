//! Eigen's tensor contraction on TFLite's 4-thread pool (`TensorContractionThreadPool.h`), as the
//! calibrator's convolutions run it: from Eigen's cost model, whether a product is one GEMV, one
//! blocked GEMM, or sharded by depth into partial GEMMs summed afterwards, and each output element's
//! summation order under that plan.

use crate::interp::kernels::eigen::{
    Blocking, L3, MR, NR, PACKET, POOL_THREADS, blocked_element, col_major_gemv_dot,
};

/// Eigen's per-coefficient cost estimate (`TensorOpCost`): bytes loaded, bytes stored, compute cycles.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cost {
    pub loaded: f64,
    pub stored: f64,
    pub compute: f64,
}

impl Cost {
    /// `TensorOpCost(loaded, stored, compute, vectorized = true, packet_size = 8)`.
    fn vectorized(loaded: f64, stored: f64, compute: f64) -> Cost {
        Cost {
            loaded,
            stored,
            compute: compute / PACKET as f64,
        }
    }
    fn plus(self, o: Cost) -> Cost {
        Cost {
            loaded: self.loaded + o.loaded,
            stored: self.stored + o.stored,
            compute: self.compute + o.compute,
        }
    }
    fn times(self, f: f64) -> Cost {
        Cost {
            loaded: self.loaded * f,
            stored: self.stored * f,
            compute: self.compute * f,
        }
    }
    fn without_memory(self) -> Cost {
        Cost {
            loaded: 0.0,
            stored: 0.0,
            compute: self.compute,
        }
    }
    /// `TensorCostModel::totalCost`: 11/64 cycles per byte loaded or stored.
    fn total(self, count: f64) -> f64 {
        let byte = 11.0 / 64.0;
        count * (byte * self.loaded + byte * self.stored + self.compute)
    }

    /// A plain `TensorMap` operand: one float loaded per coefficient.
    pub fn tensor_map() -> Cost {
        Cost::vectorized(4.0, 0.0, 0.0)
    }

    /// An `extract_image_patches` operand (`TensorImagePatchOp` evaluator): the input map plus three
    /// integer divisions (24 each for a 64-bit index) and 14 multiplications per coefficient.
    pub fn image_patches() -> Cost {
        Cost::tensor_map().plus(Cost::vectorized(0.0, 0.0, 3.0 * 24.0 + 14.0))
    }
}

/// How the thread pool contraction evaluates `C = A·B` (`evalProductImpl`).
#[derive(Clone, Debug, PartialEq)]
pub enum Contraction {
    /// One column: sequential column-major GEMV.
    Gemv,
    /// One blocked GEMM over the whole depth (sequential `evalGemm`, or `EvalParallelContext` whose
    /// kernels cover `mc × nc` blocks and walk the depth in blocks of `kc`).
    Gemm(Blocking),
    /// `EvalShardedByInnerDimContext`: the depth cut into slices of `slice` depths, each a blocked GEMM
    /// into its own zeroed buffer, then the buffers summed (see [`Contraction::element`]).
    ShardedByDepth {
        slice: usize,
        slices: usize,
        /// Blocking of every slice but the last, and of the last.
        blocking: Blocking,
        last_blocking: Blocking,
    },
}

/// Computed per contraction: the operand shapes and costs.
#[derive(Clone, Copy, Debug)]
pub struct ContractionShape {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// Cost per coefficient of A (the filter) and B (the patches or input).
    pub lhs: Cost,
    pub rhs: Cost,
}

impl ContractionShape {
    /// `shardByCol`.
    fn shard_by_col(&self, num_threads: usize) -> bool {
        let (m, n, t) = (self.m, self.n, num_threads);
        if m / t >= NR
            && (n / t < NR
                || (n / t < 4 * NR
                    && n % (t * NR) != 0
                    && (m % (t * NR) == 0 || m / n.max(1) >= 6)))
        {
            return false;
        }
        if n / t < 16 * NR && m > n * 32 {
            return false;
        }
        true
    }

    /// `TensorContractionBlocking`: `ShardByRow` swaps the roles of m and n.
    fn blocking(&self, k: usize, by_col: bool, num_threads: usize) -> Blocking {
        if by_col {
            Blocking::new(k, self.m, self.n, num_threads)
        } else {
            let b = Blocking::new(k, self.n, self.m, num_threads);
            Blocking {
                kc: b.kc,
                mc: b.nc,
                nc: b.mc,
            }
        }
    }

    /// `computeBandwidth`.
    fn bandwidth(by_col: bool, bm: usize, bn: usize, bk: usize) -> f64 {
        let (outer, inner) = if by_col { (bn, bm) } else { (bm, bn) };
        let bw = if bk == 1 {
            4.0
        } else if outer < NR || inner < MR {
            2.0
        } else {
            0.5
        };
        // without FMA a multiply-add is two dependent instructions
        if bw == 0.5 { 1.0 } else { bw }
    }

    /// `contractionCost(m, n, bm, bn, bk, shard_by_col, prepacked = false)`.
    fn contraction_cost(&self, b: Blocking, by_col: bool) -> Cost {
        let kd = b.kc as f64;
        let compute = kd * Self::bandwidth(false, b.mc, b.nc, b.kc);
        let cost = Cost::vectorized(0.0, 0.0, compute).plus(Cost::vectorized(0.0, 4.0, 0.0));
        let lhs = self.lhs.times(kd / self.n as f64);
        let rhs = self.rhs.times(kd / self.m as f64);
        let (lhs, rhs) = if by_col {
            (lhs.without_memory(), rhs)
        } else {
            (lhs, rhs.without_memory())
        };
        cost.plus(lhs).plus(rhs)
    }

    /// `TensorCostModel::numThreads`.
    fn num_threads(&self, cost: Cost) -> usize {
        let total = cost.total((self.n * self.m) as f64);
        let threads = (total - 100_000.0) / 100_000.0 + 0.9;
        (threads as i64).clamp(1, POOL_THREADS as i64) as usize
    }

    /// `numThreadsInnerDim`.
    fn num_threads_by_depth(&self) -> usize {
        let (m, n, k) = (self.m as f64, self.n as f64, self.k as f64);
        let compute = Self::bandwidth(true, self.m, self.n, self.k) * m * n;
        let cost = Cost::vectorized(0.0, 0.0, compute)
            .plus(Cost::vectorized(0.0, 4.0, 0.0))
            .plus(self.lhs.times(m).without_memory())
            .plus(self.rhs.times(n));
        let total_parallel = cost.total(k);
        let reduction = Cost::vectorized(2.0, 1.0, 1.0).total(m * n);
        let (mut best, mut min_cost) = (1, total_parallel);
        let mut nt = 2;
        while nt <= POOL_THREADS {
            let sequential = 100_000.0 + nt as f64 * (reduction + 3000.0);
            let parallel = total_parallel / nt as f64 + sequential;
            if parallel < min_cost {
                best = nt;
                min_cost = parallel;
            }
            nt += 2;
        }
        best
    }

    /// `shardByInnerDim`.
    fn shard_by_depth(&self, num_threads: usize, by_depth: usize) -> bool {
        let (m, n, k) = (self.m, self.n, self.k);
        let buffer = m * n * std::mem::size_of::<f32>();
        if n == 1
            || by_depth < 2
            || by_depth < num_threads
            || buffer > L3 / by_depth
            || k / by_depth < 2 * NR
        {
            return false;
        }
        m.max(n) / num_threads < NR
            || (k / by_depth > 8 * NR && (m.min(n) < 2 * NR || by_depth > num_threads))
    }

    /// The evaluation `evalProductImpl` chooses for this contraction on the 4-thread pool.
    pub fn plan(&self) -> Contraction {
        let (m, n, k) = (self.m.max(1), self.n.max(1), self.k.max(1));
        let s = ContractionShape { m, n, k, ..*self };
        // First approximation with 2 threads, as Eigen does.
        let by_col = s.shard_by_col(2);
        let first = s.blocking(k, by_col, 2);
        let num_threads = s.num_threads(s.contraction_cost(first, by_col));
        let by_depth = s.num_threads_by_depth();
        if s.shard_by_depth(num_threads, by_depth) {
            // `EvalShardedByInnerDimContext::blockSize`: a multiple of 8 depths, at least 12 packets.
            let target = k.div_ceil(by_depth).div_ceil(8) * 8;
            let slice = k.min((12 * PACKET).max(target));
            let slices = k.div_ceil(slice);
            let last = k - slice * (slices - 1);
            // each slice is a GEMM with as many threads as there are slices, sharded by column
            return Contraction::ShardedByDepth {
                slice,
                slices,
                blocking: Blocking::new(slice, m, n, slices),
                last_blocking: Blocking::new(last, m, n, slices),
            };
        }
        if n == 1 {
            return Contraction::Gemv;
        }
        if num_threads == 1 {
            return Contraction::Gemm(Blocking::new(k, m, n, 1));
        }
        let by_col = s.shard_by_col(num_threads);
        Contraction::Gemm(s.blocking(k, by_col, num_threads))
    }
}

impl Contraction {
    /// Element (`i`, `j`) of C, from row `i` of A and column `j` of B (both `k` long).
    pub fn element(
        &self,
        a_row: &[f32],
        b_col: &[f32],
        (i, j): (usize, usize),
        (m, n): (usize, usize),
    ) -> f32 {
        let k = a_row.len().min(b_col.len());
        match self {
            Contraction::Gemv => col_major_gemv_dot(a_row, b_col, m),
            Contraction::Gemm(b) => blocked_element(a_row, b_col, (i, j), (m, n), (0, k), *b),
            Contraction::ShardedByDepth {
                slice,
                slices,
                blocking,
                last_blocking,
            } => {
                let partial = |s: usize| {
                    let k0 = s * slice;
                    let k1 = if s + 1 == *slices {
                        k
                    } else {
                        (k0 + slice).min(k)
                    };
                    let b = if s + 1 == *slices {
                        *last_blocking
                    } else {
                        *blocking
                    };
                    blocked_element(a_row, b_col, (i, j), (m, n), (k0, k1), b)
                };
                // Buffers are column-major m×n; the first (m·n) rounded down to packets are added with
                // packet instructions, the rest with scalar C++ expressions, which group differently.
                let index = i + m * j;
                let packet = index < (m * n) / PACKET * PACKET;
                // `addAllToBuffer(dst, s0, s1, s2)`: packets (dst+s0)+(s1+s2), scalars dst+((s0+s1)+s2)
                let add3 = |dst: f32, s0: f32, s1: f32, s2: f32| {
                    if packet {
                        (dst + s0) + (s1 + s2)
                    } else {
                        dst + ((s0 + s1) + s2)
                    }
                };
                const L0: usize = 4;
                let ranges = slices.div_ceil(L0);
                // Each range of 4 slices is summed into its first slice's buffer.
                let range_sum = |r: usize| {
                    let first = r * L0;
                    let size = if r + 1 < ranges {
                        L0
                    } else {
                        slices - L0 * (ranges - 1)
                    };
                    let mut dst = partial(first);
                    if size == L0 {
                        dst = add3(
                            dst,
                            partial(first + 1),
                            partial(first + 2),
                            partial(first + 3),
                        );
                    } else {
                        for s in 1..size {
                            dst += partial(first + s);
                        }
                    }
                    dst
                };
                // `aggregateL0Blocks`: ranges 1.. added to range 0, three at a time, then one by one.
                let mut acc = range_sum(0);
                let mut r = 1;
                while r + 2 < ranges {
                    acc = add3(acc, range_sum(r), range_sum(r + 1), range_sum(r + 2));
                    r += 3;
                }
                while r < ranges {
                    acc += range_sum(r);
                    r += 1;
                }
                acc
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_conv_is_sharded_by_depth() {
        // 16 filters, 3·3·16 taps, 14·14 pixels: TF splits the depth 96 + 48 (seen in its tensors).
        let s = ContractionShape {
            m: 16,
            n: 196,
            k: 144,
            lhs: Cost::tensor_map(),
            rhs: Cost::image_patches(),
        };
        match s.plan() {
            Contraction::ShardedByDepth { slice, slices, .. } => {
                assert_eq!((slice, slices), (96, 2))
            }
            other => panic!("{other:?}"),
        }
        // the tutorial conv is one GEMM
        let s = ContractionShape {
            m: 12,
            n: 676,
            k: 9,
            lhs: Cost::tensor_map(),
            rhs: Cost::image_patches(),
        };
        assert!(matches!(s.plan(), Contraction::Gemm(_)));
    }

    #[test]
    fn plans_of_the_extra_calibration_models() {
        // tests/fixtures/calibration/extra: every tensor of these matches TF bit for bit.
        let conv = |m, n, k| ContractionShape {
            m,
            n,
            k,
            lhs: Cost::tensor_map(),
            rhs: Cost::image_patches(),
        };
        // K = 576 > 320: two depth blocks per element.
        assert_eq!(
            conv(40, 144, 576).plan(),
            Contraction::Gemm(Blocking {
                kc: 320,
                mc: 16,
                nc: 36
            })
        );
        // few pixels, many filters: one thread, one block
        assert_eq!(
            conv(48, 9, 72).plan(),
            Contraction::Gemm(Blocking {
                kc: 72,
                mc: 48,
                nc: 9
            })
        );
        // a single output pixel: column-major GEMV
        let whole = ContractionShape {
            m: 24,
            n: 1,
            k: 432,
            lhs: Cost::tensor_map(),
            rhs: Cost::tensor_map(),
        };
        assert_eq!(whole.plan(), Contraction::Gemv);
    }
}
