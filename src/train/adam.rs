//! Adam as Keras 3 implements it (`keras/src/optimizers/adam.py`): bias correction folded into the step
//! size, and ε added to the *uncorrected* √v ("epsilon hat"). Everything in f32.

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use crate::cpu::{self, Kernel};

#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    pub learning_rate: f32,
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    /// Number of updates applied so far (Keras `iterations`).
    pub iterations: u64,
}

impl Default for Adam {
    /// Keras defaults: lr 0.001, β1 0.9, β2 0.999, ε 1e-7.
    fn default() -> Adam {
        Adam::new(0.001)
    }
}

impl Adam {
    pub fn new(learning_rate: f32) -> Adam {
        Adam {
            learning_rate,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            iterations: 0,
        }
    }

    /// Step size α for the next update: lr·√(1−β2^t)/(1−β1^t) with t = iterations + 1.
    pub fn step_size(&self) -> f32 {
        let t = (self.iterations + 1) as f32;
        self.learning_rate * (1.0 - self.beta_2.powf(t)).sqrt() / (1.0 - self.beta_1.powf(t))
    }

    /// Update one parameter tensor in place with step size `alpha` (from [`Adam::step_size`], the same
    /// for every tensor of one step). `m` and `v` are this tensor's moment estimates.
    pub fn update(
        &self,
        alpha: f32,
        param: &mut [f32],
        grad: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        // built for AVX2 and FMA where the CPU has both (8-lane square roots and divisions), in SIMD128
        // on wasm, else portably: the same IEEE operations in the same order each way, so the results
        // are identical
        let coefficients = (1.0 - self.beta_1, 1.0 - self.beta_2, self.epsilon);
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        crate::train::wasm_simd::adam_update(coefficients, alpha, param, grad, m, v);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        cpu::dispatch(Update {
            coefficients,
            alpha,
            param,
            grad,
            m,
            v,
        });
    }

    /// Count one applied step (call after updating every tensor).
    pub fn finish_step(&mut self) {
        self.iterations += 1;
    }
}

/// One tensor's update, built by [`cpu::dispatch`] for the CPU it runs on.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
struct Update<'a> {
    coefficients: (f32, f32, f32),
    alpha: f32,
    param: &'a mut [f32],
    grad: &'a [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl Kernel for Update<'_> {
    type Output = ();

    /// `FMA` is ignored: the update has only separate multiplications and additions, which Rust never
    /// fuses, so both builds give the same results.
    #[inline(always)]
    fn run<const FMA: bool>(self) {
        let Update {
            coefficients,
            alpha,
            param,
            grad,
            m,
            v,
        } = self;
        update_body(coefficients, alpha, param, grad, m, v);
    }
}

/// `m += (g − m)(1 − β1)`, `v += (g² − v)(1 − β2)`, `p −= α·m / (√v + ε)`, element by element.
#[inline(always)]
pub(crate) fn update_body(
    (one_minus_b1, one_minus_b2, eps): (f32, f32, f32),
    alpha: f32,
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    for (((p, &g), m), v) in param
        .iter_mut()
        .zip(grad)
        .zip(m.iter_mut())
        .zip(v.iter_mut())
    {
        *m += (g - *m) * one_minus_b1;
        *v += (g * g - *v) * one_minus_b2;
        *p -= alpha * *m / (v.sqrt() + eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_weight_by_about_lr_against_its_gradient() {
        // t = 1: m = 0.1 g, v = 0.001 g², α = lr·√0.001/0.1, so Δ = −lr·g/(|g| + ε/√0.001)
        let opt = Adam::default();
        let alpha = opt.step_size();
        let (mut p, g) = (vec![1.0f32, 1.0], vec![0.5f32, -2.0]);
        let (mut m, mut v) = (vec![0.0; 2], vec![0.0; 2]);
        opt.update(alpha, &mut p, &g, &mut m, &mut v);
        assert!((p[0] - (1.0 - 0.001)).abs() < 1e-6, "{p:?}");
        assert!((p[1] - (1.0 + 0.001)).abs() < 1e-6, "{p:?}");
        assert!((m[0] - 0.05).abs() < 1e-7 && (v[1] - 0.004).abs() < 1e-7);
    }

    #[test]
    fn epsilon_is_added_to_the_uncorrected_root() {
        // tiny gradient: ε/√(1−β2) dominates, which is what distinguishes "epsilon hat"
        let opt = Adam::default();
        let alpha = opt.step_size();
        let (mut p, g) = (vec![0.0f32], vec![1e-6f32]);
        let (mut m, mut v) = (vec![0.0], vec![0.0]);
        opt.update(alpha, &mut p, &g, &mut m, &mut v);
        let expected = -alpha * 1e-7 / ((1e-15f32).sqrt() + 1e-7);
        assert!((p[0] - expected).abs() < 1e-9, "{} vs {expected}", p[0]);
    }
}
