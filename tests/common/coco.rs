//! Generated COCO-format files and the `ccdni` calls on them: shared by tests/captions_cli.rs
//! and tests/captions_score_cli.rs.

use super::cli::{ccdni, scratch};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

/// Tiny training settings for every caption run (`captions` adds `--seeds 1`, which `train`
/// does not take).
pub const TINY: &[&str] = &[
    "--epochs",
    "1",
    "--hidden",
    "16",
    "--granule",
    "32",
    "--set",
    "captions.embedding=16",
    "--set",
    "captions.scenes=200",
];

/// `command` with the tiny settings.
pub fn tiny<'a>(command: &[&'a str]) -> Vec<&'a str> {
    let mut args = command.to_vec();
    if command[0] == "captions" {
        args.extend_from_slice(&["--seeds", "1"]);
    }
    args.extend_from_slice(TINY);
    args
}

pub const IMAGES: u64 = 30;
pub const FEATURES: usize = 8;
pub const FIRST_ID: u64 = 100;

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A refusal as a user wants it: a non-zero exit that is not a panic, and every one of `needles`
/// in the message.
pub fn refused(what: &str, out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert!(
        !out.status.success(),
        "{what}: exit 0 on bad input; stdout: {}; stderr: {err}",
        stdout(out)
    );
    assert_ne!(out.status.code(), Some(101), "{what}: panicked: {err}");
    assert!(!err.contains("panicked"), "{what}: panicked: {err}");
    for needle in needles {
        assert!(
            err.contains(needle),
            "{what}: stderr does not mention `{needle}`: {err}"
        );
    }
}

pub fn succeeded(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: failed; stdout: {}; stderr: {}",
        stdout(out),
        stderr(out)
    );
    assert!(!stderr(out).contains("panicked"), "{what}: {}", stderr(out));
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The bytes of a `.npy` (version 1.0) file: `descr` (`'<f8'`, `'<i8'`, ...), `shape`, and the
/// raw little-endian values.
pub fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.div_ceil(64) * 64 - unpadded));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

pub fn feature(i: u64, j: usize) -> f32 {
    ((i as usize * 7 + j * 3) % 11) as f32 / 11.0 - 0.5
}

/// The caption `k` of image `i`: five or six words from small word lists, so that every word
/// is seen often enough for the vocabulary.
pub fn caption(i: u64, k: u64) -> String {
    const COLOURS: [&str; 3] = ["red", "blue", "green"];
    const ANIMALS: [&str; 3] = ["cat", "dog", "bird"];
    const PLACES: [&str; 3] = ["mat", "grass", "table"];
    let (i, k) = (i as usize, k as usize);
    let colour = COLOURS[i % 3];
    let animal = ANIMALS[(i / 3) % 3];
    let place = PLACES[(i + k) % 3];
    if k == 1 {
        format!("The {colour} {animal} sits on a {place}.")
    } else {
        format!("A {colour} {animal} on the {place}.")
    }
}

/// COCO-format files in a fresh folder: `ann.json` (30 images x 3 captions, ids 100..130),
/// `feat.npy` (30 x 8 float32, written with ccdni's own encoder), `ids.npy` (int64) and
/// `ids.json` (the same ids).
pub struct Coco {
    pub dir: tempfile::TempDir,
}

