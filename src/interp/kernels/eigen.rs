//! The float summation orders of Eigen as TensorFlow 2.21's x86-64 pip wheel runs it inside TFLite's
//! optimized kernels: AVX `Packet8f`, **no FMA** (every product is rounded before it is added), and the
//! Eigen thread pool of 4 threads that TFLite creates when the thread count is left at −1, which is
//! what TF's post-training calibrator (`tensorflow.lite.python.optimize.calibrator`) does.
//!
//! Nothing here is faster than the reference kernels; it exists so that calibration sees the very same
//! float values as TF's calibrator, so that our quantization parameters equal TF's bit for bit. Each
//! order below was pinned down by comparing every element of TF's tensors (LiteRT/TF interpreter with
//! `BUILTIN_WITHOUT_DEFAULT_DELEGATES`, `num_threads=4`, `experimental_preserve_all_tensors`) with
//! candidate orders on the op fixtures; the source it mirrors is named at each item.
//!
//! Vocabulary (Eigen's): a GEMM computes `C[m×n] = A[m×k]·B[k×n]`. For TFLite's convolutions and fully
//! connected layers `A` is the filter (rows = output channels, `k` = filter taps in (y, x, c) order) and
//! `B` holds one column per output pixel (conv: the im2col patch) or per batch row (FULLY_CONNECTED).
//!
//! The machine-dependent part is Eigen's cache-size-driven blocking; it only matters for depths
//! `k > 320` (or much larger products). We use the sizes of the machine TF's calibration fixtures were
//! recorded on ([`L1`], [`L2`], [`L3`]).

/// Floats per AVX packet (`Packet8f`).
pub const PACKET: usize = 8;
/// `gebp_traits<float, float>::mr` without FMA: two packets of rows (the three-packet micro kernel is
/// only compiled with `EIGEN_HAS_SINGLE_INSTRUCTION_MADD`).
pub const MR: usize = 2 * PACKET;
/// `gebp_traits<float, float>::nr`: columns per micro panel.
pub const NR: usize = 4;
/// Depth peeling of the gebp kernel (`pk`) and of the blocking (`kr`, `k_peeling`).
const PK: usize = 8;
/// Cache sizes Eigen queries with CPUID (`manage_caching_sizes`) on the fixture machine.
pub const L1: usize = 48 * 1024;
pub const L2: usize = 2 * 1024 * 1024;
pub const L3: usize = 480 * 1024 * 1024;
/// Threads in the Eigen pool TFLite makes for `num_threads = -1` (`eigen_support.cc`).
pub const POOL_THREADS: usize = 4;

/// The order in which one gebp micro kernel sums the products of one output element over one depth
/// block (`GeneralBlockPanelKernel.h`, `gebp_kernel::operator()`). Which one applies depends on where
/// the element sits in its gebp call, see [`Gebp::order`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// One accumulator, products added in depth order: the 2-packet micro kernel, every kernel's
    /// "remaining columns" loop, and the scalar rows' remaining columns.
    Sequential,
    /// `lhs_process_one_packet` (full, half and quarter packets of rows) against a panel of 4 columns:
    /// over the depth peeled to a multiple of 8, even depths go to accumulator C and odd ones to D;
    /// then C += D and the remaining depths are added to C one by one.
    EvenOdd,
    /// Rows left after the quarter packets, against a panel of 4 columns, use the "swapped" kernel:
    /// an 8-lane packet holds 4 columns × 2 consecutive depths, with 4 such accumulators taking pairs of
    /// depths in turn over the depth peeled to a multiple of 8; they are summed `(C0+C1)+(C2+C3)`, the
    /// remaining pairs go to that sum, the two depth lanes of a column are added, and an odd last depth
    /// is added at the end.
    Swapped,
}

/// `p(k) = a[k]·b[k]` rounded to f32 (no FMA).
#[inline]
fn product(a: &[f32], b: &[f32], k: usize) -> f32 {
    a[k] * b[k]
}

