//! Where the outbox worker's mail goes: the local outbox, or an SMTP relay
//! reached as `smtp_url` says (plain, STARTTLS or TLS; a login), its
//! certificate checked against the system's CA store and `smtp_ca`.

use std::path::Path;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use percent_encoding::percent_decode_str;
use url::{Host, Url};

pub use super::connections::Relay;
use super::MailError;

/// STARTTLS (required or opportunistic) or TLS from the first byte.
type TlsWrap = fn(TlsParameters) -> Tls;

/// The CA certificates (PEM) trusted for the relay besides the system's.
fn relay_ca(path: &Path) -> Result<Certificate, MailError> {
    let bad = |m: String| MailError::SmtpCa(path.display().to_string(), m);
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(bad("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into()));
    }
    Certificate::from_pem(&pem).map_err(|e| bad(e.to_string()))
}

/// `url` with the password in it (`user:password@`) replaced by `***`, for
/// errors and logs.
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{}", &rest[authority_end..])
        }
        None => url.to_string(),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback())
}

/// Where mail goes.
pub enum Delivery {
    /// No SMTP server: mails stay in the database and are read at `/outbox`.
    Local,
    Smtp(Relay),
}

impl Delivery {
    /// `None` → local outbox. Otherwise the relay, as in lettre's URLs:
    /// - `smtp://[user:pass@]host[:port]`: plain SMTP, port 25 by default;
    /// - `smtp://…?tls=required`: STARTTLS, and no mail goes out if the relay
    ///   does not offer it or its certificate does not verify; port 587;
    /// - `smtp://…?tls=opportunistic`: STARTTLS when the relay offers it; 587;
    /// - `smtps://…`: TLS from the first byte; 465.
    ///
    /// The relay's certificate is checked against the system's CA store and, if
    /// given, the PEM certificates in `ca` (a private relay's CA). `timeout` bounds
    /// connecting (lettre bounds nothing else, lettre#1027: the worker bounds the
    /// whole transaction, see [`super::worker`]). `connections`: how many
    /// connections to the relay are kept open (see [`Relay`]).
    pub fn from_url(
        url: Option<&str>,
        ca: Option<&Path>,
        timeout: Duration,
        connections: usize,
    ) -> Result<Delivery, MailError> {
        let Some(url) = url else { return Ok(Delivery::Local) };
        let bad = |m: &str| MailError::SmtpUrl(redacted(url), m.to_string());
        let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let host = match parsed.host() {
            Some(Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(Host::Ipv4(a)) => a.to_string(),
            Some(Host::Ipv6(a)) => a.to_string(),
            _ => return Err(bad("no host")),
        };
        let tls = parsed.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        // How TLS wraps the connection (none: plain SMTP), and the default port.
        let (wrap, port): (Option<TlsWrap>, u16) = match (parsed.scheme(), tls.as_deref()) {
            ("smtp", None) => (None, 25),
            ("smtp", Some("required")) => (Some(Tls::Required), 587),
            ("smtp", Some("opportunistic")) => (Some(Tls::Opportunistic), 587),
            ("smtps", None) => (Some(Tls::Wrapper), 465),
            ("smtp" | "smtps", Some(other)) => {
                return Err(bad(&format!("tls={other}: expected tls=required or tls=opportunistic (smtp:// only)")))
            }
            _ => return Err(bad("expected smtp:// or smtps://")),
        };
        let mut tls_mode = Tls::None;
        if let Some(wrap) = wrap {
            let mut params = TlsParameters::builder(host.clone());
            if let Some(path) = ca {
                params = params.add_root_certificate(relay_ca(path)?);
            }
            tls_mode = wrap(params.build_rustls().map_err(|e| bad(&e.to_string()))?);
        } else if ca.is_some() {
            return Err(bad("smtp_ca is set but the URL asks for no TLS: add ?tls=required or use smtps://"));
        }
        let mut credentials = None;
        if !parsed.username().is_empty() {
            let decode = |s: &str| percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
            let user = decode(parsed.username()).map_err(|_| bad("user name is not UTF-8"))?;
            let pass = decode(parsed.password().unwrap_or("")).map_err(|_| bad("password is not UTF-8"))?;
            if wrap.is_none() && !is_loopback(&host) {
                tracing::warn!(relay = %host, "smtp_url: the relay password goes over the network unencrypted; add ?tls=required");
            }
            credentials = Some(Credentials::new(user, pass));
        }
        let port = parsed.port().unwrap_or(port);
        Ok(Delivery::Smtp(Relay::new(host, port, tls_mode, credentials, timeout, connections)))
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Delivery::Local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(30);
    const N: usize = 8;

    #[test]
    fn smtp_urls() {
        let ok = |u: &str| Delivery::from_url(Some(u), None, T, N).map(|d| !d.is_local());
        assert!(Delivery::from_url(None, None, T, N).unwrap().is_local());
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://user:pw@[::1]:25",
            "smtp://relay.example?tls=required",
            "smtp://u%40x:p%3Aw@relay.example:587?tls=opportunistic",
            "smtps://relay.example",
        ] {
            assert!(ok(url).expect(url), "{url}");
        }
        let refused = |u: &str| Delivery::from_url(Some(u), None, T, N).err().map(|e| e.to_string()).expect(u);
        assert!(refused("smtp://127.0.0.1:port").contains("invalid port"));
        assert!(refused("http://x").contains("expected smtp:// or smtps://"));
        assert!(refused("smtp://x?tls=yes").contains("tls=yes: expected tls=required"));
        assert!(refused("smtps://x?tls=required").contains("smtp:// only"));
        assert!(refused("smtp://").contains("no host"));
    }

    #[test]
    fn errors_never_show_the_relay_password() {
        let e = Delivery::from_url(Some("smtp://mailer:s3cr%2Fet@relay.example:587?tls=maybe"), None, T, N);
        let e = e.err().expect("refused").to_string();
        assert!(e.contains("'smtp://mailer:***@relay.example:587?tls=maybe'") && !e.contains("s3cr"), "{e}");
        assert_eq!(redacted("smtp://relay.example"), "smtp://relay.example");
        assert_eq!(redacted("smtp://only-user@relay.example/"), "smtp://only-user@relay.example/");
        assert_eq!(redacted("smtps://u:p@w@[::1]:465"), "smtps://u:***@[::1]:465");
    }

    #[test]
    fn relay_ca_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let none = dir.path().join("none.pem");
        let e = Delivery::from_url(Some("smtp://x?tls=required"), Some(&none), T, N).err().unwrap().to_string();
        assert!(e.starts_with(&format!("smtp_ca {}: ", none.display())), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = Delivery::from_url(Some("smtp://x?tls=required"), Some(&empty), T, N).err().unwrap().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
        let e = Delivery::from_url(Some("smtp://x:25"), Some(&empty), T, N).err().unwrap().to_string();
        assert!(e.contains("smtp_ca is set but the URL asks for no TLS"), "{e}");
    }
}
