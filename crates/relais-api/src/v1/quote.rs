//! `POST /v1/quote`: how a text will be encoded and split, and what one
//! message costs per destination country, from
//! [`Pipeline::quote`](relais_engine::send::Pipeline::quote).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use relais_core::encoding::{Encoding, EncodingMode};
use relais_core::money::Amount;
use relais_core::number::{self, Country, NumberPolicy};
use relais_core::plan::MessageKind;
use relais_core::pricing::RouteClass;
use relais_engine::send::{QuoteRequest, QuotedDestination};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::openapi::schemas;
use crate::state::SharedState;

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(quote))
}

/// A text to quote, for destination countries (`countries`, or the countries
/// of the numbers in `to`; the account's default region when neither is given).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    /// Not empty.
    #[schema(min_length = 1)]
    pub text: String,
    #[schema(value_type = Option<schemas::MessageKind>)]
    pub kind: Option<MessageKind>,
    #[schema(value_type = Option<schemas::EncodingMode>)]
    pub encoding: Option<EncodingMode>,
    pub smart_encoding: Option<bool>,
    #[schema(value_type = Option<schemas::RouteClass>)]
    pub route_class: Option<RouteClass>,
    /// ISO 3166-1 alpha-2 codes; not with `to`.
    #[schema(value_type = Option<Vec<schemas::CountryCode>>, example = json!(["FR", "BE"]))]
    pub countries: Option<Vec<Country>>,
    /// Not with `countries`.
    #[schema(value_type = Option<Vec<schemas::PhoneNumber>>)]
    pub to: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteAnswer {
    #[schema(value_type = schemas::Encoding)]
    pub encoding: Encoding,
    /// Characters (Unicode scalar values) of the text as sent.
    pub chars: usize,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    pub segments: u16,
    /// Characters that force UCS-2.
    pub ucs2_chars: Vec<String>,
    /// Characters smart encoding replaced.
    pub replacements: Vec<ReplacementBody>,
    /// The text as it will be sent (STOP mention, smart encoding applied).
    pub text: String,
    pub destinations: Vec<DestinationBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplacementBody {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DestinationBody {
    #[schema(example = "FR")]
    pub country: String,
    /// Price of one segment; null when the account cannot send there.
    #[schema(value_type = Option<String>, example = "0.045")]
    pub unit_price: Option<Amount>,
    /// Price of one message of this text; null when the account cannot send there.
    #[schema(value_type = Option<String>, example = "0.09")]
    pub cost: Option<Amount>,
}

impl From<QuotedDestination> for DestinationBody {
    fn from(d: QuotedDestination) -> Self {
        DestinationBody {
            country: d.country.as_str().to_owned(),
            unit_price: d.unit_price,
            cost: d.cost,
        }
    }
}

/// Encoding, segments and price of a text.
#[utoipa::path(
    post,
    path = "/v1/quote",
    tag = "messages",
    request_body = QuoteBody,
    responses(
        (status = 200, body = QuoteAnswer),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)
    ),
    security(("api_key" = []))
)]
pub async fn quote(
    State(state): State<SharedState>,
    caller: Caller,
    JsonBody(body): JsonBody<QuoteBody>,
) -> Result<Json<QuoteAnswer>, ApiError> {
    let account = &caller.account;
    let region = account.settings.default_region;
    let countries: Vec<Country> = match (body.countries, body.to) {
        (Some(_), Some(_)) => {
            return Err(ApiError::unprocessable(
                "conflicting_fields",
                "give either `countries` or `to`, not both",
            )
            .with_field("to"));
        }
        (Some(countries), None) => countries,
        (None, Some(numbers)) => {
            let mut countries = BTreeSet::new();
            for (i, n) in numbers.iter().enumerate() {
                let normalized =
                    number::normalize(n, region, NumberPolicy::default()).map_err(|e| {
                        ApiError::unprocessable("invalid_number", e.to_string())
                            .with_field(format!("to[{i}]"))
                    })?;
                countries.insert(normalized.country);
            }
            countries.into_iter().collect()
        }
        (None, None) => vec![region],
    };
    let request = QuoteRequest {
        text: body.text,
        kind: body.kind.unwrap_or_default(),
        encoding: body.encoding.unwrap_or_default(),
        smart_encoding: body.smart_encoding,
        route_class: body.route_class.unwrap_or_default(),
        countries,
    };
    let quote = state.pipeline.quote(account, &request)?;
    let analysis = quote.analysis;
    Ok(Json(QuoteAnswer {
        encoding: analysis.encoding,
        chars: analysis.chars,
        units: analysis.units,
        segments: analysis.segments,
        ucs2_chars: analysis.ucs2_chars.iter().map(char::to_string).collect(),
        replacements: analysis
            .replacements
            .into_iter()
            .map(|r| ReplacementBody {
                from: r.from.to_string(),
                to: r.to,
            })
            .collect(),
        text: analysis.text,
        destinations: quote.destinations.into_iter().map(Into::into).collect(),
    }))
}
