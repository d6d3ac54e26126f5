//! The STOP list, which is relais' blacklist: `GET /v1/stop-sms/list`,
//! `POST /v1/stop-sms/add` (`{apiKey, phoneNumber}` → `stopId`) and
//! `GET /v1/stop-sms/delete?apiKey&id`. Numbers are shown in E.164 (`+33…`),
//! `createdAt` as `Y-m-d H:i:s` in Europe/Paris.

use axum::extract::State;
use axum::response::Response;
use relais_core::number::{self, NumberPolicy};
use relais_store::{NumberList, Page};

use super::errors::Failure;
use super::input::{Input, success};
use crate::dialects::common::format::{Object, Value};
use crate::dialects::common::paris;
use crate::state::SharedState;

/// `{"success":true,"code":200,"nbData":N,"data":[{"id","phoneNumber","createdAt"}]}`.
pub async fn list(State(state): State<SharedState>, input: Input) -> Response {
    let result = async {
        let page = Page {
            offset: 0,
            limit: 0,
        };
        let entries = state
            .store
            .listed(input.caller.account.id, NumberList::Blacklist, page)
            .await?;
        let data: Vec<Object> = entries
            .iter()
            .map(|e| {
                Object::new()
                    .field("id", e.id)
                    .field("phoneNumber", e.number.to_string())
                    .field("createdAt", paris::format_datetime(e.added_at))
            })
            .collect();
        Ok(success()
            .field("nbData", data.len())
            .field("data", data)
            .into())
    };
    input.reply(result.await)
}

/// `{"success":true,"code":200,"stopId":12}`; a number already listed
/// answers its entry's id.
pub async fn add(State(state): State<SharedState>, input: Input) -> Response {
    let result = async {
        let raw = input
            .param("phoneNumber")
            .ok_or_else(|| Failure::new(2, "Le numéro de téléphone est requis"))?;
        let account = &input.caller.account;
        let number = number::normalize(
            raw,
            account.settings.default_region,
            NumberPolicy::default(),
        )
        .map_err(|e| {
            Failure::constraint(
                "phoneNumber",
                format!("Ce numéro de téléphone n'est pas valide ({raw}) : {e}"),
            )
        })?
        .e164;
        let now = relais_store::clock::now_ms();
        state
            .store
            .add_listed(
                account.id,
                NumberList::Blacklist,
                &[(number, Vec::new())],
                super::NAME,
                now,
            )
            .await?;
        let page = Page {
            offset: 0,
            limit: 0,
        };
        let id = state
            .store
            .listed(account.id, NumberList::Blacklist, page)
            .await?
            .into_iter()
            .find(|e| e.number == number)
            .map(|e| e.id)
            .ok_or_else(Failure::internal)?;
        Ok(success().field("stopId", id).into())
    };
    input.reply(result.await)
}

/// `{"success":true,"code":200,"message":"…"}`; 3 without `id`, 4 for an unknown one.
pub async fn delete(State(state): State<SharedState>, input: Input) -> Response {
    let result = async {
        let id: i64 = input
            .param("id")
            .ok_or_else(|| Failure::new(3, "L'identifiant est requis"))?
            .parse()
            .map_err(|_| Failure::not_found())?;
        let removed = state
            .store
            .remove_listed_by_id(input.caller.account.id, NumberList::Blacklist, id)
            .await?;
        if removed {
            Ok(Value::from(success().field(
                "message",
                "Le numéro a été retiré de la liste STOP",
            )))
        } else {
            Err(Failure::not_found())
        }
    };
    input.reply(result.await)
}
