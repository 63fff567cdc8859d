//! Unit tests of the MNIST task.

use super::*;
use std::collections::BTreeSet;

const TRAIN: usize = 60;
const TEST: usize = 20;

/// Pixel (r, c) of image i: the first pixel is the image's index (test images: 100 + i).
fn pixel(i: usize, r: usize, c: usize) -> u8 {
    ((i + 3 * r + 5 * c) % 256) as u8
}

fn images(count: usize, offset: usize) -> Images {
    let pixels = (0..count)
        .flat_map(|i| (0..WIDTH * WIDTH).map(move |p| pixel(i + offset, p / WIDTH, p % WIDTH)))
        .collect();
    Images {
        count,
        rows: WIDTH,
        cols: WIDTH,
        pixels,
    }
}

fn tiny() -> Arc<Dataset> {
    Arc::new(Dataset {
        train_images: images(TRAIN, 0),
        train_labels: (0..TRAIN).map(|i| (i % 10) as u8).collect(),
        test_images: images(TEST, 100),
        test_labels: (0..TEST).map(|i| ((i * 3) % 10) as u8).collect(),
    })
}

fn config(variant: MnistVariant) -> MnistConfig {
    MnistConfig {
        variant,
        validation_samples: 12,
        ..MnistConfig::default()
    }
}

fn task(variant: MnistVariant) -> Mnist {
    Mnist::new(config(variant), tiny(), 5, 5).unwrap()
}

/// The image index of each sample of a batch, read from its first pixel.
fn sample_ids(b: &Batch<f32>) -> Vec<usize> {
    (0..b.batch)
        .map(|s| (b.inputs[s * WIDTH] * 255.0).round() as usize)
        .collect()
}

fn err_text(r: Result<Mnist>) -> String {
    format!("{:#}", r.err().expect("an error"))
}

#[test]
fn sizes_of_sets_and_batches() {
    let t = task(MnistVariant::Class);
    assert_eq!((t.input_size(), t.output_size(), t.steps()), (28, 10, 28));
    assert_eq!(task(MnistVariant::Line).output_size(), 2);
    assert_eq!(
        (t.train_indices().len(), t.validation_indices().len()),
        (48, 12)
    );
    let sizes = |bs: &[Batch<f32>]| bs.iter().map(|b| b.batch).collect::<Vec<_>>();
    assert_eq!(sizes(t.validation()), [5, 5, 2]);
    assert_eq!(sizes(t.test()), [5, 5, 5, 5]);
    assert_eq!(t.batches_per_epoch(10), 5);
    let last = t.train_batch(0, 4, 10);
    assert_eq!((last.batch, last.steps), (8, 28));
    assert_eq!(last.inputs.len(), 28 * 8 * 28);
    assert_eq!(last.context.as_ref().unwrap().len(), 8 * CONTEXT_SIZE);
}

#[test]
fn inputs_are_time_major_rows_over_255() {
    let t = task(MnistVariant::Class);
    let (bs, index) = (7, 2);
    let b = t.train_batch(3, index, bs);
    let order = t.epoch_order(3);
    for s in 0..bs {
        let i = t.train_indices()[order[index * bs + s]];
        for r in 0..28 {
            for c in 0..28 {
                let got = b.inputs[(r * bs + s) * WIDTH + c];
                assert_eq!(
                    got,
                    pixel(i, r, c) as f32 / 255.0,
                    "sample {s} row {r} col {c}"
                );
            }
        }
        let context = &b.context.as_ref().unwrap()[s * 10..(s + 1) * 10];
        assert_eq!(context.iter().position(|&v| v == 1.0), Some(i % 10));
        assert_eq!(context.iter().sum::<f32>(), 1.0);
    }
    let Target::Class { labels } = &b.target else {
        panic!("classification targets")
    };
    let expected: Vec<usize> = sample_ids(&b).iter().map(|i| i % 10).collect();
    assert_eq!(labels, &expected);
}

