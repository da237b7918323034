//! The SIP UAC against tiny fake gateways (UAS) written right here.
//!
//! Timers (A, B, E) are checked under `tokio::time::pause()`: in virtual time
//! a retransmission is due at exactly T1, whatever the machine is busy with.

use std::net::SocketAddr;
use std::time::Duration;

use dialticket_sim::sip::{place_call, CallOptions, Transport};
use dialticket_sim::SimError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::{timeout, Instant};

const WAIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------
// Helpers for the fake UAS: plain string handling, independent of the code under test.

fn first_line(msg: &str) -> &str {
    msg.split("\r\n").next().unwrap()
}

fn headers<'a>(msg: &'a str, name: &str) -> Vec<&'a str> {
    let head = msg.split("\r\n\r\n").next().unwrap();
    head.split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

fn header<'a>(msg: &'a str, name: &str) -> &'a str {
    headers(msg, name).first().copied().unwrap_or_else(|| panic!("no {name} in\n{msg}"))
}

fn body(msg: &str) -> &str {
    msg.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("")
}

fn branch(msg: &str) -> String {
    let via = header(msg, "Via");
    via.split(';').find_map(|p| p.strip_prefix("branch=")).unwrap().to_string()
}

fn offered_rtp_port(sdp: &str) -> u16 {
    sdp.lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap()
}

