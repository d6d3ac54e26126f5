//! The conformance suite on [`SqliteStore`], each test on a fresh database
//! file in a temporary directory, and checks of what only SQLite has: its
//! files, reopening, in-memory databases.

#[macro_use]
mod conformance;

use std::sync::Arc;

use relais_core::plan::ChannelOrder;
use relais_store::sqlite::{SqliteOptions, SqliteStore};
use relais_store::{CampaignFilter, CarrierReport, MessageStatus, NumberList, Page, Store};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Row, SqlitePool};
use tempfile::TempDir;

async fn open() -> Option<(Arc<dyn Store>, TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relais.db");
    let store = SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
        .await
        .unwrap();
    Some((Arc::new(store), dir))
}

conformance_tests!(open);

#[tokio::test]
async fn a_campaign_stores_its_text_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relais.db");
    let store = SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
        .await
        .unwrap();
    let acme = conformance::new_account(&store, "acme", None).await;
    let numbers: Vec<String> = (0..1_000).map(conformance::number).collect();
    let request = conformance::request(&numbers, "One text for a thousand recipients");
    let id = conformance::send(&store, acme.id, &request, conformance::t0()).await;

    let raw = SqlitePool::connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .unwrap();
    let count = |sql: &'static str| {
        let raw = raw.clone();
        async move {
            sqlx::query(sql)
                .bind(id)
                .fetch_one(&raw)
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM campaign_texts WHERE campaign_id = ?").await,
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM messages WHERE campaign_id = ?").await,
        1_000
    );
    assert_eq!(count("SELECT COUNT(*) FROM message_events WHERE message_id IN (SELECT id FROM messages WHERE campaign_id = ?)").await, 1_000);
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relais.db");
    let path = path.to_str().unwrap();
    let store = SqliteStore::open(path, SqliteOptions::default())
        .await
        .unwrap();
    let acme = conformance::new_account(&store, "acme", None).await;
    let request = conformance::request(&[conformance::number(1)], "Kept");
    let id = conformance::send(&store, acme.id, &request, conformance::t0()).await;
    store.close().await;

    let options = SqliteOptions {
        durability: relais_store::sqlite::Durability::Full,
        ..SqliteOptions::default()
    };
    let reopened = SqliteStore::open(path, options).await.unwrap();
    reopened.migrate().await.unwrap();
    assert_eq!(
        reopened.campaign(acme.id, id).await.unwrap().unwrap().text,
        "Kept"
    );
    let campaigns = reopened
        .campaigns(acme.id, &CampaignFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(campaigns.len(), 1);
}

#[tokio::test]
async fn an_in_memory_database_works_on_one_connection() {
    let store = SqliteStore::open("sqlite::memory:", SqliteOptions::default())
        .await
        .unwrap();
    let acme = conformance::new_account(&store, "acme", None).await;
    let number = conformance::number(1).parse().unwrap();
    store
        .add_listed(
            acme.id,
            NumberList::Blacklist,
            &[(number, vec![])],
            "api",
            0,
        )
        .await
        .unwrap();
    // Reads see the writes: they go through the same connection.
    assert!(
        store
            .listed_numbers(acme.id, NumberList::Blacklist)
            .await
            .unwrap()
            .contains(&number)
    );
}

/// A database of the first schema, when a message sent in parts kept its
/// parts' ids joined with ',': once upgraded, its parts match their reports
/// (and its campaign reads as sent through the network).
#[tokio::test]
async fn submitted_messages_stay_reportable_across_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relais.db");
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let raw = SqlitePool::connect_with(options).await.unwrap();
    let first = sqlx::migrate!("./migrations/sqlite").iter().next().cloned();
    Migrator::with_migrations(vec![first.unwrap()])
        .run(&raw)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO accounts (id, name, settings, created_at) VALUES (1, 'acme', '{}', 0);
         INSERT INTO campaigns (id, account_id, source, kind, route_class, send_at, total, sent,
                                blacklisted, duplicated, npai, invalid, not_allowed, flood,
                                country_limit, cost, created_at)
         VALUES (1, 1, 'api', 'transactional', 'premium', 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0);
         INSERT INTO campaign_texts VALUES (1, 0, 'Long', 'gsm7', 2);
         INSERT INTO campaign_counts VALUES (1, 'submitted', 2);
         INSERT INTO messages (id, campaign_id, account_id, number, country, text_idx, segments,
                               cost, status, send_at, connector, carrier_id, created_at,
                               updated_at)
         VALUES (1, 1, 1, '+33612000001', 'FR', 0, 2, 0, 'submitted', 0, 'sim', 'p1,p2', 0, 0),
                (2, 1, 1, '+33612000002', 'FR', 0, 1, 0, 'submitted', 0, 'sim', 'q1', 0, 0);",
    )
    .execute(&raw)
    .await
    .unwrap();
    raw.close().await;

    let store = SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
        .await
        .unwrap();
    let report = |carrier_id: &str| CarrierReport {
        connector: "sim".into(),
        carrier_id: carrier_id.into(),
        status: MessageStatus::Delivered,
        error: None,
        at: 10,
    };
    assert_eq!(
        store
            .apply_reports(&[report("p2"), report("q1")])
            .await
            .unwrap(),
        1
    );
    // Campaigns from before the channel order went through the network.
    assert_eq!(
        store.campaign(1, 1).await.unwrap().unwrap().channels,
        ChannelOrder::Network
    );
    let (long, _) = store.message(1, 1).await.unwrap().unwrap();
    assert_eq!(
        (long.status, long.carrier_id.as_deref()),
        (MessageStatus::Submitted, Some("p1"))
    );
    assert_eq!(store.apply_reports(&[report("p1")]).await.unwrap(), 1);
    assert_eq!(
        store.message(1, 1).await.unwrap().unwrap().0.status,
        MessageStatus::Delivered
    );
    assert_eq!(
        store.message(1, 2).await.unwrap().unwrap().0.status,
        MessageStatus::Delivered
    );
}
