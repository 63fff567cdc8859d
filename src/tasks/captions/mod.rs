//! Caption generation (the papers' cognitive task): the cortex, an LSTM, generates a caption
//! word by word from an image's feature vector, read through the model's input stage
//! ([`crate::layers::word_input`]): the image at step 0, then the previous word of the
//! reference caption (teacher forcing); the readout scores the next word at every step by
//! cross-entropy over the vocabulary. A caption of n words takes n + 2 steps: the targets are
//! `<start> w_1 .. w_n <end>`, the inputs the image and `<start> w_1 .. w_n`; the first window
//! of K steps takes the image and K - 1 words.
//!
//! Data: COCO-format annotations with image features, or the built-in synthetic set
//! ([`crate::captions::synthetic`]), split by image into training, validation and test images
//! by the run seed. The vocabulary comes from the training images' captions. Batches hold
//! captions of one length (no padding), as the authors' loader makes them: each epoch the
//! training captions of each length are shuffled and cut into batches, and the batches
//! shuffled. Validation and test sets hold every caption of their images, by length.

pub mod generate;
pub mod image_map;
mod settings;

pub use settings::CaptionsConfig;

use super::Task;
use crate::batch::Batch;
use crate::captions::CaptionSet;
use crate::captions::vocab::Vocab;
use crate::layers::word_input::Words;
use crate::loss::Target;
use crate::rng::Rng;
use anyhow::{Result, bail};
use image_map::ImageMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The ids of the vocabulary's special words ([`crate::captions::vocab`]: `<pad>`, `<start>`,
/// `<end>`, `<unk>` come first).
pub const START: u32 = 1;
pub const END: u32 = 2;
pub const UNK: u32 = 3;

/// Captions by length in steps, each an (image, caption) pair of the training images.
type ByLength = BTreeMap<usize, Vec<(usize, usize)>>;

/// An image of a split: its row in the data set and its captions as word ids
/// (`<start> .. <end>`), those outside the training length range included.
#[derive(Clone, Debug)]
pub struct SplitImage {
    pub index: usize,
    pub captions: Vec<Vec<u32>>,
}

/// The caption task of one run.
pub struct Captions {
    pub config: CaptionsConfig,
    pub data: Arc<CaptionSet>,
    pub vocab: Arc<Vocab>,
    pub train: Vec<SplitImage>,
    pub validation_images: Vec<SplitImage>,
    pub test_images: Vec<SplitImage>,
    /// Training captions by length in steps: (image, caption) pairs.
    by_length: ByLength,
    /// The pretrained image map of `config.image_map_from`, read and checked.
    pub image_map: Option<ImageMap>,
    validation: Vec<Batch<f32>>,
    test: Vec<Batch<f32>>,
    seed: u64,
}

impl Captions {
    /// The task over `data`, split by `seed`; the vocabulary from the training images'
    /// captions (words seen at least `config.min_count` times).
    pub fn new(
        config: CaptionsConfig,
        data: Arc<CaptionSet>,
        seed: u64,
        eval_batch: usize,
    ) -> Result<Self> {
        let (n_val, n_test) = held_out_counts(&config, data.images.len())?;
        let mut order: Vec<usize> = (0..data.images.len()).collect();
        Rng::stream(seed, "caption split").shuffle(&mut order);
        let tokens: Vec<Vec<Vec<String>>> = data
            .images
            .iter()
            .map(|im| {
                im.captions
                    .iter()
                    .map(|c| crate::captions::tokenize::tokenize(c))
                    .collect()
            })
            .collect();
        let train_idx = &order[n_val + n_test..];
        let vocab = Vocab::build(
            train_idx
                .iter()
                .flat_map(|&i| tokens[i].iter().map(|t| &t[..])),
            config.min_count,
        );
        if vocab.len() == crate::captions::vocab::SPECIALS.len() {
            let words = train_idx.iter().flat_map(|&i| tokens[i].iter().flatten());
            return Err(no_words(words, config.min_count));
        }
        let split = |idx: &[usize]| -> Vec<SplitImage> {
            let mut idx = idx.to_vec();
            idx.sort_unstable();
            idx.into_iter()
                .map(|i| SplitImage {
                    index: i,
                    captions: tokens[i]
                        .iter()
                        .filter(|t| !t.is_empty())
                        .map(|t| vocab.encode(t))
                        .collect(),
                })
                .collect()
        };
        let (validation_images, test_images, train) = (
            split(&order[..n_val]),
            split(&order[n_val..n_val + n_test]),
            split(train_idx),
        );
        let by_length = training_by_length(&config, &train)?;
        let image_map = match &config.image_map_from {
            Some(path) => Some(ImageMap::load(path, data.feature_size, config.embedding)?),
            None => None,
        };
        let mut task = Captions {
            image_map,
            validation: Vec::new(),
            test: Vec::new(),
            config,
            data,
            vocab: Arc::new(vocab),
            train,
            validation_images,
            test_images,
            by_length,
            seed,
        };
        task.validation = task.evaluation_batches(&task.validation_images, eval_batch);
        task.test = task.evaluation_batches(&task.test_images, eval_batch);
        Ok(task)
    }

