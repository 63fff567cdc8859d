//! Arrays on disk in NumPy's `.npy` format (version 1.0), which Python reads with `np.load`
//! and no ccdni: the magic `\x93NUMPY`, the version, a little-endian u16 header length, an ASCII
//! Python-dict header (`{'descr': '<f4', 'fortran_order': False, 'shape': (...), }`) padded with
//! spaces to a multiple of 64 bytes and ended by a newline, then the raw little-endian values in
//! row-major order. Written atomically (see [`super::write_atomically`]).
//!
//! Read back: [`read_f32`] (float32 arrays of any rank) and [`read_ids`] (1-D arrays of integers
//! of any width and sign, as `np.save` writes image ids). The reader accepts versions 1.0, 2.0 and
//! 3.0 (a u32 header length), and checks everything before it allocates: the header's dict, the
//! dtype (little-endian only: `'>f4'` or `'<f8'` are refused with the conversion to make), C order,
//! and that the shape's bytes fill the rest of the file exactly, so a header claiming 10^12 rows
//! is an error, not an allocation. Errors name the file.

use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::Read;
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY\x01\x00";

/// The bytes of a `.npy` file holding `values` (f32) with `shape`.
pub fn encode(shape: &[usize], values: &[f32]) -> Result<Vec<u8>> {
    if shape.iter().product::<usize>() != values.len() {
        bail!("shape {shape:?} does not hold {} values", values.len());
    }
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode_raw("<f4", shape, &data)
}

/// The bytes of a `.npy` file of dtype `descr` (`<f4`, `<i8`, `|b1`, ...) with `shape`, holding
/// `data` (little-endian, row-major; its length is not checked against the shape, so that
/// tests can write lying headers).
pub fn encode_raw(descr: &str, shape: &[usize], data: &[u8]) -> Result<Vec<u8>> {
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    let unpadded = MAGIC.len() + 2 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.div_ceil(64) * 64 - unpadded));
    header.push('\n');
    let Ok(len) = u16::try_from(header.len()) else {
        bail!("shape {shape:?} makes a header too long for .npy version 1.0");
    };
    let mut bytes = Vec::with_capacity(MAGIC.len() + 2 + header.len() + data.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    Ok(bytes)
}

/// Writes `values` with `shape` to `path` as `.npy`, atomically.
pub fn write(path: &Path, shape: &[usize], values: &[f32]) -> Result<()> {
    super::write_atomically(path, &encode(shape, values)?)
}

/// Largest header we accept (NumPy itself refuses headers over 10 000 bytes by default).
const MAX_HEADER: u64 = 1 << 20;

/// What a `.npy` header says about the array that follows it.
#[derive(Debug, PartialEq)]
struct Header {
    /// The dtype string, e.g. `<f4`, `<i8`, `|u1`.
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Reads a float32 `.npy` file: its shape and its values in row-major order.
pub fn read_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    read_checked(path, |header, bytes| {
        if header.descr != "<f4" {
            bail!("{}", dtype_advice(&header.descr, "float32 ('<f4')"));
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    })
}

/// Reads a 1-D `.npy` file of integers (signed or unsigned, 1 to 8 bytes each) as ids; a
/// negative value is an error that names its index.
pub fn read_ids(path: &Path) -> Result<Vec<u64>> {
    let (_, ids) = read_checked(path, |header, bytes| {
        if header.shape.len() != 1 {
            bail!("shape {:?}: ids must be a 1-D array", header.shape);
        }
        let code = header.descr.get(1..).unwrap_or("");
        let signed = code.starts_with('i');
        let width = match code {
            "i1" | "u1" => 1,
            "i2" | "u2" => 2,
            "i4" | "u4" => 4,
            "i8" | "u8" => 8,
            _ => bail!("{}", dtype_advice(&header.descr, "integers ('<i8')")),
        };
        if width > 1 && !header.descr.starts_with('<') {
            bail!("{}", dtype_advice(&header.descr, "integers ('<i8')"));
        }
        bytes
            .chunks_exact(width)
            .enumerate()
            .map(|(i, b)| {
                let mut wide = [0u8; 8];
                wide[..width].copy_from_slice(b);
                let negative = signed && b[width - 1] & 0x80 != 0;
                if negative {
                    bail!("id {i} is negative");
                }
                Ok(u64::from_le_bytes(wide))
            })
            .collect()
    })?;
    Ok(ids)
}

/// What to say about a dtype the reader does not take.
fn dtype_advice(descr: &str, want: &str) -> String {
    let order = if descr.starts_with('>') {
        " (big-endian: convert with .astype('<' + a.dtype.str[1:]))"
    } else {
        ""
    };
    format!("dtype '{descr}'{order}, but ccdni reads {want} here (convert with .astype)")
}

/// Opens `path`, checks its header against its size, and decodes its data with `decode`.
fn read_checked<T>(
    path: &Path,
    decode: impl FnOnce(&Header, &[u8]) -> Result<Vec<T>>,
) -> Result<(Vec<usize>, Vec<T>)> {
    let cannot_read = || format!("cannot read {}", path.display());
    let mut file = File::open(path).with_context(cannot_read)?;
    let size = file.metadata().with_context(cannot_read)?.len();
    let inner = || -> Result<(Vec<usize>, Vec<T>)> {
        let (header, bytes) = read_from(&mut file, size)?;
        let values = decode(&header, &bytes)?;
        Ok((header.shape, values))
    };
    inner().with_context(|| format!("{} is not a usable .npy file", path.display()))
}

/// An array as a `.npy` file stores it: its shape, its dtype string (`<f4`, `<i8`, `|b1`) and
/// its little-endian data, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct RawArray {
    pub shape: Vec<usize>,
    pub descr: String,
    pub data: Vec<u8>,
}

