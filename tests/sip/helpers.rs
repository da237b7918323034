//! Raw-SIP test helpers: the SIP endpoint alone on loopback (port 0) with a
//! fake call handler, and phones (UDP or TCP) that speak SIP as plain text, the
//! way a real peer would. Most tests start with [`spawn`]: a server and a phone.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use dialticket::dialplan::Dialplan;
use dialticket::media::{self, Audio, Prompt, Prompts};
use dialticket::sip::message::{self, Message, NameAddr, Request, Response};
use dialticket::sip::{serve, CallDecision, CallHandler, HandlerFuture, IncomingCall, Menu, SipConfig, Timers};

pub const PLAN: &str = r#"
[settings]
country_code = "44"

[[numbers]]
number = "+442079460100"
action = "purchase"

[[numbers]]
number = "+442079460101"
action = "issue"
answer = "missed-call"

[[numbers]]
number = "+442079460102"
action = "usage"
answer = "missed-call"
reject_code = 486

[[numbers]]
number = "+442079460103"
action = "purchase"
answer = "early-media"
reject_code = 480
"#;

pub const PURCHASE: &str = "+442079460100";
pub const MISSED_CALL: &str = "+442079460101";
pub const EARLY_MEDIA: &str = "+442079460103";
pub const CALLER: &str = "+442079460999";

/// Packets in the `short` test prompt (200 ms).
pub const SHORT_PACKETS: usize = 10;
/// Packets in the `menu` test prompt (100 ms).
pub const MENU_PACKETS: usize = 5;
/// Packets in the `part` test prompt (60 ms), an announcement's part.
pub const PART_PACKETS: usize = 3;

/// A handler that records every call and answers with a fixed decision after a delay.
pub struct FakeHandler {
    pub calls: Mutex<Vec<IncomingCall>>,
    decision: CallDecision,
    delay: Duration,
    menu: Option<Menu>,
    /// Menu keys handed to `on_digit`.
    pub digits: Mutex<Vec<char>>,
}

impl FakeHandler {
    pub fn new(decision: CallDecision, delay: Duration) -> Self {
        FakeHandler { calls: Mutex::new(Vec::new()), decision, delay, menu: None, digits: Mutex::new(Vec::new()) }
    }

    /// Offer "press 1" (prompt `menu`); pressing it plays `short`.
    pub fn with_menu(mut self) -> Self {
        self.menu = Some(Menu::new("menu", "1"));
        self
    }

    /// Offer "press 1 to hear it again, 2 for the handler" (prompt `menu`).
    pub fn with_repeat_menu(mut self) -> Self {
        self.menu = Some(Menu { repeat: Some('1'), ..Menu::new("menu", "2") });
        self
    }

    pub fn pressed(&self) -> Vec<char> {
        self.digits.lock().map(|d| d.clone()).unwrap_or_default()
    }

    pub fn announce(prompt: &str) -> Self {
        Self::new(CallDecision::announce(prompt), Duration::ZERO)
    }

    pub fn count(&self) -> usize {
        self.calls.lock().map(|c| c.len()).unwrap_or(0)
    }

    pub fn last(&self) -> Option<IncomingCall> {
        self.calls.lock().ok().and_then(|c| c.last().cloned())
    }
}

impl CallHandler for FakeHandler {
    fn handle(&self, call: IncomingCall) -> HandlerFuture<CallDecision> {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
        let (decision, delay) = (self.decision.clone(), self.delay);
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            decision
        })
    }

    fn menu(&self, _call: &IncomingCall, _decision: &CallDecision) -> Option<Menu> {
        self.menu.clone()
    }

    fn on_digit(&self, _call: IncomingCall, digit: char) -> HandlerFuture<Option<String>> {
        if let Ok(mut d) = self.digits.lock() {
            d.push(digit);
        }
        Box::pin(async { Some("short".to_string()) })
    }
}

pub struct TestServer {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub handler: Arc<FakeHandler>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
    _dialplan: watch::Sender<Arc<Dialplan>>,
}

