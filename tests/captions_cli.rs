//! `ccdni captions` and `ccdni train --task captions` from a user's side: bad input is refused
//! with a non-zero exit, no panic, and a message that names the file and the entry; nothing
//! already written is lost; and a small run on generated COCO-format files writes what it
//! promises, which `ccdni score` reads back.
//!
//! Every input is generated here into temporary folders (removed at the end of each test).

mod common;

use common::cli::{Scratch, ccdni, scratch};
use common::coco::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[test]
fn an_annotated_image_without_a_feature_row_is_refused_by_id() {
    let c = Coco::new();
    let mut ann = annotations(|_, _| None);
    ann["images"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": 500}));
    ann["annotations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": 999, "image_id": 500, "caption": "A red cat."}));
    let ann = c.write_json("extra.json", &ann);
    caption_runs_refused(
        &c,
        "image without features",
        &ann,
        &c.path("feat.npy"),
        &["image 500", "extra.json", "has no feature row", "feat.npy"],
    );
}

#[test]
fn a_feature_row_without_captions_is_refused_by_row_and_id() {
    let c = Coco::new();
    let n = IMAGES + 1;
    let values: Vec<f32> = (0..n)
        .flat_map(|i| (0..FEATURES).map(move |j| feature(i, j)))
        .collect();
    let npy = ccdni::data::npy::encode(&[n as usize, FEATURES], &values).unwrap();
    let feat = c.write("feat31.npy", &npy);
    c.write_ids("ids.npy", n);
    caption_runs_refused(
        &c,
        "feature row without captions",
        &c.path("ann.json"),
        &feat,
        &[
            "feat31.npy",
            "row 30",
            "image 130",
            "no captions",
            "ann.json",
        ],
    );
}

#[test]
fn feature_files_of_the_wrong_dtype_or_size_are_refused_by_name() {
    let c = Coco::new();
    let ann = c.path("ann.json");
    let shape = [IMAGES as usize, FEATURES];
    let f64s: Vec<u8> = (0..IMAGES)
        .flat_map(|i| (0..FEATURES).flat_map(move |j| (feature(i, j) as f64).to_le_bytes()))
        .collect();
    let feat64 = c.write("feat64.npy", &npy_bytes("<f8", &shape, &f64s));
    caption_runs_refused(
        &c,
        "float64 features",
        &ann,
        &feat64,
        &["feat64.npy", "'<f8'", "float32"],
    );

    let good = std::fs::read(c.path("feat.npy")).unwrap();
    let truncated = c.write("truncated.npy", &good[..good.len() - 10]);
    caption_runs_refused(
        &c,
        "truncated features",
        &ann,
        &truncated,
        &["truncated.npy", "truncated"],
    );

    let garbage = c.write("garbage.npy", b"not a numpy file at all");
    caption_runs_refused(&c, "not .npy", &ann, &garbage, &["garbage.npy", ".npy"]);

    let flat = c.write(
        "flat.npy",
        &npy_bytes(
            "<f4",
            &[IMAGES as usize * FEATURES],
            &good[good.len() - IMAGES as usize * FEATURES * 4..],
        ),
    );
    caption_runs_refused(&c, "1-D features", &ann, &flat, &["flat.npy", "shape"]);

    // Fewer ids than rows.
    c.write_ids("ids.npy", IMAGES - 1);
    caption_runs_refused(
        &c,
        "fewer ids than rows",
        &ann,
        &c.path("feat.npy"),
        &["ids.npy", "29 image ids", "30 feature rows"],
    );
}

