//! A small W3C WebDriver client over reqwest: starts `chromedriver` on a port the OS picks
//! (127.0.0.1), opens a headless Chromium with a fresh profile, and offers what the console's
//! test needs — navigate, find, type, click, read text, wait for text, screenshot. Chromium
//! and chromedriver are required: a missing one fails the test with how to install them.

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

/// A browser session driven over WebDriver.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    port: u16,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn find_program(env: &str, names: &[&str]) -> String {
    if let Ok(path) = std::env::var(env) {
        return path;
    }
    let path = std::env::var("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate.display().to_string();
            }
        }
    }
    panic!(
        "{} is required for the console's browser test and was not found (set {env}, or install \
         it: `apt-get install -y chromium chromium-driver`)",
        names[0]
    );
}

impl Browser {
    /// Starts chromedriver and a headless Chromium of `width` × `height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        Browser::start_with(width, height, false).await
    }

    /// Like [`Browser::start`]; with `accept_insecure_certs`, a server certificate no root
    /// vouches for (a test's self-signed one) is accepted (WebDriver's `acceptInsecureCerts`).
    pub async fn start_with(width: u32, height: u32, accept_insecure_certs: bool) -> Browser {
        let chromium = find_program("SYMBOLON_CHROMIUM", &["chromium", "chromium-browser"]);
        let chromedriver = find_program("SYMBOLON_CHROMEDRIVER", &["chromedriver"]);
        let mut driver = Command::new(&chromedriver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{chromedriver}`: {e}"));
        let stdout = driver.stdout.take().unwrap();
        // chromedriver prints the port it bound; read it on a thread, off the runtime.
        let port = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            let port = lines.by_ref().map_while(Result::ok).find_map(|line| {
                line.split("started successfully on port ")
                    .nth(1)
                    .and_then(|rest| rest.trim_end_matches('.').trim().parse::<u16>().ok())
            });
            // Keep draining, so that chromedriver never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            port
        });
        let port = tokio::time::timeout(Duration::from_secs(20), port)
            .await
            .expect("chromedriver did not say its port within 20 s")
            .unwrap()
            .expect("chromedriver exited without saying its port");
        let profile = tempfile::tempdir().unwrap();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": accept_insecure_certs,
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage",
                         format!("--window-size={width},{height}"),
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("Chromium did not start: {answer:#}"))
            .to_owned();
        Browser {
            http,
            base,
            session,
            port,
            driver,
            _profile: profile,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_command(method, path, body)
            .await
            .unwrap_or_else(|error| panic!("WebDriver {path}: {error:#}"))
    }

    /// A command's `value`, or the WebDriver error it answered.
    async fn try_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if answer["value"]["error"].is_string() {
            return Err(answer["value"].clone());
        }
        Ok(answer["value"].clone())
    }

    /// Opens `url`.
    pub async fn go(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The element matching `css`, waiting up to 30 s for it to appear.
    pub async fn find(&self, css: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let answer: Value = self
                .http
                .post(url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            // The web element reference: the one member of the answer's `value` object.
            let reference = answer["value"]
                .as_object()
                .filter(|o| o.len() == 1 && o.keys().all(|k| k.starts_with("element-")))
                .and_then(|o| o.values().next())
                .and_then(Value::as_str);
            if let Some(id) = reference {
                return id.to_owned();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no element `{css}` appeared: {answer:#}\npage text:\n{}",
                self.page_text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the element `css` after clearing it.
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Chooses `path` in the file input `css`.
    pub async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let id = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": path.display().to_string() })),
        )
        .await;
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Presses keys (WebDriver key codes such as `\u{E004}` for Tab) on the focused element.
    pub async fn keys_to(&self, css: &str, keys: &str) {
        let id = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": keys })),
        )
        .await;
    }

    /// The rendered text of the element `css`. An element the page replaced between finding
    /// it and reading it (a view re-rendering) is found again.
    pub async fn text(&self, css: &str) -> String {
        for _ in 0..20 {
            let id = self.find(css).await;
            match self
                .try_command(reqwest::Method::GET, &format!("/element/{id}/text"), None)
                .await
            {
                Ok(value) => return value.as_str().unwrap_or_default().to_owned(),
                Err(error) if error["error"] == "stale element reference" => continue,
                Err(error) => panic!("WebDriver text of `{css}`: {error:#}"),
            }
        }
        panic!("`{css}` was replaced 20 times while being read");
    }

    /// Runs `script` (a function body) in the page; its return value.
    pub async fn script(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Runs `script` (a function body whose last argument, `arguments[arguments.length - 1]`,
    /// is the callback that ends it) in the page, waiting up to 60 s; the value it called back
    /// with.
    pub async fn script_async(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/timeouts",
            Some(json!({"script": 60_000})),
        )
        .await;
        self.command(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// The whole page's text.
    pub async fn page_text(&self) -> String {
        let url = format!("{}/session/{}/execute/sync", self.base, self.session);
        let answer = self
            .http
            .post(url)
            .json(&json!({"script": "return document.body.innerText", "args": []}))
            .send()
            .await;
        match answer {
            Ok(answer) => answer.json::<Value>().await.unwrap_or_default()["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            Err(e) => format!("(unreadable: {e})"),
        }
    }

    /// Waits until the element `css` exists and its text contains every one of `words`;
    /// returns the text. Fails, showing the text, after 60 s.
    pub async fn wait_text(&self, css: &str, words: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.text(css).await;
            if words.iter().all(|w| text.contains(w)) {
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "`{css}` never said {words:?}; it says:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Writes a PNG screenshot of the whole page to `path`: the window is made as tall as the
    /// page (at most 3000 px) for the shot, then restored.
    pub async fn screenshot(&self, path: &std::path::Path) {
        let rect = self
            .command(reqwest::Method::GET, "/window/rect", None)
            .await;
        let (width, height) = (
            rect["width"].as_u64().unwrap(),
            rect["height"].as_u64().unwrap(),
        );
        let page = self
            .script("return document.documentElement.scrollHeight + (window.outerHeight - window.innerHeight)")
            .await
            .as_u64()
            .unwrap_or(height)
            .clamp(height, 3000);
        self.resize(width as u32, page as u32).await;
        let value = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        self.resize(width as u32, height as u32).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Resizes the window.
    pub async fn resize(&self, width: u32, height: u32) {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session (closing Chromium) with a plain blocking request: Drop cannot await.
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(
                stream,
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.session, self.port
            );
            let _ = std::io::Read::read(&mut stream, &mut [0u8; 256]);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
