//! The checkpoint reader against damaged and edited files.

use super::*;
use crate::job::run::tests::{run_dir, small, train_in};
use crate::model::Model;
use crate::trainer::Trainer;

fn stopped_run(config: &Config, dir: &Path) -> (RunSpec, std::path::PathBuf) {
    assert!(train_in(config, dir, Some(3)).unwrap().is_none());
    let spec = RunSpec {
        label: "ccRNN".into(),
        config: config.clone(),
    };
    (spec, run_dir(dir).checkpoint())
}

fn trainer(config: &Config) -> Learner {
    let task = config.build_task().unwrap();
    let spec = config.model_spec(task.input_size(), task.output_size(), task.context_size());
    let trainer = Trainer::new(Model::<f32>::new(&spec, config.seed), config.train.clone());
    Learner::One(Box::new(trainer))
}

/// Fuzzing the checkpoint reader: truncations, flipped bytes and overwritten header lengths of
/// a real checkpoint (a fixed, seeded set: a bounded time in CI) give an error or a whole
/// checkpoint, never a panic.
#[test]
fn damaged_checkpoints_never_panic() {
    let root = tempfile::tempdir().unwrap();
    let config = small(|c| c.cerebellum.sparse_k = Some(4));
    let (run, path) = stopped_run(&config, root.path());
    let good = std::fs::read(&path).unwrap();
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
            let _ = peek(&path);
            let _ = load(&path, &mut trainer(&config), &run, 5, false);
        });
        assert!(
            outcome.is_ok(),
            "case {case}: a damaged checkpoint panicked"
        );
    }
}

/// The checkpoint at `path` with its progress edited by `edit`.
fn edit_progress(path: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let (tensors, mut metadata) = crate::data::safetensors::read(path).unwrap();
    let mut progress: serde_json::Value = serde_json::from_str(&metadata["progress"]).unwrap();
    edit(&mut progress);
    metadata.insert("progress".into(), progress.to_string());
    let named: Vec<(&str, &[usize], &[f32])> = tensors
        .iter()
        .map(|t| (t.name.as_str(), t.shape.as_slice(), t.data.as_slice()))
        .collect();
    crate::data::safetensors::write(path, &named, &metadata).unwrap();
}

#[test]
fn a_checkpoint_that_stands_where_no_run_can_is_refused_naming_the_file() {
    let root = tempfile::tempdir().unwrap();
    let config = small(|_| {});
    let (run, path) = stopped_run(&config, root.path());
    let good = std::fs::read(&path).unwrap();
    let p = peek(&path).unwrap();
    assert_eq!((p.epoch, p.batch, p.finished()), (1, 3, false));
    type Edit = fn(&mut serde_json::Value);
    let cases: [(Edit, &str); 5] = [
        (
            |p| p["batch"] = 1_000_000_000_000u64.into(),
            "stands at batch 1000000000000 of epoch 1",
        ),
        (
            |p| p["batch"] = 5.into(),
            "stands at batch 5 of epoch 1, but an epoch of this run has 5",
        ),
        (
            |p| p["epoch"] = 9.into(),
            "stands at epoch 9 with 0 epoch records",
        ),
        (|p| p["epoch"] = 0.into(), "stands at epoch 0"),
        (
            |p| {
                p["learning"] =
                    serde_json::json!([{"model": "ccRNN", "seed": 0, "epoch": 1, "measures": []}])
            },
            "measures over learning of 1 epochs",
        ),
    ];
    for (edit, needle) in cases {
        std::fs::write(&path, &good).unwrap();
        edit_progress(&path, edit);
        let msg = format!(
            "{:#}",
            load(&path, &mut trainer(&config), &run, 5, false).unwrap_err()
        );
        assert!(msg.contains(needle), "{needle}: {msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
    }
    std::fs::write(&path, &good).unwrap();
    load(&path, &mut trainer(&config), &run, 5, false).expect("the checkpoint as written");
}

/// A random JSON value of a random kind: the edits a hand or a bug might make to a field.
fn random_value(rng: &mut crate::rng::Rng) -> serde_json::Value {
    use serde_json::json;
    match rng.below(9) {
        0 => json!(null),
        1 => json!(-1),
        2 => json!(u64::MAX),
        3 => json!(1e300),
        4 => json!("x"),
        5 => json!([]),
        6 => json!({}),
        7 => json!(rng.below(6)),
        _ => json!([{"model": "ccRNN", "seed": 0, "epoch": rng.below(6), "measures": []}]),
    }
}

/// Fuzzing the checkpoint's fields, not its bytes: each of a fixed, seeded set of edits of the
/// progress fields and the metadata (every field replaced by a value of another kind or out of
/// range) gives an error naming the file or a checkpoint a run can go on from, never a panic.
#[test]
fn edited_checkpoint_fields_never_panic() {
    let root = tempfile::tempdir().unwrap();
    let config = small(|c| c.keep_best = true);
    let (run, path) = stopped_run(&config, root.path());
    let good = std::fs::read(&path).unwrap();
    let (tensors, metadata) = crate::data::safetensors::read(&path).unwrap();
    let named: Vec<(&str, &[usize], &[f32])> = tensors
        .iter()
        .map(|t| (t.name.as_str(), t.shape.as_slice(), t.data.as_slice()))
        .collect();
    let progress_fields = ["epoch", "batch", "sums", "records", "learning", "best"];
    let meta_fields = [
        "mode",
        "optimizer_step",
        "label",
        "seed",
        "config",
        "progress",
    ];
    let mut rng = crate::rng::Rng::new(11);
    for case in 0..240 {
        let mut meta = metadata.clone();
        if case % 2 == 0 {
            let mut p: serde_json::Value = serde_json::from_str(&meta["progress"]).unwrap();
            let field = progress_fields[rng.below(progress_fields.len())];
            p[field] = random_value(&mut rng);
            meta.insert("progress".into(), p.to_string());
        } else {
            let field = meta_fields[rng.below(meta_fields.len())];
            meta.insert(field.into(), random_value(&mut rng).to_string());
        }
        crate::data::safetensors::write(&path, &named, &meta).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            let _ = peek(&path);
            let _ = check(&path, &run, false);
            load(&path, &mut trainer(&config), &run, 5, false)
        });
        match outcome {
            Err(_) => panic!("case {case}: an edited checkpoint panicked: {meta:?}"),
            Ok(Err(e)) => {
                let msg = format!("{e:#}");
                assert!(
                    msg.contains(&path.display().to_string()),
                    "case {case}: {msg}"
                );
            }
            Ok(Ok(_)) => {}
        }
    }
    std::fs::write(&path, &good).unwrap();
}
