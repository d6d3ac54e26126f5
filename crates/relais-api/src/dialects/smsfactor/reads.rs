//! Reads: `GET /credits`, `GET /campaign/{id}` and `GET /campaigns`.
//!
//! Dates are SMSFactor's `Y-m-d H:i:s`, Europe/Paris. A campaign's counts:
//! `delivered`; `error` (undelivered or refused by the carrier);
//! `network_error` (never left: no route, or retries exhausted); `expired`;
//! `stop` and `npai` (recipients filtered out as blacklisted or NPAI);
//! `total` (recipients before filtering); `delivery_rate`, a whole
//! percentage of the messages accepted. Its `status` is relais' own word:
//! scheduled, sending, done or cancelled. `lists` is always empty (relais
//! sends to numbers, not stored lists).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use relais_store::{Campaign, CampaignFilter, MessageStatus, Page, StatusCounts};

use super::context::{Ctx, ok, path_id};
use super::credits::Credits;
use super::errors::{Failure, Status};
use crate::dialects::common::format::{Object, Value};
use crate::dialects::common::forms::Params;
use crate::dialects::common::paris;
use crate::state::{AppState, SharedState};

/// `{"status":1,"message":"OK","credits":"44690","postpaid":"0","postpaid_limit":false,"unlimited":false}`:
/// a postpaid account has no credits and no limit.
pub async fn credits(State(state): State<SharedState>, ctx: Ctx) -> Response {
    let result = async {
        let caller = ctx.caller.clone().reread(&state).await?;
        Ok((
            Credits::of(&state, &caller.account)?,
            caller.account.balance,
        ))
    };
    let result = result.await.map(|(credits, balance)| {
        let postpaid = balance.is_none();
        ok().field("credits", credits.balance_text(balance))
            .field("postpaid", if postpaid { "1" } else { "0" })
            .field("postpaid_limit", false)
            .field("unlimited", postpaid)
            .into()
    });
    ctx.reply(result)
}

fn count(counts: &StatusCounts, statuses: &[MessageStatus]) -> u64 {
    statuses.iter().filter_map(|s| counts.get(s)).sum()
}

fn delivery_rate(campaign: &Campaign, counts: &StatusCounts) -> u64 {
    let delivered = count(counts, &[MessageStatus::Delivered]);
    (delivered * 100)
        .checked_div(campaign.counters.sent)
        .unwrap_or(0)
}

/// `{"status":1,"message":"OK","campaign":[{…}]}`.
pub async fn campaign(
    State(state): State<SharedState>,
    ctx: Ctx,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let result = async {
        let id = path_id(id)?;
        let account = &ctx.caller.account;
        let (campaign, counts) = state
            .store
            .campaign_with_counts(account.id, id)
            .await?
            .ok_or_else(Failure::not_found)?;
        let credits = Credits::of(&state, account)?;
        let detail = Object::new()
            .field("id", campaign.id)
            .field("sender", campaign.sender.clone())
            .field("text", campaign.text.clone())
            .field("creation_date", paris::format_datetime(campaign.created_at))
            .field("date", paris::format_datetime(campaign.send_at))
            .field("cost", credits.cost(campaign.cost))
            .field("lists", Vec::<Value>::new())
            .field("status", campaign.status.as_str())
            .field("delivery_rate", delivery_rate(&campaign, &counts))
            .field("delivered", count(&counts, &[MessageStatus::Delivered]))
            .field(
                "error",
                count(
                    &counts,
                    &[MessageStatus::Undelivered, MessageStatus::Rejected],
                ),
            )
            .field("expired", count(&counts, &[MessageStatus::Expired]))
            .field("network_error", count(&counts, &[MessageStatus::Failed]))
            .field("stop", campaign.counters.blacklisted)
            .field("npai", campaign.counters.npai)
            .field("total", campaign.counters.total);
        Ok(ok().field("campaign", vec![detail]).into())
    };
    ctx.reply(result.await)
}

/// The most items one list answer holds (`length`), and its default.
pub const MAX_LENGTH: usize = 1000;

/// `start` (default 0) and `length` (default and at most [`MAX_LENGTH`]).
pub fn window(query: &Params) -> Result<(usize, usize), Failure> {
    let number = |name: &str, default: usize| match query.get(name).map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| Failure::data(format!("{name} must be a whole number, not {v:?}"))),
    };
    let (start, length) = (number("start", 0)?, number("length", MAX_LENGTH)?);
    if !(1..=MAX_LENGTH).contains(&length) {
        return Err(Failure::data(format!(
            "length must be between 1 and {MAX_LENGTH}"
        )));
    }
    Ok((start, length))
}

/// A `date_start`/`date_end` bound: `Y-m-d H:i:s`, or `Y-m-d` meaning that
/// whole day (its start for `date_start`, the next day's start for
/// `date_end`, which is exclusive).
fn date_bound(query: &Params, name: &str, end: bool) -> Result<Option<i64>, Failure> {
    let Some(value) = query.get(name).map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bad = |e: paris::LocalTimeError| Failure::new(Status::Data, format!("{name}: {e}"));
    let at = if value.contains(' ') {
        paris::parse_datetime(value).map_err(bad)?
    } else {
        let start = paris::parse_date_start(value).map_err(bad)?;
        if end {
            let date = start.to_zoned(paris::zone()).date();
            let next = date
                .tomorrow()
                .map_err(|_| Failure::data(format!("{name}: out of range")))?;
            paris::start_of_day(next).map_err(bad)?
        } else {
            start
        }
    };
    Ok(Some(at.as_millisecond()))
}

/// `{"status":1,"message":"OK","campaigns":[{id,sender,text,date,cost,delivery_rate}],"totalRecords":N,"totalDisplayRecords":M}`,
/// newest first; `totalRecords` counts every campaign matching the dates.
pub async fn campaigns(State(state): State<SharedState>, ctx: Ctx) -> Response {
    ctx.reply(list_campaigns(&state, &ctx).await)
}

async fn list_campaigns(state: &AppState, ctx: &Ctx) -> Result<Value, Failure> {
    let (start, length) = window(&ctx.query)?;
    let filter = CampaignFilter {
        created_from: date_bound(&ctx.query, "date_start", false)?,
        created_to: date_bound(&ctx.query, "date_end", true)?,
        status: None,
    };
    let account = &ctx.caller.account;
    let all = state
        .store
        .campaigns(
            account.id,
            &filter,
            Page {
                offset: 0,
                limit: 0,
            },
        )
        .await?;
    let credits = Credits::of(state, account)?;
    let mut items = Vec::new();
    for campaign in all.iter().skip(start).take(length) {
        let counts = state
            .store
            .campaign_status_counts(account.id, campaign.id)
            .await?;
        items.push(
            Object::new()
                .field("id", campaign.id)
                .field("sender", campaign.sender.clone())
                .field("text", campaign.text.clone())
                .field("date", paris::format_datetime(campaign.send_at))
                .field("cost", credits.cost(campaign.cost))
                .field("delivery_rate", delivery_rate(campaign, &counts)),
        );
    }
    Ok(ok()
        .field("totalRecords", all.len())
        .field("totalDisplayRecords", items.len())
        .field("campaigns", items)
        .into())
}
