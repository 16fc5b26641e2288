//! A small bounds-checked reader for flatbuffer tables, in safe Rust.
//!
//! The `flatbuffers` crate's reading side (`Table`, `Follow`) trusts its input unless a `Verifier` ran
//! first, and it is built on `unsafe`. We read files users drop on the page, so this module checks each
//! offset as it follows it and returns [`Error::MalformedTflite`] naming the table and field, e.g.
//! `subgraph 0 tensor 5 (name): string runs past the end of the file`. It covers what the TFLite schema
//! uses: tables with scalar, string, vector-of-scalar and vector-of-table fields; a union is read as its
//! `u8` type field plus a table.
//!
//! Wire format (google/flatbuffers `docs/source/internals.md`), all scalars little-endian:
//! - bytes 0..4 hold a u32 offset to the root table;
//! - a table starts with an i32 `soffset`; its vtable is at `table − soffset` and holds u16 values
//!   `[vtable size, table inline size, field offset …]`, where field id *i* is at byte `4 + 2i` and an offset
//!   of 0 means "absent, use the default";
//! - a field holding a string, vector or table is a u32 offset counted from the field's own position;
//! - a vector starts with a u32 element count; a string is a byte vector followed by a NUL.
//!
//! Checks made: every position and length lies inside the file (with checked arithmetic); vtables are at
//! least 4 bytes, even-sized and inside the file; a table's inline size covers its fields; strings end
//! with NUL and are UTF-8. Natural alignment is *not* required: every reader here goes through
//! `from_le_bytes`, which is correct at any address, and all builders align anyway.
//!
//! Memory: a forged file can point many fields at one large vector, so everything copied out of the file
//! (strings, scalar vectors, byte vectors) is charged to a budget fixed when the [`File`] is made; going
//! over it is [`Error::LimitExceeded`]. Counts of tables (tensors, operators, …) are limited by the caller.

use std::cell::Cell;
use std::fmt::Display;

use crate::error::{Error, Result};

/// A little-endian scalar that can appear in a table field or a vector.
pub(crate) trait Scalar: Sized + Copy {
    const SIZE: usize;
    /// Decode from exactly `SIZE` bytes (`None` if the slice has another length).
    fn from_le(bytes: &[u8]) -> Option<Self>;
}

impl Scalar for u8 {
    const SIZE: usize = 1;
    fn from_le(bytes: &[u8]) -> Option<u8> {
        bytes.try_into().ok().map(u8::from_le_bytes)
    }
}

impl Scalar for i8 {
    const SIZE: usize = 1;
    fn from_le(bytes: &[u8]) -> Option<i8> {
        bytes.try_into().ok().map(i8::from_le_bytes)
    }
}

impl Scalar for u16 {
    const SIZE: usize = 2;
    fn from_le(bytes: &[u8]) -> Option<u16> {
        bytes.try_into().ok().map(u16::from_le_bytes)
    }
}

impl Scalar for i32 {
    const SIZE: usize = 4;
    fn from_le(bytes: &[u8]) -> Option<i32> {
        bytes.try_into().ok().map(i32::from_le_bytes)
    }
}

impl Scalar for u32 {
    const SIZE: usize = 4;
    fn from_le(bytes: &[u8]) -> Option<u32> {
        bytes.try_into().ok().map(u32::from_le_bytes)
    }
}

impl Scalar for i64 {
    const SIZE: usize = 8;
    fn from_le(bytes: &[u8]) -> Option<i64> {
        bytes.try_into().ok().map(i64::from_le_bytes)
    }
}

impl Scalar for u64 {
    const SIZE: usize = 8;
    fn from_le(bytes: &[u8]) -> Option<u64> {
        bytes.try_into().ok().map(u64::from_le_bytes)
    }
}

impl Scalar for f32 {
    const SIZE: usize = 4;
    fn from_le(bytes: &[u8]) -> Option<f32> {
        bytes.try_into().ok().map(f32::from_le_bytes)
    }
}

