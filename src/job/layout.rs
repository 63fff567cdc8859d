//! Every path of a job folder and of a run folder, and who holds them.
//!
//! ```text
//! <job>/                          a job folder: an experiment, a set of runs
//!   config.toml, experiment.toml  the experiment (spec::file): written once, before any run
//!   .ccdni.lock                   held by a process that launches or reports the whole job
//!                                 (a shard holds none: it locks its runs only)
//!   runs/<model>-seed<k>/         a run folder, one per run, in every mode (one machine, shards)
//!     .ccdni.lock                 held while the run trains
//!     config.toml                 the run's resolved settings (`ccdni train --config` repeats it)
//!     checkpoint.safetensors      where the run stands (job::checkpoint)
//!     metrics.csv                 its epochs, written as they finish
//!     model.safetensors           its final parameters, when it has finished
//!     vocab.json                  a caption run's vocabulary
//!     recordings/                 its recordings over learning (`record.every`)
//!   metrics.csv, summary.json, learning.csv, learning/, *.png, *.svg, figure.json,
//!   sweep.json, results/, captions.json, captions_examples.md     the report (job::report)
//!   resume.log                    settings changed on resume with --force
//!   data/                         arrays handed in memory (the Python package), as .npy files
//!   slurm/                        `ccdni slurm`'s scripts and logs
//! ```
//!
//! A process claims a folder by creating its lock file exclusively (`create_new`), so of two
//! processes given one folder exactly one gets it (a shard checks that no process holds the
//! whole job, [`held`], and locks each of its runs); the lock names the holder
//! (`<process>@<host>`) and is removed when the claim ends. A lock whose process is gone from
//! this host (killed with SIGKILL, a node that rebooted) is stale and is taken over.
//!
//! Job folders written by ccdni 0.1 on one machine kept each run's files side by side
//! (`checkpoints/<run>.safetensors`, `models/`, `recordings/<run>/`, `vocab/`);
//! [`JobDir::move_first_layout`] moves them into their run folders.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file that marks a folder as claimed by a live process.
pub const LOCK_FILE: &str = ".ccdni.lock";

/// A job folder.
#[derive(Clone, Debug)]
pub struct JobDir {
    root: PathBuf,
}

impl JobDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        JobDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The resolved base configuration of the experiment.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// The rest of the experiment: name, seeds, variants, figure.
    pub fn experiment(&self) -> PathBuf {
        self.root.join("experiment.toml")
    }

    /// The arrays a job of the file task was handed in memory (the Python package's `inputs=`,
    /// ...), written here as `.npy` files that its settings name, so that it can go on.
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// Whether the folder holds a job (its experiment).
    pub fn holds_job(&self) -> bool {
        self.experiment().is_file()
    }

    /// The folder of the run named `name` ([`crate::job::spec::RunSpec::name`]).
    pub fn run(&self, name: &str) -> RunDir {
        RunDir {
            root: self.root.join("runs").join(name),
        }
    }

    /// Forced changes of settings, one entry per resume.
    pub fn resume_log(&self) -> PathBuf {
        self.root.join("resume.log")
    }

    /// A file of the report (`summary.json`, `metrics.csv`, a plot's stem, ...).
    pub fn report(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The Slurm scripts and their logs.
    pub fn slurm(&self) -> PathBuf {
        self.root.join("slurm")
    }

    /// Whether the folder has the layout of ccdni 0.1 (see [`Self::move_first_layout`]).
    pub fn has_first_layout(&self) -> bool {
        ["checkpoints", "models", "recordings", "vocab"]
            .iter()
            .any(|old| self.root.join(old).is_dir())
    }

    /// Moves the files of the runs `names` from the layout of ccdni 0.1 (`checkpoints/`,
    /// `models/`, `recordings/`, `vocab/`) into their run folders, removing the old folders
    /// once empty; returns how many it moved. Each move is a rename within the folder, so a
    /// crash leaves every file in one place or the other.
    pub fn move_first_layout(&self, names: &[String]) -> Result<usize> {
        let mut moved = 0;
        for name in names {
            let run = self.run(name);
            let old = [
                (
                    self.root
                        .join("checkpoints")
                        .join(format!("{name}.safetensors")),
                    run.checkpoint(),
                ),
                (
                    self.root.join("models").join(format!("{name}.safetensors")),
                    run.model(),
                ),
                (self.root.join("recordings").join(name), run.recordings()),
                (
                    self.root.join("vocab").join(format!("{name}.json")),
                    run.vocab(),
                ),
            ];
            for (from, to) in old {
                if !from.exists() || to.exists() {
                    continue;
                }
                create_dir(run.root())?;
                std::fs::rename(&from, &to).with_context(|| {
                    format!("cannot move {} to {}", from.display(), to.display())
                })?;
                moved += 1;
            }
        }
        for old in ["checkpoints", "models", "recordings", "vocab"] {
            // Only an empty folder goes (a torn write of a crash aside); anything else in it
            // stays where it was.
            remove_torn_writes(&self.root.join(old));
            let _ = std::fs::remove_dir(self.root.join(old));
        }
        Ok(moved)
    }
}

