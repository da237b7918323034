//! RFC 3261's timers (§17.1.1.1, table 4) and the one retransmission schedule
//! they share.
//!
//! Whatever we retransmit follows the same rule: first after T1, then at
//! doubling intervals capped at T2, until an answer comes or 64·T1 has passed.
//! That is Timer G and H (a non-2xx final response to an INVITE, §17.2.1),
//! Timer E and F (our BYE, §17.1.2.2), and the 2xx to an INVITE or re-INVITE,
//! which the transaction user retransmits end to end (§13.3.1.4).
//! [`Retransmission`] is that rule, written once.
//!
//! Every wait is a tokio timer, so tests run them under `tokio::time::pause()`.

use std::time::Duration;

use tokio::time::{sleep_until, Instant};

/// RFC 3261 timer base values (§17.1.1.1, table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate: first retransmission interval.
    pub t1: Duration,
    /// Cap on retransmission intervals for non-INVITE requests and INVITE responses.
    pub t2: Duration,
    /// How long a message may stay in the network.
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers { t1: Duration::from_millis(500), t2: Duration::from_secs(4), t4: Duration::from_secs(5) }
    }
}

impl Timers {
    /// 64·T1: Timers B, F, H, J and L, and the 2xx retransmission limit (§13.3.1.4).
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }
}

/// One message's retransmissions: T1, doubling to T2, giving up at 64·T1.
#[derive(Debug)]
pub struct Retransmission {
    interval: Duration,
    t2: Duration,
    next: Instant,
    give_up: Instant,
    /// `false` over a reliable transport, where only the give-up fires (§17.1.2.2, §17.2.1).
    resend: bool,
}

/// What [`Retransmission::tick`] waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Time to send the message again.
    Resend,
    /// 64·T1 passed without an answer.
    GiveUp,
}

impl Retransmission {
    /// A schedule starting now (the message has just been sent once).
    /// `resend`: whether to retransmit at all (not over TCP, except a 2xx).
    pub fn start(t: Timers, resend: bool) -> Retransmission {
        let now = Instant::now();
        Retransmission { interval: t.t1, t2: t.t2, next: now + t.t1, give_up: now + t.timeout(), resend }
    }

    /// Waits for the next retransmission or for the give-up, whichever comes
    /// first (the give-up on a tie). Cancel-safe: dropped before it resolves,
    /// it changes nothing.
    pub async fn tick(&mut self) -> Tick {
        tokio::select! {
            biased;
            _ = sleep_until(self.give_up) => Tick::GiveUp,
            _ = sleep_until(self.next), if self.resend => {
                self.interval = (self.interval * 2).min(self.t2);
                self.next = Instant::now() + self.interval;
                Tick::Resend
            }
        }
    }

    /// A provisional response came: Timer E fires every T2 from then on (§17.1.2.2).
    pub fn slow_down(&mut self) {
        self.interval = self.t2;
    }
}
