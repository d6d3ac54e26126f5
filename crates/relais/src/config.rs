//! Configuration: a TOML file, then `RELAIS_…` environment variables, then
//! command-line flags, each overriding the one before. Nested keys use a double
//! underscore in the environment (`RELAIS_API__BODY_LIMIT`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use relais_connectors::simulator::SimulatorConfig;
use relais_core::calendar::SendingWindowConfig;
use relais_core::number::Country;
use relais_core::optout::DEFAULT_STOP_KEYWORDS;
use relais_core::pricing::PriceEntry;
use relais_engine::engine::EngineConfig;
use relais_engine::routing::RouteConfig;
use relais_smpp::esme::EsmeConfig;
use relais_smpp::server::ServerConfig;
use serde::{Deserialize, Serialize};

use crate::connectors::{ConnectorSection, Settings, check_name};

/// The configuration file read when `--config` is not given, if it exists.
pub const DEFAULT_FILE: &str = "relais.toml";

/// Environment variables with this prefix belong to the test suite, not to the
/// server (e.g. `RELAIS_TEST_DATABASE_URL`), and are not configuration.
const TEST_ENV_PREFIX: &str = "RELAIS_TEST_";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address of the HTTP API.
    pub listen: String,
    /// A SQLite file path or `sqlite://` URL, or a `postgres://` URL (several nodes).
    pub database_url: String,
    /// Bearer token of `/admin`; without one the admin API refuses everything.
    pub admin_token: Option<String>,
    /// Bearer token `/metrics` asks for; without one `/metrics` is open
    /// (it shows every tenant's totals: set one, or keep the listener private).
    pub metrics_token: Option<String>,
    pub log: LogConfig,
    pub api: ApiSection,
    pub sending: SendingSection,
    pub sqlite: SqliteSection,
    pub postgres: PostgresSection,
    pub engine: EngineConfig,
    /// The built-in simulator (connector `simulator.name`).
    pub simulator: SimulatorConfig,
    /// The connectors beside the built-in simulator, one section each
    /// (`kind` = simulator, smpp or an HTTP provider; see [`crate::connectors`]).
    pub connectors: Vec<ConnectorSection>,
    /// The older form of `[[connectors]] kind = "smpp"`, still read (with a warning).
    pub smpp_connectors: Vec<EsmeConfig>,
    /// The SMPP server front door (clients bind with an account's SMPP login),
    /// TLS only with its `tls` section; absent: not served.
    pub smpp_server: Option<ServerConfig>,
    /// The older form of a connector's `rate`, by connector name, still
    /// read (with a warning) and checked against the connectors that exist.
    pub rates: BTreeMap<String, RateSection>,
    /// Routes, the first match of each channel wins; none: everything goes
    /// to the simulator.
    pub routes: Vec<RouteConfig>,
    /// Provider dialects served at the root of listeners of their own (they are
    /// always served under `/compat/{name}` on the main listener too).
    pub dialects: BTreeMap<String, DialectSection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialectSection {
    /// Address of the dialect's own listener, e.g. "127.0.0.1:8091".
    pub listen: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "relais.db".into(),
            admin_token: None,
            metrics_token: None,
            log: LogConfig::default(),
            api: ApiSection::default(),
            sending: SendingSection::default(),
            sqlite: SqliteSection::default(),
            postgres: PostgresSection::default(),
            engine: EngineConfig::default(),
            simulator: SimulatorConfig::default(),
            connectors: Vec::new(),
            smpp_connectors: Vec::new(),
            smpp_server: None,
            rates: BTreeMap::new(),
            routes: Vec::new(),
            dialects: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter: `info`, `relais_engine=debug,info`, …
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    pub body_limit: usize,
    /// Requests per second per API key, and the burst; absent: unlimited.
    pub rate_limit: Option<RateSection>,
    pub allow_private_callbacks: bool,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            body_limit: 16 * 1024 * 1024,
            rate_limit: None,
            allow_private_callbacks: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSection {
    pub per_second: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SendingSection {
    pub max_recipients: usize,
    pub max_segments: u16,
    /// How far in the past a send time may be and still mean "now".
    pub past_tolerance_secs: u64,
    pub idempotency_ttl_secs: u64,
    /// Replies that unsubscribe (case and accents ignored).
    pub stop_keywords: Vec<String>,
    /// The default price table; absent: relais' built-in one.
    pub prices: Option<Vec<PriceEntry>>,
    /// Quiet hours per country, replacing the built-in French rules for those countries.
    pub sending_windows: BTreeMap<Country, SendingWindowConfig>,
}

impl Default for SendingSection {
    fn default() -> Self {
        SendingSection {
            max_recipients: 1_000_000,
            max_segments: 10,
            past_tolerance_secs: 300,
            idempotency_ttl_secs: 24 * 3600,
            stop_keywords: DEFAULT_STOP_KEYWORDS
                .iter()
                .map(|k| k.to_string())
                .collect(),
            prices: None,
            sending_windows: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqliteSection {
    /// `normal` (durable across process crashes) or `full` (also across power loss).
    pub synchronous: String,
}

impl Default for SqliteSection {
    fn default() -> Self {
        SqliteSection {
            synchronous: "normal".into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresSection {
    /// Schema holding relais' tables (it must exist); default: the server's
    /// `search_path`. Lets several installations share one database.
    pub schema: Option<String>,
}

/// Flags that override the file and the environment.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Configuration file (default: ./relais.toml when it exists).
    #[arg(long, global = true)]
    pub config: Option<std::path::PathBuf>,
    /// SQLite file or URL.
    #[arg(long, global = true)]
    pub database: Option<String>,
}

/// Loads the configuration: file, environment, then the given flag overrides
/// (`(key, value)` pairs such as `("listen", "127.0.0.1:9000")`).
pub fn load(overrides: &Overrides, flags: &[(&str, String)]) -> Result<Config, String> {
    load_from(overrides, flags, std::env::vars().collect())
}

fn load_from(
    overrides: &Overrides,
    flags: &[(&str, String)],
    env: HashMap<String, String>,
) -> Result<Config, String> {
    let mut builder = config::Config::builder();
    match &overrides.config {
        Some(path) => {
            builder = builder.add_source(config::File::from(path.as_path()).required(true))
        }
        None if Path::new(DEFAULT_FILE).exists() => {
            builder = builder.add_source(config::File::with_name(DEFAULT_FILE))
        }
        None => {}
    }
    let env: HashMap<String, String> = env
        .into_iter()
        .filter(|(k, _)| !k.starts_with(TEST_ENV_PREFIX))
        .collect();
    builder = builder.add_source(
        config::Environment::with_prefix("RELAIS")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .source(Some(env)),
    );
    if let Some(database) = &overrides.database {
        builder = builder
            .set_override("database_url", database.as_str())
            .map_err(|e| e.to_string())?;
    }
    for (key, value) in flags {
        builder = builder
            .set_override(*key, value.as_str())
            .map_err(|e| e.to_string())?;
    }
    builder
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| format!("configuration: {e}"))
}

impl Config {
    /// Every connector but the built-in simulator (legacy `[[smpp_connectors]]`
    /// included), with the rate of each (legacy `[rates]` included), and the
    /// warnings for the older forms. Names must be unique, and `[rates]` may
    /// name only connectors that exist (a typo would mean "unlimited").
    pub fn connector_sections(&self) -> Result<(Vec<ConnectorSection>, Vec<String>), String> {
        let mut warnings = Vec::new();
        let mut sections = self.connectors.clone();
        if !self.smpp_connectors.is_empty() {
            warnings.push(
                "[[smpp_connectors]] is the older form of [[connectors]] with kind = \"smpp\""
                    .into(),
            );
        }
        for esme in &self.smpp_connectors {
            check_name(&esme.name)?;
            sections.push(ConnectorSection {
                name: esme.name.clone(),
                rate: None,
                settings: Settings::Smpp(esme.clone()),
            });
        }
        let mut names = vec![self.simulator.name.as_str()];
        for section in &sections {
            if names.contains(&section.name.as_str()) {
                return Err(format!("two connectors are named {:?}", section.name));
            }
            names.push(&section.name);
        }
        let mut rated = sections;
        // The built-in simulator's rate stays in [rates]; others have their own.
        if self.rates.keys().any(|name| name != &self.simulator.name) {
            warnings.push(
                "[rates] is the older form of a connector's rate = { per_second, burst }".into(),
            );
        }
        for (name, rate) in &self.rates {
            if name == &self.simulator.name {
                continue;
            }
            let section = rated
                .iter_mut()
                .find(|s| &s.name == name)
                .ok_or_else(|| format!("rates.{name}: no connector is named {name:?}"))?;
            if section.rate.is_some() {
                return Err(format!("rates.{name}: the connector has its own rate"));
            }
            section.rate = Some(*rate);
        }
        Ok((rated, warnings))
    }
}

/// The configuration as TOML with secrets replaced by `********`.
pub fn masked_toml(config: &Config) -> String {
    let mut shown = config.clone();
    if shown.metrics_token.is_some() {
        shown.metrics_token = Some("********".into());
    }
    if shown.admin_token.is_some() {
        shown.admin_token = Some("********".into());
    }
    shown.database_url = mask_url_password(&shown.database_url);
    toml::to_string_pretty(&shown).expect("configuration serialises to TOML")
}

/// `postgres://user:secret@host/db` → `postgres://user:********@host/db`.
pub fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:********@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flags_override_environment_which_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("relais.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1000\"\nadmin_token = \"file\"\n[api]\nbody_limit = 10\n",
        )
        .unwrap();
        let overrides = Overrides {
            config: Some(file),
            database: None,
        };

        let from_file = load_from(&overrides, &[], env(&[])).unwrap();
        assert_eq!(
            (from_file.listen.as_str(), from_file.api.body_limit),
            ("127.0.0.1:1000", 10)
        );

        let vars = env(&[
            ("RELAIS_LISTEN", "127.0.0.1:2000"),
            ("RELAIS_API__BODY_LIMIT", "20"),
            ("RELAIS_TEST_DATABASE_URL", "x"),
        ]);
        let from_env = load_from(&overrides, &[], vars.clone()).unwrap();
        assert_eq!(
            (from_env.listen.as_str(), from_env.api.body_limit),
            ("127.0.0.1:2000", 20)
        );
        assert_eq!(from_env.admin_token.as_deref(), Some("file"));

        let flags = [("listen", "127.0.0.1:3000".to_string())];
        let with_db = Overrides {
            database: Some("other.db".into()),
            ..overrides
        };
        let from_flags = load_from(&with_db, &flags, vars).unwrap();
        assert_eq!(from_flags.listen, "127.0.0.1:3000");
        assert_eq!(from_flags.database_url, "other.db");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("relais.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:1000\"\n").unwrap();
        let err = load_from(
            &Overrides {
                config: Some(file),
                database: None,
            },
            &[],
            env(&[]),
        )
        .unwrap_err();
        assert!(err.contains("lisen"), "{err}");
        let err = load_from(
            &Overrides::default(),
            &[],
            env(&[("RELAIS_BODY_LIMT", "1")]),
        )
        .unwrap_err();
        assert!(err.contains("body_limt"), "{err}");
    }

    /// The configuration of a file holding `toml`, without environment.
    fn from_toml(toml: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("relais.toml");
        std::fs::write(&file, toml).unwrap();
        let overrides = Overrides {
            config: Some(file),
            database: None,
        };
        load_from(&overrides, &[], env(&[]))
    }

    #[test]
    fn smpp_connectors_with_tls() {
        let config = from_toml(
            r#"
[[smpp_connectors]]
name = "carrier"
host = "10.0.0.7"
tls = { enabled = true, ca_file = "/etc/relais/carrier-ca.pem", server_name = "smsc.carrier.example" }

[[smpp_connectors]]
name = "plain"
"#,
        )
        .unwrap();
        let tls = &config.smpp_connectors[0].tls;
        assert!(tls.enabled && !tls.insecure_skip_verify);
        assert_eq!(
            tls.ca_file.as_deref(),
            Some(Path::new("/etc/relais/carrier-ca.pem"))
        );
        assert_eq!(tls.server_name.as_deref(), Some("smsc.carrier.example"));
        assert!(!config.smpp_connectors[1].tls.enabled);

        let err = from_toml(
            "[[smpp_connectors]]\nname = \"c\"\ntls = { enabled = true, verify = false }\n",
        )
        .unwrap_err();
        assert!(err.contains("verify"), "{err}");
    }

    #[test]
    fn connectors_old_and_new_forms_make_one_list_with_their_rates() {
        let config = from_toml(
            r#"
[[connectors]]
name = "sf"
kind = "smsfactor"
token = "t0ken"
rate = { per_second = 20, burst = 5 }

[[smpp_connectors]]
name = "carrier"
host = "10.0.0.1"

[rates]
carrier = { per_second = 50, burst = 10 }
simulator = { per_second = 1000, burst = 100 }
"#,
        )
        .unwrap();
        let (sections, warnings) = config.connector_sections().unwrap();
        let names: Vec<(&str, &str, Option<u32>)> = sections
            .iter()
            .map(|s| (s.name.as_str(), s.kind(), s.rate.map(|r| r.per_second)))
            .collect();
        assert_eq!(
            names,
            [("sf", "smsfactor", Some(20)), ("carrier", "smpp", Some(50))]
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("[[connectors]]"), "{warnings:?}");
        assert!(warnings[1].contains("rate = {"), "{warnings:?}");
        // The built-in simulator's rate alone is no older form.
        let simulator_only = from_toml(
            "[rates]
simulator = { per_second = 5, burst = 5 }
",
        )
        .unwrap();
        assert_eq!(
            simulator_only.connector_sections().unwrap().1,
            Vec::<String>::new()
        );

        let typo = from_toml(
            "[rates]
carier = { per_second = 5, burst = 5 }
",
        )
        .unwrap();
        let err = typo.connector_sections().unwrap_err();
        assert!(err.contains("carier"), "{err}");
        let twice = from_toml(
            "[[connectors]]
name = \"simulator\"
kind = \"simulator\"
",
        )
        .unwrap();
        assert!(
            twice
                .connector_sections()
                .unwrap_err()
                .contains("two connectors")
        );
        let both = from_toml(
            "[[connectors]]
name = \"c\"
kind = \"smpp\"
rate = { per_second = 1, burst = 1 }
[rates]
c = { per_second = 5, burst = 5 }
",
        )
        .unwrap();
        assert!(both.connector_sections().unwrap_err().contains("own rate"));
        let unknown = from_toml("[[connectors]]\nname = \"x\"\nkind = \"pigeon\"\n").unwrap_err();
        assert!(unknown.contains("pigeon"), "{unknown}");
    }

    #[test]
    fn smpp_server_with_tls() {
        let config = from_toml(
            r#"
[smpp_server]
listen = "0.0.0.0:3550"
tls = { cert_file = "/etc/relais/smpp.pem", key_file = "/etc/relais/smpp.key" }
"#,
        )
        .unwrap();
        let server = config.smpp_server.unwrap();
        assert_eq!(server.listen.port(), 3550);
        let tls = server.tls.unwrap();
        assert_eq!(tls.cert_file, Path::new("/etc/relais/smpp.pem"));
        assert_eq!(tls.key_file, Path::new("/etc/relais/smpp.key"));
        let plain = from_toml("[smpp_server]\nlisten = \"0.0.0.0:2775\"\n").unwrap();
        assert_eq!(plain.smpp_server.unwrap().tls, None);

        let err = from_toml(
            "[smpp_server]\ntls = { cert_file = \"a.pem\", key_file = \"a.key\", ca_file = \"ca.pem\" }\n",
        )
        .unwrap_err();
        assert!(err.contains("ca_file"), "{err}");
        let err = from_toml("[smpp_server]\ntls = { cert_file = \"a.pem\" }\n").unwrap_err();
        assert!(err.contains("key_file"), "{err}");
    }

    #[test]
    fn smpp_server_bind_guard_keys() {
        let config = from_toml(
            r#"
[smpp_server]
bind_failures_before_delay = 3
bind_failure_delay = "500ms"
bind_failures_before_lockout = 10
bind_lockout = "1h"
"#,
        )
        .unwrap();
        let server = config.smpp_server.unwrap();
        assert_eq!(
            (
                server.bind_failures_before_delay,
                server.bind_failure_delay,
                server.bind_failures_before_lockout,
                server.bind_lockout
            ),
            (
                3,
                std::time::Duration::from_millis(500),
                10,
                std::time::Duration::from_secs(3600)
            )
        );
        let defaults = from_toml(
            "[smpp_server]
",
        )
        .unwrap()
        .smpp_server
        .unwrap();
        assert_eq!(defaults.bind_lockout, std::time::Duration::from_secs(900));
        let err = from_toml(
            "[smpp_server]
bind_lockout = \"a while\"\n",
        )
        .unwrap_err();
        assert!(
            err.contains("bind_lockout") || err.contains("a while"),
            "{err}"
        );
    }

    #[test]
    fn secrets_are_masked() {
        let config = Config {
            admin_token: Some("s3cret".into()),
            metrics_token: Some("scrape-t0ken".into()),
            database_url: "postgres://relais:pw@db/relais".into(),
            smpp_connectors: vec![EsmeConfig {
                password: "smpp-pw".into(),
                ..EsmeConfig::default()
            }],
            ..Config::default()
        };
        let shown = masked_toml(&config);
        assert!(
            !shown.contains("s3cret")
                && !shown.contains("scrape-t0ken")
                && !shown.contains(":pw@")
                && !shown.contains("smpp-pw"),
            "{shown}"
        );
        assert!(
            shown.contains("postgres://relais:********@db/relais"),
            "{shown}"
        );
        // What is printed can be read back.
        let back: Config = toml::from_str(&shown).unwrap();
        assert_eq!(back.listen, config.listen);
        assert_eq!(back.metrics_token.as_deref(), Some("********"));
    }
}
