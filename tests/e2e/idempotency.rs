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
    // Answered after its mail was queued; the retransmissions queued none.
    assert_eq!(gw.queued(caller, "purchase link").await, 1, "four INVITEs, one transaction, one mail");
    gw.mail(caller, "purchase link").await;
    gw.stop().await;
}

#[tokio::test]
async fn a_repeated_call_key_is_answered_from_the_store() {
    let gw = spawn_gateway().await;
    let caller = PhoneNumber::parse("+819033330002").unwrap();
    let calls = Calls::new(gw.app.clone());
    let call = incoming_call(&gw, ISSUE, caller.as_str(), "same-call@carrier");
    let first = calls.handle(call.clone()).await;
    assert!(matches!(&first, CallDecision::Refuse { code: 403, .. }), "{first:?}");
    let second = calls.handle(call.clone()).await;
    assert_eq!(first, second);
    assert_eq!(gw.queued(caller.as_str(), "could not").await, 1, "the repeat changed nothing and mailed nothing");
    gw.mail(caller.as_str(), "could not").await;
    // A new CSeq is a new request.
    calls.handle(IncomingCall { cseq: 2, ..call }).await;
    let to = format!("{caller}@sms.example.net");
    gw.settle().await;
    assert_eq!(gw.mailbox.messages().iter().filter(|m| m.envelope_to.contains(&to)).count(), 2);
    gw.stop().await;
}

/// A call to `dialed` from `caller` (From, untrusted) as the SIP endpoint hands it over.
fn incoming_call(gw: &TestGateway, dialed: &str, caller: &str, call_id: &str) -> IncomingCall {
    let dialed = PhoneNumber::parse(dialed).unwrap();
    IncomingCall {
        call_id: call_id.into(),
        cseq: 1,
        rule: gw.app.dialplan.borrow().lookup(&dialed).unwrap(),
        dialed,
        caller: CallerIdentity {
            number: PhoneNumber::parse(caller).unwrap(),
            source: IdentitySource::From,
            trusted: false,
            display_name: None,
            attestation: None,
            verification: Verification::None,
        },
        source: "127.0.0.1:5099".parse().unwrap(),
    }
}

/// One raw INVITE to the missed-call number (a transaction of its own: its own
/// branch) from a socket of its own; the final status code it gets.
async fn invite_for_final(gw: &TestGateway, branch: &str, call_id: &str, caller: &str) -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = sock.local_addr().unwrap().port();
    sock.send_to(invite(gw.sip.port(), me, branch, call_id, caller).as_bytes(), gw.sip).await.unwrap();
    let mut buf = vec![0u8; 8192];
    loop {
        let (n, _) =
            tokio::time::timeout(MAIL_WAIT, sock.recv_from(&mut buf)).await.expect("a final response").unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        let code = text.strip_prefix("SIP/2.0 ").and_then(|t| t.get(..3)).and_then(|c| c.parse::<u16>().ok());
        if let Some(code) = code.filter(|c| *c >= 200) {
            return code;
        }
    }
}

/// Purchase calls are committed in groups (all the calls waiting at that moment in
/// one transaction). Arriving all at once over SIP, each is still decided on its
/// own: 40 new callers get a link each; one number dialling 12 times at once gets
/// 10 links and 2 refusals (the hourly cap counts across groups); one call key sent
/// as 5 INVITE transactions at once is done once and answered 5 times alike.
async fn purchase_calls_arriving_together(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let gateway = spawn_gateway_with(|c| c.database_url = url).await;
    let gw = &gateway;
    let callers: Vec<String> = (0..40).map(|i| format!("+8190444{i:05}")).collect();
    let busy = "+819055500001";
    let repeated = "+819055500002";
    let softphone_calls =
        callers.iter().map(String::as_str).chain(std::iter::repeat_n(busy, 12)).map(|caller| async move {
            (caller.to_string(), gw.call(caller, PURCHASE_MISSED_CALL).await.final_status)
        });
    let same_key = (0..5).map(|i| async move {
        let code = invite_for_final(gw, &format!("z9hG4bKsamekey{i}"), "the-same-call@carrier", repeated).await;
        (repeated.to_string(), code)
    });
    let (mut finals, repeats) =
        tokio::join!(futures::future::join_all(softphone_calls), futures::future::join_all(same_key));
    finals.extend(repeats);
    let of = |who: &str| finals.iter().filter(|(c, _)| c == who).map(|(_, code)| *code).collect::<Vec<_>>();
    // Missed-call mode: 603 once the link is on its way, 480 past the hourly cap.
    for caller in &callers {
        assert_eq!(of(caller), vec![603], "caller {caller}");
    }
    let busy_finals = of(busy);
    assert_eq!(busy_finals.iter().filter(|c| **c == 603).count(), 10, "{busy_finals:?}");
    assert_eq!(busy_finals.iter().filter(|c| **c == 480).count(), 2, "{busy_finals:?}");
    assert_eq!(of(repeated), vec![603; 5], "a repeated call key gets the first answer");

    // 40 + 10 + 1 mails queued (every call has been answered, so that is all), each
    // delivered once: once the worker has recorded every one sent, it sends none again.
    assert_eq!(gw.app.store.outbox(1000).await.unwrap().len(), 51);
    gw.settle().await;
    assert!(gw.app.store.outbox(1000).await.unwrap().iter().all(|m| m.state == "sent"));
    assert_eq!(gw.mailbox.messages().len(), 51);
    assert_eq!(gw.mails(busy, "purchase link").len(), 10);
    assert_eq!(gw.mails(repeated, "purchase link").len(), 1);
    // The store agrees: the repeated key is one call, its caller one access.
    let user = gw.app.store.phone_user(&PhoneNumber::parse(repeated).unwrap()).await.unwrap().unwrap();
    assert_eq!(user.access_count, 1);
    let busy_user = gw.app.store.phone_user(&PhoneNumber::parse(busy).unwrap()).await.unwrap().unwrap();
    assert_eq!(busy_user.access_count, 12);
    let journal = gw.app.store.journal_for(&busy_user.user_number).await.unwrap();
    let count = |action: &str| journal.iter().filter(|j| j.action == action).count();
    assert_eq!((count("registered"), count("purchase-link-sent"), count("purchase-link-capped")), (1, 10, 2));
    assert!(gw.app.store.call_identity("the-same-call@carrier 1").await.unwrap().is_some());
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchase_calls_arriving_together_on_sqlite() {
    purchase_calls_arriving_together("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchase_calls_arriving_together_on_postgres() {
    purchase_calls_arriving_together("postgres").await;
}