/// A response to `req` copying Via/From/Call-ID/CSeq, with `tag` on To.
fn response(req: &str, status: &str, tag: &str, extra: &str, body: &str) -> String {
    let mut m = format!("SIP/2.0 {status}\r\n");
    for v in headers(req, "Via") {
        m += &format!("Via: {v}\r\n");
    }
    m += &format!("From: {}\r\n", header(req, "From"));
    let to = header(req, "To");
    if to.contains("tag=") {
        m += &format!("To: {to}\r\n");
    } else {
        m += &format!("To: {to};tag={tag}\r\n");
    }
    m += &format!("Call-ID: {}\r\n", header(req, "Call-ID"));
    m += &format!("CSeq: {}\r\n", header(req, "CSeq"));
    m += extra;
    if body.is_empty() {
        m += "Content-Length: 0\r\n\r\n";
    } else {
        m += &format!("Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    }
    m
}

fn gateway_sdp(port: u16) -> String {
    format!(
        "v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n"
    )
}

/// A BYE (or other request) from the gateway inside the dialog of `invite`.
fn gateway_request(method: &str, invite: &str, tag: &str, cseq: u32, uas: SocketAddr) -> String {
    let contact = header(invite, "Contact");
    let target = contact.trim_start_matches('<').trim_end_matches('>');
    format!(
        "{method} {target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {uas};branch=z9hG4bKgw{cseq}{method}\r\n\
         Max-Forwards: 70\r\n\
         From: {};tag={tag}\r\n\
         To: {}\r\n\
         Call-ID: {}\r\n\
         CSeq: {cseq} {method}\r\n\
         Content-Length: 0\r\n\r\n",
        header(invite, "To"),
        header(invite, "From"),
        header(invite, "Call-ID"),
    )
}

async fn recv(sock: &UdpSocket) -> (String, SocketAddr) {
    let mut buf = vec![0u8; 65536];
    let (n, from) = timeout(WAIT, sock.recv_from(&mut buf)).await.expect("fake UAS waited too long").unwrap();
    (String::from_utf8(buf[..n].to_vec()).unwrap(), from)
}

async fn send(sock: &UdpSocket, msg: &str, to: SocketAddr) {
    sock.send_to(msg.as_bytes(), to).await.unwrap();
}

fn rtp_packet(seq: u16) -> Vec<u8> {
    rtp_rs::RtpPacketBuilder::new()
        .payload_type(0)
        .ssrc(0x1234_5678)
        .sequence(rtp_rs::Seq::from(seq))
        .timestamp(u32::from(seq) * 160)
        .marked(seq == 0)
        .payload(&[0xffu8; 160])
        .build()
        .unwrap()
}

async fn uas_socket() -> (UdpSocket, SocketAddr) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    (sock, addr)
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn answered_call_receives_announcement_and_gateway_hangs_up() {
    let (sock, uas) = uas_socket().await;
    let gw = tokio::spawn(async move {
        let (invite, ua) = recv(&sock).await;
        assert!(first_line(&invite).starts_with("INVITE "));
        let contact = format!("Contact: <sip:gw@{uas}>\r\nServer: fake-gw\r\n");
        send(&sock, &response(&invite, "100 Trying", "", "", ""), ua).await;
        send(&sock, &response(&invite, "180 Ringing", "gw1", &contact, ""), ua).await;
        let ok = response(&invite, "200 OK", "gw1", &contact, &gateway_sdp(40000));
        send(&sock, &ok, ua).await;

        let (ack, _) = recv(&sock).await;
        assert_eq!(first_line(&ack), format!("ACK sip:gw@{uas} SIP/2.0"));
        assert_eq!(header(&ack, "CSeq"), "1 ACK");
        assert!(header(&ack, "To").ends_with(";tag=gw1"));
        assert_eq!(header(&ack, "Call-ID"), header(&invite, "Call-ID"));
        assert_ne!(branch(&ack), branch(&invite), "2xx ACK is a new transaction");

        // The announcement: 10 PCMU packets, plus an RTCP packet and junk that must not count.
        let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let dest: SocketAddr = format!("127.0.0.1:{}", offered_rtp_port(body(&invite))).parse().unwrap();
        for seq in 0..10 {
            rtp.send_to(&rtp_packet(seq), dest).await.unwrap();
        }
        rtp.send_to(&[0x80, 200, 0, 6, 0, 0, 0, 1], dest).await.unwrap();
        rtp.send_to(b"not rtp", dest).await.unwrap();

        let bye = gateway_request("BYE", &invite, "gw1", 1, uas);
        send(&sock, &bye, ua).await;
        let (resp, _) = recv(&sock).await;
        assert_eq!(first_line(&resp), "SIP/2.0 200 OK");
        assert_eq!(header(&resp, "CSeq"), "1 BYE");
        assert_eq!(header(&resp, "Call-ID"), header(&invite, "Call-ID"));
        assert!(header(&resp, "Via").contains("branch=z9hG4bKgw1BYE"));
        invite
    });

    let mut opts = CallOptions::new(uas, "+819012345678", "+442079460100");
    opts.pai = Some("+819012345678".into());
    opts.extra_headers.push(("X-Sim-Scenario".into(), "announce".into()));
    opts.timeout = Duration::from_secs(5);
    let report = place_call(opts).await.unwrap();
    let invite = gw.await.unwrap();

    // What the gateway saw.
    assert_eq!(first_line(&invite), format!("INVITE sip:+442079460100@{uas} SIP/2.0"));
    let via = header(&invite, "Via");
    assert!(via.starts_with("SIP/2.0/UDP 127.0.0.1:"), "{via}");
    assert!(via.contains(";branch=z9hG4bK") && via.contains(";rport"), "{via}");
    assert_eq!(header(&invite, "Max-Forwards"), "70");
    let from = header(&invite, "From");
    assert!(from.starts_with("<sip:+819012345678@127.0.0.1>;tag="), "{from}");
    assert_eq!(header(&invite, "To"), format!("<sip:+442079460100@{uas}>"));
    assert_eq!(header(&invite, "CSeq"), "1 INVITE");
    assert_eq!(header(&invite, "Call-ID"), report.call_id);
    assert!(header(&invite, "Contact").starts_with("<sip:+819012345678@127.0.0.1:"));
    assert_eq!(header(&invite, "P-Asserted-Identity"), "<sip:+819012345678@127.0.0.1;user=phone>");
    assert_eq!(header(&invite, "X-Sim-Scenario"), "announce");
    assert!(headers(&invite, "Privacy").is_empty());
    assert_eq!(header(&invite, "Content-Type"), "application/sdp");
    let sdp = body(&invite);
    assert_eq!(header(&invite, "Content-Length"), sdp.len().to_string());
    for line in [
        "c=IN IP4 127.0.0.1",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=sendrecv",
    ] {
        assert!(sdp.lines().any(|l| l == line), "missing {line} in\n{sdp}");
    }
    assert!(sdp.contains(" RTP/AVP 0 8 101\r\n"));

    // What the softphone reports.
    assert_eq!(report.provisional, vec![100, 180]);
    assert_eq!(report.final_status, 200);
    assert_eq!(report.final_reason, "OK");
    assert!(report.answered);
    assert_eq!(report.rtp_packets, 10);
    assert_eq!(report.rtp_payload_types, vec![0]);
    assert_eq!(report.rtp_bytes, 1600);
    assert!(report.bye_from_gateway);
    assert!(report.answer_sdp.as_deref().unwrap().contains("m=audio 40000 RTP/AVP 0"));
    assert!(report.response_headers.contains(&("Server".to_string(), "fake-gw".to_string())));
    assert!(report.setup_time <= report.duration);
    assert!(report.duration < Duration::from_secs(2));
}

#[tokio::test]
async fn rejected_call_is_acked_in_the_invite_transaction() {
    let (sock, uas) = uas_socket().await;
    let gw = tokio::spawn(async move {
        let (invite, ua) = recv(&sock).await;
        send(&sock, &response(&invite, "100 Trying", "", "", ""), ua).await;
        // While "ringing": an out-of-dialog OPTIONS ping gets 200, a foreign INVITE 486.
        let call_id = header(&invite, "Call-ID");
        for (method, expected) in [("OPTIONS", "SIP/2.0 200 OK"), ("INVITE", "SIP/2.0 486 Busy Here")] {
            let req = gateway_request(method, &invite, "zz", 1, uas).replace(call_id, "other@gw");
            send(&sock, &req, ua).await;
            let (resp, _) = recv(&sock).await;
            assert_eq!(first_line(&resp), expected);
            assert_eq!(header(&resp, "Call-ID"), "other@gw");
            assert_eq!(header(&resp, "CSeq"), format!("1 {method}"));
        }
        let reject = response(&invite, "603 Decline", "rej9", "Reason: Q.850;cause=21\r\n", "");
        send(&sock, &reject, ua).await;
        let (ack, _) = recv(&sock).await;
        assert_eq!(first_line(&ack), first_line(&invite).replace("INVITE", "ACK"));
        assert_eq!(header(&ack, "CSeq"), "1 ACK");
        assert_eq!(branch(&ack), branch(&invite), "non-2xx ACK reuses the INVITE branch");
        assert_eq!(header(&ack, "From"), header(&invite, "From"));
        assert!(header(&ack, "To").ends_with(";tag=rej9"));
        assert_eq!(header(&ack, "Call-ID"), header(&invite, "Call-ID"));
    });
    let mut opts = CallOptions::new(uas, "+819012345678", "442079460100");
    opts.timeout = Duration::from_secs(5);
    let report = place_call(opts).await.unwrap();
    gw.await.unwrap();
    assert_eq!(report.provisional, vec![100]);
    assert_eq!(report.final_status, 603);
    assert_eq!(report.final_reason, "Decline");
    assert!(!report.answered);
    assert!(!report.bye_from_gateway);
    assert_eq!(report.rtp_packets, 0);
    assert_eq!(report.answer_sdp, None);
    assert!(report.response_headers.contains(&("Reason".to_string(), "Q.850;cause=21".to_string())));
}

#[tokio::test]
async fn anonymous_call_withholds_caller_id() {
    let (sock, uas) = uas_socket().await;
    let gw = tokio::spawn(async move {
        let (invite, ua) = recv(&sock).await;
        send(&sock, &response(&invite, "433 Anonymity Disallowed", "a1", "", ""), ua).await;
        let (ack, _) = recv(&sock).await;
        assert!(first_line(&ack).starts_with("ACK "));
        invite
    });
    let mut opts = CallOptions::new(uas, "+819012345678", "+442079460100");
    opts.anonymous = true;
    let report = place_call(opts).await.unwrap();
    let invite = gw.await.unwrap();
    let from = header(&invite, "From");
    assert!(from.starts_with("\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag="), "{from}");
    assert_eq!(header(&invite, "Privacy"), "id");
    assert!(!invite.contains("819012345678"), "number leaked:\n{invite}");
    assert_eq!(report.final_status, 433);
    assert_eq!(report.final_reason, "Anonymity Disallowed");
    assert!(report.provisional.is_empty());
}

#[tokio::test(start_paused = true)]
async fn invite_is_retransmitted_per_timer_a() {
    let (sock, uas) = uas_socket().await;
    let gw = tokio::spawn(async move {
        let (first, _) = recv(&sock).await;
        let t0 = Instant::now();
        let (second, ua) = recv(&sock).await; // the first one is "lost"
        let gap = t0.elapsed();
        assert_eq!(first, second, "retransmission must be identical");
        send(&sock, &response(&second, "486 Busy Here", "b1", "", ""), ua).await;
        let (ack, _) = recv(&sock).await;
        assert_eq!(header(&ack, "CSeq"), "1 ACK");
        gap
    });
    let report = place_call(CallOptions::new(uas, "+819012345678", "+442079460100")).await.unwrap();
    let gap = gw.await.unwrap();
    assert_eq!(gap, Duration::from_millis(500), "Timer A fires at T1");
    assert_eq!(report.final_status, 486);
    assert_eq!(report.final_reason, "Busy Here");
    assert_eq!(report.setup_time, Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn softphone_hangs_up_after_hangup_after_and_retransmits_bye() {
    let (sock, uas) = uas_socket().await;
    let gw = tokio::spawn(async move {
        let (invite, ua) = recv(&sock).await;
        let extra = format!("Contact: <sip:gw@{uas};transport=udp>\r\nRecord-Route: <sip:proxy@127.0.0.1:9;lr>\r\n");
        let ok = response(&invite, "200 OK", "gw2", &extra, &gateway_sdp(40002));
        send(&sock, &ok, ua).await;
        let (ack1, _) = recv(&sock).await;
        assert!(first_line(&ack1).starts_with("ACK "));
        // A retransmitted 2xx must be ACKed again.
        send(&sock, &ok, ua).await;
        let (ack2, _) = recv(&sock).await;
        assert_eq!(first_line(&ack2), first_line(&ack1));
        assert_eq!(header(&ack2, "CSeq"), "1 ACK");
        // In-dialog OPTIONS is answered with 200.
        let options = gateway_request("OPTIONS", &invite, "gw2", 7, uas);
        send(&sock, &options, ua).await;
        let (resp, _) = recv(&sock).await;
        assert_eq!(first_line(&resp), "SIP/2.0 200 OK");
        assert_eq!(header(&resp, "CSeq"), "7 OPTIONS");

        let (bye1, _) = recv(&sock).await;
        let t0 = Instant::now();
        let (bye2, ua) = recv(&sock).await; // first BYE "lost"
        let gap = t0.elapsed();
        assert_eq!(bye1, bye2);
        assert_eq!(first_line(&bye2), format!("BYE sip:gw@{uas};transport=udp SIP/2.0"));
        assert_eq!(header(&bye2, "CSeq"), "2 BYE");
        assert_eq!(header(&bye2, "Route"), "<sip:proxy@127.0.0.1:9;lr>");
        assert!(header(&bye2, "To").ends_with(";tag=gw2"));
        assert_eq!(header(&bye2, "From"), header(&invite, "From"));
        send(&sock, &response(&bye2, "200 OK", "gw2", "", ""), ua).await;
        gap
    });
    let mut opts = CallOptions::new(uas, "+819012345678", "+442079460100");
    opts.hangup_after = Some(Duration::from_millis(200));
    opts.timeout = Duration::from_secs(5);
    let started = Instant::now();
    let report = place_call(opts).await.unwrap();
    let gap = gw.await.unwrap();
    assert_eq!(gap, Duration::from_millis(500), "Timer E fires at T1");
    assert!(report.answered);
    assert!(!report.bye_from_gateway);
    // hangup_after (200 ms), then the BYE answered at its first retransmission (500 ms).
    assert_eq!(started.elapsed(), Duration::from_millis(700));
}

/// Reads one Content-Length framed SIP message from a TCP stream.
async fn read_framed(stream: &mut TcpStream, buf: &mut Vec<u8>) -> String {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end].to_vec()).unwrap();
            let len: usize =
                headers(&format!("{head}\r\n\r\n"), "Content-Length").first().map(|v| v.parse().unwrap()).unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let msg: Vec<u8> = buf.drain(..end + 4 + len).collect();
                return String::from_utf8(msg).unwrap();
            }
        }
        let mut chunk = [0u8; 4096];
        let n = timeout(WAIT, stream.read(&mut chunk)).await.unwrap().unwrap();
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn tcp_call_without_offer_answers_in_ack() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uas = listener.local_addr().unwrap();
    let gw = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let invite = read_framed(&mut stream, &mut buf).await;
        assert!(header(&invite, "Via").starts_with("SIP/2.0/TCP 127.0.0.1:"));
        assert!(header(&invite, "Contact").ends_with(";transport=tcp>"));
        assert_eq!(header(&invite, "Content-Length"), "0");
        // Two responses in one segment, then the 200 split across two writes.
        let contact = format!("Contact: <sip:gw@{uas};transport=tcp>\r\n");
        let both = response(&invite, "100 Trying", "", "", "")
            + &response(&invite, "183 Session Progress", "t1", &contact, "");
        stream.write_all(both.as_bytes()).await.unwrap();
        let ok = response(&invite, "200 OK", "t1", &contact, &gateway_sdp(40004));
        let (a, b) = ok.split_at(ok.len() - 20);
        stream.write_all(a.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        stream.write_all(b.as_bytes()).await.unwrap();
        let ack = read_framed(&mut stream, &mut buf).await;
        assert!(first_line(&ack).starts_with("ACK sip:gw@"));
        assert!(body(&ack).contains("m=audio "), "answer in ACK:\n{ack}");
        let bye = gateway_request("BYE", &invite, "t1", 1, uas).replace("/UDP", "/TCP");
        stream.write_all(bye.as_bytes()).await.unwrap();
        let resp = read_framed(&mut stream, &mut buf).await;
        assert_eq!(first_line(&resp), "SIP/2.0 200 OK");
        assert_eq!(header(&resp, "CSeq"), "1 BYE");
    });
    let mut opts = CallOptions::new(uas, "+819012345678", "+442079460100");
    opts.transport = Transport::Tcp;
    opts.offer_sdp = false;
    opts.timeout = Duration::from_secs(5);
    let report = place_call(opts).await.unwrap();
    gw.await.unwrap();
    assert_eq!(report.provisional, vec![100, 183]);
    assert_eq!(report.final_status, 200);
    assert!(report.answered);
    assert!(report.bye_from_gateway);
}

