//! The IDX format of the MNIST files (LeCun et al.), read without trusting any size in the file.
//!
//! Layout: two zero bytes, a type code, the rank `r`, then `r` big-endian u32 dimensions, then the
//! elements row-major, big-endian. Gzip-compressed files (`.gz`, magic `1f 8b`) are accepted too.
//! Every size is checked before anything is allocated from it, and the payload length must match the
//! dimensions exactly.

use std::io::Read;

use crate::error::{Error, Result};

/// Element types of the IDX format (type code in byte 2 of the header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdxType {
    U8,
    I8,
    I16,
    I32,
    F32,
    F64,
}

impl IdxType {
    fn from_code(code: u8) -> Option<IdxType> {
        Some(match code {
            0x08 => IdxType::U8,
            0x09 => IdxType::I8,
            0x0B => IdxType::I16,
            0x0C => IdxType::I32,
            0x0D => IdxType::F32,
            0x0E => IdxType::F64,
            _ => return None,
        })
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            IdxType::U8 | IdxType::I8 => 1,
            IdxType::I16 => 2,
            IdxType::I32 | IdxType::F32 => 4,
            IdxType::F64 => 8,
        }
    }
}

/// Largest payload we accept, compressed or not (the MNIST training images are 47 MB).
pub const MAX_IDX_BYTES: u64 = 1 << 30;

/// A parsed IDX array: element type, dimensions and the raw (big-endian) payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Idx {
    pub dtype: IdxType,
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

impl Idx {
    /// Number of elements (product of the dimensions).
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Parse an IDX file's bytes, gzip-compressed (with the `gzip` feature) or not.
pub fn parse_idx(bytes: &[u8]) -> Result<Idx> {
    if bytes.starts_with(&GZIP_MAGIC) {
        parse_gzip(bytes)
    } else {
        parse_stream(bytes, false)
    }
}

#[cfg(feature = "gzip")]
fn parse_gzip(bytes: &[u8]) -> Result<Idx> {
    parse_stream(flate2::read::GzDecoder::new(bytes), true)
}

/// Without the `gzip` feature (the browser builds, whose page decompresses first): an error that says so.
#[cfg(not(feature = "gzip"))]
fn parse_gzip(_: &[u8]) -> Result<Idx> {
    Err(Error::MalformedIdx(
        "gzip-compressed IDX: this build reads plain IDX only, decompress the file first".into(),
    ))
}

/// Read the header and payload from a stream, allocating only what the (checked) dimensions ask for and
/// only as the bytes actually arrive.
fn parse_stream(mut r: impl Read, gz: bool) -> Result<Idx> {
    let what = if gz { "gzip-compressed IDX" } else { "IDX" };
    let mut head = [0u8; 4];
    read_exact(&mut r, &mut head, gz, || {
        format!("{what} file too short for its 4-byte magic")
    })?;
    if head[0] != 0 || head[1] != 0 {
        return Err(Error::MalformedIdx(format!(
            "bad magic {:02x} {:02x} {:02x} {:02x}: an IDX file starts with two zero bytes",
            head[0], head[1], head[2], head[3]
        )));
    }
    let dtype = IdxType::from_code(head[2]).ok_or_else(|| {
        Error::MalformedIdx(format!(
            "unknown element type code 0x{:02x} (expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e)",
            head[2]
        ))
    })?;
    let rank = head[3] as usize;
    if rank == 0 {
        return Err(Error::MalformedIdx(
            "rank 0: an IDX file needs at least one dimension".into(),
        ));
    }
    let mut dim_bytes = vec![0u8; 4 * rank];
    read_exact(&mut r, &mut dim_bytes, gz, || {
        format!(
            "truncated header: rank {rank} needs {} bytes of dimensions",
            4 * rank
        )
    })?;
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let payload = dims
        .iter()
        .try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| Error::MalformedIdx(format!("dimensions {dims:?} overflow")))?;
    Error::check_limit("IDX payload size in bytes", payload, MAX_IDX_BYTES)?;

    // Read through `take` so a forged size never allocates more than the stream really holds.
    let mut data = Vec::new();
    let got = r
        .by_ref()
        .take(payload)
        .read_to_end(&mut data)
        .map_err(|e| stream_error(e, gz))?;
    if (got as u64) < payload {
        return Err(Error::MalformedIdx(format!(
            "truncated: dimensions {dims:?} need {payload} bytes of data, the file has {got}"
        )));
    }
    let mut extra = [0u8; 1];
    let more = r.read(&mut extra).map_err(|e| stream_error(e, gz))?;
    if more != 0 {
        return Err(Error::MalformedIdx(format!(
            "trailing bytes after the {payload} bytes of data that dimensions {dims:?} describe"
        )));
    }
    Ok(Idx { dtype, dims, data })
}

