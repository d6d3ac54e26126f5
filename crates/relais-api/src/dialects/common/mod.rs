//! Parsing and rendering helpers shared by every dialect: one file per topic.
//!
//! - [`format`]: JSON or XML answers (negotiation, the ordered answer tree
//!   with exact numbers, rendering);
//! - [`xml`]: reading XML request bodies, refusing DTDs and entities;
//! - [`body`]: reading a request body and telling its content type;
//! - [`forms`]: query strings and form bodies with repeated keys;
//! - [`scalar`]: JSON strings and numbers read alike, as text;
//! - [`numbers`]: comma-separated number lists;
//! - [`paris`]: provider local time (Europe/Paris) to and from timestamps;
//! - [`credentials`]: a dialect's credentials checked as an API key;
//! - [`credits`]: money expressed as SMS credits;
//! - [`cancel`]: cancelling a campaign with the refusals providers report;
//! - [`failure`]: the error conversions every dialect's failure type shares.

pub mod body;
pub mod cancel;
pub mod credentials;
pub mod credits;
pub mod failure;
pub mod format;
pub mod forms;
pub mod numbers;
pub use relais_core::paris;
pub mod scalar;
pub mod xml;
