//! The one seam to the matrix-multiply kernels. Every matrix product of the engine goes through
//! [`gemm`]; matrices are flat row-major slices. Large products are split over the run's threads
//! ([`crate::pool`]), with the same numbers for every thread count.
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

/// Products of at least this many multiply-adds (`m·n·k`) are split over the threads of the
/// run's pool ([`crate::pool`]), when it has more than one: below it, waking the workers costs
/// more than it saves (a product of 2²⁴ takes about 0.3 ms on one core, a wake-up microseconds).
/// Every product of the MNIST-sized model and the per-step products of the reach cortex
/// (50 × 200 × 50) are below it; the reach cerebellum over all window boundaries
/// (500 × 400 × 400), the caption model's per-step products (100 × 1024 × 256) and everything
/// larger are above.
pub const PARALLEL: usize = 1 << 24;

/// A split piece is at least this wide (more than the `gemm` crate's small-matrix limit of 64,
/// so that a piece is blocked as the whole product is) and its boundaries are multiples of 16.
const MIN_PIECE: usize = 128;

/// `C = A·B` (`accumulate == false`) or `C += A·B` (`accumulate == true`).
///
/// `C` is `m × n`; `op(A)` is `m × k` and `op(B)` is `k × n`, where `A` is stored `m × k`
/// (`Op::N`) or `k × m` (`Op::T`), and likewise `B`. All slices are row-major and exact in length.
///
/// A product of at least [`PARALLEL`] multiply-adds is cut into pieces of `C`'s columns (or rows,
/// when it has more rows than columns), one per thread of the installed pool, each computed on
/// the kernel the whole product would use: every element of `C` is the same dot product summed
/// in the same order as without the split, so the result does not depend on the thread count
/// (tested below).
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
    let parts = if m.saturating_mul(n).saturating_mul(k) >= PARALLEL {
        crate::pool::threads()
    } else {
        1
    };
    let compute = |c: &mut [T]| {
        if k == 1 && !accumulate && kernel == Kernel::Faer {
            return outer(c, a, b, n);
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
        split(kernel, parts, dst, lhs, rhs, accumulate)
    };
    match PROFILE.with(|p| p.get()) {
        None => compute(c),
        Some((flops, ns)) => {
            let start = std::time::Instant::now();
            compute(c);
            let dt = start.elapsed().as_nanos() as f64;
            PROFILE.with(|p| p.set(Some((flops + 2.0 * (m * n * k) as f64, ns + dt))));
        }
    }
}

/// `C = a·b` for a product over one term (`k = 1`: an outer product; a column `a` is stored as
/// its row, so neither transpose changes the layout), as one vectorised pass: the cortex's input
/// projection of a one-dimensional input (reach), where the matrix kernels spent most of their
/// time setting up (9 GFLOP/s on its 500 × 200 × 1). Each element is one rounded product, as in
/// the faer kernel the seam would choose (the `gemm` crate, chosen above 2²⁶ elements, rounds a
/// few of them otherwise, so such products stay with it). Accumulating products stay with the
/// kernels: faer adds `a·b` to `C` with one rounding (a fused multiply-add) at some sizes and
/// two at others.
fn outer<T: Real>(c: &mut [T], a: &[T], b: &[T], n: usize) {
    crate::simd::vectorize(|| {
        for (row, &ai) in c.chunks_exact_mut(n).zip(a) {
            row.iter_mut().zip(b).for_each(|(cj, &bj)| *cj = ai * bj);
        }
    })
}

