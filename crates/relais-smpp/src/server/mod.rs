//! The SMPP server front door: SMPP clients bind with their relais account's
//! SMPP credentials and submit into the pipeline; delivery receipts and
//! replies go back to them as `deliver_sm`.
//!
//! - Binds: transmitter, receiver or transceiver, checked by [`SmppAuth`]:
//!   ESME_RBINDFAIL for an unknown system_id, a wrong password, a disabled
//!   account alike (so that logins cannot be enumerated; each refusal is
//!   logged at `warn` with system_id, peer and reason), and for `max_binds`
//!   reached; ESME_RALYBND (bound already). Repeated failures are slowed
//!   down, then locked out, per peer IP address and per system_id
//!   ([`bind_guard`]).
//! - Bound accounts are read again every `account_refresh_ms`, in one query
//!   for all ([`refresh`]): a bind submits with its account's current
//!   settings and balance, and one disabled or deleted is unbound.
//! - Each `submit_sm` is one [`Pipeline::send`] of one recipient (a
//!   `submit_multi`, one send to all its destinations), committed before the
//!   answer. The `message_id` answered is the relais **campaign id** (one
//!   campaign of one message for a `submit_sm`); receipts carry the same id
//!   (and the destination, which tells a `submit_multi`'s apart). Refusals
//!   are mapped to statuses as listed in [`submit`].
//! - A bind's submits are sent at once, up to `max_submits_in_flight`, and
//!   the pipeline commits those under way together, in one transaction (its
//!   group commit): a full window costs a few commits, not one per submit,
//!   and each is still answered only once committed.
//! - Text is decoded by `data_coding`: 0 GSM-7 (unpacked septets), 1 IA5
//!   (ASCII), 3 Latin-1, 8 UCS-2 (UTF-16, surrogate pairs included); an odd
//!   UCS-2 octet count, a non-ASCII IA5 octet or a control character in the
//!   decoded text (planning's rule) is ESME_RINVMSGLEN; `message_payload`
//!   is read when `short_message` is empty. The pipeline then encodes it as
//!   it does for every door (GSM-7 whenever the text allows).
//! - Concatenated submits (UDH 8- or 16-bit reference, or SAR TLVs): each
//!   part is answered ESME_ROK as it comes (a client with window 1 sends the
//!   next part only then), all with one message_id, `c` and 16 hex digits,
//!   since the campaign does not exist yet; the parts are buffered per
//!   (source, destination, reference) and sent as one message once all are
//!   in, its campaign tagged with that id, which its receipts carry and
//!   `query_sm` / `cancel_sm` accept. A message refused once whole (no
//!   credit, blacklisted…), or still incomplete after `concat_timeout_ms`
//!   (logged at `warn`; what arrived is not sent: half a message would
//!   mislead its reader and still be charged), is told with a REJECTD
//!   receipt whose `err` is the status a whole submit would have got
//!   (`045` for a missing part), when the client asked for receipts.
//! - Receipts: campaigns from this door are committed with callback URL
//!   `smpp:` when the client asked for receipts (`registered_delivery` bits
//!   0–1), so the store queues their status events in the webhook outbox;
//!   [`ReceiptQueue`] claims those of the accounts with a receiver or
//!   transceiver bound, and each is marked done once the client acknowledged
//!   its `deliver_sm` (else retried later).
//! - Replies (MO, STOP ones included): campaigns from this door are
//!   committed with reply URL `smpp:`, so the store queues the replies to
//!   their messages in the same outbox; each goes out as a `deliver_sm` with
//!   esm_class 0 from the replying number (TON 1, NPI 1) to the number it was
//!   sent to, in GSM-7 (data_coding 0) when the text allows, else UCS-2 (8),
//!   a long one in parts with a concatenation UDH (as the ESME submits),
//!   acknowledged and retried like receipts.
//! - Per account: at most `max_binds` binds, at most `throughput_per_second`
//!   `submit_sm` (ESME_RTHROTTLED beyond).
//! - After the submit, by the id it answered (`query.rs`): `query_sm`
//!   (message_state and final_date of the campaign's first message, or
//!   ESME_RQUERYFAIL), `cancel_sm` (the store's cancel, refunded, as the
//!   HTTP doors do, or ESME_RCANCELFAIL), `replace_sm` (always
//!   ESME_RREPLACEFAIL); another account's id is answered as unknown.
//! - `enquire_link`, `unbind`, `generic_nack` for undecodable PDUs (or the
//!   command's response naming the invalid field), ESME_RINVCMDID for
//!   commands it does not serve (data_sm, broadcast_sm…).
//! - With `tls`, every connection is TLS (rustls, certificate and key read
//!   once at start): a client that fails the handshake, a plaintext one
//!   included, is dropped before any bind. Sessions are the same either way.

