//! What a caption experiment adds after training ([`crate::job::spec::Figure::Captions`]): each
//! run's model captions the test images of its seed (greedy decoding, or beam search of
//! `captions.beam`), the captions are written in the COCO results format, scored against the
//! references by BLEU-1..4 and CIDEr-D as the COCO caption evaluation computes them, and
//! compared by caption length: the test images fall in short / medium / long bins by the mean
//! word count of their references (`captions.length_bins`), and each variant's mean CIDEr-D per
//! bin is compared with its reference variant's (the cRNN) as a normalised score
//! `(S_var − S_ref) / S_ref` per seed (positive: the variant captions better), mean ± SEM with
//! a paired t-test of the scores.
//!
//! Writes `results/<model>-seed<k>.json` (COCO results; the run's vocabulary is in its run
//! folder, `runs/<model>-seed<k>/vocab.json`, saved with its model), `captions.json` (every score),
//! `captions_by_length.png` and `.svg`, and `captions_examples.md` (generated captions next to
//! their references).

use crate::captions::score::{Scores, evaluate, write_results};
use crate::job::layout::{JobDir, create_dir};
use crate::job::records::FinishedRun;
use crate::job::spec::{Experiment, run_name};
use crate::plot::{self, Series};
use crate::stats::{PairedT, mean, paired_t_test, sem};
use crate::tasks::captions::{Captions, generate::generate, shared_set};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The bins' names.
const BINS: [&str; 3] = ["short", "medium", "long"];
/// Test images shown in the examples.
const EXAMPLES: usize = 6;

/// One run's scores on its seed's test images.
#[derive(Clone, Debug, Serialize)]
pub struct RunScores {
    pub model: String,
    pub seed: u64,
    pub bleu: [f64; 4],
    pub cider_d: f64,
    /// Mean per-image CIDEr-D in each length bin (`None`: no test image in the bin).
    pub cider_d_by_length: [Option<f64>; 3],
}

/// A variant's normalised CIDEr-D against its reference in one length bin.
#[derive(Clone, Debug, Serialize)]
pub struct ByLength {
    pub variant: String,
    pub reference: String,
    pub bin: String,
    pub seeds: Vec<u64>,
    pub values: Vec<f64>,
    pub mean: f64,
    pub sem: f64,
    /// Paired t-test of the variant's scores against the reference's.
    pub t_test: Option<PairedT>,
}

#[derive(Serialize)]
struct Report<'a> {
    length_bins: [usize; 2],
    beam: usize,
    runs: &'a [RunScores],
    by_length: &'a [ByLength],
}

