//! Webhooks: `GET|POST /webhook`, `PUT|DELETE /webhook/{id}`.
//!
//! relais keeps two callback URLs per account (`settings.webhooks`): delivery
//! reports (`dlr`) and replies (`inbound`, STOP replies included). SMSFactor's
//! types map onto them: `DLR` is the first; `MO` and `STOP` both name the
//! second, so registering either sends both replies and STOP replies there.
//! Each type has a fixed id: `DLR` 1, `MO` 2, `STOP` 3; deleting `MO` or
//! `STOP` clears the reply URL. Setting a URL makes SMSFactor the account's
//! callback dialect, so replies to no campaign of its are still pushed in
//! SMSFactor's shape. `CLICKER` and `BALANCE_ALERT` are refused
//! (-7): relais neither shortens links nor watches balances.
//!
//! `signature` becomes the account's webhook secret: pushes then carry
//! `X-SMSFactor-Signature` (see `callbacks`), and relais' own timestamped
//! `X-Relais-Signature` like every door's (see `relais_engine::webhooks`).
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use relais_engine::callback_url::check_callback_url;
use relais_store::WebhookUrls;

use super::context::{Ctx, ok, path_id};
use super::errors::Failure;
use super::requests::WebhookBody;
use crate::dialects::common::body;
use crate::dialects::common::format::{Object, Value};
use crate::state::{AppState, SharedState};

/// A webhook type relais delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dlr,
    Mo,
    Stop,
}

const KINDS: [Kind; 3] = [Kind::Dlr, Kind::Mo, Kind::Stop];

/// Longest `signature` kept.
const MAX_SIGNATURE: usize = 256;

impl Kind {
    fn parse(name: &str) -> Result<Kind, Failure> {
        match name.trim().to_ascii_uppercase().as_str() {
            "DLR" => Ok(Kind::Dlr),
            "MO" => Ok(Kind::Mo),
            "STOP" => Ok(Kind::Stop),
            "CLICKER" | "BALANCE_ALERT" => Err(Failure::data(format!(
                "webhook type {name} is not supported: relais sends DLR, MO and STOP"
            ))),
            _ => Err(Failure::data(format!(
                "type must be DLR, MO or STOP, not {name:?}"
            ))),
        }
    }

    fn id(self) -> i64 {
        match self {
            Kind::Dlr => 1,
            Kind::Mo => 2,
            Kind::Stop => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Dlr => "DLR",
            Kind::Mo => "MO",
            Kind::Stop => "STOP",
        }
    }

    fn url(self, urls: &mut WebhookUrls) -> &mut Option<String> {
        match self {
            Kind::Dlr => &mut urls.dlr,
            Kind::Mo | Kind::Stop => &mut urls.inbound,
        }
    }

    fn describe(self, url: &str) -> Object {
        Object::new()
            .field("webhook_id", self.id().to_string())
            .field("type", self.name())
            .field("url", url)
    }
}

/// `{"status":1,"message":"OK","webhooks":[{"webhook_id","type","url"}]}`.
pub async fn list(ctx: Ctx) -> Response {
    let mut urls = ctx.caller.account.settings.webhooks.clone();
    let webhooks: Vec<Object> = KINDS
        .into_iter()
        .filter_map(|kind| kind.url(&mut urls).clone().map(|url| kind.describe(&url)))
        .collect();
    ctx.reply(Ok(ok().field("webhooks", webhooks).into()))
}

/// `POST /webhook`: sets the URL of a type.
pub async fn create(State(state): State<SharedState>, ctx: Ctx, request: Request) -> Response {
    let result = async {
        let body = read(request).await?;
        let kind = Kind::parse(
            body.kind
                .as_deref()
                .ok_or_else(|| Failure::data("missing field `type`"))?,
        )?;
        let url = body
            .url
            .clone()
            .ok_or_else(|| Failure::data("missing field `url`"))?;
        save(&state, &ctx, kind, Some(url), body.signature).await
    };
    ctx.reply(result.await)
}

/// `PUT /webhook/{id}`: changes the URL (and signature) of a type set before.
pub async fn update(
    State(state): State<SharedState>,
    ctx: Ctx,
    id: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let result = async {
        let kind = existing(&ctx, id)?;
        let body = read(request).await?;
        if let Some(name) = &body.kind
            && Kind::parse(name)?.id() != kind.id()
        {
            return Err(Failure::data(format!(
                "webhook {} is of type {}; create a webhook to use another type",
                kind.id(),
                kind.name()
            )));
        }
        save(&state, &ctx, kind, body.url, body.signature).await
    };
    ctx.reply(result.await)
}

/// `DELETE /webhook/{id}`: `{"status":1,"message":"OK","deleted_id":"2"}`.
pub async fn delete(
    State(state): State<SharedState>,
    ctx: Ctx,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let result = async {
        let kind = existing(&ctx, id)?;
        state
            .pipeline
            .accounts()
            .patch_settings(ctx.caller.account.id, |settings| {
                *kind.url(&mut settings.webhooks) = None;
                Ok::<_, Failure>(())
            })
            .await?;
        Ok(ok().field("deleted_id", kind.id().to_string()).into())
    };
    ctx.reply(result.await)
}

async fn read(request: Request) -> Result<WebhookBody, Failure> {
    let headers = request.headers().clone();
    let bytes = body::read(request).await?;
    WebhookBody::parse(&headers, &bytes)
}

/// The type of webhook `id`, which must be set.
fn existing(ctx: &Ctx, id: Result<Path<String>, PathRejection>) -> Result<Kind, Failure> {
    let id = path_id(id)?;
    let mut urls = ctx.caller.account.settings.webhooks.clone();
    KINDS
        .into_iter()
        .find(|k| k.id() == id)
        .filter(|k| k.url(&mut urls).is_some())
        .ok_or_else(Failure::not_found)
}

/// Sets the URL of `kind` (`None`: keeps the one it has) and the signature
/// when given, changing nothing else of the settings as they are when the
/// store holds the account.
async fn save(
    state: &AppState,
    ctx: &Ctx,
    kind: Kind,
    url: Option<String>,
    signature: Option<String>,
) -> Result<Value, Failure> {
    if let Some(url) = &url {
        check_callback_url(url, state.config.allow_private_callbacks)
            .map_err(|e| Failure::data(format!("url: {e}")))?;
    }
    let signature = signature.filter(|s| !s.is_empty());
    if let Some(signature) = &signature
        && signature.chars().count() > MAX_SIGNATURE
    {
        return Err(Failure::data(format!(
            "signature: at most {MAX_SIGNATURE} characters"
        )));
    }
    let mut settings = state
        .pipeline
        .accounts()
        .patch_settings(ctx.caller.account.id, |settings| {
            if let Some(signature) = &signature {
                settings.webhook_secret = signature.clone();
            }
            let current = kind.url(&mut settings.webhooks);
            *current = url.clone().or_else(|| current.take());
            // Replies that answer no campaign are rendered for the door that set the URLs.
            settings.webhooks.dialect = Some(super::NAME.into());
            Ok::<_, Failure>(())
        })
        .await?;
    let url = kind.url(&mut settings.webhooks).clone().unwrap_or_default();
    Ok(ok().field("webhook", kind.describe(&url)).into())
}
