//! Arrays on disk in NumPy's `.npy` format (version 1.0), which Python reads with `np.load`
//! and no ccdni: the magic `\x93NUMPY`, the version, a little-endian u16 header length, an ASCII
//! Python-dict header (`{'descr': '<f4', 'fortran_order': False, 'shape': (...), }`) padded with
//! spaces to a multiple of 64 bytes and ended by a newline, then the raw little-endian values in
//! row-major order. Written atomically (see [`super::write_atomically`]).

use anyhow::{Result, bail};
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY\x01\x00";

/// The bytes of a `.npy` file holding `values` (f32) with `shape`.
pub fn encode(shape: &[usize], values: &[f32]) -> Result<Vec<u8>> {
    if shape.iter().product::<usize>() != values.len() {
        bail!("shape {shape:?} does not hold {} values", values.len());
    }
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
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
    let unpadded = MAGIC.len() + 2 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.div_ceil(64) * 64 - unpadded));
    header.push('\n');
    let Ok(len) = u16::try_from(header.len()) else {
        bail!("shape {shape:?} makes a header too long for .npy version 1.0");
    };
    let mut bytes = Vec::with_capacity(MAGIC.len() + 2 + header.len() + 4 * values.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    values
        .iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    Ok(bytes)
}

/// Writes `values` with `shape` to `path` as `.npy`, atomically.
pub fn write(path: &Path, shape: &[usize], values: &[f32]) -> Result<()> {
    super::write_atomically(path, &encode(shape, values)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_describes_the_array() {
        for shape in [vec![3], vec![2, 3], vec![2, 1, 3], vec![0, 4]] {
            let n = shape.iter().product();
            let values: Vec<f32> = (0..n).map(|i| i as f32 - 1.5).collect();
            let bytes = encode(&shape, &values).unwrap();
            assert_eq!(&bytes[..8], MAGIC);
            let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!((10 + len) % 64, 0, "the data starts 64-byte aligned");
            let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
            assert!(header.ends_with('\n'));
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            let want = if shape.len() == 1 {
                format!("'shape': ({},)", dims[0])
            } else {
                format!("'shape': ({})", dims.join(", "))
            };
            assert!(header.contains(&want), "{header}");
            let data: Vec<f32> = bytes[10 + len..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            assert_eq!(data, values);
        }
        assert!(encode(&[2, 2], &[1.0; 3]).is_err());
    }
}
