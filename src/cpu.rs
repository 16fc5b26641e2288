//! CPU features, and the one way the interpreter's and the trainer's kernels pick a build of themselves
//! for them. On x86-64 a kernel runs compiled for AVX2+FMA when the CPU has both, else portably; every
//! other target (wasm32 included) runs the portable build. The one `unsafe` step, calling code compiled
//! for features the CPU might lack, is argued here and nowhere else.

/// A kernel compiled twice: once portable, once inside a function built for AVX2 and FMA. Its
/// [`run`](Kernel::run) must be `#[inline(always)]` (and so must what it calls that should be
/// vectorized), so the whole body is compiled into the build it is called from.
///
/// `FMA` says whether fused multiply-adds may be used. Only kernels whose sums are exact either way
/// (integer sums in float lanes below 2²⁴) may use them; float kernels ignore it and keep their order of
/// separate multiplications and additions, which Rust never fuses on its own, so both builds give
/// identical results.
pub trait Kernel {
    type Output;
    fn run<const FMA: bool>(self) -> Self::Output;
}

/// Run `kernel` in the best build this CPU supports.
#[inline]
pub fn dispatch<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = Avx2Fma::detect() {
        return cpu.run(kernel);
    }
    kernel.run::<false>()
}

/// Proof that the running CPU has AVX2 and FMA: only [`Avx2Fma::detect`] makes one, so code that holds
/// one may call functions compiled with `#[target_feature(enable = "avx2,fma")]` (or a subset of those
/// features, such as `avx`).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Avx2Fma(());

#[cfg(target_arch = "x86_64")]
impl Avx2Fma {
    /// `Some` when the CPU has AVX2 and FMA (the standard library caches the answer after the first
    /// query).
    #[inline]
    pub fn detect() -> Option<Avx2Fma> {
        let has = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        has.then_some(Avx2Fma(()))
    }

    /// Run `kernel` compiled for AVX2 and FMA.
    #[inline]
    pub fn run<K: Kernel>(self, kernel: K) -> K::Output {
        // SAFETY: `self` exists only when `detect` saw AVX2 and FMA on this CPU, the only requirement
        // of calling a function compiled with those target features.
        unsafe { run_avx2_fma(kernel) }
    }
}

/// `kernel.run` compiled for AVX2 and FMA: `run` is `#[inline(always)]`, so its body is built here.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2_fma<K: Kernel>(kernel: K) -> K::Output {
    kernel.run::<true>()
}

#[cfg(test)]
mod tests {
    use super::{Kernel, dispatch};

    /// Sums `1..=n` through the dispatcher; `FMA` picks a fused or separate multiply-add, which agree
    /// exactly on small integers.
    struct Triangle(u32);

    impl Kernel for Triangle {
        type Output = (f32, bool);
        #[inline(always)]
        fn run<const FMA: bool>(self) -> (f32, bool) {
            let mut acc = 0.0f32;
            for i in 1..=self.0 {
                acc = if FMA {
                    (i as f32).mul_add(1.0, acc)
                } else {
                    acc + i as f32
                };
            }
            (acc, FMA)
        }
    }

    #[test]
    fn both_builds_agree() {
        let (sum, _) = dispatch(Triangle(100));
        assert_eq!(sum, 5050.0);
        assert_eq!(Triangle(100).run::<false>(), (5050.0, false));
        #[cfg(target_arch = "x86_64")]
        if let Some(cpu) = super::Avx2Fma::detect() {
            assert_eq!(cpu.run(Triangle(100)), (5050.0, true));
            assert!(dispatch(Triangle(100)).1);
        }
    }
}
