use super::*;
use crate::captions::{CaptionImage, CaptionSet};
use std::collections::BTreeSet;

/// A small set: image i has a feature of its own and captions of 2 to 6 words, one of them
/// with a word seen only once (an `<unk>` after the vocabulary is built).
fn set(images: usize) -> Arc<CaptionSet> {
    let words = ["a", "red", "ball", "left", "of", "blue", "cube"];
    Arc::new(CaptionSet {
        feature_size: 3,
        images: (0..images)
            .map(|i| CaptionImage {
                id: 100 + i as u64,
                feature: vec![i as f32, 1.0, -(i as f32)],
                captions: (0..3)
                    .map(|c| {
                        let n = 2 + (i + c) % 5;
                        let mut s: Vec<&str> =
                            (0..n).map(|k| words[(i + k) % words.len()]).collect();
                        if i == 0 && c == 0 {
                            s.push("zebra");
                        }
                        s.join(" ")
                    })
                    .collect(),
            })
            .collect(),
    })
}

fn task(images: usize, config: CaptionsConfig) -> Captions {
    Captions::new(config, set(images), 7, 8).unwrap()
}

#[test]
fn the_split_is_by_image_and_covers_every_image_once() {
    let t = task(40, CaptionsConfig::default());
    let mut seen = BTreeSet::new();
    for im in t
        .train
        .iter()
        .chain(&t.validation_images)
        .chain(&t.test_images)
    {
        assert!(seen.insert(im.index), "image {} in two splits", im.index);
    }
    assert_eq!(seen.len(), 40);
    assert_eq!((t.validation_images.len(), t.test_images.len()), (4, 4));
    let other = Captions::new(CaptionsConfig::default(), set(40), 8, 8).unwrap();
    let ids = |t: &Captions| t.test_images.iter().map(|i| i.index).collect::<Vec<_>>();
    assert_ne!(ids(&t), ids(&other), "the split follows the seed");
}

#[test]
fn batches_hold_captions_of_one_length_shifted_by_one_step() {
    let t = task(40, CaptionsConfig::default());
    let n = t.batches_per_epoch(5);
    let mut captions = 0;
    for i in 0..n {
        let b = t.train_batch(0, i, 5);
        let (Target::Words { labels }, Some(w)) = (&b.target, &b.words) else {
            panic!("a caption batch");
        };
        assert_eq!(labels.len(), b.steps * b.batch);
        assert_eq!(w.tokens.len(), (b.steps - 1) * b.batch);
        assert_eq!(w.features.len(), 3 * b.batch);
        assert!(w.dropout_seed.is_some());
        for s in 0..b.batch {
            assert_eq!(labels[s], START, "step 0 says <start>");
            assert_eq!(labels[(b.steps - 1) * b.batch + s], END);
            for t in 1..b.steps {
                // The word read at step t is the target of step t - 1.
                assert_eq!(
                    w.tokens[(t - 1) * b.batch + s],
                    labels[(t - 1) * b.batch + s]
                );
            }
        }
        captions += b.batch;
        assert_eq!(b.inputs.len(), 0);
    }
    let all: usize = t.train.iter().map(|im| im.captions.len()).sum();
    assert_eq!(captions, all, "every training caption once per epoch");
    let b = t.train_batch(1, 2, 5);
    assert_eq!(
        b.words.as_ref().unwrap().tokens,
        t.train_batch(1, 2, 5).words.unwrap().tokens
    );
    let order = |e| {
        (0..n)
            .map(|i| t.train_batch(e, i, 5).words.unwrap().tokens)
            .collect::<Vec<_>>()
    };
    assert_ne!(order(0), order(1), "a new order every epoch");
}

#[test]
fn rare_words_are_unknown_and_the_length_range_filters_training_only() {
    let t = task(40, CaptionsConfig::default());
    use crate::captions::vocab;
    let ids = [vocab::START, vocab::END, vocab::UNK].map(|w| t.vocab.id(w));
    assert_eq!(ids, [START, END, UNK], "the specials' ids");
    assert_eq!(t.vocab.encode(&["zebra".to_string()])[1], UNK);
    let config = CaptionsConfig {
        min_words: 3,
        max_words: 4,
        ..CaptionsConfig::default()
    };
    let short = task(40, config.clone());
    for i in 0..short.batches_per_epoch(4) {
        let b = short.train_batch(0, i, 4);
        assert!((5..=6).contains(&b.steps), "{} steps", b.steps);
    }
    let evaluated: usize = short.validation().iter().map(|b| b.batch).sum();
    let all: usize = short
        .validation_images
        .iter()
        .map(|im| im.captions.len())
        .sum();
    assert_eq!(evaluated, all, "evaluation keeps every caption");
    let none = CaptionsConfig {
        min_words: 30,
        max_words: 40,
        ..CaptionsConfig::default()
    };
    let e = Captions::new(none, set(40), 7, 8)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("between 30 and 40 words"), "{e}");
    let e = Captions::new(CaptionsConfig::default(), set(3), 7, 8)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("has 3 images"), "{e}");
}

#[test]
fn a_caption_model_learns_the_task() {
    use crate::model::Model;
    use crate::trainer::Trainer;
    let mut config = crate::config::Config::defaults(crate::config::TaskKind::Captions);
    config.cortex.hidden = 16;
    config.cerebellum.granule = 32;
    config.captions.embedding = 8;
    config.captions.dropout = 0.0;
    config.train.lr = 1e-2;
    let t = task(40, config.captions.clone());
    let spec = crate::model::ModelSpec {
        words: t.words(),
        ..config.model_spec(t.input_size(), t.output_size(), 0)
    };
    let mut trainer = Trainer::new(Model::<f32>::new(&spec, 1), config.train.clone());
    let bpw = |m: &Model<f32>| m.evaluate(t.validation()).bits_per_word.unwrap();
    let before = bpw(&trainer.model);
    for epoch in 0..30 {
        for i in 0..t.batches_per_epoch(8) {
            trainer.train_batch(&t.train_batch(epoch, i, 8));
        }
    }
    let after = bpw(&trainer.model);
    assert!(after < 0.5 * before, "bits per word {before} -> {after}");
    let words = generate::generate(&trainer.model, &t.features(&t.test_images), 2, 10);
    assert_eq!(words.len(), t.test_images.len());
    assert!(
        words.iter().all(|w| !w.is_empty() && w.len() <= 10),
        "{words:?}"
    );
}