#[test]
fn drawing_targets_follow_the_labels() {
    for (variant, make) in [
        (
            MnistVariant::Line,
            line_target as fn(usize, usize) -> Vec<(f64, f64)>,
        ),
        (MnistVariant::Digit, digit_target),
    ] {
        let t = task(variant);
        let b = t.train_batch(0, 1, 6);
        let Target::Trajectory { values, feedback } = &b.target else {
            panic!("trajectory targets")
        };
        assert_eq!(values.len(), 28 * 6 * 2);
        for (s, i) in sample_ids(&b).into_iter().enumerate() {
            for (step, (x, y)) in make(i % 10, 28).into_iter().enumerate() {
                assert_eq!(values[(step * 6 + s) * 2], x as f32);
                assert_eq!(values[(step * 6 + s) * 2 + 1], y as f32);
            }
        }
        let flagged: Vec<usize> = (0..28).filter(|&t| feedback[t]).collect();
        assert_eq!(flagged, [0, 4, 8, 12, 16, 20, 24]);
    }
}

#[test]
fn split_is_carried_through_disjoint_and_complete() {
    let t = task(MnistVariant::Class);
    let epoch: Vec<usize> = (0..t.batches_per_epoch(10))
        .flat_map(|k| sample_ids(&t.train_batch(2, k, 10)))
        .collect();
    let train: BTreeSet<usize> = epoch.iter().copied().collect();
    assert_eq!(
        train.len(),
        epoch.len(),
        "each training image once per epoch"
    );
    assert_eq!(train, t.train_indices().iter().copied().collect());
    let validation: BTreeSet<usize> = t.validation().iter().flat_map(sample_ids).collect();
    assert_eq!(validation, t.validation_indices().iter().copied().collect());
    assert!(train.is_disjoint(&validation));
    assert_eq!(train.len() + validation.len(), TRAIN);
    let test: Vec<usize> = t.test().iter().flat_map(sample_ids).collect();
    assert_eq!(
        test,
        (100..100 + TEST).collect::<Vec<_>>(),
        "test set in order"
    );
}

#[test]
fn by_default_the_training_order_is_fixed_across_epochs() {
    assert!(
        !MnistConfig::default().reshuffle,
        "the authors' fixed order"
    );
    let t = task(MnistVariant::Class);
    assert_eq!(t.epoch_order(0), t.epoch_order(7));
    assert_ne!(
        *t.epoch_order(0),
        (0..48).collect::<Vec<_>>(),
        "shuffled once, from the seed"
    );
    for k in 0..t.batches_per_epoch(10) {
        let first = t.train_batch(0, k, 10);
        for epoch in [1, 5] {
            let b = t.train_batch(epoch, k, 10);
            assert_eq!(b.inputs, first.inputs, "batch {k} of epoch {epoch}");
            assert_eq!(sample_ids(&b), sample_ids(&first));
        }
    }
    let other_seed = Mnist::new(config(MnistVariant::Class), tiny(), 6, 5).unwrap();
    assert_ne!(t.epoch_order(0), other_seed.epoch_order(0));
}

#[test]
fn train_batches_are_pure_and_reshuffled_per_epoch_on_request() {
    let reshuffled = || {
        Mnist::new(
            MnistConfig {
                reshuffle: true,
                ..config(MnistVariant::Class)
            },
            tiny(),
            5,
            5,
        )
        .unwrap()
    };
    let (t, again) = (reshuffled(), reshuffled());
    let b = t.train_batch(1, 2, 10);
    assert_eq!(b.inputs, t.train_batch(1, 2, 10).inputs);
    t.train_batch(4, 0, 10);
    assert_eq!(
        b.inputs,
        t.train_batch(1, 2, 10).inputs,
        "after another epoch"
    );
    assert_eq!(b.inputs, again.train_batch(1, 2, 10).inputs, "a fresh task");
    assert_ne!(t.epoch_order(0), t.epoch_order(1));
    assert_ne!(
        sample_ids(&t.train_batch(0, 0, 10)),
        sample_ids(&t.train_batch(1, 0, 10))
    );
    let other_seed = Mnist::new(config(MnistVariant::Class), tiny(), 6, 5).unwrap();
    assert_ne!(t.validation_indices(), other_seed.validation_indices());
}

#[test]
fn limits_shrink_the_sets() {
    let limited = MnistConfig {
        train_limit: Some(10),
        test_limit: Some(7),
        ..config(MnistVariant::Class)
    };
    let t = Mnist::new(limited, tiny(), 5, 5).unwrap();
    assert_eq!(t.batches_per_epoch(4), 3);
    assert_eq!(t.test().iter().map(|b| b.batch).sum::<usize>(), 7);
    assert_eq!(
        t.train_indices(),
        &task(MnistVariant::Class).train_indices()[..10]
    );
}

