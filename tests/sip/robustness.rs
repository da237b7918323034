//! No input from the network may panic the SIP layer.
//!
//! The corpus in `tests/corpus/sip/` (valid messages, and malformed ones: missing
//! or broken mandatory headers, lying Content-Lengths, header and size floods,
//! bad URIs, NULs, invalid UTF-8, hostile SDP and INFO bodies) is replayed
//! through [`parse_untrusted`] — the entry point of the cargo-fuzz target in
//! `fuzz/` — and a bounded, seeded mutation run (bit flips, byte and token
//! insertions, deletions, duplications, splices between corpus files) runs on
//! stable Rust in every `cargo test`. Set `DIALTICKET_MUTATIONS` for a longer run.
//! A live server is then fed the corpus over UDP and TCP and must still answer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::AsyncWriteExt;

use dialticket::media;
use dialticket::sip::message::{self, Message};
use dialticket::sip::parse_untrusted;

use crate::helpers::*;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/sip");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sip"))
        .map(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap_or_default())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 40, "corpus has {} files", files.len());
    files
}

fn escaped(data: &[u8]) -> String {
    data.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect()
}

fn must_not_panic(what: &str, data: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| parse_untrusted(data))).is_err() {
        panic!("parse_untrusted panicked on {what}: \"{}\"", escaped(data));
    }
}

#[test]
fn corpus_parses_or_is_refused_without_panicking() {
    for (name, data) in corpus() {
        must_not_panic(&name, &data);
        let parsed = message::parse_datagram(&data);
        if name.starts_with("valid_") {
            assert!(parsed.is_ok(), "{name}: {:?}", parsed.err());
        }
        if name.starts_with("valid_") && name.contains("invite_sdp") {
            let Ok(Message::Request(req)) = parsed else { panic!("{name}") };
            assert!(media::negotiate(&media::parse_sdp(&req.body).unwrap()).is_ok());
        }
    }
}

#[test]
fn specific_malformed_messages_get_the_right_answer() {
    let files = corpus();
    let get = |n: &str| files.iter().find(|(f, _)| f == n).map(|(_, d)| d.clone()).unwrap_or_default();
    let status = |n: &str| match message::parse_datagram(&get(n)) {
        Err(message::ParseError::Answerable { status, .. }) => Some(status),
        _ => None,
    };
    assert_eq!(status("bad_no_call_id.sip"), Some(400));
    assert_eq!(status("bad_cseq_method_mismatch.sip"), Some(400));
    assert_eq!(status("bad_cseq_2pow31.sip"), Some(400));
    assert_eq!(status("bad_content_length_longer_than_body.sip"), Some(400));
    assert_eq!(status("bad_version.sip"), Some(505));
    assert_eq!(status("bad_scheme.sip"), Some(416));
    assert_eq!(status("bad_max_forwards.sip"), Some(400));
    assert_eq!(status("bad_no_via.sip"), None, "nowhere to send a response");
    assert_eq!(status("bad_many_headers.sip"), None, "header flood dropped");
}

/// The RFC 4475 requests of `tests/corpus/sip/rfc4475.expect` get the status listed
/// there (tests/e2e/rfc4475.rs sends them to a whole gateway).
#[test]
fn rfc4475_invalid_requests_get_the_listed_status() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/sip");
    let expect = std::fs::read_to_string(dir.join("rfc4475.expect")).unwrap_or_default();
    let mut checked = 0;
    for line in expect.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let mut it = line.split_whitespace();
        let (Some(name), Some(status)) = (it.next(), it.next().and_then(|s| s.parse::<u16>().ok())) else {
            panic!("bad line in rfc4475.expect: {line}")
        };
        let data = std::fs::read(dir.join(format!("rfc4475_{name}.sip"))).unwrap_or_default();
        match message::parse_datagram(&data) {
            Err(message::ParseError::Answerable { status: got, .. }) => assert_eq!(got, status, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        checked += 1;
    }
    assert!(checked >= 19, "{checked} messages in rfc4475.expect");
}

