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

/// Ten holds (unpaid), one seat each: every seat taken. Their purchase ids.
async fn hold_every_seat(store: &Store) -> Vec<String> {
    let event = store.event(EVENT).await.unwrap().unwrap();
    let mut holds = vec![];
    for i in 0..10 {
        let mut tx = store.begin().await.unwrap();
        let user = tx.touch_phone_user(&phone(i), "en", now()).await.unwrap();
        let p = tx.reserve(&user, &user.phone, &event, "S", 1, "konbini", &format!("hold-form-{i:08}"), now()).await;
        holds.push(p.unwrap().id);
        tx.commit().await.unwrap();
    }
    holds
}

async fn seats_given_back_at_once_go_to_the_line_in_join_order(backend: &str) {
    let Some((store, _db)) = store_with(backend, CATALOG).await else { return };
    // Ten holds (unpaid) take every seat.
    let holds = hold_every_seat(&store).await;
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

/// Give back hold `id` at `at` (its seat goes to the line).
async fn give_back(store: &Store, id: &str, at: i64) {
    let mut tx = store.begin().await.unwrap();
    tx.release_seats(id, at).await.unwrap();
    tx.commit().await.unwrap();
}

/// Close place `id` as the organizer does, at `at`.
async fn remove(store: &Store, id: &str, at: i64) -> bool {
    let mut tx = store.begin().await.unwrap();
    let closed = tx.close_place(id, PlaceState::Left, "account:test", at).await.unwrap();
    tx.commit().await.unwrap();
    closed
}

/// The line as the back office reads it ([`Store::line_of`]): every place in
/// join order with its state, its number while it waits and the seats held for
/// it; offers last the event's window from the catalog (`offer_minutes`, kept
/// when a reload does not say), and a place removed hands its seats on.
async fn the_line_as_the_organizer_sees_it(backend: &str) {
    let windowed = CATALOG.replace("venue = \"Line Hall\"\n", "venue = \"Line Hall\"\noffer_minutes = 15\n");
    assert_ne!(windowed, CATALOG);
    let Some((store, _db)) = store_with(backend, &windowed).await else { return };
    assert_eq!(store.event(EVENT).await.unwrap().unwrap().offer_minutes, 15, "{backend}");
    // A reload that does not say keeps it.
    let file = dialticket::events::CatalogFile::parse(CATALOG, chrono::Utc::now()).unwrap();
    store.load_catalog(&file).await.unwrap();
    assert_eq!(store.event(EVENT).await.unwrap().unwrap().offer_minutes, 15, "{backend}");

    let holds = hold_every_seat(&store).await;
    for (n, q) in [2, 1, 1].into_iter().enumerate() {
        assert!(matches!(join(&store, 100 + n, q).await, Joined::Joined(_)), "{backend}");
    }
    let line = store.line_of(EVENT).await.unwrap();
    let seen: Vec<(String, PlaceState, i64, usize)> =
        line.iter().map(|p| (p.phone.to_string(), p.state, p.number, p.seats.len())).collect();
    let want = |n: usize| phone(100 + n).to_string();
    assert_eq!(
        seen,
        [
            (want(0), PlaceState::Waiting, 1, 0),
            (want(1), PlaceState::Waiting, 2, 0),
            (want(2), PlaceState::Waiting, 3, 0)
        ],
        "{backend}"
    );
    assert!(store.line_of("no-such-event").await.unwrap().is_empty());

    // One seat back: held for the first place, which asked for two and waits on.
    let at = now();
    give_back(&store, &holds[0], at).await;
    let line = store.line_of(EVENT).await.unwrap();
    assert_eq!((line[0].state, line[0].seats.len(), line[0].number), (PlaceState::Waiting, 1, 1), "{backend}");
    // A second: offered both, for the event's fifteen minutes.
    give_back(&store, &holds[1], at).await;
    let line = store.line_of(EVENT).await.unwrap();
    assert_eq!((line[0].state, line[0].offer_until), (PlaceState::Offered, Some(at + 15 * 60)), "{backend}");
    assert_eq!(line[0].seats.len(), 2, "{backend}");
    assert_eq!((line[1].number, line[2].number), (1, 2), "{backend}: numbers count those waiting");

    // The second place removed: ended, and the third moves up.
    let later = at + 60;
    assert!(remove(&store, &line[1].id, later).await, "{backend}");
    assert!(!remove(&store, &line[1].id, later).await, "{backend}: once");
    // The first removed while offered: its two seats go to the third (one) and on sale (one).
    assert!(remove(&store, &line[0].id, later).await, "{backend}");
    let after = store.line_of(EVENT).await.unwrap();
    let states: Vec<PlaceState> = after.iter().map(|p| p.state).collect();
    assert_eq!(states, [PlaceState::Left, PlaceState::Left, PlaceState::Offered], "{backend}");
    assert_eq!((after[0].closed_at, after[0].seats.len()), (Some(later), 0), "{backend}");
    assert_eq!((after[2].seats.len(), after[2].offer_until), (1, Some(later + 15 * 60)), "{backend}");
    let free = store.seat_map(EVENT).await.unwrap().iter().filter(|s| s.free).count();
    assert_eq!(free, 1, "{backend}: the seat nobody waits for is on sale");
}

on_every_backend!(seats_given_back_at_once_go_to_the_line_in_join_order, the_line_as_the_organizer_sees_it);
