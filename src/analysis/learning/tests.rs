use super::*;
use crate::cortex::CellKind;
use crate::model::{CerebellumSpec, ModelSpec};

/// An array of `windows × samples × units`; window 0 holds `junk` (it must be ignored).
pub(crate) fn array(
    name: &str,
    samples: usize,
    units: usize,
    later: &[f64],
    junk: f64,
) -> RecordedArray {
    let mut values = vec![junk; samples * units];
    values.extend_from_slice(later);
    RecordedArray {
        name: name.into(),
        description: String::new(),
        shape: vec![values.len() / (samples * units), samples, units],
        values,
    }
}

pub(crate) fn get(m: &[Measure], population: &str, measure: &str) -> Option<f64> {
    m.iter()
        .find(|x| x.population == population && x.measure == measure)
        .map(|x| x.value)
}

#[test]
fn alignment_by_hand() {
    // One boundary after window 0, two samples, two dimensions.
    let rec = Recording {
        arrays: vec![
            array("prediction", 2, 2, &[1.0, 0.0, 0.0, 2.0], 9.0),
            array("teaching_signal", 2, 2, &[1.0, 1.0, 0.0, -1.0], -9.0),
            array("true_feedback", 2, 2, &[2.0, 0.0, 0.0, 0.0], 5.0),
        ],
    };
    let m = alignment(&rec);
    let close = |a: Option<f64>, b: f64| assert!((a.unwrap() - b).abs() < 1e-15, "{a:?} {b}");
    let r = std::f64::consts::FRAC_1_SQRT_2;
    close(
        get(&m, "prediction/teaching_signal", "cosine"),
        (r - 1.0) / 2.0,
    );
    close(
        get(&m, "prediction/teaching_signal", "norm_ratio"),
        (5.0f64 / 3.0).sqrt(),
    );
    // The second sample's true feedback is zero: its cosine is skipped, not counted as 0.
    close(get(&m, "prediction/true_feedback", "cosine"), 1.0);
    close(
        get(&m, "prediction/true_feedback", "norm_ratio"),
        (5.0f64 / 4.0).sqrt(),
    );
    close(get(&m, "teaching_signal/true_feedback", "cosine"), r);
    close(
        get(&m, "teaching_signal/true_feedback", "norm_ratio"),
        (3.0f64 / 4.0).sqrt(),
    );
    assert_eq!(m.len(), 6);
    // Without a prediction (a cRNN) only the teaching signal and the true feedback are compared.
    let crnn = Recording {
        arrays: rec.arrays[1..].to_vec(),
    };
    let m = alignment(&crnn);
    assert_eq!(m.len(), 2);
    assert!(
        m.iter()
            .all(|x| x.population == "teaching_signal/true_feedback")
    );
}

#[test]
fn population_statistics_by_hand() {
    // An LSTM state [h; c] with H = 2 over three observations after window 0: h lies on one
    // line (h1 = 2 h0), c is noise that must not enter.
    let state = [1.0, 2.0, 7.0, -3.0, 2.0, 4.0, 0.5, 8.0, 3.0, 6.0, -2.0, 1.0];
    // One-hot granule activity.
    let granule = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let rec = Recording {
        arrays: vec![
            array("state", 1, 4, &state, 100.0),
            array("granule_0", 1, 3, &granule, 50.0),
        ],
    };
    let m = populations(&rec, 2).unwrap();
    let close = |p: &str, q: &str, b: f64| {
        let a = get(&m, p, q).unwrap();
        assert!((a - b).abs() < 1e-12, "{p} {q}: {a} vs {b}");
    };
    // h along one direction: ρ = 1, |r| = 1; variances 1 and 4; each row has
    // (|h0| + |h1|)² / (h0² + h1²) = 9/5, so sparseness (2 − 9/5) / 1.
    close("cortex", "population_correlation", 1.0);
    close("cortex", "mean_abs_correlation", 1.0);
    close("cortex", "coding_space", 5.0);
    close("cortex", "sparseness", 0.2);
    // One-hot over 3 units: covariance (I − J/3)/2, eigenvalues 0, 1/2, 1/2, so
    // ρ = 3/2 · (1/2 − 1/3) = 1/4; r = −1/2 between any two units; variance 1/3 each.
    close("granule_0", "population_correlation", 0.25);
    close("granule_0", "mean_abs_correlation", 0.5);
    close("granule_0", "coding_space", 1.0);
    close("granule_0", "sparseness", 1.0);
    assert_eq!(m.len(), 8);
}

#[test]
fn cerebellar_weight_statistics_per_layer() {
    let spec = ModelSpec {
        cell: CellKind::Lstm,
        input: 2,
        hidden: 3,
        output: 2,
        cerebellum: Some(CerebellumSpec {
            granule: 5,
            layers: 2,
            sparse_k: Some(2),
            context: 0,
        }),
        words: None,
    };
    let model = Model::<f64>::new(&spec, 1);
    let m = cerebellar_weights(&model);
    let cb = model.cerebellum.as_ref().unwrap();
    for (i, layer) in cb.layers.iter().enumerate() {
        let want = WeightStats::of(&model.params[layer.weight.clone()]).unwrap();
        let p = format!("cerebellum.{i}.weight");
        assert_eq!(get(&m, &p, "weight_mean"), Some(want.mean));
        assert_eq!(get(&m, &p, "weight_std"), Some(want.std));
        assert_eq!(
            get(&m, &p, "weight_mean_abs_nonzero"),
            want.mean_abs_nonzero
        );
    }
    // The sparse first layer keeps 2 of 6 inputs per granule cell: its mean |w| over the kept
    // ones is 3 times its mean |w| over all.
    let (all, kept) = (
        get(&m, "cerebellum.0.weight", "weight_mean_abs").unwrap(),
        get(&m, "cerebellum.0.weight", "weight_mean_abs_nonzero").unwrap(),
    );
    assert!((kept - 3.0 * all).abs() < 1e-12, "{kept} {all}");
    // The output layer starts at zero: no non-zero weights, mean |w| 0.
    assert_eq!(get(&m, "cerebellum.2.weight", "weight_mean_abs"), Some(0.0));
    assert_eq!(
        get(&m, "cerebellum.2.weight", "weight_mean_abs_nonzero"),
        None
    );
    let crnn = Model::<f64>::new(
        &ModelSpec {
            cerebellum: None,
            ..spec
        },
        1,
    );
    assert!(cerebellar_weights(&crnn).is_empty());
}
