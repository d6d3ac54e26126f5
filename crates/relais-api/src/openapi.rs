//! The OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! attributes as routes are registered, served at `/openapi.json` with Swagger
//! UI (its files compiled in) at `/docs`. When it is served, the errors of the
//! shared extractors and the rules utoipa cannot state are written in, so
//! that it describes every answer (`crates/relais/tests/schemathesis.rs`
//! checks that it does).

use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ErrorBody;
use crate::state::SharedState;
use crate::{admin, connectors, ops, simulator, v1};

/// Security scheme of `/v1`: an API key as a bearer token.
pub const API_KEY: &str = "api_key";
/// Security scheme of `/admin`: the administration token as a bearer token.
pub const ADMIN_TOKEN: &str = "admin_token";
/// Security scheme of `/metrics` when `metrics_token` is configured.
pub const METRICS_TOKEN: &str = "metrics_token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "relais",
        description = "Native HTTP API of the relais SMS gateway. Money is always a decimal string \
                       (\"0.045\"), times are RFC 3339, errors are {\"error\": {\"code\", \"message\", \"field\"}}."
    ),
    modifiers(&SecuritySchemes),
    components(schemas(ErrorBody)),
    tags(
        (name = "messages", description = "Sending and quoting"),
        (name = "campaigns", description = "Campaigns and their messages"),
        (name = "account", description = "Balance and webhooks"),
        (name = "lists", description = "Blacklist and NPAI list"),
        (name = "inbound", description = "Replies received"),
        (name = "admin", description = "Accounts, credits and keys (administration token)"),
        (name = "ops", description = "Health, readiness and metrics")
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in [API_KEY, ADMIN_TOKEN, METRICS_TOKEN] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// Every documented route, with the document built from them.
pub fn api_router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(v1::router())
        .merge(admin::router())
        .merge(simulator::router())
        .merge(connectors::router())
        .merge(ops::router())
}

/// `/openapi.json` and Swagger UI at `/docs`.
pub fn docs(mut doc: OpenApiDoc) -> SwaggerUi {
    document_shared_errors(&mut doc);
    let mut json = serde_json::to_value(&doc).expect("the OpenAPI document serialises");
    document_refusals(&mut json);
    SwaggerUi::new("/docs").external_url_unchecked("/openapi.json", json)
}

/// Rules of the handlers that utoipa's types cannot state (they have no
/// `not`), as (schema, what it must not match):
/// - fields of which at most one may be given (422 `conflicting_fields`): not
///   both given as arrays (null is as absent);
/// - a credit of zero (422 `invalid_amount`).
fn refusals() -> [(&'static str, serde_json::Value); 3] {
    let both = |a: &str, b: &str| {
        serde_json::json!({
            "required": [a, b],
            "properties": {a: {"type": "array"}, b: {"type": "array"}}
        })
    };
    [
        ("SendBody", both("to", "recipients")),
        ("QuoteBody", both("countries", "to")),
        (
            "SignedAmount",
            serde_json::json!({"pattern": r"^[+-]?0*(\.0*)?$"}),
        ),
    ]
}

/// Writes [`refusals`] into the document's schemas.
fn document_refusals(doc: &mut serde_json::Value) {
    for (name, refused) in refusals() {
        let schema = doc["components"]["schemas"][name]
            .as_object_mut()
            .unwrap_or_else(|| panic!("no schema {name} in the document"));
        schema.insert("not".into(), refused);
    }
}

/// Adds the errors that shared extractors answer for every operation they
/// serve, to each such operation that does not document them itself, so that
/// they are written once here rather than on every handler:
/// - 401 (missing or wrong bearer token) where an operation names a security
///   scheme: the authentication extractors answer it;
/// - 400, 413 and 415 where an operation takes a body: [`JsonBody`] answers
///   them for a missing, unreadable or mistyped body, one over the size
///   limit, and a `Content-Type` other than JSON.
///
/// [`JsonBody`]: crate::extract::JsonBody
fn document_shared_errors(doc: &mut OpenApiDoc) {
    use utoipa::openapi::{ContentBuilder, Ref, Response, ResponseBuilder};
    let error = |description: &str| -> Response {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    let unauthorized = [("401", error("Missing or wrong bearer token"))];
    let body_errors = [
        (
            "400",
            error(
                "Missing or unreadable body: malformed JSON, a wrong type, an unknown or missing field",
            ),
        ),
        ("413", error("The body is over the size limit")),
        ("415", error("The body is not JSON")),
    ];
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let secured = operation.security.iter().flatten().any(|requirement| {
                serde_json::to_value(requirement)
                    .is_ok_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
            });
            let mut shared: Vec<&(&str, Response)> = Vec::new();
            if secured {
                shared.extend(&unauthorized);
            }
            if operation.request_body.is_some() {
                shared.extend(&body_errors);
            }
            for (status, response) in shared {
                operation
                    .responses
                    .responses
                    .entry((*status).into())
                    .or_insert_with(|| response.clone().into());
            }
        }
    }
}

