//! Calibration methods beyond min/max: each picks an activation's clipping range from a histogram of
//! the values the float model produced on the representative images. The histogram is the one ONNX
//! Runtime's `HistogramCollector` builds (`onnxruntime/python/tools/quantization/calibrate.py`,
//! `collect_value`): 2048 equal bins over `[−T, T]`, `T = max(|min|, |max|)`.
//!
//! - percentile (ONNX Runtime's `compute_percentile`, asymmetric): cut `(100 − p)/2` percent of the
//!   values off each side, p = 99.999 by default;
//! - entropy (TensorRT's KL-divergence calibrator, as ONNX Runtime's `get_entropy_threshold` writes
//!   it): the symmetric window around zero whose clipped distribution, merged into 128 levels, loses
//!   the least information (Kullback–Leibler divergence);
//! - mse: of the same windows, the one whose range, turned into a scale and zero point by TF's rules,
//!   gives the smallest mean squared quantization error over the histogram (bin centres weighted by
//!   their counts).
//!
//! Every range is kept inside the observed `[min, max]`, as ONNX Runtime does.

use crate::quantize::params::activation_params;

/// Bins of the value histogram (ONNX Runtime's and TensorRT's 2048).
pub const HISTOGRAM_BINS: usize = 2048;
/// Levels the entropy method merges the clipped histogram into (8 bits' 256 levels over a symmetric
/// window counted on one side: ONNX Runtime's `num_quantized_bins` = 128).
pub const ENTROPY_QUANTIZED_BINS: usize = 128;
/// The percentile method's default.
pub const DEFAULT_PERCENTILE: f64 = 99.999;

/// Counts of values in equal bins over `[−threshold, threshold]`, with the values' own min and max.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueHistogram {
    pub counts: Vec<u64>,
    pub threshold: f32,
    pub min: f32,
    pub max: f32,
}

impl ValueHistogram {
    /// An empty histogram for values known to lie in `[min, max]`.
    pub fn new(min: f32, max: f32, bins: usize) -> ValueHistogram {
        ValueHistogram {
            counts: vec![0; bins.max(2)],
            threshold: min.abs().max(max.abs()),
            min,
            max,
        }
    }

    /// Count `v` (values outside `[−T, T]` or not finite are ignored; `T` itself goes into the last bin).
    pub fn add(&mut self, v: f32) {
        let t = self.threshold as f64;
        let v = v as f64;
        if !v.is_finite() || t == 0.0 || v < -t || v > t {
            return;
        }
        let n = self.counts.len();
        let bin = ((v + t) / (2.0 * t) * n as f64) as usize;
        self.counts[bin.min(n - 1)] += 1;
    }

    /// The left edge of bin `i` (`i = bins` is the right end, `T`).
    pub fn edge(&self, i: usize) -> f64 {
        let t = self.threshold as f64;
        -t + 2.0 * t * i as f64 / self.counts.len() as f64
    }

