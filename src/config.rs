//! Configuration: `dialticket.toml` (optional) overridden by `DIALTICKET_*`
//! environment variables, over embedded defaults that need nothing installed.
//!
//! | key (toml) | environment | default |
//! |---|---|---|
//! | `sip_listen` | `DIALTICKET_SIP_LISTEN` | `127.0.0.1:5060` (UDP and TCP) |
//! | `http_listen` | `DIALTICKET_HTTP_LISTEN` | `127.0.0.1:8080` |
//! | `admin_listen` | `DIALTICKET_ADMIN_LISTEN` | `127.0.0.1:8081` (the back office, the admin API `/admin/…`, the operator pages `/dialplan`, `/outbox` and Prometheus `/metrics`; keep it off the internet) |
//! | `public_url` | `DIALTICKET_PUBLIC_URL` | `http://<http_listen>` |
//! | `database_url` | `DIALTICKET_DATABASE_URL` | `sqlite://var/dialticket.db` |
//! | `smtp_url` | `DIALTICKET_SMTP_URL` | unset: mail goes to the local outbox page `/outbox`; `smtp://host[:25]` plain, `smtp://host[:587]?tls=required` STARTTLS (`?tls=opportunistic`: when offered), `smtps://host[:465]` TLS; `user:password@` before the host for AUTH |
//! | `smtp_ca` | `DIALTICKET_SMTP_CA` | unset: the relay's TLS certificate is checked against the system's CA store only; a PEM file of CA certificates trusted besides |
//! | `smtp_timeout` | `DIALTICKET_SMTP_TIMEOUT` | `30` (seconds one SMTP transaction may take, connecting included; then it counts as a transient failure and is retried) |
//! | `mail_from` | `DIALTICKET_MAIL_FROM` | `dialticket <tickets@dialticket.example>` |
//! | `dkim_key` | `DIALTICKET_DKIM_KEY` | unset: mail goes out unsigned; a PEM private key (RSA or Ed25519) to DKIM-sign SMTP mail as `mail_from`'s domain |
//! | `dkim_selector` | `DIALTICKET_DKIM_SELECTOR` | `dialticket` (the key is published at `<selector>._domainkey.<domain>`) |
//! | `dialplans` | `DIALTICKET_DIALPLANS` | `dialplans` |
//! | `mail_templates` | `DIALTICKET_MAIL_TEMPLATES` | `mail-templates` |
//! | `locales` | `DIALTICKET_LOCALES` | `locales` (pages' message catalogs, one folder per language; English and Japanese are also compiled in) |
//! | `prompts` | `DIALTICKET_PROMPTS` | `prompts` |
//! | `signing_key` | `DIALTICKET_SIGNING_KEY` | `var/signing-key.pem` (generated if absent) |
//! | `carrier_mail_template` | `DIALTICKET_CARRIER_MAIL_TEMPLATE` | `{e164}@sms.example.net` |
//! | `rtp_ip` | `DIALTICKET_RTP_IP` | the IP of `sip_listen` |
//! | `rtp_ports` | `DIALTICKET_RTP_PORTS` | unset: any free port; `FIRST-LAST` (e.g. `10000-20000`): even ports in that range, for firewalls and port mappings |
//! | `payment_secret` | `DIALTICKET_PAYMENT_SECRET` | derived from the signing key: HMAC key of payment callbacks |
//! | `admin_token` | `DIALTICKET_ADMIN_TOKEN` | unset: the admin API (`/admin/…`) is off |
//! | `fee_per_ticket` | `DIALTICKET_FEE_PER_TICKET` | `100` (minor units billed to organizers per ticket) |
//! | `display_time_zone` | `DIALTICKET_DISPLAY_TIME_ZONE` | `Asia/Tokyo` (IANA zone of the operator pages' times that belong to no event: flood blocks, keys) |
//! | `stir_trust_dir` | `DIALTICKET_STIR_TRUST_DIR` | unset: no STIR/SHAKEN certificate is trusted (`anchors/*.pem`, `certs.toml`, `certs/`; reloaded on change and SIGHUP) |
//! | `stir_max_age` | `DIALTICKET_STIR_MAX_AGE` | `60` (seconds a PASSporT's `iat` may be off) |
//! | `purchase_links_per_hour` | `DIALTICKET_PURCHASE_LINKS_PER_HOUR` | `10` (purchase-link mails per caller number per hour) |
//! | `flood_block_time` | `DIALTICKET_FLOOD_BLOCK_TIME` | `30` (seconds a flooding source or caller stays blocked) |
//! | `mail_backlog_limit` | `DIALTICKET_MAIL_BACKLOG_LIMIT` | `5000` (mails waiting to be sent; beyond it purchase calls hear "busy, call again" and queue nothing; `0`: no ceiling) |
//! | `disk_min_free_mb` | `DIALTICKET_DISK_MIN_FREE_MB` | `64` (MiB free where the SQLite database lives below which `/healthz` answers 503: a call's transaction may no longer fit) |
//! | `payment_mode` | `DIALTICKET_PAYMENT_MODE` | unset: the gateway refuses to start; `sandbox` (the demo's `dialticket.toml`): the sandbox providers, every page and mail says "test mode" |
//! | `tcp_message_timeout` | `DIALTICKET_TCP_MESSAGE_TIMEOUT` | `10` (seconds a SIP/TCP connection gets for its first complete message, and for any message once begun; see `sip::tcp`) |

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct Config {
    pub sip_listen: SocketAddr,
    pub http_listen: SocketAddr,
    /// The admin listener: back office, admin API, operator pages, `/metrics`.
    pub admin_listen: SocketAddr,
    /// Base of every link in mails; `None` = derived from the bound HTTP address.
    pub public_url: Option<String>,
    pub database_url: String,
    pub smtp_url: Option<String>,
    /// CA certificates (PEM) trusted for the SMTP relay's TLS besides the system's.
    pub smtp_ca: Option<PathBuf>,
    /// Seconds one SMTP transaction may take, from connecting to the relay's last
    /// reply; also sets how long a claimed mail is leased (see [`crate::mail::worker`]).
    pub smtp_timeout: u64,
    pub mail_from: String,
    /// DKIM private key (PEM) for mail sent over SMTP; `None` = unsigned.
    pub dkim_key: Option<PathBuf>,
    /// DKIM selector: the key's DNS name is `<selector>._domainkey.<domain>`.
    pub dkim_selector: String,
    pub dialplans: PathBuf,
    pub mail_templates: PathBuf,
    /// The pages' message catalogs (`<lang>/*.ftl`); see [`crate::i18n::Catalogs::load`].
    pub locales: PathBuf,
    pub prompts: PathBuf,
    pub signing_key: PathBuf,
    /// Mail address for callers without a registered one: `{e164}` → `+8190…`, `{digits}` → `8190…`.
    pub carrier_mail_template: String,
    pub rtp_ip: Option<IpAddr>,
    /// UDP ports for calls' RTP; `None` = any free port.
    pub rtp_ports: Option<PortRange>,
    /// HMAC key payment providers sign callbacks with; `None` = derived from the signing key.
    pub payment_secret: Option<String>,
    /// Bearer token for the admin API; `None` turns the API off.
    pub admin_token: Option<String>,
    /// Fee billed to organizers per ticket sold, in the event currency's minor units.
    pub fee_per_ticket: i64,
    /// IANA zone the operator pages show times in that belong to no event.
    pub display_time_zone: chrono_tz::Tz,
    /// STIR/SHAKEN trust anchors and certificate cache; `None` = nothing verifies.
    pub stir_trust_dir: Option<PathBuf>,
    /// How far a PASSporT's `iat` may be from now, in seconds.
    pub stir_max_age: i64,
    /// Purchase-link mails one caller number may trigger per hour.
    pub purchase_links_per_hour: u32,
    /// How long a flooding source address or caller number stays blocked, in seconds.
    pub flood_block_time: u64,
    /// Mails waiting to be sent beyond which purchase calls are turned away (0: never).
    pub mail_backlog_limit: i64,
    /// MiB free on the SQLite database's file system below which `/healthz` is 503.
    pub disk_min_free_mb: u64,
    /// Test hook, off (`None`) by default and not read from any file: the event
    /// cancellation runner of this gateway halts after this many orders, as if
    /// the gateway were killed there ([`crate::event_cancel`]).
    pub event_cancel_stop_after: Option<usize>,
    /// Test hook, off (`None`) by default: the runner waits this long before each order.
    pub event_cancel_order_delay: Option<std::time::Duration>,
    /// Which payment providers run; `None` refuses to start (no silent sandbox).
    pub payment_mode: Option<crate::payment::PaymentMode>,
    /// Seconds a SIP/TCP connection gets to complete its first message (and any message
    /// once begun) before it is closed.
    pub tcp_message_timeout: u64,
}