mod bind_guard;
mod query;
mod receipts;
mod refresh;
mod session;
pub mod store_backed;
pub mod submit;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use relais_core::plan::MessageKind;
use relais_core::pricing::RouteClass;
use relais_engine::send::Pipeline;
use relais_store::{Account, AccountId, Millis, StoreResult, Webhook, WebhookResult};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use self::bind_guard::{BindGuard, Thresholds};
use crate::tls;
pub use crate::tls::ListenerTls;
use crate::wire::{self, Outbox};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Serve TLS (only) with this certificate; absent: plain TCP.
    pub tls: Option<ListenerTls>,
    /// The `system_id` binds are answered with.
    pub system_id: String,
    /// Kind and route class of what SMPP clients send (SMPP carries neither).
    pub kind: MessageKind,
    pub route_class: RouteClass,
    /// Submits of one bind handled at once (the client's window beyond it waits).
    pub max_submits_in_flight: usize,
    /// How long the parts of a concatenated submit are awaited.
    pub concat_timeout_ms: u64,
    /// Concatenated submits being reassembled per bind, at most.
    pub max_pending_concatenations: usize,
    /// `deliver_sm` sent to one bind and not yet acknowledged, at most.
    pub receipt_window: usize,
    /// How often the receipt queue is polled when idle.
    pub receipt_poll_ms: u64,
    /// Receipts claimed at once.
    pub receipt_batch: u32,
    /// How long a client has to acknowledge a receipt before it is offered again.
    pub receipt_timeout_ms: u64,
    /// Delay before a receipt that could not be delivered is offered again.
    pub receipt_retry_ms: u64,
    /// A bind silent for this long is closed.
    pub inactivity_timeout_ms: u64,
    /// How often the bound accounts' settings, balances and state are read
    /// again (one query for all); a disabled or deleted one is unbound.
    pub account_refresh_ms: u64,
    /// Failed binds (per peer IP address, per system_id) answered at once;
    /// each bind beyond waits `bind_failure_delay`, doubling (0: never).
    pub bind_failures_before_delay: u32,
    /// The first delay ("1s"), doubling per further failure, at most 30 s.
    #[serde(with = "text_duration")]
    pub bind_failure_delay: Duration,
    /// Failed binds after which binds are refused for `bind_lockout` (0: never).
    pub bind_failures_before_lockout: u32,
    /// How long a lockout lasts ("15m"), and how long after its last
    /// failure a count is forgotten.
    #[serde(with = "text_duration")]
    pub bind_lockout: Duration,
}

impl ServerConfig {
    fn bind_thresholds(&self) -> Thresholds {
        Thresholds {
            failures_before_delay: self.bind_failures_before_delay,
            failure_delay: self.bind_failure_delay,
            failures_before_lockout: self.bind_failures_before_lockout,
            lockout: self.bind_lockout,
        }
    }
}

/// Durations written as "15m", "1s", "250ms" (or ISO 8601, "PT15M").
mod text_duration {
    use std::time::Duration;

    use jiff::SignedDuration;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        match SignedDuration::try_from(*d) {
            Ok(d) => s.collect_str(&format_args!("{d:#}")),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        let parsed: SignedDuration = text
            .parse()
            .map_err(|e| D::Error::custom(format!("{text:?} is not a duration: {e}")))?;
        Duration::try_from(parsed).map_err(|_| D::Error::custom(format!("{text:?} is negative")))
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 2776)),
            tls: None,
            system_id: "relais".into(),
            kind: MessageKind::Transactional,
            route_class: RouteClass::Premium,
            max_submits_in_flight: 256,
            concat_timeout_ms: 10_000,
            max_pending_concatenations: 1_000,
            receipt_window: 64,
            receipt_poll_ms: 200,
            receipt_batch: 500,
            receipt_timeout_ms: 30_000,
            receipt_retry_ms: 30_000,
            inactivity_timeout_ms: 300_000,
            account_refresh_ms: 1_000,
            bind_failures_before_delay: 5,
            bind_failure_delay: Duration::from_secs(1),
            bind_failures_before_lockout: 20,
            bind_lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// An account that may bind, with its SMPP limits.
#[derive(Debug, Clone)]
pub struct SmppAccount {
    pub account: Account,
    /// Binds open at once, at most (0: no limit).
    pub max_binds: u32,
    /// `submit_sm` per second over all its binds; `None`: no limit.
    pub throughput_per_second: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("unknown system_id")]
    UnknownSystemId,
    #[error("wrong password")]
    WrongPassword,
    #[error("account disabled")]
    Disabled,
    #[error("authentication unavailable: {0}")]
    Unavailable(String),
}

/// Checks SMPP credentials (the store's accounts, in production).
#[async_trait]
pub trait SmppAuth: Send + Sync + 'static {
    async fn authenticate(&self, system_id: &str, password: &str)
    -> Result<SmppAccount, AuthError>;
}

