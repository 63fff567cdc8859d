//! The benchmark (`ccdni bench`): training speed in sequences per second on one thread (or on
//! `--threads` threads inside the run, see [`crate::pool`]), for the papers' configurations, with the share of time spent in matrix products and the throughput
//! reached there, next to the matrix-multiply floor (the time if every product ran at the speed
//! of a large square product on this core).

use crate::batch::Batch;
use crate::cortex::CellKind;
use crate::gemm::{Op, gemm, profile};
use crate::loss::Target;
use crate::model::{CerebellumSpec, Model, ModelSpec};
use crate::rng::Rng;
use crate::tasks::Task;
use crate::tasks::reach::{Reach, ReachConfig};
use crate::trainer::{TrainOptions, Trainer};
use anyhow::{Result, bail};
use std::time::Instant;

/// One configuration to measure.
struct Case {
    name: &'static str,
    spec: ModelSpec,
    options: TrainOptions,
    batches: Vec<Batch<f32>>,
}

/// The options of the reach and MNIST cases: the papers' (one step per batch) at horizon `k`.
fn at_horizon(k: usize) -> TrainOptions {
    TrainOptions {
        horizon: k,
        ..TrainOptions::default()
    }
}

/// A measured configuration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchResult {
    pub name: String,
    pub sequences_per_second: f64,
    pub ms_per_batch: f64,
    /// Share of the time spent inside matrix products, and their throughput.
    pub gemm_share: f64,
    pub gemm_gflops: f64,
    /// GFLOP of matrix products per batch.
    pub gflop_per_batch: f64,
    /// Throughput of a large square product measured between the slices (median): the floor's.
    pub peak_gflops: f64,
    /// Sequences per batch.
    pub batch: usize,
    /// Threads inside the run (and in the floor's product).
    pub threads: usize,
}

impl BenchResult {
    /// The floor: milliseconds per batch if every product ran at the large product's speed.
    pub fn floor_ms(&self) -> f64 {
        self.gflop_per_batch / self.peak_gflops * 1e3
    }
}

fn reach_case(name: &'static str, cerebellum: bool) -> Case {
    let task = Reach::new(ReachConfig::default(), 0, 50);
    Case {
        name,
        spec: ModelSpec {
            cell: CellKind::Lstm,
            input: 1,
            hidden: 50,
            output: 2,
            cerebellum: cerebellum.then_some(CerebellumSpec {
                granule: 400,
                layers: 2,
                sparse_k: None,
                context: 0,
            }),
            words: None,
        },
        options: at_horizon(1),
        batches: (0..16).map(|i| task.train_batch(0, i, 50)).collect(),
    }
}

fn mnist_sized_case() -> Case {
    let mut rng = Rng::new(1);
    let (b, l, i) = (50, 28, 28);
    let batches = (0..16)
        .map(|_| Batch {
            batch: b,
            steps: l,
            inputs: (0..b * l * i).map(|_| rng.uniform() as f32).collect(),
            target: Target::Class {
                labels: (0..b).map(|_| rng.below(10)).collect(),
            },
            context: None,
            words: None,
        })
        .collect();
    Case {
        name: "MNIST-sized ccRNN K=3 (I=28, L=28, H=30, cerebellum 1x60, B=50)",
        spec: ModelSpec {
            cell: CellKind::Lstm,
            input: i,
            hidden: 30,
            output: 10,
            cerebellum: Some(CerebellumSpec {
                granule: 60,
                layers: 1,
                sparse_k: None,
                context: 0,
            }),
            words: None,
        },
        options: at_horizon(3),
        batches,
    }
}

/// The caption model at the papers' size on COCO: 2048-dimensional ResNet features, a
/// vocabulary of 9956 words (the authors'), embedding and LSTM of 256, cerebellum 2 x 1024,
/// batches of 100 captions of 13 words (15 steps), K = 4, Adam with a step per window.
fn captions_case() -> Case {
    Case {
        name: "captions ccRNN K=4 (F=2048, V=9956, D=H=256, cerebellum 2x1024, B=100, L=15)",
        ..captions_sized(100, 2048, 9956, 256, 1024)
    }
}

