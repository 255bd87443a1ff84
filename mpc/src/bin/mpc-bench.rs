//! `mpc-bench`: times one MPC operation between P party processes on 127.0.0.1.
//!
//! ```text
//! mpc-bench --op sum|sum-field|sum-shares|mul|lt|psi|psi-helped --n N --parties P [--timeout SECONDS]
//! mpc-bench --op study --data DIR [--timeout SECONDS]
//! ```
//!
//! Starts P copies of itself as party processes connected over TCP on
//! loopback, runs the operation on random inputs derived from a fresh seed,
//! checks every party's output against the plaintext computation and prints
//! one JSON line: `{"op","n","parties","seconds","cpu_seconds","bytes_sent","correct"}`.
//! `seconds` is the slowest party's time from a barrier after connection
//! and session set-up to its result (start-up excluded); `bytes_sent` is the
//! total over all parties, message headers included; `cpu_seconds` is the
//! CPU time all parties spent in that span (from `/proc/self/stat`, 10 ms
//! ticks; `null` where unavailable), which depends less than `seconds` on
//! what else the machine is running.
//!
//! - `sum`: every party contributes a length-N vector of 32-bit unsigned
//!   integers; every party learns the element-wise sum (secure aggregation
//!   with pairwise masks in a ring of 2^40, two passes: `Party::open_sum_bounded`
//!   with 33-bit inputs, 5 bytes per element).
//! - `sum-field`: the same with masks in the field (`Party::open_sum`, 16
//!   bytes per element), for values of any size.
//! - `sum-shares`: the same through Shamir shares (`Party::input_sum`, then
//!   `Party::open`), for when the sum must stay secret for further steps.
//! - `mul`: parties 0 and 1 input length-N vectors (in one round); the
//!   element-wise product is opened.
//! - `lt`: parties 0 and 1 input length-N vectors of 32-bit integers; the
//!   N comparison bits are opened.
//! - `psi`: parties 0 (receiver) and 1 (sender) hold N items each, a tenth
//!   in common; party 0 learns which (other parties sit out).
//! - `psi-helped`: the same sets, with exactly three parties: party 2 helps
//!   ([`symbolon_mpc::helped_psi`], AES on replicated shares).
//! - `study`: the analytics study as the connector runs it, the program
//!   `linked-group-stats` of [`symbolon_mpc::programs`]: three parties load
//!   `insurer.csv`, `hospital.csv` and `cbs.csv` from DIR (before the clock
//!   starts), link their records privately and compute the per (income
//!   group, app use) cells and effects for party 2; party 2 checks every
//!   figure against `DIR/expected.json`. `n` in the output is the
//!   expected.json's `n`.
//!
//! The output line also carries `per_party`: each party's seconds and bytes.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use symbolon_mpc::encoding::IntCodec;
use symbolon_mpc::helped_psi;
use symbolon_mpc::psi::{self, PsiMode, PsiOutput};
use symbolon_mpc::tcp::free_loopback_addr_list;
use symbolon_mpc::{compare, Channel, Party, SessionConfig, TcpConfig, TcpTransport};

/// mimalloc, as the `symbolon` binary: freed message and result buffers are reused instead
/// of being returned to the kernel and faulted in again.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "mpc-bench/study.rs"]
mod study;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Sum,
    SumField,
    SumShares,
    Mul,
    Lt,
    Psi,
    PsiHelped,
    Study,
}

impl Op {
    fn parse(s: &str) -> Result<Op, BoxError> {
        Ok(match s {
            "sum" => Op::Sum,
            "sum-field" => Op::SumField,
            "sum-shares" => Op::SumShares,
            "mul" => Op::Mul,
            "lt" => Op::Lt,
            "psi" => Op::Psi,
            "psi-helped" => Op::PsiHelped,
            "study" => Op::Study,
            _ => {
                return Err(format!(
                    "unknown op `{s}` (expected sum, sum-field, sum-shares, mul, lt, psi, psi-helped or study)"
                )
                .into())
            }
        })
    }
    fn name(self) -> &'static str {
        match self {
            Op::Sum => "sum",
            Op::SumField => "sum-field",
            Op::SumShares => "sum-shares",
            Op::Mul => "mul",
            Op::Lt => "lt",
            Op::Psi => "psi",
            Op::PsiHelped => "psi-helped",
            Op::Study => "study",
        }
    }
}

/// What an operation opens: integers (the bounded sum) or field elements.
enum Opened {
    Ints(Vec<i64>),
    Field(Vec<symbolon_mpc::Fp>),
}