#[tokio::test(start_paused = true)]
async fn silent_gateway_times_out() {
    let (sock, uas) = uas_socket().await;
    let gw = tokio::spawn(async move {
        let mut n = 0;
        let mut buf = [0u8; 65536];
        while let Ok(Ok(_)) = timeout(Duration::from_millis(1500), sock.recv_from(&mut buf)).await {
            n += 1;
        }
        n
    });
    let mut opts = CallOptions::new(uas, "+819012345678", "+442079460100");
    opts.timeout = Duration::from_millis(1200);
    let started = Instant::now();
    let err = place_call(opts).await.unwrap_err();
    assert!(matches!(err, SimError::Timeout(_)), "{err}");
    assert_eq!(started.elapsed(), Duration::from_millis(1200), "the call's own timeout, before Timer B");
    assert_eq!(gw.await.unwrap(), 2, "INVITE at 0 s and 0.5 s (next would be 1.5 s)");
}

#[tokio::test]
async fn malformed_response_is_an_error() {
    let (sock, uas) = uas_socket().await;
    let gw = tokio::spawn(async move {
        let (_invite, ua) = recv(&sock).await;
        send(&sock, "\r\n\r\n", ua).await; // keep-alive: ignored
        send(&sock, "hello there", ua).await; // not SIP: ignored
        send(&sock, "SIP/2.0 2OO OK\r\nCall-ID: x\r\n\r\n", ua).await;
    });
    let mut opts = CallOptions::new(uas, "+819012345678", "+442079460100");
    opts.timeout = Duration::from_secs(3);
    let err = place_call(opts).await.unwrap_err();
    gw.await.unwrap();
    assert!(matches!(err, SimError::Sip(_)), "{err}");
}