/// The sum of `a[k]·b[k]` over one depth block, in `order` (`a` and `b` are the block's slices).
pub fn dot(a: &[f32], b: &[f32], order: Order) -> f32 {
    let depth = a.len().min(b.len());
    match order {
        Order::Sequential => {
            let mut acc = 0.0f32;
            for k in 0..depth {
                acc += product(a, b, k);
            }
            acc
        }
        Order::EvenOdd => {
            let peeled = depth / PK * PK;
            let (mut c, mut d) = (0.0f32, 0.0f32);
            for k in (0..peeled).step_by(2) {
                c += product(a, b, k);
                d += product(a, b, k + 1);
            }
            c += d;
            for k in peeled..depth {
                c += product(a, b, k);
            }
            c
        }
        Order::Swapped => {
            // lanes[acc][parity]: accumulator C0..C3, even/odd depth lane of this column.
            let mut lanes = [[0.0f32; 2]; 4];
            let end4 = depth / PK * PK;
            let end2 = depth / 2 * 2;
            for k in 0..end4 {
                lanes[(k % PK) / 2][k % 2] += product(a, b, k);
            }
            let mut sum = [0.0f32; 2];
            for (parity, s) in sum.iter_mut().enumerate() {
                *s = (lanes[0][parity] + lanes[1][parity]) + (lanes[2][parity] + lanes[3][parity]);
            }
            for k in end4..end2 {
                sum[k % 2] += product(a, b, k);
            }
            // predux_half_dowto4: the two depth lanes of the column
            let mut h = sum[0] + sum[1];
            if depth % 2 == 1 {
                h += product(a, b, depth - 1);
            }
            h
        }
    }
}

/// The geometry of one gebp call: a block of `rows × cols` of C.
#[derive(Clone, Copy, Debug)]
pub struct Gebp {
    pub rows: usize,
    pub cols: usize,
}

impl Gebp {
    /// The summation order of element (`row`, `col`) of the block (`gebp_kernel::operator()`: rows are
    /// peeled into 2-packet, 1-packet, half-packet (4) and scalar groups; columns into panels of 4 and
    /// the rest).
    pub fn order(&self, row: usize, col: usize) -> Order {
        let two_packets = self.rows / MR * MR;
        let one_packet = two_packets + (self.rows - two_packets) / PACKET * PACKET;
        let half_packet = one_packet + (self.rows - one_packet) / (PACKET / 2) * (PACKET / 2);
        let in_panel = col < self.cols / NR * NR;
        if row < two_packets || !in_panel {
            Order::Sequential
        } else if row < half_packet {
            Order::EvenOdd
        } else {
            Order::Swapped
        }
    }
}

/// Blocking sizes (`kc`, `mc`, `nc`) of a GEMM: Eigen's `computeProductBlockingSizes<float, float, 1>`
/// (`GeneralBlockPanelKernel.h`) as `TensorContractionBlocking` and the dense product call it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocking {
    pub kc: usize,
    pub mc: usize,
    pub nc: usize,
}

