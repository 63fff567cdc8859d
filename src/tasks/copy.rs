//! Copy and repeat copy (Graves et al. 2014, as Jaderberg et al. 2017 use them to show that
//! synthetic gradients extend the time an RNN can learn over; docs/model.md §4.4): a sequence of
//! N random bit patterns, a delimiter, then the sequence to be written back, R times for repeat
//! copy, with an end marker after the last repeat. The credit for writing pattern j back lies
//! N + 1 steps after it was read (and more for later repeats), so a feedback horizon K shorter
//! than that cannot carry it.
//!
//! One trial, N patterns of `bits` bits, R repeats (R = 1: copy):
//!
//! ```text
//! step            0 .. N-1    N            N+1 .. N+R·N     N+R·N+1 (repeat copy)
//!                 (each after the trial's lead-in of blank steps, `lead_in`)
//! inputs: bits    pattern j   0            0                0
//!         delim   0           1            0                0
//!         repeats 0           R / R_max    0                0        (repeat copy only)
//! targets: bits   -           -            pattern (t-N-1) mod N
//!          end    -           -            0                1        (repeat copy only)
//! ```
//!
//! Targets are bits read through a logistic from the readout ([`Target::Bits`]), scored where
//! they are defined (`-`: not scored). Sequences of a batch are padded to the longest repeat
//! count R_max, the padding unscored.
//!
//! The length N follows a curriculum: it starts at `min_length` and grows by one after every
//! epoch whose validation error falls below `threshold` bits per sequence, up to `max_length`
//! ([`Task::end_epoch`]). The measures are `length`, the length the epoch trained and was
//! measured at (the longest length reached, every shorter one having been learned), and the
//! error per sequence, `bits_per_sequence` (logistic cross-entropy, in bits) and `bit_errors`.
//! Every draw is from a stream named by the seed, the purpose and the length
//! (`train/<epoch>/<index>`, `validation/<N>`, `test/<N>`).

use super::{Task, drawn_set, fresh_batch};
use crate::batch::Batch;
use crate::loss::{BITS_PER_SEQUENCE, EvalMetrics, Target};
use crate::network::Network;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// Settings of the copy task (repeat copy with `repeats` > 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CopyConfig {
    /// Bits per pattern.
    pub bits: usize,
    /// 1: copy. R > 1: repeat copy, each sequence written back r times, r drawn uniformly from
    /// 1..=R and given as an input at the delimiter (r / R).
    pub repeats: usize,
    /// The most blank steps before a trial, each trial's drawn uniformly from 0..=lead_in (the
    /// rest of the batch's steps pad its end, unscored): with lead_in = K − 1, a trial starts at
    /// every phase of the truncation windows, as in a stream cut into windows (Jaderberg et al.
    /// train on one); 0: every trial starts with the first window.
    pub lead_in: usize,
    /// The curriculum's first length N, and the longest it may reach.
    pub min_length: usize,
    pub max_length: usize,
    /// The validation error, in bits per sequence, below which the length grows by one.
    pub threshold: f64,
    /// Fresh training sequences per epoch (an epoch is also the curriculum's step).
    pub train_samples: usize,
    pub validation_samples: usize,
    pub test_samples: usize,
}

impl Default for CopyConfig {
    fn default() -> Self {
        CopyConfig {
            bits: 8,
            repeats: 1,
            lead_in: 0,
            min_length: 1,
            max_length: 20,
            threshold: 0.15,
            train_samples: 2000,
            validation_samples: 200,
            test_samples: 500,
        }
    }
}

impl CopyConfig {
    /// Steps of a batch of trials of length `n`: the longest lead-in, the patterns, the
    /// delimiter, the repeats written back, and for repeat copy the end marker.
    pub fn steps_at(&self, n: usize) -> usize {
        self.lead_in + n + 1 + n * self.repeats + usize::from(self.repeats > 1)
    }

    /// Steps of the longest trial the curriculum may reach.
    pub fn max_steps(&self) -> usize {
        self.steps_at(self.max_length)
    }

    /// Inputs per step: the bits, the delimiter, and for repeat copy the repeat count.
    pub fn inputs(&self) -> usize {
        self.bits + 1 + usize::from(self.repeats > 1)
    }

    /// Outputs per step: the bits, and for repeat copy the end marker.
    pub fn outputs(&self) -> usize {
        self.bits + usize::from(self.repeats > 1)
    }
}

/// The measure of the curriculum: the length N an epoch trained and was measured at.
pub const LENGTH: &str = "length";

/// The copy task of one run: its settings, its seed, where the curriculum stands, and the
/// validation and test sets at that length.
pub struct Copy {
    pub config: CopyConfig,
    seed: u64,
    eval_batch: usize,
    /// The curriculum's current length N.
    length: usize,
    validation: Vec<Batch<f32>>,
    test: Vec<Batch<f32>>,
}

