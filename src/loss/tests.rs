//! The window losses against finite differences, and the evaluation measures.

use super::*;
use crate::layers::gradcheck::{check, values};

#[test]
fn mse_gradient_matches_finite_differences() {
    let (steps, batch, out) = (5, 2, 2);
    let feedback = vec![true, false, true, false, true];
    let target = Target::Trajectory {
        values: values(steps * batch * out, 1, 2.0),
        feedback,
    };
    let (t0, t1) = (1, 5);
    let y = values((t1 - t0) * batch * out, 2, 2.0);
    let mut dy = vec![0.0; y.len()];
    window_loss(&target, &y, &mut dy, t0, t1, steps, batch).unwrap();
    let mut scratch = vec![0.0; y.len()];
    check(
        "mse",
        &y,
        &dy,
        |y| window_loss(&target, y, &mut scratch.clone(), t0, t1, steps, batch).unwrap(),
        1e-9,
    );
    scratch.clear();
    assert!(
        window_loss(
            &target,
            &y[..batch * out],
            &mut vec![0.0; batch * out],
            1,
            2,
            steps,
            batch
        )
        .is_none()
    );
}

#[test]
fn cross_entropy_gradient_matches_finite_differences() {
    let (steps, batch, out) = (3, 3, 4);
    let target = Target::Class {
        labels: vec![0, 3, 1],
    };
    let y = values(2 * batch * out, 3, 3.0);
    let mut dy = vec![0.0; y.len()];
    let loss = window_loss(&target, &y, &mut dy, 1, 3, steps, batch).unwrap();
    // The batch mean of log-sum-exp(z) - z_label over the last step's logits.
    let last = &y[batch * out..];
    let want = (0..batch)
        .map(|b| {
            let z = &last[b * out..(b + 1) * out];
            z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[[0, 3, 1][b]]
        })
        .sum::<f64>()
        / batch as f64;
    assert!((loss - want).abs() < 1e-14 * want, "{loss} vs {want}");
    assert!(
        dy[..batch * out].iter().all(|&g| g == 0.0),
        "only the last step is scored"
    );
    check(
        "ce",
        &y,
        &dy,
        |y| window_loss(&target, y, &mut vec![0.0; y.len()], 1, 3, steps, batch).unwrap(),
        1e-9,
    );
    assert!(window_loss(&target, &y, &mut dy, 0, 2, steps, batch).is_none());
}

#[test]
fn word_losses_on_every_thread_count_give_the_same_bits() {
    // 40 words of a 2000-word vocabulary: above the threshold, split into pieces of rows.
    let (steps, batch, out) = (4, 10, 2000);
    let labels: Vec<u32> = (0..steps * batch).map(|i| (i * 37 % out) as u32).collect();
    let target = Target::Words { labels };
    let y: Vec<f32> = (0..steps * batch * out)
        .map(|i| (i as f32 * 0.013).sin() * 4.0)
        .collect();
    assert!(y.len() >= PARALLEL_LOGITS);
    let run = || {
        let mut dy = vec![0.0f32; y.len()];
        let loss = window_loss(&target, &y, &mut dy, 0, steps, steps, batch).unwrap();
        (
            loss.to_bits(),
            dy.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        )
    };
    let one = run();
    for threads in [2, 3] {
        let many = crate::pool::install(crate::pool::Pool::new(threads), run);
        assert!(one == many, "{threads} threads");
    }
}

#[test]
fn word_cross_entropy_gradient_matches_finite_differences() {
    let (steps, batch, out) = (4, 2, 5);
    let target = Target::Words {
        labels: vec![0, 4, 2, 2, 1, 3, 4, 0],
    };
    let (t0, t1) = (1, 3);
    let y = values((t1 - t0) * batch * out, 4, 3.0);
    let mut dy = vec![0.0; y.len()];
    let loss = window_loss(&target, &y, &mut dy, t0, t1, steps, batch).unwrap();
    // The mean over the window's 4 words of log-sum-exp(z) - z_label.
    let want = [2usize, 2, 1, 3]
        .iter()
        .enumerate()
        .map(|(r, &l)| {
            let z = &y[r * out..(r + 1) * out];
            z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[l]
        })
        .sum::<f64>()
        / 4.0;
    assert!((loss - want).abs() < 1e-14 * want, "{loss} vs {want}");
    check(
        "word ce",
        &y,
        &dy,
        |y| window_loss(&target, y, &mut vec![0.0; y.len()], t0, t1, steps, batch).unwrap(),
        1e-9,
    );
    // Bits per word over the whole sequence: the same mean, per ln 2.
    let all = values(steps * batch * out, 5, 3.0);
    let mut sums = EvalSums::default();
    sums.add(&target, &all, steps, batch);
    let mut d = vec![0.0; all.len()];
    let mean = window_loss(&target, &all, &mut d, 0, steps, steps, batch).unwrap();
    let bpw = sums.finish().bits_per_word.unwrap();
    assert!((bpw - mean / std::f64::consts::LN_2).abs() < 1e-12);
    assert!(sums.finish().accuracy.is_none() && sums.finish().mse.is_none());
}

