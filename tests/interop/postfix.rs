//! The mail leg of `compose.yaml` with real peers: a private Postfix (submission
//! relay: STARTTLS, then a login Dovecot checks) between the gateway and the
//! callers' mailboxes (the simulator's SMTP sink).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::helpers::*;
use crate::Peer;

/// A private Postfix on loopback with its own configuration, queue and log in
/// `dir`, set up as a submission relay: smtpd on `port` requires STARTTLS
/// (certificate `relay.pem`), then a login (SASL, checked by Dovecot on the
/// socket `sasl`), and relays what logged-in clients send to `relay_to`.
/// Loopback is not trusted by address. Postfix's master starts as root and
/// drops to the `postfix` user Debian's package creates.
struct Postfix {
    dir: PathBuf,
    port: u16,
    peer: Option<Peer>,
}

impl Postfix {
    fn configure(dir: &Path, port: u16, relay_to: SocketAddr, sasl: &Path) -> Postfix {
        let is_root = std::process::Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n");
        assert!(
            is_root.unwrap_or(false),
            "Postfix's master daemon must start as root: run the interop tests as root, as CI does"
        );
        let d = dir.display();
        let sasl = sasl.display();
        let (relay_ip, relay_port) = (relay_to.ip(), relay_to.port());
        let main = format!(
            "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = relay.dialticket.test
mydestination =
relayhost = [{relay_ip}]:{relay_port}
mynetworks = 192.0.2.1/32
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {sasl}
smtpd_sasl_authenticated_header = yes
smtpd_tls_auth_only = yes
alias_maps =
alias_database =
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
smtpd_tls_security_level = encrypt
smtpd_tls_cert_file = {d}/relay.pem
smtpd_tls_key_file = {d}/relay.key
smtpd_tls_received_header = yes
smtp_tls_security_level = none
biff = no
"
        );
        let master = format!(
            "127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
"
        );
        // Apart from the queue: Postfix wants its configuration tree owned by root.
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::write(dir.join("etc/main.cf"), main).unwrap();
        std::fs::write(dir.join("etc/master.cf"), master).unwrap();
        // The daemons run as `postfix`: they need to reach the queue in our
        // temporary directory and own the data directory.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir_all(dir.join("queue")).unwrap();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let chown = std::process::Command::new("chown").arg("postfix").arg(dir.join("data")).status();
        assert!(chown.is_ok_and(|s| s.success()), "chown postfix (the user Debian's postfix package creates)");
        let p = Postfix { dir: dir.to_path_buf(), port, peer: None };
        // Makes the queue's subdirectories with their owners and modes.
        let check = p.command("check").output().expect("postfix is installed (scripts/test.sh installs it)");
        assert!(check.status.success(), "postfix check: {}{}", String::from_utf8_lossy(&check.stderr), p.log());
        p
    }

    fn command(&self, verb: &str) -> std::process::Command {
        let mut c = std::process::Command::new("/usr/sbin/postfix");
        c.arg("-c").arg(self.dir.join("etc")).arg(verb);
        c
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }

    /// Start the master in the foreground; ready when smtpd greets.
    async fn start(&mut self) {
        let mut cmd = Command::from(self.command("start-fg"));
        let mut peer = Peer::spawn("postfix", cmd.stdout(Stdio::null()).stderr(Stdio::null()));
        for _ in 0..100 {
            if let Ok(Some(status)) = peer.child.try_wait() {
                panic!("postfix exited ({status}):\n{}", self.log());
            }
            if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await {
                let mut greeting = String::new();
                let mut r = BufReader::new(&mut s);
                if r.read_line(&mut greeting).await.is_ok() && greeting.starts_with("220 ") {
                    self.peer = Some(peer);
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Postfix did not greet on 127.0.0.1:{}:\n{}", self.port, self.log());
    }

    /// `postfix stop`, as an operator would, and wait for the master to exit.
    async fn stop(&mut self) {
        let _ = self.command("stop").output();
        if let Some(mut peer) = self.peer.take() {
            if tokio::time::timeout(Duration::from_secs(10), peer.child.wait()).await.is_err() {
                peer.stop().await;
            }
        }
    }
}

impl Drop for Postfix {
    /// The master makes itself a session leader, so killing the process group
    /// we started misses it: ask it to go (a no-op when it is not running).
    fn drop(&mut self) {
        let _ = self.command("abort").output();
    }
}

/// Dovecot as Postfix's SASL authority (`smtpd_sasl_type = dovecot`), with
/// its own configuration in `dir` and the accounts in a passwd-file: nothing
/// but the authentication socket, which it returns.
async fn start_dovecot(dir: &Path, accounts: &[(&str, &str)]) -> (Peer, PathBuf) {
    let d = dir.display();
    for sub in ["run", "state", "sasl"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let passwd: String = accounts.iter().map(|(user, password)| format!("{user}:{{PLAIN}}{password}\n")).collect();
    std::fs::write(dir.join("passwd"), passwd).unwrap();
    let conf = format!(
        "base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols =
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
service auth {{
  unix_listener {d}/sasl/auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
"
    );
    std::fs::write(dir.join("dovecot.conf"), conf).unwrap();
    let socket = dir.join("sasl/auth");
    let mut peer = Peer::spawn(
        "dovecot",
        Command::new("/usr/sbin/dovecot").arg("-F").arg("-c").arg(dir.join("dovecot.conf")).stdout(Stdio::null()),
    );
    for _ in 0..100 {
        if let Ok(Some(status)) = peer.child.try_wait() {
            panic!(
                "dovecot exited ({status}):\n{}",
                std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default()
            );
        }
        if socket.exists() {
            return (peer, socket);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("dovecot made no socket:\n{}", std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default());
}

/// A CA and a certificate it signed for 127.0.0.1 (`relay.pem`, `relay.key`), in `dir`.
fn relay_certificate(dir: &Path) -> PathBuf {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        dir,
        &[
            &["req", "-x509"],
            &ec[..],
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=dialticket test relay CA"],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[&["req"], &ec[..], &["-keyout", "relay.key", "-out", "relay.csr", "-subj", "/CN=127.0.0.1"]].concat(),
    );
    std::fs::write(dir.join("relay.ext"), "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n").unwrap();
    openssl(
        dir,
        &["x509", "-req", "-in", "relay.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "2"]
            .into_iter()
            .chain(["-extfile", "relay.ext", "-out", "relay.pem"])
            .collect::<Vec<_>>(),
    );
    dir.join("ca.pem")
}

/// The mail leg of `compose.yaml` with a real MTA: the gateway hands its mail
/// to Postfix over STARTTLS (`smtp_url` `?tls=required`, the relay's private
/// CA in `smtp_ca`) and logs in (SASL, Dovecot checking the password), and
/// Postfix relays it on to the callers' mailboxes (the test's SMTP sink), its
/// DKIM signature still valid. While Postfix is stopped the mail waits in the
/// gateway's outbox and goes out once it is back. A gateway that does not
/// trust the relay's CA, or whose password is wrong, sends nothing and keeps
/// the mail for when the operator has fixed it.
#[tokio::test]
async fn postfix_takes_the_mail_over_starttls_with_a_login_and_an_outage_only_delays_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca = relay_certificate(dir.path());
    let port = free_tcp_port();
    let sasl_dir = tempfile::tempdir().unwrap();
    let (dovecot, sasl) = start_dovecot(sasl_dir.path(), &[("relay-user", "s3cret/%+")]).await;
    // The password percent-encoded in the URL, as URLs want it.
    let url = format!("smtp://relay-user:s3cret%2F%25%2B@127.0.0.1:{port}?tls=required");
    let (dkim, record) = dkim_key(dir.path(), "ED25519");
    let gw = spawn_gateway_with(|c| {
        c.smtp_url = Some(url.clone());
        c.smtp_ca = Some(ca.clone());
        c.dkim_key = Some(dkim.clone());
        c.mail_from = "dialticket <tickets@mail.dialticket.example>".into();
    })
    .await;
    let mut postfix = Postfix::configure(dir.path(), port, gw.mailbox.addr(), &sasl);
    postfix.start().await;

    let first = "+819055500001";
    assert_eq!(gw.call(first, PURCHASE_MISSED_CALL).await.final_status, 603);
    let mail = relayed(&gw, &postfix, first).await;
    let raw = String::from_utf8_lossy(&mail.raw).to_string();
    assert!(raw.contains("by relay.dialticket.test (Postfix) with ESMTPS"), "relayed by Postfix over TLS:\n{raw}");
    assert!(raw.contains("(using TLS"), "Postfix's Received header names the TLS session:\n{raw}");
    assert!(raw.contains("(Authenticated sender: relay-user)"), "the gateway logged in:\n{raw}");
    // The signature survives the relay: a receiver behind Postfix verifies it.
    let name = "dialticket._domainkey.mail.dialticket.example";
    assert_eq!(dkim_verify(dir.path(), &mail.raw, &record, name), "True", "DKIM after Postfix:\n{raw}");
    assert!(!gw.link(&mail, "/p/").is_empty());

    // An outage: the mail is tried, kept, and sent when the relay is back.
    postfix.stop().await;
    let second = "+819055500002";
    assert_eq!(gw.call(second, PURCHASE_MISSED_CALL).await.final_status, 603);
    let to = TestGateway::address(second);
    let tried = wait_for_outbox(&gw, &to, |m| m.attempts >= 1).await;
    assert_eq!(tried.state, "pending", "a refused connection is retried: {tried:?}");
    assert!(gw.mails(second, "purchase link").is_empty());
    postfix.start().await;
    let mail = relayed(&gw, &postfix, second).await;
    assert!(String::from_utf8_lossy(&mail.raw).contains("(Postfix) with ESMTPS"));
    let sent = wait_for_outbox(&gw, &to, |m| m.state == "sent").await;
    assert!(sent.attempts >= 1, "{sent:?}");

    // Without the relay's CA the certificate does not verify: nothing is sent.
    let untrusting = spawn_gateway_with(|c| c.smtp_url = Some(url.clone())).await;
    let third = "+819055500003";
    assert_eq!(untrusting.call(third, PURCHASE_MISSED_CALL).await.final_status, 603);
    let refused = wait_for_outbox(&untrusting, &TestGateway::address(third), |m| m.attempts >= 1).await;
    let error = refused.last_error.clone().unwrap_or_default();
    assert!(error.contains("certificate") || error.contains("UnknownIssuer"), "{refused:?}");
    assert_eq!(refused.state, "pending", "kept for when the operator fixes the trust: {refused:?}");
    assert!(gw.mails(third, "purchase link").is_empty() && untrusting.mails(third, "purchase link").is_empty());

    // A wrong password: refused at login (535), and the mail waits rather than failing for good.
    let wrong = spawn_gateway_with(|c| {
        c.smtp_url = Some(format!("smtp://relay-user:guess@127.0.0.1:{port}?tls=required"));
        c.smtp_ca = Some(ca.clone());
    })
    .await;
    let fourth = "+819055500004";
    assert_eq!(wrong.call(fourth, PURCHASE_MISSED_CALL).await.final_status, 603);
    let refused = wait_for_outbox(&wrong, &TestGateway::address(fourth), |m| m.attempts >= 1).await;
    assert!(refused.last_error.as_deref().unwrap_or_default().contains("535"), "{refused:?}");
    assert_eq!(refused.state, "pending", "kept for when the operator fixes the password: {refused:?}");
    assert!(gw.mails(fourth, "purchase link").is_empty());

    postfix.stop().await;
    dovecot.stop().await;
    wrong.stop().await;
    untrusting.stop().await;
    gw.stop().await;
}

/// The purchase link mailed to `phone`, as it came out of Postfix; on a
/// timeout, the gateway's outbox row and Postfix's log say where it stuck.
async fn relayed(gw: &TestGateway, postfix: &Postfix, phone: &str) -> dialticket_sim::smtp::ReceivedMail {
    let to = TestGateway::address(phone);
    let found = gw.mailbox.wait_for(|m| m.envelope_to.contains(&to) && m.subject.contains("purchase link"), MAIL_WAIT);
    match found.await {
        Ok(mail) => mail,
        Err(e) => {
            let outbox = gw.app.store.outbox(100).await.unwrap_or_default();
            let row = outbox.iter().find(|m| m.to_addr == to);
            panic!("no purchase link to {to} through Postfix: {e}\noutbox: {row:?}\nmaillog:\n{}", postfix.log())
        }
    }
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|s| s.local_addr()).map(|a| a.port()).expect("free port")
}

/// The gateway's outbox row for mail to `to` once `ready` holds (15 s at most).
async fn wait_for_outbox(
    gw: &TestGateway,
    to: &str,
    ready: impl Fn(&dialticket::store::OutboxMail) -> bool,
) -> dialticket::store::OutboxMail {
    let mut last = None;
    for _ in 0..150 {
        let mails = gw.app.store.outbox(100).await.expect("outbox");
        last = mails.into_iter().find(|m| m.to_addr == to);
        if let Some(m) = last.as_ref().filter(|m| ready(m)) {
            return m.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("mail to {to} never got there: {last:?}");
}
