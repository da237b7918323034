//! The flood and abuse limiter: how many requests one source address or one
//! caller number may send before it is shut out for a while.
//!
//! The model is Kamailio's `pike` module: requests are counted per key (a
//! [`Key::Source`] address or a [`Key::Caller`] number); a key that goes over
//! its density is *blocked* for [`FloodConfig::block_time`], and every request
//! it sends meanwhile is refused without being looked at further. Trusted
//! peers (the carriers' trunks, which carry everybody's calls) are on an
//! [`Allowlist`] and never counted.
//!
//! * **Token bucket, not a fixed window.** Each key has a bucket of
//!   `rate.count` tokens that refills at `rate.count` per `rate.per`; a request
//!   takes one token, and a request that finds none blocks the key. A caller
//!   who dials three times in ten seconds and then not for an hour passes
//!   (the bucket's capacity is the burst allowed), while a sustained flood
//!   drains it and trips. A fixed window would also let twice the density
//!   through across a window edge. The [`Rate`] comes with each check (the
//!   dialplan's rule or trunk sets it), and the bucket takes whichever it is
//!   given: capacity and refill follow the latest rate.
//! * **A block is not a fresh start.** The bucket keeps refilling while the key
//!   is blocked, and no faster: when the block ends, the key has what the rate
//!   gave it meanwhile. A block is not extended by the requests it refuses —
//!   a spoofed flood in someone else's name would otherwise lock them out for
//!   as long as it lasts; a flood that goes on gets a bucketful through and is
//!   blocked again ([`FloodStats::blocks_total`] shows it).
//! * **Refuse, then drop.** The first [`FloodConfig::refusals_before_drop`]
//!   requests of a block are [`Verdict::Refuse`]d — the SIP layer answers them
//!   503 with `Retry-After` (RFC 3261 §21.5.4), which well-behaved peers obey
//!   — and the rest are [`Verdict::Drop`]ped. Nothing in RFC 3261 requires a
//!   server to answer a request it will not serve, and answering a flood
//!   multiplies it: with a spoofed source address every 503 lands on an
//!   innocent host, so a flood would get us to send as much traffic as it
//!   sends us. The first refusal of a block carries `newly_blocked`, the one
//!   moment worth a log line.
//! * **Bounded memory.** At most [`FloodConfig::max_keys`] keys are tracked.
//!   A bucket that is full and not blocked carries no information (a fresh one
//!   is the same), so those are evicted first; if the table is still full of
//!   keys that are busy or blocked, a new key is *allowed without being
//!   tracked* ([`FloodStats::untracked`]). Failing closed instead would hand
//!   an attacker who fills the table with spoofed addresses a way to shut out
//!   every new caller; failing open keeps the blocks already in place (blocked
//!   keys are never evicted), leaves the SIP transaction limits as the
//!   per-source backstop, and lasts only until the spoofed keys' buckets refill
//!   and can be evicted.
//! * **Cheap per request.** Keys are spread by hash over 16 mutex-guarded
//!   shards (one if `max_keys` is below 1024), hashed with SipHash under a
//!   random key, so an attacker cannot aim at one shard or one hash chain; a
//!   check locks one shard for a lookup. Evicting scans a shard, but only
//!   every minute, or when a new key finds its shard full — and then at most
//!   once a second per shard.
//!
//! Time is passed in (`now`), so nothing here sleeps or reads a clock, and
//! the tests run flood scenarios in microseconds.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use serde::{Serialize, Serializer};

use crate::dialplan::policy::{Rate, RateLimits};
use crate::sync::lock;

mod ceilings;
mod key;

pub use ceilings::Ceilings;
pub use key::{source_of, Key, KeyError};

/// Requests starting something new per source address, where neither the
/// dialplan's `[settings]` nor the address's trunk sets `rate_limit.per_source`.
/// Generous for a PBX, far below a flood.
pub const DEFAULT_PER_SOURCE: Rate = Rate { count: 20, per: Duration::from_secs(1) };
/// Calls per caller number, where no rule, trunk or `[settings]` sets `rate_limit.per_caller`.
pub const DEFAULT_PER_CALLER: Rate = Rate { count: 20, per: Duration::from_secs(60) };

/// How often a shard looks for idle buckets even when it is not full.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// The least time between two sweeps of one shard forced by a full table.
const FORCED_SWEEP_GAP: Duration = Duration::from_secs(1);
/// Shards of a large table; small tables (tests) use one, so the bound is not split too thin.
const SHARDS: usize = 16;
const MIN_KEYS_PER_SHARD: usize = 64;

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go on with it.
    Allow,
    /// The key is blocked: answer 503 with `Retry-After` (rounded up to whole
    /// seconds, see [`Verdict::retry_after_secs`]). `newly_blocked` is set on the
    /// request that tripped the block, once per block: log that one.
    Refuse { retry_after: Duration, newly_blocked: bool },
    /// The key is blocked and has had its answers: send nothing.
    Drop,
}

