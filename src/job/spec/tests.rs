use super::file::{Size, builtin, builtin_names, load_stored, parse, read, store};
use super::*;
use crate::config::{Overrides, TaskKind};
use std::path::Path;

fn repo_file(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("experiments")
        .join(name)
}

/// The experiment of a file's text as written (no papers' size, no flags).
fn load_text(name: &str, text: &str) -> Result<Experiment> {
    parse(text, &format!("{name}.toml"))?.experiment(Size::default(), as_written)
}

fn load(path: &Path) -> Result<Experiment> {
    read(path)?.experiment(Size::default(), as_written)
}

/// The base settings as the file writes them.
fn as_written(t: &toml::Table) -> Result<Config> {
    Overrides::default().resolve(TaskKind::Reach, t)
}

const GOOD: &str = r#"
name = "tiny"
seeds = [3, 4]
[settings]
task = "reach"
epochs = 5
[[variants]]
label = "cRNN"
model = "crnn"
[[variants]]
label = "ccRNN lesioned"
model = "ccrnn"
horizon = 2
settings = { lesion = { olive_at = 4 }, cerebellum = { sparse_k = 4 } }
"#;

fn experiment(variants: Vec<Variant>, seeds: Vec<u64>) -> Experiment {
    Experiment {
        name: "dup".into(),
        seeds,
        variants,
        base: Config::defaults(TaskKind::Reach),
        figure: None,
    }
}

fn crnn_and_ccrnn() -> Vec<Variant> {
    vec![
        Variant::new("cRNN", ModelKind::CRnn),
        Variant::new("ccRNN", ModelKind::CcRnn),
    ]
}

