//! Models on disk in the safetensors format, which Python reads without ccdni
//! (`safetensors.numpy.load_file`, or `safetensors.torch.load_file` into a PyTorch
//! `state_dict`): an 8-byte little-endian header length N, N bytes of JSON naming each tensor's
//! dtype, shape and byte range (`"__metadata__"` holds free string pairs), then the raw
//! little-endian data. Tensor names are the model's PyTorch-style names (`cortex.weight_ih`,
//! `cerebellum.0.weight`, ...), so `torch.nn.LSTM` weights load one to one.
//!
//! Writing is atomic: a temporary file in the same folder, flushed to disk, then renamed, so a
//! crash leaves either the old file or the new one. Reading checks everything a truncated or
//! foreign file could break (header length, JSON, dtypes, shapes, byte ranges that must tile
//! the data exactly) and names the file and the tensor in its errors.

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::Path;

/// Largest header we accept (the format's own readers refuse more than 100 MB).
const MAX_HEADER: u64 = 100_000_000;

/// The element types ccdni reads: floats for models, I64 for ids (see [`read_raw`]); I32, U8
/// and BOOL for a file task's labels and masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    I64,
    I32,
    U8,
    Bool,
}

impl Dtype {
    /// Bytes per element.
    pub fn width(self) -> usize {
        match self {
            Dtype::U8 | Dtype::Bool => 1,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
        }
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dtype::F32 => "F32",
            Dtype::F64 => "F64",
            Dtype::I64 => "I64",
            Dtype::I32 => "I32",
            Dtype::U8 => "U8",
            Dtype::Bool => "BOOL",
        })
    }
}

/// One tensor read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTensor {
    pub name: String,
    /// The element type in the file (the values are converted to f32 either way).
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Row-major values, converted to f32 (the file may hold F32 or F64).
    pub data: Vec<f32>,
}

