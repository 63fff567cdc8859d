//! The file task: its batches (layout, order, split), and every kind of bad input refused,
//! naming the file and what is wrong.

use super::*;
use crate::data::npy;
use std::path::Path;

/// Writes a float32 `.npy` file.
fn floats(dir: &Path, name: &str, shape: &[usize], values: &[f32]) -> PathBuf {
    let p = dir.join(name);
    npy::write(&p, shape, values).unwrap();
    p
}

/// Writes a `.npy` file of `descr` with raw little-endian `data`.
fn raw(dir: &Path, name: &str, descr: &str, shape: &[usize], data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, npy::encode_raw(descr, shape, data).unwrap()).unwrap();
    p
}

/// Writes int64 labels.
fn labels(dir: &Path, name: &str, shape: &[usize], values: &[i64]) -> PathBuf {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw(dir, name, "<i8", shape, &data)
}

/// N = 10 sequences of L = 3 steps, I = 2 inputs, O = 2 outputs: value = sequence + step / 10
/// (+ unit / 100), so every value names its place.
fn regression(dir: &Path) -> FileConfig {
    let (n, l) = (10, 3);
    let place = |w: usize| -> Vec<f32> {
        (0..n * l * w)
            .map(|i| (i / (l * w)) as f32 + ((i / w) % l) as f32 / 10.0 + (i % w) as f32 / 100.0)
            .collect()
    };
    FileConfig {
        inputs: Some(floats(dir, "x.npy", &[n, l, 2], &place(2))),
        targets: Some(floats(dir, "y.npy", &[n, l, 2], &place(2))),
        validation_fraction: 0.2,
        test_fraction: 0.1,
        ..FileConfig::default()
    }
}

fn task(config: &FileConfig, seed: u64, eval_batch: usize) -> FileTask {
    FileTask::new(
        config.clone(),
        Arc::new(load::load(config).unwrap()),
        seed,
        eval_batch,
    )
    .unwrap()
}

/// The sequence each sample of a batch is (its input at step 0, unit 0).
fn sequences(b: &Batch<f32>) -> Vec<usize> {
    (0..b.batch).map(|s| b.inputs[s * 2] as usize).collect()
}

#[test]
fn batches_are_time_major_and_the_split_is_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let config = regression(dir.path());
    let t = task(&config, 3, 4);
    assert_eq!((t.input_size(), t.output_size(), t.steps()), (2, 2, 3));
    let held = |b: &[Batch<f32>]| b.iter().flat_map(sequences).collect::<Vec<_>>();
    let (val, test) = (held(t.validation()), held(t.test()));
    assert_eq!((val.len(), test.len(), t.train.len()), (2, 1, 7));
    let mut all: Vec<usize> = val.iter().chain(&test).chain(&t.train).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..10).collect::<Vec<_>>(),
        "the split partitions the file"
    );
    assert_eq!(
        held(task(&config, 3, 4).validation()),
        val,
        "the same seed, the same split"
    );
    assert_ne!(
        (0..6)
            .map(|s| held(task(&config, s, 4).validation()))
            .collect::<Vec<_>>(),
        vec![val.clone(); 6],
        "other seeds, other splits"
    );
    // Row t * batch + b holds sequence b's step t.
    let b = t.train_batch(0, 0, 3);
    for (k, &s) in sequences(&b).iter().enumerate() {
        for step in 0..3 {
            let row = (step * 3 + k) * 2;
            let want = s as f32 + step as f32 / 10.0;
            assert_eq!(b.inputs[row], want);
            assert_eq!(b.inputs[row + 1], want + 0.01);
            let Target::Masked { values, mask } = &b.target else {
                panic!()
            };
            assert_eq!(values[row + 1], want + 0.01);
            assert!(mask.iter().all(|&m| m), "no mask: every value scored");
        }
    }
}

