//! Operations endpoints — `/healthz` (the process answers), `/readyz` (the
//! store answers), `/metrics` (Prometheus text) — and the middleware that
//! counts and times every HTTP request.

use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use relais_store::MessageStatus;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{bearer_token, constant_time_eq};
use crate::error::ApiError;
use crate::state::SharedState;

/// Counter of HTTP requests, by `method`, `route` and `status`.
pub const HTTP_REQUESTS: &str = "relais_http_requests_total";
/// Histogram of HTTP request durations in seconds, by `method`, `route` and `status`.
pub const HTTP_DURATION: &str = "relais_http_request_duration_seconds";
/// Gauge of messages per `status` over the whole store (the queue depth is
/// `status="queued"`), refreshed at each scrape.
pub const MESSAGES: &str = "relais_messages";
/// Gauge of client callbacks not yet delivered, refreshed at each scrape.
pub const WEBHOOKS_PENDING: &str = "relais_webhooks_pending";

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The store answers a query.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses((status = 200, body = Health), (status = 503, body = crate::error::ErrorBody))
)]
pub async fn readyz(State(state): State<SharedState>) -> Result<Json<Health>, ApiError> {
    // A primary-key lookup that finds nothing: the cheapest round trip the
    // Store trait offers.
    match state.store.account(0).await {
        Ok(_) => Ok(Json(Health { status: "ok" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the store is not reachable",
            ))
        }
    }
}

/// Prometheus metrics (text exposition format). 404 when metrics are off;
/// 401 without the bearer token when `metrics_token` is configured.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, content_type = "text/plain", body = String),
        (status = 401, description = "`metrics_token` is set and the request does not bear it", body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)
    ),
    security((), ("metrics_token" = []))
)]
pub async fn metrics(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(expected) = state.config.metrics_token.as_deref() {
        let bearer = bearer_token(&headers);
        if !bearer.is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes())) {
            tracing::warn!(
                token_sent = bearer.is_some(),
                "/metrics refused: wrong or missing metrics token"
            );
            return Err(ApiError::unauthorized(
                "/metrics needs Authorization: Bearer <metrics_token>",
            ));
        }
    }
    let handle = state.metrics.as_ref().ok_or_else(ApiError::not_found)?;
    let totals = state.store.status_totals().await?;
    for status in MessageStatus::ALL {
        let count = totals.get(&status).copied().unwrap_or(0);
        metrics::gauge!(MESSAGES, "status" => status.as_str()).set(count as f64);
    }
    metrics::gauge!(WEBHOOKS_PENDING).set(state.store.pending_webhooks().await? as f64);
    let text = handle.render();
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Counts and times a request under its route pattern (`/v1/campaigns/{id}`,
/// never the raw path, to keep the number of series bounded).
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || "unmatched".to_owned(),
        |path| relais_connectors::intake::redact_path(path.as_str()).into_owned(),
    );
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}
