//! Slows down, then refuses, repeated failed binds: counted per peer IP
//! address and per system_id, so that guessing passwords costs time from one
//! address and gets nowhere on one login from many.
//!
//! After `failures_before_delay` failures, each further bind attempt (a right
//! password included: otherwise a quick answer would tell the right one) waits
//! `failure_delay`, doubling per further failure up to [`MAX_DELAY`]; after
//! `failures_before_lockout` failures, binds are refused outright for
//! `lockout`. A successful bind forgets its peer's and its system_id's
//! failures. A count is forgotten `lockout` after its last failure; at most
//! [`MAX_ENTRIES`] are kept (beyond, new peers and system_ids go uncounted
//! until old counts expire: flooding cannot evict a lockout).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The longest delay before answering a bind.
pub const MAX_DELAY: Duration = Duration::from_secs(30);

/// Peers and system_ids counted at most.
pub const MAX_ENTRIES: usize = 100_000;

/// When failed binds are slowed down and refused (0 turns a stage off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub failures_before_delay: u32,
    pub failure_delay: Duration,
    pub failures_before_lockout: u32,
    pub lockout: Duration,
}

/// What to do with a bind attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Go,
    /// Wait this long, then check the credentials.
    Wait(Duration),
    /// Refuse without checking the credentials.
    LockedOut,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Peer(IpAddr),
    SystemId(String),
}

struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

pub struct BindGuard {
    thresholds: Thresholds,
    failures: Mutex<HashMap<Key, Failures>>,
}