/// The bytes of a flatbuffer file and the budget for copying data out of it.
pub(crate) struct File<'a> {
    data: &'a [u8],
    /// Bytes copied out so far and the most we allow.
    copied: Cell<u64>,
    budget: u64,
}

impl<'a> File<'a> {
    /// A file whose decoded strings and vectors may total at most `budget` bytes.
    pub fn new(data: &'a [u8], budget: u64) -> File<'a> {
        File {
            data,
            copied: Cell::new(0),
            budget,
        }
    }

    /// The root table (`loc` names it in errors).
    pub fn root(&'a self, loc: &str) -> Result<Table<'a>> {
        let offset = self
            .scalar_at::<u32>(0)
            .ok_or_else(|| malformed(format!("{loc}: file is too short for a root offset")))?;
        Table::new(self, offset as usize, loc.to_string())
    }

    /// Count `bytes` against the copy budget.
    pub fn charge(&self, bytes: u64) -> Result<()> {
        let copied = self.copied.get().saturating_add(bytes);
        if copied > self.budget {
            return Err(Error::LimitExceeded {
                what: "data decoded from the file (strings, vectors and buffers, shared ones counted each \
                       time they are referenced)"
                    .to_string(),
                limit: self.budget,
                got: copied,
            });
        }
        self.copied.set(copied);
        Ok(())
    }

    fn slice(&self, start: usize, len: usize) -> Option<&'a [u8]> {
        self.data.get(start..start.checked_add(len)?)
    }

    fn scalar_at<T: Scalar>(&self, pos: usize) -> Option<T> {
        T::from_le(self.slice(pos, T::SIZE)?)
    }
}

fn malformed(message: String) -> Error {
    Error::MalformedTflite(message)
}

/// One table of the file, with its vtable checked.
#[derive(Clone)]
pub(crate) struct Table<'a> {
    file: &'a File<'a>,
    pos: usize,
    vtable: usize,
    /// Vtable size in bytes; 0 for an absent table, whose fields all take their defaults.
    vtable_len: usize,
    /// Inline size of the table in bytes (soffset and fields).
    table_len: usize,
    /// Where this table is, for error messages ("subgraph 0 tensor 5").
    loc: String,
}

