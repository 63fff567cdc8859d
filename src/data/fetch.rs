//! Downloading MNIST-style data sets into a cache folder, with SHA-256 checks, resume of partial
//! downloads (HTTP `Range`), retries with exponential backoff, and fallback between mirrors.
//!
//! A file is downloaded to `<name>.part` and renamed to `<name>` only once its checksum matches,
//! so a file under its final name is always a verified one. How a download goes is told to a
//! [`Transfer`] (the command line draws a progress bar from it); nothing here prints.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};
use ureq::Agent;
use ureq::http::Response;

/// One file of a data set and the SHA-256 (lowercase hex) of its exact bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSpec<'a> {
    /// File name, appended to a mirror's base URL and used in the cache folder.
    pub name: &'a str,
    /// Expected SHA-256 of the file, as 64 hex digits.
    pub sha256: &'a str,
}

/// The four canonical gzipped MNIST files, as served by the mirrors below.
pub const MNIST_FILES: [FileSpec<'static>; 4] = [
    FileSpec {
        name: "train-images-idx3-ubyte.gz",
        sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    },
    FileSpec {
        name: "train-labels-idx1-ubyte.gz",
        sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    },
    FileSpec {
        name: "t10k-images-idx3-ubyte.gz",
        sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    },
    FileSpec {
        name: "t10k-labels-idx1-ubyte.gz",
        sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
];

/// The four canonical gzipped Fashion-MNIST files (checksums published with the data set).
pub const FASHION_MNIST_FILES: [FileSpec<'static>; 4] = [
    FileSpec {
        name: "train-images-idx3-ubyte.gz",
        sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    },
    FileSpec {
        name: "train-labels-idx1-ubyte.gz",
        sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    },
    FileSpec {
        name: "t10k-images-idx3-ubyte.gz",
        sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    },
    FileSpec {
        name: "t10k-labels-idx1-ubyte.gz",
        sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
];

/// Base URLs serving the MNIST files, tried in order.
pub const DEFAULT_MNIST_MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// Base URLs serving the Fashion-MNIST files, tried in order.
pub const DEFAULT_FASHION_MNIST_MIRRORS: &[&str] = &[
    "https://fashion-mnist.s3.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
];

/// The data sets [`fetch`] knows.
pub const DATASETS: &[&str] = &["mnist", "fashion-mnist"];

/// What a download tells as it goes. Every method defaults to doing nothing.
pub trait Transfer: Sync {
    /// The download of the file `name` starts at byte `at` of `total` (when the server says).
    fn start(&self, _name: &str, _total: Option<u64>, _at: u64) {}
    /// `bytes` more have arrived.
    fn bytes(&self, _bytes: u64) {}
    /// The download has ended (whole or not).
    fn end(&self) {}
    /// A retry, or a download started again.
    fn note(&self, _text: &str) {}
}

/// A transfer nobody watches.
pub struct Unwatched;

impl Transfer for Unwatched {}

/// How [`fetch_files`] downloads.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Attempts per file and mirror before moving on to the next mirror (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; it doubles for each further attempt.
    pub backoff: Duration,
    /// Longest silence from the server, while connecting or reading, before an attempt fails.
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            attempts: 4,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Downloads the four files of `dataset` (`"mnist"` or `"fashion-mnist"`) into
/// `<cache_dir>/<dataset>/` and returns that folder. Each file comes from the first of `mirrors`
/// (base URLs; the file name is appended) that serves it with the right checksum; an empty
/// `mirrors` means the data set's default mirrors. Files already there with the right checksum
/// are kept.
pub fn fetch(
    dataset: &str,
    mirrors: &[String],
    cache_dir: &Path,
    transfer: &dyn Transfer,
) -> Result<PathBuf> {
    let (files, defaults) = known_dataset(dataset)?;
    let mirrors: Vec<String> = if mirrors.is_empty() {
        defaults.iter().map(|m| m.to_string()).collect()
    } else {
        mirrors.to_vec()
    };
    let dir = cache_dir.join(dataset);
    fetch_files(files, &mirrors, &dir, &FetchOptions::default(), transfer)?;
    Ok(dir)
}

/// Downloads each of `files` into `dir` (created if needed) from the first of `mirrors` that
/// serves it with the expected checksum, skipping files already present with that checksum.
pub fn fetch_files(
    files: &[FileSpec],
    mirrors: &[String],
    dir: &Path,
    options: &FetchOptions,
    transfer: &dyn Transfer,
) -> Result<()> {
    if mirrors.is_empty() {
        bail!("no mirror to download from");
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let fetcher = Fetcher {
        agent: make_agent(options),
        options,
        transfer,
    };
    for spec in files {
        fetcher.fetch_file(spec, mirrors, dir)?;
    }
    Ok(())
}

/// Downloads with one agent, as `options` say, telling `transfer` how it goes.
struct Fetcher<'a> {
    agent: Agent,
    options: &'a FetchOptions,
    transfer: &'a dyn Transfer,
}

/// The SHA-256 of the file at `path`, as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The file table and default mirrors of a known data set.
fn known_dataset(dataset: &str) -> Result<(&'static [FileSpec<'static>], &'static [&'static str])> {
    match dataset {
        "mnist" => Ok((&MNIST_FILES, DEFAULT_MNIST_MIRRORS)),
        "fashion-mnist" => Ok((&FASHION_MNIST_FILES, DEFAULT_FASHION_MNIST_MIRRORS)),
        _ => bail!(
            "unknown data set {dataset:?}: known ones are {}",
            DATASETS.join(", ")
        ),
    }
}

