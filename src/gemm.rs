//! The one seam to the matrix-multiply crate (faer, sequential). Every matrix product of the
//! engine goes through [`gemm`]; matrices are flat row-major slices.

use crate::real::Real;
use faer::{Accum, MatMut, MatRef, Par};
use std::cell::Cell;

thread_local! {
    /// When on, [`gemm`] adds its flops and nanoseconds here (see [`profile`]).
    static PROFILE: Cell<Option<(f64, f64)>> = const { Cell::new(None) };
}

/// Runs `f` with GEMM profiling on for this thread and returns its result with the flops done
/// in [`gemm`] and the seconds spent there (for the benchmark's matrix-multiply floor).
pub fn profile<R>(f: impl FnOnce() -> R) -> (R, f64, f64) {
    PROFILE.with(|p| p.set(Some((0.0, 0.0))));
    let r = f();
    let (flops, ns) = PROFILE.with(|p| p.take()).unwrap_or_default();
    (r, flops, ns * 1e-9)
}

/// How an operand is read: as stored, or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Use the matrix as stored.
    N,
    /// Use its transpose.
    T,
}

/// `C = A·B` (`accumulate == false`) or `C += A·B` (`accumulate == true`).
///
/// `C` is `m × n`; `op(A)` is `m × k` and `op(B)` is `k × n`, where `A` is stored `m × k`
/// (`Op::N`) or `k × m` (`Op::T`), and likewise `B`. All slices are row-major and exact in length.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Real>(
    c: &mut [T],
    a: &[T],
    op_a: Op,
    b: &[T],
    op_b: Op,
    m: usize,
    n: usize,
    k: usize,
    accumulate: bool,
) {
    debug_assert_eq!(c.len(), m * n, "gemm: C has the wrong length");
    debug_assert_eq!(a.len(), m * k, "gemm: A has the wrong length");
    debug_assert_eq!(b.len(), k * n, "gemm: B has the wrong length");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(T::ZERO);
        }
        return;
    }
    let dst = MatMut::from_row_major_slice_mut(c, m, n);
    let lhs = match op_a {
        Op::N => MatRef::from_row_major_slice(a, m, k),
        Op::T => MatRef::from_row_major_slice(a, k, m).transpose(),
    };
    let rhs = match op_b {
        Op::N => MatRef::from_row_major_slice(b, k, n),
        Op::T => MatRef::from_row_major_slice(b, n, k).transpose(),
    };
    let beta = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    match PROFILE.with(|p| p.get()) {
        None => faer::linalg::matmul::matmul(dst, beta, lhs, rhs, T::ONE, Par::Seq),
        Some((flops, ns)) => {
            let start = std::time::Instant::now();
            faer::linalg::matmul::matmul(dst, beta, lhs, rhs, T::ONE, Par::Seq);
            let dt = start.elapsed().as_nanos() as f64;
            PROFILE.with(|p| p.set(Some((flops + 2.0 * (m * n * k) as f64, ns + dt))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], op_a: Op, b: &[f64], op_b: Op, m: usize, n: usize, k: usize) -> Vec<f64> {
        let at = |i: usize, p: usize| match op_a {
            Op::N => a[i * k + p],
            Op::T => a[p * m + i],
        };
        let bt = |p: usize, j: usize| match op_b {
            Op::N => b[p * n + j],
            Op::T => b[j * k + p],
        };
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| at(i, p) * bt(p, j)).sum();
            }
        }
        c
    }

    #[test]
    fn matches_naive_product_for_every_transpose() {
        let (m, n, k) = (5, 7, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.91).cos()).collect();
        for op_a in [Op::N, Op::T] {
            for op_b in [Op::N, Op::T] {
                let want = naive(&a, op_a, &b, op_b, m, n, k);
                let mut c = vec![1.0; m * n];
                gemm(&mut c, &a, op_a, &b, op_b, m, n, k, false);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - y).abs() < 1e-14);
                }
                gemm(&mut c, &a, op_a, &b, op_b, m, n, k, true);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - 2.0 * y).abs() < 1e-14);
                }
            }
        }
    }
}
