//! ccdni: cortico-cerebellar recurrent networks as decoupled neural interfaces.
pub mod gemm;
pub mod real;
pub mod rng;
