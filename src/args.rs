//! The command line: argv as clap parses it, and what each command's flags mean, turned into
//! the library's values (settings as [`Overrides`], jobs as [`Experiment`]s).

use crate::flags::{Settings, int};
use anyhow::{Context, Result, bail};
use ccdni::config::TaskKind;
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
        /// Print the scores in full precision with each image's CIDEr-D, as JSON.
        #[arg(long)]
        json: bool,
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
        job_dir: PathBuf,
    },
    /// The ccRNN's gain over the cRNN split into what a constant cerebellum already gives and
    /// what the cortical state adds, over finished jobs (one per task, e.g. the
    /// what-the-cerebellum-learns experiments): glance.json, glance.png and glance_late.png.
    Report(ReportArgs),
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
    /// Prints the configuration of a task as TOML (every key a config file may set): its
    /// defaults, or with --config and --set laid over them, resolved and checked as a run
    /// would. A commented `[areas]` section lists the two-area settings when there is none.
    Config {
        /// The task (default: the file's, else reach); wins over the file's.
        #[arg(long)]
        task: Option<String>,
        /// TOML file of settings (any subset) laid over the defaults.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// A setting as KEY=VALUE, laid over the file, e.g. --set areas.delay=2.
        #[arg(long, value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
}

/// The jobs and labels of `ccdni report`.
#[derive(Args)]
pub struct ReportArgs {
    /// Finished job folders, one per task, in the figure's order.
    #[arg(required = true, value_name = "JOB_DIR")]
    pub job_dirs: Vec<PathBuf>,
    /// Folder for glance.json and the figures.
    #[arg(long)]
    pub out: PathBuf,
    /// The cRNN's variant label in every job.
    #[arg(long, default_value = "cRNN")]
    pub reference: String,
    /// The constant cerebellum's (cerebellum.input = "none").
    #[arg(long, default_value = "constant")]
    pub constant: String,
    /// The ccRNN's.
    #[arg(long, default_value = "ccRNN")]
    pub ccrnn: String,
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
    /// Cores in all (0: all cores): as many runs at once as there are cores, and the cores
    /// left over share the large matrix products inside the runs.
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
    pub job_dir: PathBuf,
    /// Cores in all (0: all cores): as many runs at once as there are cores, and the cores
    /// left over share the large matrix products inside the runs.
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
    /// Threads inside the one training run measured (0: all cores; its large products, optimizer update and
    /// softmax split over them); the floor is then the large product's speed on as many.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Also time one epoch of sequential-MNIST classification (ccRNN K=3, cerebellum 1x60,
    /// 48k sequences) on the real data in this folder.
    #[arg(long, value_name = "DIR")]
    pub mnist_epoch: Option<PathBuf>,
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
    if file.source.starts_with("built-in") {
        crate::show::note(&format!(
            "no file {}: running the {} experiment",
            path.display(),
            file.source
        ));
    }
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
