//! The science checks: target reaching at K = 1 with the papers' settings (docs/model.md §4),
//! the cRNN, the ccRNN and full BPTT trained as the main job trains them.
//!
//! - `ccrnn_beats_crnn_and_full_bptt_beats_both_on_reach` runs in CI: 7 seeds, 100 epochs, the
//!   test set only after the last epoch. In release mode on 2 cores it took 2.7 minutes while
//!   other builds shared them (a ccRNN run trained for 40 s instead of the 20 s that the
//!   benchmark's speed gives), so about 1.5 minutes on 2 idle cores. A run is deterministic for
//!   a given build and CPU, so the p-value is a fixed number here: final test MSE ccRNN
//!   2.95 ± 1.43, cRNN 6.53 ± 1.12, full BPTT 0.159 ± 0.014 (mean ± SEM); ccRNN - cRNN
//!   -3.58 ± 0.82, paired t = -4.35, 6 df, p = 0.0049. Any numerical change (another summation
//!   order, another CPU's vector width) sends training runs elsewhere, so the margin was judged
//!   on neighbouring epochs as stand-ins: over these seeds the paired test passes at every epoch
//!   checked from 90 to 120 (90, 95, 100, 110, 120: t from 2.8 to 4.4), and at epoch 100 with
//!   the seventh seed left out or an eighth added (t = 3.70 and 4.00). Before epoch 90 it does
//!   not: both models sit on the same plateau for about 40 epochs, where the ccRNN is, if
//!   anything, slower.
//! - `ccrnn_learns_reach_better_than_crnn_at_horizon_one` (ignored, about 5 minutes; run it with
//!   `cargo test --release --test science -- --ignored --nocapture`): the papers' 10 seeds. A
//!   PyTorch implementation of the algorithm reaches 0.58 ± 0.16 (ccRNN), 3.8 ± 1.7 (cRNN) and
//!   0.155 (full BPTT) over 3 seeds.

use ccdni::config::{Config, ModelKind, TaskKind};
use ccdni::job::observe::Quiet;
use ccdni::job::report::summary::{Summary, table};
use ccdni::job::spec::{Experiment, Horizon, Variant};
use ccdni::job::{Ending, Job};
use ccdni::stats::paired_t_test;

/// Trains `variants` on reach with the papers' settings over `seeds` into a temporary folder
/// (removed afterwards) and returns the summary of the final test MSEs.
fn reach(seeds: std::ops::Range<u64>, variants: Vec<Variant>, base: Config) -> Summary {
    let exp = Experiment {
        name: "reach science check".into(),
        seeds: seeds.collect(),
        variants,
        base,
        figure: None,
    };
    let root = tempfile::tempdir().expect("temporary folder");
    let out = root.path().join("job");
    let mut job = Job::create(exp, Some(&out), "science", 0).expect("a valid job");
    let Ending::Done(report) = job.run(0, false, &Quiet).expect("the job") else {
        panic!("the whole job, reported");
    };
    println!("{}", table(&report.summary));
    report.summary
}

fn crnn_and_ccrnn() -> Vec<Variant> {
    vec![
        Variant::new("cRNN", ModelKind::CRnn),
        Variant::new("ccRNN", ModelKind::CcRnn),
    ]
}

#[test]
fn ccrnn_beats_crnn_and_full_bptt_beats_both_on_reach() {
    let mut base = Config::defaults(TaskKind::Reach);
    assert_eq!(
        (base.epochs, base.train.horizon),
        (100, 1),
        "the papers' settings"
    );
    // The 10,000 test sequences only after the last epoch.
    base.test_every = base.epochs;
    // As the main job (experiments/reach.toml) has it: full BPTT is a cRNN whose horizon is the
    // whole sequence.
    let bptt = Variant {
        horizon: Some(Horizon::Full),
        ..Variant::new("BPTT", ModelKind::CRnn)
    };
    let summary = reach(0..7, [crnn_and_ccrnn(), vec![bptt]].concat(), base);
    let v = &summary.variants;
    let labels: Vec<&str> = v.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["cRNN", "ccRNN", "BPTT"]);
    let (crnn, ccrnn, bptt) = (&v[0], &v[1], &v[2]);
    assert!(
        crnn.seeds == ccrnn.seeds && crnn.seeds == bptt.seeds,
        "paired by seed"
    );
    assert_eq!(crnn.seeds.len(), 7);
    // (a) The papers' direction: the ccRNN ends below the cRNN, seed for seed.
    let t = paired_t_test(&ccrnn.values, &crnn.values).expect("7 pairs");
    println!(
        "ccRNN - cRNN final test MSE: {:.4} ± {:.4} (paired t = {:.3}, {} df, p = {:.5})",
        t.mean_diff, t.sem_diff, t.t, t.df, t.p
    );
    assert!(
        t.mean_diff < 0.0 && t.p < 0.05,
        "ccRNN {:?} is not significantly below cRNN {:?} (t = {}, p = {})",
        ccrnn.values,
        crnn.values,
        t.t,
        t.p
    );
    // (b) Full BPTT below both, in every seed.
    for (i, seed) in bptt.seeds.iter().enumerate() {
        let b = bptt.values[i];
        assert!(
            b < ccrnn.values[i] && b < crnn.values[i],
            "seed {seed}: BPTT {b}, ccRNN {}, cRNN {}",
            ccrnn.values[i],
            crnn.values[i]
        );
    }
}

#[test]
#[ignore]
fn ccrnn_learns_reach_better_than_crnn_at_horizon_one() {
    let summary = reach(0..10, crnn_and_ccrnn(), Config::defaults(TaskKind::Reach));
    let v = &summary.variants;
    let (crnn, ccrnn) = (&v[0], &v[1]);
    assert!(
        ccrnn.mean < crnn.mean,
        "ccRNN test MSE {} ± {} is not below cRNN {} ± {}",
        ccrnn.mean,
        ccrnn.sem,
        crnn.mean,
        crnn.sem
    );
}
