//! The blacklist and the NPAI list (numbers no longer assigned):
//! `GET|POST /blacklist`, `DELETE /blacklist/contact/{id}`, `GET|POST /npai`.
//!
//! Adding is all or nothing, as on the native API: if any number is invalid
//! the request is refused (-7) naming each, and nothing is stored. Numbers
//! already listed are kept and not counted in `added_contacts`. Numbers are
//! shown as SMSFactor writes them: country code and number, no `+`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use relais_core::number::{self, E164, NumberPolicy};
use relais_store::{NumberList, Page};

use super::context::{Ctx, ok, path_id};
use super::errors::Failure;
use super::reads::window;
use super::requests;
use crate::dialects::common::body;
use crate::dialects::common::format::{Object, Value};
use crate::dialects::common::paris;
use crate::state::{AppState, SharedState};

pub async fn get_blacklist(State(state): State<SharedState>, ctx: Ctx) -> Response {
    ctx.reply(list(&state, &ctx, NumberList::Blacklist).await)
}

pub async fn get_npai(State(state): State<SharedState>, ctx: Ctx) -> Response {
    ctx.reply(list(&state, &ctx, NumberList::Npai).await)
}

pub async fn post_blacklist(
    State(state): State<SharedState>,
    ctx: Ctx,
    request: Request,
) -> Response {
    ctx.reply(add(&state, &ctx, NumberList::Blacklist, request).await)
}

pub async fn post_npai(State(state): State<SharedState>, ctx: Ctx, request: Request) -> Response {
    ctx.reply(add(&state, &ctx, NumberList::Npai, request).await)
}

/// `{"status":1,"message":"OK","list":[{id,destination,date,info1…info4,campaign_id,batch_id}],"totalRecords":N,"totalDisplayRecords":M}`.
async fn list(state: &AppState, ctx: &Ctx, which: NumberList) -> Result<Value, Failure> {
    let (start, length) = window(&ctx.query)?;
    let all = state
        .store
        .listed(
            ctx.caller.account.id,
            which,
            Page {
                offset: 0,
                limit: 0,
            },
        )
        .await?;
    let items: Vec<Object> = all
        .iter()
        .skip(start)
        .take(length)
        .map(|entry| {
            let info = |i: usize| entry.info.get(i).cloned().unwrap_or_default();
            Object::new()
                .field("id", entry.id.to_string())
                .field("destination", entry.number.digits().to_string())
                .field("date", paris::format_datetime(entry.added_at))
                .field("info1", info(0))
                .field("info2", info(1))
                .field("info3", info(2))
                .field("info4", info(3))
                .field("campaign_id", entry.campaign_id.map(|id| id.to_string()))
                .field("batch_id", Value::Null)
        })
        .collect();
    Ok(ok()
        .field("totalRecords", all.len())
        .field("totalDisplayRecords", items.len())
        .field("list", items)
        .into())
}

/// `{"status":1,"message":"OK","added_contacts":N}`.
async fn add(
    state: &AppState,
    ctx: &Ctx,
    which: NumberList,
    request: Request,
) -> Result<Value, Failure> {
    let root = match which {
        NumberList::Blacklist => "blacklist",
        NumberList::Npai => "npai",
    };
    let headers = request.headers().clone();
    let bytes = body::read(request).await?;
    let contacts = requests::contacts(&headers, &bytes, root)?;
    if contacts.is_empty() {
        return Err(Failure::data("no contact given"));
    }
    let account = &ctx.caller.account;
    let region = account.settings.default_region;
    let mut entries: Vec<(E164, Vec<String>)> = Vec::with_capacity(contacts.len());
    let mut invalid = Vec::new();
    for (i, contact) in contacts.into_iter().enumerate() {
        match number::normalize(&contact.value, region, NumberPolicy::default()) {
            Ok(n) => entries.push((n.e164, contact.info)),
            Err(e) => invalid.push(format!("gsm[{i}] {:?}: {e}", contact.value)),
        }
    }
    if !invalid.is_empty() {
        return Err(Failure::data(format!(
            "nothing was added: {}",
            invalid.join("; ")
        )));
    }
    let added = state
        .store
        .add_listed(
            account.id,
            which,
            &entries,
            super::NAME,
            relais_store::clock::now_ms(),
        )
        .await?;
    Ok(ok().field("added_contacts", added).into())
}

/// `DELETE /blacklist/contact/{id}`.
pub async fn delete_blacklisted(
    State(state): State<SharedState>,
    ctx: Ctx,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let result = async {
        let id = path_id(id)?;
        let removed = state
            .store
            .remove_listed_by_id(ctx.caller.account.id, NumberList::Blacklist, id)
            .await?;
        if removed {
            Ok(ok().into())
        } else {
            Err(Failure::not_found())
        }
    };
    ctx.reply(result.await)
}
