//! AES on shares against the `aes` crate, three parties over memory.

use super::aes::{encrypt, random_key, slice_shares, unbitslice};
use crate::memory::MemoryTransport;
use crate::party::{BitShares, Party, SessionConfig};
use ::aes::cipher::{BlockEncrypt, KeyInit};

fn blocks(owner: usize) -> Vec<u128> {
    (0..(70 + 30 * owner as u128))
        .map(|i| (i + 1000 * owner as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
        .collect()
}

fn run(me: usize, transport: MemoryTransport) -> (Vec<u128>, [u8; 16], Vec<u128>) {
    let config = SessionConfig::new(*b"boolean-aes-test");
    let mut party = Party::new(transport, &config).unwrap();
    let lens: Vec<usize> = (0..3).map(|o| 2 * blocks(o).len()).collect();
    let mine: Vec<u64> = blocks(me)
        .iter()
        .flat_map(|x| [*x as u64, (*x >> 64) as u64])
        .collect();
    let shared = party.replicated_input_all(&mine, &lens).unwrap();
    let all = BitShares::concat(&shared.iter().collect::<Vec<_>>());
    let join = |v: &[u64]| -> Vec<u128> {
        v.chunks_exact(2)
            .map(|c| u128::from(c[0]) | (u128::from(c[1]) << 64))
            .collect()
    };
    let count = all.len() / 2;
    let state = slice_shares(&join(all.own()), &join(all.next())).unwrap();
    let key = random_key(&mut party).unwrap();
    let out = encrypt(&mut party, &key, state).unwrap();
    let mut planes: [Vec<u64>; 8] = Default::default();
    for (k, p) in out.iter().enumerate() {
        planes[k] = party.replicated_open(p).unwrap();
    }
    let mut key_bytes = [0u8; 16];
    for (k, p) in key.iter().enumerate() {
        for (b, w) in party.replicated_open(p).unwrap().iter().enumerate() {
            key_bytes[b] |= ((w & 1) as u8) << k;
        }
    }
    let inputs: Vec<u128> = (0..3).flat_map(blocks).collect();
    (unbitslice(&planes, count), key_bytes, inputs)
}

#[test]
fn aes_on_shares_is_aes_under_the_opened_key() {
    let handles: Vec<_> = MemoryTransport::network(3)
        .into_iter()
        .enumerate()
        .map(|(me, t)| std::thread::spawn(move || run(me, t)))
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let (out, key, inputs) = &results[0];
    assert!(results.iter().all(|r| &r.0 == out && &r.1 == key));
    assert_ne!(key, &[0u8; 16]);
    let cipher = ::aes::Aes128::new(&(*key).into());
    assert_eq!(out.len(), inputs.len());
    for (x, y) in inputs.iter().zip(out) {
        let mut b = x.to_le_bytes().into();
        cipher.encrypt_block(&mut b);
        assert_eq!(y.to_le_bytes(), <[u8; 16]>::from(b));
    }
}
