//! AES-128 on replicated shares, bitsliced over many blocks, under a key
//! no party knows.
//!
//! A batch of N blocks is held as eight bit planes: plane k holds bit k of
//! every byte, byte b of all blocks in words `b·W .. (b+1)·W` (W = ⌈N/64⌉,
//! block r in lane r mod 64 of word r / 64). ShiftRows, MixColumns and
//! AddRoundKey are then XORs and moves of words, local on each share; each
//! round's SubBytes is one evaluation of the S-box circuit (six rounds of
//! communication), which also computes the key schedule's SubWord for the
//! next round key (the key is shared as planes of 16 words, one per key
//! byte, in lane 0). Ten rounds: 60 rounds of communication, and
//! 16 · 32 · 10 = 5,120 ANDs per block, one bit sent per AND per party.

use super::circuit::Circuit;
use super::sbox::sbox_without_constant;
use crate::error::{MpcError, Result};
use crate::party::{BitShares, Party};
use crate::transport::Transport;

/// The round constants of the key schedule.
const RCON: [u8; 10] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36];

/// The bits of the S-box's affine constant 0x63.
const SBOX_CONSTANT: u8 = 0x63;

/// Eight bit planes of one share (see the module).
type Planes = [Vec<u64>; 8];

/// Words per byte for `blocks` blocks.
pub fn words_for(blocks: usize) -> usize {
    blocks.div_ceil(64)
}

/// Bitslices 128-bit blocks (byte b = bits 8b..8b+8, little endian) into
/// eight planes of 16 · ⌈N/64⌉ words.
pub fn bitslice(blocks: &[u128]) -> Planes {
    let w = words_for(blocks.len());
    let mut planes: Planes = core::array::from_fn(|_| vec![0u64; 16 * w]);
    for (r, x) in blocks.iter().enumerate() {
        let (word, lane) = (r / 64, r % 64);
        for (b, byte) in x.to_le_bytes().iter().enumerate() {
            for (k, plane) in planes.iter_mut().enumerate() {
                if let Some(slot) = plane.get_mut(b * w + word) {
                    *slot |= u64::from((byte >> k) & 1) << lane;
                }
            }
        }
    }
    planes
}

/// The inverse of [`bitslice`] for `count` blocks.
pub fn unbitslice(planes: &Planes, count: usize) -> Vec<u128> {
    let w = words_for(count);
    (0..count)
        .map(|r| {
            let (word, lane) = (r / 64, r % 64);
            let mut bytes = [0u8; 16];
            for (b, byte) in bytes.iter_mut().enumerate() {
                for (k, plane) in planes.iter().enumerate() {
                    let bit = plane.get(b * w + word).map_or(0, |v| (v >> lane) & 1);
                    *byte |= (bit as u8) << k;
                }
            }
            u128::from_le_bytes(bytes)
        })
        .collect()
}

fn split(shares: [BitShares; 8]) -> (Planes, Planes) {
    let own = core::array::from_fn(|k| shares.get(k).map(|s| s.own().to_vec()).unwrap_or_default());
    let next =
        core::array::from_fn(|k| shares.get(k).map(|s| s.next().to_vec()).unwrap_or_default());
    (own, next)
}

fn join(own: Planes, next: Planes) -> Result<[BitShares; 8]> {
    let mut out: [BitShares; 8] = Default::default();
    for ((slot, o), n) in out.iter_mut().zip(own).zip(next) {
        *slot = BitShares::from_parts(o, n)?;
    }
    Ok(out)
}

/// ShiftRows: byte 4c + r takes byte 4((c + r) mod 4) + r.
fn shift_rows(planes: &mut Planes, w: usize) {
    for plane in planes.iter_mut() {
        let old = plane.clone();
        for c in 0..4 {
            for r in 0..4 {
                let (to, from) = (4 * c + r, 4 * ((c + r) % 4) + r);
                if let (Some(dst), Some(src)) = (
                    plane.get_mut(to * w..(to + 1) * w),
                    old.get(from * w..(from + 1) * w),
                ) {
                    dst.copy_from_slice(src);
                }
            }
        }
    }
}

/// MixColumns: out_r = 2·(a_r ⊕ a_{r+1}) ⊕ a_{r+1} ⊕ a_{r+2} ⊕ a_{r+3}.
fn mix_columns(planes: &mut Planes, w: usize) {
    let old = planes.clone();
    let byte = |k: usize, b: usize, i: usize| -> u64 {
        old.get(k)
            .and_then(|p| p.get(b * w + i))
            .copied()
            .unwrap_or(0)
    };
    for c in 0..4 {
        for r in 0..4 {
            let [a0, a1, a2, a3] = [r, r + 1, r + 2, r + 3].map(|x| 4 * c + x % 4);
            for i in 0..w {
                let t: [u64; 8] = core::array::from_fn(|k| byte(k, a0, i) ^ byte(k, a1, i));
                // xtime(t) with the reduction polynomial x^8 + x^4 + x^3 + x + 1.
                let x2 = [
                    t[7],
                    t[0] ^ t[7],
                    t[1],
                    t[2] ^ t[7],
                    t[3] ^ t[7],
                    t[4],
                    t[5],
                    t[6],
                ];
                for (k, plane) in planes.iter_mut().enumerate() {
                    if let Some(slot) = plane.get_mut(a0 * w + i) {
                        *slot = x2[k] ^ byte(k, a1, i) ^ byte(k, a2, i) ^ byte(k, a3, i);
                    }
                }
            }
        }
    }
}

