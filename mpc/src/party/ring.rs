//! Ring elements of `width` bytes (1 ≤ width ≤ 8) on the wire, little-endian:
//! the encoding of [`super::Party::open_sum_bounded`]. Every element is
//! written and read as one 8-byte word (a write overlapping the next
//! element's bytes, which the next write replaces; a read masked to `width`
//! bytes), so no element costs a copy of a length only known at run time.

/// Appends the low `width` bytes of each value to `out`.
pub(super) fn push(out: &mut Vec<u8>, values: &[u64], width: usize) {
    let start = out.len();
    let end = start + values.len() * width;
    // Room for the last element's full word; cut back below.
    out.resize(end + 8, 0);
    let mut at = start;
    for v in values {
        if let Some(word) = out.get_mut(at..at + 8) {
            word.copy_from_slice(&v.to_le_bytes());
        }
        at += width;
    }
    out.truncate(end);
}

/// The element of `width` bytes at byte `at` of `bytes` (zero-extended).
#[inline]
pub(super) fn read(bytes: &[u8], at: usize, width: usize) -> u64 {
    let mask = if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    };
    let word = match bytes.get(at..at + 8) {
        Some(word) => <[u8; 8]>::try_from(word).unwrap_or_default(),
        // Near the end: fewer than 8 bytes are left.
        None => {
            let mut word = [0u8; 8];
            let rest = bytes.get(at..).unwrap_or_default();
            let n = rest.len().min(8);
            if let (Some(to), Some(from)) = (word.get_mut(..n), rest.get(..n)) {
                to.copy_from_slice(from);
            }
            word
        }
    };
    u64::from_le_bytes(word) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_width_round_trips_and_keeps_only_its_bytes() {
        let values: Vec<u64> = (0..37u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i << 3))
            .collect();
        for width in 1..=8usize {
            let mut out = vec![0xAA];
            push(&mut out, &values, width);
            assert_eq!(out.len(), 1 + values.len() * width, "width {width}");
            assert_eq!(out[0], 0xAA, "the bytes before are kept");
            let mask = if width == 8 {
                u64::MAX
            } else {
                (1 << (8 * width)) - 1
            };
            for (i, v) in values.iter().enumerate() {
                assert_eq!(
                    read(&out, 1 + i * width, width),
                    v & mask,
                    "width {width}, {i}"
                );
                let bytes = &out[1 + i * width..1 + (i + 1) * width];
                assert_eq!(bytes, &v.to_le_bytes()[..width]);
            }
        }
    }
}