/// What waits for SMPP clients in the webhook outbox: status events of
/// campaigns committed with callback URL `smpp:`, replies to those
/// committed with reply URL `smpp:`.
#[async_trait]
pub trait ReceiptQueue: Send + Sync + 'static {
    /// Leases up to `limit` pending events of these accounts until `lease_until`.
    async fn claim(
        &self,
        accounts: &[AccountId],
        now: Millis,
        limit: u32,
        lease_until: Millis,
    ) -> StoreResult<Vec<Webhook>>;
    /// Records how each entry's delivery went, all in one transaction.
    async fn finish(&self, results: &[(i64, WebhookResult)], now: Millis) -> StoreResult<()>;
}

/// A bound session, as the rest of the server sees it.
struct Bind {
    account_id: AccountId,
    /// The account as last read: at bind, then by [`refresh`] every
    /// `account_refresh_ms`.
    account: Mutex<Arc<Account>>,
    /// Told when the account is disabled or deleted: the session unbinds.
    unbind: Notify,
    receives: bool,
    outbox: Arc<Outbox>,
    next_seq: AtomicU32,
    /// `deliver_sm` awaiting the client's response, by sequence number.
    awaiting: Mutex<HashMap<u32, oneshot::Sender<u32>>>,
    window: Arc<Semaphore>,
}

impl Bind {
    fn sequence(&self) -> u32 {
        self.next_seq.fetch_add(1, Ordering::Relaxed) % 0x7FFF_FFFF + 1
    }

    fn account(&self) -> Arc<Account> {
        self.account.lock().expect("bind account").clone()
    }

    /// The client answered one of our `deliver_sm`.
    fn answered(&self, seq: u32, status: u32) {
        if let Some(tx) = self.awaiting.lock().expect("awaiting").remove(&seq) {
            let _ = tx.send(status);
        }
    }
}

/// `submit_sm` per second, over all binds of an account.
struct Bucket {
    per_second: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> bool {
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.per_second)
            .min(self.per_second.max(1.0));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Default)]
struct AccountBinds {
    binds: Vec<Arc<Bind>>,
    bucket: Option<Bucket>,
    round_robin: usize,
}

/// Who is bound, per account.
#[derive(Default)]
struct Registry {
    accounts: Mutex<HashMap<AccountId, AccountBinds>>,
}

impl Registry {
    /// Registers a bind unless the account has `max_binds` already.
    fn add(&self, account: &SmppAccount, bind: Arc<Bind>) -> bool {
        let mut accounts = self.accounts.lock().expect("registry");
        let entry = accounts.entry(account.account.id).or_default();
        if account.max_binds > 0 && entry.binds.len() >= account.max_binds as usize {
            return false;
        }
        entry.binds.push(bind);
        entry.bucket = account.throughput_per_second.map(|rate| {
            let per_second = f64::from(rate);
            match entry.bucket.take() {
                Some(b) => Bucket { per_second, ..b },
                None => Bucket {
                    per_second,
                    tokens: per_second.max(1.0),
                    at: Instant::now(),
                },
            }
        });
        true
    }

    fn remove(&self, bind: &Arc<Bind>) {
        let mut accounts = self.accounts.lock().expect("registry");
        if let Some(entry) = accounts.get_mut(&bind.account_id) {
            entry.binds.retain(|b| !Arc::ptr_eq(b, bind));
            if entry.binds.is_empty() {
                accounts.remove(&bind.account_id);
            }
        }
    }

    /// Takes one submit from the account's throughput.
    fn allow_submit(&self, account_id: AccountId) -> bool {
        let mut accounts = self.accounts.lock().expect("registry");
        match accounts
            .get_mut(&account_id)
            .and_then(|e| e.bucket.as_mut())
        {
            Some(bucket) => bucket.take(Instant::now()),
            None => true,
        }
    }

    /// Accounts with a bind.
    fn bound_accounts(&self) -> Vec<AccountId> {
        let accounts = self.accounts.lock().expect("registry");
        accounts.keys().copied().collect()
    }

    /// Gives the account's binds what was just read of it.
    fn refresh(&self, account: Account) {
        let accounts = self.accounts.lock().expect("registry");
        if let Some(entry) = accounts.get(&account.id) {
            let account = Arc::new(account);
            for bind in &entry.binds {
                *bind.account.lock().expect("bind account") = account.clone();
            }
        }
    }

    /// Tells each bind of the account to unbind.
    fn unbind(&self, account_id: AccountId) {
        let accounts = self.accounts.lock().expect("registry");
        for bind in accounts.get(&account_id).map_or(&[][..], |e| &e.binds) {
            bind.unbind.notify_one();
        }
    }

