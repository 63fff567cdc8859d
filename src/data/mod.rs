//! Data layer: for the sequential-MNIST tasks, IDX files, the four-file data sets, where they
//! live on disk, how to download them, and the train/validation split; for the file task, arrays
//! from `.npy`, `.npz` and safetensors files ([`arrays`], [`npz`]); the atomic writes every file
//! ccdni rewrites goes through.

pub mod arrays;
pub mod fetch;
pub mod idx;
pub mod npy;
pub mod npz;
pub mod safetensors;
pub mod split;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use std::io::Write;

pub use idx::{Images, read_images, read_labels, write_images, write_labels};

/// The four files of an MNIST-style data set, without the optional `.gz`, in the order
/// train images, train labels, test images, test labels.
pub const FILE_STEMS: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Number of classes: labels must lie in `0..NUM_CLASSES`.
pub const NUM_CLASSES: u8 = 10;

/// Environment variable naming the folder that holds the data set's files.
pub const DATA_DIR_ENV: &str = "CCDNI_DATA_DIR";
/// Environment variable naming the cache folder (one subfolder per data set).
pub const CACHE_DIR_ENV: &str = "CCDNI_CACHE_DIR";

/// An MNIST-style data set: training and test images with their labels.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The 60000 training images (of MNIST; tests may use fewer).
    pub train_images: Images,
    /// One label in `0..10` per training image.
    pub train_labels: Vec<u8>,
    /// The 10000 test images.
    pub test_images: Images,
    /// One label in `0..10` per test image.
    pub test_labels: Vec<u8>,
}

/// Loads the four standard files from `dir`, each gzipped or not (`name` or `name.gz`), and checks
/// that every image has a label, that labels lie in `0..10`, and that all images share one size.
pub fn load_dataset(dir: &Path) -> Result<Dataset> {
    if !dir.is_dir() {
        bail!(
            "data folder {} does not exist or is not a folder (it should hold {})",
            dir.display(),
            looked_for_all()
        );
    }
    let [train_i, train_l, test_i, test_l] = FILE_STEMS.map(|stem| find_file(dir, stem));
    let train_images_path = train_i?;
    let test_images_path = test_i?;
    let train_images = read_images(&train_images_path)?;
    let test_images = read_images(&test_images_path)?;
    let train_labels = read_checked_labels(&train_l?, &train_images_path, &train_images)?;
    let test_labels = read_checked_labels(&test_l?, &test_images_path, &test_images)?;
    if (test_images.rows, test_images.cols) != (train_images.rows, train_images.cols) {
        bail!(
            "{} holds {}x{} images but {} holds {}x{} images",
            train_images_path.display(),
            train_images.rows,
            train_images.cols,
            test_images_path.display(),
            test_images.rows,
            test_images.cols
        );
    }
    Ok(Dataset {
        train_images,
        train_labels,
        test_images,
        test_labels,
    })
}

/// The folder holding `dataset`'s files: `flag` if given, else `$CCDNI_DATA_DIR`, else
/// `<cache>/<dataset>` with the cache folder of [`default_cache_dir`]. The folder need not exist.
pub fn resolve_data_dir(flag: Option<&Path>, dataset: &str) -> Result<PathBuf> {
    resolve_data_dir_with(flag, dataset, env_var)
}

/// The cache folder: `$CCDNI_CACHE_DIR`, else `$HOME/.cache/ccdni`.
pub fn default_cache_dir() -> Result<PathBuf> {
    cache_dir_with(env_var)
}