/// A range of UDP ports, `first` to `last` inclusive (`rtp_ports`). RTP takes the
/// even ones (RFC 3550 §11), so the range must hold at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    /// The even ports of the range, lowest first.
    pub fn even_ports(self) -> impl Iterator<Item = u16> {
        (self.first..=self.last).filter(|p| p % 2 == 0)
    }
}

impl std::str::FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (first, last) = s.split_once('-').ok_or("expected FIRST-LAST, e.g. 10000-20000")?;
        let port = |p: &str| p.trim().parse::<u16>().ok().filter(|p| *p > 0).ok_or(format!("'{p}' is not a port"));
        let range = PortRange { first: port(first)?, last: port(last)? };
        if range.first > range.last {
            return Err("the first port is above the last".into());
        }
        if range.even_ports().next().is_none() {
            return Err("the range holds no even port (RTP takes even ports)".into());
        }
        Ok(range)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{key}: '{value}' is not valid: {message}")]
    Value { key: String, value: String, message: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    sip_listen: Option<String>,
    http_listen: Option<String>,
    admin_listen: Option<String>,
    public_url: Option<String>,
    database_url: Option<String>,
    smtp_url: Option<String>,
    smtp_ca: Option<PathBuf>,
    smtp_timeout: Option<u64>,
    mail_from: Option<String>,
    dkim_key: Option<PathBuf>,
    dkim_selector: Option<String>,
    dialplans: Option<PathBuf>,
    mail_templates: Option<PathBuf>,
    locales: Option<PathBuf>,
    prompts: Option<PathBuf>,
    signing_key: Option<PathBuf>,
    carrier_mail_template: Option<String>,
    rtp_ip: Option<String>,
    rtp_ports: Option<String>,
    payment_secret: Option<String>,
    admin_token: Option<String>,
    fee_per_ticket: Option<i64>,
    display_time_zone: Option<String>,
    stir_trust_dir: Option<PathBuf>,
    stir_max_age: Option<i64>,
    purchase_links_per_hour: Option<u32>,
    flood_block_time: Option<u64>,
    payment_mode: Option<String>,
    mail_backlog_limit: Option<i64>,
    disk_min_free_mb: Option<u64>,
    tcp_message_timeout: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sip_listen: SocketAddr::from(([127, 0, 0, 1], 5060)),
            http_listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            public_url: None,
            database_url: "sqlite://var/dialticket.db".into(),
            smtp_url: None,
            smtp_ca: None,
            smtp_timeout: 30,
            mail_from: "dialticket <tickets@dialticket.example>".into(),
            dkim_key: None,
            dkim_selector: "dialticket".into(),
            dialplans: "dialplans".into(),
            mail_templates: "mail-templates".into(),
            locales: "locales".into(),
            prompts: "prompts".into(),
            signing_key: "var/signing-key.pem".into(),
            carrier_mail_template: "{e164}@sms.example.net".into(),
            rtp_ip: None,
            rtp_ports: None,
            payment_secret: None,
            admin_token: None,
            fee_per_ticket: 100,
            display_time_zone: chrono_tz::Asia::Tokyo,
            stir_trust_dir: None,
            stir_max_age: 60,
            purchase_links_per_hour: 10,
            flood_block_time: 30,
            payment_mode: None,
            mail_backlog_limit: 5000,
            disk_min_free_mb: 64,
            event_cancel_stop_after: None,
            event_cancel_order_delay: None,
            tcp_message_timeout: 10,
        }
    }
}

