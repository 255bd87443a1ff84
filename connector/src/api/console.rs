//! The web console at `/console`: a page for operators and auditors, served from assets
//! embedded in the binary (plain HTML, CSS and JavaScript modules; no build step, no CDN).
//! The page calls the management API with the admin token the operator enters; an auditor
//! verifies an audit bundle in the browser with an independent implementation. Every console
//! answer carries a strict Content-Security-Policy: scripts and styles only from this origin,
//! nothing inline, no framing. An auditor signs in by presenting an `AuditorCredential`
//! ([`auditor`], with the state in [`signin`]) and browses the trail with the session token.

pub mod auditor;
pub mod signin;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::error::ApiError;

/// The Content-Security-Policy of every console answer: only this origin's scripts, styles,
/// images and API; no inline script or style element, no plugins, no framing, no form posts
/// elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// One embedded file of the console.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the console, by the name it is served under.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../console/index.html"),
    },
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../console/style.css"),
    },
    Asset {
        name: "app.js",
        content_type: JS,
        body: include_str!("../../console/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: JS,
        body: include_str!("../../console/api.js"),
    },
    Asset {
        name: "dom.js",
        content_type: JS,
        body: include_str!("../../console/dom.js"),
    },
    Asset {
        name: "operator.js",
        content_type: JS,
        body: include_str!("../../console/operator.js"),
    },
    Asset {
        name: "sessions.js",
        content_type: JS,
        body: include_str!("../../console/sessions.js"),
    },
    Asset {
        name: "chart.js",
        content_type: JS,
        body: include_str!("../../console/chart.js"),
    },
    Asset {
        name: "auditor.js",
        content_type: JS,
        body: include_str!("../../console/auditor.js"),
    },
    Asset {
        name: "verify.js",
        content_type: JS,
        body: include_str!("../../console/verify.js"),
    },
    Asset {
        name: "pair.js",
        content_type: JS,
        body: include_str!("../../console/pair.js"),
    },
    Asset {
        name: "proofs.js",
        content_type: JS,
        body: include_str!("../../console/proofs.js"),
    },
    Asset {
        name: "signin.js",
        content_type: JS,
        body: include_str!("../../console/signin.js"),
    },
    Asset {
        name: "trail.js",
        content_type: JS,
        body: include_str!("../../console/trail.js"),
    },
    Asset {
        name: "creds.js",
        content_type: JS,
        body: include_str!("../../console/creds.js"),
    },
    Asset {
        name: "health.js",
        content_type: JS,
        body: include_str!("../../console/health.js"),
    },
    Asset {
        name: "did.js",
        content_type: JS,
        body: include_str!("../../console/did.js"),
    },
];

/// Routes of the console.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(index))
        .route("/console/", web::get().to(index))
        .route("/console/{file}", web::get().to(asset));
}

async fn index() -> Result<HttpResponse, ApiError> {
    serve("index.html")
}

async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    serve(&file)
}

/// The embedded file `name` with the console's security headers, or 404.
fn serve(name: &str) -> Result<HttpResponse, ApiError> {
    let asset = ASSETS.iter().find(|a| a.name == name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "the console has no file `{}`",
            name.chars().take(100).collect::<String>()
        ))
    })?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header(("Cross-Origin-Opener-Policy", "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(asset.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_an_asset_imports_is_served() {
        for asset in ASSETS {
            for line in asset.body.lines() {
                let Some(rest) = line.split(" from \"./").nth(1) else {
                    continue;
                };
                let Some(name) = rest.split('"').next() else {
                    continue;
                };
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "{} imports {name}, which is not embedded",
                    asset.name
                );
            }
        }
    }

    #[test]
    fn nothing_inline_that_the_policy_would_block() {
        let index = ASSETS
            .iter()
            .find(|a| a.name == "index.html")
            .map(|a| a.body)
            .unwrap_or_default();
        assert!(!index.contains("<script>"), "no inline script");
        assert!(!index.contains("style="), "no inline style");
        assert!(!index.contains("http://") && !index.contains("https://"));
    }
}
