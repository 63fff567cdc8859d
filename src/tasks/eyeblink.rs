//! Eyeblink conditioning, the classic cerebellum-dependent task (docs/model.md §4.6): a
//! conditioned stimulus (CS, a tone) is followed, an interstimulus interval (ISI) after its onset,
//! by an unconditioned stimulus (US, an air puff) that closes the eyelid by reflex (the
//! unconditioned response, UR). The network must learn a conditioned response (CR): closing the
//! eyelid just before the US, timed by the CS. Two versions:
//!
//! - **delay**: the CS lasts until the US ends (they overlap and end together);
//! - **trace**: the CS lasts `cs_duration` steps, and a stimulus-free trace interval separates it
//!   from the US, so the time since the CS must be held in the network's state.
//!
//! ```text
//! step      0 ..  c    ..   c + ISI − ramp  ..  c + ISI .. c + ISI + us − 1 ..  L − 1
//! CS        0     1 (delay: until the US ends; trace: cs_duration steps)        0
//! US        0     0                              1 (us_duration steps)          0
//! target    0     0         ramp 0 → 1           1                              0
//! ```
//!
//! The CS onset c is drawn per trial from `cs_onset_min..=cs_onset_max`, so that only the CS
//! times the response. The target (one output, the eyelid) is 0, ramps up over the `cr_ramp`
//! steps before the US onset, stays 1 while the US lasts (the UR), and is 0 after; it is scored
//! at every step (mean squared error). The measures, from the output before the US onset (what
//! the US cannot have caused): a trial has a CR when the output crosses `threshold` between the
//! CS onset and the US onset; `cr_rate` is the fraction of trials with one, `cr_onset` the mean
//! step of its first crossing relative to the US onset (negative: before), and
//! `cr_timing_error` the mean |crossing − the target's crossing| in steps over the trials with a
//! CR (both absent when no trial has one). Every draw is from a stream named by the seed and its purpose.

use super::{Task, drawn_set, fresh_batch};
use crate::batch::Batch;
use crate::loss::{EvalMetrics, Target};
use crate::network::Network;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// Delay or trace conditioning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Conditioning {
    Delay,
    Trace,
}

/// Settings of the eyeblink task (steps are the time unit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EyeblinkConfig {
    pub conditioning: Conditioning,
    /// Steps per trial L.
    pub steps: usize,
    /// The interstimulus interval: from the CS onset to the US onset.
    pub isi: usize,
    /// The range of the CS onset, drawn per trial.
    pub cs_onset_min: usize,
    pub cs_onset_max: usize,
    /// Trace conditioning: the CS's length.
    pub cs_duration: usize,
    pub us_duration: usize,
    /// The steps over which the target rises to 1 before the US onset.
    pub cr_ramp: usize,
    /// The output level that makes a response.
    pub threshold: f64,
    pub train_samples: usize,
    pub validation_samples: usize,
    pub test_samples: usize,
}

impl Default for EyeblinkConfig {
    fn default() -> Self {
        EyeblinkConfig {
            conditioning: Conditioning::Delay,
            steps: 40,
            isi: 12,
            cs_onset_min: 2,
            cs_onset_max: 8,
            cs_duration: 3,
            us_duration: 2,
            cr_ramp: 4,
            threshold: 0.5,
            train_samples: 500,
            validation_samples: 200,
            test_samples: 500,
        }
    }
}

impl EyeblinkConfig {
    /// The impossible settings, named: a trial too short for its latest US, a trace CS that
    /// reaches the US, a ramp longer than the ISI, an empty onset range.
    pub fn check(&self) -> anyhow::Result<()> {
        let last = self.cs_onset_max + self.isi + self.us_duration;
        if self.cs_onset_min > self.cs_onset_max {
            anyhow::bail!(
                "`eyeblink.cs_onset_min` = {} is after `eyeblink.cs_onset_max` = {}",
                self.cs_onset_min,
                self.cs_onset_max
            );
        }
        if last > self.steps {
            anyhow::bail!(
                "`eyeblink.steps` = {} is too short: the latest US ends at step {last} (cs_onset_max + isi + us_duration)",
                self.steps
            );
        }
        for (key, v, most) in [
            ("eyeblink.cr_ramp", self.cr_ramp, self.isi),
            ("eyeblink.cs_duration", self.cs_duration, self.isi),
        ] {
            if v == 0 || v > most {
                anyhow::bail!("`{key}` = {v} must be between 1 and `eyeblink.isi` = {most}");
            }
        }
        if self.us_duration == 0 || !(self.threshold > 0.0 && self.threshold < 1.0) {
            anyhow::bail!(
                "`eyeblink.us_duration` must be at least 1 and `eyeblink.threshold` in (0, 1) (got {}, {})",
                self.us_duration,
                self.threshold
            );
        }
        Ok(())
    }

    /// The target at `t` of a trial whose US starts at `us`.
    fn target(&self, t: usize, us: usize) -> f32 {
        if t >= us && t < us + self.us_duration {
            1.0
        } else if t < us && t + self.cr_ramp >= us {
            1.0 - (us - t) as f32 / self.cr_ramp as f32
        } else {
            0.0
        }
    }
}

