//! Register blocks of output channels, shared by the fast convolution and fully-connected kernels:
//! their transposed weights pad the channels to a whole number of blocks, and their inner loops run
//! over one block, a `[f32; B]` the compiler keeps in vector registers.

/// Channels rounded up for register blocks: to a multiple of 4 up to 16, else to a multiple of 8.
pub(crate) fn padded_channels(n: usize) -> usize {
    let four = n.div_ceil(4) * 4;
    if four <= 16 {
        four.max(4)
    } else {
        n.div_ceil(8) * 8
    }
}

/// The register block width for `padded` channels (see [`padded_channels`]).
pub(crate) fn block_width(padded: usize) -> usize {
    if padded <= 16 { padded } else { 8 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_padded_channels() {
        // 1 → 4, 5 → 8, 13 → 16 (single blocks up to 16), 17 → 24 and 32 → 32 (blocks of 8).
        for (n, padded, block) in [(1, 4, 4), (5, 8, 8), (13, 16, 16), (17, 24, 8), (32, 32, 8)] {
            assert_eq!(padded_channels(n), padded, "{n}");
            assert_eq!(block_width(padded), block, "{n}");
            assert_eq!(padded % block, 0);
        }
    }
}
