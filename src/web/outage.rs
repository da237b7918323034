//! While the gateway's database is out of reach (its health probe says so,
//! [`crate::health`]), every page and form post is answered at once with the
//! "busy for a moment" page: HTTP 503 with Retry-After (RFC 9110 §15.6.4,
//! §10.2.3), in the reader's language — rather than each request waiting out
//! the pool's acquire timeout for the same answer. A request that slips in
//! before the probe notices gets that answer from the store's error
//! ([`WebError::is_unavailable`]). `/healthz` (which says what is wrong), the
//! compiled-in assets and `/metrics` need no database and are served as ever.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::{Web, WebError};

pub(super) async fn refuse_while_unavailable(State(web): State<Web>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let exempt = path == "/healthz" || path == "/metrics" || path.starts_with("/assets/");
    if exempt || web.app.store.availability().is_up() {
        return next.run(req).await;
    }
    let headers = req.headers().clone();
    WebError::Unavailable.render(&web, &headers)
}
