//! A submit outcome as the columns recording it sets, the same for both
//! backends (`record_submissions`).

use crate::codec::to_i64;
use crate::model::{MessageId, MessageStatus, Millis, SubmitOutcome};

/// One submit outcome as the columns it sets.
pub(crate) struct Submission<'a> {
    pub(crate) id: MessageId,
    pub(crate) status: MessageStatus,
    pub(crate) connector: Option<&'a str>,
    /// One per part; none unless submitted.
    pub(crate) carrier_ids: &'a [String],
    pub(crate) detail: Option<&'a str>,
    pub(crate) retry_at: Option<Millis>,
    /// A submission's report deadline.
    pub(crate) report_by: Option<Millis>,
}

impl<'a> Submission<'a> {
    pub(crate) fn of(id: MessageId, outcome: &'a SubmitOutcome) -> Self {
        let base = Submission {
            id,
            status: MessageStatus::Submitted,
            connector: None,
            carrier_ids: &[],
            detail: None,
            retry_at: None,
            report_by: None,
        };
        match outcome {
            SubmitOutcome::Submitted {
                connector,
                carrier_ids,
                report_by,
            } => Submission {
                connector: Some(connector),
                carrier_ids,
                report_by: Some(*report_by),
                ..base
            },
            SubmitOutcome::Retry { retry_at, error } => Submission {
                status: MessageStatus::Queued,
                detail: Some(error),
                retry_at: Some(*retry_at),
                ..base
            },
            SubmitOutcome::Rejected { connector, error } => Submission {
                status: MessageStatus::Rejected,
                connector: Some(connector),
                detail: Some(error),
                ..base
            },
            SubmitOutcome::Failed { error } => Submission {
                status: MessageStatus::Failed,
                detail: Some(error),
                ..base
            },
        }
    }

    /// The part count, `None` when there are no parts.
    pub(crate) fn parts(&self) -> Option<i64> {
        (!self.carrier_ids.is_empty()).then(|| to_i64(self.carrier_ids.len() as u64))
    }
}
