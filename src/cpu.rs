//! CPU features, and the one way the interpreter's and the trainer's kernels pick a build of themselves
//! for them. On x86-64 a kernel runs compiled for AVX-512 (with VNNI) when the CPU has it, else for
//! AVX2+FMA when it has both, else portably; every other target (wasm32 included) runs the portable
//! build. The `unsafe` step of the dispatcher, calling code compiled for features the CPU might lack,
//! is argued here; kernels with explicit vector code take a proof token ([`Avx2Fma`], [`Avx512`]) and
//! argue their own calls with it. The environment variable `PTQ_CPU_TIER` (`avx2`, `portable`) caps
//! the build natively, for benchmarks and tests of the lower tiers on a machine that has the higher.

/// A kernel compiled twice: once portable, once inside a function built for AVX2 and FMA. Its
/// [`run`](Kernel::run) must be `#[inline(always)]` (and so must what it calls that should be
/// vectorized), so the whole body is compiled into the build it is called from.
///
/// `FMA` says whether fused multiply-adds may be used. Only kernels whose sums are exact either way
/// (integer sums in float lanes below 2²⁴) may use them; float kernels ignore it and keep their order of
/// separate multiplications and additions, which Rust never fuses on its own, so both builds give
/// identical results.
///
/// On AVX-512 CPUs the dispatcher calls [`run_avx512`](Kernel::run_avx512) instead, inside a function
/// built for AVX-512. By default that runs the AVX2+FMA build: recompiling a body written for 8-lane
/// blocks with 512-bit vectors available is not faster by itself (the tutorial's int8 model took 20%
/// longer). A kernel that gains from AVX-512 overrides it (also `#[inline(always)]`): with
/// `self.run::<true>()` to take its own body compiled for AVX-512, or with explicit AVX-512 code that
/// it hands the token on to.
pub trait Kernel {
    type Output;
    fn run<const FMA: bool>(self) -> Self::Output;

    /// The AVX-512 build: `cpu` proves the features (see [`Avx512`]).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn run_avx512(self, cpu: Avx512) -> Self::Output
    where
        Self: Sized,
    {
        cpu.avx2_fma().run(self)
    }
}

/// Run `kernel` in the best build this CPU supports.
#[inline]
pub fn dispatch<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(cpu) = Avx512::detect() {
            return cpu.run(kernel);
        }
        if let Some(cpu) = Avx2Fma::detect() {
            return cpu.run(kernel);
        }
    }
    kernel.run::<false>()
}

/// The builds a kernel may pick, from the least to the most demanding.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Portable,
    Avx2,
    Avx512,
}

/// The most demanding build kernels may pick: all of them unless the environment variable
/// `PTQ_CPU_TIER` names a lower one (`portable` or `avx2`; `avx512` or anything else: no limit), so a
/// benchmark can show what a CPU without AVX-512 (or without AVX2) would run. Read once.
#[cfg(target_arch = "x86_64")]
pub fn ceiling() -> Tier {
    static CEILING: std::sync::OnceLock<Tier> = std::sync::OnceLock::new();
    *CEILING.get_or_init(|| match std::env::var("PTQ_CPU_TIER").as_deref() {
        Ok("portable") => Tier::Portable,
        Ok("avx2") => Tier::Avx2,
        _ => Tier::Avx512,
    })
}

/// The build kernels run in on this CPU (within [`ceiling`]).
#[cfg(target_arch = "x86_64")]
pub fn tier() -> Tier {
    if Avx512::detect().is_some() {
        Tier::Avx512
    } else if Avx2Fma::detect().is_some() {
        Tier::Avx2
    } else {
        Tier::Portable
    }
}

/// The mask of the first `n` lanes of a 64-lane vector (all 64 when `n` is larger), for AVX-512's
/// masked loads and stores; [`first16`] and [`first8`] for vectors of 16 and 8 lanes.
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn first64(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// The mask of the first `n` lanes of a 16-lane vector (all 16 when `n` is larger).
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn first16(n: usize) -> u16 {
    first64(n.min(16)) as u16
}

/// The mask of the first `n` lanes of an 8-lane vector (all 8 when `n` is larger).
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn first8(n: usize) -> u8 {
    first64(n.min(8)) as u8
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
    /// query) and [`ceiling`] allows them.
    #[inline]
    pub fn detect() -> Option<Avx2Fma> {
        let has = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        (has && ceiling() >= Tier::Avx2).then_some(Avx2Fma(()))
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

/// Proof that the running CPU has AVX-512 F, BW, VL, DQ and VNNI (Ice Lake, Cascade Lake, Zen 4 and
/// later), and so AVX2 and FMA too: only [`Avx512::detect`] makes one, so code that holds one may call
/// functions compiled with `#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,
/// avx2,fma")]` (or a subset of those features). CPUs with AVX-512 but without VNNI (Skylake-SP) take
/// the AVX2 build.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Avx512(());

#[cfg(target_arch = "x86_64")]
impl Avx512 {
    /// `Some` when the CPU has the features (answers cached by the standard library) and [`ceiling`]
    /// allows them.
    #[inline]
    pub fn detect() -> Option<Avx512> {
        let has = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vnni")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        (has && ceiling() >= Tier::Avx512).then_some(Avx512(()))
    }

    /// The AVX2+FMA proof this one implies.
    #[inline]
    pub fn avx2_fma(self) -> Avx2Fma {
        Avx2Fma(())
    }

    /// Run `kernel`'s [`run_avx512`](Kernel::run_avx512) compiled for AVX-512.
    #[inline]
    pub fn run<K: Kernel>(self, kernel: K) -> K::Output {
        // SAFETY: `self` exists only when `detect` saw every feature `run_avx512` is compiled with on
        // this CPU, the only requirement of calling it.
        unsafe { run_avx512(self, kernel) }
    }
}

/// `kernel.run_avx512` compiled for AVX-512: it is `#[inline(always)]`, so its body is built here.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma")]
fn run_avx512<K: Kernel>(cpu: Avx512, kernel: K) -> K::Output {
    kernel.run_avx512(cpu)
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

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn lane_masks() {
        use super::{first8, first16, first64};
        assert_eq!(
            (first64(0), first64(3), first64(64), first64(70)),
            (0, 0b111, u64::MAX, u64::MAX)
        );
        assert_eq!(
            (first16(0), first16(5), first16(16), first16(40)),
            (0, 0x1f, u16::MAX, u16::MAX)
        );
        assert_eq!(
            (first8(0), first8(7), first8(8), first8(9)),
            (0, 0x7f, u8::MAX, u8::MAX)
        );
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
        #[cfg(target_arch = "x86_64")]
        if let Some(cpu) = super::Avx512::detect() {
            assert_eq!(cpu.run(Triangle(100)), (5050.0, true));
        }
    }
}
