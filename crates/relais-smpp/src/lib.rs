//! relais-smpp: relais over SMPP.
//!
//! It owns the SMPP protocol and nothing else: the ESME connector that submits
//! messages to carrier SMSCs ([`esme`]), the SMPP server front door that lets
//! SMPP clients submit into relais ([`server`]), and an SMSC simulator to test
//! both against ([`smsc`]). It translates between PDUs and the engine's types;
//! it holds no business rule (planning, pricing and filtering are the
//! pipeline's) and stores nothing itself (the store does, through the engine).
//!
//! Shared pieces: [`pdu`] (framing, encoding, statuses, addresses, UDH/TLV
//! helpers, text by `data_coding`), [`receipt`] (the receipt text format and
//! its statuses), [`concat`](mod@concat) (reassembly of concatenated messages), and the
//! private `wire` (socket halves with batched writes and `TCP_NODELAY`) and
//! `tls` (rustls client and listener configurations from PEM files).
//! Everything runs on rusmpp's PDU types and tokio; connections are plain TCP
//! or TLS (the ESME connector, the simulator and the server alike).

pub mod concat;
pub mod esme;
pub mod pdu;
pub mod receipt;
pub mod server;
pub mod smsc;
mod tls;
mod wire;
