//! Migration 0011 (the door) on data from before it: a purchase admitted before
//! has its seats admitted, and seats that shared a position (an old catalog
//! reload) get positions of their own, in the same order.

use sqlx::Connection;

use crate::helpers::*;
use crate::on_every_backend;

async fn admitted_purchases_keep_their_admission_per_seat(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    // The schema as it was before the door: migrations 0001–0010 only.
    let before = tempfile::tempdir().unwrap();
    let dir = repo(&format!("migrations/{backend}"));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.as_str() < "0011" {
            std::fs::copy(&path, before.path().join(&name)).unwrap();
        }
    }
    sqlx::any::install_default_drivers();
    let direct = if backend == "sqlite" { format!("{url}?mode=rwc") } else { url.clone() };
    let mut conn = sqlx::AnyConnection::connect(&direct).await.unwrap();
    sqlx::migrate::Migrator::new(before.path()).await.unwrap().run(&mut conn).await.unwrap();
    for sql in [
        "INSERT INTO organizers (id, name, registered_at) VALUES ('o', 'O', 0)",
        "INSERT INTO events (id, organizer_id, genre, name, venue, starts_at, doors_open, curtain, sale_start, sale_end,
           admission_opens, admission_closes) VALUES ('e', 'o', 'g', 'E', 'v', '2027-01-01T19:00:00+09:00',
           '2027-01-01T18:00:00+09:00', '2027-01-01T19:00:00+09:00', 0, 1, 0, 1)",
        "INSERT INTO seat_types (event_id, code, name, price) VALUES ('e', 'GA', 'GA', 1)",
        "INSERT INTO phone_users (phone, user_number, registered_at, last_access_at) VALUES ('+819000000001', 'u1', 0, 0)",
        "INSERT INTO purchases (id, user_number, phone, event_id, seat_type, quantity, amount, reserved_at,
           cancellable_until, payment_method, payment_status, issue_guide_state, issued, admission_state, admitted_at)
         VALUES ('p1', 'u1', '+819000000001', 'e', 'GA', 2, 2, 0, 0, 'card', 'paid', 'sent', 1, 'admitted', 1234)",
        "INSERT INTO seats (event_id, seat_code, seat_type, position, price, state, purchase_id) VALUES
           ('e', 'GA-1', 'GA', 1, 1, 'sold', 'p1'), ('e', 'GA-2', 'GA', 2, 1, 'sold', 'p1'),
           ('e', 'GA-3', 'GA', 2, 1, 'free', NULL), ('e', 'GA-4', 'GA', 3, 1, 'free', NULL)",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{backend}: {sql}: {e}"));
    }
    conn.close().await.unwrap();

    let store = dialticket::store::Store::connect(&url).await.expect("0011 migrates");
    let seats = store.seat_tickets("p1").await.unwrap();
    let admitted: Vec<_> =
        seats.iter().map(|(s, _)| (s.seat_code.as_str(), s.admitted.as_ref().map(|a| a.at))).collect();
    assert_eq!(admitted, [("GA-1", Some(1234)), ("GA-2", Some(1234))], "{backend}");
    for (position, code) in (1..=4).zip(["GA-1", "GA-2", "GA-3", "GA-4"]) {
        let seat =
            store.seat_at("e", position).await.unwrap().unwrap_or_else(|| panic!("{backend}: position {position}"));
        assert_eq!(seat.seat_code, code, "{backend}: renumbered in order");
    }
}

on_every_backend!(admitted_purchases_keep_their_admission_per_seat);
