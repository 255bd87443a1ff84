//! The HTTP-pull data plane beside nginx, in one run on this machine: three `symbolon serve`
//! processes on loopback (an authority, an insurer serving a 1 GiB file, a hospital with an
//! agreement on it) and nginx (Debian's package) serving the same file behind a static bearer
//! check. Reports, for alternating pulls of the whole file by `curl`, each server's median
//! throughput and the ratio; the insurer's peak RSS during the pulls; and the time from the
//! hospital's transfer request (its `TransferRequestMessage`) to the first byte of data.
//!
//! Run: `cargo bench -p symbolon-connector --bench pull` (`-- <MiB> <runs>` to choose the
//! size, default 1024, and the pulls per server, default 5; `SYMBOLON_LOAD_BIN` names another
//! `symbolon` binary). Needs `nginx` and `curl` on the PATH. Targets: ≥ 0.8× nginx; peak RSS
//! < 64 MiB; first byte < 20 ms.
#![allow(missing_docs, reason = "a load tool, not a library")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a load tool fails loudly"
)]

mod common;

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use common::{data_space_with, Serve};

/// The static token nginx checks.
const NGINX_TOKEN: &str = "static-bench-token";
/// Transfers started to time the first byte.
const FIRST_BYTE_RUNS: usize = 20;

/// An nginx serving `dir` on a free loopback port, stopped when dropped.
struct Nginx {
    child: Child,
    port: u16,
    _conf: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    fn start(root: &std::path::Path) -> Nginx {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = tempfile::tempdir().unwrap();
        let prefix = conf.path().display().to_string();
        let config = format!(
            "worker_processes auto;\nerror_log {prefix}/error.log;\npid {prefix}/nginx.pid;\n\
             user root;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n\
             default_type application/octet-stream;\n\
             client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n\
             fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n\
             scgi_temp_path {prefix}/scgi;\n\
             server {{\n    listen 127.0.0.1:{port};\n    root {};\n\
             location / {{\n      if ($http_authorization != \"Bearer {NGINX_TOKEN}\") {{ return 401; }}\n    }}\n  }}\n}}\n",
            root.display()
        );
        std::fs::write(conf.path().join("nginx.conf"), config).unwrap();
        let child = Command::new("nginx")
            .args([
                "-p",
                &prefix,
                "-c",
                &format!("{prefix}/nginx.conf"),
                "-g",
                "daemon off;",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx (install Debian's package `nginx-light`)");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            child,
            port,
            _conf: conf,
        }
    }
}

/// One whole-file pull by curl: bytes and seconds.
fn curl(url: &str, token: &str) -> (u64, f64) {
    let output = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download} %{time_total}",
        ])
        .args(["-H", &format!("Authorization: Bearer {token}"), url])
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let mut fields = text.split_whitespace();
    let status = fields.next().unwrap_or("?");
    assert_eq!(status, "200", "curl {url}: {text}");
    let bytes = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
    let seconds = fields
        .next()
        .and_then(|f| f.parse().ok())
        .unwrap_or(f64::NAN);
    (bytes, seconds)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A file of `mib` MiB of pseudo-random bytes.
fn write_file(path: &std::path::Path, mib: usize) {
    let mut block = vec![0u8; 1 << 20];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for byte in &mut block {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..mib {
        block[0] = i as u8;
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
}

/// The hospital requests a pull transfer of `agreement`; the data address's URL and token.
async fn start_transfer(
    client: &reqwest::Client,
    hospital: &Serve,
    agreement: &str,
) -> (String, String) {
    let (status, transfer) = hospital
        .call(
            client,
            reqwest::Method::POST,
            "/api/v1/transfers",
            json!({"agreement_id": agreement, "format": "HttpData-PULL", "wait_seconds": 10}),
        )
        .await;
    assert_eq!(status, 201, "{transfer}");
    assert_eq!(transfer["state"], "STARTED", "{transfer}");
    let address = &transfer["data_address"];
    let token = address["endpointProperties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "authorization")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    (address["endpoint"].as_str().unwrap().to_owned(), token)
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<usize>().ok());
    let mib = args.next().unwrap_or(1024);
    let runs = args.next().unwrap_or(5).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let policy = r#"policy "members" { permit use on offer "ward-data" when holder.role == "Hospital" and holder.member_of == "hds" }"#;
        let offer = json!({"id": "ward-data", "title": "Ward data", "policy": policy,
                           "source": {"file": "big.bin"}});
        let (_authority, insurer, hospital, _) = data_space_with(
            &client,
            |insurer| {
                let data = insurer.dir.path().join("data");
                std::fs::create_dir_all(&data).unwrap();
                write_file(&data.join("big.bin"), mib);
            },
            Some(offer),
        )
        .await;
        let (status, negotiation) = hospital
            .call(
                &client,
                reqwest::Method::POST,
                "/api/v1/negotiations",
                json!({"provider_url": format!("{}/dsp/2025-1", insurer.url), "offer_id": "ward-data", "wait_seconds": 30}),
            )
            .await;
        assert_eq!(status, 200, "{negotiation}");
        assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
        let agreement = negotiation["agreement_id"].as_str().unwrap().to_owned();
        // The provider stores FINALIZED when the hospital's verification arrives.
        tokio::time::sleep(Duration::from_millis(200)).await;

        // Request to first byte: a new transfer each time.
        let mut first_bytes = Vec::new();
        for _ in 0..FIRST_BYTE_RUNS {
            let began = Instant::now();
            let (url, token) = start_transfer(&client, &hospital, &agreement).await;
            let mut response = client.get(&url).bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let first = response.chunk().await.unwrap();
            assert!(first.is_some_and(|c| !c.is_empty()));
            first_bytes.push(began.elapsed().as_secs_f64() * 1000.0);
        }
        let rss_before = insurer.peak_rss_mib();

        let (url, token) = start_transfer(&client, &hospital, &agreement).await;
        let nginx = Nginx::start(&insurer.dir.path().join("data"));
        let nginx_url = format!("http://127.0.0.1:{}/big.bin", nginx.port);
        let size = (mib as u64) << 20;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (url, token, nginx_url) = (url.clone(), token.clone(), nginx_url.clone());
            let ((bytes, seconds), (nginx_bytes, nginx_seconds)) =
                tokio::task::spawn_blocking(move || {
                    (curl(&url, &token), curl(&nginx_url, NGINX_TOKEN))
                })
                .await
                .unwrap();
            assert_eq!((bytes, nginx_bytes), (size, size));
            ours.push(bytes as f64 / seconds / 1_048_576.0);
            theirs.push(nginx_bytes as f64 / nginx_seconds / 1_048_576.0);
        }
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let (ours, theirs) = (median(ours), median(theirs));
        println!("pull of {mib} MiB over loopback, {runs} alternating runs each (curl to /dev/null), load {}", load.trim());
        println!("  symbolon data plane  {ours:8.0} MiB/s (median)");
        println!("  nginx, static bearer {theirs:8.0} MiB/s (median)");
        println!("  ratio                {:8.2}x   (target >= 0.80)", ours / theirs);
        println!(
            "  provider peak RSS    {:8.1} MiB (before the pulls {rss_before:.1} MiB; target < 64)",
            insurer.peak_rss_mib()
        );
        let mut sorted = first_bytes.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "  request -> first byte median {:.1} ms, max {:.1} ms over {FIRST_BYTE_RUNS} transfers (target < 20 ms)",
            median(first_bytes),
            sorted.last().copied().unwrap_or(f64::NAN)
        );
    });
}
