//! Benchmark, not a test: the trainer's SIMD128 kernels against their portable twins on the tutorial's
//! shapes (batch 32; Conv2D 12×3×3 over 28×28, MaxPool 2×2, Dense 10 over 2,028 inputs), one call = one
//! batch's worth of the kernel. Built for wasm32 by bench/wasm_kernels.sh and timed from JavaScript by
//! bench/wasm_kernels.mjs, which calls `run` with growing iteration counts.
#![cfg(all(target_arch = "wasm32", target_feature = "simd128"))]

use ptq_playground::data::mnist::Dataset;
use ptq_playground::rng::Rng;
use ptq_playground::train::wasm_simd::{self as simd, portable};
use ptq_playground::train::{TrainConfig, Trainer};
use wasm_bindgen::prelude::*;

const BATCH: usize = 32;
/// Conv: output channels, taps (3×3×1), positions per image (26×26).
const O: usize = 12;
const K: usize = 9;
const P: usize = 26 * 26;
/// Dense: inputs (13×13×12) and units.
const N: usize = 13 * 13 * 12;
const UNITS: usize = 10;
/// Parameters Adam updates per step: the tutorial's weights and biases.
const PARAMS: usize = O * K + O + N * UNITS + UNITS;
const LANES: usize = 8;

/// The kernels' names, in the order `run` takes them.
const KERNELS: [&str; 7] = [
    "conv_forward",
    "conv_weight_grad",
    "max_pool_2x2",
    "dense_forward",
    "dense_weight_grad",
    "dense_input_grad",
    "adam",
];

#[wasm_bindgen]
pub struct KernelBench {
    cols: Vec<f32>,
    conv_w: Vec<f32>,
    conv_b: Vec<f32>,
    planes: Vec<f32>,
    grad_w: Vec<[f32; LANES]>,
    grad_b: Vec<[f32; LANES]>,
    pooled: Vec<f32>,
    argmax: Vec<u32>,
    x: Vec<f32>,
    w: Vec<f32>,
    d: Vec<f32>,
    out: Vec<f32>,
    gw: Vec<f32>,
    dx: Vec<f32>,
    param: Vec<f32>,
    grad: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
}

fn values(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

#[wasm_bindgen]
impl KernelBench {
    #[wasm_bindgen(constructor)]
    pub fn new() -> KernelBench {
        let mut rng = Rng::new(7);
        KernelBench {
            cols: values(&mut rng, K * BATCH * P),
            conv_w: values(&mut rng, O * K),
            conv_b: values(&mut rng, O),
            planes: values(&mut rng, BATCH * O * P),
            grad_w: vec![[0.0; LANES]; O * K],
            grad_b: vec![[0.0; LANES]; O],
            pooled: vec![0.0; BATCH * O * P / 4],
            argmax: vec![0; BATCH * O * P / 4],
            x: values(&mut rng, BATCH * N),
            w: values(&mut rng, UNITS * N),
            d: values(&mut rng, BATCH * UNITS),
            out: vec![0.0; BATCH * UNITS],
            gw: vec![0.0; UNITS * N],
            dx: vec![0.0; BATCH * N],
            param: values(&mut rng, PARAMS),
            grad: values(&mut rng, PARAMS),
            m: vec![0.0; PARAMS],
            v: vec![0.0; PARAMS],
        }
    }

    /// The kernels' names.
    pub fn kernels() -> Vec<String> {
        KERNELS.iter().map(|s| s.to_string()).collect()
    }

    /// Run kernel number `kernel` `iterations` times, its SIMD128 build if `vector`, else its portable
    /// twin; returns one output value so that the work is observable.
    pub fn run(&mut self, kernel: usize, vector: bool, iterations: u32) -> f32 {
        let s = self;
        for _ in 0..iterations {
            match (kernel, vector) {
                (0, v) => {
                    for b in 0..BATCH {
                        let planes = &mut s.planes[b * O * P..(b + 1) * O * P];
                        let f = if v {
                            simd::conv_forward
                        } else {
                            portable::conv_forward
                        };
                        f(&s.cols, b, P, &s.conv_w, &s.conv_b, true, planes);
                    }
                }
                (1, v) => {
                    for b in 0..BATCH {
                        let d = &s.planes[b * O * P..(b + 1) * O * P];
                        if v {
                            simd::conv_weight_grad(&s.cols, b, P, d, &mut s.grad_w, &mut s.grad_b);
                        } else {
                            portable::conv_weight_grad(
                                &s.cols,
                                b,
                                P,
                                d,
                                &mut s.grad_w,
                                &mut s.grad_b,
                            );
                        }
                    }
                }
                (2, v) => {
                    let f = if v {
                        simd::max_pool_2x2_planes
                    } else {
                        portable::max_pool_2x2_planes
                    };
                    f(
                        &s.planes,
                        BATCH * O,
                        26,
                        26,
                        O,
                        &mut s.pooled,
                        &mut s.argmax,
                    );
                }
                (3, true) => simd::dense_forward(&s.x, &s.w, &mut s.out, BATCH, N, UNITS),
                (3, false) => portable::dense_forward(&s.x, &s.w, &mut s.out, BATCH, N, UNITS),
                (4, true) => simd::dense_weight_grad(&s.d, &s.x, &mut s.gw, BATCH, N, UNITS),
                (4, false) => portable::dense_weight_grad(&s.d, &s.x, &mut s.gw, BATCH, N, UNITS),
                (5, true) => simd::dense_input_grad(&s.d, &s.w, &mut s.dx, BATCH, N, UNITS),
                (5, false) => portable::dense_input_grad(&s.d, &s.w, &mut s.dx, BATCH, N, UNITS),
                (6, v) => {
                    let f = if v {
                        simd::adam_update
                    } else {
                        portable::adam_update
                    };
                    let c = (0.1, 0.001, 1e-7);
                    f(c, 1e-3, &mut s.param, &s.grad, &mut s.m, &mut s.v);
                }
                _ => return f32::NAN,
            }
        }
        match kernel {
            0 | 2 => s.planes[1] + s.pooled[1],
            1 => s.grad_w[1][1],
            3 => s.out[1],
            4 => s.gw[1],
            5 => s.dx[1],
            _ => s.param[1],
        }
    }
}

impl Default for KernelBench {
    fn default() -> KernelBench {
        KernelBench::new()
    }
}

/// One epoch of the tutorial's training (batch 32, Adam, as the page's worker runs it) on MNIST's
/// training images (`pixels`: the 28×28 images' bytes one after another, `labels` one byte each, as
/// the IDX files hold them after their headers); returns the epoch's mean loss. Real images, not
/// made-up ones: on made-up images many units die, and Adam's moments of their zero gradients decay
/// into subnormal floats, whose arithmetic is many times slower, which the page never sees.
#[wasm_bindgen]
pub fn train_epoch(pixels: Vec<u8>, labels: Vec<u8>) -> f32 {
    let train = Dataset {
        images: pixels,
        labels,
        rows: 28,
        cols: 28,
    };
    let config = TrainConfig {
        epochs: 1,
        ..TrainConfig::default()
    };
    let Ok(mut trainer) = Trainer::new(config, &train) else {
        return f32::NAN;
    };
    let mut loss = f32::NAN;
    while let Some(report) = trainer.step(&train) {
        loss = report.loss;
        if report.step == report.steps_per_epoch {
            break;
        }
    }
    loss
}
