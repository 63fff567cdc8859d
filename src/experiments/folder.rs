//! Run folders and who holds them. A run claims its folder by creating a lock file in it
//! exclusively (`create_new`), so of two runs given one folder exactly one gets it; the lock
//! names the holder (`<process>@<host>`) and is removed when the run ends. A lock whose process
//! is gone from this host (a run killed with SIGKILL, a node that rebooted) is stale and is
//! taken over.

use super::variants::Experiment;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The output folder is already taken: it holds files, or another run has claimed it. Nothing
/// has been written when this is returned (a caller choosing a default name may try another).
#[derive(Debug)]
pub struct FolderTaken {
    pub folder: PathBuf,
    pub reason: String,
}

impl std::fmt::Display for FolderTaken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "output folder {} {}", self.folder.display(), self.reason)
    }
}

impl std::error::Error for FolderTaken {}

/// The lock file that marks a run folder as claimed by a live run.
pub const LOCK_FILE: &str = ".ccdni.lock";

/// A claimed run folder: its lock file, removed when the run ends (whether it succeeds or fails;
/// a finished or failed run's files then keep the folder from being reused by a new run).
pub struct FolderClaim {
    lock: PathBuf,
}

impl Drop for FolderClaim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// Claims `out` for a new run and creates its `models/` folder: creates it (with its parents),
/// or accepts an existing empty folder, then takes its lock. Fails with [`FolderTaken`] when the folder holds anything but
/// the lock, or a live run holds the lock.
pub fn claim_new(out: &Path) -> Result<FolderClaim> {
    let claim = claim_empty(out)?;
    std::fs::create_dir(out.join("models"))
        .with_context(|| format!("cannot create output folder {}", out.display()))?;
    Ok(claim)
}

/// [`claim_new`] without the `models/` folder (for outputs other than runs).
pub fn claim_empty(out: &Path) -> Result<FolderClaim> {
    let cannot_create = || format!("cannot create output folder {}", out.display());
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(cannot_create)?;
    }
    match std::fs::create_dir(out) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && out.is_dir() => {}
        Err(e) => return Err(e).with_context(cannot_create),
    }
    let claim = lock(out)?;
    let mut held: Vec<String> = std::fs::read_dir(out)
        .with_context(|| format!("cannot read output folder {}", out.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != LOCK_FILE)
        .collect();
    if !held.is_empty() {
        held.sort();
        let shown = held.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        let resumable = held.iter().any(|f| f == "experiment.toml");
        return Err(FolderTaken {
            folder: out.to_path_buf(),
            reason: format!(
                "already holds results ({shown}{}); a run writes only into a new or empty folder: {}",
                if held.len() > 3 { ", ..." } else { "" },
                if resumable {
                    format!(
                        "go on with the run there with `ccdni resume {}`, or choose another folder with --out",
                        out.display()
                    )
                } else {
                    "choose another with --out".to_string()
                }
            ),
        }
        .into());
    }
    Ok(claim)
}

/// Claims the folder of an earlier run to go on with it: it must hold that run's
/// `experiment.toml`, and no live run may hold its lock.
pub fn claim_existing(out: &Path) -> Result<FolderClaim> {
    if !out.is_dir() {
        anyhow::bail!("{} is not a folder", out.display());
    }
    if !out.join("experiment.toml").is_file() {
        anyhow::bail!(
            "{} is not a ccdni run folder (it has no experiment.toml)",
            out.display()
        );
    }
    lock(out)
}

/// Takes the lock of the folder `out`, taking over a stale one.
pub fn lock(out: &Path) -> Result<FolderClaim> {
    let path = out.join(LOCK_FILE);
    for _ in 0..2 {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path);
        match file {
            Ok(mut f) => {
                let claim = FolderClaim { lock: path.clone() };
                writeln!(f, "{}@{}", std::process::id(), hostname())
                    .with_context(|| format!("output folder {} is not writable", out.display()))?;
                return Ok(claim);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                match Holder::parse(&holder) {
                    Some(h) if h.is_gone() => {
                        eprintln!(
                            "note: taking over the stale lock {} of process {}, which is gone",
                            path.display(),
                            h.pid
                        );
                        let _ = std::fs::remove_file(&path);
                    }
                    h => {
                        return Err(FolderTaken {
                            folder: out.to_path_buf(),
                            reason: format!(
                                "is claimed by another run ({}{}; delete the lock if that run is dead), choose another with --out",
                                path.display(),
                                h.map_or(String::new(), |h| format!(
                                    ", process {} on {}",
                                    h.pid, h.host
                                ))
                            ),
                        }
                        .into());
                    }
                }
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("output folder {} is not writable", out.display()));
            }
        }
    }
    Err(FolderTaken {
        folder: out.to_path_buf(),
        reason: "is being claimed by another run at the same moment".to_string(),
    }
    .into())
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

/// Runs `job` in the folder given with --out, or in a new default folder
/// `runs/<name>-<UTC time>`: if another run has just taken that name, the next free
/// `-2`, `-3`, ... suffix is tried. Returns the result and the folder used.
pub fn in_folder<T>(
    given: Option<PathBuf>,
    name: &str,
    announce: impl Fn(&Path),
    job: impl Fn(&Path) -> Result<T>,
) -> Result<(T, PathBuf)> {
    if let Some(out) = given {
        announce(&out);
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
        announce(&out);
        match job(&out) {
            Err(e) if e.downcast_ref::<FolderTaken>().is_some() => last = Some(e),
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

/// Says on stderr what runs where.
pub fn announce(exp: &Experiment, out: &Path) {
    eprintln!(
        "{}: {} variants x {} seeds x {} epochs -> {}",
        exp.name,
        exp.variants.len(),
        exp.seeds.len(),
        exp.base.epochs,
        out.display()
    );
}

/// This machine's name (as the kernel gives it), else `unknown-host`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}
