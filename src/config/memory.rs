//! The memory a run needs, estimated from its settings before anything is built, and the check
//! that refuses, before anything is written, runs that would not fit: their networks, their
//! traces over whole sequences, and the data sets their tasks hold. Every size a user can set
//! enters the estimate, computed in floating point so that an absurd size gives an absurd
//! figure instead of overflowing; the estimate errs high, so that what passes it is not left to
//! the kernel's out-of-memory killer.

use super::{Config, ModelKind, TaskKind};
use crate::cortex::CellKind;
use crate::tasks::{Sizes, mnist, reach};
use anyhow::{Result, bail};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

impl Config {
    /// An estimate, in bytes, of the memory one run of this configuration needs while training
    /// a task of `sizes`: [`Self::network_memory`] and [`Self::data_memory`].
    pub fn memory_estimate(&self, sizes: Sizes) -> f64 {
        self.network_memory(sizes) + self.data_memory()
    }

    /// The parameters with their gradients, two optimizer moments and a spare copy (f32), the
    /// cortex's trace over a whole sequence of a training or evaluation batch (gates, state and
    /// projections), and the cerebellum's activations and their gradients at every window
    /// boundary.
    pub fn network_memory(&self, sizes: Sizes) -> f64 {
        let f = |v: usize| v as f64;
        let h = f(self.cortex.hidden);
        let (gates, state) = match self.cortex.cell {
            CellKind::Lstm => (4.0 * h, 2.0 * h),
            CellKind::Tanh => (h, h),
        };
        let (granule, layers) = (f(self.cerebellum.granule), f(self.cerebellum.layers));
        let spec = self.model_spec(sizes.input, sizes.output, sizes.context);
        let params = spec.parameter_count() * 5.0;
        let steps = f(self.steps());
        let rows = f(self.batch_size.max(self.eval_batch));
        let trace = steps * rows * (gates + 4.0 * h + f(sizes.input) + f(sizes.output));
        let boundaries = (steps / f(self.train.horizon.max(1))).ceil();
        let activations = if self.model == ModelKind::CcRnn {
            2.0 * boundaries * f(self.batch_size) * (layers * granule + 2.0 * state)
        } else {
            0.0
        };
        4.0 * (params + trace + activations) + self.second_area_memory(sizes)
    }

    /// What a second cortical area adds (the `[areas]` section; 0 without it): area B's and the
    /// forward cerebellum's parameters (five copies, as above), B's trace over a whole sequence,
    /// the pipe of delayed activity, and the forward cerebellum's granule cells at every step;
    /// B's backward cerebellum as large as A's.
    fn second_area_memory(&self, sizes: Sizes) -> f64 {
        let Some(areas) = &self.areas else {
            return 0.0;
        };
        let f = |v: usize| v as f64;
        let (ha, hb) = (
            f(self.cortex.hidden),
            f(areas.hidden.unwrap_or(self.cortex.hidden)),
        );
        let (gates, state) = match areas.cell.unwrap_or(self.cortex.cell) {
            CellKind::Lstm => (4.0 * hb, 2.0 * hb),
            CellKind::Tanh => (hb, hb),
        };
        let granule = f(areas.forward_granule);
        let forward_in = ha + state + f(sizes.context);
        let params = gates * (ha + hb + 1.0)
            + f(sizes.output) * (hb + 1.0)
            + granule * (forward_in + ha + 2.0)
            + f(self.cerebellum.granule)
                * (state + f(self.cerebellum.layers) * f(self.cerebellum.granule) + state);
        let steps = f(self.steps());
        let rows = f(self.batch_size.max(self.eval_batch));
        let trace = steps * rows * (gates + 4.0 * hb + (f(areas.delay) + 1.0) * ha + 2.0 * granule);
        4.0 * (5.0 * params + trace)
    }

    /// The data the task holds: its validation and test sets as batches (f32), a training
    /// batch, and the data set it reads (MNIST's images; the caption set's features and
    /// captions, from its files' sizes or the built-in set's settings); twice over, as a
    /// process builds a task more than once (to check a job, to train a run, to draw the
    /// report) and the allocator does not return all it frees (measured: a reach run with
    /// 3,000,000 test sequences, 444 MB of them, peaked at 789 MB).
    pub fn data_memory(&self) -> f64 {
        2.0 * self.task_data()
    }

