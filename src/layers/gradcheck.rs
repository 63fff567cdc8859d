//! Central finite differences in f64, shared by the layers' gradient checks.

/// Checks `analytic` against the central-difference gradient of `f` at `x`, entry by entry:
/// |analytic - numeric| <= tol * max(1, |numeric|).
pub fn check(what: &str, x: &[f64], analytic: &[f64], f: impl Fn(&[f64]) -> f64, tol: f64) {
    assert_eq!(x.len(), analytic.len(), "{what}: gradient length");
    let eps = 1e-6;
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        xp[i] = x[i] + eps;
        let up = f(&xp);
        xp[i] = x[i] - eps;
        let down = f(&xp);
        xp[i] = x[i];
        let numeric = (up - down) / (2.0 * eps);
        let err = (analytic[i] - numeric).abs();
        assert!(
            err <= tol * numeric.abs().max(1.0),
            "{what}[{i}]: analytic {} vs numeric {numeric} (error {err})",
            analytic[i]
        );
    }
}

/// Deterministic pseudo-random values in [-scale, scale] for test inputs.
pub fn values(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut r = crate::rng::Rng::new(seed);
    (0..n).map(|_| r.uniform_in(-scale, scale)).collect()
}
