//! The TCP connection table: who may hold how many connections ([`TcpLimits`]),
//! and which connection gives way when it is full.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::TcpLimits;
use crate::sip::transport::source_of;

/// A connection that has not completed a message for this long may be closed to make
/// room when the table is full; younger ones are left their first moments.
pub(super) const EVICT_AFTER: Duration = Duration::from_secs(1);

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// The table is full (for non-trunks: all but the trunks' reserve) and no
    /// connection could give way.
    Full,
    /// The source holds its share.
    Source,
    /// The table is crowded and the source already holds its crowded share.
    Crowded,
}

/// A connection that has not completed a SIP message yet: it may be evicted.
#[derive(Debug)]
struct Waiting {
    source: IpAddr,
    opened: Instant,
    close: Arc<Notify>,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    /// Of `total`, the connections from addresses that are not a trunk's.
    untrusted: usize,
    by_source: HashMap<IpAddr, usize>,
    /// By connection id, so oldest first.
    waiting: BTreeMap<u64, Waiting>,
    /// Evicted connections whose places were given back already.
    released: HashSet<u64>,
}

impl State {
    fn release(&mut self, source: IpAddr, trunk: bool) {
        self.total = self.total.saturating_sub(1);
        if !trunk {
            self.untrusted = self.untrusted.saturating_sub(1);
        }
        if let Some(n) = self.by_source.get_mut(&source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_source.remove(&source);
            }
        }
    }

    /// Close the oldest connection that has not completed a message within
    /// [`EVICT_AFTER`], and give its place back now.
    fn evict_one(&mut self, now: Instant) -> bool {
        let victim = self.waiting.iter().find(|(_, w)| w.opened + EVICT_AFTER <= now).map(|(id, _)| *id);
        let Some(w) = victim.and_then(|id| self.waiting.remove(&id).map(|w| (id, w))) else { return false };
        let (id, w) = w;
        w.close.notify_one();
        self.released.insert(id);
        // Only connections from non-trunk addresses wait to be framed here.
        self.release(w.source, false);
        true
    }
}

/// Open connections, in all and per source ([`source_of`]: IPv4 address or IPv6 /64).
#[derive(Debug)]
pub(super) struct ConnTable {
    limits: TcpLimits,
    state: Mutex<State>,
}

