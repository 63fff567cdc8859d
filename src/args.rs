//! The command line: argv as clap parses it, and what each command's flags mean, turned into
//! the library's values (settings as [`Overrides`], jobs as [`Experiment`]s).

use anyhow::{Context, Result, bail};
use ccdni::config::{Config, Overrides, TaskKind, task_word};
use ccdni::job::spec::{self, Experiment, file::Size, seed_range};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use toml::Value;

#[derive(Parser)]
#[command(
    name = "ccdni",
    version,
    about = "Cortico-cerebellar recurrent networks as decoupled neural interfaces"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// The reach figure (the default job): cRNN vs ccRNN at K = 1, and full BPTT, over seeds
    /// (the built-in experiments/reach.toml).
    #[command(allow_negative_numbers = true)]
    Reach(ReachArgs),
    /// Sequential MNIST (class, line or digit drawing): cRNN vs ccRNN over seeds (the built-in
    /// experiments/mnist.toml).
    #[command(allow_negative_numbers = true)]
    Mnist(ExperimentArgs),
    /// Horizon sweep: cRNN and ccRNN at several K, normalised performance with paired t-tests.
    #[command(allow_negative_numbers = true)]
    Sweep(SweepArgs),
    /// An experiment file (experiments/*.toml, or a built-in one by name): its variants x seeds
    /// into one job folder, with the summary, the plots and the figure's own plots.
    #[command(allow_negative_numbers = true)]
    Run(RunArgs),
    /// Caption generation (papers' Fig. 8): cRNN vs ccRNN vs sparse ccRNN at K = 4 on the
    /// built-in caption set, or on COCO-format files (--data, --features); test captions scored
    /// by BLEU and CIDEr-D, by caption length (experiments/captions.toml).
    #[command(allow_negative_numbers = true)]
    Captions(CaptionsArgs),
    /// Scores captions as the COCO caption evaluation does (BLEU-1..4, CIDEr-D): a results file
    /// ([{"image_id", "caption"}]) against COCO-format reference annotations.
    Score {
        /// Reference captions, COCO annotation format (captions_val2014.json).
        #[arg(long, value_name = "FILE")]
        refs: PathBuf,
        /// Generated captions, COCO results format.
        #[arg(long, value_name = "FILE")]
        results: PathBuf,
    },
    /// One run of one model with every setting as a flag or in a TOML file.
    #[command(allow_negative_numbers = true)]
    Train(TrainArgs),
    /// Evaluates a saved model on a task's test set (its own by default) and draws its
    /// trajectories.
    #[command(allow_negative_numbers = true)]
    Eval(EvalArgs),
    /// Goes on with a stopped job (interrupted, preempted, killed, or sharded) from its
    /// folder: runs the job stored there, each unfinished run from its checkpoint, to the same
    /// results as a job that was never stopped.
    Resume(ResumeArgs),
    /// Reports a job whose runs have all finished (a sharded job once its shards are done):
    /// metrics.csv, summary.json, the plots and the figure, as one machine would have written them.
    Aggregate {
        /// The job folder.
        run_dir: PathBuf,
    },
    /// Writes Slurm job-array scripts for a job: the job is stored in the folder, one array
    /// task runs each shard, requeued on preemption (each goes on from its checkpoints), and an
    /// aggregate job reports it after them.
    Slurm(SlurmArgs),
    /// Data sets: `ccdni data fetch mnist` downloads and verifies MNIST into the cache.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Training speed in sequences per second, one thread.
    Bench(BenchArgs),
    /// Prints the default configuration of a task as TOML (every key a config file may set).
    Config {
        #[arg(long, default_value = "reach")]
        task: String,
    },
}

