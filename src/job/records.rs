//! What a run produces as it trains, shared by the layer that trains runs and the one that
//! reports on them: one [`EpochRecord`] per epoch (a row of `metrics.csv`), the measures over
//! learning after each epoch ([`LearningRecord`], rows of `learning.csv`), where a run stands
//! ([`Progress`], kept in its checkpoint), and the finished run ([`FinishedRun`]).

use crate::analysis::learning::Measure;
use crate::areas::{Chain, ChainAt, ChainStats};
use crate::batch::Batch;
use crate::loss::EvalMetrics;
use crate::model::Model;
use crate::network::Network;
use crate::trainer::BatchStats;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The figures of one epoch of one run (a row of metrics.csv).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub model: String,
    pub seed: u64,
    /// 1-based.
    pub epoch: usize,
    /// Mean over the epoch's batches of the summed window task losses.
    pub train_loss: f64,
    /// Drawing tasks: squared error at the feedback steps (summed over outputs, mean over rows).
    pub train_mse: Option<f64>,
    /// Mean over batches of the cerebellum's summed squared error (when it learns).
    pub cerebellum_loss: Option<f64>,
    /// Mean cosine between cerebellar prediction and teaching signal at window boundaries.
    pub cosine: Option<f64>,
    /// Mean global gradient norm before clipping.
    pub grad_norm: f64,
    pub validation: EvalMetrics,
    pub test: EvalMetrics,
    /// Wall-clock seconds of the epoch's training steps (evaluation excluded; a resumed epoch
    /// counts the seconds before and after the stop).
    pub train_seconds: f64,
    /// A two-area run's losses per cerebellum (absent for one area).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub areas: Option<AreaLosses>,
}

/// The training losses of a two-area run's cerebellums over an epoch (means over batches):
/// each area's backward cerebellum (summed squared error, while it learns) and the forward
/// cerebellum (mean squared error per value of B's input against `h^A_t`, while it learns).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AreaLosses {
    pub cerebellum_a: Option<f64>,
    pub cerebellum_b: Option<f64>,
    pub forward: Option<f64>,
}

/// The measures over learning of one run after one epoch (docs/model.md §5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearningRecord {
    pub model: String,
    pub seed: u64,
    /// 1-based: the measures are taken after this epoch's training.
    pub epoch: usize,
    pub measures: Vec<Measure>,
}

/// A run that has trained all its epochs.
pub struct FinishedRun {
    pub label: String,
    pub seed: u64,
    pub records: Vec<EpochRecord>,
    /// The measures over learning after each epoch (empty unless `record.probe` > 0).
    pub learning: Vec<LearningRecord>,
    /// The final parameters (with `keep_best`, those of the epoch of lowest validation error).
    pub model: TrainedNetwork,
}

/// A finished run's network: one cortical area (the papers' model) or two in a chain, with its
/// forward cerebellum in use or lesioned as it was in the last epoch.
pub enum TrainedNetwork {
    One(Box<Model<f32>>),
    Two {
        chain: Box<Chain<f32>>,
        forward_on: bool,
    },
}

impl TrainedNetwork {
    pub fn params(&self) -> &[f32] {
        match self {
            TrainedNetwork::One(m) => &m.params,
            TrainedNetwork::Two { chain, .. } => &chain.params,
        }
    }

    /// The one-area model (`None` for two areas).
    pub fn one_area(&self) -> Option<&Model<f32>> {
        match self {
            TrainedNetwork::One(m) => Some(m),
            TrainedNetwork::Two { .. } => None,
        }
    }
}

impl Network for TrainedNetwork {
    fn evaluate_with(
        &self,
        batches: &[Batch<f32>],
        look: &mut dyn FnMut(&Batch<f32>, &[f32]),
    ) -> EvalMetrics {
        match self {
            TrainedNetwork::One(m) => m.evaluate_with(batches, look),
            TrainedNetwork::Two { chain, forward_on } => ChainAt {
                chain,
                forward_on: *forward_on,
            }
            .evaluate_with(batches, look),
        }
    }
}

impl From<Model<f32>> for TrainedNetwork {
    fn from(m: Model<f32>) -> Self {
        TrainedNetwork::One(Box::new(m))
    }
}

