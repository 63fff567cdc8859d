//! Arrays a task reads from files, whatever holds them: a `.npy` file, a member `<name>.npy` of
//! an `.npz` archive, or the tensor `<name>` of a safetensors file. Each comes back with its
//! shape, its values (floats as f32, integers and booleans as i64) and where it came from
//! (`x.npz, array targets`), for errors that name it. Floats may be float32 or float64 (read as
//! f32); integers any width and sign; booleans as 0 and 1. Anything else (complex numbers,
//! strings, big-endian data) is refused with the conversion to make.

use super::npy;
use super::safetensors::{self, Dtype};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// The values of an array: floating point, or integers (booleans as 0 and 1).
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    Float(Vec<f32>),
    Int(Vec<i64>),
}

/// An array read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Where it came from: the file, and the array's name inside an archive.
    pub source: String,
    /// The dtype as the file names it (`<f4`, `<i8`, `F32`, `I64`, ...).
    pub dtype: String,
    pub shape: Vec<usize>,
    pub values: Values,
}

impl Array {
    /// Whether its values are floating point.
    pub fn is_float(&self) -> bool {
        matches!(self.values, Values::Float(_))
    }
}

/// Which kind of file holds arrays, by its name's ending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    Npy,
    Npz,
    Safetensors,
}

impl Holder {
    /// The kind of `path` (`.npy`, `.npz`, `.safetensors`), or an error naming it.
    pub fn of(path: &Path) -> Result<Holder> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("npy") => Ok(Holder::Npy),
            Some("npz") => Ok(Holder::Npz),
            Some("safetensors") => Ok(Holder::Safetensors),
            _ => bail!(
                "{}: ccdni reads arrays from .npy, .npz and .safetensors files (by their name's ending)",
                path.display()
            ),
        }
    }
}

/// The array in the `.npy` file `path`.
pub fn read_npy(path: &Path) -> Result<Array> {
    let raw = npy::read_raw(path)?;
    let source = path.display().to_string();
    from_npy(raw, source)
}

/// The arrays `names` of the archive (`.npz` or safetensors) `path`; `None` for a name the
/// archive does not hold.
pub fn read_archive(path: &Path, names: &[&str]) -> Result<Vec<Option<Array>>> {
    let source = |name: &str| format!("{}, array {name}", path.display());
    match Holder::of(path)? {
        Holder::Npy => bail!(
            "{}: a .npy file holds one array; give an .npz or .safetensors file here",
            path.display()
        ),
        Holder::Npz => {
            let archive = super::npz::Archive::open(path)?;
            names
                .iter()
                .map(|&name| {
                    let Some(bytes) =
                        archive.member(&format!("{name}.npy")).with_context(|| {
                            format!("{} is not a readable .npz archive", path.display())
                        })?
                    else {
                        return Ok(None);
                    };
                    let raw = npy::decode_raw(&bytes)
                        .with_context(|| format!("{} is not a usable .npy array", source(name)))?;
                    from_npy(raw, source(name)).map(Some)
                })
                .collect()
        }
        Holder::Safetensors => {
            let (tensors, _) = safetensors::read_raw(path)?;
            Ok(names
                .iter()
                .map(|&name| {
                    let t = tensors.iter().find(|t| t.name == name)?;
                    Some(from_tensor(t, source(name)))
                })
                .collect())
        }
    }
}

/// The names of the arrays an archive holds (for an error that lists them).
pub fn archive_names(path: &Path) -> Result<Vec<String>> {
    Ok(match Holder::of(path)? {
        Holder::Npy => Vec::new(),
        Holder::Npz => super::npz::Archive::open(path)?
            .names()
            .iter()
            .map(|n| n.trim_end_matches(".npy").to_string())
            .collect(),
        Holder::Safetensors => safetensors::read_raw(path)?
            .0
            .into_iter()
            .map(|t| t.name)
            .collect(),
    })
}

