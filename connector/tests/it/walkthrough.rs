//! The README's main job, `scripts/walkthrough.sh`, runs to its end and leaves no server behind.
//! See: issue #21, "The main walkthrough leaks its servers".

use std::process::Command;

#[test]
#[cfg(target_os = "linux")]
fn the_walkthrough_completes_and_stops_every_server_it_started() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/walkthrough.sh");
    let output = Command::new("bash")
        .arg(script)
        .env("SYMBOLON_BIN", env!("CARGO_BIN_EXE_symbolon"))
        .env_remove("SYMBOLON_PASSPHRASE")
        .env_remove("SYMBOLON_DATA_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("walkthrough complete"), "{stdout}");
    assert!(
        stdout.contains("revoked"),
        "the rejection says why: {stdout}"
    );
    let pids: Vec<u32> = stdout
        .lines()
        .find_map(|line| line.strip_prefix("stopped servers: "))
        .unwrap_or_else(|| panic!("no list of stopped servers: {stdout}"))
        .split_whitespace()
        .map(|pid| pid.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 3, "authority, insurer and hospital: {pids:?}");
    for pid in pids {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(
            !cmdline.contains("serve"),
            "server {pid} is still running: {cmdline}"
        );
    }
}
