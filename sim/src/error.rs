//! The one error type of the simulator.

use thiserror::Error;

/// Everything that can go wrong while the simulator talks to the gateway.
#[derive(Debug, Error)]
pub enum SimError {
    /// A socket operation failed (bind, connect, send, receive).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Something did not happen in time; the string says what we were waiting for.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The SIP peer sent something we cannot work with (malformed message,
    /// closed connection, protocol violation).
    #[error("SIP error: {0}")]
    Sip(String),
    /// The HTTP request failed before a response was received.
    #[error("HTTP error: {0}")]
    Http(String),
    /// A response body or message could not be parsed.
    #[error("parse error: {0}")]
    Parse(String),
}

impl From<reqwest::Error> for SimError {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's Display hides the cause ("error sending request"); keep the chain.
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        SimError::Http(msg)
    }
}
