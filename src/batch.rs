//! A batch of sequences as the engine takes it: time-major inputs, targets, the cerebellum's
//! context, and for the caption task the image and words its input stage reads.

use crate::layers::word_input::Words;
use crate::loss::Target;

/// A batch of sequences, time-major.
#[derive(Clone, Debug)]
pub struct Batch<T> {
    pub batch: usize,
    pub steps: usize,
    /// `steps · batch × input`, row `t * batch + b`.
    pub inputs: Vec<T>,
    pub target: Target<T>,
    /// Context of each sample for a cerebellum with context input (`batch × context`).
    pub context: Option<Vec<T>>,
    /// The caption task: the image and words the model's input stage turns into the cortex's
    /// inputs (`inputs` is then empty).
    pub words: Option<Words<T>>,
}
