//! Mail as the receiving side checks it.

use std::path::Path;

use base64::Engine;

use crate::helpers::*;

/// Verifies a message's DKIM signature with dkimpy (Debian's python3-dkim), the
/// public key given as the TXT record DNS would return for `selector._domainkey.domain`.
const VERIFY: &str = r#"
import sys, dkim
message, record, name = open(sys.argv[1], 'rb').read(), sys.argv[2].encode(), sys.argv[3].encode()
def dns(query, timeout=5):
    return record if query.rstrip(b'.') == name else None
print(dkim.verify(message, dnsfunc=dns))
"#;

fn dkim_verify(dir: &Path, message: &[u8], record: &str, name: &str) -> String {
    let file = dir.join("message.eml");
    std::fs::write(&file, message).expect("message file");
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", VERIFY])
        .arg(&file)
        .args([record, name])
        .output()
        .expect("python3 with python3-dkim (scripts/test.sh installs it)");
    assert!(out.status.success(), "dkimpy: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// With `dkim_key`, every mail over SMTP carries a DKIM-Signature for the From
/// domain that a receiver verifies with the published key; a changed message fails.
/// RSA and Ed25519 keys, as `openssl genpkey` writes them (PKCS#8 PEM).
#[tokio::test]
async fn mail_is_dkim_signed_and_verifies_for_the_from_domain() {
    for (algorithm, k) in [("RSA", "rsa"), ("ED25519", "ed25519")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("dkim.pem");
        let mut args = vec!["genpkey", "-algorithm", algorithm, "-out", "dkim.pem"];
        if algorithm == "RSA" {
            args.extend(["-pkeyopt", "rsa_keygen_bits:2048"]);
        }
        openssl(dir.path(), &args);
        let der = openssl(dir.path(), &["pkey", "-in", "dkim.pem", "-pubout", "-outform", "DER"]);
        // RSA: the SubjectPublicKeyInfo; Ed25519 (RFC 8463): the raw 32-byte key at its end.
        let public = if k == "rsa" { &der[..] } else { &der[der.len() - 32..] };
        let record = format!("v=DKIM1; k={k}; p={}", base64::engine::general_purpose::STANDARD.encode(public));

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
        assert_eq!(dkim_verify(dir.path(), &mail.raw, &record, name), "True", "{k}: {raw}");
        let forged = raw.replacen("purchase link", "purchase 1ink", 1);
        assert_ne!(forged, raw);
        assert_eq!(dkim_verify(dir.path(), forged.as_bytes(), &record, name), "False", "{k}: a changed subject");
        gw.stop().await;
    }
}
