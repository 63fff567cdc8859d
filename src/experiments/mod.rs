//! The experiment layer: everything above the training step that turns runs into results.
//!
//! | module | what |
//! |---|---|
//! | [`run`] | a single run: one configuration and seed, epoch by epoch, with evaluation |
//! | [`checkpoint`] | a run's checkpoint: everything it needs to go on where it stopped |
//! | [`stop`] | stopping runs early: another run failed, or SIGINT/SIGTERM |
//! | [`parallel`] | many runs at once, one per thread |
//! | [`variants`] | an experiment: model variants × seeds over a base configuration, into a run folder |
//! | [`cluster`] | an experiment over many processes (Slurm arrays): shards, aggregation |
//! | [`slurm`] | `ccdni slurm`: job-array scripts for a job |
//! | [`folder`] | run folders: claiming one with a lock, taking over a stale lock |
//! | [`resume`] | going on with a stopped experiment: the settings check, the records so far |
//! | [`learning`] | the measures over learning on a probe set after every epoch: learning.csv and its plots |
//! | [`recorder`] | a run's recordings over learning: `.npy` arrays and their index |
//! | [`file`] | experiments as data: an experiment file, and the experiment a run folder holds |
//! | [`figures`] | a figure's own plots: normalised performance per group, lesion effects |
//! | [`report`] | what an experiment writes: metrics.csv, summary.json, the table, the plots |
//! | [`compare`] | paired comparisons of two variants (final test, normalised performance) |
//! | [`sweep`] | the horizon sweep: cRNN and ccRNN at several horizons K |
//! | [`eval`] | `ccdni eval`: a saved model's test measures and drawings |
//! | [`bench`] | `ccdni bench`: training speed next to the matrix-multiply floor |

pub mod bench;
pub mod captioning;
pub mod checkpoint;
pub mod cluster;
pub mod compare;
pub mod eval;
pub mod figures;
pub mod file;
pub mod folder;
pub mod learning;
pub mod parallel;
pub mod recorder;
pub mod report;
pub mod resume;
pub mod run;
pub mod slurm;
pub mod stop;
pub mod sweep;
pub mod variants;
