//! Secrets by reference: the config names an environment variable or a file,
//! never the value. A [`Secret`] never prints its value.

use std::fmt;
use std::path::Path;

/// A secret value read at the moment it is needed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Read the secret named by `env` or `file` (at most one may be given).
    /// `Ok(None)` when neither is set.
    pub fn resolve(env: Option<&str>, file: Option<&Path>) -> Result<Option<Secret>, String> {
        match (env, file) {
            (Some(_), Some(_)) => Err("give either *_env or *_file, not both".to_string()),
            (Some(var), None) => std::env::var(var)
                .map(|v| Some(Secret(v)))
                .map_err(|_| format!("environment variable {var} is not set")),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(|v| Some(Secret(v.trim_end_matches(['\n', '\r']).to_string())))
                .map_err(|e| format!("cannot read secret file {}: {e}", path.display())),
            (None, None) => Ok(None),
        }
    }

    /// The value, for handing to a driver. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
