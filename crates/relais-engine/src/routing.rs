//! Routes: which connectors, in which order, carry a message — chosen by
//! channel (the provider's network or the customer's own devices),
//! destination country or number prefix, message kind and route class. For
//! each channel of the message's channel order, the first matching route of
//! that channel wins; their connectors are tried in order (failover), the
//! devices route's before the network one's. Sandbox accounts always go to
//! the simulator.

use std::collections::HashMap;
use std::sync::Arc;

use relais_core::number::Country;
use relais_core::plan::{Channel, MessageKind};
use relais_core::pricing::RouteClass;
use relais_store::OutboundMessage;
use serde::{Deserialize, Serialize};

use relais_connectors::contract::Connector;

/// A route as configured. Empty match lists match everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub name: String,
    /// The channel it carries: only messages whose channel order names it
    /// take this route.
    #[serde(default)]
    pub channel: Channel,
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

    /// The connectors for a message, in failover order: for each channel of
    /// its channel order, those of the first matching route of that channel,
    /// a connector already in the chain not repeated. `None` when no route
    /// matches any of its channels.
    pub fn chain(&self, message: &OutboundMessage) -> Option<Chain> {
        if message.sandbox {
            return Some(self.sandbox.clone());
        }
        let digits = message.number.digits().to_string();
        let chains: Vec<&Chain> = message
            .channels
            .channels()
            .iter()
            .filter_map(|&channel| {
                self.routes
                    .iter()
                    .find(|(route, _)| route.channel == channel && route.matches(message, &digits))
                    .map(|(_, chain)| chain)
            })
            .collect();
        match chains[..] {
            [] => None,
            [chain] => Some(chain.clone()),
            _ => {
                let mut connectors: Vec<Arc<dyn Connector>> = Vec::new();
                for connector in chains.into_iter().flat_map(|chain| chain.iter()) {
                    if !connectors.iter().any(|c| Arc::ptr_eq(c, connector)) {
                        connectors.push(connector.clone());
                    }
                }
                Some(connectors.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use relais_core::encoding::Encoding;
    use relais_core::plan::ChannelOrder;

    use super::*;
    use relais_connectors::contract::SubmitResult;

    struct Named(&'static str);

    #[async_trait::async_trait]
    impl Connector for Named {
        fn name(&self) -> &str {
            self.0
        }
        fn kind(&self) -> &'static str {
            "test"
        }
        async fn submit(&self, _: &[OutboundMessage]) -> Vec<SubmitResult> {
            unreachable!("routing never submits")
        }
    }

    fn route(name: &str, channel: Channel, countries: &[&str], connectors: &[&str]) -> RouteConfig {
        RouteConfig {
            name: name.into(),
            channel,
            countries: countries.iter().map(|c| c.parse().unwrap()).collect(),
            prefixes: Vec::new(),
            kinds: Vec::new(),
            classes: Vec::new(),
            connectors: connectors.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn router(routes: Vec<RouteConfig>) -> Router {
        let connectors = ["phones", "carrier", "backup", "simulator"]
            .into_iter()
            .map(|name| {
                (
                    name.to_string(),
                    Arc::new(Named(name)) as Arc<dyn Connector>,
                )
            })
            .collect();
        Router::new(routes, &connectors, "simulator").unwrap()
    }

    fn message((number, country): (&str, &str), channels: ChannelOrder) -> OutboundMessage {
        OutboundMessage {
            id: 1,
            account_id: 1,
            campaign_id: 1,
            sandbox: false,
            number: number.parse().unwrap(),
            country: country.parse().unwrap(),
            sender: None,
            text: "Hello".into(),
            encoding: Encoding::Gsm7,
            segments: 1,
            kind: MessageKind::Transactional,
            route_class: RouteClass::Premium,
            channels,
            expires_at: None,
            attempts: 0,
        }
    }

    fn names(chain: Option<Chain>) -> Option<Vec<String>> {
        chain.map(|chain| chain.iter().map(|c| c.name().to_string()).collect())
    }

    const FR: (&str, &str) = ("+33612345678", "FR");
    const DE: (&str, &str) = ("+4915123456789", "DE");

    #[test]
    fn each_channel_takes_its_first_matching_route_devices_before_the_network() {
        let router = router(vec![
            route("fr-phones", Channel::Devices, &["FR"], &["phones"]),
            route("fr", Channel::Network, &["FR"], &["carrier", "backup"]),
            route("rest", Channel::Network, &[], &["backup"]),
        ]);
        let chain = |number, order| names(router.chain(&message(number, order)));
        assert_eq!(
            chain(FR, ChannelOrder::Network),
            Some(vec!["carrier".into(), "backup".into()])
        );
        assert_eq!(
            chain(FR, ChannelOrder::Devices),
            Some(vec!["phones".into()])
        );
        assert_eq!(
            chain(FR, ChannelOrder::DevicesThenNetwork),
            Some(vec!["phones".into(), "carrier".into(), "backup".into()])
        );
        // No devices route for Germany: devices only has no route, the
        // failover goes straight to the network.
        assert_eq!(chain(DE, ChannelOrder::Devices), None);
        assert_eq!(
            chain(DE, ChannelOrder::DevicesThenNetwork),
            Some(vec!["backup".into()])
        );
    }

    #[test]
    fn routes_carry_the_network_by_default_and_a_connector_is_tried_once() {
        let config: RouteConfig =
            serde_json::from_str(r#"{"name": "all", "connectors": ["carrier"]}"#).unwrap();
        assert_eq!(config.channel, Channel::Network);
        let router = router(vec![
            route("phones", Channel::Devices, &[], &["phones", "carrier"]),
            config,
        ]);
        assert_eq!(
            names(router.chain(&message(FR, ChannelOrder::DevicesThenNetwork))),
            Some(vec!["phones".into(), "carrier".into()])
        );
        assert_eq!(
            names(router.chain(&message(FR, ChannelOrder::Network))),
            Some(vec!["carrier".into()])
        );
    }

    #[test]
    fn sandbox_accounts_go_to_the_simulator_whatever_their_channels() {
        let router = router(vec![route("fr", Channel::Network, &["FR"], &["carrier"])]);
        for order in ChannelOrder::ALL {
            let mut m = message(DE, order);
            m.sandbox = true;
            assert_eq!(names(router.chain(&m)), Some(vec!["simulator".into()]));
        }
    }
}
