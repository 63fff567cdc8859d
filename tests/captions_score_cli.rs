//! `ccdni score` from a user's side: bad input is refused with a non-zero exit, no panic, and a
//! message that names the file and the entry; nothing is changed; and the table agrees with
//! hand computations and with the scores a caption run reports.

mod common;

use common::cli::scratch;
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
            "a negative id",
            json!({"image_id": -1, "caption": "a"}),
            "\"image_id\" must be a non-negative integer, found -1",
        ),
        (
            "a string id",
            json!({"image_id": "101", "caption": "a"}),
            "\"image_id\" must be a non-negative integer, found \"101\"",
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
fn score_refuses_a_reference_caption_without_words_by_name() {
    let c = Coco::new();
    let refs = c.write_json(
        "punct.json",
        &annotations(|i, k| (i == 4 && k == 2).then(|| "...".to_string())),
    );
    let res = c.write_json("res.json", &json!(results(5)));
    refused(
        "reference caption of punctuation only",
        &score(&refs, &res),
        &["punct.json", "caption 2 of image 104", "\"...\""],
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
