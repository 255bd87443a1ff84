//! The salary case through the broker: four employees' connectors and an analyst's on
//! 127.0.0.1, joined on the peer network. Each employee offers a computation on its own
//! salary; the analyst agrees with each and starts a `mean` session. Only the analyst learns
//! 2967.50; the employees' records and trails hold no one else's salary.

use serde_json::{json, Value};

use crate::dsp::*;
use crate::peers::peer;
use crate::transfer::transfer_state;

const SALARIES: [i64; 4] = [2500, 3250, 1800, 4320];

const POLICY: &str = r#"
policy "salary-statistics" {
  permit join_computation on offer "salary"
  when holder.role == "StatisticsBureau" and holder.member_of == "hds"
   and session.program in ["mean", "sum"] and session.min_group_size >= 4
}
"#;

/// Every number anywhere in `value`.
fn numbers(value: &Value, out: &mut Vec<f64>) {
    match value {
        Value::Number(n) => out.extend(n.as_f64()),
        Value::String(s) => out.extend(s.parse::<f64>().ok()),
        Value::Array(items) => items.iter().for_each(|v| numbers(v, out)),
        Value::Object(map) => map.values().for_each(|v| numbers(v, out)),
        _ => {}
    }
}

/// An employee's connector with its salary bound to a computation offer.
async fn employee(authority: &Connector, bootstrap: Vec<String>, salary: i64) -> Connector {
    // The employees hold memberships through their employer, a hospital.
    let (node, _, _) = peer(authority, "Hospital", bootstrap).await;
    let data = node._dir.path("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("salary.csv"), format!("salary\n{salary}\n")).unwrap();
    let (status, body) = node
        .post(
            "/api/v1/offers",
            &json!({"id": "salary", "title": "My salary", "kind": "computation", "policy": POLICY,
                    "binding": {"file": "salary.csv", "columns": {"salary": "salary"}}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    node
}

async fn agree(analyst: &Connector, holder: &Connector) -> String {
    let (status, negotiation) = analyst
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": holder.dsp(), "offer_id": "salary", "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{negotiation}");
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    negotiation["agreement_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_employees_average_salary_reaches_only_the_analyst() {
    let authority = connector();
    let (analyst, addresses, analyst_node) = peer(&authority, "StatisticsBureau", vec![]).await;
    let mut employees = Vec::new();
    for salary in SALARIES {
        employees.push(employee(&authority, addresses.clone(), salary).await);
    }
    let all = 1 + employees.len();
    assert!(
        analyst_node
            .wait_until(std::time::Duration::from_secs(10), |n| {
                n.peers().iter().filter(|p| p.authenticated).count() >= all - 1
            })
            .await,
        "{:#?}",
        analyst_node.peers()
    );
    let mut agreements = Vec::new();
    for employee in &employees {
        agreements.push(agree(&analyst, employee).await);
    }

    let (status, session) = analyst
        .post(
            "/api/v1/sessions",
            &json!({
                "program": {"id": "mean", "params": {"column": "salary", "min": 0, "max": 100000}},
                "agreements": agreements, "min_group_size": 4, "purpose": "official-statistics",
                "join_seconds": 30, "round_timeout_ms": 10000, "wait_seconds": 60
            }),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["state"], "completed", "{session:#}");
    let id = session["id"].as_str().unwrap();
    let (status, result) = analyst.get(&format!("/api/v1/sessions/{id}/result")).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(
        format!("{:.2}", result["mean"].as_f64().unwrap()),
        "2967.50"
    );
    assert_eq!(result["count"], 4, "{result}");
    assert_eq!(
        session["reports"].as_array().unwrap().len(),
        5,
        "every party's signed transcript: {session:#}"
    );

    for (i, employee) in employees.iter().enumerate() {
        // Each employee ran its part, holds no result, and its transfer is completed.
        let seen = eventually(
            std::time::Duration::from_secs(10),
            "the employee's session to end",
            || async {
                let (status, view) = employee.get(&format!("/api/v1/sessions/{id}")).await;
                (status == 200 && view["state"] == "completed").then_some(view)
            },
        )
        .await;
        assert_eq!(seen["has_result"], false);
        let (status, refused) = employee.get(&format!("/api/v1/sessions/{id}/result")).await;
        assert_eq!(status, 404, "{refused}");
        let pid = seen["transfers"][0].as_str().unwrap();
        transfer_state(employee, pid, "COMPLETED").await;

        // Nothing it keeps or records names another employee's salary.
        let (_, sessions) = employee.get("/api/v1/sessions").await;
        let (_, transfers) = employee.get("/api/v1/transfers").await;
        let mut found = Vec::new();
        for value in [sessions, transfers, employee.events().await] {
            numbers(&value, &mut found);
        }
        for (j, other) in SALARIES.iter().enumerate() {
            if j != i {
                assert!(
                    !found.contains(&(*other as f64)),
                    "employee {i}'s records hold employee {j}'s salary"
                );
            }
        }
    }

    // The analyst's transfers completed, and its trail closes the session with every
    // party's transcript: what each sent to another is what that one received.
    for party in session["parties"].as_array().unwrap().iter().take(4) {
        let pid = party["transfer"].as_str().unwrap();
        transfer_state(&analyst, pid, "COMPLETED").await;
    }
    let reports: Vec<Value> = session["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            symbolon_identity::jose::decode(r.as_str().unwrap())
                .unwrap()
                .payload
        })
        .collect();
    for a in &reports {
        for b in &reports {
            let (i, j) = (
                a["party"].as_u64().unwrap() as usize,
                b["party"].as_u64().unwrap() as usize,
            );
            if i != j {
                assert_eq!(a["sent"][j], b["received"][i], "party {i} → {j}");
            }
        }
    }
    let events = analyst.events().await;
    let completed = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "session.transition" && e["outcome"] == "completed")
        .unwrap();
    assert_eq!(completed["details"]["reports"].as_array().unwrap().len(), 5);
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "session.result" && e["subject"] == id));
}