/// A `.npy` array's values by its dtype string (read from a file, or a NumPy array handed over
/// as its bytes by the Python package); `source` names it in errors.
pub fn from_npy(raw: npy::RawArray, source: String) -> Result<Array> {
    let d = raw.descr.as_str();
    let b = &raw.data;
    let (order, code) = d.split_at(d.len().min(1));
    if order == ">" && !code.ends_with('1') {
        bail!(
            "{source}: dtype '{d}' is big-endian; convert it with .astype('<{code}') before saving"
        );
    }
    let ints = |w: usize, signed: bool| -> Result<Values> {
        let mut out = Vec::with_capacity(b.len() / w);
        for c in b.chunks_exact(w) {
            let mut wide = [0u8; 8];
            wide[..w].copy_from_slice(c);
            if signed && c[w - 1] & 0x80 != 0 {
                wide[w..].fill(0xFF);
            }
            let v = u64::from_le_bytes(wide);
            if !signed && v > i64::MAX as u64 {
                bail!("{source}: the value {v} is too large");
            }
            out.push(v as i64);
        }
        Ok(Values::Int(out))
    };
    let values = match code {
        "f4" => Values::Float(
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        "f8" => Values::Float(
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                .collect(),
        ),
        "b1" => Values::Int(b.iter().map(|&v| i64::from(v != 0)).collect()),
        "i1" | "i2" | "i4" | "i8" => ints(code[1..].parse()?, true)?,
        "u1" | "u2" | "u4" | "u8" => ints(code[1..].parse()?, false)?,
        _ => bail!(
            "{source}: dtype '{d}' is not one ccdni reads (float32 or float64 values, integers, booleans); convert it with .astype"
        ),
    };
    Ok(Array {
        source,
        dtype: d.to_string(),
        shape: raw.shape,
        values,
    })
}

/// A safetensors tensor's values by its dtype.
fn from_tensor(t: &safetensors::RawTensor, source: String) -> Array {
    let b = &t.bytes;
    let values = match t.dtype {
        Dtype::F32 => Values::Float(
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        Dtype::F64 => Values::Float(
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                .collect(),
        ),
        Dtype::I64 => Values::Int(
            b.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        Dtype::I32 => Values::Int(
            b.chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
        Dtype::U8 => Values::Int(b.iter().map(|&v| i64::from(v)).collect()),
        Dtype::Bool => Values::Int(b.iter().map(|&v| i64::from(v != 0)).collect()),
    };
    Array {
        source,
        dtype: t.dtype.to_string(),
        shape: t.shape.clone(),
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints_npy(descr: &str, shape: &[usize], bytes: &[u8]) -> Vec<u8> {
        npy::encode_raw(descr, shape, bytes).unwrap()
    }

    #[test]
    fn every_format_reads_the_same_array() {
        let dir = tempfile::tempdir().unwrap();
        let labels: Vec<u8> = [3i64, -1, 0, 7]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let floats = npy::encode(&[2, 2], &[1.0, -2.5, 3.0, 0.25]).unwrap();
        let npz = dir.path().join("a.npz");
        let (targets, inputs) = (ints_npy("<i8", &[4], &labels), floats.clone());
        std::fs::write(
            &npz,
            super::super::npz::encode(&[("inputs.npy", &inputs), ("targets.npy", &targets)], true),
        )
        .unwrap();
        let got = read_archive(&npz, &["inputs", "targets", "mask"]).unwrap();
        assert_eq!(
            got[0].as_ref().unwrap().values,
            Values::Float(vec![1.0, -2.5, 3.0, 0.25])
        );
        assert_eq!(got[0].as_ref().unwrap().shape, [2, 2]);
        assert_eq!(
            got[1].as_ref().unwrap().values,
            Values::Int(vec![3, -1, 0, 7])
        );
        assert!(
            got[1]
                .as_ref()
                .unwrap()
                .source
                .ends_with("a.npz, array targets")
        );
        assert!(got[2].is_none());
        assert_eq!(archive_names(&npz).unwrap(), ["inputs", "targets"]);
        let one = dir.path().join("x.npy");
        std::fs::write(&one, &floats).unwrap();
        assert_eq!(
            read_npy(&one).unwrap().values,
            got[0].as_ref().unwrap().values
        );
        // Narrow, unsigned, boolean and float64 arrays.
        for (descr, bytes, want) in [
            ("|i1", vec![0xFF, 2], Values::Int(vec![-1, 2])),
            ("<u2", vec![1, 1, 0, 0], Values::Int(vec![257, 0])),
            ("|b1", vec![1, 0], Values::Int(vec![1, 0])),
            (
                "<f8",
                [0.5f64, -1.0]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                Values::Float(vec![0.5, -1.0]),
            ),
        ] {
            std::fs::write(&one, ints_npy(descr, &[2], &bytes)).unwrap();
            assert_eq!(read_npy(&one).unwrap().values, want, "{descr}");
        }
        // Safetensors, by tensor name.
        let st = dir.path().join("a.safetensors");
        safetensors::write(
            &st,
            &[("inputs", &[2, 2], &[1.0, -2.5, 3.0, 0.25])],
            &Default::default(),
        )
        .unwrap();
        let got = read_archive(&st, &["inputs", "targets"]).unwrap();
        assert_eq!(
            got[0].as_ref().unwrap().values,
            Values::Float(vec![1.0, -2.5, 3.0, 0.25])
        );
        assert!(got[1].is_none());
    }

    #[test]
    fn unreadable_dtypes_are_refused_with_the_conversion() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("x.npy");
        for (descr, needle) in [("<c8", "convert it with .astype"), (">f4", "big-endian")] {
            std::fs::write(
                &one,
                ints_npy(descr, &[1], &[0; 8][..if descr == "<c8" { 8 } else { 4 }]),
            )
            .unwrap();
            let msg = format!("{:#}", read_npy(&one).unwrap_err());
            assert!(
                msg.contains(needle) && msg.contains("x.npy"),
                "{descr}: {msg}"
            );
        }
        let msg = format!("{:#}", Holder::of(Path::new("x.csv")).unwrap_err());
        assert!(msg.contains(".npy, .npz and .safetensors"), "{msg}");
    }
}
