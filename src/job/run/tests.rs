//! A run stopped at a batch boundary and resumed from its checkpoint ends bit for bit where the
//! uninterrupted run ends, whatever the options: lesions in both olive modes, a sparse
//! cerebellum, per-window updates, each optimizer, recordings, measures over learning. And the
//! measures over learning change nothing in training.

use super::*;
use crate::config::{Config, ModelKind, TaskKind};
use crate::job::layout::JobDir;
use crate::job::records::LearningRecord;
use crate::optim::OptimizerKind;
use crate::trainer::{OliveLesion, UpdateEvery};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) fn small(edit: impl Fn(&mut Config)) -> Config {
    let mut c = Config::defaults(TaskKind::Reach);
    c.epochs = 4;
    c.batch_size = 20;
    c.cerebellum.granule = 30;
    c.cortex.hidden = 12;
    c.reach.train_samples = 100;
    c.reach.validation_samples = 20;
    c.reach.test_samples = 20;
    edit(&mut c);
    c
}

/// Trains `config` (the `i`th of a test's) without a stop, and stopped before batch 3, 10 and
/// 12 (counted over the launch) then resumed; asserts that each resumed run ends where the
/// uninterrupted one does (its records, final parameters and model file), and gives both, with
/// their folders, to `more` for the checks of the caller's own.
pub(crate) fn resumes_bit_for_bit(
    config: &Config,
    i: usize,
    more: impl Fn((&FinishedRun, &Path), (&FinishedRun, &Path), &str),
) {
    let root = tempfile::tempdir().unwrap();
    let reference_dir = root.path().join("reference");
    let reference = train_in(config, &reference_dir, None).unwrap().unwrap();
    for stop_at in [3, 10, 12] {
        let dir = root.path().join(format!("stopped-{stop_at}"));
        assert!(
            train_in(config, &dir, Some(stop_at)).unwrap().is_none(),
            "stopped"
        );
        let resumed = train_in(config, &dir, None).unwrap().unwrap();
        let what = format!("config {i}, stopped before batch {stop_at}");
        assert_eq!(
            without_seconds(&resumed),
            without_seconds(&reference),
            "{what}"
        );
        assert!(
            resumed.model.params() == reference.model.params(),
            "{what}: final parameters"
        );
        let files = |d: &Path| -> Vec<u8> { std::fs::read(run_dir(d).model()).unwrap() };
        assert!(
            files(&dir) == files(&reference_dir),
            "{what}: the model file"
        );
        more((&resumed, &dir), (&reference, &reference_dir), &what);
    }
}

/// Raises the abort flag after the batch `at` (counted over this launch), as another run's
/// failure would.
struct StopAfter<'a> {
    abort: &'a AtomicBool,
    batches: AtomicUsize,
    at: Option<usize>,
}

impl Observer for StopAfter<'_> {
    fn batch(&self) {
        if Some(self.batches.fetch_add(1, Ordering::Relaxed) + 1) == self.at {
            self.abort.store(true, Ordering::Relaxed);
        }
    }
}

/// The folder of the run of `config` in the job folder `dir`.
pub(crate) fn run_dir(dir: &Path) -> RunDir {
    JobDir::new(dir).run("r")
}

/// Trains `config` in its run folder under `dir` (going on from its checkpoint when it has
/// one), stopping before training batch `stop_at` + 1 when given; `None` when stopped.
pub(crate) fn train_in(
    config: &Config,
    dir: &Path,
    stop_at: Option<usize>,
) -> Result<Option<FinishedRun>> {
    let spec = RunSpec {
        label: "ccRNN".into(),
        config: config.clone(),
    };
    let abort = AtomicBool::new(false);
    let observer = StopAfter {
        abort: &abort,
        batches: AtomicUsize::new(0),
        at: stop_at,
    };
    let drive = Drive {
        abort: &abort,
        observer: &observer,
        force: false,
    };
    Ok(match run_in_folder(&spec, &run_dir(dir), &drive)? {
        RunEnd::Finished(f) => Some(*f),
        RunEnd::Stopped(_) => None,
    })
}

pub(crate) fn without_seconds(r: &FinishedRun) -> Vec<EpochRecord> {
    let mut v = r.records.clone();
    v.iter_mut().for_each(|e| e.train_seconds = 0.0);
    v
}