struct Args {
    op: Op,
    n: usize,
    parties: usize,
    timeout: u64,
    worker: Option<usize>,
    addrs: Vec<SocketAddr>,
    seed: [u8; 32],
    data: Option<std::path::PathBuf>,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut a = Args {
        op: Op::Sum,
        n: 1000,
        parties: 3,
        timeout: 120,
        worker: None,
        addrs: Vec::new(),
        seed: [0; 32],
        data: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--op" => a.op = Op::parse(&val()?)?,
            "--n" => a.n = val()?.parse()?,
            "--parties" => a.parties = val()?.parse()?,
            "--timeout" => a.timeout = val()?.parse()?,
            "--worker" => a.worker = Some(val()?.parse()?),
            "--addrs" => {
                a.addrs = val()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--seed" => a.seed = from_hex(&val()?)?,
            "--data" => a.data = Some(val()?.into()),
            "-h" | "--help" => {
                println!(
                    "usage: mpc-bench --op sum|sum-field|sum-shares|mul|lt|psi|psi-helped --n N --parties P [--timeout SECONDS]\n       mpc-bench --op study --data DIR [--timeout SECONDS]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    if a.op == Op::Study {
        if a.data.is_none() {
            return Err("--op study needs --data DIR".into());
        }
        a.parties = 3;
        a.n = study::expected_n(a.data.as_deref().unwrap_or(std::path::Path::new(".")))?;
    }
    if a.op == Op::PsiHelped && a.parties != 3 {
        return Err("psi-helped runs with exactly 3 parties (receiver, sender, helper)".into());
    }
    let min = if a.op == Op::Psi { 2 } else { 3 };
    if a.parties < min {
        return Err(format!("{} needs at least {min} parties", a.op.name()).into());
    }
    Ok(a)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn from_hex(s: &str) -> Result<[u8; 32], BoxError> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return Err("seed must be 64 hex digits".into());
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2).ok_or("bad hex")?, 16)?;
    }
    Ok(out)
}

fn rng_for(seed: &[u8; 32], label: &str) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(label.as_bytes());
    ChaCha20Rng::from_seed(h.finalize().into())
}

/// The inputs of party `i`: integers for sum/mul/lt.
fn int_inputs(seed: &[u8; 32], op: Op, i: usize, n: usize) -> Vec<i64> {
    let mut rng = rng_for(seed, &format!("party-{i}"));
    (0..n)
        .map(|_| match op {
            Op::Lt | Op::Mul => i64::from(rng.gen::<i32>() >> 1),
            Op::Sum | Op::SumField | Op::SumShares => i64::from(rng.gen::<u32>()),
            Op::Psi | Op::PsiHelped | Op::Study => 0,
        })
        .collect()
}

/// The items of party `i` for PSI: a tenth in common, first.
fn psi_items(seed: &[u8; 32], i: usize, n: usize) -> Vec<[u8; 16]> {
    let mut common = rng_for(seed, "psi-common");
    let mut own = rng_for(seed, &format!("psi-{i}"));
    (0..n)
        .map(|k| {
            let mut b = [0u8; 16];
            if k < n / 10 {
                common.fill_bytes(&mut b);
            } else {
                own.fill_bytes(&mut b);
            }
            b
        })
        .collect()
}

fn digest_ints(xs: impl Iterator<Item = i128>) -> String {
    let mut h = Sha256::new();
    for x in xs {
        h.update(x.to_le_bytes());
    }
    hex(&h.finalize())
}

fn expected_digest(a: &Args) -> String {
    match a.op {
        Op::Sum | Op::SumField | Op::SumShares => {
            let ins: Vec<Vec<i64>> = (0..a.parties)
                .map(|i| int_inputs(&a.seed, a.op, i, a.n))
                .collect();
            digest_ints((0..a.n).map(|k| ins.iter().map(|v| i128::from(v[k])).sum()))
        }
        Op::Mul | Op::Lt => {
            let x = int_inputs(&a.seed, a.op, 0, a.n);
            let y = int_inputs(&a.seed, a.op, 1, a.n);
            digest_ints(x.iter().zip(&y).map(|(&p, &q)| {
                if a.op == Op::Mul {
                    i128::from(p) * i128::from(q)
                } else {
                    i128::from(p < q)
                }
            }))
        }
        Op::Psi | Op::PsiHelped => digest_ints((0..(a.n / 10) as i128).chain(std::iter::empty())),
        Op::Study => study::CORRECT.to_owned(),
    }
}

/// CPU time of this process so far (all threads, including finished ones),
/// from `/proc/self/stat` in clock ticks of 10 ms; `None` where unavailable.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which ends with the last ')').
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// What the threads of this process have used so far, from `/proc`: CPU
/// time and time spent runnable but waiting for a CPU (nanoseconds, summed
/// over the live threads' `schedstat`), and minor page faults. `None` where
/// unavailable.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    cpu_ns: u64,
    runq_ns: u64,
    minflt: u64,
}