/// One tensor as stored: its little-endian bytes, undecoded.
#[derive(Clone, Debug, PartialEq)]
pub struct RawTensor {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

/// Writes `tensors` (name, shape, row-major f32 values) and `metadata` to `path` atomically.
pub fn write(
    path: &Path,
    tensors: &[(&str, &[usize], &[f32])],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let mut header = Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::to_value(metadata)?);
    }
    let mut offset = 0usize;
    for &(name, shape, data) in tensors {
        if shape.iter().product::<usize>() != data.len() {
            bail!(
                "tensor {name}: shape {shape:?} does not hold {} values",
                data.len()
            );
        }
        let end = offset + 4 * data.len();
        header.insert(
            name.into(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut json = serde_json::to_vec(&Value::Object(header))?;
    // Pad the header with spaces so the data starts 8-byte aligned, as the format recommends.
    json.resize(json.len().div_ceil(8) * 8, b' ');
    let mut bytes = Vec::with_capacity(8 + json.len() + offset);
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    for &(_, _, data) in tensors {
        data.iter()
            .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    }
    super::write_atomically(path, &bytes)
}

/// Reads every tensor of a safetensors file (F32 or F64, as f32), in the order of their data,
/// with its metadata; an I64 tensor is an error here (see [`read_raw`]).
pub fn read(path: &Path) -> Result<(Vec<StoredTensor>, BTreeMap<String, String>)> {
    let (raw, metadata) = read_raw(path)?;
    let tensors = raw
        .into_iter()
        .map(|t| {
            let data = match t.dtype {
                Dtype::F32 => t
                    .bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                Dtype::F64 => t
                    .bytes
                    .chunks_exact(8)
                    .map(|b| {
                        f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
                    })
                    .collect(),
                other => bail!(
                    "{}: tensor {} is {other}, where F32 or F64 values are expected",
                    path.display(),
                    t.name
                ),
            };
            Ok(StoredTensor {
                name: t.name,
                dtype: t.dtype,
                shape: t.shape,
                data,
            })
        })
        .collect::<Result<_>>()?;
    Ok((tensors, metadata))
}

/// Reads every tensor of a safetensors file as stored, in the order of their data, with its
/// metadata. Each part is checked before the next is read: a header longer than the format allows or than
/// the file, or a header whose tensors do not tile the rest of the file exactly, is refused
/// before the data is read (so nothing of the size a corrupt header claims is allocated).
pub fn read_raw(path: &Path) -> Result<(Vec<RawTensor>, BTreeMap<String, String>)> {
    let cannot_read = || format!("cannot read {}", path.display());
    let mut file = File::open(path).with_context(cannot_read)?;
    let size = file.metadata().with_context(cannot_read)?.len();
    read_from(&mut file, size)
        .with_context(|| format!("{} is not a valid safetensors file", path.display()))
}

/// Reads the metadata of a safetensors file without its data, checking the header as
/// [`read_raw`] does (its tensors must tile the rest of the file exactly).
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>> {
    let cannot_read = || format!("cannot read {}", path.display());
    let mut file = File::open(path).with_context(cannot_read)?;
    let size = file.metadata().with_context(cannot_read)?.len();
    read_header(&mut file, size)
        .map(|((_, metadata), _)| metadata)
        .with_context(|| format!("{} is not a valid safetensors file", path.display()))
}

/// Reads a safetensors stream of `size` bytes: the header length, the header, then the data.
fn read_from(r: &mut impl Read, size: u64) -> Result<(Vec<RawTensor>, BTreeMap<String, String>)> {
    let ((entries, metadata), data_len) = read_header(r, size)?;
    let mut data = Vec::new();
    r.take(data_len)
        .read_to_end(&mut data)
        .context("reading the data")?;
    if data.len() as u64 != data_len {
        bail!(
            "truncated: the data ends after {} of its {data_len} bytes",
            data.len()
        );
    }
    let tensors = entries
        .into_iter()
        .map(|e| RawTensor {
            bytes: data[e.range].to_vec(),
            name: e.name,
            dtype: e.dtype,
            shape: e.shape,
        })
        .collect();
    Ok((tensors, metadata))
}

/// Reads the header length and the header of a safetensors stream of `size` bytes, checked;
/// returns it and the length of the data that follows.
fn read_header(r: &mut impl Read, size: u64) -> Result<(Header, u64)> {
    let Some(rest) = size.checked_sub(8) else {
        bail!("{size} bytes: too short for the 8-byte header length");
    };
    let mut len = [0u8; 8];
    r.read_exact(&mut len)
        .context("reading the header length")?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER {
        bail!(
            "the header length says {n} bytes, more than the {MAX_HEADER} a safetensors header may hold"
        );
    }
    if n > rest {
        bail!("truncated: the header claims {n} bytes but only {rest} follow its length");
    }
    let mut json = vec![0u8; n as usize];
    r.read_exact(&mut json).context("reading the header")?;
    let data_len = rest - n;
    Ok((parse_header(&json, data_len)?, data_len))
}

/// A tensor's header entry: where its data lies.
struct Entry {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    range: Range<usize>,
}

/// The tensors' entries (in the order of their data) and the metadata of a header, checked
/// against `data_len` bytes of data, which their byte ranges must tile exactly.
type Header = (Vec<Entry>, BTreeMap<String, String>);

fn parse_header(json: &[u8], data_len: u64) -> Result<Header> {
    let header: Map<String, Value> =
        serde_json::from_slice(json).context("the header is not a JSON object")?;
    let mut metadata = BTreeMap::new();
    let mut entries = Vec::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            metadata = serde_json::from_value(entry)
                .context("__metadata__ must map strings to strings")?;
            continue;
        }
        let e =
            entry_of(name.clone(), &entry, data_len).with_context(|| format!("tensor {name}"))?;
        entries.push(e);
    }
    // The byte ranges must tile the data exactly: no gap, no overlap, nothing left over.
    entries.sort_by_key(|e| e.range.start);
    let mut end = 0;
    for e in &entries {
        if e.range.start != end {
            bail!(
                "tensor {}: its data starts at byte {} where {end} was expected",
                e.name,
                e.range.start
            );
        }
        end = e.range.end;
    }
    if end as u64 != data_len {
        bail!("the tensors cover {end} bytes of data but the file holds {data_len}");
    }
    Ok((entries, metadata))
}

