//! The `relais` binary: command-line parsing and dispatch to the subcommands.
//! Each subcommand lives in its own module under `cli/`; configuration is in
//! `config`, and `wiring` builds the running gateway from it.

mod cli;

use relais::config;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "relais", version, about = "relais: a self-hosted SMS gateway")]
struct Cli {
    #[command(flatten)]
    overrides: config::Overrides,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve(cli::serve::Args),
    /// Print the effective configuration (file, environment, flags), secrets masked.
    Config,
    /// Create or upgrade the database schema (serve also does it at start).
    Migrate,
    /// Accounts and credits.
    #[command(subcommand)]
    Account(cli::account::AccountCommand),
    /// API keys.
    #[command(subcommand)]
    Key(cli::account::KeyCommand),
    /// Encoding, length and segments of a text.
    Quote(cli::quote::Args),
    /// Normalise phone numbers to E.164.
    Normalize(cli::normalize::Args),
    /// Run an SMSC simulator to point SMPP clients at.
    SmscSimulator(cli::smsc::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => cli::serve::run(args, &cli.overrides),
        Command::Config => match config::load(&cli.overrides, &[]) {
            Ok(config) => {
                print!("{}", config::masked_toml(&config));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("relais: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Migrate => cli::account::run_migrate(&cli.overrides),
        Command::Account(command) => cli::account::run_account(command, &cli.overrides),
        Command::Key(command) => cli::account::run_key(command, &cli.overrides),
        Command::Quote(args) => cli::quote::run(args),
        Command::Normalize(args) => cli::normalize::run(args),
        Command::SmscSimulator(args) => cli::smsc::run(args),
    }
}