#[test]
fn the_walk_through_the_training_set_follows_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = FileConfig {
        validation_inputs: None,
        ..regression(dir.path())
    };
    // Held-out sets from their own files, so all 10 sequences train.
    config.validation_inputs = config.inputs.clone();
    config.validation_targets = config.targets.clone();
    config.test_inputs = config.inputs.clone();
    config.test_targets = config.targets.clone();
    config.order = FileOrder::File;
    config.epoch_samples = Some(4);
    let t = task(&config, 0, 5);
    assert_eq!(t.batches_per_epoch(3), 2);
    let epoch = |t: &FileTask, e: usize| -> Vec<usize> {
        (0..t.batches_per_epoch(3))
            .flat_map(|i| sequences(&t.train_batch(e, i, 3)))
            .collect()
    };
    // Epochs of 4 sequences walk on through the file, wrapping around.
    assert_eq!(epoch(&t, 0), [0, 1, 2, 3]);
    assert_eq!(epoch(&t, 2), [8, 9, 0, 1]);
    assert_eq!(
        t.validation().iter().map(|b| b.batch).collect::<Vec<_>>(),
        [5, 5]
    );
    config.epoch_samples = None;
    config.order = FileOrder::Fixed;
    let fixed = task(&config, 1, 5);
    assert_eq!(epoch(&fixed, 0), epoch(&fixed, 1), "one order every pass");
    assert_ne!(epoch(&fixed, 0), (0..10).collect::<Vec<_>>());
    config.order = FileOrder::Reshuffled;
    let shuffled = task(&config, 1, 5);
    assert_ne!(
        epoch(&shuffled, 0),
        epoch(&shuffled, 1),
        "a new order each pass"
    );
    let mut e = epoch(&shuffled, 1);
    e.sort_unstable();
    assert_eq!(
        e,
        (0..10).collect::<Vec<_>>(),
        "each pass takes every sequence once"
    );
    assert_eq!(
        shuffled.train_batch(4, 2, 3).inputs,
        task(&config, 1, 5).train_batch(4, 2, 3).inputs
    );
}

#[test]
fn masks_and_labels_become_their_targets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut config = regression(d);
    let step_mask: Vec<f32> = (0..30).map(|i| f32::from(u8::from(i % 3 == 2))).collect();
    config.mask = Some(floats(d, "m.npy", &[10, 3], &step_mask));
    let t = task(&config, 0, 10);
    let b = t.train_batch(0, 0, 2);
    let Target::Masked { mask, .. } = &b.target else {
        panic!()
    };
    // Only the last step, both outputs of both sequences.
    assert_eq!(mask.iter().filter(|&&m| m).count(), 4);
    assert!(mask[2 * 2 * 2..].iter().all(|&m| m));
    // Labels at the last step; a mask takes labels away.
    let l: Vec<i64> = (0..30)
        .map(|i| if i % 3 == 2 { (i / 3 % 4) as i64 } else { -1 })
        .collect();
    config.targets = Some(labels(d, "l.npy", &[10, 3], &l));
    config.mask = None;
    let t = task(&config, 0, 10);
    assert_eq!(t.output_size(), 4, "classes: the largest label + 1");
    let b = t.train_batch(0, 0, 10);
    let Target::Labels { labels: got } = &b.target else {
        panic!()
    };
    // The 7 training sequences (3 are held out): labels at their last step only.
    assert_eq!(b.batch, 7);
    assert!(got[..14].iter().all(|&l| l == -1));
    assert!(got[14..].iter().all(|&l| l >= 0));
    config.classes = Some(6);
    assert_eq!(task(&config, 0, 10).output_size(), 6);
}

