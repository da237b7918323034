//! Connections to the SMTP relay, kept open and used again.
//!
//! A mail costs one SMTP transaction (RFC 5321 §3.3: MAIL, RCPT, DATA), not a
//! TCP connection, a greeting, an EHLO, STARTTLS and a login as well. A kept
//! connection is checked with NOOP before it carries the next mail (§4.1.1.9).
//!
//! Connections are made here rather than by lettre's transport so that they
//! are TCP_NODELAY: lettre writes a message's body and its closing `.` line
//! as two writes, and with Nagle's algorithm on, the second waits for the
//! relay's delayed ACK — 40 ms on Linux — on every mail (lettre#1159, not in a
//! release yet). That capped one connection at about 25 mails a second. With
//! `smtps://` (TLS from the first byte) lettre still makes the connection, and
//! Nagle stays on.
//!
//! A connection goes back to the kept ones only after a transaction that ended
//! cleanly. One whose send failed is closed by lettre; one whose send the worker
//! cut off at its deadline (a relay gone silent) is dropped with its future, so
//! a half-done transaction never carries another mail.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::Error as SmtpError;

/// Why a mail did not go out.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// What the relay answered, or the connection's failure, as lettre tells it.
    #[error(transparent)]
    Smtp(#[from] SmtpError),
    /// The relay could not be reached.
    #[error("connecting to the relay: {0}")]
    Connect(std::io::Error),
}

impl SendError {
    /// The relay's answer, if it gave one (for telling a refused mail from a
    /// refused login).
    pub fn smtp(&self) -> Option<&SmtpError> {
        match self {
            SendError::Smtp(e) => Some(e),
            SendError::Connect(_) => None,
        }
    }
}

/// The relay and the connections kept to it.
pub struct Relay {
    server: String,
    port: u16,
    tls: Tls,
    credentials: Option<Credentials>,
    /// Bounds connecting (TCP and TLS); the worker bounds the whole transaction.
    connect_timeout: Duration,
    hello: ClientId,
    kept: std::sync::Mutex<Vec<AsyncSmtpConnection>>,
    /// Connections kept at most (as many as the worker sends at once).
    keep: usize,
}

impl Relay {
    pub(super) fn new(
        server: String,
        port: u16,
        tls: Tls,
        credentials: Option<Credentials>,
        connect_timeout: Duration,
        keep: usize,
    ) -> Relay {
        Relay {
            server,
            port,
            tls,
            credentials,
            connect_timeout,
            hello: ClientId::default(),
            kept: std::sync::Mutex::new(Vec::new()),
            keep,
        }
    }

    /// Send one message: on a kept connection that still answers NOOP, else on a new one.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        let mut conn = loop {
            let kept = crate::sync::lock(&self.kept).pop();
            let Some(mut c) = kept else { break self.connect().await? };
            if c.test_connected().await {
                break c;
            }
            c.abort().await;
        };
        conn.send(envelope, message).await?;
        let mut kept = crate::sync::lock(&self.kept);
        if kept.len() < self.keep {
            kept.push(conn);
        }
        Ok(())
    }

    /// A new connection: TCP (no Nagle), the greeting and EHLO, STARTTLS as the
    /// URL asks, the login if there is one.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let mut conn = match &self.tls {
            Tls::Wrapper(params) => {
                AsyncSmtpConnection::connect_tokio1(
                    (self.server.as_str(), self.port),
                    Some(self.connect_timeout),
                    &self.hello,
                    Some(params.clone()),
                    None,
                )
                .await?
            }
            tls => {
                let addr = (self.server.as_str(), self.port);
                let tcp = match tokio::time::timeout(self.connect_timeout, tokio::net::TcpStream::connect(addr)).await {
                    Ok(Ok(tcp)) => tcp,
                    Ok(Err(e)) => return Err(SendError::Connect(e)),
                    Err(_) => {
                        return Err(SendError::Connect(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "connection timed out",
                        )))
                    }
                };
                tcp.set_nodelay(true).map_err(SendError::Connect)?;
                let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?;
                match tls {
                    // RFC 3207: refused by lettre when the relay does not offer it.
                    Tls::Required(params) => conn.starttls(params.clone(), &self.hello).await?,
                    Tls::Opportunistic(params) if conn.can_starttls() => {
                        conn.starttls(params.clone(), &self.hello).await?
                    }
                    _ => {}
                }
                conn
            }
        };
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }
}