fn read_exact(
    r: &mut impl Read,
    buf: &mut [u8],
    gz: bool,
    short: impl FnOnce() -> String,
) -> Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => return Err(Error::MalformedIdx(short())),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(stream_error(e, gz)),
        }
    }
    Ok(())
}

fn stream_error(e: std::io::Error, gz: bool) -> Error {
    if gz {
        Error::MalformedIdx(format!("corrupt gzip stream: {e}"))
    } else {
        Error::MalformedIdx(e.to_string())
    }
}

/// Serialize u8 data as an IDX file (used by `ptq predict --images` fixtures and by tests).
pub fn write_idx_u8(dims: &[usize], data: &[u8]) -> Result<Vec<u8>> {
    let n: usize = dims.iter().product();
    if n != data.len() || dims.is_empty() || dims.len() > 255 {
        return Err(Error::InvalidArgument(format!(
            "IDX dims {dims:?} do not describe {} bytes",
            data.len()
        )));
    }
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        let d = u32::try_from(d).map_err(|_| {
            Error::InvalidArgument(format!("IDX dimension {d} does not fit in u32"))
        })?;
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "gzip")]
    use std::io::Write;

    fn sample() -> Vec<u8> {
        write_idx_u8(&[2, 3], &[1, 2, 3, 4, 5, 6]).unwrap()
    }

    #[test]
    fn parses_a_small_u8_file() {
        let idx = parse_idx(&sample()).unwrap();
        assert_eq!(idx.dtype, IdxType::U8);
        assert_eq!(idx.dims, vec![2, 3]);
        assert_eq!(idx.data, vec![1, 2, 3, 4, 5, 6]);
    }

    #[cfg(feature = "gzip")]
    #[test]
    fn parses_gzip() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&sample()).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(parse_idx(&gz).unwrap().dims, vec![2, 3]);
        // a truncated gzip stream is an error, not a panic
        for cut in 0..gz.len() {
            assert!(parse_idx(&gz[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn rejects_bad_magic_type_rank() {
        let mut b = sample();
        b[0] = 1;
        assert!(matches!(parse_idx(&b), Err(Error::MalformedIdx(m)) if m.contains("magic")));
        let mut b = sample();
        b[2] = 0x07;
        assert!(matches!(parse_idx(&b), Err(Error::MalformedIdx(m)) if m.contains("type code")));
        let mut b = sample();
        b[3] = 0;
        assert!(matches!(parse_idx(&b), Err(Error::MalformedIdx(m)) if m.contains("rank 0")));
    }

    #[test]
    fn rejects_truncated_and_trailing_bytes() {
        let b = sample();
        for cut in 0..b.len() {
            assert!(parse_idx(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = b.clone();
        long.push(9);
        assert!(matches!(parse_idx(&long), Err(Error::MalformedIdx(m)) if m.contains("trailing")));
    }

    #[test]
    fn forged_dimensions_neither_overflow_nor_allocate() {
        // 0xffffffff^3 overflows u64
        let mut b = vec![0, 0, 0x08, 3];
        b.extend_from_slice(&[0xff; 12]);
        assert!(matches!(parse_idx(&b), Err(Error::MalformedIdx(m)) if m.contains("overflow")));
        // 0xffffffff^2 fits in u64 but is far over the limit
        let mut b = vec![0, 0, 0x08, 2];
        b.extend_from_slice(&[0xff; 8]);
        assert!(matches!(parse_idx(&b), Err(Error::LimitExceeded { .. })));
        // 100 MB claimed, 3 bytes present
        let mut b = vec![0, 0, 0x08, 1];
        b.extend_from_slice(&100_000_000u32.to_be_bytes());
        b.extend_from_slice(&[1, 2, 3]);
        assert!(matches!(parse_idx(&b), Err(Error::MalformedIdx(m)) if m.contains("truncated")));
    }

    #[test]
    fn wider_types_use_their_element_size() {
        let mut b = vec![0, 0, 0x0D, 1];
        b.extend_from_slice(&2u32.to_be_bytes());
        b.extend_from_slice(&1.5f32.to_be_bytes());
        b.extend_from_slice(&(-2.0f32).to_be_bytes());
        let idx = parse_idx(&b).unwrap();
        assert_eq!((idx.dtype, idx.data.len()), (IdxType::F32, 8));
    }
}