/// `dst (+)= lhs·rhs` in up to `parts` pieces of `dst`'s columns (or rows, when it has more rows
/// than columns) on the installed pool, each on `kernel`.
fn split<T: Real>(
    kernel: Kernel,
    parts: usize,
    dst: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    accumulate: bool,
) {
    let (m, n) = (dst.nrows(), dst.ncols());
    let parts = parts.min(m.max(n) / MIN_PIECE).max(1);
    if parts == 1 {
        return product(kernel, dst, lhs, rhs, accumulate);
    }
    let by_columns = n >= m;
    let bounds = crate::pool::bounds(if by_columns { n } else { m }, parts, 16);
    let mut pieces = Vec::with_capacity(parts);
    let mut rest = dst;
    for w in bounds.windows(2) {
        let (start, len) = (w[0], w[1] - w[0]);
        let (piece, tail) = if by_columns {
            rest.split_at_col_mut(len)
        } else {
            rest.split_at_row_mut(len)
        };
        rest = tail;
        pieces.push((start, len, piece));
    }
    crate::pool::each(pieces, |(start, len, piece)| {
        if by_columns {
            product(kernel, piece, lhs, rhs.subcols(start, len), accumulate)
        } else {
            product(kernel, piece, lhs.subrows(start, len), rhs, accumulate)
        }
    });
}

