//! The stored form of a run of consecutive entries: one row per append.
//!
//! A segment is the byte `0x01` followed, for each entry, by its length as a little-endian
//! `u32` and its canonical bytes. A value that starts with `{` is a single entry stored whole,
//! as logs written before segments existed keep them; both are read alike.

use crate::event::MAX_ENTRY_BYTES;
use crate::store::StoreError;

const SEGMENT_V1: u8 = 0x01;
const LEGACY_ENTRY: u8 = b'{';
const LEN_BYTES: usize = 4;

/// Encodes entries (each at most [`MAX_ENTRY_BYTES`], checked when they were made) as one
/// segment.
pub(crate) fn encode(entries: &[Vec<u8>]) -> Vec<u8> {
    let total: usize = entries.iter().map(|e| e.len() + LEN_BYTES).sum();
    let mut out = Vec::with_capacity(1 + total);
    out.push(SEGMENT_V1);
    for entry in entries {
        // Entries are far below 4 GiB (MAX_ENTRY_BYTES), so the length fits a u32.
        let len = u32::try_from(entry.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(entry);
    }
    out
}

/// Splits a stored value whose first entry has index `start` into its entries' bytes,
/// naming the entry at which the value is damaged.
pub(crate) fn decode(value: &[u8], start: u64) -> Result<Vec<&[u8]>, StoreError> {
    let corrupt = |offset: usize, reason: &str| StoreError::Corrupt {
        index: start + offset as u64,
        reason: reason.to_owned(),
    };
    match value.split_first() {
        Some((&LEGACY_ENTRY, _)) => Ok(vec![value]),
        Some((&SEGMENT_V1, mut rest)) => {
            let mut entries = Vec::new();
            while !rest.is_empty() {
                let offset = entries.len();
                let (len, tail) = rest
                    .split_first_chunk::<LEN_BYTES>()
                    .ok_or_else(|| corrupt(offset, "the segment ends inside a length"))?;
                let len = u32::from_le_bytes(*len) as usize;
                if len == 0 || len > MAX_ENTRY_BYTES {
                    return Err(corrupt(
                        offset,
                        "an entry length in the segment is out of range",
                    ));
                }
                let (entry, tail) = tail
                    .split_at_checked(len)
                    .ok_or_else(|| corrupt(offset, "the segment ends inside an entry"))?;
                entries.push(entry);
                rest = tail;
            }
            if entries.is_empty() {
                return Err(corrupt(0, "the segment holds no entry"));
            }
            Ok(entries)
        }
        _ => Err(corrupt(
            0,
            "the stored value is neither an entry nor a segment",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_and_legacy_entries_read_whole() {
        let entries = vec![b"{\"a\":1}".to_vec(), b"{\"b\":22}".to_vec()];
        let encoded = encode(&entries);
        let decoded = decode(&encoded, 5).unwrap();
        assert_eq!(decoded, vec![&entries[0][..], &entries[1][..]]);
        assert_eq!(decode(b"{\"x\":0}", 9).unwrap(), vec![&b"{\"x\":0}"[..]]);
    }

    #[test]
    fn damaged_segments_name_the_entry() {
        let entries = vec![b"{\"a\":1}".to_vec(), b"{\"b\":22}".to_vec()];
        let encoded = encode(&entries);
        for cut in 1..encoded.len() {
            let truncated = &encoded[..cut];
            if cut == 1 + LEN_BYTES + entries[0].len() {
                continue; // a whole first entry is a valid, shorter segment
            }
            match decode(truncated, 10) {
                Err(StoreError::Corrupt { index, .. }) => assert!(index == 10 || index == 11),
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        let mut huge = vec![SEGMENT_V1];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode(&huge, 0),
            Err(StoreError::Corrupt { index: 0, .. })
        ));
        assert!(matches!(
            decode(&[SEGMENT_V1], 3),
            Err(StoreError::Corrupt { index: 3, .. })
        ));
        assert!(matches!(decode(b"", 0), Err(StoreError::Corrupt { .. })));
        assert!(matches!(
            decode(b"\x07junk", 0),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
