//! The caption task's settings (`[captions]`), the papers' where they have one.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where the captions come from, how they are split and cut, and the input stage's sizes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptionsConfig {
    /// COCO-format caption annotations (`captions_train2014.json`); absent: the built-in
    /// synthetic set.
    pub data: Option<PathBuf>,
    /// The images' features: `.npy` (float32, one row per image, with `image_ids`) or one
    /// `.safetensors` file (`features` and `image_ids`).
    pub features: Option<PathBuf>,
    /// The image id of each feature row (`.npy` of integers or a `.json` list), for `.npy`
    /// features.
    pub image_ids: Option<PathBuf>,
    /// Built-in set: scenes (images), each with several reference captions.
    pub scenes: usize,
    /// Built-in set: size of the image feature vector.
    pub feature_size: usize,
    /// Built-in set: standard deviation of the noise added to each feature.
    pub noise: f64,
    /// Built-in set: the seed of the scenes (the same data for every run seed; the split
    /// follows the run seed).
    pub data_seed: u64,
    /// Fractions of the images held out for validation and for testing.
    pub validation_fraction: f64,
    pub test_fraction: f64,
    /// Vocabulary: words seen at least this often in the training captions (papers: 4).
    pub min_count: usize,
    /// Training captions with this many words (after tokenisation, `<start>`/`<end>` not
    /// counted) at least and at most (the authors: 11 to 15); evaluation uses every caption.
    pub min_words: usize,
    pub max_words: usize,
    /// Embedding size D: the image map's output and each word's vector (papers: 256).
    pub embedding: usize,
    /// Dropout on every step's input vector while training (papers: 0.5).
    pub dropout: f64,
    /// A trained caption model (`models/<run>.safetensors`) whose image map this run takes and
    /// keeps frozen, as the authors' runs take a pretrained, frozen encoder projection; absent:
    /// the image map starts at random and learns.
    pub image_map_from: Option<PathBuf>,
    /// Beam width of the generated captions (1: greedy decoding, the papers').
    pub beam: usize,
    /// Words generated at most per caption (papers: 20).
    pub max_generated: usize,
    /// Caption length bins for the scores by length: short below the first bound, medium below
    /// the second, long from it (words of the mean reference caption).
    pub length_bins: [usize; 2],
}

impl Default for CaptionsConfig {
    fn default() -> Self {
        CaptionsConfig {
            data: None,
            features: None,
            image_ids: None,
            scenes: 2000,
            feature_size: 256,
            noise: 0.1,
            data_seed: 0,
            validation_fraction: 0.1,
            test_fraction: 0.1,
            min_count: 4,
            min_words: 1,
            max_words: 40,
            embedding: 256,
            dropout: 0.5,
            image_map_from: None,
            beam: 1,
            max_generated: 20,
            length_bins: [9, 13],
        }
    }
}

impl CaptionsConfig {
    /// Rejects impossible settings, naming the setting.
    pub fn validate(&self) -> Result<()> {
        let c = self;
        let positive = [
            ("captions.scenes", c.scenes),
            ("captions.feature_size", c.feature_size),
            ("captions.min_count", c.min_count),
            ("captions.embedding", c.embedding),
            ("captions.beam", c.beam),
            ("captions.max_generated", c.max_generated),
        ];
        for (name, v) in positive {
            if v == 0 {
                bail!("`{name}` must be at least 1 (got 0)");
            }
        }
        if c.min_words > c.max_words {
            bail!(
                "`captions.min_words` = {} is more than `captions.max_words` = {}: no training caption would be kept",
                c.min_words,
                c.max_words
            );
        }
        let fractions = [
            ("captions.validation_fraction", c.validation_fraction),
            ("captions.test_fraction", c.test_fraction),
        ];
        for (name, v) in fractions {
            if !(v > 0.0 && v < 1.0) {
                bail!("`{name}` must be a fraction of the images in (0, 1) (got {v})");
            }
        }
        if c.validation_fraction + c.test_fraction >= 1.0 {
            bail!(
                "`captions.validation_fraction` + `captions.test_fraction` leave no image to train on"
            );
        }
        if !(0.0..1.0).contains(&c.dropout) {
            bail!("`captions.dropout` must be in [0, 1) (got {})", c.dropout);
        }
        if !(c.noise.is_finite() && c.noise >= 0.0) {
            bail!(
                "`captions.noise` must be a finite number >= 0 (got {})",
                c.noise
            );
        }
        if c.length_bins[0] >= c.length_bins[1] {
            bail!(
                "`captions.length_bins` = {:?} must rise: short below the first bound, long from the second",
                c.length_bins
            );
        }
        Ok(())
    }

    /// Whether a training caption of `words` words is kept.
    pub fn keeps(&self, words: usize) -> bool {
        (self.min_words..=self.max_words).contains(&words)
    }
}
