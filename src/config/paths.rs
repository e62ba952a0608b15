//! Where cronport keeps things by default (XDG base directories).

use std::path::PathBuf;

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(dir) if !dir.is_empty() && PathBuf::from(&dir).is_absolute() => PathBuf::from(dir),
        _ => home().join(fallback),
    }
}

/// `$XDG_DATA_HOME/cronport` (default `~/.local/share/cronport`).
pub fn data_dir() -> PathBuf {
    xdg("XDG_DATA_HOME", ".local/share").join("cronport")
}

/// `$XDG_CONFIG_HOME/cronport` (default `~/.config/cronport`).
pub fn config_dir() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config").join("cronport")
}

/// The embedded store used when nothing else is configured.
pub fn default_store_url() -> String {
    format!("sqlite://{}", data_dir().join("cronport.db").display())
}

/// `./config/cronport.toml` if it exists, else the XDG config file if it exists.
pub fn default_config_file() -> Option<PathBuf> {
    let local = PathBuf::from("config/cronport.toml");
    if local.is_file() {
        return Some(local);
    }
    let xdg = config_dir().join("cronport.toml");
    xdg.is_file().then_some(xdg)
}

/// `a/b/../c` -> `a/c`, without touching the filesystem (the folders may not
/// exist yet), so paths in logs and run records read cleanly.
pub fn normalize(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                let at_root = matches!(last, Some(Component::RootDir | Component::Prefix(_)));
                let can_pop = matches!(last, Some(Component::Normal(_)));
                if can_pop {
                    out.pop();
                } else if !at_root {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::path::Path;

    #[test]
    fn normalize_removes_dot_segments() {
        assert_eq!(
            normalize(Path::new("/work/main/config/../exports")),
            Path::new("/work/main/exports")
        );
        assert_eq!(normalize(Path::new("/a/./b/../../c")), Path::new("/c"));
        assert_eq!(normalize(Path::new("../x")), Path::new("../x"));
        assert_eq!(normalize(Path::new("/..")), Path::new("/"));
    }
}
