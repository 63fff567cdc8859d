//! NumPy's `.npz` archives (`np.savez`, `np.savez_compressed`): a zip archive holding one `.npy`
//! file per array, named `<array>.npy`. The reader takes what NumPy writes: members stored or
//! deflated, with or without zip64 fields (NumPy forces them), and checks every offset and size
//! against the file before it reads, and each member's CRC-32 after. Errors name the file.
//!
//! The layout read: the end-of-central-directory record (the last 22 bytes, before a comment
//! of up to 64 KiB; a zip64 record before it when a count or offset overflows), the central
//! directory (one entry per member: name, method, CRC-32, sizes, and where its local header
//! is), and each member's local header, after which its data lies.

use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::Path;

/// An archive read into memory, with its directory.
pub struct Archive {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

/// A member as the central directory describes it.
struct Entry {
    name: String,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    local: u64,
}

const EOCD: u32 = 0x0605_4b50;
const EOCD64: u32 = 0x0606_4b50;
const EOCD64_LOCATOR: u32 = 0x0706_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

impl Archive {
    /// Reads the archive at `path` and its directory.
    pub fn open(path: &Path) -> Result<Archive> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let entries = directory(&bytes)
            .with_context(|| format!("{} is not a readable .npz (zip) archive", path.display()))?;
        Ok(Archive { bytes, entries })
    }

    /// The members' names, in the directory's order.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }

    /// The bytes of the member `name`, or `None` when the archive has none of that name.
    pub fn member(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let Some(e) = self.entries.iter().find(|e| e.name == name) else {
            return Ok(None);
        };
        self.extract(e)
            .with_context(|| format!("member {name}"))
            .map(Some)
    }

    fn extract(&self, e: &Entry) -> Result<Vec<u8>> {
        let b = &self.bytes;
        let at = usize::try_from(e.local).context("offset")?;
        if u32_at(b, at)? != LOCAL {
            bail!("no local header at byte {at}");
        }
        let start = at + 30 + u16_at(b, at + 26)? as usize + u16_at(b, at + 28)? as usize;
        let end = usize::try_from(e.compressed)
            .ok()
            .and_then(|n| start.checked_add(n))
            .filter(|&end| end <= b.len())
            .with_context(|| format!("its {} bytes run past the end of the file", e.compressed))?;
        let data = &b[start..end];
        let out = match e.method {
            0 => data.to_vec(),
            8 => {
                let mut out = Vec::new();
                flate2::read::DeflateDecoder::new(data)
                    .take(e.size)
                    .read_to_end(&mut out)
                    .context("its deflated data is damaged")?;
                out
            }
            m => bail!("compression method {m} (ccdni reads stored and deflated members)"),
        };
        if out.len() as u64 != e.size {
            bail!("{} bytes where the directory says {}", out.len(), e.size);
        }
        let mut crc = flate2::Crc::new();
        crc.update(&out);
        if crc.sum() != e.crc {
            bail!("its CRC-32 does not match: the archive is damaged");
        }
        Ok(out)
    }
}

/// The central directory of the archive in `b`.
fn directory(b: &[u8]) -> Result<Vec<Entry>> {
    let eocd = (0..=b.len().saturating_sub(22))
        .rev()
        .take(65_536 + 22)
        .find(|&i| u32_at(b, i).is_ok_and(|s| s == EOCD))
        .context("no end-of-central-directory record (not a zip archive, or truncated)")?;
    let (mut count, mut offset) = (
        u64::from(u16_at(b, eocd + 10)?),
        u64::from(u32_at(b, eocd + 16)?),
    );
    if count == 0xFFFF || offset == 0xFFFF_FFFF {
        let locator = eocd.checked_sub(20).context("no zip64 locator")?;
        if u32_at(b, locator)? != EOCD64_LOCATOR {
            bail!("no zip64 locator before the end record");
        }
        let at = usize::try_from(u64_at(b, locator + 8)?).context("zip64 offset")?;
        if u32_at(b, at)? != EOCD64 {
            bail!("no zip64 end record at byte {at}");
        }
        (count, offset) = (u64_at(b, at + 32)?, u64_at(b, at + 48)?);
    }
    let mut at = usize::try_from(offset).context("directory offset")?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let (e, next) = central_entry(b, at)?;
        entries.push(e);
        at = next;
    }
    Ok(entries)
}

