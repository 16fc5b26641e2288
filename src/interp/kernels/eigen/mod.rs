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
//!
//! This module has the GEMM and GEMV orders and Eigen's cache blocking; [`contraction`] how the
//! thread-pool tensor contraction (the calibrator's convolutions) splits and sums a product; [`packet`]
//! the `Packet8f` reductions and the vectorized exp that the optimized SOFTMAX uses.

pub mod contraction;
pub mod packet;

pub use contraction::{Contraction, ContractionShape, Cost};
pub use packet::{PACKET, exp, predux, redux_sum};

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
}
