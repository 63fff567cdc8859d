//! Going on with a stopped experiment in its own folder: checks that the experiment about to
//! run is the one the folder holds (its settings, variants and seeds, and each checkpoint's
//! settings), and gathers the finished epochs' records from the checkpoints, which metrics.csv
//! is rebuilt from (rows the folder had past a checkpoint are computed again, to the same
//! numbers).

use super::checkpoint;
use super::run::EpochRecord;
use super::variants::{Experiment, Invocation, Variant, write_config};
use crate::config::{Config, differences};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Prepares `out` for the resumed experiment `exp` (its runs `jobs`, their checkpoint files
/// `checkpoints`, absent for runs that had not written one): refuses changed settings unless
/// `force`, which records them in `resume.log` and rewrites config.toml and experiment.toml.
/// Returns each run's finished epochs.
pub fn prepare(
    exp: &Experiment,
    jobs: &[(Variant, Config)],
    checkpoints: &[PathBuf],
    out: &Path,
    force: bool,
) -> Result<Vec<Vec<EpochRecord>>> {
    let (mut changes, invocation) = folder_changes(exp, out)?;
    let mut records = Vec::with_capacity(jobs.len());
    let mut run_changes = Vec::new();
    for ((v, c), path) in jobs.iter().zip(checkpoints) {
        if !path.exists() {
            records.push(Vec::new());
            continue;
        }
        let (saved, done) = checkpoint::peek(path)?;
        run_changes.extend(
            differences(&saved, c)
                .into_iter()
                .map(|d| format!("{} seed {}: {d}", v.label, c.seed)),
        );
        records.push(done);
    }
    if changes.is_empty() {
        // The folder's files agree; a checkpoint may still be from other settings.
        changes = run_changes;
    }
    if !changes.is_empty() {
        let list = changes.join("\n  ");
        if !force {
            bail!(
                "the settings differ from those of the stopped run in {}:\n  {list}\n\
                 resume with the run's own settings, or pass --force to go on with the new ones \
                 (the change is then recorded in resume.log)",
                out.display()
            );
        }
        record_change(out, &list)?;
        write_config(exp, invocation.as_ref(), out)?;
    }
    let models = out.join("models");
    std::fs::create_dir_all(&models)
        .with_context(|| format!("cannot create {}", models.display()))?;
    Ok(records)
}

/// How `exp` differs from the experiment the folder's config.toml and experiment.toml describe
/// (`key: old -> new` lines), and the command that launched the folder's job.
pub fn folder_changes(exp: &Experiment, out: &Path) -> Result<(Vec<String>, Option<Invocation>)> {
    let (was, invocation) = super::file::from_run_folder(out)?;
    let mut changes = differences(&was.base, &exp.base);
    if was.name != exp.name {
        changes.push(format!("experiment: {} -> {}", was.name, exp.name));
    }
    if was.seeds != exp.seeds {
        changes.push(format!("seeds: {:?} -> {:?}", was.seeds, exp.seeds));
    }
    if was.figure != exp.figure {
        changes.push("figure: the experiment file's [figure] changed".to_string());
    }
    if was.variants != exp.variants {
        let labels = |v: &[Variant]| v.iter().map(|v| v.label.clone()).collect::<Vec<_>>();
        changes.push(format!(
            "variants: {:?} -> {:?}",
            labels(&was.variants),
            labels(&exp.variants)
        ));
    }
    Ok((changes, invocation))
}

/// Appends a forced change of settings to the folder's resume.log.
fn record_change(out: &Path, list: &str) -> Result<()> {
    use std::io::Write;
    let path = out.join("resume.log");
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    write!(
        f,
        "resumed at unix time {secs} with changed settings (--force):\n  {list}\n"
    )
    .and_then(|()| f.sync_all())
    .with_context(|| format!("cannot write {}", path.display()))
}
