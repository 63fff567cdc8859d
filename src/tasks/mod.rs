//! The tasks. A task makes the training batches of each epoch (fresh samples, or a data set in a
//! fixed or reshuffled order), holds fixed validation and test sets, and can draw its targets.
//!
//! | task | module | what |
//! |---|---|---|
//! | reach | [`reach`] | the papers' target reaching (line drawing from a cue) |
//! | mnist | [`mnist`], [`digits`] | sequential MNIST: classification, line or digit drawing |
//! | captions | [`captions`] | caption generation from image features |
//! | file | [`mod@file`] | any sequence task given as arrays in files |
//! | copy | [`copy`] | copy and repeat copy, with a curriculum on the length |
//! | eyeblink | [`eyeblink`] | eyeblink conditioning, delay and trace |
//! | interval | [`interval`] | interval reproduction (ready-set-go) |
//!
//! A task defined outside the crate implements [`Task`] and is registered with
//! `config::register_task` (see `examples/custom_task.rs`).

pub mod captions;
pub mod copy;
pub mod digits;
pub mod eyeblink;
pub mod file;
pub mod interval;
pub mod mnist;
pub mod reach;

use crate::batch::Batch;
use crate::loss::EvalMetrics;
use crate::network::Network;
use crate::rng::Rng;

/// A supervised sequence task: what a run trains on and is measured on. The job layer builds one
/// per run (`Config::build_task`, or a registered task factory for a task defined outside the
/// crate: `config::register_task`) and calls, per epoch: [`Self::train_batch`] for each of the
/// epoch's batches, [`Self::evaluate`] on the validation set (and on the test set when it is
/// due), then [`Self::end_epoch`]. `examples/custom_task.rs` defines one outside the crate.
///
/// The contract that makes runs reproducible and resumable:
/// - every batch is a pure function of the run seed (given when the task is built) and its
///   arguments: draw it from [`crate::rng::Rng::stream`]`(seed, "train/<epoch>/<index>")`, not
///   from a generator that advances, so that a run stopped and resumed trains on the same
///   batches;
/// - the validation and test sets are fixed when the task is built, and change only in
///   [`Self::end_epoch`], as a function of the validation measures it is given (a resumed run
///   replays it over the epochs before, so its task stands where it stood);
/// - batches are time-major ([`Batch`]): row `t · batch + b` of the inputs and the targets is
///   sample b at step t.
pub trait Task: Send + Sync {
    /// Inputs per step.
    fn input_size(&self) -> usize;
    /// Readout outputs (2 for drawing, the number of classes for classification).
    fn output_size(&self) -> usize;
    /// Sequence length L.
    fn steps(&self) -> usize;
    /// Number of training batches per epoch.
    fn batches_per_epoch(&self, batch_size: usize) -> usize;
    /// Training batch `index` of `epoch` (both 0-based): a pure function of the run seed, the
    /// epoch and the index.
    fn train_batch(&self, epoch: usize, index: usize, batch_size: usize) -> Batch<f32>;
    /// The validation set, in batches.
    fn validation(&self) -> &[Batch<f32>];
    /// The test set, in batches.
    fn test(&self) -> &[Batch<f32>];
    /// Size of the context vector of each sample (one-hot cue or label), 0 if none.
    fn context_size(&self) -> usize {
        let first = self.validation().first();
        first
            .and_then(|b| b.context.as_ref().map(|c| c.len() / b.batch.max(1)))
            .unwrap_or(0)
    }
    /// Examples to draw: for each panel (cue, digit) a title, the input sequence (one sample,
    /// `steps × input`), and the target trajectory. Empty for classification.
    fn drawing_examples(&self) -> Vec<DrawingExample> {
        Vec::new()
    }
    /// The caption task's input stage (image features, vocabulary, dropout); `None` for tasks
    /// whose inputs go to the cortex as they are.
    fn words(&self) -> Option<crate::model::WordSpec> {
        None
    }
    /// What the caption task's word ids mean; `None` for the other tasks. Saved with every
    /// trained caption model, as `vocab/<run>.json`.
    fn vocabulary(&self) -> Option<&crate::captions::vocab::Vocab> {
        None
    }
    /// The caption task's pretrained image map, which the model takes and keeps frozen
    /// (`captions.image_map_from`); `None` for the other tasks and a learning image map.
    fn frozen_image_map(&self) -> Option<&captions::image_map::ImageMap> {
        None
    }
    /// The measures of `network` on `batches` (one of this task's sets), as a run takes them
    /// after each epoch. By default those of the targets ([`Network::evaluate_with`]); a task
    /// with measures of its own adds them to [`EvalMetrics::measures`] under the names
    /// [`Self::measure_names`] gives, from what the network reads out. The network is one
    /// cortical area or two in a chain: the task sees only the readout.
    fn evaluate(&self, network: &dyn Network, batches: &[Batch<f32>]) -> EvalMetrics {
        network.evaluate_with(batches, &mut |_, _| {})
    }
    /// The names of the measures in [`EvalMetrics::measures`] (the columns `validation_<name>`
    /// and `test_<name>` of metrics.csv); none by default.
    fn measure_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// Told the validation measures after each epoch: a task whose training changes with the
    /// run's progress (a curriculum) moves on here. What it does must depend on the measures
    /// alone (a resumed run replays it over the epochs before). Nothing by default.
    fn end_epoch(&mut self, validation: &EvalMetrics) {
        let _ = validation;
    }
}

