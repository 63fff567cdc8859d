//! A run stopped at a batch boundary and resumed from its checkpoint ends bit for bit where the
//! uninterrupted run ends, whatever the options: lesions in both olive modes, a sparse
//! cerebellum, per-window updates, each optimizer, recordings, measures over learning.

use super::super::run::{Hooks, RunResult, train};
use crate::config::{Config, TaskKind};
use crate::optim::OptimizerKind;
use crate::trainer::{OliveLesion, UpdateEvery};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

fn small(edit: impl Fn(&mut Config)) -> Config {
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

/// Trains `config`, stopping (as another run's failure would) before training batch `stop_at`
/// counted over the run when given; `resume` goes on from the checkpoint.
fn run(config: &Config, dir: &Path, stop_at: Option<usize>, resume: bool) -> Option<RunResult> {
    let task = crate::tasks::build(config).unwrap();
    let abort = AtomicBool::new(false);
    let batches = AtomicUsize::new(0);
    let on_batch = || {
        if Some(batches.fetch_add(1, Ordering::Relaxed) + 1) == stop_at {
            abort.store(true, Ordering::Relaxed);
        }
    };
    let hooks = Hooks {
        abort: &abort,
        on_batch: &on_batch,
        on_epoch: &mut |_| Ok(()),
        recordings: (config.record.every > 0).then(|| dir.join("recordings")),
        checkpoint: Some(&dir.join("checkpoint.safetensors")),
    };
    train(config, "ccRNN", task.as_ref(), hooks, resume).ok()
}

fn without_seconds(r: &RunResult) -> Vec<super::EpochRecord> {
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
        let root = tempfile::tempdir().unwrap();
        let reference = run(config, &root.path().join("reference"), None, false).unwrap();
        for stop_at in [3, 10, 12] {
            let dir = root.path().join(format!("stopped-{stop_at}"));
            assert!(run(config, &dir, Some(stop_at), false).is_none(), "stopped");
            let resumed = run(config, &dir, None, true).unwrap();
            let what = format!("config {i}, stopped before batch {stop_at}");
            assert_eq!(
                without_seconds(&resumed),
                without_seconds(&reference),
                "{what}"
            );
            assert!(
                resumed.model.params == reference.model.params,
                "{what}: final parameters"
            );
            assert_eq!(
                resumed.learning, reference.learning,
                "{what}: measures over learning"
            );
            assert_eq!(
                resumed.learning.len(),
                config.epochs * usize::from(config.record.probe > 0)
            );
            if config.record.every > 0 {
                let index = |d: &Path| std::fs::read(d.join("recordings/index.json")).unwrap();
                let reference_dir = root.path().join("reference");
                assert_eq!(index(&dir), index(&reference_dir), "{what}: recordings");
            }
        }
    }
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
    let all = run(&config, &root.path().join("all"), None, false).unwrap();
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
    let kept = run(
        &Config {
            keep_best: true,
            ..config.clone()
        },
        &root.path().join("kept"),
        None,
        false,
    )
    .unwrap();
    assert_eq!(
        without_seconds(&kept),
        without_seconds(&all),
        "every epoch recorded"
    );
    let short = run(
        &Config {
            epochs: best,
            ..config.clone()
        },
        &root.path().join("short"),
        None,
        false,
    )
    .unwrap();
    assert!(
        kept.model.params == short.model.params,
        "the parameters of epoch {best}"
    );
    assert!(kept.model.params != all.model.params);
}

#[test]
fn a_checkpoint_of_another_run_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let config = small(|_| {});
    run(&config, root.path(), Some(3), false);
    let other = small(|c| c.seed = 1);
    let task = crate::tasks::build(&other).unwrap();
    let abort = AtomicBool::new(false);
    let hooks = Hooks {
        abort: &abort,
        on_batch: &|| {},
        on_epoch: &mut |_| Ok(()),
        recordings: None,
        checkpoint: Some(&root.path().join("checkpoint.safetensors")),
    };
    let err = train(&other, "ccRNN", task.as_ref(), hooks, true)
        .err()
        .unwrap();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("belongs to run ccRNN seed 0, not ccRNN seed 1"),
        "{msg}"
    );
    assert!(msg.contains("checkpoint.safetensors"), "{msg}");
}

/// Fuzzing the checkpoint reader: truncations, flipped bytes and overwritten header lengths of
/// a real checkpoint (a fixed, seeded set: a bounded time in CI) give an error or a whole
/// checkpoint, never a panic.
#[test]
fn damaged_checkpoints_never_panic() {
    let root = tempfile::tempdir().unwrap();
    let config = small(|c| c.cerebellum.sparse_k = Some(4));
    run(&config, root.path(), Some(3), false);
    let path = root.path().join("checkpoint.safetensors");
    let good = std::fs::read(&path).unwrap();
    let task = crate::tasks::build(&config).unwrap();
    let spec = config.model_spec(task.input_size(), task.output_size(), task.context_size());
    let mut rng = crate::rng::Rng::new(7);
    let below = |rng: &mut crate::rng::Rng, n: usize| (rng.next_u64() % n as u64) as usize;
    for case in 0..300 {
        let mut bytes = good.clone();
        match case % 3 {
            0 => bytes.truncate(below(&mut rng, good.len())),
            1 => {
                for _ in 0..1 + below(&mut rng, 8) {
                    // Mostly in the header, where the structure is.
                    let at = below(&mut rng, if case % 2 == 0 { 600 } else { bytes.len() });
                    bytes[at] ^= 1 << below(&mut rng, 8);
                }
            }
            _ => bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes()),
        }
        std::fs::write(&path, &bytes).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            let _ = super::peek(&path);
            let mut trainer = crate::trainer::Trainer::new(
                crate::model::Model::<f32>::new(&spec, config.seed),
                config.train.clone(),
            );
            let _ = super::load(&path, &mut trainer, &config, "ccRNN");
        });
        assert!(
            outcome.is_ok(),
            "case {case}: a damaged checkpoint panicked"
        );
    }
}
