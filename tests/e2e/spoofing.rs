//! Caller IDs anyone can claim (the hardening issue, item 4): calls that only
//! claim a number (`From`, from an untrusted address) have budgets of their own,
//! so spoofers cannot use up the real owner's per-caller flood budget or hourly
//! purchase links. (Forged assertions through the Kamailio edge: tests/interop.)

use std::net::{IpAddr, Ipv4Addr};

use dialticket_sim::sip::CallOptions;

use crate::helpers::*;

/// Purchase in missed-call mode, any caller ID; and the same for proven callers only.
const ANY: &str = "+442079460170";
const PROVEN_ONLY: &str = "+442079460171";

const NUMBERS: &str = r#"
[[numbers]]
number = "+442079460170"
action = "purchase"
answer = "missed-call"
rate_limit = { per_caller = "4/min" }

[[numbers]]
number = "+442079460171"
action = "purchase"
answer = "missed-call"
identity = "trusted-peer"
rate_limit = { per_caller = "4/min" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_calls_cannot_spend_the_real_owners_budgets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo("dialplans/default.toml"), dir.path().join("default.toml")).unwrap();
    std::fs::write(dir.path().join("spoof.toml"), NUMBERS).unwrap();
    let plans = dir.path().to_path_buf();
    let gw = spawn_gateway_with(move |c| {
        c.dialplans = plans;
        c.purchase_links_per_hour = 3;
    })
    .await;
    let owner = "+819077880001";

    // A spoofer claims the owner's number from an untrusted address: three links
    // (to the owner's mail, not the spoofer's), then the hourly cap, then the flood block.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let mut opts = CallOptions::new(gw.sip, owner, ANY);
        opts.local_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        statuses.push(gw.call_with(opts).await.final_status);
    }
    assert_eq!(statuses, [603, 603, 603, 480, 503], "the spoofer's calls");

    // The owner, asserted by the trusted peer, is neither blocked nor capped.
    let mut opts = CallOptions::new(gw.sip, owner, PROVEN_ONLY);
    opts.pai = Some(format!("<tel:{owner}>"));
    let report = gw.call_with(opts).await;
    assert_eq!(report.final_status, 603, "the owner's call is taken (missed-call mode): {report:?}");
    let journal = gw.app.store.journal_all().await.unwrap();
    let count = |action: &str| journal.iter().filter(|j| j.action == action).count();
    assert_eq!((count("purchase-link-sent"), count("purchase-link-sent-proven")), (3, 1), "links by proof");
    let to = TestGateway::address(owner);
    let mails = gw.app.store.outbox(100).await.unwrap().into_iter().filter(|m| m.to_addr == to).count();
    assert_eq!(mails, 4, "every link went to the owner's own mail");
    gw.stop().await;
}
