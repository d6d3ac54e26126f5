//! One module per subcommand.

pub mod account;
pub mod demo;
pub mod normalize;
pub mod quote;
pub mod serve;
pub mod smsc;
