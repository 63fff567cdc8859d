//! The science check (slow, so ignored by default; run it with
//! `cargo test --release --test science -- --ignored --nocapture`): on target reaching at K = 1
//! with the papers' settings (10 seeds, 100 epochs), the ccRNN ends with a lower mean test MSE
//! than the cRNN. A PyTorch implementation of the algorithm reaches 0.58 ± 0.16 (ccRNN), 3.8 ± 1.7
//! (cRNN) and 0.155 (full BPTT) over 3 seeds.

use ccdni::config::{Config, TaskKind};
use ccdni::experiments::report;
use ccdni::experiments::variants::{self, Experiment, Variant};

#[test]
#[ignore]
fn ccrnn_learns_reach_better_than_crnn_at_horizon_one() {
    let exp = Experiment {
        name: "reach science check".into(),
        seeds: (0..10).collect(),
        variants: Variant::crnn_and_ccrnn(),
        base: Config::defaults(TaskKind::Reach),
    };
    let out = std::env::temp_dir().join(format!("ccdni-science-{}", std::process::id()));
    let outcome = variants::run(&exp, &out, 0, &ccdni::tasks::build).expect("experiment");
    println!("{}", report::table(&outcome.summary));
    let v = &outcome.summary.variants;
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
