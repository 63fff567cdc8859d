//! Target reaching (the papers' "simple line drawing"): a cue at t = 0 tells the cortex which of
//! 7 targets to reach (the origin or one of 6 points on a circle of radius 10); it must draw the
//! straight line there over L = 10 steps, with feedback on every 2nd step only. Optional input
//! noise, as in the authors' code, perturbs training sequences after the cue (docs/model.md §4.1).

use super::{DrawingExample, Task, drawn_set, fresh_batch};
use crate::batch::Batch;
use crate::loss::Target;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// Settings of the reach task (the authors' defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReachConfig {
    pub steps: usize,
    /// Fresh training samples per epoch.
    pub train_samples: usize,
    pub validation_samples: usize,
    pub test_samples: usize,
    /// Feedback at steps t with t mod interval == 0 (the last step is unsupervised when L is even).
    pub feedback_interval: usize,
    /// Standard deviation of Gaussian noise added to the inputs of training sequences from the
    /// second step on (t >= 1; the cue at t = 0 stays clean), as the authors do; validation and
    /// test sequences are noise-free (0: none; docs/model.md §4.1).
    pub input_noise: f64,
}

impl Default for ReachConfig {
    fn default() -> Self {
        ReachConfig {
            steps: 10,
            train_samples: 800,
            validation_samples: 200,
            test_samples: 10_000,
            feedback_interval: 2,
            input_noise: 0.0,
        }
    }
}

/// The 7 cues p = -3..3.
pub const CUES: [i32; 7] = [-3, -2, -1, 0, 1, 2, 3];

/// End point of cue `p`: the origin for p = 0; the nonzero cues in increasing order
/// (-3, -2, -1, 1, 2, 3) go to circle points 6, 5, 4, 3, 2, 1 (1-based), point k lying at angle
/// a = 60 (k - 1) degrees, (10 sin a, 10 cos a).
pub fn end_point(p: i32) -> (f64, f64) {
    if p == 0 {
        return (0.0, 0.0);
    }
    let order = if p < 0 { p + 3 } else { p + 2 };
    let point = 6 - order;
    let a = (60.0 * (point - 1) as f64).to_radians();
    (10.0 * a.sin(), 10.0 * a.cos())
}

/// The target trajectory of cue `p`: the straight line from the origin, linspace over `steps`
/// steps (step 0 is the origin).
pub fn target_line(p: i32, steps: usize) -> Vec<(f64, f64)> {
    super::line_from_origin(end_point(p), steps)
}

/// The reach task with its fixed validation and test sets.
pub struct Reach {
    pub config: ReachConfig,
    seed: u64,
    validation: Vec<Batch<f32>>,
    test: Vec<Batch<f32>>,
}

impl Reach {
    /// The task of the run seeded by `seed` (validation and test sets drawn from their own streams).
    pub fn new(config: ReachConfig, seed: u64, eval_batch: usize) -> Self {
        let mut task = Reach {
            config,
            seed,
            validation: Vec::new(),
            test: Vec::new(),
        };
        let (nv, nt) = (task.config.validation_samples, task.config.test_samples);
        task.validation = drawn_set(seed, "validation", nv, eval_batch, |n, rng| {
            task.batch(n, rng, false)
        });
        task.test = drawn_set(seed, "test", nt, eval_batch, |n, rng| {
            task.batch(n, rng, false)
        });
        task
    }

    /// A batch of `n` random cues (with the input noise, if any, when `training`).
    fn batch(&self, n: usize, rng: &mut Rng, training: bool) -> Batch<f32> {
        let cues: Vec<i32> = (0..n).map(|_| CUES[rng.below(CUES.len())]).collect();
        self.batch_of(&cues, rng, training)
    }

    /// The batch of the given cues. A `training` batch gets the input noise, if any, drawn from
    /// `rng`, at every step but the first (the cue at t = 0 stays `0.1 p`); any other is clean.
    pub fn batch_of(&self, cues: &[i32], rng: &mut Rng, training: bool) -> Batch<f32> {
        let (n, steps) = (cues.len(), self.config.steps);
        let mut inputs = vec![0.0f32; steps * n];
        let mut values = vec![0.0f32; steps * n * 2];
        for (b, &p) in cues.iter().enumerate() {
            inputs[b] = 0.1 * p as f32;
            for (t, (x, y)) in target_line(p, steps).into_iter().enumerate() {
                values[(t * n + b) * 2] = x as f32;
                values[(t * n + b) * 2 + 1] = y as f32;
            }
        }
        if training && self.config.input_noise > 0.0 {
            for v in &mut inputs[n..] {
                *v += (self.config.input_noise * rng.normal()) as f32;
            }
        }
        let feedback = (0..steps)
            .map(|t| t % self.config.feedback_interval == 0)
            .collect();
        Batch {
            batch: n,
            steps,
            inputs,
            target: Target::Trajectory { values, feedback },
            context: Some(cues.iter().flat_map(|&p| one_hot(p)).collect()),
            words: None,
        }
    }
}

/// One-hot code of a cue (the context of a cerebellum with context input).
fn one_hot(p: i32) -> [f32; 7] {
    let mut v = [0.0; 7];
    v[(p + 3) as usize] = 1.0;
    v
}