#[test]
fn eval_measures() {
    let target = Target::Trajectory {
        values: vec![0.0; 2 * 2 * 2],
        feedback: vec![true, false],
    };
    let y = vec![1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0];
    let mut sums = EvalSums::default();
    sums.add(&target, &y, 2, 2);
    let m = sums.finish();
    assert_eq!(m.mse, Some(5.0 / 4.0));
    assert_eq!(m.mse_feedback, Some(1.0 / 2.0));
    assert!(m.accuracy.is_none());
    let target = Target::Class { labels: vec![1, 0] };
    let y = vec![0.0, 5.0, 0.0, 5.0];
    let mut sums = EvalSums::default();
    sums.add(&target, &y, 1, 2);
    let m = sums.finish();
    assert_eq!(m.accuracy, Some(0.5));
    // Both samples put p1 = 1 / (1 + e^-5) on class 1 and p0 = 1 - p1 on class 0; sample 0
    // (label 1) is right, sample 1 (label 0) wrong.
    let p1 = 1.0 / (1.0 + (-5f64).exp());
    let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-15;
    assert!(close(m.certainty, p1), "{:?}", m.certainty);
    assert!(close(m.dysmetria, 1.0 - p1), "{:?}", m.dysmetria);
    let p0 = (-5f64).exp() / (1.0 + (-5f64).exp());
    let nll = (-(p1.ln()) - p0.ln()) / 2.0;
    assert!(close(m.nll, nll), "{:?} vs {nll}", m.nll);
    assert!(m.mse.is_none());
}

/// A mask of `n` values, every third one set (the first included).
fn every_third(n: usize) -> Vec<bool> {
    (0..n).map(|i| i % 3 == 0).collect()
}

#[test]
fn masked_losses_match_finite_differences() {
    let (steps, batch, out) = (4, 3, 2);
    let n = steps * batch * out;
    let (t0, t1) = (1, 4);
    let y = values((t1 - t0) * batch * out, 6, 2.0);
    let bits: Vec<f64> = values(n, 7, 1.0)
        .iter()
        .map(|&v| f64::from(v > 0.0))
        .collect();
    for target in [
        Target::Masked {
            values: values(n, 8, 2.0),
            mask: every_third(n),
        },
        Target::Bits {
            values: bits.clone(),
            mask: every_third(n),
        },
        Target::Labels {
            labels: vec![0, -1, 1, 1, -1, -1, -1, 0, 1, -1, 0, -1],
        },
    ] {
        let y = if matches!(target, Target::Labels { .. }) {
            values((t1 - t0) * batch * 3, 9, 3.0)
        } else {
            y.clone()
        };
        let mut dy = vec![0.0; y.len()];
        window_loss(&target, &y, &mut dy, t0, t1, steps, batch).unwrap();
        check(
            "masked",
            &y,
            &dy,
            |y| window_loss(&target, y, &mut vec![0.0; y.len()], t0, t1, steps, batch).unwrap(),
            1e-9,
        );
    }
    // A window without a masked value or a label has no loss.
    let none = Target::Masked {
        values: vec![0.0; n],
        mask: vec![false; n],
    };
    let mut dy = vec![1.0; y.len()];
    assert!(window_loss(&none, &y, &mut dy, t0, t1, steps, batch).is_none());
    assert!(dy.iter().all(|&d| d == 0.0));
}

#[test]
fn a_mask_over_the_feedback_steps_is_the_trajectory_to_the_bit() {
    let (steps, batch, out) = (6, 3, 2);
    let feedback = vec![true, false, true, false, true, false];
    let values: Vec<f32> = values(steps * batch * out, 10, 5.0)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let mask: Vec<bool> = (0..steps * batch * out)
        .map(|i| feedback[i / (batch * out)])
        .collect();
    let trajectory = Target::Trajectory {
        values: values.clone(),
        feedback,
    };
    let masked = Target::Masked { values, mask };
    let y: Vec<f32> = super::tests::values(steps * batch * out, 11, 5.0)
        .iter()
        .map(|&v| v as f32)
        .collect();
    for (t0, t1) in [(0, 6), (0, 1), (1, 2), (1, 4), (4, 6)] {
        let w = &y[t0 * batch * out..t1 * batch * out];
        let (mut da, mut db) = (vec![0f32; w.len()], vec![0f32; w.len()]);
        let a = window_loss(&trajectory, w, &mut da, t0, t1, steps, batch);
        let b = window_loss(&masked, w, &mut db, t0, t1, steps, batch);
        assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "{t0}..{t1}");
        assert_eq!(da, db);
    }
    let (mut a, mut b) = (EvalSums::default(), EvalSums::default());
    a.add(&trajectory, &y, steps, batch);
    b.add(&masked, &y, steps, batch);
    assert_eq!(a.finish(), b.finish());
    assert!(a.finish().mse_feedback.is_some() && a.finish().dysmetria.is_some());
}