/// Reads the `.npy` file at `path` as stored, checked as [`read_f32`] checks it (any dtype).
pub fn read_raw(path: &Path) -> Result<RawArray> {
    let cannot_read = || format!("cannot read {}", path.display());
    let mut file = File::open(path).with_context(cannot_read)?;
    let size = file.metadata().with_context(cannot_read)?.len();
    let (header, data) = read_from(&mut file, size)
        .with_context(|| format!("{} is not a usable .npy file", path.display()))?;
    Ok(RawArray {
        shape: header.shape,
        descr: header.descr,
        data,
    })
}

/// The `.npy` array held in `bytes` (a member of an `.npz` archive), checked as [`read_raw`].
pub fn decode_raw(bytes: &[u8]) -> Result<RawArray> {
    let (header, data) = read_from(&mut &bytes[..], bytes.len() as u64)?;
    Ok(RawArray {
        shape: header.shape,
        descr: header.descr,
        data,
    })
}

/// Reads a `.npy` array of `size` bytes from `r`: its header, checked against the size (the
/// shape's bytes must fill the rest exactly), then its data.
fn read_from(r: &mut impl Read, size: u64) -> Result<(Header, Vec<u8>)> {
    let (header, rest) = read_header(r, size)?;
    if header.fortran_order && header.shape.iter().filter(|&&d| d > 1).count() > 1 {
        bail!("fortran_order is True: save a C-ordered array (np.ascontiguousarray)");
    }
    let width = dtype_width(&header.descr)?;
    let count = header
        .shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .context("the shape's size overflows")?;
    let need = count
        .checked_mul(width)
        .context("the shape's size overflows")?;
    if need != rest {
        let what = if need > rest { "truncated" } else { "too long" };
        bail!(
            "{what}: shape {:?} of '{}' needs {need} bytes of data but the file holds {rest}",
            header.shape,
            header.descr
        );
    }
    let mut bytes = Vec::new();
    r.take(rest)
        .read_to_end(&mut bytes)
        .context("reading the data")?;
    if bytes.len() as u64 != rest {
        bail!(
            "truncated: the data ends after {} of {rest} bytes",
            bytes.len()
        );
    }
    Ok((header, bytes))
}

/// Bytes per element of a dtype string (`<f4` → 4); structured dtypes are refused.
fn dtype_width(descr: &str) -> Result<u64> {
    descr
        .get(2..)
        .filter(|_| descr.len() > 2 && matches!(&descr[..1], "<" | ">" | "|" | "="))
        .and_then(|w| w.parse::<u64>().ok())
        .filter(|&w| (1..=16).contains(&w))
        .with_context(|| format!("dtype '{descr}' is not a plain numeric dtype"))
}