#[test]
fn data_and_features_go_together_and_only_with_the_caption_task() {
    let c = Coco::new();
    let (ann, feat, ids) = (c.path("ann.json"), c.path("feat.npy"), c.path("ids.npy"));
    for command in CAPTION_COMMANDS {
        let out = scratch("out");
        let mut args = tiny(command);
        args.extend_from_slice(&["--data", s(&ann), "--out", s(&out)]);
        refused("--data alone", &ccdni(&args), &["--features"]);
        assert!(!out.exists());
        let mut args = tiny(command);
        args.extend_from_slice(&["--features", s(&feat), "--image-ids", s(&ids)]);
        args.extend_from_slice(&["--out", s(&out)]);
        refused("--features alone", &ccdni(&args), &["--data"]);
        assert!(!out.exists());
        // A .npy without its id file.
        let mut args = tiny(command);
        args.extend_from_slice(&["--data", s(&ann), "--features", s(&feat), "--out", s(&out)]);
        refused("no --image-ids", &ccdni(&args), &["feat.npy", "id file"]);
        assert!(!out.exists());
    }
    for task in ["reach", "mnist"] {
        let out = scratch("out");
        for (flag, file) in [
            ("--features", &feat),
            ("--data", &ann),
            ("--image-ids", &ids),
        ] {
            let o = ccdni(&["train", "--task", task, flag, s(file), "--out", s(&out)]);
            refused(
                &format!("{flag} with {task}"),
                &o,
                &[flag, "applies only to the captions task", task],
            );
            assert!(!out.exists());
        }
    }
}

#[test]
fn a_caption_that_tokenises_to_nothing_is_refused_by_name_and_never_panics() {
    let c = Coco::new();
    // Blank captions have no token at all: refused, naming the file, the image and the caption.
    for (name, blank) in [("blank.json", "   "), ("empty.json", "")] {
        let ann = c.write_json(
            name,
            &annotations(|i, k| (i == 7 && k == 1).then(|| blank.to_string())),
        );
        caption_runs_refused(
            &c,
            &format!("caption {blank:?}"),
            &ann,
            &c.path("feat.npy"),
            &[
                name,
                "caption 1 of image 107",
                &format!("{blank:?}"),
                "no words",
            ],
        );
    }
    // "..." is one token for NLTK's word_tokenize (what the training tokeniser ports), so ccdni
    // trains on it; whatever it does, it must exit cleanly and clearly.
    let ann = c.write_json(
        "dots.json",
        &annotations(|i, k| (i == 4 && k == 2).then(|| "...".to_string())),
    );
    let out = scratch("out");
    let o = c.run(&["captions"], &ann, &c.path("feat.npy"), &out, &[]);
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert_ne!(o.status.code(), Some(101));
    if o.status.success() {
        assert!(out.join("captions.json").exists());
    } else {
        refused(
            "\"...\" caption",
            &o,
            &["dots.json", "image 104", "\"...\""],
        );
        assert!(!out.exists());
    }
}

#[test]
fn the_caption_report_never_prints_nan() {
    let c = Coco::new();
    // Every caption is "...": one NLTK token, so training runs, but no PTB word, so every
    // CIDEr-D is 0, the cRNN's included.
    let ann = c.write_json("dots.json", &annotations(|_, _| Some("...".to_string())));
    let out = scratch("out");
    let o = c.run(&["captions"], &ann, &c.path("feat.npy"), &out, &[]);
    if !o.status.success() {
        refused("all captions \"...\"", &o, &["dots.json", "\"...\""]);
        return;
    }
    let report = stdout(&o);
    assert!(!report.contains("NaN"), "{report}");
    let by_length = std::fs::read_to_string(out.join("captions.json")).unwrap();
    let v: Value = serde_json::from_str(&by_length).unwrap();
    for row in v["by_length"].as_array().unwrap() {
        assert!(!row["mean"].is_null(), "a mean without a value: {row}");
    }
}

