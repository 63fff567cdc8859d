//! Bounded fuzzing of everything that reads user input: IDX files (plain and gzipped), TOML
//! settings (files and `--set`), safetensors files and saved models. Each test mutates a valid
//! input a fixed number of times from a fixed seed (the crate's own generator), so a run is
//! deterministic and takes a few seconds, and asserts that no input makes the reader panic (an
//! error is fine). A panic is reported with the input that caused it.

use ccdni::config::{Config, Overrides, TaskKind};
use ccdni::data::{Images, read_images, read_labels, safetensors, write_images, write_labels};
use ccdni::model::Model;
use ccdni::rng::Rng;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// Runs `f` on each input, collecting the inputs it panics on; fails listing them.
struct Panics {
    what: &'static str,
    found: Vec<String>,
    tried: usize,
}

impl Panics {
    fn new(what: &'static str) -> Self {
        Panics {
            what,
            found: Vec::new(),
            tried: 0,
        }
    }

    /// Calls `f`, recording `describe()` if it panics.
    fn check<R>(&mut self, describe: impl Fn() -> String, f: impl FnOnce() -> R) {
        self.tried += 1;
        if catch_unwind(AssertUnwindSafe(f)).is_err() {
            self.found.push(describe());
        }
    }

    fn assert_none(self) {
        assert!(
            self.found.is_empty(),
            "{}: {} of {} inputs panicked; the first ones:\n{}",
            self.what,
            self.found.len(),
            self.tried,
            self.found
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
        eprintln!("{}: {} inputs, no panic", self.what, self.tried);
    }
}

/// A temporary folder in memory where there is one (/dev/shm): the tests write thousands of
/// small files, which a busy disk makes slow.
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    match shm.is_dir() {
        true => tempfile::tempdir_in(shm).or_else(|_| tempfile::tempdir()),
        false => tempfile::tempdir(),
    }
    .expect("a temporary folder")
}

fn hex(bytes: &[u8]) -> String {
    let shown: String = bytes.iter().take(200).map(|b| format!("{b:02x}")).collect();
    format!("{} bytes: {shown}", bytes.len())
}

/// Every prefix of `good` (up to `max` of them, evenly spread), `flips` copies with 1-4 random
/// bytes replaced, and `noise` random byte strings.
fn mutations(good: &[u8], rng: &mut Rng, max: usize, flips: usize, noise: usize) -> Vec<Vec<u8>> {
    let step = good.len().div_ceil(max).max(1);
    let mut out: Vec<Vec<u8>> = (0..good.len())
        .step_by(step)
        .map(|n| good[..n].to_vec())
        .collect();
    for _ in 0..flips {
        let mut b = good.to_vec();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(b.len());
            b[i] = rng.next_u64() as u8;
        }
        out.push(b);
    }
    for _ in 0..noise {
        let n = rng.below(64);
        out.push((0..n).map(|_| rng.next_u64() as u8).collect());
    }
    out
}

#[test]
fn idx_readers_never_panic() {
    let dir = scratch_dir();
    let mut rng = Rng::new(1);
    let images = Images {
        count: 3,
        rows: 4,
        cols: 3,
        pixels: (0..36).map(|i| i as u8 * 7).collect(),
    };
    let mut panics = Panics::new("IDX");
    for gz in [false, true] {
        let (ip, lp) = (dir.path().join("i"), dir.path().join("l"));
        write_images(&ip, &images, gz).unwrap();
        write_labels(&lp, &[1, 2, 3], gz).unwrap();
        for (good_path, is_images) in [(&ip, true), (&lp, false)] {
            let good = std::fs::read(good_path).unwrap();
            let path = dir.path().join("m");
            let mut inputs = mutations(&good, &mut rng, 200, 400, 100);
            if gz {
                // Valid gzip streams of corrupt IDX content (wrong dimensions, short, long).
                let plain = if is_images {
                    image_bytes(&images)
                } else {
                    vec![0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]
                };
                for bytes in mutations(&plain, &mut rng, 50, 300, 20) {
                    inputs.push(gzip(&bytes));
                }
            }
            for bytes in inputs {
                std::fs::write(&path, &bytes).unwrap();
                for read_as_images in [is_images, !is_images] {
                    panics.check(
                        || {
                            format!(
                                "gzip {gz}, read as images {read_as_images}: {}",
                                hex(&bytes)
                            )
                        },
                        || {
                            if read_as_images {
                                let _ = read_images(&path);
                            } else {
                                let _ = read_labels(&path);
                            }
                        },
                    );
                }
            }
        }
    }
    panics.assert_none();
}

