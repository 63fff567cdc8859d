//! Two-area runs (`[areas]`) through the job layer: the run trains what
//! [`crate::areas::ChainTrainer`] driven by hand trains, bit for bit, with its lesions; its
//! metrics carry each cerebellum's loss; and a run stopped at a batch and resumed from its
//! checkpoint ends where the uninterrupted one does.

use super::tests::{resumes_bit_for_bit, run_dir, small, train_in};
use crate::areas::{BackwardAreas, Chain, ChainAt, ChainTrainer, FORWARD_ERROR};
use crate::config::{AreasConfig, Config, ForwardChoice, ModelKind, TaskKind};
use crate::cortex::CellKind;
use crate::job::records::{FinishedRun, TrainedNetwork};
use crate::tasks::Task;
use crate::tasks::eyeblink::CR_RATE;
use std::path::Path;

/// A small reach run with two areas, both backward cerebellums and a forward cerebellum.
fn two_areas(edit: impl Fn(&mut Config)) -> Config {
    small(|c| {
        c.cerebellum.layers = 1;
        c.areas = Some(AreasConfig {
            delay: 2,
            forward: ForwardChoice::Replace,
            forward_granule: 16,
            ..AreasConfig::default()
        });
        edit(c);
    })
}

/// The run `config` trains in `root`, its task, and an untrained chain trainer of the same
/// network to drive by hand.
fn trained_and_by_hand(
    config: &Config,
    root: &Path,
) -> (FinishedRun, Box<dyn Task>, ChainTrainer<f32>) {
    config.validate().unwrap();
    let run = train_in(config, root, None).unwrap().unwrap();
    let task = config.build_task().unwrap();
    let sizes = (task.input_size(), task.output_size(), task.context_size());
    let spec = config.chain_spec(sizes.0, sizes.1, sizes.2).unwrap();
    let t = ChainTrainer::new(Chain::<f32>::new(&spec, config.seed), config.train.clone());
    (run, task, t)
}

#[test]
fn a_two_area_run_trains_what_the_chain_trainer_trains_by_hand() {
    let config = two_areas(|c| {
        c.lesion.cerebellum_at = Some(4);
        c.areas.as_mut().unwrap().forward_lesion_at = Some(3);
    });
    let root = tempfile::tempdir().unwrap();
    let (run, task, mut t) = trained_and_by_hand(&config, root.path());
    let n = task.batches_per_epoch(config.batch_size);
    for epoch in 1..=config.epochs {
        t.forward_on = epoch < 3;
        t.backward_on = epoch < 4;
        for i in 0..n {
            t.train_batch(&task.train_batch(epoch - 1, i, config.batch_size));
        }
        let (validation, error) = t.model.evaluate(task.validation(), t.forward_on);
        let r = &run.records[epoch - 1];
        assert_eq!(r.validation.mse, validation.mse, "epoch {epoch}");
        assert_eq!(
            r.validation.measures.get(FORWARD_ERROR).copied(),
            error,
            "epoch {epoch}"
        );
        let losses = r.areas.expect("a two-area record");
        assert_eq!(losses.forward.is_some(), epoch < 3, "epoch {epoch}");
        assert_eq!(losses.cerebellum_a.is_some(), epoch < 4, "epoch {epoch}");
        assert_eq!(r.cerebellum_loss.is_some(), epoch < 4, "epoch {epoch}");
    }
    let TrainedNetwork::Two { chain, .. } = &run.model else {
        panic!("a two-area run ends with a chain")
    };
    assert!(chain.params == t.model.params, "bit for bit");
    let metrics = std::fs::read_to_string(run_dir(root.path()).metrics()).unwrap();
    let header = metrics.lines().next().unwrap();
    assert!(
        header.ends_with(",validation_forward_error,test_forward_error,cerebellum_a_loss,cerebellum_b_loss,forward_loss"),
        "{header}"
    );
}

/// A task with measures of its own takes them from the chain's readout: a two-area eyeblink
/// run trains what the chain trainer trains by hand, and records, after every epoch, the
/// conditioned responses the task measures on the hand-trained chain.
#[test]
fn a_two_area_eyeblink_run_records_the_tasks_own_measures_of_the_chain() {
    let config = two_areas(|c| {
        c.task = TaskKind::Eyeblink;
        c.epochs = 3;
        c.eyeblink.train_samples = 60;
        c.eyeblink.validation_samples = 20;
        c.eyeblink.test_samples = 20;
    });
    let root = tempfile::tempdir().unwrap();
    let (run, task, mut t) = trained_and_by_hand(&config, root.path());
    for epoch in 1..=config.epochs {
        for i in 0..task.batches_per_epoch(config.batch_size) {
            t.train_batch(&task.train_batch(epoch - 1, i, config.batch_size));
        }
        let chain = ChainAt {
            chain: &t.model,
            forward_on: true,
        };
        let want = task.evaluate(&chain, task.validation());
        let r = &run.records[epoch - 1];
        assert_eq!(r.validation, want, "epoch {epoch}");
        assert!(want.measures.contains_key(CR_RATE) && want.measures.contains_key(FORWARD_ERROR));
    }
    let metrics = std::fs::read_to_string(run_dir(root.path()).metrics()).unwrap();
    let header = metrics.lines().next().unwrap();
    assert!(
        header.contains(",validation_cr_rate,") && header.contains(",test_forward_error,"),
        "{header}"
    );
}

#[test]
fn a_resumed_two_area_run_ends_bit_for_bit_where_the_uninterrupted_one_does() {
    let configs = [
        two_areas(|c| {
            c.lesion.cerebellum_at = Some(3);
            c.areas.as_mut().unwrap().forward_lesion_at = Some(2);
            c.keep_best = true;
        }),
        two_areas(|c| {
            c.model = ModelKind::CRnn;
            c.train.horizon = 3;
            let a = c.areas.as_mut().unwrap();
            (a.forward, a.cell, a.hidden) = (ForwardChoice::Add, Some(CellKind::Tanh), Some(9));
        }),
        two_areas(|c| c.areas.as_mut().unwrap().oracle = true),
        two_areas(|c| c.areas.as_mut().unwrap().backward = Some(BackwardAreas::B)),
    ];
    // 5 batches an epoch: stop mid-epoch 1, at the end of epoch 2, and in a lesion's epoch.
    for (i, config) in configs.iter().enumerate() {
        config.validate().unwrap();
        resumes_bit_for_bit(config, i, |_, _, _| {});
    }
}

#[test]
fn an_area_without_a_backward_cerebellum_has_an_empty_loss_column() {
    let config = two_areas(|c| {
        let a = c.areas.as_mut().unwrap();
        (a.backward, a.forward) = (Some(BackwardAreas::A), ForwardChoice::None);
    });
    config.validate().unwrap();
    let root = tempfile::tempdir().unwrap();
    let run = train_in(&config, root.path(), None).unwrap().unwrap();
    let TrainedNetwork::Two { chain, .. } = &run.model else {
        panic!("a two-area run ends with a chain")
    };
    assert!(chain.backward[0].is_some() && chain.backward[1].is_none());
    for r in &run.records {
        let losses = r.areas.expect("a two-area record");
        assert!(losses.cerebellum_a.is_some() && losses.cerebellum_b.is_none());
    }
    let metrics = std::fs::read_to_string(run_dir(root.path()).metrics()).unwrap();
    let last = metrics.lines().last().unwrap();
    assert!(last.ends_with(",,") && !last.ends_with(",,,"), "{last}");
}
