//! The gateway binary as a child process (`dialticket serve`), configured by
//! environment, as an operator starts it.

use std::process::Stdio;
use std::time::Duration;

fn free_port() -> u16 {
    // Both UDP and TCP must be free for SIP; HTTP needs TCP only.
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A running gateway; killed (SIGKILL) when dropped.
pub struct Process(tokio::process::Child);

impl Process {
    /// `kill -9` it, and wait until it is gone.
    pub async fn kill_9(mut self) {
        self.0.kill().await.expect("SIGKILL the gateway");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// Start a gateway on `db` with the signing key `key`, its mail going to the
/// SMTP server at `smtp`, and `env` (`DIALTICKET_…` overrides) besides; returns
/// once it answers HTTP, with its SIP address.
pub async fn start_gateway(
    db: &str,
    key: &std::path::Path,
    smtp: std::net::SocketAddr,
    env: &[(&str, &str)],
) -> (Process, std::net::SocketAddr) {
    let (sip, http) = (free_port(), free_port());
    let repo = env!("CARGO_MANIFEST_DIR");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dialticket"))
        .arg("serve")
        .env("DIALTICKET_SIP_LISTEN", format!("127.0.0.1:{sip}"))
        .env("DIALTICKET_HTTP_LISTEN", format!("127.0.0.1:{http}"))
        .env("DIALTICKET_ADMIN_LISTEN", "127.0.0.1:0")
        .env("DIALTICKET_DATABASE_URL", db)
        .env("DIALTICKET_SMTP_URL", format!("smtp://{smtp}"))
        .env("DIALTICKET_SIGNING_KEY", key)
        .env("DIALTICKET_DIALPLANS", format!("{repo}/dialplans"))
        .env("DIALTICKET_MAIL_TEMPLATES", format!("{repo}/mail-templates"))
        .env("DIALTICKET_PROMPTS", format!("{repo}/prompts"))
        .env("DIALTICKET_PAYMENT_MODE", "sandbox")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start dialticket");
    let process = Process(child);
    // Ready when it answers HTTP.
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", http)).await.is_ok() {
            return (process, format!("127.0.0.1:{sip}").parse().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gateway did not start");
}