#[test]
fn a_resumed_run_ends_bit_for_bit_where_the_uninterrupted_one_does() {
    let configs = [
        small(|c| {
            c.lesion.olive_at = Some(2);
            c.train.olive_lesion = OliveLesion::Authors;
            c.cerebellum.sparse_k = Some(4);
            c.keep_best = true;
        }),
        small(|c| {
            c.lesion.cerebellum_at = Some(3);
            c.train.update = UpdateEvery::Window;
            c.train.horizon = 3;
            c.train.optimizer = OptimizerKind::Rmsprop {
                alpha: 0.99,
                eps: 1e-8,
            };
        }),
        small(|c| {
            c.train.optimizer = OptimizerKind::Sgd { momentum: 0.9 };
            c.record.every = 3;
            c.record.probe = 5;
            c.cerebellum.silent = true;
        }),
    ];
    // 5 batches an epoch: stop mid-epoch 1, at the end of epoch 2, and in the lesion's epoch.
    for (i, config) in configs.iter().enumerate() {
        resumes_bit_for_bit(
            config,
            i,
            |(resumed, dir), (reference, reference_dir), what| {
                assert_eq!(
                    resumed.learning, reference.learning,
                    "{what}: measures over learning"
                );
                assert_eq!(
                    resumed.learning.len(),
                    config.epochs * usize::from(config.record.probe > 0)
                );
                if config.record.every > 0 {
                    let index = |d: &Path| {
                        std::fs::read(run_dir(d).recordings().join("index.json")).unwrap()
                    };
                    assert_eq!(index(dir), index(reference_dir), "{what}: recordings");
                }
                let csv = |d: &Path| -> Vec<String> {
                    let text = std::fs::read_to_string(run_dir(d).metrics()).unwrap();
                    text.lines()
                        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
                        .collect()
                };
                assert_eq!(
                    csv(dir),
                    csv(reference_dir),
                    "{what}: metrics.csv but for the seconds"
                );
            },
        );
    }
}

#[test]
fn a_finished_run_is_loaded_not_trained_again() {
    let root = tempfile::tempdir().unwrap();
    let config = small(|_| {});
    let first = train_in(&config, root.path(), None).unwrap().unwrap();
    let model = run_dir(root.path()).model();
    let written = std::fs::metadata(&model).unwrap().modified().unwrap();
    // A stop after one batch would stop a run that trains: a finished one only loads.
    let again = train_in(&config, root.path(), Some(1)).unwrap().unwrap();
    assert!(again.model.params() == first.model.params());
    assert_eq!(again.records, first.records);
    assert_eq!(
        std::fs::metadata(&model).unwrap().modified().unwrap(),
        written
    );
    let spec = RunSpec {
        label: "ccRNN".into(),
        config,
    };
    let loaded = load_finished(&spec, &run_dir(root.path())).unwrap();
    assert_eq!(loaded.records, first.records);
}

/// With `keep_best` a run ends with the parameters of its epoch of lowest validation error:
/// those of a run trained for just that many epochs.
#[test]
fn keep_best_ends_with_the_best_epochs_parameters() {
    let root = tempfile::tempdir().unwrap();
    let config = small(|c| {
        c.epochs = 5;
        c.train.lr = 0.05;
    });
    let trained =
        |c: &Config, name: &str| train_in(c, &root.path().join(name), None).unwrap().unwrap();
    let all = trained(&config, "all");
    let errors: Vec<f64> = all
        .records
        .iter()
        .map(|r| r.validation.mse.unwrap())
        .collect();
    let best = 1
        + (0..errors.len())
            .min_by(|&a, &b| errors[a].total_cmp(&errors[b]))
            .unwrap();
    assert!(best < config.epochs, "a later epoch is worse: {errors:?}");
    let kept = trained(
        &Config {
            keep_best: true,
            ..config.clone()
        },
        "kept",
    );
    assert_eq!(
        without_seconds(&kept),
        without_seconds(&all),
        "every epoch recorded"
    );
    let short = trained(
        &Config {
            epochs: best,
            ..config.clone()
        },
        "short",
    );
    assert!(
        kept.model.params() == short.model.params(),
        "the parameters of epoch {best}"
    );
    assert!(kept.model.params() != all.model.params());
}