    fn task_data(&self) -> f64 {
        let f = |v: usize| v as f64;
        let per_sequence = |steps: usize, input: usize, output: usize, context: usize| {
            4.0 * (f(steps) * f(input + output) + f(context))
        };
        match self.task {
            TaskKind::Reach => {
                let r = &self.reach;
                let sequences = f(r.validation_samples) + f(r.test_samples) + f(self.batch_size);
                let each =
                    per_sequence(r.steps, reach::INPUTS, reach::OUTPUTS, reach::CONTEXT_SIZE);
                sequences * each
            }
            TaskKind::Mnist => {
                let images = 70_000.0 * f(mnist::WIDTH * mnist::WIDTH);
                let sequences = f(self.mnist.validation_samples) + 10_000.0 + f(self.batch_size);
                let each = per_sequence(mnist::WIDTH, mnist::WIDTH, 2, mnist::CONTEXT_SIZE);
                images + sequences * each
            }
            TaskKind::Captions => self.caption_data_memory(),
            TaskKind::File => {
                // The arrays as their files hold them, in f32 (labels and masks widen to it).
                let f = &self.file;
                let files = [
                    &f.data,
                    &f.inputs,
                    &f.targets,
                    &f.mask,
                    &f.validation_inputs,
                    &f.validation_targets,
                    &f.validation_mask,
                    &f.test_inputs,
                    &f.test_targets,
                    &f.test_mask,
                ];
                4.0 * files.into_iter().map(file_size).sum::<f64>()
            }
            // Generated trials: their validation and test sets, targets and masks.
            TaskKind::Copy | TaskKind::Eyeblink | TaskKind::Interval => {
                let (validation, test) = match self.task {
                    TaskKind::Copy => (self.copy.validation_samples, self.copy.test_samples),
                    TaskKind::Eyeblink => {
                        (self.eyeblink.validation_samples, self.eyeblink.test_samples)
                    }
                    _ => (self.interval.validation_samples, self.interval.test_samples),
                };
                let sizes = self.task_sizes();
                let sequences = f(validation) + f(test) + f(self.batch_size);
                sequences * per_sequence(self.steps(), sizes.input, 2 * sizes.output, 0)
            }
            // A task defined outside the crate: its data is its own.
            TaskKind::Custom => 0.0,
        }
    }

    fn caption_data_memory(&self) -> f64 {
        let c = &self.captions;
        let file = file_size;
        if c.data.is_some() {
            // The features as stored (f32), the annotations parsed (a few times their text).
            return 2.0 * file(&c.features) + 8.0 * file(&c.data) + file(&c.image_ids);
        }
        // The built-in set: each scene's feature vector (with its noisy copy) and 5 captions of
        // up to `max_words` words, as text, as tokens and as word ids.
        let scenes = c.scenes as f64;
        scenes * (8.0 * c.feature_size as f64 + 5.0 * (c.max_words as f64 + 2.0) * 40.0)
    }
}

/// The size in bytes of the file at `path`, 0 when there is none.
fn file_size(path: &Option<std::path::PathBuf>) -> f64 {
    path.as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0.0, |m| m.len() as f64)
}

/// The memory this process may use: the kernel's estimate of available memory, else a generous
/// fixed cap.
pub fn available_memory() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(64.0 * GIB, |kib| kib * 1024.0)
}

/// Refuses runs of `configs` that would not fit in memory when `at_once` of them train
/// together, each on a task of `sizes` (the first run's: the sizes every run shares), naming
/// the settings that make them large.
pub fn check_memory<'a>(
    configs: impl IntoIterator<Item = &'a Config>,
    at_once: usize,
    sizes: Sizes,
) -> Result<()> {
    let mut largest: Option<(&Config, f64)> = None;
    for c in configs {
        let need = c.memory_estimate(sizes);
        if largest.is_none_or(|(_, n)| need > n) {
            largest = Some((c, need));
        }
    }
    let Some((c, per_run)) = largest else {
        return Ok(());
    };
    let need = per_run * at_once.max(1) as f64;
    let cap = available_memory();
    if need > cap {
        bail!(
            "this job needs about {:.3} GiB of memory ({:.3} GiB per run: {:.3} GiB for the networks, {:.3} GiB for the data; {} at once), more than the {:.1} GiB available; \
             make the networks smaller (`cortex.hidden` = {}, `cerebellum.granule` = {}, `cerebellum.layers` = {}, `batch_size` = {}, `eval_batch` = {}{}), \
             the data smaller (the sequence length, or the validation and test sets), or use fewer --threads",
            need / GIB,
            per_run / GIB,
            c.network_memory(sizes) / GIB,
            c.data_memory() / GIB,
            at_once.max(1),
            cap / GIB,
            c.cortex.hidden,
            c.cerebellum.granule,
            c.cerebellum.layers,
            c.batch_size,
            c.eval_batch,
            c.areas.as_ref().map_or(String::new(), |a| format!(
                ", `areas.hidden` = {}, `areas.forward_granule` = {}",
                a.hidden.unwrap_or(c.cortex.hidden),
                a.forward_granule
            ))
        );
    }
    Ok(())
}
