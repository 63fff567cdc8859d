//! Downloads against a tiny hand-written HTTP/1.1 server on 127.0.0.1: checksums, resume with
//! `Range`, retries, refusal of wrong bytes, mirror fallback and skipping of verified files.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ccdni::data::fetch::{FetchOptions, FileSpec, Unwatched, fetch_files, sha256_file};

/// How the test server misbehaves.
#[derive(Clone, Default)]
struct Behaviour {
    /// Answer the first this many requests with 503.
    fail_first: usize,
    /// Cut the body of the first this many successful responses in half, then hang up.
    cut_first: usize,
    /// Ignore `Range` and always send the whole file with 200.
    ignore_range: bool,
}

/// One request as the server saw it: path and `Range` header.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    path: String,
    range: Option<String>,
}

/// A server thread on a loopback port serving `files` (path -> bytes).
struct Server {
    base: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn start(files: HashMap<String, Vec<u8>>, behaviour: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/data/", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = ServerState {
            files,
            behaviour,
            log: Arc::clone(&log),
            requests: 0,
            bodies: 0,
        };
        std::thread::spawn(move || state.run(listener));
        Server { base, log }
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
}

struct ServerState {
    files: HashMap<String, Vec<u8>>,
    behaviour: Behaviour,
    log: Arc<Mutex<Vec<Seen>>>,
    requests: usize,
    bodies: usize,
}

impl ServerState {
    fn run(mut self, listener: TcpListener) {
        for stream in listener.incoming().flatten() {
            // A client that hangs up early must not stop the server.
            let _ = self.serve(stream);
        }
    }

    fn serve(&mut self, mut stream: TcpStream) -> std::io::Result<()> {
        let seen = read_request(&stream)?;
        self.log.lock().unwrap().push(seen.clone());
        self.requests += 1;
        if self.requests <= self.behaviour.fail_first {
            return respond(&mut stream, "503 Service Unavailable", &[], b"");
        }
        let Some(body) = seen
            .path
            .strip_prefix("/data/")
            .and_then(|n| self.files.get(n))
        else {
            return respond(&mut stream, "404 Not Found", &[], b"");
        };
        let body = body.clone();
        let start = match seen.range.as_deref() {
            Some(r) if !self.behaviour.ignore_range => parse_range(r),
            _ => 0,
        };
        if start >= body.len() && start > 0 {
            let range = format!("Content-Range: bytes */{}", body.len());
            return respond(&mut stream, "416 Range Not Satisfiable", &[range], b"");
        }
        self.bodies += 1;
        let cut = self.bodies <= self.behaviour.cut_first;
        if start > 0 {
            let range = format!(
                "Content-Range: bytes {start}-{}/{}",
                body.len() - 1,
                body.len()
            );
            send_body(
                &mut stream,
                "206 Partial Content",
                &[range],
                &body[start..],
                cut,
            )
        } else {
            send_body(&mut stream, "200 OK", &[], &body, cut)
        }
    }
}

/// Reads the request line and headers.
fn read_request(stream: &TcpStream) -> std::io::Result<Seen> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut range = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("range")
        {
            range = Some(value.trim().to_string());
        }
    }
    Ok(Seen { path, range })
}

/// The start of `bytes=N-`.
fn parse_range(range: &str) -> usize {
    range
        .strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Sends `body` with a `Content-Length` for all of it; if `cut`, only its first half arrives.
fn send_body(
    stream: &mut TcpStream,
    status: &str,
    headers: &[String],
    body: &[u8],
    cut: bool,
) -> std::io::Result<()> {
    if !cut {
        return respond(stream, status, headers, body);
    }
    write_head(stream, status, headers, body.len())?;
    stream.write_all(&body[..body.len() / 2])?;
    stream.flush()
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[String],
    body: &[u8],
) -> std::io::Result<()> {
    write_head(stream, status, headers, body.len())?;
    stream.write_all(body)?;
    stream.flush()
}

fn write_head(
    stream: &mut TcpStream,
    status: &str,
    headers: &[String],
    len: usize,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())
}

/// Deterministic pseudo-random content of `len` bytes.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Two files, "a.gz" and "b.gz", with their checksums.
struct Fixture {
    files: HashMap<String, Vec<u8>>,
    sums: Vec<(String, String)>,
}