impl Verdict {
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow)
    }

    /// The `Retry-After` value of a refusal, in whole seconds rounded up (a
    /// peer told `0` would retry at once).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Verdict::Refuse { retry_after, .. } => Some(ceil_secs(*retry_after)),
            _ => None,
        }
    }
}

/// The limiter's settings; the rates come with each check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloodConfig {
    /// How long a key that went over its rate is refused.
    pub block_time: Duration,
    /// How many requests of one block are answered (503) before the rest are
    /// dropped. The request that trips the block is always answered, so `0`
    /// acts as `1`.
    pub refusals_before_drop: u32,
    /// The most keys tracked at once (memory bound, roughly 150–200 bytes a key).
    pub max_keys: usize,
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig { block_time: Duration::from_secs(30), refusals_before_drop: 10, max_keys: 100_000 }
    }
}

/// Source addresses that are never counted: trusted peers.
///
/// Only [`Key::Source`] keys are exempt. A caller's number is limited even
/// when a trusted trunk carries the call — that is where caller numbers mean
/// something, and a per-caller limit set on a trunk is meant for its callers.
pub struct Allowlist(Option<Box<dyn Fn(IpAddr) -> bool + Send + Sync>>);

impl Allowlist {
    /// Nobody is exempt.
    pub fn none() -> Allowlist {
        Allowlist(None)
    }

    /// Addresses inside any of `nets` are exempt.
    pub fn nets(nets: impl IntoIterator<Item = IpNet>) -> Allowlist {
        let nets: Vec<IpNet> = nets.into_iter().collect();
        if nets.is_empty() {
            return Allowlist::none();
        }
        Allowlist::from_fn(move |ip| nets.iter().any(|n| n.contains(&ip)))
    }

    /// Addresses for which `exempt` says `true` are exempt, e.g. the trunks of
    /// the live (hot-reloaded) dialplan. It is called with the canonical
    /// address (IPv4, not IPv4-mapped IPv6) on every check of a source key, so
    /// it should be quick and must not block.
    pub fn from_fn(exempt: impl Fn(IpAddr) -> bool + Send + Sync + 'static) -> Allowlist {
        Allowlist(Some(Box::new(exempt)))
    }

    /// The trunks of the live dialplan that set no `rate_limit.per_source` of
    /// their own: a trunk carries everybody's calls, so its addresses are not
    /// counted per source unless the admin says how.
    pub fn trunks(dialplan: crate::dialplan::DialplanHandle) -> Allowlist {
        Allowlist::from_fn(move |ip| dialplan.borrow().trunk_for(ip).is_some_and(|t| t.rate_limit.per_source.is_none()))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.as_ref().is_some_and(|f| f(ip))
    }
}

impl fmt::Debug for Allowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Allowlist(..)" } else { "Allowlist(none)" })
    }
}

/// One blocked key, for the admin listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockInfo {
    pub key: Key,
    #[serde(skip)]
    pub blocked_since: Instant,
    /// How long it has been blocked (JSON: whole seconds).
    #[serde(rename = "blocked_for_secs", serialize_with = "floor_secs_ser")]
    pub blocked_for: Duration,
    /// How long it stays blocked (JSON: whole seconds, rounded up like `Retry-After`).
    #[serde(rename = "remaining_secs", serialize_with = "ceil_secs_ser")]
    pub remaining: Duration,
    /// Requests answered with a refusal during this block (the tripping one included).
    pub refused: u64,
    /// Requests dropped silently during this block.
    pub dropped: u64,
}

/// Counters since start, and the table now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FloodStats {
    pub allowed: u64,
    pub refused: u64,
    pub dropped: u64,
    /// Blocks begun (a key blocked twice counts twice).
    pub blocks_total: u64,
    /// Requests from allowlisted sources (allowed, not counted).
    pub exempt: u64,
    /// Requests allowed without counting because the table was full: should be 0;
    /// if it is not, `max_keys` is too small or the table is under attack.
    pub untracked: u64,
    /// Idle keys forgotten to make room or by the periodic sweep.
    pub evicted: u64,
    pub tracked_keys: u64,
    pub currently_blocked: u64,
}

/// The limiter. Share it as `Arc<Limiter>`; every method takes `&self`.
#[derive(Debug)]
pub struct Limiter {
    config: FloodConfig,
    allowlist: Allowlist,
    shards: Box<[Mutex<Shard>]>,
    /// Keys each shard may hold; `shards.len() * per_shard <= max_keys`.
    per_shard: usize,
    /// Picks the shard (keyed randomly, so shards cannot be targeted).
    hasher: RandomState,
    counters: Counters,
}

#[derive(Debug, Default)]
struct Counters {
    allowed: AtomicU64,
    refused: AtomicU64,
    dropped: AtomicU64,
    blocks: AtomicU64,
    exempt: AtomicU64,
    untracked: AtomicU64,
    evicted: AtomicU64,
}

#[derive(Debug, Default)]
struct Shard {
    buckets: HashMap<Key, Bucket>,
    /// When the periodic sweep is next due (set by the first check).
    next_sweep: Option<Instant>,
    /// Before this, a full shard does not sweep again: it fails open.
    next_forced_sweep: Option<Instant>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    /// When `tokens` was last brought up to date.
    last: Instant,
    /// The rate of the latest check, for telling in a sweep whether the bucket is full.
    rate: Rate,
    block: Option<Block>,
}

