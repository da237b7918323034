//! A repeated INVITE never does the work twice: retransmissions are absorbed
//! by the SIP transaction, and a repeated call key (Call-ID + CSeq) arriving as
//! a new transaction gets the first answer from the store.

use std::time::Duration;

use dialticket::calls::Calls;
use dialticket::identity::{CallerIdentity, IdentitySource, Verification};
use dialticket::phone::PhoneNumber;
use dialticket::sip::{CallDecision, CallHandler, IncomingCall};
use tokio::net::UdpSocket;

use crate::helpers::*;

fn invite(to_port: u16, from_port: u16, branch: &str, call_id: &str, caller: &str) -> String {
    format!(
        "INVITE sip:442079460110@127.0.0.1:{to_port} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{from_port};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{caller}@127.0.0.1>;tag=carrier1\r\n\
         To: <sip:442079460110@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:carrier@127.0.0.1:{from_port}>\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn retransmitted_invites_send_one_mail() {
    let gw = spawn_gateway().await;
    let caller = "+819033330001";
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = sock.local_addr().unwrap().port();
    let msg = invite(gw.sip.port(), me, "z9hG4bKretrans1", "retrans-1@carrier", caller);
    // A carrier that does not hear our 100 Trying sends the INVITE again (Timer A).
    for _ in 0..4 {
        sock.send_to(msg.as_bytes(), gw.sip).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The missed-call number answers 603; read until the final response.
    let mut buf = vec![0u8; 8192];
    let mut finals = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await {
        let text = String::from_utf8_lossy(&buf[..n]);
        if text.starts_with("SIP/2.0 603") {
            finals += 1;
            break;
        }
    }
    assert_eq!(finals, 1, "the INVITE got its final response");
    gw.mail(caller, "purchase link").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(gw.mails(caller, "purchase link").len(), 1, "four INVITEs, one transaction, one mail");
    gw.stop().await;
}

#[tokio::test]
async fn a_repeated_call_key_is_answered_from_the_store() {
    let gw = spawn_gateway().await;
    let caller = PhoneNumber::parse("+819033330002").unwrap();
    let rule = gw.app.dialplan.borrow().lookup(&PhoneNumber::parse(ISSUE).unwrap()).unwrap();
    let calls = Calls::new(gw.app.clone());
    let call = IncomingCall {
        call_id: "same-call@carrier".into(),
        cseq: 1,
        dialed: PhoneNumber::parse(ISSUE).unwrap(),
        caller: CallerIdentity {
            number: caller.clone(),
            source: IdentitySource::From,
            trusted: false,
            display_name: None,
            attestation: None,
            verification: Verification::None,
        },
        source: "127.0.0.1:5099".parse().unwrap(),
        rule,
    };
    let first = calls.handle(call.clone()).await;
    assert!(matches!(&first, CallDecision::Refuse { code: 403, .. }), "{first:?}");
    let second = calls.handle(call.clone()).await;
    assert_eq!(first, second);
    gw.mail(caller.as_str(), "could not").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(gw.mails(caller.as_str(), "could not").len(), 1, "the repeat changed nothing and mailed nothing");
    // A new CSeq is a new request.
    calls.handle(IncomingCall { cseq: 2, ..call }).await;
    let to = format!("{caller}@sms.example.net");
    gw.mailbox.wait_for_count(2, MAIL_WAIT).await.unwrap();
    assert_eq!(gw.mailbox.messages().iter().filter(|m| m.envelope_to.contains(&to)).count(), 2);
    gw.stop().await;
}