    /// Accounts with a bind that can take receipts.
    fn receiving_accounts(&self) -> Vec<AccountId> {
        let accounts = self.accounts.lock().expect("registry");
        accounts
            .iter()
            .filter(|(_, e)| e.binds.iter().any(|b| b.receives))
            .map(|(&id, _)| id)
            .collect()
    }

    /// A receiving bind of the account, in turn.
    fn receiver(&self, account_id: AccountId) -> Option<Arc<Bind>> {
        let mut accounts = self.accounts.lock().expect("registry");
        let entry = accounts.get_mut(&account_id)?;
        let receivers: Vec<&Arc<Bind>> = entry
            .binds
            .iter()
            .filter(|b| b.receives && !b.outbox.is_closed())
            .collect();
        if receivers.is_empty() {
            return None;
        }
        entry.round_robin = entry.round_robin.wrapping_add(1);
        Some(receivers[entry.round_robin % receivers.len()].clone())
    }
}

/// What every session and the receipt loop share.
struct Inner {
    config: ServerConfig,
    pipeline: Arc<Pipeline>,
    auth: Arc<dyn SmppAuth>,
    receipts: Arc<dyn ReceiptQueue>,
    registry: Registry,
    bind_guard: BindGuard,
    /// Woken when a receiver binds, so that its waiting receipts leave at once.
    receiver_bound: Notify,
    shutdown: watch::Receiver<bool>,
}

/// A running SMPP server.
pub struct SmppServer {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SmppServer {
    /// Binds `config.listen` (port 0 picks one) and serves until
    /// [`shutdown`](Self::shutdown). An unreadable `tls` file is an
    /// `InvalidInput` error naming it.
    pub async fn start(
        config: ServerConfig,
        pipeline: Arc<Pipeline>,
        auth: Arc<dyn SmppAuth>,
        receipts: Arc<dyn ReceiptQueue>,
    ) -> io::Result<SmppServer> {
        let tls = config.tls.as_ref().map(ListenerTls::acceptor).transpose()?;
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let inner = Arc::new(Inner {
            bind_guard: BindGuard::new(config.bind_thresholds()),
            config,
            pipeline,
            auth,
            receipts,
            registry: Registry::default(),
            receiver_bound: Notify::new(),
            shutdown: shutdown_rx,
        });
        let tasks = vec![
            tokio::spawn(accept(listener, tls, inner.clone())),
            tokio::spawn(refresh::run(inner.clone())),
            tokio::spawn(receipts::run(inner)),
        ];
        Ok(SmppServer {
            local_addr,
            shutdown,
            tasks,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, unbinds every client (after its submits in progress
    /// are answered) and stops delivering receipts.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn accept(listener: TcpListener, tls: Option<TlsAcceptor>, inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown.clone();
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match &tls {
                    None => match wire::split_tcp(stream) {
                        Ok((reader, writer)) => {
                            sessions.spawn(session::serve(inner.clone(), reader, writer, peer));
                        }
                        Err(e) => tracing::warn!(error = %e, "smpp: connection setup failed"),
                    },
                    Some(tls) => {
                        sessions.spawn(serve_tls(inner.clone(), tls.clone(), stream, peer));
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "smpp: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    // Sessions see the shutdown too and unbind their clients.
    while sessions.join_next().await.is_some() {}
}

/// A TLS connection's session, once its handshake is done (or given up at
/// shutdown, which waits for every session).
async fn serve_tls(inner: Arc<Inner>, acceptor: TlsAcceptor, stream: TcpStream, peer: SocketAddr) {
    let mut shutdown = inner.shutdown.clone();
    let handshake = tokio::select! {
        done = tls::accept(&acceptor, stream) => done,
        _ = shutdown.wait_for(|&stop| stop) => return,
    };
    match handshake {
        Ok((reader, writer)) => session::serve(inner, reader, writer, peer).await,
        Err(e) => {
            tracing::info!(%peer, error = %e, "smpp: TLS handshake failed, connection dropped")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_print_as_text() {
        let config: ServerConfig =
            serde_json::from_str(r#"{"bind_lockout": "15m", "bind_failure_delay": "250ms"}"#)
                .unwrap();
        assert_eq!(config.bind_lockout, Duration::from_secs(900));
        assert_eq!(config.bind_failure_delay, Duration::from_millis(250));
        let shown = serde_json::to_value(&config).unwrap();
        assert_eq!(shown["bind_lockout"], "15m");
        assert_eq!(shown["bind_failure_delay"], "250ms");
        assert!(serde_json::from_str::<ServerConfig>(r#"{"bind_lockout": "soon"}"#).is_err());
        assert!(serde_json::from_str::<ServerConfig>(r#"{"bind_lockout": "-5m"}"#).is_err());
    }
}
