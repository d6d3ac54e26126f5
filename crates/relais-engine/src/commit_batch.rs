//! Group commit: sends planned at about the same time are committed together,
//! in one store transaction ([`Store::commit_campaigns`]), and each is
//! answered only once that transaction is durable.
//!
//! A send hands its campaign to the [`CommitBatcher`] and waits for its
//! result. When no commit is running, one starts at once with what is waiting,
//! so a lone send never waits for a timer; campaigns handed in while a commit
//! runs wait for it and then go together in the next one. Batches thus grow by
//! themselves with the load, to what arrives during one commit: a thousand
//! one-message sends cost a few transactions, not a thousand.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use relais_core::plan::{Plan, SendRequest};
use relais_store::{AccountId, CampaignId, CampaignMeta, Millis, NewCampaign, Store, StoreResult};
use tokio::sync::oneshot;

/// Messages in one batch, at most (a campaign that has more is never
/// batched: see [`Pipeline`](crate::send::Pipeline)). Bounds what a send
/// waits behind.
pub const MAX_BATCH_MESSAGES: usize = 5_000;

/// A planned campaign to commit, owned: it waits for the batch's commit,
/// beyond the sending request that made it.
pub struct PlannedCampaign {
    pub account_id: AccountId,
    pub request: SendRequest,
    pub plan: Plan,
    pub meta: CampaignMeta,
    pub now: Millis,
}

/// Commits the campaigns handed to it in batches (see the module's doc).
pub struct CommitBatcher {
    shared: Arc<Shared>,
}

struct Shared {
    store: Arc<dyn Store>,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Job>,
    /// A task is committing; it takes `waiting` when its commit is done.
    committing: bool,
}

/// A campaign waiting for its commit, and where its result goes: its id
/// and its plan back, or why it was not committed.
struct Job {
    campaign: PlannedCampaign,
    answer: oneshot::Sender<StoreResult<(CampaignId, Plan)>>,
}

impl CommitBatcher {
    pub fn new(store: Arc<dyn Store>) -> Self {
        CommitBatcher {
            shared: Arc::new(Shared {
                store,
                queue: Mutex::new(Queue::default()),
            }),
        }
    }

    /// Commits `campaign` with whatever else is waiting, as
    /// [`Store::commit_campaign`] would on its own, and answers once the
    /// commit is durable.
    pub async fn commit(&self, campaign: PlannedCampaign) -> StoreResult<(CampaignId, Plan)> {
        let (answer, result) = oneshot::channel();
        let start = {
            let mut queue = self.shared.lock();
            queue.waiting.push_back(Job { campaign, answer });
            !std::mem::replace(&mut queue.committing, true)
        };
        if start {
            tokio::spawn(self.shared.clone().drain());
        }
        result
            .await
            .expect("the committing task answers every campaign it takes")
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue is only pushed to and taken from: a panic elsewhere
        // cannot leave it half changed.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Commits batches of what is waiting until nothing is.
    async fn drain(self: Arc<Self>) {
        let _draining = Draining(self.clone());
        loop {
            let jobs = {
                let mut queue = self.lock();
                if queue.waiting.is_empty() {
                    queue.committing = false;
                    return;
                }
                take_batch(&mut queue.waiting)
            };
            self.commit(jobs).await;
        }
    }

    async fn commit(&self, mut jobs: Vec<Job>) {
        let batch: Vec<NewCampaign<'_>> = jobs
            .iter_mut()
            .map(|job| NewCampaign {
                account_id: job.campaign.account_id,
                request: &job.campaign.request,
                plan: &job.campaign.plan,
                meta: std::mem::take(&mut job.campaign.meta),
                now: job.campaign.now,
            })
            .collect();
        let results = self.store.commit_campaigns(&batch).await;
        drop(batch);
        for (job, result) in jobs.into_iter().zip(results) {
            // A send that stopped waiting (its client left) drops its answer.
            let _ = job.answer.send(result.map(|id| (id, job.campaign.plan)));
        }
    }
}

/// The oldest waiting jobs, up to [`MAX_BATCH_MESSAGES`] messages (and at
/// least one job).
fn take_batch(waiting: &mut VecDeque<Job>) -> Vec<Job> {
    let mut messages = 0;
    let mut jobs = Vec::new();
    while let Some(job) = waiting.front() {
        messages += job.campaign.plan.messages.len();
        if messages > MAX_BATCH_MESSAGES && !jobs.is_empty() {
            break;
        }
        jobs.extend(waiting.pop_front());
    }
    jobs
}

/// Should a commit panic, hands the campaigns still waiting to a new task
/// (the sends of the failed batch lose their answer and panic too), or lets
/// the next send start one.
struct Draining(Arc<Shared>);

impl Drop for Draining {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut queue = self.0.lock();
            if queue.waiting.is_empty() {
                queue.committing = false;
            } else {
                drop(queue);
                tokio::spawn(self.0.clone().drain());
            }
        }
    }
}
