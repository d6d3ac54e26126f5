//! The connector registry: a `[[connectors]]` section read into its kind's
//! configuration, and the one place that builds each kind.
//!
//! A section is flat: `name`, `kind`, an optional `rate = { per_second,
//! burst }`, and the kind's own keys (for HTTP providers, the keys of
//! [`HttpOptions`] beside the provider's). Adding an HTTP provider is one
//! module in `relais_connectors::http` and one line in [`http_kinds!`].
//! SMPP carriers are `relais-smpp`'s ESME (the SMPP codec is shared with the
//! SMPP door, and relais-smpp depends on the engine), so the registry lives
//! here, in the binary that sees every kind.

use std::sync::Arc;

use relais_connectors::contract::Connector;
use relais_connectors::http::{self, HttpOptions};
use relais_connectors::simulator::{Simulator, SimulatorConfig};
use relais_connectors::sink::EventSink;
use relais_smpp::esme::{Esme, EsmeConfig};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::config::RateSection;

/// One `[[connectors]]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorSection {
    /// Unique; letters, digits, `-` and `_` (it stands in intake URLs).
    pub name: String,
    /// Segments per second through this connector; absent: as fast as it takes them.
    pub rate: Option<RateSection>,
    pub settings: Settings,
}

/// What a section configures, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Settings {
    Simulator(SimulatorConfig),
    Smpp(EsmeConfig),
    Http(HttpOptions, HttpSettings),
}

/// Declares the HTTP provider kinds, each once: `module => Variant`, where
/// `relais_connectors::http::module` has `KIND`, `Config` and `start`.
macro_rules! http_kinds {
    ($($module:ident => $variant:ident),* $(,)?) => {
        /// An HTTP provider's own keys, by kind (boxed: some kinds, as the
        /// generic one, have many).
        #[derive(Debug, Clone, PartialEq)]
        pub enum HttpSettings {
            $($variant(Box<http::$module::Config>)),*
        }

        impl HttpSettings {
            /// The kinds, as written in `kind = "…"`.
            pub const KINDS: &'static [&'static str] = &[$(http::$module::KIND),*];

            pub fn kind(&self) -> &'static str {
                match *self {
                    $(HttpSettings::$variant(_) => http::$module::KIND),*
                }
            }

            /// `None` when `kind` is no HTTP kind.
            fn read(kind: &str, keys: Map<String, Value>) -> Option<Result<HttpSettings, String>> {
                $(
                    if kind == http::$module::KIND {
                        return Some(
                            serde_json::from_value(Value::Object(keys))
                                .map(|config| HttpSettings::$variant(Box::new(config)))
                                .map_err(|e| e.to_string()),
                        );
                    }
                )*
                let _ = keys;
                None
            }

            fn keys(&self) -> Value {
                match *self {
                    $(HttpSettings::$variant(ref config) => {
                        serde_json::to_value(config).expect("a connector's keys serialise")
                    }),*
                }
            }

            fn start(
                self,
                name: &str,
                options: &HttpOptions,
                sink: Arc<dyn EventSink>,
            ) -> Result<Arc<dyn Connector>, String> {
                match self {
                    $(HttpSettings::$variant(config) => http::$module::start(name, options, *config, sink)),*
                }
            }
        }
    };
}

http_kinds! {
    smsfactor => SmsFactor,
    octopush => Octopush,
    smsadvert => SmsAdvert,
    smspartner => SmsPartner,
    twilio => Twilio,
    vonage => Vonage,
    generic => Generic,
}

/// Every kind a section may name.
pub fn kinds() -> Vec<&'static str> {
    let mut kinds = vec!["simulator", "smpp"];
    kinds.extend_from_slice(HttpSettings::KINDS);
    kinds
}

