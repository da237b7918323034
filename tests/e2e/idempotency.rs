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
    let calls = Calls::new(gw.app.clone());
    let call = incoming_call(&gw, ISSUE, caller.as_str(), "same-call@carrier");
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

/// Purchase calls are committed in groups (all the calls waiting at that moment in
/// one transaction). Arriving all at once, each is still decided on its own: 40
/// new callers get a link each; one number dialling 12 times at once gets 10 links
/// and 2 refusals (the hourly cap counts across groups); one call key sent 5 times
/// at once is done once and answered 5 times alike.
async fn purchase_calls_arriving_together(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let gw = spawn_gateway_with(|c| c.database_url = url).await;
    let calls = std::sync::Arc::new(Calls::new(gw.app.clone()));
    let mut work = Vec::new();
    for i in 0..40 {
        work.push(incoming_call(
            &gw,
            PURCHASE_MISSED_CALL,
            &format!("+8190444{i:05}"),
            &format!("together-{i}@carrier"),
        ));
    }
    let busy = "+819055500001";
    for i in 0..12 {
        work.push(incoming_call(&gw, PURCHASE_MISSED_CALL, busy, &format!("busy-{i}@carrier")));
    }
    let repeated = "+819055500002";
    for _ in 0..5 {
        work.push(incoming_call(&gw, PURCHASE_MISSED_CALL, repeated, "the-same-call@carrier"));
    }
    let tasks: Vec<_> = work
        .into_iter()
        .map(|call| {
            let calls = calls.clone();
            let caller = call.caller.number.to_string();
            tokio::spawn(async move { (caller, calls.handle(call).await) })
        })
        .collect();
    let mut decisions = Vec::new();
    for t in tasks {
        decisions.push(t.await.unwrap());
    }
    let sent = CallDecision::Announce { prompt: "purchase-link-sent".into() };
    let of = |who: &str| decisions.iter().filter(|(c, _)| c == who).map(|(_, d)| d.clone()).collect::<Vec<_>>();
    for i in 0..40 {
        assert_eq!(of(&format!("+8190444{i:05}")), vec![sent.clone()], "caller {i}");
    }
    let busy_decisions = of(busy);
    assert_eq!(busy_decisions.iter().filter(|d| **d == sent).count(), 10, "{busy_decisions:?}");
    assert_eq!(
        busy_decisions.iter().filter(|d| matches!(d, CallDecision::Refuse { code: 480, .. })).count(),
        2,
        "{busy_decisions:?}"
    );
    assert_eq!(of(repeated), vec![sent.clone(); 5], "a repeated call key gets the first answer");

    // 40 + 10 + 1 mails, each once.
    gw.mailbox.wait_for_count(51, MAIL_WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
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
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchase_calls_arriving_together_on_sqlite() {
    purchase_calls_arriving_together("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchase_calls_arriving_together_on_postgres() {
    purchase_calls_arriving_together("postgres").await;
}
