//! The command line against a running `symbolon serve`: offers that survive a SIGKILL, and
//! publishing, negotiating and reporting a refusal.

use crate::cli::*;

const ANY_OFFER_POLICY: &str = r#"
policy "members-only" {
  permit use on offer *
  when holder.member_of == "hds"
}
"#;

#[test]
fn offers_acknowledged_before_a_sigkill_survive_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    init(dir.path());
    let policy = dir.path().join("offer.policy");
    std::fs::write(&policy, ANY_OFFER_POLICY).unwrap();
    let (mut server, _) = serve(dir.path());
    for i in 0..10 {
        let id = format!("cohort-{i}");
        ok(&[
            "offer",
            "create",
            "--data-dir",
            data,
            "--id",
            &id,
            "--title",
            "A cohort",
            "--policy",
            policy.to_str().unwrap(),
        ]);
    }
    // SIGKILL right after the last acknowledgement: no chance to flush on the way out.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let store = symbolon_connector::store::Store::open(dir.path()).unwrap();
    for i in 0..10 {
        assert!(
            store.offers.get(&format!("cohort-{i}")).unwrap().is_some(),
            "cohort-{i} lost"
        );
    }
    drop(store);
    let (server, _) = serve(dir.path());
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&["offer", "list", "--data-dir", data, "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 10);
    // What happened, from the running server: the ten offers, filtered and as text.
    let events = ok(&["events", "--data-dir", data, "--kind", "offer", "--json"]);
    let events: serde_json::Value = serde_json::from_str(&events).unwrap();
    assert_eq!(events.as_array().unwrap().len(), 10, "{events}");
    let last = ok(&[
        "events",
        "--data-dir",
        data,
        "--kind",
        "offer.created",
        "--last",
        "2",
    ]);
    assert_eq!(last.lines().count(), 2, "{last}");
    assert!(last.contains("cohort-9"), "{last}");
    // Not on the peer network: the catalog says how to get there.
    let catalog = symbolon(&["catalog", "--data-dir", data]);
    assert_eq!(catalog.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&catalog.stderr).contains("--p2p"),
        "{}",
        String::from_utf8_lossy(&catalog.stderr)
    );

    // The audit trail survived too: exported through the running server, then directly.
    let live = dir.path().join("live.json");
    ok(&[
        "audit",
        "export",
        "--data-dir",
        data,
        "--out",
        live.to_str().unwrap(),
    ]);
    drop(server);
    let offline = dir.path().join("offline.json");
    ok(&[
        "audit",
        "export",
        "--data-dir",
        data,
        "--out",
        offline.to_str().unwrap(),
    ]);
    for bundle in [&live, &offline] {
        let report = ok(&["audit", "verify", "--json", bundle.to_str().unwrap()]);
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        assert_eq!(report["valid"], true, "{report}");
    }
    // A readable timeline of the same bundle, whole or of one kind of event.
    let shown = ok(&["audit", "show", offline.to_str().unwrap()]);
    assert!(shown.contains("not verified here"), "{shown}");
    assert!(shown.contains("offer.created"), "{shown}");
    assert!(shown.contains("by this connector"), "{shown}");
    let offers = ok(&[
        "audit",
        "show",
        "--kind",
        "offer",
        "--json",
        offline.to_str().unwrap(),
    ]);
    let offers: serde_json::Value = serde_json::from_str(&offers).unwrap();
    assert!(!offers.as_array().unwrap().is_empty());
    assert!(offers
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["event"]["type"].as_str().unwrap().starts_with("offer")));
    let missing = symbolon(&["audit", "show", "/nonexistent/bundle.json"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/bundle.json"),
        "a missing bundle is named"
    );
    let mut bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&offline).unwrap()).unwrap();
    let created = bundle["entries"].as_array().unwrap().len();
    assert!(created >= 10, "{created} entries");
    bundle["entries"][3]["event"]["subject"] = "cohort-x".into();
    let tampered = dir.path().join("tampered.json");
    std::fs::write(&tampered, bundle.to_string()).unwrap();
    let output = symbolon(&["audit", "verify", tampered.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains('3'),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn the_cli_publishes_negotiates_and_reports_a_refusal() {
    let (provider, consumer) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    init(provider.path());
    init(consumer.path());
    let policy = provider.path().join("offer.policy");
    std::fs::write(&policy, ANY_OFFER_POLICY).unwrap();
    let bad = provider.path().join("bad.policy");
    std::fs::write(
        &bad,
        "policy \"p\" { permit use on offer * when holder.rol == \"x\" }",
    )
    .unwrap();
    let (_p, provider_url) = serve(provider.path());
    let (_c, consumer_url) = serve(consumer.path());
    let p = provider.path().to_str().unwrap();
    let c = consumer.path().to_str().unwrap();
    let refused = symbolon(&[
        "offer",
        "create",
        "--data-dir",
        p,
        "--id",
        "x",
        "--title",
        "X",
        "--policy",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("holder.role"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    ok(&[
        "offer",
        "create",
        "--data-dir",
        p,
        "--id",
        "cohort",
        "--title",
        "A cohort",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert!(ok(&["offer", "list", "--data-dir", p]).contains("cohort"));
    // The provider has no trust list, so it trusts nobody: a refusal with its reason, exit 1.
    let output = symbolon(&[
        "negotiate",
        "--data-dir",
        c,
        "--provider",
        &format!("{provider_url}/dsp/2025-1"),
        "--offer",
        "cohort",
        "--wait",
        "20",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no trust list"), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("TERMINATED"));
    assert_eq!(ok(&["agreements", "--data-dir", c, "--json"]).trim(), "[]");
    // The refusal's reason is on the negotiation's line, on both sides.
    for dir in [c, p] {
        let listed = ok(&["negotiations", "list", "--data-dir", dir]);
        assert!(
            listed.contains("TERMINATED")
                && listed.contains("why: ")
                && listed.contains("no trust list"),
            "{listed}"
        );
    }

    // The provider offers the contract instead; the consumer sees it OFFERED and ends it.
    let offered = ok(&[
        "negotiations",
        "offer",
        "--data-dir",
        p,
        "--consumer",
        &format!("{consumer_url}/dsp/2025-1"),
        "--offer",
        "cohort",
    ]);
    assert!(
        offered.contains("provider  OFFERED  offer cohort"),
        "{offered}"
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&["negotiations", "list", "--data-dir", c, "--json"])).unwrap();
    let at_consumer = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["state"] == "OFFERED")
        .unwrap_or_else(|| panic!("no OFFERED negotiation: {listed}"));
    let pid = at_consumer["consumer_pid"].as_str().unwrap();
    let ended = ok(&[
        "negotiations",
        "terminate",
        "--data-dir",
        c,
        pid,
        "--reason",
        "not needed",
    ]);
    assert!(ended.contains("consumer  TERMINATED"), "{ended}");
    let again = symbolon(&["negotiations", "accept", "--data-dir", c, pid]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "an ended negotiation is not accepted"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("409"));
}

#[test]
fn the_cli_lists_transfers_and_reports_a_refused_move() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let data = dir.path().to_str().unwrap();
    let (_server, _) = serve(dir.path());
    assert_eq!(
        ok(&["transfers", "list", "--data-dir", data, "--json"]).trim(),
        "[]"
    );
    assert_eq!(ok(&["transfers", "list", "--data-dir", data]).trim(), "");
    let refused = symbolon(&["transfers", "complete", "--data-dir", data, "urn:uuid:none"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("404"), "{stderr}");
    let requested = symbolon(&[
        "transfers",
        "request",
        "--data-dir",
        data,
        "--agreement",
        "urn:uuid:no-such-agreement",
        "--format",
        "symbolon:dataset",
    ]);
    assert_eq!(requested.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&requested.stderr);
    assert!(stderr.contains("urn:uuid:no-such-agreement"), "{stderr}");
    let bad = symbolon(&["transfers", "start", "--data-dir", data, ".."]);
    assert_eq!(bad.status.code(), Some(2), "a dot segment is a usage error");
}

/// The negotiation of `dir` (listed as JSON) that `pick` selects, waiting up to 10 s for it.
fn negotiation_where(dir: &str, pick: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    for _ in 0..200 {
        let listed: serde_json::Value =
            serde_json::from_str(&ok(&["negotiations", "list", "--data-dir", dir, "--json"]))
                .unwrap();
        if let Some(found) = listed.as_array().unwrap().iter().find(|n| pick(n)) {
            return found.clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no such negotiation in {dir}");
}

#[test]
fn the_cli_answers_a_manual_negotiation_on_both_sides() {
    let (provider, consumer) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    init(provider.path());
    init(consumer.path());
    let policy = provider.path().join("offer.policy");
    std::fs::write(&policy, ANY_OFFER_POLICY).unwrap();
    let (_p, provider_url) = serve(provider.path());
    let (_c, _) = serve(consumer.path());
    let p = provider.path().to_str().unwrap();
    let c = consumer.path().to_str().unwrap();
    let published = ok(&[
        "offer",
        "create",
        "--data-dir",
        p,
        "--id",
        "cohort",
        "--title",
        "A cohort",
        "--policy",
        policy.to_str().unwrap(),
        "--decision",
        "manual",
        "--json",
    ]);
    assert!(published.contains(r#""decision": "manual""#), "{published}");
    let started = ok(&[
        "negotiate",
        "--data-dir",
        c,
        "--provider",
        &format!("{provider_url}/dsp/2025-1"),
        "--offer",
        "cohort",
        "--decision",
        "manual",
        "--wait",
        "0",
    ]);
    assert!(started.contains("is REQUESTED"), "{started}");
    // The provider keeps the policy's verdict (no trust list: refuse) for its operator.
    let at_provider = negotiation_where(p, |n| n["recommendation"].is_object());
    assert_eq!(at_provider["state"], "REQUESTED");
    assert_eq!(at_provider["recommendation"]["agree"], false);
    let pid = at_provider["provider_pid"].as_str().unwrap();
    let refused = symbolon(&["negotiations", "agree", "--data-dir", p, pid]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("409") && stderr.contains("does not permit"),
        "{stderr}"
    );

    let offered = ok(&["negotiations", "offer", "--data-dir", p, pid]);
    assert!(
        offered.contains("provider  OFFERED  offer cohort"),
        "{offered}"
    );
    assert!(offered.contains("(manual)"), "{offered}");
    let at_consumer = negotiation_where(c, |n| n["state"] == "OFFERED");
    let consumer_pid = at_consumer["consumer_pid"].as_str().unwrap();
    let requested = ok(&["negotiations", "request", "--data-dir", c, consumer_pid]);
    assert!(requested.contains("consumer  REQUESTED"), "{requested}");
    let ended = ok(&[
        "negotiations",
        "terminate",
        "--data-dir",
        p,
        pid,
        "--reason",
        "members only",
    ]);
    assert!(ended.contains("provider  TERMINATED"), "{ended}");
    negotiation_where(c, |n| n["state"] == "TERMINATED");
    let late = symbolon(&["negotiations", "verify", "--data-dir", c, consumer_pid]);
    assert_eq!(late.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&late.stderr).contains("409"));
    let usage = symbolon(&["negotiations", "offer", "--data-dir", p]);
    assert_eq!(
        usage.status.code(),
        Some(2),
        "a pid or --consumer/--offer is needed"
    );
}