impl Coco {
    pub fn new() -> Coco {
        let dir = tempfile::Builder::new()
            .prefix("ccdni-captions-cli-")
            .tempdir()
            .unwrap();
        let c = Coco { dir };
        c.write_json("ann.json", &annotations(|_, _| None));
        let values: Vec<f32> = (0..IMAGES)
            .flat_map(|i| (0..FEATURES).map(move |j| feature(i, j)))
            .collect();
        let npy = ccdni::data::npy::encode(&[IMAGES as usize, FEATURES], &values).unwrap();
        // The test's own writer agrees with ccdni's, so its other dtypes are real `.npy` files.
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(npy, npy_bytes("<f4", &[IMAGES as usize, FEATURES], &bytes));
        c.write("feat.npy", &npy);
        c.write_ids("ids.npy", IMAGES);
        let ids: Vec<u64> = (FIRST_ID..FIRST_ID + IMAGES).collect();
        c.write_json("ids.json", &json!(ids));
        c
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn write_json(&self, name: &str, v: &Value) -> PathBuf {
        self.write(name, serde_json::to_string_pretty(v).unwrap().as_bytes())
    }

    /// The int64 ids of the first `n` images as `.npy`.
    pub fn write_ids(&self, name: &str, n: u64) -> PathBuf {
        let data: Vec<u8> = (FIRST_ID..FIRST_ID + n)
            .flat_map(|id| (id as i64).to_le_bytes())
            .collect();
        self.write(name, &npy_bytes("<i8", &[n as usize], &data))
    }

    /// `ccdni <command> TINY --data ann --features feat --image-ids ids --out out extra...`.
    pub fn run(
        &self,
        command: &[&str],
        ann: &Path,
        feat: &Path,
        out: &Path,
        extra: &[&str],
    ) -> Output {
        let ids = self.path("ids.npy");
        let mut args = tiny(command);
        args.extend_from_slice(&["--data", s(ann), "--features", s(feat)]);
        args.extend_from_slice(&["--image-ids", s(&ids), "--out", s(out)]);
        args.extend_from_slice(extra);
        ccdni(&args)
    }
}

/// The annotations of the 30 images, caption k of image i replaced by `change(i, k)` where it
/// gives one.
pub fn annotations(change: impl Fn(u64, u64) -> Option<String>) -> Value {
    let images: Vec<Value> = (0..IMAGES)
        .map(|i| json!({"id": FIRST_ID + i, "file_name": format!("{}.jpg", FIRST_ID + i)}))
        .collect();
    let mut entries = Vec::new();
    for i in 0..IMAGES {
        for k in 0..3 {
            let c = change(i, k).unwrap_or_else(|| caption(i, k));
            entries.push(json!({"id": entries.len(), "image_id": FIRST_ID + i, "caption": c}));
        }
    }
    json!({"info": {}, "images": images, "annotations": entries})
}

/// Both caption commands, each into its own (not yet existing) output folder.
pub const CAPTION_COMMANDS: &[&[&str]] = &[&["captions"], &["train", "--task", "captions"]];

/// Runs every caption command on (`ann`, `feat`), expecting a refusal naming `needles`, with
/// no output folder left behind.
pub fn caption_runs_refused(c: &Coco, what: &str, ann: &Path, feat: &Path, needles: &[&str]) {
    for command in CAPTION_COMMANDS {
        let out = scratch("out");
        let o = c.run(command, ann, feat, &out, &[]);
        refused(&format!("{what} ({command:?})"), &o, needles);
        assert!(
            !out.exists(),
            "{what} ({command:?}): a refused run wrote {}",
            out.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// ccdni score
// ---------------------------------------------------------------------------------------------

/// `ccdni score` on (`refs`, `results`), checking that neither input changed.
pub fn score(refs: &Path, results: &Path) -> Output {
    let before: Vec<Option<Vec<u8>>> = [refs, results]
        .iter()
        .map(|p| std::fs::read(p).ok())
        .collect();
    let out = ccdni(&["score", "--refs", s(refs), "--results", s(results)]);
    let after: Vec<Option<Vec<u8>>> = [refs, results]
        .iter()
        .map(|p| std::fs::read(p).ok())
        .collect();
    assert_eq!(before, after, "ccdni score changed its inputs");
    out
}

/// Results giving each of the first `n` images its first reference caption.
pub fn results(n: u64) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"image_id": FIRST_ID + i, "caption": caption(i, 0)}))
        .collect()
}

/// The value of `Name: value` in a score table.
pub fn table_value(table: &str, name: &str) -> f64 {
    let line = table
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no `{name}:` line in {table}"));
    line.trim().parse().unwrap()
}