#[test]
fn a_checkpoint_of_another_run_or_other_settings_is_refused_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let config = small(|_| {});
    assert!(train_in(&config, root.path(), Some(3)).unwrap().is_none());
    let checkpoint: PathBuf = run_dir(root.path()).checkpoint();
    let msg = format!(
        "{:#}",
        train_in(&small(|c| c.seed = 1), root.path(), None)
            .err()
            .unwrap()
    );
    assert!(
        msg.contains("belongs to another run, ccRNN seed 0, not ccRNN seed 1"),
        "{msg}"
    );
    assert!(msg.contains(&checkpoint.display().to_string()), "{msg}");
    let msg = format!(
        "{:#}",
        train_in(&small(|c| c.train.lr = 0.5), root.path(), None)
            .err()
            .unwrap()
    );
    assert!(
        msg.contains("train.lr: 0.001 -> 0.5") && msg.contains("--force"),
        "{msg}"
    );
    assert!(msg.contains(&checkpoint.display().to_string()), "{msg}");
}

/// A tiny reach configuration: 2 training batches, 10 validation sequences in batches of 4.
pub(crate) fn tiny(model: ModelKind, probe: usize) -> Config {
    let mut c = Config::defaults(TaskKind::Reach);
    c.model = model;
    c.epochs = 3;
    c.batch_size = 10;
    c.eval_batch = 4;
    c.cerebellum.granule = 12;
    c.reach.train_samples = 20;
    c.reach.validation_samples = 10;
    c.reach.test_samples = 4;
    c.record.probe = probe;
    c.validate().unwrap();
    c
}

fn trained(c: &Config) -> FinishedRun {
    let root = tempfile::tempdir().unwrap();
    train_in(c, root.path(), None).unwrap().unwrap()
}

fn populations_of(r: &LearningRecord) -> Vec<String> {
    let mut p: Vec<String> = Vec::new();
    for m in &r.measures {
        if !p.contains(&m.population) {
            p.push(m.population.clone());
        }
    }
    p
}

#[test]
fn measures_after_every_epoch_leave_training_unchanged() {
    for model in [ModelKind::CRnn, ModelKind::CcRnn] {
        let plain = trained(&tiny(model, 0));
        assert!(plain.learning.is_empty(), "probe 0 measures nothing");
        let probed = trained(&tiny(model, 7));
        let key = |r: &EpochRecord| (r.train_loss, r.grad_norm, r.validation.mse, r.test.mse);
        assert_eq!(
            plain.records.iter().map(key).collect::<Vec<_>>(),
            probed.records.iter().map(key).collect::<Vec<_>>(),
            "{model:?}"
        );
        let learning = &probed.learning;
        assert_eq!(
            learning.iter().map(|r| r.epoch).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let want: &[&str] = match model {
            ModelKind::CRnn => &[
                "teaching_signal/true_feedback",
                "mean_teaching_signal/teaching_signal",
                "mean_teaching_signal/true_feedback",
                "cortex",
            ],
            ModelKind::CcRnn => &[
                "prediction/teaching_signal",
                "prediction/true_feedback",
                "teaching_signal/true_feedback",
                "mean_teaching_signal/teaching_signal",
                "mean_teaching_signal/true_feedback",
                "cortex",
                "granule_0",
                "granule_1",
                "cerebellar_output",
                "cerebellum.0.weight",
                "cerebellum.1.weight",
                "cerebellum.2.weight",
            ],
        };
        for r in learning {
            assert_eq!(populations_of(r), want, "{model:?} epoch {}", r.epoch);
            assert!(r.measures.iter().all(|m| m.value.is_finite()));
            for m in &r.measures {
                if m.measure == "cosine" {
                    assert!((-1.0..=1.0).contains(&m.value), "{m:?}");
                }
            }
        }
    }
}

#[test]
fn after_a_cerebellar_lesion_only_the_weights_of_the_cerebellum_are_measured() {
    let mut c = tiny(ModelKind::CcRnn, 5);
    c.lesion.cerebellum_at = Some(3);
    let learning = trained(&c).learning;
    assert!(populations_of(&learning[1]).contains(&"cerebellar_output".to_string()));
    assert_eq!(
        populations_of(&learning[2]),
        [
            "teaching_signal/true_feedback",
            "mean_teaching_signal/teaching_signal",
            "mean_teaching_signal/true_feedback",
            "cortex",
            "cerebellum.0.weight",
            "cerebellum.1.weight",
            "cerebellum.2.weight"
        ]
    );
}
