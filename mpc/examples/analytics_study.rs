//! The privacy-preserving analytics study, in miniature: an insurer, a
//! hospital and a statistics bureau measure an eHealth app's effect per
//! patient group without a trusted third party and without any party seeing
//! another's records — or learning which of its patients the others know.
//!
//! Each party is a thread with its own TCP listener on 127.0.0.1. They link
//! their records privately (`joint::link_private`), then compute, over the
//! patients known to all three, the mean outcome per (age group, app use)
//! with the small-cell rule (groups under 10 patients are suppressed), and a
//! linear regression of the outcome on app use, income and age group.
//!
//! `cargo run --release -p symbolon-mpc --example analytics_study -- --patients 1500`

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use std::time::Instant;
use symbolon_mpc::encoding::{FixedCodec, IntCodec};
use symbolon_mpc::joint::link_private;
use symbolon_mpc::stats::{self, Disclosed};
use symbolon_mpc::tcp::loopback_listeners;
use symbolon_mpc::{Fp, Party, SessionConfig, TcpConfig, TcpTransport};

type Records = (Vec<String>, Vec<Vec<Fp>>);

/// Synthetic population; each party holds a different, overlapping part.
fn records(party: usize, patients: usize) -> Result<Records, symbolon_mpc::MpcError> {
    let mut rng = ChaCha12Rng::from_seed([42u8; 32]);
    let (ints, fixed) = (IntCodec::new(8)?, FixedCodec::default());
    let mut ids = Vec::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..patients {
        let age = rng.gen_range(0..4i64);
        let app = i64::from(rng.gen_bool(0.4));
        let income = rng.gen_range(15.0..90.0f64);
        let noise = rng.gen_range(-3.0..3.0f64);
        let outcome = 50.0 + 5.0 * app as f64 + 0.1 * income - 2.0 * age as f64 + noise;
        let held = match party {
            0 => i % 10 != 0, // insurer: age group
            1 => i % 7 != 0,  // hospital: app use and outcome
            _ => i % 11 != 0, // statistics bureau: income
        };
        if held {
            ids.push(format!("patient-{i:06}"));
            match party {
                0 => a.push(age),
                1 => {
                    a.push(app);
                    b.push(outcome);
                }
                _ => b.push(income),
            }
        }
    }
    let cols = match party {
        0 => vec![ints.encode(&a)?],
        1 => vec![ints.encode(&a)?, fixed.encode(&b)?],
        _ => vec![fixed.encode(&b)?],
    };
    Ok((ids, cols))
}

fn run(party: &mut Party<TcpTransport>, patients: usize) -> symbolon_mpc::Result<Vec<String>> {
    let me = party.index();
    let fixed = FixedCodec::default();
    let (ids, cols) = records(me, patients)?;
    let start = Instant::now();
    let table = link_private(party, &ids, &cols)?;
    let linked = start.elapsed();
    let get = |p: usize, c: usize| {
        table
            .columns
            .get(p)
            .and_then(|v| v.get(c))
            .cloned()
            .unwrap_or_default()
    };
    let (age, app, outcome, income) = (get(0, 0), get(1, 0), get(1, 1), get(2, 0));
    let common = party.open(&table.in_all.sum())?;
    // Group = 2·age + app over the patients known to all; others get −1.
    let label = age.scale(Fp::new(2)).add(&app)?.add_scalar(Fp::ONE);
    let label = party.mul(&table.in_all, &label)?.add_scalar(-Fp::ONE);
    let groups = stats::group_by(party, &label, 8, &[&outcome], 5)?;
    let shown = stats::disclose(party, &groups.counts, &[&groups.sums[0]], 10, 32)?;
    let scale = Fp::from_u64(1 << fixed.frac_bits());
    let reg = stats::linear_regression(
        party,
        &[&app.scale(scale), &income, &age.scale(scale)],
        &outcome,
        Some(&table.in_all),
        &fixed,
    )?;
    let mut lines = vec![
        format!(
            "distinct patients over insurer, hospital and bureau: {}",
            table.rows
        ),
        format!(
            "patients known to all three: {}",
            common.first().map_or(0, |c| c.to_i128())
        ),
        "mean outcome per age group and app use (k = 10):".to_owned(),
    ];
    for (g, d) in shown.iter().enumerate() {
        let what = match d {
            Disclosed::Suppressed => "suppressed".to_owned(),
            Disclosed::Released { count, values } => {
                let sum = values.first().map_or(0.0, |v| fixed.decode(*v));
                format!("{:.2} (n = {count})", sum / *count as f64)
            }
        };
        lines.push(format!(
            "  age group {} app {}: {what}",
            g / 2,
            if g % 2 == 1 { "yes" } else { "no " }
        ));
    }
    let c = |i: usize| reg.coefficients.get(i).copied().unwrap_or(f64::NAN);
    lines.push(format!(
        "regression over {} patients: outcome = {:.2}{}{}{}",
        reg.count,
        c(0),
        term(c(1), 2, "app"),
        term(c(2), 3, "income"),
        term(c(3), 2, "age group")
    ));
    lines.push(format!(
        "(linkage {:.2?}, whole study {:.2?}, {} bytes sent by this party)",
        linked,
        start.elapsed(),
        party.bytes_sent()
    ));
    Ok(lines)
}

/// ` + 1.23·name`, or ` − 1.97·name` for a negative coefficient (never `+ -1.97`).
fn term(coefficient: f64, decimals: usize, name: &str) -> String {
    let sign = if coefficient.is_sign_negative() {
        '−'
    } else {
        '+'
    };
    format!(" {sign} {:.decimals$}·{name}", coefficient.abs())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut patients = 1500usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--patients" {
            patients = args.next().ok_or("--patients needs a value")?.parse()?;
        }
    }
    let mut session = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut session);
    let config = SessionConfig::new(session).with_timeout(std::time::Duration::from_secs(120));
    let (listeners, addrs) = loopback_listeners(3)?;
    let handles: Vec<_> = listeners
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let (addrs, config) = (addrs.clone(), config.clone());
            std::thread::spawn(move || -> symbolon_mpc::Result<Vec<String>> {
                let t = TcpTransport::connect(i, &l, &addrs, &TcpConfig::default())?;
                let mut party = Party::new(t, &config)?;
                run(&mut party, patients)
            })
        })
        .collect();
    let mut outputs = Vec::new();
    for h in handles {
        outputs.push(h.join().map_err(|_| "a party panicked")??);
    }
    for line in outputs.first().map(Vec::as_slice).unwrap_or(&[]) {
        println!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::term;

    // See: issue #21, "`+ -1.97·age group`".
    #[test]
    fn a_negative_coefficient_is_subtracted() {
        assert_eq!(term(-1.97, 2, "age group"), " − 1.97·age group");
        assert_eq!(term(0.5, 3, "income"), " + 0.500·income");
    }
}