/// One random edit of `data`; `other` is another corpus file to splice from.
fn mutate(rng: &mut StdRng, data: &mut Vec<u8>, other: &[u8]) {
    const TOKENS: &[&[u8]] = &[
        b"\r\n",
        b"\r\n\r\n",
        b"\n",
        b":",
        b";",
        b",",
        b"<",
        b">",
        b"\"",
        b"\\",
        b"%",
        b"[",
        b"]",
        b"@",
        b"=",
        b" ",
        b"\t",
        b"0",
        b"-1",
        b"4294967296",
        b"SIP/2.0",
        b"Via: ",
        b"Content-Length: ",
        b"CSeq: 1 INVITE",
        b";branch=z9hG4bK",
        b";tag=",
        b"sip:",
        b"tel:",
        b"m=audio 0 RTP/AVP 0\r\n",
        b"c=IN IP6 ::\r\n",
        b"a=rtpmap:101 telephone-event/8000\r\n",
        b"Signal=",
        b"\xff",
        b"\x00",
    ];
    let len = data.len();
    match rng.random_range(0..8) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            data[i] ^= 1 << rng.random_range(0..8);
        }
        1 if len > 0 => {
            let i = rng.random_range(0..len);
            data[i] = rng.random();
        }
        2 => {
            let i = rng.random_range(0..=len);
            let t = TOKENS[rng.random_range(0..TOKENS.len())];
            data.splice(i..i, t.iter().copied());
        }
        3 if len > 0 => {
            let i = rng.random_range(0..len);
            let j = (i + rng.random_range(1..=64)).min(len);
            data.drain(i..j);
        }
        4 if len > 0 => {
            let i = rng.random_range(0..len);
            let j = (i + rng.random_range(1..=256)).min(len);
            let copy = data[i..j].to_vec();
            let at = rng.random_range(0..=data.len());
            data.splice(at..at, copy);
        }
        5 if !other.is_empty() => {
            let cut = rng.random_range(0..=len);
            let from = rng.random_range(0..other.len());
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        6 if len > 0 => data.truncate(rng.random_range(0..len)),
        _ => {
            // Replace a run of digits with an extreme number.
            if let Some(i) = data.iter().position(|b| b.is_ascii_digit()) {
                let j = data[i..].iter().position(|b| !b.is_ascii_digit()).map_or(data.len(), |k| i + k);
                let n = [&b"0"[..], b"65535", b"65536", b"2147483648", b"99999999999999999999"][rng.random_range(0..5)];
                data.splice(i..j, n.iter().copied());
            }
        }
    }
    data.truncate(message::MAX_MESSAGE_BYTES + 1024);
}

#[test]
fn seeded_mutations_never_panic() {
    let files = corpus();
    let runs: usize = std::env::var("DIALTICKET_MUTATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let seed: u64 = std::env::var("DIALTICKET_MUTATION_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(3261);
    let mut rng = StdRng::seed_from_u64(seed);
    for run in 0..runs {
        let (name, base) = &files[rng.random_range(0..files.len())];
        let other = &files[rng.random_range(0..files.len())].1;
        let mut data = base.clone();
        for _ in 0..rng.random_range(1..=8) {
            mutate(&mut rng, &mut data, other);
        }
        must_not_panic(&format!("mutation {run} of {name} (seed {seed})"), &data);
    }
}

#[tokio::test]
async fn a_live_server_survives_the_corpus_over_udp_and_tcp() {
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
    for (_, data) in corpus() {
        phone.send_bytes(&data[..data.len().min(65_000)]).await;
    }
    // Every corpus file on its own TCP connection (framing errors close it), then all on one.
    for (_, data) in corpus() {
        let mut s = tokio::net::TcpStream::connect(srv.tcp).await.unwrap();
        let _ = s.write_all(&data).await;
    }
    let mut s = tokio::net::TcpStream::connect(srv.tcp).await.unwrap();
    for (_, data) in corpus() {
        if s.write_all(&data).await.is_err() {
            break;
        }
    }
    drop(s);
    // Drain whatever answers came back, then the server must still work.
    while phone.try_recv_raw(Duration::from_millis(200)).await.is_some() {}
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(None, "")).await;
    let r = loop {
        let r = phone.response().await;
        if r.headers.get("Call-ID") == Some(call.call_id.as_str()) && r.code >= 200 {
            break r;
        }
    };
    assert_eq!(r.code, 200);
    srv.shutdown().await;
}