impl Config {
    /// Defaults ← `file` (if given, or `dialticket.toml` if present) ← environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let implicit = Path::new("dialticket.toml");
        let path = match file {
            Some(p) => Some(p),
            None if implicit.exists() => Some(implicit),
            None => None,
        };
        let fc = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError::File { path: p.display().to_string(), message: e.to_string() })?;
                toml::from_str::<FileConfig>(&text)
                    .map_err(|e| ConfigError::File { path: p.display().to_string(), message: e.to_string() })?
            }
            None => FileConfig::default(),
        };
        Self::from_parts(fc, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    fn from_parts(fc: FileConfig, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        let pick = |key: &str, file: Option<String>| env(&format!("DIALTICKET_{}", key.to_uppercase())).or(file);
        if let Some(v) = pick("sip_listen", fc.sip_listen) {
            c.sip_listen = parse_addr("sip_listen", &v)?;
        }
        if let Some(v) = pick("http_listen", fc.http_listen) {
            c.http_listen = parse_addr("http_listen", &v)?;
        }
        if let Some(v) = pick("admin_listen", fc.admin_listen) {
            c.admin_listen = parse_addr("admin_listen", &v)?;
        }
        c.public_url = pick("public_url", fc.public_url).map(|u| u.trim_end_matches('/').to_string());
        if let Some(v) = pick("database_url", fc.database_url) {
            c.database_url = v;
        }
        c.smtp_url = pick("smtp_url", fc.smtp_url);
        c.smtp_ca = pick("smtp_ca", fc.smtp_ca.map(|p| p.display().to_string())).map(PathBuf::from);
        if let Some(v) = pick("smtp_timeout", fc.smtp_timeout.map(|v| v.to_string())) {
            c.smtp_timeout = positive("smtp_timeout", &v)?;
        }
        if let Some(v) = pick("mail_from", fc.mail_from) {
            c.mail_from = v;
        }
        c.dkim_key = pick("dkim_key", fc.dkim_key.map(|p| p.display().to_string())).map(PathBuf::from);
        if let Some(v) = pick("dkim_selector", fc.dkim_selector) {
            if v.is_empty()
                || !v.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            {
                return Err(ConfigError::Value {
                    key: "dkim_selector".into(),
                    value: v,
                    message: "must be a DNS name (letters, digits, '-', dots between labels)".into(),
                });
            }
            c.dkim_selector = v;
        }
        if let Some(v) = pick("dialplans", fc.dialplans.map(|p| p.display().to_string())) {
            c.dialplans = v.into();
        }
        if let Some(v) = pick("mail_templates", fc.mail_templates.map(|p| p.display().to_string())) {
            c.mail_templates = v.into();
        }
        if let Some(v) = pick("locales", fc.locales.map(|p| p.display().to_string())) {
            c.locales = v.into();
        }
        if let Some(v) = pick("prompts", fc.prompts.map(|p| p.display().to_string())) {
            c.prompts = v.into();
        }
        if let Some(v) = pick("signing_key", fc.signing_key.map(|p| p.display().to_string())) {
            c.signing_key = v.into();
        }
        if let Some(v) = pick("carrier_mail_template", fc.carrier_mail_template) {
            if !v.contains('@') || !(v.contains("{e164}") || v.contains("{digits}")) {
                return Err(ConfigError::Value {
                    key: "carrier_mail_template".into(),
                    value: v,
                    message: "must be an address containing {e164} or {digits}".into(),
                });
            }
            c.carrier_mail_template = v;
        }
        if let Some(v) = pick("rtp_ip", fc.rtp_ip) {
            c.rtp_ip = Some(v.parse().map_err(|e: std::net::AddrParseError| ConfigError::Value {
                key: "rtp_ip".into(),
                value: v.clone(),
                message: e.to_string(),
            })?);
        }
        if let Some(v) = pick("rtp_ports", fc.rtp_ports) {
            c.rtp_ports = Some(v.parse().map_err(|message| ConfigError::Value {
                key: "rtp_ports".into(),
                value: v.clone(),
                message,
            })?);
        }
        c.payment_secret = pick("payment_secret", fc.payment_secret);
        c.admin_token = pick("admin_token", fc.admin_token);
        if let Some(t) = &c.admin_token {
            if t.len() < 16 {
                return Err(ConfigError::Value {
                    key: "admin_token".into(),
                    value: "(hidden)".into(),
                    message: "must be at least 16 characters".into(),
                });
            }
        }
        if let Some(v) = pick("fee_per_ticket", fc.fee_per_ticket.map(|f| f.to_string())) {
            c.fee_per_ticket = v.parse().ok().filter(|f: &i64| *f >= 0).ok_or_else(|| ConfigError::Value {
                key: "fee_per_ticket".into(),
                value: v.clone(),
                message: "must be a whole number ≥ 0".into(),
            })?;
        }
        if let Some(v) = pick("display_time_zone", fc.display_time_zone) {
            c.display_time_zone = v.parse().map_err(|_| ConfigError::Value {
                key: "display_time_zone".into(),
                value: v.clone(),
                message: "must be an IANA time zone such as Asia/Tokyo".into(),
            })?;
        }
        c.stir_trust_dir =
            pick("stir_trust_dir", fc.stir_trust_dir.map(|p| p.display().to_string())).map(PathBuf::from);
        if let Some(v) = pick("stir_max_age", fc.stir_max_age.map(|v| v.to_string())) {
            c.stir_max_age = positive("stir_max_age", &v)?;
        }
        if let Some(v) = pick("purchase_links_per_hour", fc.purchase_links_per_hour.map(|v| v.to_string())) {
            c.purchase_links_per_hour = positive("purchase_links_per_hour", &v)?;
        }
        if let Some(v) = pick("flood_block_time", fc.flood_block_time.map(|v| v.to_string())) {
            c.flood_block_time = positive("flood_block_time", &v)?;
        }
        if let Some(v) = pick("mail_backlog_limit", fc.mail_backlog_limit.map(|v| v.to_string())) {
            c.mail_backlog_limit =
                v.trim().parse().ok().filter(|n: &i64| *n >= 0).ok_or_else(|| ConfigError::Value {
                    key: "mail_backlog_limit".into(),
                    value: v.clone(),
                    message: "must be a whole number ≥ 0 (0: no ceiling)".into(),
                })?;
        }
        if let Some(v) = pick("disk_min_free_mb", fc.disk_min_free_mb.map(|v| v.to_string())) {
            c.disk_min_free_mb = v.trim().parse().map_err(|_| ConfigError::Value {
                key: "disk_min_free_mb".into(),
                value: v.clone(),
                message: "must be a whole number of MiB ≥ 0".into(),
            })?;
        }
        if let Some(v) = pick("payment_mode", fc.payment_mode) {
            c.payment_mode = Some(v.parse().map_err(|e: crate::payment::PaymentModeError| ConfigError::Value {
                key: "payment_mode".into(),
                value: v.clone(),
                message: e.to_string(),
            })?);
        }
        if let Some(v) = pick("tcp_message_timeout", fc.tcp_message_timeout.map(|v| v.to_string())) {
            c.tcp_message_timeout = positive("tcp_message_timeout", &v)?;
        }
        if let Some(url) = &c.smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(ConfigError::Value {
                    key: "smtp_url".into(),
                    value: crate::mail::relay::redacted(url),
                    message: "expected smtp://host:port or smtps://host:port".into(),
                });
            }
        }
        Ok(c)
    }
}