impl BindGuard {
    pub fn new(thresholds: Thresholds) -> Self {
        BindGuard {
            thresholds,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The verdict for a bind from `peer` as `system_id`: the stricter of
    /// the peer's and the system_id's.
    pub fn check(&self, peer: IpAddr, system_id: &str, now: Instant) -> Verdict {
        let mut failures = self.failures.lock().expect("bind failures");
        let mut verdict = Verdict::Go;
        for key in keys(peer, system_id) {
            let Some(entry) = failures.get(&key) else {
                continue;
            };
            if self.expired(entry, now) {
                failures.remove(&key);
                continue;
            }
            match self.verdict(entry, now) {
                Verdict::LockedOut => return Verdict::LockedOut,
                Verdict::Wait(d) if verdict.delay() < d => verdict = Verdict::Wait(d),
                _ => {}
            }
        }
        verdict
    }

    /// Counts a failed bind against the peer and the system_id.
    pub fn failed(&self, peer: IpAddr, system_id: &str, now: Instant) {
        let mut failures = self.failures.lock().expect("bind failures");
        for key in keys(peer, system_id) {
            if !failures.contains_key(&key) && failures.len() >= MAX_ENTRIES {
                failures.retain(|_, entry| !self.expired(entry, now));
                if failures.len() >= MAX_ENTRIES {
                    tracing::warn!(
                        ?key,
                        "smpp: too many failing peers and system_ids, this one goes uncounted"
                    );
                    continue;
                }
            }
            let entry = failures.entry(key).or_insert(Failures {
                count: 0,
                last: now,
                locked_until: None,
            });
            if self.expired(entry, now) {
                *entry = Failures {
                    count: 0,
                    last: now,
                    locked_until: None,
                };
            }
            entry.count += 1;
            entry.last = now;
            let lockout_at = self.thresholds.failures_before_lockout;
            if lockout_at > 0 && entry.count >= lockout_at && entry.locked_until.is_none() {
                entry.locked_until = Some(now + self.thresholds.lockout);
            }
        }
    }

    /// A successful bind forgets the peer's and the system_id's failures.
    pub fn succeeded(&self, peer: IpAddr, system_id: &str) {
        let mut failures = self.failures.lock().expect("bind failures");
        for key in keys(peer, system_id) {
            failures.remove(&key);
        }
    }

    fn verdict(&self, entry: &Failures, now: Instant) -> Verdict {
        if entry.locked_until.is_some_and(|until| now < until) {
            return Verdict::LockedOut;
        }
        let t = &self.thresholds;
        if t.failures_before_delay == 0 || entry.count < t.failures_before_delay {
            return Verdict::Go;
        }
        let doublings = (entry.count - t.failures_before_delay).min(31);
        let delay = t
            .failure_delay
            .checked_mul(1 << doublings)
            .unwrap_or(MAX_DELAY)
            .min(MAX_DELAY);
        Verdict::Wait(delay)
    }

    /// A count is forgotten `lockout` after its last failure, and a lockout
    /// once it is over.
    fn expired(&self, entry: &Failures, now: Instant) -> bool {
        match entry.locked_until {
            Some(until) => now >= until,
            None => now.duration_since(entry.last) >= self.thresholds.lockout,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.failures.lock().expect("bind failures").len()
    }
}

impl Verdict {
    fn delay(self) -> Duration {
        match self {
            Verdict::Wait(d) => d,
            _ => Duration::ZERO,
        }
    }
}

fn keys(peer: IpAddr, system_id: &str) -> [Key; 2] {
    [Key::Peer(peer), Key::SystemId(system_id.to_owned())]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn guard() -> BindGuard {
        BindGuard::new(Thresholds {
            failures_before_delay: 5,
            failure_delay: SECOND,
            failures_before_lockout: 20,
            lockout: Duration::from_secs(900),
        })
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    fn fail(guard: &BindGuard, peer: IpAddr, system_id: &str, times: u32, now: Instant) {
        for _ in 0..times {
            guard.failed(peer, system_id, now);
        }
    }

    #[test]
    fn delays_double_after_the_threshold_then_lock_out() {
        let guard = guard();
        let now = Instant::now();
        fail(&guard, ip(1), "acme", 4, now);
        assert_eq!(guard.check(ip(1), "acme", now), Verdict::Go);
        fail(&guard, ip(1), "acme", 1, now);
        assert_eq!(guard.check(ip(1), "acme", now), Verdict::Wait(SECOND));
        fail(&guard, ip(1), "acme", 1, now);
        assert_eq!(guard.check(ip(1), "acme", now), Verdict::Wait(2 * SECOND));
        fail(&guard, ip(1), "acme", 2, now);
        assert_eq!(guard.check(ip(1), "acme", now), Verdict::Wait(8 * SECOND));
        fail(&guard, ip(1), "acme", 10, now);
        assert_eq!(guard.check(ip(1), "acme", now), Verdict::Wait(MAX_DELAY));
        fail(&guard, ip(1), "acme", 1, now);
        assert_eq!(guard.check(ip(1), "acme", now), Verdict::Wait(MAX_DELAY));
        fail(&guard, ip(1), "acme", 1, now);
        assert_eq!(guard.check(ip(1), "acme", now), Verdict::LockedOut);
        let later = now + Duration::from_secs(899);
        assert_eq!(guard.check(ip(1), "acme", later), Verdict::LockedOut);
        let over = now + Duration::from_secs(900);
        assert_eq!(guard.check(ip(1), "acme", over), Verdict::Go);
        assert_eq!(guard.len(), 0, "a lockout over is forgotten");
    }

    #[test]
    fn peers_and_system_ids_count_apart() {
        let guard = guard();
        let now = Instant::now();
        // One peer trying many logins: the peer is slowed down everywhere.
        for n in 0..5 {
            guard.failed(ip(1), &format!("login{n}"), now);
        }
        assert_eq!(guard.check(ip(1), "other", now), Verdict::Wait(SECOND));
        assert_eq!(guard.check(ip(2), "login0", now), Verdict::Go);
        // Many peers trying one login: the login is locked out for all.
        for n in 10..30 {
            guard.failed(ip(n), "acme", now);
        }
        assert_eq!(guard.check(ip(99), "acme", now), Verdict::LockedOut);
        assert_eq!(guard.check(ip(99), "other", now), Verdict::Go);
    }

    #[test]
    fn a_success_resets_and_counts_expire() {
        let guard = guard();
        let now = Instant::now();
        fail(&guard, ip(1), "acme", 6, now);
        guard.succeeded(ip(1), "acme");
        assert_eq!(guard.check(ip(1), "acme", now), Verdict::Go);
        fail(&guard, ip(1), "acme", 6, now);
        let quiet = now + Duration::from_secs(900);
        assert_eq!(guard.check(ip(1), "acme", quiet), Verdict::Go);
        // A failure after a quiet spell starts counting anew.
        fail(&guard, ip(1), "acme", 6, now);
        guard.failed(ip(1), "acme", quiet);
        assert_eq!(guard.check(ip(1), "acme", quiet), Verdict::Go);
    }

    #[test]
    fn memory_is_bounded_and_a_lockout_cannot_be_flooded_away() {
        let guard = guard();
        let now = Instant::now();
        fail(&guard, ip(1), "acme", 20, now);
        for n in 0..MAX_ENTRIES {
            guard.failed(ip(1), &format!("flood{n}"), now);
        }
        assert_eq!(guard.len(), MAX_ENTRIES);
        assert_eq!(guard.check(ip(2), "acme", now), Verdict::LockedOut);
        // Once the counts expire, new ones are kept again.
        let later = now + Duration::from_secs(900);
        guard.failed(ip(3), "new", later);
        assert_eq!(guard.len(), 2);
    }

    #[test]
    fn zero_turns_a_stage_off() {
        let guard = BindGuard::new(Thresholds {
            failures_before_delay: 0,
            failures_before_lockout: 0,
            ..guard().thresholds
        });
        let now = Instant::now();
        fail(&guard, ip(1), "acme", 50, now);
        assert_eq!(guard.check(ip(1), "acme", now), Verdict::Go);
    }
}