#[tokio::test]
async fn concurrent_calls_use_separate_sockets() {
    let (sock, uas) = uas_socket().await;
    let gw = tokio::spawn(async move {
        let mut sources = Vec::new();
        for _ in 0..3 {
            let (invite, ua) = recv(&sock).await;
            sources.push(ua);
            assert!(header(&invite, "From").starts_with("<sip:+8190000000"));
            send(&sock, &response(&invite, "486 Busy Here", "c", "", ""), ua).await;
        }
        // The three ACKs.
        for _ in 0..3 {
            let (ack, _) = recv(&sock).await;
            assert!(first_line(&ack).starts_with("ACK "));
        }
        sources
    });
    let calls = (0..3).map(|i| {
        let mut opts = CallOptions::new(uas, format!("+8190000000{i}"), "+442079460100");
        opts.timeout = Duration::from_secs(5);
        place_call(opts)
    });
    let mut reports = Vec::new();
    for h in calls.map(tokio::spawn).collect::<Vec<_>>() {
        reports.push(h.await.unwrap().unwrap());
    }
    let mut sources = gw.await.unwrap();
    sources.sort();
    sources.dedup();
    assert_eq!(sources.len(), 3, "each call has its own SIP socket");
    let mut ids: Vec<_> = reports.iter().map(|r| r.call_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert!(reports.iter().all(|r| r.final_status == 486));
}
