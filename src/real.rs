//! The scalar type of the engine: `f32` for training speed, `f64` for gradient checks and the
//! fixture tests. Every layer, loss and optimizer is generic over [`Real`].

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point scalar the engine can train with (`f32` or `f64`).
pub trait Real:
    faer::traits::ComplexField
    + Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + Debug
    + Display
    + Sum
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
{
    const ZERO: Self;
    const ONE: Self;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn tanh(self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn max(self, other: Self) -> Self;
    fn is_finite(self) -> bool;

    /// Logistic sigmoid, 1 / (1 + e^-x).
    fn sigmoid(self) -> Self;
}

macro_rules! impl_real {
    ($t:ty, $exp:path, $tanh:path, $sigmoid:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn sigmoid(self) -> Self {
                $sigmoid(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}
impl_real!(f32, fast::exp, fast::tanh, fast::sigmoid);
impl_real!(f64, f64::exp, f64::tanh, sigmoid_f64);

/// Sigmoid in f64 with the standard library's exp, written so it never overflows.
#[inline(always)]
fn sigmoid_f64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Branch-free f32 exp, tanh and sigmoid that the compiler inlines and vectorises in the cortex's
/// fused gate loops (a call into libm per gate value was most of the step time). Accurate to a
/// few ulp of f32; the f64 engine (gradient checks, fixtures) uses the standard library.
mod fast {
    /// e^x: x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-6 polynomial (Cephes expf),
    /// 2^n by building the exponent bits. Clamped to the finite range of f32.
    #[inline(always)]
    pub fn exp(x: f32) -> f32 {
        let x = x.clamp(-87.3, 88.0);
        let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
        let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
        let mut p = 1.987_569_1e-4f32;
        p = p.mul_add(r, 1.398_199_9e-3);
        p = p.mul_add(r, 8.333_452e-3);
        p = p.mul_add(r, 4.166_579_6e-2);
        p = p.mul_add(r, 1.666_666_5e-1);
        p = p.mul_add(r, 0.5);
        let e = p.mul_add(r * r, r) + 1.0;
        // 2^n from the bits of n + 1.5 * 2^23 (integer n in the low mantissa bits): unlike
        // `n as i32` this stays in vector registers.
        let n_bits = (n + 12_582_912.0).to_bits().wrapping_sub(0x4B40_0000);
        e * f32::from_bits(n_bits.wrapping_add(127) << 23)
    }

    /// tanh x = sign(x) (1 - e^{-2|x|}) / (1 + e^{-2|x|}); below |x| = 0.0625 its Taylor series.
    #[inline(always)]
    pub fn tanh(x: f32) -> f32 {
        let a = x.abs();
        let e = exp(-2.0 * a);
        let big = (1.0 - e) / (1.0 + e);
        let x2 = a * a;
        let small = a * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 - x2 * (17.0 / 315.0))));
        let t = if a < 0.0625 { small } else { big };
        t.copysign(x)
    }

    /// 1 / (1 + e^-x).
    #[inline(always)]
    pub fn sigmoid(x: f32) -> f32 {
        1.0 / (1.0 + exp(-x))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn agree_with_f64_within_a_few_ulp() {
            let mut worst = [0.0f64; 3];
            for i in -200_000..=200_000 {
                let x = i as f32 * 1e-4 * if i % 3 == 0 { 4.0 } else { 1.0 };
                let xd = x as f64;
                let want = [xd.exp(), xd.tanh(), 1.0 / (1.0 + (-xd).exp())];
                let got = [super::exp(x), super::tanh(x), super::sigmoid(x)];
                for k in 0..3 {
                    let err = (got[k] as f64 - want[k]).abs() / want[k].abs().max(1e-30);
                    worst[k] = worst[k].max(err);
                }
            }
            // Relative to f32's machine epsilon (2^-23, one ulp at 1): exp within 1 ulp, tanh
            // within 3, sigmoid within 2 (measured: 0.69, 2.5 and 1.2).
            let eps = f32::EPSILON as f64;
            let bounds = [eps, 3.0 * eps, 2.0 * eps];
            assert!(
                worst.iter().zip(&bounds).all(|(e, b)| e <= b),
                "relative errors {worst:?}, bounds {bounds:?}"
            );
            assert_eq!(super::tanh(0.0), 0.0);
            // Far out the clamp of exp takes over: finite, positive, and saturated.
            assert_eq!(super::exp(-1000.0), super::exp(-87.3));
            assert!(super::exp(-87.3) > 0.0 && super::exp(-87.3) < 1.3e-38);
            assert_eq!(super::exp(1000.0), super::exp(88.0));
            assert!(super::exp(88.0).is_finite() && super::exp(88.0) > 1.6e38);
            assert_eq!(super::sigmoid(1000.0), 1.0);
            assert!(super::sigmoid(-1000.0) > 0.0 && super::sigmoid(-1000.0) < 1e-38);
            assert_eq!(super::tanh(1000.0), 1.0);
            assert_eq!(super::tanh(-1000.0), -1.0);
        }
    }
}
