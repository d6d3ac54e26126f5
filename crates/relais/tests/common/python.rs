//! Real Python clients and tools (schemathesis) for end-to-end tests: a
//! virtual environment per pinned package under the cargo target directory
//! (`<target>/peers/<package>-<version>`), created and `pip install`ed on
//! first use and reused afterwards.
//!
//! Setting up fails the test loudly (it never skips): a peer test that cannot
//! get its client has not shown that the client works.

#![allow(dead_code)] // each test file uses its own part of the harness

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A virtual environment with one package installed.
pub struct Venv {
    pub dir: PathBuf,
}

impl Venv {
    /// The environment for `package==version`, made if missing. Concurrent
    /// tests wait for each other on a lock file.
    pub fn with(package: &str, version: &str) -> Venv {
        let peers = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("the target directory")
            .join("peers");
        std::fs::create_dir_all(&peers).expect("create <target>/peers");
        let dir = peers.join(format!("{package}-{version}"));
        let lock =
            File::create(peers.join(format!("{package}-{version}.lock"))).expect("lock file");
        lock.lock().expect("lock the environment");
        let marker = dir.join("installed");
        if !marker.exists() {
            let python = std::env::var("RELAIS_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
            run(
                Command::new(&python)
                    .args(["-m", "venv", "--clear"])
                    .arg(&dir),
                "create the virtual environment",
            );
            let pip = dir.join("bin").join("pip");
            run(
                Command::new(&pip)
                    .args(["install", "--disable-pip-version-check", "--quiet"])
                    .arg(format!("{package}=={version}")),
                &format!("pip install {package}=={version}"),
            );
            std::fs::write(&marker, format!("{package}=={version}\n")).expect("write the marker");
        }
        lock.unlock().expect("unlock the environment");
        Venv { dir }
    }

    pub fn python(&self) -> PathBuf {
        self.dir.join("bin").join("python")
    }

    /// Runs `tool`, a command the package installed in the environment, with
    /// `args` and the extra environment `envs`, in `dir`; panics with its
    /// output unless it succeeds.
    pub fn run_tool(&self, tool: &str, args: &[&str], envs: &[(&str, &str)], dir: &Path) -> Output {
        run(
            Command::new(self.dir.join("bin").join(tool))
                .args(args)
                .envs(envs.iter().copied())
                .current_dir(dir),
            &format!("{tool} {}", args.join(" ")),
        )
    }

    /// Runs `script` with `args`; panics with its output unless it succeeds.
    pub fn run_script(&self, script: &Path, args: &[&str]) -> Output {
        run(
            Command::new(self.python()).arg(script).args(args),
            &format!("python {}", script.display()),
        )
    }
}

/// Runs a command to completion; panics with its output if it fails.
fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
