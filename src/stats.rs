//! Small descriptive and inferential statistics used to summarise runs over seeds.
//!
//! * [`mean`] and [`sem`] (standard error of the mean) for mean ± SEM bands;
//! * [`paired_t_test`], a two-sided paired Student t-test;
//! * the special functions behind it: [`ln_gamma`] (Lanczos approximation),
//!   [`regularized_incomplete_beta`] (Lentz continued fraction, as in Numerical
//!   Recipes) and [`student_t_two_sided_p`].

/// Arithmetic mean of `xs`; `NaN` when `xs` is empty.
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (denominator `n - 1`); `0` when `n < 2`.
fn sample_std(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 2 {
        return 0.0;
    }
    let m = mean(xs);
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / (n - 1) as f64).sqrt()
}

/// Standard error of the mean: sample standard deviation (denominator `n - 1`)
/// divided by `sqrt(n)`; `0` when there are fewer than two values.
pub fn sem(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    sample_std(xs) / (xs.len() as f64).sqrt()
}

/// Result of [`paired_t_test`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PairedT {
    /// t statistic, `mean_diff / sem_diff`.
    pub t: f64,
    /// Degrees of freedom, `n - 1`.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Mean of the differences `a[i] - b[i]`.
    pub mean_diff: f64,
    /// Standard error of the mean of the differences.
    pub sem_diff: f64,
    /// Number of pairs.
    pub n: usize,
}

/// Two-sided paired Student t-test on the differences `a[i] - b[i]`.
///
/// Returns `None` when the slices have different lengths or fewer than two pairs.
///
/// Degenerate case: when all differences are identical the standard error is
/// zero. If their common value is non-zero the result has `t = ±inf` (sign of
/// the difference) and `p = 0`; if it is zero (`a == b`) the result has
/// `t = NaN` and `p = 1` (no evidence of any difference). Non-finite inputs
/// propagate into `t` and `p` as `NaN`.
pub fn paired_t_test(a: &[f64], b: &[f64]) -> Option<PairedT> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let n = a.len();
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let mean_diff = mean(&diffs);
    let sem_diff = sem(&diffs);
    let df = (n - 1) as f64;
    let (t, p) = if sem_diff == 0.0 {
        if mean_diff == 0.0 {
            (f64::NAN, 1.0)
        } else if mean_diff.is_nan() {
            (f64::NAN, f64::NAN)
        } else {
            (f64::INFINITY.copysign(mean_diff), 0.0)
        }
    } else {
        let t = mean_diff / sem_diff;
        (t, student_t_two_sided_p(t, df))
    };
    Some(PairedT {
        t,
        df,
        p,
        mean_diff,
        sem_diff,
        n,
    })
}

/// Two-sided p-value `P(|T| >= |t|)` of Student's t distribution with `df`
/// degrees of freedom, computed as `I_{df/(df+t²)}(df/2, 1/2)`.
///
/// `t = ±inf` gives `0`; `NaN` inputs or `df <= 0` give `NaN`.
pub fn student_t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    let x = df / (df + t * t);
    regularized_incomplete_beta(0.5 * df, 0.5, x).clamp(0.0, 1.0)
}

/// Natural logarithm of the gamma function for `x > 0` (Lanczos approximation,
/// g = 7, nine coefficients; relative error around 1e-15). Returns `NaN` for
/// `x <= 0` or `NaN`.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx); sin(πx) > 0 on (0, 0.5).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEF[0];
    for (i, c) in COEF.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Regularised incomplete beta function `I_x(a, b)` for `a, b > 0` and
/// `0 <= x <= 1`, evaluated with the modified Lentz continued fraction of
/// Numerical Recipes (`betai`/`betacf`), using the symmetry
/// `I_x(a, b) = 1 - I_{1-x}(b, a)` where that converges faster.
/// Returns `NaN` for arguments outside the domain.
pub fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if a.is_nan() || b.is_nan() || x.is_nan() || a <= 0.0 || b <= 0.0 || !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if x == 0.0 {
        return 0.0;
    }
    if x == 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

