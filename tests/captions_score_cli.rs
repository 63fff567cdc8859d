//! `ccdni score` from a user's side: bad input is refused with a non-zero exit, no panic, and a
//! message that names the file and the entry; nothing is changed; and the table agrees with
//! hand computations and with the scores a caption run reports.

mod common;

use common::cli::{ccdni, scratch};
use common::coco::*;
use serde_json::json;

#[test]
fn score_refuses_malformed_json_naming_the_file_and_the_place() {
    let c = Coco::new();
    let (refs, res) = (
        c.path("ann.json"),
        c.write_json("res.json", &json!(results(5))),
    );
    let broken_refs = c.write("broken_refs.json", br#"{"images": [{"id": 1},"#);
    refused(
        "malformed refs",
        &score(&broken_refs, &res),
        &["broken_refs.json", "is not valid JSON", "line 1"],
    );
    let broken_res = c.write(
        "broken_res.json",
        b"[{\"image_id\": 100,\n \"caption\": \"a\"",
    );
    refused(
        "malformed results",
        &score(&refs, &broken_res),
        &["broken_res.json", "is not valid JSON", "line 2"],
    );
    // Valid JSON of the wrong shape, both ways round (refs and results swapped).
    let object = c.write_json("object.json", &json!({"image_id": 100, "caption": "a"}));
    refused(
        "results not a list",
        &score(&refs, &object),
        &["object.json", "expected a JSON array"],
    );
    refused(
        "refs and results swapped",
        &score(&res, &refs),
        &["res.json", "is not a COCO caption file"],
    );
}

#[test]
fn score_refuses_a_results_image_that_is_not_in_the_references() {
    let c = Coco::new();
    let mut list = results(4);
    list.push(json!({"image_id": 999, "caption": "a red cat"}));
    let res = c.write_json("res.json", &json!(list));
    refused(
        "unknown image id",
        &score(&c.path("ann.json"), &res),
        &["res.json", "image_id 999", "ann.json"],
    );
}

#[test]
fn score_refuses_a_duplicate_image_id_naming_the_entry() {
    let c = Coco::new();
    let mut list = results(3);
    list.push(json!({"image_id": FIRST_ID + 1, "caption": "a blue dog"}));
    let res = c.write_json("res.json", &json!(list));
    refused(
        "duplicate image id",
        &score(&c.path("ann.json"), &res),
        &["res.json", "entry 3", "image id 101 already has a caption"],
    );
}

#[test]
fn score_refuses_bad_results_entries_naming_the_entry() {
    let c = Coco::new();
    let refs = c.path("ann.json");
    let cases = [
        (
            "a number as caption",
            json!({"image_id": 101, "caption": 5}),
            "\"caption\" must be a string, found 5",
        ),
        (
            "no caption",
            json!({"image_id": 101}),
            "missing key \"caption\"",
        ),
        (
            "null caption",
            json!({"image_id": 101, "caption": null}),
            "\"caption\" must be a string, found null",
        ),
        (
            "a fractional id",
            json!({"image_id": 101.5, "caption": "a"}),
            "\"image_id\" must be an integer or a string, found 101.5",
        ),
        (
            "a boolean id",
            json!({"image_id": true, "caption": "a"}),
            "\"image_id\" must be an integer or a string, found true",
        ),
        (
            "an id given twice, once as a float",
            json!({"image_id": 100.0, "caption": "a"}),
            "image id 100 already has a caption",
        ),
    ];
    for (what, entry, needle) in cases {
        let mut list = results(2);
        list.push(entry);
        let res = c.write_json("res.json", &json!(list));
        refused(what, &score(&refs, &res), &["res.json", "entry 2", needle]);
    }
}

#[test]
fn score_refuses_references_that_are_not_coco_caption_files() {
    let c = Coco::new();
    let res = c.write_json("res.json", &json!(results(3)));
    let full = annotations(|_, _| None);
    let no_annotations = c.write_json("no_ann.json", &json!({"images": full["images"]}));
    refused(
        "refs without annotations",
        &score(&no_annotations, &res),
        &["no_ann.json", "'annotations'"],
    );
    let mut bad = full.clone();
    bad["annotations"][7]["caption"] = json!(["a", "list"]);
    let bad = c.write_json("bad_caption.json", &bad);
    refused(
        "refs caption not a string",
        &score(&bad, &res),
        &["bad_caption.json", "annotations[7]", "not a string"],
    );
    let mut orphan = full.clone();
    orphan["annotations"][2]["image_id"] = json!(4242);
    let orphan = c.write_json("orphan.json", &orphan);
    refused(
        "refs annotation of an unlisted image",
        &score(&orphan, &res),
        &["orphan.json", "annotations[2]", "4242"],
    );
}

#[test]
fn score_refuses_missing_files_and_an_empty_results_list() {
    let c = Coco::new();
    let refs = c.path("ann.json");
    let res = c.write_json("res.json", &json!(results(3)));
    let missing = c.path("no_such_results.json");
    refused(
        "missing results",
        &score(&refs, &missing),
        &["no_such_results.json", "cannot read"],
    );
    assert!(!missing.exists(), "score created its missing input");
    refused(
        "missing refs",
        &score(&c.path("no_such_refs.json"), &res),
        &["no_such_refs.json", "cannot read"],
    );
    refused(
        "results is a folder",
        &score(&refs, c.dir.path()),
        &[s(c.dir.path()), "cannot read"],
    );
    let empty = c.write_json("empty.json", &json!([]));
    refused(
        "empty results",
        &score(&refs, &empty),
        &["empty.json", "empty"],
    );
}

#[test]
fn score_prints_bleu_and_cider_that_agree_with_a_hand_computation() {
    let c = Coco::new();
    // Every image given its first reference: BLEU 1 at every order.
    let out = score(
        &c.path("ann.json"),
        &c.write_json("res.json", &json!(results(30))),
    );
    succeeded("all first references", &out);
    let table = stdout(&out);
    assert!(table.starts_with("30 images\n"), "{table}");
    for n in 1..=4 {
        assert_eq!(table_value(&table, &format!("Bleu_{n}")), 1.0, "{table}");
    }
    assert!(table_value(&table, "CIDEr") > 0.0, "{table}");

    // One image, "a cat on the mat" against "A cat sits on the mat.": the PTB tokens drop case
    // and the period; precisions 5/5, 3/4, 1/3, 0/2; brevity penalty exp(1 - 6/5).
    // BLEU-n = BP * (p1 ... pn)^(1/n). With one image every n-gram's document frequency is the
    // corpus size, so each idf is log(1) - log(1) = 0 and CIDEr-D is 0.
    let refs = c.write_json(
        "one_ref.json",
        &json!({"images": [{"id": 1}], "annotations": [{"image_id": 1, "caption": "A cat sits on the mat."}]}),
    );
    let res = c.write_json(
        "one_res.json",
        &json!([{"image_id": 1, "caption": "a cat on the mat"}]),
    );
    let out = score(&refs, &res);
    succeeded("one image", &out);
    let table = stdout(&out);
    let bp = (1.0f64 - 6.0 / 5.0).exp();
    let want = [bp, bp * (0.75f64).sqrt(), bp * (0.75f64 / 3.0).cbrt(), 0.0];
    for (n, w) in want.iter().enumerate() {
        let got = table_value(&table, &format!("Bleu_{}", n + 1));
        assert!(
            (got - w).abs() <= 5e-4,
            "Bleu_{}: {got} vs {w}: {table}",
            n + 1
        );
    }
    assert_eq!(table_value(&table, "CIDEr"), 0.0, "{table}");

    // Two images with no word in common, each captioned exactly: every n-gram has idf log 2 in
    // both vectors, the cosine is 1 at every order and the length penalty 1, so CIDEr-D is
    // 10 * mean over n of 1 = 10.
    let refs = c.write_json(
        "two_refs.json",
        &json!({"images": [{"id": 1}, {"id": 2}], "annotations": [
            {"image_id": 1, "caption": "A red cat sleeps."},
            {"image_id": 2, "caption": "two blue dogs run"}]}),
    );
    let res = c.write_json(
        "two_res.json",
        &json!([{"image_id": 1, "caption": "a red cat sleeps"}, {"image_id": 2, "caption": "Two blue dogs run."}]),
    );
    let out = score(&refs, &res);
    succeeded("two images", &out);
    let table = stdout(&out);
    assert_eq!(table_value(&table, "CIDEr"), 10.0, "{table}");
    assert_eq!(table_value(&table, "Bleu_4"), 1.0, "{table}");

    // A generated caption without words (a model may emit <end> at once) scores 0, not NaN.
    let res = c.write_json(
        "empty_caption.json",
        &json!([{"image_id": 100, "caption": ""}, {"image_id": 101, "caption": "..."}]),
    );
    let out = score(&c.path("ann.json"), &res);
    succeeded("captions without words", &out);
    let table = stdout(&out);
    assert!(!table.to_lowercase().contains("nan"), "{table}");
    assert_eq!(table_value(&table, "Bleu_1"), 0.0, "{table}");
    assert_eq!(table_value(&table, "CIDEr"), 0.0, "{table}");
}

#[test]
fn score_scores_a_reference_caption_without_words_as_pycocoevalcap_does() {
    // pycocoevalcap keeps a reference that tokenises to nothing as a reference of length 0
    // (tests/fixtures/captions_score/scores.json, "empty_reference", checks the numbers).
    let c = Coco::new();
    let refs = c.write_json(
        "punct.json",
        &annotations(|i, k| (i == 4 && k == 2).then(|| "...".to_string())),
    );
    let res = c.write_json("res.json", &json!(results(5)));
    let out = score(&refs, &res);
    succeeded("reference caption of punctuation only", &out);
    let plain = score(&c.path("ann.json"), &res);
    let (with, without) = (stdout(&out), stdout(&plain));
    assert!(
        table_value(&with, "CIDEr") < table_value(&without, "CIDEr"),
        "{with}\n{without}"
    );
}

#[test]
fn score_takes_float_and_string_ids_as_pycocoevalcap_does() {
    let c = Coco::new();
    let plain = stdout(&score(
        &c.path("ann.json"),
        &c.write_json("res.json", &json!(results(6))),
    ));
    // 101.0 is image 101, in the results and in the references.
    let mut floats = results(6);
    for r in &mut floats {
        r["image_id"] = json!(r["image_id"].as_u64().unwrap() as f64);
    }
    let out = score(
        &c.path("ann.json"),
        &c.write_json("floats.json", &json!(floats)),
    );
    succeeded("float ids", &out);
    assert_eq!(stdout(&out), plain);
    let mut float_refs = annotations(|_, _| None);
    for image in float_refs["images"].as_array_mut().unwrap() {
        image["id"] = json!(image["id"].as_u64().unwrap() as f64);
    }
    let out = score(
        &c.write_json("float_refs.json", &float_refs),
        &c.path("res.json"),
    );
    assert_eq!(stdout(&out), plain);

    // String ids on both sides score like the numbers they spell ...
    let mut text_refs = annotations(|_, _| None);
    for key in [("images", "id"), ("annotations", "image_id")] {
        for entry in text_refs[key.0].as_array_mut().unwrap() {
            entry[key.1] = json!(format!("img{}", entry[key.1]));
        }
    }
    let mut text_results = results(6);
    for r in &mut text_results {
        r["image_id"] = json!(format!("img{}", r["image_id"]));
    }
    let text_refs = c.write_json("text_refs.json", &text_refs);
    let out = score(
        &text_refs,
        &c.write_json("text_res.json", &json!(text_results)),
    );
    succeeded("string ids", &out);
    assert_eq!(stdout(&out), plain);

    // ... but a string never matches a number.
    let mut mixed = results(2);
    mixed[1]["image_id"] = json!("101");
    refused(
        "a string id against number ids",
        &score(
            &c.path("ann.json"),
            &c.write_json("mixed.json", &json!(mixed)),
        ),
        &[
            "mixed.json",
            "image_id \"101\" is not an image",
            "they have the image 101",
        ],
    );
}

#[test]
fn score_skips_an_image_without_captions_unless_it_has_a_result() {
    let c = Coco::new();
    let mut refs = annotations(|_, _| None);
    refs["images"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": 999}));
    let refs = c.write_json("uncaptioned.json", &refs);
    let out = score(&refs, &c.write_json("res.json", &json!(results(4))));
    succeeded("an image without captions and without a result", &out);
    let mut list = results(4);
    list.push(json!({"image_id": 999, "caption": "a red cat"}));
    refused(
        "a result for an image without captions",
        &score(&refs, &c.write_json("res999.json", &json!(list))),
        &[
            "res999.json",
            "image_id 999 has no reference caption",
            "pycocoevalcap",
        ],
    );
}

#[test]
fn score_refuses_a_caption_with_a_line_break_that_would_shift_pycocoevalcap() {
    let c = Coco::new();
    let mut list = results(3);
    list[1]["caption"] = json!("a red cat\ron a mat");
    refused(
        "carriage return in a result",
        &score(&c.path("ann.json"), &c.write_json("cr.json", &json!(list))),
        &["cr.json", "image 101", "'\\r'", "wrong image"],
    );
    let refs = c.write_json(
        "ls.json",
        &annotations(|i, k| (i == 2 && k == 1).then(|| "a cat\u{2028}on a mat".to_string())),
    );
    refused(
        "line separator in a reference",
        &score(&refs, &c.write_json("res.json", &json!(results(3)))),
        &["ls.json", "caption 1 of image 102", "wrong image"],
    );
    // A \n is a space to pycocoevalcap, and to ccdni.
    let mut list = results(3);
    list[1]["caption"] = json!("a red cat\non a mat");
    succeeded(
        "newline in a result",
        &score(&c.path("ann.json"), &c.write_json("nl.json", &json!(list))),
    );
}

#[test]
fn score_json_gives_full_precision_and_every_image() {
    let c = Coco::new();
    let mut list = results(8);
    list[3]["caption"] = json!("a dog on the grass");
    list[5]["caption"] = json!("the cat");
    let res = c.write_json("res.json", &json!(list));
    let refs = c.path("ann.json");
    let table = stdout(&score(&refs, &res));
    let out = ccdni(&["score", "--refs", s(&refs), "--results", s(&res), "--json"]);
    succeeded("score --json", &out);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["images"], 8);
    for name in ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "CIDEr"] {
        let full = v[name].as_f64().unwrap();
        assert!(
            (full - table_value(&table, name)).abs() <= 5e-4,
            "{name}: {v}"
        );
    }
    let per_image = v["per_image"].as_array().unwrap();
    let ids: Vec<u64> = per_image
        .iter()
        .map(|p| p["image_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (100..108).collect::<Vec<_>>());
    let mean = per_image
        .iter()
        .map(|p| p["CIDEr"].as_f64().unwrap())
        .sum::<f64>()
        / 8.0;
    assert!((mean - v["CIDEr"].as_f64().unwrap()).abs() < 1e-12, "{v}");
    // Full precision: the library's own numbers, bit for bit.
    let lib = ccdni::captions::score_files_json(&refs, &res).unwrap();
    assert_eq!(v["CIDEr"].as_f64().unwrap(), lib.cider);
    assert_eq!(
        per_image[3]["CIDEr"].as_f64().unwrap(),
        lib.per_image[3].cider
    );
    // Errors are the table's errors.
    let empty = c.write_json("empty.json", &json!([]));
    let out = ccdni(&[
        "score",
        "--refs",
        s(&refs),
        "--results",
        s(&empty),
        "--json",
    ]);
    refused(
        "score --json of an empty list",
        &out,
        &["empty.json", "empty"],
    );
}

// ---------------------------------------------------------------------------------------------
// ccdni captions / ccdni train --task captions with --data
// ---------------------------------------------------------------------------------------------

#[test]
fn score_accepts_the_references_that_a_caption_run_scored_against() {
    let c = Coco::new();
    let ann = c.write_json(
        "dots.json",
        &annotations(|i, k| (i == 4 && k == 2).then(|| "...".to_string())),
    );
    let out = scratch("out");
    let o = c.run(&["captions"], &ann, &c.path("feat.npy"), &out, &[]);
    if !o.status.success() {
        // Refusing the caption up front, by name, is the other consistent answer.
        refused(
            "\"...\" caption",
            &o,
            &["dots.json", "image 104", "\"...\""],
        );
        return;
    }
    let res = out.join("results").join("cRNN-seed0.json");
    let o = score(&ann, &res);
    succeeded("score of the run's own results against its own data", &o);
}
