//! The waiting list under races, on every backend: seats given back by many
//! transactions at once while more buyers join go to the places in join
//! order, each place gets exactly what it asked for, no seat goes to two, and a
//! seat is never left on sale while anyone waits.

use std::collections::HashSet;

use dialticket::phone::PhoneNumber;
use dialticket::store::{now, Joined, Store};
use dialticket::waitlist::PlaceState;

use crate::backends::store_with;
use crate::on_every_backend;

const EVENT: &str = "ten-back";
const CATALOG: &str = r#"
[[organizers]]
id = "org"
name = "Line Hall"

[[events]]
id = "ten-back"
organizer = "org"
genre = "Test"
name = "Ten seats that come back"
venue = "Line Hall"
starts_at = "today+30d 19:00 +09:00"
doors_open = "today+30d 18:00 +09:00"
curtain = "today+30d 19:00 +09:00"
sale_start = "today-1d 00:00 +09:00"
sale_end = "today+30d 18:00 +09:00"

[[events.seat_types]]
code = "S"
name = "S seat"
price = 5000
count = 10
"#;

fn phone(i: usize) -> PhoneNumber {
    PhoneNumber::parse(&format!("+8190{:08}", i)).unwrap()
}

async fn join(store: &Store, i: usize, quantity: i64) -> Joined {
    Store::retry(|| async {
        let mut tx = store.begin().await?;
        let user = tx.touch_phone_user(&phone(i), "en", now()).await?;
        let joined = tx.join_line(EVENT, "S", &user, quantity, "page", now()).await?;
        tx.commit().await?;
        Ok::<_, dialticket::store::StoreError>(joined)
    })
    .await
    .unwrap()
}

async fn seats_given_back_at_once_go_to_the_line_in_join_order(backend: &str) {
    let Some((store, _db)) = store_with(backend, CATALOG).await else { return };
    let event = store.event(EVENT).await.unwrap().unwrap();
    // Ten holds (unpaid) take every seat.
    let mut holds = vec![];
    for i in 0..10 {
        let mut tx = store.begin().await.unwrap();
        let user = tx.touch_phone_user(&phone(i), "en", now()).await.unwrap();
        let p = tx.reserve(&user, &user.phone, &event, "S", 1, "konbini", &format!("hold-form-{i:08}"), now()).await;
        holds.push(p.unwrap().id);
        tx.commit().await.unwrap();
    }
    // Eight places in line, one after another: 9 seats asked for in all.
    let asked = [1, 2, 1, 1, 1, 1, 1, 1];
    for (n, q) in asked.iter().enumerate() {
        let Joined::Joined(place) = join(&store, 100 + n, *q).await else { panic!("{backend}: sold out, so joined") };
        assert_eq!(place.number, n as i64 + 1, "{backend}");
    }
    // All ten come back at once, while four more buyers join.
    let mut tasks = vec![];
    for id in holds {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            Store::retry(|| async {
                let mut tx = store.begin().await?;
                tx.release_seats(&id, now()).await?;
                tx.commit().await
            })
            .await
            .map(|_| None)
        }));
    }
    for i in 200..204 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { Ok(Some(join(&store, i, 1).await)) }));
    }
    let mut late = vec![];
    for t in tasks {
        if let Some(joined) = t.await.unwrap().unwrap_or_else(|e| panic!("{backend}: {e}")) {
            late.push(joined);
        }
    }

    // The eight places, in order, hold exactly what they asked for: 9 seats, none twice.
    let mut offered = HashSet::new();
    for (n, q) in asked.iter().enumerate() {
        let place = store.line_place(EVENT, &phone(100 + n)).await.unwrap().expect("open place");
        assert_eq!(place.state, PlaceState::Offered, "{backend}: place {n}");
        assert_eq!(place.seats.len() as i64, *q, "{backend}: place {n} {:?}", place.seats);
        for s in place.seats {
            assert!(offered.insert(s.clone()), "{backend}: seat {s} offered twice");
        }
    }
    // The tenth seat: offered to one of the late joiners, or on sale with nobody waiting.
    let mut late_offered = 0;
    for i in 200..204 {
        if let Some(place) = store.line_place(EVENT, &phone(i)).await.unwrap() {
            if place.state == PlaceState::Offered {
                late_offered += 1;
                for s in place.seats {
                    assert!(offered.insert(s.clone()), "{backend}: seat {s} offered twice");
                }
            }
        }
    }
    let free = store.seat_map(EVENT).await.unwrap().iter().filter(|s| s.free).count();
    assert_eq!(offered.len() + free, 10, "{backend}: every seat offered or free, none lost");
    assert_eq!(late_offered + free, 1, "{backend}: the tenth seat went to one place, or on sale");
    let waiting: i64 = store.line_lengths(EVENT).await.unwrap().iter().map(|(_, n)| n).sum();
    assert!(free == 0 || waiting == 0, "{backend}: {free} seats on sale while {waiting} wait");
    let told_free = late.iter().filter(|j| matches!(j, Joined::SeatsFree(_))).count();
    assert!(told_free == 0 || free > 0 || late_offered > 0, "{backend}: told to buy seats that were not there");
}

on_every_backend!(seats_given_back_at_once_go_to_the_line_in_join_order);
