//! Routes: which connectors, in which order, carry a message — chosen by
//! destination country or number prefix, message kind and route class. The
//! first matching route wins; its connectors are tried in order (failover).
//! Sandbox accounts always go to the simulator.

use std::collections::HashMap;
use std::sync::Arc;

use relais_core::number::Country;
use relais_core::plan::MessageKind;
use relais_core::pricing::RouteClass;
use relais_store::OutboundMessage;
use serde::{Deserialize, Serialize};

use crate::connector::Connector;

/// A route as configured. Empty match lists match everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub name: String,
    #[serde(default)]
    pub countries: Vec<Country>,
    /// E.164 digit prefixes without the plus ("336", "4915").
    #[serde(default)]
    pub prefixes: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<MessageKind>,
    #[serde(default)]
    pub classes: Vec<RouteClass>,
    /// Connector names, tried in order.
    pub connectors: Vec<String>,
}

impl RouteConfig {
    fn matches(&self, m: &OutboundMessage, digits: &str) -> bool {
        (self.countries.is_empty() || self.countries.contains(&m.country))
            && (self.prefixes.is_empty()
                || self.prefixes.iter().any(|p| digits.starts_with(p.as_str())))
            && (self.kinds.is_empty() || self.kinds.contains(&m.kind))
            && (self.classes.is_empty() || self.classes.contains(&m.route_class))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("route {route:?} names unknown connector {connector:?}")]
    UnknownConnector { route: String, connector: String },
    #[error("route {0:?} has no connector")]
    NoConnector(String),
    #[error("no connector named {0:?} for sandbox accounts")]
    NoSandbox(String),
}

/// A resolved route.
pub type Chain = Arc<[Arc<dyn Connector>]>;

/// The routing table with its connectors resolved.
pub struct Router {
    routes: Vec<(RouteConfig, Chain)>,
    sandbox: Chain,
}

impl Router {
    /// Resolves routes against the connectors; `sandbox` names the connector
    /// (the simulator) that sandbox accounts use.
    pub fn new(
        routes: Vec<RouteConfig>,
        connectors: &HashMap<String, Arc<dyn Connector>>,
        sandbox: &str,
    ) -> Result<Self, RoutingError> {
        let resolve = |route: &RouteConfig| -> Result<Chain, RoutingError> {
            if route.connectors.is_empty() {
                return Err(RoutingError::NoConnector(route.name.clone()));
            }
            route
                .connectors
                .iter()
                .map(|name| {
                    connectors
                        .get(name)
                        .cloned()
                        .ok_or_else(|| RoutingError::UnknownConnector {
                            route: route.name.clone(),
                            connector: name.clone(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Chain::from)
        };
        let resolved = routes
            .into_iter()
            .map(|r| resolve(&r).map(|chain| (r, chain)))
            .collect::<Result<Vec<_>, _>>()?;
        let sandbox = connectors
            .get(sandbox)
            .cloned()
            .map(|c| Chain::from(vec![c]))
            .ok_or_else(|| RoutingError::NoSandbox(sandbox.to_string()))?;
        Ok(Router {
            routes: resolved,
            sandbox,
        })
    }

    /// The connectors for a message, in failover order; empty when no route matches.
    pub fn chain(&self, message: &OutboundMessage) -> Option<&Chain> {
        if message.sandbox {
            return Some(&self.sandbox);
        }
        let digits = message.number.digits().to_string();
        self.routes
            .iter()
            .find(|(route, _)| route.matches(message, &digits))
            .map(|(_, chain)| chain)
    }
}
