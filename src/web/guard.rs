//! What every page gets, whatever it is: response headers for pages whose URLs
//! are bearer tokens, and the refusal of form posts from other sites.
//!
//! A mailed link's URL is the credential to its page, so no page may leak it or
//! let another site use it: no `Referer` to outside (`Referrer-Policy`), no
//! copy in a shared cache (`Cache-Control: no-store`), no framing
//! (`frame-ancestors`, `X-Frame-Options`), no script but our own files (the
//! pages work without JavaScript; a few load one from `/assets/` to stay live,
//! so the Content-Security-Policy allows `'self'` and no inline script), no MIME
//! sniffing. And a state-changing request must come from our own pages: a
//! browser says where a form was posted from (`Origin`, `Sec-Fetch-Site`), and
//! one from another site is refused before any handler runs (OWASP's CSRF
//! defence by origin verification). Machine clients that send neither header
//! (the admin API with its bearer token, payment providers with their signed
//! callbacks, tests) are not affected.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use super::{Web, WebError};

const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; \
                   img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
                   worker-src 'self'; manifest-src 'self'";

/// The middleware: refuse a cross-site write, else run the handler, then add the headers.
pub(crate) async fn guard(State(web): State<Web>, req: Request, next: Next) -> Response {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let mut resp = match writes.then(|| cross_site(&web, req.headers())).flatten() {
        Some(from) => {
            tracing::info!(path = %req.uri().path(), %from, "cross-site form post refused");
            let headers = req.headers().clone();
            WebError::CrossSite("this form was sent from another site".into()).render(&web, &headers)
        }
        None => next.run(req).await,
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Where a write came from, if that is not this site. A browser's `Sec-Fetch-Site`
/// (Fetch Metadata, sent by every current browser) decides: only `same-origin` and
/// `none` (typed or bookmarked) pass. Without it, an `Origin` that is neither the
/// public URL's nor the `Host` the request was sent to is refused — except
/// `Origin: null`, which is what a browser sends for our own forms under
/// `Referrer-Policy: no-referrer`, so it tells nothing.
fn cross_site(web: &Web, headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return (!matches!(site, "same-origin" | "none")).then(|| format!("Sec-Fetch-Site: {site}"));
    }
    let origin = text("origin").filter(|o| *o != "null")?;
    let public = origin_of(web.app.links.public_url());
    let host = text("host").map(|h| h.to_ascii_lowercase());
    let same = |o: &str| {
        let o = o.to_ascii_lowercase();
        public.as_deref() == Some(o.as_str())
            || host.as_deref().is_some_and(|h| o == format!("http://{h}") || o == format!("https://{h}"))
    };
    (!same(origin)).then(|| format!("Origin: {origin}"))
}

/// `scheme://host[:port]` of a URL, lower-cased.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{authority}").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins() {
        assert_eq!(origin_of("http://127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("https://Tickets.Example/x/y?z").as_deref(), Some("https://tickets.example"));
        assert_eq!(origin_of("nonsense"), None);
    }
}
