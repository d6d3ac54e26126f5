//! Sending: `GET|POST /send` and `/send/simulate`, translated into one
//! [`SendRequest`](relais_core::plan::SendRequest) for the pipeline, and
//! `DELETE /send/{ticket}`, cancelling what has not left yet.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use relais_engine::send::{SendOptions, SendOutcome};
use relais_store::CampaignMeta;

use super::context::{Ctx, ok, path_id};
use super::credits::Credits;
use super::errors::Failure;
use super::requests::Campaign;
use crate::dialects::common::body;
use crate::dialects::common::cancel::{self, Refusal};
use crate::dialects::common::format::Value;
use crate::error::ApiError;
use crate::state::{AppState, SharedState};

pub async fn get_send(State(state): State<SharedState>, ctx: Ctx) -> Response {
    ctx.reply(from_query(&state, &ctx, false).await)
}

pub async fn get_simulate(State(state): State<SharedState>, ctx: Ctx) -> Response {
    ctx.reply(from_query(&state, &ctx, true).await)
}

pub async fn post_send(State(state): State<SharedState>, ctx: Ctx, request: Request) -> Response {
    ctx.reply(from_body(&state, &ctx, request, false).await)
}

pub async fn post_simulate(
    State(state): State<SharedState>,
    ctx: Ctx,
    request: Request,
) -> Response {
    ctx.reply(from_body(&state, &ctx, request, true).await)
}

async fn from_query(state: &AppState, ctx: &Ctx, simulate: bool) -> Result<Value, Failure> {
    send(state, ctx, Campaign::from_query(&ctx.query)?, simulate).await
}

async fn from_body(
    state: &AppState,
    ctx: &Ctx,
    request: Request,
    simulate: bool,
) -> Result<Value, Failure> {
    let headers = request.headers().clone();
    let bytes = body::read(request).await?;
    send(state, ctx, Campaign::from_body(&headers, &bytes)?, simulate).await
}

/// Sends (or simulates) and answers the campaign's counters; a simulation has
/// no `ticket`. A send every recipient is filtered out of is refused (-7,
/// the details naming the counters) and stores nothing.
async fn send(
    state: &AppState,
    ctx: &Ctx,
    campaign: Campaign,
    simulate: bool,
) -> Result<Value, Failure> {
    let account = &ctx.caller.account;
    let request = campaign.into_request(&state.config)?;
    let options = SendOptions {
        simulate,
        meta: CampaignMeta {
            source: super::NAME.into(),
            ..CampaignMeta::default()
        },
        ..SendOptions::default()
    };
    let SendOutcome::Planned { campaign_id, plan } =
        state.pipeline.send(account, &request, options).await?
    else {
        return Err(ApiError::internal("a send without idempotency key was replayed").into());
    };
    let credits = Credits::of(state, account)?;
    let counters = plan.counters;
    let mut answer = ok();
    if let Some(id) = campaign_id {
        answer.push("ticket", id.to_string());
    }
    Ok(answer
        .field("cost", credits.cost(plan.cost))
        .field("credits", credits.balance(plan.balance_after))
        .field("total", counters.total)
        .field("sent", counters.sent)
        .field("blacklisted", counters.blacklisted)
        .field("duplicated", counters.duplicated)
        .field("npai", counters.npai)
        .field("invalid", counters.invalid)
        .field("not_allowed", counters.not_allowed)
        .field("flood", counters.flood)
        .field("country_limit", counters.country_limit)
        .into())
}

/// `DELETE /send/{ticket}`: `credits` is what was given back.
pub async fn cancel(
    State(state): State<SharedState>,
    ctx: Ctx,
    ticket: Result<Path<String>, PathRejection>,
) -> Response {
    let result = async {
        let id = path_id(ticket)?;
        let account = &ctx.caller.account;
        match cancel::cancel(&state, account, id).await? {
            Ok(outcome) => Ok(ok()
                .field(
                    "credits",
                    Credits::of(&state, account)?.cost(outcome.refunded),
                )
                .into()),
            Err(Refusal::NotFound) => Err(Failure::not_found()),
            Err(Refusal::AlreadyCancelled) => {
                Err(Failure::data("the campaign is already cancelled"))
            }
            Err(Refusal::NothingLeft) => Err(Failure::data(
                "every message of the campaign has already been sent",
            )),
        }
    };
    ctx.reply(result.await)
}