pub fn test_prompts() -> Prompts {
    let mut prompts = Prompts::builtin();
    prompts.insert("en", Prompt::from_audio("short", Audio::Ulaw(vec![0x55; SHORT_PACKETS * 160])));
    prompts.insert("en", Prompt::from_audio("long", Audio::Ulaw(vec![0x55; 8000 * 5])));
    prompts.insert("en", Prompt::from_audio("menu", Audio::Ulaw(vec![0x33; MENU_PACKETS * 160])));
    prompts.insert("en", Prompt::from_audio("part", Audio::Ulaw(vec![0x44; PART_PACKETS * 160])));
    prompts
}

pub async fn start(handler: FakeHandler) -> TestServer {
    start_with(handler, PLAN).await
}

pub async fn start_with(handler: FakeHandler, plan: &str) -> TestServer {
    start_configured(handler, plan, |_| {}).await
}

pub async fn start_configured(handler: FakeHandler, plan: &str, customize: impl FnOnce(&mut SipConfig)) -> TestServer {
    let plan = match Dialplan::from_sources(&[(PathBuf::from("test.toml"), plan.to_string())]) {
        Ok(p) => p,
        Err(e) => panic!("test dialplan: {e}"),
    };
    let (dialplan_tx, dialplan_rx) = watch::channel(Arc::new(plan));
    let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind TCP");
    let (udp_addr, tcp_addr) = (udp.local_addr().expect("udp addr"), tcp.local_addr().expect("tcp addr"));
    let mut config = SipConfig::new(dialplan_rx, Arc::new(test_prompts()), "127.0.0.1".parse().expect("ip"));
    config.timers = Timers::default();
    config.shutdown_grace = Duration::from_secs(1);
    customize(&mut config);
    let handler = Arc::new(handler);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(udp, tcp, config, handler.clone(), async move {
        let _ = stopped.await;
    }));
    TestServer { udp: udp_addr, tcp: tcp_addr, handler, stop: Some(stop), task, _dialplan: dialplan_tx }
}

/// A server with `handler` and the test dialplan, and a UDP phone to call it from.
pub async fn spawn(handler: FakeHandler) -> (TestServer, Phone) {
    let srv = start(handler).await;
    let phone = Phone::new(srv.udp).await;
    (srv, phone)
}

impl TestServer {
    /// Stop the server and check `serve` returned cleanly.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let r = tokio::time::timeout(Duration::from_secs(30), &mut self.task).await;
        assert!(matches!(r, Ok(Ok(Ok(())))), "serve did not shut down cleanly: {r:?}");
    }
}

/// One call's identifiers, and the text of the requests a phone sends in it.
pub struct Call {
    pub call_id: String,
    pub from_tag: String,
    pub branch: String,
    pub to_user: String,
    pub from_user: String,
    /// The phone's SIP address (for Via and Contact).
    pub local: SocketAddr,
    pub server: SocketAddr,
    pub transport: &'static str,
}

impl Call {
    pub fn new(local: SocketAddr, server: SocketAddr, transport: &'static str, to_user: &str, from_user: &str) -> Call {
        Call {
            call_id: format!("{}@test", message::new_tag()),
            from_tag: message::new_tag(),
            branch: message::new_branch(),
            to_user: to_user.into(),
            from_user: from_user.into(),
            local,
            server,
            transport,
        }
    }

    fn via(&self, branch: &str) -> String {
        format!("SIP/2.0/{} {};branch={branch};rport", self.transport, self.local)
    }

    fn from(&self) -> String {
        format!("\"Test Phone\" <sip:{}@{}>;tag={}", self.from_user, self.local, self.from_tag)
    }

    fn request_uri(&self) -> String {
        format!("sip:{}@{}", self.to_user, self.server)
    }

    pub fn invite(&self, sdp: Option<&str>, extra_headers: &str) -> String {
        self.invite_with(sdp.map(|b| ("application/sdp", b)), extra_headers)
    }

