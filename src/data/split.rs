//! Seeded split of the training set into training and validation parts.

use crate::rng::Rng;

/// Splits the indices `0..n` into `(train, validation)` with `n_validation` indices held out for
/// validation. The choice is a pure function of `seed` (it draws from the stream `"split"`); the
/// two parts are disjoint, cover `0..n`, and each is in increasing order.
///
/// # Panics
/// If `n_validation > n`.
pub fn train_validation_split(
    n: usize,
    n_validation: usize,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    assert!(
        n_validation <= n,
        "cannot hold out {n_validation} validation examples of {n}"
    );
    let mut order: Vec<usize> = (0..n).collect();
    Rng::stream(seed, "split").shuffle(&mut order);
    let mut validation = order.split_off(n - n_validation);
    order.sort_unstable();
    validation.sort_unstable();
    (order, validation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_the_mnist_split() {
        let (train, val) = train_validation_split(60_000, 12_000, 1);
        assert_eq!((train.len(), val.len()), (48_000, 12_000));
    }

    #[test]
    fn deterministic_from_the_seed() {
        assert_eq!(
            train_validation_split(1000, 200, 42),
            train_validation_split(1000, 200, 42)
        );
        assert_ne!(
            train_validation_split(1000, 200, 42).1,
            train_validation_split(1000, 200, 43).1
        );
    }

    #[test]
    fn disjoint_and_covering() {
        let n = 5000;
        let (train, val) = train_validation_split(n, 1234, 7);
        let mut seen = vec![0u8; n];
        for &i in train.iter().chain(&val) {
            seen[i] += 1;
        }
        assert!(seen.iter().all(|&c| c == 1));
        assert!(train.windows(2).all(|w| w[0] < w[1]));
        assert!(val.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn edge_sizes() {
        assert_eq!(
            train_validation_split(5, 0, 3),
            (vec![0, 1, 2, 3, 4], vec![])
        );
        assert_eq!(
            train_validation_split(5, 5, 3),
            (vec![], vec![0, 1, 2, 3, 4])
        );
        assert_eq!(train_validation_split(0, 0, 3), (vec![], vec![]));
    }
}
