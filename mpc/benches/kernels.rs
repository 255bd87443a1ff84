//! Criterion benches for the local kernels: field arithmetic, PRG share
//! expansion (AES-128-CTR), sharing and reconstruction, Ristretto blinding
//! (variable- and fixed-base).
//! Run with `cargo bench -p symbolon-mpc --bench kernels -- --measurement-time 2`.

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::OsRng;
use symbolon_mpc::field::batch_invert;
use symbolon_mpc::prg::PairKey;
use symbolon_mpc::shamir::{random_element, reconstruct_vectors, share};
use symbolon_mpc::Fp;

const N: usize = 1 << 16;

fn field(c: &mut Criterion) {
    let a: Vec<Fp> = (0..N).map(|_| random_element(&mut OsRng)).collect();
    let b: Vec<Fp> = (0..N).map(|_| random_element(&mut OsRng)).collect();
    let mut g = c.benchmark_group("field");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("mul", |z| {
        z.iter(|| {
            a.iter()
                .zip(&b)
                .map(|(&x, &y)| x * y)
                .fold(Fp::ZERO, |s, v| s + v)
        })
    });
    g.bench_function("add", |z| {
        z.iter(|| {
            a.iter()
                .zip(&b)
                .map(|(&x, &y)| x + y)
                .fold(Fp::ZERO, |s, v| s + v)
        })
    });
    g.bench_function("batch_invert", |z| {
        z.iter(|| {
            let mut v = a.clone();
            batch_invert(&mut v);
            v
        })
    });
    g.finish();
}

fn sharing(c: &mut Criterion) {
    let key = PairKey::derive(&[7u8; 32], b"bench-session-id", 0, 1);
    let mut g = c.benchmark_group("sharing");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("prg_expand", |z| z.iter(|| key.expand(black_box(3), N)));
    g.bench_function("prg_stream_sum", |z| {
        z.iter(|| {
            let mut acc = Fp::ZERO;
            key.stream(black_box(3))
                .for_each_chunk(N, |_, c| acc += c.iter().copied().sum::<Fp>());
            acc
        })
    });
    let secrets: Vec<Fp> = (0..N).map(|_| random_element(&mut OsRng)).collect();
    // Coefficients from a seeded ChaCha20 stream, as a dealer would draw them (one system
    // call per coefficient would measure the kernel's getrandom, not the sharing).
    let mut rng =
        <rand_chacha::ChaCha20Rng as rand::SeedableRng>::from_rng(OsRng).expect("OS randomness");
    g.bench_function("share_3_of_5", |z| {
        z.iter(|| {
            secrets
                .iter()
                .map(|&s| share(s, 2, 5, &mut rng))
                .collect::<Vec<_>>()
        })
    });
    let shares: Vec<Vec<Fp>> = {
        let per: Vec<Vec<Fp>> = secrets
            .iter()
            .map(|&s| share(s, 1, 3, &mut OsRng))
            .collect();
        (0..3).map(|k| per.iter().map(|v| v[k]).collect()).collect()
    };
    g.bench_function("reconstruct_checked_n3_t1", |z| {
        z.iter(|| reconstruct_vectors(black_box(&shares), 1))
    });
    g.finish();
}

fn blinding(c: &mut Criterion) {
    let ids: Vec<[u8; 16]> = (0..256u32)
        .map(|i| {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&i.to_le_bytes());
            b
        })
        .collect();
    let k = curve25519_dalek::scalar::Scalar::random(&mut OsRng);
    let pts = symbolon_mpc::group::hash_to_points(b"bench", &ids);
    let mut g = c.benchmark_group("ristretto");
    g.throughput(Throughput::Elements(ids.len() as u64));
    g.bench_function("hash_to_point", |z| {
        z.iter(|| symbolon_mpc::group::hash_to_points(b"bench", &ids))
    });
    g.bench_function("mul_compress", |z| {
        z.iter(|| symbolon_mpc::group::mul_compress(&pts, &k))
    });
    let table = curve25519_dalek::ristretto::RistrettoBasepointTable::create(&pts[0]);
    let scalars: Vec<_> = (0..ids.len())
        .map(|_| curve25519_dalek::scalar::Scalar::random(&mut OsRng))
        .collect();
    g.bench_function("fixed_base_mul", |z| {
        z.iter(|| scalars.iter().map(|s| s * &table).collect::<Vec<_>>())
    });
    g.finish();
}

criterion_group!(benches, field, sharing, blinding);
criterion_main!(benches);
