//! The task a configuration names: its sizes, known without reading any data, and the task
//! itself, built with its data (read once per process and shared between runs).

use super::{Config, TaskKind};
use crate::data::Dataset;
use crate::tasks::{Sizes, Task, captions, copy, eyeblink, file, interval, mnist, reach};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

impl Config {
    /// The sizes the task gives a model, known without building it (no data set is read):
    /// what [`Task::input_size`], [`Task::output_size`] and [`Task::context_size`] of the built
    /// task return. The caption task's readout is the vocabulary's size, known only from the data
    /// (or a saved model's tensors), so it is 0 here.
    pub fn task_sizes(&self) -> Sizes {
        match self.task {
            TaskKind::Reach => Sizes {
                input: reach::INPUTS,
                output: reach::OUTPUTS,
                context: reach::CONTEXT_SIZE,
            },
            TaskKind::Mnist => Sizes {
                input: mnist::WIDTH,
                output: mnist::outputs(self.mnist.variant),
                context: mnist::CONTEXT_SIZE,
            },
            TaskKind::Captions => Sizes {
                input: self.captions.embedding,
                output: 0,
                context: 0,
            },
            // Read from the arrays' headers and labels (zeros when they cannot be read: building
            // the task says why).
            TaskKind::File => file::shared(&self.file).map_or(
                Sizes {
                    input: 0,
                    output: 0,
                    context: 0,
                },
                |d| Sizes {
                    input: d.inputs,
                    output: d.outputs,
                    context: 0,
                },
            ),
            TaskKind::Copy => Sizes {
                input: self.copy.inputs(),
                output: self.copy.outputs(),
                context: 0,
            },
            TaskKind::Eyeblink => Sizes {
                input: eyeblink::INPUTS,
                output: 1,
                context: 0,
            },
            TaskKind::Interval => Sizes {
                input: interval::INPUTS,
                output: 1,
                context: 0,
            },
            // Asked of the task itself.
            TaskKind::Custom => super::custom::build(self).map_or(
                Sizes {
                    input: 0,
                    output: 0,
                    context: 0,
                },
                |t| Sizes {
                    input: t.input_size(),
                    output: t.output_size(),
                    context: t.context_size(),
                },
            ),
        }
    }

    /// The task of this configuration, seeded by `self.seed`.
    pub fn build_task(&self) -> Result<Box<dyn Task>> {
        Ok(match self.task {
            TaskKind::Reach => Box::new(reach::Reach::new(
                self.reach.clone(),
                self.seed,
                self.eval_batch,
            )),
            TaskKind::Mnist => {
                let m = &self.mnist;
                let dir = crate::data::resolve_data_dir(m.data_dir.as_deref(), &m.dataset)?;
                let data = shared_dataset(&dir).with_context(|| {
                    format!(
                        "reading the {0} data (pass --data-dir DIR, set CCDNI_DATA_DIR, or run `ccdni data fetch {0}`)",
                        m.dataset
                    )
                })?;
                Box::new(mnist::Mnist::new(
                    m.clone(),
                    data,
                    self.seed,
                    self.eval_batch,
                )?)
            }
            TaskKind::Captions => Box::new(captions::Captions::new(
                self.captions.clone(),
                captions::shared_set(&self.captions)?,
                self.seed,
                self.eval_batch,
            )?),
            TaskKind::Custom => super::custom::build(self)?,
            TaskKind::Copy => Box::new(copy::Copy::new(
                self.copy.clone(),
                self.seed,
                self.eval_batch,
            )),
            TaskKind::Eyeblink => Box::new(eyeblink::Eyeblink::new(
                self.eyeblink.clone(),
                self.seed,
                self.eval_batch,
            )),
            TaskKind::Interval => Box::new(interval::Interval::new(
                self.interval.clone(),
                self.seed,
                self.eval_batch,
            )),
            TaskKind::File => Box::new(file::FileTask::new(
                self.file.clone(),
                file::shared(&self.file)?,
                self.seed,
                self.eval_batch,
            )?),
        })
    }
}

/// The data set in `dir`, loaded on first use.
fn shared_dataset(dir: &Path) -> Result<Arc<Dataset>> {
    type Cache = Mutex<HashMap<PathBuf, Arc<Dataset>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .expect("data cache lock");
    if let Some(d) = cache.get(dir) {
        return Ok(d.clone());
    }
    let data = Arc::new(crate::data::load_dataset(dir)?);
    cache.insert(dir.to_path_buf(), data.clone());
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Images;
    use crate::tasks::mnist::{Mnist, MnistVariant};

    fn built(t: &dyn Task) -> Sizes {
        Sizes {
            input: t.input_size(),
            output: t.output_size(),
            context: t.context_size(),
        }
    }

    fn images(count: usize) -> Images {
        let pixels = (0..count * 28 * 28).map(|p| (p % 251) as u8).collect();
        Images {
            count,
            rows: 28,
            cols: 28,
            pixels,
        }
    }

    #[test]
    fn the_sizes_known_from_the_config_are_the_built_tasks() {
        let data = Arc::new(Dataset {
            train_images: images(40),
            train_labels: (0..40).map(|i| (i % 10) as u8).collect(),
            test_images: images(10),
            test_labels: (0..10).map(|i| (i % 10) as u8).collect(),
        });
        for variant in [MnistVariant::Class, MnistVariant::Line, MnistVariant::Digit] {
            let mut c = Config::defaults(TaskKind::Mnist);
            c.mnist.variant = variant;
            c.mnist.validation_samples = 10;
            let task = Mnist::new(c.mnist.clone(), data.clone(), 0, 5).unwrap();
            assert_eq!(c.task_sizes(), built(&task), "{variant:?}");
        }
        let c = Config::defaults(TaskKind::Reach);
        assert_eq!(c.task_sizes(), built(c.build_task().unwrap().as_ref()));
    }
}
