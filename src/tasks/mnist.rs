//! Sequential MNIST: an image is read one row per step (28 steps of 28 pixels / 255). Three
//! variants: classification (10 classes, cross-entropy at the last step), line drawing (LD) and
//! digit drawing (DD), the latter two drawing the label's target trajectory (2 outputs every step,
//! feedback every 4th step).
//!
//! The 60k training images are split into training and validation parts by the run seed. The
//! training order is one fixed permutation drawn from the seed, the same every epoch, as in the
//! authors' scripts (which shuffle only when given `--shuffle`); `mnist.reshuffle = true` draws a
//! new one every epoch instead (docs/model.md §4.2). Images stay in their `u8` form in a shared
//! [`Dataset`] and are converted when a batch is made; only the fixed validation and test sets are
//! converted once.

use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::digits::{DIGITS, digit_target, line_target};
use super::{DrawingExample, Task, in_batches};
use crate::batch::Batch;
use crate::data::split::train_validation_split;
use crate::data::{Dataset, Images};
use crate::loss::Target;
use crate::rng::Rng;

/// Image width: the inputs per step.
pub const WIDTH: usize = 28;

/// Size of the context (one-hot label) given to a cerebellum with context input.
pub const CONTEXT_SIZE: usize = DIGITS;

/// Which sequential-MNIST task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MnistVariant {
    /// Classification: 10 classes, cross-entropy at the last step.
    #[default]
    Class,
    /// Line drawing (LD): the straight line to the label's point on the circle.
    Line,
    /// Digit drawing (DD): the label's template polyline.
    Digit,
}

/// Settings of the sequential-MNIST tasks (defaults: the authors' settings).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MnistConfig {
    pub variant: MnistVariant,
    /// Data set name for the cache folder (`mnist`, `fashion-mnist`); any IDX data set works.
    pub dataset: String,
    /// Folder with the four IDX files (absent: `$CCDNI_DATA_DIR`, else the cache folder of
    /// `dataset`, where `ccdni data fetch` puts them).
    pub data_dir: Option<std::path::PathBuf>,
    /// Training images held out for validation (12000 of 60000).
    pub validation_samples: usize,
    /// Drawing feedback at steps t with t mod interval == 0.
    pub feedback_interval: usize,
    /// Draw a new training order every epoch. Default `false`: one fixed order drawn from the
    /// seed and kept for every epoch, as the authors' scripts do unless given `--shuffle`.
    pub reshuffle: bool,
    /// Use only the first n training images after the split (quick runs).
    pub train_limit: Option<usize>,
    /// Use only the first n test images (quick runs).
    pub test_limit: Option<usize>,
}

impl Default for MnistConfig {
    fn default() -> Self {
        MnistConfig {
            variant: MnistVariant::Class,
            dataset: "mnist".to_string(),
            data_dir: None,
            validation_samples: 12_000,
            feedback_interval: 4,
            reshuffle: false,
            train_limit: None,
            test_limit: None,
        }
    }
}

/// A sequential-MNIST task over a shared data set, with its split, its fixed validation and test
/// batches, and the target trajectories of the drawing variants.
pub struct Mnist {
    pub config: MnistConfig,
    data: Arc<Dataset>,
    seed: u64,
    /// Indices (into the training images) of the training part.
    train: Vec<usize>,
    /// Indices (into the training images) of the validation part.
    validation_indices: Vec<usize>,
    /// Number of test images used.
    test_count: usize,
    /// The training order when it is not reshuffled (positions in `train`).
    fixed_order: Option<Arc<Vec<usize>>>,
    /// The order of the last epoch asked for, when reshuffled (so each batch does not redraw it).
    epoch_order: Mutex<Option<(usize, Arc<Vec<usize>>)>>,
    /// Target trajectory of each digit (empty for classification).
    trajectories: Vec<Vec<(f64, f64)>>,
    validation: Vec<Batch<f32>>,
    test: Vec<Batch<f32>>,
}

