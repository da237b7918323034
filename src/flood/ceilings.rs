//! Ceilings per dialled number (`rate_limit.per_number`), on the limiter's token buckets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::{sane, Bucket};
use crate::dialplan::policy::Rate;
use crate::phone::PhoneNumber;
use crate::sync::lock;

/// Ceilings on how many calls one dialled number takes (`rate_limit.per_number`):
/// what a distributed flood — many addresses, random caller numbers, each under
/// its own limits — still adds up to on one number. Unlike [`Limiter`]'s keys, a
/// number over its ceiling is not blocked: each call finds a token or not, so the
/// number keeps serving at its rate while the excess hears "busy, call again".
#[derive(Debug, Default)]
pub struct Ceilings {
    buckets: Mutex<HashMap<PhoneNumber, Bucket>>,
    /// Calls turned away since start.
    over: AtomicU64,
}

/// Dialled numbers tracked at most (pattern rules can take any number of them).
const MAX_CEILING_NUMBERS: usize = 10_000;

impl Ceilings {
    /// Take one call for `number` under `rate` at `now`: `false` when the number is
    /// over its ceiling.
    pub fn take(&self, number: &PhoneNumber, rate: Rate, now: Instant) -> bool {
        let rate = sane(rate);
        let mut buckets = lock(&self.buckets);
        if !buckets.contains_key(number) && buckets.len() >= MAX_CEILING_NUMBERS {
            buckets.retain(|_, b| !b.idle(now));
            if buckets.len() >= MAX_CEILING_NUMBERS {
                return true; // fail open, as the limiter does
            }
        }
        let bucket = buckets.entry(number.clone()).or_insert_with(|| Bucket::full(rate, now));
        bucket.rate = rate;
        bucket.tokens = bucket.tokens_at(now);
        bucket.last = bucket.last.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return true;
        }
        self.over.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// Calls turned away by a ceiling since start.
    pub fn over_total(&self) -> u64 {
        self.over.load(Ordering::Relaxed)
    }
}
