//! Layers without weights that act value by value or row by row: softmax and dropout. (A standalone
//! activation is [`super::Activation::apply`] and [`super::Activation::mask`].)

use crate::rng::Rng;

/// Softmax over each row of `classes` values, shifted by the row's maximum so `exp` cannot overflow
/// (the same form as TFLite's float SOFTMAX with β = 1).
pub(super) fn softmax(input: &[f32], classes: usize, output: &mut Vec<f32>) {
    output.clear();
    output.resize(input.len(), 0.0);
    for (y, z) in output
        .chunks_exact_mut(classes.max(1))
        .zip(input.chunks_exact(classes.max(1)))
    {
        let max = z.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
        let mut sum = 0.0f32;
        for (y, &z) in y.iter_mut().zip(z) {
            *y = (z - max).exp();
            sum += *y;
        }
        let inv = 1.0 / sum;
        for y in y.iter_mut() {
            *y *= inv;
        }
    }
}

/// The softmax's input gradient from its output p: dz = p ⊙ (dp − Σ dp·p). Only reached when a
/// softmax is not the loss's (the loss folds the last softmax into `p − onehot`).
pub(super) fn softmax_backward(output: &[f32], d_out: &[f32], classes: usize, d_in: &mut Vec<f32>) {
    d_in.clear();
    d_in.resize(d_out.len(), 0.0);
    let classes = classes.max(1);
    for ((dz, p), dp) in d_in
        .chunks_exact_mut(classes)
        .zip(output.chunks_exact(classes))
        .zip(d_out.chunks_exact(classes))
    {
        let dot: f32 = p.iter().zip(dp).map(|(&p, &d)| p * d).sum();
        for ((dz, &p), &d) in dz.iter_mut().zip(p).zip(dp) {
            *dz = p * (d - dot);
        }
    }
}

/// Inverted dropout, as Keras's `Dropout`: in training each value is kept with probability 1 − rate
/// and scaled by 1 / (1 − rate), so the expected value is unchanged and inference is the identity.
/// The masks come from the layer's own seeded stream, so a seed fixes them (Keras draws them from its
/// own generator: the same rate, other masks).
#[derive(Clone, Debug)]
pub struct Dropout {
    pub rate: f32,
    /// Per-sample shape.
    pub shape: Vec<usize>,
    rng: Rng,
    /// The last training pass's multiplier per value: 0 or 1 / (1 − rate).
    mask: Vec<f32>,
}

impl Dropout {
    pub fn new(rate: f32, shape: Vec<usize>, rng: Rng) -> Dropout {
        Dropout {
            rate,
            shape,
            rng,
            mask: Vec::new(),
        }
    }

    /// Draw the masks from another stream (a network read back from a file gets the run's seed).
    pub fn reseed(&mut self, rng: Rng) {
        self.rng = rng;
    }

    pub(super) fn forward(&mut self, input: &[f32], output: &mut Vec<f32>, training: bool) {
        output.clear();
        output.extend_from_slice(input);
        if !training || self.rate == 0.0 {
            self.mask.clear();
            return;
        }
        let scale = 1.0 / (1.0 - self.rate);
        let rate = self.rate;
        self.mask.clear();
        self.mask.extend((0..input.len()).map(|_| {
            if self.rng.next_f32() < rate {
                0.0
            } else {
                scale
            }
        }));
        for (y, &m) in output.iter_mut().zip(&self.mask) {
            *y *= m;
        }
    }

    pub(super) fn backward(&self, d_out: &[f32], d_in: Option<&mut Vec<f32>>) {
        let Some(d_in) = d_in else { return };
        d_in.clear();
        d_in.extend_from_slice(d_out);
        if self.mask.len() == d_in.len() {
            for (d, &m) in d_in.iter_mut().zip(&self.mask) {
                *d *= m;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropout_keeps_the_expected_value_and_is_the_identity_at_inference() {
        let mut layer = Dropout::new(0.25, vec![4000], Rng::new(3));
        let x = vec![1.0f32; 4000];
        let mut y = Vec::new();
        layer.forward(&x, &mut y, true);
        let zeros = y.iter().filter(|&&v| v == 0.0).count();
        assert!((900..1100).contains(&zeros), "{zeros} of 4000 dropped");
        assert!(y.iter().all(|&v| v == 0.0 || v == 1.0 / 0.75));
        let mut d = Vec::new();
        layer.backward(&x, Some(&mut d));
        assert_eq!(d, y, "the gradient takes the same mask");
        layer.forward(&x, &mut y, false);
        assert_eq!(y, x);
    }

    #[test]
    fn softmax_rows_sum_to_one_and_survive_huge_logits() {
        let mut p = Vec::new();
        softmax(&[1000.0, 0.0, 1.0, 2.0, 3.0, 4.0], 3, &mut p);
        assert_eq!(p[0], 1.0);
        let s: f32 = p[3..].iter().sum();
        assert!((s - 1.0).abs() < 1e-6 && p[5] > p[4] && p[4] > p[3]);
    }
}
