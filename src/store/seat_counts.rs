//! Free seats per seat type, as the shop shows them, kept for a second.
//!
//! Counting an event's free seats is a scan of its seat rows (`COUNT(*)` over
//! the `seats_free` index): ~0.5 ms for 20,000 seats on PostgreSQL, ~3 ms while
//! the rows' visibility is being rewritten by a sale, for every page or order
//! that named the event. In a rush that was the largest part of a purchase.
//! So the counts are kept per event, and:
//! - this gateway's own committed sales and releases change them at once (a
//!   [`SeatDelta`] per seat type, applied when the transaction commits), so one
//!   gateway's pages are exact about its own sales;
//! - other gateways' sales show after at most [`FRESH_FOR`];
//! - a change of the seats themselves (a catalog load, an edit of an event's
//!   seats) forgets the event's counts.
//!
//! The figure is what the pages show and what a form is checked against
//! before anything is reserved; who gets a seat is decided by the seat rows
//! alone (`UPDATE … WHERE state = 'free'`), never by this count.
//!
//! Also kept: where a seat type's free seats begin ([`SeatCounts::first_free`]).
//! A sale rewrites a seat's `state`, and on PostgreSQL the index entry that
//! said "free" stays behind until vacuum: picking the best free seat by
//! walking the index from the start walked past every seat sold so far (8 ms a
//! pick after 4,000 seats, one at a time). A pick starts at the lowest
//! position this gateway saw taken instead, and once a second from the start
//! (seats another gateway gave back below it are found then, or when the pick
//! from there finds too few).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long counts read from the database are used before they are read again.
pub(super) const FRESH_FOR: Duration = Duration::from_secs(1);

/// Seats of one seat type that became sold (negative) or free (positive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SeatDelta {
    pub event_id: String,
    pub seat_type: String,
    pub free: i64,
    /// The lowest position taken (a sale) or given back (a release).
    pub position: i64,
}

#[derive(Debug)]
struct FirstFree {
    position: i64,
    since: Instant,
}

#[derive(Debug)]
struct Counts {
    read_at: Instant,
    free: HashMap<String, i64>,
}

/// The kept counts of every event this gateway showed lately.
#[derive(Debug, Default)]
pub(super) struct SeatCounts {
    events: Mutex<HashMap<String, Counts>>,
    first_free: Mutex<HashMap<(String, String), FirstFree>>,
}

impl SeatCounts {
    fn events(&self) -> std::sync::MutexGuard<'_, HashMap<String, Counts>> {
        // A panic while holding this lock leaves plain counts: still usable.
        self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `event_id`'s free seats per seat type, if read less than [`FRESH_FOR`] before `now`.
    pub(super) fn get(&self, event_id: &str, now: Instant) -> Option<HashMap<String, i64>> {
        let events = self.events();
        let counts = events.get(event_id)?;
        (now.saturating_duration_since(counts.read_at) < FRESH_FOR).then(|| counts.free.clone())
    }

    /// Keep counts just read from the database at `read_at`.
    pub(super) fn put(&self, event_id: &str, free: HashMap<String, i64>, read_at: Instant) {
        self.events().insert(event_id.to_string(), Counts { read_at, free });
    }

    /// Apply this gateway's committed changes.
    pub(super) fn apply(&self, deltas: &[SeatDelta], now: Instant) {
        let mut events = self.events();
        for d in deltas {
            if let Some(counts) = events.get_mut(&d.event_id) {
                let n = counts.free.entry(d.seat_type.clone()).or_insert(0);
                *n = (*n + d.free).max(0);
            }
        }
        drop(events);
        let mut first = self.first_free.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for d in deltas {
            let key = (d.event_id.clone(), d.seat_type.clone());
            match first.get_mut(&key) {
                // A seat given back below where picks start: start there.
                Some(f) if d.free > 0 => f.position = f.position.min(d.position),
                Some(f) => f.position = f.position.max(d.position),
                None if d.free < 0 => {
                    first.insert(key, FirstFree { position: d.position, since: now });
                }
                None => {}
            }
        }
    }

