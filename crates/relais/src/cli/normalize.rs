//! `relais normalize`: phone numbers to E.164 with their country, or why not.

use std::process::ExitCode;

use relais_core::number::{self, Country, NumberPolicy};

#[derive(clap::Args)]
pub struct Args {
    /// Region for national formats (ISO 3166 alpha-2).
    #[arg(long, default_value = "FR")]
    region: Country,
    /// Refuse numbers that are not mobiles.
    #[arg(long)]
    mobile_only: bool,
    /// One JSON object per number, one per line.
    #[arg(long)]
    json: bool,
    #[arg(required = true)]
    numbers: Vec<String>,
}

/// Exits with failure when any number is invalid, so scripts can check.
pub fn run(args: Args) -> ExitCode {
    let policy = NumberPolicy {
        mobile_only: args.mobile_only,
    };
    let mut all_valid = true;
    for input in &args.numbers {
        let result = number::normalize(input, args.region, policy);
        all_valid &= result.is_ok();
        match (result, args.json) {
            (Ok(n), true) => println!(
                "{}",
                serde_json::json!({ "input": input, "valid": true, "e164": n.e164, "country": n.country, "kind": n.kind })
            ),
            (Ok(n), false) => println!(
                "{input}\t{}\t{}\t{}",
                n.e164,
                n.country,
                serde_json::to_value(n.kind)
                    .expect("kind")
                    .as_str()
                    .unwrap_or_default()
            ),
            (Err(e), true) => println!(
                "{}",
                serde_json::json!({ "input": input, "valid": false, "error": e.code(), "reason": e.to_string() })
            ),
            (Err(e), false) => println!("{input}\tinvalid\t{e}"),
        }
    }
    if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
