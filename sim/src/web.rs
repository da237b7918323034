//! A small HTTP client that drives the gateway's pages the way a phone's browser would.
//!
//! [`Browser`] asks for HTML (`Accept: text/html`) or JSON
//! (`Accept: application/json`), posts `application/x-www-form-urlencoded`
//! forms, follows redirects (reqwest's default policy, at most 10) and keeps
//! no cookies. It never uses a proxy: the simulator talks to local servers.
//! What the pages return is the gateway's business; this module stays generic.

use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT};

use crate::SimError;

const ACCEPT_JSON: &str = "application/json";
const ACCEPT_HTML: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";

/// An HTTP client for the gateway's pages.
#[derive(Debug, Clone)]
pub struct Browser {
    client: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// A client with a 30 s request timeout, no proxy, default redirect policy.
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .user_agent(concat!("dialticket-sim/", env!("CARGO_PKG_VERSION"), " (softphone)"))
            .timeout(Duration::from_secs(30))
            .no_proxy()
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Browser { client }
    }

    /// GET `url` with `Accept: application/json`. Returns the status and the
    /// parsed body (`Value::Null` for an empty body); a non-empty body that is
    /// not JSON is a [`SimError::Parse`].
    pub async fn get_json(&self, url: &str) -> Result<(u16, serde_json::Value), SimError> {
        let resp = self.client.get(url).header(ACCEPT, HeaderValue::from_static(ACCEPT_JSON)).send().await?;
        json_response(resp).await
    }

    /// GET `url` with `Accept: text/html`. Returns the status and the body text.
    pub async fn get_html(&self, url: &str) -> Result<(u16, String), SimError> {
        let resp = self.client.get(url).header(ACCEPT, HeaderValue::from_static(ACCEPT_HTML)).send().await?;
        text_response(resp).await
    }

    /// POST `fields` as an urlencoded form with `Accept: application/json`.
    pub async fn post_form_json(
        &self,
        url: &str,
        fields: &[(&str, &str)],
    ) -> Result<(u16, serde_json::Value), SimError> {
        let resp =
            self.client.post(url).header(ACCEPT, HeaderValue::from_static(ACCEPT_JSON)).form(fields).send().await?;
        json_response(resp).await
    }

    /// POST `fields` as an urlencoded form with `Accept: text/html`.
    pub async fn post_form_html(&self, url: &str, fields: &[(&str, &str)]) -> Result<(u16, String), SimError> {
        let resp =
            self.client.post(url).header(ACCEPT, HeaderValue::from_static(ACCEPT_HTML)).form(fields).send().await?;
        text_response(resp).await
    }
}

async fn text_response(resp: reqwest::Response) -> Result<(u16, String), SimError> {
    let status = resp.status().as_u16();
    let body = resp.text().await?;
    Ok((status, body))
}

async fn json_response(resp: reqwest::Response) -> Result<(u16, serde_json::Value), SimError> {
    let status = resp.status().as_u16();
    let url = resp.url().to_string();
    let body = resp.bytes().await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((status, serde_json::Value::Null));
    }
    match serde_json::from_slice(&body) {
        Ok(v) => Ok((status, v)),
        Err(e) => {
            let text = String::from_utf8_lossy(&body);
            let snippet: String = text.chars().take(200).collect();
            Err(SimError::Parse(format!("{url} answered {status} with a body that is not JSON ({e}): {snippet}")))
        }
    }
}

/// Resolves `href` (absolute, root-relative like `/p/x/events/1`, relative,
/// `?query` or `#fragment`) against the URL of the page it appeared on.
/// If `base` is not a valid absolute URL, `href` is returned unchanged.
pub fn resolve(base: &str, href: &str) -> String {
    match reqwest::Url::parse(base).and_then(|b| b.join(href.trim())) {
        Ok(u) => u.to_string(),
        Err(_) => href.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn resolve_relative_hrefs() {
        let page = "http://127.0.0.1:8080/p/tok123/events?lang=ja";
        assert_eq!(resolve(page, "/p/x/events/1"), "http://127.0.0.1:8080/p/x/events/1");
        assert_eq!(resolve(page, "1"), "http://127.0.0.1:8080/p/tok123/1");
        assert_eq!(resolve("http://127.0.0.1:8080/p/tok123/", "events/1"), "http://127.0.0.1:8080/p/tok123/events/1");
        assert_eq!(resolve(page, "../a"), "http://127.0.0.1:8080/p/a");
        assert_eq!(resolve(page, "?lang=en"), "http://127.0.0.1:8080/p/tok123/events?lang=en");
        assert_eq!(resolve(page, "#top"), "http://127.0.0.1:8080/p/tok123/events?lang=ja#top");
    }

    #[test]
    fn resolve_absolute_and_odd_inputs() {
        let page = "http://127.0.0.1:8080/p/a";
        assert_eq!(resolve(page, "https://other.example/x"), "https://other.example/x");
        assert_eq!(resolve(page, "tel:+442079460100"), "tel:+442079460100");
        assert_eq!(resolve(page, "//127.0.0.2:9/z"), "http://127.0.0.2:9/z");
        assert_eq!(resolve("not a url", "/p/x"), "/p/x");
    }
}