fn usage() -> Option<Usage> {
    let mut u = Usage::default();
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("schedstat");
        let Ok(text) = std::fs::read_to_string(path) else {
            continue; // the thread ended meanwhile
        };
        let mut f = text.split_whitespace().map(str::parse::<u64>);
        u.cpu_ns += f.next()?.ok()?;
        u.runq_ns += f.next()?.ok()?;
    }
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    u.minflt = rest.split_whitespace().nth(7)?.parse().ok()?;
    Some(u)
}

/// The per-party detail of a timed span: waiting for peers, rounds, CPU,
/// run-queue delay and page faults (as JSON, for `per_party`).
fn detail(
    waited: Duration,
    rounds: u64,
    before: Option<Usage>,
    after: Option<Usage>,
) -> serde_json::Value {
    let d = before.zip(after).map(|(b, a)| Usage {
        cpu_ns: a.cpu_ns.saturating_sub(b.cpu_ns),
        runq_ns: a.runq_ns.saturating_sub(b.runq_ns),
        minflt: a.minflt.saturating_sub(b.minflt),
    });
    serde_json::json!({
        "wait_seconds": waited.as_secs_f64(),
        "rounds": rounds,
        "task_cpu_seconds": d.map(|d| d.cpu_ns as f64 * 1e-9),
        "runq_seconds": d.map(|d| d.runq_ns as f64 * 1e-9),
        "minflt": d.map(|d| d.minflt),
    })
}