#[derive(Subcommand)]
pub enum DataCommand {
    /// Downloads a data set's four IDX files, verifying their SHA-256 checksums.
    Fetch {
        /// mnist or fashion-mnist.
        dataset: String,
        /// Base URL to try (repeatable; the built-in mirrors when none is given).
        #[arg(long = "mirror", value_name = "URL")]
        mirrors: Vec<String>,
        /// Cache folder (default: $CCDNI_CACHE_DIR, else ~/.cache/ccdni).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
}

/// Where and how a multi-run job runs.
#[derive(Args, Default)]
pub struct ExperimentArgs {
    /// Number of seeds, from the first (--seed, else the experiment's first; default: the
    /// experiment's: reach 4, with --full 10; mnist 3).
    #[arg(long)]
    pub seeds: Option<u64>,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Output folder (default: runs/<experiment>-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run one slice of the runs, I of N (0 <= I < N), into the run folders of --out;
    /// `slurm`: the array task's. Started again, a shard goes on from its checkpoints.
    #[arg(long, value_name = "I/N|slurm")]
    pub shard: Option<String>,
    /// With --shard: go on although the shared folder's settings differ from this job's.
    #[arg(long, requires = "shard")]
    pub force: bool,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Args)]
pub struct SweepArgs {
    /// Task: reach, mnist, captions or file.
    #[arg(long, default_value = "mnist")]
    pub task: String,
    /// Horizons K to compare, each once.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5,7,10,28")]
    pub horizons: Vec<usize>,
    #[command(flatten)]
    pub experiment: ExperimentArgs,
}

#[derive(Args, Default)]
pub struct ReachArgs {
    /// The papers' full setting: 10 seeds (the default runs 4) and the test set every epoch.
    #[arg(long)]
    pub full: bool,
    #[command(flatten)]
    pub experiment: ExperimentArgs,
}

#[derive(Args)]
pub struct TrainArgs {
    /// Task: reach, mnist (variant by --variant), captions or file (--inputs, --targets);
    /// default: the config file's, else reach.
    #[arg(long)]
    pub task: Option<String>,
    /// Model: crnn or ccrnn; default: the config file's, else ccrnn.
    #[arg(long)]
    pub model: Option<String>,
    /// Output folder (default: runs/train-<task>-<model>-seed<k>-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Args)]
pub struct RunArgs {
    /// The experiment file, e.g. experiments/lesions.toml, or a built-in experiment's name
    /// (lesions).
    pub file: PathBuf,
    /// The papers' size: the seeds and settings of the file's `[papers]` table.
    #[arg(long)]
    pub papers: bool,
    #[command(flatten)]
    pub experiment: ExperimentArgs,
}

#[derive(Args)]
pub struct CaptionsArgs {
    /// The papers' size (10 seeds, 256 hidden units, 2 x 1024 granule cells, 10 epochs).
    #[arg(long)]
    pub papers: bool,
    #[command(flatten)]
    pub experiment: ExperimentArgs,
}

#[derive(Args)]
pub struct ResumeArgs {
    /// The stopped job's folder.
    pub run_dir: PathBuf,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// A setting to change (KEY=VALUE, as `--set` of the job); refused unless --force.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Go on although the settings differ from the stopped job's (recorded in resume.log).
    #[arg(long)]
    pub force: bool,
    /// Run only one slice of the job's runs, I of N, and report nothing (as `--shard` of the
    /// job's command; `slurm`: the array task's).
    #[arg(long, value_name = "I/N|slurm", conflicts_with = "set")]
    pub shard: Option<String>,
}

#[derive(Args)]
pub struct SlurmArgs {
    /// The job folder, on a file system every node sees; the scripts go to its slurm/.
    #[arg(long)]
    pub out: PathBuf,
    /// Array tasks; each runs every N-th run of the job (default: one task per run).
    #[arg(long)]
    pub tasks: Option<usize>,
    /// Slurm partition (default: the cluster's).
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit of each array task (Slurm's format, e.g. 04:00:00).
    #[arg(long, default_value = "04:00:00", allow_hyphen_values = true)]
    pub time: String,
    /// CPUs per array task (its runs train on that many threads).
    #[arg(long, default_value_t = 1)]
    pub cpus: usize,
    /// Memory per array task (Slurm's format, e.g. 4G; default: the cluster's).
    #[arg(long, allow_hyphen_values = true)]
    pub mem: Option<String>,
    /// The job, after `--`: e.g. `-- sweep --task reach --horizons 1,2,5,10 --seeds 10`.
    #[arg(last = true, required = true, value_name = "JOB")]
    pub job: Vec<String>,
}

#[derive(Args)]
pub struct EvalArgs {
    /// The model file: a run's runs/<model>-seed<k>/model.safetensors.
    pub model: PathBuf,
    /// Task: reach or mnist (default: the model's own); its sizes must be the model's.
    #[arg(long)]
    pub task: Option<String>,
    /// Sequential-MNIST variant: class, line or digit (default: the model's own).
    #[arg(long, value_name = "class|line|digit")]
    pub variant: Option<String>,
    /// Folder with the IDX files of MNIST; wins over the model's config, $CCDNI_DATA_DIR and the cache.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Seed the task's sets are drawn from (default: the model's run seed, so the test set is
    /// the run's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// A setting of the task as KEY=VALUE (task, seed, eval_batch, reach.*, mnist.*), e.g.
    /// --set reach.test_samples=1000.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Output folder (default: runs/eval-<model>-seed<k>-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Seconds to measure each configuration for (after a warm-up).
    #[arg(long, default_value_t = 3.0, allow_negative_numbers = true)]
    pub seconds: f64,
    /// Only the configurations whose name contains this text (e.g. "cRNN", "MNIST").
    #[arg(long)]
    pub only: Option<String>,
    /// Also time one epoch of sequential-MNIST classification (ccRNN K=3, cerebellum 1x60,
    /// 48k sequences) on the real data in this folder.
    #[arg(long, value_name = "DIR")]
    pub mnist_epoch: Option<PathBuf>,
}

/// Settings of a run. Every flag overrides the config file, which overrides the task's defaults.
#[derive(Args, Debug, Default, Clone)]
pub struct Settings {
    /// TOML file of settings (any subset; see `ccdni config` for every key).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run seed (initialisation, data, sparse mask, split); for a multi-run job, the first seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Training epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Late phase of training for the second normalised performance: the last fraction of the
    /// epochs, in (0, 1] (default 0.5, the last half; the all-epoch figure is always reported).
    #[arg(long, value_name = "FRACTION")]
    pub late_phase: Option<f64>,
    /// Write each run's checkpoint every N epochs (and after the last, and when stopped; 0:
    /// only then).
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// Sequences per training batch.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Record the network at every window boundary every N training batches (0: never; the
    /// arrays go to each run's recordings/).
    #[arg(long, value_name = "N")]
    pub record_every: Option<usize>,
    /// Measure the network after every epoch on the first N validation sequences (0: never;
    /// alignment, population and weight statistics into learning.csv and learning/).
    #[arg(long, value_name = "N")]
    pub probe: Option<usize>,
    /// Cortical cell: lstm or tanh.
    #[arg(long, value_name = "lstm|tanh")]
    pub cell: Option<String>,
    /// Cortical hidden units H.
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Granule cells per granule layer.
    #[arg(long)]
    pub granule: Option<usize>,
    /// Number of granule layers.
    #[arg(long)]
    pub granule_layers: Option<usize>,
    /// Sparse mossy fibres: inputs kept per granule cell.
    #[arg(long)]
    pub sparse_k: Option<usize>,
    /// Feed the one-hot cue/label to the cerebellum as context (cDNI).
    #[arg(long)]
    pub context: bool,
    /// The cerebellum learns but its prediction is not applied (control).
    #[arg(long)]
    pub silent_cerebellum: bool,
    /// Feedback horizon K (steps per truncated-BPTT window).
    #[arg(long, short = 'k')]
    pub horizon: Option<usize>,
    /// Scale of the injected cerebellar prediction.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Cerebellum loss over the batch: sum (authors' code) or mean.
    #[arg(long, value_name = "sum|mean")]
    pub cerebellum_loss: Option<String>,
    /// Do not inject the cerebellar prediction at the end of the last window.
    #[arg(long)]
    pub no_inject_last: bool,
    /// Optimizer step per batch or per window.
    #[arg(long, value_name = "batch|window")]
    pub update: Option<String>,
    /// Global gradient-norm clipping threshold (0: off).
    #[arg(long)]
    pub clip: Option<f64>,
    /// Optimizer: adam, sgd (with --momentum) or rmsprop.
    #[arg(long, value_name = "adam|sgd|rmsprop")]
    pub optimizer: Option<String>,
    /// SGD momentum.
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Cerebellar ablation from this epoch on (1-based).
    #[arg(long, value_name = "EPOCH")]
    pub cerebellum_lesion_at: Option<usize>,
    /// Inferior-olive ablation from this epoch on (1-based).
    #[arg(long, value_name = "EPOCH")]
    pub olive_lesion_at: Option<usize>,
    /// Task feedback on every N-th step (drawing tasks).
    #[arg(long, value_name = "N")]
    pub feedback_interval: Option<usize>,
    /// Sequential-MNIST variant: class, line (LD) or digit (DD).
    #[arg(long, value_name = "class|line|digit")]
    pub variant: Option<String>,
    /// Folder with the IDX files of MNIST (or Fashion-MNIST); wins over $CCDNI_DATA_DIR and the cache.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Captions: COCO-format caption annotations (captions_train2014.json); with --features.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Captions: the images' features, .npy (float32, a row per image; with --image-ids) or
    /// .safetensors (`features` and `image_ids`).
    #[arg(long, value_name = "FILE")]
    pub features: Option<PathBuf>,
    /// Captions: the image id of each row of a .npy --features file (.npy or .json list).
    #[arg(long, value_name = "FILE")]
    pub image_ids: Option<PathBuf>,
    /// File task: the training inputs, N × L × I floats (.npy, or .npz / .safetensors of one array).
    #[arg(long, value_name = "FILE")]
    pub inputs: Option<PathBuf>,
    /// File task: the training targets, N × L × O floats or N × L integer labels (-1: none).
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,
    /// File task: where the targets are scored, N × L or N × L × O zeros and ones.
    #[arg(long, value_name = "FILE")]
    pub mask: Option<PathBuf>,
    /// Any setting as KEY=VALUE (TOML value), e.g. --set reach.input_noise=0.05.
    #[arg(long, value_name = "KEY=VALUE", allow_hyphen_values = true)]
    pub set: Vec<String>,
}

/// An integer flag as a TOML integer, refusing one beyond TOML's range (it would wrap).
fn int(flag: &str, v: impl Into<u128>) -> Result<Value> {
    let v = v.into();
    i64::try_from(v)
        .map(Value::Integer)
        .map_err(|_| anyhow::anyhow!("{flag} {v} is out of range (at most {})", i64::MAX))
}

impl Settings {
    /// The settings these flags give, in the order they lie over each other: the config file,
    /// then each flag, then each `--set`.
    pub fn overrides(&self) -> Result<Overrides> {
        let mut o = Overrides {
            file: self.config.clone(),
            settings: Vec::new(),
        };
        let u = |v: Option<usize>| v.map(|v| v as u128);
        let ints = [
            ("seed", "--seed", self.seed.map(u128::from)),
            ("epochs", "--epochs", u(self.epochs)),
            (
                "checkpoint_every",
                "--checkpoint-every",
                u(self.checkpoint_every),
            ),
            ("batch_size", "--batch-size", u(self.batch_size)),
            ("cortex.hidden", "--hidden", u(self.hidden)),
            ("cerebellum.granule", "--granule", u(self.granule)),
            (
                "cerebellum.layers",
                "--granule-layers",
                u(self.granule_layers),
            ),
            ("cerebellum.sparse_k", "--sparse-k", u(self.sparse_k)),
            ("train.horizon", "--horizon", u(self.horizon)),
            (
                "lesion.cerebellum_at",
                "--cerebellum-lesion-at",
                u(self.cerebellum_lesion_at),
            ),
            (
                "lesion.olive_at",
                "--olive-lesion-at",
                u(self.olive_lesion_at),
            ),
            ("record.every", "--record-every", u(self.record_every)),
            ("record.probe", "--probe", u(self.probe)),
        ];
        for (key, flag, v) in ints {
            if let Some(v) = v {
                o.set(key, int(flag, v)?);
            }
        }
        let text = |v: &Option<String>| v.clone().map(Value::String);
        let path = |v: &Option<PathBuf>| v.as_ref().map(|p| Value::String(p.display().to_string()));
        let float = |v: Option<f64>| v.map(Value::Float);
        let on = |given: bool, v: bool| given.then_some(Value::Boolean(v));
        let values = [
            ("cortex.cell", text(&self.cell)),
            ("train.cerebellum_loss", text(&self.cerebellum_loss)),
            ("train.update", text(&self.update)),
            ("mnist.variant", text(&self.variant)),
            ("late_phase", float(self.late_phase)),
            ("train.lambda", float(self.lambda)),
            ("train.lr", float(self.lr)),
            ("train.clip", float(self.clip)),
            ("cerebellum.context", on(self.context, true)),
            ("cerebellum.silent", on(self.silent_cerebellum, true)),
            (
                "train.inject_at_last_window",
                on(self.no_inject_last, false),
            ),
            ("mnist.data_dir", path(&self.data_dir)),
            ("captions.data", path(&self.data)),
            ("captions.features", path(&self.features)),
            ("captions.image_ids", path(&self.image_ids)),
            ("file.inputs", path(&self.inputs)),
            ("file.targets", path(&self.targets)),
            ("file.mask", path(&self.mask)),
            ("train.optimizer", self.optimizer_table()?),
        ];
        for (key, v) in values {
            if let Some(v) = v {
                o.set(key, v);
            }
        }
        for kv in &self.set {
            o.set_text(kv)?;
        }
        Ok(o)
    }