    /// The position a pick of `seat_type`'s best free seats may start at: every
    /// seat below it was taken when this gateway last looked (0: from the start).
    pub(super) fn first_free(&self, event_id: &str, seat_type: &str, now: Instant) -> i64 {
        let mut first = self.first_free.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (event_id.to_string(), seat_type.to_string());
        match first.get(&key) {
            Some(f) if now.saturating_duration_since(f.since) < FRESH_FOR => f.position,
            Some(_) => {
                first.remove(&key);
                0
            }
            None => 0,
        }
    }

    /// Read `event_id`'s counts again next time, and pick from its first seat
    /// (its seats changed wholesale).
    pub(super) fn forget(&self, event_id: &str) {
        self.events().remove(event_id);
        let mut first = self.first_free.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        first.retain(|(event, _), _| event != event_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(event: &str, seat_type: &str, free: i64) -> SeatDelta {
        SeatDelta { event_id: event.into(), seat_type: seat_type.into(), free, position: 1 }
    }

    #[test]
    fn counts_are_kept_for_a_second_then_read_again() {
        let a = SeatCounts::default();
        let t0 = Instant::now();
        assert_eq!(a.get("e", t0), None, "nothing kept yet");
        a.put("e", HashMap::from([("S".to_string(), 10)]), t0);
        assert_eq!(a.get("e", t0 + Duration::from_millis(999)).and_then(|c| c.get("S").copied()), Some(10));
        assert_eq!(a.get("e", t0 + FRESH_FOR), None, "stale after FRESH_FOR");
    }

    #[test]
    fn own_sales_and_releases_change_the_kept_counts_at_once() {
        let a = SeatCounts::default();
        let t0 = Instant::now();
        a.put("e", HashMap::from([("S".to_string(), 3), ("A".to_string(), 5)]), t0);
        a.apply(&[delta("e", "S", -2), delta("e", "A", 1), delta("other", "S", -1)], t0);
        let c = a.get("e", t0).unwrap_or_default();
        assert_eq!((c.get("S"), c.get("A")), (Some(&1), Some(&6)));
        assert_eq!(a.get("other", t0), None, "an event not kept stays unknown (read when asked)");
        a.apply(&[delta("e", "S", -5)], t0);
        assert_eq!(a.get("e", t0).and_then(|c| c.get("S").copied()), Some(0), "never below zero");
        a.forget("e");
        assert_eq!(a.get("e", t0), None);
    }

    #[test]
    fn picks_start_where_this_gateway_last_took_seats_and_from_the_start_each_second() {
        let a = SeatCounts::default();
        let t0 = Instant::now();
        let at = |free: i64, position: i64| SeatDelta { event_id: "e".into(), seat_type: "S".into(), free, position };
        assert_eq!(a.first_free("e", "S", t0), 0, "nothing taken yet: from the start");
        a.apply(&[at(-2, 10)], t0);
        a.apply(&[at(-2, 14)], t0);
        a.apply(&[at(-2, 12)], t0);
        assert_eq!(a.first_free("e", "S", t0), 14, "the highest lowest-taken position");
        a.apply(&[at(1, 3)], t0);
        assert_eq!(a.first_free("e", "S", t0), 3, "a seat given back below: picks start there");
        assert_eq!(a.first_free("e", "A", t0), 0, "per seat type");
        assert_eq!(a.first_free("e", "S", t0 + FRESH_FOR), 0, "from the start again after a second");
        a.apply(&[at(-2, 20)], t0 + FRESH_FOR);
        assert_eq!(a.first_free("e", "S", t0 + FRESH_FOR), 20);
        a.forget("e");
        assert_eq!(a.first_free("e", "S", t0 + FRESH_FOR), 0, "seats changed wholesale: from the start");
    }
}