/// The caption model of batches of `b` captions of 15 steps, `f` features, a vocabulary of `v`
/// words, D = H = `h`, a cerebellum of 2 × `granule`, the caption job's training options.
fn captions_sized(b: usize, f: usize, v: usize, h: usize, granule: usize) -> Case {
    let mut rng = Rng::new(2);
    let l = 15;
    let config = crate::config::Config::defaults(crate::config::TaskKind::Captions);
    let words =
        |n: usize, rng: &mut Rng| -> Vec<u32> { (0..n).map(|_| rng.below(v) as u32).collect() };
    let batches = (0..4)
        .map(|i| Batch {
            batch: b,
            steps: l,
            inputs: Vec::new(),
            target: Target::Words {
                labels: words(l * b, &mut rng),
            },
            context: None,
            words: Some(crate::layers::word_input::Words {
                features: (0..b * f).map(|_| rng.uniform() as f32).collect(),
                tokens: words((l - 1) * b, &mut rng),
                dropout_seed: Some(i),
            }),
        })
        .collect();
    Case {
        name: "captions",
        spec: ModelSpec {
            cell: CellKind::Lstm,
            input: h,
            hidden: h,
            output: v,
            cerebellum: Some(CerebellumSpec {
                granule,
                layers: 2,
                sparse_k: None,
                context: 0,
            }),
            words: Some(crate::model::WordSpec {
                features: f,
                vocab: v,
                dropout: 0.5,
            }),
        },
        options: config.train,
        batches,
    }
}

/// Trains on the case's batches for `seconds` after a warm-up, in slices of about half a
/// second with a large-GEMM sample between them, so that the floor is measured under the same
/// conditions as the training (the throughput of a shared machine drifts).
fn measure(case: &Case, seconds: f64, threads: usize) -> BenchResult {
    crate::pool::install(crate::pool::Pool::new(threads), || BenchResult {
        threads,
        ..measure_here(case, seconds)
    })
}

/// [`measure`] on the threads installed on this one.
fn measure_here(case: &Case, seconds: f64) -> BenchResult {
    let mut trainer = Trainer::new(Model::<f32>::new(&case.spec, 0), case.options.clone());
    let warm = Instant::now();
    let mut i = 0;
    while warm.elapsed().as_secs_f64() < seconds.min(1.0) / 3.0 {
        trainer.train_batch(&case.batches[i % case.batches.len()]);
        i += 1;
    }
    let (mut n, mut flops, mut gemm_secs, mut total) = (0usize, 0.0, 0.0, 0.0);
    let mut peaks = vec![peak_gemm_gflops(10)];
    while total < seconds {
        let start = Instant::now();
        let (_, f, g) = profile(|| {
            while start.elapsed().as_secs_f64() < 0.5_f64.min(seconds) || n == 0 {
                trainer.train_batch(&case.batches[n % case.batches.len()]);
                n += 1;
            }
        });
        total += start.elapsed().as_secs_f64();
        (flops, gemm_secs) = (flops + f, gemm_secs + g);
        peaks.push(peak_gemm_gflops(10));
    }
    peaks.sort_by(f64::total_cmp);
    let seqs = (n * case.batches[0].batch) as f64;
    BenchResult {
        name: case.name.to_string(),
        sequences_per_second: seqs / total,
        ms_per_batch: 1e3 * total / n as f64,
        gemm_share: gemm_secs / total,
        gemm_gflops: flops / gemm_secs * 1e-9,
        gflop_per_batch: flops / n as f64 * 1e-9,
        peak_gflops: peaks[peaks.len() / 2],
        batch: case.batches[0].batch,
        threads: crate::pool::threads(),
    }
}

/// Throughput of one large square f32 product (512³, `reps` times after one warm-up): what
/// the GEMM crate reaches on this core, or on the threads installed on this one.
pub fn peak_gemm_gflops(reps: usize) -> f64 {
    let n = 512;
    let a = vec![1.0f32; n * n];
    let mut c = vec![0.0f32; n * n];
    gemm(&mut c, &a, Op::N, &a, Op::N, n, n, n, false);
    let start = Instant::now();
    for _ in 0..reps {
        gemm(&mut c, &a, Op::N, &a, Op::N, n, n, n, false);
    }
    2.0 * (n * n * n * reps) as f64 / start.elapsed().as_secs_f64() * 1e-9
}

