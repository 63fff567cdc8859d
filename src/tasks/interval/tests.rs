//! Interval reproduction: the timing of ready, set and the response, the seeding, and the
//! measures of produced intervals whose answers are known.

use super::*;

fn config() -> IntervalConfig {
    IntervalConfig {
        steps: 36,
        interval_min: 4,
        interval_max: 10,
        ready_min: 1,
        ready_max: 3,
        response_duration: 2,
        validation_samples: 40,
        test_samples: 40,
        ..IntervalConfig::default()
    }
}

fn channel(b: &Batch<f32>, s: usize, c: usize) -> Vec<usize> {
    (0..b.steps)
        .filter(|&t| b.inputs[(t * b.batch + s) * INPUTS + c] > 0.0)
        .collect()
}

#[test]
fn ready_set_and_go_come_at_their_times() {
    let task = Interval::new(config(), 0, 100);
    let b = task.batch_of(&[(1, 4), (3, 10)]);
    let Target::Trajectory { values, feedback } = &b.target else {
        panic!()
    };
    assert!(feedback.iter().all(|&f| f));
    for (s, ready, interval) in [(0, 1, 4), (1, 3, 10)] {
        assert_eq!(channel(&b, s, 0), [ready], "ready, one step");
        assert_eq!(
            channel(&b, s, 1),
            [ready + interval],
            "set, the interval after ready"
        );
        let go: Vec<usize> = (0..b.steps).filter(|&t| values[t * 2 + s] > 0.0).collect();
        let at = ready + 2 * interval;
        assert_eq!(
            go,
            [at, at + 1],
            "go, the interval after set, for the response's steps"
        );
    }
}

#[test]
fn trials_are_seeded_and_span_the_intervals() {
    let task = Interval::new(config(), 4, 100);
    let b = task.train_batch(0, 1, 200);
    assert_eq!(
        b.inputs,
        Interval::new(config(), 4, 100)
            .train_batch(0, 1, 200)
            .inputs
    );
    assert_ne!(b.inputs, task.train_batch(1, 0, 200).inputs);
    let drawn: std::collections::BTreeSet<usize> = (0..b.batch)
        .map(|s| channel(&b, s, 1)[0] - channel(&b, s, 0)[0])
        .collect();
    assert_eq!(
        drawn.into_iter().collect::<Vec<_>>(),
        (4..=10).collect::<Vec<_>>()
    );
    let bad = IntervalConfig {
        steps: 20,
        ..config()
    };
    assert!(
        format!("{:#}", bad.check().unwrap_err()).contains("`interval.steps` = 20 is too short")
    );
}

#[test]
fn bias_spread_and_slope_of_known_productions() {
    // Intervals 4 and 8, produced as 5, 5 and 7, 9: means 5 and 8 (bias √((1 + 0) / 2)), variances
    // 0 and 1 (sd √(1/2)), slope of produced on drawn (4, 4, 8, 8) → (5, 5, 7, 9): 12 / 16.
    let p = Produced {
        trials: 5,
        by_interval: BTreeMap::from([(4, vec![5.0, 5.0]), (8, vec![7.0, 9.0]), (6, vec![])]),
    };
    let m: BTreeMap<&str, f64> = p.measures().into_iter().collect();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(m[GO_RATE], 4.0 / 5.0));
    assert!(close(m[INTERVAL_BIAS], 0.5f64.sqrt()));
    assert!(close(m[INTERVAL_SD], 0.5f64.sqrt()));
    assert!(close(m[INTERVAL_SLOPE], 0.75), "{}", m[INTERVAL_SLOPE]);
    let none = Produced {
        trials: 3,
        by_interval: BTreeMap::new(),
    };
    assert_eq!(none.measures(), [(GO_RATE, 0.0)]);
}
