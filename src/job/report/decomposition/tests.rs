//! The decomposition against numbers computed by hand (below each case), the p-values from the
//! closed form of Student's t with one degree of freedom, p = 1 − 2 atan(|t|) / π.

use super::*;
use crate::job::Job;
use crate::job::observe::Quiet;
use crate::job::report::compare::tests::run;
use std::f64::consts::PI;
use std::path::Path;

fn close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "got {got}, want {want}"
    );
}

fn p_df1(t: f64) -> f64 {
    1.0 - 2.0 * t.abs().atan() / PI
}

/// Two seeds, four epochs (late phase: epochs 3-4), validation MSE per epoch:
/// seed 0: cRNN 4 4 2 2, constant 6 4 3 3, ccRNN 2 2 1 1 (means over all epochs 3, 4, 1.5;
/// over the late phase 2, 3, 1); seed 1: cRNN 8 8 4 4, constant 6 6 3 3, ccRNN 3 3 3 3
/// (6, 4.5, 3; 4, 3, 3).
fn runs() -> Vec<FinishedRun> {
    vec![
        run("cRNN", 0, &[4.0, 4.0, 2.0, 2.0], 1.0, false),
        run("cRNN", 1, &[8.0, 8.0, 4.0, 4.0], 1.0, false),
        run("ccRNN", 0, &[2.0, 2.0, 1.0, 1.0], 1.0, false),
        run("ccRNN", 1, &[3.0; 4], 1.0, false),
        run("constant", 0, &[6.0, 4.0, 3.0, 3.0], 1.0, false),
        run("constant", 1, &[6.0, 6.0, 3.0, 3.0], 1.0, false),
        // Seed 2 has no constant run: it is left out.
        run("cRNN", 2, &[1.0; 4], 1.0, false),
        run("ccRNN", 2, &[1.0; 4], 1.0, false),
    ]
}

#[test]
fn the_gain_splits_into_the_constant_and_the_state_part_as_computed_by_hand() {
    let d = decompose("reach", &runs(), &Labels::default(), 0.5).unwrap();
    assert_eq!(d.seeds, [0, 1]);
    let all = &d.all_epochs;
    assert_eq!((all.first_epoch, all.last_epoch), (1, 4));
    // total: (3 - 1.5) / 3 = 1/2, (6 - 3) / 6 = 1/2; constant: (3 - 4) / 3 = -1/3,
    // (6 - 4.5) / 6 = 1/4; state: (4 - 1.5) / 3 = 5/6, (4.5 - 3) / 6 = 1/4.
    for (got, want) in all.total.values.iter().zip([0.5, 0.5]) {
        close(*got, want);
    }
    for (got, want) in all.constant.values.iter().zip([-1.0 / 3.0, 0.25]) {
        close(*got, want);
    }
    for (got, want) in all.state.values.iter().zip([5.0 / 6.0, 0.25]) {
        close(*got, want);
    }
    close(all.total.mean, 0.5);
    close(all.total.sem, 0.0);
    close(all.constant.mean, -1.0 / 24.0);
    close(all.constant.sem, 7.0 / 24.0);
    close(all.state.mean, 13.0 / 24.0);
    close(all.state.sem, 7.0 / 24.0);
    // Paired tests of the errors: constant 3 - 4, 6 - 4.5 (mean 0.25, SEM 1.25, t = 0.2);
    // state 4 - 1.5, 4.5 - 3 (mean 2, SEM 0.5, t = 4); total 1.5, 3 (mean 2.25, SEM 0.75, t = 3).
    let t = all.constant.t_test.unwrap();
    close(t.t, 0.2);
    close(t.p, p_df1(0.2));
    let t = all.state.t_test.unwrap();
    close(t.t, 4.0);
    close(t.p, p_df1(4.0));
    let t = all.total.t_test.unwrap();
    close(t.t, 3.0);
    close(t.p, p_df1(3.0));
    // Late phase: total (2 - 1) / 2, (4 - 3) / 4; constant (2 - 3) / 2, (4 - 3) / 4; state
    // (3 - 1) / 2, (3 - 3) / 4.
    let late = &d.late_phase;
    assert_eq!((late.first_epoch, late.last_epoch), (3, 4));
    for (part, want) in [
        (&late.total, [0.5, 0.25]),
        (&late.constant, [-0.5, 0.25]),
        (&late.state, [1.0, 0.0]),
    ] {
        close(part.values[0], want[0]);
        close(part.values[1], want[1]);
    }
    for s in [all, late] {
        for i in 0..2 {
            close(s.constant.values[i] + s.state.values[i], s.total.values[i]);
        }
    }
}

