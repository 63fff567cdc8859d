//! Settings laid over a task's defaults, in order: a table given by the caller (an experiment
//! file's settings), a TOML file of settings, then single settings `key = value` (dotted keys,
//! `train.horizon`). The command line's flags and `--set`, and the Python package's keyword
//! arguments, all become single settings; the result is resolved and validated in one place.

use super::{Config, TaskKind, merge, set_path};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use toml::Value;

/// A config file and single settings, laid over a task's defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// A TOML file holding any subset of the settings (`ccdni config` lists them all).
    pub file: Option<PathBuf>,
    /// Single settings, each a dotted key and its value, laid over the file in this order.
    pub settings: Vec<(String, Value)>,
}

impl Overrides {
    /// Adds the setting `key = value` (after the ones already given: it wins over them).
    pub fn set(&mut self, key: &str, value: Value) {
        self.settings.push((key.to_string(), value));
    }

    /// Adds a `KEY=VALUE` argument ([`parse_setting`]).
    pub fn set_text(&mut self, kv: &str) -> Result<()> {
        let (key, value) = parse_setting(kv)?;
        self.settings.push((key, value));
        Ok(())
    }

    /// `under`, with the file and then the settings laid over it, as one table.
    pub fn overlay(&self, under: &toml::Table) -> Result<toml::Table> {
        let mut overlay = under.clone();
        if let Some(path) = &self.file {
            merge(&mut overlay, &Config::load_overlay(path)?);
        }
        for (key, value) in &self.settings {
            set_path(&mut overlay, key, value.clone())
                .with_context(|| format!("setting `{key}`"))?;
        }
        Ok(overlay)
    }

    /// The configuration: the defaults of `task` (or of the task the overlay names), with
    /// `under`, the file and the settings laid over them, validated. Fails naming the setting.
    pub fn resolve(&self, task: TaskKind, under: &toml::Table) -> Result<Config> {
        let overlay = self.overlay(under)?;
        let config = Config::resolve(task, &overlay).map_err(|e| match &self.file {
            Some(path) => e.context(format!("in config file {} or flags", path.display())),
            None => e.context("invalid setting"),
        })?;
        config.validate()?;
        Ok(config)
    }
}

/// A `KEY=VALUE` argument as its key and TOML value (a bare word is a string): `epochs=5`,
/// `reach.input_noise=0.05`, `cortex.cell=tanh`, `train.optimizer={ name = "sgd" }`.
pub fn parse_setting(kv: &str) -> Result<(String, Value)> {
    let (k, v) = kv
        .split_once('=')
        .with_context(|| format!("--set {kv}: expected KEY=VALUE"))?;
    let digits = v.trim().trim_start_matches(['-', '+']);
    let parsed = format!("v = {v}").parse::<toml::Table>();
    if parsed.is_err() && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        bail!(
            "--set {kv}: the integer is out of range (a setting holds at most {})",
            i64::MAX
        );
    }
    let doc: toml::Table = parsed
        .or_else(|_| format!("v = {:?}", v.trim()).parse())
        .with_context(|| format!("--set {kv}: the value is not a TOML value"))?;
    let value = doc
        .get("v")
        .with_context(|| format!("--set {kv}: the value is not a TOML value"))?;
    Ok((k.trim().to_string(), value.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_lie_over_the_file_which_lies_over_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "epochs = 7\nbatch_size = 10\n").unwrap();
        let mut o = Overrides {
            file: Some(file),
            ..Overrides::default()
        };
        o.set_text("batch_size=12").unwrap();
        o.set_text("cortex.cell=tanh").unwrap();
        let under: toml::Table = "epochs = 3\ntest_every = 2".parse().unwrap();
        let c = o.resolve(TaskKind::Reach, &under).unwrap();
        assert_eq!((c.epochs, c.batch_size, c.test_every), (7, 12, 2));
        assert_eq!(c.cortex.cell, crate::cortex::CellKind::Tanh);
    }

    #[test]
    fn bad_settings_are_named() {
        for (kv, needle) in [
            ("epochs", "expected KEY=VALUE"),
            ("epochs=99999999999999999999", "out of range"),
            ("train..lr=1", "is not a setting name"),
        ] {
            let mut o = Overrides::default();
            let msg = match o.set_text(kv) {
                Err(e) => format!("{e:#}"),
                Ok(()) => format!(
                    "{:#}",
                    o.resolve(TaskKind::Reach, &Default::default()).unwrap_err()
                ),
            };
            assert!(msg.contains(needle), "{kv}: {msg}");
        }
        let mut o = Overrides::default();
        o.set_text("epochs=0").unwrap();
        let msg = format!(
            "{:#}",
            o.resolve(TaskKind::Reach, &Default::default()).unwrap_err()
        );
        assert!(msg.contains("`epochs` must be at least 1"), "{msg}");
    }
}
