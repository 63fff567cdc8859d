//! The word vocabulary, as the authors built it (build_vocab.py of yunjey's image captioning
//! tutorial): the specials `<pad>` = 0, `<start>` = 1, `<end>` = 2, `<unk>` = 3, then every word
//! seen at least `min_count` times (4 in the papers) in the training captions' tokens.
//!
//! Words follow the specials by count, most frequent first, ties in lexicographic order, so the
//! vocabulary is a function of the captions alone (not of their order). On disk it is a JSON
//! list of the words in id order, specials included.

use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::Path;

/// The special tokens, in id order.
pub const SPECIALS: [&str; 4] = [PAD, START, END, UNK];
pub const PAD: &str = "<pad>";
pub const START: &str = "<start>";
pub const END: &str = "<end>";
pub const UNK: &str = "<unk>";

/// Words and their ids.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocab {
    words: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Vocab {
    /// The vocabulary of tokenised captions: the specials, then every token seen at least
    /// `min_count` times (see the module doc for the order).
    pub fn build<'a>(captions: impl IntoIterator<Item = &'a [String]>, min_count: usize) -> Vocab {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for tokens in captions {
            for t in tokens {
                *counts.entry(t.as_str()).or_default() += 1;
            }
        }
        let mut kept: Vec<(&str, usize)> = counts
            .into_iter()
            .filter(|&(w, n)| n >= min_count && !SPECIALS.contains(&w))
            .collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let words = SPECIALS
            .iter()
            .copied()
            .chain(kept.into_iter().map(|(w, _)| w))
            .map(str::to_string)
            .collect();
        Self::from_words(words).expect("built words are unique and start with the specials")
    }

    /// A vocabulary from its words in id order; they must be unique and start with the specials.
    fn from_words(words: Vec<String>) -> Result<Vocab> {
        if words.len() < SPECIALS.len() || words[..SPECIALS.len()] != SPECIALS {
            bail!(
                "the first words must be the specials {SPECIALS:?}, found {:?}",
                &words[..words.len().min(SPECIALS.len())]
            );
        }
        if words.len() > u32::MAX as usize {
            bail!("{} words do not fit u32 ids", words.len());
        }
        let mut ids = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if let Some(first) = ids.insert(w.clone(), i as u32) {
                bail!("word {w:?} appears twice (ids {first} and {i})");
            }
        }
        Ok(Vocab { words, ids })
    }

    /// How many words, specials included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Never true: the specials are always there.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of `word` (`<unk>`'s if it is not in the vocabulary).
    pub fn id(&self, word: &str) -> u32 {
        self.ids.get(word).copied().unwrap_or(3)
    }

    /// The word of `id`, if there is one.
    pub fn word(&self, id: u32) -> Option<&str> {
        self.words.get(id as usize).map(String::as_str)
    }

    /// `<start>`, the ids of `tokens` (unknown words as `<unk>`), `<end>`.
    pub fn encode(&self, tokens: &[String]) -> Vec<u32> {
        std::iter::once(1)
            .chain(tokens.iter().map(|t| self.id(t)))
            .chain(std::iter::once(2))
            .collect()
    }

    /// The words of `ids` joined by spaces, up to the first `<end>`, without `<start>` and
    /// `<pad>`; an id outside the vocabulary reads as `<unk>`.
    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter()
            .take_while(|&&id| id != 2)
            .filter(|&&id| id > 1)
            .map(|&id| self.word(id).unwrap_or(UNK))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Writes the words in id order as a JSON list, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::data::write_atomically(path, &serde_json::to_vec(&self.words)?)
    }

    /// Reads a vocabulary written by [`Vocab::save`], checking it.
    pub fn load(path: &Path) -> Result<Vocab> {
        let text = crate::data::read_text_capped(path, crate::data::JSON_CAP)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let words: Vec<String> = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a JSON list of words", path.display()))?;
        Self::from_words(words)
            .with_context(|| format!("{} is not a ccdni vocabulary", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn keeps_frequent_words_after_the_specials_by_count_then_name() {
        let caps = [
            toks("a dog runs ."),
            toks("a cat runs ."),
            toks("a dog sits"),
        ];
        let v = Vocab::build(caps.iter().map(Vec::as_slice), 2);
        let words: Vec<&str> = (0..v.len() as u32).map(|i| v.word(i).unwrap()).collect();
        assert_eq!(
            words,
            [
                "<pad>", "<start>", "<end>", "<unk>", "a", ".", "dog", "runs"
            ]
        );
        assert_eq!((v.id("cat"), v.id("sits")), (3, 3));
        let reversed = Vocab::build(caps.iter().rev().map(Vec::as_slice), 2);
        assert_eq!(reversed, v, "the order of the captions does not matter");
    }

    #[test]
    fn encode_and_decode_round_trip_known_words() {
        let caps = [toks("a dog runs")];
        let v = Vocab::build(caps.iter().map(Vec::as_slice), 1);
        let ids = v.encode(&toks("a cat runs"));
        assert_eq!(ids, [1, v.id("a"), 3, v.id("runs"), 2]);
        assert_eq!(v.decode(&ids), "a <unk> runs");
        assert_eq!(v.decode(&[1, v.id("dog"), 0, 2, v.id("a")]), "dog");
        assert_eq!(v.decode(&[v.id("a"), 999]), "a <unk>");
    }

    #[test]
    fn save_and_load_round_trip_and_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vocab.json");
        let caps = [toks("x y z")];
        let v = Vocab::build(caps.iter().map(Vec::as_slice), 1);
        v.save(&path).unwrap();
        assert_eq!(Vocab::load(&path).unwrap(), v);
        for (text, want) in [
            (
                r#"["<pad>", "<start>", "<end>", "<unk>", "a", "a"]"#,
                "word \"a\" appears twice",
            ),
            (
                r#"["<pad>", "<end>", "<start>", "<unk>"]"#,
                "the first words must be",
            ),
            (r#"["<pad>"]"#, "the first words must be"),
            (r#"["<pad>", 3]"#, "not a JSON list of words"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = format!("{:#}", Vocab::load(&path).unwrap_err());
            assert!(e.contains(want) && e.contains("vocab.json"), "{e}");
        }
    }
}
