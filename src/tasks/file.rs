//! A task from files: any supervised sequence task, given as arrays (docs/model.md §4.5).
//! Inputs N × L × I (floats); targets N × L × O (regression: the mean squared error where the
//! mask is 1, [`Target::Masked`]) or N × L integer labels (classification: cross-entropy where
//! the label is >= 0, [`Target::Labels`]); an optional mask N × L or N × L × O of zeros and
//! ones. Each array is a `.npy` file, or all of them are arrays of one `.npz` or safetensors file
//! (`file.data`) named as the keys (`inputs`, `targets`, `mask`, `validation_inputs`, ...).
//!
//! Contract:
//! - The validation and test sets come from their own files, or are held out of the training
//!   file by the run seed (`validation_fraction`, `test_fraction`); the sequences left train in
//!   the file's order.
//! - Training batch i of epoch e takes the sequences at positions `e · M + i · B ..` of an
//!   endless walk through the training set, M the epoch's sequences (`epoch_samples`, default
//!   all) and B the batch size, each pass in the file's order (`order = "file"`), one order
//!   drawn from the seed (`"fixed"`), or a new one each pass (`"reshuffled"`, the default): a
//!   pure function of the seed, the epoch and the index, as for every task.
//! - Every array is checked before any run trains ([`load`]); the arrays are read once per
//!   process and shared between runs ([`shared`]).

pub mod load;

use super::{DrawingExample, Task, in_batches};
use crate::batch::Batch;
use crate::loss::Target;
use crate::rng::Rng;
use anyhow::{Context, Result, bail};
pub use load::{Loaded, Set, Targets};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// The order in which the training sequences are walked through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileOrder {
    /// The file's order, every pass.
    File,
    /// One order drawn from the run seed, every pass.
    Fixed,
    /// A new order drawn for each pass.
    Reshuffled,
}

/// Settings of the file task: where its arrays are, and how they are split and walked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// One `.npz` or safetensors file holding every array, named as the keys below.
    pub data: Option<PathBuf>,
    /// The training inputs (N × L × I), targets and mask, each in its own file.
    pub inputs: Option<PathBuf>,
    pub targets: Option<PathBuf>,
    pub mask: Option<PathBuf>,
    /// The validation set's arrays (absent: held out of the training set).
    pub validation_inputs: Option<PathBuf>,
    pub validation_targets: Option<PathBuf>,
    pub validation_mask: Option<PathBuf>,
    /// The test set's arrays (absent: held out of the training set).
    pub test_inputs: Option<PathBuf>,
    pub test_targets: Option<PathBuf>,
    pub test_mask: Option<PathBuf>,
    /// Without validation files: the fraction of the training file held out for validation,
    /// drawn by the run seed (at least one sequence).
    pub validation_fraction: f64,
    /// Without test files: the fraction held out for testing.
    pub test_fraction: f64,
    pub order: FileOrder,
    /// Training sequences per epoch (absent: the whole training set).
    pub epoch_samples: Option<usize>,
    /// Classification: the number of classes (absent: the largest label + 1).
    pub classes: Option<usize>,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            data: None,
            inputs: None,
            targets: None,
            mask: None,
            validation_inputs: None,
            validation_targets: None,
            validation_mask: None,
            test_inputs: None,
            test_targets: None,
            test_mask: None,
            validation_fraction: 0.1,
            test_fraction: 0.1,
            order: FileOrder::Reshuffled,
            epoch_samples: None,
            classes: None,
        }
    }
}

impl FileConfig {
    /// The arrays' keys, in the order of [`Self::array_paths`] (and their names in `data`).
    pub const ARRAYS: [&'static str; 9] = [
        "inputs",
        "targets",
        "mask",
        "validation_inputs",
        "validation_targets",
        "validation_mask",
        "test_inputs",
        "test_targets",
        "test_mask",
    ];

    /// The arrays' files, in the order of [`Self::ARRAYS`].
    pub fn array_paths(&self) -> [&Option<PathBuf>; 9] {
        [
            &self.inputs,
            &self.targets,
            &self.mask,
            &self.validation_inputs,
            &self.validation_targets,
            &self.validation_mask,
            &self.test_inputs,
            &self.test_targets,
            &self.test_mask,
        ]
    }

    /// Every file the settings name, with its key (`file.inputs`, ...), to make absolute.
    pub fn paths_mut(&mut self) -> Vec<(String, &mut Option<PathBuf>)> {
        let keys = std::iter::once("data").chain(Self::ARRAYS);
        let paths = [
            &mut self.data,
            &mut self.inputs,
            &mut self.targets,
            &mut self.mask,
            &mut self.validation_inputs,
            &mut self.validation_targets,
            &mut self.validation_mask,
            &mut self.test_inputs,
            &mut self.test_targets,
            &mut self.test_mask,
        ];
        keys.zip(paths)
            .map(|(k, p)| (format!("file.{k}"), p))
            .collect()
    }

