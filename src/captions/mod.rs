//! The caption-generation task's language side: COCO-format data, image features, the
//! vocabulary, a built-in synthetic caption set, and the COCO caption scores (BLEU, CIDEr-D).
//! The task that trains on it is [`crate::tasks::captions`].

pub mod coco;
pub mod features;
pub mod set;
pub mod synthetic;
pub mod tokenize;
pub mod vocab;

pub use set::{CaptionImage, CaptionSet, join};
