//! Tasks defined outside the crate. A Rust program that brings its own task (any type that
//! implements [`crate::tasks::Task`]) registers a factory for it under a name, before it runs a
//! job; a configuration names it with `task = "custom"` and `custom.name`, and passes it its own
//! settings as `[custom.settings]` (any TOML, given to the factory as they are, so experiment
//! files and variants can vary them). From then on the task is an ordinary one: every run of
//! the job builds it through the factory, with the run's seed, and a job stored in its folder
//! goes on (resume, shards, reports) in any program that registers the same name.
//! `examples/custom_task.rs` is such a program.
//!
//! The factory is also asked for the task's sizes (steps, inputs, outputs) when a
//! configuration is checked, so building a task should be cheap, or cache its data.

use super::Config;
use crate::tasks::Task;
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The settings of a task registered by the program that runs it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CustomConfig {
    /// The name the task is registered under ([`register_task`]).
    pub name: String,
    /// The task's own settings, given to its factory as they are.
    pub settings: toml::Table,
}

impl CustomConfig {
    /// Whether nothing is set (the section is then not written).
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.settings.is_empty()
    }
}

/// Builds a run's task from its configuration (its `seed`, `eval_batch` and `custom.settings`).
pub type TaskFactory = dyn Fn(&Config) -> Result<Box<dyn Task>> + Send + Sync;

fn registry() -> &'static Mutex<BTreeMap<String, Arc<TaskFactory>>> {
    static REGISTRY: OnceLock<Mutex<BTreeMap<String, Arc<TaskFactory>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Registers `factory` as the task `name` (`task = "custom"`, `custom.name = name`) for the rest
/// of this process, replacing one registered before under that name.
pub fn register_task(
    name: &str,
    factory: impl Fn(&Config) -> Result<Box<dyn Task>> + Send + Sync + 'static,
) {
    registry()
        .lock()
        .expect("task registry lock")
        .insert(name.to_string(), Arc::new(factory));
}

/// The task of `config` (`task = "custom"`), built by the factory registered under its name.
pub(super) fn build(config: &Config) -> Result<Box<dyn Task>> {
    let name = &config.custom.name;
    let factory = registry()
        .lock()
        .expect("task registry lock")
        .get(name)
        .cloned();
    let Some(factory) = factory else {
        let known: Vec<String> = registry()
            .lock()
            .expect("task registry lock")
            .keys()
            .cloned()
            .collect();
        bail!(
            "`custom.name` = {name:?}: no task is registered under that name in this program (registered: {}); \
             a custom task is defined in Rust and registered by the program that runs the job, with \
             ccdni::config::register_task (see examples/custom_task.rs); the ccdni command has none",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    factory(config).map_err(|e| e.context(format!("building the custom task {name:?}")))
}