impl Mnist {
    /// The task of the run seeded by `seed` over `data` (evaluation sets in batches of
    /// `eval_batch`). Fails when the images are not 28 pixels wide, the data set is inconsistent,
    /// or the settings leave no training or test image.
    pub fn new(
        config: MnistConfig,
        data: Arc<Dataset>,
        seed: u64,
        eval_batch: usize,
    ) -> Result<Mnist> {
        check(&config, &data, eval_batch)?;
        let (mut train, validation_indices) =
            train_validation_split(data.train_images.count, config.validation_samples, seed);
        train.truncate(config.train_limit.unwrap_or(usize::MAX));
        let test_count = data
            .test_images
            .count
            .min(config.test_limit.unwrap_or(usize::MAX));
        let fixed_order =
            (!config.reshuffle).then(|| Arc::new(permutation(train.len(), seed, "order")));
        let trajectories = (0..DIGITS)
            .filter_map(|d| trajectory(config.variant, d, data.train_images.rows))
            .collect();
        let mut task = Mnist {
            config,
            data,
            seed,
            train,
            validation_indices,
            test_count,
            fixed_order,
            epoch_order: Mutex::new(None),
            trajectories,
            validation: Vec::new(),
            test: Vec::new(),
        };
        task.validation = in_batches(task.validation_indices.len(), eval_batch, |i, n| {
            let (images, labels) = (&task.data.train_images, &task.data.train_labels);
            task.batch_of(images, labels, &task.validation_indices[i..i + n])
        });
        let test_indices: Vec<usize> = (0..task.test_count).collect();
        task.test = in_batches(task.test_count, eval_batch, |i, n| {
            let (images, labels) = (&task.data.test_images, &task.data.test_labels);
            task.batch_of(images, labels, &test_indices[i..i + n])
        });
        Ok(task)
    }

    /// Indices (into the training images) of the training part, in increasing order.
    pub fn train_indices(&self) -> &[usize] {
        &self.train
    }

    /// Indices (into the training images) of the validation part, in increasing order.
    pub fn validation_indices(&self) -> &[usize] {
        &self.validation_indices
    }

    /// The training order of `epoch`: a permutation of the positions in the training part.
    pub fn epoch_order(&self, epoch: usize) -> Arc<Vec<usize>> {
        if let Some(order) = &self.fixed_order {
            return order.clone();
        }
        let mut cached = self.epoch_order.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some((e, order)) if *e == epoch => order.clone(),
            _ => {
                let order = Arc::new(permutation(
                    self.train.len(),
                    self.seed,
                    &format!("order/{epoch}"),
                ));
                *cached = Some((epoch, order.clone()));
                order
            }
        }
    }

    /// The target trajectory of `digit` (`None` for classification).
    pub fn target_trajectory(&self, digit: usize) -> Option<&[(f64, f64)]> {
        self.trajectories.get(digit).map(Vec::as_slice)
    }

    /// The batch of the images `indices` of `images` (time-major, pixels / 255) with the targets
    /// of their labels and their one-hot labels as context.
    fn batch_of(&self, images: &Images, labels: &[u8], indices: &[usize]) -> Batch<f32> {
        let digits: Vec<usize> = indices.iter().map(|&i| labels[i] as usize).collect();
        Batch {
            batch: indices.len(),
            steps: images.rows,
            inputs: time_major_pixels(images, indices),
            target: self.target(&digits, images.rows),
            context: Some(digits.iter().flat_map(|&d| one_hot(d)).collect()),
            words: None,
        }
    }

    /// The targets of samples with labels `digits` over `steps` steps.
    fn target(&self, digits: &[usize], steps: usize) -> Target<f32> {
        if self.config.variant == MnistVariant::Class {
            return Target::Class {
                labels: digits.to_vec(),
            };
        }
        let n = digits.len();
        let mut values = vec![0.0f32; steps * n * 2];
        for (b, &d) in digits.iter().enumerate() {
            for (t, &(x, y)) in self.trajectories[d].iter().enumerate() {
                values[(t * n + b) * 2] = x as f32;
                values[(t * n + b) * 2 + 1] = y as f32;
            }
        }
        let feedback = (0..steps)
            .map(|t| t % self.config.feedback_interval == 0)
            .collect();
        Target::Trajectory { values, feedback }
    }

    /// The first test image of `digit` among the test images used, if any.
    fn first_test_image_of(&self, digit: usize) -> Option<usize> {
        self.data.test_labels[..self.test_count]
            .iter()
            .position(|&l| l as usize == digit)
    }
}

