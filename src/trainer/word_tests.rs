//! The training step with an input stage in front of the cortex (the caption task): with one
//! window over the whole caption (full BPTT) and no cerebellum, the trainer's gradient of every
//! parameter, the image map and the word embedding included, is the finite-difference
//! gradient of the caption's loss, dropout and all.

use super::*;
use crate::cortex::CellKind;
use crate::layers::gradcheck::{check, values};
use crate::layers::word_input::Words;
use crate::loss::Target;
use crate::loss::window_loss;
use crate::model::{CerebellumSpec, ModelSpec, WordSpec};

const BATCH: usize = 2;
const STEPS: usize = 5;
const VOCAB: usize = 6;
const FEATURES: usize = 3;

fn spec(cerebellum: bool) -> ModelSpec {
    ModelSpec {
        cell: CellKind::Lstm,
        input: 4,
        hidden: 3,
        output: VOCAB,
        cerebellum: cerebellum.then_some(CerebellumSpec {
            granule: 5,
            layers: 2,
            sparse_k: None,
            context: 0,
        }),
        words: Some(WordSpec {
            features: FEATURES,
            vocab: VOCAB,
            dropout: 0.3,
        }),
    }
}

fn batch() -> Batch<f64> {
    Batch {
        batch: BATCH,
        steps: STEPS,
        inputs: Vec::new(),
        target: Target::Words {
            labels: vec![1, 1, 4, 2, 5, 5, 3, 0, 2, 2],
        },
        context: None,
        words: Some(Words {
            features: values(BATCH * FEATURES, 3, 1.0),
            tokens: vec![1, 1, 4, 2, 5, 5, 3, 0],
            dropout_seed: Some(11),
        }),
    }
}

/// The caption's loss (one window) as a plain function of the parameters.
fn loss(model: &Model<f64>, b: &Batch<f64>, p: &[f64]) -> f64 {
    let input = model.words.as_ref().unwrap();
    let words = b.words.as_ref().unwrap();
    let mut mask = Vec::new();
    input.dropout_mask(words, STEPS * BATCH, &mut mask);
    let mut x = vec![0.0; STEPS * BATCH * input.size()];
    input.forward(p, words, &mask, &mut x, (0, STEPS));
    let mut tr = model.cortex.trace::<f64>(BATCH, STEPS);
    model.cortex.forward(p, &x, &mut tr, 0, STEPS);
    let mut y = vec![0.0; STEPS * BATCH * VOCAB];
    model
        .readout
        .forward(p, tr.outputs(0, STEPS), &mut y, false);
    let mut dy = vec![0.0; y.len()];
    window_loss(&b.target, &y, &mut dy, 0, STEPS, STEPS, BATCH).unwrap()
}

#[test]
fn full_bptt_gradients_of_a_caption_match_finite_differences() {
    let options = TrainOptions {
        horizon: STEPS,
        ..TrainOptions::default()
    };
    let mut t = Trainer::new(Model::<f64>::new(&spec(false), 1), options);
    let b = batch();
    let stats = t.compute_gradients(&b);
    let params = t.model.params.clone();
    assert!((stats.task_loss - loss(&t.model, &b, &params)).abs() < 1e-12);
    let embedding = t.model.words.as_ref().unwrap().embedding.weight.clone();
    assert!(
        t.grads[embedding].iter().any(|&g| g != 0.0),
        "the embedding learns"
    );
    check(
        "caption model",
        &params,
        &t.grads,
        |p| loss(&t.model, &b, p),
        1e-7,
    );
}

#[test]
fn the_input_stage_learns_with_a_step_per_window_and_a_cerebellum() {
    let options = TrainOptions {
        horizon: 2,
        update: UpdateEvery::Window,
        ..TrainOptions::default()
    };
    let model = Model::<f64>::new(&spec(true), 1);
    let before = model.params.clone();
    let stage = model.cortical_range();
    let mut t = Trainer::new(model, options.clone());
    let stats = t.train_batch(&batch());
    assert!(stats.task_loss.is_finite() && stats.cerebellum_loss.is_finite());
    let words = t.model.words.as_ref().unwrap();
    let changed = |r: Range<usize>| r.clone().any(|i| t.model.params[i] != before[i]);
    assert!(changed(words.image.weight.clone()) && changed(words.embedding.weight.clone()));
    assert!(changed(t.model.cerebellar_range()));
    assert_eq!(
        stage.end, words.embedding.weight.end,
        "the stage is cortical"
    );
    let mut again = Trainer::new(Model::<f64>::new(&spec(true), 1), options);
    again.train_batch(&batch());
    assert_eq!(again.model.params, t.model.params, "deterministic");
}

#[test]
fn a_frozen_image_map_stays_and_everything_else_learns_as_before() {
    let options = TrainOptions {
        horizon: 2,
        update: UpdateEvery::Window,
        clip: 0.5,
        ..TrainOptions::default()
    };
    let model = Model::<f64>::new(&spec(true), 1);
    let map = model.image_map_range().unwrap();
    let before = model.params.clone();
    let mut t = Trainer::new(model.clone(), options.clone());
    t.freeze(map.clone());
    let b = batch();
    for _ in 0..3 {
        t.train_batch(&b);
    }
    assert_eq!(t.model.params[map.clone()], before[map.clone()]);
    let changed = |r: Range<usize>| r.clone().any(|i| t.model.params[i] != before[i]);
    let words = t.model.words.as_ref().unwrap();
    assert!(changed(words.embedding.weight.clone()) && changed(t.model.readout.weight.clone()));
    // The same steps with the image map's gradient removed by hand: the clipping norm and the
    // updates of every other parameter agree.
    let mut by_hand = Trainer::new(model, options);
    for _ in 0..3 {
        let windows = by_hand.windows(b.steps);
        by_hand.start_batch(&b);
        for w in windows.chunks(1) {
            by_hand.backprop_windows(&b, w);
            by_hand.grads[map.clone()].fill(0.0);
            let ranges = [
                by_hand.model.cortical_range(),
                by_hand.model.cerebellar_range(),
            ];
            let (params, grads) = (&mut by_hand.model.params, &mut by_hand.grads);
            clip(grads, &ranges, 0.5);
            // A zero gradient from the start leaves Adam's moments, and so the map, at rest.
            by_hand.optimizer.update(params, grads, &ranges);
        }
    }
    // (To rounding: the norm and the vector loops see the ranges cut differently.)
    for (a, b) in by_hand.model.params.iter().zip(&t.model.params) {
        assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
    }
}

#[test]
#[allow(clippy::single_range_in_vec_init)]
fn without_cuts_holes_out_of_a_range() {
    assert_eq!(without(0..10, &[]), vec![0..10]);
    assert_eq!(without(0..10, &[2..4]), vec![0..2, 4..10]);
    assert_eq!(without(0..10, &[6..8, 0..3]), vec![3..6, 8..10]);
    assert_eq!(without(5..10, &[0..6, 9..20]), vec![6..9]);
    assert_eq!(without(0..10, &[0..10]), Vec::<Range<usize>>::new());
    assert_eq!(without(0..10, &[3..3, 20..30]), vec![0..10]);
}
