//! `symbolon demo`: a whole data space on this machine, and the seed's scenarios run through it.

use std::path::PathBuf;

use super::{CommandResult, Failure};
use crate::demo::{self, DemoOptions};

/// Arguments of `symbolon demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the organisations' data directories here, to explore with the CLI afterwards
    /// (`symbolon ... --data-dir DIR/hospital`); else they live in a temporary directory.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Write `report.json` and `report.html` into this directory.
    #[arg(long, value_name = "DIR", default_value = "symbolon-demo-report")]
    report: PathBuf,
    /// Run the analytics study on this directory's tables instead of the committed 4,000
    /// patients: `insurer.csv`, `hospital.csv`, `cbs.csv` and the plaintext answer
    /// `expected.json` (the layout of `mpc/tests/data/ppa-study/n4000`).
    #[arg(long, value_name = "DIR")]
    study_data: Option<PathBuf>,
}

/// Runs `symbolon demo`; exit 0 only if every check held.
pub async fn run(args: DemoArgs) -> CommandResult {
    println!("Symbolon demo: a health data space on 127.0.0.1 — every step below is checked.");
    let options = DemoOptions {
        keep: args.keep.clone(),
        study_data: args.study_data.clone(),
    };
    let mut tell = |line: &str| println!("{line}");
    let report = demo::run(&options, &mut tell)
        .await
        .map_err(|e| Failure::Failed(anyhow::Error::new(e).context("the demo stopped")))?;
    print!("{}", report.table());
    let (json, html) = report
        .write(&args.report)
        .map_err(|e| Failure::Failed(anyhow::Error::new(e)))?;
    println!("\nreport: {} and {}", html.display(), json.display());
    if let Some(kept) = &args.keep {
        println!("data directories kept in {}", kept.display());
    }
    Ok(())
}