/// A run's folder inside its job folder.
#[derive(Clone, Debug)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The run's resolved settings.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    pub fn checkpoint(&self) -> PathBuf {
        self.root.join("checkpoint.safetensors")
    }

    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }

    /// The final parameters, written when the run finishes.
    pub fn model(&self) -> PathBuf {
        self.root.join("model.safetensors")
    }

    /// A caption run's vocabulary.
    pub fn vocab(&self) -> PathBuf {
        self.root.join("vocab.json")
    }

    pub fn recordings(&self) -> PathBuf {
        self.root.join("recordings")
    }
}

/// Removes the temporary files (`<name>.tmp-<process>`) that writes torn by a crash left in
/// `dir`; the caller holds the folder's lock, so no live process is writing them. Returns how
/// many it removed.
pub fn remove_torn_writes(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let torn = |name: &str| {
        name.rsplit_once(".tmp-")
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| torn(&e.file_name().to_string_lossy()))
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// Creates `dir` and its parents, naming it when that fails.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// A claimed folder: its lock file, removed when the claim is dropped (whether the work
/// succeeded or failed).
pub struct Claim {
    lock: PathBuf,
    /// Set when a stale lock was taken over: says whose.
    pub note: Option<String>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// A lock attempt: the claim, or why another process holds the folder (nothing was written).
pub enum Lock {
    Held(Claim),
    Taken(String),
}

impl Lock {
    /// The claim, or an error naming the folder and its holder.
    pub fn or_fail(self, dir: &Path) -> Result<Claim> {
        match self {
            Lock::Held(c) => Ok(c),
            Lock::Taken(why) => bail!("folder {} {why}", dir.display()),
        }
    }
}

/// Takes the lock of the folder `dir` (which exists), taking over a stale one.
pub fn lock(dir: &Path) -> Result<Lock> {
    let path = dir.join(LOCK_FILE);
    let mut note = None;
    for _ in 0..2 {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path);
        match file {
            Ok(mut f) => {
                let claim = Claim {
                    lock: path.clone(),
                    note,
                };
                writeln!(f, "{}@{}", std::process::id(), hostname())
                    .with_context(|| format!("folder {} is not writable", dir.display()))?;
                return Ok(Lock::Held(claim));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                match Holder::parse(&holder) {
                    Some(h) if h.is_gone() => {
                        note = Some(format!(
                            "took over the stale lock {} of process {}, which is gone",
                            path.display(),
                            h.pid
                        ));
                        let _ = std::fs::remove_file(&path);
                    }
                    h => {
                        return Ok(Lock::Taken(format!(
                            "is claimed by another ccdni process ({}{}; delete the lock if that process is dead)",
                            path.display(),
                            h.map_or(String::new(), |h| format!(
                                ", process {} on {}",
                                h.pid, h.host
                            ))
                        )));
                    }
                }
            }
            Err(e) => {
                return Err(e).with_context(|| format!("folder {} is not writable", dir.display()));
            }
        }
    }
    Ok(Lock::Taken(
        "is being claimed by another ccdni process at the same moment".to_string(),
    ))
}

/// Who holds the lock of `dir`, when a live process does (or one on another host, which may be
/// alive): `process P on H`. `None` when there is no lock or its process is gone.
pub fn held(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(LOCK_FILE)).ok()?;
    match Holder::parse(&text) {
        Some(h) if h.is_gone() => None,
        Some(h) => Some(format!("process {} on {}", h.pid, h.host)),
        None => Some(format!(
            "an unknown process ({})",
            dir.join(LOCK_FILE).display()
        )),
    }
}

/// Claims `dir` for new work: creates it (with its parents), or accepts an existing empty
/// folder, then takes its lock. `Taken` when it holds anything but a lock, or a live process
/// holds the lock.
pub fn claim_empty(dir: &Path) -> Result<Lock> {
    let cannot_create = || format!("cannot create output folder {}", dir.display());
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(cannot_create)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
        Err(e) => return Err(e).with_context(cannot_create),
    }
    let claim = match lock(dir)? {
        Lock::Held(c) => c,
        taken => return Ok(taken),
    };
    let mut held: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read output folder {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != LOCK_FILE)
        .collect();
    if held.is_empty() {
        return Ok(Lock::Held(claim));
    }
    held.sort();
    let shown = held.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    let go_on = if JobDir::new(dir).holds_job() {
        format!(
            "go on with the job there with `ccdni resume {}`, or choose another folder with --out",
            dir.display()
        )
    } else {
        "choose another with --out".to_string()
    };
    Ok(Lock::Taken(format!(
        "already holds results ({shown}{}); new work goes only into a new or empty folder: {go_on}",
        if held.len() > 3 { ", ..." } else { "" },
    )))
}