impl Blocking {
    pub fn new(k: usize, m: usize, n: usize, num_threads: usize) -> Blocking {
        let (mut k, mut m, mut n) = (k.max(1), m.max(1), n.max(1));
        let size = std::mem::size_of::<f32>();
        let k_div = MR * size + NR * size;
        let k_sub = MR * NR * size;
        if num_threads > 1 {
            // Depth capped at 320; columns and rows split per thread, rounded to nr / mr.
            let k_cache = ((L1 - k_sub) / k_div).clamp(PK, 320);
            if k_cache < k {
                k = k_cache - k_cache % PK;
            }
            let n_cache = (L2 - L1) / (NR * size * k);
            let n_per_thread = n.div_ceil(num_threads);
            if n_cache <= n_per_thread {
                n = (n_cache - n_cache % NR).max(NR);
            } else {
                n = n.min((n_per_thread + NR - 1) - (n_per_thread + NR - 1) % NR);
            }
            let m_cache = (L3 - L2) / (size * k * num_threads);
            let m_per_thread = m.div_ceil(num_threads);
            if m_cache < m_per_thread && m_cache >= MR {
                m = m_cache - m_cache % MR;
            } else {
                m = m.min((m_per_thread + MR - 1) - (m_per_thread + MR - 1) % MR);
            }
            return Blocking {
                kc: k,
                mc: m,
                nc: n,
            };
        }
        if k.max(m).max(n) < 48 {
            return Blocking {
                kc: k,
                mc: m,
                nc: n,
            };
        }
        // L1 blocking of the depth, made even over the sweeps.
        let max_kc = (((L1 - k_sub) / k_div) & !(PK - 1)).max(1);
        let old_k = k;
        if k > max_kc {
            k = if k % max_kc == 0 {
                max_kc
            } else {
                max_kc - PK * ((max_kc - 1 - k % max_kc) / (PK * (k / max_kc + 1)))
            };
        }
        // Eigen's fixed "actual L2" of 1.5 MB for the column blocking.
        let actual_l2 = 1_572_864usize;
        let lhs_bytes = m * k * size;
        let remaining_l1 = L1 as i64 - k_sub as i64 - lhs_bytes as i64;
        let max_nc = if remaining_l1 >= (NR * size * k) as i64 {
            remaining_l1 as usize / (k * size)
        } else {
            (3 * actual_l2) / (2 * 2 * max_kc * size)
        };
        let nc = (actual_l2 / (2 * k * size)).min(max_nc) & !(NR - 1);
        if nc > 0 && n > nc {
            n = if n % nc == 0 {
                nc
            } else {
                nc - NR * ((nc - n % nc) / (NR * (n / nc + 1)))
            };
        } else if old_k == k {
            let problem_size = k * n * size;
            let mut actual_lm = actual_l2;
            let mut max_mc = m;
            if problem_size <= 1024 {
                actual_lm = L1;
            } else if problem_size <= 32768 {
                actual_lm = L2;
                max_mc = max_mc.min(576);
            }
            let mut mc = (actual_lm / (3 * k * size)).min(max_mc);
            if mc > MR {
                mc -= mc % MR;
            } else if mc == 0 {
                return Blocking {
                    kc: k,
                    mc: m,
                    nc: n,
                };
            }
            m = if m % mc == 0 {
                mc
            } else {
                mc - MR * ((mc - m % mc) / (MR * (m / mc + 1)))
            };
        }
        Blocking {
            kc: k.max(1),
            mc: m.max(1),
            nc: n.max(1),
        }
    }
}

/// One blocked GEMM over the depth range `k0..k1`: element (i, j) is the sum over depth blocks of `kc`
/// of [`dot`] in the order its position in its `mc × nc` gebp call gives, added to a zeroed result
/// (`evalGemmPartial` in `TensorContraction.h`, `general_matrix_matrix_product` in
/// `GeneralMatrixMatrix.h`; both loop rows, then depth, then columns).
pub fn blocked_element(
    a_row: &[f32],
    b_col: &[f32],
    (i, j): (usize, usize),
    (m, n): (usize, usize),
    (k0, k1): (usize, usize),
    b: Blocking,
) -> f32 {
    let (mc, nc, kc) = (b.mc.max(1), b.nc.max(1), b.kc.max(1));
    let (i2, j2) = (i / mc * mc, j / nc * nc);
    let gebp = Gebp {
        rows: (m - i2).min(mc),
        cols: (n - j2).min(nc),
    };
    let order = gebp.order(i - i2, j - j2);
    let mut acc = 0.0f32;
    let mut k2 = k0;
    while k2 < k1 {
        let end = (k2 + kc).min(k1);
        acc += dot(&a_row[k2..end], &b_col[k2..end], order);
        k2 = end;
    }
    acc
}

/// Eigen's row-major GEMV (`general_matrix_vector_product<..., RowMajor, ...>`, what
/// `cpu_backend_gemm`'s Eigen path runs for a single column): per row, 8 lanes over the depth in steps
/// of a packet, reduced as `predux` does on AVX (lane j + lane j+4, then `(b0+b2)+(b1+b3)`), then the
/// remaining products added one by one.
pub fn row_major_gemv_dot(a: &[f32], x: &[f32]) -> f32 {
    let depth = a.len().min(x.len());
    let packed = depth / PACKET * PACKET;
    let mut lanes = [0.0f32; PACKET];
    for k0 in (0..packed).step_by(PACKET) {
        for (l, lane) in lanes.iter_mut().enumerate() {
            *lane += product(a, x, k0 + l);
        }
    }
    let mut acc = predux(&lanes);
    for k in packed..depth {
        acc += product(a, x, k);
    }
    acc
}

