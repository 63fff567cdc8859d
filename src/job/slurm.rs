//! The scripts that run a job as a Slurm job array (`ccdni slurm`). The job is stored in its
//! folder first; each array task then runs one shard of its runs (`ccdni resume DIR --shard
//! slurm`, see [`super::launch::Shard`]) into that folder; tasks are requeued on preemption
//! (Slurm sends SIGTERM, ccdni writes its checkpoints and exits, the requeued task goes on from
//! them); a job that depends on the whole array reports it (`ccdni aggregate DIR`).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// How the array's tasks are sized and placed.
#[derive(Clone, Debug)]
pub struct SlurmOptions {
    /// Array tasks; each runs every N-th run of the job (default: one task per run).
    pub tasks: Option<usize>,
    /// Slurm partition (default: the cluster's).
    pub partition: Option<String>,
    /// Time limit of each array task, in Slurm's format (`04:00:00`, `2-00:00:00`, `90`).
    pub time: String,
    /// CPUs per array task (its runs train on that many threads).
    pub cpus: usize,
    /// Memory per array task, in Slurm's format (`4G`, `500M`; default: the cluster's).
    pub mem: Option<String>,
}

/// A word for bash, in single quotes.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Whether `t` is a time in one of Slurm's formats: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`,
/// `D-H:M:S`, or `UNLIMITED` / `infinite`; positive.
fn is_slurm_time(t: &str) -> bool {
    if matches!(t, "UNLIMITED" | "infinite") {
        return true;
    }
    let number = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    let (days, rest) = match t.split_once('-') {
        Some((d, rest)) => (Some(d), rest),
        None => (None, t),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let shape = match days {
        Some(d) => number(d) && (1..=3).contains(&parts.len()),
        None => (1..=3).contains(&parts.len()),
    };
    let total: u64 = std::iter::once(days.unwrap_or("0"))
        .chain(parts.iter().copied())
        .map(|p| p.parse::<u64>().unwrap_or(0))
        .sum();
    shape && parts.iter().all(|p| number(p)) && total > 0
}

/// Whether `m` is a memory size in Slurm's format: a whole number with an optional unit
/// K, M, G or T (megabytes without one).
fn is_slurm_memory(m: &str) -> bool {
    let digits = m.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    m.len() - digits.len() <= 1
        && !digits.is_empty()
        && digits.len() <= 12
        && digits.bytes().all(|b| b.is_ascii_digit())
}

impl SlurmOptions {
    /// Refuses options Slurm would refuse, or that cannot run the job's `runs` runs.
    pub fn check(&self, runs: usize) -> Result<()> {
        let tasks = self.tasks.unwrap_or(runs);
        if tasks == 0 || tasks > runs {
            bail!("--tasks {tasks}: the job has {runs} runs, so between 1 and {runs} array tasks");
        }
        if self.cpus == 0 {
            bail!("--cpus must be at least 1");
        }
        if !is_slurm_time(&self.time) {
            bail!(
                "--time {:?} is not a Slurm time limit: give minutes (90), hours:minutes:seconds (04:00:00) or days-hours:minutes:seconds (2-00:00:00), above zero",
                self.time
            );
        }
        if let Some(m) = &self.mem
            && !is_slurm_memory(m)
        {
            bail!(
                "--mem {m:?} is not a Slurm memory size: give a whole number and a unit, e.g. 4G or 500M"
            );
        }
        if let Some(p) = &self.partition
            && (p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.,".contains(c)))
        {
            bail!(
                "--partition {p:?}: expected a partition name (letters, digits, `_`, `-`, `.`; `,` between several)"
            );
        }
        Ok(())
    }
}

/// The three scripts (file name, text) for the job named `name` of `runs` runs stored in `out`
/// (absolute), run by the binary `exe`.
pub fn scripts(
    a: &SlurmOptions,
    name: &str,
    runs: usize,
    exe: &Path,
    out: &Path,
) -> Result<Vec<(&'static str, String)>> {
    a.check(runs)?;
    let tasks = a.tasks.unwrap_or(runs);
    let mut options = vec![
        format!("--cpus-per-task={}", a.cpus),
        format!("--time={}", a.time),
    ];
    if let Some(p) = &a.partition {
        options.push(format!("--partition={p}"));
    }
    if let Some(m) = &a.mem {
        options.push(format!("--mem={m}"));
    }
    let logs = out.join("slurm").join("logs");
    let header = |job: &str, output: &str, extra: &[String]| {
        let mut text = format!(
            "#!/bin/bash\n# Written by `ccdni slurm` for the job `{name}` stored in {}.\n#SBATCH --job-name={job}\n",
            out.display()
        );
        for o in options.iter().chain(extra) {
            text.push_str(&format!("#SBATCH {o}\n"));
        }
        text.push_str(&format!(
            "#SBATCH --output={}\n",
            logs.join(output).display()
        ));
        text
    };
    let (exe, out_q) = (
        quote(&exe.display().to_string()),
        quote(&out.display().to_string()),
    );
    let array = format!(
        "{}# Each task runs its shard of the job's runs; requeued after preemption, it goes on from\n\
         # the checkpoints (ccdni checkpoints and exits on the SIGTERM Slurm sends first).\n\
         exec {exe} resume {out_q} --shard slurm --threads {}\n",
        header(
            &format!("ccdni-{name}"),
            "%A_%a.out",
            &[
                format!("--array=0-{}", tasks - 1),
                "--requeue".to_string(),
                "--open-mode=append".to_string(),
            ]
        ),
        a.cpus
    );
    let aggregate = format!(
        "{}exec {exe} aggregate {out_q}\n",
        header(&format!("ccdni-{name}-aggregate"), "aggregate_%j.out", &[]),
    );
    let submit = "#!/bin/bash\n# Submits the array, then the aggregation to run once every array task has finished.\n\
         set -euo pipefail\ncd \"$(dirname \"$0\")\"\n\
         array=$(sbatch --parsable array.sbatch)\narray=${array%%;*}\n\
         aggregate=$(sbatch --parsable --dependency=afterok:\"$array\" aggregate.sbatch)\n\
         echo \"submitted array job $array and aggregate job ${aggregate%%;*}\"\n"
        .to_string();
    Ok(vec![
        ("array.sbatch", array),
        ("aggregate.sbatch", aggregate),
        ("submit.sh", submit),
    ])
}

/// Writes the scripts into `dir` (the job folder's `slurm/`, refusing to replace scripts
/// already there) and returns it.
pub fn write(dir: &Path, files: Vec<(&'static str, String)>) -> Result<PathBuf> {
    if dir.join("array.sbatch").exists() {
        bail!(
            "{} already holds Slurm scripts; choose another --out",
            dir.display()
        );
    }
    super::layout::create_dir(&dir.join("logs"))?;
    for (file, text) in files {
        let path = dir.join(file);
        crate::data::write_atomically(&path, text.as_bytes())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", path.display()))?;
    }
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(tasks: Option<usize>) -> SlurmOptions {
        SlurmOptions {
            tasks,
            partition: Some("cpu".into()),
            time: "01:00:00".into(),
            cpus: 2,
            mem: None,
        }
    }

    #[test]
    fn the_array_script_runs_each_shard_of_the_stored_job_with_requeue() {
        let files = scripts(
            &args(None),
            "sweep-reach",
            6,
            Path::new("/opt/cc'dni"),
            Path::new("/shared/run"),
        )
        .unwrap();
        let array = &files[0].1;
        for needle in [
            "#SBATCH --array=0-5\n",
            "#SBATCH --requeue\n",
            "#SBATCH --cpus-per-task=2\n",
            "#SBATCH --partition=cpu\n",
            "#SBATCH --output=/shared/run/slurm/logs/%A_%a.out\n",
            r"exec '/opt/cc'\''dni' resume '/shared/run' --shard slurm --threads 2",
        ] {
            assert!(array.contains(needle), "{needle}\n{array}");
        }
        assert!(
            files[1]
                .1
                .contains(r"exec '/opt/cc'\''dni' aggregate '/shared/run'")
        );
        assert!(
            files[2]
                .1
                .contains("--dependency=afterok:\"$array\" aggregate.sbatch")
        );
        let grouped = scripts(&args(Some(2)), "x", 6, Path::new("/c"), Path::new("/o")).unwrap();
        assert!(grouped[0].1.contains("#SBATCH --array=0-1\n"));
    }

    #[test]
    fn slurm_formats_are_checked() {
        for good in [
            "90",
            "30:00",
            "04:00:00",
            "2-00",
            "2-12:30",
            "1-00:00:00",
            "UNLIMITED",
        ] {
            assert!(is_slurm_time(good), "{good}");
        }
        for bad in [
            "abc",
            "-1",
            "0",
            "00:00:00",
            "1 h",
            "4:00:00:00",
            "",
            "1-",
            "-5:00",
            "1.5",
        ] {
            assert!(!is_slurm_time(bad), "{bad}");
        }
        for good in ["4G", "500M", "4000", "1T", "64g"] {
            assert!(is_slurm_memory(good), "{good}");
        }
        for bad in ["4X", "-1", "G", "4GB", "", "1.5G"] {
            assert!(!is_slurm_memory(bad), "{bad}");
        }
    }

    #[test]
    fn impossible_settings_are_refused() {
        let p = Path::new("/o");
        for (a, needle) in [
            (args(Some(7)), "between 1 and 6 array tasks"),
            (args(Some(0)), "between 1 and 6 array tasks"),
            (
                SlurmOptions {
                    cpus: 0,
                    ..args(None)
                },
                "--cpus must be at least 1",
            ),
            (
                SlurmOptions {
                    time: "abc".into(),
                    ..args(None)
                },
                "--time \"abc\" is not a Slurm time limit",
            ),
            (
                SlurmOptions {
                    mem: Some("-1".into()),
                    ..args(None)
                },
                "--mem \"-1\" is not a Slurm memory size",
            ),
            (
                SlurmOptions {
                    partition: Some("a b".into()),
                    ..args(None)
                },
                "--partition",
            ),
        ] {
            let msg = format!("{:#}", scripts(&a, "x", 6, p, p).unwrap_err());
            assert!(msg.contains(needle), "{msg}");
        }
    }
}
