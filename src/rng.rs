//! Seeded random streams. A run is a pure function of (config, seed): every random choice draws
//! from a named stream derived from the run seed, so adding a draw in one place never shifts the
//! numbers of another (initialisation, data, sparse mask and split each have their own stream).

/// xoshiro256++ generator, seeded through SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator seeded by one number.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        Rng {
            s: [
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
            ],
        }
    }

    /// The stream called `name` of the run seeded by `seed` (FNV-1a of the name mixed into the seed).
    pub fn stream(seed: u64, name: &str) -> Self {
        let mut h: u64 = 0xCBF2_9CE4_8422_2325;
        for b in name.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        Rng::new(seed ^ h.rotate_left(17))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let r = (self.s[0].wrapping_add(self.s[3]))
            .rotate_left(23)
            .wrapping_add(self.s[0]);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform_in(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Uniform integer in [0, n) without modulo bias. `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return (x % n) as usize;
            }
        }
    }

    /// Fisher-Yates shuffle in place.
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }

    /// `k` distinct indices of `0..n`, drawn without replacement, in increasing order.
    pub fn choose(&mut self, n: usize, k: usize) -> Vec<usize> {
        assert!(k <= n, "cannot choose {k} of {n}");
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = i + self.below(n - i);
            all.swap(i, j);
        }
        let mut picked = all[..k].to_vec();
        picked.sort_unstable();
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(7, "init").next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::stream(7, "init").next_u64(),
            Rng::stream(7, "data").next_u64()
        );
        assert_ne!(
            Rng::stream(7, "init").next_u64(),
            Rng::stream(8, "init").next_u64()
        );
    }

    #[test]
    fn choose_gives_distinct_sorted_indices() {
        let mut r = Rng::new(1);
        for _ in 0..100 {
            let c = r.choose(10, 4);
            assert_eq!(c.len(), 4);
            assert!(c.windows(2).all(|w| w[0] < w[1]));
            assert!(c.iter().all(|&i| i < 10));
        }
    }

    #[test]
    fn uniform_and_normal_have_the_right_moments() {
        let mut r = Rng::new(3);
        let n = 100_000;
        let moments = |x: &[f64]| {
            let m = x.iter().sum::<f64>() / n as f64;
            (
                m,
                x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64,
            )
        };
        let (u, uv) = moments(&(0..n).map(|_| r.uniform()).collect::<Vec<_>>());
        let (m, v) = moments(&(0..n).map(|_| r.normal()).collect::<Vec<_>>());
        // Within 4 standard errors of the true moments: U(0, 1) has mean 1/2, variance 1/12
        // (the sample variance's standard error sqrt((1/80 - 1/144) / n)); N(0, 1) has variance
        // 1 (standard error sqrt(2 / n)).
        let se = |s: f64| 4.0 * s / (n as f64).sqrt();
        assert!((u - 0.5).abs() < se(1.0 / 12f64.sqrt()), "uniform mean {u}");
        assert!(
            (uv - 1.0 / 12.0).abs() < se((1.0 / 80.0 - 1.0 / 144.0f64).sqrt()),
            "uniform variance {uv}"
        );
        assert!(m.abs() < se(1.0), "normal mean {m}");
        assert!((v - 1.0).abs() < se(2f64.sqrt()), "normal variance {v}");
    }
}
