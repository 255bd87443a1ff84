//! Ristretto255 helpers for the blinding protocols: hashing identifiers to
//! points, exponentiation by secret scalars, and (de)compression, all
//! spread over the available cores.

use crate::error::{MpcError, Result};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::Sha512;

/// Bytes of one compressed point on the wire.
pub const POINT_BYTES: usize = 32;

/// Applies `f` to every item, in parallel chunks, keeping the order.
pub fn par_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads <= 1 || items.len() < 2048 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let hs: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<U>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in hs {
            // A worker only runs `f`, which does not panic for our callers.
            if let Ok(v) = h.join() {
                out.extend(v);
            }
        }
        out
    })
}

/// Runs `f` on about as many consecutive ranges of `0..len` as there are
/// cores, in parallel, and concatenates the results in order.
pub fn par_ranges<U: Send>(
    len: usize,
    f: impl Fn(core::ops::Range<usize>) -> Vec<U> + Sync,
) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads <= 1 || len < 512 {
        return f(0..len);
    }
    let per = len.div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..len)
            .step_by(per)
            .map(|a| s.spawn(move || f(a..(a + per).min(len))))
            .collect();
        let mut out = Vec::with_capacity(len);
        for h in hs {
            // A worker only runs `f`, which does not panic for our callers.
            if let Ok(v) = h.join() {
                out.extend(v);
            }
        }
        out
    })
}

/// Doubles and compresses a batch of points (one shared inversion per
/// 1024 points): the encodings of 2·P for each P.
pub fn double_compress(points: &[RistrettoPoint]) -> Vec<[u8; POINT_BYTES]> {
    points
        .chunks(1024)
        .flat_map(|c| {
            RistrettoPoint::double_and_compress_batch(c)
                .into_iter()
                .map(|p| p.to_bytes())
        })
        .collect()
}

/// Hashes one identifier to a point, under a domain-separation label.
pub fn hash_to_point(domain: &[u8], id: &[u8]) -> RistrettoPoint {
    let mut input = Vec::with_capacity(domain.len() + id.len() + 8);
    input.extend_from_slice(&(domain.len() as u64).to_le_bytes());
    input.extend_from_slice(domain);
    input.extend_from_slice(id);
    RistrettoPoint::hash_from_bytes::<Sha512>(&input)
}

/// Hashes identifiers to points, under a domain-separation label.
pub fn hash_to_points<I: AsRef<[u8]> + Sync>(domain: &[u8], items: &[I]) -> Vec<RistrettoPoint> {
    par_map(items, |id| hash_to_point(domain, id.as_ref()))
}

/// Multiplies every point by `k`, doubles it and compresses the results
/// (compressing a doubled point shares one inversion across the batch,
/// which is cheaper than compressing points one by one). Every protocol
/// here applies the same number of these steps to every value it
/// compares, so the extra factors of two cancel out of all comparisons.
pub fn mul_compress(points: &[RistrettoPoint], k: &Scalar) -> Vec<[u8; POINT_BYTES]> {
    // One even range per core (uneven chunks would leave a core idle),
    // compressed 1024 points at a time.
    par_ranges(points.len(), |range| {
        points.get(range).map_or_else(Vec::new, |part| {
            part.chunks(1024)
                .flat_map(|c| {
                    let scaled: Vec<RistrettoPoint> = c.iter().map(|p| p * k).collect();
                    RistrettoPoint::double_and_compress_batch(&scaled)
                        .into_iter()
                        .map(|p| p.to_bytes())
                })
                .collect()
        })
    })
}

/// Decompresses a payload of concatenated points, multiplies each by `k`
/// and compresses again. Rejects a payload that is not whole points or a
/// point that is not a valid encoding.
pub fn reblind(payload: &[u8], k: &Scalar, peer: usize) -> Result<Vec<[u8; POINT_BYTES]>> {
    let points = decode_points(payload, peer)?;
    Ok(mul_compress(&points, k))
}

/// Parses concatenated compressed points.
pub fn decode_points(payload: &[u8], peer: usize) -> Result<Vec<RistrettoPoint>> {
    let raw = split_points(payload, peer)?;
    let decoded = par_map(&raw, |b| CompressedRistretto(*b).decompress());
    decoded
        .into_iter()
        .map(|p| p.ok_or(MpcError::BadPoint { peer }))
        .collect()
}

/// Splits a payload into 32-byte chunks.
pub fn split_points(payload: &[u8], peer: usize) -> Result<Vec<[u8; POINT_BYTES]>> {
    if !payload.len().is_multiple_of(POINT_BYTES) {
        return Err(MpcError::Malformed {
            peer,
            reason: "payload is not a whole number of group elements",
        });
    }
    Ok(payload
        .chunks_exact(POINT_BYTES)
        .map(|c| {
            let mut b = [0u8; POINT_BYTES];
            b.copy_from_slice(c);
            b
        })
        .collect())
}

/// Concatenates compressed points into a message body.
pub fn push_points(buf: &mut Vec<u8>, pts: &[[u8; POINT_BYTES]]) {
    buf.reserve(pts.len() * POINT_BYTES);
    for p in pts {
        buf.extend_from_slice(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_compress_matches_one_point_at_a_time_across_threads_and_chunks() {
        // Long enough to be split over the cores and into several 1024-point batches.
        let ids: Vec<[u8; 4]> = (0..2600u32).map(|i| i.to_le_bytes()).collect();
        let points = hash_to_points(b"test", &ids);
        let k = Scalar::from(0x1234_5678_9abc_def1u64);
        let fast = mul_compress(&points, &k);
        assert_eq!(fast.len(), points.len());
        for (p, got) in points.iter().zip(&fast) {
            let doubled = (p * k) + (p * k);
            assert_eq!(doubled.compress().to_bytes(), *got);
        }
    }
}
