//! `ccdni run` on the experiment files of experiments/, each at a tiny size: the run folder, the
//! figure's own outputs, and refusals before anything runs.

mod common;

use common::cli::*;
use std::path::Path;

/// Runs `experiments/<name>.toml` with 2 seeds, `epochs` epochs and small networks and data.
fn run_tiny(name: &str, epochs: &str) -> Scratch {
    let out = run_file(
        name,
        &[
            "--epochs",
            epochs,
            "--granule",
            "16",
            "--set",
            "reach.train_samples=100",
            "--set",
            "reach.validation_samples=40",
            "--set",
            "reach.test_samples=40",
        ],
    );
    for f in [
        "metrics.csv",
        "summary.json",
        "learning_curves.png",
        "experiment.toml",
    ] {
        assert!(out.join(f).exists(), "{name}: {f}");
    }
    out
}

/// Runs `experiments/<name>.toml` with 2 seeds and `args`, into a fresh folder.
fn run_file(name: &str, args: &[&str]) -> Scratch {
    let out = scratch(&format!("exp-{name}"));
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("experiments")
        .join(format!("{name}.toml"));
    let mut all = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--seeds",
        "2",
    ];
    all.extend_from_slice(args);
    let o = ccdni(&all);
    assert!(
        o.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_horizon_figures_plot_each_group_against_the_horizon() {
    for (name, groups) in [
        ("horizon-sweep", &["ccRNN"][..]),
        (
            "horizon-controls",
            &["ccRNN", "ccRNN no-inject-last", "silent cerebellum"][..],
        ),
    ] {
        let out = run_tiny(name, "2");
        let points = json(&out.join("figure.json"));
        let points = points.as_array().unwrap();
        assert_eq!(points.len(), 4 * groups.len(), "{name}");
        for g in groups {
            let xs: Vec<f64> = points
                .iter()
                .filter(|p| p["group"] == *g)
                .map(|p| p["x"].as_f64().unwrap())
                .collect();
            assert_eq!(xs, [1.0, 2.0, 5.0, 10.0], "{name} {g}");
        }
        assert!(out.join("figure_normalised_performance.png").exists());
        // Every comparison is also in summary.json, with its paired t-test.
        let summary = json(&out.join("summary.json"));
        assert_eq!(
            summary["comparisons"].as_array().unwrap().len(),
            points.len()
        );
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn the_lesion_figure_compares_before_and_after_each_lesion() {
    let out = run_tiny("lesions", "75");
    let fig = json(&out.join("figure.json"));
    let lesions = fig["lesions"].as_array().unwrap();
    assert_eq!(lesions.len(), 6);
    for l in lesions {
        assert_eq!(l["validation_error"]["before"].as_array().unwrap().len(), 2);
        assert_eq!(l["intact"][0], "ccRNN");
    }
    let epochs: Vec<u64> = fig["lesion_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, [25, 50, 75]);
    assert!(out.join("figure_lesion_effect.png").exists());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_measure_figures_write_learning_csv_and_plots() {
    for (name, population) in [
        ("alignment", "prediction/true_feedback"),
        ("representations", "granule_1"),
        ("sparse", "granule_0"),
    ] {
        let out = run_tiny(name, "2");
        let csv = std::fs::read_to_string(out.join("learning.csv")).unwrap();
        assert!(
            csv.lines()
                .any(|l| l.contains(&format!(",2,{population},"))),
            "{name}"
        );
        for stem in ["alignment-cosine", "population_correlation", "sparseness"] {
            assert!(out.join("learning").join(format!("{stem}.png")).exists());
        }
        if name == "sparse" {
            assert_eq!(json(&out.join("figure.json")).as_array().unwrap().len(), 6);
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn a_malformed_experiment_is_refused_before_anything_is_written() {
    let dir = scratch("exp-bad");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "name = \"bad\"\nseeds = [0]\n[[variants]]\nlabel = \"ccRNN\"\nmodel = \"ccrnn\"\nsettings = { lesion = { olive_at = 500 } }\n",
    )
    .unwrap();
    let out = dir.join("out");
    fails_with(
        ccdni(&[
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]),
        "bad.toml: variant `ccRNN`: `lesion.olive_at` = 500 must be an epoch between 1 and `epochs` = 100",
    );
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs a caption experiment file with 2 seeds, 1 epoch, a small built-in set and networks.
fn run_tiny_captions(name: &str) -> Scratch {
    run_file(
        name,
        &[
            "--epochs",
            "1",
            "--hidden",
            "16",
            "--granule",
            "16",
            "--set",
            "captions.embedding=16",
            "--set",
            "captions.scenes=150",
        ],
    )
}

#[test]
fn the_caption_figures_score_captions_by_length_and_plot_the_horizons() {
    let out = run_tiny_captions("captions");
    let report = json(&out.join("captions.json"));
    assert_eq!(report["runs"].as_array().unwrap().len(), 4 * 2);
    for run in report["runs"].as_array().unwrap() {
        let bleu = run["bleu"].as_array().unwrap();
        assert!(
            bleu.iter()
                .all(|b| (0.0..=1.0).contains(&b.as_f64().unwrap()))
        );
        assert!(run["cider_d"].as_f64().unwrap() >= 0.0);
    }
    // ccRNN and sparse ccRNN against the cRNN, in the bins that have test images.
    let by_length = report["by_length"].as_array().unwrap();
    assert!(!by_length.is_empty() && by_length.iter().all(|b| b["reference"] == "cRNN"));
    for f in [
        "results/cRNN-seed0.json",
        "results/sparse-ccRNN-seed1.json",
        "runs/cRNN-seed0/vocab.json",
        "runs/sparse-ccRNN-seed1/vocab.json",
        "captions_by_length.png",
        "captions_examples.md",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    // The results are in the COCO format, one caption per test image.
    let results = json(&out.join("results/ccRNN-seed0.json"));
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 15, "10% of 150 scenes");
    assert!(
        results
            .iter()
            .all(|r| r["image_id"].is_u64() && r["caption"].is_string())
    );
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        metrics
            .lines()
            .next()
            .unwrap()
            .contains("validation_bits_per_word")
    );

    let out = run_tiny_captions("captions-horizons");
    let points = json(&out.join("figure.json"));
    let xs: Vec<f64> = points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["x"].as_f64().unwrap())
        .collect();
    assert_eq!(xs, [2.0, 4.0, 8.0]);
}

#[test]
fn the_report_over_jobs_splits_the_gain_and_refuses_a_folder_without_a_job() {
    let job = run_tiny("what-the-cerebellum-learns", "2");
    let glance = scratch("glance");
    let o = ccdni(&[
        "report",
        job.to_str().unwrap(),
        "--out",
        glance.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout.matches("| reach | 2 |").count(), 2, "{stdout}");
    let parts = &json(&glance.join("glance.json"))[0]["all_epochs"];
    for part in ["total", "constant", "state"] {
        assert_eq!(parts[part]["values"].as_array().unwrap().len(), 2, "{part}");
    }
    for stem in ["glance", "glance_late"] {
        assert!(glance.join(format!("{stem}.png")).exists(), "{stem}");
    }
    let missing = glance.join("no-job");
    let o = ccdni(&[
        "report",
        missing.to_str().unwrap(),
        "--out",
        glance.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-job"));
    // A label the job does not have: the folder and the job's own variants are named.
    let o = ccdni(&[
        "report",
        job.to_str().unwrap(),
        "--constant",
        "no such variant",
        "--out",
        glance.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains(job.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("no variant `no such variant`"), "{stderr}");
    assert!(stderr.contains("cRNN, ccRNN, constant"), "{stderr}");
    // The same job twice, one label in two roles, a file for a job: refused, saying which.
    let refused = |args: &[&str], needle: &str| {
        let mut all = vec!["report"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--out", glance.to_str().unwrap()]);
        let o = ccdni(&all);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    let j = job.to_str().unwrap();
    refused(&[j, j], "is given twice");
    refused(&[j, "--constant", "cRNN"], "must be three variants");
    let file = glance.join("glance.json");
    refused(&[file.to_str().unwrap()], "it is a file, not a folder");
}
