use super::*;

fn read_text(text: &str) -> Result<Annotations> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("captions.json");
    std::fs::write(&path, text).unwrap();
    read_annotations(&path)
}

fn err(text: &str) -> String {
    let e = format!("{:#}", read_text(text).unwrap_err());
    assert!(e.contains("captions.json"), "{e}");
    e
}

#[test]
fn reads_images_and_captions_in_file_order_ignoring_extra_keys() {
    let a = read_text(
        r#"{"info": {}, "images": [{"id": 9, "file_name": "x.jpg", "width": 3}, {"id": 2}],
            "annotations": [{"id": 1, "image_id": 2, "caption": "b"},
                            {"id": 0, "image_id": 9, "caption": "a"},
                            {"id": 5, "image_id": 2, "caption": "c"}]}"#,
    )
    .unwrap();
    assert_eq!(a.images, [9, 2]);
    assert_eq!(a.captions[&2], ["b", "c"]);
    assert_eq!(a.captions[&9], ["a"]);
}

#[test]
fn errors_name_the_entry() {
    assert!(err("{\"images\": [").contains("line 1 column"));
    assert!(err(r#"{"annotations": []}"#).contains("no 'images'"));
    assert!(err(r#"{"images": []}"#).contains("no 'annotations'"));
    assert!(err(r#"{"images": {}, "annotations": []}"#).contains("'images' is not a list"));
    let e = err(
        r#"{"images": [{"id": 1}], "annotations": [{"image_id": 1, "caption": "a"},
            {"image_id": 42, "caption": "b"}]}"#,
    );
    assert!(
        e.contains("annotations[1] has image_id 42, which is not in images"),
        "{e}"
    );
    let e = err(r#"{"images": [{"id": 1}, {"id": 1}], "annotations": []}"#);
    assert!(e.contains("images[1] has id 1"), "{e}");
    let e = err(r#"{"images": [{"id": 1}], "annotations": [{"image_id": 1, "caption": 5}]}"#);
    assert!(
        e.contains("annotations[0] has a caption that is not a string"),
        "{e}"
    );
    let e = err(r#"{"images": [{"id": "1"}], "annotations": []}"#);
    assert!(
        e.contains("images[0] has no non-negative integer 'id'"),
        "{e}"
    );
    let e = err(r#"{"images": [{"id": 1}], "annotations": [{"image_id": -1, "caption": "a"}]}"#);
    assert!(
        e.contains("annotations[0] has no non-negative integer 'image_id'"),
        "{e}"
    );
    let e = err(
        r#"{"images": [{"id": 1}, {"id": 7}], "annotations": [{"image_id": 1, "caption": "a"}]}"#,
    );
    assert!(e.contains("images[1] (id 7) has no caption"), "{e}");
    assert!(err("[1, 2]").contains("no 'images'"));
}

#[test]
fn written_annotations_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    let a = Annotations {
        images: vec![5, 1],
        captions: BTreeMap::from([
            (1, vec!["one \"quoted\"".to_string()]),
            (5, vec!["five".into(), "cinq".into()]),
        ]),
    };
    write_annotations(&path, &a).unwrap();
    assert_eq!(read_annotations(&path).unwrap(), a);
    let orphan = Annotations {
        images: vec![5],
        captions: a.captions.clone(),
    };
    assert!(write_annotations(&path, &orphan).is_err());
}
