//! A pipeline over a temporary folder with one `out` destination.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cronport::export::Pipeline;
use cronport::export::destination::{Destination, DestinationConfig};
use cronport::export::source::sql::{ConnectionConfig, Connections};

/// Connections by name and URL, with no passwords.
pub fn connections_of(connections: &[(&str, String)]) -> Connections {
    Connections::new(
        connections
            .iter()
            .map(|(name, url)| {
                (
                    name.to_string(),
                    ConnectionConfig {
                        url: url.clone(),
                        password_env: None,
                        password_file: None,
                    },
                )
            })
            .collect(),
    )
}

/// The folder and the pipeline writing into it.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub pipeline: Pipeline,
}

impl Setup {
    /// Connections by name and URL; exports go to `<dir>/out`.
    pub fn new(connections: &[(&str, String)]) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let connections = connections_of(connections);
        let mut destinations: HashMap<String, Arc<dyn Destination>> = HashMap::new();
        // Parsed as a config would be, so new optional keys don't break it.
        let config: DestinationConfig = toml::from_str(&format!(
            "kind = \"local\"\nroot = {:?}\npath = \"{{job}}/{{run_id}}.{{ext}}\"",
            dir.path().join("out").display().to_string()
        ))
        .unwrap();
        destinations.insert("out".into(), Arc::from(config.build()));
        let pipeline = Pipeline::new(
            Arc::new(connections),
            destinations,
            dir.path().join("spool"),
        );
        Setup { dir, pipeline }
    }

    /// Every file left under out/ and spool/.
    pub fn leftovers(&self) -> Vec<PathBuf> {
        let mut files = walk(&self.dir.path().join("out"));
        files.extend(walk(&self.dir.path().join("spool")));
        files
    }

    /// A path inside the temporary folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out
}
