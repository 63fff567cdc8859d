//! Run-time choice of vector instructions for the hand-written loops.
//!
//! The binary is built for the target's baseline (x86-64: SSE2), so one build runs on every node
//! of a cluster. The hot elementwise loops (the cortex's gate loops, the cerebellum's ReLU, the
//! bias sums, clipping and the optimizer) run through [`vectorize`], which compiles the loop
//! once more for AVX2+FMA and runs that copy when the CPU has them: pulp's dispatch, the one faer
//! uses for its matrix kernels. Every copy is the same source without fast-math, so every copy
//! computes the same numbers (an explicit `mul_add` is a fused multiply-add on every path, a
//! libm call where the CPU has no FMA; nothing else is contracted).

use pulp::Arch;
pub use pulp::{Simd, WithSimd};
use std::sync::LazyLock;

/// The best instruction set of this CPU, detected once.
static ARCH: LazyLock<Arch> = LazyLock::new(Arch::new);

/// Runs `kernel` compiled for the best instruction set this CPU has. A kernel is a short closure
/// or, for a long loop, a struct of the loop's slices whose [`WithSimd::with_simd`] is
/// `#[inline(always)]`: LLVM may leave a long closure out of line, compiled for the baseline
/// only (where an f32 `mul_add` is a libm call). Whatever the kernel calls per element must be
/// `#[inline(always)]` too, as [`crate::real::Real`]'s functions are.
#[inline(always)]
pub fn vectorize<K: WithSimd>(kernel: K) -> K::Output {
    ARCH.dispatch(kernel)
}

#[cfg(test)]
mod tests {
    use crate::real::Real;

    /// The copy this CPU runs and the baseline copy (the one a CPU without AVX2 runs) give the
    /// same bits, including the fused multiply-adds of the f32 nonlinearities.
    #[test]
    fn the_dispatched_copy_matches_the_baseline_copy() {
        let x: Vec<f32> = (-3000..3000).map(|i| i as f32 * 0.0137).collect();
        let kernel = || {
            x.iter()
                .flat_map(|&v| [v.exp(), v.tanh(), v.sigmoid(), v.max(0.0)])
                .collect::<Vec<_>>()
        };
        assert_eq!(
            super::vectorize(kernel),
            pulp::Arch::Scalar.dispatch(kernel)
        );
    }
}
