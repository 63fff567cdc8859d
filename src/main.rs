//! `ccdni`: train cortico-cerebellar recurrent networks from the command line.

use anyhow::Result;
use ccdni::cli::Settings;
use ccdni::config::{Config, ModelKind, TaskKind};
use ccdni::experiments::report;
use ccdni::experiments::stop;
use ccdni::experiments::variants::{self, Experiment, Invocation, Start, Variant, seed_range};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ccdni",
    version,
    about = "Cortico-cerebellar recurrent networks as decoupled neural interfaces"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The reach figure (the default job): cRNN vs ccRNN at K = 1, and full BPTT, over seeds.
    Reach(ReachArgs),
    /// Sequential MNIST (class, line or digit drawing): cRNN vs ccRNN over seeds.
    Mnist(ExperimentArgs),
    /// Horizon sweep: cRNN and ccRNN at several K, normalised performance with paired t-tests.
    Sweep(SweepArgs),
    /// An experiment file (experiments/*.toml): its variants x seeds into one run folder, with
    /// the summary, the plots and the figure's own plots.
    Run(RunArgs),
    /// Caption generation (papers' Fig. 8): cRNN vs ccRNN vs sparse ccRNN at K = 4 on the
    /// built-in caption set, or on COCO-format files (--data, --features); test captions scored
    /// by BLEU and CIDEr-D, by caption length (experiments/captions.toml).
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
    Train(TrainArgs),
    /// Evaluates a saved model on a task's test set (its own by default) and draws its trajectories.
    Eval(ccdni::experiments::eval::EvalArgs),
    /// Goes on with a stopped job (interrupted, preempted, killed) from its checkpoints, to the
    /// same results as a job that was never stopped.
    Resume(ResumeArgs),
    /// Reports a sharded job (--shard) once all its shards have finished: metrics.csv,
    /// summary.json, the plots and the models, as one machine would have written them.
    Aggregate {
        /// The job's shared run folder.
        run_dir: PathBuf,
    },
    /// Writes Slurm job-array scripts for a job: one array task per shard, requeued on
    /// preemption (each goes on from its checkpoints), and an aggregate job after them.
    Slurm(ccdni::experiments::slurm::SlurmArgs),
    /// Data sets: `ccdni data fetch mnist` downloads and verifies MNIST into the cache.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Training speed in sequences per second, one thread.
    Bench(ccdni::experiments::bench::BenchArgs),
    /// Prints the default configuration of a task as TOML (every key a config file may set).
    Config {
        #[arg(long, default_value = "reach")]
        task: String,
    },
}

