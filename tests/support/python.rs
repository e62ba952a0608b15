//! Where the Python packages the tests use are (moto, aiosmtpd, openpyxl).
#![allow(dead_code)]

use std::path::Path;

/// Python with the test packages: `CRONPORT_TEST_PYTHON`, else the
/// virtualenv `scripts/services.sh destinations` makes when the system
/// Python lacks them, else `python3`.
pub fn python() -> String {
    if let Ok(python) = std::env::var("CRONPORT_TEST_PYTHON") {
        return python;
    }
    if let Some(cache) = cache_dir() {
        let venv = cache.join("cronport/test-venv/bin/python");
        if venv.exists() {
            return venv.display().to_string();
        }
    }
    "python3".to_string()
}

/// `$XDG_CACHE_HOME`, else `~/.cache`: where `scripts/services.sh` puts
/// what it installs outside the system.
pub fn cache_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
}