#[test]
fn impossible_caption_settings_are_refused_by_name() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--set",
                "captions.min_words=20",
                "--set",
                "captions.max_words=5",
            ],
            "`captions.min_words` = 20 is more than `captions.max_words` = 5",
        ),
        (
            &["--set", "captions.validation_fraction=1.5"],
            "`captions.validation_fraction` must be a fraction",
        ),
        (
            &["--set", "captions.test_fraction=0"],
            "`captions.test_fraction` must be a fraction",
        ),
        (
            &[
                "--set",
                "captions.validation_fraction=0.5",
                "--set",
                "captions.test_fraction=0.5",
            ],
            "leave no image to train on",
        ),
        (
            &["--set", "captions.dropout=1"],
            "`captions.dropout` must be in [0, 1)",
        ),
        (
            &["--set", "captions.dropout=-0.1"],
            "`captions.dropout` must be in [0, 1)",
        ),
        (
            &["--set", "captions.beam=0"],
            "`captions.beam` must be at least 1",
        ),
        (
            &["--set", "captions.embedding=0"],
            "`captions.embedding` must be at least 1",
        ),
        (
            &["--set", "captions.length_bins=[13, 9]"],
            "`captions.length_bins`",
        ),
        (&["--set", "captions.bogus=1"], "bogus"),
    ];
    for command in CAPTION_COMMANDS {
        for (extra, needle) in cases {
            let out = scratch("out");
            let mut args = tiny(command);
            args.extend_from_slice(&["--out", s(&out)]);
            args.extend_from_slice(extra);
            refused(&format!("{command:?} {extra:?}"), &ccdni(&args), &[needle]);
            assert!(
                !out.exists(),
                "{extra:?}: a refused run wrote {}",
                out.display()
            );
        }
    }
}

