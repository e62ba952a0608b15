//! The `http` source: GET a URL returning a JSON array of objects or CSV,
//! with a timeout and headers whose values come from the environment.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;
use tokio_util::io::SyncIoBridge;
use tokio_util::task::AbortOnDropHandle;

use super::file::BufferedRows;
use super::parse::{self, Buffered};
use super::{RowStream, Source, SourceError};
use crate::config::duration::HumanDuration;
use crate::export::RunContext;
use crate::export::value::{Column, Row};

/// Default limit for the whole request.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// `source = { kind = "http", url = "https://...", headers_env = { Authorization = "API_TOKEN" } }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// The URL to GET.
    pub url: String,
    /// Limit for the whole request, body included (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    /// Headers with values written here (nothing secret).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Headers whose values are read from environment variables at run time.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers_env: BTreeMap<String, String>,
    /// `json` or `csv` (default: from the response's content type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<BodyFormat>,
}

/// How the body is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// A JSON array of objects.
    Json,
    /// CSV with a header row, streamed.
    Csv,
}

/// The `http` source of one job.
pub struct HttpSource {
    spec: HttpSpec,
}

impl HttpSource {
    /// A source fetching `spec`.
    pub fn new(spec: HttpSpec) -> Self {
        HttpSource { spec }
    }

    fn error(&self, message: String) -> SourceError {
        SourceError::Http {
            url: self.spec.url.clone(),
            message,
        }
    }
}

impl HttpSource {
    /// A request to the URL with the job's headers, limited to `timeout`.
    fn request(
        &self,
        method: reqwest::Method,
        timeout: Duration,
    ) -> Result<reqwest::RequestBuilder, SourceError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("cronport/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| self.error(e.to_string()))?;
        let mut request = client.request(method, &self.spec.url);
        for (name, value) in &self.spec.headers {
            request = request.header(name, value);
        }
        for (name, var) in &self.spec.headers_env {
            let value = std::env::var(var).map_err(|_| {
                self.error(format!(
                    "header {name}: environment variable {var} is not set"
                ))
            })?;
            request = request.header(name, value);
        }
        Ok(request)
    }

    /// For `cronport check`: the server answers within `limit` (or the
    /// job's own timeout, if shorter). Any answer but a 5xx counts: a 401
    /// or 404 may be what a HEAD gets where the GET works, while a refused
    /// connection or a failing server will fail the run. The body is not
    /// read; a server that refuses HEAD (405, 501) is asked with GET.
    pub async fn check(&self, limit: Duration) -> Result<String, SourceError> {
        let timeout = self.spec.timeout.map_or(limit, |t| t.0.min(limit));
        let mut method = reqwest::Method::HEAD;
        loop {
            let response = self
                .request(method.clone(), timeout)?
                .send()
                .await
                .map_err(|e| self.error(describe(&e, timeout)))?;
            let status = response.status();
            let refused_head = status == reqwest::StatusCode::METHOD_NOT_ALLOWED
                || status == reqwest::StatusCode::NOT_IMPLEMENTED;
            if method == reqwest::Method::HEAD && refused_head {
                method = reqwest::Method::GET;
                continue;
            }
            if status.is_server_error() {
                return Err(self.error(format!("answered {status} to {method}")));
            }
            return Ok(format!(
                "{} answers (HTTP {} to {method})",
                self.spec.url,
                status.as_u16()
            ));
        }
    }
}

#[async_trait]
impl Source for HttpSource {
    async fn open(&self, _ctx: &RunContext) -> Result<Box<dyn RowStream>, SourceError> {
        let timeout = self.spec.timeout.map_or(DEFAULT_TIMEOUT, |t| t.0);
        let response = self
            .request(reqwest::Method::GET, timeout)?
            .send()
            .await
            .map_err(|e| self.error(describe(&e, timeout)))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            let snippet: String = body.chars().take(200).collect();
            return Err(self.error(format!(
                "answered {status}{}",
                if snippet.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", snippet.trim())
                }
            )));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let format = self.spec.format.unwrap_or(
            if content_type.contains("csv") || self.spec.url.ends_with(".csv") {
                BodyFormat::Csv
            } else {
                BodyFormat::Json
            },
        );
        match format {
            BodyFormat::Json => {
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| self.error(describe(&e, timeout)))?;
                let (columns, rows) = parse::json_rows(&bytes, "the response")?;
                Ok(Box::new(BufferedRows(Buffered::new(columns, rows))))
            }
            BodyFormat::Csv => Ok(Box::new(
                HttpCsv::open(response, self.spec.url.clone(), timeout).await?,
            )),
        }
    }
}

fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("no complete answer within {}", HumanDuration(timeout))
    } else {
        // The source chain holds the useful part ("connection refused").
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            message.push_str(": ");
            message.push_str(&inner.to_string());
            source = inner.source();
        }
        message
    }
}

/// A CSV body streamed: the network task feeds a pipe that a blocking CSV
/// reader drains, with bounded buffers on both sides.
struct HttpCsv {
    columns: Vec<Column>,
    rx: parse::Receiver,
    body: AbortOnDropHandle<Result<(), SourceError>>,
    _reader: AbortOnDropHandle<()>,
}

impl HttpCsv {
    async fn open(
        mut response: reqwest::Response,
        url: String,
        timeout: Duration,
    ) -> Result<HttpCsv, SourceError> {
        let (mut writer, reader) = tokio::io::duplex(64 * 1024);
        let body = tokio::spawn(async move {
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        if writer.write_all(&chunk).await.is_err() {
                            return Ok(()); // the reader stopped: it reports why
                        }
                    }
                    Ok(None) => {
                        return writer.shutdown().await.map_err(|e| SourceError::Http {
                            url,
                            message: e.to_string(),
                        });
                    }
                    Err(e) => {
                        return Err(SourceError::Http {
                            url,
                            message: describe(&e, timeout),
                        });
                    }
                }
            }
        });
        let (tx, mut rx) = mpsc::channel(2);
        // The bridge takes the runtime's handle: made here, not on the thread.
        let reader = SyncIoBridge::new(reader);
        let reader = crate::export::thread::spawn("cronport-read", move || {
            parse::stream_csv(reader, "the response", &tx)
        });
        let columns = parse::first_columns(&mut rx).await?;
        Ok(HttpCsv {
            columns,
            rx,
            body: AbortOnDropHandle::new(body),
            _reader: AbortOnDropHandle::new(reader),
        })
    }
}

#[async_trait]
impl RowStream for HttpCsv {
    fn columns(&self) -> &[Column] {
        &self.columns
    }

    async fn next_batch(&mut self) -> Result<Option<Vec<Row>>, SourceError> {
        parse::next_rows(&mut self.rx).await
    }

    /// A body cut off mid-way is a failure even if what came parsed.
    async fn finish(mut self: Box<Self>) -> Result<(), SourceError> {
        match (&mut self.body).await {
            Ok(result) => result,
            Err(e) => Err(SourceError::Parse(e.to_string())),
        }
    }
}
