//! ccdni: cortico-cerebellar recurrent networks as decoupled neural interfaces.
//!
//! A cortical RNN learns by truncated backpropagation through time; a cerebellar network learns
//! to predict the feedback that truncation cuts off and injects it at each window's end. The
//! model, the algorithm, the tasks and the measures are written down in `docs/model.md`.
//!
//! # Where to start reading
//! [`trainer`]: the whole training step (the synthetic-gradient algorithm) as a short list of
//! phases. Then [`layers::cerebellum`] (what the cerebellum is and how it learns) and
//! [`cortex`] (what crosses a window boundary).
//!
//! # The map
//! The layers import one way: the engine <- tasks and data <- settings <- jobs <- the command
//! line (the binary, `src/main.rs`), with no cycle between modules.
//!
//! **The engine** (one batch of training, in f32 or f64):
//! - [`trainer`]: the training step; [`optim`]: clipping, Adam, SGD, RMSprop;
//! - [`model`]: cortex + readout + cerebellum in one flat parameter vector ([`params`]);
//!   [`batch`]: a batch of sequences, what the engine trains on; [`network`]: a trained
//!   network (one area or two) as a task measures it;
//! - [`cortex`]: the cortical RNN (LSTM or tanh) over [`layers`]: each layer's forward pass,
//!   backward pass and gradient check side by side;
//! - [`loss`], [`measures`]: window losses, evaluation measures, dysmetria;
//! - [`gemm`]: the one seam every matrix product goes through; [`real`]: f32/f64 and their
//!   vectorisable nonlinearities; [`simd`]: the hot loops compiled for the CPU's vector
//!   instructions, chosen at run time; [`pool`]: the threads inside a run, which the large
//!   products, the optimizer and the softmax split over; [`rng`]: seeded named random streams;
//! - [`mod@bench`]: training speed next to the matrix-multiply floor;
//! - [`areas`]: a cortex of two areas in a chain with a delay between them, a backward
//!   cerebellum per area and a forward cerebellum that predicts what the second area receives
//!   (its own model and training step; the one-area model above is untouched).
//!
//! **Tasks and data**: [`tasks`] (the [`tasks::Task`] trait; reach, sequential MNIST,
//! captions; copy and repeat copy, eyeblink conditioning, interval reproduction; any task from
//! files) and [`data`] (IDX files, download, train/validation split, `.npy`, `.npz` and
//! safetensors arrays); [`captions`]: COCO-format captions and image features, the vocabulary,
//! the built-in caption set, and the COCO scores (BLEU, CIDEr-D). A task defined outside the
//! crate is registered with [`config::register_task`] (`examples/custom_task.rs`).
//!
//! **Settings**: [`config`]: every setting with the papers' defaults, overlaid by files and
//! single settings ([`config::Overrides`]), validated, and the task a configuration builds;
//! [`model_file`]: a saved model read back with its settings and checked.
//!
//! **Jobs** ([`job`]): a job is an experiment (variants × seeds, [`job::spec`]) stored in its
//! folder; each run trains in its own run folder ([`job::layout`] owns every path:
//! `runs/<model>-seed<k>/` holds the run's settings, checkpoint, metrics and model).
//! - [`job::run`]: one run in its folder (finished → loaded; checkpoint → goes on; else
//!   starts), epoch by epoch; [`job::checkpoint`] writes and reads a run's checkpoint;
//! - [`job::launch`]: runs on threads, all or one shard; [`job::report`]: what a finished job
//!   writes (summary, comparisons, plots, figures: its module doc has a table of which module
//!   writes each file);
//! - with [`stats`] (paired t-tests), [`analysis`] (population statistics of the networks'
//!   units and weights, the measures over learning) and [`plot`].

pub mod analysis;
pub mod areas;
pub mod batch;
pub mod bench;
pub mod captions;
pub mod config;
pub mod cortex;
pub mod data;
pub mod gemm;
pub mod job;
pub mod layers;
pub mod loss;
pub mod measures;
pub mod model;
pub mod model_file;
pub mod network;
pub mod optim;
pub mod params;
pub mod plot;
pub mod pool;
pub mod real;
pub mod rng;
pub mod simd;
pub mod stats;
pub mod tasks;
pub mod trainer;
