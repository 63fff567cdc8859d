//! Writes a run's recordings over learning (see [`crate::trainer::Recording`]): one `.npy` file
//! per array, `e<epoch>-b<batch>-<name>.npy`, in the run's own folder
//! `recordings/<model>-seed<k>/`, and an `index.json` there listing every recording (epoch,
//! batch, and per array its file, shape, dtype and what it holds), rewritten atomically after
//! each one so that it always describes files that exist.

use crate::data::{npy, write_atomically};
use crate::trainer::Recording;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::PathBuf;

/// One array of a recording, as `index.json` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct IndexedArray {
    pub name: String,
    pub file: String,
    pub shape: Vec<usize>,
    pub dtype: &'static str,
    pub description: String,
}

/// One recording, as `index.json` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct IndexEntry {
    /// 1-based epoch, and the batch within it (0-based) that was about to train.
    pub epoch: usize,
    pub batch: usize,
    pub arrays: Vec<IndexedArray>,
}

/// The recordings of one run.
pub struct Recorder {
    dir: PathBuf,
    entries: Vec<IndexEntry>,
}

impl Recorder {
    /// A recorder writing into `dir` (created at the first recording).
    pub fn new(dir: PathBuf) -> Self {
        Recorder {
            dir,
            entries: Vec::new(),
        }
    }

    /// Writes the arrays of `recording`, taken before training batch `batch` of `epoch`, and
    /// the updated index.
    pub fn write(&mut self, epoch: usize, batch: usize, recording: &Recording) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let mut arrays = Vec::new();
        for a in &recording.arrays {
            let file = format!("e{epoch:03}-b{batch:04}-{}.npy", a.name);
            let values: Vec<f32> = a.values.iter().map(|&v| v as f32).collect();
            npy::write(&self.dir.join(&file), &a.shape, &values)?;
            arrays.push(IndexedArray {
                name: a.name.clone(),
                file,
                shape: a.shape.clone(),
                dtype: "<f4",
                description: a.description.clone(),
            });
        }
        self.entries.push(IndexEntry {
            epoch,
            batch,
            arrays,
        });
        let index = serde_json::to_vec_pretty(&self.entries)?;
        write_atomically(&self.dir.join("index.json"), &index)
    }
}
