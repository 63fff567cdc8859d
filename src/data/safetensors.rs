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
use std::path::Path;

/// Largest header we accept (the format's own readers refuse more than 100 MB).
const MAX_HEADER: u64 = 100_000_000;

/// One tensor read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTensor {
    pub name: String,
    pub shape: Vec<usize>,
    /// Row-major values, converted to f32 (the file may hold F32 or F64).
    pub data: Vec<f32>,
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

/// Reads every tensor of a safetensors file, in the order of their data, with its metadata.
pub fn read(path: &Path) -> Result<(Vec<StoredTensor>, BTreeMap<String, String>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&bytes).with_context(|| format!("{} is not a valid safetensors file", path.display()))
}

fn parse(bytes: &[u8]) -> Result<(Vec<StoredTensor>, BTreeMap<String, String>)> {
    let Some((len, rest)) = bytes.split_first_chunk::<8>() else {
        bail!(
            "{} bytes: too short for the 8-byte header length",
            bytes.len()
        );
    };
    let n = u64::from_le_bytes(*len);
    if n > MAX_HEADER || n > rest.len() as u64 {
        bail!(
            "the header claims {n} bytes but the file has {} after the length",
            rest.len()
        );
    }
    let (json, data) = rest.split_at(n as usize);
    let header: Map<String, Value> =
        serde_json::from_slice(json).context("the header is not a JSON object")?;
    let mut metadata = BTreeMap::new();
    let mut tensors = Vec::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            metadata = serde_json::from_value(entry)
                .context("__metadata__ must map strings to strings")?;
            continue;
        }
        let (tensor, range) =
            tensor_entry(&name, &entry, data).with_context(|| format!("tensor {name}"))?;
        tensors.push((range, tensor));
    }
    // The byte ranges must tile the data exactly: no gap, no overlap, nothing left over.
    tensors.sort_by_key(|(r, _)| r.start);
    let mut end = 0;
    for (r, t) in &tensors {
        if r.start != end {
            bail!(
                "tensor {}: its data starts at byte {} where {end} was expected",
                t.name,
                r.start
            );
        }
        end = r.end;
    }
    if end != data.len() {
        bail!(
            "the tensors cover {end} bytes of data but the file holds {}",
            data.len()
        );
    }
    Ok((tensors.into_iter().map(|(_, t)| t).collect(), metadata))
}

fn tensor_entry(
    name: &str,
    entry: &Value,
    data: &[u8],
) -> Result<(StoredTensor, std::ops::Range<usize>)> {
    let dtype = entry["dtype"].as_str().context("no dtype")?;
    let width = match dtype {
        "F32" => 4,
        "F64" => 8,
        other => bail!("dtype {other} (ccdni reads F32 and F64)"),
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
    if start > end || end > data.len() {
        bail!(
            "data_offsets [{start}, {end}] lie outside the {} bytes of data",
            data.len()
        );
    }
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .context("the shape's size overflows")?;
    if count.checked_mul(width) != Some(end - start) {
        bail!(
            "shape {shape:?} of {dtype} needs {count} × {width} bytes, but its range holds {}",
            end - start
        );
    }
    let bytes = &data[start..end];
    let values = match width {
        4 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect(),
        _ => bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
    };
    let tensor = StoredTensor {
        name: name.to_string(),
        shape,
        data: values,
    };
    Ok((tensor, start..end))
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
        assert!(format!("{:#}", read(&bad).unwrap_err()).contains("header claims"));
        let mut foreign = good.clone();
        let at = good.windows(3).position(|w| w == b"F32").unwrap();
        foreign[at..at + 3].copy_from_slice(b"I64");
        std::fs::write(&bad, &foreign).unwrap();
        assert!(format!("{:#}", read(&bad).unwrap_err()).contains("dtype I64"));
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