/// Captions, scores and compares the finished runs of `exp` into `out`; returns the table.
pub fn report(exp: &Experiment, runs: &[FinishedRun], job: &JobDir) -> Result<String> {
    let c = &exp.base.captions;
    let mut scores = Vec::new();
    let mut examples = String::from("# Generated captions next to their references\n");
    let results_dir = job.report("results");
    create_dir(&results_dir)?;
    for &seed in &exp.seeds {
        let mut captions_of_seed = Vec::new();
        let mut shown = BTreeMap::new();
        for v in &exp.variants {
            let Some(run) = runs.iter().find(|r| r.seed == seed && r.label == v.label) else {
                continue;
            };
            // Each run's own task: its split, and the vocabulary its model's word ids mean.
            let config = exp.run_config(v, seed)?;
            let task = Captions::new(
                config.captions.clone(),
                shared_set(&config.captions)?,
                seed,
                config.eval_batch,
            )?;
            let name = run_name(&run.label, seed);
            let images = &task.test_images;
            let references = task.references(images);
            let c = &config.captions;
            let model = (run.model.one_area()).context("the caption task has one cortical area")?;
            let words = generate(model, &task.features(images), c.beam, c.max_generated);
            let hyps: BTreeMap<u64, String> = images
                .iter()
                .zip(&words)
                .map(|(im, w)| (task.data.images[im.index].id, task.vocab.decode(w)))
                .collect();
            write_results(&results_dir.join(format!("{name}.json")), &hyps)?;
            let s = evaluate(&references, &hyps)
                .with_context(|| format!("scoring the captions of {} seed {seed}", run.label))?;
            let bins: BTreeMap<u64, usize> = images
                .iter()
                .map(|im| {
                    let id = task.data.images[im.index].id;
                    (id, bin_of(mean_words(&task, im.index), c.length_bins))
                })
                .collect();
            scores.push(run_scores(&run.label, seed, &s, &bins));
            captions_of_seed.push((run.label.clone(), hyps));
            if shown.is_empty() {
                shown = references;
            }
        }
        if seed == exp.seeds[0] {
            examples.push_str(&example_table(&shown, &captions_of_seed));
        }
    }
    let by_length = compare_by_length(exp, &scores);
    let report = Report {
        length_bins: c.length_bins,
        beam: c.beam,
        runs: &scores,
        by_length: &by_length,
    };
    crate::data::write_atomically(
        &job.report("captions.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    crate::data::write_atomically(&job.report("captions_examples.md"), examples.as_bytes())?;
    plot_by_length(exp, &by_length, c.length_bins, job)?;
    Ok(table(exp, &scores, &by_length))
}

/// The mean number of words (training tokenisation) of an image's references.
fn mean_words(task: &Captions, index: usize) -> f64 {
    let captions = &task.data.images[index].captions;
    let words: usize = captions
        .iter()
        .map(|c| crate::captions::tokenize::tokenize(c).len())
        .sum();
    words as f64 / captions.len().max(1) as f64
}

/// The length bin (0 short, 1 medium, 2 long) of a mean word count.
fn bin_of(words: f64, bounds: [usize; 2]) -> usize {
    if words < bounds[0] as f64 {
        0
    } else if words < bounds[1] as f64 {
        1
    } else {
        2
    }
}

/// A run's scores, with its images' mean CIDEr-D in each length bin (`bins`: image id -> bin).
fn run_scores(model: &str, seed: u64, s: &Scores, bins: &BTreeMap<u64, usize>) -> RunScores {
    let mut by = [(0.0, 0usize); 3];
    for (id, &bin) in bins {
        if let Some(v) = s.per_image_cider_d.get(id) {
            by[bin].0 += v;
            by[bin].1 += 1;
        }
    }
    RunScores {
        model: model.to_string(),
        seed,
        bleu: s.bleu,
        cider_d: s.cider_d,
        cider_d_by_length: by.map(|(sum, n)| (n > 0).then(|| sum / n as f64)),
    }
}

/// Each variant with a reference (its `compare_to`, else the cRNN) against it, per length bin,
/// over the seeds both have.
fn compare_by_length(exp: &Experiment, scores: &[RunScores]) -> Vec<ByLength> {
    let find = |model: &str, seed: u64| scores.iter().find(|s| s.model == model && s.seed == seed);
    let mut out = Vec::new();
    for v in &exp.variants {
        let Some(reference) = exp.reference_of(v) else {
            continue;
        };
        for (bin, name) in BINS.iter().enumerate() {
            let (mut seeds, mut var, mut refs) = (Vec::new(), Vec::new(), Vec::new());
            for &seed in &exp.seeds {
                let pair = find(&v.label, seed).zip(find(reference, seed));
                // A reference scoring 0 in the bin has no normalised score (the seed is left out).
                if let Some((a, b)) = pair
                    && let (Some(x), Some(y)) = (a.cider_d_by_length[bin], b.cider_d_by_length[bin])
                    && y > 0.0
                {
                    seeds.push(seed);
                    var.push(x);
                    refs.push(y);
                }
            }
            if seeds.is_empty() {
                continue;
            }
            let values: Vec<f64> = var.iter().zip(&refs).map(|(x, y)| (x - y) / y).collect();
            out.push(ByLength {
                variant: v.label.clone(),
                reference: reference.to_string(),
                bin: name.to_string(),
                mean: mean(&values),
                sem: sem(&values),
                t_test: paired_t_test(&var, &refs),
                seeds,
                values,
            });
        }
    }
    out
}

fn plot_by_length(
    exp: &Experiment,
    by: &[ByLength],
    bounds: [usize; 2],
    job: &JobDir,
) -> Result<()> {
    let mut series: Vec<Series> = Vec::new();
    for b in by {
        let x = BINS.iter().position(|n| *n == b.bin).unwrap_or(0) as f64 + 1.0;
        let label = format!("{} vs {}", b.variant, b.reference);
        match series.iter_mut().find(|s| s.label == label) {
            Some(s) => {
                s.x.push(x);
                s.mean.push(b.mean);
                s.sem.push(b.sem);
            }
            None => series.push(Series {
                label,
                x: vec![x],
                mean: vec![b.mean],
                sem: vec![b.sem],
                mark: None,
            }),
        }
    }
    plot::curves(
        &job.report("captions_by_length"),
        &format!(
            "{}: normalised CIDEr-D by caption length, mean ± SEM over {} seeds",
            exp.name,
            exp.seeds.len()
        ),
        &format!(
            "caption length: 1 short (< {} words), 2 medium, 3 long (≥ {} words)",
            bounds[0], bounds[1]
        ),
        "(S_var − S_ref) / S_ref, CIDEr-D",
        &series,
        false,
    )
}

/// The first test images' references next to each variant's caption.
fn example_table(
    references: &BTreeMap<u64, Vec<String>>,
    captions: &[(String, BTreeMap<u64, String>)],
) -> String {
    let mut s = String::new();
    for (id, refs) in references.iter().take(EXAMPLES) {
        let _ = writeln!(s, "\n## image {id}\nreferences:");
        for r in refs {
            let _ = writeln!(s, "- {r}");
        }
        for (label, hyps) in captions {
            let _ = writeln!(
                s,
                "**{label}**: {}",
                hyps.get(id).map_or("", String::as_str)
            );
        }
    }
    s
}

/// Scores per variant (mean ± SEM over seeds) and the normalised CIDEr-D by length.
fn table(exp: &Experiment, scores: &[RunScores], by: &[ByLength]) -> String {
    let pm = |xs: &[f64]| format!("{:.3} ± {:.3}", mean(xs), sem(xs));
    let mut t = format!(
        "test captions ({} seeds): {:<10} {:>15} {:>15} {:>15}\n",
        exp.seeds.len(),
        "",
        "BLEU-1",
        "BLEU-4",
        "CIDEr-D"
    );
    for v in &exp.variants {
        let of: Vec<&RunScores> = scores.iter().filter(|s| s.model == v.label).collect();
        if of.is_empty() {
            continue;
        }
        let col = |f: &dyn Fn(&RunScores) -> f64| pm(&of.iter().map(|s| f(s)).collect::<Vec<_>>());
        let _ = writeln!(
            t,
            "  {:<34} {:>15} {:>15} {:>15}",
            v.label,
            col(&|s| s.bleu[0]),
            col(&|s| s.bleu[3]),
            col(&|s| s.cider_d)
        );
    }
    if !by.is_empty() {
        let _ = writeln!(
            t,
            "normalised CIDEr-D by caption length (positive: the variant captions better):"
        );
        for b in by {
            let p = b
                .t_test
                .as_ref()
                .map_or("-".to_string(), |t| format!("{:.4}", t.p));
            let _ = writeln!(
                t,
                "  {:<20} {:<7} {:>8.3} ± {:.3}  p {p}",
                format!("{} vs {}", b.variant, b.reference),
                b.bin,
                b.mean,
                b.sem
            );
        }
    }
    t
}
