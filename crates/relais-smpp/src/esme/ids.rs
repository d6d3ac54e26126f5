//! Matching a receipt's message id with the id a `submit_sm_resp` gave.
//!
//! The canonical id of a part is the id exactly as the SMSC wrote it in the
//! `submit_sm_resp`: that is what the connector answers in
//! `SubmitResult::Accepted` and what the store keeps. Receipts do not always
//! write it the same way: SMSCs answer in hex and report in decimal (or the
//! other way round), pad with zeros, or change case. [`IdIndex`] remembers the
//! recent ids of the connector (of all its binds: receipts often arrive on a
//! receiver bind other than the transmitter that submitted) and finds the
//! canonical id of a receipt's id, trying in order:
//!
//! 1. the exact text;
//! 2. the text without leading zeros, case-insensitively;
//! 3. the receipt's id read as a decimal number, against ids read as hex;
//! 4. the receipt's id read as hex, against ids read as decimal.
//!
//! A receipt whose id matches nothing is reported with its id as written (it
//! may arrive before its `submit_sm_resp`; see the inbound worker).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

pub struct IdIndex {
    /// Without leading zeros, lower case → canonical.
    text: HashMap<String, Arc<str>>,
    /// Value read as hex → canonical (ids made of hex digits only).
    hex: HashMap<u128, Arc<str>>,
    /// Value read as decimal → canonical (ids made of decimal digits only).
    decimal: HashMap<u128, Arc<str>>,
    /// Insertion order, to forget the oldest beyond `capacity`.
    order: VecDeque<Arc<str>>,
    capacity: usize,
}

fn stripped(id: &str) -> String {
    let trimmed = id.trim_start_matches('0');
    if trimmed.is_empty() && !id.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_ascii_lowercase()
    }
}

fn as_decimal(id: &str) -> Option<u128> {
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| id.parse().ok())
        .flatten()
}

fn as_hex(id: &str) -> Option<u128> {
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u128::from_str_radix(id, 16).ok())
        .flatten()
}

impl IdIndex {
    /// Remembers the last `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        IdIndex {
            text: HashMap::new(),
            hex: HashMap::new(),
            decimal: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn insert(&mut self, id: &str) {
        let canonical: Arc<str> = Arc::from(id);
        self.text.insert(stripped(id), canonical.clone());
        if let Some(v) = as_hex(id) {
            self.hex.insert(v, canonical.clone());
        }
        if let Some(v) = as_decimal(id) {
            self.decimal.insert(v, canonical.clone());
        }
        self.order.push_back(canonical);
        while self.order.len() > self.capacity {
            let old = self.order.pop_front().expect("longer than capacity");
            self.forget(&old);
        }
    }

    /// Removes the entries that still point at `old` (a newer id with the
    /// same key replaced it otherwise).
    fn forget(&mut self, old: &Arc<str>) {
        let key = stripped(old);
        if self.text.get(&key).is_some_and(|c| Arc::ptr_eq(c, old)) {
            self.text.remove(&key);
        }
        if let Some(v) = as_hex(old)
            && self.hex.get(&v).is_some_and(|c| Arc::ptr_eq(c, old))
        {
            self.hex.remove(&v);
        }
        if let Some(v) = as_decimal(old)
            && self.decimal.get(&v).is_some_and(|c| Arc::ptr_eq(c, old))
        {
            self.decimal.remove(&v);
        }
    }

    /// The canonical id a receipt's id stands for, if known.
    pub fn find(&self, receipt_id: &str) -> Option<Arc<str>> {
        let receipt_id = receipt_id.trim();
        if let Some(c) = self.text.get(&stripped(receipt_id)) {
            return Some(c.clone());
        }
        if let Some(c) = as_decimal(receipt_id).and_then(|v| self.hex.get(&v)) {
            return Some(c.clone());
        }
        as_hex(receipt_id)
            .and_then(|v| self.decimal.get(&v))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_usual_rewritings() {
        let mut index = IdIndex::new(100);
        index.insert("0A1B2C"); // hex, zero-padded
        index.insert("1234567"); // decimal
        index.insert("msg-42");
        let find = |id: &str| index.find(id).map(|c| c.to_string());
        assert_eq!(find("0A1B2C").as_deref(), Some("0A1B2C"));
        assert_eq!(find("a1b2c").as_deref(), Some("0A1B2C"));
        assert_eq!(find("000a1b2c").as_deref(), Some("0A1B2C"));
        assert_eq!(find(&0x0A1B2C.to_string()).as_deref(), Some("0A1B2C"));
        assert_eq!(find(&format!("{:x}", 1234567)).as_deref(), Some("1234567"));
        assert_eq!(
            find(&format!("{:010X}", 1234567)).as_deref(),
            Some("1234567")
        );
        assert_eq!(find("0001234567").as_deref(), Some("1234567"));
        assert_eq!(find("MSG-42").as_deref(), Some("msg-42"));
        assert_eq!(find("999"), None);
    }

    #[test]
    fn forgets_the_oldest() {
        let mut index = IdIndex::new(2);
        index.insert("1");
        index.insert("2");
        index.insert("3");
        assert!(index.find("1").is_none());
        assert!(index.find("2").is_some() && index.find("3").is_some());
        // Re-inserting an id keeps it findable after its first copy expires.
        index.insert("2");
        index.insert("4");
        assert!(index.find("2").is_some());
    }
}