fn entry_of(name: String, entry: &Value, data_len: u64) -> Result<Entry> {
    let dtype = match entry["dtype"].as_str().context("no dtype")? {
        "F32" => Dtype::F32,
        "F64" => Dtype::F64,
        "I64" => Dtype::I64,
        "I32" => Dtype::I32,
        "U8" => Dtype::U8,
        "BOOL" => Dtype::Bool,
        other => bail!("dtype {other} (ccdni reads F32, F64, I64, I32, U8 and BOOL)"),
    };
    let shape = entry["shape"]
        .as_array()
        .context("no shape")?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()
        .context("the shape is not a list of sizes")?;
    let offsets = entry["data_offsets"]
        .as_array()
        .filter(|o| o.len() == 2)
        .context("data_offsets is not a pair")?;
    let offset = |i: usize| {
        offsets[i]
            .as_u64()
            .and_then(|o| usize::try_from(o).ok())
            .context("data_offsets are not byte positions")
    };
    let (start, end) = (offset(0)?, offset(1)?);
    if start > end || end as u64 > data_len {
        bail!(
            "data_offsets [{start}, {end}] lie outside the {data_len} bytes of data (is the file truncated?)"
        );
    }
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .context("the shape's size overflows")?;
    let width = dtype.width();
    if count.checked_mul(width) != Some(end - start) {
        bail!(
            "shape {shape:?} of {dtype} needs {count} × {width} bytes, but its range holds {}",
            end - start
        );
    }
    Ok(Entry {
        name,
        dtype,
        shape,
        range: start..end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("m.safetensors");
        let meta = BTreeMap::from([("config".to_string(), "x = 1".to_string())]);
        let w: Vec<f32> = (0..6).map(|i| i as f32 * 0.5 - 1.0).collect();
        write(
            &path,
            &[
                ("a.weight", &[2, 3], &w),
                ("a.bias", &[3], &[1.0, 2.0, 3.0]),
            ],
            &meta,
        )
        .unwrap();
        path
    }

    #[test]
    fn round_trip_keeps_names_shapes_values_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        let (tensors, meta) = read(&path).unwrap();
        assert_eq!(meta["config"], "x = 1");
        assert_eq!(tensors[0].name, "a.weight");
        assert_eq!(tensors[0].shape, vec![2, 3]);
        assert_eq!(tensors[0].data, vec![-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]);
        assert_eq!(tensors[1].name, "a.bias");
        assert_eq!(tensors[1].data, vec![1.0, 2.0, 3.0]);
        let bytes = std::fs::read(&path).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        assert_eq!(n % 8, 0, "the data starts 8-byte aligned");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        let good = std::fs::read(&path).unwrap();
        let bad = dir.path().join("bad.safetensors");
        for cut in 0..good.len() {
            std::fs::write(&bad, &good[..cut]).unwrap();
            let err = format!("{:#}", read(&bad).unwrap_err());
            assert!(err.contains("bad.safetensors"), "{err}");
        }
        let mut huge = good.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&bad, &huge).unwrap();
        let err = format!("{:#}", read(&bad).unwrap_err());
        assert!(err.contains("more than the 100000000"), "{err}");
        huge[..8].copy_from_slice(&(good.len() as u64).to_le_bytes());
        std::fs::write(&bad, &huge).unwrap();
        let err = format!("{:#}", read(&bad).unwrap_err());
        assert!(err.contains("truncated: the header claims"), "{err}");
        let mut foreign = good.clone();
        let at = good.windows(3).position(|w| w == b"F32").unwrap();
        foreign[at..at + 3].copy_from_slice(b"F16");
        std::fs::write(&bad, &foreign).unwrap();
        assert!(format!("{:#}", read(&bad).unwrap_err()).contains("dtype F16"));
    }

    #[test]
    fn a_shape_that_does_not_match_its_values_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(
            &dir.path().join("x.safetensors"),
            &[("w", &[2, 2], &[1.0; 3])],
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("does not hold 3 values"));
    }
}