/// Schemas of `relais-core` and `relais-store` types that appear in requests
/// and answers. Those crates know nothing of OpenAPI, so their wire form is
/// described here; the tests below keep the two in step.
pub mod schemas {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// Transactional messages go at once; marketing ones obey quiet hours and
    /// carry a STOP mention.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum MessageKind {
        Transactional,
        Marketing,
    }

    /// Requested encoding: `auto` picks GSM-7 when the text allows it.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum EncodingMode {
        Auto,
        Gsm7,
        Ucs2,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum Encoding {
        Gsm7,
        Ucs2,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum RouteClass {
        Premium,
        LowCost,
    }

    /// Where messages go out: the provider's `network`, or the customer's own
    /// connected `devices` (the gateway's routes configured for each).
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Channel {
        Network,
        Devices,
    }

    /// Which status changes are pushed to a callback: every one, or only the
    /// final one (one callback per message).
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum CallbackEvents {
        All,
        Final,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum MessageStatus {
        Scheduled,
        Queued,
        Submitting,
        Submitted,
        Delivered,
        Undelivered,
        Expired,
        Failed,
        Cancelled,
        Rejected,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum CampaignStatus {
        Scheduled,
        Sending,
        Done,
        Cancelled,
    }

    /// A phone number in any usual format (described in the schema).
    // By hand: the derive takes no `min_length` on a newtype.
    pub struct PhoneNumber;

    impl utoipa::PartialSchema for PhoneNumber {
        fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
            use utoipa::openapi::schema::{ObjectBuilder, Type};
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .pattern(Some(r"^ *\+?[0-9 .()-]*[0-9][0-9 .()-]*$"))
                .description(Some(
                    "A phone number in any usual format (\"+33612345678\", \"06 12 34 56 78\"; \
                     national numbers read in the account's default region): digits, spaces, `.`, `-`, \
                     `(`, `)` and a leading `+`.",
                ))
                .examples(["+33612345678"])
                .into()
        }
    }

    impl ToSchema for PhoneNumber {}

    /// An account's settings document: the fields of the store's
    /// `AccountSettings` and no others (`PUT /admin/accounts/{id}/settings`,
    /// a merge patch of them, refuses unknown ones). Each field's shape is
    /// left open here.
    pub struct AccountSettings;

    impl utoipa::PartialSchema for AccountSettings {
        fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
            use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
            let defaults = serde_json::to_value(relais_store::AccountSettings::default())
                .expect("the default settings serialise");
            let fields = defaults.as_object().expect("settings are an object").keys();
            fields
                .fold(ObjectBuilder::new(), |object, field| {
                    object.property(
                        field,
                        ObjectBuilder::new().schema_type(SchemaType::AnyValue),
                    )
                })
                .schema_type(Type::Object)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .description(Some(
                    "An account's settings: these fields and no others (unknown ones are refused).",
                ))
                .into()
        }
    }

    impl ToSchema for AccountSettings {}

    /// An ISO 3166-1 alpha-2 country code, in any case.
    #[derive(ToSchema)]
    #[schema(value_type = String, pattern = "^[A-Za-z]{2}$", example = "FR")]
    pub struct CountryCode(pub String);

    /// Credits, a decimal string: not negative, at most 12 digits before
    /// the point (more can be out of range) and 6 after.
    #[derive(ToSchema)]
    #[schema(value_type = String, pattern = r"^\+?([0-9]{1,12}(\.[0-9]{0,6})?|\.[0-9]{1,6})$", example = "100")]
    pub struct Credits(pub String);

    /// An amount of credits, a decimal string like `Credits` but signed,
    /// negative to take credits back, and not zero.
    #[derive(ToSchema)]
    #[schema(value_type = String, pattern = r"^[+-]?([0-9]{1,12}(\.[0-9]{0,6})?|\.[0-9]{1,6})$", example = "50")]
    pub struct SignedAmount(pub String);

    /// `total` recipients before filtering, `sent` after, one counter per
    /// reason a recipient was left out.
    #[derive(Serialize, ToSchema)]
    pub struct Counters {
        pub total: u64,
        pub sent: u64,
        pub blacklisted: u64,
        pub duplicated: u64,
        pub npai: u64,
        pub invalid: u64,
        pub not_allowed: u64,
        pub flood: u64,
        pub country_limit: u64,
    }

    #[cfg(test)]
    mod tests {
        use relais_core::encoding::{Encoding, EncodingMode};
        use relais_core::plan::{Channel, Counters, MessageKind};
        use relais_core::pricing::RouteClass;
        use relais_store::{CampaignStatus, MessageStatus};
        use serde::Serialize;

        use super as doc;

        fn wire<T: Serialize>(values: impl IntoIterator<Item = T>) -> Vec<String> {
            values
                .into_iter()
                .map(|v| serde_json::to_string(&v).unwrap())
                .collect()
        }

        #[test]
        fn enums_match_the_wire_form_of_the_real_types() {
            assert_eq!(
                wire([MessageKind::Transactional, MessageKind::Marketing]),
                wire([doc::MessageKind::Transactional, doc::MessageKind::Marketing])
            );
            assert_eq!(
                wire([EncodingMode::Auto, EncodingMode::Gsm7, EncodingMode::Ucs2]),
                wire([
                    doc::EncodingMode::Auto,
                    doc::EncodingMode::Gsm7,
                    doc::EncodingMode::Ucs2
                ])
            );
            assert_eq!(
                wire([Encoding::Gsm7, Encoding::Ucs2]),
                wire([doc::Encoding::Gsm7, doc::Encoding::Ucs2])
            );
            assert_eq!(
                wire(RouteClass::ALL),
                wire([doc::RouteClass::Premium, doc::RouteClass::LowCost])
            );
            assert_eq!(
                wire([Channel::Network, Channel::Devices]),
                wire([doc::Channel::Network, doc::Channel::Devices])
            );
            let statuses = [
                doc::MessageStatus::Scheduled,
                doc::MessageStatus::Queued,
                doc::MessageStatus::Submitting,
                doc::MessageStatus::Submitted,
                doc::MessageStatus::Delivered,
                doc::MessageStatus::Undelivered,
                doc::MessageStatus::Expired,
                doc::MessageStatus::Failed,
                doc::MessageStatus::Cancelled,
                doc::MessageStatus::Rejected,
            ];
            assert_eq!(wire(MessageStatus::ALL), wire(statuses));
            assert_eq!(
                wire([
                    CampaignStatus::Scheduled,
                    CampaignStatus::Sending,
                    CampaignStatus::Done,
                    CampaignStatus::Cancelled
                ]),
                wire([
                    doc::CampaignStatus::Scheduled,
                    doc::CampaignStatus::Sending,
                    doc::CampaignStatus::Done,
                    doc::CampaignStatus::Cancelled,
                ])
            );
        }

        #[test]
        fn counters_have_the_documented_fields() {
            let real = Counters {
                total: 1,
                sent: 2,
                blacklisted: 3,
                duplicated: 4,
                npai: 5,
                invalid: 6,
                not_allowed: 7,
                flood: 8,
                country_limit: 9,
            };
            let documented = doc::Counters {
                total: 1,
                sent: 2,
                blacklisted: 3,
                duplicated: 4,
                npai: 5,
                invalid: 6,
                not_allowed: 7,
                flood: 8,
                country_limit: 9,
            };
            assert_eq!(
                serde_json::to_value(documented).unwrap(),
                serde_json::to_value(real).unwrap()
            );
        }
    }
}
