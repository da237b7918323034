//! `Store::holder_view` (the ticket and admission pages' one read) reads what
//! the separate reads it replaced read: the purchase, its current link, its
//! holder's name, its seats, its event, and the PIN lockout as the admission
//! page computed it from the journal — and sees a change at once.

use sqlx::Connection;

use crate::helpers::*;
use crate::on_every_backend;
use dialticket::phone::PhoneNumber;
use dialticket::store::{PinLock, Store};

const PHONE: &str = "+819000000001";

async fn run(conn: &mut sqlx::AnyConnection, backend: &str, sql: &str) {
    sqlx::query(sql).execute(conn).await.unwrap_or_else(|e| panic!("{backend}: {sql}: {e}"));
}

/// The lock as `web::admission` computed it before: the oldest of the last
/// `tries` refusals within the window, if there were that many.
async fn lock_from_journal(store: &Store, pin: PinLock<'_>) -> Option<i64> {
    let mut refused: Vec<i64> = store
        .journal_for("p1")
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.action == pin.action && j.at > pin.at - pin.window)
        .map(|j| j.at)
        .collect();
    refused.sort_unstable();
    (refused.len() as i64 >= pin.tries).then(|| refused[refused.len() - pin.tries as usize])
}

async fn the_holder_view_reads_what_the_separate_reads_read(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let store = Store::connect(&url).await.unwrap();
    sqlx::any::install_default_drivers();
    let direct = if backend == "sqlite" { format!("{url}?mode=rwc") } else { url.clone() };
    let mut conn = sqlx::AnyConnection::connect(&direct).await.unwrap();
    for sql in [
        "INSERT INTO organizers (id, name, registered_at) VALUES ('o', 'O', 0)",
        "INSERT INTO events (id, organizer_id, genre, name, venue, starts_at, doors_open, curtain, sale_start, sale_end,
           admission_opens, admission_closes) VALUES ('e', 'o', 'g', 'E', 'v', '2027-01-01T19:00:00+09:00',
           '2027-01-01T18:00:00+09:00', '2027-01-01T19:00:00+09:00', 0, 1, 0, 1)",
        "INSERT INTO seat_types (event_id, code, name, price, gate) VALUES ('e', 'GA', 'GA', 1, 'North'), ('e', 'S', 'S', 5, NULL)",
        "INSERT INTO phone_users (phone, user_number, registered_at, last_access_at) VALUES ('+819000000001', 'u1', 0, 0)",
        "INSERT INTO purchases (id, user_number, phone, event_id, seat_type, quantity, amount, reserved_at,
           cancellable_until, payment_method, payment_status, issue_guide_state, issued, admission_state)
         VALUES ('p1', 'u1', '+819000000001', 'e', 'GA', 2, 2, 0, 0, 'card', 'paid', 'sent', 1, 'permit-issued')",
        "INSERT INTO seats (event_id, seat_code, seat_type, position, price, state, purchase_id) VALUES
           ('e', 'GA-2', 'GA', 2, 1, 'sold', 'p1'), ('e', 'GA-1', 'GA', 1, 1, 'sold', 'p1'),
           ('e', 'GA-3', 'GA', 3, 1, 'free', NULL), ('e', 'S-1', 'S', 4, 5, 'free', NULL)",
        "INSERT INTO ticket_codes (event_id, position, epoch, purchase_id, reference, issued_at)
           VALUES ('e', 1, 0, 'p1', 'ABCDEFGHJK', 0)",
        "INSERT INTO link_heads (purchase_id, purpose, jti, issued_at) VALUES ('p1', 'ticket', 'jti-2', 0)",
    ] {
        run(&mut conn, backend, sql).await;
    }
    let pin = PinLock { action: "staff-pin-refused", tries: 3, window: 100, at: 1_000 };
    let same = |view: &dialticket::store::HolderView, lock: Option<i64>, what: &str| {
        let view = view.clone();
        let store = store.clone();
        let what = format!("{backend}: {what}");
        async move {
            assert_eq!(Some(view.purchase), store.purchase("p1").await.unwrap(), "{what}");
            assert_eq!(view.seats, store.seat_tickets("p1").await.unwrap(), "{what}");
            let event = store.event("e").await.unwrap();
            assert_eq!(serde_json::to_value(view.event).unwrap(), serde_json::to_value(event).unwrap(), "{what}");
            let name = store.holder_profile(&PhoneNumber::parse(PHONE).unwrap()).await.unwrap().and_then(|p| p.name);
            assert_eq!(view.holder_name, name, "{what}");
            assert_eq!(view.pin_lock_from, lock, "{what}");
        }
    };

    let view = store.holder_view("p1", "ticket", None).await.unwrap().unwrap();
    assert_eq!(view.link_head.as_deref(), Some("jti-2"), "{backend}");
    assert_eq!(view.purchase.seats, ["GA-1", "GA-2"], "{backend}: in position order");
    assert_eq!(view.event.as_ref().map(|e| e.seat_types.len()), Some(2), "{backend}");
    same(&view, None, "no profile, no refusals").await;
    assert_eq!(store.holder_view("p1", "admission", None).await.unwrap().unwrap().link_head, None, "{backend}");
    assert!(store.holder_view("p2", "ticket", None).await.unwrap().is_none(), "{backend}");

    // Refusals in and out of the window, then more than enough of them; a name saved; a re-issue.
    let mut refusals = vec![850, 905, 990];
    for at in [850, 905, 990, 950, 999] {
        let sql = format!(
            "INSERT INTO journal (at, entity, entity_id, action, actor) VALUES ({at}, 'purchase', 'p1', 'staff-pin-refused', 't')"
        );
        run(&mut conn, backend, &sql).await;
        if at != 850 {
            refusals.push(at);
        }
        let view = store.holder_view("p1", "admission", Some(pin)).await.unwrap().unwrap();
        let lock = lock_from_journal(&store, pin).await;
        same(&view, lock, &format!("refused at {refusals:?}")).await;
    }
    assert_eq!(lock_from_journal(&store, pin).await, Some(950), "{backend}: the test reaches a lock");
    for sql in [
        "INSERT INTO user_profiles (user_number, name, updated_at) VALUES ('u1', 'Hanako', 0)",
        "UPDATE link_heads SET jti = 'jti-3' WHERE purchase_id = 'p1' AND purpose = 'ticket'",
        "UPDATE seats SET issue_epoch = 1, admitted_at = 1200, admitted_gate = 'North' WHERE position = 2",
        "UPDATE events SET name = 'E (moved)' WHERE id = 'e'",
    ] {
        run(&mut conn, backend, sql).await;
    }
    let view = store.holder_view("p1", "ticket", Some(pin)).await.unwrap().unwrap();
    assert_eq!(view.link_head.as_deref(), Some("jti-3"), "{backend}: the new link at once");
    assert_eq!(view.holder_name.as_deref(), Some("Hanako"), "{backend}");
    assert_eq!(view.event.as_ref().map(|e| e.name.as_str()), Some("E (moved)"), "{backend}: the edit at once");
    same(&view, Some(950), "after the changes").await;
    conn.close().await.unwrap();
}

on_every_backend!(the_holder_view_reads_what_the_separate_reads_read);