impl Fixture {
    fn new() -> Fixture {
        let files: HashMap<String, Vec<u8>> = [("a.gz", 1), ("b.gz", 2)]
            .into_iter()
            .map(|(name, seed)| (name.to_string(), content(seed, 40_000)))
            .collect();
        let dir = temp_dir("fixture");
        let mut sums: Vec<(String, String)> = files
            .iter()
            .map(|(name, bytes)| {
                let path = dir.join(name);
                std::fs::write(&path, bytes).unwrap();
                (name.clone(), sha256_file(&path).unwrap())
            })
            .collect();
        sums.sort();
        Fixture { files, sums }
    }

    fn specs(&self) -> Vec<FileSpec<'_>> {
        self.sums
            .iter()
            .map(|(name, sha256)| FileSpec { name, sha256 })
            .collect()
    }

    /// The same names with every byte flipped: the checksums will not match.
    fn corrupted(&self) -> HashMap<String, Vec<u8>> {
        self.files
            .iter()
            .map(|(n, b)| (n.clone(), b.iter().map(|x| !x).collect()))
            .collect()
    }

    /// Asserts that `dir` holds exactly the verified files and no `.part`.
    fn assert_fetched(&self, dir: &Path) {
        for (name, bytes) in &self.files {
            assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
        }
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), self.files.len());
    }
}

/// A fresh, empty folder, removed with everything in it when the value is dropped (at the end
/// of the test, passed or failed).
struct TempDir(tempfile::TempDir);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

fn temp_dir(tag: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("ccdni-fetch-{tag}-"))
        .tempdir()
        .expect("a temporary folder");
    TempDir(dir)
}

fn options() -> FetchOptions {
    FetchOptions {
        attempts: 3,
        backoff: Duration::from_millis(5),
        timeout: Duration::from_secs(2),
    }
}

/// Fetches the fixture's files from `server` alone into `dir`.
fn fetch_one(fx: &Fixture, server: &Server, dir: &Path) -> anyhow::Result<()> {
    fetch_files(
        &fx.specs(),
        std::slice::from_ref(&server.base),
        dir,
        &options(),
        &Unwatched,
    )
}

/// A loopback base URL on which nothing listens.
fn dead_mirror() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/data/", listener.local_addr().unwrap())
}

#[test]
fn fetches_and_verifies() {
    let fx = Fixture::new();
    let server = Server::start(fx.files.clone(), Behaviour::default());
    let root = temp_dir("ok");
    let dir = root.join("mnist");
    fetch_one(&fx, &server, &dir).unwrap();
    fx.assert_fetched(&dir);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.range.is_none()));
}

#[test]
fn resumes_a_partial_file() {
    let fx = Fixture::new();
    let server = Server::start(fx.files.clone(), Behaviour::default());
    let dir = temp_dir("resume");
    std::fs::write(dir.join("a.gz.part"), &fx.files["a.gz"][..1000]).unwrap();
    fetch_one(&fx, &server, &dir).unwrap();
    fx.assert_fetched(&dir);
    let a = Seen {
        path: "/data/a.gz".into(),
        range: Some("bytes=1000-".into()),
    };
    assert_eq!(server.seen()[0], a);
}

#[test]
fn resumes_after_a_cut_response() {
    let fx = Fixture::new();
    let behaviour = Behaviour {
        cut_first: 1,
        ..Behaviour::default()
    };
    let server = Server::start(fx.files.clone(), behaviour);
    let dir = temp_dir("cut");
    fetch_one(&fx, &server, &dir).unwrap();
    fx.assert_fetched(&dir);
    let ranges: Vec<_> = server.seen().into_iter().map(|s| s.range).collect();
    assert_eq!(ranges, [None, Some("bytes=20000-".into()), None]);
}

#[test]
fn starts_afresh_when_the_server_ignores_range() {
    let fx = Fixture::new();
    let behaviour = Behaviour {
        ignore_range: true,
        ..Behaviour::default()
    };
    let server = Server::start(fx.files.clone(), behaviour);
    let dir = temp_dir("norange");
    std::fs::write(dir.join("b.gz.part"), &fx.files["b.gz"][..5000]).unwrap();
    fetch_one(&fx, &server, &dir).unwrap();
    fx.assert_fetched(&dir);
}

