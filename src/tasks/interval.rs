//! Interval reproduction, ready-set-go (Jazayeri and Shadlen 2010; docs/model.md §4.7): a
//! *ready* cue, then after an interval I drawn from `interval_min..=interval_max` a *set* cue;
//! the network must respond ("go") I steps after set. Measuring I takes holding the time since
//! ready across I steps, and producing it holding the time since set across I more, so the
//! credit for a response crosses the truncation windows when I exceeds the horizon K.
//!
//! ```text
//! step     0 .. r      ..    r + I    ..    r + 2I .. r + 2I + d − 1    ..  L − 1
//! ready    0    1 (one step)
//! set      0                 1 (one step)
//! target   0                                 1 (d = response_duration)   0
//! ```
//!
//! The ready time r is drawn per trial from `ready_min..=ready_max`; the target (one output) is
//! scored at every step (mean squared error). The produced interval of a trial is the first step
//! after set at which the output crosses `threshold`, less the set step; `go_rate` is the
//! fraction of trials with a response. Over the trials with one, grouped by their drawn I
//! (Jazayeri and Shadlen's measures): `interval_bias` = √(mean over I of (mean produced − I)²),
//! `interval_sd` = √(mean over I of the produced intervals' variance), and `interval_slope`,
//! the regression slope of produced on drawn (1: perfect; below 1, regression to the mean).

use super::{Task, drawn_set, fresh_batch};
use crate::batch::Batch;
use crate::loss::{EvalMetrics, Target};
use crate::network::Network;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Settings of the interval reproduction task (steps are the time unit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntervalConfig {
    /// Steps per trial L.
    pub steps: usize,
    /// The range the interval I is drawn from (uniformly, whole steps).
    pub interval_min: usize,
    pub interval_max: usize,
    /// The range of the ready cue's step.
    pub ready_min: usize,
    pub ready_max: usize,
    /// Steps the response lasts.
    pub response_duration: usize,
    /// The output level that makes a response.
    pub threshold: f64,
    pub train_samples: usize,
    pub validation_samples: usize,
    pub test_samples: usize,
}

impl Default for IntervalConfig {
    fn default() -> Self {
        IntervalConfig {
            steps: 40,
            interval_min: 5,
            interval_max: 12,
            ready_min: 1,
            ready_max: 5,
            response_duration: 3,
            threshold: 0.5,
            train_samples: 500,
            validation_samples: 400,
            test_samples: 800,
        }
    }
}

impl IntervalConfig {
    /// The impossible settings, named.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.interval_min == 0 || self.interval_min > self.interval_max {
            anyhow::bail!(
                "`interval.interval_min` = {} must be at least 1 and at most `interval.interval_max` = {}",
                self.interval_min,
                self.interval_max
            );
        }
        if self.ready_min > self.ready_max {
            anyhow::bail!(
                "`interval.ready_min` = {} is after `interval.ready_max` = {}",
                self.ready_min,
                self.ready_max
            );
        }
        let last = self.ready_max + 2 * self.interval_max + self.response_duration;
        if last > self.steps {
            anyhow::bail!(
                "`interval.steps` = {} is too short: the latest response ends at step {last} (ready_max + 2 interval_max + response_duration)",
                self.steps
            );
        }
        if self.response_duration == 0 || !(self.threshold > 0.0 && self.threshold < 1.0) {
            anyhow::bail!(
                "`interval.response_duration` must be at least 1 and `interval.threshold` in (0, 1) (got {}, {})",
                self.response_duration,
                self.threshold
            );
        }
        Ok(())
    }
}

/// The inputs: ready, then set.
pub const INPUTS: usize = 2;
/// The measures.
pub const GO_RATE: &str = "go_rate";
pub const INTERVAL_BIAS: &str = "interval_bias";
pub const INTERVAL_SD: &str = "interval_sd";
pub const INTERVAL_SLOPE: &str = "interval_slope";

/// The interval reproduction task of one run.
pub struct Interval {
    pub config: IntervalConfig,
    seed: u64,
    validation: Vec<Batch<f32>>,
    test: Vec<Batch<f32>>,
}

