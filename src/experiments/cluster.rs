//! An experiment spread over many processes (a Slurm job array): each runs one slice of the
//! runs ([`Shard`]) into the run's own sub-folder of a shared run folder,
//! `runs/<label>-seed<k>/` (its lock, checkpoint, metrics.csv, model and recordings), so no two
//! processes ever write the same file; a shard started again (a requeued array task) goes on
//! from its runs' checkpoints. `ccdni aggregate` then reports the whole experiment from the
//! finished runs, as one machine would have.

use super::checkpoint;
use super::folder;
use super::report::CsvWriter;
use super::run::{Hooks, train};
use super::variants::{Experiment, Invocation, Variant, run_name, save_model_to, save_vocabulary};
use crate::config::{Config, differences};
use crate::tasks::Task;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// One slice of an experiment's runs: the runs `j` (in variant-major, seed-minor order) with
/// `j mod count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// `I/N` (0 <= I < N), or `slurm`: the array task's `SLURM_ARRAY_TASK_ID` (less
    /// `SLURM_ARRAY_TASK_MIN`) of `SLURM_ARRAY_TASK_COUNT`.
    pub fn parse(spec: &str) -> Result<Shard> {
        let (index, count) = if spec == "slurm" {
            let var = |name: &str| -> Result<usize> {
                let v = std::env::var(name).with_context(|| {
                    format!("--shard slurm: ${name} is not set (is this a Slurm array task?)")
                })?;
                v.trim()
                    .parse()
                    .with_context(|| format!("--shard slurm: ${name} = {v:?} is not a count"))
            };
            let min = std::env::var("SLURM_ARRAY_TASK_MIN")
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let id = var("SLURM_ARRAY_TASK_ID")?;
            (id.saturating_sub(min), var("SLURM_ARRAY_TASK_COUNT")?)
        } else {
            let parsed = spec
                .split_once('/')
                .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
            parsed.with_context(|| {
                format!("--shard {spec}: expected I/N (shard I of N, 0 <= I < N) or `slurm`")
            })?
        };
        if count == 0 || index >= count {
            bail!("--shard {spec}: shard {index} of {count} does not exist (0 <= I < N, N >= 1)");
        }
        Ok(Shard { index, count })
    }

    /// Whether run `j` is this shard's.
    pub fn takes(&self, j: usize) -> bool {
        j % self.count == self.index
    }
}

/// The sub-folder of a run in a sharded experiment's folder.
pub fn run_folder(out: &Path, v: &Variant, c: &Config) -> PathBuf {
    out.join("runs").join(run_name(&v.label, c.seed))
}

/// The checkpoint of a run in a sharded experiment's folder.
pub fn checkpoint_path(out: &Path, v: &Variant, c: &Config) -> PathBuf {
    run_folder(out, v, c).join("checkpoint.safetensors")
}

/// Runs (or goes on with) this shard's runs of `exp` into their sub-folders of `out`, at most
/// `threads` at once. The experiment's config.toml and experiment.toml are written by whichever
/// shard comes first; the others check them (changed settings are refused unless `force`).
#[allow(clippy::too_many_arguments)]
pub fn run_shard(
    exp: &Experiment,
    jobs: &[(Variant, Config)],
    out: &Path,
    threads: usize,
    shard: Shard,
    invocation: Option<&Invocation>,
    force: bool,
    make_task: &(dyn Fn(&Config) -> Result<Box<dyn Task>> + Sync),
) -> Result<()> {
    std::fs::create_dir_all(out.join("runs"))
        .with_context(|| format!("cannot create output folder {}", out.display()))?;
    share_config(exp, invocation, out, force)?;
    let mine: Vec<&(Variant, Config)> = jobs
        .iter()
        .enumerate()
        .filter(|(j, _)| shard.takes(*j))
        .map(|(_, job)| job)
        .collect();
    eprintln!(
        "shard {} of {}: {} of the {} runs",
        shard.index,
        shard.count,
        mine.len(),
        jobs.len()
    );
    let abort = AtomicBool::new(false);
    let results = super::parallel::run_parallel(&mine, threads, &abort, |(v, c)| {
        let dir = run_folder(out, v, c);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let _claim = folder::lock(&dir)?;
        let checkpoint = dir.join("checkpoint.safetensors");
        let mut records = Vec::new();
        if checkpoint.exists() {
            let (saved, done) = checkpoint::peek(&checkpoint)?;
            let changed = differences(&saved, c);
            if !changed.is_empty() && !force {
                bail!(
                    "{} was written with other settings:\n  {}\npass --force to go on with the new ones",
                    checkpoint.display(),
                    changed.join("\n  ")
                );
            }
            records = done;
        }
        let mut csv = CsvWriter::rebuild(&dir.join("metrics.csv"), &records)?;
        let task = make_task(c)?;
        let hooks = Hooks {
            abort: &abort,
            on_batch: &|| {},
            on_epoch: &mut |r| csv.row(r),
            recordings: (c.record.every > 0).then(|| dir.join("recordings")),
            checkpoint: Some(&checkpoint),
        };
        let result = train(c, &v.label, task.as_ref(), hooks, true)?;
        save_model_to(&result, c, &dir.join("model.safetensors"))?;
        if let Some(vocab) = task.vocabulary() {
            save_vocabulary(vocab, &dir.join("vocab.json"))?;
        }
        eprintln!("  {} seed {} done", v.label, c.seed);
        Ok(())
    });
    let go_on = "start this shard again (the same command): it goes on from its checkpoints";
    super::variants::first_error(results, out, go_on).map(|_| ())
}