/// XORs the round key (16 words per plane, lane 0) into the state.
fn add_round_key(planes: &mut Planes, key: &Planes, w: usize) {
    for (plane, kp) in planes.iter_mut().zip(key) {
        for (b, kw) in kp.iter().enumerate().take(16) {
            let mask = 0u64.wrapping_sub(kw & 1);
            for slot in plane.get_mut(b * w..(b + 1) * w).unwrap_or(&mut []) {
                *slot ^= mask;
            }
        }
    }
}

/// The next round key from the previous one and SubWord(RotWord(w₃)).
fn next_round_key(prev: &Planes, sub: &Planes) -> Planes {
    core::array::from_fn(|k| {
        let (p, s) = (&prev[k], &sub[k]);
        let mut out = vec![0u64; 16];
        for b in 0..16 {
            let before = if b < 4 {
                s.get(b).copied().unwrap_or(0)
            } else {
                out.get(b - 4).copied().unwrap_or(0)
            };
            if let Some(slot) = out.get_mut(b) {
                *slot = p.get(b).copied().unwrap_or(0) ^ before;
            }
        }
        out
    })
}

/// The S-box circuit on eight bit planes.
fn sbox_circuit() -> Circuit {
    Circuit::record(8, |g, w| {
        let b: [usize; 8] = core::array::from_fn(|k| w.get(k).copied().unwrap_or(0));
        sbox_without_constant(g, &b).to_vec()
    })
}

/// A fresh AES-128 key in replicated shares (16 words per plane, lane 0),
/// uniformly random and known to no party; no message.
pub fn random_key<T: Transport>(party: &mut Party<T>) -> Result<[BitShares; 8]> {
    let mut out: [BitShares; 8] = Default::default();
    for slot in out.iter_mut() {
        *slot = party.replicated_random(16)?;
    }
    Ok(out)
}

/// Encrypts every block of the bitsliced, shared `state` (planes of 16·W
/// words) under the shared `key`; the result stays shared.
pub fn encrypt<T: Transport>(
    party: &mut Party<T>,
    key: &[BitShares; 8],
    state: [BitShares; 8],
) -> Result<[BitShares; 8]> {
    let len = state.first().map_or(0, BitShares::len);
    if !len.is_multiple_of(16) || state.iter().any(|p| p.len() != len) {
        return Err(MpcError::Config(
            "AES state planes must be 16·W words each".into(),
        ));
    }
    if key.iter().any(|p| p.len() != 16) {
        return Err(MpcError::Config("AES key planes must be 16 words".into()));
    }
    let w = len / 16;
    let circuit = sbox_circuit();
    let (mut own, mut next) = split(state);
    let (mut key_own, mut key_next) = split(key.clone());
    add_round_key(&mut own, &key_own, w);
    add_round_key(&mut next, &key_next, w);
    for (round, rcon) in RCON.iter().enumerate() {
        // SubBytes of the state and SubWord(RotWord(w₃)) in one evaluation.
        let rot = |kp: &Planes| -> Planes {
            core::array::from_fn(|k| {
                [13, 14, 15, 12]
                    .map(|b| kp[k].get(b).copied().unwrap_or(0))
                    .to_vec()
            })
        };
        let (rot_own, rot_next) = (rot(&key_own), rot(&key_next));
        let mut inputs = Vec::with_capacity(8);
        for k in 0..8 {
            let mut o = core::mem::take(&mut own[k]);
            o.extend_from_slice(&rot_own[k]);
            let mut n = core::mem::take(&mut next[k]);
            n.extend_from_slice(&rot_next[k]);
            inputs.push(BitShares::from_parts(o, n)?);
        }
        let mut outputs = circuit.eval_shared(party, inputs)?;
        for (k, out) in outputs.iter_mut().enumerate() {
            if (SBOX_CONSTANT >> k) & 1 == 1 {
                party.replicated_xor_public(out, &vec![u64::MAX; 16 * w + 4])?;
            }
        }
        let outputs: [BitShares; 8] = outputs
            .try_into()
            .map_err(|_| MpcError::Config("the S-box has eight outputs".into()))?;
        let (mut sub_own, mut sub_next) = split(outputs);
        let mut sub_key_own: Planes = Default::default();
        let mut sub_key_next: Planes = Default::default();
        for k in 0..8 {
            sub_key_own[k] = sub_own[k].split_off(16 * w);
            sub_key_next[k] = sub_next[k].split_off(16 * w);
        }
        // Rcon into byte 0 of the word: a public constant, on s₀.
        let rcon_words: Vec<Vec<u64>> = (0..8)
            .map(|k| {
                let mut v = vec![0u64; 4];
                if let Some(slot) = v.first_mut() {
                    *slot = u64::from((rcon >> k) & 1);
                }
                v
            })
            .collect();
        let mut sub_key = join(sub_key_own, sub_key_next)?;
        for (plane, c) in sub_key.iter_mut().zip(&rcon_words) {
            party.replicated_xor_public(plane, c)?;
        }
        let (sk_own, sk_next) = split(sub_key);
        key_own = next_round_key(&key_own, &sk_own);
        key_next = next_round_key(&key_next, &sk_next);
        own = sub_own;
        next = sub_next;
        shift_rows(&mut own, w);
        shift_rows(&mut next, w);
        if round + 1 < RCON.len() {
            mix_columns(&mut own, w);
            mix_columns(&mut next, w);
        }
        add_round_key(&mut own, &key_own, w);
        add_round_key(&mut next, &key_next, w);
    }
    join(own, next)
}