impl ConnectorSection {
    pub fn kind(&self) -> &'static str {
        match &self.settings {
            Settings::Simulator(_) => "simulator",
            Settings::Smpp(_) => "smpp",
            Settings::Http(_, provider) => provider.kind(),
        }
    }

    /// Reads a section from its keys; errors name the connector.
    pub fn from_keys(mut keys: Map<String, Value>) -> Result<ConnectorSection, String> {
        let name = match keys.remove("name") {
            Some(Value::String(name)) => name,
            _ => return Err("a [[connectors]] section needs a name".into()),
        };
        check_name(&name)?;
        let within = |e: String| format!("connector {name:?}: {e}");
        let kind = match keys.remove("kind") {
            Some(Value::String(kind)) => kind,
            _ => return Err(within(format!("needs a kind ({})", kinds().join(", ")))),
        };
        let rate = keys
            .remove("rate")
            .map(serde_json::from_value::<RateSection>)
            .transpose()
            .map_err(|e| within(format!("rate: {e}")))?;
        let settings = match kind.as_str() {
            "simulator" | "smpp" => {
                keys.insert("name".into(), Value::String(name.clone()));
                let keys = Value::Object(keys);
                if kind == "simulator" {
                    serde_json::from_value(keys).map(Settings::Simulator)
                } else {
                    serde_json::from_value(keys).map(Settings::Smpp)
                }
                .map_err(|e| within(e.to_string()))?
            }
            other => {
                let mut options = Map::new();
                for key in HttpOptions::KEYS {
                    if let Some(value) = keys.remove(key) {
                        options.insert(key.into(), value);
                    }
                }
                let options: HttpOptions = serde_json::from_value(Value::Object(options))
                    .map_err(|e| within(e.to_string()))?;
                let provider = HttpSettings::read(other, keys)
                    .ok_or_else(|| {
                        within(format!(
                            "unknown kind {other:?} (known: {})",
                            kinds().join(", ")
                        ))
                    })?
                    .map_err(within)?;
                Settings::Http(options, provider)
            }
        };
        Ok(ConnectorSection {
            name,
            rate,
            settings,
        })
    }

    /// The section's keys, flat as written; secrets masked.
    fn to_keys(&self) -> Map<String, Value> {
        let mut keys = Map::new();
        keys.insert("name".into(), Value::String(self.name.clone()));
        keys.insert("kind".into(), Value::String(self.kind().into()));
        if let Some(rate) = &self.rate {
            keys.insert(
                "rate".into(),
                serde_json::to_value(rate).expect("a rate serialises"),
            );
        }
        let own = match &self.settings {
            Settings::Simulator(config) => vec![serde_json::to_value(config)],
            Settings::Smpp(config) => vec![serde_json::to_value(config)],
            Settings::Http(options, provider) => {
                vec![serde_json::to_value(options), Ok(provider.keys())]
            }
        };
        for value in own {
            if let Value::Object(map) = value.expect("a connector's keys serialise") {
                for (key, value) in map {
                    if key != "name" && !value.is_null() {
                        keys.insert(key, without_nulls(value));
                    }
                }
            }
        }
        keys
    }

    /// Builds and starts the connector (its links, its background tasks).
    pub fn build(&self, sink: Arc<dyn EventSink>) -> Result<Arc<dyn Connector>, String> {
        let within = |e: String| format!("connector {:?}: {e}", self.name);
        match self.settings.clone() {
            Settings::Simulator(config) => {
                Simulator::validate(&config).map_err(within)?;
                Ok(Simulator::start(config, sink))
            }
            Settings::Smpp(config) => {
                Ok(Esme::start(config, sink).map_err(|e| within(e.to_string()))?)
            }
            Settings::Http(options, provider) => {
                provider.start(&self.name, &options, sink).map_err(within)
            }
        }
    }
}

/// TOML has no null: absent options are left out.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Connector names stand in routes, stored messages and intake URLs.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "connector name {name:?}: 1 to 64 letters, digits, '-' or '_'"
        ))
    }
}

impl<'de> Deserialize<'de> for ConnectorSection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let keys = Map::deserialize(deserializer)?;
        ConnectorSection::from_keys(keys).map_err(D::Error::custom)
    }
}

impl Serialize for ConnectorSection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_keys().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(toml_text: &str) -> Result<ConnectorSection, String> {
        toml::from_str::<ConnectorSection>(toml_text).map_err(|e| e.message().to_string())
    }

    #[test]
    fn a_section_reads_its_kind_and_rate() {
        let smpp = section(
            "name = \"carrier\"\nkind = \"smpp\"\nhost = \"10.0.0.1\"\npassword = \"pw\"\nrate = { per_second = 50, burst = 10 }\n",
        )
        .unwrap();
        assert_eq!(smpp.kind(), "smpp");
        assert_eq!(
            smpp.rate,
            Some(RateSection {
                per_second: 50,
                burst: 10
            })
        );
        let Settings::Smpp(config) = &smpp.settings else {
            panic!("an SMPP section: {smpp:?}");
        };
        assert_eq!(
            (
                config.name.as_str(),
                config.host.as_str(),
                config.password.expose()
            ),
            ("carrier", "10.0.0.1", "pw")
        );
        let sim =
            section("name = \"sim2\"\nkind = \"simulator\"\ndelivered_ratio = 0.5\n").unwrap();
        let Settings::Simulator(config) = &sim.settings else {
            panic!("a simulator section: {sim:?}");
        };
        assert_eq!(
            (config.name.as_str(), config.delivered_ratio),
            ("sim2", 0.5)
        );
    }

    #[test]
    fn bad_sections_are_refused_with_the_connector_named() {
        let unknown = section("name = \"x\"\nkind = \"carrier-pigeon\"\n").unwrap_err();
        assert!(
            unknown.contains("\"x\"") && unknown.contains("carrier-pigeon"),
            "{unknown}"
        );
        assert!(unknown.contains("smpp"), "lists the known kinds: {unknown}");
        let typo = section("name = \"c\"\nkind = \"smpp\"\nhots = \"h\"\n").unwrap_err();
        assert!(typo.contains("hots"), "{typo}");
        assert!(section("kind = \"smpp\"\n").unwrap_err().contains("name"));
        assert!(section("name = \"a/b\"\nkind = \"smpp\"\n").is_err());
        assert!(section("name = \"c\"\n").unwrap_err().contains("kind"));
        let rate =
            section("name = \"c\"\nkind = \"smpp\"\nrate = { per_second = 5 }\n").unwrap_err();
        assert!(rate.contains("burst"), "{rate}");
    }

    #[test]
    fn a_section_prints_flat_with_its_secrets_masked() {
        let smpp = section(
            "name = \"carrier\"\nkind = \"smpp\"\npassword = \"pw\"\nrate = { per_second = 50, burst = 10 }\n",
        )
        .unwrap();
        let printed = toml::to_string(&smpp).unwrap();
        assert!(printed.contains("kind = \"smpp\""), "{printed}");
        assert!(printed.contains("password = \"********\""), "{printed}");
        assert!(!printed.contains("\"pw\""), "{printed}");
        assert_eq!(printed.matches("name = ").count(), 1, "{printed}");
        assert_eq!(section(&printed.replace("********", "pw")).unwrap(), smpp);
    }
}
