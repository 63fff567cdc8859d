//! A task defined outside ccdni and trained as a built-in one: no change to the crate.
//!
//! *Delayed recall*: a sign s = ±1 is shown at the first step, noise follows, and the network
//! must report s at the last step, L − 1 steps later. The only feedback is at the last step, so
//! credit must cross every truncation window before it: truncated BPTT with K < L cannot learn
//! the task from that feedback, full BPTT can, and a cerebellum that predicts the feedback
//! the truncation cuts off may.
//!
//! The program implements [`Task`] for its generator, registers a factory for it under a name,
//! and runs a job of cRNN, ccRNN and full BPTT on it, like `ccdni run` does for an experiment
//! file. The job's folder is an ordinary one (metrics, summary, plots, checkpoints): a job
//! stopped goes on from its checkpoints when this program opens it again (`Job::open`).
//!
//! ```sh
//! cargo run --release --example custom_task [OUT_DIR]
//! ```

use anyhow::{Result, bail};
use ccdni::batch::Batch;
use ccdni::config::{Config, ModelKind, TaskKind, register_task};
use ccdni::job::observe::Quiet;
use ccdni::job::spec::{Experiment, Horizon, Variant};
use ccdni::job::{Ending, Job};
use ccdni::loss::{EvalMetrics, Target};
use ccdni::network::Network;
use ccdni::rng::Rng;
use ccdni::tasks::{Task, in_batches};
use std::path::Path;

/// The name the task is registered under (`custom.name`).
pub const NAME: &str = "delayed-recall";

/// The delayed-recall task of one run: its settings, its seed, and its fixed evaluation sets.
pub struct DelayedRecall {
    steps: usize,
    train_samples: usize,
    noise: f64,
    seed: u64,
    validation: Vec<Batch<f32>>,
    test: Vec<Batch<f32>>,
}

impl DelayedRecall {
    /// The task of the run `config` describes: its settings from `[custom.settings]` (`steps`,
    /// `train_samples`, `noise`), its sets drawn from the run seed.
    pub fn new(config: &Config) -> Result<Self> {
        let s = &config.custom.settings;
        let int =
            |key: &str, default: i64| s.get(key).and_then(|v| v.as_integer()).unwrap_or(default);
        let (steps, train_samples) = (int("steps", 8), int("train_samples", 400));
        if steps < 2 || train_samples < 1 {
            bail!("custom.settings: `steps` must be at least 2 and `train_samples` at least 1");
        }
        let mut task = DelayedRecall {
            steps: steps as usize,
            train_samples: train_samples as usize,
            noise: s.get("noise").and_then(|v| v.as_float()).unwrap_or(0.1),
            seed: config.seed,
            validation: Vec::new(),
            test: Vec::new(),
        };
        let eval = |name: &str, n: usize| {
            let mut rng = Rng::stream(config.seed, name);
            in_batches(n, config.eval_batch, |_, k| task.batch(k, &mut rng))
        };
        (task.validation, task.test) = (eval("validation", 200), eval("test", 1000));
        Ok(task)
    }

    /// `n` sequences drawn from `rng`: the sign at step 0, noise after; the sign as the target
    /// at the last step, the only step with feedback.
    fn batch(&self, n: usize, rng: &mut Rng) -> Batch<f32> {
        let l = self.steps;
        let signs: Vec<f32> = (0..n)
            .map(|_| if rng.below(2) == 0 { -1.0 } else { 1.0 })
            .collect();
        let mut inputs = vec![0.0f32; l * n];
        inputs[..n].copy_from_slice(&signs);
        for x in &mut inputs[n..] {
            *x = (self.noise * rng.normal()) as f32;
        }
        let mut values = vec![0.0f32; l * n];
        values[(l - 1) * n..].copy_from_slice(&signs);
        Batch {
            batch: n,
            steps: l,
            inputs,
            target: Target::Trajectory {
                values,
                feedback: (0..l).map(|t| t == l - 1).collect(),
            },
            context: None,
            words: None,
        }
    }
}