/// The 128-bit hash of `item` under `domain` (SHA-256 of the domain, the item's length and
/// the item, truncated), as two words: what is input in shares to be encrypted.
pub fn hash_words(domain: &[u8], item: &[u8]) -> [u64; 2] {
    use sha2::{Digest, Sha256};
    let d = Sha256::new()
        .chain_update(domain)
        .chain_update((item.len() as u64).to_le_bytes())
        .chain_update(item)
        .finalize();
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(d.get(i..i + 8).unwrap_or(&[0; 8]));
        u64::from_le_bytes(w)
    };
    [word(0), word(8)]
}

/// Pairs of words (low, high) as 128-bit blocks.
pub fn blocks_of(words: &[u64]) -> zeroize::Zeroizing<Vec<u128>> {
    zeroize::Zeroizing::new(
        words
            .chunks_exact(2)
            .map(|c| {
                let (lo, hi) = (c.first().copied(), c.get(1).copied());
                u128::from(lo.unwrap_or(0)) | (u128::from(hi.unwrap_or(0)) << 64)
            })
            .collect(),
    )
}

/// Bitslices our shares of per-block values (each a 128-bit share pair).
pub fn slice_shares(own: &[u128], next: &[u128]) -> Result<[BitShares; 8]> {
    join(bitslice(own), bitslice(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::{BlockEncrypt, KeyInit};

    /// Plain AES through the same linear layers and circuit, on public planes.
    fn encrypt_plain(key: [u8; 16], blocks: &[u128]) -> Vec<u128> {
        let circuit = sbox_circuit();
        let w = words_for(blocks.len());
        let mut state = bitslice(blocks);
        let mut rk: Planes =
            core::array::from_fn(|k| key.iter().map(|b| u64::from((b >> k) & 1)).collect());
        add_round_key(&mut state, &rk, w);
        for (round, rcon) in RCON.iter().enumerate() {
            let inputs: Vec<Vec<u64>> = (0..8)
                .map(|k| {
                    let mut v = state[k].clone();
                    v.extend([13, 14, 15, 12].map(|b| rk[k][b]));
                    v
                })
                .collect();
            let mut out = circuit.eval_plain(&inputs);
            for (k, o) in out.iter_mut().enumerate() {
                if (SBOX_CONSTANT >> k) & 1 == 1 {
                    o.iter_mut().for_each(|x| *x ^= u64::MAX);
                }
            }
            let mut sub: Planes = Default::default();
            for k in 0..8 {
                sub[k] = out[k].split_off(16 * w);
                sub[k][0] ^= u64::from((rcon >> k) & 1);
                state[k] = out[k].clone();
            }
            rk = next_round_key(&rk, &sub);
            shift_rows(&mut state, w);
            if round + 1 < RCON.len() {
                mix_columns(&mut state, w);
            }
            add_round_key(&mut state, &rk, w);
        }
        unbitslice(&state, blocks.len())
    }

    #[test]
    fn bitslicing_round_trips() {
        let blocks: Vec<u128> = (0..130u128)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
            .collect();
        assert_eq!(unbitslice(&bitslice(&blocks), blocks.len()), blocks);
    }

    #[test]
    fn the_bitsliced_layers_are_aes_128() {
        // FIPS-197 appendix C.1.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let pt = u128::from_le_bytes(core::array::from_fn(|i| (i as u8) * 0x11));
        let ct = encrypt_plain(key, &[pt]);
        let expected = [
            0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4,
            0xc5, 0x5a,
        ];
        assert_eq!(ct[0].to_le_bytes(), expected);
        // And many blocks against the `aes` crate.
        let cipher = aes::Aes128::new(&[7u8; 16].into());
        let blocks: Vec<u128> = (0..200u128)
            .map(|i| i * 0x0123_4567_89ab_cdef_0fed_cba9_8765_4321 + 5)
            .collect();
        let got = encrypt_plain([7u8; 16], &blocks);
        for (x, y) in blocks.iter().zip(got) {
            let mut b = x.to_le_bytes().into();
            cipher.encrypt_block(&mut b);
            assert_eq!(y.to_le_bytes(), <[u8; 16]>::from(b));
        }
    }
}
