use super::*;
use crate::analysis::learning::tests::{array, get};
use crate::cortex::CellKind;
use crate::layers::cerebellum::CerebellumTrace;
use crate::layers::gradcheck::values;
use crate::model::{CerebellumSpec, ModelSpec};

fn close(a: Option<f64>, b: f64) {
    let a = a.expect("a value");
    assert!((a - b).abs() < 1e-14, "{a} vs {b}");
}

#[test]
fn silent_and_active_fractions_by_hand() {
    // Two observations after window 0 (active everywhere, to be ignored) of three cells: the
    // first cell is never active; three of the six (observation, cell) pairs are.
    let rec = Recording {
        arrays: vec![
            array("granule_0", 1, 3, &[0.0, 2.0, 0.0, 0.0, 1.0, 3.0], 9.0),
            array("granule_1", 2, 2, &[0.0, 0.0, 0.0, 0.0], 1.0),
            array("prediction", 2, 2, &[1.0; 4], 1.0),
        ],
    };
    let m = granule_activity(&rec);
    close(get(&m, "granule_0", "silent_fraction"), 1.0 / 3.0);
    close(get(&m, "granule_0", "active_fraction"), 0.5);
    // A layer silent on every observation after window 0.
    close(get(&m, "granule_1", "silent_fraction"), 1.0);
    close(get(&m, "granule_1", "active_fraction"), 0.0);
    assert_eq!(m.len(), 4);
}

#[test]
fn state_dependence_and_effective_dimensionality_by_hand() {
    // C = (1, 2), (3, 2): mean (2, 2), ‖mean‖² = 8, mean ‖C‖² = (5 + 13)/2 = 9: 1 − 8/9. It
    // varies along one direction: dimensionality 1.
    let rec = |later: &[f64]| Recording {
        arrays: vec![array("prediction", 1, 2, later, 50.0)],
    };
    let m = prediction_variety(&rec(&[1.0, 2.0, 3.0, 2.0])).unwrap();
    close(get(&m, "cerebellar_output", "state_dependence"), 1.0 / 9.0);
    close(
        get(&m, "cerebellar_output", "effective_dimensionality"),
        1.0,
    );
    // ±e1, ±e2: mean zero (state dependence 1), covariance (2/3) I: dimensionality 2.
    let m = prediction_variety(&rec(&[1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0])).unwrap();
    close(get(&m, "cerebellar_output", "state_dependence"), 1.0);
    close(
        get(&m, "cerebellar_output", "effective_dimensionality"),
        2.0,
    );
    // A constant prediction (values whose mean rounds): no state dependence at all, and no
    // dimensionality (it does not vary).
    let m = prediction_variety(&rec(&[0.1, 0.7, 0.1, 0.7, 0.1, 0.7])).unwrap();
    assert_eq!(get(&m, "cerebellar_output", "state_dependence"), Some(0.0));
    assert_eq!(
        get(&m, "cerebellar_output", "effective_dimensionality"),
        None
    );
    // No prediction (a cRNN): nothing.
    let none = Recording { arrays: vec![] };
    assert!(prediction_variety(&none).unwrap().is_empty());
}

#[test]
fn the_constant_baseline_by_hand() {
    // Teaching signals e1, e2: their mean (1/2, 1/2) is at 45° to each. True feedback (1, 1)
    // (cosine 1) and (−1, 0) (cosine −1/√2); a zero one is skipped.
    let rec = Recording {
        arrays: vec![
            array(
                "teaching_signal",
                3,
                2,
                &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
                7.0,
            ),
            array("true_feedback", 3, 2, &[1.0, 1.0, -1.0, 0.0, 0.0, 0.0], 7.0),
        ],
    };
    let m = constant_baseline(&rec);
    let r = std::f64::consts::FRAC_1_SQRT_2;
    close(get(&m, "mean_teaching_signal/teaching_signal", "cosine"), r);
    close(
        get(&m, "mean_teaching_signal/true_feedback", "cosine"),
        (1.0 - r) / 2.0,
    );
    assert_eq!(m.len(), 2);
}

#[test]
fn granule_drive_from_the_recorded_inputs() {
    let spec = ModelSpec {
        cell: CellKind::Tanh,
        input: 2,
        hidden: 3,
        output: 2,
        cerebellum: Some(CerebellumSpec {
            granule: 4,
            layers: 2,
            sparse_k: None,
            context: 0,
        }),
        words: None,
    };
    let model = Model::<f64>::new(&spec, 3);
    let cb = model.cerebellum.as_ref().unwrap();
    // Two window boundaries of 3 samples; the cerebellum run on them gives the granule layers.
    let states = values(2 * 3 * 3, 5, 2.0);
    let mut tr = CerebellumTrace::default();
    cb.forward(&model.params, &states, None, &mut tr);
    let arr = |name: &str, units: usize, v: &[f64]| RecordedArray {
        name: name.into(),
        description: String::new(),
        shape: vec![2, 3, units],
        values: v.to_vec(),
    };
    let rec = Recording {
        arrays: vec![
            arr("state", 3, &states),
            arr("granule_0", 4, &tr.acts[1]),
            arr("granule_1", 4, &tr.acts[2]),
        ],
    };
    let m = granule_drive(&rec, &model);
    // By hand, over the second boundary's 3 samples.
    for l in 0..2 {
        let layer = &cb.layers[l];
        let x = &rec.arrays[l].values[3 * layer.inputs..];
        let mut z = Vec::new();
        for row in x.chunks_exact(layer.inputs) {
            for u in 0..layer.outputs {
                let w = &model.params[layer.weight.start + u * layer.inputs..][..layer.inputs];
                let b = model.params[layer.bias.start + u];
                z.push(b + w.iter().zip(row).map(|(w, x)| w * x).sum::<f64>());
            }
        }
        let mean = z.iter().sum::<f64>() / 12.0;
        let std = (z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 12.0).sqrt();
        let name = format!("granule_{l}");
        close(get(&m, &name, "preactivation_mean"), mean);
        close(get(&m, &name, "preactivation_std"), std);
        // Its positive part is what the layer recorded.
        let acts = &tr.acts[l + 1][12..];
        assert!(
            z.iter()
                .zip(acts)
                .all(|(z, a)| (z.max(0.0) - a).abs() < 1e-12)
        );
    }
    assert_eq!(m.len(), 4);
}
