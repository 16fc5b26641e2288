//! Adam's update of one tensor.

use core::arch::wasm32::*;

use super::{V, load, store};

/// Adam's update of one tensor, the twin of the portable update in train/adam.rs (same bits): `m +=
/// (g − m)(1 − β1)`, `v += (g² − v)(1 − β2)`, `p −= α·m / (√v + ε)`, element by element.
pub fn adam_update(
    (one_minus_b1, one_minus_b2, eps): (f32, f32, f32),
    alpha: f32,
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let len = param.len().min(grad.len()).min(m.len()).min(v.len());
    let (b1, b2, e, a) = (
        f32x4_splat(one_minus_b1),
        f32x4_splat(one_minus_b2),
        f32x4_splat(eps),
        f32x4_splat(alpha),
    );
    // whole vectors through chunk iterators (no bounds checks), then the rest one at a time
    let (pc, pt) = param[..len].as_chunks_mut::<V>();
    let (gc, gt) = grad[..len].as_chunks::<V>();
    let (mc, mt) = m[..len].as_chunks_mut::<V>();
    let (vc, vt) = v[..len].as_chunks_mut::<V>();
    for (((p, g), m), v) in pc.iter_mut().zip(gc).zip(mc.iter_mut()).zip(vc.iter_mut()) {
        let (g, m0, v0) = (load(g), load(m), load(v));
        let mv = f32x4_add(m0, f32x4_mul(f32x4_sub(g, m0), b1));
        let vv = f32x4_add(v0, f32x4_mul(f32x4_sub(f32x4_mul(g, g), v0), b2));
        let step = f32x4_div(f32x4_mul(a, mv), f32x4_add(f32x4_sqrt(vv), e));
        store(p, f32x4_sub(load(p), step));
        store(m, mv);
        store(v, vv);
    }
    for (((p, &g), m), v) in pt.iter_mut().zip(gt).zip(mt.iter_mut()).zip(vt.iter_mut()) {
        *m += (g - *m) * one_minus_b1;
        *v += (g * g - *v) * one_minus_b2;
        *p -= alpha * *m / (v.sqrt() + eps);
    }
}
