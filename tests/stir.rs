//! STIR/SHAKEN verification against a CA made in the test with the openssl
//! command line tool (tests/e2e/helpers.rs), PASSporTs signed with jsonwebtoken (ES256).

#[allow(dead_code)]
#[path = "e2e/helpers.rs"]
mod helpers;

use std::path::Path;

use dialticket::identity::stir::{parse_identity_header, verify, Attestation, StirError, TrustStore};
use dialticket::phone::PhoneNumber;
use helpers::make_sti_ca;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

const X5U: &str = "https://cert.example.net/sp.pem";

fn passport(dir: &Path, signer: &str, attest: &str, orig: &str, dest: &str, iat: i64) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("passport".into());
    header.x5u = Some(X5U.into());
    let claims = serde_json::json!({
        "attest": attest, "dest": {"tn": [dest]}, "iat": iat, "orig": {"tn": orig}, "origid": "123e4567-e89b-12d3-a456-426655440000",
    });
    let key = std::fs::read(dir.join(format!("{signer}-sp.key"))).unwrap();
    let jwt = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_pem(&key).unwrap()).unwrap();
    format!("{jwt};info=<{X5U}>;alg=ES256;ppt=shaken")
}

fn n(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

#[test]
fn passports_are_verified_against_the_trust_anchors() {
    let dir = tempfile::tempdir().unwrap();
    make_sti_ca(dir.path(), "good");
    make_sti_ca(dir.path(), "rogue");
    let mut trust = TrustStore::default();
    trust.add_anchor_pem(&std::fs::read(dir.path().join("good-ca.pem")).unwrap()).unwrap();
    trust.add_cert_pem(X5U, &std::fs::read(dir.path().join("good-sp.pem")).unwrap()).unwrap();
    let (from, to, now) = (n("+819012345678"), n("+442079460100"), dialticket::store::now());
    let check = |value: &str| verify(&parse_identity_header(value)?, &from, &to, now, 60, &trust);

    // A valid, A-attested PASSporT.
    let ok = check(&passport(dir.path(), "good", "A", "819012345678", "442079460100", now - 5)).unwrap();
    assert_eq!(ok.attestation, Attestation::A);
    assert_eq!(ok.origid.as_deref(), Some("123e4567-e89b-12d3-a456-426655440000"));
    assert_eq!(
        check(&passport(dir.path(), "good", "B", "819012345678", "442079460100", now)).unwrap().attestation,
        Attestation::B
    );

    // Tampered signature → 438.
    let good = passport(dir.path(), "good", "A", "819012345678", "442079460100", now);
    let (jwt, params) = good.split_once(';').unwrap();
    let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
    let sig: String = parts[2].chars().rev().collect();
    parts[2] = sig;
    let e = check(&format!("{};{params}", parts.join("."))).unwrap_err();
    assert_eq!(e.sip_status().0, 438, "{e}");

    // Stale iat → 403 Stale Date.
    let e = check(&passport(dir.path(), "good", "A", "819012345678", "442079460100", now - 120)).unwrap_err();
    assert_eq!((e.sip_status(), &e), ((403, "Stale Date"), &StirError::Stale { age: 120 }));

    // orig is not the caller → 438; dest is not the called number → 438.
    let e = check(&passport(dir.path(), "good", "A", "819099999999", "442079460100", now)).unwrap_err();
    assert_eq!(e.sip_status().0, 438, "{e}");
    let e = check(&passport(dir.path(), "good", "A", "819012345678", "442079460999", now)).unwrap_err();
    assert_eq!(e.sip_status().0, 438, "{e}");

    // Signed by a certificate we cannot find → 436; by a CA we do not trust → 437.
    let mut empty = TrustStore::default();
    empty.add_anchor_pem(&std::fs::read(dir.path().join("good-ca.pem")).unwrap()).unwrap();
    let value = passport(dir.path(), "good", "A", "819012345678", "442079460100", now);
    let e = verify(&parse_identity_header(&value).unwrap(), &from, &to, now, 60, &empty).unwrap_err();
    assert_eq!(e.sip_status().0, 436, "{e}");
    let mut rogue = TrustStore::default();
    rogue.add_anchor_pem(&std::fs::read(dir.path().join("good-ca.pem")).unwrap()).unwrap();
    rogue.add_cert_pem(X5U, &std::fs::read(dir.path().join("rogue-sp.pem")).unwrap()).unwrap();
    let value = passport(dir.path(), "rogue", "A", "819012345678", "442079460100", now);
    let e = verify(&parse_identity_header(&value).unwrap(), &from, &to, now, 60, &rogue).unwrap_err();
    assert_eq!(e.sip_status().0, 437, "{e}");

    // Garbage and a missing header.
    assert_eq!(parse_identity_header("not-a-jwt").unwrap_err().sip_status().0, 438);
    assert_eq!(StirError::Missing.sip_status(), (428, "Use Identity Header"));
}

#[test]
fn the_trust_store_loads_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    make_sti_ca(dir.path(), "good");
    let store_dir = dir.path().join("stir");
    std::fs::create_dir_all(store_dir.join("anchors")).unwrap();
    std::fs::create_dir_all(store_dir.join("certs")).unwrap();
    std::fs::copy(dir.path().join("good-ca.pem"), store_dir.join("anchors/good-ca.pem")).unwrap();
    std::fs::copy(dir.path().join("good-sp.pem"), store_dir.join("certs/sp.pem")).unwrap();
    std::fs::write(store_dir.join("certs.toml"), format!("\"{X5U}\" = \"sp.pem\"\n")).unwrap();
    let trust = TrustStore::load(&store_dir).unwrap();
    let now = dialticket::store::now();
    let value = passport(dir.path(), "good", "A", "+819012345678", "+442079460100", now);
    let v = verify(&parse_identity_header(&value).unwrap(), &n("+819012345678"), &n("+442079460100"), now, 60, &trust);
    assert_eq!(v.unwrap().attestation, Attestation::A);
    assert!(TrustStore::load(&dir.path().join("missing")).is_err());
}
