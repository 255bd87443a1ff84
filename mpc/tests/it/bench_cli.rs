//! The `mpc-bench` binary end to end with small sizes: party processes on
//! 127.0.0.1, results checked against plaintext by the binary itself.

use std::process::Command;

fn bench(op: &str, n: usize, parties: usize) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_mpc-bench"))
        .args([
            "--op",
            op,
            "--n",
            &n.to_string(),
            "--parties",
            &parties.to_string(),
        ])
        .args(["--timeout", "30"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(line.trim()).unwrap()
}

#[test]
fn every_op_is_correct_across_processes() {
    for (op, parties) in [
        ("sum", 3),
        ("sum-shares", 5),
        ("mul", 4),
        ("lt", 3),
        ("psi", 2),
    ] {
        let v = bench(op, 40, parties);
        assert_eq!(v["op"], op);
        assert_eq!(v["n"], 40);
        assert_eq!(v["parties"], parties);
        assert_eq!(v["correct"], true, "{v}");
        assert!(v["bytes_sent"].as_u64().unwrap() > 0);
        assert!(v["seconds"].as_f64().unwrap() >= 0.0);
    }
}

#[test]
fn bad_arguments_fail_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_mpc-bench"))
        .args(["--op", "div", "--n", "3"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown op `div`"));
}

#[test]
fn the_study_op_checks_itself_against_expected_json() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ppa-study/n4000");
    let out = Command::new(env!("CARGO_BIN_EXE_mpc-bench"))
        .args(["--op", "study", "--data", dir, "--timeout", "60"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(v["op"], "study");
    assert_eq!(v["n"], 4000);
    assert_eq!(v["parties"], 3);
    assert_eq!(v["correct"], true, "{v}");
    assert_eq!(v["per_party"].as_array().unwrap().len(), 3);
    let missing = Command::new(env!("CARGO_BIN_EXE_mpc-bench"))
        .args(["--op", "study"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--data"));
}
