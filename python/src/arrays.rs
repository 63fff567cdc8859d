//! NumPy arrays as the file task's arrays (docs/model.md §4.5). The Python side hands each array
//! over as its dtype string, shape and bytes (C order, checked contiguous there); the library
//! reads them as it reads a `.npy` file ([`ccdni::data::arrays::from_npy`]) and checks them
//! as it checks the files ([`ccdni::tasks::file::load::check`]): every refusal is the file
//! task's, naming the array. A job of arrays writes them into its folder as `.npy` files
//! ([`ccdni::job::layout::JobDir::data`]) that its settings name, so that it can go on.

use anyhow::{Result, bail};
use ccdni::data::arrays::{Array, from_npy};
use ccdni::data::npy;
use ccdni::tasks::file::FileConfig;
use ccdni::tasks::file::load::{Loaded, Sources, check};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::Path;

/// One array as Python hands it over: its key (`inputs`, `validation_targets`, ... as
/// [`FileConfig::ARRAYS`]), dtype string (`<f4`), shape and bytes.
pub type Given = (String, String, Vec<usize>, Vec<u8>);

/// One array as the Python side passes it: [`Given`] with its bytes still Python's.
pub type FromPython<'py> = (String, String, Vec<usize>, Bound<'py, PyBytes>);

/// The arrays with their bytes copied out of Python.
pub fn given(arrays: Vec<FromPython<'_>>) -> Vec<Given> {
    (arrays.into_iter())
        .map(|(k, d, s, b)| (k, d, s, b.as_bytes().to_vec()))
        .collect()
}

/// The arrays, read and checked as the file task checks its files.
pub struct Arrays {
    given: Vec<Given>,
}

impl Arrays {
    /// Reads each array as a `.npy` file's and checks them against one another (`classes` as
    /// `file.classes`). Fails naming the array.
    pub fn check(given: Vec<Given>, classes: Option<usize>) -> Result<(Arrays, Loaded)> {
        let mut read: Vec<Option<Array>> = vec![None; FileConfig::ARRAYS.len()];
        for (key, descr, shape, data) in &given {
            let Some(i) = FileConfig::ARRAYS.iter().position(|k| k == key) else {
                bail!("`{key}` is not an array of the file task");
            };
            let raw = npy::RawArray {
                shape: shape.clone(),
                descr: descr.clone(),
                data: data.clone(),
            };
            read[i] = Some(from_npy(raw, format!("the array `{key}`"))?);
        }
        let mut it = read.into_iter();
        let sets = [(); 3].map(|()| Sources {
            inputs: it.next().flatten(),
            targets: it.next().flatten(),
            mask: it.next().flatten(),
        });
        let loaded = check(sets, classes)?;
        Ok((Arrays { given }, loaded))
    }

    /// Writes every array to `dir` as `<key>.npy`; returns the settings that name the files
    /// (`file.inputs`, ...).
    pub fn write(&self, dir: &Path) -> Result<Vec<(String, toml::Value)>> {
        ccdni::job::layout::create_dir(dir)?;
        let mut settings = Vec::new();
        for (key, descr, shape, data) in &self.given {
            let path = std::path::absolute(dir.join(format!("{key}.npy")))?;
            ccdni::data::write_atomically(&path, &npy::encode_raw(descr, shape, data)?)?;
            let value = toml::Value::String(path.display().to_string());
            settings.push((format!("file.{key}"), value));
        }
        Ok(settings)
    }
}

/// Whether `file` names arrays of its own (then arrays cannot be handed over too).
pub fn names_files(file: &FileConfig) -> bool {
    file.data.is_some() || file.array_paths().iter().any(|p| p.is_some())
}