    /// Every caption of `images`, in batches of one length of at most `size`.
    fn evaluation_batches(&self, images: &[SplitImage], size: usize) -> Vec<Batch<f32>> {
        let mut by_length: BTreeMap<usize, Vec<(&SplitImage, &[u32])>> = BTreeMap::new();
        for im in images {
            for c in &im.captions {
                by_length.entry(c.len()).or_default().push((im, c));
            }
        }
        by_length
            .values()
            .flat_map(|all| all.chunks(size.max(1)).map(|chunk| self.batch(chunk, None)))
            .collect()
    }

    /// A batch of captions of one length, with the dropout seed of a training batch.
    fn batch(&self, captions: &[(&SplitImage, &[u32])], dropout_seed: Option<u64>) -> Batch<f32> {
        let (b, steps) = (captions.len(), captions[0].1.len());
        let f = self.data.feature_size;
        let mut features = Vec::with_capacity(b * f);
        for (im, _) in captions {
            features.extend_from_slice(&self.data.images[im.index].feature);
        }
        // Time-major: the word read at step t (t ≥ 1) is word t - 1 of the caption; the target
        // at step t is word t.
        let tokens = (0..steps - 1)
            .flat_map(|t| captions.iter().map(move |(_, c)| c[t]))
            .collect();
        let labels = (0..steps)
            .flat_map(|t| captions.iter().map(move |(_, c)| c[t]))
            .collect();
        Batch {
            batch: b,
            steps,
            inputs: Vec::new(),
            target: Target::Words { labels },
            context: None,
            words: Some(Words {
                features,
                tokens,
                dropout_seed,
            }),
        }
    }

    /// The training batches of `epoch`: (length, first caption) of each, in training order,
    /// with that length's captions in this epoch's order.
    fn plan(&self, epoch: usize, size: usize) -> (Vec<(usize, usize)>, ByLength) {
        let mut rng = Rng::stream(self.seed, &format!("caption batches {epoch}"));
        let mut orders = self.by_length.clone();
        let mut plan = Vec::new();
        for (&len, captions) in orders.iter_mut() {
            rng.shuffle(captions);
            plan.extend((0..captions.len()).step_by(size.max(1)).map(|s| (len, s)));
        }
        rng.shuffle(&mut plan);
        (plan, orders)
    }

    /// The features of `images` (`images.len() × F`), for generation.
    pub fn features(&self, images: &[SplitImage]) -> Vec<f32> {
        images
            .iter()
            .flat_map(|im| self.data.images[im.index].feature.iter().copied())
            .collect()
    }

    /// The references of `images`: image id -> its captions as written.
    pub fn references(&self, images: &[SplitImage]) -> BTreeMap<u64, Vec<String>> {
        images
            .iter()
            .map(|im| {
                let image = &self.data.images[im.index];
                (image.id, image.captions.clone())
            })
            .collect()
    }
}

/// The refusal of a `captions.min_count` that keeps none of the training `words`.
fn no_words<'a>(words: impl Iterator<Item = &'a String>, min_count: usize) -> anyhow::Error {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for w in words {
        *counts.entry(w.as_str()).or_default() += 1;
    }
    let most = counts.values().max().copied().unwrap_or(0);
    anyhow::anyhow!(
        "`captions.min_count` = {min_count} leaves no word in the vocabulary: 0 of the {} distinct words of the training captions are seen that often (the most frequent is seen {most} times); choose a count of at most {most}",
        counts.len()
    )
}

impl Task for Captions {
    fn input_size(&self) -> usize {
        self.config.embedding
    }

    fn output_size(&self) -> usize {
        self.vocab.len()
    }

    /// The longest training caption's steps.
    fn steps(&self) -> usize {
        self.by_length.keys().last().copied().unwrap_or(0)
    }

    fn batches_per_epoch(&self, batch_size: usize) -> usize {
        self.by_length
            .values()
            .map(|c| c.len().div_ceil(batch_size.max(1)))
            .sum()
    }

