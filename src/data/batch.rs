//! Seeded batching, as Keras `fit(shuffle=True)` does it: a fresh permutation of all indices every epoch,
//! cut into batches of `batch_size`, the last (partial) batch kept.

use crate::data::mnist::Dataset;
use crate::rng::Rng;

/// The batches of one epoch: a full reshuffle of `0..n`, then consecutive chunks.
pub fn epoch_batches(n: usize, batch_size: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

/// Copy the images of `indices` into `x` as floats in [0, 1] (pixel / 255, as the tutorial normalizes)
/// and their labels into `y`. `x` must hold `indices.len() * image_len` values.
pub fn fill_batch(data: &Dataset, indices: &[usize], x: &mut [f32], y: &mut [u8]) {
    let n = data.image_len();
    for (k, &i) in indices.iter().enumerate() {
        // a plain division, which the compiler vectorizes (a table lookup cannot be)
        for (dst, &p) in x[k * n..(k + 1) * n].iter_mut().zip(data.image(i)) {
            *dst = f32::from(p) / 255.0;
        }
        y[k] = data.labels[i];
    }
}

/// Ask the CPU to start loading the images of `indices` into its caches (a batch's images are scattered
/// over the whole training set, so filling the next batch otherwise waits on main memory). A hint only:
/// on x86-64 nothing is read, on wasm a byte of each cache line is, elsewhere it does nothing.
pub fn prefetch_images(data: &Dataset, indices: &[usize]) {
    #[cfg(target_arch = "x86_64")]
    for &i in indices {
        if i >= data.len() {
            continue;
        }
        let image = data.image(i);
        for offset in (0..image.len()).step_by(64) {
            let line = image[offset..].as_ptr().cast::<i8>();
            // SAFETY: a prefetch never faults and reads nothing; the address is inside `image`.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(line) };
        }
    }
    // wasm has no prefetch instruction: read a byte of every cache line instead (and the last
    // byte, whose line the steps of 64 may miss); the CPU issues these loads side by side and goes
    // on with the step while they complete (an epoch in wasm 1.51–1.52 s instead of 1.54–1.56 s,
    // bench/wasm_kernels.sh --epoch --relaxed)
    #[cfg(target_arch = "wasm32")]
    {
        let mut touched = 0u8;
        for &i in indices {
            if i >= data.len() {
                continue;
            }
            let image = data.image(i);
            for &b in image.iter().step_by(64).chain(image.last()) {
                touched ^= b;
            }
        }
        std::hint::black_box(touched);
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "wasm32")))]
    let _ = (data, indices);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_index_once_and_keeps_the_partial_batch() {
        let mut rng = Rng::new(0);
        let b = epoch_batches(70, 32, &mut rng);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![32, 32, 6]);
        let mut all: Vec<usize> = b.concat();
        all.sort_unstable();
        assert_eq!(all, (0..70).collect::<Vec<_>>());
    }

    #[test]
    fn reshuffles_each_epoch_and_is_seeded() {
        let mut a = Rng::new(5);
        let e1 = epoch_batches(100, 10, &mut a);
        let e2 = epoch_batches(100, 10, &mut a);
        assert_ne!(e1, e2);
        let mut b = Rng::new(5);
        assert_eq!(e1, epoch_batches(100, 10, &mut b));
    }

    #[test]
    fn normalizes_pixels() {
        let d = Dataset {
            images: vec![0, 255, 51, 102],
            labels: vec![3, 4],
            rows: 1,
            cols: 2,
        };
        let (mut x, mut y) = (vec![0.0; 4], vec![0; 2]);
        fill_batch(&d, &[1, 0], &mut x, &mut y);
        assert_eq!(x, vec![0.2, 0.4, 0.0, 1.0]);
        assert_eq!(y, vec![4, 3]);
    }
}
