//! Image features: one float32 row per image, and the image id of each row.
//!
//! Two layouts on disk:
//! - a `.npy` float32 array of shape (n, d) (C order, little-endian) and an id list giving the
//!   image of each row: a 1-D `.npy` of integers (any width, signed or not; `np.save` of an int64
//!   array) or a `.json` array of non-negative integers;
//! - one `.safetensors` file with tensors `features` (F32, n × d) and `image_ids` (I64, n).
//!
//! In memory the rows stay flat ([`Features::values`], row-major) beside their ids, so a
//! COCO-sized file (82 783 × 2048) is one allocation. Everything is checked: the dtype, the
//! shape, the id count against the row count, duplicate ids, negative ids and non-finite values;
//! errors name the file and the row or id (see [`crate::data::npy`] for the checks of the file
//! itself, done before anything is allocated).

use crate::data::npy;
use crate::data::safetensors::{self, Dtype};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::Path;

/// Feature rows and the image id of each.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// Length of each row (d).
    pub size: usize,
    /// The image id of each row, in file order.
    pub ids: Vec<u64>,
    /// The rows, row-major: `ids.len() * size` values.
    pub values: Vec<f32>,
}

impl Features {
    /// The features of row `r`. Panics if `r` is not a row.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.values[r * self.size..(r + 1) * self.size]
    }
}

/// Reads features from `path`: a `.safetensors` file holds its own ids (`ids` must be `None`);
/// anything else is read as `.npy` with its ids from `ids` (`.json` or `.npy`).
pub fn read_features(path: &Path, ids: Option<&Path>) -> Result<Features> {
    let is_safetensors = path.extension().is_some_and(|e| e == "safetensors");
    let (shape, values, ids, ids_file) = match (is_safetensors, ids) {
        (true, None) => {
            let (shape, values, ids) = read_safetensors(path)?;
            (shape, values, ids, path)
        }
        (true, Some(ids)) => bail!(
            "{} holds its own image_ids tensor: leave out the id file {}",
            path.display(),
            ids.display()
        ),
        (false, None) => bail!(
            "{}: a .npy feature file needs an id file (.npy or .json) giving each row's image id",
            path.display()
        ),
        (false, Some(ids_path)) => {
            let (shape, values) = npy::read_f32(path)?;
            (shape, values, read_ids(ids_path)?, ids_path)
        }
    };
    let &[rows, size] = shape.as_slice() else {
        bail!(
            "{}: features have shape {shape:?}, not (images, feature size)",
            path.display()
        );
    };
    if size == 0 {
        bail!("{}: the feature size is 0", path.display());
    }
    if ids.len() != rows {
        bail!(
            "{} lists {} image ids but {} holds {rows} feature rows",
            ids_file.display(),
            ids.len(),
            path.display()
        );
    }
    let mut seen = HashMap::with_capacity(rows);
    for (r, &id) in ids.iter().enumerate() {
        if let Some(first) = seen.insert(id, r) {
            bail!(
                "{}: image id {id} is listed twice (rows {first} and {r})",
                ids_file.display()
            );
        }
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let (r, c) = (i / size, i % size);
        bail!(
            "{}: row {r} (image {}) has the non-finite value {} in column {c}",
            path.display(),
            ids[r],
            values[i]
        );
    }
    Ok(Features { size, ids, values })
}

/// Image ids from a `.json` list or a 1-D integer `.npy`.
fn read_ids(path: &Path) -> Result<Vec<u64>> {
    if path.extension().is_none_or(|e| e != "json") {
        return npy::read_ids(path);
    }
    let text = crate::data::read_text_capped(path, crate::data::JSON_CAP)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let list = json
        .as_array()
        .with_context(|| format!("{} is not a JSON list of image ids", path.display()))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_u64().with_context(|| {
                format!(
                    "{}: entry {i} ({v}) is not a non-negative integer",
                    path.display()
                )
            })
        })
        .collect()
}

/// The `features` (F32) and `image_ids` (I64) tensors of a safetensors file.
fn read_safetensors(path: &Path) -> Result<(Vec<usize>, Vec<f32>, Vec<u64>)> {
    let (tensors, _) = safetensors::read_raw(path)?;
    let find = |name: &str, dtype: Dtype| {
        let t = tensors
            .iter()
            .find(|t| t.name == name)
            .with_context(|| format!("{} has no tensor '{name}'", path.display()))?;
        if t.dtype != dtype {
            bail!(
                "{}: tensor '{name}' is {}, not {dtype}",
                path.display(),
                t.dtype
            );
        }
        Ok(t)
    };
    let features = find("features", Dtype::F32)?;
    let ids = find("image_ids", Dtype::I64)?;
    if ids.shape.len() != 1 {
        bail!(
            "{}: image_ids has shape {:?}, not a list",
            path.display(),
            ids.shape
        );
    }
    let values = features
        .bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let ids = ids
        .bytes
        .chunks_exact(8)
        .enumerate()
        .map(|(i, b)| {
            let id = i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            u64::try_from(id).with_context(|| format!("{}: image_ids[{i}] is {id}", path.display()))
        })
        .collect::<Result<_>>()?;
    Ok((features.shape.clone(), values, ids))
}

#[cfg(test)]
mod tests;