#[test]
fn drawing_examples_are_the_first_test_image_of_each_digit() {
    assert!(task(MnistVariant::Class).drawing_examples().is_empty());
    let t = task(MnistVariant::Digit);
    let examples = t.drawing_examples();
    assert_eq!(examples.len(), 10);
    for (d, e) in examples.iter().enumerate() {
        // test label of image i is 3 i mod 10: digit d first appears at i = 7 d mod 10.
        let i = (7 * d) % 10;
        assert_eq!(e.title, format!("digit {d}"));
        assert_eq!(e.inputs.len(), 28 * 28);
        assert_eq!(e.inputs[0], pixel(100 + i, 0, 0) as f32 / 255.0);
        assert_eq!(e.inputs[28 * 5 + 3], pixel(100 + i, 5, 3) as f32 / 255.0);
        assert_eq!(e.target, digit_target(d, 28));
        assert_eq!(t.target_trajectory(d), Some(e.target.as_slice()));
    }
}

#[test]
fn bad_data_and_settings_are_refused() {
    let mut narrow = (*tiny()).clone();
    narrow.train_images.cols = 27;
    narrow.train_images.rows = 29;
    let msg = err_text(Mnist::new(
        config(MnistVariant::Class),
        Arc::new(narrow),
        1,
        5,
    ));
    assert!(
        msg.contains("training images are 27 pixels wide (29x27"),
        "{msg}"
    );
    let too_many = MnistConfig {
        validation_samples: TRAIN,
        ..MnistConfig::default()
    };
    let msg = err_text(Mnist::new(too_many, tiny(), 1, 5));
    assert!(
        msg.contains("validation_samples = 60 leaves no training image"),
        "{msg}"
    );
    let no_feedback = MnistConfig {
        feedback_interval: 0,
        ..config(MnistVariant::Line)
    };
    assert!(Mnist::new(no_feedback, tiny(), 1, 5).is_err());
    let mut bad_label = (*tiny()).clone();
    bad_label.test_labels[3] = 10;
    let msg = err_text(Mnist::new(
        config(MnistVariant::Class),
        Arc::new(bad_label),
        1,
        5,
    ));
    assert!(msg.contains("test labels"), "{msg}");
    assert!(Mnist::new(config(MnistVariant::Class), tiny(), 1, 0).is_err());
}

#[test]
fn config_reads_from_toml() {
    let c: MnistConfig = toml::from_str("variant = \"digit\"\ntrain_limit = 100").unwrap();
    assert_eq!(c.variant, MnistVariant::Digit);
    assert_eq!((c.train_limit, c.validation_samples), (Some(100), 12_000));
    assert_eq!(
        toml::from_str::<MnistConfig>("").unwrap(),
        MnistConfig::default()
    );
    assert!(toml::from_str::<MnistConfig>("varient = \"line\"").is_err());
    assert!(toml::from_str::<MnistConfig>("variant = \"Line\"").is_err());
}

#[test]
#[ignore = "needs the real MNIST in /work/shared/data/mnist"]
fn real_mnist_loads_and_splits() {
    let dir = std::path::Path::new("/work/shared/data/mnist");
    let data = Arc::new(crate::data::load_dataset(dir).unwrap());
    let line = MnistConfig {
        variant: MnistVariant::Line,
        ..MnistConfig::default()
    };
    let t = Mnist::new(line, data, 1, 1000).unwrap();
    assert_eq!(
        (t.train_indices().len(), t.validation_indices().len()),
        (48_000, 12_000)
    );
    assert_eq!(t.batches_per_epoch(50), 960);
    assert_eq!(t.test().iter().map(|b| b.batch).sum::<usize>(), 10_000);
    let b = t.train_batch(0, 959, 50);
    assert_eq!((b.batch, b.steps, b.inputs.len()), (50, 28, 28 * 50 * 28));
    assert!(b.inputs.iter().all(|&v| (0.0..=1.0).contains(&v)));
    assert_eq!(t.drawing_examples().len(), 10);
}
