//! Where a connector's peer reaches relais: each connector with HTTP routes
//! (delivery reports, replies, STOP pushed by its provider) is served under
//! `/connectors/{name}/{secret}` on the main listener. The secret in the path
//! is what makes an intake route unguessable on the public internet: set as
//! `intake_secret`, or derived from the connector's own credential, so it is
//! the same on every node and across restarts without another setting.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::contract::Intake;
use crate::secret::Secret;

/// The largest body an intake route reads: providers push one report, or a
/// small batch, per request.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A connector's intake prefix and, with the `public_url` its provider
/// reaches relais at, the full addresses of its routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeAddress {
    prefix: String,
    public_url: Option<String>,
}

impl IntakeAddress {
    /// `secret` must be URL-safe (a derived one is hex); names are checked by
    /// the configuration (letters, digits, `-`, `_`).
    pub fn new(name: &str, public_url: Option<&str>, secret: &Secret) -> IntakeAddress {
        IntakeAddress {
            prefix: format!("/connectors/{name}/{}", secret.expose()),
            public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
        }
    }

    /// The path prefix the routes are mounted under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full URL of `path` (relative to the prefix), when `public_url` is
    /// set; what a provider is given as callback, or an operator pastes in
    /// its console.
    pub fn url(&self, path: &str) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{base}{}{path}", self.prefix))
    }
}

/// The secret of a connector's intake path when none is configured: an HMAC
/// of its name keyed by its credential, hex, 32 characters.
pub fn derived_secret(name: &str, credential: &Secret) -> Secret {
    let mut mac = Hmac::<Sha256>::new_from_slice(credential.expose().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"relais intake ");
    mac.update(name.as_bytes());
    let digest = hex::encode(mac.finalize().into_bytes());
    Secret::new(&digest[..32])
}

/// Whether a configured intake secret can stand in a URL path as it is.
pub fn is_url_safe(secret: &Secret) -> bool {
    !secret.is_empty()
        && secret
            .expose()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Intake {
    /// Mounts the routes on `app` under their prefix, with the intake body
    /// limit (whatever `app`'s own is).
    pub fn mount<S: Clone + Send + Sync + 'static>(self, app: Router<S>) -> Router<S> {
        app.nest_service(
            self.address.prefix(),
            self.router.layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
    }

    /// Each route: its path under the listener's root, what it receives, and
    /// its full URL when the connector has a `public_url`.
    pub fn routes(&self) -> Vec<IntakeRoute> {
        self.paths
            .iter()
            .map(|p| IntakeRoute {
                path: format!("{}{}", self.address.prefix(), p.path),
                receives: p.receives,
                url: self.address.url(p.path),
            })
            .collect()
    }
}

/// One intake route of a connector, as `GET /admin/connectors` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntakeRoute {
    pub path: String,
    pub receives: &'static str,
    pub url: Option<String>,
}

/// A metrics or log label for a request path: an intake path's secret
/// replaced by `{secret}`, so that it never leaves the process.
pub fn redact_path(path: &str) -> std::borrow::Cow<'_, str> {
    let Some(rest) = path.strip_prefix("/connectors/") else {
        return path.into();
    };
    let mut segments = rest.splitn(3, '/');
    let name = segments.next().unwrap_or("");
    match (segments.next(), segments.next()) {
        (Some(_), Some(tail)) => format!("/connectors/{name}/{{secret}}/{tail}").into(),
        (Some(_), None) => format!("/connectors/{name}/{{secret}}").into(),
        _ => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_built_from_the_public_url() {
        let secret = derived_secret("sf", &Secret::new("token"));
        assert_eq!(secret.expose().len(), 32);
        assert!(is_url_safe(&secret));
        assert_ne!(secret, derived_secret("sf2", &Secret::new("token")));
        assert_ne!(secret, derived_secret("sf", &Secret::new("other")));
        let address = IntakeAddress::new("sf", Some("https://relais.example/"), &secret);
        assert_eq!(
            address.url("/dlr").unwrap(),
            format!(
                "https://relais.example/connectors/sf/{}/dlr",
                secret.expose()
            )
        );
        assert_eq!(IntakeAddress::new("sf", None, &secret).url("/dlr"), None);
        assert!(!is_url_safe(&Secret::new("a/b")));
        assert!(!is_url_safe(&Secret::new("")));
    }

    #[test]
    fn secrets_are_redacted_from_paths() {
        assert_eq!(
            redact_path("/connectors/sf/abc123/dlr"),
            "/connectors/sf/{secret}/dlr"
        );
        assert_eq!(
            redact_path("/connectors/sf/abc123"),
            "/connectors/sf/{secret}"
        );
        assert_eq!(redact_path("/v1/messages"), "/v1/messages");
    }
}
