//! The console over HTTPS (`serve --tls-cert/--tls-key`, a self-signed certificate the browser
//! is told to accept): the page loads with its security headers, the operator signs in, and
//! WebCrypto — which needs a secure context — verifies the connector's bundle in the browser.

use crate::dsp::*;
use crate::webdriver::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_console_works_over_https() {
    let browser = Browser::start_with(1280, 900, true).await;
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let tls = tempfile::tempdir().unwrap();
    let (cert, key) = (tls.path().join("cert.pem"), tls.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let node = connector_configured(|options| options.tls = Some((cert, key)));
    let base = node.url.replacen("http://", "https://", 1);

    // The page and its headers, over TLS, with the test's certificate as the only root.
    let root = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([root])
        .build()
        .unwrap();
    let page = client.get(format!("{base}/console")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));

    // In the browser: a secure context, the operator's sign-in, the bundle verified here.
    browser.go(&format!("{base}/console#/audit")).await;
    browser.find("#bundle-file").await;
    let secure = browser
        .script("return [location.protocol, window.isSecureContext, typeof crypto.subtle]")
        .await;
    assert_eq!(secure, serde_json::json!(["https:", true, "object"]));
    browser.go(&format!("{base}/console#/identity")).await;
    browser.type_into("#token", &node.token).await;
    browser.keys_to("#token", "\u{E007}").await;
    browser.wait_text("#did", &[node.did()]).await;
    browser.go(&format!("{base}/console#/audit")).await;
    browser.click("#fetch-bundle").await;
    browser.wait_text("#verdict", &["Verified"]).await;
}
