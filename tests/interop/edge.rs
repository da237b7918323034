//! The shipped SIP edge, `deploy/kamailio/kamailio.cfg`, run on loopback in
//! front of a gateway that trusts it (the hardening issue, item 3): caller
//! identity forged from outside the carriers' addresses does not get through
//! it, and a carrier's assertion does.
//!
//! Addresses: the edge listens on 127.0.0.1 (the loopback proxy the default
//! dialplan trusts); the "carrier" is 127.0.0.3; the stranger 127.0.0.2.

use std::net::{IpAddr, Ipv4Addr};

use dialticket_sim::sip::{place_call, CallOptions};

use super::*;

const CARRIER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const STRANGER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// Purchase numbers (missed-call mode: 603 means "taken") for asserted and for verified callers.
const ASSERTED_ONLY: &str = "+442079460180";
const VERIFIED_ONLY: &str = "+442079460181";

/// `deploy/kamailio/kamailio.cfg` as shipped, but for where it listens, its
/// gateways (`gateways`), its carriers (`carriers`, CIDRs) and Debian's module path.
pub(super) async fn start_shipped_edge(gateways: &[SocketAddr], carriers: &str, dir: &Path) -> (Peer, SocketAddr) {
    let port = free_port();
    let list = dir.join("dispatcher.list");
    std::fs::write(&list, gateways.iter().map(|g| format!("1 sip:{g}\n")).collect::<String>()).unwrap();
    let shipped = std::fs::read_to_string(repo("deploy/kamailio/kamailio.cfg")).unwrap();
    let mut cfg = String::new();
    for line in shipped.lines() {
        let line = match line {
            l if l.starts_with("listen=udp:") => format!("listen=udp:127.0.0.1:{port}"),
            l if l.starts_with("listen=tcp:") => format!("listen=tcp:127.0.0.1:{port}"),
            l if l.starts_with("#!substdef \"!CARRIER_NETS!") => format!("#!substdef \"!CARRIER_NETS!{carriers}!g\""),
            l if l.starts_with("debug=") => format!("{l}\nmpath=\"{}/\"", kamailio_modules().display()),
            l => l.replace("/etc/kamailio/dispatcher.list", &list.display().to_string()),
        };
        cfg.push_str(&line);
        cfg.push('\n');
    }
    assert!(cfg.contains(&format!("!CARRIER_NETS!{carriers}!")), "the shipped config names its carriers");
    let edge: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    (run_kamailio(&cfg, dir, edge).await, edge)
}

/// A call through the edge from `source`, claiming `from`, with `headers` added.
async fn via_edge(edge: SocketAddr, source: Ipv4Addr, from: &str, to: &str, headers: &[(&str, String)]) -> u16 {
    let mut opts = CallOptions::new(edge, from, to);
    opts.local_ip = IpAddr::V4(source);
    opts.extra_headers = headers.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
    place_call(opts).await.expect("the call completes").final_status
}

#[tokio::test]
async fn the_shipped_edge_strips_identity_forged_outside_the_trust_domain() {
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("dialplans");
    std::fs::create_dir_all(&plans).unwrap();
    std::fs::copy(repo("dialplans/default.toml"), plans.join("default.toml")).unwrap();
    let numbers = format!(
        "[[numbers]]\nnumber = \"{ASSERTED_ONLY}\"\naction = \"purchase\"\nanswer = \"missed-call\"\nidentity = \"trusted-peer\"\n\n\
         [[numbers]]\nnumber = \"{VERIFIED_ONLY}\"\naction = \"purchase\"\nanswer = \"missed-call\"\nidentity = \"verified\"\n"
    );
    std::fs::write(plans.join("edge.toml"), numbers).unwrap();
    let gw = spawn_gateway_with(move |c| c.dialplans = plans).await;
    let (edge, addr) = start_shipped_edge(&[gw.sip], &format!("{CARRIER}/32"), dir.path()).await;

    let victim = "+819000000101";
    let pai = ("P-Asserted-Identity", format!("<tel:{victim}>"));
    // A stranger forging the victim's identity, in every header and spelling the
    // gateway would otherwise believe from its trusted edge: refused (403 from the
    // gateway: nobody asserted the number), nothing mailed to the victim.
    for forged in [
        vec![pai.clone()],
        vec![("p-asserted-identity", format!("<sip:{victim}@carrier.example;user=phone>"))],
        vec![("Remote-Party-ID", format!("<sip:{victim}@carrier.example>;party=calling;screen=yes"))],
        vec![("P-Preferred-Identity", format!("<tel:{victim}>"))],
    ] {
        let status = via_edge(addr, STRANGER, "+819000000199", ASSERTED_ONLY, &forged).await;
        assert_eq!(status, 403, "forged {forged:?} from outside the trust domain");
    }
    // A verification result claimed in From by a stranger: refused at the edge.
    let claimed = format!("{victim};verstat=TN-Validation-Passed");
    assert_eq!(via_edge(addr, STRANGER, &claimed, VERIFIED_ONLY, &[]).await, 403);
    let outbox = gw.app.store.outbox(100).await.unwrap();
    assert!(outbox.iter().all(|m| !m.to_addr.starts_with(victim)), "nothing mailed to the victim: {outbox:?}");

    // The carrier's assertion is believed, and so is its verifier's verstat.
    assert_eq!(via_edge(addr, CARRIER, "+819000000199", ASSERTED_ONLY, std::slice::from_ref(&pai)).await, 603);
    let verified = ("P-Asserted-Identity", format!("<tel:{victim};verstat=TN-Validation-Passed>"));
    assert_eq!(via_edge(addr, CARRIER, "+819000000199", VERIFIED_ONLY, &[verified]).await, 603);
    let to_victim =
        gw.app.store.outbox(100).await.unwrap().into_iter().filter(|m| m.to_addr.starts_with(victim)).count();
    assert_eq!(to_victim, 2, "two purchase links, both from the carrier's calls");
    edge.stop().await;
    gw.stop().await;
}