/// One sample of a drawing task, for the trajectory pictures.
#[derive(Clone, Debug)]
pub struct DrawingExample {
    pub title: String,
    /// `steps × input`.
    pub inputs: Vec<f32>,
    /// The sample's context (as in [`Batch::context`]; for a forward cerebellum that reads it).
    pub context: Option<Vec<f32>>,
    /// The target trajectory, one point per step.
    pub target: Vec<(f64, f64)>,
}

/// The straight line from the origin to `end`, linspace over `steps` steps (step 0 is the
/// origin, the last step `end`): the target of reach and of sequential-MNIST line drawing.
pub fn line_from_origin(end: (f64, f64), steps: usize) -> Vec<(f64, f64)> {
    (0..steps)
        .map(|t| {
            let f = if steps > 1 {
                t as f64 / (steps - 1) as f64
            } else {
                1.0
            };
            (end.0 * f, end.1 * f)
        })
        .collect()
}

/// Splits `n` samples into batches of at most `size`, calling `make(first, count)` for each.
pub fn in_batches<T>(n: usize, size: usize, mut make: impl FnMut(usize, usize) -> T) -> Vec<T> {
    (0..n)
        .step_by(size.max(1))
        .map(|i| make(i, size.min(n - i)))
        .collect()
}

/// A held-out set of a generated task: `n` trials in batches of `eval_batch`, drawn by
/// `draw(count, rng)` from the run's stream named `stream` (so each set is the same in every run
/// of the seed, whatever the training draws).
pub fn drawn_set(
    seed: u64,
    stream: &str,
    n: usize,
    eval_batch: usize,
    mut draw: impl FnMut(usize, &mut Rng) -> Batch<f32>,
) -> Vec<Batch<f32>> {
    let mut rng = Rng::stream(seed, stream);
    in_batches(n, eval_batch, |_, count| draw(count, &mut rng))
}

/// Training batch `index` of `epoch` of a task that draws fresh trials for every batch:
/// `batch_size` trials (fewer in an epoch's last batch, of `train_samples` in all) drawn by
/// `draw(count, rng)` from the stream `train/{epoch}/{index}`, a pure function of the three.
pub fn fresh_batch(
    seed: u64,
    (epoch, index): (usize, usize),
    batch_size: usize,
    train_samples: usize,
    draw: impl FnOnce(usize, &mut Rng) -> Batch<f32>,
) -> Batch<f32> {
    let mut rng = Rng::stream(seed, &format!("train/{epoch}/{index}"));
    draw(batch_size.min(train_samples - index * batch_size), &mut rng)
}

/// The sizes a task gives a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub input: usize,
    pub output: usize,
    pub context: usize,
}
