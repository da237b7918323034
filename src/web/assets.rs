//! The few scripts pages load (`/assets/{name}`), compiled into the binary. Pages
//! work without them; a script only keeps a page live (polling its own JSON) or
//! drives a camera. The Content-Security-Policy allows scripts from this origin
//! only (`script-src 'self'`, no inline script), so nothing injected into a page
//! could run.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Every asset: name, content type, body.
const ASSETS: &[(&str, &str, &str)] = &[
    ("admin-door.js", "text/javascript; charset=utf-8", include_str!("assets/admin-door.js")),
    ("admission.js", "text/javascript; charset=utf-8", include_str!("assets/admission.js")),
    ("staff.js", "text/javascript; charset=utf-8", include_str!("assets/staff.js")),
    ("staff-offline.js", "text/javascript; charset=utf-8", include_str!("assets/staff-offline.js")),
    ("staff-icon.svg", "image/svg+xml", include_str!("assets/staff-icon.svg")),
];

pub(super) async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => ([(header::CONTENT_TYPE, *content_type)], *body).into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
