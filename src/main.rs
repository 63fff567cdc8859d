//! `ccdni`: train cortico-cerebellar recurrent networks from the command line.

use anyhow::Result;
use ccdni::cli::Settings;
use ccdni::config::{Config, ModelKind, TaskKind};
use ccdni::experiments::report;
use ccdni::experiments::variants::{self, Experiment, Variant};
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
    /// One run of one model with every setting as a flag or in a TOML file.
    Train(TrainArgs),
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
    #[command(flatten)]
    settings: Settings,
}

#[derive(clap::Args)]
struct SweepArgs {
    /// Task: reach or mnist.
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
struct TrainArgs {
    /// Task: reach or mnist (variant by --variant); default: the config file's, else reach.
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

/// Seeds of the default reach job (the papers' 100 epochs; about a minute on 2 cores).
const QUICK_SEEDS: u64 = 4;
const QUICK_TEST_EVERY: usize = 10;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Reach(ReachArgs::default())) {
        Command::Reach(a) => reach(a),
        Command::Mnist(a) => mnist(a),
        Command::Sweep(a) => sweep(a),
        Command::Run(a) => run_file(a),
        Command::Train(a) => train(a),
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
            parse_task(&task).map(|t| print!("{}", Config::defaults(t).to_toml()))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_task(name: &str) -> Result<TaskKind> {
    let kind: Result<TaskKind, _> = toml::Value::String(name.to_string()).try_into();
    kind.map_err(|_| anyhow::anyhow!("unknown task `{name}` (expected: reach or mnist)"))
}

fn mnist(a: ExperimentArgs) -> Result<()> {
    let base = a.settings.resolve(TaskKind::Mnist)?;
    let name = task_name(&base);
    let exp = Experiment {
        name: name.clone(),
        seeds: seed_range(base.seed, a.seeds.unwrap_or(3))?,
        variants: Variant::crnn_and_ccrnn(),
        base,
        figure: None,
    };
    run_experiment(&exp, a.out, &name, a.threads)
}

fn variant_name(c: &Config) -> String {
    toml::Value::try_from(c.mnist.variant)
        .map_or("mnist".into(), |v| v.as_str().unwrap_or("").to_string())
}

fn sweep(a: SweepArgs) -> Result<()> {
    let task = parse_task(&a.task)?;
    let base = a.experiment.settings.resolve(task)?;
    let name = format!("sweep-{}", task_name(&base));
    let seeds = seed_range(base.seed, a.experiment.seeds.unwrap_or(3))?;
    let exp = ccdni::experiments::sweep::experiment(&name, base, seeds, &a.horizons)?;
    let (points, out) = in_folder(a.experiment.out, &name, &exp, |out| {
        ccdni::experiments::sweep::run(
            &exp,
            &a.horizons,
            out,
            a.experiment.threads,
            &ccdni::tasks::build,
        )
    })?;
    println!("{}", ccdni::experiments::sweep::table(&points));
    println!("results in {}", out.display());
    Ok(())
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

fn reach(a: ReachArgs) -> Result<()> {
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
    run_experiment(&exp, a.out, "reach", a.threads)
}

fn run_file(a: RunArgs) -> Result<()> {
    use ccdni::experiments::file;
    let settings = &a.experiment.settings;
    if settings.seed.is_some() {
        anyhow::bail!(
            "--seed does not apply to `run`: the file lists its seeds (--seeds N runs N from its first)"
        );
    }
    let spec = file::read(&a.file)?;
    let exp = spec.experiment(&a.file, a.papers, a.experiment.seeds, |t| {
        settings.resolve_over(TaskKind::Reach, t)
    })?;
    if let Some(about) = &spec.about {
        eprintln!("{about}");
    }
    let name = a
        .file
        .file_stem()
        .map_or("experiment".into(), |s| s.to_string_lossy().into_owned());
    let ((outcome, figure), out) = in_folder(a.experiment.out, &name, &exp, |out| {
        let outcome = variants::run(&exp, out, a.experiment.threads, &ccdni::tasks::build)?;
        let figure = match &exp.figure {
            Some(f) => f.draw(&exp, &outcome, out)?,
            None => String::new(),
        };
        Ok((outcome, figure))
    })?;
    println!("{}", report::table(&outcome.summary));
    print!("{figure}");
    println!("results in {}", out.display());
    Ok(())
}

fn train(a: TrainArgs) -> Result<()> {
    let mut settings = a.settings;
    if let Some(model) = &a.model {
        settings.set.insert(0, format!("model={model:?}"));
    }
    if let Some(task) = &a.task {
        parse_task(task)?;
        settings.set.insert(0, format!("task={task:?}"));
    }
    let base = settings.resolve(TaskKind::Reach)?;
    let (task, label) = (task_name(&base), base.model.label().to_string());
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
    run_experiment(&exp, a.out, &name, 1)
}

/// `reach`, or `mnist-<variant>`.
fn task_name(c: &Config) -> String {
    match c.task {
        TaskKind::Reach => "reach".to_string(),
        TaskKind::Mnist => format!("mnist-{}", variant_name(c)),
    }
}

fn announce(exp: &Experiment, out: &Path) {
    eprintln!(
        "{}: {} variants x {} seeds x {} epochs -> {}",
        exp.name,
        exp.variants.len(),
        exp.seeds.len(),
        exp.base.epochs,
        out.display()
    );
}

fn run_experiment(
    exp: &Experiment,
    out: Option<PathBuf>,
    name: &str,
    threads: usize,
) -> Result<()> {
    let (outcome, out) = in_folder(out, name, exp, |out| {
        variants::run(exp, out, threads, &ccdni::tasks::build)
    })?;
    println!("{}", report::table(&outcome.summary));
    println!("results in {}", out.display());
    Ok(())
}

/// The most seeds one experiment may run.
const MAX_SEEDS: u64 = 100_000;

/// `n` consecutive seeds from `first`, refusing none, absurdly many, or seeds past the largest a
/// config file can hold (`i64::MAX`).
fn seed_range(first: u64, n: u64) -> Result<Vec<u64>> {
    if n == 0 {
        anyhow::bail!("--seeds must be at least 1 (got 0)");
    }
    if n > MAX_SEEDS {
        anyhow::bail!("--seeds {n} is too many: at most {MAX_SEEDS} seeds per experiment");
    }
    match first.checked_add(n - 1) {
        Some(last) if last <= i64::MAX as u64 => Ok((first..=last).collect()),
        _ => anyhow::bail!(
            "--seed {first} with --seeds {n} goes past the largest seed, {}",
            i64::MAX
        ),
    }
}

/// Runs `job` in the folder given with --out, or in a new default folder
/// `runs/<name>-<UTC time>`: if another run has just taken that name, the next free
/// `-2`, `-3`, ... suffix is tried. Returns the result and the folder used.
fn in_folder<T>(
    given: Option<PathBuf>,
    name: &str,
    exp: &Experiment,
    job: impl Fn(&Path) -> Result<T>,
) -> Result<(T, PathBuf)> {
    if let Some(out) = given {
        announce(exp, &out);
        return job(&out).map(|r| (r, out));
    }
    let base = default_out(name);
    let mut last = None;
    for attempt in 1..=100 {
        let out = if attempt == 1 {
            base.clone()
        } else {
            PathBuf::from(format!("{}-{attempt}", base.display()))
        };
        if out.exists() {
            continue;
        }
        announce(exp, &out);
        match job(&out) {
            Err(e) if e.downcast_ref::<variants::FolderTaken>().is_some() => last = Some(e),
            r => return r.map(|r| (r, out)),
        }
    }
    Err(last.unwrap_or_else(|| {
        anyhow::anyhow!(
            "no free output folder {}-N; choose one with --out",
            base.display()
        )
    }))
}

/// `runs/<name>-<UTC date and time to the millisecond>`.
fn default_out(name: &str) -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let (secs, millis) = (now.as_secs(), now.subsec_millis());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let stamp = format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}.{millis:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    Path::new("runs").join(format!("{name}-{stamp}"))
}
