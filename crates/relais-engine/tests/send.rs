//! The sending pipeline over a real SQLite store: concurrent sends committed
//! together stay exact about credits and idempotency keys, and what planning
//! reads of the account's lists filters small and large sends alike.

use std::sync::Arc;

use relais_core::money::Amount;
use relais_core::number::E164;
use relais_core::plan::{PlanError, Recipient, SendRequest};
use relais_engine::send::{Pipeline, SendError, SendOptions, SendOutcome, SendSettings};
use relais_store::sqlite::{SqliteOptions, SqliteStore};
use relais_store::{
    Account, CampaignFilter, CampaignMeta, IdempotencyRecord, NewAccount, NumberList, Page, Store,
};

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    pipeline: Arc<Pipeline>,
    account: Account,
}

async fn setup(balance: Option<Amount>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relais.db");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
            .await
            .unwrap(),
    );
    let account = store
        .create_account(
            NewAccount::new("acme", balance),
            jiff::Timestamp::now().as_millisecond(),
        )
        .await
        .unwrap();
    let pipeline = Arc::new(Pipeline::new(store.clone(), SendSettings::default()));
    Setup {
        _dir: dir,
        store,
        pipeline,
        account,
    }
}

/// A French mobile number, distinct for each `i`.
fn number(i: u32) -> String {
    format!("+336{:08}", 20_000_000 + i)
}

fn request(numbers: impl IntoIterator<Item = u32>) -> SendRequest {
    SendRequest {
        text: Some("Your code is 1234".into()),
        recipients: numbers
            .into_iter()
            .map(|i| Recipient::new(number(i)))
            .collect(),
        ..SendRequest::default()
    }
}

fn options() -> SendOptions {
    SendOptions {
        simulate: false,
        meta: CampaignMeta {
            source: "api".into(),
            ..CampaignMeta::default()
        },
        ..SendOptions::default()
    }
}