/// `predux` of a `Packet8f` on AVX: the two 128-bit halves added, then `(b0+b2)+(b1+b3)`.
pub fn predux(lanes: &[f32; PACKET]) -> f32 {
    let b = [
        lanes[0] + lanes[4],
        lanes[1] + lanes[5],
        lanes[2] + lanes[6],
        lanes[3] + lanes[7],
    ];
    (b[0] + b[2]) + (b[1] + b[3])
}

/// Eigen's column-major GEMV (`general_matrix_vector_product<..., ColMajor, ...>`), which a tensor
/// contraction with a single output column runs: per row, products summed in depth order within blocks
/// of `block_cols` depths, each block's sum added to the result. **Not checked against TF** (no fixture
/// has a convolution with one output pixel); from the Eigen 3.4 source.
pub fn col_major_gemv_dot(a_row: &[f32], x: &[f32], rows: usize) -> f32 {
    let depth = a_row.len().min(x.len());
    let block = if depth < 128 {
        depth.max(1)
    } else if rows * std::mem::size_of::<f32>() < 32000 {
        16
    } else {
        4
    };
    let mut acc = 0.0f32;
    let mut k0 = 0;
    while k0 < depth {
        let end = (k0 + block).min(depth);
        acc += dot(&a_row[k0..end], &x[k0..end], Order::Sequential);
        k0 = end;
    }
    acc
}

// ---- Eigen's tensor contraction on the thread pool (`TensorContractionThreadPool.h`) ---------------

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

// ---- Eigen's vectorized exp --------------------------------------------------------------------

/// Eigen's `pexp_float` (`GenericPacketMathFunctions.h`) evaluated without FMA: range reduction by
/// `m = floor(x·log2(e) + 1/2)` with ln 2 split in two, a degree-6 polynomial in even/odd halves, then
/// `2^m`. TFLite's optimized float SOFTMAX calls it for every element (Eigen's scalar path for the tail
/// of the array uses the same function).
pub fn exp(x0: f32) -> f32 {
    // Eigen's constants (log2(e); ln 2 = -(C1 + C2); the polynomial), as f32 bit patterns.
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const C1: f32 = f32::from_bits(0xbf318000); // -0.693359375
    const C2: f32 = f32::from_bits(0x395e8083); // 0.00021219444
    const P2: f32 = f32::from_bits(0x3efffffc); // 0.49999988079071045
    const P3: f32 = f32::from_bits(0x3e2aaa47); // 0.166665181517601
    const P4: f32 = f32::from_bits(0x3d2aadcc); // 0.04166965186595917
    const P5: f32 = f32::from_bits(0x3c091de6); // 0.008368944749236107
    const P6: f32 = f32::from_bits(0x3ab42872); // 0.001374496379867196
    // pmadd(a, b, c) without FMA: a·b rounded, then + c rounded.
    let madd = |a: f32, b: f32, c: f32| a * b + c;
    if x0.is_nan() {
        return x0;
    }
    // Eigen's zero mask (its other lanes' work is irrelevant); also keeps 2^m in range below.
    if x0 < -104.0 {
        return 0.0;
    }
    let x = x0.min(88.723);
    let m = madd(x, LOG2E, 0.5).floor();
    let mut r = madd(m, C1, x);
    r = madd(m, C2, r);
    let r2 = r * r;
    let mut p_even = madd(r2, P6, P4);
    let p_odd = madd(r2, P5, P3);
    p_even = madd(r2, p_even, P2);
    let p_low = r + 1.0;
    let mut y = madd(r, p_odd, p_even);
    y = madd(r2, y, p_low);
    // pldexp: y·2^m; exact for normal results (y in [0.5, 2)).
    let result = ldexp(y, m as i32);
    // pmax(result, x): passes +inf through
    if result < x0 { x0 } else { result }
}

/// `y·2^e` for the exponents `exp` produces (|e| ≤ 150), by exact power-of-two multiplications.
fn ldexp(y: f32, e: i32) -> f32 {
    let mut y = y as f64;
    let mut e = e;
    while e > 0 {
        let step = e.min(60);
        y *= (1u64 << step) as f64;
        e -= step;
    }
    while e < 0 {
        let step = (-e).min(60);
        y /= (1u64 << step) as f64;
        e += step;
    }
    y as f32
}

