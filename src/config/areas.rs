//! The `[areas]` section: a cortex of two areas in a chain (docs/model.md §7). Absent, the
//! cortex is one area, today's model, and the resolved settings do not name the section.
//!
//! Area A is the `[cortex]` section's network; `[areas]` gives area B, the delay between them,
//! the forward cerebellum and its lesion. The backward cerebellums (one per area) exist when
//! `model` = "ccrnn", shaped by `[cerebellum]`; `areas.backward` keeps one area's only;
//! `lesion.cerebellum_at` removes them all.

use super::{Config, ModelKind, TaskKind};
use crate::areas::{AreaSpec, BackwardAreas, ChainSpec, ForwardMode, ForwardSpec};
use crate::cortex::CellKind;
use crate::layers::cerebellum::CerebellumInput;
use crate::trainer::UpdateEvery;
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

/// Area B, the delay, and the forward cerebellum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreasConfig {
    /// Area B's cell; absent: area A's (`cortex.cell`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<CellKind>,
    /// Area B's hidden units; absent: area A's (`cortex.hidden`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    /// Steps d between A sending and B receiving.
    #[serde(default)]
    pub delay: usize,
    /// Which areas have a backward cerebellum (`model` = "ccrnn"): `both`, `a` or `b`;
    /// absent: both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backward: Option<BackwardAreas>,
    /// The forward cerebellum: `none`, `replace` (B receives its prediction) or `add` (B
    /// receives the delayed signal plus its prediction).
    #[serde(default)]
    pub forward: ForwardChoice,
    /// The forward cerebellum's granule cells.
    #[serde(default = "forward_granule")]
    pub forward_granule: usize,
    /// Whether the forward cerebellum reads B's own state (the delayed signal it always reads).
    #[serde(default = "yes")]
    pub forward_state: bool,
    /// Whether it reads the task's cue or label as context.
    #[serde(default = "yes")]
    pub forward_context: bool,
    /// The oracle control: B receives A's true activity without delay (`forward` must be set;
    /// no network is built).
    #[serde(default)]
    pub oracle: bool,
    /// Forward cerebellar ablation: from this epoch on B receives the delayed signal and the
    /// forward cerebellum stops learning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_lesion_at: Option<usize>,
}

/// Whether, and how, area B uses a forward cerebellum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardChoice {
    #[default]
    None,
    Replace,
    Add,
}

impl Default for AreasConfig {
    /// The section's defaults: B as A, no delay, no forward cerebellum.
    fn default() -> Self {
        AreasConfig {
            cell: None,
            hidden: None,
            delay: 0,
            backward: None,
            forward: ForwardChoice::None,
            forward_granule: forward_granule(),
            forward_state: true,
            forward_context: true,
            oracle: false,
            forward_lesion_at: None,
        }
    }
}

fn forward_granule() -> usize {
    200
}

fn yes() -> bool {
    true
}

impl Config {
    /// The shape of the two-area chain for a task of these sizes (`None`: one area).
    pub fn chain_spec(&self, input: usize, output: usize, context: usize) -> Option<ChainSpec> {
        let a = self.areas.as_ref()?;
        let area_a = AreaSpec {
            cell: self.cortex.cell,
            hidden: self.cortex.hidden,
        };
        let area_b = AreaSpec {
            cell: a.cell.unwrap_or(area_a.cell),
            hidden: a.hidden.unwrap_or(area_a.hidden),
        };
        let mode = match a.forward {
            ForwardChoice::None => None,
            ForwardChoice::Replace => Some(ForwardMode::Replace),
            ForwardChoice::Add => Some(ForwardMode::Add),
        };
        Some(ChainSpec {
            input,
            output,
            areas: [area_a, area_b],
            delay: a.delay,
            cerebellum: self.model_spec(input, output, context).cerebellum,
            backward_areas: a.backward.unwrap_or_default(),
            forward: mode.map(|mode| ForwardSpec {
                granule: a.forward_granule,
                mode,
                state_input: a.forward_state,
                context: if a.forward_context { context } else { 0 },
                oracle: a.oracle,
            }),
        })
    }

    /// Whether the forward cerebellum is used and learns during `epoch` (1-based).
    pub fn forward_cerebellum_on(&self, epoch: usize) -> bool {
        let at = self.areas.as_ref().and_then(|a| a.forward_lesion_at);
        at.is_none_or(|e| epoch < e)
    }

