//! `ccdni slurm`: the scripts that run a job as a Slurm job array. Each array task runs one
//! shard of the job's runs (`--shard slurm`, see [`super::cluster`]) into the shared run
//! folder; tasks are requeued on preemption (Slurm sends SIGTERM, ccdni writes its checkpoints
//! and exits, the requeued task goes on from them); a job that depends on the whole array
//! aggregates the results (`ccdni aggregate`).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The settings of `ccdni slurm`.
#[derive(clap::Args, Debug, Clone)]
pub struct SlurmArgs {
    /// The shared run folder, on a file system every node sees; the scripts go to its slurm/.
    #[arg(long)]
    pub out: PathBuf,
    /// Array tasks; each runs every N-th run of the job (default: one task per run).
    #[arg(long)]
    pub tasks: Option<usize>,
    /// Slurm partition (default: the cluster's).
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit of each array task (Slurm's format, e.g. 04:00:00).
    #[arg(long, default_value = "04:00:00")]
    pub time: String,
    /// CPUs per array task (its runs train on that many threads).
    #[arg(long, default_value_t = 1)]
    pub cpus: usize,
    /// Memory per array task (Slurm's format, e.g. 4G; default: the cluster's).
    #[arg(long)]
    pub mem: Option<String>,
    /// The job, after `--`: e.g. `-- sweep --task reach --horizons 1,2,5,10 --seeds 10`.
    #[arg(last = true, required = true, value_name = "JOB")]
    pub job: Vec<String>,
}

/// A word for bash, in single quotes.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The three scripts (file name, text) for a job named `name` of `runs` runs, run by the
/// binary `exe` into `out` (absolute).
pub fn scripts(
    a: &SlurmArgs,
    name: &str,
    runs: usize,
    exe: &Path,
    out: &Path,
) -> Result<Vec<(&'static str, String)>> {
    let tasks = a.tasks.unwrap_or(runs);
    if tasks == 0 || tasks > runs {
        bail!("--tasks {tasks}: the job has {runs} runs, so between 1 and {runs} array tasks");
    }
    if a.cpus == 0 {
        bail!("--cpus must be at least 1");
    }
    let safe = |flag: &str, v: &str| -> Result<()> {
        if v.is_empty()
            || v.chars()
                .any(|c| c.is_whitespace() || c == '\'' || c == '"')
        {
            bail!("{flag} {v:?}: expected one word without quotes");
        }
        Ok(())
    };
    safe("--time", &a.time)?;
    let mut options = vec![
        format!("--cpus-per-task={}", a.cpus),
        format!("--time={}", a.time),
    ];
    if let Some(p) = &a.partition {
        safe("--partition", p)?;
        options.push(format!("--partition={p}"));
    }
    if let Some(m) = &a.mem {
        safe("--mem", m)?;
        options.push(format!("--mem={m}"));
    }
    let logs = out.join("slurm").join("logs");
    let header = |job: &str, output: &str, extra: &[String]| {
        let mut text = format!(
            "#!/bin/bash\n# Written by `ccdni slurm` for the job `{}`.\n#SBATCH --job-name={job}\n",
            a.job.join(" ")
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
    let job: Vec<String> = a.job.iter().map(|w| quote(w)).collect();
    let array = format!(
        "{}# Each task runs its shard of the runs; requeued after preemption, it goes on from the\n\
         # checkpoints (ccdni checkpoints and exits on the SIGTERM Slurm sends first).\n\
         exec {} {} --out {} --shard slurm --threads {}\n",
        header(
            &format!("ccdni-{name}"),
            "%A_%a.out",
            &[
                format!("--array=0-{}", tasks - 1),
                "--requeue".to_string(),
                "--open-mode=append".to_string(),
            ]
        ),
        quote(&exe.display().to_string()),
        job.join(" "),
        quote(&out.display().to_string()),
        a.cpus
    );
    let aggregate = format!(
        "{}exec {} aggregate {}\n",
        header(&format!("ccdni-{name}-aggregate"), "aggregate_%j.out", &[]),
        quote(&exe.display().to_string()),
        quote(&out.display().to_string())
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

/// Writes the scripts into `out/slurm/` (refusing to replace scripts already there) and returns
/// that folder.
pub fn write(a: &SlurmArgs, name: &str, runs: usize, exe: &Path) -> Result<PathBuf> {
    let out = std::path::absolute(&a.out).with_context(|| format!("--out {}", a.out.display()))?;
    let files = scripts(a, name, runs, exe, &out)?;
    let dir = out.join("slurm");
    if dir.join("array.sbatch").exists() {
        bail!(
            "{} already holds Slurm scripts; choose another --out",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir.join("logs"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    for (file, text) in files {
        let path = dir.join(file);
        crate::data::write_atomically(&path, text.as_bytes())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", path.display()))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(tasks: Option<usize>) -> SlurmArgs {
        SlurmArgs {
            out: "/shared/run".into(),
            tasks,
            partition: Some("cpu".into()),
            time: "01:00:00".into(),
            cpus: 2,
            mem: None,
            job: [
                "sweep",
                "--task",
                "reach",
                "--set",
                "reach.input_noise='0.1'",
            ]
            .map(String::from)
            .to_vec(),
        }
    }

    #[test]
    fn the_array_script_runs_each_shard_with_requeue_and_quoted_arguments() {
        let files = scripts(
            &args(None),
            "sweep-reach",
            6,
            Path::new("/opt/ccdni"),
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
            r"exec '/opt/ccdni' 'sweep' '--task' 'reach' '--set' 'reach.input_noise='\''0.1'\''' --out '/shared/run' --shard slurm --threads 2",
        ] {
            assert!(array.contains(needle), "{needle}\n{array}");
        }
        assert!(
            files[1]
                .1
                .contains("exec '/opt/ccdni' aggregate '/shared/run'")
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
    fn impossible_settings_are_refused() {
        let p = Path::new("/o");
        for (a, needle) in [
            (args(Some(7)), "between 1 and 6 array tasks"),
            (args(Some(0)), "between 1 and 6 array tasks"),
            (
                SlurmArgs {
                    cpus: 0,
                    ..args(None)
                },
                "--cpus must be at least 1",
            ),
            (
                SlurmArgs {
                    time: "1 h".into(),
                    ..args(None)
                },
                "--time",
            ),
        ] {
            let msg = format!("{:#}", scripts(&a, "x", 6, p, p).unwrap_err());
            assert!(msg.contains(needle), "{msg}");
        }
    }
}
