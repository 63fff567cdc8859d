//! The one seam to the matrix-multiply kernels, sequential. Every matrix product of the engine
//! goes through [`gemm`]; matrices are flat row-major slices.
//!
//! Two kernels of the same author sit behind it, chosen by the product's size ([`Kernel::for_size`]):
//! faer's for the small per-step products, where it is the faster, and the `gemm` crate (which faer
//! itself depends on) for the large ones, such as the caption model's vocabulary readout and
//! weight gradients, where it is 5–50% faster on this CPU (README, "Speed").

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

/// Which library runs a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// `faer::linalg::matmul`, the faster at small products.
    Faer,
    /// The `gemm` crate, the faster at large ones.
    GemmCrate,
}

impl Kernel {
    /// Products of at least this many multiply-adds (`m·n·k`) go to the `gemm` crate: measured
    /// per shape, it is as fast or faster from here up (the caption cerebellum's 100 × 1024 × 1024,
    /// the readout's 400 × 9956 × 256 and every large weight gradient), and slower below (the
    /// per-step cortex products and everything in reach).
    pub const LARGE: usize = 1 << 26;

    /// The kernel for an `m × n × k` product.
    pub fn for_size(m: usize, n: usize, k: usize) -> Kernel {
        if m.saturating_mul(n).saturating_mul(k) >= Self::LARGE {
            Kernel::GemmCrate
        } else {
            Kernel::Faer
        }
    }
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
    let kernel = Kernel::for_size(m, n, k);
    match PROFILE.with(|p| p.get()) {
        None => product(kernel, c, a, op_a, b, op_b, m, n, k, accumulate),
        Some((flops, ns)) => {
            let start = std::time::Instant::now();
            product(kernel, c, a, op_a, b, op_b, m, n, k, accumulate);
            let dt = start.elapsed().as_nanos() as f64;
            PROFILE.with(|p| p.set(Some((flops + 2.0 * (m * n * k) as f64, ns + dt))));
        }
    }
}

/// [`gemm`] on the given kernel, for nonempty shapes.
#[allow(clippy::too_many_arguments)]
fn product<T: Real>(
    kernel: Kernel,
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
    match kernel {
        Kernel::Faer => {
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
            faer::linalg::matmul::matmul(dst, beta, lhs, rhs, T::ONE, Par::Seq);
        }
        Kernel::GemmCrate => {
            // Checked in every build: the raw-pointer call below relies on them.
            assert!(
                c.len() == m * n && a.len() == m * k && b.len() == k * n,
                "gemm: operand lengths do not match {m}×{n}×{k}"
            );
            // Strides in elements, (row, column), of each operand as the product reads it.
            let (a_rs, a_cs) = match op_a {
                Op::N => (k, 1),
                Op::T => (1, m),
            };
            let (b_rs, b_cs) = match op_b {
                Op::N => (n, 1),
                Op::T => (1, k),
            };
            // SAFETY: the three slices hold exactly m×n, m×k and k×n elements (asserted
            // above), and the strides address only those: the largest offset of A is
            // (m-1)·a_rs + (k-1)·a_cs = m·k - 1, likewise for B and C. C is borrowed mutably,
            // so it aliases neither operand. `read_dst` is `accumulate`: C = 1·C + 1·A·B, or
            // C = A·B without reading C.
            unsafe {
                gemm_crate::gemm(
                    m,
                    n,
                    k,
                    c.as_mut_ptr(),
                    1,
                    n as isize,
                    accumulate,
                    a.as_ptr(),
                    a_cs as isize,
                    a_rs as isize,
                    b.as_ptr(),
                    b_cs as isize,
                    b_rs as isize,
                    T::ONE,
                    T::ONE,
                    false,
                    false,
                    false,
                    gemm_crate::Parallelism::None,
                );
            }
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
    fn every_kernel_matches_the_naive_product_for_every_transpose() {
        // Odd sizes, so that no kernel's blocks divide them.
        for (m, n, k) in [(5, 7, 3), (37, 29, 70)] {
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.91).cos()).collect();
            for kernel in [Kernel::Faer, Kernel::GemmCrate] {
                for op_a in [Op::N, Op::T] {
                    for op_b in [Op::N, Op::T] {
                        let want = naive(&a, op_a, &b, op_b, m, n, k);
                        // Overwriting must not read C, not even to multiply it by zero.
                        let mut c = vec![f64::NAN; m * n];
                        product(kernel, &mut c, &a, op_a, &b, op_b, m, n, k, false);
                        for (x, y) in c.iter().zip(&want) {
                            assert!((x - y).abs() < 1e-12, "{kernel:?} {op_a:?}{op_b:?}");
                        }
                        product(kernel, &mut c, &a, op_a, &b, op_b, m, n, k, true);
                        for (x, y) in c.iter().zip(&want) {
                            assert!((x - 2.0 * y).abs() < 1e-12, "{kernel:?} {op_a:?}{op_b:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn large_products_go_to_the_gemm_crate_and_small_ones_to_faer() {
        assert_eq!(Kernel::for_size(400, 9956, 256), Kernel::GemmCrate);
        assert_eq!(Kernel::for_size(1024, 1024, 100), Kernel::GemmCrate);
        assert_eq!(Kernel::for_size(100, 1024, 256), Kernel::Faer);
        assert_eq!(Kernel::for_size(50, 400, 400), Kernel::Faer);
        // Sizes a user could type do not overflow the choice.
        assert_eq!(Kernel::for_size(usize::MAX, 2, 2), Kernel::GemmCrate);
    }

    #[test]
    fn a_large_product_through_the_seam_is_right() {
        // 64 × 1024 × 1024 = 2^26 multiply-adds: the gemm crate's side of the threshold.
        let (m, n, k) = (64, 1024, 1024);
        assert_eq!(Kernel::for_size(m, n, k), Kernel::GemmCrate);
        let a: Vec<f32> = (0..m * k).map(|i| ((i % 13) as f32 - 6.0) * 0.01).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i % 7) as f32 - 3.0) * 0.01).collect();
        let mut c = vec![0.0f32; m * n];
        gemm(&mut c, &a, Op::N, &b, Op::T, m, n, k, false);
        for (i, j) in [(0, 0), (3, 517), (63, 1023)] {
            let want: f64 = (0..k)
                .map(|p| a[i * k + p] as f64 * b[j * k + p] as f64)
                .sum();
            assert!((c[i * n + j] as f64 - want).abs() < 1e-4, "C[{i},{j}]");
        }
    }
}