    /// Rejects impossible settings (not the arrays: see [`shared`]), naming the key.
    pub fn validate(&self) -> Result<()> {
        for (key, f) in [
            ("file.validation_fraction", self.validation_fraction),
            ("file.test_fraction", self.test_fraction),
        ] {
            if !(0.0..1.0).contains(&f) {
                bail!("`{key}` must be a fraction in [0, 1) (got {f})");
            }
        }
        if self.validation_fraction + self.test_fraction >= 1.0 {
            bail!(
                "`file.validation_fraction` + `file.test_fraction` = {} leaves no training sequences",
                self.validation_fraction + self.test_fraction
            );
        }
        for (key, v) in [
            ("file.epoch_samples", self.epoch_samples),
            ("file.classes", self.classes),
        ] {
            if v == Some(0) {
                bail!("`{key}` must be at least 1 (got 0)");
            }
        }
        Ok(())
    }
}

/// The arrays of `config`, read and checked on first use and shared afterwards (keyed by the
/// files, their sizes and their modification times, so a rewritten file is read again).
pub fn shared(config: &FileConfig) -> Result<Arc<Loaded>> {
    type Cache = Mutex<HashMap<String, Arc<Loaded>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut key = format!("{:?}|{:?}", config.data, config.classes);
    for p in std::iter::once(&config.data)
        .chain(config.array_paths())
        .flatten()
    {
        let m = std::fs::metadata(p).ok();
        let stamp = m.map(|m| (m.len(), m.modified().ok()));
        key.push_str(&format!("|{}:{stamp:?}", p.display()));
    }
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .expect("file task cache");
    if let Some(d) = cache.get(&key) {
        return Ok(d.clone());
    }
    let loaded = Arc::new(load::load(config).context("the file task's arrays")?);
    cache.insert(key, loaded.clone());
    Ok(loaded)
}

/// The file task of one run: the training sequences it walks through and its fixed validation
/// and test batches.
pub struct FileTask {
    config: FileConfig,
    data: Arc<Loaded>,
    seed: u64,
    /// The training set's sequences this run trains on, in the file's order.
    train: Vec<usize>,
    validation: Vec<Batch<f32>>,
    test: Vec<Batch<f32>>,
    /// The order of the last pass asked for (so each batch does not redraw it).
    pass_order: Mutex<Option<(usize, Arc<Vec<usize>>)>>,
}

impl FileTask {
    /// The task of the run seeded by `seed`: the held-out sets drawn from the stream
    /// `file/split`, every set in batches of `eval_batch`.
    pub fn new(
        config: FileConfig,
        data: Arc<Loaded>,
        seed: u64,
        eval_batch: usize,
    ) -> Result<Self> {
        let n = data.train.n;
        let mut drawn: Vec<usize> = (0..n).collect();
        Rng::stream(seed, "file/split").shuffle(&mut drawn);
        let held = |given: bool, fraction: f64, name: &str| -> Result<usize> {
            if given {
                return Ok(0);
            }
            if fraction == 0.0 {
                bail!(
                    "the file task has no {name} set: give its files (`file.{name}_inputs`, `file.{name}_targets`) or hold some training sequences out (`file.{name}_fraction` > 0)"
                );
            }
            Ok(((fraction * n as f64).round() as usize).max(1))
        };
        let n_test = held(data.test.is_some(), config.test_fraction, "test")?;
        let n_val = held(
            data.validation.is_some(),
            config.validation_fraction,
            "validation",
        )?;
        if n_test + n_val >= n {
            bail!(
                "the training file's {n} sequences leave none to train on after {n_val} for validation and {n_test} for testing"
            );
        }
        let (test_ids, rest) = drawn.split_at(n_test);
        let (val_ids, train_ids) = rest.split_at(n_val);
        let mut train = train_ids.to_vec();
        train.sort_unstable();
        let sets = |own: &Option<Set>, ids: &[usize]| match own {
            Some(s) => in_batches(s.n, eval_batch, |i, k| {
                batch_of(&data, s, &(i..i + k).collect::<Vec<_>>())
            }),
            None => in_batches(ids.len(), eval_batch, |i, k| {
                batch_of(&data, &data.train, &ids[i..i + k])
            }),
        };
        let (validation, test) = (sets(&data.validation, val_ids), sets(&data.test, test_ids));
        Ok(FileTask {
            config,
            seed,
            train,
            validation,
            test,
            pass_order: Mutex::new(None),
            data,
        })
    }