#[derive(Subcommand)]
enum DataCommand {
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

#[derive(clap::Args, Default)]
struct ExperimentArgs {
    /// Number of seeds, from --seed on (default: 3; reach: 4, with --full 10).
    #[arg(long)]
    seeds: Option<u64>,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Output folder (default: runs/<experiment>-<time>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run one slice of the runs, I of N (0 <= I < N), into the runs' sub-folders of --out;
    /// `slurm`: the array task's. Started again, a shard goes on from its checkpoints.
    #[arg(long, value_name = "I/N|slurm")]
    shard: Option<String>,
    /// With --shard: go on although the shared folder's settings differ from this job's.
    #[arg(long, requires = "shard")]
    force: bool,
    #[command(flatten)]
    settings: Settings,
}

#[derive(clap::Args)]
struct SweepArgs {
    /// Task: reach, mnist or captions.
    #[arg(long, default_value = "mnist")]
    task: String,
    /// Horizons K to compare, each once.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5,7,10,28")]
    horizons: Vec<usize>,
    #[command(flatten)]
    experiment: ExperimentArgs,
}

#[derive(clap::Args, Default)]
struct ReachArgs {
    /// The papers' full setting: 10 seeds (the default runs 4) and the test set every epoch.
    #[arg(long)]
    full: bool,
    #[command(flatten)]
    experiment: ExperimentArgs,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Task: reach, mnist (variant by --variant) or captions; default: the config file's, else reach.
    #[arg(long)]
    task: Option<String>,
    /// Model: crnn or ccrnn; default: the config file's, else ccrnn.
    #[arg(long)]
    model: Option<String>,
    /// Output folder (default: runs/train-<task>-<model>-<time>).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The experiment file, e.g. experiments/lesions.toml.
    file: PathBuf,
    /// The papers' size: the seeds and settings of the file's `[papers]` table.
    #[arg(long)]
    papers: bool,
    #[command(flatten)]
    experiment: ExperimentArgs,
}

#[derive(clap::Args)]
struct CaptionsArgs {
    /// The papers' size (10 seeds, 256 hidden units, 2 x 1024 granule cells, 10 epochs).
    #[arg(long)]
    papers: bool,
    #[command(flatten)]
    experiment: ExperimentArgs,
}

#[derive(clap::Args)]
struct ResumeArgs {
    /// The stopped job's run folder.
    run_dir: PathBuf,
    /// Worker threads (0: all cores; default: as the job was launched).
    #[arg(long)]
    threads: Option<usize>,
    /// A setting to change (KEY=VALUE, as `--set` of the job); refused unless --force.
    #[arg(long, value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Go on although the settings differ from the stopped job's (recorded in resume.log).
    #[arg(long)]
    force: bool,
}

/// Seeds of the default reach job (the papers' 100 epochs; about a minute on 2 cores).
const QUICK_SEEDS: u64 = 4;
const QUICK_TEST_EVERY: usize = 10;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Reach(ReachArgs::default()));
    let result = match command {
        Command::Data {
            command:
                DataCommand::Fetch {
                    dataset,
                    mirrors,
                    cache_dir,
                },
        } => fetch(&dataset, &mirrors, cache_dir),
        Command::Bench(a) => ccdni::experiments::bench::run(&a),
        Command::Config { task } => {
            TaskKind::parse(&task).map(|t| print!("{}", Config::defaults(t).to_toml()))
        }
        Command::Resume(a) => stop::install_signal_handler().and_then(|()| {
            let start = Start::Resume { force: a.force };
            relaunch(&a.run_dir, start, a.set, a.threads)
        }),
        Command::Aggregate { run_dir } => relaunch(&run_dir, Start::Aggregate, Vec::new(), None),
        Command::Slurm(a) => slurm(a),
        Command::Eval(a) => ccdni::experiments::eval::command(a),
        Command::Score {
            refs,
            results,
            json,
        } => ccdni::captions::score_output(&refs, &results, json).map(|out| print!("{out}")),
        job => stop::install_signal_handler().and_then(|()| {
            let invocation = Invocation {
                args: std::env::args_os()
                    .skip(1)
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect(),
                cwd: std::env::current_dir()?,
            };
            run_job(
                job,
                &Start::New {
                    invocation: Some(invocation),
                },
            )
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<stop::Interrupted>().is_some() => {
            eprintln!("{e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A training job, ready to run: its experiment, its default folder name, its horizons (a
/// sweep), and where and how it runs.
struct Job {
    exp: Experiment,
    name: String,
    horizons: Option<Vec<usize>>,
    out: Option<PathBuf>,
    threads: usize,
    shard: Option<String>,
    force: bool,
}

impl Job {
    /// The job of `exp`, run where and how an experiment command's flags say.
    fn of(exp: Experiment, name: String, horizons: Option<Vec<usize>>, a: ExperimentArgs) -> Job {
        Job {
            exp,
            name,
            horizons,
            out: a.out,
            threads: a.threads,
            shard: a.shard,
            force: a.force,
        }
    }
}

/// The job a training command (reach, mnist, sweep, train) describes.
fn job_of(command: Command) -> Result<Job> {
    match command {
        Command::Reach(a) => reach(a),
        Command::Mnist(a) => mnist(a),
        Command::Sweep(a) => sweep(a),
        Command::Run(a) => run_file(a),
        Command::Captions(a) => captions(a),
        Command::Train(a) => train(a),
        _ => anyhow::bail!("this command does not train"),
    }
}

/// Runs a training job into a new folder, a stopped job's folder, one shard of it, or
/// aggregates it (see [`Start`]), and prints its table.
fn run_job(command: Command, start: &Start) -> Result<()> {
    let job = job_of(command)?;
    let start = shard_start(start, &job)?;
    let build = &ccdni::tasks::build;
    let announce = |out: &Path| ccdni::experiments::folder::announce(&job.exp, out);
    let (table, out) =
        ccdni::experiments::folder::in_folder(job.out.clone(), &job.name, announce, |out| {
            let (exp, threads) = (&job.exp, job.threads);
            match &job.horizons {
                Some(h) => ccdni::experiments::sweep::run(exp, h, out, threads, &start, build)
                    .map(|p| p.map(|p| ccdni::experiments::sweep::table(&p))),
                None => match variants::run(exp, out, threads, &start, build)? {
                    Some(o) => {
                        let figure = match &exp.figure {
                            Some(f) => f.draw(exp, &o, out)?,
                            None => String::new(),
                        };
                        Ok(Some(format!("{}\n{figure}", report::table(&o.summary))))
                    }
                    None => Ok(None),
                },
            }
        })?;
    match table {
        Some(table) => println!("{table}"),
        None => println!(
            "this shard's runs are done; when every shard is, report with `ccdni aggregate {}`",
            out.display()
        ),
    }
    println!("results in {}", out.display());
    Ok(())
}

/// The start of a job given `--shard`: its slice of the runs (an aggregation stays one; a
/// sharded job is resumed by starting its shards again).
fn shard_start(start: &Start, job: &Job) -> Result<Start> {
    let Some(spec) = &job.shard else {
        return Ok(start.clone());
    };
    if job.out.is_none() {
        anyhow::bail!("--shard needs --out: the run folder every shard shares");
    }
    match start {
        Start::New { invocation } => Ok(Start::Shard {
            shard: ccdni::experiments::cluster::Shard::parse(spec)?,
            invocation: invocation.clone(),
            force: job.force,
        }),
        Start::Resume { .. } => anyhow::bail!(
            "{} holds a sharded job: start its shards again (each goes on from its runs' checkpoints), then `ccdni aggregate` it",
            job.out.as_deref().unwrap_or(Path::new(".")).display()
        ),
        other => Ok(other.clone()),
    }
}

/// `ccdni resume` and `ccdni aggregate`: launches a job's own command again (kept in its
/// folder's experiment.toml), in its folder, from the folder it was launched from (its relative
/// paths mean what they meant), with `--set` changes appended.
fn relaunch(run_dir: &Path, start: Start, set: Vec<String>, threads: Option<usize>) -> Result<()> {
    let plan_path = run_dir.join("experiment.toml");
    if !plan_path.is_file() {
        anyhow::bail!(
            "{} is not a ccdni run folder (it has no experiment.toml)",
            run_dir.display()
        );
    }
    let (_, invocation) = ccdni::experiments::file::from_run_folder(run_dir)?;
    let Some(invocation) = invocation else {
        anyhow::bail!(
            "{} does not say which command launched the job (it was started from the library, or by an older ccdni), so it cannot be resumed from here",
            plan_path.display()
        );
    };
    let dir = std::path::absolute(run_dir)?;
    if invocation.cwd.is_dir() {
        std::env::set_current_dir(&invocation.cwd)?;
    } else {
        eprintln!(
            "note: the job was launched from {}, which is gone; its relative paths are taken from here",
            invocation.cwd.display()
        );
    }
    let argv = std::iter::once("ccdni".to_string()).chain(invocation.args.iter().cloned());
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        anyhow::anyhow!(
            "the job's command in {} no longer parses: {e}",
            plan_path.display()
        )
    })?;
    let mut job = cli.command.unwrap_or(Command::Reach(ReachArgs::default()));
    let (out, settings, slot) = match &mut job {
        Command::Reach(r) => (
            &mut r.experiment.out,
            &mut r.experiment.settings,
            Some(&mut r.experiment.threads),
        ),
        Command::Mnist(e) => (&mut e.out, &mut e.settings, Some(&mut e.threads)),
        Command::Sweep(s) => (
            &mut s.experiment.out,
            &mut s.experiment.settings,
            Some(&mut s.experiment.threads),
        ),
        Command::Train(t) => (&mut t.out, &mut t.settings, None),
        Command::Run(r) => (
            &mut r.experiment.out,
            &mut r.experiment.settings,
            Some(&mut r.experiment.threads),
        ),
        _ => anyhow::bail!("{} names no training job", plan_path.display()),
    };
    *out = Some(dir);
    settings.set.extend(set);
    if let (Some(t), Some(n)) = (slot, threads) {
        *t = n;
    }
    run_job(job, &start)
}

/// `ccdni slurm ... -- JOB`: checks the job and writes its Slurm scripts.
fn slurm(a: ccdni::experiments::slurm::SlurmArgs) -> Result<()> {
    let argv = std::iter::once("ccdni".to_string()).chain(a.job.iter().cloned());
    let cli = Cli::try_parse_from(argv)
        .map_err(|e| anyhow::anyhow!("the job after `--` does not parse: {e}"))?;
    let Some(command) = cli.command else {
        anyhow::bail!(
            "name the job after `--`, e.g. `ccdni slurm --out DIR -- sweep --task reach`"
        );
    };
    if matches!(command, Command::Train(_)) {
        anyhow::bail!("`train` is a single run: there is nothing to spread over an array");
    }
    let job = job_of(command)?;
    if job.out.is_some() || job.shard.is_some() {
        anyhow::bail!(
            "give the folder to `ccdni slurm --out`, not to the job after `--` (the scripts set the job's --out and --shard)"
        );
    }
    let runs = job.exp.variants.len() * job.exp.seeds.len();
    let exe = std::env::current_exe()?;
    let dir = ccdni::experiments::slurm::write(&a, &job.name, runs, &exe)?;
    println!(
        "{}: {runs} runs in {} array tasks; submit with
  {}",
        job.name,
        a.tasks.unwrap_or(runs),
        dir.join("submit.sh").display()
    );
    Ok(())
}

fn mnist(a: ExperimentArgs) -> Result<Job> {
    let base = a.settings.resolve(TaskKind::Mnist)?;
    let name = base.task_name();
    let exp = Experiment {
        name: name.clone(),
        seeds: seed_range(base.seed, a.seeds.unwrap_or(3))?,
        variants: Variant::crnn_and_ccrnn(),
        base,
        figure: None,
    };
    Ok(Job::of(exp, name, None, a))
}

/// `ccdni run FILE`: the experiment an experiment file describes.
fn run_file(a: RunArgs) -> Result<Job> {
    let spec = ccdni::experiments::file::read(&a.file)?;
    file_job(spec, &a.file, a.papers, a.experiment, "run")
}

/// `ccdni captions`: the built-in experiments/captions.toml.
fn captions(a: CaptionsArgs) -> Result<Job> {
    let path = Path::new("experiments/captions.toml");
    let text = include_str!("../experiments/captions.toml");
    let spec = ccdni::experiments::file::parse(text, path)?;
    file_job(spec, path, a.papers, a.experiment, "captions")
}

/// The job of an experiment file (`path` names it), with the command line's flags over it.
fn file_job(
    spec: ccdni::experiments::file::ExperimentFile,
    path: &Path,
    papers: bool,
    a: ExperimentArgs,
    command: &str,
) -> Result<Job> {
    if a.settings.seed.is_some() {
        anyhow::bail!(
            "--seed does not apply to `{command}`: the file lists its seeds (--seeds N runs N from its first)"
        );
    }
    let exp = spec.experiment(path, papers, a.seeds, |t| {
        a.settings.resolve_over(TaskKind::Reach, t)
    })?;
    if let Some(about) = &spec.about {
        eprintln!("{about}");
    }
    let name = path
        .file_stem()
        .map_or("experiment".into(), |s| s.to_string_lossy().into_owned());
    Ok(Job::of(exp, name, None, a))
}

fn sweep(a: SweepArgs) -> Result<Job> {
    let task = TaskKind::parse(&a.task)?;
    let base = a.experiment.settings.resolve(task)?;
    let name = format!("sweep-{}", base.task_name());
    let seeds = seed_range(base.seed, a.experiment.seeds.unwrap_or(3))?;
    let exp = ccdni::experiments::sweep::experiment(&name, base, seeds, &a.horizons)?;
    Ok(Job::of(exp, name, Some(a.horizons), a.experiment))
}

fn fetch(dataset: &str, mirrors: &[String], cache_dir: Option<PathBuf>) -> Result<()> {
    let cache = match cache_dir {
        Some(d) => d,
        None => ccdni::data::default_cache_dir()?,
    };
    let dir = ccdni::data::fetch::fetch(dataset, mirrors, &cache, true)?;
    println!("{dataset} is in {}", dir.display());
    Ok(())
}

fn reach(a: ReachArgs) -> Result<Job> {
    let (full, a) = (a.full, a.experiment);
    let mut settings = a.settings;
    if !full {
        // The quick job evaluates the 10,000 test sequences every 10th epoch (and after the last).
        settings
            .set
            .insert(0, format!("test_every={QUICK_TEST_EVERY}"));
    }
    let base = settings.resolve(TaskKind::Reach)?;
    let n_seeds = a.seeds.unwrap_or(if full { 10 } else { QUICK_SEEDS });
    let steps = base.steps();
    let exp = Experiment {
        name: "reach".into(),
        seeds: seed_range(base.seed, n_seeds)?,
        variants: [
            Variant::crnn_and_ccrnn(),
            vec![Variant {
                horizon: Some(steps),
                ..Variant::new("BPTT", ModelKind::CRnn)
            }],
        ]
        .concat(),
        base,
        figure: None,
    };
    Ok(Job {
        exp,
        name: "reach".into(),
        horizons: None,
        out: a.out,
        threads: a.threads,
        shard: a.shard,
        force: a.force,
    })
}

fn train(a: TrainArgs) -> Result<Job> {
    let mut settings = a.settings;
    if let Some(model) = &a.model {
        settings.set.insert(0, format!("model={model:?}"));
    }
    if let Some(task) = &a.task {
        TaskKind::parse(task)?;
        settings.set.insert(0, format!("task={task:?}"));
    }
    let base = settings.resolve(TaskKind::Reach)?;
    let (task, label) = (base.task_name(), base.model.label().to_string());
    let exp = Experiment {
        name: format!("{task} {label}"),
        seeds: vec![base.seed],
        variants: vec![Variant::new(&label, base.model)],
        base,
        figure: None,
    };
    let name = format!(
        "train-{task}-{}-seed{}",
        label.to_lowercase(),
        exp.base.seed
    );
    Ok(Job {
        exp,
        name,
        horizons: None,
        out: a.out,
        threads: 1,
        shard: None,
        force: false,
    })
}
