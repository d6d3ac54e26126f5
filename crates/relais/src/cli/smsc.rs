//! `relais smsc-simulator`: an SMSC to point an SMPP client at (relais' own
//! ESME connector, or yours). It accepts binds, answers submits with ids and
//! sends delivery receipts; `--smsc-config` takes its full configuration in
//! TOML. With `--tls-cert` and `--tls-key` it serves TLS only.

use std::net::SocketAddr;
use std::process::ExitCode;

use relais_smpp::smsc::{self, SmscAccount, SmscConfig, SmscTls};

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:2775")]
    listen: SocketAddr,
    /// Accept only this system_id (with --password); default: anyone.
    #[arg(long, requires = "password")]
    system_id: Option<String>,
    #[arg(long, requires = "system_id")]
    password: Option<String>,
    /// Serve TLS with this certificate chain (PEM; with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// The simulator's TOML configuration (ratios, delays, throttling, error rules).
    #[arg(long = "smsc-config")]
    smsc_config: Option<std::path::PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let mut config = match &args.smsc_config {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| toml::from_str::<SmscConfig>(&t).map_err(|e| e.to_string()))
        {
            Ok(config) => config,
            Err(e) => {
                eprintln!("relais smsc-simulator: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => SmscConfig::default(),
    };
    config.listen = args.listen;
    if let (Some(system_id), Some(password)) = (args.system_id, args.password) {
        config.accounts = vec![SmscAccount {
            system_id,
            password,
        }];
    }
    if let (Some(cert_file), Some(key_file)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(SmscTls {
            cert_file,
            key_file,
        });
    }
    relais::logging::init(&relais::config::LogConfig::default());
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    println!(
        "SMSC simulator listening on {}{} (Ctrl-C to stop)",
        config.listen,
        if config.tls.is_some() {
            " over TLS"
        } else {
            ""
        }
    );
    match runtime.block_on(smsc::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relais smsc-simulator: {e}");
            ExitCode::FAILURE
        }
    }
}
