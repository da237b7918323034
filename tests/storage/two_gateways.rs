//! Two gateway processes on one PostgreSQL, as behind a SIP load balancer:
//! concurrent issue calls for the same purchases, split across both, issue
//! each ticket exactly once.

use std::time::Duration;

use dialticket::domain::PaymentResult;
use dialticket::events::CatalogFile;
use dialticket::phone::PhoneNumber;
use dialticket::store::{now, Store};
use dialticket_sim::sip::{place_call, CallOptions};
use dialticket_sim::smtp::SmtpSink;

use crate::backends::fresh_database;
use crate::process::start_gateway;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateways_on_one_postgres_issue_each_ticket_once() {
    let Some((url, _db)) = fresh_database("postgres").await else { return };
    let store = Store::connect(&url).await.unwrap();
    let catalog =
        CatalogFile::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/events/demo.toml"))).unwrap();
    store.load_catalog(&catalog).await.unwrap();
    let event = store.event("open-rehearsal").await.unwrap().unwrap();

    // Five callers with one paid, not yet issued purchase each.
    let phones: Vec<PhoneNumber> = (0..5).map(|i| PhoneNumber::parse(&format!("+8190555500{i:02}")).unwrap()).collect();
    let mut purchases = Vec::new();
    for (i, phone) in phones.iter().enumerate() {
        let mut tx = store.begin().await.unwrap();
        let user = tx.touch_phone_user(phone, "en", now()).await.unwrap();
        let mut p = tx
            .reserve(&user, &user.phone, &event, "GA", 1, "card", &format!("two-gw-form-{i:02}-0000000"), now())
            .await
            .unwrap();
        let t = p.settle(&PaymentResult::Approved { reference: format!("r{i}") }).unwrap();
        tx.save_purchase(&p, &t, "test", now()).await.unwrap();
        tx.commit().await.unwrap();
        purchases.push(p.id);
    }

    let keydir = tempfile::tempdir().unwrap();
    let key = keydir.path().join("shared-key.pem");
    dialticket::links::Links::load_or_generate(&key, "http://127.0.0.1").unwrap();
    let mailbox = SmtpSink::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (_a, sip_a) = start_gateway(&url, &key, mailbox.addr(), &[]).await;
    let (_b, sip_b) = start_gateway(&url, &key, mailbox.addr(), &[]).await;

    // Four issue calls per phone at once, two to each gateway.
    let mut calls = Vec::new();
    for phone in &phones {
        for gw in [sip_a, sip_b, sip_a, sip_b] {
            let opts = CallOptions::new(gw, phone.as_str(), "+442079460101");
            calls.push(tokio::spawn(place_call(opts)));
        }
    }
    for c in calls {
        let report = c.await.unwrap().expect("call completes");
        assert_eq!(report.final_status, 200, "{report:?}");
    }

    let expected_mails = phones.len() * 4;
    mailbox.wait_for_count(expected_mails, Duration::from_secs(30)).await.unwrap();
    for (phone, id) in phones.iter().zip(&purchases) {
        let to = format!("{phone}@sms.example.net");
        let mails: Vec<_> = mailbox.messages().into_iter().filter(|m| m.envelope_to.contains(&to)).collect();
        let first = mails.iter().filter(|m| m.subject.starts_with("Your ticket:")).count();
        let again = mails.iter().filter(|m| m.subject.starts_with("Your ticket again")).count();
        assert_eq!((first, again), (1, 3), "{phone}: issued once, re-sent three times");
        let p = store.purchase(id).await.unwrap().unwrap();
        assert_eq!((p.issued, p.issue_call_count), (true, 4));
        let journal = store.journal_for(id).await.unwrap();
        assert_eq!(journal.iter().filter(|j| j.action == "issued").count(), 1);
    }
}