#[test]
fn one_archive_holds_every_array() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let c = regression(d);
    let bytes = |p: &Option<PathBuf>| std::fs::read(p.as_ref().unwrap()).unwrap();
    let (x, y) = (bytes(&c.inputs), bytes(&c.targets));
    let npz = d.join("set.npz");
    std::fs::write(
        &npz,
        crate::data::npz::encode(&[("inputs.npy", &x), ("targets.npy", &y)], true),
    )
    .unwrap();
    let archived = FileConfig {
        data: Some(npz.clone()),
        inputs: None,
        targets: None,
        ..c.clone()
    };
    assert_eq!(load::load(&archived).unwrap(), load::load(&c).unwrap());
    let both = FileConfig {
        data: Some(npz),
        ..c
    };
    let msg = format!("{:#}", load::load(&both).unwrap_err());
    assert!(msg.contains("`file.inputs` cannot be given too"), "{msg}");
}

/// The error of loading `config`, with its causes.
fn refused(config: &FileConfig) -> String {
    format!("{:#}", load::load(config).expect_err("refused"))
}

/// Shapes, dtypes and kinds of target that differ between files, and files that are not there.
#[test]
fn bad_arrays_are_refused_naming_the_file_and_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = regression(d);
    let cases: Vec<(&str, FileConfig, Vec<&str>)> = vec![
        (
            "inputs of another N",
            FileConfig {
                inputs: Some(floats(d, "n.npy", &[9, 3, 2], &[0.0; 54])),
                ..good.clone()
            },
            vec![
                "y.npy has shape [10, 3, 2]",
                "n.npy has shape [9, 3, 2]",
                "sequences N and steps L must agree",
            ],
        ),
        (
            "targets of another L",
            FileConfig {
                targets: Some(floats(d, "l4.npy", &[10, 4, 2], &[0.0; 80])),
                ..good.clone()
            },
            vec!["l4.npy has shape [10, 4, 2]", "steps L must agree"],
        ),
        (
            "integer inputs",
            FileConfig {
                inputs: Some(labels(d, "xi.npy", &[10, 3, 2], &[0; 60])),
                ..good.clone()
            },
            vec!["xi.npy", "<i8 integers", "must be floating point"],
        ),
        (
            "inputs of rank 2",
            FileConfig {
                inputs: Some(floats(d, "x2.npy", &[10, 6], &[0.0; 60])),
                ..good.clone()
            },
            vec!["x2.npy: shape [10, 6]", "N × L × I"],
        ),
        (
            "validation inputs of another width",
            FileConfig {
                validation_inputs: Some(floats(d, "vx.npy", &[4, 3, 3], &[0.0; 36])),
                validation_targets: good.targets.clone(),
                ..good.clone()
            },
            vec!["vx.npy", "[4, 3, 3]", "3 steps × 2 inputs"],
        ),
        (
            "validation labels where training has values",
            FileConfig {
                validation_inputs: good.inputs.clone(),
                validation_targets: Some(labels(d, "vl.npy", &[10, 3], &[0; 30])),
                ..good.clone()
            },
            vec![
                "vl.npy",
                "integer labels",
                "y.npy are float values",
                "one kind",
            ],
        ),
    ];
    all_refused(cases);
}

