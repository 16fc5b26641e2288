//! MNIST-style preprocessing of a hand drawing, as the MNIST images were made: the ink's bounding box is
//! scaled (anti-aliased, aspect ratio kept) to fit a 20×20 box, which is placed in the 28×28 field so
//! that the ink's centre of mass sits at the centre.

/// Side of the MNIST field.
pub const SIDE: usize = 28;
/// Side of the box the digit is scaled into.
pub const BOX: usize = 20;
/// Pixels at or below this intensity do not count as ink for the bounding box (anti-aliasing haze).
pub const INK_THRESHOLD: u8 = 16;
/// Largest canvas accepted (pixels per side).
pub const MAX_CANVAS: usize = 4096;

/// Preprocess a `width × height` grayscale drawing (0 = background, 255 = ink) into 784 MNIST pixels.
/// An empty or blank drawing gives an all-zero image; a `gray` of the wrong length is an error.
pub fn preprocess(gray: &[u8], width: usize, height: usize) -> Result<Vec<u8>, String> {
    if width == 0 || height == 0 || width > MAX_CANVAS || height > MAX_CANVAS {
        return Err(format!(
            "canvas of {width}×{height} pixels: each side must be 1–{MAX_CANVAS}"
        ));
    }
    if gray.len() != width * height {
        return Err(format!(
            "{} pixels for a {width}×{height} canvas",
            gray.len()
        ));
    }
    let mut out = vec![0u8; SIDE * SIDE];
    // 1. bounding box of the ink
    let (mut x0, mut y0, mut x1, mut y1) = (width, height, 0, 0);
    for (y, row) in gray.chunks_exact(width).enumerate() {
        for (x, &v) in row.iter().enumerate() {
            if v > INK_THRESHOLD {
                x0 = x0.min(x);
                x1 = x1.max(x + 1);
                y0 = y0.min(y);
                y1 = y1.max(y + 1);
            }
        }
    }
    if x1 <= x0 || y1 <= y0 {
        return Ok(out);
    }
    let (bw, bh) = (x1 - x0, y1 - y0);
    // 2. scale the box so its longer side is BOX pixels, by area averaging (each target pixel is the
    //    mean of the source area it covers), which anti-aliases downscaling and interpolates upscaling
    let scale = BOX as f64 / bw.max(bh) as f64;
    let tw = ((bw as f64 * scale).round() as usize).clamp(1, BOX);
    let th = ((bh as f64 * scale).round() as usize).clamp(1, BOX);
    let horizontal = resample_rows(gray, width, x0, bw, y0, bh, tw);
    let scaled = resample_columns(&horizontal, tw, bh, th);
    // 3. centre of mass of the scaled digit
    let (mut mass, mut mx, mut my) = (0.0f64, 0.0f64, 0.0f64);
    for (y, row) in scaled.chunks_exact(tw).enumerate() {
        for (x, &v) in row.iter().enumerate() {
            mass += v;
            mx += v * (x as f64 + 0.5);
            my += v * (y as f64 + 0.5);
        }
    }
    if mass <= 0.0 {
        return Ok(out);
    }
    // 4. place it so the centre of mass lands on the field's centre (14, 14), clipped to the field
    let ox = (SIDE as f64 / 2.0 - mx / mass).round() as isize;
    let oy = (SIDE as f64 / 2.0 - my / mass).round() as isize;
    for (y, row) in scaled.chunks_exact(tw).enumerate() {
        for (x, &v) in row.iter().enumerate() {
            let (fx, fy) = (x as isize + ox, y as isize + oy);
            if (0..SIDE as isize).contains(&fx) && (0..SIDE as isize).contains(&fy) {
                out[fy as usize * SIDE + fx as usize] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Ok(out)
}

/// Weights of source cells `0..n_src` for each of `n_dst` target cells (area coverage, normalized).
fn coverage(n_src: usize, n_dst: usize) -> Vec<Vec<(usize, f64)>> {
    let ratio = n_src as f64 / n_dst as f64;
    (0..n_dst)
        .map(|d| {
            let (a, b) = (d as f64 * ratio, (d + 1) as f64 * ratio);
            let mut w = Vec::new();
            let mut s = a.floor() as usize;
            while (s as f64) < b && s < n_src {
                let overlap = (b.min(s as f64 + 1.0) - a.max(s as f64)).max(0.0);
                if overlap > 0.0 {
                    w.push((s, overlap / ratio));
                }
                s += 1;
            }
            w
        })
        .collect()
}

/// Resample each row of the box (`bw` wide, from column `x0`) to `tw` columns.
fn resample_rows(
    gray: &[u8],
    width: usize,
    x0: usize,
    bw: usize,
    y0: usize,
    bh: usize,
    tw: usize,
) -> Vec<f64> {
    let weights = coverage(bw, tw);
    let mut out = vec![0.0; tw * bh];
    for y in 0..bh {
        let row = &gray[(y0 + y) * width + x0..(y0 + y) * width + x0 + bw];
        for (x, w) in weights.iter().enumerate() {
            out[y * tw + x] = w.iter().map(|&(s, k)| row[s] as f64 * k).sum();
        }
    }
    out
}

/// Resample each column of a `tw × bh` image to `th` rows.
fn resample_columns(src: &[f64], tw: usize, bh: usize, th: usize) -> Vec<f64> {
    let weights = coverage(bh, th);
    let mut out = vec![0.0; tw * th];
    for (y, w) in weights.iter().enumerate() {
        for x in 0..tw {
            out[y * tw + x] = w.iter().map(|&(s, k)| src[s * tw + x] * k).sum();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas(w: usize, h: usize, ink: impl Fn(usize, usize) -> bool) -> Vec<u8> {
        (0..w * h)
            .map(|i| if ink(i % w, i / w) { 255 } else { 0 })
            .collect()
    }

    fn bbox(img: &[u8]) -> (usize, usize, usize, usize) {
        let (mut x0, mut y0, mut x1, mut y1) = (SIDE, SIDE, 0, 0);
        for (i, &v) in img.iter().enumerate() {
            if v > 0 {
                let (x, y) = (i % SIDE, i / SIDE);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
        }
        (x0, y0, x1, y1)
    }

    #[test]
    fn blank_and_bad_canvases() {
        assert_eq!(preprocess(&[0; 100], 10, 10).unwrap(), vec![0; 784]);
        assert!(preprocess(&[0; 99], 10, 10).is_err());
        assert!(preprocess(&[], 0, 0).is_err());
    }

    #[test]
    fn a_square_fills_twenty_pixels_and_is_centred() {
        // a 100×100 filled square in the corner of a 280×280 canvas
        let img = preprocess(&canvas(280, 280, |x, y| x < 100 && y < 100), 280, 280).unwrap();
        assert_eq!(bbox(&img), (4, 4, 24, 24));
        assert_eq!(img[14 * 28 + 14], 255);
    }

    #[test]
    fn a_vertical_stroke_keeps_its_aspect_ratio() {
        // 20 wide, 200 tall → 2×20 in the field, centred
        let img = preprocess(
            &canvas(300, 300, |x, y| {
                (140..160).contains(&x) && (50..250).contains(&y)
            }),
            300,
            300,
        )
        .unwrap();
        let (x0, y0, x1, y1) = bbox(&img);
        assert_eq!((y1 - y0, x1 - x0), (20, 2));
        assert!((13..=15).contains(&((x0 + x1) / 2)), "{x0}..{x1}");
    }

    #[test]
    fn downscaling_anti_aliases() {
        // a one-pixel line on a big canvas still shows up as a faint line, not nothing or full ink
        let img = preprocess(
            &canvas(400, 400, |x, y| x == 200 || (y == 100 && x > 100)),
            400,
            400,
        )
        .unwrap();
        assert!(img.iter().any(|&v| v > 0 && v < 255));
    }
}
