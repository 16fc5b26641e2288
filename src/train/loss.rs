//! Softmax cross-entropy from logits, averaged over the batch (Keras
//! `SparseCategoricalCrossentropy(from_logits=True)` with the default "sum over batch size" reduction).

/// Loss and gradient for a batch of `labels.len()` rows of `classes` logits.
///
/// Returns the mean loss and the number of rows whose argmax equals the label, and writes
/// `d logits = (softmax(z) − onehot(y)) / B` into `grad`. Uses the stable `logsumexp(z) − z_y` form.
pub fn softmax_cross_entropy(
    logits: &[f32],
    labels: &[u8],
    classes: usize,
    grad: &mut [f32],
) -> (f32, usize) {
    let b = labels.len();
    let inv_b = 1.0 / b as f32;
    let mut total = 0.0f64;
    let mut correct = 0;
    for (r, &y) in labels.iter().enumerate() {
        let z = &logits[r * classes..(r + 1) * classes];
        let g = &mut grad[r * classes..(r + 1) * classes];
        let (arg, max) = argmax(z);
        if arg == y as usize {
            correct += 1;
        }
        let mut sum = 0.0f32;
        for (gi, &zi) in g.iter_mut().zip(z) {
            let e = (zi - max).exp();
            *gi = e;
            sum += e;
        }
        let log_sum = sum.ln() + max;
        total += (log_sum - z[y as usize]) as f64;
        let inv_sum = 1.0 / sum;
        for gi in g.iter_mut() {
            *gi *= inv_sum * inv_b;
        }
        g[y as usize] -= inv_b;
    }
    ((total / b as f64) as f32, correct)
}

/// Smallest probability the loss takes the logarithm of, Keras's `epsilon()` (1e-7).
const PROBABILITY_FLOOR: f32 = 1e-7;

/// Loss and gradient for a batch whose outputs are probabilities (a softmax output layer; Keras
/// `SparseCategoricalCrossentropy()` without `from_logits`): loss −ln p_y (p_y at least 1e-7, as
/// Keras clips), and `grad` gets the gradient with respect to the softmax's *input*, `(p − onehot(y)) /
/// B`, the same as the logits form. Keras clips p to [1e-7, 1 − 1e-7] and differentiates through the
/// clip, so where a probability is clipped its gradient differs from ours; elsewhere they agree.
pub fn cross_entropy_from_probabilities(
    probs: &[f32],
    labels: &[u8],
    classes: usize,
    grad: &mut [f32],
) -> (f32, usize) {
    let b = labels.len();
    let inv_b = 1.0 / b as f32;
    let mut total = 0.0f64;
    let mut correct = 0;
    for (r, &y) in labels.iter().enumerate() {
        let p = &probs[r * classes..(r + 1) * classes];
        let g = &mut grad[r * classes..(r + 1) * classes];
        if argmax(p).0 == y as usize {
            correct += 1;
        }
        total -= p[y as usize].max(PROBABILITY_FLOOR).ln() as f64;
        for (gi, &pi) in g.iter_mut().zip(p) {
            *gi = pi * inv_b;
        }
        g[y as usize] -= inv_b;
    }
    ((total / b as f64) as f32, correct)
}

/// Mean loss and number correct of probability outputs, without a gradient (for evaluation).
pub fn cross_entropy_from_probabilities_eval(
    probs: &[f32],
    labels: &[u8],
    classes: usize,
) -> (f64, usize) {
    let mut total = 0.0f64;
    let mut correct = 0;
    for (r, &y) in labels.iter().enumerate() {
        let p = &probs[r * classes..(r + 1) * classes];
        if argmax(p).0 == y as usize {
            correct += 1;
        }
        total -= p[y as usize].max(PROBABILITY_FLOOR).ln() as f64;
    }
    (total / labels.len().max(1) as f64, correct)
}

/// Mean loss and number correct, without a gradient (for evaluation).
pub fn softmax_cross_entropy_eval(logits: &[f32], labels: &[u8], classes: usize) -> (f64, usize) {
    let mut total = 0.0f64;
    let mut correct = 0;
    for (r, &y) in labels.iter().enumerate() {
        let z = &logits[r * classes..(r + 1) * classes];
        let (arg, max) = argmax(z);
        if arg == y as usize {
            correct += 1;
        }
        let sum: f32 = z.iter().map(|&zi| (zi - max).exp()).sum();
        total += (sum.ln() + max - z[y as usize]) as f64;
    }
    (total / labels.len().max(1) as f64, correct)
}

/// Index and value of the largest element (the first one on ties, as numpy's argmax).
pub fn argmax(z: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, &v) in z.iter().enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_logits_give_ln_classes() {
        let mut g = vec![0.0; 10];
        let (l, _) = softmax_cross_entropy(&[0.0; 10], &[3], 10, &mut g);
        assert!((l - 10f32.ln()).abs() < 1e-6);
        assert!((g[3] - (0.1 - 1.0)).abs() < 1e-6 && (g[0] - 0.1).abs() < 1e-6);
    }

    #[test]
    fn stable_for_huge_logits() {
        let mut g = vec![0.0; 2];
        let (l, c) = softmax_cross_entropy(&[1000.0, 0.0], &[0], 2, &mut g);
        assert!(l.abs() < 1e-6 && c == 1);
        let (l, _) = softmax_cross_entropy(&[1000.0, 0.0], &[1], 2, &mut g);
        assert!((l - 1000.0).abs() < 1e-3);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let z = [0.3f32, -1.2, 2.0, 0.5, 0.1, -0.4];
        let y = [2u8, 0];
        let mut g = vec![0.0; 6];
        softmax_cross_entropy(&z, &y, 3, &mut g);
        let mut scratch = vec![0.0; 6];
        for i in 0..6 {
            let h = 1e-2;
            let mut zp = z;
            zp[i] += h;
            let mut zm = z;
            zm[i] -= h;
            let lp = softmax_cross_entropy(&zp, &y, 3, &mut scratch).0;
            let lm = softmax_cross_entropy(&zm, &y, 3, &mut scratch).0;
            let fd = (lp - lm) / (2.0 * h);
            assert!(
                (fd - g[i]).abs() < 2e-3,
                "logit {i}: fd {fd} vs analytic {}",
                g[i]
            );
        }
    }
}