/// Claims the folder given (`--out`), or a new default folder `runs/<name>-<UTC time>`: if
/// another process has just taken that name, the next free `-2`, `-3`, ... suffix is tried.
pub fn claim_output(given: Option<&Path>, name: &str) -> Result<(PathBuf, Claim)> {
    if let Some(dir) = given {
        let claim = claim_empty(dir)?
            .or_fail(dir)
            .map_err(|e| anyhow::anyhow!("output {e:#}"))?;
        return Ok((dir.to_path_buf(), claim));
    }
    let base = default_out(name);
    for attempt in 1..=100 {
        let dir = if attempt == 1 {
            base.clone()
        } else {
            PathBuf::from(format!("{}-{attempt}", base.display()))
        };
        if dir.exists() {
            continue;
        }
        if let Lock::Held(claim) = claim_empty(&dir)? {
            return Ok((dir, claim));
        }
    }
    bail!(
        "no free output folder {}-N; choose one with --out",
        base.display()
    )
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

/// Who holds a lock: `<pid>@<host>`.
struct Holder {
    pid: u32,
    host: String,
}

impl Holder {
    fn parse(text: &str) -> Option<Holder> {
        let (pid, host) = text.trim().split_once('@')?;
        Some(Holder {
            pid: pid.parse().ok()?,
            host: host.to_string(),
        })
    }

    /// Whether the holder's process is known to be gone: it ran on this host, which lists its
    /// processes in /proc, and it is not among them, or only as a zombie (killed, not yet
    /// reaped). A lock from another host is never stale.
    fn is_gone(&self) -> bool {
        if self.host != hostname() || !Path::new("/proc/self/stat").exists() {
            return false;
        }
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            // The state follows the parenthesised command name: `pid (comm) S ...`.
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
            Err(_) => true,
        }
    }
}

/// This machine's name (as the kernel gives it), else `unknown-host`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_two_claims_on_one_folder_one_wins_and_the_other_is_told_why() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a");
        let first = claim_empty(&dir).unwrap();
        assert!(matches!(first, Lock::Held(_)));
        match claim_empty(&dir).unwrap() {
            Lock::Taken(why) => assert!(why.contains("claimed by another ccdni process"), "{why}"),
            Lock::Held(_) => panic!("two claims"),
        }
        drop(first);
        assert!(
            !dir.join(LOCK_FILE).exists(),
            "the lock goes with the claim"
        );
        std::fs::write(dir.join("x"), "").unwrap();
        match claim_empty(&dir).unwrap() {
            Lock::Taken(why) => assert!(why.contains("already holds results (x)"), "{why}"),
            Lock::Held(_) => panic!("a used folder"),
        }
    }

    #[test]
    fn a_stale_lock_is_taken_over_with_a_note() {
        let root = tempfile::tempdir().unwrap();
        let lock_file = root.path().join(LOCK_FILE);
        std::fs::write(&lock_file, format!("4194304@{}", hostname())).unwrap();
        let Lock::Held(claim) = lock(root.path()).unwrap() else {
            panic!("a stale lock is taken over");
        };
        assert!(claim.note.as_deref().unwrap().contains("stale lock"));
        std::fs::write(root.path().join("other"), "").unwrap();
        drop(claim);
        std::fs::write(&lock_file, "1@another-host").unwrap();
        assert!(matches!(lock(root.path()).unwrap(), Lock::Taken(_)));
    }

    #[test]
    fn torn_writes_are_removed_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        for name in [
            "checkpoint.safetensors.tmp-123",
            "a.tmp-9",
            "keep.tmp-x",
            "keep.tmp-",
            "keep",
        ] {
            std::fs::write(root.path().join(name), "").unwrap();
        }
        assert_eq!(remove_torn_writes(root.path()), 2);
        let mut left: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["keep", "keep.tmp-", "keep.tmp-x"]);
    }

    #[test]
    fn the_first_layout_moves_into_run_folders() {
        let root = tempfile::tempdir().unwrap();
        let job = JobDir::new(root.path());
        for (dir, file) in [
            ("checkpoints", "ccRNN-seed0.safetensors"),
            ("models", "ccRNN-seed0.safetensors"),
            ("vocab", "ccRNN-seed0.json"),
            ("recordings/ccRNN-seed0", "index.json"),
            ("models", "stray.txt"),
        ] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
            std::fs::write(root.path().join(dir).join(file), dir).unwrap();
        }
        assert_eq!(job.move_first_layout(&["ccRNN-seed0".into()]).unwrap(), 4);
        let run = job.run("ccRNN-seed0");
        assert_eq!(
            std::fs::read_to_string(run.checkpoint()).unwrap(),
            "checkpoints"
        );
        assert_eq!(std::fs::read_to_string(run.model()).unwrap(), "models");
        assert!(run.vocab().is_file() && run.recordings().join("index.json").is_file());
        assert!(!root.path().join("checkpoints").exists(), "empty: removed");
        assert!(
            root.path().join("models/stray.txt").exists(),
            "what is not a run's stays"
        );
        assert_eq!(job.move_first_layout(&["ccRNN-seed0".into()]).unwrap(), 0);
    }
}