    /// `range` kept inside the observed values.
    fn within(&self, (lo, hi): (f64, f64)) -> (f32, f32) {
        ((lo as f32).max(self.min), (hi as f32).min(self.max))
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The percentile method: the edges where the cumulative share of values first reaches
/// `(100 − p)/200` and `1 − (100 − p)/200`.
pub fn percentile_range(h: &ValueHistogram, percentile: f64) -> (f32, f32) {
    let total = h.total();
    if total == 0 || h.threshold == 0.0 {
        return (h.min, h.max);
    }
    let cut = (100.0 - percentile.clamp(0.0, 100.0)) / 200.0;
    // numpy's searchsorted on the cumulative distribution: the first index whose share is ≥ the target
    let first_reaching = |target: f64| {
        let mut cumulative = 0u64;
        for (i, &c) in h.counts.iter().enumerate() {
            cumulative += c;
            if cumulative as f64 / total as f64 >= target {
                return i;
            }
        }
        h.counts.len() - 1
    };
    h.within((
        h.edge(first_reaching(cut)),
        h.edge(first_reaching(1.0 - cut)),
    ))
}

/// Replace zeros by `eps` and take as much off the non-zero entries (ONNX Runtime's
/// `smooth_distribution`, in float32 as there); `None` if everything is zero.
fn smooth(p: &[f32]) -> Option<Vec<f32>> {
    const EPS: f32 = 0.0001;
    let zeros = p.iter().filter(|&&x| x == 0.0).count();
    let nonzeros = p.len() - zeros;
    if nonzeros == 0 {
        return None;
    }
    let eps1 = EPS * zeros as f32 / nonzeros as f32;
    Some(
        p.iter()
            .map(|&x| if x == 0.0 { EPS } else { x - eps1 })
            .collect(),
    )
}

/// Kullback–Leibler divergence of `q` from `p`, each normalized to sum 1.
fn kl_divergence(p: &[f32], q: &[f32]) -> f64 {
    let (sp, sq) = (
        p.iter().map(|&x| x as f64).sum::<f64>(),
        q.iter().map(|&x| x as f64).sum::<f64>(),
    );
    p.iter()
        .zip(q)
        .map(|(&a, &b)| {
            let (a, b) = (a as f64 / sp, b as f64 / sq);
            if a > 0.0 && b > 0.0 {
                a * (a / b).ln()
            } else {
                0.0
            }
        })
        .sum()
}

/// The symmetric windows both the entropy and the mse method choose from: for `i` from half the
/// quantized bins to half the histogram, bins `[zero − i, min(zero + i + 1, bins))`, as edge indices.
fn windows(h: &ValueHistogram) -> impl Iterator<Item = (usize, usize)> {
    let bins = h.counts.len();
    let zero = bins / 2;
    (ENTROPY_QUANTIZED_BINS / 2..=zero).map(move |i| (zero - i, (zero + i + 1).min(bins)))
}

/// The entropy method.
pub fn entropy_range(h: &ValueHistogram) -> (f32, f32) {
    if h.total() == 0 || h.threshold == 0.0 {
        return (h.min, h.max);
    }
    let levels = ENTROPY_QUANTIZED_BINS;
    let mut best: Option<(f64, (usize, usize))> = None;
    for (start, end) in windows(h) {
        let sliced = &h.counts[start..end];
        // the reference distribution: the window with the outliers folded into its end bins
        let mut p: Vec<u64> = sliced.to_vec();
        p[0] += h.counts[..start].iter().sum::<u64>();
        if let Some(last) = p.last_mut() {
            *last += h.counts[end..].iter().sum::<u64>();
        }
        // the window merged into `levels` bins, then spread back evenly over its non-empty bins
        let merged = sliced.len() / levels;
        let mut q = vec![0u64; p.len()];
        for level in 0..levels {
            let (a, b) = (level * merged, (level + 1) * merged);
            let mut sum: u64 = sliced[a..b].iter().sum();
            if level == levels - 1 {
                sum += sliced[levels * merged..].iter().sum::<u64>();
            }
            let nonzero = p[a..b].iter().filter(|&&x| x != 0).count() as u64;
            if nonzero != 0 {
                // ONNX Runtime stores the share in an integer array: it truncates
                q[a..b].iter_mut().for_each(|x| *x = sum / nonzero);
            }
        }
        let to_f32 = |v: &[u64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let divergence = match (smooth(&to_f32(&p)), smooth(&to_f32(&q))) {
            (Some(p), Some(q)) => kl_divergence(&p, &q),
            _ => f64::INFINITY,
        };
        if best.is_none_or(|(d, _)| divergence < d) {
            best = Some((divergence, (start, end)));
        }
    }
    match best {
        Some((_, (start, end))) => h.within((h.edge(start), h.edge(end))),
        None => (h.min, h.max),
    }
}

/// The squared quantization error of the histogram's values (bin centres weighted by their counts)
/// on the int8 grid TF's rules give `[lo, hi]`; `None` if the range gives no grid.
pub fn squared_error(h: &ValueHistogram, (lo, hi): (f32, f32)) -> Option<f64> {
    let (scale, zero_point) = activation_params(lo, hi).ok()?;
    let (scale, zero_point) = (scale as f64, zero_point as f64);
    Some(
        h.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, &c)| {
                let x = (h.edge(i) + h.edge(i + 1)) / 2.0;
                let q = ((x / scale).round() + zero_point).clamp(-128.0, 127.0);
                let d = x - scale * (q - zero_point);
                c as f64 * d * d
            })
            .sum(),
    )
}

/// The mse method.
pub fn mse_range(h: &ValueHistogram) -> (f32, f32) {
    if h.total() == 0 || h.threshold == 0.0 {
        return (h.min, h.max);
    }
    let mut best: Option<(f64, (f32, f32))> = None;
    for (start, end) in windows(h) {
        let range = h.within((h.edge(start), h.edge(end)));
        let Some(error) = squared_error(h, range) else {
            continue;
        };
        if best.is_none_or(|(e, _)| error < e) {
            best = Some((error, range));
        }
    }
    best.map_or((h.min, h.max), |(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(values: &[f32]) -> ValueHistogram {
        let min = values.iter().copied().fold(f32::INFINITY, f32::min);
        let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut h = ValueHistogram::new(min, max, HISTOGRAM_BINS);
        values.iter().for_each(|&v| h.add(v));
        h
    }

    #[test]
    fn binning_covers_both_ends() {
        let h = histogram(&[-1.0, 0.0, 1.0]);
        assert_eq!(h.counts[0], 1);
        assert_eq!(h.counts[HISTOGRAM_BINS / 2], 1);
        assert_eq!(h.counts[HISTOGRAM_BINS - 1], 1);
        assert_eq!((h.edge(0), h.edge(HISTOGRAM_BINS)), (-1.0, 1.0));
    }

    #[test]
    fn methods_clip_a_lone_outlier_and_minmax_would_not() {
        // 100,000 values spread over [0, 1) and one at 50
        let mut values: Vec<f32> = (0..100_000).map(|i| i as f32 / 100_000.0).collect();
        values.push(50.0);
        let h = histogram(&values);
        let (lo, hi) = percentile_range(&h, 99.99);
        assert!(lo >= 0.0 && hi < 2.0, "percentile: {lo} {hi}");
        // the narrowest window is 64 bins each side of zero: 64/1024 of 50 ≈ 3.1
        let (lo, hi) = entropy_range(&h);
        assert!(lo >= 0.0 && hi < 10.0, "entropy: {lo} {hi}");
        // one value at 50 costs more clipped than 100,000 values cost on a coarser grid: mse keeps it,
        // and its error is no larger than the other ranges'
        let mse = mse_range(&h);
        let error = |r| squared_error(&h, r).unwrap();
        assert!(error(mse) <= error((0.0, 50.0)), "mse {mse:?}");
        assert!(
            error(mse) <= error(percentile_range(&h, 99.99)),
            "mse {mse:?}"
        );
        // with the full percentile nothing is cut but the last bin's width (ONNX Runtime takes the
        // left edge of the bin where the cumulative share is reached)
        let (lo, hi) = percentile_range(&h, 100.0);
        assert_eq!(lo, 0.0);
        assert!((hi - (50.0 - 100.0 / 2048.0)).abs() < 1e-4, "{hi}");
    }

    #[test]
    fn empty_or_constant_histograms_keep_min_max() {
        let h = histogram(&[0.0, 0.0]);
        assert_eq!(entropy_range(&h), (0.0, 0.0));
        assert_eq!(mse_range(&h), (0.0, 0.0));
        assert_eq!(percentile_range(&h, 99.0), (0.0, 0.0));
    }
}