/// A non-empty environment variable.
fn env_var(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

fn resolve_data_dir_with(
    flag: Option<&Path>,
    dataset: &str,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = env(DATA_DIR_ENV) {
        return Ok(PathBuf::from(dir));
    }
    Ok(cache_dir_with(env)?.join(dataset))
}

fn cache_dir_with(env: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf> {
    if let Some(dir) = env(CACHE_DIR_ENV) {
        return Ok(PathBuf::from(dir));
    }
    match env("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("ccdni")),
        None => bail!("no data folder: pass one, or set {DATA_DIR_ENV}, {CACHE_DIR_ENV} or HOME"),
    }
}

/// `dir/stem` if it exists, else `dir/stem.gz`, else an error naming both.
fn find_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    let plain = dir.join(stem);
    let gz = dir.join(format!("{stem}.gz"));
    if plain.is_file() {
        Ok(plain)
    } else if gz.is_file() {
        Ok(gz)
    } else {
        bail!(
            "data folder {} lacks {stem} (looked for {stem} and {stem}.gz; the folder should \
             hold {})",
            dir.display(),
            looked_for_all()
        )
    }
}

/// The four file names, each with its optional `.gz`.
fn looked_for_all() -> String {
    FILE_STEMS.map(|s| format!("{s}[.gz]")).join(", ")
}

/// Reads labels and checks that there is one per image and that each lies in `0..10`.
fn read_checked_labels(path: &Path, images_path: &Path, images: &Images) -> Result<Vec<u8>> {
    let labels = read_labels(path)?;
    if labels.len() != images.count {
        bail!(
            "{} holds {} labels but {} holds {} images",
            path.display(),
            labels.len(),
            images_path.display(),
            images.count
        );
    }
    if let Some(i) = labels.iter().position(|&l| l >= NUM_CLASSES) {
        bail!(
            "{}: label {} at index {i} is outside 0..{NUM_CLASSES}",
            path.display(),
            labels[i]
        );
    }
    Ok(labels)
}

/// The most bytes a file of settings (TOML) may hold.
pub const SETTINGS_CAP: u64 = 16 << 20;
/// The most bytes a JSON file (captions, results, image ids, a vocabulary) may hold.
pub const JSON_CAP: u64 = 1 << 30;

/// The bytes of `path`, refusing, after reading at most `cap` + 1 bytes, a file or stream (a
/// pipe, a device such as /dev/zero) that holds more than `cap`.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        bail!(
            "{} holds more than {} MiB, more than ccdni reads from such a file (is it the right file?)",
            path.display(),
            cap >> 20
        );
    }
    Ok(bytes)
}

/// [`read_capped`] as UTF-8 text.
pub fn read_text_capped(path: &Path, cap: u64) -> Result<String> {
    String::from_utf8(read_capped(path, cap)?)
        .map_err(|e| anyhow::anyhow!("{} is not UTF-8 text: {e}", path.display()))
}