    /// The optimizer `--optimizer` and `--momentum` name, with its defaults.
    fn optimizer_table(&self) -> Result<Option<Value>> {
        let fields: Vec<(&str, Value)> = match (self.optimizer.as_deref(), self.momentum) {
            (None, None) => return Ok(None),
            (Some("adam"), None) => vec![
                ("name", Value::String("adam".into())),
                ("beta1", Value::Float(0.9)),
                ("beta2", Value::Float(0.98)),
                ("eps", Value::Float(1e-9)),
            ],
            (Some("rmsprop"), None) => vec![
                ("name", Value::String("rmsprop".into())),
                ("alpha", Value::Float(0.99)),
                ("eps", Value::Float(1e-8)),
            ],
            (Some("sgd") | None, m) => vec![
                ("name", Value::String("sgd".into())),
                ("momentum", Value::Float(m.unwrap_or(0.9))),
            ],
            (Some(name @ ("adam" | "rmsprop")), Some(_)) => {
                bail!("--momentum applies only to --optimizer sgd, not {name}")
            }
            (Some(other), _) => bail!("--optimizer {other}: expected adam, sgd or rmsprop"),
        };
        let table = fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Ok(Some(Value::Table(table)))
    }

    /// The configuration for `task` (unless the file or a setting names another), with the
    /// table `under` (an experiment file's settings), the file and the flags laid over its
    /// defaults in that order, validated.
    pub fn resolve(&self, task: TaskKind, under: &toml::Table) -> Result<Config> {
        let mut overrides = self.overrides()?;
        if let Some(n) = self.feedback_interval {
            // The task's own feedback interval (the file or --set may name another task).
            let task = overrides.resolve(task, under).map_or(task, |c| c.task);
            let section = if task == TaskKind::Mnist {
                "mnist"
            } else {
                "reach"
            };
            let key = format!("{section}.feedback_interval");
            overrides.set(&key, int("--feedback-interval", n as u128)?);
        }
        let config = overrides.resolve(task, under)?;
        self.only_for(&config)?;
        Ok(config)
    }

