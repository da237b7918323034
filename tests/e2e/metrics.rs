//! What operators watch (issue 20, step 10): `/metrics` on the admin listener
//! counts calls by action and final SIP status, mails by result, door scans by
//! result, and the tickets sold, issued and admitted — each checked against what
//! the test did through the network.

use serde_json::json;

use crate::helpers::*;

const EVENT: &str = "open-rehearsal";

/// The value of the sample `name{labels}` (0 when the line is not there: a
/// counter that never moved is not printed).
fn sample(metrics: &str, name_and_labels: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name_and_labels).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_count_calls_mails_scans_and_tickets() {
    let gw = spawn_gateway().await;
    let before = gw.metrics().await;
    assert_eq!(sample(&before, "dialticket_calls_total{action=\"purchase\",code=\"200\"}"), 0, "{before}");
    assert!(before.contains("# TYPE dialticket_tickets gauge"), "{before}");

    // A number nobody configured: no rule takes it.
    let lost = gw.call("+819011119999", "+442079469999").await;
    assert_eq!(lost.final_status, 404, "{lost:?}");
    // One caller through the journey: purchase, issue and usage calls, all answered.
    let phone = "+819077770042";
    let (_, page) = gw.issued_ticket(phone, EVENT, 2, true).await;
    let codes: Vec<String> =
        page["tickets"].as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap().to_string()).collect();
    let made = gw.app.store.add_staff(EVENT, "Mika", Some("A"), true, "test", dialticket::store::now()).await.unwrap();
    let token = made.api_token.expect("an API token");
    let scan = |code: String| {
        let token = token.clone();
        let url = format!("{}/staff/api/scan", gw.base);
        async move {
            let r = reqwest::Client::new().post(url).bearer_auth(token).json(&json!({ "code": code })).send().await;
            r.expect("scan").json::<serde_json::Value>().await.expect("verdict")
        }
    };
    assert_eq!(scan(codes[0].clone()).await["result"], "admitted");
    assert_eq!(scan(codes[0].clone()).await["result"], "already_admitted");
    assert_eq!(scan("NOT-A-CODE".into()).await["result"], "invalid");
    gw.settle().await;

    let m = gw.metrics().await;
    assert_eq!(sample(&m, "dialticket_calls_total{action=\"none\",code=\"404\"}"), 1, "{m}");
    for action in ["purchase", "issue", "usage"] {
        let line = format!("dialticket_calls_total{{action=\"{action}\",code=\"200\"}}");
        assert_eq!(sample(&m, &line), 1, "{line}\n{m}");
    }
    let outbox = gw.app.store.outbox(10_000).await.expect("outbox");
    let sent = outbox.iter().filter(|m| m.state == "sent").count() as u64;
    assert!(sent >= 4, "purchase link, payment, ticket and admission page: {outbox:?}");
    assert_eq!(sample(&m, "dialticket_mails_total{result=\"sent\"}"), sent, "{m}");
    assert_eq!(sample(&m, "dialticket_mails_total{result=\"failed\"}"), 0, "{m}");
    for (result, n) in [("admitted", 1), ("already_admitted", 1), ("invalid", 1)] {
        let line = format!("dialticket_scans_total{{result=\"{result}\",path=\"online\"}}");
        assert_eq!(sample(&m, &line), n, "{line}\n{m}");
    }
    assert_eq!(sample(&m, "dialticket_tickets{state=\"sold\"}"), 2, "{m}");
    assert_eq!(sample(&m, "dialticket_tickets{state=\"issued\"}"), 2, "{m}");
    assert_eq!(sample(&m, "dialticket_tickets{state=\"admitted\"}"), 1, "{m}");
}