    /// An INVITE with any body: `(Content-Type, body)`.
    pub fn invite_with(&self, body: Option<(&str, &str)>, extra_headers: &str) -> String {
        let (ct, body) = match body {
            Some((ct, b)) => (format!("Content-Type: {ct}\r\n"), b),
            None => (String::new(), ""),
        };
        format!(
            "INVITE {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: <sip:{}@{}>\r\nCall-ID: {}\r\nCSeq: 1 INVITE\r\nContact: <sip:{}@{}>\r\n{extra_headers}{ct}Content-Length: {}\r\n\r\n{body}",
            self.request_uri(),
            self.via(&self.branch),
            self.from(),
            self.to_user,
            self.server,
            self.call_id,
            self.from_user,
            self.local,
            body.len()
        )
    }

    /// ACK for `resp`: same branch for a non-2xx (§17.1.1.3), a new one for a 2xx (§13.2.2.4).
    pub fn ack(&self, resp: &Response, sdp: Option<&str>) -> String {
        let branch = if resp.code < 300 { message::new_branch() } else { self.branch.clone() };
        let body = sdp.unwrap_or_default();
        let ct = if sdp.is_some() { "Content-Type: application/sdp\r\n" } else { "" };
        format!(
            "ACK {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 ACK\r\n{ct}Content-Length: {}\r\n\r\n{body}",
            self.request_uri(),
            self.via(&branch),
            self.from(),
            resp.headers.get("To").unwrap_or_default(),
            self.call_id,
            body.len()
        )
    }

    pub fn cancel(&self) -> String {
        format!(
            "CANCEL {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: <sip:{}@{}>\r\nCall-ID: {}\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n",
            self.request_uri(),
            self.via(&self.branch),
            self.from(),
            self.to_user,
            self.server,
            self.call_id
        )
    }

    /// A request inside the dialog (re-INVITE, INFO, ACK for a re-INVITE's 2xx).
    pub fn in_dialog(&self, method: &str, to_tag: &str, cseq: u32, branch: &str, body: Option<(&str, &str)>) -> String {
        let (ct, body) = match body {
            Some((ct, b)) => (format!("Content-Type: {ct}\r\n"), b),
            None => (String::new(), ""),
        };
        format!(
            "{method} {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: <sip:{}@{}>;tag={to_tag}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{}@{}>\r\n{ct}Content-Length: {}\r\n\r\n{body}",
            self.request_uri(),
            self.via(branch),
            self.from(),
            self.to_user,
            self.server,
            self.call_id,
            self.from_user,
            self.local,
            body.len()
        )
    }

    pub fn bye(&self, to_tag: &str) -> String {
        format!(
            "BYE {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: <sip:{}@{}>;tag={to_tag}\r\nCall-ID: {}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
            self.request_uri(),
            self.via(&message::new_branch()),
            self.from(),
            self.to_user,
            self.server,
            self.call_id
        )
    }
}

/// Our 200 OK to a request the server sent us (its BYE).
pub fn ok_for(req: &Request) -> String {
    String::from_utf8_lossy(&message::response_for(&req.headers, 200, "OK", None).to_bytes()).into_owned()
}

pub fn sdp_offer(rtp: SocketAddr, payload_types: &str) -> String {
    sdp_offer_dir(rtp, payload_types, "sendrecv", 1)
}

