//! A real third-party SIP stack (sipp, Debian's `sip-tester`) calls the
//! purchase number, and the purchase link arrives by SMTP.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::helpers::*;

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).map(|a| a.port()).expect("free port")
}

#[tokio::test]
async fn sipp_calls_the_purchase_number_and_the_link_arrives() {
    let gw = spawn_gateway().await;
    let caller = "+819022223333";
    let scenario = repo("tests/sipp/purchase_uac.xml");
    let workdir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let child = tokio::process::Command::new("sipp")
        .current_dir(workdir.path())
        .arg(gw.sip.to_string())
        .args(["-sf", scenario.to_str().unwrap(), "-s", "442079460100", "-key", "caller", caller])
        .args(["-m", "1", "-l", "1", "-i", "127.0.0.1", "-mp", &free_udp_port().to_string()])
        .args(["-nostdin", "-timeout", "30s", "-timeout_error"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp is installed (scripts/test.sh installs Debian's sip-tester)");

    let mail = gw.mail(caller, "purchase link").await;
    let call_to_mail = mail.received_at.saturating_duration_since(started);
    eprintln!("sipp: call → purchase-link mail at the SMTP server: {} ms", call_to_mail.as_millis());

    let out =
        tokio::time::timeout(Duration::from_secs(40), child.wait_with_output()).await.expect("sipp finishes").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sipp failed ({:?}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    // The link works: it opens the purchase page for sipp's caller ID.
    let link = gw.link(&mail, "/p/");
    let (status, page) = gw.get(&link).await;
    assert_eq!(status, 200);
    assert_eq!(page["phone"], caller);
    gw.stop().await;
}
