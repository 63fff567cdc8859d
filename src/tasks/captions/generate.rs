//! Caption generation from a trained caption model: the image is the first input, then each
//! step reads the word chosen at the step before, until `<end>` or `max_words` words (the
//! papers: 20). Beam search keeps the `width` most probable word sequences (summed
//! log-probabilities) at every step; width 1 is greedy decoding (the argmax word each step, as
//! the authors' `sample` does). Like evaluation, generation uses the cortex alone: no
//! truncation, no cerebellum, no dropout.
//!
//! Legend: N = images in a chunk, W = beam width, D = embedding size, V = vocabulary.

use crate::layers::word_input::WordInput;
use crate::model::Model;
use crate::tasks::captions::{END, START};

/// Images decoded together (bounds the memory of a chunk's traces).
const CHUNK: usize = 64;

/// The word ids of the caption generated for each image of `features` (`n × F`), without
/// `<start>` and `<end>`.
pub fn generate(
    model: &Model<f32>,
    features: &[f32],
    width: usize,
    max_words: usize,
) -> Vec<Vec<u32>> {
    let input = model
        .words
        .as_ref()
        .expect("a caption model has an input stage");
    let f = input.image.inputs;
    features
        .chunks(CHUNK * f)
        .flat_map(|chunk| beam_search(model, input, chunk, width.max(1), max_words))
        .collect()
}

/// One beam of one image: its words so far, their summed log-probability, whether it ended.
#[derive(Clone, Debug)]
struct Beam {
    words: Vec<u32>,
    score: f64,
    ended: bool,
}

fn beam_search(
    model: &Model<f32>,
    input: &WordInput,
    features: &[f32],
    width: usize,
    max_words: usize,
) -> Vec<Vec<u32>> {
    let (d, v) = (input.size(), model.readout.outputs);
    let n = features.len() / input.image.inputs;
    let rows = n * width;
    let p = &model.params;
    let mut tr = model.cortex.trace::<f32>(rows, max_words.max(1));
    tr.zero_initial_state();
    // Step 0 reads the image: every beam of an image starts from the same projection.
    let mut projected = vec![0.0; n * d];
    input.image.forward(p, features, &mut projected, false);
    let mut x = vec![0.0; max_words.max(1) * rows * d];
    for (r, row) in x[..rows * d].chunks_exact_mut(d).enumerate() {
        row.copy_from_slice(&projected[(r / width) * d..(r / width + 1) * d]);
    }
    let mut beams = first_beams(rows, width);
    let mut logits = vec![0.0f32; rows * v];
    let state = model.cortex.state_size();
    let mut s = vec![0.0f32; rows * state];
    let mut reordered = s.clone();
    for t in 0..max_words {
        model.cortex.forward(p, &x, &mut tr, t, t + 1);
        model
            .readout
            .forward(p, tr.outputs(t, t + 1), &mut logits, false);
        let parents;
        (beams, parents) = next_beams(&beams, &logits, v, width);
        // The chosen beams continue from their parents' states, reading their last word.
        tr.read_state(t + 1, &mut s);
        for (r, &parent) in parents.iter().enumerate() {
            reordered[r * state..(r + 1) * state]
                .copy_from_slice(&s[parent * state..(parent + 1) * state]);
        }
        tr.write_state(t + 1, &reordered);
        if beams.iter().all(|b| b.ended) || t + 1 == max_words {
            break;
        }
        let last: Vec<u32> = beams
            .iter()
            .map(|b| *b.words.last().unwrap_or(&END))
            .collect();
        let next_x = &mut x[(t + 1) * rows * d..(t + 2) * rows * d];
        input.embedding.forward(p, &last, next_x);
    }
    beams
        .chunks_exact(width)
        .map(|own| {
            let top = own
                .iter()
                .max_by(|a, b| a.score.total_cmp(&b.score))
                .expect("a beam per image");
            top.words
                .iter()
                .copied()
                .filter(|&w| w != START && w != END)
                .collect()
        })
        .collect()
}

/// The beams before the first word, `width` per image: at first only beam 0 of each image is
/// live, so the others cannot duplicate it.
fn first_beams(rows: usize, width: usize) -> Vec<Beam> {
    (0..rows)
        .map(|r| Beam {
            words: Vec::new(),
            score: if r % width == 0 {
                0.0
            } else {
                f64::NEG_INFINITY
            },
            ended: false,
        })
        .collect()
}

/// One step of the search over all images: each image's `width` best continuations
/// ([`best`]) and, for each, the row of the beam it continues (its parent).
fn next_beams(beams: &[Beam], logits: &[f32], v: usize, width: usize) -> (Vec<Beam>, Vec<usize>) {
    let mut next = Vec::with_capacity(beams.len());
    let mut parents = Vec::with_capacity(beams.len());
    for (image, own) in beams.chunks_exact(width).enumerate() {
        let start = image * width;
        let z = &logits[start * v..(start + width) * v];
        for (parent, beam) in best(own, z, v, width) {
            parents.push(start + parent);
            next.push(beam);
        }
    }
    (next, parents)
}