    /// The `[areas]` section's checks, and what a two-area run cannot have.
    pub(super) fn validate_areas(&self) -> Result<()> {
        let Some(a) = &self.areas else {
            return Ok(());
        };
        if self.task == TaskKind::Captions {
            bail!(
                "`areas` (two cortical areas) cannot run the caption task: its input stage (image features and words) belongs to a one-area network"
            );
        }
        if a.backward.is_some() && self.model != ModelKind::CcRnn {
            bail!(
                "`areas.backward` needs model = \"ccrnn\" (a backward cerebellum to keep), not \"crnn\""
            );
        }
        if a.hidden == Some(0) {
            bail!("`areas.hidden` must be at least 1");
        }
        if a.delay >= self.steps() {
            bail!(
                "`areas.delay` = {} must be below the task's {} steps",
                a.delay,
                self.steps()
            );
        }
        let forward = a.forward != ForwardChoice::None;
        if !forward && (a.oracle || a.forward_lesion_at.is_some()) {
            let key = if a.oracle {
                "areas.oracle"
            } else {
                "areas.forward_lesion_at"
            };
            bail!("`{key}` needs a forward cerebellum: set `areas.forward` to replace or add");
        }
        if forward && !a.oracle && a.forward_granule == 0 {
            bail!("`areas.forward_granule` must be at least 1");
        }
        if forward && !a.oracle && a.forward_context && self.task == TaskKind::Mnist {
            bail!(
                "`areas.forward_context` must be false on MNIST: the forward cerebellum's context enters the forward pass, \
                 and MNIST's context is the digit's label, the answer (set `areas.forward_context = false`)"
            );
        }
        if a.oracle && a.forward_lesion_at.is_some() {
            bail!(
                "`areas.forward_lesion_at` cannot be set with `areas.oracle` (no network to lesion)"
            );
        }
        if let Some(e) = a.forward_lesion_at
            && (e == 0 || e > self.epochs)
        {
            bail!(
                "`areas.forward_lesion_at` = {e} must be an epoch between 1 and `epochs` = {}",
                self.epochs
            );
        }
        self.validate_areas_refusals()
    }

