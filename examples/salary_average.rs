//! Four employees learn their average salary, and nobody sees anyone's salary: the seed's first
//! example, run through Symbolon's connectors.
//!
//! An authority forms a small health data space on 127.0.0.1: four employees and a statistics
//! bureau, each a real connector with its own DID, keystore and store. Each employee offers a
//! computation on its salary, allowed only to a statistics bureau running `mean` over at least
//! four people; the bureau wins an agreement with each by its membership credential, then runs
//! the MPC session over the peer network. Only the bureau learns the mean.
//!
//! ```sh
//! cargo run --example salary_average
//! ```

use std::path::Path;

use serde_json::json;
use symbolon::connector::demo::{form, join_peer_network, Org};

/// The four salaries, each known only to its employee's connector.
const SALARIES: [i64; 4] = [2500, 3250, 1800, 4320];

/// Each employee's usage policy: only a statistics bureau of the data space, running `mean`,
/// over groups of at least four.
const POLICY: &str = r#"policy "salary-computation" {
  permit join_computation on offer "salary"
  when holder.role == "StatisticsBureau" and holder.member_of == "hds"
   and session.program in ["mean"] and session.min_group_size >= 4
}"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let outcome = run(dir.path()).await?;
    println!(
        "the statistics bureau learned the average salary: {:.2}",
        outcome.mean
    );
    println!(
        "employees holding a result: {} of {}",
        outcome.employees_with_result, outcome.employees
    );
    Ok(())
}

/// What the example found.
pub struct Outcome {
    /// The mean the statistics bureau learned.
    pub mean: f64,
    /// How many employees took part.
    pub employees: usize,
    /// How many of them hold a result (none should).
    pub employees_with_result: usize,
}

/// Runs the example with the connectors' data directories under `root`.
pub async fn run(root: &Path) -> anyhow::Result<Outcome> {
    // The data space: an authority, a statistics bureau and four employees (of a hospital,
    // whose role they join under), each a connector of its own.
    let authority = Org::start(root, "authority", "Authority")?;
    let bureau = Org::start(root, "statistics-bureau", "StatisticsBureau")?;
    let employees = (1..=4)
        .map(|i| Org::start(root, &format!("employee-{i}"), "Hospital"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut members = vec![&bureau];
    members.extend(&employees);
    // Trust list installed everywhere; each member asks for its membership over DCP.
    form(&authority, &members, None).await?;
    // The members authenticate each other by those memberships on the peer network.
    join_peer_network(&members).await?;

    // Each employee offers a computation on its salary; the bureau agrees with each.
    let mut agreements = Vec::new();
    for (employee, salary) in employees.iter().zip(SALARIES) {
        employee.write_data("salary.csv", &format!("salary\n{salary}\n"))?;
        let binding = json!({"file": "salary.csv", "columns": {"salary": "salary"}});
        employee
            .offer_computation("salary", "My salary", POLICY, binding, false)
            .await?;
        agreements.push(bureau.agree(employee, "salary").await?);
    }

    // The bureau runs `mean` over the four agreements; the session completes only if every
    // party's policy allowed it.
    let (session, result) = bureau
        .session(&json!({
            "program": {"id": "mean", "params": {"column": "salary", "min": 0, "max": 100000}},
            "agreements": agreements, "min_group_size": 4, "purpose": "official-statistics",
            "join_seconds": 30, "round_timeout_ms": 10000, "wait_seconds": 60,
        }))
        .await?;
    let mean = result["mean"]
        .as_f64()
        .ok_or_else(|| anyhow::anyhow!("no mean in the result: {result}"))?;

    // Each employee sees the session, but holds no result.
    let id = session["id"].as_str().unwrap_or_default();
    let mut employees_with_result = 0;
    for employee in &employees {
        let view = employee.get(&format!("/api/v1/sessions/{id}")).await?;
        if view["has_result"] == true {
            employees_with_result += 1;
        }
    }
    Ok(Outcome {
        mean,
        employees: employees.len(),
        employees_with_result,
    })
}
