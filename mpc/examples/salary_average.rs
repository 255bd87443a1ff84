//! Four employees learn their average salary and nothing else.
//!
//! Each employee is a party with its own TCP listener on 127.0.0.1; they
//! secret-share their salaries, add the shares locally and open only the
//! total. Run with `cargo run --release -p symbolon-mpc --example salary_average`.

use std::time::Instant;
use symbolon_mpc::encoding::IntCodec;
use symbolon_mpc::tcp::loopback_listeners;
use symbolon_mpc::{Party, SessionConfig, TcpConfig, TcpTransport};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let salaries: [i64; 4] = [2500, 3250, 1800, 4320];
    let mut session = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut session);
    let config = SessionConfig::new(session);
    let (listeners, addrs) = loopback_listeners(salaries.len())?;
    let handles: Vec<_> = listeners
        .into_iter()
        .zip(salaries)
        .enumerate()
        .map(|(i, (listener, salary))| {
            let addrs = addrs.clone();
            let config = config.clone();
            std::thread::spawn(move || -> symbolon_mpc::Result<f64> {
                let transport = TcpTransport::connect(i, &listener, &addrs, &TcpConfig::default())?;
                let mut party = Party::new(transport, &config)?;
                let codec = IntCodec::new(32)?;
                let shared = party.input_all(&codec.encode(&[salary])?)?;
                let mut total = party.constant(&[symbolon_mpc::Fp::ZERO]);
                for s in &shared {
                    total = total.add(s)?;
                }
                let sum = party.open(&total)?;
                let sum = sum.first().map_or(0, |&s| codec.decode(s));
                Ok(sum as f64 / shared.len() as f64)
            })
        })
        .collect();
    let mut averages = Vec::new();
    for h in handles {
        let avg = h.join().map_err(|_| "a party panicked")??;
        averages.push(avg);
    }
    let first = averages.first().copied().unwrap_or(f64::NAN);
    if averages.iter().any(|&a| a != first) {
        return Err("parties disagree".into());
    }
    println!("average salary: {first:.2}");
    eprintln!("(4 parties over TCP on 127.0.0.1, {:?})", start.elapsed());
    Ok(())
}