/// Reads the magic, the version, the header length and the header of a `size`-byte file; returns
/// the header and how many bytes of data follow it.
fn read_header(r: &mut impl Read, size: u64) -> Result<(Header, u64)> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)
        .context("too short for the .npy magic and version")?;
    if &magic[..6] != b"\x93NUMPY" {
        bail!("no .npy magic (\\x93NUMPY) at the start");
    }
    let len_bytes = match magic[6] {
        1 => 2,
        2 | 3 => 4,
        v => bail!("format version {v}.{} (ccdni reads 1.0 to 3.0)", magic[7]),
    };
    let mut len = [0u8; 4];
    r.read_exact(&mut len[..len_bytes])
        .context("too short for the header length")?;
    let n = u32::from_le_bytes(len) as u64;
    let before = 8 + len_bytes as u64;
    if n > MAX_HEADER {
        bail!("the header length says {n} bytes, more than the {MAX_HEADER} accepted");
    }
    let Some(rest) = size.checked_sub(before + n) else {
        bail!("truncated: the header claims {n} bytes but the file ends before");
    };
    let mut text = vec![0u8; n as usize];
    r.read_exact(&mut text).context("reading the header")?;
    let text = std::str::from_utf8(&text).context("the header is not text")?;
    Ok((
        parse_header(text).with_context(|| format!("header {}", text.trim_end()))?,
        rest,
    ))
}

