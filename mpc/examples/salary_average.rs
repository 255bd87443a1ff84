//! Four employees learn their average salary and nothing else.
//!
//! The example starts four party processes (itself, with `--party`), each knowing only its own
//! salary and listening on its own TCP port on 127.0.0.1. They secret-share their salaries, add
//! the shares locally and open only the total; every party prints the average, and the first
//! process checks that they agree. Run with
//! `cargo run --release -p symbolon-mpc --example salary_average`.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Instant;

use symbolon_mpc::encoding::IntCodec;
use symbolon_mpc::tcp::free_loopback_addr_list;
use symbolon_mpc::{Party, SessionConfig, TcpConfig, TcpTransport};

type BoxError = Box<dyn std::error::Error>;

/// The seed's salaries, one per employee.
const SALARIES: [i64; 4] = [2500, 3250, 1800, 4320];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--party") => party(&args),
        None => coordinate(),
        Some(other) => Err(format!("unexpected argument `{other}` (run without arguments)").into()),
    };
    if let Err(error) = result {
        eprintln!("salary_average: {error}");
        std::process::exit(1);
    }
}

/// Starts one process per employee and prints the average they agree on.
fn coordinate() -> Result<(), BoxError> {
    let start = Instant::now();
    let mut session = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut session);
    let addr_list = free_loopback_addr_list(SALARIES.len())?;
    let session_hex: String = session.iter().map(|b| format!("{b:02x}")).collect();
    let exe = std::env::current_exe()?;
    let children = SALARIES
        .iter()
        .enumerate()
        .map(|(i, salary)| {
            Command::new(&exe)
                .args(["--party", &i.to_string(), "--salary", &salary.to_string()])
                .args(["--addrs", &addr_list, "--session", &session_hex])
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut averages = Vec::new();
    for (i, mut child) in children.into_iter().enumerate() {
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        let status = child.wait()?;
        if !status.success() {
            return Err(format!("party {i} failed ({status})").into());
        }
        averages.push(line.trim().to_owned());
    }
    let first = averages.first().cloned().unwrap_or_default();
    if first.is_empty() || averages.iter().any(|a| *a != first) {
        return Err(format!("the parties disagree: {averages:?}").into());
    }
    println!("average salary: {first}");
    eprintln!(
        "({} party processes over TCP on 127.0.0.1, {:?} including start-up)",
        SALARIES.len(),
        start.elapsed()
    );
    Ok(())
}

/// One employee: `--party I --salary S --addrs A0,A1,... --session HEX`.
fn party(args: &[String]) -> Result<(), BoxError> {
    let value = |name: &str| -> Result<&str, BoxError> {
        let at = args
            .iter()
            .position(|a| a == name)
            .ok_or_else(|| format!("missing {name}"))?;
        Ok(args
            .get(at + 1)
            .ok_or_else(|| format!("{name} needs a value"))?)
    };
    let me: usize = value("--party")?.parse()?;
    let salary: i64 = value("--salary")?.parse()?;
    let addrs: Vec<SocketAddr> = value("--addrs")?
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let session_hex = value("--session")?;
    let mut session = [0u8; 16];
    for (i, byte) in session.iter_mut().enumerate() {
        let pair = session_hex
            .get(2 * i..2 * i + 2)
            .ok_or("--session needs 32 hex digits")?;
        *byte = u8::from_str_radix(pair, 16)?;
    }
    let listener = TcpListener::bind(addrs.get(me).ok_or("no address for this party")?)?;
    let transport = TcpTransport::connect(me, &listener, &addrs, &TcpConfig::default())?;
    let mut party = Party::new(transport, &SessionConfig::new(session))?;
    let codec = IntCodec::new(32)?;
    // Every party shares its salary; only the total is opened.
    let shared = party.input_all(&codec.encode(&[salary])?)?;
    let mut total = party.constant(&[symbolon_mpc::Fp::ZERO]);
    for s in &shared {
        total = total.add(s)?;
    }
    let sum = party.open(&total)?;
    let sum = sum.first().map_or(0, |&s| codec.decode(s));
    println!("{:.2}", sum as f64 / shared.len() as f64);
    Ok(())
}