impl<'a> Table<'a> {
    fn new(file: &'a File<'a>, pos: usize, loc: String) -> Result<Table<'a>> {
        let Some(soffset) = file.scalar_at::<i32>(pos) else {
            return Err(malformed(format!(
                "{loc}: table starts past the end of the file"
            )));
        };
        // The vtable is at `pos - soffset`; i64 holds any usize position of a file under 2^63 bytes.
        let vtable = i64::try_from(pos)
            .ok()
            .and_then(|p| p.checked_sub(i64::from(soffset)))
            .and_then(|v| usize::try_from(v).ok());
        let Some(vtable) = vtable else {
            return Err(malformed(format!(
                "{loc}: vtable offset {soffset} points before the start of the file"
            )));
        };
        let header = (
            file.scalar_at::<u16>(vtable),
            vtable.checked_add(2).and_then(|p| file.scalar_at::<u16>(p)),
        );
        let (Some(vtable_len), Some(table_len)) = header else {
            return Err(malformed(format!(
                "{loc}: vtable runs past the end of the file"
            )));
        };
        let (vtable_len, table_len) = (usize::from(vtable_len), usize::from(table_len));
        if vtable_len < 4 || vtable_len % 2 != 0 {
            return Err(malformed(format!(
                "{loc}: vtable size {vtable_len} is invalid (must be even and ≥ 4)"
            )));
        }
        if file.slice(vtable, vtable_len).is_none() {
            return Err(malformed(format!(
                "{loc}: vtable runs past the end of the file"
            )));
        }
        if table_len < 4 {
            return Err(malformed(format!(
                "{loc}: table size {table_len} is invalid (must be ≥ 4)"
            )));
        }
        if file.slice(pos, table_len).is_none() {
            return Err(malformed(format!(
                "{loc}: table runs past the end of the file"
            )));
        }
        Ok(Table {
            file,
            pos,
            vtable,
            vtable_len,
            table_len,
            loc,
        })
    }

    /// A stand-in for a table that is absent from the file: every field takes its default.
    pub fn absent(&self, loc: String) -> Table<'a> {
        Table {
            file: self.file,
            pos: 0,
            vtable: 0,
            vtable_len: 0,
            table_len: 0,
            loc,
        }
    }

    /// Count bytes copied out on behalf of this table against the file's budget.
    pub fn charge(&self, bytes: u64) -> Result<()> {
        self.file.charge(bytes)
    }

    /// Where this table is, for error messages.
    pub fn loc(&self) -> &str {
        &self.loc
    }

    /// A `MalformedTflite` error for `field` of this table.
    pub fn err(&self, field: &str, problem: impl Display) -> Error {
        malformed(format!("{} ({field}): {problem}", self.loc))
    }

    /// The field's offset inside the table, if the field is present (`vo` is its vtable offset).
    fn field(&self, vo: u16) -> Option<usize> {
        let vo = usize::from(vo);
        if vo + 2 > self.vtable_len {
            return None;
        }
        match self.file.scalar_at::<u16>(self.vtable + vo) {
            Some(0) | None => None,
            Some(off) => Some(usize::from(off)),
        }
    }

    /// True if the field is present.
    pub fn has(&self, vo: u16) -> bool {
        self.field(vo).is_some()
    }

    /// Position in the file of a present field of `size` bytes, checked to lie inside the table.
    fn field_pos(&self, vo: u16, name: &str, size: usize) -> Result<Option<usize>> {
        let Some(off) = self.field(vo) else {
            return Ok(None);
        };
        if off < 4 || off + size > self.table_len {
            return Err(self.err(
                name,
                format!(
                    "field at offset {off} lies outside its {}-byte table",
                    self.table_len
                ),
            ));
        }
        // `table_len` was checked against the file in `new`, so this position is in bounds.
        Ok(Some(self.pos + off))
    }

    /// A scalar field, or `default` if absent.
    pub fn scalar<T: Scalar>(&self, vo: u16, name: &str, default: T) -> Result<T> {
        let Some(pos) = self.field_pos(vo, name, T::SIZE)? else {
            return Ok(default);
        };
        self.file
            .scalar_at::<T>(pos)
            .ok_or_else(|| self.err(name, "field runs past the end of the file"))
    }

    /// A `bool` field (any non-zero byte is true, as in the C++ accessors).
    pub fn bool(&self, vo: u16, name: &str) -> Result<bool> {
        Ok(self.scalar::<u8>(vo, name, 0)? != 0)
    }

    /// Follow an offset field: the position it points to.
    fn target(&self, vo: u16, name: &str) -> Result<Option<usize>> {
        let Some(pos) = self.field_pos(vo, name, 4)? else {
            return Ok(None);
        };
        let rel = self
            .file
            .scalar_at::<u32>(pos)
            .ok_or_else(|| self.err(name, "field runs past the end of the file"))?;
        match pos.checked_add(rel as usize) {
            Some(t) if t < self.file.data.len() => Ok(Some(t)),
            _ => Err(self.err(
                name,
                format!("offset {rel} points past the end of the file"),
            )),
        }
    }

    /// A sub-table field (`loc` names it in errors).
    pub fn table(
        &self,
        vo: u16,
        name: &str,
        loc: impl FnOnce() -> String,
    ) -> Result<Option<Table<'a>>> {
        match self.target(vo, name)? {
            None => Ok(None),
            Some(t) => Table::new(self.file, t, loc()).map(Some),
        }
    }

    /// A vector field: position of its first element and element count, all of it inside the file.
    fn vector(&self, vo: u16, name: &str, elem_size: usize) -> Result<Option<(usize, usize)>> {
        let Some(t) = self.target(vo, name)? else {
            return Ok(None);
        };
        let count = self
            .file
            .scalar_at::<u32>(t)
            .ok_or_else(|| self.err(name, "vector length runs past the end of the file"))?
            as usize;
        let start = t + 4; // t + 4 <= file length: the u32 count was read from t..t+4
        let in_file = count
            .checked_mul(elem_size)
            .and_then(|bytes| self.file.slice(start, bytes));
        if in_file.is_none() {
            return Err(self.err(
                name,
                format!("vector of {count} elements runs past the end of the file"),
            ));
        }
        Ok(Some((start, count)))
    }

    /// A vector of scalars, copied out (charged to the budget).
    pub fn scalars<T: Scalar>(&self, vo: u16, name: &str) -> Result<Option<Vec<T>>> {
        let Some((start, count)) = self.vector(vo, name, T::SIZE)? else {
            return Ok(None);
        };
        self.file
            .charge((count as u64).saturating_mul(std::mem::size_of::<T>() as u64))?;
        let bytes = self
            .file
            .slice(start, count * T::SIZE) // checked in `vector`
            .ok_or_else(|| self.err(name, "vector runs past the end of the file"))?;
        let mut out = Vec::with_capacity(count);
        for chunk in bytes.chunks_exact(T::SIZE) {
            out.push(T::from_le(chunk).ok_or_else(|| self.err(name, "bad vector element"))?);
        }
        Ok(Some(out))
    }

    /// A `[ubyte]` field, borrowed (charged to the budget, since callers copy it).
    pub fn bytes(&self, vo: u16, name: &str) -> Result<Option<&'a [u8]>> {
        let Some((start, count)) = self.vector(vo, name, 1)? else {
            return Ok(None);
        };
        self.file.charge(count as u64)?;
        self.file
            .slice(start, count)
            .map(Some)
            .ok_or_else(|| self.err(name, "vector runs past the end of the file"))
    }

    /// Position in the file of a `[ubyte]` field's first byte (to check alignment in tests).
    #[cfg(test)]
    pub fn bytes_pos(&self, vo: u16, name: &str) -> Result<Option<usize>> {
        Ok(self.vector(vo, name, 1)?.map(|(start, _)| start))
    }

    /// A string field: NUL-terminated UTF-8 (charged to the budget).
    pub fn string(&self, vo: u16, name: &str) -> Result<Option<&'a str>> {
        let Some(t) = self.target(vo, name)? else {
            return Ok(None);
        };
        let count = self
            .file
            .scalar_at::<u32>(t)
            .ok_or_else(|| self.err(name, "string length runs past the end of the file"))?
            as usize;
        // The string's bytes and its NUL terminator.
        let Some(with_nul) = count.checked_add(1).and_then(|n| self.file.slice(t + 4, n)) else {
            return Err(self.err(
                name,
                format!("string of {count} bytes runs past the end of the file"),
            ));
        };
        let Some((&0, text)) = with_nul.split_last() else {
            return Err(self.err(name, "string is not NUL-terminated"));
        };
        self.file.charge(count as u64)?;
        std::str::from_utf8(text)
            .map(Some)
            .map_err(|e| self.err(name, format!("string is not valid UTF-8 ({e})")))
    }

    /// A vector-of-tables field.
    pub fn tables(&self, vo: u16, name: &str) -> Result<Option<Tables<'a>>> {
        let Some((start, count)) = self.vector(vo, name, 4)? else {
            return Ok(None);
        };
        Ok(Some(Tables {
            file: self.file,
            start,
            count,
        }))
    }
}

