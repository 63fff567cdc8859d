//! `ccdni`: train cortico-cerebellar recurrent networks from the command line. This binary
//! parses argv into the library's values ([`args`]), runs them, and shows what they return
//! ([`show`]); the library never prints.

mod args;
mod flags;
mod show;

use anyhow::{Context, Result};
use args::{Cli, Command, DataCommand, JobCommand, ReachArgs};
use ccdni::config::TaskKind;
use ccdni::job::launch::Shard;
use ccdni::job::report::Report;
use ccdni::job::report::decomposition::{self, Labels};
use ccdni::job::{Ending, Job};
use clap::Parser;
use show::{JobBar, note, out};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// The exit status of a job stopped by SIGINT or SIGTERM, its checkpoints written.
const INTERRUPTED: u8 = 130;

/// Raised by the first SIGINT or SIGTERM: every run stops at its next batch boundary.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Reach(ReachArgs::default()));
    match command_result(command) {
        Ok(Done::Ok) => ExitCode::SUCCESS,
        Ok(Done::Interrupted(how)) => {
            note(&format!(
                "interrupted: every unfinished run wrote its checkpoint; {how}"
            ));
            ExitCode::from(INTERRUPTED)
        }
        Err(e) => {
            note(&format!("error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// How a command ended, when it did not fail.
enum Done {
    Ok,
    /// Stopped by a signal; says how to go on.
    Interrupted(String),
}

fn command_result(command: Command) -> Result<Done> {
    match command {
        Command::Data {
            command:
                DataCommand::Fetch {
                    dataset,
                    mirrors,
                    cache_dir,
                },
        } => fetch(&dataset, &mirrors, cache_dir),
        Command::Bench(a) => bench(&a),
        Command::Config { task, config, set } => {
            out(&resolved_config(task, config, &set)?).map(|()| Done::Ok)
        }
        Command::Score {
            refs,
            results,
            json,
        } => out(&ccdni::captions::score_output(&refs, &results, json)?).map(|()| Done::Ok),
        Command::Eval(a) => eval(&a),
        Command::Slurm(a) => slurm(a),
        Command::Resume(a) => {
            install_signal_handler()?;
            resume(a)
        }
        Command::Report(a) => {
            let labels = Labels {
                reference: a.reference,
                constant: a.constant,
                full: a.ccrnn,
            };
            let table = decomposition::glance(&a.job_dirs, &labels, &a.out)?;
            out(&format!("{table}\nfigures in {}\n", a.out.display())).map(|()| Done::Ok)
        }
        Command::Aggregate { job_dir } => {
            let bar = JobBar::new(&SIGNALLED);
            let mut job = Job::open(&job_dir, &bar)?;
            let report = job.report()?;
            finished(&report, &job_dir)
        }
        command => {
            install_signal_handler()?;
            let job = command.job().expect("the other commands are jobs")?;
            start(job)
        }
    }
}

/// The first SIGINT or SIGTERM asks every run to stop at its next batch boundary and write its
/// checkpoint; a second one exits at once (the checkpoints on disk are whole, as each is
/// written atomically).
/// `ccdni config`: the task's defaults with the file and the settings laid over them, checked
/// as a run checks them; without an `[areas]` section, the section's defaults as comments.
fn resolved_config(task: Option<String>, file: Option<PathBuf>, set: &[String]) -> Result<String> {
    let mut overrides = ccdni::config::Overrides {
        file,
        settings: Vec::new(),
    };
    if let Some(task) = &task {
        TaskKind::parse(task)?;
        overrides.set("task", toml::Value::String(task.clone()));
    }
    for kv in set {
        overrides.set_text(kv)?;
    }
    let config = overrides.resolve(TaskKind::Reach, &toml::Table::new())?;
    let mut text = config.to_toml();
    if config.areas.is_none() {
        // Area B's cell and size default to A's; `backward` to both areas' cerebellums.
        let areas = ccdni::config::AreasConfig {
            cell: Some(config.cortex.cell),
            hidden: Some(config.cortex.hidden),
            backward: Some(ccdni::areas::BackwardAreas::Both),
            ..Default::default()
        };
        text += "\n# A cortex of two areas in a chain (docs/model.md §7.5): absent, one area.\n# [areas]\n";
        for line in toml::to_string_pretty(&areas)?.lines() {
            text += &format!("# {line}\n");
        }
        text += "# forward_lesion_at = 40  (default: never)\n";
    }
    Ok(text)
}

fn install_signal_handler() -> Result<()> {
    ctrlc::set_handler(|| {
        if SIGNALLED.swap(true, Ordering::Relaxed) {
            note("\nsecond interrupt: exiting at once");
            std::process::exit(i32::from(INTERRUPTED));
        }
        note(
            "\ninterrupted: stopping at the next batch boundary and writing checkpoints \
             (interrupt again to exit at once)",
        );
    })
    .map_err(|e| anyhow::anyhow!("cannot install the interrupt handler: {e}"))
}

/// Runs a job a command describes: into a new folder, or its shard into a shared one.
fn start(job: JobCommand) -> Result<Done> {
    if let Some(about) = &job.about {
        note(about);
    }
    let bar = JobBar::new(&SIGNALLED);
    if let Some(spec) = &job.shard {
        let Some(dir) = &job.out else {
            anyhow::bail!("--shard needs --out: the job folder every shard shares");
        };
        let shard = Shard::parse(spec)?;
        let shared = Job::share(job.spec, dir, job.force, job.threads)?;
        return shard_ending(&shared, shard, job.threads, job.force, &bar);
    }
    let mut created = Job::create(job.spec, job.out.as_deref(), &job.name, job.threads)?;
    announce(&created);
    let ending = created.run(job.threads, false, &bar)?;
    job_ending(ending, created.dir().root())
}

/// `ccdni resume DIR`: the job stored in the folder, all of it or one shard.
fn resume(a: args::ResumeArgs) -> Result<Done> {
    let bar = JobBar::new(&SIGNALLED);
    if let Some(spec) = &a.shard {
        let shard = Shard::parse(spec)?;
        let job = Job::open_shared(&a.job_dir)?;
        return shard_ending(&job, shard, a.threads, a.force, &bar);
    }
    let mut job = Job::open(&a.job_dir, &bar)?;
    let mut changes = ccdni::config::Overrides::default();
    for kv in &a.set {
        changes.set_text(kv)?;
    }
    job.change_settings(&changes, a.force)?;
    announce(&job);
    let ending = job.run(a.threads, a.force, &bar)?;
    job_ending(ending, &a.job_dir)
}

/// Runs a shard of `job` and says how it ended.
fn shard_ending(
    job: &Job,
    shard: Shard,
    threads: usize,
    force: bool,
    bar: &JobBar,
) -> Result<Done> {
    announce(job);
    match job.run_shard(shard, threads, force, bar)? {
        Ending::Interrupted => Ok(Done::Interrupted(
            "start this shard again (the same command): it goes on from its checkpoints".into(),
        )),
        Ending::Done(()) => {
            out(&format!(
                "this shard's runs are done; when every shard's are, report with `ccdni aggregate {}`\n",
                job.dir().root().display()
            ))?;
            Ok(Done::Ok)
        }
    }
}

fn job_ending(ending: Ending<Report>, dir: &Path) -> Result<Done> {
    match ending {
        Ending::Done(report) => finished(&report, dir),
        Ending::Interrupted => Ok(Done::Interrupted(format!(
            "go on with `ccdni resume {}`",
            dir.display()
        ))),
    }
}

fn finished(report: &Report, dir: &Path) -> Result<Done> {
    out(&format!("{}\nresults in {}\n", report.text, dir.display()))?;
    Ok(Done::Ok)
}

/// Says on standard error what runs where.
fn announce(job: &Job) {
    let spec = job.spec();
    note(&format!(
        "{}: {} variants x {} seeds x {} epochs -> {}",
        spec.name,
        spec.variants.len(),
        spec.seeds.len(),
        spec.base.epochs,
        job.dir().root().display()
    ));
}

/// `ccdni slurm ... -- JOB`: stores the job in its folder (checked as a launch checks it) and
/// writes its Slurm scripts.
fn slurm(a: args::SlurmArgs) -> Result<Done> {
    let dir = std::path::absolute(&a.out).with_context(|| format!("--out {}", a.out.display()))?;
    let (options, job) = a.split()?;
    let runs = job.spec.variants.len() * job.spec.seeds.len();
    options.check(runs)?;
    let stored = Job::share(job.spec, &dir, false, options.cpus)?;
    let exe = std::env::current_exe()?;
    let scripts = ccdni::job::slurm::scripts(&options, &job.name, runs, &exe, &dir)?;
    let scripts_dir = ccdni::job::slurm::write(&stored.dir().slurm(), scripts)?;
    out(&format!(
        "{}: {runs} runs in {} array tasks; submit with\n  {}\n",
        job.name,
        options.tasks.unwrap_or(runs),
        scripts_dir.join("submit.sh").display()
    ))?;
    Ok(Done::Ok)
}

/// `ccdni eval MODEL`: the saved model evaluated on its task (or the one asked for).
fn eval(a: &args::EvalArgs) -> Result<Done> {
    let saved = ccdni::model_file::load(&a.model)?;
    let config = ccdni::job::eval::config_for(&saved, &a.model, &a.settings()?)?;
    let (evaluation, dir) =
        ccdni::job::eval::evaluate(&saved, &a.model, &config, a.out.as_deref())?;
    out(&format!(
        "{} seed {} ({}) on {}, {} test sequences (seed {}):\n{}results in {}\n",
        evaluation.label,
        evaluation.trained_seed,
        evaluation.model,
        evaluation.task,
        evaluation.test_samples,
        evaluation.task_seed,
        show::eval_lines(&evaluation.test),
        dir.display()
    ))?;
    Ok(Done::Ok)
}

fn bench(a: &args::BenchArgs) -> Result<Done> {
    let threads = ccdni::job::launch::threads_or_all(a.threads);
    let mnist_epoch = (a.mnist_epoch.as_deref())
        .map(|dir| {
            ccdni::bench::MnistEpoch::new(dir)
                .with_context(|| format!("--mnist-epoch {}", dir.display()))
        })
        .transpose()?;
    out(&show::bench_header(threads))?;
    let mut written = Ok(());
    ccdni::bench::run(a.seconds, a.only.as_deref(), threads, |r| {
        if written.is_ok() {
            written = out(&show::bench_row(r));
        }
    })?;
    written?;
    if let Some(epoch) = mnist_epoch {
        let t = epoch.time();
        out(&format!(
            "one epoch of MNIST classification, ccRNN K=3, cerebellum 1x60: {} sequences in {:.2} s ({:.0} seq/s, batches built from the u8 images included)\n",
            t.sequences,
            t.seconds,
            t.sequences as f64 / t.seconds
        ))?;
    }
    Ok(Done::Ok)
}

fn fetch(dataset: &str, mirrors: &[String], cache_dir: Option<PathBuf>) -> Result<Done> {
    let cache = match cache_dir {
        Some(d) => d,
        None => ccdni::data::default_cache_dir()?,
    };
    let dir = ccdni::data::fetch::fetch(dataset, mirrors, &cache, &show::Download::new())?;
    out(&format!("{dataset} is in {}\n", dir.display()))?;
    Ok(Done::Ok)
}
