//! Multipart uploads: parts of 8 MiB, at most two in flight, aborted when
//! anything fails or the delivery is dropped, and never completed with fewer
//! bytes than were rendered.

use std::path::Path;

use ::object_store::path::Path as Key;
use ::object_store::{Attributes, PutMultipartOptions, WriteMultipart};
use tokio::io::AsyncReadExt as _;

use super::Opened;
use crate::export::destination::DestinationError;

/// Size of each part of a multipart upload (S3 wants at least 5 MiB).
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Aborts the upload if the delivery is dropped (the run cancelled) before
/// it completed or was aborted.
struct AbortOnDrop(Option<WriteMultipart>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(upload) = self.0.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

pub(super) async fn upload_in_parts(
    opened: &Opened,
    key: &Key,
    location: &str,
    file: &Path,
    expected: u64,
    attributes: Attributes,
) -> Result<(), DestinationError> {
    let options = PutMultipartOptions {
        attributes,
        ..PutMultipartOptions::default()
    };
    let upload = opened
        .store
        .put_multipart_opts(key, options)
        .await
        .map_err(|e| DestinationError::remote("start uploading", location, e))?;
    let mut guard = AbortOnDrop(Some(WriteMultipart::new_with_chunk_size(upload, PART_SIZE)));
    let result = send_parts(&mut guard, location, file, expected).await;
    let Some(writer) = guard.0.take() else {
        return Ok(());
    };
    match result {
        Ok(()) => match writer.finish().await {
            Ok(_) => Ok(()),
            Err(e) => Err(DestinationError::remote("finish uploading", location, e)),
        },
        Err(e) => {
            if let Err(abort) = writer.abort().await {
                tracing::warn!("could not abort the upload to {location}: {abort}");
            }
            Err(e)
        }
    }
}

async fn send_parts(
    guard: &mut AbortOnDrop,
    location: &str,
    file: &Path,
    expected: u64,
) -> Result<(), DestinationError> {
    let io = |source| DestinationError::Io {
        action: "read",
        path: file.display().to_string(),
        source,
    };
    let mut reader = tokio::fs::File::open(file).await.map_err(io)?;
    let mut buf = vec![0u8; 1024 * 1024];
    let mut sent = 0u64;
    loop {
        let n = reader.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            // A spool file that shrank must not become a short object.
            if sent != expected {
                return Err(io(std::io::Error::other(format!(
                    "the file ended after {sent} of {expected} bytes"
                ))));
            }
            return Ok(());
        }
        sent += n as u64;
        let Some(writer) = guard.0.as_mut() else {
            return Ok(());
        };
        // At most two parts in flight: memory stays near two part sizes.
        writer
            .wait_for_capacity(2)
            .await
            .map_err(|e| DestinationError::remote("upload", location, e))?;
        writer.write(&buf[..n]);
    }
}