#[test]
fn accuracy_is_split_as_the_error_one_minus_accuracy() {
    // Errors 0.5, 0.4, 0.2 (cRNN, constant, ccRNN) and 0.4, 0.4, 0.3: total 0.6 and 0.25,
    // constant 0.2 and 0, state 0.4 and 0.25.
    let runs = vec![
        run("cRNN", 0, &[0.5, 0.5], 0.5, true),
        run("cRNN", 1, &[0.6, 0.6], 0.6, true),
        run("constant", 0, &[0.6, 0.6], 0.6, true),
        run("constant", 1, &[0.6, 0.6], 0.6, true),
        run("ccRNN", 0, &[0.8, 0.8], 0.8, true),
        run("ccRNN", 1, &[0.7, 0.7], 0.7, true),
    ];
    let d = decompose("mnist-class", &runs, &Labels::default(), 0.5).unwrap();
    let s = &d.all_epochs;
    for (part, want) in [
        (&s.total, [0.6, 0.25]),
        (&s.constant, [0.2, 0.0]),
        (&s.state, [0.4, 0.25]),
    ] {
        close(part.values[0], want[0]);
        close(part.values[1], want[1]);
    }
}

#[test]
fn a_missing_variant_or_runs_of_different_lengths_are_refused() {
    let labels = Labels {
        constant: "no such".into(),
        ..Labels::default()
    };
    let err = decompose("reach", &runs(), &labels, 0.5)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`no such`") && err.contains("cRNN, ccRNN, constant"),
        "{err}"
    );
    let mut short = runs();
    short[4] = run("constant", 0, &[6.0, 4.0, 3.0], 1.0, false);
    let err = decompose("reach", &short, &Labels::default(), 0.5)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`constant` seed 0 ran 3 epochs"), "{err}");
    let unpaired = vec![
        run("cRNN", 0, &[1.0], 1.0, false),
        run("constant", 1, &[1.0], 1.0, false),
        run("ccRNN", 0, &[1.0], 1.0, false),
    ];
    let err = (decompose("reach", &unpaired, &Labels::default(), 0.5).unwrap_err()).to_string();
    assert!(err.contains("no seed"), "{err}");
}

#[test]
fn small_p_values_keep_two_significant_digits() {
    assert_eq!(p_value(0.0361), "0.036");
    assert_eq!(p_value(0.000123), "1.2e-4");
}

#[test]
fn the_table_gives_each_part_with_its_p_value() {
    let d = decompose("reach", &runs(), &Labels::default(), 0.5).unwrap();
    let t = table(&[d]);
    assert!(t.contains("| reach | 2 | 1-4 | +0.500 ± 0.000 (p = 0.205) | -0.042 ± 0.292 (p = 0.874) | +0.542 ± 0.292 (p = 0.156) |"), "{t}");
}

/// A tiny reach job of the three variants over seeds 0 and 1, run to the end in `dir`.
fn tiny_job(dir: &Path, name: &str) -> Vec<FinishedRun> {
    use crate::config::ModelKind;
    use crate::job::spec::{Experiment, Variant};
    let mut constant = Variant::new("constant", ModelKind::CcRnn);
    constant.settings = toml::from_str("cerebellum = { input = \"none\" }").unwrap();
    let exp = Experiment {
        name: name.to_string(),
        seeds: vec![0, 1],
        variants: vec![
            Variant::new("cRNN", ModelKind::CRnn),
            Variant::new("ccRNN", ModelKind::CcRnn),
            constant,
        ],
        base: crate::job::run::tests::tiny(ModelKind::CcRnn, 0),
        figure: None,
    };
    let mut job = Job::create(exp, Some(dir), name, 1).unwrap();
    job.run(1, false, &Quiet).unwrap();
    drop(job);
    Job::open(dir, &Quiet).unwrap().finished_runs(None).unwrap()
}

#[test]
fn the_glance_over_jobs_gives_each_tasks_normalised_performance_as_its_total() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, out) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("out"),
    );
    let runs_a = tiny_job(&a, "a");
    tiny_job(&b, "b");
    let table = glance(&[a, b], &Labels::default(), &out).unwrap();
    assert_eq!(table.matches("| reach | 2 |").count(), 4, "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("glance.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    let np = crate::job::report::compare::compare(&runs_a, "ccRNN", "cRNN", 0.5);
    let total = &json[0]["all_epochs"]["total"]["values"];
    for (i, want) in np
        .normalised_performance_all_epochs
        .values
        .iter()
        .enumerate()
    {
        close(total[i].as_f64().unwrap(), *want);
    }
    for stem in ["glance", "glance_late"] {
        assert!(out.join(format!("{stem}.png")).exists(), "{stem}.png");
    }
    let err = glance(&[tmp.path().join("none")], &Labels::default(), &out).unwrap_err();
    assert!(format!("{err:#}").contains("none"), "{err:#}");
}
