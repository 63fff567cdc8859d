//! The forward-models experiment (issue 21, docs/model.md §7): reach with a cortex of two areas,
//! area B reading area A's activity d steps late, for d in {0, 1, 2, 4} and four variants: no
//! cerebellum, backward cerebellums only, the forward cerebellum only, both. Writes
//! `forward-models.csv` (one row per run: final test MSE, the forward cerebellum's prediction
//! error over epochs) and two figures (`forward-models.{png,svg}`: test MSE against the delay;
//! `forward-models-prediction.{png,svg}`: the forward cerebellum's prediction error over
//! learning), and prints mean ± SEM and paired t-tests against "none" at each delay.
//!
//! ```sh
//! cargo run --release --example forward_models [OUT_DIR] [EPOCHS] [SEEDS] [MODE]
//! # defaults: docs/img 100 3 replace; MODE: replace or add (the figures' stem gains -add)
//! ```
//!
//! Reach's own settings otherwise (docs/model.md §4.1): K = 1, Adam 1e-3, batch 50, λ = 0.1;
//! both areas LSTMs of 50 units; each backward cerebellum one layer of 200 granule cells; the
//! forward cerebellum 200 granule cells reading the delayed signal, B's state and the cue
//! (its context), in replace mode or add mode.

use anyhow::Result;
use ccdni::areas::{
    AreaSpec, BackwardAreas, Chain, ChainSpec, ChainTrainer, ForwardMode, ForwardSpec,
};
use ccdni::config::{Config, TaskKind};
use ccdni::cortex::CellKind;
use ccdni::model::CerebellumSpec;
use ccdni::plot::{Series, curves};
use ccdni::stats::{mean, paired_t_test, sem};
use std::fmt::Write as _;
use std::path::PathBuf;

const DELAYS: [usize; 4] = [0, 1, 2, 4];
const VARIANTS: [&str; 4] = ["none", "backward", "forward", "both"];

struct Outcome {
    test_mse: f64,
    /// The forward cerebellum's validation prediction error after each epoch.
    prediction: Vec<f64>,
}

fn spec(variant: &str, delay: usize, mode: ForwardMode, sizes: [usize; 3]) -> ChainSpec {
    let [input, output, context] = sizes;
    let area = AreaSpec {
        cell: CellKind::Lstm,
        hidden: 50,
    };
    let backward = matches!(variant, "backward" | "both");
    let forward = matches!(variant, "forward" | "both");
    ChainSpec {
        input,
        output,
        areas: [area, area],
        delay,
        backward_areas: BackwardAreas::Both,
        cerebellum: backward.then_some(CerebellumSpec {
            granule: 200,
            layers: 1,
            sparse_k: None,
            context: 0,
        }),
        forward: forward.then_some(ForwardSpec {
            granule: 200,
            mode,
            state_input: true,
            context,
            oracle: false,
        }),
    }
}

