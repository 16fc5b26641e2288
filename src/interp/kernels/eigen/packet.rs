//! `Packet8f` arithmetic of Eigen on AVX without FMA: the horizontal sum `predux`, the vectorized
//! `exp` and the column sum `redux` that TFLite's optimized float SOFTMAX runs.

/// Floats per AVX packet (`Packet8f`).
pub const PACKET: usize = 8;

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
