//! Everything the command line shows: results on standard output, progress and notes on
//! standard error. A failed write to standard output is an error the command reports; a failed
//! write to standard error (a full disk under a Slurm log) is ignored, so it never stops a job.

use ccdni::bench::BenchResult;
use ccdni::job::observe::Observer;
use ccdni::job::spec::RunSpec;
use ccdni::loss::EvalMetrics;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Writes `text` to standard output.
pub fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| anyhow::anyhow!("cannot write to standard output: {e}"))
}

/// Writes a line to standard error, if it can.
pub fn note(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A progress bar over a job's training batches (drawn only on a terminal), with a line for
/// each run that finishes and each note; it stops the job once `interrupted` is raised (by the
/// signal handler).
pub struct JobBar {
    bar: ProgressBar,
    interrupted: &'static AtomicBool,
}

impl JobBar {
    pub fn new(interrupted: &'static AtomicBool) -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% eta {eta}",
            )
            .expect("valid template"),
        );
        JobBar { bar, interrupted }
    }

    fn line(&self, text: &str) {
        if self.bar.is_hidden() {
            note(text);
        } else {
            self.bar.println(text);
        }
    }
}

impl Observer for JobBar {
    fn start(&self, total: u64, done: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    fn batch(&self) {
        self.bar.inc(1);
    }

    fn run_finished(&self, run: &RunSpec, measure: &str, value: f64) {
        self.line(&format!(
            "  {} seed {} done: test {measure} {value:.4}",
            run.label,
            run.seed()
        ));
    }

    fn note(&self, text: &str) {
        self.line(&format!("note: {text}"));
    }

    fn end(&self) {
        self.bar.finish_and_clear();
    }

    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }
}

/// The benchmark table's header.
pub fn bench_header(threads: usize) -> String {
    let threads = match threads {
        1 => "one thread".to_string(),
        n => format!("{n} threads inside the run"),
    };
    format!(
        "{threads}, f32; the floor of each configuration: its GEMM flops at the throughput of a 512³ product on as many threads (median of samples taken between its slices)\n\
         {:<80} {:>10} {:>9} {:>11} {:>10} {:>10}\n",
        "configuration", "seq/s", "ms/batch", "GFLOP/batch", "in GEMM", "GEMM GF/s"
    )
}

/// A configuration's two lines of the benchmark table.
pub fn bench_row(r: &BenchResult) -> String {
    let floor_ms = r.floor_ms();
    format!(
        "{:<80} {:>10.0} {:>9.3} {:>11.4} {:>9.0}% {:>10.1}\n\
         {:<80} floor at {:.1} GF/s: {floor_ms:.3} ms/batch ({:.0} seq/s): {:.0}% of it\n",
        r.name,
        r.sequences_per_second,
        r.ms_per_batch,
        r.gflop_per_batch,
        100.0 * r.gemm_share,
        r.gemm_gflops,
        "",
        r.peak_gflops,
        r.batch as f64 / floor_ms * 1e3,
        100.0 * floor_ms / r.ms_per_batch
    )
}

/// An evaluation's measures as lines `  test <name>  <value>`, in the order of metrics.csv,
/// those the task has.
pub fn eval_lines(test: &EvalMetrics) -> String {
    let named = [
        ("mse", test.mse),
        ("mse_feedback", test.mse_feedback),
        ("accuracy", test.accuracy),
        ("nll", test.nll),
        ("certainty", test.certainty),
        ("dysmetria", test.dysmetria),
    ];
    named
        .iter()
        .filter_map(|(name, v)| v.map(|v| format!("  test {name:<14} {v}\n")))
        .collect()
}

/// A progress bar per downloaded file (drawn only on a terminal), and notes of retries.
pub struct Download {
    bar: std::sync::Mutex<ProgressBar>,
}

impl Download {
    pub fn new() -> Self {
        Download {
            bar: std::sync::Mutex::new(ProgressBar::hidden()),
        }
    }
}

impl ccdni::data::fetch::Transfer for Download {
    fn start(&self, name: &str, total: Option<u64>, at: u64) {
        let bar = match total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::new_spinner(),
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:28} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec}",
        ) {
            bar.set_style(style);
        }
        bar.set_message(name.to_string());
        bar.set_position(at);
        *self.bar.lock().expect("progress bar") = bar;
    }

    fn bytes(&self, bytes: u64) {
        self.bar.lock().expect("progress bar").inc(bytes);
    }

    fn end(&self) {
        self.bar.lock().expect("progress bar").finish();
    }

    fn note(&self, text: &str) {
        note(text);
    }
}