/// The inputs: the CS, then the US.
pub const INPUTS: usize = 2;
/// The measures.
pub const CR_RATE: &str = "cr_rate";
pub const CR_ONSET: &str = "cr_onset";
pub const CR_TIMING_ERROR: &str = "cr_timing_error";

/// The eyeblink task of one run.
pub struct Eyeblink {
    pub config: EyeblinkConfig,
    seed: u64,
    validation: Vec<Batch<f32>>,
    test: Vec<Batch<f32>>,
}

impl Eyeblink {
    /// The task of the run seeded by `seed`.
    pub fn new(config: EyeblinkConfig, seed: u64, eval_batch: usize) -> Self {
        let mut task = Eyeblink {
            config,
            seed,
            validation: Vec::new(),
            test: Vec::new(),
        };
        let (nv, nt) = (task.config.validation_samples, task.config.test_samples);
        task.validation = drawn_set(seed, "validation", nv, eval_batch, |k, rng| {
            task.batch(k, rng)
        });
        task.test = drawn_set(seed, "test", nt, eval_batch, |k, rng| task.batch(k, rng));
        task
    }

    /// `n` trials drawn from `rng` (their CS onsets).
    pub fn batch(&self, n: usize, rng: &mut Rng) -> Batch<f32> {
        let c = &self.config;
        let span = c.cs_onset_max - c.cs_onset_min + 1;
        let onsets: Vec<usize> = (0..n).map(|_| c.cs_onset_min + rng.below(span)).collect();
        self.batch_of(&onsets)
    }

    /// The trials whose CS starts at `onsets`.
    pub fn batch_of(&self, onsets: &[usize]) -> Batch<f32> {
        let (c, n) = (&self.config, onsets.len());
        let mut inputs = vec![0.0f32; c.steps * n * INPUTS];
        let mut values = vec![0.0f32; c.steps * n];
        for (b, &cs) in onsets.iter().enumerate() {
            let us = cs + c.isi;
            let cs_end = match c.conditioning {
                Conditioning::Delay => us + c.us_duration,
                Conditioning::Trace => cs + c.cs_duration,
            };
            for t in 0..c.steps {
                let row = (t * n + b) * INPUTS;
                inputs[row] = f32::from(u8::from(t >= cs && t < cs_end));
                inputs[row + 1] = f32::from(u8::from(t >= us && t < us + c.us_duration));
                values[t * n + b] = c.target(t, us);
            }
        }
        Batch {
            batch: n,
            steps: c.steps,
            inputs,
            target: Target::Trajectory {
                values,
                feedback: vec![true; c.steps],
            },
            context: None,
            words: None,
        }
    }

    /// The first step at which the target reaches the threshold, relative to the US onset.
    fn target_crossing(&self) -> f64 {
        let c = &self.config;
        let us = c.cr_ramp;
        let t = (0..=us).find(|&t| f64::from(c.target(t, us)) >= c.threshold);
        t.map_or(0.0, |t| t as f64 - us as f64)
    }
}

/// Responses summed over trials: trials, trials with a CR, and the CRs' summed onsets (relative
/// to the US) and timing errors.
#[derive(Default)]
struct Responses {
    trials: usize,
    crs: usize,
    onset: f64,
    error: f64,
}

impl Task for Eyeblink {
    fn input_size(&self) -> usize {
        INPUTS
    }
    fn output_size(&self) -> usize {
        1
    }
    fn steps(&self) -> usize {
        self.config.steps
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
    /// The output's MSE, and the conditioned responses: their rate, onset and timing error.
    fn evaluate(&self, network: &dyn Network, batches: &[Batch<f32>]) -> EvalMetrics {
        let c = &self.config;
        let want = self.target_crossing();
        let mut r = Responses::default();
        let mut m = network.evaluate_with(batches, &mut |b, y| {
            for s in 0..b.batch {
                let cs = (0..b.steps).find(|&t| b.inputs[(t * b.batch + s) * INPUTS] > 0.0);
                let Some(cs) = cs else { continue };
                let us = cs + c.isi;
                r.trials += 1;
                let crossing = (cs + 1..us).find(|&t| f64::from(y[t * b.batch + s]) >= c.threshold);
                if let Some(t) = crossing {
                    let onset = t as f64 - us as f64;
                    r.crs += 1;
                    r.onset += onset;
                    r.error += (onset - want).abs();
                }
            }
        });
        m.measures
            .insert(CR_RATE.to_string(), r.crs as f64 / r.trials.max(1) as f64);
        // The CRs' onset and timing only when there are CRs (a measure is never NaN).
        if r.crs > 0 {
            m.measures
                .insert(CR_ONSET.to_string(), r.onset / r.crs as f64);
            m.measures
                .insert(CR_TIMING_ERROR.to_string(), r.error / r.crs as f64);
        }
        m
    }
    fn measure_names(&self) -> Vec<String> {
        [CR_RATE, CR_ONSET, CR_TIMING_ERROR]
            .map(String::from)
            .to_vec()
    }
}

#[cfg(test)]
mod tests;