impl Copy {
    /// The task of the run seeded by `seed`, at the curriculum's first length.
    pub fn new(config: CopyConfig, seed: u64, eval_batch: usize) -> Self {
        let length = config.min_length;
        let mut task = Copy {
            config,
            seed,
            eval_batch,
            length,
            validation: Vec::new(),
            test: Vec::new(),
        };
        task.draw_sets();
        task
    }

    /// The curriculum's current length N.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The validation and test sets at the current length.
    fn draw_sets(&mut self) {
        let (n, seed, size) = (self.length, self.seed, self.eval_batch);
        let (nv, nt) = (self.config.validation_samples, self.config.test_samples);
        self.validation = drawn_set(seed, &format!("validation/{n}"), nv, size, |k, rng| {
            self.batch(k, rng)
        });
        self.test = drawn_set(seed, &format!("test/{n}"), nt, size, |k, rng| {
            self.batch(k, rng)
        });
    }

    /// `count` trials at the current length, drawn from `rng`: per trial its repeat count, then
    /// its patterns.
    pub fn batch(&self, count: usize, rng: &mut Rng) -> Batch<f32> {
        let c = &self.config;
        let (n, steps, bits) = (self.length, c.steps_at(self.length), c.bits);
        let (width, out) = (c.inputs(), c.outputs());
        let mut inputs = vec![0.0f32; steps * count * width];
        let mut values = vec![0.0f32; steps * count * out];
        let mut mask = vec![false; steps * count * out];
        for b in 0..count {
            let r = if c.repeats > 1 {
                1 + rng.below(c.repeats)
            } else {
                1
            };
            let lead = if c.lead_in > 0 {
                rng.below(c.lead_in + 1)
            } else {
                0
            };
            let pattern: Vec<f32> = (0..n * bits).map(|_| rng.below(2) as f32).collect();
            let at = |t: usize, w: usize| ((lead + t) * count + b) * w;
            for j in 0..n {
                inputs[at(j, width)..at(j, width) + bits]
                    .copy_from_slice(&pattern[j * bits..(j + 1) * bits]);
            }
            inputs[at(n, width) + bits] = 1.0;
            if c.repeats > 1 {
                inputs[at(n, width) + bits + 1] = r as f32 / c.repeats as f32;
            }
            for k in 0..n * r {
                let (t, j) = (n + 1 + k, k % n);
                values[at(t, out)..at(t, out) + bits]
                    .copy_from_slice(&pattern[j * bits..(j + 1) * bits]);
                mask[at(t, out)..at(t, out) + out].fill(true);
            }
            if c.repeats > 1 {
                let end = n + 1 + n * r;
                values[at(end, out) + bits] = 1.0;
                mask[at(end, out) + bits] = true;
            }
        }
        Batch {
            batch: count,
            steps,
            inputs,
            target: Target::Bits { values, mask },
            context: None,
            words: None,
        }
    }
}

impl Task for Copy {
    fn input_size(&self) -> usize {
        self.config.inputs()
    }
    fn output_size(&self) -> usize {
        self.config.outputs()
    }
    /// The longest trial the curriculum may reach (a batch has the current length's steps).
    fn steps(&self) -> usize {
        self.config.max_steps()
    }
    fn batches_per_epoch(&self, batch_size: usize) -> usize {
        self.config.train_samples.div_ceil(batch_size)
    }
    fn train_batch(&self, epoch: usize, index: usize, batch_size: usize) -> Batch<f32> {
        let samples = self.config.train_samples;
        fresh_batch(self.seed, (epoch, index), batch_size, samples, |n, rng| {
            self.batch(n, rng)
        })
    }
    fn validation(&self) -> &[Batch<f32>] {
        &self.validation
    }
    fn test(&self) -> &[Batch<f32>] {
        &self.test
    }
    /// The error per sequence, and the length it was measured at.
    fn evaluate(&self, network: &dyn Network, batches: &[Batch<f32>]) -> EvalMetrics {
        let mut m = network.evaluate_with(batches, &mut |_, _| {});
        m.measures.insert(LENGTH.to_string(), self.length as f64);
        m
    }
    fn measure_names(&self) -> Vec<String> {
        [BITS_PER_SEQUENCE, crate::loss::BIT_ERRORS, LENGTH]
            .map(String::from)
            .to_vec()
    }
    /// The curriculum: one longer after an epoch below the threshold.
    fn end_epoch(&mut self, validation: &EvalMetrics) {
        let error = validation.measures.get(BITS_PER_SEQUENCE).copied();
        if error.is_some_and(|e| e < self.config.threshold) && self.length < self.config.max_length
        {
            self.length += 1;
            self.draw_sets();
        }
    }
}

#[cfg(test)]
mod tests;
