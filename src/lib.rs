//! ccdni: cortico-cerebellar recurrent networks as decoupled neural interfaces.
pub mod cortex;
pub mod gemm;
pub mod layers;
pub mod params;
pub mod real;
pub mod rng;
pub mod stats;
pub mod plot;
pub mod data;
pub mod loss;
pub mod model;
pub mod optim;
pub mod trainer;