#[test]
fn every_file_in_experiments_loads_and_is_built_in() {
    let mut names: Vec<String> = std::fs::read_dir(repo_file(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    let mut built_in: Vec<String> = builtin_names().map(|n| format!("{n}.toml")).collect();
    built_in.sort();
    assert_eq!(names, built_in, "every file is compiled in, and no other");
    for n in &names {
        let exp = load(&repo_file(n)).unwrap_or_else(|e| panic!("{n}: {e:#}"));
        assert!(!exp.seeds.is_empty());
        let text = std::fs::read_to_string(repo_file(n)).unwrap();
        assert_eq!(builtin(n.trim_end_matches(".toml")), Some(text.as_str()));
    }
}

#[test]
fn a_built_in_experiment_is_found_by_its_bare_name_when_there_is_no_such_file() {
    let built_in = read(Path::new("lesions")).unwrap();
    assert_eq!(built_in.source, "built-in lesions");
    assert_eq!(
        read(Path::new("lesions.toml")).unwrap().name,
        load(&repo_file("lesions.toml")).unwrap().name
    );
    // A path that names no file is an error, not the built-in of its stem.
    let dir = tempfile::tempdir().unwrap();
    let msg = format!("{:#}", load(&dir.path().join("lesions.toml")).unwrap_err());
    assert!(
        msg.contains("does not exist") && msg.contains("`ccdni run lesions` runs the built-in"),
        "{msg}"
    );
    let msg = format!("{:#}", load(Path::new("no-such-experiment")).unwrap_err());
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(msg.contains("reach, mnist"), "{msg}");
    let msg = format!("{:#}", load(dir.path()).unwrap_err());
    assert!(msg.contains("is not a file"), "{msg}");
}

#[test]
fn the_reach_file_is_the_main_job() {
    let exp = load(&repo_file("reach.toml")).unwrap();
    let runs: Vec<(String, ModelKind, usize)> = exp
        .runs()
        .unwrap()
        .into_iter()
        .filter(|r| r.seed() == 0)
        .map(|r| (r.label, r.config.model, r.config.train.horizon))
        .collect();
    let want = [
        ("cRNN", ModelKind::CRnn, 1),
        ("ccRNN", ModelKind::CcRnn, 1),
        ("BPTT", ModelKind::CRnn, 10),
    ];
    assert_eq!(runs.len(), 3);
    for (got, want) in runs.iter().zip(want) {
        assert_eq!((got.0.as_str(), got.1, got.2), want);
    }
    assert_eq!((exp.seeds.len(), exp.base.test_every), (4, 10));
}

#[test]
fn a_full_horizon_follows_the_sequence_length() {
    let text = GOOD.replace("horizon = 2", "horizon = \"full\"");
    let exp = load_text("full", &text).unwrap();
    assert_eq!(
        exp.run_config(&exp.variants[1], 3).unwrap().train.horizon,
        10
    );
    let mut o = Overrides::default();
    o.set_text("reach.steps=14").unwrap();
    let exp = parse(&text, "full")
        .unwrap()
        .experiment(Size::default(), |t| o.resolve(TaskKind::Reach, t))
        .unwrap();
    assert_eq!(
        exp.run_config(&exp.variants[1], 3).unwrap().train.horizon,
        14
    );
    let msg = format!(
        "{:#}",
        load_text("bad", &GOOD.replace("horizon = 2", "horizon = \"half\"")).unwrap_err()
    );
    assert!(
        msg.contains("expected a number of steps or \"full\""),
        "{msg}"
    );
}

#[test]
fn variant_settings_lie_over_the_base() {
    let exp = load_text("good", GOOD).unwrap();
    assert_eq!(exp.seeds, [3, 4]);
    let c = exp.run_config(&exp.variants[1], 4).unwrap();
    assert_eq!((c.seed, c.train.horizon, c.epochs), (4, 2, 5));
    assert_eq!(
        (c.lesion.olive_at, c.cerebellum.sparse_k),
        (Some(4), Some(4))
    );
    let plain = exp.run_config(&exp.variants[0], 3).unwrap();
    assert_eq!((plain.lesion.olive_at, plain.train.horizon), (None, 1));
    let names: Vec<String> = exp.runs().unwrap().iter().map(RunSpec::name).collect();
    assert_eq!(
        names,
        [
            "cRNN-seed3",
            "cRNN-seed4",
            "ccRNN-lesioned-seed3",
            "ccRNN-lesioned-seed4"
        ]
    );
}

#[test]
fn the_papers_size_the_first_seed_and_a_seed_count_replace_the_files() {
    let text = format!("{GOOD}\n[papers]\nseeds = 10\nsettings = {{ epochs = 100 }}\n");
    let f = parse(&text, "papers.toml").unwrap();
    let sized = |papers, first_seed, seeds| {
        let size = Size {
            papers,
            first_seed,
            seeds,
        };
        f.experiment(size, as_written)
    };
    let exp = sized(true, None, None).unwrap();
    assert_eq!(
        (exp.seeds.len(), exp.seeds[0], exp.base.epochs),
        (10, 3, 100)
    );
    let exp = sized(false, None, Some(2)).unwrap();
    assert_eq!((exp.seeds, exp.base.epochs), (vec![3, 4], 5));
    let exp = sized(false, Some(7), None).unwrap();
    assert_eq!(exp.seeds, [7, 8]);
    let msg = format!("{:#}", sized(false, None, Some(0)).unwrap_err());
    assert!(msg.contains("--seeds must be at least 1"), "{msg}");
}

#[test]
fn malformed_files_are_refused_naming_the_file_and_what_is_wrong() {
    let cases = [
        (
            "unknown-key",
            GOOD.replace("name = \"tiny\"", "name = \"tiny\"\nsedes = [1]"),
            &["unknown-key.toml", "line 3", "unknown field `sedes`"][..],
        ),
        (
            "unknown-variant-key",
            GOOD.replace("horizon = 2", "horizon = 2\nhorizn = 3"),
            &["line 14", "unknown field `horizn`"][..],
        ),
        (
            "no-model",
            GOOD.replace("model = \"crnn\"\n", ""),
            &["no-model.toml", "missing field `model`"][..],
        ),
        (
            "late-lesion",
            GOOD.replace("olive_at = 4", "olive_at = 9"),
            &[
                "late-lesion.toml",
                "variant `ccRNN lesioned`",
                "`lesion.olive_at` = 9 must be an epoch between 1 and `epochs` = 5",
            ][..],
        ),
        (
            "empty-seeds",
            GOOD.replace("seeds = [3, 4]", "seeds = []"),
            &["empty-seeds.toml", "`seeds` is empty"][..],
        ),
        (
            "unknown-setting",
            GOOD.replace("sparse_k = 4", "sparse = 4"),
            &[
                "settings of variant `ccRNN lesioned`",
                "unknown field `sparse`",
            ][..],
        ),
        (
            "unknown-reference",
            GOOD.replace("horizon = 2", "horizon = 2\ncompare_to = \"BPTT\""),
            &["compared with `BPTT`, which is not a variant"][..],
        ),
        (
            "unknown-second-reference",
            GOOD.replace("horizon = 2", "horizon = 2\nalso_compare_to = \"BPTT\""),
            &["compared with `BPTT`, which is not a variant"][..],
        ),
        (
            "compared-epochs-differ",
            GOOD.replace("olive_at = 4 }", "olive_at = 4 }, epochs = 6"),
            &["`ccRNN lesioned` (6 epochs) is compared with `cRNN` (5 epochs)"][..],
        ),
    ];
    for (name, text, needles) in cases {
        let msg = format!("{:#}", load_text(name, &text).unwrap_err());
        for n in needles {
            assert!(msg.contains(n), "{name}: `{n}` not in: {msg}");
        }
    }
}

#[test]
fn duplicate_labels_and_seeds_and_labels_a_csv_cannot_hold_are_refused() {
    experiment(crnn_and_ccrnn(), vec![0, 1])
        .check()
        .expect("distinct labels and seeds");
    let twice = [
        crnn_and_ccrnn(),
        vec![Variant {
            horizon: Some(Horizon::Steps(10)),
            ..Variant::new("cRNN", ModelKind::CRnn)
        }],
    ]
    .concat();
    for (exp, needle) in [
        (
            experiment(twice, vec![0, 1]),
            "variant `cRNN` is given twice",
        ),
        (
            experiment(crnn_and_ccrnn(), vec![4, 5, 4]),
            "seed 4 is given twice",
        ),
        (
            experiment(crnn_and_ccrnn(), vec![]),
            "at least one variant and one seed",
        ),
        (
            experiment(
                vec![
                    Variant::new("cc RNN", ModelKind::CcRnn),
                    Variant::new("cc-RNN", ModelKind::CcRnn),
                ],
                vec![0],
            ),
            "name the same run folders (cc-RNN-seed0)",
        ),
        (
            experiment(
                vec![Variant::new("cRNN, lesioned", ModelKind::CRnn)],
                vec![0],
            ),
            "has a comma, a quote or a line break",
        ),
    ] {
        let msg = format!("{:#}", exp.check().unwrap_err());
        assert!(msg.contains(needle), "{msg}");
    }
}

#[test]
fn a_job_folder_stores_the_whole_experiment() {
    let exp = load(&repo_file("lesions.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, experiment) = (dir.path().join("c.toml"), dir.path().join("e.toml"));
    store(&exp, &config, &experiment).unwrap();
    let back = load_stored(&config, &experiment).unwrap();
    assert_eq!(back, exp);
    assert!(back.changes_from(&exp).is_empty());
    let mut changed = back.clone();
    changed.base.epochs += 1;
    changed.seeds.push(99);
    let changes = changed.changes_from(&exp);
    assert!(
        changes.iter().any(|c| c == "epochs: 100 -> 101"),
        "{changes:?}"
    );
    assert!(
        changes.iter().any(|c| c.starts_with("seeds: ")),
        "{changes:?}"
    );
}

#[test]
fn a_folder_of_the_first_layout_is_read_and_an_old_sweep_keeps_its_figure() {
    let exp = sweep(
        "sweep-reach",
        Config::defaults(TaskKind::Reach),
        vec![0],
        &[1, 5],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, experiment) = (dir.path().join("c.toml"), dir.path().join("e.toml"));
    store(&exp, &config, &experiment).unwrap();
    // What ccdni 0.1 wrote: no figure, and the command line that launched the job.
    let text = std::fs::read_to_string(&experiment)
        .unwrap()
        .replace("[figure]\nkind = \"sweep\"\n", "")
        + "\n[invocation]\nargs = [\"sweep\", \"--task\", \"reach\"]\ncwd = \"/somewhere\"\n";
    std::fs::write(&experiment, &text).unwrap();
    assert!(!text.contains("kind = \"sweep\""), "{text}");
    let back = load_stored(&config, &experiment).unwrap();
    assert_eq!(back.figure, Some(Figure::Sweep));
    assert_eq!(back.variants, exp.variants);
}

#[test]
fn a_sweep_has_a_crnn_and_a_ccrnn_per_horizon_and_refuses_repeats() {
    let base = || Config::defaults(TaskKind::Reach);
    let exp = sweep("s", base(), vec![0, 1], &[1, 3]).unwrap();
    let labels: Vec<&str> = exp.variants.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(labels, ["cRNN K=1", "ccRNN K=1", "cRNN K=3", "ccRNN K=3"]);
    assert_eq!(exp.variants[3].horizon, Some(Horizon::Steps(3)));
    assert_eq!(exp.reference_of(&exp.variants[3]), Some("cRNN K=3"));
    for (horizons, seeds, needle) in [
        (&[1, 2, 1][..], vec![0, 1], "horizon K = 1 is given twice"),
        (&[][..], vec![0, 1], "at least one horizon"),
        (&[1, 2][..], vec![0, 1, 0], "seed 0 is given twice"),
    ] {
        let msg = format!("{:#}", sweep("s", base(), seeds, horizons).unwrap_err());
        assert!(msg.contains(needle), "{msg}");
    }
}

#[test]
fn every_variant_but_the_crnn_is_compared_with_it_unless_it_names_another() {
    let mut variants = crnn_and_ccrnn();
    variants.push(Variant {
        horizon: Some(Horizon::Full),
        ..Variant::new("BPTT", ModelKind::CRnn)
    });
    variants.push(Variant {
        compare_to: Some("ccRNN".into()),
        ..Variant::new("sparse", ModelKind::CcRnn)
    });
    let exp = experiment(variants, vec![0]);
    let refs: Vec<Option<&str>> = exp.variants.iter().map(|v| exp.reference_of(v)).collect();
    assert_eq!(refs, [None, Some("cRNN"), Some("cRNN"), Some("ccRNN")]);
}
