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

fn three<R: Send + 'static>(
    f: impl Fn(&mut Party<MemoryTransport>) -> R + Send + Sync + Clone + 'static,
) -> Vec<R> {
    let config = SessionConfig::new(*b"boolean-unit-tst");
    let handles: Vec<_> = MemoryTransport::network(3)
        .into_iter()
        .map(|t| {
            let (f, config) = (f.clone(), config.clone());
            std::thread::spawn(move || {
                let mut party = Party::new(t, &config).unwrap();
                f(&mut party)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn and_xor_and_constants_compute_on_secret_words() {
    let results = three(|p| {
        let me = p.index();
        let lens = [3, 3, 3];
        let mine: Vec<u64> = (0..3)
            .map(|i| 0x0f0f_0000_ffff_0001 * (me as u64 + 1) + i)
            .collect();
        let s = p.replicated_input_all(&mine, &lens).unwrap();
        let and = p.replicated_and(&[(&s[0], &s[1]), (&s[1], &s[2])]).unwrap();
        let mut x = and[0].xor(&and[1]).unwrap();
        p.replicated_xor_public(&mut x, &[u64::MAX, 0, 1]).unwrap();
        // Shares alone are not the value: every party's two shares differ from it.
        let opened = p.replicated_open(&x).unwrap();
        (opened, x.own().to_vec(), x.next().to_vec())
    });
    let v = |who: u64| -> Vec<u64> {
        (0..3)
            .map(|i| 0x0f0f_0000_ffff_0001 * (who + 1) + i)
            .collect()
    };
    let (a, b, c) = (v(0), v(1), v(2));
    let expected: Vec<u64> = (0..3)
        .map(|i| (a[i] & b[i]) ^ (b[i] & c[i]) ^ [u64::MAX, 0, 1][i])
        .collect();
    for (opened, own, next) in &results {
        assert_eq!(opened, &expected);
        assert_ne!(own, &expected);
        assert_ne!(next, &expected);
    }
    // Party i's `next` is party i + 1's `own`.
    for i in 0..3 {
        assert_eq!(results[i].2, results[(i + 1) % 3].1);
    }
}

#[test]
fn a_short_and_message_is_refused_with_its_sender() {
    let results = three(|p| {
        let me = p.index();
        let len = if me == 2 { 2 } else { 4 };
        let x = p.replicated_random(len).unwrap();
        p.replicated_and(&[(&x, &x)]).map(|_| ())
    });
    // Party 1 receives party 2's (short) message.
    match &results[1] {
        Err(crate::MpcError::WrongLength {
            peer,
            expected,
            got,
        }) => {
            assert_eq!((*peer, *expected, *got), (2, 4, 2));
        }
        other => panic!("expected a length error, got {other:?}"),
    }
}

#[test]
fn shuffling_with_words_keeps_rows_together_and_hides_the_order() {
    use crate::field::Fp;
    use crate::shuffle::shuffle_with_words;
    let rows = 200usize;
    let results = three(move |p| {
        let me = p.index();
        // Party 0 inputs the column, party 1 the words (row r: 2 words r·7, r·7 + 1).
        let col_values: Vec<Fp> = (0..rows as u64).map(|r| Fp::from_u64(r * 7)).collect();
        let col = p
            .input(0, (me == 0).then_some(col_values.as_slice()), rows)
            .unwrap();
        let words: Vec<u64> = (0..rows as u64).flat_map(|r| [r * 7, r * 7 + 1]).collect();
        let lens = [0, 2 * rows, 0];
        let mine: &[u64] = if me == 1 { &words } else { &[] };
        let shared = p.replicated_input_all(mine, &lens).unwrap();
        let (cols, w) = shuffle_with_words(p, &[col], rows, shared[1].clone(), 2).unwrap();
        let col = p.open(&cols[0]).unwrap();
        let w = p.replicated_open(&w).unwrap();
        (col, w)
    });
    let (col, words) = &results[0];
    assert!(results.iter().all(|r| &r.0 == col && &r.1 == words));
    let mut seen: Vec<u64> = Vec::new();
    for (r, v) in col.iter().enumerate() {
        let v = v.value() as u64;
        assert_eq!(words[2 * r], v, "row {r}: the words moved with the column");
        assert_eq!(words[2 * r + 1], v + 1);
        seen.push(v / 7);
    }
    let moved = seen
        .iter()
        .enumerate()
        .filter(|(r, v)| *r as u64 != **v)
        .count();
    assert!(moved > rows / 2, "only {moved} of {rows} rows moved");
    seen.sort_unstable();
    assert_eq!(seen, (0..rows as u64).collect::<Vec<_>>());
}