/// Writes `bytes` to `path` through a temporary file in the same folder, fsynced and renamed
/// (then the folder fsynced), so `path` holds the old bytes or the new ones, whatever happens.
///
/// For the crash tests only: with `CCDNI_TEST_WRITE_PAUSE_MS=<ms>` in the environment, each
/// write pauses that long halfway through its temporary file, so a test can kill the process
/// in the middle of a write.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let pause = std::env::var("CCDNI_TEST_WRITE_PAUSE_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(std::time::Duration::from_millis);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        let (first, rest) = bytes.split_at(bytes.len() / 2);
        f.write_all(first)?;
        if let Some(pause) = pause {
            f.flush()?;
            std::thread::sleep(pause);
        }
        f.write_all(rest)?;
        f.sync_all()
    };
    let written = write()
        .with_context(|| format!("cannot write {}", tmp.display()))
        .and_then(|()| {
            std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
        });
    if written.is_err() {
        // A full disk or a failed rename leaves no temporary file behind; the old file stays.
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Makes the rename itself durable; some file systems cannot sync a folder.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::idx::tests::{err_text, temp_dir, tiny_images};
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_one() {
        let dir = temp_dir("atomic");
        let path = dir.join("f");
        write_atomically(&path, b"old").unwrap();
        // A folder in the way of the temporary file: the write fails before the rename.
        let tmp = dir.join(format!("f.tmp-{}", std::process::id()));
        std::fs::create_dir(&tmp).unwrap();
        std::fs::write(tmp.join("x"), "").unwrap();
        assert!(write_atomically(&path, b"new").is_err());
        std::fs::remove_dir_all(&tmp).unwrap();
        // A non-empty folder at the path: the rename fails, the temporary file goes.
        let blocked = dir.join("g");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("x"), "").unwrap();
        let msg = format!("{:#}", write_atomically(&blocked, b"new").unwrap_err());
        assert!(msg.contains("cannot write"), "{msg}");
        let mut left: Vec<String> = std::fs::read_dir(&*dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["f", "g"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }

    /// Writes a tiny data set (4 train, 2 test images) into `dir`, gzipping the train files.
    fn write_tiny(dir: &Path, train_labels: &[u8]) {
        write_images(
            &dir.join("train-images-idx3-ubyte.gz"),
            &tiny_images(4),
            true,
        )
        .unwrap();
        write_labels(&dir.join("train-labels-idx1-ubyte.gz"), train_labels, true).unwrap();
        write_images(&dir.join("t10k-images-idx3-ubyte"), &tiny_images(2), false).unwrap();
        write_labels(&dir.join("t10k-labels-idx1-ubyte"), &[5, 6], false).unwrap();
    }

    #[test]
    fn loads_plain_and_gzipped_files() {
        let dir = temp_dir("ds-ok");
        write_tiny(&dir, &[0, 1, 2, 9]);
        let ds = load_dataset(&dir).unwrap();
        assert_eq!(ds.train_images, tiny_images(4));
        assert_eq!(ds.train_labels, vec![0, 1, 2, 9]);
        assert_eq!(ds.test_images.count, 2);
        assert_eq!(ds.test_labels, vec![5, 6]);
    }

    #[test]
    fn count_mismatch_is_refused() {
        let dir = temp_dir("ds-count");
        write_tiny(&dir, &[0, 1, 2]);
        let msg = err_text(load_dataset(&dir));
        assert!(
            msg.contains("train-labels-idx1-ubyte.gz holds 3 labels"),
            "{msg}"
        );
        assert!(
            msg.contains("train-images-idx3-ubyte.gz holds 4 images"),
            "{msg}"
        );
    }

    #[test]
    fn out_of_range_label_is_refused() {
        let dir = temp_dir("ds-label");
        write_tiny(&dir, &[0, 1, 10, 2]);
        let msg = err_text(load_dataset(&dir));
        assert!(
            msg.contains("label 10 at index 2 is outside 0..10"),
            "{msg}"
        );
    }

    #[test]
    fn missing_file_names_folder_and_candidates() {
        let dir = temp_dir("ds-missing");
        write_tiny(&dir, &[0, 1, 2, 3]);
        std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte")).unwrap();
        let msg = err_text(load_dataset(&dir));
        assert!(msg.contains(&dir.display().to_string()), "{msg}");
        assert!(
            msg.contains("lacks t10k-labels-idx1-ubyte (looked for t10k-labels-idx1-ubyte and t10k-labels-idx1-ubyte.gz"),
            "{msg}"
        );
    }

    #[test]
    fn missing_folder_is_named() {
        let root = temp_dir("ds-nofolder");
        let dir = root.join("absent");
        let msg = err_text(load_dataset(&dir));
        assert!(msg.contains(&format!("data folder {} does not exist", dir.display())));
        assert!(msg.contains("train-images-idx3-ubyte[.gz]"), "{msg}");
    }

    #[test]
    fn image_sizes_must_agree() {
        let dir = temp_dir("ds-size");
        write_tiny(&dir, &[0, 1, 2, 3]);
        let mut wide = tiny_images(2);
        wide.cols = 3;
        wide.rows = 2;
        write_images(&dir.join("t10k-images-idx3-ubyte"), &wide, false).unwrap();
        let msg = err_text(load_dataset(&dir));
        assert!(msg.contains("holds 3x2 images but"), "{msg}");
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, OsString)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn data_dir_precedence() {
        let all = env_of(&[
            (DATA_DIR_ENV, "/env/data"),
            (CACHE_DIR_ENV, "/env/cache"),
            ("HOME", "/home/u"),
        ]);
        let flag = Path::new("/flag");
        let r = |f, env| resolve_data_dir_with(f, "mnist", env).unwrap();
        assert_eq!(r(Some(flag), &all), PathBuf::from("/flag"));
        assert_eq!(r(None, &all), PathBuf::from("/env/data"));
        let cache = env_of(&[(CACHE_DIR_ENV, "/env/cache"), ("HOME", "/home/u")]);
        assert_eq!(r(None, &cache), PathBuf::from("/env/cache/mnist"));
        let home = env_of(&[("HOME", "/home/u")]);
        assert_eq!(r(None, &home), PathBuf::from("/home/u/.cache/ccdni/mnist"));
        let none = env_of(&[]);
        let msg = err_text(resolve_data_dir_with(None, "mnist", none));
        assert!(msg.contains(DATA_DIR_ENV), "{msg}");
    }
}