    /// Refuses flags of another task than the configuration's.
    fn only_for(&self, config: &Config) -> Result<()> {
        let per_task = [
            (TaskKind::Mnist, "--variant", self.variant.is_some()),
            (TaskKind::Mnist, "--data-dir", self.data_dir.is_some()),
            (TaskKind::Captions, "--data", self.data.is_some()),
            (TaskKind::Captions, "--features", self.features.is_some()),
            (TaskKind::Captions, "--image-ids", self.image_ids.is_some()),
            (TaskKind::File, "--inputs", self.inputs.is_some()),
            (TaskKind::File, "--targets", self.targets.is_some()),
            (TaskKind::File, "--mask", self.mask.is_some()),
        ];
        for (task, flag, given) in per_task {
            if given && config.task != task {
                bail!(
                    "{flag} applies only to the {} task, but the task is {}",
                    task_word(task),
                    task_word(config.task)
                );
            }
        }
        Ok(())
    }
}

/// A training job as a command describes it: its experiment, its default folder name, and
/// where and how it runs.
pub struct JobCommand {
    pub spec: Experiment,
    /// The default folder's name (`runs/<name>-<time>`).
    pub name: String,
    /// One line on what the experiment shows (an experiment file's `about`).
    pub about: Option<String>,
    pub out: Option<PathBuf>,
    pub threads: usize,
    pub shard: Option<String>,
    pub force: bool,
}

impl Command {
    /// The job of a training command (reach, mnist, sweep, run, captions, train); `None` for
    /// the others.
    pub fn job(self) -> Option<Result<JobCommand>> {
        Some(match self {
            Command::Reach(a) => {
                let size = Size {
                    papers: a.full,
                    ..Size::default()
                };
                builtin_job("reach", size, a.experiment)
            }
            Command::Mnist(a) => builtin_job("mnist", Size::default(), a),
            Command::Captions(a) => {
                let size = Size {
                    papers: a.papers,
                    ..Size::default()
                };
                builtin_job("captions", size, a.experiment)
            }
            Command::Run(a) => file_job(&a.file, a.papers, a.experiment),
            Command::Sweep(a) => sweep_job(a),
            Command::Train(a) => train_job(a),
            _ => return None,
        })
    }
}

/// The job of the built-in experiment `name`.
fn builtin_job(name: &str, size: Size, a: ExperimentArgs) -> Result<JobCommand> {
    let text = spec::file::builtin(name).expect("the built-in experiments are compiled in");
    let file = spec::file::parse(text, &format!("built-in {name}"))?;
    from_file(file, name, size, a)
}

/// The job of an experiment file (or a built-in experiment named by `path`).
fn file_job(path: &Path, papers: bool, a: ExperimentArgs) -> Result<JobCommand> {
    let file = spec::file::read(path)?;
    let name = path
        .file_stem()
        .map_or("experiment".into(), |s| s.to_string_lossy().into_owned());
    let size = Size {
        papers,
        ..Size::default()
    };
    from_file(file, &name, size, a)
}

fn from_file(
    file: spec::file::ExperimentFile,
    name: &str,
    size: Size,
    a: ExperimentArgs,
) -> Result<JobCommand> {
    let size = Size {
        first_seed: a.settings.seed,
        seeds: a.seeds,
        ..size
    };
    let spec = file.experiment(size, |t| a.settings.resolve(TaskKind::Reach, t))?;
    Ok(JobCommand {
        spec,
        name: name.to_string(),
        about: file.about.clone(),
        out: a.out,
        threads: a.threads,
        shard: a.shard,
        force: a.force,
    })
}

fn sweep_job(a: SweepArgs) -> Result<JobCommand> {
    let task = TaskKind::parse(&a.task)?;
    let e = a.experiment;
    let base = e.settings.resolve(task, &toml::Table::new())?;
    let name = format!("sweep-{}", base.task_name());
    let seeds = seed_range(base.seed, e.seeds.unwrap_or(3))?;
    let spec = spec::sweep(&name, base, seeds, &a.horizons)?;
    Ok(JobCommand {
        spec,
        name,
        about: None,
        out: e.out,
        threads: e.threads,
        shard: e.shard,
        force: e.force,
    })
}

fn train_job(a: TrainArgs) -> Result<JobCommand> {
    let mut settings = a.settings;
    if let Some(model) = &a.model {
        settings.set.insert(0, format!("model={model:?}"));
    }
    if let Some(task) = &a.task {
        TaskKind::parse(task)?;
        settings.set.insert(0, format!("task={task:?}"));
    }
    let base = settings.resolve(TaskKind::Reach, &toml::Table::new())?;
    let name = format!(
        "train-{}-{}-seed{}",
        base.task_name(),
        base.model.label().to_lowercase(),
        base.seed
    );
    Ok(JobCommand {
        spec: spec::single_run(base),
        name,
        about: None,
        out: a.out,
        threads: 1,
        shard: None,
        force: false,
    })
}

impl EvalArgs {
    /// The settings of the task evaluated on, as `(key, value)` pairs.
    pub fn settings(&self) -> Result<Vec<(String, Value)>> {
        let mut settings = Vec::new();
        if let Some(task) = &self.task {
            TaskKind::parse(task)?;
            settings.push(("task".to_string(), Value::String(task.clone())));
        }
        if let Some(v) = &self.variant {
            settings.push(("mnist.variant".to_string(), Value::String(v.clone())));
        }
        if let Some(d) = &self.data_dir {
            let d = Value::String(d.display().to_string());
            settings.push(("mnist.data_dir".to_string(), d));
        }
        if let Some(seed) = self.seed {
            settings.push(("seed".to_string(), int("--seed", seed)?));
        }
        for kv in &self.set {
            settings.push(ccdni::config::parse_setting(kv)?);
        }
        Ok(settings)
    }
}

impl SlurmArgs {
    /// The Slurm options, and the job after `--`.
    pub fn split(self) -> Result<(ccdni::job::slurm::SlurmOptions, JobCommand)> {
        let argv = std::iter::once("ccdni".to_string()).chain(self.job.iter().cloned());
        let cli = Cli::try_parse_from(argv)
            .map_err(|e| anyhow::anyhow!("the job after `--` does not parse: {e}"))?;
        let Some(command) = cli.command else {
            bail!("name the job after `--`, e.g. `ccdni slurm --out DIR -- sweep --task reach`");
        };
        if matches!(command, Command::Train(_)) {
            bail!("`train` is a single run: there is nothing to spread over an array");
        }
        let job = command.job().context(
            "the job after `--` must be a training job (reach, mnist, sweep, run, captions)",
        )??;
        if job.out.is_some() || job.shard.is_some() {
            bail!(
                "give the folder to `ccdni slurm --out`, not to the job after `--` (the scripts run the job stored there, each array task its shard)"
            );
        }
        let options = ccdni::job::slurm::SlurmOptions {
            tasks: self.tasks,
            partition: self.partition,
            time: self.time,
            cpus: self.cpus,
            mem: self.mem,
        };
        Ok((options, job))
    }
}
