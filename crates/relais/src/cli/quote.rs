//! `relais quote`: how a text will be encoded and how many segments it takes.

use std::process::ExitCode;

use relais_core::encoding::{self, EncodingMode, TextAnalysis};

#[derive(clap::Args)]
pub struct Args {
    /// auto picks GSM-7 whenever every character fits.
    #[arg(long, value_enum, default_value = "auto")]
    encoding: Mode,
    /// Replace characters outside GSM-7 by their nearest GSM-7 equivalent.
    #[arg(long)]
    smart: bool,
    /// One JSON object on one line.
    #[arg(long)]
    json: bool,
    /// The text (quote it in the shell).
    text: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Mode {
    Auto,
    Gsm7,
    Ucs2,
}

pub fn run(args: Args) -> ExitCode {
    let mode = match args.encoding {
        Mode::Auto => EncodingMode::Auto,
        Mode::Gsm7 => EncodingMode::Gsm7,
        Mode::Ucs2 => EncodingMode::Ucs2,
    };
    match encoding::analyze(&args.text, mode, args.smart) {
        Ok(analysis) if args.json => {
            println!(
                "{}",
                serde_json::to_string(&analysis).expect("analysis serialises")
            );
            ExitCode::SUCCESS
        }
        Ok(analysis) => {
            print_human(&analysis, args.smart);
            ExitCode::SUCCESS
        }
        Err(e) if args.json => {
            println!(
                "{}",
                serde_json::json!({ "error": "not_gsm7", "message": e.to_string() })
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("relais quote: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_human(a: &TextAnalysis, smart: bool) {
    let (encoding, unit) = match a.encoding {
        encoding::Encoding::Gsm7 => ("GSM-7", "septets"),
        encoding::Encoding::Ucs2 => ("UCS-2", "UTF-16 units"),
    };
    println!("encoding:   {encoding}");
    println!("characters: {}", a.chars);
    println!("units:      {} {unit}", a.units);
    println!("segments:   {}", a.segments);
    if !a.ucs2_chars.is_empty() {
        let chars: Vec<String> = a.ucs2_chars.iter().map(|c| format!("{c:?}")).collect();
        println!("forced UCS-2: {}", chars.join(" "));
    }
    if smart {
        println!("text:       {}", a.text);
        for r in &a.replacements {
            println!("replaced:   {:?} -> {:?}", r.from, r.to);
        }
    }
}