/// The central directory entry at `at`, and where the next one starts.
fn central_entry(b: &[u8], at: usize) -> Result<(Entry, usize)> {
    if u32_at(b, at)? != CENTRAL {
        bail!("no central directory entry at byte {at}");
    }
    let (name_len, extra_len, comment_len) = (
        u16_at(b, at + 28)? as usize,
        u16_at(b, at + 30)? as usize,
        u16_at(b, at + 32)? as usize,
    );
    let name = b
        .get(at + 46..at + 46 + name_len)
        .context("truncated directory")?;
    let mut e = Entry {
        name: String::from_utf8_lossy(name).into_owned(),
        method: u16_at(b, at + 10)?,
        crc: u32_at(b, at + 16)?,
        compressed: u64::from(u32_at(b, at + 20)?),
        size: u64::from(u32_at(b, at + 24)?),
        local: u64::from(u32_at(b, at + 42)?),
    };
    let extra = b
        .get(at + 46 + name_len..at + 46 + name_len + extra_len)
        .context("truncated directory")?;
    zip64_sizes(extra, &mut e)?;
    Ok((e, at + 46 + name_len + extra_len + comment_len))
}

/// Reads the zip64 extra field (id 1) into the sizes and offset that overflowed (0xFFFFFFFF),
/// in the order the format gives them.
fn zip64_sizes(extra: &[u8], e: &mut Entry) -> Result<()> {
    let mut i = 0;
    while i + 4 <= extra.len() {
        let (id, len) = (u16_at(extra, i)?, u16_at(extra, i + 2)? as usize);
        if id == 1 {
            let mut at = i + 4;
            for field in [&mut e.size, &mut e.compressed, &mut e.local] {
                if *field == 0xFFFF_FFFF {
                    *field = u64_at(extra, at)?;
                    at += 8;
                }
            }
        }
        i += 4 + len;
    }
    Ok(())
}

fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    let s = b.get(at..at + 2).context("truncated")?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    let s = b.get(at..at + 4).context("truncated")?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Result<u64> {
    let s = b.get(at..at + 8).context("truncated")?;
    Ok(u64::from_le_bytes(s.try_into().expect("8 bytes")))
}

/// The bytes of an archive holding `members` (name, bytes), stored or deflated, as NumPy writes
/// one (its tests, and tests of the tasks that read archives).
pub fn encode(members: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for &(name, data) in members {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let stored = if deflate {
            use std::io::Write;
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).expect("in memory");
            enc.finish().expect("in memory")
        } else {
            data.to_vec()
        };
        let method: u16 = if deflate { 8 } else { 0 };
        let header = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&[20, 0, 0, 0]);
            h.extend_from_slice(&method.to_le_bytes());
            h.extend_from_slice(&[0, 0, 0x21, 0]);
            h.extend_from_slice(&crc.sum().to_le_bytes());
            h.extend_from_slice(&(stored.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h
        };
        let local = out.len() as u32;
        out.extend(header(LOCAL, false));
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&stored);
        central.extend(header(CENTRAL, true));
        central.extend_from_slice(&[0; 10]);
        central.extend_from_slice(&local.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let (offset, size) = (out.len() as u32, central.len() as u32);
    out.extend(central);
    out.extend_from_slice(&EOCD.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let n = members.len() as u16;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_stored_and_deflated_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let long: Vec<u8> = (0..5000).map(|i| (i % 7) as u8).collect();
        for deflate in [false, true] {
            let path = dir.path().join(format!("a{deflate}.npz"));
            std::fs::write(
                &path,
                encode(&[("x.npy", b"abc"), ("y.npy", &long)], deflate),
            )
            .unwrap();
            let a = Archive::open(&path).unwrap();
            assert_eq!(a.names(), ["x.npy", "y.npy"]);
            assert_eq!(a.member("x.npy").unwrap().unwrap(), b"abc");
            assert_eq!(a.member("y.npy").unwrap().unwrap(), long);
            assert!(a.member("z.npy").unwrap().is_none());
        }
    }

    #[test]
    fn damaged_archives_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = encode(&[("x.npy", b"abcdef")], false);
        let path = dir.path().join("bad.npz");
        // Truncated: the end record is gone.
        std::fs::write(&path, &good[..good.len() - 10]).unwrap();
        let msg = format!("{:#}", Archive::open(&path).err().unwrap());
        assert!(
            msg.contains("bad.npz") && msg.contains("end-of-central-directory"),
            "{msg}"
        );
        // A flipped data byte: the CRC tells.
        let mut flipped = good.clone();
        let at = flipped.windows(6).position(|w| w == b"abcdef").unwrap();
        flipped[at] = b'z';
        std::fs::write(&path, &flipped).unwrap();
        let msg = format!(
            "{:#}",
            Archive::open(&path).unwrap().member("x.npy").unwrap_err()
        );
        assert!(msg.contains("CRC-32"), "{msg}");
    }
}