fn worker(a: &Args, me: usize) -> Result<(), BoxError> {
    let addr = *a.addrs.get(me).ok_or("no address for this party")?;
    let listener = TcpListener::bind(addr)?;
    let tcp = TcpConfig {
        connect_timeout: Duration::from_secs(a.timeout),
        ..TcpConfig::default()
    };
    let transport = TcpTransport::connect(me, &listener, &a.addrs, &tcp)?;
    let mut session = [0u8; 16];
    session.copy_from_slice(a.seed.get(..16).ok_or("short seed")?);
    let timeout = Duration::from_secs(a.timeout);
    let codec = IntCodec::new(33)?;
    let mut extra = serde_json::Value::Null;
    let (seconds, cpu, bytes, digest) = if a.op == Op::Study {
        let dir = a.data.as_deref().ok_or("--op study needs --data DIR")?;
        study::run(transport, session, timeout, dir, me, cpu_seconds)?
    } else if a.op == Op::PsiHelped {
        let mut party = Party::new(
            transport,
            &SessionConfig::new(session).with_timeout(timeout),
        )?;
        let items = if me < 2 {
            psi_items(&a.seed, me, a.n)
        } else {
            Vec::new()
        };
        party.channel().all_to_all(&[])?; // barrier: start together
        let bytes0 = party.bytes_sent();
        let cpu0 = cpu_seconds();
        let start = Instant::now();
        let found = helped_psi::which(&mut party, 0, 1, &items)?;
        let digest = found
            .map(|v| digest_ints(v.iter().map(|&i| i as i128)))
            .unwrap_or_default();
        let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
        (
            start.elapsed().as_secs_f64(),
            cpu,
            party.bytes_sent() - bytes0,
            digest,
        )
    } else if a.op == Op::Psi {
        let mut chan = Channel::new(transport, session, timeout)?;
        let items = if me < 2 {
            psi_items(&a.seed, me, a.n)
        } else {
            Vec::new()
        };
        chan.all_to_all(&[])?; // barrier: start together
        let cpu0 = cpu_seconds();
        let start = Instant::now();
        let digest = match me {
            0 => match psi::receive(&mut chan, 1, &items, PsiMode::Which)? {
                PsiOutput::Which(v) => digest_ints(v.iter().map(|&i| i as i128)),
                PsiOutput::Count(c) => c.to_string(),
            },
            1 => {
                psi::send(&mut chan, 0, &items, PsiMode::Which)?;
                String::new()
            }
            _ => {
                chan.skip_rounds(psi::ROUNDS);
                String::new()
            }
        };
        let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
        (
            start.elapsed().as_secs_f64(),
            cpu,
            chan.bytes_sent(),
            digest,
        )
    } else {
        let mut party = Party::new(
            transport,
            &SessionConfig::new(session).with_timeout(timeout),
        )?;
        // Inputs are generated and encoded before the clock starts.
        let enc = codec.encode(&int_inputs(&a.seed, a.op, me, a.n))?;
        party.barrier()?;
        let before = party.bytes_sent();
        let (wait0, rounds0, usage0) = (party.waited(), party.rounds(), usage());
        let cpu0 = cpu_seconds();
        let start = Instant::now();
        let out = match a.op {
            Op::Sum => Opened::Ints(party.open_sum_bounded(&enc, 33)?),
            Op::SumField => Opened::Field(party.open_sum(&enc)?),
            Op::SumShares => {
                let total = party.input_sum(&enc)?;
                Opened::Field(party.open(&total)?)
            }
            _ => {
                // Parties 0 and 1 input their vectors in one round.
                let mut xy = party.deal(&[0, 1], (me < 2).then_some(enc.as_slice()), a.n)?;
                let y = xy.pop().ok_or("no input")?;
                let x = xy.pop().ok_or("no input")?;
                let z = if a.op == Op::Mul {
                    party.mul(&x, &y)?
                } else {
                    compare::lt(&mut party, &x, &y, 32)?
                };
                Opened::Field(party.open(&z)?)
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        let usage1 = usage();
        let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
        let bytes = party.bytes_sent() - before;
        extra = detail(
            party.waited() - wait0,
            party.rounds() - rounds0,
            usage0,
            usage1,
        );
        // Wait for everyone before hashing, so that no party's checking
        // competes for the CPU with another party's timed work.
        party.barrier()?;
        (
            seconds,
            cpu,
            bytes,
            match &out {
                Opened::Ints(v) => digest_ints(v.iter().map(|&x| i128::from(x))),
                Opened::Field(v) => digest_ints(v.iter().map(|x| x.to_i128())),
            },
        )
    };
    println!(
        "{}",
        serde_json::json!({"party": me, "seconds": seconds, "cpu_seconds": cpu, "bytes_sent": bytes, "digest": digest, "detail": extra})
    );
    Ok(())
}

fn coordinate(mut a: Args) -> Result<(), BoxError> {
    rand::rngs::OsRng.fill_bytes(&mut a.seed);
    let addr_list = free_loopback_addr_list(a.parties)?;
    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for i in 0..a.parties {
        let child = Command::new(&exe)
            .args(["--worker", &i.to_string(), "--addrs", &addr_list])
            .args([
                "--op",
                a.op.name(),
                "--n",
                &a.n.to_string(),
                "--parties",
                &a.parties.to_string(),
            ])
            .args(["--timeout", &a.timeout.to_string(), "--seed", &hex(&a.seed)])
            .args(
                a.data
                    .iter()
                    .flat_map(|d| [std::ffi::OsStr::new("--data"), d.as_os_str()]),
            )
            .stdout(Stdio::piped())
            .spawn()?;
        children.push(child);
    }
    let mut lines = Vec::new();
    for (i, mut child) in children.into_iter().enumerate() {
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        lines.push((i, child.wait()?, line));
    }
    // Computed only now, so it does not compete with the parties for the CPU.
    let expected = expected_digest(&a);
    let mut seconds = 0f64;
    let mut cpu = Some(0f64);
    let mut bytes = 0u64;
    let mut correct = true;
    let mut failures = Vec::new();
    let mut per_party = Vec::new();
    for (i, status, line) in lines {
        if !status.success() || line.trim().is_empty() {
            failures.push(format!("party {i} failed ({status})"));
            correct = false;
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line.trim())?;
        let mut entry = serde_json::json!({
            "party": i, "seconds": v["seconds"], "bytes_sent": v["bytes_sent"]
        });
        if let (Some(e), Some(d)) = (entry.as_object_mut(), v["detail"].as_object()) {
            e.extend(d.clone());
        }
        per_party.push(entry);
        seconds = seconds.max(v["seconds"].as_f64().unwrap_or(f64::NAN));
        bytes += v["bytes_sent"].as_u64().unwrap_or(0);
        cpu = cpu.zip(v["cpu_seconds"].as_f64()).map(|(a, b)| a + b);
        let d = v["digest"].as_str().unwrap_or("");
        let checks = match a.op {
            Op::Psi | Op::PsiHelped => i == 0,
            Op::Study => i == 2,
            _ => true,
        };
        if checks && d != expected {
            correct = false;
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "op": a.op.name(), "n": a.n, "parties": a.parties,
            "seconds": seconds, "cpu_seconds": cpu.map(|c| (c * 100.0).round() / 100.0),
            "bytes_sent": bytes, "correct": correct, "per_party": per_party
        })
    );
    if !failures.is_empty() {
        return Err(failures.join("; ").into());
    }
    Ok(())
}

fn main() {
    let res = parse_args().and_then(|a| match a.worker {
        Some(me) => worker(&a, me),
        None => coordinate(a),
    });
    if let Err(e) = res {
        eprintln!("mpc-bench: {e}");
        std::process::exit(1);
    }
}