/// Writes the experiment's config.toml and experiment.toml into the shared folder if no shard
/// has yet; else checks that they describe this experiment.
fn share_config(
    exp: &Experiment,
    invocation: Option<&Invocation>,
    out: &Path,
    force: bool,
) -> Result<()> {
    let plan_path = out.join("experiment.toml");
    if !plan_path.exists() {
        // Written to a private folder, then moved in only if absent: of two shards starting
        // together, one writes the pair and the other checks it.
        let tmp = out.join(format!(".config-{}", std::process::id()));
        std::fs::create_dir_all(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        super::variants::write_config(exp, invocation, &tmp)?;
        let moved = std::fs::hard_link(tmp.join("config.toml"), out.join("config.toml"))
            .and_then(|()| std::fs::hard_link(tmp.join("experiment.toml"), &plan_path));
        let _ = std::fs::remove_dir_all(&tmp);
        if moved.is_ok() {
            return Ok(());
        }
    }
    let changes = super::resume::folder_changes(exp, out)?.0;
    if !changes.is_empty() && !force {
        bail!(
            "{} holds another experiment's runs:\n  {}\nchoose another --out, or pass --force to go on with the new settings",
            out.display(),
            changes.join("\n  ")
        );
    }
    Ok(())
}

/// Refuses to aggregate unless every run of `exp` has finished in its sub-folder with the
/// experiment's settings, naming the missing and unfinished runs or the differing settings.
pub fn check_complete(exp: &Experiment, jobs: &[(Variant, Config)], out: &Path) -> Result<()> {
    let changes = super::resume::folder_changes(exp, out)?.0;
    if !changes.is_empty() {
        bail!(
            "the experiment differs from the one in {}:\n  {}",
            out.display(),
            changes.join("\n  ")
        );
    }
    let (mut missing, mut differing) = (Vec::new(), Vec::new());
    for (v, c) in jobs {
        let path = checkpoint_path(out, v, c);
        if !path.exists() {
            missing.push(format!("{} (not started)", run_name(&v.label, c.seed)));
            continue;
        }
        let (saved, done) = checkpoint::peek(&path)?;
        let changed = differences(&saved, c);
        if !changed.is_empty() {
            differing.push(format!("{}: {}", path.display(), changed.join(", ")));
        } else if done.len() < c.epochs {
            missing.push(format!(
                "{} (at epoch {} of {})",
                run_name(&v.label, c.seed),
                done.len(),
                c.epochs
            ));
        }
    }
    if !differing.is_empty() {
        bail!(
            "runs in {} were trained with other settings than the experiment's:\n  {}",
            out.display(),
            differing.join("\n  ")
        );
    }
    if !missing.is_empty() {
        bail!(
            "{} of the {} runs in {} have not finished: {}\n(start their shards again; each goes on from its checkpoints)",
            missing.len(),
            jobs.len(),
            out.display(),
            missing.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_are_checked() {
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
        for (spec, needle) in [
            ("3/2", "shard 3 of 2 does not exist"),
            ("0/0", "shard 0 of 0 does not exist"),
            ("2/2", "shard 2 of 2"),
            ("a/2", "expected I/N"),
            ("2", "expected I/N"),
            ("-1/2", "expected I/N"),
        ] {
            let msg = format!("{:#}", Shard::parse(spec).unwrap_err());
            assert!(msg.contains(needle), "{spec}: {msg}");
        }
        let s = Shard { index: 1, count: 3 };
        let taken: Vec<usize> = (0..8).filter(|&j| s.takes(j)).collect();
        assert_eq!(taken, [1, 4, 7]);
    }
}