#[test]
fn labels_at_the_last_step_are_the_class_target() {
    let (steps, batch, out) = (3, 4, 3);
    let class = Target::Class {
        labels: vec![2, 0, 1, 1],
    };
    let mut per_step = vec![-1; steps * batch];
    per_step[(steps - 1) * batch..].copy_from_slice(&[2, 0, 1, 1]);
    let labels = Target::Labels { labels: per_step };
    let y = values(steps * batch * out, 12, 3.0);
    let (mut da, mut db) = (vec![0.0; y.len()], vec![0.0; y.len()]);
    let a = window_loss(&class, &y, &mut da, 0, steps, steps, batch).unwrap();
    let b = window_loss(&labels, &y, &mut db, 0, steps, steps, batch).unwrap();
    assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    for (x, z) in da.iter().zip(&db) {
        assert!((x - z).abs() < 1e-15);
    }
    let (mut sa, mut sb) = (EvalSums::default(), EvalSums::default());
    sa.add(&class, &y, steps, batch);
    sb.add(&labels, &y, steps, batch);
    let (ma, mb) = (sa.finish(), sb.finish());
    assert_eq!(ma.accuracy, mb.accuracy);
    assert!((ma.nll.unwrap() - mb.nll.unwrap()).abs() < 1e-12);
    assert!(mb.mse.is_none());
}

#[test]
fn bits_are_measured_per_sequence() {
    // Two sequences of one step and two bits; only the first bit of each is scored.
    let target = Target::Bits {
        values: vec![1.0, 0.0, 0.0, 1.0],
        mask: vec![true, false, true, false],
    };
    // Logits: sample 0 right (z = 2 for t = 1), sample 1 wrong (z = 1 for t = 0).
    let y = vec![2.0, -9.0, 1.0, 9.0];
    let mut sums = EvalSums::default();
    sums.add(&target, &y, 1, 2);
    let m = sums.finish();
    let nats = logistic_loss(2.0, 1.0) + logistic_loss(1.0, 0.0);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(
        m.measures[BITS_PER_SEQUENCE],
        nats / std::f64::consts::LN_2 / 2.0
    ));
    assert_eq!(m.measures[BIT_ERRORS], 0.5);
    assert_eq!(m.headline().0, "bits per sequence");
    assert!(m.mse.is_none() && m.accuracy.is_none());
    // The logistic loss is ln(1 + e^z) - t z, stable far out.
    assert!(close(logistic_loss(0.0, 1.0), 2f64.ln()));
    assert!(close(logistic_loss(-800.0, 0.0), 0.0) && close(logistic_loss(800.0, 0.0), 800.0));
    assert!(close(sigmoid(-800.0), 0.0) && close(sigmoid(0.0), 0.5));
}

/// The lane-wise maximum is the sequential fold's, NaNs and odd lengths included, and the
/// lane-wise sum is the sequential sum to the last bits of an f64.
#[test]
fn row_max_and_sum_in_lanes_match_the_sequential_ones() {
    let sequential_max = |z: &[f32]| {
        z.iter()
            .copied()
            .fold(z[0], |a, b| if b > a { b } else { a })
    };
    for len in [1, 5, 16, 17, 9956] {
        let mut z: Vec<f32> = (0..len)
            .map(|i| ((i * 7919) % 1013) as f32 * 0.01 - 3.0)
            .collect();
        assert_eq!(row_max(&z).to_bits(), sequential_max(&z).to_bits(), "{len}");
        let seq: f64 = z.iter().map(|&v| v as f64).sum();
        assert!(
            (row_sum(&z) - seq).abs() <= 1e-13 * seq.abs().max(1.0),
            "{len}"
        );
        // A NaN past the first logit is passed over; a NaN first is the maximum.
        if len > 3 {
            z[len / 2] = f32::NAN;
            assert_eq!(row_max(&z).to_bits(), sequential_max(&z).to_bits(), "{len}");
        }
        z[0] = f32::NAN;
        assert!(row_max(&z).is_nan() && sequential_max(&z).is_nan());
    }
}
