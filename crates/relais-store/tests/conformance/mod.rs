//! The conformance suite of [`Store`]: what every backend must do, written
//! against the trait only. A backend's test file declares one test per
//! function here with [`conformance_tests!`], each on a fresh, empty store.
//!
//! Campaigns are planned by `relais_core::plan` with a fixed clock and the
//! default prices (0.045 per French segment), so the tests commit real plans.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use relais_core::calendar::{Calendars, HolidayCalendar, SendingWindowConfig};
use relais_core::encoding::Encoding;
use relais_core::money::Amount;
use relais_core::number::{Country, E164};
use relais_core::plan::{
    self, ChannelOrder, MessageKind, Plan, PlanContext, Recipient, SendRequest,
};
use relais_core::pricing::{PriceTable, RouteClass};
use relais_store::*;

/// Declares one `#[tokio::test]` per conformance function. `$open` is an async
/// fn answering a fresh `Arc<dyn Store>` and a guard kept alive for the test
/// (e.g. its temporary directory), or `None` when the backend cannot be
/// reached outside CI (the test then passes after `$open` said why).
macro_rules! conformance_tests {
    ($open:path) => {
        conformance_tests!(@each $open;
            accounts_create_login_and_settings,
            smpp_logins_by_system_id,
            accounts_by_ids_in_one_read,
            smpp_password_hash_replaced_only_if_unchanged,
            settings_patches_lose_no_concurrent_change,
            names_and_emails_are_one_namespace,
            credits_and_ledger,
            api_keys_by_hash_and_revocation,
            commit_stores_campaign_messages_and_debit,
            commit_keeps_each_distinct_text,
            campaigns_by_tag,
            commit_queues_due_and_schedules_later,
            commit_without_credits_stores_nothing,
            commit_for_postpaid_accounts,
            concurrent_commits_never_overdraw,
            idempotency_keys_are_unique_while_live,
            batch_commits_each_campaign_or_refuses_it_alone,
            batch_refuses_a_key_used_earlier_in_it,
            cancel_refunds_only_unsent,
            cancelled_before_sending_is_cancelled,
            claim_leases_due_messages_and_reclaims_expired_leases,
            the_channel_order_goes_from_commit_to_claim,
            record_submissions_applies_each_outcome,
            apply_reports_matches_by_carrier_id_once,
            long_messages_are_reported_part_by_part,
            reports_before_their_submission_are_kept,
            unmatched_reports_are_forgotten_after_a_week,
            expire_due_refunds_unsent_messages,
            overdue_reports_expire_keeping_the_cost,
            status_webhooks_go_to_the_right_url,
            webhook_outbox_claim_retry_finish,
            final_only_callbacks_and_batch_facts,
            smpp_receipts_are_claimed_apart,
            inbound_and_stop,
            replies_go_to_the_reply_url_or_the_account,
            lists_add_remove_page,
            listed_among_answers_only_the_numbers_asked,
            reads_are_scoped_to_the_account,
            campaigns_filter_and_page,
            planning_counts,
            status_totals_count_every_message,
        );
    };
    (@each $open:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                // `None`: the backend is not available here (said by `$open`).
                let Some((store, _guard)) = $open().await else {
                    return;
                };
                conformance::$name(store).await;
            }
        )*
    };
}

// --- helpers -------------------------------------------------------------------

/// The tests' "now": a Tuesday, 10:00 in Paris.
pub fn t0() -> Timestamp {
    "2026-03-10T09:00:00Z".parse().unwrap()
}

pub fn ms(t: Timestamp) -> Millis {
    t.as_millisecond()
}

fn at(seconds: i64) -> Millis {
    ms(t0()) + seconds * 1000
}

fn later(seconds: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(seconds)
}

/// The default premium price of one French segment.
fn unit() -> Amount {
    "0.045".parse().unwrap()
}

fn units(n: i64) -> Amount {
    Amount::from_units(n)
}

/// A French mobile number, distinct for each `i`.
pub fn number(i: u32) -> String {
    format!("+336{:08}", 12_000_000 + i)
}

fn e164(i: u32) -> E164 {
    number(i).parse().unwrap()
}

pub fn request(numbers: &[String], text: &str) -> SendRequest {
    SendRequest {
        text: Some(text.into()),
        recipients: numbers.iter().map(|n| Recipient::new(n.as_str())).collect(),
        ..SendRequest::default()
    }
}

fn numbers(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(number).collect()
}

pub fn plan_at(request: &SendRequest, now: Timestamp) -> Plan {
    let prices = PriceTable::default_table();
    let calendars = Calendars::france_default();
    plan::plan(request, &PlanContext::new(now, &prices, &calendars))
        .expect("the test request plans")
}

fn meta(source: &str) -> CampaignMeta {
    CampaignMeta {
        source: source.into(),
        ..CampaignMeta::default()
    }
}

pub async fn new_account(store: &dyn Store, name: &str, balance: Option<Amount>) -> Account {
    new_account_with(store, name, balance, AccountSettings::default()).await
}

async fn new_account_with(
    store: &dyn Store,
    name: &str,
    balance: Option<Amount>,
    settings: AccountSettings,
) -> Account {
    let new = NewAccount {
        name: name.into(),
        email: None,
        balance,
        sandbox: false,
        settings,
    };
    store.create_account(new, ms(t0())).await.unwrap()
}

/// Plans `request` at `now` and commits it.
pub async fn send(
    store: &dyn Store,
    account_id: AccountId,
    request: &SendRequest,
    now: Timestamp,
) -> CampaignId {
    send_with(store, account_id, request, now, meta("api")).await
}

async fn send_with(
    store: &dyn Store,
    account_id: AccountId,
    request: &SendRequest,
    now: Timestamp,
    meta: CampaignMeta,
) -> CampaignId {
    let plan = plan_at(request, now);
    let new = NewCampaign {
        account_id,
        request,
        plan: &plan,
        meta,
        now: ms(now),
    };
    store.commit_campaign(new).await.unwrap()
}

async fn balance(store: &dyn Store, id: AccountId) -> Option<Amount> {
    store.account(id).await.unwrap().unwrap().balance
}

async fn all_messages(
    store: &dyn Store,
    account_id: AccountId,
    campaign: CampaignId,
) -> Vec<Message> {
    store
        .campaign_messages(account_id, campaign, None, Page::default())
        .await
        .unwrap()
}

async fn status_of(store: &dyn Store, account_id: AccountId, id: MessageId) -> MessageStatus {
    store
        .message(account_id, id)
        .await
        .unwrap()
        .unwrap()
        .0
        .status
}

async fn history(store: &dyn Store, account_id: AccountId, id: MessageId) -> Vec<StatusChange> {
    store.message(account_id, id).await.unwrap().unwrap().1
}

fn statuses(history: &[StatusChange]) -> Vec<MessageStatus> {
    history.iter().map(|c| c.status).collect()
}

fn counts(pairs: &[(MessageStatus, u64)]) -> StatusCounts {
    pairs.iter().copied().collect()
}

fn submitted(id: MessageId) -> (MessageId, SubmitOutcome) {
    let outcome = SubmitOutcome::Submitted {
        connector: "sim".into(),
        carrier_ids: vec![format!("c{id}")],
        report_by: i64::MAX,
    };
    (id, outcome)
}

/// A message submitted in parts, with the connector's id for each.
fn submitted_parts(id: MessageId, carrier_ids: &[&str]) -> (MessageId, SubmitOutcome) {
    let outcome = SubmitOutcome::Submitted {
        connector: "sim".into(),
        carrier_ids: carrier_ids.iter().map(|c| c.to_string()).collect(),
        report_by: i64::MAX,
    };
    (id, outcome)
}

fn report(id: MessageId, status: MessageStatus, at: Millis) -> CarrierReport {
    CarrierReport {
        connector: "sim".into(),
        carrier_id: format!("c{id}"),
        status,
        error: None,
        at,
    }
}

fn ids(messages: &[OutboundMessage]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id).collect()
}

// --- accounts, keys, credits -----------------------------------------------------