#[derive(Debug)]
struct Block {
    since: Instant,
    until: Instant,
    refused: u64,
    dropped: u64,
}

/// The dialplan never gives `0/…` (its parser refuses it) nor a zero period;
/// should one come anyway, it is read as one request per millisecond at worst.
fn sane(rate: Rate) -> Rate {
    Rate { count: rate.count.max(1), per: rate.per.max(Duration::from_millis(1)) }
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket { tokens: f64::from(rate.count), last: now, rate, block: None }
    }

    /// Tokens at `now` under the stored rate, without changing anything.
    fn tokens_at(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        let cap = f64::from(self.rate.count);
        (self.tokens + elapsed * cap / self.rate.per.as_secs_f64()).min(cap)
    }

    /// Not blocked (or the block has run out) and full: a fresh bucket is the same.
    fn idle(&self, now: Instant) -> bool {
        self.block.as_ref().is_none_or(|b| now >= b.until) && self.tokens_at(now) >= f64::from(self.rate.count)
    }

    fn admit(&mut self, rate: Rate, now: Instant, config: &FloodConfig, counters: &Counters) -> Verdict {
        if let Some(block) = &mut self.block {
            if now < block.until {
                if block.refused < u64::from(config.refusals_before_drop.max(1)) {
                    block.refused += 1;
                    counters.refused.fetch_add(1, Ordering::Relaxed);
                    return Verdict::Refuse { retry_after: block.until - now, newly_blocked: false };
                }
                block.dropped += 1;
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                return Verdict::Drop;
            }
            self.block = None;
        }
        // The latest rate applies, to the time since the last check too.
        self.rate = rate;
        self.tokens = self.tokens_at(now);
        self.last = self.last.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            counters.allowed.fetch_add(1, Ordering::Relaxed);
            return Verdict::Allow;
        }
        self.block = Some(Block { since: now, until: now + config.block_time, refused: 1, dropped: 0 });
        counters.blocks.fetch_add(1, Ordering::Relaxed);
        counters.refused.fetch_add(1, Ordering::Relaxed);
        Verdict::Refuse { retry_after: config.block_time, newly_blocked: true }
    }
}

impl Shard {
    /// Forget idle buckets; clear blocks that have run out. O(keys in the shard).
    fn sweep(&mut self, now: Instant, counters: &Counters) {
        let before = self.buckets.len();
        self.buckets.retain(|_, b| {
            if b.block.as_ref().is_some_and(|bl| now >= bl.until) {
                b.block = None;
            }
            !b.idle(now)
        });
        counters.evicted.fetch_add((before - self.buckets.len()) as u64, Ordering::Relaxed);
    }
}

impl Limiter {
    pub fn new(config: FloodConfig, allowlist: Allowlist) -> Limiter {
        let max_keys = config.max_keys.max(1);
        let shards = if max_keys >= SHARDS * MIN_KEYS_PER_SHARD { SHARDS } else { 1 };
        Limiter {
            per_shard: max_keys / shards,
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            config,
            allowlist,
            hasher: RandomState::new(),
            counters: Counters::default(),
        }
    }

    pub fn config(&self) -> &FloodConfig {
        &self.config
    }