/// The price of one French segment.
fn unit() -> Amount {
    "0.045".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_beyond_the_balance_are_refused_one_by_one() {
    let setup = setup(Some(unit() * 10)).await;
    // Every send is planned against the same snapshot, which covers each of
    // them: the store's debits decide.
    let account = Arc::new(setup.account.clone());
    let sends: Vec<_> = (0..50)
        .map(|i| {
            let (pipeline, account) = (setup.pipeline.clone(), account.clone());
            tokio::spawn(async move { pipeline.send(&account, &request([i]), options()).await })
        })
        .collect();
    let (mut committed, mut refused) = (0, 0);
    for send in sends {
        match send.await.unwrap() {
            Ok(SendOutcome::Planned {
                campaign_id: Some(_),
                ..
            }) => committed += 1,
            Err(SendError::Plan(PlanError::InsufficientCredits { needed, .. })) => {
                assert_eq!(needed, unit());
                refused += 1;
            }
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!((committed, refused), (10, 40));
    let account = setup
        .store
        .account(setup.account.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.balance, Some(Amount::ZERO));
    let campaigns = setup
        .store
        .campaigns(account.id, &CampaignFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(campaigns.len(), 10);
    assert_eq!(
        setup
            .store
            .status_totals()
            .await
            .unwrap()
            .values()
            .sum::<u64>(),
        10
    );
}

/// A door's account may be a cached copy (up to a second old) that has not
/// seen a credit made on another node: a send that the stored balance covers
/// is not refused for the stale one.
#[tokio::test]
async fn a_stale_balance_does_not_refuse_a_send_a_new_credit_covers() {
    let setup = setup(Some(Amount::ZERO)).await;
    let stale = setup.account.clone();
    setup
        .store
        .credit_account(stale.id, unit(), "elsewhere", 0)
        .await
        .unwrap();
    let outcome = setup.pipeline.send(&stale, &request([1]), options()).await;
    assert!(
        matches!(
            outcome,
            Ok(SendOutcome::Planned {
                campaign_id: Some(_),
                ..
            })
        ),
        "{outcome:?}"
    );
    let stored = setup.store.account(stale.id).await.unwrap().unwrap();
    assert_eq!(stored.balance, Some(Amount::ZERO));
    // What the balance does not cover is still refused, after the same check.
    let outcome = setup.pipeline.send(&stale, &request([2]), options()).await;
    assert!(
        matches!(
            outcome,
            Err(SendError::Plan(PlanError::InsufficientCredits { .. }))
        ),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_with_one_key_commit_once() {
    let setup = setup(None).await;
    let account = Arc::new(setup.account.clone());
    let keyed = || SendOptions {
        meta: CampaignMeta {
            idempotency: Some(IdempotencyRecord {
                key: "order-7".into(),
                answer_template: "{campaign_id}".into(),
                since: 0,
                request_hash: String::new(),
            }),
            ..options().meta
        },
        ..options()
    };
    let sends: Vec<_> = (0..20)
        .map(|_| {
            let (pipeline, account, options) = (setup.pipeline.clone(), account.clone(), keyed());
            tokio::spawn(async move { pipeline.send(&account, &request([1]), options).await })
        })
        .collect();
    let mut planned = Vec::new();
    let mut replayed = Vec::new();
    for send in sends {
        match send.await.unwrap().unwrap() {
            SendOutcome::Planned {
                campaign_id: Some(id),
                ..
            } => planned.push(id),
            SendOutcome::Replayed(answer) => replayed.push(answer.campaign_id),
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    let [id] = planned[..] else {
        panic!("expected one commit, got {planned:?}")
    };
    assert_eq!(replayed, vec![id; 19]);
}

#[tokio::test]
async fn listed_numbers_are_filtered_from_small_and_large_sends() {
    let setup = setup(None).await;
    let (store, account) = (&setup.store, &setup.account);
    let listed = |i: u32| (number(i).parse::<E164>().unwrap(), Vec::new());
    store
        .add_listed(account.id, NumberList::Blacklist, &[listed(1)], "api", 0)
        .await
        .unwrap();
    store
        .add_listed(account.id, NumberList::Npai, &[listed(2)], "api", 0)
        .await
        .unwrap();

    // Numbers in any format the planner accepts are found on the lists.
    let mut small = request([1, 2, 3]);
    small.recipients[0].number = number(1).replace("+33", "0");
    // Large enough for the whole lists to be read, and to be committed alone.
    let large = request(0..6_000);
    for request in [small, large] {
        let total = request.recipients.len() as u64;
        let outcome = setup
            .pipeline
            .send(account, &request, options())
            .await
            .unwrap();
        let SendOutcome::Planned { plan, .. } = outcome else {
            panic!("expected a plan")
        };
        assert_eq!(plan.counters.blacklisted, 1);
        assert_eq!(plan.counters.npai, 1);
        assert_eq!(plan.messages.len() as u64, total - 2);
    }
}

#[tokio::test]
async fn a_door_s_opt_out_policy_overrides_the_account_s() {
    use relais_core::optout::OptOutPolicy;
    use relais_core::plan::MessageKind;
    let setup = setup(None).await;
    let marketing = SendRequest {
        text: Some("Soldes d'hiver : -20% ce week-end".into()),
        kind: MessageKind::Marketing,
        ..request([1])
    };
    // The account's policy (the default: append the mention).
    let outcome = setup
        .pipeline
        .send(&setup.account, &marketing, options())
        .await
        .unwrap();
    let SendOutcome::Planned { plan, .. } = outcome else {
        panic!("not planned: {outcome:?}");
    };
    assert!(plan.texts[0].text.contains("STOP"), "{:?}", plan.texts[0]);
    // A door that refuses texts without it, whatever the account says.
    let refusing = SendOptions {
        opt_out: Some(OptOutPolicy::Refuse),
        ..options()
    };
    let refused = setup
        .pipeline
        .send(&setup.account, &marketing, refusing)
        .await;
    assert!(
        matches!(
            refused,
            Err(SendError::Plan(PlanError::MissingStopMention(_)))
        ),
        "{refused:?}"
    );
    let campaigns = setup
        .store
        .campaigns(
            setup.account.id,
            &CampaignFilter::default(),
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(campaigns.len(), 1, "the refused send stored nothing");
}
