//! Unit tests of the paired comparisons. The expected numbers were computed once, independently
//! of ccdni, with python3's `statistics` module (mean, stdev / sqrt(n) for the SEM, mean / SEM of
//! the paired differences for t) and, for p, the closed forms of Student's t with 1 and 2 degrees
//! of freedom: p = 1 - 2 atan(|t|) / pi (df = 1) and p = 1 - |t| / sqrt(2 + t^2) (df = 2).

use super::*;
use crate::cortex::CellKind;
use crate::job::records::EpochRecord;
use crate::loss::EvalMetrics;
use crate::model::{Model, ModelSpec};

fn close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "got {got}, want {want}"
    );
}

fn metrics(value: f64, accuracy: bool) -> EvalMetrics {
    if accuracy {
        EvalMetrics {
            accuracy: Some(value),
            ..EvalMetrics::default()
        }
    } else {
        EvalMetrics {
            mse: Some(value),
            ..EvalMetrics::default()
        }
    }
}

/// A finished run with the given per-epoch validation figures and final test figure (MSE, or
/// accuracy when `accuracy`); the model is a tiny untrained one (comparisons never read it).
pub(in crate::job::report) fn run(
    label: &str,
    seed: u64,
    validation: &[f64],
    test: f64,
    accuracy: bool,
) -> FinishedRun {
    let spec = ModelSpec {
        cell: CellKind::Lstm,
        input: 1,
        hidden: 2,
        output: 2,
        cerebellum: None,
        words: None,
    };
    let n = validation.len();
    let records = validation
        .iter()
        .enumerate()
        .map(|(i, &v)| EpochRecord {
            model: label.to_string(),
            seed,
            epoch: i + 1,
            train_loss: 0.0,
            train_mse: None,
            cerebellum_loss: None,
            cosine: None,
            grad_norm: 0.0,
            validation: metrics(v, accuracy),
            test: if i + 1 == n {
                metrics(test, accuracy)
            } else {
                EvalMetrics::default()
            },
            train_seconds: 0.0,
            areas: None,
        })
        .collect();
    FinishedRun {
        label: label.to_string(),
        seed,
        records,
        learning: Vec::new(),
        model: Model::new(&spec, 0).into(),
    }
}

/// Drawing runs, in a shuffled order: the cRNN has seeds 2..=5, the ccRNN 1..=4, so seeds 2, 3
/// and 4 are paired and seeds 1 and 5 are left out; a third variant is ignored.
fn drawing_runs() -> Vec<FinishedRun> {
    vec![
        run("ccRNN", 4, &[4.0, 1.0, 1.0], 4.5, false),
        run("cRNN", 5, &[1.0, 1.0, 1.0], 9.0, false),
        run("cRNN", 3, &[5.0, 3.0, 2.0], 2.5, false),
        run("BPTT", 2, &[0.1, 0.1, 0.1], 0.1, false),
        run("ccRNN", 2, &[3.0, 1.0, 0.5], 1.0, false),
        run("ccRNN", 1, &[9.0, 9.0, 9.0], 0.1, false),
        run("cRNN", 4, &[6.0, 2.0, 2.0], 4.0, false),
        run("ccRNN", 3, &[5.0, 2.0, 2.5], 2.0, false),
        run("cRNN", 2, &[4.0, 2.0, 1.0], 3.0, false),
    ]
}