fn train(
    variant: &str,
    delay: usize,
    mode: ForwardMode,
    seed: u64,
    epochs: usize,
) -> Result<Outcome> {
    let mut config = Config::defaults(TaskKind::Reach);
    config.seed = seed;
    let task = config.build_task()?;
    let sizes = [task.input_size(), task.output_size(), task.context_size()];
    let s = spec(variant, delay, mode, sizes);
    let mut trainer = ChainTrainer::new(Chain::<f32>::new(&s, seed), config.train.clone());
    let n = task.batches_per_epoch(config.batch_size);
    let mut prediction = Vec::new();
    for epoch in 0..epochs {
        for i in 0..n {
            trainer.train_batch(&task.train_batch(epoch, i, config.batch_size));
        }
        let (_, err) = trainer.model.evaluate(task.validation(), true);
        prediction.push(err.unwrap_or(f64::NAN));
    }
    let (test, _) = trainer.model.evaluate(task.test(), true);
    Ok(Outcome {
        test_mse: test.mse.unwrap_or(f64::NAN),
        prediction,
    })
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(args.get(1).map_or("docs/img", String::as_str));
    let epochs: usize = args.get(2).map_or(Ok(100), |s| s.parse())?;
    let seeds: u64 = args.get(3).map_or(Ok(3), |s| s.parse())?;
    let (mode, stem) = match args.get(4).map(String::as_str) {
        None | Some("replace") => (ForwardMode::Replace, "forward-models"),
        Some("add") => (ForwardMode::Add, "forward-models-add"),
        Some(other) => anyhow::bail!("MODE is `replace` or `add`, not `{other}`"),
    };
    std::fs::create_dir_all(&out)?;
    let mut csv = String::from("variant,delay,seed,test_mse,prediction_error_by_epoch\n");
    // results[variant][delay] = per-seed outcomes
    let mut results: Vec<Vec<Vec<Outcome>>> = Vec::new();
    for v in VARIANTS {
        let mut per_delay = Vec::new();
        for d in DELAYS {
            let mut runs = Vec::new();
            for seed in 1..=seeds {
                let o = train(v, d, mode, seed, epochs)?;
                let curve: Vec<String> = o.prediction.iter().map(|e| format!("{e:.6}")).collect();
                writeln!(csv, "{v},{d},{seed},{:.6},{}", o.test_mse, curve.join(" "))?;
                eprintln!("{v} d={d} seed={seed}: test MSE {:.4}", o.test_mse);
                runs.push(o);
            }
            per_delay.push(runs);
        }
        results.push(per_delay);
    }
    std::fs::write(out.join(format!("{stem}.csv")), csv)?;
    let mse =
        |v: usize, d: usize| -> Vec<f64> { results[v][d].iter().map(|o| o.test_mse).collect() };
    let x: Vec<f64> = DELAYS.iter().map(|&d| d as f64).collect();
    let series: Vec<Series> = (0..VARIANTS.len())
        .map(|v| Series {
            label: VARIANTS[v].to_string(),
            x: x.clone(),
            mean: (0..DELAYS.len()).map(|d| mean(&mse(v, d))).collect(),
            sem: (0..DELAYS.len()).map(|d| sem(&mse(v, d))).collect(),
            mark: None,
        })
        .collect();
    let title = format!(
        "Reach with two areas: test MSE against the delay ({seeds} seeds, {epochs} epochs)"
    );
    curves(
        &out.join(stem),
        &title,
        "delay d (steps)",
        "test MSE",
        &series,
        true,
    )?;
    let prediction: Vec<Series> = [2usize, 3]
        .iter()
        .flat_map(|&v| (1..DELAYS.len()).map(move |d| (v, d)))
        .map(|(v, d)| {
            let per_epoch: Vec<Vec<f64>> = (0..epochs)
                .map(|e| results[v][d].iter().map(|o| o.prediction[e]).collect())
                .collect();
            Series {
                label: format!("{} d={}", VARIANTS[v], DELAYS[d]),
                x: (1..=epochs).map(|e| e as f64).collect(),
                mean: per_epoch.iter().map(|s| mean(s)).collect(),
                sem: per_epoch.iter().map(|s| sem(s)).collect(),
                mark: None,
            }
        })
        .collect();
    curves(
        &out.join(format!("{stem}-prediction")),
        &format!("Forward cerebellum ({mode:?}): validation prediction error of B's input"),
        "epoch",
        "MSE per value against h^A_t",
        &prediction,
        true,
    )?;
    println!("variant  delay  test MSE (mean ± SEM)  vs none: mean diff, t, p");
    for (v, name) in VARIANTS.iter().enumerate() {
        for (d, delay) in DELAYS.iter().enumerate() {
            let (a, none) = (mse(v, d), mse(0, d));
            let test = paired_t_test(&a, &none)
                .filter(|_| v > 0)
                .map_or(String::new(), |t| {
                    format!(
                        "{:+.3} ± {:.3}, t = {:.2}, p = {:.3}",
                        t.mean_diff, t.sem_diff, t.t, t.p
                    )
                });
            println!(
                "{name:8} {delay:5}  {:.3} ± {:.3}  {test}",
                mean(&a),
                sem(&a)
            );
        }
    }
    Ok(())
}