/// Parses the header dict `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
fn parse_header(text: &str) -> Result<Header> {
    let mut p = Parser {
        s: text.trim_end().as_bytes(),
        at: 0,
    };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    p.expect(b'{')?;
    while !p.eat(b'}') {
        let key = p.string()?;
        p.expect(b':')?;
        match key.as_str() {
            "descr" => descr = Some(p.string().context("descr is not a plain dtype string")?),
            "fortran_order" => fortran_order = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => bail!("unknown key '{other}'"),
        }
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_space();
    if p.at != p.s.len() {
        bail!("text after the dict");
    }
    Ok(Header {
        descr: descr.context("no 'descr'")?,
        fortran_order: fortran_order.context("no 'fortran_order'")?,
        shape: shape.context("no 'shape'")?,
    })
}

/// A cursor over the header's bytes.
struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    /// Skips spaces, then consumes `c` if it comes next.
    fn eat(&mut self, c: u8) -> bool {
        self.skip_space();
        let found = self.s.get(self.at) == Some(&c);
        self.at += found as usize;
        found
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if !self.eat(c) {
            bail!("expected '{}' at byte {}", c as char, self.at);
        }
        Ok(())
    }

    /// A quoted string without escapes.
    fn string(&mut self) -> Result<String> {
        self.skip_space();
        let Some(&quote @ (b'\'' | b'"')) = self.s.get(self.at) else {
            bail!("expected a quoted string at byte {}", self.at);
        };
        let start = self.at + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == quote)
            .with_context(|| format!("unterminated string at byte {}", self.at))?;
        self.at = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }

    fn boolean(&mut self) -> Result<bool> {
        self.skip_space();
        for (word, value) in [("True", true), ("False", false)] {
            if self.s[self.at..].starts_with(word.as_bytes()) {
                self.at += word.len();
                return Ok(value);
            }
        }
        bail!("expected True or False at byte {}", self.at)
    }

    /// A tuple of sizes: `()`, `(3,)`, `(2, 3)`.
    fn tuple(&mut self) -> Result<Vec<usize>> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        while !self.eat(b')') {
            self.skip_space();
            let start = self.at;
            while self.s.get(self.at).is_some_and(u8::is_ascii_digit) {
                self.at += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.at]).unwrap_or("");
            let d = digits
                .parse::<usize>()
                .with_context(|| format!("expected a size at byte {start}"))?;
            dims.push(d);
            if !self.eat(b',') {
                self.expect(b')')?;
                break;
            }
        }
        Ok(dims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_describes_the_array() {
        for shape in [vec![3], vec![2, 3], vec![2, 1, 3], vec![0, 4]] {
            let n = shape.iter().product();
            let values: Vec<f32> = (0..n).map(|i| i as f32 - 1.5).collect();
            let bytes = encode(&shape, &values).unwrap();
            assert_eq!(&bytes[..8], MAGIC);
            let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!((10 + len) % 64, 0, "the data starts 64-byte aligned");
            let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
            assert!(header.ends_with('\n'));
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            let want = if shape.len() == 1 {
                format!("'shape': ({},)", dims[0])
            } else {
                format!("'shape': ({})", dims.join(", "))
            };
            assert!(header.contains(&want), "{header}");
            let data: Vec<f32> = bytes[10 + len..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            assert_eq!(data, values);
        }
        assert!(encode(&[2, 2], &[1.0; 3]).is_err());
    }

    /// A `.npy` file with any header dict and raw data.
    fn raw(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut header = dict.to_string();
        let unpadded = MAGIC.len() + 2 + header.len() + 1;
        header.push_str(&" ".repeat(unpadded.div_ceil(64) * 64 - unpadded));
        header.push('\n');
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    fn read_err<T: std::fmt::Debug>(
        dir: &Path,
        bytes: &[u8],
        read: fn(&Path) -> Result<T>,
    ) -> String {
        let path = dir.join("bad.npy");
        std::fs::write(&path, bytes).unwrap();
        let err = format!("{:#}", read(&path).unwrap_err());
        assert!(err.contains("bad.npy"), "{err}");
        err
    }

    #[test]
    fn written_arrays_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let values: Vec<f32> = (0..6).map(|i| i as f32 * 0.25 - 1.0).collect();
        write(&path, &[2, 3], &values).unwrap();
        assert_eq!(read_f32(&path).unwrap(), (vec![2, 3], values));
        write(&path, &[0, 4], &[]).unwrap();
        assert_eq!(read_f32(&path).unwrap(), (vec![0, 4], vec![]));
    }

    #[test]
    fn ids_of_every_integer_width_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.npy");
        let ids = [3u64, 0, 250];
        for (descr, width) in [("<i8", 8), ("<u8", 8), ("<i4", 4), ("<u2", 2), ("|u1", 1)] {
            let data: Vec<u8> = ids
                .iter()
                .flat_map(|i| i.to_le_bytes()[..width].to_vec())
                .collect();
            let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (3,), }}");
            std::fs::write(&path, raw(&dict, &data)).unwrap();
            assert_eq!(read_ids(&path).unwrap(), ids, "{descr}");
        }
        let bytes = raw(
            "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
            &[1i64.to_le_bytes(), (-5i64).to_le_bytes()].concat(),
        );
        assert!(read_err(dir.path(), &bytes, read_ids).contains("id 1 is negative"));
        let two_d = raw(
            "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1), }",
            &[0; 8],
        );
        assert!(read_err(dir.path(), &two_d, read_ids).contains("1-D"));
        let floats = encode(&[2], &[1.0, 2.0]).unwrap();
        assert!(read_err(dir.path(), &floats, read_ids).contains("dtype '<f4'"));
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = encode(&[2, 3], &[0.5; 6]).unwrap();
        for cut in 0..good.len() {
            read_err(dir.path(), &good[..cut], read_f32);
        }
        let mut long = good.clone();
        long.push(0);
        assert!(read_err(dir.path(), &long, read_f32).contains("too long"));
        let huge = raw(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 2048), }",
            &[0; 16],
        );
        assert!(read_err(dir.path(), &huge, read_f32).contains("truncated"));
        let overflow = raw(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, 2), }",
            &[],
        );
        assert!(read_err(dir.path(), &overflow, read_f32).contains("overflows"));
        let f8 = raw(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
            &[0; 8],
        );
        assert!(read_err(dir.path(), &f8, read_f32).contains("dtype '<f8'"));
        let big = raw(
            "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
            &[0; 4],
        );
        assert!(read_err(dir.path(), &big, read_f32).contains("big-endian"));
        let fortran = raw(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
            &[0; 16],
        );
        assert!(read_err(dir.path(), &fortran, read_f32).contains("fortran_order"));
        let structured = raw(
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
            &[0; 4],
        );
        read_err(dir.path(), &structured, read_f32);
        for dict in [
            "{'descr': '<f4', 'shape': (1,), }",
            "{'descr': '<f4'",
            "not a dict",
            "",
        ] {
            read_err(dir.path(), &raw(dict, &[0; 4]), read_f32);
        }
        let mut version = good.clone();
        version[6] = 9;
        assert!(read_err(dir.path(), &version, read_f32).contains("version 9"));
    }

    #[test]
    fn random_bytes_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let good = encode(&[2, 3], &[0.5; 6]).unwrap();
        let mut rng = crate::rng::Rng::new(5);
        for _ in 0..300 {
            let mut bytes = good.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next_u64() as u8;
            }
            let path = dir.path().join("fuzz.npy");
            std::fs::write(&path, &bytes).unwrap();
            let _ = read_f32(&path);
            let _ = read_ids(&path);
        }
    }
}