/// The plain IDX bytes of `images`.
fn image_bytes(images: &Images) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for d in [images.count, images.rows, images.cols] {
        b.extend_from_slice(&(d as u32).to_be_bytes());
    }
    b.extend_from_slice(&images.pixels);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Replacement values for settings: edge numbers, wrong types, and absurd sizes.
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "28",
    "1000000",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "0.0",
    "-0.5",
    "1e309",
    "nan",
    "inf",
    "-inf",
    "true",
    "\"x\"",
    "\"mnist\"",
    "\"crnn\"",
    "\"tanh\"",
    "\"digit\"",
    "\"window\"",
    "[]",
    "{}",
    "{ name = \"sgd\" }",
    "{ name = \"rmsprop\", alpha = 1.5 }",
];

/// Lines a mutation may insert: tables and keys, known and unknown.
const EXTRA: &[&str] = &[
    "[lesion]\ncerebellum_at = 1",
    "[lesion]\nolive_at = 0",
    "[train.optimizer]\nname = \"sgd\"\nmomentum = 1.0",
    "[record]\nevery = 1",
    "[mnist]\ntrain_limit = 0",
    "task = \"mnist\"",
    "model = \"crnn\"",
    "[reach.extra]",
    "unknown = 1",
    "[[train]]",
    "x.y.z = 1",
];

/// A valid config text with one to three mutations: a value replaced, a line deleted or
/// duplicated, or a few characters changed.
fn mutate_config(good: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    for _ in 0..1 + rng.below(3) {
        let i = rng.below(lines.len());
        match rng.below(5) {
            4 => lines.insert(i, EXTRA[rng.below(EXTRA.len())].to_string()),
            0 => {
                if let Some((k, _)) = lines[i].split_once(" = ") {
                    lines[i] = format!("{k} = {}", VALUES[rng.below(VALUES.len())]);
                }
            }
            1 => {
                lines.remove(i);
                if lines.is_empty() {
                    lines.push(String::new());
                }
            }
            2 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            _ => {
                let mut b = lines[i].clone().into_bytes();
                if !b.is_empty() {
                    let j = rng.below(b.len());
                    b[j] = b" =.[]\"'0123456789-_xe\n"[rng.below(22)];
                }
                lines[i] = String::from_utf8_lossy(&b).into_owned();
            }
        }
    }
    lines.join("\n")
}

/// Everything a resolved configuration is asked for before and during a run.
fn use_config(c: &Config) {
    if c.validate().is_err() {
        return;
    }
    let sizes = c.task_sizes();
    let spec = c.model_spec(sizes.input, sizes.output, sizes.context);
    let _ = spec.parameter_count();
    let _ = c.memory_estimate(sizes);
    let _ = c.late_phase_epochs();
    let _ = c.cerebellum_mode(c.epochs);
    let _ = c.task_name();
    let again: toml::Table = c.to_toml().parse().expect("the resolved config is TOML");
    assert_eq!(
        &Config::resolve(c.task, &again).expect("it resolves again"),
        c
    );
}

#[test]
fn config_files_and_set_flags_never_panic() {
    let dir = scratch_dir();
    let path = dir.path().join("c.toml");
    let mut rng = Rng::new(2);
    let mut panics = Panics::new("config");
    for task in [TaskKind::Reach, TaskKind::Mnist] {
        let good = Config::defaults(task).to_toml();
        for _ in 0..600 {
            let text = mutate_config(&good, &mut rng);
            std::fs::write(&path, &text).unwrap();
            panics.check(
                || format!("config file:\n{text}"),
                || {
                    if let Ok(c) =
                        Config::load_overlay(&path).and_then(|table| Config::resolve(task, &table))
                    {
                        use_config(&c);
                    }
                },
            );
        }
    }
    // --set: keys of the config (and a few that are not), any value, over a mutated file.
    let keys: Vec<String> = {
        let text = Config::defaults(TaskKind::Reach).to_toml();
        let mut section = String::new();
        let mut keys = vec!["nokey".to_string(), "train..lr".into(), ".x".into()];
        for l in text.lines() {
            if let Some(s) = l.strip_prefix('[') {
                section = format!("{}.", s.trim_end_matches(']'));
            } else if let Some((k, _)) = l.split_once(" = ") {
                keys.push(format!("{section}{k}"));
                keys.push(k.to_string());
            }
        }
        keys
    };
    for _ in 0..600 {
        let set: Vec<String> = (0..1 + rng.below(3))
            .map(|_| {
                let key = &keys[rng.below(keys.len())];
                match rng.below(6) {
                    0 => key.clone(),
                    1 => format!("{key}=[1, 2"),
                    _ => format!("{key}={}", VALUES[rng.below(VALUES.len())]),
                }
            })
            .collect();
        let text = mutate_config("epochs = 3\n[train]\nhorizon = 2\n", &mut rng);
        std::fs::write(&path, &text).unwrap();
        let mut overrides = Overrides {
            file: Some(path.clone()),
            settings: Vec::new(),
        };
        let feedback = rng.below(3) as i64;
        let section = ["reach", "mnist"][rng.below(2)];
        if rng.below(2) == 0 {
            overrides.set(&format!("{section}.feedback_interval"), feedback.into());
        }
        panics.check(
            || format!("--set {set:?} over the file:\n{text}"),
            || {
                for kv in &set {
                    if overrides.set_text(kv).is_err() {
                        return;
                    }
                }
                if let Ok(c) = overrides.resolve(TaskKind::Reach, &Default::default()) {
                    use_config(&c);
                }
            },
        );
    }
    panics.assert_none();
}