    /// The one-area settings a two-area run does not have.
    fn validate_areas_refusals(&self) -> Result<()> {
        let c = &self.cerebellum;
        let refused = [
            ("lesion.olive_at", self.lesion.olive_at.is_some()),
            ("cerebellum.silent", c.silent),
            ("cerebellum.input", c.input != CerebellumInput::State),
            ("cerebellum.output_init", c.output_init != 0.0),
            ("cerebellum.granule_leak", c.granule_leak != 0.0),
            ("cerebellum.lr", c.lr.is_some()),
            ("cortex.init_scale", self.cortex.init_scale != 1.0),
            ("record.every", self.record.every > 0),
            ("record.probe", self.record.probe > 0),
            ("train.update", self.train.update != UpdateEvery::Batch),
        ];
        if let Some((key, _)) = refused.iter().find(|(_, set)| *set) {
            bail!(
                "`{key}` is not available with `areas` (two cortical areas): leave it at its default"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn resolved(overlay: &str) -> Result<Config> {
        let c = Config::resolve(TaskKind::Reach, &overlay.parse::<toml::Table>()?)?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn a_one_area_config_does_not_name_the_section() {
        let c = resolved("").unwrap();
        assert_eq!(c.areas, None);
        assert!(!c.to_toml().contains("areas"), "{}", c.to_toml());
        assert_eq!(c.chain_spec(2, 2, 4), None);
    }

    #[test]
    fn a_second_area_too_large_to_fit_is_refused_naming_its_sizes() {
        let sizes = crate::tasks::Sizes {
            input: 1,
            output: 2,
            context: 4,
        };
        let one = resolved("").unwrap();
        let two = resolved("[areas]\ndelay = 2\nforward = \"replace\"").unwrap();
        let (a, b) = (one.memory_estimate(sizes), two.memory_estimate(sizes));
        assert!(b > a && b < 1e9, "one area {a}, two {b}");
        crate::config::check_memory([&two], 1, sizes).unwrap();
        // B's recurrent weights alone: 4 · 30,000² values, five copies of 4 bytes.
        let wide = resolved("[areas]\nhidden = 30000").unwrap();
        assert!(wide.memory_estimate(sizes) > 4.0 * 9e8 * 20.0);
        for overlay in [
            "[areas]\nhidden = 100000000",
            "[areas]\nforward = \"add\"\nforward_granule = 100000000000",
        ] {
            let c = resolved(overlay).unwrap();
            assert!(c.memory_estimate(sizes) > 1e14, "{overlay}");
            let msg = crate::config::check_memory([&c], 1, sizes)
                .unwrap_err()
                .to_string();
            assert!(msg.contains("`areas.hidden` = "), "{msg}");
            assert!(msg.contains("`areas.forward_granule` = "), "{msg}");
        }
    }

    #[test]
    fn the_section_round_trips_with_its_defaults_filled_in() {
        let c = resolved("[areas]\ndelay = 2\nforward = \"add\"\nhidden = 30").unwrap();
        let a = c.areas.clone().unwrap();
        let want = AreasConfig {
            delay: 2,
            forward: ForwardChoice::Add,
            hidden: Some(30),
            ..AreasConfig::default()
        };
        assert_eq!(a, want);
        let again = resolved(&c.to_toml()).unwrap();
        assert_eq!(again, c);
        let spec = c.chain_spec(2, 2, 4).unwrap();
        assert_eq!(spec.areas[0].hidden, c.cortex.hidden);
        assert_eq!(spec.areas[1].hidden, 30);
        assert_eq!(spec.delay, 2);
        let f = spec.forward.unwrap();
        assert_eq!((f.mode, f.granule, f.context), (ForwardMode::Add, 200, 4));
        assert!(spec.cerebellum.is_some(), "ccrnn: backward cerebellums");
        assert_eq!(spec.backward_areas, BackwardAreas::Both);
        assert!(!c.to_toml().contains("backward"), "{}", c.to_toml());
        let crnn = resolved("model = \"crnn\"\n[areas]\ndelay = 1").unwrap();
        let spec = crnn.chain_spec(2, 2, 4).unwrap();
        assert!(spec.cerebellum.is_none() && spec.forward.is_none());
    }

    #[test]
    fn one_areas_backward_cerebellum_round_trips() {
        for (name, want) in [
            ("a", BackwardAreas::A),
            ("b", BackwardAreas::B),
            ("both", BackwardAreas::Both),
        ] {
            let c = resolved(&format!("[areas]\nbackward = \"{name}\"")).unwrap();
            assert_eq!(c.areas.as_ref().unwrap().backward, Some(want));
            assert_eq!(resolved(&c.to_toml()).unwrap(), c);
            assert_eq!(c.chain_spec(2, 2, 4).unwrap().backward_areas, want);
        }
    }

    #[test]
    fn impossible_combinations_are_refused_naming_the_key() {
        let cases = [
            ("[areas]\noracle = true", "areas.oracle"),
            ("[areas]\nforward_lesion_at = 3", "areas.forward_lesion_at"),
            (
                "[areas]\nforward = \"replace\"\nforward_lesion_at = 0",
                "areas.forward_lesion_at",
            ),
            (
                "[areas]\nforward = \"replace\"\noracle = true\nforward_lesion_at = 3",
                "areas.forward_lesion_at",
            ),
            (
                "[areas]\nforward = \"add\"\nforward_granule = 0",
                "areas.forward_granule",
            ),
            ("[areas]\ndelay = 100", "areas.delay"),
            ("[areas]\nhidden = 0", "areas.hidden"),
            (
                "model = \"crnn\"\n[areas]\nbackward = \"a\"",
                "`areas.backward` needs model = \"ccrnn\"",
            ),
            ("[areas]\nbackward = \"c\"", "areas.backward"),
            ("[areas]\nforward = \"sideways\"", "areas.forward"),
            ("[areas]\nspeed = 1", "speed"),
            ("task = \"captions\"\n[areas]", "caption task"),
            ("[areas]\n[lesion]\nolive_at = 3", "lesion.olive_at"),
            ("[areas]\n[record]\nprobe = 5", "record.probe"),
            ("[areas]\n[cerebellum]\nsilent = true", "cerebellum.silent"),
            ("[areas]\n[train]\nupdate = \"window\"", "train.update"),
            (
                "task = \"mnist\"\n[areas]\nforward = \"replace\"",
                "areas.forward_context",
            ),
        ];
        for (overlay, key) in cases {
            let e = resolved(overlay).expect_err(overlay);
            let text = format!("{e:#}");
            assert!(text.contains(key), "{overlay}: {text}");
        }
    }
}
