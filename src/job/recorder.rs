//! Writes a run's recordings over learning (see [`crate::trainer::Recording`]): one `.npy` file
//! per array, `e<epoch>-b<batch>-<name>.npy`, in the run's own folder
//! `recordings/<model>-seed<k>/`, and an `index.json` there listing every recording (epoch,
//! batch, and per array its file, shape, dtype and what it holds), rewritten atomically after
//! each one so that it always describes files that exist.

use crate::data::{npy, write_atomically};
use crate::trainer::Recording;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One array of a recording, as `index.json` lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IndexedArray {
    pub name: String,
    pub file: String,
    pub shape: Vec<usize>,
    pub dtype: String,
    pub description: String,
}

/// One recording, as `index.json` lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    /// A recorder writing into `dir` (created at the first recording) for a run that goes on
    /// from batch `batch` of `epoch`: a resumed run keeps the recordings in `dir`'s index taken
    /// before that point (those after it are taken again, into the same files) and rewrites the
    /// index without the others; a new run (epoch 1, batch 0) starts with none.
    pub fn open(dir: PathBuf, epoch: usize, batch: usize) -> Result<Self> {
        let index = dir.join("index.json");
        let mut entries: Vec<IndexEntry> = match std::fs::read(&index) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a recordings index", index.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", index.display())),
        };
        let len = entries.len();
        entries.retain(|e| (e.epoch, e.batch) < (epoch, batch));
        let recorder = Recorder { dir, entries };
        if recorder.entries.len() < len {
            recorder.write_index()?;
        }
        Ok(recorder)
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
                dtype: "<f4".to_string(),
                description: a.description.clone(),
            });
        }
        self.entries.push(IndexEntry {
            epoch,
            batch,
            arrays,
        });
        self.write_index()
    }

    fn write_index(&self) -> Result<()> {
        let index = serde_json::to_vec_pretty(&self.entries)?;
        write_atomically(&self.dir.join("index.json"), &index)
    }
}
