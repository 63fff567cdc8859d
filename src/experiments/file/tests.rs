use super::*;
use crate::config::ModelKind;

fn repo_file(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("experiments")
        .join(name)
}

/// Writes `text` to a scratch experiment file and loads it.
fn load_text(name: &str, text: &str) -> Result<Experiment> {
    let path = std::env::temp_dir().join(format!("ccdni-exp-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let r = load(&path);
    let _ = std::fs::remove_file(&path);
    r
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

#[test]
fn every_file_in_experiments_loads() {
    let mut names: Vec<String> = std::fs::read_dir(repo_file(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    for n in &names {
        let exp = load(&repo_file(n)).unwrap_or_else(|e| panic!("{n}: {e:#}"));
        assert!(!exp.seeds.is_empty());
    }
}

#[test]
fn the_reach_file_is_the_main_job() {
    let exp = load(&repo_file("reach.toml")).unwrap();
    let labels: Vec<(&str, ModelKind, usize)> = exp
        .variants
        .iter()
        .map(|v| {
            let c = exp.config(v, 0);
            (v.label.as_str(), c.model, c.train.horizon)
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("cRNN", ModelKind::CRnn, 1),
            ("ccRNN", ModelKind::CcRnn, 1),
            ("BPTT", ModelKind::CRnn, 10)
        ]
    );
    assert_eq!((exp.seeds.len(), exp.base.test_every), (4, 10));
}

#[test]
fn variant_settings_lie_over_the_base() {
    let exp = load_text("good", GOOD).unwrap();
    assert_eq!(exp.seeds, [3, 4]);
    let c = exp.config(&exp.variants[1], 4);
    assert_eq!((c.seed, c.train.horizon, c.epochs), (4, 2, 5));
    assert_eq!(
        (c.lesion.olive_at, c.cerebellum.sparse_k),
        (Some(4), Some(4))
    );
    let plain = exp.config(&exp.variants[0], 3);
    assert_eq!((plain.lesion.olive_at, plain.train.horizon), (None, 1));
}

#[test]
fn the_papers_size_and_a_seed_count_replace_the_files() {
    let text = format!("{GOOD}\n[papers]\nseeds = 10\nsettings = {{ epochs = 100 }}\n");
    let path = std::env::temp_dir().join(format!("ccdni-exp-{}-papers.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let f = read(&path).unwrap();
    let resolve = |t: &toml::Table| Config::resolve(TaskKind::Reach, t);
    let exp = f.experiment(&path, true, None, resolve).unwrap();
    assert_eq!(
        (exp.seeds.len(), exp.seeds[0], exp.base.epochs),
        (10, 3, 100)
    );
    let exp = f.experiment(&path, false, Some(2), resolve).unwrap();
    assert_eq!((exp.seeds, exp.base.epochs), (vec![3, 4], 5));
    let _ = std::fs::remove_file(&path);
    let msg = format!(
        "{:#}",
        read(&repo_file("reach.toml"))
            .unwrap()
            .experiment(&path, false, Some(0), resolve)
            .unwrap_err()
    );
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
    ];
    for (name, text, needles) in cases {
        let msg = format!("{:#}", load_text(name, &text).unwrap_err());
        for n in needles {
            assert!(msg.contains(n), "{name}: `{n}` not in: {msg}");
        }
    }
}

#[test]
fn a_run_folder_holds_the_whole_experiment() {
    let exp = load(&repo_file("lesions.toml")).unwrap();
    let dir = std::env::temp_dir().join(format!("ccdni-exp-{}-folder", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    super::super::variants::write_config(&exp, None, &dir).unwrap();
    let (back, _) = from_run_folder(&dir).unwrap();
    assert_eq!(Plan::of(&back, None), Plan::of(&exp, None));
    assert_eq!(back.base, exp.base);
    assert!(back.figure.is_some());
    for v in &exp.variants {
        assert_eq!(back.config(v, 1), exp.config(v, 1));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
