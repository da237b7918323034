//! Rotating the link-signing key: the links mailed before keep working after the
//! gateway restarts with the new key; new mails carry the new key id; the staff
//! PINs derived from the key stay; offline devices learn until when the retired
//! key's codes verify.

use crate::helpers::*;

#[tokio::test]
async fn links_mailed_before_a_key_rotation_still_open_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let shared = state_in(dir.path());
    let gw = spawn_gateway_with(shared).await;
    let phone = "+819011110040";
    gw.paid_purchase(phone, "open-rehearsal").await;
    gw.call(phone, ISSUE).await;
    let ticket = gw.link(&gw.mail(phone, "Your ticket").await, "/t/");
    let path = ticket[ticket.find("/t/").unwrap()..].to_string();
    let old_kid = gw.app.links.kid().to_string();
    let old_pin = gw.staff_pins("open-rehearsal").0;
    gw.stop().await;

    let (retired, new_kid) = dialticket::links::rotate(&dir.path().join("key.pem")).unwrap();
    assert_eq!(retired, old_kid);
    let gw = spawn_gateway_with(shared).await;
    assert_eq!(gw.app.links.verifying_kids(), [new_kid.as_str(), old_kid.as_str()]);
    // Offline staff devices get both code keys, the retired one with its end: when
    // the longest-lived link it signed expires (a ticket's year, and a day).
    let keys = gw.app.links.code_keys_until();
    assert_eq!((keys.len(), keys[0].1), (2, None));
    let until = keys[1].1.expect("a retired key ends");
    let year_and_a_day = dialticket::store::now() + dialticket::links::RETIRED_KEYS_KEPT_DAYS as i64 * 86_400;
    assert!((until - year_and_a_day).abs() < 120, "{until} vs {year_and_a_day}");
    let (status, page) = gw.get(&path).await;
    assert_eq!(status, 200, "the ticket mailed before the rotation opens: {page}");
    assert_eq!(page["phone"], phone);

    // Calling again re-issues the ticket with the new key; the old link is replaced (410), as on any re-issue.
    gw.call(phone, ISSUE).await;
    // (The restarted gateway mails into a new sink: this is the mail of the re-issue.)
    let newest = gw.mail(phone, "Your ticket").await;
    let token = gw.link(&newest, "/t/").rsplit('/').next().unwrap().to_string();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
    assert_eq!(gw.get(&path).await.0, 410);
    assert_eq!(gw.staff_pins("open-rehearsal").0, old_pin, "venue staff keep their PIN through a rotation");
    gw.stop().await;
}