#[test]
fn drawing_comparison_pairs_by_seed_and_signs_improvements_positive() {
    let c = compare(&drawing_runs(), "ccRNN", "cRNN", 0.5);
    assert_eq!(
        (c.variant.as_str(), c.reference.as_str()),
        ("ccRNN", "cRNN")
    );
    assert_eq!(c.convention, "positive = ccRNN better than cRNN");
    assert_eq!(c.seeds, [2, 3, 4]);

    // Final test MSE: improvement cRNN - ccRNN per seed = 3 - 1, 2.5 - 2, 4 - 4.5.
    let f = &c.final_test;
    assert_eq!(f.measure, "test mse");
    assert_eq!(f.improvement, "cRNN - ccRNN");
    assert_eq!(f.values, [2.0, 0.5, -0.5]);
    let t = f.t_test.expect("three pairs");
    assert_eq!((t.n, t.df), (3, 2.0));
    close(t.mean_diff, 0.666_666_666_666_666_6);
    close(t.sem_diff, 0.726_483_157_256_778_9);
    close(t.t, 0.917_662_935_482_247);
    close(t.p, 0.455_668_946_048_182_75);

    // All epochs: E_cRNN = 7/3, 10/3, 10/3; E_ccRNN = 1.5, 9.5/3, 2.
    let all = &c.normalised_performance_all_epochs;
    assert_eq!((all.first_epoch, all.last_epoch), (1, 3));
    for (got, want) in
        all.values
            .iter()
            .zip([0.357_142_857_142_857_2, 0.050_000_000_000_000_086, 0.4])
    {
        close(*got, want);
    }
    close(all.mean, 0.269_047_619_047_619_1);
    close(all.sem, 0.110_220_352_372_406_72);
    let t = all.t_test.expect("three pairs");
    assert_eq!(t.n, 3);
    close(t.mean_diff, 0.777_777_777_777_778);
    close(t.sem_diff, 0.337_931_251_683_234_4);
    close(t.t, 2.301_585_822_275_003);
    close(t.p, 0.147_987_132_769_741_51);

    // Late phase, the last half of 3 epochs = epochs 2 and 3: E_cRNN = 1.5, 2.5, 2;
    // E_ccRNN = 0.75, 2.25, 1.
    let late = &c.normalised_performance_late_phase;
    assert_eq!((late.first_epoch, late.last_epoch), (2, 3));
    for (got, want) in late.values.iter().zip([0.5, 0.1, 0.5]) {
        close(*got, want);
    }
    close(late.mean, 0.366_666_666_666_666_7);
    close(late.sem, 0.133_333_333_333_333_33);
    let t = late.t_test.expect("three pairs");
    close(t.mean_diff, 0.666_666_666_666_666_6);
    close(t.sem_diff, 0.220_479_275_922_049_24);
    close(t.t, 3.023_715_784_073_817);
    close(t.p, 0.094_178_372_684_323_5);

    // The order of the runs does not matter.
    let mut reversed = drawing_runs();
    reversed.reverse();
    let r = compare(&reversed, "ccRNN", "cRNN", 0.5);
    assert_eq!(r.seeds, c.seeds);
    assert_eq!(r.final_test.values, c.final_test.values);
    assert_eq!(
        r.normalised_performance_late_phase.values,
        c.normalised_performance_late_phase.values
    );
}

#[test]
fn accuracy_improvement_is_variant_minus_reference() {
    let runs = vec![
        run("cRNN", 8, &[0.4, 0.8], 0.7, true),
        run("ccRNN", 7, &[0.6, 0.8], 0.9, true),
        run("ccRNN", 8, &[0.5, 0.8], 0.8, true),
        run("cRNN", 7, &[0.5, 0.6], 0.6, true),
    ];
    let c = compare(&runs, "ccRNN", "cRNN", 1.0);
    assert_eq!(c.seeds, [7, 8]);
    let f = &c.final_test;
    assert_eq!(f.measure, "test accuracy");
    assert_eq!(f.improvement, "ccRNN - cRNN");
    close(f.values[0], 0.3);
    close(f.values[1], 0.1);
    let t = f.t_test.expect("two pairs");
    close(t.mean_diff, 0.2);
    close(t.sem_diff, 0.1);
    close(t.t, 2.0);
    close(t.p, 0.295_167_235_300_866_5);
    // Errors 1 - accuracy: E_cRNN = 0.45, 0.4; E_ccRNN = 0.3, 0.35.
    let np = &c.normalised_performance_all_epochs;
    close(np.values[0], 0.333_333_333_333_333_37);
    close(np.values[1], 0.124_999_999_999_999_99);
    close(np.mean, 0.229_166_666_666_666_69);
    close(np.sem, 0.104_166_666_666_666_69);
    let t = np.t_test.expect("two pairs");
    close(t.mean_diff, 0.1);
    close(t.t, 2.0);
    // late_phase = 1: the late phase is every epoch.
    let late = &c.normalised_performance_late_phase;
    assert_eq!((late.first_epoch, late.last_epoch), (1, 2));
    assert_eq!(late.values, np.values);
}

#[test]
fn a_single_pair_has_figures_but_no_t_test() {
    let runs = vec![
        run("cRNN", 0, &[2.0, 1.0], 1.0, false),
        run("ccRNN", 0, &[1.0, 0.5], 0.25, false),
    ];
    let c = compare(&runs, "ccRNN", "cRNN", 0.5);
    assert_eq!(c.seeds, [0]);
    assert_eq!(c.final_test.values, [0.75]);
    assert!(c.final_test.t_test.is_none());
    assert_eq!(c.normalised_performance_all_epochs.values, [0.5]);
    assert_eq!(c.normalised_performance_all_epochs.sem, 0.0);
    assert!(c.normalised_performance_late_phase.t_test.is_none());
}

#[test]
#[should_panic(expected = "two runs of `cRNN` with seed 3")]
fn two_runs_of_one_label_and_seed_are_refused() {
    let runs = vec![
        run("cRNN", 3, &[2.0], 1.0, false),
        run("ccRNN", 3, &[1.0], 1.0, false),
        run("cRNN", 3, &[2.0], 1.0, false),
    ];
    compare(&runs, "ccRNN", "cRNN", 0.5);
}