/// `dst = lhs·rhs` (or `+=`, when `accumulate`) on the given kernel, for nonempty shapes.
fn product<T: Real>(
    kernel: Kernel,
    dst: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    accumulate: bool,
) {
    match kernel {
        Kernel::Faer => {
            let beta = if accumulate {
                Accum::Add
            } else {
                Accum::Replace
            };
            faer::linalg::matmul::matmul(dst, beta, lhs, rhs, T::ONE, Par::Seq);
        }
        Kernel::GemmCrate => {
            let (m, n, k) = (dst.nrows(), dst.ncols(), lhs.ncols());
            // Checked in every build: the raw-pointer call below relies on it.
            assert!(
                lhs.nrows() == m && rhs.nrows() == k && rhs.ncols() == n,
                "gemm: operand shapes do not match {m}×{n}×{k}"
            );
            // SAFETY: each pointer with its (row, column) strides addresses exactly the elements
            // of a valid faer view of the stated shape (the views check that on construction),
            // and `dst` is borrowed mutably, so it aliases neither operand. `read_dst` is
            // `accumulate`: C = 1·C + 1·A·B, or C = A·B without reading C.
            unsafe {
                gemm_crate::gemm(
                    m,
                    n,
                    k,
                    dst.as_ptr_mut(),
                    dst.col_stride(),
                    dst.row_stride(),
                    accumulate,
                    lhs.as_ptr(),
                    lhs.col_stride(),
                    lhs.row_stride(),
                    rhs.as_ptr(),
                    rhs.col_stride(),
                    rhs.row_stride(),
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

    /// `op(x)`, `rows × cols`, of a row-major `x`.
    fn view<T: Real>(x: &[T], op: Op, rows: usize, cols: usize) -> MatRef<'_, T> {
        match op {
            Op::N => MatRef::from_row_major_slice(x, rows, cols),
            Op::T => MatRef::from_row_major_slice(x, cols, rows).transpose(),
        }
    }

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
                        let (lhs, rhs) = (view(&a, op_a, m, k), view(&b, op_b, k, n));
                        let dst = MatMut::from_row_major_slice_mut(&mut c, m, n);
                        product(kernel, dst, lhs, rhs, false);
                        for (x, y) in c.iter().zip(&want) {
                            assert!((x - y).abs() < 1e-12, "{kernel:?} {op_a:?}{op_b:?}");
                        }
                        let dst = MatMut::from_row_major_slice_mut(&mut c, m, n);
                        product(kernel, dst, lhs, rhs, true);
                        for (x, y) in c.iter().zip(&want) {
                            assert!((x - 2.0 * y).abs() < 1e-12, "{kernel:?} {op_a:?}{op_b:?}");
                        }
                    }
                }
            }
        }
    }

    /// A product over one term takes its own pass ([`outer`]) when it overwrites `C` and gives
    /// the bits of the kernel the seam would otherwise run, for every transpose and sizes around
    /// the vector width (and an accumulating one goes to that kernel, so it gives its bits too).
    #[test]
    fn outer_products_give_the_kernels_bits() {
        for (m, n) in [(1, 1), (500, 200), (37, 9), (3, 50)] {
            let a: Vec<f32> = operand(m, 0.37);
            let b: Vec<f32> = operand(n, 0.91);
            let kernel = Kernel::for_size(m, n, 1);
            for (op_a, op_b) in [
                (Op::N, Op::T),
                (Op::T, Op::N),
                (Op::N, Op::N),
                (Op::T, Op::T),
            ] {
                for accumulate in [false, true] {
                    let start: Vec<f32> = operand(m * n, 0.13);
                    let mut want = start.clone();
                    let dst = MatMut::from_row_major_slice_mut(&mut want, m, n);
                    product(
                        kernel,
                        dst,
                        view(&a, op_a, m, 1),
                        view(&b, op_b, 1, n),
                        accumulate,
                    );
                    let mut c = start.clone();
                    gemm(&mut c, &a, op_a, &b, op_b, m, n, 1, accumulate);
                    assert!(
                        c.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()),
                        "{kernel:?} {m}×{n} {op_a:?}{op_b:?} accumulate {accumulate}"
                    );
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

    /// Operands with values of many magnitudes, so that a different summation order would show.
    fn operand<T: Real>(len: usize, seed: f64) -> Vec<T> {
        (0..len)
            .map(|i| T::from_f64((i as f64 * seed).sin() * (1.0 + (i % 7) as f64 * 10.0)))
            .collect()
    }

    /// Every piece of a split product is computed as the whole product computes it, on both
    /// kernels, for every transpose, splitting by columns and by rows, so that a run's numbers do
    /// not depend on how many threads share its products.
    fn split_matches_whole<T: Real>() {
        for (m, n, k) in [
            (100, 1024, 256),
            (1000, 300, 40),
            (130, 517, 77),
            (400, 700, 256),
        ] {
            let a: Vec<T> = operand(m * k, 0.37);
            let b: Vec<T> = operand(k * n, 0.91);
            for kernel in [Kernel::Faer, Kernel::GemmCrate] {
                for (op_a, op_b) in [(Op::N, Op::T), (Op::T, Op::N), (Op::N, Op::N)] {
                    let (lhs, rhs) = (view(&a, op_a, m, k), view(&b, op_b, k, n));
                    let start: Vec<T> = operand(m * n, 0.13);
                    for accumulate in [false, true] {
                        let mut whole = start.clone();
                        let dst = MatMut::from_row_major_slice_mut(&mut whole, m, n);
                        product(kernel, dst, lhs, rhs, accumulate);
                        for parts in [2, 3, 5] {
                            let mut c = start.clone();
                            let dst = MatMut::from_row_major_slice_mut(&mut c, m, n);
                            split(kernel, parts, dst, lhs, rhs, accumulate);
                            assert!(
                                c.iter().zip(&whole).all(|(x, y)| x.to_f64() == y.to_f64()),
                                "{kernel:?} {m}×{n}×{k} {op_a:?}{op_b:?} in {parts} pieces"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn split_products_are_bit_identical_to_whole_ones() {
        split_matches_whole::<f32>();
        split_matches_whole::<f64>();
    }

    #[test]
    fn products_on_every_thread_count_give_the_same_bits() {
        // Above the threshold on both kernels, one split by columns and one by rows.
        for (m, n, k) in [(100, 1024, 256), (2048, 400, 100)] {
            let a: Vec<f32> = operand(m * k, 0.37);
            let b: Vec<f32> = operand(k * n, 0.91);
            assert!(m * n * k >= PARALLEL);
            let run = || {
                let mut c = vec![0.0f32; m * n];
                gemm(&mut c, &a, Op::N, &b, Op::T, m, n, k, false);
                c
            };
            let one = run();
            for threads in [2, 3, 4] {
                let many = crate::pool::install(crate::pool::Pool::new(threads), run);
                assert!(
                    one.iter()
                        .zip(&many)
                        .all(|(x, y)| x.to_bits() == y.to_bits())
                );
            }
        }
    }
}
