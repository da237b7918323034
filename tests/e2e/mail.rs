//! Mail as the receiving side checks it.

use crate::helpers::*;

/// With `dkim_key`, every mail over SMTP carries a DKIM-Signature for the From
/// domain that a receiver verifies with the published key; a changed message fails.
/// RSA and Ed25519 keys, as `openssl genpkey` writes them (PKCS#8 PEM).
#[tokio::test]
async fn mail_is_dkim_signed_and_verifies_for_the_from_domain() {
    for algorithm in ["RSA", "ED25519"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (key, record) = dkim_key(dir.path(), algorithm);

        let gw = spawn_gateway_with(|c| {
            c.dkim_key = Some(key);
            c.dkim_selector = "tickets2026".into();
            c.mail_from = "dialticket <tickets@mail.dialticket.example>".into();
        })
        .await;
        let phone = "+819012300003";
        assert_eq!(gw.call(phone, PURCHASE).await.final_status, 200);
        let mail = gw.mail(phone, "purchase link").await;
        let raw = String::from_utf8_lossy(&mail.raw).to_string();
        assert!(raw.contains("DKIM-Signature: ") && raw.contains("d=mail.dialticket.example"), "{raw}");
        let name = "tickets2026._domainkey.mail.dialticket.example";
        assert_eq!(dkim_verify(dir.path(), &mail.raw, &record, name), "True", "{algorithm}: {raw}");
        let forged = raw.replacen("purchase link", "purchase 1ink", 1);
        assert_ne!(forged, raw);
        assert_eq!(
            dkim_verify(dir.path(), forged.as_bytes(), &record, name),
            "False",
            "{algorithm}: a changed subject"
        );
        gw.stop().await;
    }
}