    fn shard(&self, key: &Key) -> MutexGuard<'_, Shard> {
        lock(&self.shards[self.hasher.hash_one(key) as usize % self.shards.len()])
    }

    /// Count one request of `key` against `rate`, at `now`.
    pub fn check(&self, key: &Key, rate: Rate, now: Instant) -> Verdict {
        // Trunks are exempt by their own address, before it is counted as its /64.
        if let Key::Source(ip) = key {
            if self.allowlist.contains(ip.to_canonical()) {
                self.counters.exempt.fetch_add(1, Ordering::Relaxed);
                return Verdict::Allow;
            }
        }
        if let Some(canonical) = key.canonical() {
            return self.check(&canonical, rate, now);
        }
        let rate = sane(rate);
        let mut shard = self.shard(key);
        if shard.next_sweep.is_none_or(|at| now >= at) {
            if shard.next_sweep.is_some() {
                shard.sweep(now, &self.counters);
            }
            shard.next_sweep = Some(now + SWEEP_INTERVAL);
        }
        if let Some(bucket) = shard.buckets.get_mut(key) {
            return bucket.admit(rate, now, &self.config, &self.counters);
        }
        if shard.buckets.len() >= self.per_shard {
            if shard.next_forced_sweep.is_none_or(|at| now >= at) {
                shard.sweep(now, &self.counters);
                shard.next_forced_sweep = Some(now + FORCED_SWEEP_GAP);
            }
            if shard.buckets.len() >= self.per_shard {
                // Fail open (module docs): the keys we track are the ones that matter.
                self.counters.untracked.fetch_add(1, Ordering::Relaxed);
                return Verdict::Allow;
            }
        }
        let mut bucket = Bucket::full(rate, now);
        let verdict = bucket.admit(rate, now, &self.config, &self.counters);
        shard.buckets.insert(key.clone(), bucket);
        verdict
    }

    /// Check a call against the limits its route sets: the source address
    /// first, then the caller's number (if known). A call refused by its source
    /// takes nothing from its caller's budget.
    pub fn check_call(&self, source: IpAddr, caller: Option<&Key>, limits: &RateLimits, now: Instant) -> Verdict {
        if let Some(rate) = limits.per_source {
            let verdict = self.check(&Key::Source(source), rate, now);
            if !verdict.is_allow() {
                return verdict;
            }
        }
        match (caller, limits.per_caller) {
            (Some(key), Some(rate)) => self.check(key, rate, now),
            _ => Verdict::Allow,
        }
    }

    /// The keys blocked at `now`, longest blocked first.
    pub fn blocked(&self, now: Instant) -> Vec<BlockInfo> {
        let mut list = Vec::new();
        for shard in self.shards.iter() {
            let shard = lock(shard);
            for (key, bucket) in &shard.buckets {
                if let Some(b) = bucket.block.as_ref().filter(|b| now < b.until) {
                    list.push(BlockInfo {
                        key: key.clone(),
                        blocked_since: b.since,
                        blocked_for: now.saturating_duration_since(b.since),
                        remaining: b.until - now,
                        refused: b.refused,
                        dropped: b.dropped,
                    });
                }
            }
        }
        list.sort_by(|a, b| a.blocked_since.cmp(&b.blocked_since).then_with(|| a.key.cmp(&b.key)));
        list
    }

    /// Forget `key` — its block and its count — so its next request is allowed.
    /// `true` if it had a block (one that ran out a moment ago, not yet noticed
    /// by a request, counts too).
    pub fn unblock(&self, key: &Key) -> bool {
        if let Some(canonical) = key.canonical() {
            return self.unblock(&canonical);
        }
        self.shard(key).buckets.remove(key).is_some_and(|b| b.block.is_some())
    }

    /// Counters, and the table as it is at `now`. Locks each shard in turn and
    /// walks it (for `currently_blocked`): for the admin API and metrics, not per request.
    pub fn stats(&self, now: Instant) -> FloodStats {
        let (mut tracked, mut blocked) = (0u64, 0u64);
        for shard in self.shards.iter() {
            let shard = lock(shard);
            tracked += shard.buckets.len() as u64;
            blocked +=
                shard.buckets.values().filter(|b| b.block.as_ref().is_some_and(|b| now < b.until)).count() as u64;
        }
        let c = &self.counters;
        FloodStats {
            allowed: c.allowed.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            blocks_total: c.blocks.load(Ordering::Relaxed),
            exempt: c.exempt.load(Ordering::Relaxed),
            untracked: c.untracked.load(Ordering::Relaxed),
            evicted: c.evicted.load(Ordering::Relaxed),
            tracked_keys: tracked,
            currently_blocked: blocked,
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn ceil_secs_ser<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(ceil_secs(*d))
}

fn floor_secs_ser<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

#[cfg(test)]
mod tests {
    use crate::phone::PhoneNumber;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn per_sec(count: u32) -> Rate {
        Rate { count, per: secs(1) }
    }

    fn src(last: u8) -> Key {
        Key::Source(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
    }

    fn caller(n: &str) -> Key {
        Key::Caller(PhoneNumber::parse(n).unwrap())
    }

    fn limiter(refusals_before_drop: u32) -> Limiter {
        Limiter::new(FloodConfig { refusals_before_drop, ..FloodConfig::default() }, Allowlist::none())
    }

    #[test]
    fn a_burst_up_to_the_density_passes_and_refills() {
        let l = limiter(10);
        let t0 = Instant::now();
        // Ten at once (a PBX re-registering its lines), then ten again a second later.
        for round in 0..3 {
            for i in 0..10 {
                assert_eq!(
                    l.check(&src(2), per_sec(10), t0 + secs(round) + ms(i)),
                    Verdict::Allow,
                    "round {round}, #{i}"
                );
            }
        }
        let s = l.stats(t0 + secs(3));
        assert_eq!((s.allowed, s.refused, s.blocks_total, s.currently_blocked), (30, 0, 0, 0));
    }

    #[test]
    fn a_sustained_flood_is_refused_then_dropped() {
        let l = limiter(3);
        let t0 = Instant::now();
        // 100 requests a second against 5/s: the bucket holds five.
        let verdicts: Vec<Verdict> = (0..40).map(|i| l.check(&src(2), per_sec(5), t0 + ms(i * 10))).collect();
        assert!(verdicts[..5].iter().all(Verdict::is_allow), "{verdicts:?}");
        // The 6th (50 ms in) finds the bucket empty: 0.25 tokens have come back meanwhile.
        assert_eq!(verdicts[5], Verdict::Refuse { retry_after: secs(30), newly_blocked: true });
        assert_eq!(verdicts[6], Verdict::Refuse { retry_after: secs(30) - ms(10), newly_blocked: false });
        assert_eq!(verdicts[7], Verdict::Refuse { retry_after: secs(30) - ms(20), newly_blocked: false });
        assert!(verdicts[8..].iter().all(|v| *v == Verdict::Drop), "{verdicts:?}");
        assert_eq!(verdicts[6].retry_after_secs(), Some(30), "rounded up for Retry-After");

        let now = t0 + ms(400);
        let blocked = l.blocked(now);
        assert_eq!(blocked.len(), 1);
        let b = &blocked[0];
        assert_eq!(
            (&b.key, b.blocked_since, b.remaining, b.refused, b.dropped),
            (&src(2), t0 + ms(50), secs(30) - ms(350), 3, 32)
        );
        let s = l.stats(now);
        assert_eq!((s.allowed, s.refused, s.dropped, s.blocks_total, s.currently_blocked), (5, 3, 32, 1, 1));
    }

    #[test]
    fn a_second_source_is_unaffected_while_the_first_is_blocked() {
        let l = limiter(10);
        let t0 = Instant::now();
        for i in 0..20 {
            l.check(&src(2), per_sec(5), t0 + ms(i));
        }
        assert!(!l.check(&src(2), per_sec(5), t0 + ms(20)).is_allow());
        for i in 0..5 {
            assert_eq!(l.check(&src(3), per_sec(5), t0 + ms(20 + i)), Verdict::Allow);
        }
        let blocked: Vec<Key> = l.blocked(t0 + ms(30)).into_iter().map(|b| b.key).collect();
        assert_eq!(blocked, [src(2)]);
    }

    #[test]
    fn the_block_ends_after_block_time_however_hard_the_flood_goes_on() {
        let l = limiter(10);
        let t0 = Instant::now();
        for i in 0..6 {
            l.check(&src(2), per_sec(5), t0 + ms(i));
        }
        let since = t0 + ms(5);
        assert_eq!(l.blocked(since)[0].blocked_since, since);
        // The flood keeps going for the whole block: it does not extend it.
        for i in 1..3000 {
            assert!(!l.check(&src(2), per_sec(5), since + ms(i * 10)).is_allow());
        }
        assert_eq!(l.check(&src(2), per_sec(5), since + secs(30) - ms(1)), Verdict::Drop);
        assert_eq!(l.check(&src(2), per_sec(5), since + secs(30)), Verdict::Allow);
        assert!(l.blocked(since + secs(30)).is_empty());
        assert_eq!(l.stats(since + secs(30)).currently_blocked, 0);
    }

    #[test]
    fn after_a_block_the_key_has_only_what_the_rate_gave_it() {
        let l = limiter(10);
        let t0 = Instant::now();
        let two_a_minute = Rate { count: 2, per: secs(60) };
        assert!(l.check(&caller("+819012345678"), two_a_minute, t0).is_allow());
        assert!(l.check(&caller("+819012345678"), two_a_minute, t0 + secs(1)).is_allow());
        assert!(matches!(
            l.check(&caller("+819012345678"), two_a_minute, t0 + secs(2)),
            Verdict::Refuse { newly_blocked: true, .. }
        ));
        // 30 s later one token (of two) has come back: one call, then blocked again.
        assert!(l.check(&caller("+819012345678"), two_a_minute, t0 + secs(32)).is_allow());
        assert!(matches!(
            l.check(&caller("+819012345678"), two_a_minute, t0 + secs(33)),
            Verdict::Refuse { newly_blocked: true, .. }
        ));
        assert_eq!(l.stats(t0 + secs(33)).blocks_total, 2);
    }

    #[test]
    fn unblock_clears_a_block_at_once() {
        let l = limiter(10);
        let t0 = Instant::now();
        for i in 0..10 {
            l.check(&src(2), per_sec(5), t0 + ms(i));
        }
        assert_eq!(l.blocked(t0 + ms(10)).len(), 1);
        assert!(l.unblock(&"source:127.0.0.2".parse().unwrap()));
        assert!(l.blocked(t0 + ms(10)).is_empty());
        // A fresh bucket: the whole burst again.
        for i in 0..5 {
            assert_eq!(l.check(&src(2), per_sec(5), t0 + ms(11 + i)), Verdict::Allow);
        }
        assert!(!l.unblock(&src(2)), "tracked but not blocked");
        assert!(!l.unblock(&src(9)), "never seen");
    }

    #[test]
    fn allowlisted_sources_are_never_counted() {
        let nets = Allowlist::nets(["10.0.0.0/8".parse().unwrap(), "2001:db8::/32".parse().unwrap()]);
        let l = Limiter::new(FloodConfig::default(), nets);
        let t0 = Instant::now();
        let trunk = Key::Source("10.1.2.3".parse().unwrap());
        let mapped = Key::Source(IpAddr::V6(Ipv4Addr::new(10, 1, 2, 3).to_ipv6_mapped()));
        let v6 = Key::Source("2001:db8::5".parse().unwrap());
        for i in 0..10_000 {
            for key in [&trunk, &mapped, &v6] {
                assert_eq!(l.check(key, per_sec(1), t0 + Duration::from_micros(i)), Verdict::Allow);
            }
        }
        // An address outside the nets is limited as usual.
        assert!(l.check(&src(2), per_sec(1), t0).is_allow());
        assert!(!l.check(&src(2), per_sec(1), t0).is_allow());
        let s = l.stats(t0);
        assert_eq!((s.exempt, s.tracked_keys, s.blocks_total), (30_000, 1, 1));

        // A closure (e.g. the live dialplan's trunks) works the same way.
        let l = Limiter::new(FloodConfig::default(), Allowlist::from_fn(|ip| ip == IpAddr::V4(Ipv4Addr::LOCALHOST)));
        for _ in 0..100 {
            assert!(l.check(&src(1), per_sec(1), t0).is_allow());
        }
        assert!(l.check(&src(2), per_sec(1), t0).is_allow());
        assert!(!l.check(&src(2), per_sec(1), t0).is_allow());
    }

    #[test]
    fn caller_keys_work_like_source_keys_and_are_not_exempted_by_the_trunk() {
        let l = Limiter::new(FloodConfig::default(), Allowlist::nets(["192.0.2.0/24".parse().unwrap()]));
        let t0 = Instant::now();
        let trunk: IpAddr = "192.0.2.10".parse().unwrap();
        let (pest, other) =
            (PhoneNumber::parse("+819012345678").unwrap(), PhoneNumber::parse("+819087654321").unwrap());
        let limits = RateLimits {
            per_caller: Some(Rate { count: 3, per: secs(60) }),
            per_source: Some(per_sec(1)),
            per_number: None,
        };
        let (pest, other) = (Key::Caller(pest), Key::Caller(other));
        let verdicts: Vec<Verdict> = (0..5).map(|i| l.check_call(trunk, Some(&pest), &limits, t0 + secs(i))).collect();
        assert!(verdicts[..3].iter().all(Verdict::is_allow), "{verdicts:?}");
        assert_eq!(verdicts[3], Verdict::Refuse { retry_after: secs(30), newly_blocked: true });
        assert!(l.check_call(trunk, Some(&other), &limits, t0 + secs(5)).is_allow(), "another caller on the trunk");
        assert!(l.check_call(trunk, None, &limits, t0 + secs(5)).is_allow(), "a withheld number has no caller key");
        let blocked: Vec<String> = l.blocked(t0 + secs(5)).iter().map(|b| b.key.to_string()).collect();
        assert_eq!(blocked, ["caller +819012345678"]);

        // From an untrusted source the source limit is checked first, and a refusal
        // there takes nothing from the caller's budget.
        let stranger: IpAddr = "198.51.100.7".parse().unwrap();
        assert!(l.check_call(stranger, Some(&other), &limits, t0 + secs(10)).is_allow());
        assert!(!l.check_call(stranger, Some(&other), &limits, t0 + secs(10)).is_allow());
        assert!(l.check(&other, Rate { count: 3, per: secs(60) }, t0 + secs(10)).is_allow());
    }

    /// A number claimed by anyone (`From`) and the same number proven (asserted by
    /// a trusted peer, or attested) have budgets of their own: spoofed calls that
    /// use up the claimed one leave the owner's proven calls alone.
    #[test]
    fn claimed_calls_cannot_spend_a_proven_callers_budget() {
        let l = limiter(10);
        let t0 = Instant::now();
        let number = PhoneNumber::parse("+819012345678").unwrap();
        let rate = Rate { count: 3, per: secs(60) };
        let claimed = Key::caller(number.clone(), false);
        for i in 0..3 {
            assert!(l.check(&claimed, rate, t0 + ms(i)).is_allow());
        }
        assert!(!l.check(&claimed, rate, t0 + ms(3)).is_allow(), "the spoofer is blocked");
        let proven = Key::caller(number, true);
        assert!(l.check(&proven, rate, t0 + ms(4)).is_allow(), "the owner is not");
        let blocked: Vec<String> = l.blocked(t0 + ms(5)).iter().map(|b| b.key.to_admin_string()).collect();
        assert_eq!(blocked, ["caller:+819012345678"]);
    }

    #[test]
    fn the_bucket_follows_the_rate_each_check_gives() {
        let l = limiter(10);
        let t0 = Instant::now();
        // Two keys, two rules: 2/s trips on the third, 50/s takes fifty.
        assert_eq!((0..3).filter(|_| l.check(&src(2), per_sec(2), t0).is_allow()).count(), 2);
        assert_eq!((0..50).filter(|_| l.check(&src(3), per_sec(50), t0).is_allow()).count(), 50);
        assert!(!l.check(&src(3), per_sec(50), t0).is_allow());

        // One key seen under a generous rate, then a strict one: what it has left
        // is capped at the strict capacity.
        for _ in 0..10 {
            assert!(l.check(&src(4), per_sec(100), t0).is_allow());
        }
        let strict = Rate { count: 3, per: secs(60) };
        assert_eq!(
            (0..4).map(|_| l.check(&src(4), strict, t0).is_allow()).collect::<Vec<_>>(),
            [true, true, true, false]
        );
        // And refill follows the rate given: 20 s of 3/min is one token.
        l.unblock(&src(4));
        for _ in 0..3 {
            l.check(&src(4), strict, t0);
        }
        assert!(l.check(&src(4), strict, t0 + secs(20)).is_allow());
        assert!(!l.check(&src(4), strict, t0 + secs(20)).is_allow());
    }

    #[test]
    fn memory_stays_bounded_under_a_million_keys() {
        let max_keys = 10_000;
        let l = Limiter::new(FloodConfig { max_keys, ..FloodConfig::default() }, Allowlist::none());
        let t0 = Instant::now();
        let flooder = Key::Source(IpAddr::V6(Ipv6Addr::LOCALHOST));
        let mut now = t0;
        for i in 0..1_000_000u32 {
            // Every 10 µs a new spoofed address sends one request; every 1 ms the
            // real flooder sends one too (1000/s against 100/s).
            now = t0 + Duration::from_micros(10 * u64::from(i));
            l.check(&Key::Source(IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + i))), per_sec(100), now);
            if i % 100 == 0 {
                l.check(&flooder, per_sec(100), now);
            }
            if i % 50_000 == 0 {
                assert!(l.stats(now).tracked_keys <= max_keys as u64, "at key {i}");
            }
        }
        let s = l.stats(now);
        assert!(s.tracked_keys <= max_keys as u64, "{s:?}");
        assert!(s.untracked > 0, "the bound was reached: {s:?}");
        assert!(s.evicted > 0, "idle buckets made room: {s:?}");
        // The flooder, tracked from the start, was never evicted: one block, still on.
        assert_eq!(s.blocks_total, 1, "{s:?}");
        assert_eq!(l.blocked(now).iter().map(|b| &b.key).collect::<Vec<_>>(), [&flooder]);
        // Once the spoofed buckets have refilled, a new key is tracked and limited again.
        let later = now + secs(2);
        assert!(l.check(&src(2), per_sec(1), later).is_allow());
        assert!(matches!(l.check(&src(2), per_sec(1), later), Verdict::Refuse { newly_blocked: true, .. }));
    }

    #[test]
    fn the_periodic_sweep_forgets_idle_keys_but_not_blocked_ones() {
        // A small table has one shard, so one check sweeps all of it.
        let l = Limiter::new(FloodConfig { max_keys: 1000, ..FloodConfig::default() }, Allowlist::none());
        let t0 = Instant::now();
        for i in 0..100 {
            l.check(&src(i), per_sec(5), t0);
        }
        for _ in 0..6 {
            l.check(&caller("+819012345678"), per_sec(5), t0);
        }
        assert_eq!(l.stats(t0).tracked_keys, 101);
        // The first caller's block ran out at 30 s; this one's lasts past the sweep at 60 s.
        for _ in 0..6 {
            l.check(&caller("+819087654321"), per_sec(5), t0 + secs(59));
        }
        l.check(&src(200), per_sec(5), t0 + secs(60));
        let s = l.stats(t0 + secs(60));
        assert_eq!(s.evicted, 101, "the refilled sources and the expired block: {s:?}");
        assert_eq!(s.tracked_keys, 2, "the blocked caller and the key just seen: {s:?}");
        assert_eq!(s.currently_blocked, 1);
    }

    #[test]
    fn one_budget_shared_by_many_threads() {
        let l = Arc::new(limiter(1_000_000));
        let t0 = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let l = Arc::clone(&l);
                std::thread::spawn(move || (0..100).filter(|_| l.check(&src(2), per_sec(50), t0).is_allow()).count())
            })
            .collect();
        let allowed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(allowed, 50);
        let s = l.stats(t0);
        assert_eq!((s.allowed, s.refused, s.blocks_total), (50, 350, 1));
    }

    #[test]
    fn a_number_over_its_ceiling_turns_the_excess_away_and_keeps_serving() {
        let c = Ceilings::default();
        let t0 = Instant::now();
        let n = PhoneNumber::parse("+442079460100").unwrap();
        let taken = (0..10).filter(|i| c.take(&n, per_sec(4), t0 + ms(*i))).count();
        assert_eq!((taken, c.over_total()), (4, 6), "a burst of ten at 4/s");
        // Not blocked: half a second later two more calls fit.
        let later = (0..3).filter(|i| c.take(&n, per_sec(4), t0 + ms(500 + i))).count();
        assert_eq!(later, 2);
        let other = PhoneNumber::parse("+442079460101").unwrap();
        assert!(c.take(&other, per_sec(4), t0 + ms(500)), "each number has its own ceiling");
    }

    #[test]
    fn keys_print_and_parse() {
        assert_eq!(src(2).to_string(), "source 127.0.0.2");
        assert_eq!(caller("+819012345678").to_string(), "caller +819012345678");
        for (text, key) in [
            ("source:127.0.0.2", src(2)),
            ("source 127.0.0.2", src(2)),
            ("caller:+819012345678", caller("+819012345678")),
            ("caller:00819012345678", caller("+819012345678")),
            ("source:::1", Key::Source(IpAddr::V6(Ipv6Addr::LOCALHOST))),
            ("source:[::1]", Key::Source(IpAddr::V6(Ipv6Addr::LOCALHOST))),
            ("source:::ffff:127.0.0.2", src(2)),
            ("source:2001:db8:1:2::5", net64()),
            ("source:2001:db8:1:2::/64", net64()),
            ("source [2001:db8:1:2:aaaa::1]", net64()),
            ("proven-caller:+819012345678", Key::ProvenCaller(PhoneNumber::parse("+819012345678").unwrap())),
            ("proven caller +819012345678", Key::ProvenCaller(PhoneNumber::parse("+819012345678").unwrap())),
        ] {
            assert_eq!(text.parse::<Key>(), Ok(key.clone()), "{text}");
            assert_eq!(key.to_admin_string().parse::<Key>(), Ok(key.clone()));
            assert_eq!(key.to_string().parse::<Key>(), Ok(key));
        }
        assert_eq!(net64().to_admin_string(), "source:2001:db8:1:2::/64");
        assert_eq!(net64().to_string(), "source 2001:db8:1:2::/64");
        assert_eq!("127.0.0.2".parse::<Key>(), Err(KeyError::Malformed("127.0.0.2".into())));
        assert_eq!("peer:127.0.0.2".parse::<Key>(), Err(KeyError::Malformed("peer:127.0.0.2".into())));
        assert_eq!("source:localhost".parse::<Key>(), Err(KeyError::BadAddress("localhost".into())));
        assert!(matches!("caller:anonymous".parse::<Key>(), Err(KeyError::BadNumber(_))));
    }

    fn net64() -> Key {
        Key::Source("2001:db8:1:2::".parse().unwrap())
    }

    /// One sender picks addresses across its /64 at will: they all draw on one
    /// bucket, while the next /64 has its own. A trunk is exempt by its own address,
    /// not its neighbours'.
    #[test]
    fn ipv6_sources_count_per_64() {
        let trunk: IpAddr = "2001:db8:1:2::10".parse().unwrap();
        let l = Limiter::new(FloodConfig::default(), Allowlist::from_fn(move |ip| ip == trunk));
        let t0 = Instant::now();
        let addr = |s: &str| Key::Source(s.parse().unwrap());
        for i in 0..5u64 {
            let hopping = addr(&format!("2001:db8:1:2:{:x}::{:x}", i + 1, i * 7 + 3));
            assert_eq!(l.check(&hopping, per_sec(5), t0 + ms(i)), Verdict::Allow);
        }
        assert!(!l.check(&addr("2001:db8:1:2:ffff::1"), per_sec(5), t0 + ms(5)).is_allow());
        assert_eq!(l.blocked(t0 + ms(6)).first().map(|b| b.key.clone()), Some(net64()));
        assert_eq!(l.check(&addr("2001:db8:1:3::1"), per_sec(5), t0 + ms(6)), Verdict::Allow, "another /64");
        assert_eq!(l.check(&Key::Source(trunk), per_sec(5), t0 + ms(7)), Verdict::Allow, "the trunk itself");
        assert_eq!(source_of("::1".parse().unwrap()), "::1".parse::<IpAddr>().unwrap(), "loopback stays one address");
        assert!(l.unblock(&addr("2001:db8:1:2::99")), "any address of the /64 names its block");
    }

    #[test]
    fn ipv4_mapped_sources_share_a_bucket() {
        let l = limiter(10);
        let t0 = Instant::now();
        let mapped = Key::Source(IpAddr::V6(Ipv4Addr::new(127, 0, 0, 2).to_ipv6_mapped()));
        assert!(l.check(&src(2), per_sec(1), t0).is_allow());
        assert!(!l.check(&mapped, per_sec(1), t0).is_allow());
        assert_eq!(l.blocked(t0)[0].key, src(2));
        assert!(l.unblock(&mapped));
    }

    #[test]
    fn admin_json_has_keys_as_the_unblock_api_takes_them_and_seconds() {
        let l = limiter(10);
        let t0 = Instant::now();
        for _ in 0..3 {
            l.check(&src(2), per_sec(1), t0);
        }
        let now = t0 + ms(2500);
        let json = serde_json::to_value(l.blocked(now)).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "key": "source:127.0.0.2", "blocked_for_secs": 2, "remaining_secs": 28, "refused": 2, "dropped": 0
            }])
        );
        let stats = serde_json::to_value(l.stats(now)).unwrap();
        assert_eq!(stats["blocks_total"], 1);
        assert_eq!(stats["currently_blocked"], 1);
        assert_eq!(stats["tracked_keys"], 1);
    }

    #[test]
    fn refusals_before_drop_zero_still_answers_the_tripping_request() {
        let l = limiter(0);
        let t0 = Instant::now();
        assert!(l.check(&src(2), per_sec(1), t0).is_allow());
        assert!(matches!(l.check(&src(2), per_sec(1), t0), Verdict::Refuse { newly_blocked: true, .. }));
        assert_eq!(l.check(&src(2), per_sec(1), t0), Verdict::Drop);
    }

    #[test]
    fn limiter_is_shareable() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<Limiter>();
    }
}
