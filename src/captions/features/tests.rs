use super::*;
use crate::captions::coco::Annotations;
use crate::captions::set::join;
use std::collections::BTreeMap;

/// Writes 3 rows of size 2 and their ids as .npy.
fn npy_pair(dir: &Path, values: &[f32], ids: &[i64]) -> (std::path::PathBuf, std::path::PathBuf) {
    let (f, i) = (dir.join("features.npy"), dir.join("ids.npy"));
    npy::write(&f, &[values.len() / 2, 2], values).unwrap();
    let mut header = format!(
        "{{'descr': '<i8', 'fortran_order': False, 'shape': ({},), }}",
        ids.len()
    );
    header.push_str(&" ".repeat((64 - (11 + header.len()) % 64) % 64));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    ids.iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    std::fs::write(&i, bytes).unwrap();
    (f, i)
}

/// A safetensors file with `features` (F32) and `image_ids` of `ids_dtype`.
fn safetensors_file(
    dir: &Path,
    values: &[f32],
    ids: &[i64],
    ids_dtype: &str,
) -> std::path::PathBuf {
    let n = ids.len();
    let fbytes = 4 * values.len();
    let header = format!(
        r#"{{"features": {{"dtype": "F32", "shape": [{n}, {}], "data_offsets": [0, {fbytes}]}}, "image_ids": {{"dtype": "{ids_dtype}", "shape": [{n}], "data_offsets": [{fbytes}, {}]}}}}"#,
        values.len() / n.max(1),
        fbytes + 8 * n
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    values
        .iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    ids.iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    let path = dir.join("features.safetensors");
    std::fs::write(&path, bytes).unwrap();
    path
}

const VALUES: [f32; 6] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];

fn err(r: Result<Features>) -> String {
    format!("{:#}", r.unwrap_err())
}

#[test]
fn npy_json_and_safetensors_layouts_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (f, i) = npy_pair(dir.path(), &VALUES, &[30, 10, 20]);
    let want = Features {
        size: 2,
        ids: vec![30, 10, 20],
        values: VALUES.to_vec(),
    };
    assert_eq!(read_features(&f, Some(&i)).unwrap(), want);
    assert_eq!(read_features(&f, Some(&i)).unwrap().row(1), [3.0, 4.0]);
    let json = dir.path().join("ids.json");
    std::fs::write(&json, "[30, 10, 20]").unwrap();
    assert_eq!(read_features(&f, Some(&json)).unwrap(), want);
    let st = safetensors_file(dir.path(), &VALUES, &[30, 10, 20], "I64");
    assert_eq!(read_features(&st, None).unwrap(), want);
}

#[test]
fn bad_features_and_ids_are_errors_naming_the_file_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (f, i) = npy_pair(d, &VALUES, &[1, 2]);
    assert!(err(read_features(&f, Some(&i))).contains("ids.npy lists 2 image ids but"));
    let (f, i) = npy_pair(d, &VALUES, &[1, 2, 1]);
    assert!(err(read_features(&f, Some(&i))).contains("image id 1 is listed twice (rows 0 and 2)"));
    let (f, i) = npy_pair(d, &VALUES, &[1, -2, 3]);
    assert!(err(read_features(&f, Some(&i))).contains("id 1 is negative"));
    let mut nan = VALUES;
    nan[3] = f32::NAN;
    let (f, i) = npy_pair(d, &nan, &[7, 8, 9]);
    let e = err(read_features(&f, Some(&i)));
    assert!(
        e.contains("row 1 (image 8) has the non-finite value NaN in column 1"),
        "{e}"
    );
    let (f, i) = npy_pair(d, &VALUES, &[1, 2, 3]);
    npy::write(&f, &[6], &VALUES).unwrap();
    assert!(err(read_features(&f, Some(&i))).contains("shape [6]"));
    assert!(err(read_features(&f, None)).contains("needs an id file"));
    let json = d.join("ids.json");
    for (text, want) in [
        ("[1, 2, \"3\"]", "entry 2 (\"3\")"),
        ("{}", "not a JSON list"),
        ("[1, 2", "not valid JSON"),
    ] {
        std::fs::write(&json, text).unwrap();
        npy::write(&f, &[3, 2], &VALUES).unwrap();
        let e = err(read_features(&f, Some(&json)));
        assert!(e.contains(want) && e.contains("ids.json"), "{e}");
    }
    let st = safetensors_file(d, &VALUES, &[1, 2, 3], "F64");
    assert!(err(read_features(&st, None)).contains("'image_ids' is F64, not I64"));
    let st = safetensors_file(d, &VALUES, &[1, -2, 3], "I64");
    assert!(err(read_features(&st, None)).contains("image_ids[1] is -2"));
    assert!(err(read_features(&st, Some(&json))).contains("leave out the id file"));
    let e = format!("{:#}", crate::data::safetensors::read(&st).unwrap_err());
    assert!(e.contains("image_ids is I64"), "{e}");
}

#[test]
fn join_pairs_rows_with_captions_and_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let (f, i) = npy_pair(dir.path(), &VALUES, &[30, 10, 20]);
    let feats = read_features(&f, Some(&i)).unwrap();
    let ann = |ids: &[u64]| Annotations {
        images: ids.to_vec(),
        captions: ids
            .iter()
            .map(|&id| (id, vec![format!("image {id}")]))
            .collect::<BTreeMap<_, _>>(),
    };
    let a = Path::new("ann.json");
    let set = join(&ann(&[10, 20, 30]), a, &feats, &f).unwrap();
    assert_eq!(set.feature_size, 2);
    assert_eq!(set.images[0].id, 10);
    assert_eq!(set.images[0].feature, [3.0, 4.0]);
    assert_eq!(set.images[2].captions, ["image 30"]);
    assert_eq!(set.annotations(), ann(&[10, 20, 30]));
    let e = format!("{:#}", join(&ann(&[10, 20]), a, &feats, &f).unwrap_err());
    assert!(
        e.contains("row 0 is image 30, which has no captions in ann.json"),
        "{e}"
    );
    assert!(e.contains("features.npy"), "{e}");
    let e = format!(
        "{:#}",
        join(&ann(&[10, 20, 30, 40]), a, &feats, &f).unwrap_err()
    );
    assert!(
        e.contains("image 40 of ann.json has no feature row in"),
        "{e}"
    );
}
