//! Benchmark: plan a 1,000,000-recipient campaign on one core.
//!
//! `cargo run --release -p relais-core --example bench_plan [-- RECIPIENTS]`
//!
//! Recipients mix national and international formats (mainland France, overseas,
//! Germany, Belgium, UK, Spain), with 5% invalid, 5% duplicates written in another
//! format and 5% blacklisted. Prints recipients per second and the peak heap, both
//! for the whole run (request included) and for planning alone.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use relais_core::calendar::Calendars;
use relais_core::number::{self, E164, NumberPolicy};
use relais_core::plan::{self, MessageKind, PlanContext, Recipient, SendRequest};
use relais_core::pricing::PriceTable;

/// Counts live heap bytes and their peak.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// xorshift64*: deterministic input without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A valid number for a subscriber index. The country depends on the subscriber
/// only, the format is random, so a repeated subscriber is a duplicate written
/// another way.
fn format_number(rng: &mut Rng, subscriber: u64) -> String {
    let s8 = subscriber % 100_000_000;
    match subscriber % 10 {
        // 0610–0638: all allocated to mainland mobiles (0639 is Mayotte).
        0..=5 => match (rng.below(4), 10_000_000 + s8 % 29_000_000) {
            (0, n) => format!("06{n:08}"),
            (1, n) => format!("+336{n:08}"),
            (2, n) => format!(
                "0033 6 {:02} {:02} {:02} {:02}",
                n / 1_000_000,
                n / 10_000 % 100,
                n / 100 % 100,
                n % 100
            ),
            (_, n) => format!("336{n:08}"),
        },
        6 => format!("+262692{:06}", s8 % 1_000_000),
        7 => format!("+49151{s8:08}"),
        8 => format!("+44 7400 {:06}", s8 % 1_000_000),
        _ => format!("+346{s8:08}"),
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().expect("RECIPIENTS"));
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut recipients = Vec::with_capacity(n);
    let mut blacklist = HashSet::new();
    for i in 0..n {
        let roll = rng.below(100);
        let number = if roll < 5 {
            format!("06{}x{}", i % 1000, i % 7) // invalid: letters
        } else if roll < 10 && i > 0 {
            let earlier = rng.below(i as u64);
            format_number(&mut rng, earlier * 7919 + 1) // duplicate, in any format
        } else {
            format_number(&mut rng, i as u64 * 7919 + 1)
        };
        if (10..15).contains(&roll)
            && let Ok(valid) =
                number::normalize(&number, "FR".parse().unwrap(), NumberPolicy::default())
        {
            blacklist.insert(valid.e164);
        }
        recipients.push(Recipient {
            number,
            client_ref: None,
            text: None,
        });
    }
    let blacklist: HashSet<E164> = blacklist;
    let request = SendRequest {
        text: Some(
            "Bonjour, votre commande est prête. Rendez-vous en magasin avant samedi !".into(),
        ),
        recipients,
        sender: Some("Boutique".into()),
        kind: MessageKind::Transactional,
        ..SendRequest::default()
    };
    let prices = PriceTable::default_table();
    let calendars = Calendars::france_default();
    let mut ctx = PlanContext::new(jiff::Timestamp::now(), &prices, &calendars);
    ctx.blacklist = &blacklist;

    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let start = Instant::now();
    let plan = plan::plan(&request, &ctx).expect("plan");
    let elapsed = start.elapsed();
    let plan_peak = PEAK.load(Ordering::Relaxed) - before;

    let c = plan.counters;
    println!(
        "planned {n} recipients in {:.3} s: {:.0} recipients/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    println!(
        "counters: total {} sent {} invalid {} duplicated {} blacklisted {}; cost {}",
        c.total, c.sent, c.invalid, c.duplicated, c.blacklisted, plan.cost
    );
    println!(
        "peak heap: {:.1} MB for planning alone ({:.0} B/recipient), {:.1} MB with the request ({:.0} B/recipient)",
        plan_peak as f64 / 1e6,
        plan_peak as f64 / n as f64,
        (before + plan_peak) as f64 / 1e6,
        (before + plan_peak) as f64 / n as f64,
    );
}