    fn train_batch(&self, epoch: usize, index: usize, batch_size: usize) -> Batch<f32> {
        let (plan, orders) = self.plan(epoch, batch_size);
        let (len, start) = plan[index];
        let all = &orders[&len];
        let chosen: Vec<(&SplitImage, &[u32])> = all[start..(start + batch_size).min(all.len())]
            .iter()
            .map(|&(i, c)| (&self.train[i], &self.train[i].captions[c][..]))
            .collect();
        let seed = Rng::stream(self.seed, &format!("dropout {epoch} {index}")).next_u64();
        self.batch(&chosen, Some(seed))
    }

    fn validation(&self) -> &[Batch<f32>] {
        &self.validation
    }

    fn test(&self) -> &[Batch<f32>] {
        &self.test
    }

    fn words(&self) -> Option<crate::model::WordSpec> {
        Some(crate::model::WordSpec {
            features: self.data.feature_size,
            vocab: self.vocab.len(),
            dropout: self.config.dropout,
        })
    }

    fn vocabulary(&self) -> Option<&Vocab> {
        Some(&self.vocab)
    }

    fn frozen_image_map(&self) -> Option<&ImageMap> {
        self.image_map.as_ref()
    }
}

/// The caption set `config` names (COCO-format files, or the built-in set), read or generated
/// once per process and shared between runs.
pub fn shared_set(config: &CaptionsConfig) -> Result<Arc<CaptionSet>> {
    use std::sync::{Mutex, OnceLock};
    type Cache = Mutex<BTreeMap<String, Arc<CaptionSet>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = format!(
        "{:?}",
        (
            &config.data,
            &config.features,
            &config.image_ids,
            config.scenes,
            config.feature_size,
            config.noise.to_bits(),
            config.data_seed
        )
    );
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .expect("caption cache lock");
    if let Some(set) = cache.get(&key) {
        return Ok(set.clone());
    }
    let set = Arc::new(load_set(config)?);
    cache.insert(key, set.clone());
    Ok(set)
}

/// Reads the COCO-format files of `config`, or generates the built-in set.
fn load_set(config: &CaptionsConfig) -> Result<CaptionSet> {
    use crate::captions::{coco, features, synthetic};
    use anyhow::Context;
    match (&config.data, &config.features) {
        (None, None) => Ok(synthetic::generate(
            &synthetic::SyntheticSpec {
                scenes: config.scenes,
                feature_size: config.feature_size,
                noise: config.noise,
                ..synthetic::SyntheticSpec::default()
            },
            config.data_seed,
        )),
        (Some(data), Some(feats)) => {
            let annotations = coco::read_annotations(data)?;
            // Words for training (NLTK's tokeniser) and for scoring (PTB's, which drops
            // punctuation): a caption must have both.
            crate::captions::check_words(&annotations, data, crate::captions::tokenize::tokenize)?;
            crate::captions::check_words(&annotations, data, crate::captions::score::ptb_tokenize)?;
            let rows = features::read_features(feats, config.image_ids.as_deref())
                .with_context(|| format!("reading the image features {}", feats.display()))?;
            crate::captions::join(&annotations, data, &rows, feats)
        }
        (Some(_), None) => bail!(
            "`captions.data` names caption annotations but no image features: give them as `captions.features` (--features FILE)"
        ),
        (None, Some(_)) => bail!(
            "`captions.features` names image features but no caption annotations: give them as `captions.data` (--data FILE)"
        ),
    }
}

/// How many images the validation and test sets hold (`captions.validation_fraction`,
/// `captions.test_fraction` of `n`), refused unless both are non-empty and some remain to train.
fn held_out_counts(config: &CaptionsConfig, n: usize) -> Result<(usize, usize)> {
    let n_val = (config.validation_fraction * n as f64).round() as usize;
    let n_test = (config.test_fraction * n as f64).round() as usize;
    if n_val == 0 || n_test == 0 || n_val + n_test >= n {
        bail!(
            "the caption data has {n} images: too few to hold out {n_val} for validation and {n_test} for testing and still train (captions.validation_fraction, captions.test_fraction)"
        );
    }
    Ok((n_val, n_test))
}

/// The training captions the length limits keep, as (image, caption) pairs grouped by their
/// length in tokens; refused when none is kept.
fn training_by_length(config: &CaptionsConfig, train: &[SplitImage]) -> Result<ByLength> {
    let mut by_length = ByLength::new();
    for (i, im) in train.iter().enumerate() {
        for (c, caption) in im.captions.iter().enumerate() {
            if config.keeps(caption.len() - 2) {
                by_length.entry(caption.len()).or_default().push((i, c));
            }
        }
    }
    if by_length.is_empty() {
        bail!(
            "no training caption has between {} and {} words (captions.min_words, captions.max_words)",
            config.min_words,
            config.max_words
        );
    }
    Ok(by_length)
}

#[cfg(test)]
mod tests;
