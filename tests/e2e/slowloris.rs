//! TCP slowloris (Hardening item 8): idle connections from a few addresses must
//! not take the connection table from other callers, and a connection that never
//! completes a SIP message is closed. (Memory per idle connection is measured by
//! `scripts/bench-slowloris.sh`, not asserted here.)

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use dialticket_sim::sip::{place_call, CallOptions, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::*;

/// The outside test's shape: 17 addresses × 256 idle connections.
const ADDRESSES: u8 = 17;
const PER_ADDRESS: usize = 256;
/// What one address may hold (`sip::TcpLimits::default().per_source`).
const PER_SOURCE: usize = 64;
/// How long a test waits for the gateway to reach a state before failing.
const WAIT: Duration = Duration::from_secs(60);

/// Raise the soft limit on open files towards `want` (the test process holds both
/// ends of every connection); returns the limit now in force.
fn raise_fd_limit(want: u64) -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    lim.rlim_cur
}

async fn connect_from(ip: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(ip, 0)).expect("bind a loopback address");
    socket.connect(to).await.expect("connect")
}

/// Resolves when the gateway has closed `stream` (EOF or reset).
async fn closed_by_gateway(mut stream: TcpStream) {
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn options(to: SocketAddr, from: SocketAddr, n: u32) -> String {
    format!(
        "OPTIONS sip:{PURCHASE}@{to} SIP/2.0\r\nVia: SIP/2.0/TCP {from};branch=z9hG4bK-slow-{n}-{}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:+819000000000@{ip}>;tag=s{n}\r\nTo: <sip:{PURCHASE}@{to}>\r\n\
         Call-ID: slow-{n}-{}@{ip}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n",
        from.port(),
        from.port(),
        ip = from.ip()
    )
}

/// Send an OPTIONS on `stream` and read until its 200 comes back.
async fn options_answered(stream: &mut TcpStream, to: SocketAddr, n: u32) -> bool {
    let me = stream.local_addr().unwrap();
    if stream.write_all(options(to, me, n).as_bytes()).await.is_err() {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(k) => got.extend_from_slice(&buf[..k]),
            }
            if String::from_utf8_lossy(&got).contains("SIP/2.0 200 OK") {
                return true;
            }
        }
    };
    tokio::time::timeout(WAIT, read).await.unwrap_or(false)
}

#[tokio::test]
async fn idle_connections_from_a_few_addresses_leave_room_for_a_tcp_caller() {
    let needed = u64::from(ADDRESSES) * PER_ADDRESS as u64 * 2 + 512;
    let limit = raise_fd_limit(needed + 4096);
    assert!(
        limit >= needed,
        "this test needs {needed} open files (both ends of each connection); the limit is {limit}"
    );
    // The deadline for a first message is not what this test is about: make it long.
    let gw = spawn_gateway_with(|c| c.tcp_message_timeout = 600).await;

    // 127.0.0.2 ... 127.0.0.18: loopback on Linux, and none of them the trunk (127.0.0.1).
    let (closed_tx, mut closed_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watchers = tokio::task::JoinSet::new();
    for a in 0..ADDRESSES {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + a));
        for _ in 0..PER_ADDRESS {
            let stream = connect_from(ip, gw.sip).await;
            let closed_tx = closed_tx.clone();
            watchers.spawn(async move {
                closed_by_gateway(stream).await;
                let _ = closed_tx.send(());
            });
        }
    }

    // A caller on another address gets through over TCP and is served.
    let mut opts = CallOptions::new(gw.sip, "+819088880001", PURCHASE);
    opts.transport = Transport::Tcp;
    opts.local_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 77));
    let report = place_call(opts).await;
    let report =
        report.unwrap_or_else(|e| panic!("the TCP caller was not served while idle connections are open: {e}"));
    assert_eq!((report.final_status, report.answered), (200, true), "{report:?}");
    gw.mail("+819088880001", "purchase link").await;

    // Each flooding address kept its share and no more: everything beyond was closed.
    let beyond = usize::from(ADDRESSES) * (PER_ADDRESS - PER_SOURCE);
    let mut closed = 0;
    while closed < beyond {
        match tokio::time::timeout(WAIT, closed_rx.recv()).await {
            Ok(Some(())) => closed += 1,
            _ => panic!("{closed} of the {beyond} connections beyond the per-address share were closed"),
        }
    }
    watchers.abort_all();
    gw.stop().await;
}

#[tokio::test]
async fn connections_that_do_not_complete_a_message_in_time_are_closed() {
    let gw = spawn_gateway_with(|c| c.tcp_message_timeout = 2).await;
    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 78));
    // Never sends a byte.
    let silent = connect_from(ip, gw.sip).await;
    // Sends the start of a request and stops.
    let mut partial = connect_from(ip, gw.sip).await;
    partial.write_all(b"OPTIONS sip:+442079460100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP ").await.unwrap();
    // Only keep-alives: not a SIP message.
    let mut pinging = connect_from(ip, gw.sip).await;
    pinging.write_all(b"\r\n\r\n").await.unwrap();
    // A complete request first, then the start of another.
    let mut stalled = connect_from(ip, gw.sip).await;
    assert!(options_answered(&mut stalled, gw.sip, 1).await);
    stalled.write_all(b"OPTIONS sip:x@y SIP/2.0\r\n").await.unwrap();
    // A well-behaved peer: one request, answered, and nothing pending.
    let mut good = connect_from(ip, gw.sip).await;
    assert!(options_answered(&mut good, gw.sip, 1).await);

    let closed = async {
        tokio::join!(
            closed_by_gateway(silent),
            closed_by_gateway(partial),
            closed_by_gateway(pinging),
            closed_by_gateway(stalled)
        )
    };
    assert!(
        tokio::time::timeout(WAIT, closed).await.is_ok(),
        "the gateway closed the connections that never finished a message"
    );
    // The peer that finished its message is still served on the same connection.
    assert!(options_answered(&mut good, gw.sip, 2).await, "a connection with nothing pending stays open");
    gw.stop().await;
}