impl Interval {
    /// The task of the run seeded by `seed`.
    pub fn new(config: IntervalConfig, seed: u64, eval_batch: usize) -> Self {
        let mut task = Interval {
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

    /// `n` trials drawn from `rng`: per trial its ready step, then its interval.
    pub fn batch(&self, n: usize, rng: &mut Rng) -> Batch<f32> {
        let c = &self.config;
        let trials: Vec<(usize, usize)> = (0..n)
            .map(|_| {
                let ready = c.ready_min + rng.below(c.ready_max - c.ready_min + 1);
                (
                    ready,
                    c.interval_min + rng.below(c.interval_max - c.interval_min + 1),
                )
            })
            .collect();
        self.batch_of(&trials)
    }

    /// The trials of the given (ready step, interval) pairs.
    pub fn batch_of(&self, trials: &[(usize, usize)]) -> Batch<f32> {
        let (c, n) = (&self.config, trials.len());
        let mut inputs = vec![0.0f32; c.steps * n * INPUTS];
        let mut values = vec![0.0f32; c.steps * n];
        for (b, &(ready, interval)) in trials.iter().enumerate() {
            let (set, go) = (ready + interval, ready + 2 * interval);
            inputs[(ready * n + b) * INPUTS] = 1.0;
            inputs[(set * n + b) * INPUTS + 1] = 1.0;
            for t in go..go + c.response_duration {
                values[t * n + b] = 1.0;
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
}

/// The produced intervals per drawn interval, and the trials.
#[derive(Default)]
struct Produced {
    trials: usize,
    by_interval: BTreeMap<usize, Vec<f64>>,
}

impl Produced {
    /// The measures: the response rate, and over the trials with a response the bias, the
    /// standard deviation and the slope of produced against drawn (none without responses).
    fn measures(&self) -> Vec<(&'static str, f64)> {
        let responded: usize = self.by_interval.values().map(Vec::len).sum();
        let mut out = vec![(GO_RATE, responded as f64 / self.trials.max(1) as f64)];
        if responded == 0 {
            return out;
        }
        let groups: Vec<(f64, &Vec<f64>)> = (self.by_interval.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(&i, v)| (i as f64, v))
            .collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let k = groups.len() as f64;
        let bias2 = groups
            .iter()
            .map(|(i, v)| (mean(v) - i).powi(2))
            .sum::<f64>()
            / k;
        let var = |v: &[f64]| {
            let m = mean(v);
            v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64
        };
        let var = groups.iter().map(|(_, v)| var(v)).sum::<f64>() / k;
        out.push((INTERVAL_BIAS, bias2.sqrt()));
        out.push((INTERVAL_SD, var.sqrt()));
        let pairs: Vec<(f64, f64)> = groups
            .iter()
            .flat_map(|(i, v)| v.iter().map(move |&p| (*i, p)))
            .collect();
        let (mx, my) = (
            mean(&pairs.iter().map(|p| p.0).collect::<Vec<_>>()),
            mean(&pairs.iter().map(|p| p.1).collect::<Vec<_>>()),
        );
        let sxx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
        if sxx > 0.0 {
            let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
            out.push((INTERVAL_SLOPE, sxy / sxx));
        }
        out
    }
}

impl Task for Interval {
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
    /// The output's MSE, and the produced intervals' rate, bias, spread and slope.
    fn evaluate(&self, network: &dyn Network, batches: &[Batch<f32>]) -> EvalMetrics {
        let threshold = self.config.threshold;
        let mut p = Produced::default();
        let mut m = network.evaluate_with(batches, &mut |b, y| {
            let cue = |s: usize, c: usize| {
                (0..b.steps).find(|&t| b.inputs[(t * b.batch + s) * INPUTS + c] > 0.0)
            };
            for s in 0..b.batch {
                let (Some(ready), Some(set)) = (cue(s, 0), cue(s, 1)) else {
                    continue;
                };
                p.trials += 1;
                let go = (set + 1..b.steps).find(|&t| f64::from(y[t * b.batch + s]) >= threshold);
                let produced = p.by_interval.entry(set - ready).or_default();
                if let Some(go) = go {
                    produced.push((go - set) as f64);
                }
            }
        });
        for (name, v) in p.measures() {
            m.measures.insert(name.to_string(), v);
        }
        m
    }
    fn measure_names(&self) -> Vec<String> {
        [GO_RATE, INTERVAL_BIAS, INTERVAL_SD, INTERVAL_SLOPE]
            .map(String::from)
            .to_vec()
    }
}

#[cfg(test)]
mod tests;
