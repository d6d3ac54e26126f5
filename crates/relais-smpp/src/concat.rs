//! Reassembly of concatenated messages (UDH or SAR parts), for replies coming
//! from an SMSC and for long messages submitted by SMPP clients.
//!
//! Parts are kept as raw payload bytes and joined before decoding: a sender
//! may cut a GSM-7 escape or a UTF-16 surrogate pair across two parts (relais
//! never does, others might), which only decodes right once joined.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use tokio::time::Instant;

use crate::pdu::Concat;

impl Concat {
    /// A sequence within its total, and a total of at least one part.
    pub fn is_valid(&self) -> bool {
        self.total >= 1 && (1..=self.total).contains(&self.seq)
    }
}

/// What adding a part gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Added<M> {
    /// Every part is in: the payloads joined in order, and the first part's `meta`.
    Complete { meta: M, payload: Vec<u8> },
    /// More parts are awaited.
    Waiting,
    /// Too many messages are being reassembled: the part was not kept.
    Full,
}

/// A message given up on after its timeout, with the parts that came.
#[derive(Debug, PartialEq, Eq)]
pub struct Expired<K, M> {
    pub key: K,
    pub meta: M,
    /// The payloads received, joined in order.
    pub payload: Vec<u8>,
    pub missing: usize,
}

struct Pending<M> {
    meta: M,
    parts: Vec<Option<Vec<u8>>>,
    received: usize,
    since: Instant,
}

/// Messages being reassembled, by key (typically source, destination, reference).
pub struct Reassembler<K, M> {
    pending: HashMap<K, Pending<M>>,
    timeout: Duration,
    max_pending: usize,
}

impl<K: Hash + Eq + Clone, M> Reassembler<K, M> {
    pub fn new(timeout: Duration, max_pending: usize) -> Self {
        Reassembler {
            pending: HashMap::new(),
            timeout,
            max_pending,
        }
    }

    /// Adds part `concat` (which must be [valid](Concat::is_valid)) of the
    /// message `key`. A part received twice replaces the first copy.
    pub fn add(
        &mut self,
        key: K,
        concat: Concat,
        payload: &[u8],
        meta: M,
        now: Instant,
    ) -> Added<M> {
        let total = usize::from(concat.total);
        if total <= 1 {
            return Added::Complete {
                meta,
                payload: payload.to_vec(),
            };
        }
        // The total is part of the key so that a reused reference with
        // another total starts a new message instead of corrupting one.
        if !self.pending.contains_key(&key) && self.pending.len() >= self.max_pending {
            return Added::Full;
        }
        let entry = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            meta,
            parts: vec![None; total],
            received: 0,
            since: now,
        });
        let slot = &mut entry.parts[usize::from(concat.seq) - 1];
        if slot.is_none() {
            entry.received += 1;
        }
        *slot = Some(payload.to_vec());
        if entry.received < total {
            return Added::Waiting;
        }
        let done = self.pending.remove(&key).expect("entry just updated");
        Added::Complete {
            meta: done.meta,
            payload: done.parts.into_iter().flatten().flatten().collect(),
        }
    }

    /// Removes and answers the messages waiting for longer than the timeout.
    pub fn expire(&mut self, now: Instant) -> Vec<Expired<K, M>> {
        let timeout = self.timeout;
        let stale: Vec<K> = self
            .pending
            .iter()
            .filter(|(_, p)| now.duration_since(p.since) >= timeout)
            .map(|(k, _)| k.clone())
            .collect();
        stale
            .into_iter()
            .filter_map(|key| self.give_up(key))
            .collect()
    }

    /// Removes and answers every message still waiting (the connection closes).
    pub fn drain(&mut self) -> Vec<Expired<K, M>> {
        let keys: Vec<K> = self.pending.keys().cloned().collect();
        keys.into_iter()
            .filter_map(|key| self.give_up(key))
            .collect()
    }

    fn give_up(&mut self, key: K) -> Option<Expired<K, M>> {
        let p = self.pending.remove(&key)?;
        let missing = p.parts.iter().filter(|part| part.is_none()).count();
        Some(Expired {
            key,
            meta: p.meta,
            payload: p.parts.into_iter().flatten().flatten().collect(),
            missing,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(seq: u8, total: u8) -> Concat {
        Concat {
            reference: 7,
            total,
            seq,
        }
    }

    #[test]
    fn joins_parts_in_order_whatever_the_arrival() {
        let mut r = Reassembler::new(Duration::from_secs(10), 10);
        let now = Instant::now();
        assert_eq!(r.add("k", part(3, 3), b"c", 'x', now), Added::Waiting);
        assert_eq!(r.add("k", part(1, 3), b"a", 'y', now), Added::Waiting);
        assert_eq!(r.add("k", part(1, 3), b"a", 'y', now), Added::Waiting);
        assert_eq!(
            r.add("k", part(2, 3), b"b", 'z', now),
            Added::Complete {
                meta: 'x',
                payload: b"abc".to_vec()
            }
        );
        assert!(r.is_empty());
        assert_eq!(
            r.add("k", part(1, 1), b"single", 's', now),
            Added::Complete {
                meta: 's',
                payload: b"single".to_vec()
            }
        );
    }

    #[test]
    fn expires_incomplete_messages_and_bounds_memory() {
        let mut r = Reassembler::new(Duration::from_secs(10), 1);
        let now = Instant::now();
        assert_eq!(r.add(1, part(1, 2), b"a", (), now), Added::Waiting);
        assert_eq!(r.add(2, part(1, 2), b"a", (), now), Added::Full);
        assert!(r.expire(now + Duration::from_secs(9)).is_empty());
        let expired = r.expire(now + Duration::from_secs(10));
        assert_eq!(
            expired,
            vec![Expired {
                key: 1,
                meta: (),
                payload: b"a".to_vec(),
                missing: 1
            }]
        );
        assert!(!part(0, 2).is_valid() && !part(3, 2).is_valid() && part(2, 2).is_valid());
        assert_eq!(r.add(3, part(2, 2), b"b", (), now), Added::Waiting);
        let drained = r.drain();
        assert_eq!(drained.len(), 1);
        assert_eq!((drained[0].key, drained[0].missing), (3, 1));
        assert!(r.is_empty());
    }
}