pub async fn accounts_create_login_and_settings(store: Arc<dyn Store>) {
    let store = &*store;
    let new = NewAccount {
        name: "acme".into(),
        email: Some("ops@acme.example".into()),
        balance: Some(units(10)),
        sandbox: true,
        settings: AccountSettings::default(),
    };
    let acme = store.create_account(new.clone(), ms(t0())).await.unwrap();
    assert_eq!(acme.name, "acme");
    assert_eq!(acme.balance, Some(units(10)));
    assert!(acme.sandbox && !acme.disabled);
    assert_eq!(acme.created_at, ms(t0()));
    assert_eq!(store.account(acme.id).await.unwrap(), Some(acme.clone()));
    assert_eq!(
        store.account_by_login("acme").await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(
        store.account_by_login("ops@acme.example").await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(store.account_by_login("nobody").await.unwrap(), None);
    assert_eq!(store.account(acme.id + 100).await.unwrap(), None);

    let same_name = NewAccount {
        email: None,
        ..new.clone()
    };
    assert!(matches!(
        store.create_account(same_name, 0).await,
        Err(StoreError::Conflict(_))
    ));
    let same_email = NewAccount {
        name: "other".into(),
        ..new
    };
    assert!(matches!(
        store.create_account(same_email, 0).await,
        Err(StoreError::Conflict(_))
    ));

    let beta = new_account(store, "beta", None).await;
    let listed: Vec<AccountId> = store
        .accounts()
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, vec![acme.id, beta.id]);

    let mut settings = AccountSettings {
        default_sender: Some("ACME".into()),
        default_region: "RE".parse().unwrap(),
        allowed_countries: Some(vec![Country::FR, "BE".parse().unwrap()]),
        mobile_only: true,
        flood: Some(FloodSetting {
            max: 3,
            period_secs: 86_400,
        }),
        smart_encoding: true,
        webhooks: WebhookUrls {
            dlr: Some("https://acme.example/dlr".into()),
            inbound: None,
            dialect: None,
            ..WebhookUrls::default()
        },
        webhook_secret: "s3cret".into(),
        ..AccountSettings::default()
    };
    settings.monthly_limits.insert(Country::FR, 10_000);
    settings.sending_windows.insert(
        Country::FR,
        SendingWindowConfig {
            time_zone: "Europe/Paris".into(),
            days: vec!["monday".into(), "tuesday".into()],
            start: "09:00".into(),
            end: "19:00".into(),
            holidays: HolidayCalendar::France,
            extra_dates: vec!["2026-12-24".into()],
        },
    );
    store
        .update_account_settings(acme.id, &settings)
        .await
        .unwrap();
    assert_eq!(
        store.account(acme.id).await.unwrap().unwrap().settings,
        settings
    );
    let missing = store
        .update_account_settings(beta.id + 100, &settings)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));

    store.set_account_disabled(acme.id, true).await.unwrap();
    assert!(store.account(acme.id).await.unwrap().unwrap().disabled);
    store.set_account_disabled(acme.id, false).await.unwrap();
    assert!(!store.account(acme.id).await.unwrap().unwrap().disabled);
    assert!(matches!(
        store.set_account_disabled(beta.id + 100, true).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn accounts_by_ids_in_one_read(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let beta = new_account(store, "beta", None).await;
    new_account(store, "gamma", None).await;
    store.set_account_disabled(beta.id, true).await.unwrap();
    let mut found = store
        .accounts_by_ids(&[beta.id, acme.id, beta.id + 100])
        .await
        .unwrap();
    found.sort_by_key(|a| a.id);
    let disabled: Vec<(AccountId, bool)> = found.iter().map(|a| (a.id, a.disabled)).collect();
    assert_eq!(disabled, vec![(acme.id, false), (beta.id, true)]);
    assert_eq!(found[0], acme);
    assert!(store.accounts_by_ids(&[]).await.unwrap().is_empty());
}

pub async fn smpp_password_hash_replaced_only_if_unchanged(store: Arc<dyn Store>) {
    let store = &*store;
    let mut settings = AccountSettings {
        smpp: Some(SmppLogin {
            system_id: "acme01".into(),
            password_hash: "old".into(),
            max_binds: 2,
            throughput_per_second: 100,
        }),
        ..AccountSettings::default()
    };
    let acme = new_account_with(store, "acme", None, settings.clone()).await;
    let beta = new_account(store, "beta", None).await;
    assert!(
        !store
            .replace_smpp_password_hash(acme.id, "other", "new")
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_smpp_password_hash(beta.id, "old", "new")
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_smpp_password_hash(acme.id, "old", "new")
            .await
            .unwrap()
    );
    settings.smpp.as_mut().unwrap().password_hash = "new".into();
    let read = store.account(acme.id).await.unwrap().unwrap();
    assert_eq!(read.settings, settings, "only the hash changed");
    assert_eq!(
        store
            .account_by_smpp_system_id("acme01")
            .await
            .unwrap()
            .map(|a| a.id),
        Some(acme.id)
    );
    assert!(
        store
            .account(beta.id)
            .await
            .unwrap()
            .unwrap()
            .settings
            .smpp
            .is_none()
    );
}

pub async fn smpp_logins_by_system_id(store: Arc<dyn Store>) {
    let store = &*store;
    let login = |system_id: &str| SmppLogin {
        system_id: system_id.into(),
        password_hash: "hash".into(),
        max_binds: 2,
        throughput_per_second: 100,
    };
    let with_login = |system_id: &str| AccountSettings {
        smpp: Some(login(system_id)),
        ..AccountSettings::default()
    };
    let acme = new_account_with(store, "acme", None, with_login("acme01")).await;
    let beta = new_account(store, "beta", None).await;
    assert_eq!(acme.settings.smpp, Some(login("acme01")));
    assert_eq!(
        store.account_by_smpp_system_id("acme01").await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(
        store.account_by_smpp_system_id("ACME01").await.unwrap(),
        None
    );
    assert_eq!(store.account_by_smpp_system_id("beta").await.unwrap(), None);

    // A system_id names one account.
    let taken = NewAccount {
        name: "gamma".into(),
        email: None,
        balance: None,
        sandbox: false,
        settings: with_login("acme01"),
    };
    assert!(matches!(
        store.create_account(taken, ms(t0())).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .update_account_settings(beta.id, &with_login("acme01"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.account(beta.id).await.unwrap().unwrap().settings.smpp,
        None
    );
    assert_eq!(store.accounts().await.unwrap().len(), 2);

    // The lookup follows the settings.
    store
        .update_account_settings(acme.id, &with_login("acme02"))
        .await
        .unwrap();
    assert_eq!(
        store.account_by_smpp_system_id("acme01").await.unwrap(),
        None
    );
    let found = store
        .account_by_smpp_system_id("acme02")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.settings.smpp),
        (acme.id, Some(login("acme02")))
    );
    store
        .update_account_settings(beta.id, &with_login("acme01"))
        .await
        .unwrap();
    assert_eq!(
        store
            .account_by_smpp_system_id("acme01")
            .await
            .unwrap()
            .map(|a| a.id),
        Some(beta.id)
    );
    store
        .update_account_settings(acme.id, &AccountSettings::default())
        .await
        .unwrap();
    assert_eq!(
        store.account_by_smpp_system_id("acme02").await.unwrap(),
        None
    );
    store.set_account_disabled(beta.id, true).await.unwrap();
    assert!(
        store
            .account_by_smpp_system_id("acme01")
            .await
            .unwrap()
            .unwrap()
            .disabled,
        "disabled accounts are found, for the caller to refuse"
    );

    // Settings stored before these fields existed read as without them.
    let old: AccountSettings =
        serde_json::from_str(r#"{"webhooks":{"dlr":"https://old.example/dlr"}}"#).unwrap();
    assert_eq!(
        (old.smpp, old.webhooks.dialect, old.webhooks.dlr.as_deref()),
        (None, None, Some("https://old.example/dlr"))
    );
}

/// 100 patches of one field, each adding one to it, interleaved with 100
/// patches of other fields: each applies to the settings as the one before
/// left them, none is lost. A refused patch stores nothing.
pub async fn settings_patches_lose_no_concurrent_change(store: Arc<dyn Store>) {
    let acme = new_account(&*store, "acme", None).await;
    let tasks: Vec<_> = (0..200u32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .patch_account_settings(acme.id, &mut |settings| {
                        if i % 2 == 0 {
                            *settings.monthly_limits.entry(Country::FR).or_insert(0) += 1;
                        } else {
                            settings.webhooks.dlr = Some(format!("https://acme.example/{i}"));
                            settings.webhook_secret = format!("secret-{i}");
                        }
                        true
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let stored = store.account(acme.id).await.unwrap().unwrap().settings;
    assert_eq!(stored.monthly_limits.get(&Country::FR), Some(&100));
    let last = stored.webhooks.dlr.as_deref().unwrap();
    assert_eq!(
        last.strip_prefix("https://acme.example/"),
        stored.webhook_secret.strip_prefix("secret-"),
        "both fields of one patch are applied together"
    );
    // Each patch answered the settings it stored: the counts seen are 1 to 100.
    let mut seen: Vec<u64> = answers
        .iter()
        .step_by(2)
        .map(|s| s.monthly_limits[&Country::FR])
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=100).collect::<Vec<u64>>());

    let declined = store
        .patch_account_settings(acme.id, &mut |settings| {
            settings.mobile_only = true;
            false
        })
        .await
        .unwrap();
    assert_eq!(
        declined, stored,
        "a declined patch answers the settings as they are"
    );
    assert_eq!(
        store.account(acme.id).await.unwrap().unwrap().settings,
        stored
    );
    let missing = store
        .patch_account_settings(acme.id + 100, &mut |_| true)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));

    // A patch's own error is its caller's, and stores nothing.
    let refused = patch_settings(&*store, acme.id, |settings| {
        settings.mobile_only = true;
        Err(StoreError::Corrupt("refused by the patch".into()))
    })
    .await;
    assert!(matches!(refused, Err(StoreError::Corrupt(what)) if what == "refused by the patch"));
    assert!(
        !store
            .account(acme.id)
            .await
            .unwrap()
            .unwrap()
            .settings
            .mobile_only
    );
}

/// A name may not be another account's e-mail, nor an e-mail another's name
/// (a client logs in with either), even when both are created at once.
pub async fn names_and_emails_are_one_namespace(store: Arc<dyn Store>) {
    let with_email = |name: &str, email: Option<&str>| NewAccount {
        email: email.map(Into::into),
        ..NewAccount::new(name, None)
    };
    let acme = store
        .create_account(with_email("acme", Some("ops@acme.example")), 0)
        .await
        .unwrap();
    for taken in [
        with_email("ops@acme.example", None),
        with_email("beta", Some("acme")),
        with_email("ops@acme.example", Some("ops@beta.example")),
    ] {
        assert!(
            matches!(
                store.create_account(taken.clone(), 0).await,
                Err(StoreError::Conflict(_))
            ),
            "{taken:?}"
        );
    }
    assert_eq!(store.accounts().await.unwrap().len(), 1);
    assert_eq!(
        store.account_by_login("ops@acme.example").await.unwrap(),
        Some(acme)
    );

    // Created at once, a name and an e-mail that are equal: one only.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let new = if i % 2 == 0 {
                with_email(&format!("x{i}"), Some("shared@example.com"))
            } else {
                with_email("shared@example.com", None)
            };
            tokio::spawn(async move { store.create_account(new, 0).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.accounts().await.unwrap().len(), 2);
}

pub async fn credits_and_ledger(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", Some(units(10))).await;
    assert_eq!(
        store
            .credit_account(acme.id, units(5), "top-up", at(1))
            .await
            .unwrap(),
        units(15)
    );
    assert_eq!(
        store
            .credit_account(acme.id, Amount::ZERO - units(15), "correction", at(2))
            .await
            .unwrap(),
        Amount::ZERO
    );
    let overdraw = store
        .credit_account(acme.id, Amount::from_micros(-1), "too much", at(3))
        .await;
    match overdraw {
        Err(StoreError::InsufficientCredits { needed, available }) => {
            assert_eq!(needed, Amount::from_micros(1));
            assert_eq!(available, Amount::ZERO);
        }
        other => panic!("expected InsufficientCredits, got {other:?}"),
    }
    assert_eq!(balance(store, acme.id).await, Some(Amount::ZERO));

    let ledger = store.ledger(acme.id, Page::default()).await.unwrap();
    let moves: Vec<(Amount, &str, Millis)> = ledger
        .iter()
        .map(|e| (e.amount, e.reason.as_str(), e.at))
        .collect();
    assert_eq!(
        moves,
        vec![
            (units(10), "opening balance", ms(t0())),
            (units(5), "top-up", at(1)),
            (Amount::ZERO - units(15), "correction", at(2)),
        ]
    );
    assert!(
        ledger
            .iter()
            .all(|e| e.account_id == acme.id && e.campaign_id.is_none())
    );
    let second = store
        .ledger(
            acme.id,
            Page {
                offset: 1,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(second, vec![ledger[1].clone()]);

    let postpaid = new_account(store, "postpaid", None).await;
    assert!(matches!(
        store.credit_account(postpaid.id, units(1), "x", 0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(balance(store, postpaid.id).await, None);
    assert!(
        store
            .ledger(postpaid.id, Page::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store
            .credit_account(postpaid.id + 100, units(1), "x", 0)
            .await,
        Err(StoreError::NotFound)
    ));

    // A credit beyond what a balance holds is refused as an overflow, not as
    // a shortfall, and stores nothing.
    let rich = new_account(store, "rich", Some(units(1))).await;
    let overflow = store
        .credit_account(rich.id, Amount::from_micros(i64::MAX), "too large", at(3))
        .await;
    assert!(
        matches!(overflow, Err(StoreError::Conflict(ref what)) if what.contains("overflow")),
        "{overflow:?}"
    );
    assert_eq!(balance(store, rich.id).await, Some(units(1)));
    assert_eq!(
        store.ledger(rich.id, Page::default()).await.unwrap().len(),
        1
    );
}

pub async fn api_keys_by_hash_and_revocation(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let beta = new_account(store, "beta", None).await;
    let key = store
        .create_api_key(acme.id, "hash-1", "rl_abc", Some("prod"), at(1))
        .await
        .unwrap();
    assert_eq!(
        (key.account_id, key.prefix.as_str(), key.label.as_deref()),
        (acme.id, "rl_abc", Some("prod"))
    );
    assert_eq!((key.created_at, key.revoked_at), (at(1), None));
    let other = store
        .create_api_key(acme.id, "hash-2", "rl_def", None, at(2))
        .await
        .unwrap();
    let duplicate = store
        .create_api_key(beta.id, "hash-1", "rl_xyz", None, at(3))
        .await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))));

    assert_eq!(
        store.account_by_key_hash("hash-1").await.unwrap(),
        Some((acme.clone(), key.clone()))
    );
    assert_eq!(store.account_by_key_hash("unknown").await.unwrap(), None);
    assert_eq!(
        store.api_keys(acme.id).await.unwrap(),
        vec![key.clone(), other.clone()]
    );
    assert!(store.api_keys(beta.id).await.unwrap().is_empty());

    store.revoke_api_key(key.id, at(4)).await.unwrap();
    assert_eq!(store.account_by_key_hash("hash-1").await.unwrap(), None);
    assert!(store.account_by_key_hash("hash-2").await.unwrap().is_some());
    store.revoke_api_key(key.id, at(5)).await.unwrap();
    let keys = store.api_keys(acme.id).await.unwrap();
    assert_eq!(
        keys[0].revoked_at,
        Some(at(4)),
        "a second revocation keeps the first time"
    );
    assert_eq!(keys[1].revoked_at, None);
    assert!(matches!(
        store.revoke_api_key(other.id + 100, at(6)).await,
        Err(StoreError::NotFound)
    ));
}

// --- committing ------------------------------------------------------------------------

pub async fn commit_stores_campaign_messages_and_debit(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", Some(units(100))).await;
    let mut request = request(
        &[
            number(1),
            number(2),
            "06 12 00 00 03".into(),
            "+336".into(),
            number(1),
        ],
        "Your code is 1234",
    );
    for (i, r) in request.recipients.iter_mut().enumerate() {
        r.client_ref = Some(format!("ref-{i}"));
    }
    request.sender = Some("ACME".into());
    let plan = plan_at(&request, t0());
    let meta = CampaignMeta {
        source: "smsfactor".into(),
        callback_url: Some("https://acme.example/cb".into()),
        callback_events: None,
        reply_url: None,
        tag: Some("otp".into()),
        idempotency: Some(IdempotencyRecord {
            key: "key-1".into(),
            answer_template: r#"{"ticket":"{campaign_id}"}"#.into(),
            since: 0,
            request_hash: "hash-of-the-request".into(),
        }),
    };
    let new = NewCampaign {
        account_id: acme.id,
        request: &request,
        plan: &plan,
        meta,
        now: ms(t0()),
    };
    let id = store.commit_campaign(new).await.unwrap();

    let cost = unit() * 3;
    assert_eq!(plan.cost, cost);
    assert_eq!(balance(store, acme.id).await, Some(units(100) - cost));
    let campaign = store.campaign(acme.id, id).await.unwrap().unwrap();
    assert_eq!(campaign.counters, plan.counters);
    assert_eq!((campaign.counters.total, campaign.counters.sent), (5, 3));
    assert_eq!(
        (campaign.counters.invalid, campaign.counters.duplicated),
        (1, 1)
    );
    assert_eq!((campaign.cost, campaign.refunded), (cost, Amount::ZERO));
    assert_eq!(campaign.status, CampaignStatus::Sending);
    assert_eq!(campaign.source, "smsfactor");
    assert_eq!(
        campaign.callback_url.as_deref(),
        Some("https://acme.example/cb")
    );
    assert_eq!(campaign.tag.as_deref(), Some("otp"));
    assert_eq!(campaign.sender.as_deref(), Some("ACME"));
    assert_eq!(
        (campaign.kind, campaign.route_class, campaign.channels),
        (
            MessageKind::Transactional,
            RouteClass::Premium,
            ChannelOrder::Network
        )
    );
    assert_eq!(
        (campaign.text.as_str(), campaign.encoding, campaign.segments),
        ("Your code is 1234", Encoding::Gsm7, 1)
    );
    assert_eq!(
        (campaign.send_at, campaign.expires_at, campaign.created_at),
        (ms(t0()), None, ms(t0()))
    );

    let messages = all_messages(store, acme.id, id).await;
    let got: Vec<(E164, Option<&str>)> = messages
        .iter()
        .map(|m| (m.number, m.client_ref.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (e164(1), Some("ref-0")),
            (e164(2), Some("ref-1")),
            (e164(3), Some("ref-2"))
        ]
    );
    for m in &messages {
        assert_eq!(
            (m.campaign_id, m.account_id, m.country),
            (id, acme.id, Country::FR)
        );
        assert_eq!(
            (m.text.as_str(), m.encoding, m.segments, m.cost),
            ("Your code is 1234", Encoding::Gsm7, 1, unit())
        );
        assert_eq!(
            (m.status, m.send_at, m.expires_at, m.updated_at),
            (MessageStatus::Queued, ms(t0()), None, ms(t0()))
        );
        assert_eq!(
            (
                m.connector.as_deref(),
                m.carrier_id.as_deref(),
                m.error.as_deref()
            ),
            (None, None, None)
        );
        let first = StatusChange {
            status: MessageStatus::Queued,
            at: ms(t0()),
            detail: None,
        };
        assert_eq!(history(store, acme.id, m.id).await, vec![first]);
    }
    let by_ref = store
        .message_by_ref(acme.id, id, "ref-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_ref, messages[1]);
    assert_eq!(
        store.message_by_ref(acme.id, id, "ref-4").await.unwrap(),
        None
    );
    let status_counts = store.campaign_status_counts(acme.id, id).await.unwrap();
    assert_eq!(status_counts, counts(&[(MessageStatus::Queued, 3)]));

    let debit = store
        .ledger(acme.id, Page::default())
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (
            debit.amount,
            debit.reason.as_str(),
            debit.campaign_id,
            debit.at
        ),
        (Amount::ZERO - cost, "campaign", Some(id), ms(t0()))
    );

    let answer = store
        .idempotent_answer(acme.id, "key-1", at(-60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        answer,
        IdempotentAnswer {
            campaign_id: id,
            body: format!(r#"{{"ticket":"{id}"}}"#),
            request_hash: "hash-of-the-request".into(),
        }
    );
    assert_eq!(
        store
            .idempotent_answer(acme.id, "key-1", at(1))
            .await
            .unwrap(),
        None,
        "older than the window"
    );
    assert_eq!(
        store
            .idempotent_answer(acme.id, "key-2", at(-60))
            .await
            .unwrap(),
        None
    );
    let beta = new_account(store, "beta", None).await;
    assert_eq!(
        store
            .idempotent_answer(beta.id, "key-1", at(-60))
            .await
            .unwrap(),
        None
    );
}

pub async fn campaigns_by_tag(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let beta = new_account(store, "beta", None).await;
    let request = request(&[number(1)], "tagged");
    let tagged = |tag: &str| CampaignMeta {
        tag: Some(tag.into()),
        ..meta("smpp")
    };
    let first = send_with(store, acme.id, &request, t0(), tagged("c1")).await;
    send_with(store, acme.id, &request, t0(), tagged("c2")).await;
    send_with(store, beta.id, &request, t0(), tagged("c3")).await;
    assert_eq!(
        store.campaign_id_by_tag(acme.id, "c1").await.unwrap(),
        Some(first)
    );
    let again = send_with(store, acme.id, &request, t0(), tagged("c1")).await;
    assert_eq!(
        store.campaign_id_by_tag(acme.id, "c1").await.unwrap(),
        Some(again),
        "the latest"
    );
    assert_eq!(store.campaign_id_by_tag(acme.id, "c3").await.unwrap(), None);
    assert_eq!(
        store.campaign_id_by_tag(acme.id, "none").await.unwrap(),
        None
    );
}

pub async fn commit_keeps_each_distinct_text(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let mut request = request(&numbers(1..4), "Hello");
    request.recipients[1].text = Some("Привет".into());
    let id = send(store, acme.id, &request, t0()).await;
    let texts: Vec<(String, Encoding)> = all_messages(store, acme.id, id)
        .await
        .into_iter()
        .map(|m| (m.text, m.encoding))
        .collect();
    assert_eq!(
        texts,
        vec![
            ("Hello".into(), Encoding::Gsm7),
            ("Привет".into(), Encoding::Ucs2),
            ("Hello".into(), Encoding::Gsm7)
        ]
    );
    let campaign = store.campaign(acme.id, id).await.unwrap().unwrap();
    assert_eq!(
        (campaign.text.as_str(), campaign.encoding),
        ("Hello", Encoding::Gsm7)
    );
}

pub async fn commit_queues_due_and_schedules_later(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let mut later_request = request(&numbers(1..3), "Later");
    later_request.send_at = Some(later(3600));
    let scheduled = send(store, acme.id, &later_request, t0()).await;
    let now = send(store, acme.id, &request(&numbers(3..4), "Now"), t0()).await;

    let campaign = store.campaign(acme.id, scheduled).await.unwrap().unwrap();
    assert_eq!(
        (campaign.status, campaign.send_at),
        (CampaignStatus::Scheduled, at(3600))
    );
    for m in all_messages(store, acme.id, scheduled).await {
        assert_eq!((m.status, m.send_at), (MessageStatus::Scheduled, at(3600)));
        assert_eq!(
            statuses(&history(store, acme.id, m.id).await),
            vec![MessageStatus::Scheduled]
        );
    }
    let due = all_messages(store, acme.id, now).await;
    assert_eq!(due[0].status, MessageStatus::Queued);
    let status_counts = store
        .campaign_status_counts(acme.id, scheduled)
        .await
        .unwrap();
    assert_eq!(status_counts, counts(&[(MessageStatus::Scheduled, 2)]));
}

pub async fn commit_without_credits_stores_nothing(store: Arc<dyn Store>) {
    let store = &*store;
    let poor = new_account(store, "poor", Some(Amount::from_micros(44_999))).await;
    let request = request(&numbers(1..2), "Hi");
    // Planned without a balance, as when another send spent it meanwhile.
    let plan = plan_at(&request, t0());
    let with_key = CampaignMeta {
        idempotency: Some(IdempotencyRecord {
            key: "k".into(),
            answer_template: "{campaign_id}".into(),
            since: 0,
            request_hash: String::new(),
        }),
        ..meta("api")
    };
    let new = NewCampaign {
        account_id: poor.id,
        request: &request,
        plan: &plan,
        meta: with_key,
        now: ms(t0()),
    };
    match store.commit_campaign(new).await {
        Err(StoreError::InsufficientCredits { needed, available }) => {
            assert_eq!((needed, available), (unit(), Amount::from_micros(44_999)));
        }
        other => panic!("expected InsufficientCredits, got {other:?}"),
    }
    assert_eq!(
        balance(store, poor.id).await,
        Some(Amount::from_micros(44_999))
    );
    assert!(
        store
            .campaigns(poor.id, &CampaignFilter::default(), Page::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.ledger(poor.id, Page::default()).await.unwrap().len(),
        1,
        "only the opening balance"
    );
    assert_eq!(
        store.idempotent_answer(poor.id, "k", 0).await.unwrap(),
        None
    );
    assert!(
        store
            .status_totals()
            .await
            .unwrap()
            .values()
            .all(|n| *n == 0)
    );
    assert!(store.claim_due(at(1), 10, at(60)).await.unwrap().is_empty());

    let unknown = NewCampaign {
        account_id: poor.id + 100,
        request: &request,
        plan: &plan,
        meta: meta("api"),
        now: ms(t0()),
    };
    assert!(matches!(
        store.commit_campaign(unknown).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn commit_for_postpaid_accounts(store: Arc<dyn Store>) {
    let store = &*store;
    let postpaid = new_account(store, "postpaid", None).await;
    let id = send(store, postpaid.id, &request(&numbers(1..3), "Hi"), t0()).await;
    assert_eq!(balance(store, postpaid.id).await, None);
    let ledger = store.ledger(postpaid.id, Page::default()).await.unwrap();
    let moves: Vec<(Amount, Option<CampaignId>)> =
        ledger.iter().map(|e| (e.amount, e.campaign_id)).collect();
    assert_eq!(
        moves,
        vec![(Amount::ZERO - unit() * 2, Some(id))],
        "the debit is recorded for billing"
    );
}

pub async fn concurrent_commits_never_overdraw(store: Arc<dyn Store>) {
    let request = Arc::new(request(&numbers(1..2), "Flash sale"));
    let plan = Arc::new(plan_at(&request, t0()));
    let acme = new_account(&*store, "acme", Some(plan.cost * 10)).await;
    let account_id = acme.id;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, request, plan) = (store.clone(), request.clone(), plan.clone());
            tokio::spawn(async move {
                let new = NewCampaign {
                    account_id,
                    request: &request,
                    plan: &plan,
                    meta: meta("api"),
                    now: ms(t0()),
                };
                store.commit_campaign(new).await
            })
        })
        .collect();
    let (mut committed, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => committed += 1,
            Err(StoreError::InsufficientCredits { .. }) => refused += 1,
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!((committed, refused), (10, 40));
    assert_eq!(balance(&*store, acme.id).await, Some(Amount::ZERO));
    let campaigns = store
        .campaigns(acme.id, &CampaignFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(campaigns.len(), 10);
    assert_eq!(
        store.ledger(acme.id, Page::default()).await.unwrap().len(),
        11
    );
}

pub async fn idempotency_keys_are_unique_while_live(store: Arc<dyn Store>) {
    let request = Arc::new(request(&numbers(1..2), "Once"));
    let plan = Arc::new(plan_at(&request, t0()));
    let acme = new_account(&*store, "acme", Some(units(10))).await;
    let account_id = acme.id;
    let keyed = |since: Millis| CampaignMeta {
        idempotency: Some(IdempotencyRecord {
            key: "order-42".into(),
            answer_template: r#"{"id":{campaign_id}}"#.into(),
            since,
            // Told apart by their window, to see which record is kept.
            request_hash: format!("hash-{since}"),
        }),
        ..meta("api")
    };
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, request, plan, meta) = (
                store.clone(),
                request.clone(),
                plan.clone(),
                keyed(at(-3600)),
            );
            tokio::spawn(async move {
                let new = NewCampaign {
                    account_id,
                    request: &request,
                    plan: &plan,
                    meta,
                    now: ms(t0()),
                };
                store.commit_campaign(new).await
            })
        })
        .collect();
    let mut committed = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(id) => committed.push(id),
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    let [first] = committed[..] else {
        panic!("expected exactly one commit, got {committed:?}")
    };
    assert_eq!(balance(&*store, account_id).await, Some(units(10) - unit()));
    let campaigns = store
        .campaigns(account_id, &CampaignFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(campaigns.len(), 1);
    assert_eq!(
        store
            .ledger(account_id, Page::default())
            .await
            .unwrap()
            .len(),
        2,
        "the opening balance and one debit"
    );
    let answer = store
        .idempotent_answer(account_id, "order-42", at(-3600))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.campaign_id, first);
    assert_eq!(answer.request_hash, format!("hash-{}", at(-3600)));
    assert_eq!(
        store.status_totals().await.unwrap().values().sum::<u64>(),
        1
    );

    // Once the record is older than the caller's window, the key is free.
    let commit = |since, now| {
        let (store, request, plan) = (store.clone(), request.clone(), plan.clone());
        async move {
            let new = NewCampaign {
                account_id,
                request: &request,
                plan: &plan,
                meta: keyed(since),
                now,
            };
            store.commit_campaign(new).await
        }
    };
    assert!(matches!(
        commit(ms(t0()), at(60)).await,
        Err(StoreError::Conflict(_))
    ));
    let second = commit(at(1), at(60)).await.unwrap();
    assert_ne!(second, first);
    let answer = store
        .idempotent_answer(account_id, "order-42", at(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        answer,
        IdempotentAnswer {
            campaign_id: second,
            body: format!(r#"{{"id":{second}}}"#),
            request_hash: format!("hash-{}", at(1)),
        }
    );
    assert_eq!(
        balance(&*store, account_id).await,
        Some(units(10) - unit() * 2)
    );
    // Keys are per account.
    let beta = new_account(&*store, "beta", None).await;
    let other = NewCampaign {
        account_id: beta.id,
        request: &request,
        plan: &plan,
        meta: keyed(at(-3600)),
        now: at(61),
    };
    store.commit_campaign(other).await.unwrap();
}

pub async fn batch_commits_each_campaign_or_refuses_it_alone(store: Arc<dyn Store>) {
    let store = &*store;
    // Room for two one-message campaigns and a micro-unit more.
    let acme = new_account(store, "acme", Some(unit() * 2 + Amount::from_micros(1))).await;
    let beta = new_account(store, "beta", None).await;
    let one = request(&numbers(1..2), "One");
    let two = request(&numbers(2..4), "Two");
    let later_one = SendRequest {
        send_at: Some(later(3600)),
        ..request(&numbers(4..5), "Later")
    };
    let (plan_one, plan_two, plan_later) = (
        plan_at(&one, t0()),
        plan_at(&two, t0()),
        plan_at(&later_one, t0()),
    );
    let campaign = |account_id, request, plan, now| NewCampaign {
        account_id,
        request,
        plan,
        meta: meta("smpp"),
        now,
    };
    let batch = [
        campaign(acme.id, &one, &plan_one, ms(t0())),
        campaign(acme.id, &two, &plan_two, ms(t0())),
        campaign(beta.id, &later_one, &plan_later, ms(t0())),
        campaign(beta.id + 100, &one, &plan_one, ms(t0())),
        campaign(acme.id, &later_one, &plan_later, at(5)),
        campaign(acme.id, &one, &plan_one, at(5)),
    ];
    assert!(store.commit_campaigns(&[]).await.is_empty());
    let results = store.commit_campaigns(&batch).await;
    assert_eq!(results.len(), batch.len());
    let mut results = results.into_iter();
    let mut next = || results.next().unwrap();
    let first = next().unwrap();
    match next() {
        Err(StoreError::InsufficientCredits { needed, available }) => {
            assert_eq!(
                (needed, available),
                (unit() * 2, unit() + Amount::from_micros(1))
            );
        }
        other => panic!("expected InsufficientCredits, got {other:?}"),
    }
    let postpaid = next().unwrap();
    assert!(matches!(next(), Err(StoreError::NotFound)));
    let scheduled = next().unwrap();
    match next() {
        Err(StoreError::InsufficientCredits { needed, available }) => {
            assert_eq!((needed, available), (unit(), Amount::from_micros(1)));
        }
        other => panic!("expected InsufficientCredits, got {other:?}"),
    }
    assert_eq!(
        [first, postpaid, scheduled]
            .into_iter()
            .collect::<HashSet<_>>()
            .len(),
        3
    );

    // The balance is exact: two debits taken, the refused ones not.
    assert_eq!(balance(store, acme.id).await, Some(Amount::from_micros(1)));
    assert_eq!(balance(store, beta.id).await, None);
    let ledger = store.ledger(acme.id, Page::default()).await.unwrap();
    let moves: Vec<(Amount, Option<CampaignId>)> =
        ledger.iter().map(|e| (e.amount, e.campaign_id)).collect();
    assert_eq!(
        moves[1..],
        [
            (Amount::ZERO - unit(), Some(first)),
            (Amount::ZERO - unit(), Some(scheduled))
        ]
    );
    let beta_ledger = store.ledger(beta.id, Page::default()).await.unwrap();
    assert_eq!(beta_ledger.len(), 1);
    assert_eq!(beta_ledger[0].campaign_id, Some(postpaid));
    let ids = |campaigns: Vec<Campaign>| campaigns.iter().map(|c| c.id).collect::<HashSet<_>>();
    let filter = CampaignFilter::default();
    assert_eq!(
        ids(store
            .campaigns(acme.id, &filter, Page::default())
            .await
            .unwrap()),
        HashSet::from([first, scheduled])
    );
    assert_eq!(
        ids(store
            .campaigns(beta.id, &filter, Page::default())
            .await
            .unwrap()),
        HashSet::from([postpaid])
    );

    // Each committed campaign is whole, with its own time and status.
    let campaign = store.campaign(acme.id, scheduled).await.unwrap().unwrap();
    assert_eq!(
        (
            campaign.text.as_str(),
            campaign.created_at,
            campaign.source.as_str()
        ),
        ("Later", at(5), "smpp")
    );
    for (account_id, id, status, now, number) in [
        (acme.id, first, MessageStatus::Queued, ms(t0()), 1),
        (beta.id, postpaid, MessageStatus::Scheduled, ms(t0()), 4),
        (acme.id, scheduled, MessageStatus::Scheduled, at(5), 4),
    ] {
        assert_eq!(
            store.campaign_status_counts(account_id, id).await.unwrap(),
            counts(&[(status, 1)])
        );
        let messages = all_messages(store, account_id, id).await;
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].number, e164(number));
        assert_eq!(
            history(store, account_id, messages[0].id).await,
            vec![StatusChange {
                status,
                at: now,
                detail: None
            }]
        );
    }
    assert_eq!(
        store.status_totals().await.unwrap().values().sum::<u64>(),
        3
    );
    let due = store.claim_due(at(6), 10, at(60)).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].campaign_id, first);
}

pub async fn batch_refuses_a_key_used_earlier_in_it(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", Some(units(1))).await;
    let one = request(&numbers(1..2), "Once");
    let big = request(&numbers(1..31), "Too many");
    let (plan_one, plan_big) = (plan_at(&one, t0()), plan_at(&big, t0()));
    assert!(plan_big.cost > units(1));
    let keyed = |key: Option<&str>| CampaignMeta {
        idempotency: key.map(|key| IdempotencyRecord {
            key: key.into(),
            answer_template: r#"{"id":{campaign_id}}"#.into(),
            since: at(-3600),
            request_hash: String::new(),
        }),
        ..meta("api")
    };
    let campaign = |request, plan, key| NewCampaign {
        account_id: acme.id,
        request,
        plan,
        meta: keyed(key),
        now: ms(t0()),
    };
    let results = store
        .commit_campaigns(&[
            // Refused for credits: stores nothing, the key stays free.
            campaign(&big, &plan_big, Some("k1")),
            campaign(&one, &plan_one, Some("k1")),
            campaign(&one, &plan_one, Some("k1")),
            campaign(&one, &plan_one, Some("k2")),
            campaign(&one, &plan_one, None),
        ])
        .await;
    let [big_result, k1, k1_again, k2, unkeyed] = &results[..] else {
        panic!("one result per campaign: {results:?}")
    };
    assert!(matches!(
        big_result,
        Err(StoreError::InsufficientCredits { .. })
    ));
    assert!(matches!(k1_again, Err(StoreError::Conflict(_))));
    let (k1, k2) = (*k1.as_ref().unwrap(), *k2.as_ref().unwrap());
    unkeyed.as_ref().unwrap();

    let results = store
        .commit_campaigns(&[
            campaign(&one, &plan_one, Some("k2")),
            campaign(&one, &plan_one, Some("k3")),
        ])
        .await;
    assert!(matches!(results[0], Err(StoreError::Conflict(_))));
    let k3 = *results[1].as_ref().unwrap();

    for (key, id) in [("k1", k1), ("k2", k2), ("k3", k3)] {
        assert_eq!(
            store
                .idempotent_answer(acme.id, key, at(-3600))
                .await
                .unwrap(),
            Some(IdempotentAnswer {
                campaign_id: id,
                body: format!(r#"{{"id":{id}}}"#),
                request_hash: String::new(),
            })
        );
    }
    assert_eq!(balance(store, acme.id).await, Some(units(1) - unit() * 4));
    assert_eq!(
        store
            .campaigns(acme.id, &CampaignFilter::default(), Page::default())
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        store.status_totals().await.unwrap().values().sum::<u64>(),
        4
    );
}

// --- cancelling ----------------------------------------------------------------------------

pub async fn cancel_refunds_only_unsent(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", Some(units(10))).await;
    let beta = new_account(store, "beta", Some(units(10))).await;
    let id = send(store, acme.id, &request(&numbers(1..5), "Hi"), t0()).await;
    let leased = store.claim_due(at(1), 1, at(60)).await.unwrap();
    assert_eq!(leased.len(), 1);

    assert!(matches!(
        store.cancel_campaign(beta.id, id, at(2)).await,
        Err(StoreError::NotFound)
    ));
    let outcome = store.cancel_campaign(acme.id, id, at(2)).await.unwrap();
    assert_eq!(
        outcome,
        CancelOutcome {
            cancelled: 3,
            refunded: unit() * 3
        }
    );
    assert_eq!(balance(store, acme.id).await, Some(units(10) - unit()));
    assert_eq!(balance(store, beta.id).await, Some(units(10)));
    let campaign = store.campaign(acme.id, id).await.unwrap().unwrap();
    assert_eq!(
        (campaign.refunded, campaign.status),
        (unit() * 3, CampaignStatus::Sending)
    );
    let status_counts = store.campaign_status_counts(acme.id, id).await.unwrap();
    assert_eq!(
        status_counts,
        counts(&[
            (MessageStatus::Submitting, 1),
            (MessageStatus::Cancelled, 3)
        ])
    );
    let refund = store
        .ledger(acme.id, Page::default())
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (
            refund.amount,
            refund.reason.as_str(),
            refund.campaign_id,
            refund.at
        ),
        (unit() * 3, "refund: cancelled", Some(id), at(2))
    );

    let again = store.cancel_campaign(acme.id, id, at(3)).await.unwrap();
    assert_eq!(
        again,
        CancelOutcome {
            cancelled: 0,
            refunded: Amount::ZERO
        }
    );
    assert_eq!(balance(store, acme.id).await, Some(units(10) - unit()));
    let cancelled = store
        .campaign_messages(acme.id, id, Some(MessageStatus::Cancelled), Page::default())
        .await
        .unwrap();
    assert_eq!(cancelled.len(), 3);
    assert!(!cancelled.iter().any(|m| m.id == leased[0].id));
    assert_eq!(
        statuses(&history(store, acme.id, cancelled[0].id).await),
        vec![MessageStatus::Queued, MessageStatus::Cancelled]
    );

    // The leased message goes on; once it is delivered the campaign is done.
    store
        .record_submissions(&[submitted(leased[0].id)], at(4))
        .await
        .unwrap();
    store
        .apply_reports(&[report(leased[0].id, MessageStatus::Delivered, at(5))])
        .await
        .unwrap();
    assert_eq!(
        store.campaign(acme.id, id).await.unwrap().unwrap().status,
        CampaignStatus::Done
    );
}

pub async fn cancelled_before_sending_is_cancelled(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", Some(units(1))).await;
    let mut request = request(&numbers(1..3), "Tomorrow");
    request.send_at = Some(later(86_400));
    let id = send(store, acme.id, &request, t0()).await;
    let outcome = store.cancel_campaign(acme.id, id, at(10)).await.unwrap();
    assert_eq!(
        outcome,
        CancelOutcome {
            cancelled: 2,
            refunded: unit() * 2
        }
    );
    assert_eq!(balance(store, acme.id).await, Some(units(1)));
    assert_eq!(
        store.campaign(acme.id, id).await.unwrap().unwrap().status,
        CampaignStatus::Cancelled
    );
    assert!(
        store
            .claim_due(at(86_400), 10, at(86_460))
            .await
            .unwrap()
            .is_empty()
    );
}

// --- dispatch ------------------------------------------------------------------------------

/// Each campaign of a batch keeps its own channel order, read back on the
/// campaign and on every message the dispatcher claims.
pub async fn the_channel_order_goes_from_commit_to_claim(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let requests: Vec<SendRequest> = ChannelOrder::ALL
        .into_iter()
        .zip(0u32..)
        .map(|(channels, i)| SendRequest {
            channels,
            ..request(&numbers(i * 2..i * 2 + 2), "Hello")
        })
        .collect();
    let plans: Vec<Plan> = requests.iter().map(|r| plan_at(r, t0())).collect();
    let batch: Vec<NewCampaign<'_>> = requests
        .iter()
        .zip(&plans)
        .map(|(request, plan)| NewCampaign {
            account_id: acme.id,
            request,
            plan,
            meta: meta("smsadvert"),
            now: ms(t0()),
        })
        .collect();
    let ids: Vec<CampaignId> = store
        .commit_campaigns(&batch)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let mut expected = HashMap::new();
    for (id, order) in ids.iter().zip(ChannelOrder::ALL) {
        let campaign = store.campaign(acme.id, *id).await.unwrap().unwrap();
        assert_eq!(campaign.channels, order);
        expected.insert(*id, order);
    }
    let claimed = store.claim_due(at(0), 100, at(300)).await.unwrap();
    assert_eq!(claimed.len(), 6);
    for message in &claimed {
        assert_eq!(
            message.channels, expected[&message.campaign_id],
            "message {}",
            message.id
        );
    }
}

pub async fn claim_leases_due_messages_and_reclaims_expired_leases(store: Arc<dyn Store>) {
    let store = &*store;
    let new = NewAccount {
        name: "sandbox".into(),
        email: None,
        balance: None,
        sandbox: true,
        settings: AccountSettings::default(),
    };
    let acme = store.create_account(new, ms(t0())).await.unwrap();
    let mut now_request = request(&numbers(1..4), "Hello");
    now_request.sender = Some("ACME".into());
    let a = send(store, acme.id, &now_request, t0()).await;
    let mut later_request = request(&numbers(4..6), "Later");
    later_request.send_at = Some(later(3600));
    let b = send(store, acme.id, &later_request, t0()).await;
    let a_ids: Vec<MessageId> = all_messages(store, acme.id, a)
        .await
        .iter()
        .map(|m| m.id)
        .collect();
    let b_ids: Vec<MessageId> = all_messages(store, acme.id, b)
        .await
        .iter()
        .map(|m| m.id)
        .collect();

    let first = store.claim_due(at(0), 2, at(300)).await.unwrap();
    assert_eq!(ids(&first), a_ids[..2]);
    let expected = OutboundMessage {
        id: a_ids[0],
        account_id: acme.id,
        campaign_id: a,
        sandbox: true,
        number: e164(1),
        country: Country::FR,
        sender: Some("ACME".into()),
        text: "Hello".into(),
        encoding: Encoding::Gsm7,
        segments: 1,
        kind: MessageKind::Transactional,
        route_class: RouteClass::Premium,
        channels: ChannelOrder::Network,
        expires_at: None,
        attempts: 0,
    };
    assert_eq!(first[0], expected);
    assert_eq!(
        status_of(store, acme.id, a_ids[0]).await,
        MessageStatus::Submitting
    );

    assert_eq!(
        ids(&store.claim_due(at(1), 10, at(300)).await.unwrap()),
        a_ids[2..]
    );
    assert!(
        store
            .claim_due(at(2), 10, at(300))
            .await
            .unwrap()
            .is_empty(),
        "leased and not yet due"
    );

    // The dispatcher holding the leases died: at lease end they are claimed again.
    let again = store.claim_due(at(300), 10, at(600)).await.unwrap();
    assert_eq!(ids(&again), a_ids);
    let changes = history(store, acme.id, a_ids[0]).await;
    assert_eq!(
        statuses(&changes),
        vec![
            MessageStatus::Queued,
            MessageStatus::Submitting,
            MessageStatus::Queued,
            MessageStatus::Submitting
        ]
    );
    assert_eq!(
        changes[2],
        StatusChange {
            status: MessageStatus::Queued,
            at: at(300),
            detail: Some("lease expired".into())
        }
    );
    assert_eq!(changes[3].at, at(300));

    let outcomes: Vec<_> = a_ids.iter().map(|id| submitted(*id)).collect();
    store.record_submissions(&outcomes, at(301)).await.unwrap();
    assert_eq!(
        store.campaign(acme.id, b).await.unwrap().unwrap().status,
        CampaignStatus::Scheduled
    );
    assert!(
        store
            .claim_due(at(3599), 10, at(4000))
            .await
            .unwrap()
            .is_empty()
    );
    let scheduled = store.claim_due(at(3600), 10, at(4000)).await.unwrap();
    assert_eq!(ids(&scheduled), b_ids);
    assert_eq!(scheduled[0].text, "Later");
    assert_eq!(
        statuses(&history(store, acme.id, b_ids[0]).await),
        vec![
            MessageStatus::Scheduled,
            MessageStatus::Queued,
            MessageStatus::Submitting
        ]
    );
    assert_eq!(
        store.campaign(acme.id, b).await.unwrap().unwrap().status,
        CampaignStatus::Sending
    );
}

pub async fn record_submissions_applies_each_outcome(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", Some(units(1))).await;
    let id = send(store, acme.id, &request(&numbers(1..5), "Hi"), t0()).await;
    let leased = ids(&store.claim_due(at(0), 10, at(60)).await.unwrap());
    let [m1, m2, m3, m4] = leased[..] else {
        panic!("expected 4 messages, got {leased:?}")
    };
    let outcomes = vec![
        submitted(m1),
        (
            m2,
            SubmitOutcome::Retry {
                retry_at: at(60),
                error: "throttled".into(),
            },
        ),
        (
            m3,
            SubmitOutcome::Rejected {
                connector: "sim".into(),
                error: "bad number".into(),
            },
        ),
        (
            m4,
            SubmitOutcome::Failed {
                error: "no route".into(),
            },
        ),
    ];
    store.record_submissions(&outcomes, at(1)).await.unwrap();

    let msg = |id| async move { store.message(acme.id, id).await.unwrap().unwrap().0 };
    let one = msg(m1).await;
    assert_eq!(
        (
            one.status,
            one.connector.as_deref(),
            one.carrier_id.as_deref()
        ),
        (
            MessageStatus::Submitted,
            Some("sim"),
            Some(&*format!("c{m1}"))
        )
    );
    assert_eq!(one.updated_at, at(1));
    let two = msg(m2).await;
    assert_eq!(
        (two.status, two.send_at, two.error.as_deref()),
        (MessageStatus::Queued, at(60), Some("throttled"))
    );
    let three = msg(m3).await;
    assert_eq!(
        (
            three.status,
            three.connector.as_deref(),
            three.error.as_deref()
        ),
        (MessageStatus::Rejected, Some("sim"), Some("bad number"))
    );
    let four = msg(m4).await;
    assert_eq!(
        (four.status, four.error.as_deref()),
        (MessageStatus::Failed, Some("no route"))
    );

    // Only the failed message never left: it alone is refunded.
    assert_eq!(balance(store, acme.id).await, Some(units(1) - unit() * 3));
    assert_eq!(
        store.campaign(acme.id, id).await.unwrap().unwrap().refunded,
        unit()
    );
    let refund = store
        .ledger(acme.id, Page::default())
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (refund.amount, refund.reason.as_str(), refund.campaign_id),
        (unit(), "refund: failed", Some(id))
    );
    assert_eq!(
        history(store, acme.id, m4)
            .await
            .last()
            .unwrap()
            .detail
            .as_deref(),
        Some("no route")
    );

    // The retry waits for its time, then comes back with one attempt counted.
    assert!(
        store
            .claim_due(at(59), 10, at(120))
            .await
            .unwrap()
            .is_empty()
    );
    let retried = store.claim_due(at(60), 10, at(120)).await.unwrap();
    assert_eq!((ids(&retried), retried[0].attempts), (vec![m2], 1));
    assert_eq!(
        statuses(&history(store, acme.id, m2).await),
        vec![
            MessageStatus::Queued,
            MessageStatus::Submitting,
            MessageStatus::Queued,
            MessageStatus::Submitting
        ]
    );

    // Outcomes for messages not leased any more are ignored.
    store
        .record_submissions(
            &[(
                m1,
                SubmitOutcome::Failed {
                    error: "late".into(),
                },
            )],
            at(61),
        )
        .await
        .unwrap();
    assert_eq!(msg(m1).await.status, MessageStatus::Submitted);
    assert_eq!(balance(store, acme.id).await, Some(units(1) - unit() * 3));
    store.record_submissions(&[], at(62)).await.unwrap();
}

pub async fn apply_reports_matches_by_carrier_id_once(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let id = send(store, acme.id, &request(&numbers(1..4), "Hi"), t0()).await;
    let leased = ids(&store.claim_due(at(0), 10, at(60)).await.unwrap());
    let outcomes: Vec<_> = leased.iter().map(|id| submitted(*id)).collect();
    store.record_submissions(&outcomes, at(1)).await.unwrap();
    let [m1, m2, m3] = leased[..] else {
        panic!("expected 3 messages")
    };

    let undelivered = CarrierReport {
        error: Some("absent subscriber".into()),
        ..report(m2, MessageStatus::Undelivered, at(11))
    };
    let unknown = CarrierReport {
        carrier_id: "nope".into(),
        ..report(m1, MessageStatus::Delivered, at(12))
    };
    let batch = [
        report(m1, MessageStatus::Delivered, at(10)),
        undelivered,
        unknown,
        report(m1, MessageStatus::Delivered, at(13)),
    ];
    assert_eq!(store.apply_reports(&batch).await.unwrap(), 2);
    assert_eq!(
        store.apply_reports(&batch).await.unwrap(),
        0,
        "reports can arrive twice"
    );
    assert_eq!(
        store
            .apply_reports(&[report(m1, MessageStatus::Undelivered, at(14))])
            .await
            .unwrap(),
        0,
        "final"
    );
    let wrong_connector = CarrierReport {
        connector: "other".into(),
        ..report(m3, MessageStatus::Delivered, at(15))
    };
    assert_eq!(store.apply_reports(&[wrong_connector]).await.unwrap(), 0);
    assert_eq!(
        store
            .apply_reports(&[report(m3, MessageStatus::Queued, at(15))])
            .await
            .unwrap(),
        0,
        "not a report status"
    );
    assert_eq!(store.apply_reports(&[]).await.unwrap(), 0);

    let (one, changes) = store.message(acme.id, m1).await.unwrap().unwrap();
    assert_eq!(
        (one.status, one.updated_at),
        (MessageStatus::Delivered, at(10))
    );
    let expected = vec![
        StatusChange {
            status: MessageStatus::Queued,
            at: at(0),
            detail: None,
        },
        StatusChange {
            status: MessageStatus::Submitting,
            at: at(0),
            detail: None,
        },
        StatusChange {
            status: MessageStatus::Submitted,
            at: at(1),
            detail: None,
        },
        StatusChange {
            status: MessageStatus::Delivered,
            at: at(10),
            detail: None,
        },
    ];
    assert_eq!(changes, expected);
    let (two, changes) = store.message(acme.id, m2).await.unwrap().unwrap();
    assert_eq!(
        (two.status, two.error.as_deref()),
        (MessageStatus::Undelivered, Some("absent subscriber"))
    );
    assert_eq!(
        changes.last().unwrap().detail.as_deref(),
        Some("absent subscriber")
    );
    assert_eq!(
        status_of(store, acme.id, m3).await,
        MessageStatus::Submitted
    );

    assert_eq!(
        store
            .apply_reports(&[report(m3, MessageStatus::Expired, at(20))])
            .await
            .unwrap(),
        1
    );
    let status_counts = store.campaign_status_counts(acme.id, id).await.unwrap();
    let expected = counts(&[
        (MessageStatus::Delivered, 1),
        (MessageStatus::Undelivered, 1),
        (MessageStatus::Expired, 1),
    ]);
    assert_eq!(status_counts, expected);
    let campaign = store.campaign(acme.id, id).await.unwrap().unwrap();
    assert_eq!(
        (campaign.status, campaign.refunded),
        (CampaignStatus::Done, Amount::ZERO),
        "sent messages are not refunded"
    );
}

pub async fn long_messages_are_reported_part_by_part(store: Arc<dyn Store>) {
    let store = &*store;
    let settings = AccountSettings {
        webhooks: WebhookUrls {
            dlr: Some("https://acme.example/dlr".into()),
            ..WebhookUrls::default()
        },
        ..AccountSettings::default()
    };
    let acme = new_account_with(store, "acme", None, settings).await;
    let id = send(store, acme.id, &request(&numbers(1..6), "Long"), t0()).await;
    let leased = ids(&store.claim_due(at(0), 10, at(60)).await.unwrap());
    let [m1, m2, m3, m4, m5] = leased[..] else {
        panic!("expected 5 messages, got {leased:?}")
    };
    let part = |carrier_id: &str, status, seconds| CarrierReport {
        connector: "sim".into(),
        carrier_id: carrier_id.into(),
        status,
        error: None,
        at: at(seconds),
    };
    let outcomes = [
        submitted_parts(m1, &["a1", "a2", "a3"]),
        submitted_parts(m2, &["b1", "b2"]),
        submitted_parts(m3, &["c1"]),
        submitted_parts(m4, &["d1", "d2"]),
        submitted_parts(m5, &["e1", "e2", "e3"]),
        // A second outcome for a message: the first counts.
        submitted_parts(m2, &["z1", "z2", "z3"]),
    ];
    store.record_submissions(&outcomes, at(1)).await.unwrap();
    let ignored = [
        part("z1", MessageStatus::Undelivered, 2),
        part("z2", MessageStatus::Undelivered, 2),
    ];
    assert_eq!(store.apply_reports(&ignored).await.unwrap(), 0);
    let msg = |id| async move { store.message(acme.id, id).await.unwrap().unwrap() };
    assert_eq!(
        msg(m1).await.0.carrier_id.as_deref(),
        Some("a1"),
        "the message shows its first part's id"
    );

    // Delivered only when every part is.
    assert_eq!(
        store
            .apply_reports(&[part("a1", MessageStatus::Delivered, 10)])
            .await
            .unwrap(),
        0
    );
    assert_eq!(msg(m1).await.0.status, MessageStatus::Submitted);
    // One failed part fails the message at once; a part reported twice
    // counts once.
    let absent = CarrierReport {
        error: Some("absent subscriber".into()),
        ..part("b2", MessageStatus::Undelivered, 12)
    };
    let batch = [
        part("a2", MessageStatus::Delivered, 11),
        part("a1", MessageStatus::Undelivered, 11),
        absent,
    ];
    assert_eq!(store.apply_reports(&batch).await.unwrap(), 1);
    assert_eq!(msg(m1).await.0.status, MessageStatus::Submitted);
    let (two, changes) = msg(m2).await;
    assert_eq!(
        (two.status, two.error.as_deref(), two.updated_at),
        (
            MessageStatus::Undelivered,
            Some("absent subscriber"),
            at(12)
        )
    );
    assert_eq!(
        store
            .apply_reports(&[part("a3", MessageStatus::Delivered, 13)])
            .await
            .unwrap(),
        1
    );
    let (one, changes_one) = msg(m1).await;
    assert_eq!(
        (one.status, one.updated_at),
        (MessageStatus::Delivered, at(13))
    );
    assert_eq!(
        statuses(&changes_one),
        vec![
            MessageStatus::Queued,
            MessageStatus::Submitting,
            MessageStatus::Submitted,
            MessageStatus::Delivered
        ]
    );
    // The other part of a failed message, late: ignored.
    assert_eq!(
        store
            .apply_reports(&[part("b1", MessageStatus::Delivered, 14)])
            .await
            .unwrap(),
        0
    );
    assert_eq!(msg(m2).await, (two, changes));

    // Within one batch: every part delivered makes one change, at the last
    // report; the first failure wins over later ones and over deliveries.
    let batch = [
        part("c1", MessageStatus::Delivered, 20),
        part("d2", MessageStatus::Delivered, 21),
        part("e1", MessageStatus::Delivered, 22),
        part("d1", MessageStatus::Delivered, 23),
        CarrierReport {
            error: Some("validity period".into()),
            ..part("e3", MessageStatus::Expired, 24)
        },
        part("e2", MessageStatus::Rejected, 25),
    ];
    assert_eq!(store.apply_reports(&batch).await.unwrap(), 3);
    assert_eq!(
        (msg(m3).await.0.status, msg(m3).await.0.updated_at),
        (MessageStatus::Delivered, at(20))
    );
    let (four, changes) = msg(m4).await;
    assert_eq!(
        (four.status, four.updated_at),
        (MessageStatus::Delivered, at(23))
    );
    assert_eq!(statuses(&changes).len(), 4, "one change for two parts");
    let (five, changes) = msg(m5).await;
    assert_eq!(
        (five.status, five.error.as_deref(), five.updated_at),
        (MessageStatus::Expired, Some("validity period"), at(24))
    );
    assert_eq!(
        changes.last().unwrap(),
        &StatusChange {
            status: MessageStatus::Expired,
            at: at(24),
            detail: Some("validity period".into())
        }
    );
    assert_eq!(statuses(&changes).len(), 4);
    assert_eq!(store.apply_reports(&batch).await.unwrap(), 0, "twice");

    let status_counts = store.campaign_status_counts(acme.id, id).await.unwrap();
    let expected = counts(&[
        (MessageStatus::Delivered, 3),
        (MessageStatus::Undelivered, 1),
        (MessageStatus::Expired, 1),
    ]);
    assert_eq!(status_counts, expected);
    // One callback per status a message reached.
    let hooks = store.claim_webhooks(at(30), 100, at(90)).await.unwrap();
    let mut reported: Vec<(MessageId, MessageStatus, Millis)> = hooks
        .iter()
        .filter(|w| w.status != Some(MessageStatus::Submitted))
        .map(|w| (w.message_id.unwrap(), w.status.unwrap(), w.at))
        .collect();
    reported.sort();
    let mut expected = vec![
        (m1, MessageStatus::Delivered, at(13)),
        (m2, MessageStatus::Undelivered, at(12)),
        (m3, MessageStatus::Delivered, at(20)),
        (m4, MessageStatus::Delivered, at(23)),
        (m5, MessageStatus::Expired, at(24)),
    ];
    expected.sort();
    assert_eq!(reported, expected);
    assert_eq!(hooks.len(), 10, "and one for each submission");
}

pub async fn reports_before_their_submission_are_kept(store: Arc<dyn Store>) {
    let store = &*store;
    let settings = AccountSettings {
        webhooks: WebhookUrls {
            dlr: Some("https://acme.example/dlr".into()),
            ..WebhookUrls::default()
        },
        ..AccountSettings::default()
    };
    let acme = new_account_with(store, "acme", None, settings).await;
    send(store, acme.id, &request(&numbers(1..5), "Fast"), t0()).await;
    let leased = ids(&store.claim_due(at(0), 10, at(60)).await.unwrap());
    let [m1, m2, m3, m4] = leased[..] else {
        panic!("expected 4 messages, got {leased:?}")
    };

    // The SMSC's receipts beat its submit responses.
    let undelivered = CarrierReport {
        error: Some("absent subscriber".into()),
        ..report(m3, MessageStatus::Undelivered, at(2))
    };
    let early = [
        report(m1, MessageStatus::Delivered, at(2)),
        CarrierReport {
            carrier_id: "x2".into(),
            ..report(m2, MessageStatus::Delivered, at(2))
        },
        undelivered.clone(),
        // A second receipt for one id: the first counts.
        report(m3, MessageStatus::Delivered, at(2)),
    ];
    assert_eq!(store.apply_reports(&early).await.unwrap(), 0);
    assert_eq!(
        store
            .apply_reports(&[report(m1, MessageStatus::Expired, at(3))])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        status_of(store, acme.id, m1).await,
        MessageStatus::Submitting
    );

    let outcomes = [
        submitted(m1),
        submitted_parts(m2, &["x1", "x2"]),
        submitted(m3),
        submitted(m4),
    ];
    store.record_submissions(&outcomes, at(5)).await.unwrap();
    let (one, changes) = store.message(acme.id, m1).await.unwrap().unwrap();
    assert_eq!(
        (one.status, one.updated_at),
        (MessageStatus::Delivered, at(2))
    );
    let expected = vec![
        StatusChange {
            status: MessageStatus::Queued,
            at: at(0),
            detail: None,
        },
        StatusChange {
            status: MessageStatus::Submitting,
            at: at(0),
            detail: None,
        },
        StatusChange {
            status: MessageStatus::Submitted,
            at: at(5),
            detail: None,
        },
        StatusChange {
            status: MessageStatus::Delivered,
            at: at(2),
            detail: None,
        },
    ];
    assert_eq!(
        changes, expected,
        "the full history, the receipt's own time"
    );
    let (three, _) = store.message(acme.id, m3).await.unwrap().unwrap();
    assert_eq!(
        (three.status, three.error.as_deref()),
        (MessageStatus::Undelivered, Some("absent subscriber"))
    );
    // One part of a long message came early; the message waits for the other.
    assert_eq!(
        status_of(store, acme.id, m2).await,
        MessageStatus::Submitted
    );
    assert_eq!(
        status_of(store, acme.id, m4).await,
        MessageStatus::Submitted
    );
    let x1 = CarrierReport {
        carrier_id: "x1".into(),
        ..report(m2, MessageStatus::Delivered, at(6))
    };
    assert_eq!(store.apply_reports(&[x1]).await.unwrap(), 1);
    assert_eq!(
        status_of(store, acme.id, m2).await,
        MessageStatus::Delivered
    );

    let hooks = store.claim_webhooks(at(10), 100, at(70)).await.unwrap();
    let mut got: Vec<(MessageId, MessageStatus)> = hooks
        .iter()
        .map(|w| (w.message_id.unwrap(), w.status.unwrap()))
        .collect();
    got.sort();
    let mut expected = vec![
        (m1, MessageStatus::Submitted),
        (m1, MessageStatus::Delivered),
        (m2, MessageStatus::Submitted),
        (m2, MessageStatus::Delivered),
        (m3, MessageStatus::Submitted),
        (m3, MessageStatus::Undelivered),
        (m4, MessageStatus::Submitted),
    ];
    expected.sort();
    assert_eq!(got, expected);

    // A kept report is applied once: an id given again later finds none.
    send(store, acme.id, &request(&numbers(5..6), "Again"), later(20)).await;
    let m5 = ids(&store.claim_due(at(20), 10, at(80)).await.unwrap())[0];
    let reused = (
        m5,
        SubmitOutcome::Submitted {
            connector: "sim".into(),
            carrier_ids: vec![format!("c{m1}")],
            report_by: i64::MAX,
        },
    );
    store.record_submissions(&[reused], at(21)).await.unwrap();
    assert_eq!(
        status_of(store, acme.id, m5).await,
        MessageStatus::Submitted
    );
}

pub async fn unmatched_reports_are_forgotten_after_a_week(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let week = 7 * 24 * 3600;
    send(store, acme.id, &request(&numbers(1..4), "Late"), t0()).await;
    let leased = ids(&store.claim_due(at(0), 10, at(60)).await.unwrap());
    let [m1, m2, m3] = leased[..] else {
        panic!("expected 3 messages, got {leased:?}")
    };
    let early = [
        report(m1, MessageStatus::Delivered, at(1)),
        report(m2, MessageStatus::Delivered, at(2)),
        report(m3, MessageStatus::Delivered, at(3)),
    ];
    assert_eq!(store.apply_reports(&early).await.unwrap(), 0);

    // The leases run out: an outcome for a message queued again is ignored,
    // and the report for its id is kept.
    assert!(
        store
            .claim_due(at(60), 0, at(120))
            .await
            .unwrap()
            .is_empty()
    );
    store
        .record_submissions(&[submitted(m3)], at(61))
        .await
        .unwrap();
    assert_eq!(status_of(store, acme.id, m3).await, MessageStatus::Queued);
    let again = store
        .claim_due(at(62), 10, at(62 + 2 * week))
        .await
        .unwrap();
    assert_eq!(ids(&again), leased);

    assert_eq!(store.expire_due(at(2 + week)).await.unwrap(), 0);
    let outcomes: Vec<_> = leased.iter().map(|id| submitted(*id)).collect();
    store
        .record_submissions(&outcomes, at(3 + week))
        .await
        .unwrap();
    assert_eq!(
        status_of(store, acme.id, m1).await,
        MessageStatus::Submitted,
        "its report waited more than a week: forgotten"
    );
    assert_eq!(
        status_of(store, acme.id, m2).await,
        MessageStatus::Delivered,
        "a week exactly: kept"
    );
    assert_eq!(
        status_of(store, acme.id, m3).await,
        MessageStatus::Delivered
    );
}

pub async fn expire_due_refunds_unsent_messages(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", Some(units(10))).await;
    // Scheduled for later, window closing before it could be sent.
    let mut windowed = request(&numbers(1..3), "Window");
    windowed.send_at = Some(later(3600));
    windowed.expires_at = Some(later(7200));
    let scheduled = send(store, acme.id, &windowed, t0()).await;
    // Queued now with the same window; one is sent before it closes.
    let mut now_request = request(&numbers(3..5), "Now");
    now_request.expires_at = Some(later(7200));
    let queued = send(store, acme.id, &now_request, t0()).await;
    let leased = store.claim_due(at(0), 1, at(60)).await.unwrap();
    assert_eq!(leased[0].expires_at, Some(at(7200)));
    store
        .record_submissions(&[submitted(leased[0].id)], at(1))
        .await
        .unwrap();
    assert_eq!(balance(store, acme.id).await, Some(units(10) - unit() * 4));

    assert_eq!(store.expire_due(at(7199)).await.unwrap(), 0);
    // A message whose window closed is not leased, even before `expire_due`.
    assert!(
        store
            .claim_due(at(7200), 10, at(7260))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.expire_due(at(7200)).await.unwrap(), 3);
    assert_eq!(store.expire_due(at(7201)).await.unwrap(), 0);

    assert_eq!(balance(store, acme.id).await, Some(units(10) - unit()));
    let status_counts = store
        .campaign_status_counts(acme.id, scheduled)
        .await
        .unwrap();
    assert_eq!(status_counts, counts(&[(MessageStatus::Expired, 2)]));
    let status_counts = store.campaign_status_counts(acme.id, queued).await.unwrap();
    assert_eq!(
        status_counts,
        counts(&[(MessageStatus::Submitted, 1), (MessageStatus::Expired, 1)])
    );
    let campaign = store.campaign(acme.id, scheduled).await.unwrap().unwrap();
    assert_eq!(
        (campaign.refunded, campaign.status),
        (unit() * 2, CampaignStatus::Done)
    );
    assert_eq!(
        store
            .campaign(acme.id, queued)
            .await
            .unwrap()
            .unwrap()
            .refunded,
        unit()
    );
    let expired = all_messages(store, acme.id, scheduled).await;
    assert_eq!(
        (expired[0].status, expired[0].updated_at),
        (MessageStatus::Expired, at(7200))
    );
    let refunds: Vec<(Amount, String, Option<CampaignId>)> = store
        .ledger(acme.id, Page::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.reason.starts_with("refund"))
        .map(|e| (e.amount, e.reason, e.campaign_id))
        .collect();
    let expired = "refund: expired".to_string();
    assert_eq!(
        refunds,
        vec![
            (unit() * 2, expired.clone(), Some(scheduled)),
            (unit(), expired, Some(queued))
        ]
    );
}

// --- callbacks -----------------------------------------------------------------------------

pub async fn status_webhooks_go_to_the_right_url(store: Arc<dyn Store>) {
    let store = &*store;
    let settings = AccountSettings {
        webhooks: WebhookUrls {
            dlr: Some("https://acme.example/dlr".into()),
            inbound: None,
            dialect: None,
            ..WebhookUrls::default()
        },
        ..AccountSettings::default()
    };
    let acme = new_account_with(store, "acme", None, settings).await;
    let quiet = new_account(store, "quiet", None).await;
    let own_url = CampaignMeta {
        callback_url: Some("https://cb.example/1".into()),
        ..meta("octopush")
    };
    let with_url = send_with(store, acme.id, &request(&numbers(1..2), "A"), t0(), own_url).await;
    let without = send(store, acme.id, &request(&numbers(2..3), "B"), t0()).await;
    send(store, quiet.id, &request(&numbers(3..4), "C"), t0()).await;
    let leased = ids(&store.claim_due(at(0), 10, at(60)).await.unwrap());
    assert_eq!(
        store.pending_webhooks().await.unwrap(),
        0,
        "claiming is not reported"
    );
    let [m1, m2, m3] = leased[..] else {
        panic!("expected 3 messages")
    };
    let outcomes = [
        submitted(m1),
        submitted(m2),
        (
            m3,
            SubmitOutcome::Failed {
                error: "no route".into(),
            },
        ),
    ];
    store.record_submissions(&outcomes, at(1)).await.unwrap();
    assert_eq!(
        store.pending_webhooks().await.unwrap(),
        2,
        "nothing for the account without a URL"
    );
    store
        .apply_reports(&[report(m1, MessageStatus::Delivered, at(5))])
        .await
        .unwrap();

    let hooks = store.claim_webhooks(at(10), 10, at(70)).await.unwrap();
    let got: Vec<_> = hooks
        .iter()
        .map(|w| {
            (
                w.account_id,
                w.url.as_str(),
                w.kind,
                w.source.as_str(),
                w.message_id,
                w.status,
                w.at,
                w.attempts,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                acme.id,
                "https://cb.example/1",
                EventKind::Status,
                "octopush",
                Some(m1),
                Some(MessageStatus::Submitted),
                at(1),
                0
            ),
            (
                acme.id,
                "https://acme.example/dlr",
                EventKind::Status,
                "api",
                Some(m2),
                Some(MessageStatus::Submitted),
                at(1),
                0
            ),
            (
                acme.id,
                "https://cb.example/1",
                EventKind::Status,
                "octopush",
                Some(m1),
                Some(MessageStatus::Delivered),
                at(5),
                0
            ),
        ]
    );
    assert!(hooks.iter().all(|w| w.inbound_id.is_none()));
    assert_eq!(all_messages(store, acme.id, with_url).await[0].id, m1);
    assert_eq!(all_messages(store, acme.id, without).await[0].id, m2);
}

/// `callback_events = final` (the account's, or a campaign's own) enqueues
/// one callback per message, for its final status only; a batch's facts are
/// read together, and its results recorded together.
pub async fn final_only_callbacks_and_batch_facts(store: Arc<dyn Store>) {
    let store = &*store;
    let settings = AccountSettings {
        webhooks: WebhookUrls {
            dlr: Some("https://acme.example/dlr".into()),
            callback_events: CallbackEvents::Final,
            ..WebhookUrls::default()
        },
        ..AccountSettings::default()
    };
    let acme = new_account_with(store, "acme", None, settings).await;
    let other = new_account(store, "other", None).await;
    let account_final = send(store, acme.id, &request(&numbers(1..3), "A"), t0()).await;
    let all = CampaignMeta {
        callback_url: Some("https://cb.example/all".into()),
        callback_events: Some(CallbackEvents::All),
        ..meta("api")
    };
    let campaign_all = send_with(store, acme.id, &request(&numbers(3..4), "B"), t0(), all).await;
    let last = CampaignMeta {
        callback_url: Some("https://cb.example/final".into()),
        callback_events: Some(CallbackEvents::Final),
        ..meta("api")
    };
    let campaign_final =
        send_with(store, other.id, &request(&numbers(4..5), "C"), t0(), last).await;

    let leased = ids(&store.claim_due(at(0), 10, at(60)).await.unwrap());
    assert_eq!(leased.len(), 4);
    let outcomes: Vec<_> = leased.iter().map(|&m| submitted(m)).collect();
    store.record_submissions(&outcomes, at(1)).await.unwrap();
    assert_eq!(
        store.pending_webhooks().await.unwrap(),
        1,
        "only the campaign that asks for every status is told of its submission"
    );
    let reports: Vec<_> = leased
        .iter()
        .map(|&m| report(m, MessageStatus::Delivered, at(5)))
        .collect();
    store.apply_reports(&reports).await.unwrap();

    let hooks = store.claim_webhooks(at(10), 10, at(70)).await.unwrap();
    let mut got: Vec<(CampaignId, Option<MessageStatus>)> = Vec::new();
    let facts = store.webhook_facts(&hooks).await.unwrap();
    for w in &hooks {
        let message = &facts.messages[&w.message_id.unwrap()];
        assert_eq!(message.account_id, w.account_id);
        assert!(facts.accounts.contains_key(&w.account_id));
        got.push((message.campaign_id, w.status));
    }
    got.sort();
    assert_eq!(
        got,
        vec![
            (account_final, Some(MessageStatus::Delivered)),
            (account_final, Some(MessageStatus::Delivered)),
            (campaign_all, Some(MessageStatus::Submitted)),
            (campaign_all, Some(MessageStatus::Delivered)),
            (campaign_final, Some(MessageStatus::Delivered)),
        ]
    );
    assert_eq!(facts.accounts.len(), 2);
    assert_eq!(facts.campaigns.len(), 3);
    assert_eq!(
        facts.campaigns[&campaign_all].callback_events,
        Some(CallbackEvents::All)
    );
    assert_eq!(facts.campaigns[&account_final].callback_events, None);
    assert!(facts.inbound.is_empty());

    let results: Vec<_> = hooks
        .iter()
        .map(|w| (w.id, WebhookResult::Delivered))
        .collect();
    store.finish_webhooks(&results, at(11)).await.unwrap();
    assert_eq!(store.pending_webhooks().await.unwrap(), 0);
    // Finishing again leaves them as they are; an unknown id is NotFound.
    store.finish_webhooks(&results, at(12)).await.unwrap();
    let unknown = [(hooks.last().unwrap().id + 1000, WebhookResult::Delivered)];
    assert!(matches!(
        store.finish_webhooks(&unknown, at(12)).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn webhook_outbox_claim_retry_finish(store: Arc<dyn Store>) {
    let store = &*store;
    let settings = AccountSettings {
        webhooks: WebhookUrls {
            dlr: Some("https://acme.example/dlr".into()),
            inbound: None,
            dialect: None,
            ..WebhookUrls::default()
        },
        ..AccountSettings::default()
    };
    let acme = new_account_with(store, "acme", None, settings).await;
    send(store, acme.id, &request(&numbers(1..4), "Hi"), t0()).await;
    let leased = ids(&store.claim_due(at(0), 10, at(60)).await.unwrap());
    let outcomes: Vec<_> = leased.iter().map(|id| submitted(*id)).collect();
    store.record_submissions(&outcomes, at(1)).await.unwrap();
    assert_eq!(store.pending_webhooks().await.unwrap(), 3);
    assert!(
        store
            .claim_webhooks(at(0), 10, at(60))
            .await
            .unwrap()
            .is_empty(),
        "not due before the event"
    );

    let hooks = store.claim_webhooks(at(2), 2, at(62)).await.unwrap();
    assert_eq!(hooks.len(), 2);
    let third = store.claim_webhooks(at(3), 10, at(63)).await.unwrap();
    assert_eq!(third.len(), 1, "leased callbacks are not claimed twice");
    assert!(
        store
            .claim_webhooks(at(4), 10, at(64))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.pending_webhooks().await.unwrap(),
        3,
        "leased ones are still undelivered"
    );

    store
        .finish_webhook(hooks[0].id, WebhookResult::Delivered, at(5))
        .await
        .unwrap();
    let retry = WebhookResult::Retry {
        retry_at: at(600),
        error: "503".into(),
    };
    store
        .finish_webhook(hooks[1].id, retry, at(5))
        .await
        .unwrap();
    store
        .finish_webhook(
            third[0].id,
            WebhookResult::GaveUp {
                error: "410".into(),
            },
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(store.pending_webhooks().await.unwrap(), 1);

    assert!(
        store
            .claim_webhooks(at(599), 10, at(659))
            .await
            .unwrap()
            .is_empty()
    );
    let retried = store.claim_webhooks(at(600), 10, at(660)).await.unwrap();
    assert_eq!(
        (retried.len(), retried[0].id, retried[0].attempts),
        (1, hooks[1].id, 1)
    );
    // Its worker died: after the lease it is claimed again.
    assert!(
        store
            .claim_webhooks(at(659), 10, at(700))
            .await
            .unwrap()
            .is_empty()
    );
    let reclaimed = store.claim_webhooks(at(660), 10, at(720)).await.unwrap();
    assert_eq!((reclaimed.len(), reclaimed[0].id), (1, hooks[1].id));

    // A late result for a finished callback changes nothing.
    store
        .finish_webhook(
            hooks[0].id,
            WebhookResult::Retry {
                retry_at: at(700),
                error: "late".into(),
            },
            at(661),
        )
        .await
        .unwrap();
    assert_eq!(store.pending_webhooks().await.unwrap(), 1);
    store
        .finish_webhook(hooks[1].id, WebhookResult::Delivered, at(662))
        .await
        .unwrap();
    assert_eq!(store.pending_webhooks().await.unwrap(), 0);
    assert!(
        store
            .claim_webhooks(at(10_000), 10, at(10_060))
            .await
            .unwrap()
            .is_empty()
    );
    let unknown = store
        .finish_webhook(hooks[1].id + 100, WebhookResult::Delivered, at(663))
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)));
}

pub async fn smpp_receipts_are_claimed_apart(store: Arc<dyn Store>) {
    let store = &*store;
    let settings = AccountSettings {
        webhooks: WebhookUrls {
            dlr: Some("https://acme.example/dlr".into()),
            ..WebhookUrls::default()
        },
        ..AccountSettings::default()
    };
    let acme = new_account_with(store, "acme", None, settings).await;
    let beta = new_account(store, "beta", None).await;
    let smpp = || CampaignMeta {
        callback_url: Some("smpp:".into()),
        ..meta("smpp")
    };
    send_with(
        store,
        acme.id,
        &request(&numbers(1..3), "Bound"),
        t0(),
        smpp(),
    )
    .await;
    send(store, acme.id, &request(&numbers(3..4), "Http"), t0()).await;
    send_with(
        store,
        beta.id,
        &request(&numbers(4..5), "Bound"),
        t0(),
        smpp(),
    )
    .await;
    let leased = ids(&store.claim_due(at(0), 10, at(60)).await.unwrap());
    let [a1, a2, h, b1] = leased[..] else {
        panic!("expected 4 messages, got {leased:?}")
    };
    let outcomes: Vec<_> = leased.iter().map(|id| submitted(*id)).collect();
    store.record_submissions(&outcomes, at(1)).await.unwrap();
    assert_eq!(store.pending_webhooks().await.unwrap(), 4);

    let http = store.claim_webhooks(at(2), 10, at(62)).await.unwrap();
    let got: Vec<_> = http
        .iter()
        .map(|w| (w.message_id, w.url.as_str()))
        .collect();
    assert_eq!(got, vec![(Some(h), "https://acme.example/dlr")]);
    store
        .finish_webhook(http[0].id, WebhookResult::Delivered, at(2))
        .await
        .unwrap();
    assert!(
        store
            .claim_smpp_receipts(&[], at(2), 10, at(62))
            .await
            .unwrap()
            .is_empty()
    );
    let receipts = store
        .claim_smpp_receipts(&[acme.id], at(2), 10, at(62))
        .await
        .unwrap();
    let got: Vec<_> = receipts
        .iter()
        .map(|w| {
            (
                w.account_id,
                w.url.as_str(),
                w.kind,
                w.source.as_str(),
                w.message_id,
                w.status,
                w.attempts,
            )
        })
        .collect();
    let receipt = |id| {
        (
            acme.id,
            "smpp:",
            EventKind::Status,
            "smpp",
            Some(id),
            Some(MessageStatus::Submitted),
            0,
        )
    };
    assert_eq!(got, vec![receipt(a1), receipt(a2)]);
    assert!(
        store
            .claim_smpp_receipts(&[acme.id], at(3), 10, at(63))
            .await
            .unwrap()
            .is_empty(),
        "leased receipts are not claimed twice"
    );

    // The same lease and retry rules as HTTP callbacks.
    store
        .finish_webhook(receipts[0].id, WebhookResult::Delivered, at(4))
        .await
        .unwrap();
    let retry = WebhookResult::Retry {
        retry_at: at(100),
        error: "no bind".into(),
    };
    store
        .finish_webhook(receipts[1].id, retry, at(4))
        .await
        .unwrap();
    assert!(
        store
            .claim_smpp_receipts(&[acme.id], at(99), 10, at(159))
            .await
            .unwrap()
            .is_empty()
    );
    let retried = store
        .claim_smpp_receipts(&[acme.id], at(100), 1, at(160))
        .await
        .unwrap();
    assert_eq!(
        (retried.len(), retried[0].id, retried[0].attempts),
        (1, receipts[1].id, 1)
    );
    // Its server died: after the lease it is claimed again, never over HTTP.
    assert!(
        store
            .claim_webhooks(at(10_000), 10, at(10_060))
            .await
            .unwrap()
            .is_empty()
    );
    let reclaimed = store
        .claim_smpp_receipts(&[acme.id], at(10_000), 10, at(10_060))
        .await
        .unwrap();
    let got: Vec<i64> = reclaimed.iter().map(|w| w.id).collect();
    assert_eq!(got, vec![receipts[1].id]);
    let of_beta = store
        .claim_smpp_receipts(&[beta.id], at(10_000), 10, at(10_060))
        .await
        .unwrap();
    let got: Vec<_> = of_beta
        .iter()
        .map(|w| (w.account_id, w.message_id))
        .collect();
    assert_eq!(got, vec![(beta.id, Some(b1))]);

    // A delivery report is a receipt too.
    store
        .apply_reports(&[report(a1, MessageStatus::Delivered, at(10_001))])
        .await
        .unwrap();
    let delivered = store
        .claim_smpp_receipts(&[acme.id], at(10_002), 10, at(10_062))
        .await
        .unwrap();
    let got: Vec<_> = delivered.iter().map(|w| (w.message_id, w.status)).collect();
    assert_eq!(got, vec![(Some(a1), Some(MessageStatus::Delivered))]);
    for w in reclaimed.iter().chain(&of_beta).chain(&delivered) {
        store
            .finish_webhook(w.id, WebhookResult::Delivered, at(10_003))
            .await
            .unwrap();
    }
    assert_eq!(store.pending_webhooks().await.unwrap(), 0);
}

// --- inbound, lists ------------------------------------------------------------------------

pub async fn inbound_and_stop(store: Arc<dyn Store>) {
    let store = &*store;
    let settings = AccountSettings {
        webhooks: WebhookUrls {
            dlr: None,
            inbound: Some("https://acme.example/mo".into()),
            dialect: None,
            ..WebhookUrls::default()
        },
        ..AccountSettings::default()
    };
    let acme = new_account_with(store, "acme", None, settings).await;
    let beta = new_account(store, "beta", None).await;
    send_with(
        store,
        acme.id,
        &request(&numbers(1..2), "First"),
        t0(),
        meta("smsfactor"),
    )
    .await;
    let latest = send_with(
        store,
        acme.id,
        &request(&numbers(1..2), "Second"),
        later(60),
        meta("smsfactor"),
    )
    .await;
    let latest_message = all_messages(store, acme.id, latest).await[0].id;
    send(store, beta.id, &request(&numbers(2..3), "Beta"), t0()).await;
    let reply = |from: u32, text: &str, seconds: i64| NewInbound {
        from: e164(from),
        to: "36180".into(),
        text: text.into(),
        connector: "sim".into(),
        at: at(seconds),
    };

    let thanks = store
        .record_inbound(reply(1, "Merci", 120), None, false)
        .await
        .unwrap()
        .unwrap();
    let expected = Inbound {
        id: thanks.id,
        account_id: acme.id,
        from: e164(1),
        to: "36180".into(),
        text: "Merci".into(),
        is_stop: false,
        message_id: Some(latest_message),
        campaign_id: Some(latest),
        received_at: at(120),
    };
    assert_eq!(thanks, expected);
    assert_eq!(
        store.inbound_by_id(acme.id, thanks.id).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(store.inbound_by_id(beta.id, thanks.id).await.unwrap(), None);

    let stop = store
        .record_inbound(reply(1, "STOP", 130), None, true)
        .await
        .unwrap()
        .unwrap();
    assert!(stop.is_stop);
    assert_eq!(
        store
            .listed_numbers(acme.id, NumberList::Blacklist)
            .await
            .unwrap(),
        HashSet::from([e164(1)])
    );
    let entry = &store
        .listed(acme.id, NumberList::Blacklist, Page::default())
        .await
        .unwrap()[0];
    assert_eq!(
        (
            entry.number,
            entry.source.as_str(),
            entry.campaign_id,
            entry.added_at
        ),
        (e164(1), "stop", Some(latest), at(130))
    );
    assert!(
        store
            .listed_numbers(beta.id, NumberList::Blacklist)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .listed_numbers(acme.id, NumberList::Npai)
            .await
            .unwrap()
            .is_empty()
    );

    let hooks = store.claim_webhooks(at(200), 10, at(260)).await.unwrap();
    let got: Vec<_> = hooks
        .iter()
        .map(|w| {
            (
                w.account_id,
                w.url.as_str(),
                w.kind,
                w.source.as_str(),
                w.inbound_id,
                w.at,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                acme.id,
                "https://acme.example/mo",
                EventKind::Inbound,
                "smsfactor",
                Some(thanks.id),
                at(120)
            ),
            (
                acme.id,
                "https://acme.example/mo",
                EventKind::Stop,
                "smsfactor",
                Some(stop.id),
                at(130)
            ),
        ]
    );

    let to_beta = store
        .record_inbound(reply(2, "Hi", 140), None, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(to_beta.account_id, beta.id);
    assert_eq!(
        store.pending_webhooks().await.unwrap(),
        2,
        "beta has no inbound URL"
    );
    assert_eq!(
        store
            .record_inbound(reply(9, "Who?", 150), None, false)
            .await
            .unwrap(),
        None
    );
    let given = store
        .record_inbound(reply(9, "Hello", 160), Some(acme.id), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (given.account_id, given.message_id, given.campaign_id),
        (acme.id, None, None)
    );
    let other_account = store
        .record_inbound(reply(2, "Hi", 170), Some(acme.id), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (other_account.account_id, other_account.message_id),
        (acme.id, None),
        "beta's message is not acme's"
    );
    assert_eq!(
        store
            .record_inbound(reply(1, "Hi", 180), Some(beta.id + 100), false)
            .await
            .unwrap(),
        None
    );

    let listed: Vec<i64> = store
        .inbound(acme.id, Page::default())
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(
        listed,
        vec![other_account.id, given.id, stop.id, thanks.id],
        "newest first"
    );
    let page: Vec<i64> = store
        .inbound(
            acme.id,
            Page {
                offset: 1,
                limit: 2,
            },
        )
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(page, vec![given.id, stop.id]);
    assert_eq!(
        store.inbound(beta.id, Page::default()).await.unwrap(),
        vec![to_beta]
    );
}

pub async fn replies_go_to_the_reply_url_or_the_account(store: Arc<dyn Store>) {
    let store = &*store;
    let urls = |inbound: Option<&str>, dialect: Option<&str>| AccountSettings {
        webhooks: WebhookUrls {
            dlr: None,
            inbound: inbound.map(Into::into),
            dialect: dialect.map(Into::into),
            ..WebhookUrls::default()
        },
        ..AccountSettings::default()
    };
    let acme = new_account_with(
        store,
        "acme",
        None,
        urls(Some("https://acme.example/mo"), Some("smsfactor")),
    )
    .await;
    let beta = new_account(store, "beta", None).await;
    let gamma = new_account_with(
        store,
        "gamma",
        None,
        urls(Some("https://gamma.example/mo"), None),
    )
    .await;
    let with_reply = |source: &str, url: &str| CampaignMeta {
        reply_url: Some(url.into()),
        ..meta(source)
    };
    send_with(
        store,
        acme.id,
        &request(&numbers(1..2), "Reply to me"),
        t0(),
        with_reply("smspartner", "https://acme.example/reply"),
    )
    .await;
    send_with(
        store,
        acme.id,
        &request(&numbers(2..3), "Hi"),
        t0(),
        meta("octopush"),
    )
    .await;
    send_with(
        store,
        beta.id,
        &request(&numbers(3..4), "Reply to me"),
        t0(),
        with_reply("smspartner", "https://beta.example/reply"),
    )
    .await;
    let reply = |from: u32, seconds: i64| NewInbound {
        from: e164(from),
        to: "36180".into(),
        text: "Yes".into(),
        connector: "sim".into(),
        at: at(seconds),
    };
    let record = |from, account, is_stop, seconds| async move {
        store
            .record_inbound(reply(from, seconds), account, is_stop)
            .await
            .unwrap()
            .unwrap()
    };
    let to_reply_url = record(1, None, false, 10).await;
    let stop = record(1, None, true, 11).await;
    let to_account = record(2, None, false, 12).await;
    let unlinked = record(9, Some(acme.id), false, 13).await;
    let beta_reply = record(3, None, false, 14).await;
    let beta_unlinked = record(9, Some(beta.id), false, 15).await;
    let gamma_unlinked = record(9, Some(gamma.id), false, 16).await;
    assert_eq!(beta_unlinked.account_id, beta.id);

    let hooks = store.claim_webhooks(at(20), 20, at(80)).await.unwrap();
    let got: Vec<_> = hooks
        .iter()
        .map(|w| {
            (
                w.inbound_id.unwrap(),
                w.account_id,
                w.url.as_str(),
                w.kind,
                w.source.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                to_reply_url.id,
                acme.id,
                "https://acme.example/reply",
                EventKind::Inbound,
                "smspartner"
            ),
            (
                stop.id,
                acme.id,
                "https://acme.example/reply",
                EventKind::Stop,
                "smspartner"
            ),
            (
                to_account.id,
                acme.id,
                "https://acme.example/mo",
                EventKind::Inbound,
                "octopush"
            ),
            (
                unlinked.id,
                acme.id,
                "https://acme.example/mo",
                EventKind::Inbound,
                "smsfactor"
            ),
            (
                beta_reply.id,
                beta.id,
                "https://beta.example/reply",
                EventKind::Inbound,
                "smspartner"
            ),
            (
                gamma_unlinked.id,
                gamma.id,
                "https://gamma.example/mo",
                EventKind::Inbound,
                "api"
            ),
        ],
        "beta has no URL for a reply to no campaign"
    );
}

pub async fn listed_among_answers_only_the_numbers_asked(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let beta = new_account(store, "beta", None).await;
    let add = |account_id, list, numbers: &[u32]| {
        let entries: Vec<(E164, Vec<String>)> =
            numbers.iter().map(|&i| (e164(i), Vec::new())).collect();
        async move {
            store
                .add_listed(account_id, list, &entries, "api", at(1))
                .await
                .unwrap()
        }
    };
    add(acme.id, NumberList::Blacklist, &[1, 2, 3]).await;
    add(acme.id, NumberList::Npai, &[3, 4]).await;
    add(beta.id, NumberList::Blacklist, &[5]).await;

    let among = |account_id, numbers: &[u32]| {
        let numbers: Vec<E164> = numbers.iter().map(|&i| e164(i)).collect();
        async move {
            let mut found = store.listed_among(account_id, &numbers).await.unwrap();
            found.sort_by_key(|(list, number)| (*number, *list == NumberList::Npai));
            found
        }
    };
    assert_eq!(
        among(acme.id, &[2, 3, 4, 5, 6]).await,
        vec![
            (NumberList::Blacklist, e164(2)),
            (NumberList::Blacklist, e164(3)),
            (NumberList::Npai, e164(3)),
            (NumberList::Npai, e164(4)),
        ]
    );
    assert_eq!(among(acme.id, &[]).await, vec![]);
    assert_eq!(
        among(beta.id, &[1, 5]).await,
        vec![(NumberList::Blacklist, e164(5))]
    );
}

pub async fn lists_add_remove_page(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let beta = new_account(store, "beta", None).await;
    let entries = vec![
        (e164(1), vec!["Dupont".to_string(), "Jean".to_string()]),
        (e164(2), vec![]),
        (e164(1), vec!["again".to_string()]),
        (e164(3), vec![]),
    ];
    assert_eq!(
        store
            .add_listed(acme.id, NumberList::Blacklist, &entries, "api", at(1))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .add_listed(acme.id, NumberList::Blacklist, &entries[..2], "api", at(2))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .add_listed(
                acme.id,
                NumberList::Npai,
                &entries[1..2],
                "smsfactor",
                at(3)
            )
            .await
            .unwrap(),
        1
    );

    let all = store
        .listed(acme.id, NumberList::Blacklist, Page::default())
        .await
        .unwrap();
    let got: Vec<(E164, Vec<String>, &str, Millis)> = all
        .iter()
        .map(|l| (l.number, l.info.clone(), l.source.as_str(), l.added_at))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                e164(1),
                vec!["Dupont".to_string(), "Jean".to_string()],
                "api",
                at(1)
            ),
            (e164(2), vec![], "api", at(1)),
            (e164(3), vec![], "api", at(1)),
        ]
    );
    assert!(all.iter().all(|l| l.campaign_id.is_none()));
    let page = store
        .listed(
            acme.id,
            NumberList::Blacklist,
            Page {
                offset: 1,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(page, vec![all[1].clone()]);
    assert_eq!(
        store
            .listed_numbers(acme.id, NumberList::Npai)
            .await
            .unwrap(),
        HashSet::from([e164(2)])
    );
    assert!(
        store
            .listed(beta.id, NumberList::Blacklist, Page::default())
            .await
            .unwrap()
            .is_empty()
    );

    assert!(
        !store
            .remove_listed(beta.id, NumberList::Blacklist, e164(1))
            .await
            .unwrap(),
        "not beta's"
    );
    assert!(
        !store
            .remove_listed_by_id(beta.id, NumberList::Blacklist, all[2].id)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_listed_by_id(acme.id, NumberList::Npai, all[2].id)
            .await
            .unwrap(),
        "another list"
    );
    assert!(
        store
            .remove_listed(acme.id, NumberList::Blacklist, e164(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_listed(acme.id, NumberList::Blacklist, e164(1))
            .await
            .unwrap()
    );
    assert!(
        store
            .remove_listed_by_id(acme.id, NumberList::Blacklist, all[2].id)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .listed_numbers(acme.id, NumberList::Blacklist)
            .await
            .unwrap(),
        HashSet::from([e164(2)])
    );
    assert_eq!(
        store
            .listed_numbers(acme.id, NumberList::Npai)
            .await
            .unwrap(),
        HashSet::from([e164(2)])
    );
}

// --- reads -----------------------------------------------------------------------------------

pub async fn reads_are_scoped_to_the_account(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", Some(units(1))).await;
    let beta = new_account(store, "beta", None).await;
    let mut request = request(&numbers(1..3), "Private");
    request.recipients[0].client_ref = Some("r1".into());
    let id = send(store, acme.id, &request, t0()).await;
    let message = all_messages(store, acme.id, id).await[0].id;

    assert_eq!(store.campaign(beta.id, id).await.unwrap(), None);
    assert!(
        store
            .campaigns(beta.id, &CampaignFilter::default(), Page::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.message(beta.id, message).await.unwrap(), None);
    assert_eq!(store.message_by_ref(beta.id, id, "r1").await.unwrap(), None);
    assert!(
        store
            .message_by_ref(acme.id, id, "r1")
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        store
            .campaign_messages(beta.id, id, None, Page::default())
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.campaign_status_counts(beta.id, id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.cancel_campaign(beta.id, id, at(1)).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.recent_counts(beta.id, 0).await.unwrap().is_empty());
    assert_eq!(store.campaign(acme.id, id + 100).await.unwrap(), None);
    assert!(matches!(
        store
            .campaign_messages(acme.id, id + 100, None, Page::default())
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.message(acme.id, message + 100).await.unwrap(), None);
    assert_eq!(
        all_messages(store, acme.id, id).await.len(),
        2,
        "nothing was cancelled"
    );
}

pub async fn campaigns_filter_and_page(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let c1 = send(store, acme.id, &request(&numbers(1..2), "One"), t0()).await;
    let c2 = send(store, acme.id, &request(&numbers(2..4), "Two"), later(1)).await;
    let mut scheduled = request(&numbers(4..5), "Three");
    scheduled.send_at = Some(later(3600));
    let c3 = send(store, acme.id, &scheduled, later(2)).await;

    let list = |filter: CampaignFilter, page: Page| async move {
        let campaigns = store.campaigns(acme.id, &filter, page).await.unwrap();
        campaigns.iter().map(|c| c.id).collect::<Vec<_>>()
    };
    assert_eq!(
        list(CampaignFilter::default(), Page::default()).await,
        vec![c3, c2, c1],
        "newest first"
    );
    assert_eq!(
        list(
            CampaignFilter::default(),
            Page {
                offset: 1,
                limit: 1
            }
        )
        .await,
        vec![c2]
    );
    assert_eq!(
        list(
            CampaignFilter::default(),
            Page {
                offset: 3,
                limit: 10
            }
        )
        .await,
        Vec::<CampaignId>::new()
    );
    let from = CampaignFilter {
        created_from: Some(at(1)),
        ..CampaignFilter::default()
    };
    assert_eq!(list(from, Page::default()).await, vec![c3, c2]);
    let to = CampaignFilter {
        created_to: Some(at(1)),
        ..CampaignFilter::default()
    };
    assert_eq!(
        list(to, Page::default()).await,
        vec![c1],
        "created_to is exclusive"
    );
    let status = |status| CampaignFilter {
        status: Some(status),
        ..CampaignFilter::default()
    };
    assert_eq!(
        list(status(CampaignStatus::Scheduled), Page::default()).await,
        vec![c3]
    );
    assert_eq!(
        list(status(CampaignStatus::Sending), Page::default()).await,
        vec![c2, c1]
    );
    assert_eq!(
        list(
            status(CampaignStatus::Sending),
            Page {
                offset: 1,
                limit: 5
            }
        )
        .await,
        vec![c1]
    );
    assert!(
        list(status(CampaignStatus::Done), Page::default())
            .await
            .is_empty()
    );

    let two = store.campaign(acme.id, c2).await.unwrap().unwrap();
    assert_eq!(
        (two.created_at, two.counters.sent, two.cost),
        (at(1), 2, unit() * 2)
    );
    let paged = store
        .campaign_messages(
            acme.id,
            c2,
            None,
            Page {
                offset: 1,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        paged.iter().map(|m| m.number).collect::<Vec<_>>(),
        vec![e164(3)]
    );
}

pub async fn planning_counts(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let belgian = "+32470123456".to_string();
    send(
        store,
        acme.id,
        &request(&[number(1), number(2), belgian.clone()], "One"),
        t0(),
    )
    .await;
    send(store, acme.id, &request(&[number(1)], "Two"), later(60)).await;
    let be: E164 = belgian.parse().unwrap();

    let recent = store.recent_counts(acme.id, at(0)).await.unwrap();
    assert_eq!(recent, HashMap::from([(e164(1), 2), (e164(2), 1), (be, 1)]));
    assert_eq!(
        store.recent_counts(acme.id, at(60)).await.unwrap(),
        HashMap::from([(e164(1), 1)])
    );
    let countries = store.country_counts(acme.id, at(0)).await.unwrap();
    assert_eq!(
        countries,
        HashMap::from([(Country::FR, 3), ("BE".parse().unwrap(), 1)])
    );
    assert!(
        store
            .country_counts(acme.id, at(61))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn status_totals_count_every_message(store: Arc<dyn Store>) {
    let store = &*store;
    let acme = new_account(store, "acme", None).await;
    let mut scheduled = request(&numbers(10..12), "Later");
    scheduled.send_at = Some(later(3600));
    send(store, acme.id, &scheduled, t0()).await;
    send(store, acme.id, &request(&numbers(1..4), "Now"), t0()).await;
    store.claim_due(at(0), 1, at(60)).await.unwrap();
    let totals: BTreeMap<MessageStatus, u64> = store
        .status_totals()
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    let expected = counts(&[
        (MessageStatus::Scheduled, 2),
        (MessageStatus::Queued, 2),
        (MessageStatus::Submitting, 1),
    ]);
    assert_eq!(totals, expected);
}

/// A submitted message whose report never comes expires at its report
/// deadline ("no delivery report"), keeping its cost, with its callback; a
/// report after that is ignored. Until then the connector can read which
/// reports it still owes.
pub async fn overdue_reports_expire_keeping_the_cost(store: Arc<dyn Store>) {
    let store = &*store;
    let settings = AccountSettings {
        webhooks: WebhookUrls {
            dlr: Some("https://acme.example/dlr".into()),
            callback_events: CallbackEvents::Final,
            ..WebhookUrls::default()
        },
        ..AccountSettings::default()
    };
    let acme = new_account_with(store, "acme", Some(units(10)), settings).await;
    let campaign = send(store, acme.id, &request(&numbers(1..4), "Hi"), t0()).await;
    let after_debit = balance(store, acme.id).await;
    let leased = ids(&store.claim_due(at(0), 10, at(60)).await.unwrap());
    assert_eq!(leased.len(), 3);
    let (soon, late, reported) = (leased[0], leased[1], leased[2]);
    let due = |id: MessageId, report_by: Millis| {
        let outcome = SubmitOutcome::Submitted {
            connector: "sim".into(),
            carrier_ids: vec![format!("c{id}")],
            report_by,
        };
        (id, outcome)
    };
    store
        .record_submissions(
            &[
                due(soon, at(100)),
                due(late, at(200)),
                due(reported, at(100)),
            ],
            at(1),
        )
        .await
        .unwrap();
    store
        .apply_reports(&[report(reported, MessageStatus::Delivered, at(2))])
        .await
        .unwrap();

    // What the connector still owes, soonest deadline first; the reported
    // message is not among them, nor another connector's.
    assert_eq!(
        store.awaiting_reports("sim", at(1000), 10).await.unwrap(),
        vec![format!("c{soon}"), format!("c{late}")]
    );
    assert_eq!(
        store.awaiting_reports("sim", at(150), 10).await.unwrap(),
        vec![format!("c{soon}")]
    );
    assert!(
        store
            .awaiting_reports("other", at(1000), 10)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(store.expire_due(at(99)).await.unwrap(), 0, "not yet due");
    assert_eq!(store.expire_due(at(100)).await.unwrap(), 1);
    assert_eq!(
        status_of(store, acme.id, soon).await,
        MessageStatus::Expired
    );
    assert_eq!(
        status_of(store, acme.id, late).await,
        MessageStatus::Submitted
    );
    let (message, changes) = store.message(acme.id, soon).await.unwrap().unwrap();
    assert_eq!(message.error.as_deref(), Some("no delivery report"));
    assert_eq!(
        statuses(&changes),
        vec![
            MessageStatus::Queued,
            MessageStatus::Submitting,
            MessageStatus::Submitted,
            MessageStatus::Expired
        ]
    );
    assert_eq!(
        balance(store, acme.id).await,
        after_debit,
        "a carrier took it: no refund"
    );
    let hooks = store.claim_webhooks(at(101), 10, at(200)).await.unwrap();
    let mut told: Vec<(Option<MessageId>, Option<MessageStatus>)> =
        hooks.iter().map(|w| (w.message_id, w.status)).collect();
    told.sort();
    assert_eq!(
        told,
        vec![
            (Some(soon), Some(MessageStatus::Expired)),
            (Some(reported), Some(MessageStatus::Delivered)),
        ]
    );
    assert_eq!(
        store.awaiting_reports("sim", at(1000), 10).await.unwrap(),
        vec![format!("c{late}")]
    );

    // A report after the deadline changes nothing; a report in time settles
    // the other one, which then never expires.
    let late_reports = [
        report(soon, MessageStatus::Delivered, at(150)),
        report(late, MessageStatus::Delivered, at(150)),
    ];
    assert_eq!(store.apply_reports(&late_reports).await.unwrap(), 1);
    assert_eq!(
        status_of(store, acme.id, soon).await,
        MessageStatus::Expired
    );
    assert_eq!(
        status_of(store, acme.id, late).await,
        MessageStatus::Delivered
    );
    assert_eq!(store.expire_due(at(1000)).await.unwrap(), 0);
    assert!(
        store
            .awaiting_reports("sim", at(1000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let counts_now = store
        .campaign_status_counts(acme.id, campaign)
        .await
        .unwrap();
    assert_eq!(
        counts_now,
        counts(&[(MessageStatus::Delivered, 2), (MessageStatus::Expired, 1)])
    );
}
