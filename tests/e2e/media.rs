//! Media as operators set it up.

use dialticket::config::PortRange;

use crate::helpers::*;

/// With `rtp_ports`, a call's RTP is on an even port of that range (what firewall
/// rules and port mappings name), and the caller hears the announcement from there.
#[tokio::test]
async fn rtp_takes_a_port_of_the_configured_range() {
    // Ten ports around one that is free now (any taken by others are skipped).
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let free = probe.local_addr().unwrap().port().clamp(1024, 65000);
    drop(probe);
    let range = PortRange { first: free, last: free + 9 };
    let gw = spawn_gateway_with(|c| c.rtp_ports = Some(range)).await;

    let report = gw.call("+819012300001", PURCHASE).await;
    assert_eq!(report.final_status, 200, "{report:?}");
    let sdp = report.answer_sdp.as_deref().expect("SDP in the 200");
    let port: u16 = sdp
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no m=audio port in {sdp}"));
    assert!(range.even_ports().any(|p| p == port), "RTP on {port}, not an even port of {range:?}");
    assert!(report.rtp_packets >= 25, "announcement not heard: {report:?}");
    gw.stop().await;
}
