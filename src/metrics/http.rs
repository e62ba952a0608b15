//! The listener for `/metrics`, `/healthz` and `/readyz` (hyper, HTTP/1.1).
//!
//! It is bound before the scheduler starts, so an address that is taken
//! fails the start with a message naming the flag or key, and it serves on
//! its own tasks: a slow scrape never holds the scheduler up.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_util::sync::CancellationToken;

use super::Source;

/// How long `/readyz` waits for the store.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why the listener could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {address}: {cause}")]
pub struct BindError {
    /// The address asked for.
    pub address: SocketAddr,
    /// What the OS said.
    pub cause: std::io::Error,
}

/// The bound listener, not yet serving.
pub struct Listener {
    listener: std::net::TcpListener,
}

impl Listener {
    /// Bind `address` now, so a taken port is reported before anything starts.
    pub fn bind(address: SocketAddr) -> Result<Listener, BindError> {
        let fail = |cause| BindError { address, cause };
        let listener = std::net::TcpListener::bind(address).map_err(fail)?;
        listener.set_nonblocking(true).map_err(fail)?;
        Ok(Listener { listener })
    }

    /// Where it listens (the port the OS chose for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until `stop` is cancelled; metrics are turned on for the process.
    pub fn serve(
        self,
        source: Source,
        stop: CancellationToken,
    ) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        super::enable();
        let source = Arc::new(source);
        Ok(tokio::spawn(accept(listener, source, stop)))
    }
}

async fn accept(listener: tokio::net::TcpListener, source: Arc<Source>, stop: CancellationToken) {
    loop {
        let stream = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: say so, and
                    // give the process a moment rather than spinning.
                    tracing::warn!("metrics listener: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let source = source.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let source = source.clone();
                async move { Ok::<_, Infallible>(respond(&source, request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stop.cancelled() => connection.as_mut().graceful_shutdown(),
            }
        });
    }
}

async fn respond(source: &Source, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n".into());
    }
    match request.uri().path() {
        "/metrics" => metrics(source, &request).await,
        "/healthz" => healthz(),
        "/readyz" => readyz(source).await,
        _ => text(
            StatusCode::NOT_FOUND,
            "cronport serves /metrics, /healthz and /readyz\n".into(),
        ),
    }
}

async fn metrics(source: &Source, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let Some(metrics) = super::get() else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "metrics are off\n".into());
    };
    if let Err(e) = source.refresh(&metrics.state, chrono::Utc::now()).await {
        // Counters are still worth having; the store's figures are stale
        // and the log says why.
        tracing::warn!("metrics: reading the store failed: {e}");
    }
    let openmetrics = match metrics.encode() {
        Ok(text) => text,
        Err(e) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("encoding the metrics failed: {e}\n"),
            );
        }
    };
    let wants_openmetrics = request
        .headers()
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let (body, kind) = if wants_openmetrics {
        (openmetrics, OPENMETRICS)
    } else {
        (super::text::prometheus_text(&openmetrics), PROMETHEUS_TEXT)
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    response
}

fn healthz() -> Response<Full<Bytes>> {
    match crate::health::loop_age() {
        Some(age) if age <= crate::health::HEALTHY_WITHIN => text(
            StatusCode::OK,
            format!("ok: the scheduler loop turned {} ms ago\n", age.as_millis()),
        ),
        Some(age) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "unhealthy: the scheduler loop last turned {} s ago (more than {} s)\n",
                age.as_secs(),
                crate::health::HEALTHY_WITHIN.as_secs()
            ),
        ),
        None => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "unhealthy: no scheduler runs in this process\n".into(),
        ),
    }
}

async fn readyz(source: &Source) -> Response<Full<Bytes>> {
    match tokio::time::timeout(READY_TIMEOUT, source.store().schema_state()).await {
        Ok(Ok(schema)) if schema.current() => text(
            StatusCode::OK,
            format!(
                "ready: the store answers, schema version {}\n",
                schema.applied
            ),
        ),
        Ok(Ok(schema)) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: the store has schema version {}, this build needs {}\n",
                schema.applied, schema.embedded
            ),
        ),
        Ok(Err(e)) => text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")),
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: the store did not answer within {} s\n",
                READY_TIMEOUT.as_secs()
            ),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
