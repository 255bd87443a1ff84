//! An append is acknowledged only after the write-ahead log holding it is fsynced: the child
//! appends from several threads under `strace`, printing each acknowledgement; the parent
//! reads the system calls in order and checks, for every acknowledged entry, that the first
//! write of its bytes to the write-ahead log is followed by an fsync of that log before the
//! acknowledgement.

use std::io::Write;
use std::process::Command;
use std::sync::Arc;

use serde_json::json;
use symbolon_audit::{AuditEvent, DurableLog};

const CHILD_ENV: &str = "AUDIT_FSYNC_CHILD";
const THREADS: u64 = 4;
const PER_THREAD: u64 = 12;

fn subject(n: u64) -> String {
    format!("fsync-probe-{n:06}")
}

/// The child: appends from 4 threads and prints `ack <subject>` after each append returns.
///
/// Ignored so that it never passes vacuously in a normal run; the parent runs it with
/// `--ignored` and `AUDIT_FSYNC_CHILD` set. Run on its own, it fails.
#[test]
#[ignore = "the child process of `an_append_is_acknowledged_only_after_its_wal_is_fsynced`"]
fn fsync_child() {
    let dir = std::env::var(CHILD_ENV).unwrap_or_else(|_| {
        panic!("{CHILD_ENV} is not set: this is run by `an_append_is_acknowledged_only_after_its_wal_is_fsynced`")
    });
    let log = Arc::new(DurableLog::open(&std::path::Path::new(&dir).join("audit.sqlite")).unwrap());
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let n = t * 1000 + i;
                    let event = AuditEvent::new(
                        "policy.decision",
                        "did:key:z6MkProbe",
                        &subject(n),
                        "permit",
                    )
                    .with_details(json!({ "n": n }));
                    log.append(&event).unwrap();
                    let line = format!("ack {}\n", subject(n));
                    // One write(2) per acknowledgement, so that strace shows each.
                    std::io::stdout().lock().write_all(line.as_bytes()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn an_append_is_acknowledged_only_after_its_wal_is_fsynced() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.txt");
    let status = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-s",
            "65536",
            "-e",
            "trace=write,pwrite64,fsync,fdatasync",
            "-o",
        ])
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args([
            "durability::fsync_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("strace runs (`.ci/run` installs it)");
    assert!(status.success(), "the traced child failed: {status}");
    let calls = std::fs::read_to_string(&trace).unwrap();
    let mut first_write = std::collections::HashMap::new();
    let mut last_sync: Option<usize> = None;
    let mut acked = 0;
    for (position, call) in calls.lines().enumerate() {
        let on_wal = call.contains("-wal>");
        if on_wal && (call.contains(" fsync(") || call.contains(" fdatasync(")) {
            last_sync = Some(position);
        } else if on_wal && (call.contains(" pwrite64(") || call.contains(" write(")) {
            for n in all_subjects() {
                if call.contains(&n) {
                    first_write.entry(n).or_insert(position);
                }
            }
        } else if let Some(at) = call.find("\"ack ") {
            let name = call[at + 5..].split('\\').next().unwrap().to_owned();
            let written = *first_write.get(&name).unwrap_or_else(|| {
                panic!("{name} was acknowledged before it was written to the WAL")
            });
            let synced = last_sync.expect("an acknowledgement before any fsync of the WAL");
            assert!(
                synced > written,
                "{name} was acknowledged (call {position}) with no fsync of the WAL since its write (call {written})"
            );
            acked += 1;
        }
    }
    assert_eq!(
        acked,
        THREADS * PER_THREAD,
        "not every acknowledgement was traced"
    );
}

fn all_subjects() -> impl Iterator<Item = String> {
    (0..THREADS).flat_map(|t| (0..PER_THREAD).map(move |i| subject(t * 1000 + i)))
}
