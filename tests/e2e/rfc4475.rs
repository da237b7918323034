//! Parser strictness (Hardening item 10): the requests RFC 4475 (§3.1.2, §3.3.8,
//! §3.3.9) says to refuse get the status it names — 400 Bad Request, or 505 for an
//! unknown SIP version — from a real gateway, never a 2xx and never a ticket action,
//! even when they dial a real purchase number.
//!
//! The messages are golden files, `tests/corpus/sip/rfc4475_<name>.sip` (the RFC's
//! bytes), listed with the expected status in `tests/corpus/sip/rfc4475.expect`.
//! Before sending, three things are swapped so the message reaches real ticket
//! logic and its answer reaches this test: the Request-URI user becomes the
//! purchase number, the From user a caller number, and the top Via's sent-by this
//! test's socket. Everything the RFC breaks is left as it is.

use std::time::Duration;

use dialticket::phone::PhoneNumber;
use tokio::net::UdpSocket;

use crate::helpers::*;

const CALLER: &str = "+819044750001";
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// `(name, status)` from the expectations file.
fn expectations() -> Vec<(String, u16)> {
    let text = std::fs::read_to_string(repo("tests/corpus/sip/rfc4475.expect")).expect("rfc4475.expect");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut it = l.split_whitespace();
            let name = it.next().expect("name").to_string();
            let status = it.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {l:?}"));
            (name, status)
        })
        .collect()
}

/// Replace the `sip:USER@` user of `line` (the first one) with `user`.
fn swap_user(line: &str, user: &str) -> String {
    let Some(start) = line.find("sip:").map(|i| i + 4) else { return line.to_string() };
    let rest = &line[start..];
    match rest.find('@') {
        Some(at) if !rest[..at].contains([' ', '>']) => format!("{}{user}{}", &line[..start], &rest[at..]),
        _ => line.to_string(),
    }
}

/// Replace the sent-by (host[:port]) of the first Via value on `line` with `sent_by`.
fn swap_sent_by(line: &str, sent_by: &str) -> String {
    // "Via: SIP/x.y/TRANSPORT host:port;params": the sent-by follows the transport token.
    let first = line.find('/');
    let Some(slash) = first.and_then(|f| line[f + 1..].find('/').map(|s| f + 1 + s)) else { return line.to_string() };
    let after = &line[slash + 1..];
    let transport_end = after.find(char::is_whitespace).unwrap_or(after.len());
    let host_start = after[transport_end..].find(|c: char| !c.is_whitespace()).map(|i| transport_end + i);
    let Some(host_start) = host_start else { return line.to_string() };
    let host_end = after[host_start..].find([';', ',', ' ']).map(|i| host_start + i).unwrap_or(after.len());
    format!("{}{}{sent_by}{}", &line[..slash + 1], &after[..host_start], &after[host_end..])
}

/// The golden message with the three swaps described at the top.
fn prepared(raw: &[u8], sent_by: &str) -> (Vec<u8>, String) {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 2).expect("header section");
    let head = std::str::from_utf8(&raw[..head_end]).expect("ASCII head");
    let mut out = String::new();
    let (mut via_done, mut call_id) = (false, String::new());
    for (i, line) in head.split_inclusive("\r\n").enumerate() {
        let name = line.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
        let line = if i == 0 {
            swap_user(line, PURCHASE)
        } else if name == "from" || name == "f" {
            swap_user(line, CALLER)
        } else if (name == "via" || name == "v") && !via_done {
            via_done = true;
            swap_sent_by(line.trim_end(), sent_by) + "\r\n"
        } else {
            line.to_string()
        };
        if (name == "call-id" || name == "i") && call_id.is_empty() {
            call_id = line.split_once(':').map(|(_, v)| v.trim().to_string()).unwrap_or_default();
        }
        out.push_str(&line);
    }
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&raw[head_end..]);
    (bytes, call_id)
}

/// The first final response (or 1xx if nothing else comes) whose Call-ID is `call_id`.
async fn answer(socket: &UdpSocket, call_id: &str) -> Option<u16> {
    let mut buf = vec![0u8; 65_535];
    let mut provisional = None;
    let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
    loop {
        let Ok(Ok(n)) = tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await else {
            return provisional;
        };
        let text = String::from_utf8_lossy(&buf[..n]);
        let code: Option<u16> = text.strip_prefix("SIP/2.0 ").and_then(|r| r.get(..3)).and_then(|c| c.parse().ok());
        let ours = text.lines().any(|l| {
            l.split_once(':').is_some_and(|(n, v)| {
                matches!(n.trim().to_ascii_lowercase().as_str(), "call-id" | "i") && v.trim() == call_id
            })
        });
        match code {
            Some(c) if ours && c >= 200 => return Some(c),
            Some(c) if ours => provisional = Some(c),
            _ => {}
        }
    }
}

#[tokio::test]
async fn rfc4475_invalid_requests_get_the_rfcs_answer_and_no_ticket_action() {
    let gw = spawn_gateway().await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    socket.connect(gw.sip).await.expect("connect");
    let sent_by = socket.local_addr().unwrap().to_string();
    let mut table = Vec::new();
    for (name, expected) in expectations() {
        let raw = std::fs::read(repo(&format!("tests/corpus/sip/rfc4475_{name}.sip"))).expect("golden file");
        let (message, call_id) = prepared(&raw, &sent_by);
        socket.send(&message).await.expect("send");
        let got = answer(&socket, &call_id).await;
        table.push((name, expected, got));
    }
    let wrong: Vec<_> = table.iter().filter(|(_, expected, got)| Some(*expected) != *got).collect();
    assert!(wrong.is_empty(), "(message, expected, got; None = no answer): {wrong:?}\nall: {table:?}");
    // No ticket action: every answer above is final, and a call's ticket work is committed
    // before its answer is sent, so nothing can still be on its way.
    let outbox = gw.app.store.outbox(100).await.expect("outbox");
    assert!(outbox.is_empty(), "nothing mailed: {:?}", outbox.iter().map(|m| &m.subject).collect::<Vec<_>>());
    let caller = PhoneNumber::parse(CALLER).unwrap();
    assert!(gw.app.store.phone_user(&caller).await.expect("phone user").is_none(), "no phone user created");
    gw.stop().await;
}

#[test]
fn the_swaps_keep_what_the_rfc_breaks() {
    let raw = b"INVITE sip:user@example.com; lr SIP/2.0\r\nFrom: sip:caller@example.net;tag=1\r\nVia: SIP/7.0/UDP 192.0.2.15;;,;,,\r\nCall-ID: x\r\n\r\nbody";
    let (out, call_id) = prepared(raw, "127.0.0.1:9");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "INVITE sip:+442079460100@example.com; lr SIP/2.0\r\nFrom: sip:+819044750001@example.net;tag=1\r\nVia: SIP/7.0/UDP 127.0.0.1:9;;,;,,\r\nCall-ID: x\r\n\r\nbody"
    );
    assert_eq!(call_id, "x");
    assert_eq!(
        swap_sent_by("Via:     SIP/2.0/UDP c.example.com:5060;branch=z", "h:1"),
        "Via:     SIP/2.0/UDP h:1;branch=z"
    );
}