#[test]
fn too_few_images_to_split_are_refused() {
    let c = Coco::new();
    // 30 images with 1 % held out for validation rounds to no image.
    let out = scratch("out");
    let o = c.run(
        &["captions"],
        &c.path("ann.json"),
        &c.path("feat.npy"),
        &out,
        &["--set", "captions.validation_fraction=0.01"],
    );
    refused(
        "no validation image",
        &o,
        &["30 images", "captions.validation_fraction"],
    );
    // Every caption outside the length range.
    let o = c.run(
        &["captions"],
        &c.path("ann.json"),
        &c.path("feat.npy"),
        &out,
        &[
            "--set",
            "captions.min_words=30",
            "--set",
            "captions.max_words=40",
        ],
    );
    refused(
        "no caption of a kept length",
        &o,
        &["between 30 and 40 words"],
    );
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_refused_run_loses_nothing_already_in_its_folder() {
    let c = Coco::new();
    let out: Scratch = scratch("out");
    std::fs::create_dir_all(out.join("results")).unwrap();
    std::fs::write(out.join("notes.txt"), "precious").unwrap();
    std::fs::write(out.join("results").join("cRNN-seed0.json"), "[]").unwrap();
    let before = snapshot(&out);
    let mut ann = annotations(|_, _| None);
    ann["annotations"][3]["caption"] = json!(17);
    let bad = c.write_json("bad.json", &ann);
    for command in CAPTION_COMMANDS {
        // Bad data into a folder that holds files, and good data into it.
        let o = c.run(command, &bad, &c.path("feat.npy"), &out, &[]);
        refused(&format!("{command:?} bad data"), &o, &[]);
        let o = c.run(command, &c.path("ann.json"), &c.path("feat.npy"), &out, &[]);
        refused(
            &format!("{command:?} taken folder"),
            &o,
            &["already holds", "notes.txt"],
        );
        assert_eq!(snapshot(&out), before, "{command:?} changed a taken folder");
    }
}

#[test]
fn a_small_coco_run_writes_its_results_and_score_reads_them_back() {
    let c = Coco::new();
    let out = scratch("out");
    let ann = c.path("ann.json");
    let o = c.run(&["captions"], &ann, &c.path("feat.npy"), &out, &[]);
    succeeded("captions on COCO files", &o);
    for f in [
        "metrics.csv",
        "captions.json",
        "config.toml",
        "summary.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing in {}", out.display());
    }
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        metrics
            .lines()
            .next()
            .unwrap()
            .starts_with("model,seed,epoch,")
    );
    assert!(
        metrics.lines().any(|l| l.starts_with("cRNN,0,1,")),
        "{metrics}"
    );

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("captions.json")).unwrap()).unwrap();
    let runs = summary["runs"].as_array().unwrap();
    assert!(!runs.is_empty());

    // results/*.json: COCO results of test images, one caption each, ids from the data.
    let mut result_files: Vec<PathBuf> = std::fs::read_dir(out.join("results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    result_files.sort();
    assert_eq!(result_files.len(), runs.len(), "{result_files:?}");
    for f in &result_files {
        assert_eq!(f.extension().unwrap(), "json");
        let list: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let list = list.as_array().expect("a COCO results list");
        assert_eq!(list.len(), 3, "10 % of 30 images are test images: {f:?}");
        let mut ids = Vec::new();
        for e in list {
            let id = e["image_id"].as_u64().expect("an integer image_id");
            assert!((FIRST_ID..FIRST_ID + IMAGES).contains(&id), "{e}");
            assert!(e["caption"].is_string(), "{e}");
            ids.push(id);
        }
        ids.dedup();
        assert_eq!(ids.len(), 3, "one caption per image: {f:?}");
    }
    // runs/<model>-seed0/vocab.json, one per run.
    let runs_dir = out.join("runs");
    let vocab: Vec<String> = std::fs::read_dir(&runs_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|r| runs_dir.join(r).join("vocab.json").is_file())
        .collect();
    assert_eq!(vocab.len(), runs.len(), "{vocab:?}");
    assert!(vocab.iter().all(|v| v.ends_with("seed0")), "{vocab:?}");
    assert!(vocab.contains(&"cRNN-seed0".to_string()), "{vocab:?}");
    let words: Value = serde_json::from_str(
        &std::fs::read_to_string(runs_dir.join("cRNN-seed0").join("vocab.json")).unwrap(),
    )
    .unwrap();
    let words = words.to_string();
    for w in ["<start>", "<end>", "cat", "red"] {
        assert!(words.contains(&format!("\"{w}\"")), "{w} not in {words}");
    }

    // `ccdni score` of a run's results against the data gives the run's own CIDEr-D.
    let crnn = runs.iter().find(|r| r["model"] == "cRNN").unwrap();
    let o = score(&ann, &out.join("results").join("cRNN-seed0.json"));
    succeeded("score of the run's results", &o);
    let table = stdout(&o);
    assert!(table.starts_with("3 images\n"), "{table}");
    let cider = crnn["cider_d"].as_f64().unwrap();
    assert!(
        (table_value(&table, "CIDEr") - cider).abs() <= 5e-4,
        "{table} vs {cider}"
    );
    let bleu1 = crnn["bleu"][0].as_f64().unwrap();
    assert!(
        (table_value(&table, "Bleu_1") - bleu1).abs() <= 5e-4,
        "{table} vs {bleu1}"
    );

    // Run again into the same folder: refused, and the first run's files are all still there.
    let before = snapshot(&out);
    let o = c.run(&["captions"], &ann, &c.path("feat.npy"), &out, &[]);
    refused(
        "second run into the folder",
        &o,
        &["already holds", s(&out)],
    );
    assert_eq!(
        snapshot(&out),
        before,
        "a refused second run changed the folder"
    );
}

#[test]
fn a_json_id_list_works_too_and_a_bad_entry_is_named() {
    let c = Coco::new();
    // The same run with the ids as a .json list.
    let out = scratch("out");
    let mut args = tiny(&["train", "--task", "captions"]);
    let (ann, feat, ids) = (c.path("ann.json"), c.path("feat.npy"), c.path("ids.json"));
    args.extend_from_slice(&["--data", s(&ann), "--features", s(&feat)]);
    args.extend_from_slice(&["--image-ids", s(&ids), "--out", s(&out), "--model", "crnn"]);
    let o = ccdni(&args);
    succeeded("train --task captions with ids.json", &o);
    assert!(out.join("metrics.csv").is_file());
    // A bad id in the .json list is named by its entry.
    let mut list: Vec<Value> = (FIRST_ID..FIRST_ID + IMAGES).map(|i| json!(i)).collect();
    list[5] = json!("105");
    c.write_json("ids.json", &json!(list));
    let out2 = scratch("out");
    let mut args = tiny(&["train", "--task", "captions"]);
    args.extend_from_slice(&["--data", s(&ann), "--features", s(&feat)]);
    args.extend_from_slice(&["--image-ids", s(&ids), "--out", s(&out2), "--model", "crnn"]);
    refused("string id", &ccdni(&args), &["ids.json", "entry 5"]);
    assert!(!out2.exists());
}

#[test]
fn a_trained_caption_model_comes_with_its_vocabulary() {
    let c = Coco::new();
    let out = scratch("out");
    let mut args = tiny(&["train", "--task", "captions"]);
    let (ann, feat, ids) = (c.path("ann.json"), c.path("feat.npy"), c.path("ids.npy"));
    args.extend_from_slice(&["--data", s(&ann), "--features", s(&feat)]);
    args.extend_from_slice(&["--image-ids", s(&ids), "--out", s(&out), "--model", "crnn"]);
    succeeded("train --task captions", &ccdni(&args));
    let run = out.join("runs").join("cRNN-seed0");
    assert!(run.join("model.safetensors").is_file());
    assert!(
        run.join("vocab.json").is_file(),
        "no vocabulary for the saved model: {:?}",
        std::fs::read_dir(&run)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_pretrained_image_map_is_taken_frozen_and_a_wrong_one_refused() {
    let c = Coco::new();
    let (ann, feat, ids) = (c.path("ann.json"), c.path("feat.npy"), c.path("ids.npy"));
    let train = |out: &Path, model: &str, extra: &[&str]| {
        let mut args = tiny(&["train", "--task", "captions"]);
        args.extend_from_slice(&["--data", s(&ann), "--features", s(&feat)]);
        args.extend_from_slice(&["--image-ids", s(&ids), "--out", s(out), "--model", model]);
        args.extend_from_slice(extra);
        ccdni(&args)
    };
    let image_map = |model: &Path| -> Vec<f32> {
        let (tensors, _) = ccdni::data::safetensors::read(model).unwrap();
        ["image.weight", "image.bias"]
            .iter()
            .flat_map(|n| tensors.iter().find(|t| t.name == *n).unwrap().data.clone())
            .collect()
    };
    let first = scratch("first");
    succeeded("the pretraining run", &train(&first, "crnn", &[]));
    let pretrained = first.join("runs/cRNN-seed0/model.safetensors");
    let setting = format!("captions.image_map_from={}", s(&pretrained));
    let second = scratch("second");
    succeeded(
        "a run on the pretrained map",
        &train(&second, "ccrnn", &["--set", &setting, "--seed", "3"]),
    );
    let trained = second.join("runs/ccRNN-seed3/model.safetensors");
    assert_eq!(image_map(&trained), image_map(&pretrained), "the map stays");
    let config = std::fs::read_to_string(second.join("config.toml")).unwrap();
    assert!(config.contains("image_map_from"), "{config}");

    // A file that is not there, a model without an image map, a map of another size: refused
    // by name before any folder is made.
    let missing = c.path("nothing.safetensors");
    let reach = scratch("reach");
    let o = ccdni(&[
        "train",
        "--task",
        "reach",
        "--epochs",
        "1",
        "--out",
        s(&reach),
    ]);
    succeeded("a reach model", &o);
    let reach_model = reach.join("runs/ccRNN-seed0/model.safetensors");
    let cases: [(&Path, &[&str], &[&str]); 3] = [
        (&missing, &[], &["nothing.safetensors"]),
        (
            &reach_model,
            &[],
            &["no `image.weight`", "captions.image_map_from"],
        ),
        (
            &pretrained,
            &["--set", "captions.embedding=12"],
            &["`image.weight` has shape [16, 8]", "[12, 8]"],
        ),
    ];
    for (file, extra, needles) in cases {
        let out = scratch("refused");
        let setting = format!("captions.image_map_from={}", s(file));
        let mut args = vec!["--set", setting.as_str()];
        args.extend_from_slice(extra);
        refused("a wrong image map", &train(&out, "crnn", &args), needles);
        assert!(!out.exists(), "{}", out.display());
    }
}
