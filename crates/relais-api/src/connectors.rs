//! `GET /admin/connectors`: every back door of this node with its kind, its
//! state (up, last error, in flight, binds) and the full URLs of its intake
//! routes, which an operator pastes into a provider's console where the
//! provider has no API to register them.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use relais_connectors::contract::Connector;
use relais_connectors::intake::IntakeRoute;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Admin;
use crate::state::SharedState;

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(list_connectors))
}

/// A running connector and its intake routes, as the gateway built them.
#[derive(Clone)]
pub struct ConnectorEntry {
    pub connector: Arc<dyn Connector>,
    pub intake: Vec<IntakeRoute>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorList {
    pub connectors: Vec<ConnectorBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorBody {
    pub name: String,
    /// `simulator`, `smpp`, `smsfactor`, `smspartner`, `octopush`,
    /// `smsadvert`, `twilio`, `vonage` or `http`.
    pub kind: String,
    /// False while the connector knows it cannot submit.
    pub up: bool,
    /// Why the last attempt to reach the peer failed, until one succeeds.
    pub last_error: Option<String>,
    /// Submits sent and not answered yet.
    pub in_flight: u64,
    /// SMPP binds up and configured; absent for kinds without lasting links.
    pub binds: Option<BindsBody>,
    /// The routes its peer pushes reports and replies to.
    pub intake: Vec<IntakeRouteBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BindsBody {
    pub up: u32,
    pub configured: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeRouteBody {
    /// Path on the main listener (it carries the connector's intake secret).
    pub path: String,
    /// What the peer pushes there.
    pub receives: String,
    /// The full URL, from the connector's `public_url`; absent without one.
    pub url: Option<String>,
}

impl From<&ConnectorEntry> for ConnectorBody {
    fn from(entry: &ConnectorEntry) -> Self {
        let status = entry.connector.status();
        ConnectorBody {
            name: entry.connector.name().to_string(),
            kind: entry.connector.kind().to_string(),
            up: status.up,
            last_error: status.last_error,
            in_flight: status.in_flight,
            binds: status.binds.map(|b| BindsBody {
                up: b.up,
                configured: b.configured,
            }),
            intake: entry
                .intake
                .iter()
                .map(|route| IntakeRouteBody {
                    path: route.path.clone(),
                    receives: route.receives.to_string(),
                    url: route.url.clone(),
                })
                .collect(),
        }
    }
}

/// Lists the connectors of this node.
#[utoipa::path(
    get,
    path = "/admin/connectors",
    tag = "admin",
    responses((status = 200, description = "Every connector of this node", body = ConnectorList)),
    security(("admin_token" = []))
)]
pub async fn list_connectors(State(state): State<SharedState>, _: Admin) -> Json<ConnectorList> {
    Json(ConnectorList {
        connectors: state.connectors.iter().map(ConnectorBody::from).collect(),
    })
}