#[test]
fn a_stale_partial_file_is_replaced() {
    let fx = Fixture::new();
    let server = Server::start(fx.files.clone(), Behaviour::default());
    let dir = temp_dir("stale");
    std::fs::write(dir.join("a.gz.part"), vec![7u8; 3000]).unwrap();
    fetch_one(&fx, &server, &dir).unwrap();
    fx.assert_fetched(&dir);
    let ranges: Vec<_> = server.seen().into_iter().map(|s| s.range).collect();
    assert_eq!(ranges, [Some("bytes=3000-".into()), None, None]);
}

#[test]
fn retries_after_transient_failures() {
    let fx = Fixture::new();
    let behaviour = Behaviour {
        fail_first: 2,
        ..Behaviour::default()
    };
    let server = Server::start(fx.files.clone(), behaviour);
    let dir = temp_dir("retry");
    fetch_one(&fx, &server, &dir).unwrap();
    fx.assert_fetched(&dir);
    assert_eq!(server.seen().len(), 4);
}

#[test]
fn gives_up_after_the_last_attempt() {
    let fx = Fixture::new();
    let behaviour = Behaviour {
        fail_first: 100,
        ..Behaviour::default()
    };
    let server = Server::start(fx.files.clone(), behaviour);
    let dir = temp_dir("giveup");
    let err = fetch_one(&fx, &server, &dir).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("cannot fetch a.gz"), "{msg}");
    assert!(msg.contains("gave up after 3 attempts"), "{msg}");
    assert!(msg.contains("HTTP status 503"), "{msg}");
    assert_eq!(server.seen().len(), 3);
}

#[test]
fn wrong_checksum_is_refused() {
    let fx = Fixture::new();
    let server = Server::start(fx.corrupted(), Behaviour::default());
    let dir = temp_dir("badsum");
    let err = fetch_one(&fx, &server, &dir).unwrap_err();
    let msg = format!("{err:#}");
    let expected = &fx.sums[0].1;
    assert!(msg.contains("a.gz: checksum mismatch"), "{msg}");
    assert!(
        msg.contains(&format!("expected sha256 {expected}, got ")),
        "{msg}"
    );
    assert!(!dir.join("a.gz").exists());
    assert!(!dir.join("a.gz.part").exists());
}

#[test]
fn falls_back_to_the_next_mirror() {
    let fx = Fixture::new();
    let bad = Server::start(fx.corrupted(), Behaviour::default());
    let good = Server::start(fx.files.clone(), Behaviour::default());
    let empty = Server::start(HashMap::new(), Behaviour::default());
    let mirrors = [
        dead_mirror(),
        empty.base.clone(),
        bad.base.clone(),
        good.base.clone(),
    ];
    let dir = temp_dir("fallback");
    fetch_files(&fx.specs(), &mirrors, &dir, &options(), &Unwatched).unwrap();
    fx.assert_fetched(&dir);
    assert_eq!(empty.seen().len(), 2, "a 404 is not retried");
    assert_eq!(bad.seen().len(), 2);
    assert_eq!(good.seen().len(), 2);
}

#[test]
fn good_files_are_not_downloaded_again() {
    let fx = Fixture::new();
    let server = Server::start(fx.files.clone(), Behaviour::default());
    let dir = temp_dir("present");
    std::fs::write(dir.join("a.gz"), &fx.files["a.gz"]).unwrap();
    std::fs::write(dir.join("b.gz"), b"not the right bytes").unwrap();
    fetch_one(&fx, &server, &dir).unwrap();
    fx.assert_fetched(&dir);
    let paths: Vec<_> = server.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/data/b.gz"]);
}

#[test]
fn a_failed_tls_handshake_falls_back_cleanly() {
    let fx = Fixture::new();
    let plain = Server::start(fx.files.clone(), Behaviour::default());
    let good = Server::start(fx.files.clone(), Behaviour::default());
    let not_tls = plain.base.replacen("http://", "https://", 1);
    let dir = temp_dir("tls");
    fetch_files(
        &fx.specs(),
        &[not_tls, good.base.clone()],
        &dir,
        &options(),
        &Unwatched,
    )
    .unwrap();
    fx.assert_fetched(&dir);
    assert_eq!(good.seen().len(), 2);
}