/// An offer with a direction attribute (hold: `sendonly`/`inactive`) and an `o=` version.
pub fn sdp_offer_dir(rtp: SocketAddr, payload_types: &str, direction: &str, version: u32) -> String {
    format!(
        "v=0\r\no=phone 1 {version} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {payload_types}\r\na=rtpmap:101 telephone-event/8000\r\na={direction}\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    )
}

/// RFC 4733 packets for one key press, as a phone sends them: three updates with a
/// growing duration, then the end packet three times (§2.5.1.4), one timestamp.
pub fn dtmf_packets(digit: char, ssrc: u32, first_seq: u16, timestamp: u32) -> Vec<Vec<u8>> {
    let event = media::dtmf_event(digit).expect("a DTMF digit");
    let mut out = Vec::new();
    for (i, (end, duration)) in
        [(false, 160u16), (false, 320), (false, 480), (true, 640), (true, 640), (true, 640)].into_iter().enumerate()
    {
        let payload = media::TelephoneEvent { event, end, volume: 10, duration }.to_bytes();
        let packet = rtp_rs::RtpPacketBuilder::new()
            .payload_type(101)
            .ssrc(ssrc)
            .sequence(rtp_rs::Seq::from(first_seq.wrapping_add(i as u16)))
            .timestamp(timestamp)
            .marked(i == 0)
            .payload(&payload)
            .build()
            .expect("RTP packet");
        out.push(packet);
    }
    out
}

fn parse(bytes: &[u8]) -> Message {
    match message::parse_datagram(bytes) {
        Ok(m) => m,
        Err(e) => panic!("server sent an unparsable message ({e}): {}", String::from_utf8_lossy(bytes)),
    }
}

pub fn expect_response(m: Message) -> Response {
    match m {
        Message::Response(r) => r,
        Message::Request(r) => panic!("expected a response, got {} {}", r.method, r.uri),
    }
}

pub fn expect_request(m: Message) -> Request {
    match m {
        Message::Request(r) => r,
        Message::Response(r) => panic!("expected a request, got {} {}", r.code, r.reason),
    }
}

/// How long a phone waits for the server (virtual time under `pause()`).
pub const WAIT: Duration = Duration::from_secs(5);
/// Longer than any retransmission interval (T2 = 4 s): under paused time, a phone
/// that hears nothing for this long will hear nothing more.
pub const QUIET: Duration = Duration::from_secs(10);

/// A UDP phone.
pub struct Phone {
    pub sock: UdpSocket,
    pub addr: SocketAddr,
    pub server: SocketAddr,
}

impl Phone {
    pub async fn new(server: SocketAddr) -> Phone {
        let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind phone");
        let addr = sock.local_addr().expect("phone addr");
        Phone { sock, addr, server }
    }

    pub fn call(&self, to_user: &str, from_user: &str) -> Call {
        Call::new(self.addr, self.server, "UDP", to_user, from_user)
    }

    pub async fn send(&self, text: &str) {
        self.sock.send_to(text.as_bytes(), self.server).await.expect("phone send");
    }

    pub async fn send_bytes(&self, bytes: &[u8]) {
        self.sock.send_to(bytes, self.server).await.expect("phone send");
    }

    /// The next message, or `None` after `wait`.
    pub async fn try_recv(&self, wait: Duration) -> Option<Message> {
        let mut buf = vec![0u8; 65536];
        match tokio::time::timeout(wait, self.sock.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => Some(parse(&buf[..n])),
            _ => None,
        }
    }

    /// The next datagram, unparsed, or `None` after `wait`.
    pub async fn try_recv_raw(&self, wait: Duration) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 65536];
        match tokio::time::timeout(wait, self.sock.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
            _ => None,
        }
    }

    /// The next datagram as text (for responses our own parser would refuse).
    pub async fn recv_text(&self) -> String {
        let mut buf = vec![0u8; 65536];
        match tokio::time::timeout(WAIT, self.sock.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => String::from_utf8_lossy(&buf[..n]).into_owned(),
            other => panic!("no message from the server: {other:?}"),
        }
    }

    pub async fn recv(&self) -> Message {
        self.try_recv(WAIT).await.expect("no message from the server")
    }

    /// Under paused time (`start_paused`): nothing arrives for [`QUIET`], so nothing
    /// the server had scheduled (a retransmission at T1…T2) is still to come.
    pub async fn assert_quiet(&self, why: &str) {
        if let Some(m) = self.try_recv(QUIET).await {
            panic!("{why}: got {m:?}");
        }
    }

    pub async fn response(&self) -> Response {
        expect_response(self.recv().await)
    }

    /// Skip provisional responses until a final one.
    pub async fn final_response(&self) -> Response {
        loop {
            let r = self.response().await;
            if r.code >= 200 {
                return r;
            }
        }
    }

    pub async fn request(&self) -> Request {
        expect_request(self.recv().await)
    }
}

/// A TCP phone: one connection, messages framed by Content-Length.
pub struct TcpPhone {
    stream: TcpStream,
    buf: BytesMut,
    pub addr: SocketAddr,
    pub server: SocketAddr,
}

