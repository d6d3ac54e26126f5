//! What the HTTP providers' intake routes share: reading the ids, numbers
//! and times providers push, and handing reports and replies to the sink
//! with the log line an operator needs when one changes nothing (an unknown
//! id, a repeat, a report for a final message), since the provider is
//! answered 200 either way so that it stops retrying.
//!
//! Providers push one report per request, many at a time: the reports of
//! concurrent requests are stored together, in one sink call (one store
//! transaction) per batch, each request answered once its report is durable.

use std::collections::HashMap;
use std::sync::Arc;

use relais_core::number::E164;
use relais_core::paris;
use relais_store::{CarrierReport, MessageStatus, Millis, NewInbound, clock};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::sink::EventSink;

/// Reports stored in one sink call at most.
const MAX_BATCH: usize = 1024;

/// A connector's side of its intake routes.
#[derive(Clone)]
pub struct Pushes {
    connector: String,
    sink: Arc<dyn EventSink>,
    queue: mpsc::UnboundedSender<Pending>,
}

/// Reports of one request, and who waits for them to be durable.
struct Pending {
    reports: Vec<CarrierReport>,
    stored: oneshot::Sender<()>,
}

impl Pushes {
    /// Starts the task that stores reports in batches (within a runtime).
    pub fn new(connector: &str, sink: Arc<dyn EventSink>) -> Pushes {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(store_batches(connector.to_string(), sink.clone(), pending));
        Pushes {
            connector: connector.to_string(),
            sink,
            queue,
        }
    }

    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// A report for `carrier_id`, from this connector.
    pub fn report(
        &self,
        carrier_id: String,
        status: MessageStatus,
        error: Option<String>,
        at: Millis,
    ) -> CarrierReport {
        CarrierReport {
            connector: self.connector.clone(),
            carrier_id,
            status,
            error,
            at,
        }
    }

    /// Applies reports, returning once they are durable (with those other
    /// requests pushed meanwhile).
    pub async fn reports(&self, reports: &[CarrierReport]) {
        if reports.is_empty() {
            return;
        }
        let (stored, done) = oneshot::channel();
        let pending = Pending {
            reports: reports.to_vec(),
            stored,
        };
        if self.queue.send(pending).is_err() || done.await.is_err() {
            // The batching task is gone (the runtime is stopping): store alone.
            log_unchanged(&self.connector, reports, self.sink.reports(reports).await);
        }
    }

    /// Stores a reply from `from` (as the provider writes numbers); a STOP
    /// push (`stop`) with no text counts as the word STOP. A number that
    /// cannot be read is logged and dropped.
    pub async fn reply(&self, from: &str, to: &str, text: &str, at: Millis, stop: bool) {
        let Some(number) = number(from) else {
            tracing::warn!(connector = %self.connector, from, "reply from an unreadable number; dropped");
            return;
        };
        let text = if stop && text.trim().is_empty() {
            "STOP"
        } else {
            text
        };
        let inbound = NewInbound {
            from: number,
            to: to.to_string(),
            text: text.to_string(),
            connector: self.connector.clone(),
            at,
        };
        self.sink.inbound(inbound, None).await;
    }
}

/// Stores what the intake routes queued, as much as is waiting at once per
/// sink call, then answers each request of the batch.
async fn store_batches(
    connector: String,
    sink: Arc<dyn EventSink>,
    mut pending: mpsc::UnboundedReceiver<Pending>,
) {
    while let Some(first) = pending.recv().await {
        let mut batch = vec![first];
        let mut count = batch[0].reports.len();
        while count < MAX_BATCH {
            match pending.try_recv() {
                Ok(next) => {
                    count += next.reports.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let reports: Vec<CarrierReport> = batch
            .iter()
            .flat_map(|p| p.reports.iter().cloned())
            .collect();
        let span = tracing::debug_span!("intake reports", connector = %connector, count);
        let changed = tracing::Instrument::instrument(sink.reports(&reports), span).await;
        log_unchanged(&connector, &reports, changed);
        for done in batch {
            let _ = done.stored.send(());
        }
    }
}

fn log_unchanged(connector: &str, reports: &[CarrierReport], changed: u64) {
    if changed < reports.len() as u64 {
        tracing::info!(
            connector,
            received = reports.len(),
            changed,
            first = %reports[0].carrier_id,
            "delivery reports that changed no message (unknown id, repeated, or for a final message)"
        );
    }
}

/// The fields of a push, however the provider sends them: the query string,
/// then a form-encoded or JSON object body (scalars only); later ones win.
pub fn fields(query: Option<&str>, body: &[u8]) -> HashMap<String, String> {
    let mut fields: HashMap<String, String> = query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => {
            for (key, value) in object {
                let value = match value {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                fields.insert(key, value);
            }
        }
        _ => fields.extend(form_urlencoded::parse(body).into_owned()),
    }
    fields
}

/// An id a provider writes as a JSON string or number; empty: none.
pub fn id(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A code a provider writes as a JSON number or a string.
pub fn integer(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A number as providers push it: `+33612345678`, `33612345678` or
/// `0033612345678`.
pub fn number(value: &str) -> Option<E164> {
    let value = value.trim();
    let digits = value
        .strip_prefix('+')
        .or_else(|| value.strip_prefix("00"))
        .unwrap_or(value);
    format!("+{digits}").parse().ok()
}

/// A pushed time: RFC 3339 with an offset, or `Y-m-d H:i:s` in Europe/Paris
/// (the French providers), or Unix seconds; absent or unreadable: now.
pub fn time(value: Option<&str>) -> Millis {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return clock::now_ms();
    };
    if let Ok(at) = value.parse::<jiff::Timestamp>() {
        return at.as_millisecond();
    }
    if let Ok(at) = paris::parse_datetime(value) {
        return at.as_millisecond();
    }
    if let Ok(seconds) = value.parse::<i64>() {
        return seconds.saturating_mul(1000);
    }
    clock::now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_in_every_provider_form() {
        let expected: E164 = "+33612345678".parse().unwrap();
        for form in [
            "+33612345678",
            "33612345678",
            "0033612345678",
            " 33612345678 ",
        ] {
            assert_eq!(number(form), Some(expected), "{form}");
        }
        assert_eq!(number("0612345678"), None);
        assert_eq!(number("abc"), None);
    }

    #[test]
    fn fields_are_read_from_the_query_a_form_or_json() {
        let query = fields(Some("id=1&status=DELIVRD"), b"");
        assert_eq!(
            (query["id"].as_str(), query["status"].as_str()),
            ("1", "DELIVRD")
        );
        let form = fields(None, b"MessageSid=SM1&MessageStatus=delivered&Body=a+b%21");
        assert_eq!(form["Body"], "a b!");
        let json = fields(
            Some("id=0"),
            br#"{"id": 7, "ok": true, "nested": {"x": 1}}"#,
        );
        assert_eq!((json["id"].as_str(), json["ok"].as_str()), ("7", "true"));
        assert!(!json.contains_key("nested"));
    }

    #[test]
    fn times_are_read_in_every_provider_form() {
        let at = 1_721_881_386_000; // 2024-07-25T04:23:06Z
        assert_eq!(time(Some("2024-07-25T06:23:06+02:00")), at);
        assert_eq!(time(Some("2024-07-25 06:23:06")), at);
        assert_eq!(time(Some("1721881386")), at);
        let now = clock::now_ms();
        assert!(time(Some("yesterday")) >= now);
        assert!(time(None) >= now);
    }
}