/// An HTTP client that reports every status to the caller instead of failing on 4xx/5xx.
fn make_agent(options: &FetchOptions) -> Agent {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(options.timeout))
        .timeout_per_read(Some(options.timeout))
        .user_agent(concat!("ccdni/", env!("CARGO_PKG_VERSION")))
        .build();
    Agent::new_with_config(config)
}

/// Checks the checksum of `part`, deleting it if wrong.
fn verify(part: &Path, spec: &FileSpec) -> Result<()> {
    let actual = sha256_file(part)?;
    if actual.eq_ignore_ascii_case(spec.sha256) {
        return Ok(());
    }
    fs::remove_file(part).with_context(|| format!("cannot delete {}", part.display()))?;
    bail!(
        "{}: checksum mismatch: expected sha256 {}, got {actual}; download discarded",
        spec.name,
        spec.sha256
    )
}

/// Length of the file at `path`, 0 if there is none.
fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Why an attempt failed: worth retrying, or not.
enum Failure {
    Transient(anyhow::Error),
    Permanent(anyhow::Error),
}

impl Fetcher<'_> {
    /// Makes `dir/<name>` a verified copy of the file, trying the mirrors in order.
    fn fetch_file(&self, spec: &FileSpec, mirrors: &[String], dir: &Path) -> Result<()> {
        let target = dir.join(spec.name);
        if target.is_file() && sha256_file(&target)?.eq_ignore_ascii_case(spec.sha256) {
            return Ok(());
        }
        let part = dir.join(format!("{}.part", spec.name));
        let mut failures = Vec::new();
        for mirror in mirrors {
            let url = format!("{}/{}", mirror.trim_end_matches('/'), spec.name);
            match self.fetch_from(&url, spec, &part) {
                Ok(()) => {
                    return fs::rename(&part, &target).with_context(|| {
                        format!("cannot move {} to {}", part.display(), target.display())
                    });
                }
                Err(e) => failures.push(format!("{url}: {e:#}")),
            }
        }
        bail!(
            "cannot fetch {}: every mirror failed:\n  {}",
            spec.name,
            failures.join("\n  ")
        )
    }

    /// Downloads `url` into `part` (resuming what is there) and verifies it. If a resumed download
    /// fails the check, the old partial data may be to blame, so it is fetched once more from scratch.
    fn fetch_from(&self, url: &str, spec: &FileSpec, part: &Path) -> Result<()> {
        let resumed = file_len(part) > 0;
        self.download(url, part)?;
        match verify(part, spec) {
            Err(e) if resumed => {
                self.transfer
                    .note(&format!("{e:#}; downloading {url} again from the start"));
                self.download(url, part)?;
                verify(part, spec)
            }
            result => result,
        }
    }

    /// Downloads `url` into `part`, retrying transient failures with exponential backoff.
    fn download(&self, url: &str, part: &Path) -> Result<()> {
        let attempts = self.options.attempts.max(1);
        let mut attempt = 1;
        loop {
            match self.download_once(url, part) {
                Ok(()) => return Ok(()),
                Err(Failure::Permanent(e)) => return Err(e),
                Err(Failure::Transient(e)) if attempt >= attempts => {
                    return Err(e.context(format!("gave up after {attempts} attempts")));
                }
                Err(Failure::Transient(e)) => {
                    let wait = self
                        .options
                        .backoff
                        .saturating_mul(1 << (attempt - 1).min(16));
                    self.transfer
                        .note(&format!("{url}: {e:#}; retrying in {wait:?}"));
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
    }

    /// One request for `url`: asks for the bytes after those already in `part` and appends them, or
    /// starts `part` afresh when the server sends the whole file.
    fn download_once(&self, url: &str, part: &Path) -> Result<(), Failure> {
        let have = file_len(part);
        let mut request = self.agent.get(url);
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        let response = request
            .call()
            .map_err(|e| Failure::Transient(anyhow!("request failed: {e}")))?;
        let status = response.status().as_u16();
        let offset = match status {
            200 => 0,
            206 => resume_offset(&response, have, part)?,
            // The partial file already holds at least the whole file: let the checksum judge it.
            416 if have > 0 => return Ok(()),
            408 | 429 | 500..=599 => {
                return Err(Failure::Transient(anyhow!("HTTP status {status}")));
            }
            _ => return Err(Failure::Permanent(anyhow!("HTTP status {status}"))),
        };
        let file = open_part(part, offset).map_err(Failure::Permanent)?;
        let total = header(&response, "content-length")
            .and_then(|v| v.parse::<u64>().ok())
            .map(|len| len + offset);
        let name = part.file_name().map_or(String::new(), |n| {
            n.to_string_lossy().trim_end_matches(".part").to_string()
        });
        self.transfer.start(&name, total, offset);
        let mut body = response.into_body().into_reader();
        let mut out = Counted {
            file,
            transfer: self.transfer,
        };
        let copied = io::copy(&mut body, &mut out);
        self.transfer.end();
        copied.map(|_| ()).map_err(|e| {
            let at = file_len(part);
            Failure::Transient(anyhow!("download interrupted at byte {at}: {e}"))
        })
    }
}

/// A file that tells a transfer how many bytes it takes.
struct Counted<'a> {
    file: File,
    transfer: &'a dyn Transfer,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.transfer.bytes(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The offset a 206 response resumes at, which must be `have`; otherwise the partial file is
/// dropped so that the next attempt starts from scratch.
fn resume_offset(response: &Response<ureq::Body>, have: u64, part: &Path) -> Result<u64, Failure> {
    let range = header(response, "content-range").unwrap_or_default();
    let start = range
        .strip_prefix("bytes ")
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.trim().parse::<u64>().ok());
    if start == Some(have) {
        return Ok(have);
    }
    // Failing to delete only means the next attempt meets the same mismatch again.
    let _ = fs::remove_file(part);
    Err(Failure::Transient(anyhow!(
        "asked for bytes from {have} on, server sent range {range:?}"
    )))
}

/// A response header as text, if present and readable.
fn header(response: &Response<ureq::Body>, name: &str) -> Option<String> {
    let value = response.headers().get(name)?;
    value.to_str().ok().map(str::to_string)
}

/// Opens `part` for writing at `offset`: truncated if 0, appended to otherwise.
fn open_part(part: &Path, offset: u64) -> Result<File> {
    let file = if offset == 0 {
        File::create(part)
    } else {
        OpenOptions::new().append(true).open(part)
    };
    file.with_context(|| format!("cannot write {}", part.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_dataset_is_refused() {
        let e = fetch("cifar", &[], Path::new("/nonexistent"), &Unwatched).unwrap_err();
        assert!(
            format!("{e:#}")
                .contains("unknown data set \"cifar\": known ones are mnist, fashion-mnist")
        );
    }

    #[test]
    fn checksums_are_well_formed() {
        for spec in MNIST_FILES.iter().chain(&FASHION_MNIST_FILES) {
            assert_eq!(spec.sha256.len(), 64);
            assert!(spec.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn sha256_of_a_known_string() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