/// The `width` best continuations of an image's beams (with the index of the beam each
/// continues), from the logits of their last step (`width × V`): an ended beam continues as it
/// is, a live one with every word, scored by its summed log-probability. Ties go to the lower
/// beam, then the lower word id.
fn best(beams: &[Beam], logits: &[f32], v: usize, width: usize) -> Vec<(usize, Beam)> {
    let mut candidates: Vec<(f64, usize, u32)> = Vec::new();
    for (i, (beam, z)) in beams.iter().zip(logits.chunks_exact(v)).enumerate() {
        if beam.score == f64::NEG_INFINITY {
            continue;
        }
        if beam.ended {
            candidates.push((beam.score, i, END));
            continue;
        }
        let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let log_sum = z.iter().map(|&l| (l as f64 - m).exp()).sum::<f64>().ln() + m;
        candidates.extend(
            z.iter()
                .enumerate()
                .map(|(w, &l)| (beam.score + l as f64 - log_sum, i, w as u32)),
        );
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut chosen: Vec<(usize, Beam)> = candidates
        .into_iter()
        .take(width)
        .map(|(score, i, w)| {
            let parent = &beams[i];
            let mut words = parent.words.clone();
            if !parent.ended {
                words.push(w);
            }
            let ended = parent.ended || w == END;
            (
                i,
                Beam {
                    words,
                    score,
                    ended,
                },
            )
        })
        .collect();
    // Fewer candidates than the width (the first step of a width larger than V): dead beams.
    while chosen.len() < width {
        chosen.push((
            0,
            Beam {
                words: Vec::new(),
                score: f64::NEG_INFINITY,
                ended: true,
            },
        ));
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cortex::CellKind;
    use crate::model::{ModelSpec, WordSpec};

    const V: usize = 4;
    const F: usize = 3;

    /// A small random caption model whose words are <pad>, <start>, <end> and one more.
    fn model(seed: u64) -> Model<f32> {
        let spec = ModelSpec {
            cell: CellKind::Lstm,
            input: 3,
            hidden: 4,
            output: V,
            cerebellum: None,
            words: Some(WordSpec {
                features: F,
                vocab: V,
                dropout: 0.0,
            }),
        };
        let mut m = Model::new(&spec, seed);
        // Larger weights: sharper, more varied word choices.
        m.params.iter_mut().for_each(|p| *p *= 3.0);
        m
    }

    fn features(n: usize) -> Vec<f32> {
        crate::layers::gradcheck::values(n * F, 9, 2.0)
            .into_iter()
            .map(|v| v as f32)
            .collect()
    }

    /// The log-probability of each word after `words`, recomputed from scratch over the whole
    /// prefix (the model's own evaluation path).
    fn next_log_probs(m: &Model<f32>, feature: &[f32], words: &[u32]) -> Vec<f64> {
        let input = m.words.as_ref().unwrap();
        let steps = words.len() + 1;
        let batch = crate::batch::Batch {
            batch: 1,
            steps,
            inputs: Vec::new(),
            target: crate::loss::Target::Words {
                labels: vec![0; steps],
            },
            context: None,
            words: Some(crate::layers::word_input::Words {
                features: feature.to_vec(),
                tokens: words.to_vec(),
                dropout_seed: None,
            }),
        };
        let mut x = Vec::new();
        let x = m.inputs(&batch, &mut x);
        assert_eq!(x.len(), steps * input.size());
        let y = m.predict(x, steps, 1);
        let p = crate::loss::softmax(&y[(steps - 1) * V..]);
        p.into_iter().map(f64::ln).collect()
    }

    #[test]
    fn width_one_is_greedy_decoding() {
        for seed in 0..6 {
            let m = model(seed);
            let f = features(3);
            let got = generate(&m, &f, 1, 6);
            for (i, caption) in got.iter().enumerate() {
                let feature = &f[i * F..(i + 1) * F];
                let mut words = Vec::new();
                for _ in 0..6 {
                    let lp = next_log_probs(&m, feature, &words);
                    let w = (0..V)
                        .max_by(|&a, &b| lp[a].total_cmp(&lp[b]).then(b.cmp(&a)))
                        .unwrap() as u32;
                    words.push(w);
                    if w == END {
                        break;
                    }
                }
                let want: Vec<u32> = words
                    .into_iter()
                    .filter(|&w| w != START && w != END)
                    .collect();
                assert_eq!(caption, &want, "seed {seed}, image {i}");
            }
        }
    }

    #[test]
    fn a_beam_as_wide_as_every_sequence_finds_the_most_probable_one() {
        let max = 3;
        for seed in 0..4 {
            let m = model(seed);
            let f = features(2);
            let got = generate(&m, &f, V.pow(max as u32), max);
            for (i, caption) in got.iter().enumerate() {
                let feature = &f[i * F..(i + 1) * F];
                // Every sequence of up to `max` words, ended by <end> or by the limit.
                let mut best = (f64::NEG_INFINITY, Vec::new());
                let mut stack = vec![(Vec::<u32>::new(), 0.0)];
                while let Some((words, score)) = stack.pop() {
                    let ended = words.last() == Some(&END) || words.len() == max;
                    if ended {
                        if score > best.0 + 1e-9 {
                            best = (score, words);
                        }
                        continue;
                    }
                    let lp = next_log_probs(&m, feature, &words);
                    for w in 0..V as u32 {
                        let mut next = words.clone();
                        next.push(w);
                        stack.push((next, score + lp[w as usize]));
                    }
                }
                let want: Vec<u32> = best
                    .1
                    .into_iter()
                    .filter(|&w| w != START && w != END)
                    .collect();
                assert_eq!(caption, &want, "seed {seed}, image {i}");
            }
        }
    }
}