/// A small ccRNN with a sparse cerebellum, saved as a run saves it.
fn small_model_file(path: &Path) -> Config {
    let mut c = Config::defaults(TaskKind::Reach);
    c.cortex.hidden = 4;
    c.cerebellum.granule = 6;
    c.cerebellum.sparse_k = Some(3);
    let s = c.task_sizes();
    let model = Model::<f32>::new(&c.model_spec(s.input, s.output, s.context), c.seed);
    model
        .save(path, &ccdni::model_file::metadata("ccRNN", c.seed, &c))
        .unwrap();
    c
}

#[test]
fn safetensors_files_and_model_files_never_panic() {
    let dir = scratch_dir();
    let good_path = dir.path().join("good.safetensors");
    let config = small_model_file(&good_path);
    let good = std::fs::read(&good_path).unwrap();
    let path = dir.path().join("m.safetensors");
    let mut rng = Rng::new(3);
    let mut panics = Panics::new("safetensors and model files");
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut inputs = mutations(&good, &mut rng, 400, 400, 50);
    // Flips within the header, where the structure is.
    for _ in 0..600 {
        let mut b = good.clone();
        let i = 8 + rng.below(header_len);
        b[i] = b"0123456789[]{},:\"FI -e"[rng.below(22)];
        inputs.push(b);
    }
    // Absurd and near-miss header lengths.
    for n in [
        u64::MAX,
        u64::MAX / 2,
        100_000_000,
        100_000_001,
        (good.len() - 8) as u64,
        (good.len() - 7) as u64,
        header_len as u64 - 1,
        header_len as u64 + 1,
        0,
    ] {
        let mut b = good.clone();
        b[..8].copy_from_slice(&n.to_le_bytes());
        inputs.push(b);
    }
    for bytes in &inputs {
        std::fs::write(&path, bytes).unwrap();
        panics.check(
            || hex(bytes),
            || {
                let _ = ccdni::model_file::load(&path);
            },
        );
    }
    // The stored config mutated, the tensors intact: the loader must build only what fits.
    let (tensors, meta) = safetensors::read(&good_path).unwrap();
    let stored: Vec<(&str, &[usize], &[f32])> = tensors
        .iter()
        .map(|t| (t.name.as_str(), &t.shape[..], &t.data[..]))
        .collect();
    let text = config.to_toml();
    for _ in 0..300 {
        let mut meta = meta.clone();
        let mutated = mutate_config(&text, &mut rng);
        meta.insert("config".into(), mutated.clone());
        safetensors::write(&path, &stored, &meta).unwrap();
        let settings: Vec<(String, toml::Value)> = (0..rng.below(3))
            .map(|_| {
                let key =
                    ["task", "seed", "mnist.variant", "reach.steps", "eval_batch"][rng.below(5)];
                let value = VALUES[rng.below(VALUES.len())];
                let parsed: toml::Table = format!("v = {value}").parse().unwrap_or_default();
                let value = parsed.get("v").cloned().unwrap_or(toml::Value::Integer(0));
                (key.to_string(), value)
            })
            .collect();
        panics.check(
            || format!("config metadata:\n{mutated}\neval settings {settings:?}"),
            || {
                if let Ok(saved) = ccdni::model_file::load(&path) {
                    let _ = ccdni::job::eval::config_for(&saved, &path, &settings);
                }
            },
        );
    }
    panics.assert_none();
}