/// The sums of the epoch in progress over its batches so far (an epoch record is made of them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochSums {
    /// Summed task loss, squared error at the feedback steps and its rows.
    pub loss: f64,
    pub sq: f64,
    pub rows: usize,
    /// Summed cerebellum loss; summed cosine and the batches it was measured on.
    pub cerebellum: f64,
    pub cosine: f64,
    pub cosines: usize,
    /// Summed gradient norm before clipping.
    pub norm: f64,
    /// Wall-clock seconds of the training steps.
    pub seconds: f64,
    /// A two-area run's cerebellar losses (absent for one area).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub areas: Option<AreaSums>,
}

/// The sums behind [`AreaLosses`]: the backward cerebellums' losses (A, B) and the batches
/// they learned in, the forward cerebellum's and its batches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AreaSums {
    pub cerebellum: [f64; 2],
    pub cerebellum_batches: usize,
    pub forward: f64,
    pub forward_batches: usize,
}

impl AreaSums {
    /// Adds one batch of a chain whose backward cerebellums learned when `backward_on`.
    pub fn add(&mut self, stats: &ChainStats, backward_on: bool) {
        if backward_on {
            self.cerebellum[0] += stats.cerebellum_losses[0];
            self.cerebellum[1] += stats.cerebellum_losses[1];
            self.cerebellum_batches += 1;
        }
        if let Some(f) = stats.forward_loss {
            self.forward += f;
            self.forward_batches += 1;
        }
    }

    /// The epoch's means; an area without a backward cerebellum (`present` false: see
    /// `areas.backward`) has none.
    pub fn losses(&self, present: [bool; 2]) -> AreaLosses {
        let per = |sum: f64, n: usize| (n > 0).then(|| sum / n as f64);
        let n = self.cerebellum_batches;
        AreaLosses {
            cerebellum_a: per(self.cerebellum[0], n).filter(|_| present[0]),
            cerebellum_b: per(self.cerebellum[1], n).filter(|_| present[1]),
            forward: per(self.forward, self.forward_batches),
        }
    }
}

impl EpochSums {
    pub fn add(&mut self, stats: &BatchStats, seconds: f64) {
        self.loss += stats.task_loss;
        self.sq += stats.feedback_sq_err;
        self.rows += stats.feedback_rows;
        self.cerebellum += stats.cerebellum_loss;
        self.norm += stats.grad_norm;
        if let Some(c) = stats.cosine {
            self.cosine += c;
            self.cosines += 1;
        }
        self.seconds += seconds;
    }
}

/// Where a run stands: the epoch in progress (1-based; past the last epoch when the run is
/// done), the batches of it already trained, their sums, and the records of the epochs before.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub epoch: usize,
    pub batch: usize,
    pub sums: EpochSums,
    pub records: Vec<EpochRecord>,
    /// The measures over learning after each finished epoch (when the run measures them).
    #[serde(default)]
    pub learning: Vec<LearningRecord>,
    /// With `keep_best`: the finished epoch of lowest validation error so far, and its
    /// parameters (in the checkpoint as the tensor `best.params`).
    #[serde(default)]
    pub best: Option<BestEpoch>,
    #[serde(skip)]
    pub best_params: Option<Vec<f32>>,
}

/// The epoch of lowest validation error so far ([`EvalMetrics::error`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestEpoch {
    pub epoch: usize,
    pub error: f64,
}

impl Progress {
    /// The start of a run.
    pub fn start() -> Self {
        Progress {
            epoch: 1,
            batch: 0,
            sums: EpochSums::default(),
            records: Vec::new(),
            learning: Vec::new(),
            best: None,
            best_params: None,
        }
    }

    /// Whether nothing has been trained yet.
    pub fn at_start(&self) -> bool {
        (self.epoch, self.batch) == (1, 0)
    }

    /// Whether a run of `epochs` epochs is done.
    pub fn finished(&self, epochs: usize) -> bool {
        self.epoch > epochs
    }

    /// Keeps the parameters of the epoch just finished if its validation `error` is the lowest
    /// so far (a NaN error never is).
    pub fn keep_if_best(&mut self, epoch: usize, error: f64, params: &[f32]) {
        if self.best.is_none_or(|b| error < b.error) && !error.is_nan() {
            self.best = Some(BestEpoch { epoch, error });
            self.best_params = Some(params.to_vec());
        }
    }

    /// Closes the epoch in progress with its record and moves to the next.
    pub fn next_epoch(&mut self, record: EpochRecord) {
        self.records.push(record);
        self.epoch += 1;
        self.batch = 0;
        self.sums = EpochSums::default();
    }
}