/// NaN, infinity, labels out of range, masks, lying headers, missing arrays.
#[test]
fn bad_values_are_refused_naming_the_file_and_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = regression(d);
    let x = |v: f32| vec![v; 10 * 3 * 2];
    let cases: Vec<(&str, FileConfig, Vec<&str>)> = vec![
        (
            "a NaN",
            FileConfig {
                inputs: Some(floats(d, "nan.npy", &[10, 3, 2], &{
                    let mut v = x(0.0);
                    v[13] = f32::NAN;
                    v
                })),
                ..good.clone()
            },
            vec!["nan.npy", "NaN at sequence 2, step 0, unit 1", "finite"],
        ),
        (
            "an infinity",
            FileConfig {
                targets: Some(floats(d, "inf.npy", &[10, 3, 2], &{
                    let mut v = x(0.0);
                    v[59] = f32::INFINITY;
                    v
                })),
                ..good.clone()
            },
            vec!["inf.npy", "inf at sequence 9, step 2, unit 1"],
        ),
        (
            "a label below -1",
            FileConfig {
                targets: Some(labels(d, "neg.npy", &[10, 3], &{
                    let mut v = vec![0; 30];
                    v[4] = -2;
                    v
                })),
                ..good.clone()
            },
            vec!["neg.npy", "label -2 at sequence 1, step 1 is out of range"],
        ),
        (
            "a label beyond the classes",
            FileConfig {
                targets: Some(labels(d, "big.npy", &[10, 3], &{
                    let mut v = vec![0; 30];
                    v[7] = 5;
                    v
                })),
                classes: Some(3),
                ..good.clone()
            },
            vec!["a label is 5", "`file.classes` = 3"],
        ),
        (
            "an all-zero mask",
            FileConfig {
                mask: Some(floats(d, "zero.npy", &[10, 3], &[0.0; 30])),
                ..good.clone()
            },
            vec!["zero.npy", "no value is scored", "mask is all zeros"],
        ),
        (
            "a mask of other values",
            FileConfig {
                mask: Some(floats(d, "half.npy", &[10, 3], &[0.5; 30])),
                ..good.clone()
            },
            vec!["half.npy", "holds 0.5", "only 0 and 1"],
        ),
        (
            "a mask of another shape",
            FileConfig {
                mask: Some(floats(d, "m3.npy", &[10, 3, 5], &[1.0; 150])),
                ..good.clone()
            },
            vec!["m3.npy", "[10, 3, 5]", "N × L or N × L × O"],
        ),
        (
            "a header that lies about the size",
            FileConfig {
                inputs: Some(raw(d, "lie.npy", "<f4", &[10, 3, 2], &[0; 200])),
                ..good.clone()
            },
            vec!["lie.npy", "truncated", "needs 240 bytes", "holds 200"],
        ),
        (
            "no targets",
            FileConfig {
                targets: None,
                ..good.clone()
            },
            vec!["needs its training inputs and targets"],
        ),
        (
            "validation inputs without targets",
            FileConfig {
                validation_inputs: good.inputs.clone(),
                ..good.clone()
            },
            vec!["the validation set needs both", "given: inputs"],
        ),
        (
            "a file that is not there",
            FileConfig {
                inputs: Some(d.join("missing.npy")),
                ..good.clone()
            },
            vec!["cannot read", "missing.npy"],
        ),
        (
            "complex values",
            FileConfig {
                targets: Some(raw(d, "c.npy", "<c8", &[10, 3, 2], &[0; 480])),
                ..good.clone()
            },
            vec!["c.npy", "'<c8' is not one ccdni reads"],
        ),
    ];
    all_refused(cases);
}

/// Each case's config is refused with a message holding each of its needles.
fn all_refused(cases: Vec<(&str, FileConfig, Vec<&str>)>) {
    for (what, config, needles) in cases {
        let msg = refused(&config);
        for n in needles {
            assert!(msg.contains(n), "{what}: {n:?} not in {msg}");
        }
    }
}

#[test]
fn settings_and_splits_that_leave_nothing_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = regression(dir.path());
    let fraction = FileConfig {
        validation_fraction: 1.5,
        ..good.clone()
    };
    let msg = format!("{:#}", fraction.validate().unwrap_err());
    assert!(
        msg.contains("`file.validation_fraction` must be a fraction in [0, 1)"),
        "{msg}"
    );
    let none = FileConfig {
        validation_fraction: 0.0,
        ..good.clone()
    };
    let msg = format!(
        "{:#}",
        FileTask::new(none.clone(), Arc::new(load::load(&none).unwrap()), 0, 5)
            .err()
            .unwrap()
    );
    assert!(
        msg.contains("no validation set") && msg.contains("file.validation_fraction"),
        "{msg}"
    );
    let sum = FileConfig {
        validation_fraction: 0.6,
        test_fraction: 0.5,
        ..good
    };
    let msg = format!("{:#}", sum.validate().unwrap_err());
    assert!(msg.contains("leaves no training sequences"), "{msg}");
}