impl Task for DelayedRecall {
    fn input_size(&self) -> usize {
        1
    }
    fn output_size(&self) -> usize {
        1
    }
    fn steps(&self) -> usize {
        self.steps
    }
    fn batches_per_epoch(&self, batch_size: usize) -> usize {
        self.train_samples.div_ceil(batch_size)
    }
    /// A pure function of the seed, the epoch and the index: its own named stream.
    fn train_batch(&self, epoch: usize, index: usize, batch_size: usize) -> Batch<f32> {
        let mut rng = Rng::stream(self.seed, &format!("train/{epoch}/{index}"));
        self.batch(
            batch_size.min(self.train_samples - index * batch_size),
            &mut rng,
        )
    }
    fn validation(&self) -> &[Batch<f32>] {
        &self.validation
    }
    fn test(&self) -> &[Batch<f32>] {
        &self.test
    }
    /// The targets' measures, and the task's own: the fraction of sequences whose last output
    /// has the sign shown at the start.
    fn evaluate(&self, network: &dyn Network, batches: &[Batch<f32>]) -> EvalMetrics {
        let (mut right, mut n) = (0usize, 0usize);
        let mut metrics = network.evaluate_with(batches, &mut |b, y| {
            let last = (b.steps - 1) * b.batch;
            right += (0..b.batch)
                .filter(|&s| (y[last + s] > 0.0) == (b.inputs[s] > 0.0))
                .count();
            n += b.batch;
        });
        let accuracy = right as f64 / n.max(1) as f64;
        metrics.measures.insert(RECALLED.to_string(), accuracy);
        metrics
    }
    fn measure_names(&self) -> Vec<String> {
        vec![RECALLED.to_string()]
    }
}

/// The task's own measure: the fraction of sequences recalled (the sign of the last output).
pub const RECALLED: &str = "recalled";

/// Registers the task: after this, `task = "custom"` with `custom.name = "delayed-recall"`
/// builds it.
pub fn register() {
    register_task(NAME, |config| Ok(Box::new(DelayedRecall::new(config)?)));
}

/// cRNN and ccRNN at horizon K = 2 on sequences of `steps` steps, and full BPTT, over `seeds`.
pub fn experiment(steps: i64, epochs: usize, seeds: Vec<u64>) -> Result<Experiment> {
    let mut base = Config::defaults(TaskKind::Custom);
    base.custom.name = NAME.to_string();
    base.custom.settings.insert("steps".into(), steps.into());
    base.epochs = epochs;
    base.cortex.hidden = 20;
    base.cerebellum.granule = 100;
    base.train.horizon = 2;
    let variants = vec![
        Variant::new("cRNN", ModelKind::CRnn),
        Variant::new("ccRNN", ModelKind::CcRnn),
        Variant {
            horizon: Some(Horizon::Full),
            ..Variant::new("BPTT", ModelKind::CRnn)
        },
    ];
    let spec = Experiment {
        name: NAME.to_string(),
        seeds,
        variants,
        base,
        figure: None,
    };
    spec.check()?;
    Ok(spec)
}

/// Trains (or goes on with) the job in `out`, and returns its closing table.
pub fn train(spec: Experiment, out: &Path) -> Result<String> {
    let mut job = if out.join("experiment.toml").exists() {
        Job::open(out, &Quiet)?
    } else {
        Job::create(spec, Some(out), NAME, 0)?
    };
    match job.run(0, false, &Quiet)? {
        Ending::Done(report) => Ok(report.text),
        Ending::Interrupted => bail!("the job did not finish"),
    }
}

fn main() -> Result<()> {
    register();
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "runs/custom-task".to_string());
    let text = train(experiment(8, 30, vec![0, 1, 2])?, Path::new(&out))?;
    println!("{text}\nresults in {out}");
    Ok(())
}