/// The header of every metrics.csv.
pub const METRICS_HEADER: &str = "model,seed,epoch,train_loss,train_mse,cerebellum_loss,cosine,grad_norm,\
validation_mse,validation_accuracy,validation_nll,validation_certainty,validation_dysmetria,\
validation_bits_per_word,test_mse,test_accuracy,test_nll,test_certainty,test_dysmetria,\
test_bits_per_word,train_seconds";

/// metrics.csv of `records`: the header, then a line per record. A task's own measures
/// (`measures`, [`crate::tasks::Task::measure_names`]) follow the header's columns, sorted by
/// name, as `validation_<name>,test_<name>`; a task without any has the header alone. With
/// `areas` (two-area runs), [`AREA_COLUMNS`] come last.
pub fn metrics_csv<'a>(
    records: impl IntoIterator<Item = &'a EpochRecord>,
    measures: &[String],
    areas: bool,
) -> String {
    let measures = sorted(measures);
    let mut text = format!("{}\n", header(&measures, areas));
    for r in records {
        text.push_str(&metrics_line(r, &measures, areas));
        text.push('\n');
    }
    text
}

/// The names of every task measure the records hold, sorted.
pub fn measures_of<'a>(records: impl IntoIterator<Item = &'a EpochRecord>) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> = records
        .into_iter()
        .flat_map(|r| r.validation.measures.keys().chain(r.test.measures.keys()))
        .collect();
    names.into_iter().cloned().collect()
}

fn sorted(names: &[String]) -> Vec<String> {
    let set: std::collections::BTreeSet<&String> = names.iter().collect();
    set.into_iter().cloned().collect()
}

/// The last columns of a two-area run's metrics.csv ([`AreaLosses`]).
pub const AREA_COLUMNS: &str = "cerebellum_a_loss,cerebellum_b_loss,forward_loss";

fn header(measures: &[String], areas: bool) -> String {
    let mut h = METRICS_HEADER.to_string();
    for m in measures {
        h.push_str(&format!(",validation_{m},test_{m}"));
    }
    if areas {
        h.push_str(&format!(",{AREA_COLUMNS}"));
    }
    h
}

fn metrics_line(r: &EpochRecord, measures: &[String], areas: bool) -> String {
    let o = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
    let m = |e: &EvalMetrics| {
        format!(
            "{},{},{},{},{},{}",
            o(e.mse),
            o(e.accuracy),
            o(e.nll),
            o(e.certainty),
            o(e.dysmetria),
            o(e.bits_per_word)
        )
    };
    format!(
        "{},{},{},{},{},{},{},{},{},{},{}",
        r.model,
        r.seed,
        r.epoch,
        r.train_loss,
        o(r.train_mse),
        o(r.cerebellum_loss),
        o(r.cosine),
        r.grad_norm,
        m(&r.validation),
        m(&r.test),
        r.train_seconds
    ) + &measures
        .iter()
        .map(|name| {
            let v = |e: &EvalMetrics| o(e.measures.get(name).copied());
            format!(",{},{}", v(&r.validation), v(&r.test))
        })
        .collect::<String>()
        + &match (areas, r.areas) {
            (false, _) => String::new(),
            (true, None) => ",,,".to_string(),
            (true, Some(a)) => format!(
                ",{},{},{}",
                o(a.cerebellum_a),
                o(a.cerebellum_b),
                o(a.forward)
            ),
        }
}

/// A run's metrics.csv, rewritten from the records it starts with and then appended to as
/// epochs finish: each row goes to the file in one write call, so a killed process leaves
/// whole rows, and a failed run keeps the epochs it finished.
pub struct MetricsCsv {
    path: PathBuf,
    out: File,
    /// The task's own measures, sorted (the header's last columns but a two-area run's).
    measures: Vec<String>,
    areas: bool,
}

impl MetricsCsv {
    /// The file at `path` holding the header and `records` (replacing what it held), with the
    /// task's own `measures` as columns (and [`AREA_COLUMNS`] with `areas`).
    pub fn rebuild(
        path: &Path,
        records: &[EpochRecord],
        measures: &[String],
        areas: bool,
    ) -> Result<Self> {
        crate::data::write_atomically(path, metrics_csv(records, measures, areas).as_bytes())?;
        let out = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(MetricsCsv {
            path: path.to_path_buf(),
            out,
            measures: sorted(measures),
            areas,
        })
    }

    /// Appends one epoch.
    pub fn row(&mut self, r: &EpochRecord) -> Result<()> {
        self.out
            .write_all(format!("{}\n", metrics_line(r, &self.measures, self.areas)).as_bytes())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}