/// Checks the settings against the data set.
fn check(config: &MnistConfig, data: &Dataset, eval_batch: usize) -> Result<()> {
    for (name, images, labels) in [
        ("training", &data.train_images, &data.train_labels),
        ("test", &data.test_images, &data.test_labels),
    ] {
        if images.cols != WIDTH {
            bail!(
                "sequential MNIST reads one {WIDTH}-pixel row per step, but the {name} images are \
                 {} pixels wide ({}x{} images)",
                images.cols,
                images.rows,
                images.cols
            );
        }
        if images.rows != data.train_images.rows || images.rows == 0 {
            bail!(
                "the {name} images have {} rows and the training images {}: one row per step \
                 needs at least one, the same in both sets",
                images.rows,
                data.train_images.rows
            );
        }
        if labels.len() != images.count || labels.iter().any(|&l| l as usize >= DIGITS) {
            bail!("the {name} labels must be one in 0..{DIGITS} per image");
        }
    }
    let n = data.train_images.count;
    if config.validation_samples >= n {
        bail!(
            "validation_samples = {} leaves no training image of the {n}",
            config.validation_samples
        );
    }
    if config.feedback_interval == 0 {
        bail!("feedback_interval must be at least 1");
    }
    if config.train_limit == Some(0) || config.test_limit == Some(0) || data.test_images.count == 0
    {
        bail!("no training or no test image (train_limit, test_limit or an empty test set)");
    }
    if eval_batch == 0 {
        bail!("the evaluation batch size must be at least 1");
    }
    Ok(())
}

/// A permutation of `0..n` drawn from the stream `name` of `seed`.
fn permutation(n: usize, seed: u64, name: &str) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    Rng::stream(seed, name).shuffle(&mut order);
    order
}

/// The target trajectory of `digit` for a drawing variant over `steps` steps.
fn trajectory(variant: MnistVariant, digit: usize, steps: usize) -> Option<Vec<(f64, f64)>> {
    match variant {
        MnistVariant::Class => None,
        MnistVariant::Line => Some(line_target(digit, steps)),
        MnistVariant::Digit => Some(digit_target(digit, steps)),
    }
}

/// The images `indices` as time-major inputs: row `t * n + b` holds image row t of sample b,
/// pixels / 255.
fn time_major_pixels(images: &Images, indices: &[usize]) -> Vec<f32> {
    let (n, cols) = (indices.len(), images.cols);
    let mut inputs = vec![0.0f32; images.rows * n * cols];
    for (b, &i) in indices.iter().enumerate() {
        for (t, row) in images.image(i).chunks_exact(cols).enumerate() {
            let out = &mut inputs[(t * n + b) * cols..(t * n + b + 1) * cols];
            for (o, &p) in out.iter_mut().zip(row) {
                *o = p as f32 / 255.0;
            }
        }
    }
    inputs
}

/// Outputs per step of a variant: the class scores, or the drawn point.
pub fn outputs(variant: MnistVariant) -> usize {
    match variant {
        MnistVariant::Class => DIGITS,
        MnistVariant::Line | MnistVariant::Digit => 2,
    }
}

/// One-hot code of a label.
fn one_hot(digit: usize) -> [f32; CONTEXT_SIZE] {
    let mut v = [0.0; CONTEXT_SIZE];
    v[digit] = 1.0;
    v
}

impl Task for Mnist {
    fn input_size(&self) -> usize {
        WIDTH
    }
    fn output_size(&self) -> usize {
        outputs(self.config.variant)
    }
    fn steps(&self) -> usize {
        self.data.train_images.rows
    }
    fn batches_per_epoch(&self, batch_size: usize) -> usize {
        self.train.len().div_ceil(batch_size)
    }
    fn train_batch(&self, epoch: usize, index: usize, batch_size: usize) -> Batch<f32> {
        let order = self.epoch_order(epoch);
        let start = index * batch_size;
        assert!(
            start < order.len(),
            "batch {index} of size {batch_size} is past the epoch"
        );
        let end = (start + batch_size).min(order.len());
        let indices: Vec<usize> = order[start..end].iter().map(|&p| self.train[p]).collect();
        self.batch_of(&self.data.train_images, &self.data.train_labels, &indices)
    }
    fn validation(&self) -> &[Batch<f32>] {
        &self.validation
    }
    fn test(&self) -> &[Batch<f32>] {
        &self.test
    }
    fn drawing_examples(&self) -> Vec<DrawingExample> {
        if self.config.variant == MnistVariant::Class {
            return Vec::new();
        }
        (0..DIGITS)
            .filter_map(|d| {
                let i = self.first_test_image_of(d)?;
                Some(DrawingExample {
                    title: format!("digit {d}"),
                    inputs: time_major_pixels(&self.data.test_images, &[i]),
                    context: Some(one_hot(d).to_vec()),
                    target: self.trajectories[d].clone(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