/// The sum of `values` as Eigen's `redux` computes `colwise().sum()` of a column that starts `offset`
/// floats into a 32-byte aligned buffer (`Redux.h`, linear vectorized traversal): elements before the
/// first aligned one and after the last whole packet are added one by one after the packets, which are
/// accumulated in two interleaved packets and reduced with [`predux`].
pub fn redux_sum(values: &[f32], offset: usize) -> f32 {
    let size = values.len();
    if size == 0 {
        return 0.0;
    }
    let aligned_start = ((PACKET - offset % PACKET) % PACKET).min(size);
    let aligned_size = (size - aligned_start) / PACKET * PACKET;
    if aligned_size == 0 {
        let mut res = values[0];
        for &v in &values[1..] {
            res += v;
        }
        return res;
    }
    let aligned_size2 = (size - aligned_start) / (2 * PACKET) * (2 * PACKET);
    let aligned_end = aligned_start + aligned_size;
    let aligned_end2 = aligned_start + aligned_size2;
    let load = |at: usize| -> [f32; PACKET] {
        let mut p = [0.0f32; PACKET];
        p.copy_from_slice(&values[at..at + PACKET]);
        p
    };
    let add = |a: [f32; PACKET], b: [f32; PACKET]| -> [f32; PACKET] {
        let mut r = a;
        for (x, y) in r.iter_mut().zip(b) {
            *x += y;
        }
        r
    };
    let mut p0 = load(aligned_start);
    if aligned_size > PACKET {
        let mut p1 = load(aligned_start + PACKET);
        let mut index = aligned_start + 2 * PACKET;
        while index < aligned_end2 {
            p0 = add(p0, load(index));
            p1 = add(p1, load(index + PACKET));
            index += 2 * PACKET;
        }
        p0 = add(p0, p1);
        if aligned_end > aligned_end2 {
            p0 = add(p0, load(aligned_end2));
        }
    }
    let mut res = predux(&p0);
    for &v in &values[..aligned_start] {
        res += v;
    }
    for &v in &values[aligned_end..] {
        res += v;
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gebp_orders_by_position() {
        // 12 filters × 676 pixels (the tutorial conv): rows 0..8 one packet, 8..12 half packet, all
        // columns in panels of 4 → even/odd everywhere.
        let g = Gebp {
            rows: 12,
            cols: 676,
        };
        assert_eq!(g.order(0, 0), Order::EvenOdd);
        assert_eq!(g.order(11, 675), Order::EvenOdd);
        // 16 rows: one 2-packet group → sequential.
        let g = Gebp { rows: 16, cols: 6 };
        assert_eq!(g.order(3, 0), Order::Sequential);
        // 10 rows: rows 8, 9 are scalar rows; column 5 is past the last panel of 4.
        let g = Gebp { rows: 10, cols: 6 };
        assert_eq!(g.order(9, 0), Order::Swapped);
        assert_eq!(g.order(9, 5), Order::Sequential);
        assert_eq!(g.order(0, 5), Order::Sequential);
    }

    #[test]
    fn orders_differ_only_in_rounding() {
        let a: Vec<f32> = (0..21).map(|i| 1.0 + i as f32 * 1e-3).collect();
        let b: Vec<f32> = (0..21)
            .map(|i| if i % 3 == 0 { 1e4 } else { 1e-4 * i as f32 })
            .collect();
        let exact: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
        for order in [Order::Sequential, Order::EvenOdd, Order::Swapped] {
            let s = dot(&a, &b, order) as f64;
            assert!((s - exact).abs() < 1e-6 * exact.abs(), "{order:?}");
        }
        // small integers sum exactly in any order
        let ones = vec![1.0f32; 13];
        for order in [Order::Sequential, Order::EvenOdd, Order::Swapped] {
            assert_eq!(dot(&ones, &ones, order), 13.0);
        }
    }

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

    #[test]
    fn exp_is_close_to_libm() {
        for i in -200..100 {
            let x = i as f32 * 0.37;
            let (e, r) = (exp(x), x.exp());
            assert!((e - r).abs() <= 2.0 * f32::EPSILON * r, "{x}: {e} vs {r}");
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-200.0), 0.0);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn redux_of_ten_is_one_packet_then_two() {
        let v: Vec<f32> = (0..10).map(|i| i as f32).collect();
        assert_eq!(redux_sum(&v, 0), 45.0);
        assert_eq!(redux_sum(&v[..3], 0), 3.0);
    }
}
