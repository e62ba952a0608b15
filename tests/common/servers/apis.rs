//! Local stand-ins for cloud drive APIs that check each request against
//! the documented API.

use std::process::Command;

use super::{Server, free_port, python, scripts_dir};

/// The local Dropbox API stand-in (`scripts/dropbox-api.py`), which checks
/// each request against the documented API.
pub struct DropboxApi {
    /// The server.
    pub server: Server,
    dir: tempfile::TempDir,
}

/// App key, app secret and refresh token the stand-in accepts.
pub const DROPBOX_APP: (&str, &str, &str) = ("app-key-1", "app-secret-2", "refresh-token-3");

impl DropboxApi {
    /// Start it.
    pub fn start() -> DropboxApi {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = Command::new(python());
        command
            .arg(scripts_dir().join("dropbox-api.py"))
            .arg(port.to_string())
            .arg(dir.path().join("files"))
            .arg(dir.path().join("requests.jsonl"))
            .args([DROPBOX_APP.0, DROPBOX_APP.1, DROPBOX_APP.2]);
        DropboxApi {
            server: Server::start("Dropbox API stand-in", command, port),
            dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// A stored file (Dropbox path `/a/b` is `files/a/b`).
    pub fn file(&self, path: &str) -> std::path::PathBuf {
        self.dir
            .path()
            .join("files")
            .join(path.trim_start_matches('/'))
    }

    /// Every request: (endpoint, status, reason).
    pub fn requests(&self) -> Vec<(String, u16, String)> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                (
                    v["endpoint"].as_str().unwrap().to_string(),
                    v["status"].as_u64().unwrap() as u16,
                    v["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

/// The local Google Drive API stand-in (`scripts/gdrive-api.py`), which
/// checks each request against the documented API. Its folder is `folder-1`.
pub struct GdriveApi {
    /// The server.
    pub server: Server,
    dir: tempfile::TempDir,
}

/// Client id, client secret and refresh token the stand-in accepts.
pub const GDRIVE_APP: (&str, &str, &str) = ("client-1.apps", "client-secret-2", "1//refresh-3");

impl GdriveApi {
    /// Start it.
    pub fn start() -> GdriveApi {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = Command::new(python());
        command
            .arg(scripts_dir().join("gdrive-api.py"))
            .arg(port.to_string())
            .arg(dir.path().join("files"))
            .arg(dir.path().join("requests.jsonl"))
            .args([GDRIVE_APP.0, GDRIVE_APP.1, GDRIVE_APP.2]);
        GdriveApi {
            server: Server::start("Google Drive API stand-in", command, port),
            dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// Every stored file: (metadata, content).
    pub fn files(&self) -> Vec<(serde_json::Value, Vec<u8>)> {
        let dir = self.dir.path().join("files");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json") {
                let meta: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
                out.push((meta, std::fs::read(dir.join(id)).unwrap()));
            }
        }
        out
    }

    /// Every request: (method, endpoint, status, reason).
    pub fn requests(&self) -> Vec<(String, String, u16, String)> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                (
                    v["method"].as_str().unwrap().to_string(),
                    v["endpoint"].as_str().unwrap().to_string(),
                    v["status"].as_u64().unwrap() as u16,
                    v["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}
