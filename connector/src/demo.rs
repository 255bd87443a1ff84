//! `symbolon demo`: a whole health data space in one process — an authority, an insurer, a
//! hospital, a statistics bureau, four employees, a trial sponsor with three sites and an
//! auditor, each a real connector with its own data directory, store and keys, talking over
//! real sockets on 127.0.0.1 and the peer network — and the seed's scenarios run through it,
//! each step checked and narrated with what it proved:
//!
//! 1. onboarding: every organisation asks the authority for its membership (DCP issuance);
//! 2. four employees' average salary through the MPC broker: only the analyst learns it;
//! 3. the analytics study: insurer, hospital and statistics bureau linked on pseudonyms;
//! 4. the fraud signal: how many of the insurer's and the hospital's records match (PSI);
//! 5. trial onboarding: the sponsor onboards three sites, revokes one, which is then refused;
//! 6. the auditor reads every party's trail with its credential and verifies each offline.
//!
//! Its parts are public for programs that stage a data space of their own (the facade crate's
//! `examples/`): [`Org`] starts an organisation's connector in this process and drives it
//! through its management API as its operator would; [`form`] gathers organisations around an
//! authority (trust list, registry, memberships issued over DCP); [`join_peer_network`] has
//! them authenticate each other on the peer network; [`register_sites`] makes a trial sponsor
//! the issuer of its sites' credentials.

mod cast;
mod onboarding;
pub mod report;
mod scenarios;
mod study_data;

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

pub use cast::Org;
pub use onboarding::{admit, form, install_trust_list, join_peer_network, register_sites};
pub use report::DemoReport;
pub use study_data::StudyData;

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A data directory could not be made.
    #[error(transparent)]
    DataDir(#[from] crate::datadir::DataDirError),
    /// A connector could not start.
    #[error(transparent)]
    Serve(#[from] crate::server::ServeError),
    /// A call to an organisation's connector failed.
    #[error("{who}: `{path}` failed: {reason}")]
    Http {
        /// The organisation.
        who: String,
        /// The route.
        path: String,
        /// Why.
        reason: String,
    },
    /// A check of the scenario did not hold.
    #[error("a check did not hold: {0}")]
    Check(String),
    /// A file could not be written.
    #[error("cannot write {0}")]
    Io(String),
    /// The study given with `--study-data` could not be read.
    #[error("cannot read the study's data: {0}")]
    StudyData(String),
}

/// What to keep, and which study to run.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Keep the organisations' data directories here (else a temporary directory).
    pub keep: Option<PathBuf>,
    /// The analytics study's tables and answer ([`StudyData::read`]); the committed 4,000
    /// patients when `None`.
    pub study_data: Option<PathBuf>,
}

/// One checked step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The scenario it belongs to.
    pub scenario: &'static str,
    /// What was done and what it proved, in plain words.
    pub proved: String,
    /// How long it took, in milliseconds.
    pub millis: u128,
}

/// Collects the steps and tells each as it happens.
pub struct Narrator<'a> {
    steps: Vec<Step>,
    tell: &'a mut (dyn FnMut(&str) + Send),
    since: Instant,
}

impl Narrator<'_> {
    /// Records a step of `scenario` that proved `proved`, timed since the previous one.
    pub fn step(&mut self, scenario: &'static str, proved: impl Into<String>) {
        let proved = proved.into();
        (self.tell)(&format!("  ✓ {proved}"));
        self.steps.push(Step {
            scenario,
            proved,
            millis: self.since.elapsed().as_millis(),
        });
        self.since = Instant::now();
    }

    /// Announces a scenario.
    pub fn scenario(&mut self, title: &str) {
        (self.tell)(&format!("\n{title}"));
        self.since = Instant::now();
    }
}

/// Runs the demo, telling each step through `tell`; the report once every check held.
pub async fn run(
    options: &DemoOptions,
    tell: &mut (dyn FnMut(&str) + Send),
) -> Result<DemoReport, DemoError> {
    let began = Instant::now();
    let study_data = match &options.study_data {
        Some(dir) => StudyData::read(dir)?,
        None => StudyData::committed()?,
    };
    let temporary;
    let root = match &options.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| DemoError::Io(format!("{}: {e}", dir.display())))?;
            dir.clone()
        }
        None => {
            temporary = tempfile::tempdir().map_err(|e| DemoError::Io(e.to_string()))?;
            temporary.path().to_owned()
        }
    };
    let mut narrator = Narrator {
        steps: Vec::new(),
        tell,
        since: Instant::now(),
    };
    let space = onboarding::run(&root, &mut narrator).await?;
    let salary = scenarios::salary(&space, &mut narrator).await?;
    let study = scenarios::study(&space, &study_data, &mut narrator).await?;
    let fraud = scenarios::fraud_signal(&space, &mut narrator).await?;
    scenarios::trial(&space, &mut narrator).await?;
    scenarios::audit(&space, &mut narrator).await?;
    Ok(DemoReport {
        steps: narrator.steps,
        seconds: began.elapsed().as_secs_f64(),
        salary_mean: salary,
        study,
        matches: fraud,
        kept: options.keep.clone(),
    })
}