/// Continued fraction for the incomplete beta function (modified Lentz).
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const MAX_ITER: usize = 10_000;
    const EPS: f64 = 1e-15;
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 / away_from_zero(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=MAX_ITER {
        let m = m as f64;
        let m2 = 2.0 * m;
        // Even step.
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        (c, d) = lentz_step(aa, c, d);
        h *= d * c;
        // Odd step.
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        (c, d) = lentz_step(aa, c, d);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// Smallest magnitude the continued fraction's terms may take (keeps divisions finite).
const TINY: f64 = 1e-300;

fn away_from_zero(v: f64) -> f64 {
    if v.abs() < TINY { TINY } else { v }
}

/// One modified-Lentz update of the running terms `c` and `d` with coefficient `aa`.
fn lentz_step(aa: f64, c: f64, d: f64) -> (f64, f64) {
    (
        away_from_zero(1.0 + aa / c),
        1.0 / away_from_zero(1.0 + aa * d),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn mean_and_sem() {
        assert!(mean(&[]).is_nan());
        assert_eq!(mean(&[1.0, 2.0, 3.0, 6.0]), 3.0);
        assert_eq!(sem(&[]), 0.0);
        assert_eq!(sem(&[5.0]), 0.0);
        // scipy.stats.sem([1, 2, 4, 8])
        assert!(close(
            sem(&[1.0, 2.0, 4.0, 8.0]),
            1.547_847_968_417_226,
            1e-12
        ));
    }

    #[test]
    fn ln_gamma_known_values() {
        // Reference values from scipy.special.gammaln.
        assert!(close(ln_gamma(0.5), 0.572_364_942_924_700_1, 1e-13));
        assert!(close(ln_gamma(10.3), 13.482_036_786_138_359, 1e-13));
        assert!(close(ln_gamma(1e-3), 6.907_178_885_383_853, 1e-13));
        assert!(close(ln_gamma(171.2), 707.600_926_847_67, 1e-13));
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!(ln_gamma(2.0).abs() < 1e-14);
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-14));
        assert!(ln_gamma(0.0).is_nan());
        assert!(ln_gamma(-1.5).is_nan());
    }

    #[test]
    fn incomplete_beta_known_values() {
        // Reference values from scipy.special.betainc.
        let cases = [
            (2.5, 0.5, 0.3, 0.018_927_124_071_945_658),
            (10.0, 20.0, 0.4, 0.785_318_389_762_826_2),
            (0.5, 0.5, 0.9, 0.795_167_235_300_866_5),
        ];
        for (a, b, x, want) in cases {
            let got = regularized_incomplete_beta(a, b, x);
            assert!(
                close(got, want, 1e-12),
                "I_{x}({a},{b}) = {got}, want {want}"
            );
        }
        assert_eq!(regularized_incomplete_beta(2.0, 3.0, 0.0), 0.0);
        assert_eq!(regularized_incomplete_beta(2.0, 3.0, 1.0), 1.0);
        assert!(regularized_incomplete_beta(2.0, 3.0, 1.5).is_nan());
        assert!(regularized_incomplete_beta(0.0, 3.0, 0.5).is_nan());
        // I_x(1, 1) = x.
        assert!(close(
            regularized_incomplete_beta(1.0, 1.0, 0.37),
            0.37,
            1e-13
        ));
    }

    #[test]
    fn student_t_known_values() {
        // 2 * scipy.stats.t.sf(t, df)
        let cases = [
            (2.0, 5.0, 0.101_939_478_829_858_35),
            (1.0, 1.0, 0.5),
            (3.5, 12.5, 0.004_135_141_045_761_28),
            (0.3, 200.0, 0.764_488_730_189_328),
            (10.0, 3.0, 0.002_128_399_058_414_150_3),
        ];
        for (t, df, want) in cases {
            let got = student_t_two_sided_p(t, df);
            assert!(
                close(got, want, 1e-10),
                "p(t={t}, df={df}) = {got}, want {want}"
            );
            // Symmetric in t.
            assert!(close(student_t_two_sided_p(-t, df), want, 1e-10));
        }
        assert!((student_t_two_sided_p(2.0, 5.0) - 0.1019).abs() < 5e-5);
        assert_eq!(student_t_two_sided_p(0.0, 4.0), 1.0);
        assert_eq!(student_t_two_sided_p(f64::INFINITY, 4.0), 0.0);
        assert!(student_t_two_sided_p(f64::NAN, 4.0).is_nan());
        assert!(student_t_two_sided_p(1.0, 0.0).is_nan());
    }

    #[test]
    fn paired_t_matches_scipy() {
        let a = [12.1, 14.3, 11.8, 15.2, 13.9, 12.7, 14.8, 13.1];
        let b = [11.4, 13.1, 12.0, 13.8, 13.2, 11.9, 13.5, 12.9];
        // scipy.stats.ttest_rel(a, b)
        let r = paired_t_test(&a, &b).unwrap();
        assert_eq!(r.n, 8);
        assert_eq!(r.df, 7.0);
        assert!(close(r.t, 3.901_699_789_928_816_4, 1e-10), "t = {}", r.t);
        assert!(close(r.p, 0.005_885_980_274_358_199, 1e-8), "p = {}", r.p);
        assert!(close(r.mean_diff, 0.7625, 1e-12));
        assert!(close(r.sem_diff, 0.195_427_644_630_216_7, 1e-12));
        // Swapping the arguments flips the sign of t but not p.
        let s = paired_t_test(&b, &a).unwrap();
        assert!(close(s.t, -r.t, 1e-12));
        assert!(close(s.p, r.p, 1e-12));
    }

    #[test]
    fn paired_t_degenerate_cases() {
        assert!(paired_t_test(&[1.0], &[2.0]).is_none());
        assert!(paired_t_test(&[], &[]).is_none());
        assert!(paired_t_test(&[1.0, 2.0], &[1.0]).is_none());
        // Constant non-zero difference: infinitely significant.
        let r = paired_t_test(&[2.0, 3.0, 4.0], &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(r.t, f64::INFINITY);
        assert_eq!(r.p, 0.0);
        assert_eq!(r.sem_diff, 0.0);
        let r = paired_t_test(&[1.0, 2.0, 3.0], &[2.0, 3.0, 4.0]).unwrap();
        assert_eq!(r.t, f64::NEG_INFINITY);
        assert_eq!(r.p, 0.0);
        // Identical samples: no evidence of a difference.
        let r = paired_t_test(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).unwrap();
        assert!(r.t.is_nan());
        assert_eq!(r.p, 1.0);
        assert_eq!(r.mean_diff, 0.0);
        // NaN propagates.
        let r = paired_t_test(&[1.0, f64::NAN, 3.0], &[1.0, 2.0, 4.0]).unwrap();
        assert!(r.t.is_nan() && r.p.is_nan());
    }
}
