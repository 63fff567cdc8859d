//! Reader and writer for the IDX format of MNIST and Fashion-MNIST, gzipped or not.
//!
//! An IDX file is a 4-byte magic (`00 00 <type> <number of dimensions>`), one big-endian `u32`
//! per dimension, then the elements in row-major order. Only the unsigned-byte type (`0x08`) is
//! used by these data sets. A gzipped file is recognised by its first two bytes (`1f 8b`), not by
//! its name. Every error names the file and says what is wrong; no input makes the reader panic.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

/// The element type code of unsigned bytes, the only one MNIST uses.
const TYPE_U8: u8 = 0x08;
/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The most bytes of data ccdni reads from one IDX file (MNIST's largest holds 47 MB).
const MAX_PAYLOAD: u64 = 4 << 30;

/// A stack of equally sized greyscale images, stored image after image, row after row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    /// How many images.
    pub count: usize,
    /// Rows of each image.
    pub rows: usize,
    /// Columns of each image.
    pub cols: usize,
    /// `count * rows * cols` pixel intensities, 0 (background) to 255.
    pub pixels: Vec<u8>,
}

impl Images {
    /// Pixels in one image (`rows * cols`).
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `i`, row after row. Panics if `i >= count`.
    pub fn image(&self, i: usize) -> &[u8] {
        assert!(i < self.count, "image {i} of {}", self.count);
        let n = self.pixels_per_image();
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// Reads an IDX file of images (3 dimensions: count, rows, columns).
pub fn read_images(path: &Path) -> Result<Images> {
    let mut bytes = read_maybe_gzipped(path)?;
    let (dims, header_len) = parse(path, &bytes, 3, "pixels")?;
    bytes.drain(..header_len);
    Ok(Images {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels: bytes,
    })
}

/// Reads an IDX file of labels (1 dimension: count).
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = read_maybe_gzipped(path)?;
    let (_, header_len) = parse(path, &bytes, 1, "labels")?;
    bytes.drain(..header_len);
    Ok(bytes)
}

/// Writes `images` as an IDX file, gzipped if `gzip`.
pub fn write_images(path: &Path, images: &Images, gzip: bool) -> Result<()> {
    let dims = [images.count, images.rows, images.cols];
    let expected = dims.iter().product::<usize>();
    if images.pixels.len() != expected {
        bail!(
            "{}: cannot write images: {} pixels given for {} = {expected}",
            path.display(),
            images.pixels.len(),
            shape(&dims)
        );
    }
    write_idx(path, &dims, &images.pixels, gzip)
}

/// Writes `labels` as an IDX file, gzipped if `gzip`.
pub fn write_labels(path: &Path, labels: &[u8], gzip: bool) -> Result<()> {
    write_idx(path, &[labels.len()], labels, gzip)
}

/// The whole content of `path`, decompressed if it starts with the gzip magic.
fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>> {
    let raw = super::read_capped(path, MAX_PAYLOAD + 4 + 4 * 255)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    read_bounded(MultiGzDecoder::new(raw.as_slice()), path)
}

/// Reads an IDX stream no further than its header allows: the header first, then at most one
/// byte more than the payload its dimensions promise, so a stream that inflates beyond that
/// (a gzip bomb) is refused after reading that much, not after inflating all of it. A stream
/// shorter than its header says is returned whole for [`parse`] to report.
fn read_bounded(mut r: impl Read, path: &Path) -> Result<Vec<u8>> {
    let corrupt = |e: std::io::Error| anyhow!("{}: corrupt gzip stream: {e}", path.display());
    let mut out = Vec::new();
    (&mut r).take(4).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() < 4 {
        return Ok(out);
    }
    let ndims = u64::from(out[3]);
    (&mut r)
        .take(4 * ndims)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    if out.len() as u64 != 4 + 4 * ndims {
        return Ok(out);
    }
    let payload = out[4..]
        .chunks_exact(4)
        .map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .fold(1u64, u64::saturating_mul);
    if payload > MAX_PAYLOAD {
        bail!(
            "{}: the header promises {payload} bytes of data, more than the {} GiB ccdni reads from an IDX file",
            path.display(),
            MAX_PAYLOAD >> 30
        );
    }
    let header_len = out.len() as u64;
    (&mut r)
        .take(payload.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    if out.len() as u64 - header_len > payload {
        // A corrupt stream often decodes to a wrong header first: report the corruption if it
        // shows within a little more of the stream.
        std::io::copy(&mut (&mut r).take(1 << 16), &mut std::io::sink()).map_err(corrupt)?;
        bail!(
            "{}: the decompressed data is longer than its header's {} = {payload} bytes; stopped reading there",
            path.display(),
            shape(
                &out[4..header_len as usize]
                    .chunks_exact(4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
                    .collect::<Vec<_>>()
            )
        );
    }
    Ok(out)
}

/// Checks the header of an IDX file with `ndims` dimensions and returns the dimensions and the
/// header's length; the payload after it must hold exactly as many bytes as the dimensions say
/// (`what` names them).
fn parse(path: &Path, bytes: &[u8], ndims: usize, what: &str) -> Result<(Vec<usize>, usize)> {
    let p = path.display();
    let Some(magic) = bytes.get(..4) else {
        bail!(
            "{p}: too short for an IDX header: {} bytes, need at least 4",
            bytes.len()
        );
    };
    if magic[..2] != [0, 0] {
        bail!(
            "{p}: bad magic {:02x} {:02x} {:02x} {:02x}: an IDX file starts with 00 00",
            magic[0],
            magic[1],
            magic[2],
            magic[3]
        );
    }
    if magic[2] != TYPE_U8 {
        bail!(
            "{p}: unsupported element type 0x{:02x}: only 0x08 (unsigned byte) is supported",
            magic[2]
        );
    }
    if usize::from(magic[3]) != ndims {
        bail!(
            "{p}: wrong number of dimensions: expected {ndims} for {what}, header says {}",
            magic[3]
        );
    }
    let header_len = 4 + 4 * ndims;
    let Some(dim_bytes) = bytes.get(4..header_len) else {
        bail!(
            "{p}: truncated header: {ndims} dimensions need {header_len} bytes, file holds {}",
            bytes.len()
        );
    };
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| anyhow!("{p}: dimensions {} overflow", shape(&dims)))?;
    let payload_len = bytes.len() - header_len;
    check_payload_len(path, &dims, expected, payload_len, header_len, what)?;
    Ok((dims, header_len))
}

/// Fails unless the payload holds exactly `expected` bytes.
fn check_payload_len(
    path: &Path,
    dims: &[usize],
    expected: usize,
    actual: usize,
    header_len: usize,
    what: &str,
) -> Result<()> {
    let problem = match actual.cmp(&expected) {
        std::cmp::Ordering::Equal => return Ok(()),
        std::cmp::Ordering::Less => "truncated".to_string(),
        std::cmp::Ordering::Greater => format!("{} trailing bytes", actual - expected),
    };
    bail!(
        "{}: {problem}: header says {} = {expected} bytes of {what}, file holds {actual} \
         after the {header_len}-byte header",
        path.display(),
        shape(dims)
    )
}

/// Dimensions written as `60000x28x28`.
fn shape(dims: &[usize]) -> String {
    dims.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

/// Writes an unsigned-byte IDX file with the given dimensions and payload.
fn write_idx(path: &Path, dims: &[usize], payload: &[u8], gzip: bool) -> Result<()> {
    let p = path.display();
    let header = header_bytes(dims).map_err(|e| anyhow!("{p}: cannot write: {e}"))?;
    let file = File::create(path).with_context(|| format!("{p}: cannot create"))?;
    let out = BufWriter::new(file);
    let written = if gzip {
        let mut enc = GzEncoder::new(out, Compression::default());
        write_all(&mut enc, &header, payload).and_then(|()| enc.finish()?.flush())
    } else {
        let mut out = out;
        write_all(&mut out, &header, payload).and_then(|()| out.flush())
    };
    written.with_context(|| format!("{p}: cannot write"))
}

/// Writes the header and then the payload.
fn write_all(out: &mut impl Write, header: &[u8], payload: &[u8]) -> std::io::Result<()> {
    out.write_all(header)?;
    out.write_all(payload)
}

/// Magic and big-endian dimensions of an unsigned-byte IDX file.
fn header_bytes(dims: &[usize]) -> Result<Vec<u8>> {
    let ndims = u8::try_from(dims.len()).context("more than 255 dimensions")?;
    let mut header = vec![0, 0, TYPE_U8, ndims];
    for &d in dims {
        let d = u32::try_from(d).with_context(|| format!("dimension {d} exceeds u32"))?;
        header.extend_from_slice(&d.to_be_bytes());
    }
    Ok(header)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A fresh, empty folder under the system temp dir, removed with everything in it when
    /// the value is dropped (at the end of the test, passed or failed).
    pub(crate) struct TempDir(tempfile::TempDir);

    impl std::ops::Deref for TempDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            self.0.path()
        }
    }

    impl AsRef<Path> for TempDir {
        fn as_ref(&self) -> &Path {
            self.0.path()
        }
    }

    pub(crate) fn temp_dir(tag: &str) -> TempDir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("ccdni-{tag}-"))
            .tempdir()
            .expect("a temporary folder");
        TempDir(dir)
    }

    /// `count` tiny images of 3x2 pixels with distinct contents.
    pub(crate) fn tiny_images(count: usize) -> Images {
        Images {
            count,
            rows: 3,
            cols: 2,
            pixels: (0..count * 6).map(|i| (i * 7 % 256) as u8).collect(),
        }
    }

    /// The error message of a result that must be an error, with its causes.
    pub(crate) fn err_text<T: std::fmt::Debug>(r: Result<T>) -> String {
        format!("{:#}", r.unwrap_err())
    }

    fn write_raw(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// A valid 3-D image file's bytes: 2 images of 3x2.
    fn image_bytes() -> Vec<u8> {
        let mut b = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2];
        b.extend(0..12u8);
        b
    }

    #[test]
    fn round_trip_plain_and_gzip() {
        let dir = temp_dir("idx-roundtrip");
        let images = tiny_images(5);
        let labels = vec![0, 9, 3, 3, 7];
        for gz in [false, true] {
            let ip = dir.join(format!("images-{gz}"));
            let lp = dir.join(format!("labels-{gz}"));
            write_images(&ip, &images, gz).unwrap();
            write_labels(&lp, &labels, gz).unwrap();
            let raw = std::fs::read(&ip).unwrap();
            assert_eq!(raw.starts_with(&GZIP_MAGIC), gz);
            assert_eq!(read_images(&ip).unwrap(), images);
            assert_eq!(read_labels(&lp).unwrap(), labels);
        }
        assert_eq!(images.image(1), &images.pixels[6..12]);
    }

    #[test]
    fn a_stream_longer_than_its_header_is_refused_without_reading_it_all() {
        /// Endless zeros after a header promising 10 labels, counting what is read.
        struct Bomb {
            header: Vec<u8>,
            read: usize,
        }
        impl Read for Bomb {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = self.header.get(self.read + i).copied().unwrap_or(0);
                }
                self.read += buf.len();
                Ok(buf.len())
            }
        }
        let mut bomb = Bomb {
            header: vec![0, 0, 8, 1, 0, 0, 0, 10],
            read: 0,
        };
        let msg = err_text(read_bounded(&mut bomb, Path::new("bomb.gz")));
        assert!(
            msg.contains(
                "bomb.gz: the decompressed data is longer than its header's 10 = 10 bytes"
            ),
            "{msg}"
        );
        assert!(bomb.read < 1 << 20, "read {} bytes", bomb.read);
        // The same through a real gzip file: 10 labels promised, 1 MB given.
        let dir = temp_dir("idx-bomb");
        let mut bytes = vec![0, 0, 8, 1, 0, 0, 0, 10];
        bytes.resize(1 << 20, 0);
        let path = write_raw(&dir, "labels.gz", &gzip(&bytes));
        let msg = err_text(read_labels(&path));
        assert!(
            msg.contains("longer than its header's 10 = 10 bytes"),
            "{msg}"
        );
        // Exact and short payloads are still read and reported as before.
        bytes.truncate(18);
        let path = write_raw(&dir, "exact.gz", &gzip(&bytes));
        assert_eq!(read_labels(&path).unwrap(), vec![0; 10]);
        bytes.truncate(12);
        let path = write_raw(&dir, "short.gz", &gzip(&bytes));
        let msg = err_text(read_labels(&path));
        assert!(msg.contains("file holds 4"), "{msg}");
        // A header that claims 2^32 images of 28x28: refused before any of it is read.
        let mut claims = vec![0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 28, 0, 0, 0, 28];
        claims.resize(1 << 20, 0);
        let path = write_raw(&dir, "claims.gz", &gzip(&claims));
        let msg = err_text(read_images(&path));
        assert!(msg.contains("more than the 4 GiB"), "{msg}");
    }

    #[test]
    fn gzip_is_detected_by_content_not_name() {
        let dir = temp_dir("idx-sniff");
        let plain = write_raw(&dir, "plain.gz", &image_bytes());
        let packed = write_raw(&dir, "packed", &gzip(&image_bytes()));
        assert_eq!(read_images(&plain).unwrap().count, 2);
        assert_eq!(
            read_images(&packed).unwrap().pixels,
            (0..12).collect::<Vec<u8>>()
        );
    }

    #[test]
    fn bad_magic_is_refused() {
        let dir = temp_dir("idx-magic");
        let mut b = image_bytes();
        b[0] = 0x50;
        let path = write_raw(&dir, "bad", &b);
        let msg = err_text(read_images(&path));
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("bad magic 50 00 08 03"), "{msg}");
    }

    #[test]
    fn wrong_type_byte_is_refused() {
        let dir = temp_dir("idx-type");
        let mut b = image_bytes();
        b[2] = 0x0d;
        let path = write_raw(&dir, "float", &b);
        let msg = err_text(read_images(&path));
        assert!(msg.contains("unsupported element type 0x0d"), "{msg}");
        assert!(msg.contains("float"), "{msg}");
    }

    #[test]
    fn wrong_dims_count_is_refused() {
        let dir = temp_dir("idx-dims");
        let path = write_raw(&dir, "images", &image_bytes());
        let msg = err_text(read_labels(&path));
        assert!(
            msg.contains("wrong number of dimensions: expected 1 for labels, header says 3"),
            "{msg}"
        );
        let labels = dir.join("labels");
        write_labels(&labels, &[1, 2], false).unwrap();
        let msg = err_text(read_images(&labels));
        assert!(
            msg.contains("expected 3 for pixels, header says 1"),
            "{msg}"
        );
    }

    #[test]
    fn truncated_payload_is_refused() {
        let dir = temp_dir("idx-trunc");
        let b = image_bytes();
        let path = write_raw(&dir, "short.gz", &gzip(&b[..b.len() - 5]));
        let msg = err_text(read_images(&path));
        assert!(msg.contains("short.gz: truncated"), "{msg}");
        assert!(
            msg.contains("header says 2x3x2 = 12 bytes of pixels, file holds 7"),
            "{msg}"
        );
        let header_only = write_raw(&dir, "header", &b[..10]);
        let msg = err_text(read_images(&header_only));
        assert!(msg.contains("truncated header"), "{msg}");
        let tiny = write_raw(&dir, "tiny", &[0, 0]);
        assert!(err_text(read_images(&tiny)).contains("too short for an IDX header"));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let dir = temp_dir("idx-trail");
        let mut b = image_bytes();
        b.extend([1, 2, 3]);
        let path = write_raw(&dir, "long", &b);
        let msg = err_text(read_images(&path));
        assert!(msg.contains("long: 3 trailing bytes"), "{msg}");
        assert!(msg.contains("file holds 15"), "{msg}");
    }

    #[test]
    fn corrupt_gzip_is_refused() {
        let dir = temp_dir("idx-gzip");
        let mut z = gzip(&image_bytes());
        let mid = z.len() / 2;
        z[mid] ^= 0xff;
        z.truncate(z.len() - 3);
        let path = write_raw(&dir, "broken.gz", &z);
        let msg = err_text(read_images(&path));
        assert!(msg.contains("broken.gz: corrupt gzip stream"), "{msg}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let dir = temp_dir("idx-missing");
        let path = dir.join("nowhere");
        let msg = err_text(read_labels(&path));
        assert!(msg.contains("nowhere: cannot read"), "{msg}");
    }

    #[test]
    fn inconsistent_images_are_not_written() {
        let dir = temp_dir("idx-write");
        let mut images = tiny_images(2);
        images.pixels.pop();
        let msg = err_text(write_images(&dir.join("x"), &images, false));
        assert!(msg.contains("11 pixels given for 2x3x2 = 12"), "{msg}");
    }

    #[test]
    #[ignore = "reads the real MNIST from /work/shared/data/mnist"]
    fn reads_real_mnist() {
        let dir = Path::new("/work/shared/data/mnist");
        let train = read_images(&dir.join("train-images-idx3-ubyte.gz")).unwrap();
        let test = read_images(&dir.join("t10k-images-idx3-ubyte.gz")).unwrap();
        assert_eq!((train.count, train.rows, train.cols), (60000, 28, 28));
        assert_eq!((test.count, test.rows, test.cols), (10000, 28, 28));
        let labels = read_labels(&dir.join("train-labels-idx1-ubyte.gz")).unwrap();
        assert_eq!(labels.len(), 60000);
        assert_eq!(&labels[..5], &[5, 0, 4, 1, 9]);
        let all = crate::data::load_dataset(dir).unwrap();
        assert_eq!(all.test_labels.len(), 10000);
    }
}