    /// Training sequences per epoch.
    fn epoch_samples(&self) -> usize {
        self.config.epoch_samples.unwrap_or(self.train.len())
    }

    /// The order of pass `p` through the training sequences (positions in `self.train`).
    fn order(&self, pass: usize) -> Arc<Vec<usize>> {
        let mut last = self.pass_order.lock().expect("pass order lock");
        let key = match self.config.order {
            FileOrder::Reshuffled => pass,
            FileOrder::File | FileOrder::Fixed => 0,
        };
        if let Some((p, order)) = last.as_ref()
            && *p == key
        {
            return order.clone();
        }
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        match self.config.order {
            FileOrder::File => {}
            FileOrder::Fixed => Rng::stream(self.seed, "file/order").shuffle(&mut order),
            FileOrder::Reshuffled => {
                Rng::stream(self.seed, &format!("file/order/{pass}")).shuffle(&mut order)
            }
        }
        let order = Arc::new(order);
        *last = Some((key, order.clone()));
        order
    }
}

/// The batch of the sequences `ids` of `set`, time-major.
pub fn batch_of(data: &Loaded, set: &Set, ids: &[usize]) -> Batch<f32> {
    let (steps, n) = (data.steps, ids.len());
    let rows = |v: &[f32], w: usize| -> Vec<f32> {
        let mut out = Vec::with_capacity(steps * n * w);
        for t in 0..steps {
            for &s in ids {
                out.extend_from_slice(&v[(s * steps + t) * w..(s * steps + t + 1) * w]);
            }
        }
        out
    };
    let target = match &set.targets {
        Targets::Values { values, mask } => {
            let o = data.outputs;
            let mut m = Vec::with_capacity(steps * n * o);
            for t in 0..steps {
                for &s in ids {
                    m.extend_from_slice(&mask[(s * steps + t) * o..(s * steps + t + 1) * o]);
                }
            }
            Target::Masked {
                values: rows(values, o),
                mask: m,
            }
        }
        Targets::Labels(labels) => Target::Labels {
            labels: (0..steps)
                .flat_map(|t| ids.iter().map(move |&s| labels[s * steps + t]))
                .collect(),
        },
    };
    Batch {
        batch: n,
        steps,
        inputs: rows(&set.inputs, data.inputs),
        target,
        context: None,
        words: None,
    }
}

impl Task for FileTask {
    fn input_size(&self) -> usize {
        self.data.inputs
    }
    fn output_size(&self) -> usize {
        self.data.outputs
    }
    fn steps(&self) -> usize {
        self.data.steps
    }
    fn batches_per_epoch(&self, batch_size: usize) -> usize {
        self.epoch_samples().div_ceil(batch_size)
    }
    fn train_batch(&self, epoch: usize, index: usize, batch_size: usize) -> Batch<f32> {
        let m = self.epoch_samples();
        let first = epoch * m + index * batch_size;
        let count = batch_size.min(m - index * batch_size);
        let n = self.train.len();
        let ids: Vec<usize> = (first..first + count)
            .map(|q| self.train[self.order(q / n)[q % n]])
            .collect();
        batch_of(&self.data, &self.data.train, &ids)
    }
    fn validation(&self) -> &[Batch<f32>] {
        &self.validation
    }
    fn test(&self) -> &[Batch<f32>] {
        &self.test
    }
    /// With two outputs per step, the first six validation sequences' targets, as drawings.
    fn drawing_examples(&self) -> Vec<DrawingExample> {
        let Some(b) = self.validation.first() else {
            return Vec::new();
        };
        let Target::Masked { values, .. } = &b.target else {
            return Vec::new();
        };
        if self.data.outputs != 2 {
            return Vec::new();
        }
        let (n, i) = (b.batch, self.data.inputs);
        (0..n.min(6))
            .map(|s| DrawingExample {
                title: format!("validation sequence {s}"),
                inputs: (0..b.steps)
                    .flat_map(|t| b.inputs[(t * n + s) * i..(t * n + s + 1) * i].to_vec())
                    .collect(),
                context: (b.context.as_ref()).map(|c| {
                    let k = c.len() / n;
                    c[s * k..(s + 1) * k].to_vec()
                }),
                target: (0..b.steps)
                    .map(|t| {
                        let r = (t * n + s) * 2;
                        (f64::from(values[r]), f64::from(values[r + 1]))
                    })
                    .collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