impl ConnTable {
    pub(super) fn new(limits: TcpLimits) -> Arc<Self> {
        Arc::new(ConnTable { limits, state: Mutex::new(State::default()) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }

    /// A place for connection `id` from `ip` (`trunk`: a configured trunk's address).
    /// When the table is full, the oldest connection still without a complete message
    /// gives way (trunk connections never do).
    pub(super) fn take(self: &Arc<Self>, id: u64, ip: IpAddr, trunk: bool, now: Instant) -> Result<ConnSlot, Refused> {
        let l = &self.limits;
        let source = source_of(ip);
        let mut s = self.lock();
        let mine = s.by_source.get(&source).copied().unwrap_or(0);
        if !trunk && mine >= l.per_source {
            return Err(Refused::Source);
        }
        if !trunk && s.total >= l.crowded_at && mine >= l.per_source_when_crowded {
            return Err(Refused::Crowded);
        }
        // Trunks may take any place; others all but the trunks' reserve.
        let full = |s: &State| {
            s.total >= l.max_connections || (!trunk && s.untrusted >= l.max_connections.saturating_sub(l.trunk_reserve))
        };
        if full(&s) {
            // Room is made only if a connection gives way and that is enough.
            let made_room = s.evict_one(now) && !full(&s);
            if !made_room {
                return Err(Refused::Full);
            }
        }
        s.total += 1;
        if !trunk {
            s.untrusted += 1;
        }
        *s.by_source.entry(source).or_insert(0) += 1;
        let close = Arc::new(Notify::new());
        if !trunk {
            s.waiting.insert(id, Waiting { source, opened: now, close: close.clone() });
        }
        Ok(ConnSlot { table: self.clone(), id, source, trunk, close })
    }

    #[cfg(test)]
    pub(super) fn open(&self) -> usize {
        self.lock().total
    }
}

/// A counted place in the connection table, given back on drop.
pub(super) struct ConnSlot {
    table: Arc<ConnTable>,
    id: u64,
    source: IpAddr,
    trunk: bool,
    close: Arc<Notify>,
}

impl ConnSlot {
    /// The connection completed a SIP message: it no longer gives way to newcomers.
    pub(super) fn framed(&self) {
        self.table.lock().waiting.remove(&self.id);
    }

    /// Resolves once the connection was chosen to make room.
    pub(super) async fn evicted(&self) {
        self.close.notified().await
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut s = self.table.lock();
        s.waiting.remove(&self.id);
        if !s.released.remove(&self.id) {
            s.release(self.source, self.trunk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn limits() -> TcpLimits {
        TcpLimits {
            max_connections: 20,
            trunk_reserve: 4,
            per_source: 6,
            crowded_at: 12,
            per_source_when_crowded: 2,
            ..TcpLimits::default()
        }
    }

    #[test]
    fn a_few_sources_cannot_take_the_table_from_newcomers_or_trunks() {
        let table = ConnTable::new(limits());
        let now = Instant::now();
        let mut held = Vec::new();
        let mut id = 0;
        let mut take = |table: &Arc<ConnTable>, a: &str, trunk: bool| {
            id += 1;
            table.take(id, ip(a), trunk, now)
        };
        // One source: its share, then no more.
        for _ in 0..6 {
            held.push(take(&table, "192.0.2.1", false).unwrap());
        }
        assert_eq!(take(&table, "192.0.2.1", false).err(), Some(Refused::Source));
        // An IPv6 /64 is one source, whatever the interface identifiers.
        for i in 0..6 {
            held.push(take(&table, &format!("2001:db8:1:2::{i:x}"), false).unwrap());
        }
        assert_eq!(take(&table, "2001:db8:1:2:ffff::1", false).err(), Some(Refused::Source));
        // 12 open: crowded. A source holding 2 gets no more; a new one still gets in.
        held.push(take(&table, "192.0.2.3", false).unwrap());
        held.push(take(&table, "192.0.2.3", false).unwrap());
        assert_eq!(take(&table, "192.0.2.3", false).err(), Some(Refused::Crowded));
        for i in 10..12 {
            held.push(take(&table, &format!("192.0.2.{i}"), false).unwrap());
        }
        assert_eq!(table.open(), 16);
        // The last 4 places are the trunks'; trunks have no per-source share. Nothing is
        // old enough to give way yet.
        assert_eq!(take(&table, "192.0.2.99", false).err(), Some(Refused::Full));
        for _ in 0..4 {
            held.push(take(&table, "198.51.100.1", true).unwrap());
        }
        assert_eq!(take(&table, "198.51.100.1", true).err(), Some(Refused::Full));
        // Places come back when connections close.
        held.clear();
        assert_eq!(table.open(), 0);
        assert!(take(&table, "192.0.2.1", false).is_ok());
    }

    #[tokio::test]
    async fn when_full_the_oldest_connection_without_a_message_gives_way() {
        let table = ConnTable::new(limits());
        let t0 = Instant::now();
        // 16 untrusted connections (the untrusted part of the table), from 16 sources.
        let held: Vec<ConnSlot> =
            (0..16).map(|i| table.take(i, ip(&format!("192.0.2.{}", i + 1)), false, t0).unwrap()).collect();
        // The oldest completed a message: it stays. Too young to evict: refused.
        held[0].framed();
        assert_eq!(table.take(100, ip("203.0.113.1"), false, t0).err(), Some(Refused::Full));
        // A second later the oldest still silent one (id 1) is closed for the newcomer.
        let later = t0 + EVICT_AFTER;
        let newcomer = table.take(101, ip("203.0.113.1"), false, later).unwrap();
        assert_eq!(table.open(), 16);
        tokio::time::timeout(Duration::from_secs(5), held[1].evicted()).await.expect("id 1 evicted");
        // Its place was given back once: dropping it changes no count.
        let mut held = held;
        drop(held.remove(1));
        assert_eq!(table.open(), 16);
        drop(newcomer);
        assert_eq!(table.open(), 15);
        // A source at its crowded share does not evict anyone.
        let _a = table.take(102, ip("192.0.2.1"), false, later).unwrap();
        assert_eq!(table.take(103, ip("192.0.2.1"), false, later).err(), Some(Refused::Crowded));
        // The trunks fill their reserve: the whole table is held, and a newcomer still
        // gets the place of a silent connection; a trunk's never gives way.
        let trunks: Vec<ConnSlot> =
            (0..4).map(|i| table.take(200 + i, ip("198.51.100.1"), true, later).unwrap()).collect();
        assert_eq!(table.open(), 20);
        let _b = table.take(104, ip("203.0.113.2"), false, later).unwrap();
        assert_eq!(table.open(), 20);
        drop(held);
        drop(_a);
        drop(_b);
        assert_eq!(table.open(), trunks.len());
    }
}