/// Size of the reach context (one-hot cue).
pub const CONTEXT_SIZE: usize = 7;
/// Inputs per step: the cue at t = 0, then zeros.
pub const INPUTS: usize = 1;
/// Outputs per step: the drawn point.
pub const OUTPUTS: usize = 2;

impl Task for Reach {
    fn input_size(&self) -> usize {
        INPUTS
    }
    fn output_size(&self) -> usize {
        OUTPUTS
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
            self.batch(n, rng, true)
        })
    }
    fn validation(&self) -> &[Batch<f32>] {
        &self.validation
    }
    fn test(&self) -> &[Batch<f32>] {
        &self.test
    }
    fn drawing_examples(&self) -> Vec<DrawingExample> {
        CUES.iter()
            .map(|&p| {
                let batch = self.batch_of(&[p], &mut Rng::new(0), false);
                DrawingExample {
                    title: format!("cue {p}"),
                    inputs: batch.inputs,
                    context: batch.context,
                    target: target_line(p, self.config.steps),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_the_spec() {
        assert_eq!(end_point(0), (0.0, 0.0));
        let close =
            |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-12;
        assert!(
            close(end_point(3), (0.0, 10.0)),
            "cue 3 -> point 1 at 0 degrees"
        );
        assert!(
            close(end_point(-1), (0.0, -10.0)),
            "cue -1 -> point 4 at 180 degrees"
        );
        let a = 300f64.to_radians();
        assert!(
            close(end_point(-3), (10.0 * a.sin(), 10.0 * a.cos())),
            "cue -3 -> point 6"
        );
        let line = target_line(2, 10);
        assert_eq!(line[0], (0.0, 0.0));
        assert!(close(line[9], end_point(2)));
        assert!(close(line[3], (end_point(2).0 / 3.0, end_point(2).1 / 3.0)));
    }

    #[test]
    fn batches_are_fresh_each_epoch_and_reproducible() {
        let task = Reach::new(ReachConfig::default(), 1, 100);
        assert_eq!(
            task.validation().iter().map(|b| b.batch).sum::<usize>(),
            200
        );
        assert_eq!(task.test().iter().map(|b| b.batch).sum::<usize>(), 10_000);
        assert_eq!(task.batches_per_epoch(50), 16);
        let b = task.train_batch(0, 0, 50);
        assert_eq!(b.inputs, task.train_batch(0, 0, 50).inputs);
        assert_ne!(b.inputs, task.train_batch(1, 0, 50).inputs);
        assert_ne!(b.inputs, task.train_batch(0, 1, 50).inputs);
        assert!(
            b.inputs[50..].iter().all(|&x| x == 0.0),
            "input only at t = 0"
        );
        let Target::Trajectory { feedback, .. } = &b.target else {
            panic!()
        };
        assert_eq!(
            feedback,
            &[
                true, false, true, false, true, false, true, false, true, false
            ]
        );
    }

    #[test]
    fn input_noise_spares_the_cue_and_the_evaluation_sets() {
        let config = ReachConfig {
            input_noise: 0.5,
            validation_samples: 300,
            test_samples: 300,
            ..ReachConfig::default()
        };
        let (steps, noise) = (config.steps, config.input_noise);
        let task = Reach::new(config, 2, 100);
        let cue = |b: &Batch<f32>, s: usize| {
            let context = &b.context.as_ref().unwrap()[s * 7..(s + 1) * 7];
            context.iter().position(|&v| v == 1.0).unwrap() as i32 - 3
        };
        let mut later = Vec::new();
        for i in 0..task.batches_per_epoch(50) {
            let b = task.train_batch(3, i, 50);
            for s in 0..b.batch {
                assert_eq!(
                    b.inputs[s],
                    0.1 * cue(&b, s) as f32,
                    "t = 0 is the clean cue"
                );
            }
            later.extend(b.inputs[b.batch..].iter().map(|&x| x as f64));
        }
        assert_eq!(later.len(), 800 * (steps - 1));
        assert!(later.iter().all(|&x| x != 0.0), "every later step is noisy");
        let mean = later.iter().sum::<f64>() / later.len() as f64;
        let sd =
            (later.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / later.len() as f64).sqrt();
        assert!(mean.abs() < 0.03, "noise mean {mean}");
        assert!((sd - noise).abs() < 0.03, "noise sd {sd}, want {noise}");
        for b in task.validation().iter().chain(task.test()) {
            for s in 0..b.batch {
                assert_eq!(b.inputs[s], 0.1 * cue(b, s) as f32);
            }
            assert!(
                b.inputs[b.batch..].iter().all(|&x| x == 0.0),
                "evaluation inputs are noise-free"
            );
        }
        for ex in task.drawing_examples() {
            assert!(ex.inputs[1..].iter().all(|&x| x == 0.0));
        }
        // Without noise the training inputs are clean too.
        let clean = Reach::new(ReachConfig::default(), 2, 100).train_batch(3, 0, 50);
        assert!(clean.inputs[50..].iter().all(|&x| x == 0.0));
    }
}