impl TcpPhone {
    pub async fn connect(server: SocketAddr) -> TcpPhone {
        let stream = TcpStream::connect(server).await.expect("connect");
        let addr = stream.local_addr().expect("tcp addr");
        TcpPhone { stream, buf: BytesMut::new(), addr, server }
    }

    pub fn call(&self, to_user: &str, from_user: &str) -> Call {
        Call::new(self.addr, self.server, "TCP", to_user, from_user)
    }

    pub async fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).await.expect("tcp send");
    }

    pub async fn recv(&mut self) -> Message {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(end) = message::find_head_end(&self.buf) {
                let head = message::parse_head(&self.buf[..end]).expect("head");
                let len = head.content_length().ok().flatten().expect("server sent no Content-Length over TCP");
                if self.buf.len() >= end + len {
                    let msg = self.buf.split_to(end + len);
                    return parse(&msg);
                }
            }
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                other => panic!("TCP phone: nothing more from the server: {other:?}"),
            }
        }
    }
}

/// Read exactly `n` RTP packets from `sock` (each within 5 s); (source, packet) pairs.
pub async fn recv_rtp(sock: &UdpSocket, n: usize) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut out = Vec::with_capacity(n);
    let mut buf = [0u8; 2048];
    while out.len() < n {
        match tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf)).await {
            Ok(Ok((len, from))) => out.push((from, buf[..len].to_vec())),
            other => panic!("RTP packet {} of {n} did not come: {other:?}", out.len() + 1),
        }
    }
    out
}

/// Read RTP packets from `sock` until `wait` passes without one; returns (source, packet) pairs.
pub async fn collect_rtp(sock: &UdpSocket, wait: Duration) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(Ok((n, from))) = tokio::time::timeout(wait, sock.recv_from(&mut buf)).await {
        out.push((from, buf[..n].to_vec()));
    }
    out
}

/// The To tag of a response ("" without one).
pub fn to_tag(r: &Response) -> String {
    r.headers
        .get("To")
        .and_then(|t| NameAddr::parse(t).ok())
        .and_then(|n| n.tag().map(str::to_string))
        .unwrap_or_default()
}

/// A socket to receive the gateway's RTP on.
pub async fn rtp_socket() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind RTP");
    let a = s.local_addr().expect("RTP addr");
    (s, a)
}

/// Where the gateway wants our RTP, from its SDP.
pub fn rtp_target(resp: &Response) -> SocketAddr {
    let sd = media::parse_sdp(&resp.body).expect("SDP");
    SocketAddr::new(sd.media[0].connection.or(sd.connection).expect("c="), sd.media[0].port)
}

/// Place a call with an offer (PCMU and telephone-event) and ACK its 200.
pub async fn answered(phone: &Phone, call: &Call, rtp_addr: SocketAddr) -> Response {
    phone.send(&call.invite(Some(&sdp_offer(rtp_addr, "0 101")), "")).await;
    let ok = phone.final_response().await;
    assert_eq!(ok.code, 200);
    phone.send(&call.ack(&ok, None)).await;
    ok
}

/// The BYE that ends the call (skipping any retransmitted responses), answered.
pub async fn await_bye(phone: &Phone, wait: Duration) -> Request {
    loop {
        match phone.try_recv(wait).await.expect("a BYE from the gateway") {
            Message::Request(r) if r.method == message::Method::Bye => {
                phone.send(&ok_for(&r)).await;
                return r;
            }
            _ => {}
        }
    }
}

/// A request outside any call: `extra` goes right after the To header (e.g. `;tag=x`).
pub fn simple(method: &str, phone: &Phone, extra: &str) -> String {
    format!(
        "{method} sip:{PURCHASE}@{} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={}\r\nFrom: <sip:{CALLER}@{}>;tag=a\r\nTo: <sip:{PURCHASE}@{}>{extra}\r\nCall-ID: {}@x\r\nCSeq: 7 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        phone.server,
        phone.addr,
        message::new_branch(),
        phone.addr,
        phone.server,
        message::new_tag()
    )
}