/// A whole number ≥ 1.
fn positive<T: std::str::FromStr + PartialOrd + From<u8>>(key: &str, v: &str) -> Result<T, ConfigError> {
    v.trim().parse::<T>().ok().filter(|n| *n >= T::from(1)).ok_or_else(|| ConfigError::Value {
        key: key.into(),
        value: v.into(),
        message: "must be a whole number ≥ 1".into(),
    })
}

fn parse_addr(key: &str, v: &str) -> Result<SocketAddr, ConfigError> {
    v.parse().map_err(|e: std::net::AddrParseError| ConfigError::Value {
        key: key.into(),
        value: v.into(),
        message: format!("{e} (expected IP:port, e.g. 127.0.0.1:5060)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn env_overrides_file_overrides_defaults() {
        let fc: FileConfig =
            toml::from_str("sip_listen = \"127.0.0.1:5070\"\nhttp_listen = \"127.0.0.1:9000\"\n").unwrap();
        let env: HashMap<&str, &str> =
            [("DIALTICKET_SIP_LISTEN", "127.0.0.1:5080"), ("DIALTICKET_SMTP_URL", "smtp://127.0.0.1:2525")].into();
        let c = Config::from_parts(fc, |k| env.get(k).map(|s| s.to_string())).unwrap();
        assert_eq!(c.sip_listen.port(), 5080);
        assert_eq!(c.http_listen.port(), 9000);
        assert_eq!(c.admin_listen.port(), 8081);
        let admin = Config::from_parts(FileConfig::default(), |k| {
            (k == "DIALTICKET_ADMIN_LISTEN").then(|| "127.0.0.1:9081".into())
        });
        assert_eq!(admin.unwrap().admin_listen.port(), 9081);
        assert_eq!(c.smtp_url.as_deref(), Some("smtp://127.0.0.1:2525"));
        assert_eq!(c.database_url, "sqlite://var/dialticket.db");
        assert_eq!(c.smtp_timeout, 30);
        let fc: FileConfig = toml::from_str("smtp_timeout = 5").unwrap();
        assert_eq!(Config::from_parts(fc, |_| None).unwrap().smtp_timeout, 5);
        let c = Config::from_parts(FileConfig::default(), |k| (k == "DIALTICKET_SMTP_TIMEOUT").then(|| "2".into()));
        assert_eq!(c.unwrap().smtp_timeout, 2);
        let e = Config::from_parts(FileConfig::default(), |k| (k == "DIALTICKET_SMTP_TIMEOUT").then(|| "0".into()));
        assert!(e.unwrap_err().to_string().starts_with("smtp_timeout: '0'"));
    }

    #[test]
    fn bad_values_are_named() {
        let e = Config::from_parts(FileConfig::default(), |k| (k == "DIALTICKET_SIP_LISTEN").then(|| "nowhere".into()))
            .unwrap_err();
        assert!(e.to_string().starts_with("sip_listen: 'nowhere'"), "{e}");
        let e = Config::from_parts(FileConfig::default(), |k| (k == "DIALTICKET_DKIM_SELECTOR").then(|| "a b".into()))
            .unwrap_err();
        assert!(e.to_string().starts_with("dkim_selector: 'a b'"), "{e}");
        let smtp = |k: &str| (k == "DIALTICKET_SMTP_URL").then(|| "http://mailer:s3cret@relay.example".into());
        let e = Config::from_parts(FileConfig::default(), smtp).unwrap_err().to_string();
        assert!(e.starts_with("smtp_url: 'http://mailer:***@relay.example'") && !e.contains("s3cret"), "{e}");
        assert!(toml::from_str::<FileConfig>("sip_lisen = \"x\"").is_err());
    }

    #[test]
    fn rtp_ports_are_a_range_with_an_even_port() {
        let fc: FileConfig = toml::from_str("rtp_ports = \"10000-10009\"").unwrap();
        let c = Config::from_parts(fc, |_| None).unwrap();
        let range = c.rtp_ports.expect("a range");
        assert_eq!(range, PortRange { first: 10000, last: 10009 });
        assert_eq!(range.even_ports().collect::<Vec<_>>(), [10000, 10002, 10004, 10006, 10008]);
        assert_eq!(Config::from_parts(FileConfig::default(), |_| None).unwrap().rtp_ports, None);
        for (bad, why) in [
            ("20000-10000", "above the last"),
            ("10001-10001", "no even port"),
            ("10000", "FIRST-LAST"),
            ("0-10", "not a port"),
            ("10000-70000", "not a port"),
        ] {
            let e = Config::from_parts(FileConfig::default(), |k| (k == "DIALTICKET_RTP_PORTS").then(|| bad.into()))
                .unwrap_err();
            assert!(e.to_string().starts_with(&format!("rtp_ports: '{bad}'")) && e.to_string().contains(why), "{e}");
        }
    }
}