/// A vector of table offsets; tables are checked when fetched.
pub(crate) struct Tables<'a> {
    file: &'a File<'a>,
    start: usize,
    count: usize,
}

impl<'a> Tables<'a> {
    pub fn len(&self) -> usize {
        self.count
    }

    /// The `i`-th table (`loc` names it in errors).
    pub fn get(&self, i: usize, loc: String) -> Result<Table<'a>> {
        if i >= self.count {
            return Err(malformed(format!(
                "{loc}: index {i} out of range ({} entries)",
                self.count
            )));
        }
        // Inside the vector, which `Table::vector` checked to lie inside the file.
        let elem = self.start + 4 * i;
        let rel = self
            .file
            .scalar_at::<u32>(elem)
            .ok_or_else(|| malformed(format!("{loc}: offset runs past the end of the file")))?;
        match elem.checked_add(rel as usize) {
            Some(t) if t < self.file.data.len() => Table::new(self.file, t, loc),
            _ => Err(malformed(format!(
                "{loc}: offset {rel} points past the end of the file"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-assembled buffer: root offset → table at 12 whose vtable at 4 has one i32 field (id 0) at
    /// table offset 4 and one string field (id 1) at table offset 8.
    fn sample() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&12u32.to_le_bytes()); // 0: root offset
        b.extend_from_slice(&8u16.to_le_bytes()); // 4: vtable size 8
        b.extend_from_slice(&12u16.to_le_bytes()); // 6: table size 12
        b.extend_from_slice(&4u16.to_le_bytes()); // 8: field 0 at +4
        b.extend_from_slice(&8u16.to_le_bytes()); // 10: field 1 at +8
        b.extend_from_slice(&8i32.to_le_bytes()); // 12: soffset: vtable at 12 - 8 = 4
        b.extend_from_slice(&(-7i32).to_le_bytes()); // 16: field 0 = -7
        b.extend_from_slice(&4u32.to_le_bytes()); // 20: field 1 -> 24
        b.extend_from_slice(&2u32.to_le_bytes()); // 24: string length 2
        b.extend_from_slice(b"hi\0\0"); // 28: "hi", NUL, pad
        b
    }

    #[test]
    fn reads_fields_and_defaults() {
        let bytes = sample();
        let file = File::new(&bytes, 1000);
        let t = file.root("root").unwrap();
        assert_eq!(t.scalar::<i32>(4, "a", 0).unwrap(), -7);
        assert_eq!(t.string(6, "b").unwrap(), Some("hi"));
        // Field id 2 is beyond the vtable: absent, default.
        assert_eq!(t.scalar::<i32>(8, "c", 5).unwrap(), 5);
        assert!(t.string(8, "c").unwrap().is_none());
    }

    #[test]
    fn rejects_bad_offsets_without_panicking() {
        let good = sample();
        // Every truncation is an error or reads the same field values, never a panic.
        for len in 0..good.len() {
            let file = File::new(&good[..len], 1000);
            if let Ok(t) = file.root("root") {
                let _ = t.scalar::<i32>(4, "a", 0);
                let _ = t.string(6, "b");
            }
        }
        // String offset pointing past the end.
        let mut b = sample();
        b[20..24].copy_from_slice(&1000u32.to_le_bytes());
        let file = File::new(&b, 1000);
        let err = file
            .root("root")
            .unwrap()
            .string(6, "b")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("root (b): offset 1000 points past the end of the file"),
            "{err}"
        );
        // Missing NUL.
        let mut b = sample();
        b[30] = b'!';
        b.truncate(31);
        let file = File::new(&b, 1000);
        let err = file
            .root("root")
            .unwrap()
            .string(6, "b")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not NUL-terminated"), "{err}");
        // Vtable before the file start.
        let mut b = sample();
        b[12..16].copy_from_slice(&100i32.to_le_bytes());
        let file = File::new(&b, 1000);
        assert!(file.root("root").is_err());
        // Field offset outside the table.
        let mut b = sample();
        b[8..10].copy_from_slice(&11u16.to_le_bytes());
        let file = File::new(&b, 1000);
        let err = file
            .root("root")
            .unwrap()
            .scalar::<i32>(4, "a", 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lies outside its 12-byte table"), "{err}");
    }

    #[test]
    fn charges_the_budget() {
        let bytes = sample();
        let file = File::new(&bytes, 3);
        let t = file.root("root").unwrap();
        assert!(t.string(6, "b").is_ok()); // 2 bytes
        assert!(matches!(t.string(6, "b"), Err(Error::LimitExceeded { .. }))); // 4 > 3
    }
}