/// Measures each configuration whose name contains `only` (all by default) for `seconds` on
/// `threads` threads, handing each result to `each` as it comes. Refuses a duration that is
/// not a positive finite number of seconds, and no threads or more than 1024.
pub fn run(
    seconds: f64,
    only: Option<&str>,
    threads: usize,
    mut each: impl FnMut(&BenchResult),
) -> Result<()> {
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
        bail!("--seconds {seconds}: give a positive number of seconds, at most a day");
    }
    if !(1..=1024).contains(&threads) {
        bail!("--threads {threads}: give a number of threads from 1 to 1024");
    }
    let cases = [
        reach_case("reach ccRNN K=1 (H=50, cerebellum 2x400, B=50, L=10)", true),
        reach_case("reach cRNN K=1 (H=50, B=50, L=10)", false),
        mnist_sized_case(),
        captions_case(),
    ];
    let wanted = |c: &&Case| only.is_none_or(|o| c.name.contains(o));
    let chosen: Vec<&Case> = cases.iter().filter(wanted).collect();
    if chosen.is_empty() {
        let names: Vec<&str> = cases.iter().map(|c| c.name).collect();
        bail!(
            "--only {:?} names no configuration; they are:\n  {}",
            only.unwrap_or_default(),
            names.join("\n  ")
        );
    }
    for case in chosen {
        each(&measure(case, seconds, threads));
    }
    Ok(())
}

/// One epoch of MNIST classification, timed.
pub struct EpochTiming {
    pub sequences: usize,
    pub seconds: f64,
}

/// One epoch of sequential-MNIST classification to time, ccRNN K=3 with a 1x60 cerebellum (the
/// authors' script default), on the real data: read and checked when made, so that a folder
/// that cannot be read fails before anything is timed.
pub struct MnistEpoch {
    task: Box<dyn crate::tasks::Task>,
    trainer: Trainer<f32>,
    batch_size: usize,
}

impl MnistEpoch {
    /// Reads MNIST from `dir` and builds the model.
    pub fn new(dir: &std::path::Path) -> Result<Self> {
        use crate::config::{Config, TaskKind};
        let mut config = Config::defaults(TaskKind::Mnist);
        config.cerebellum.granule = 60;
        config.mnist.data_dir = Some(dir.to_path_buf());
        let task = config.build_task()?;
        let spec = config.model_spec(task.input_size(), task.output_size(), 0);
        let trainer = Trainer::new(Model::<f32>::new(&spec, 0), config.train.clone());
        Ok(MnistEpoch {
            task,
            trainer,
            batch_size: config.batch_size,
        })
    }

    /// Times the training steps of the epoch (the batches built from the u8 images included).
    pub fn time(mut self) -> EpochTiming {
        let n = self.task.batches_per_epoch(self.batch_size);
        let start = Instant::now();
        let mut sequences = 0;
        for i in 0..n {
            let batch = self.task.train_batch(0, i, self.batch_size);
            sequences += batch.batch;
            self.trainer.train_batch(&batch);
        }
        EpochTiming {
            sequences,
            seconds: start.elapsed().as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parameters after training `case` on `batches` batches with `threads` threads inside
    /// the run.
    fn trained(case: &Case, batches: usize, threads: usize) -> Vec<u32> {
        crate::pool::install(crate::pool::Pool::new(threads), || {
            let mut trainer = Trainer::new(Model::<f32>::new(&case.spec, 0), case.options.clone());
            for i in 0..batches {
                trainer.train_batch(&case.batches[i % case.batches.len()]);
            }
            trainer.model.params.iter().map(|p| p.to_bits()).collect()
        })
    }

    #[test]
    fn training_gives_the_same_bits_on_every_thread_count() {
        // The reach ccRNN's cerebellum products (550 × 400 × 400) and loops (550 × 400) are
        // split, its cortex is not. The caption model of 128 captions, 600 words and H = 128 is
        // sized to cross every threshold: its products, the Adam update, the softmax over 512
        // rows of 600 words, the readout's bias (512 × 600), the gate loops (128 × 512 per step)
        // and the cerebellum's ReLU (256 boundary rows × 512 per window) are all split.
        let reach = reach_case("reach", true);
        let captions = captions_sized(128, 64, 600, 128, 512);
        for case in [&reach, &captions] {
            let one = trained(case, 2, 1);
            for threads in [2, 3] {
                assert!(
                    one == trained(case, 2, threads),
                    "{}: {threads} threads",
                    case.name
                );
            }
        }
    }
}
