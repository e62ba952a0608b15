//! Threads of their own for the pipeline's long blocking work.
//!
//! A source's reader and the encoder wait on each other and on programs,
//! servers and disks for as long as an export takes. On tokio's blocking
//! pool they would need the pool uncapped (an encoder waiting for a reader
//! queued behind it never gets it), and an uncapped pool keeps as many
//! idle threads, with their stacks, as the busiest second ever needed: the
//! soak saw 300 of them and resident memory creeping up for ten minutes.
//! A thread per reader and encoder lives exactly as long as its export;
//! short file-system work has a pool of its own (`export::blocking`).

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use tokio::task::JoinHandle;

/// Run `work` on a new thread named `name`; the handle resolves to its
/// result, or to a panic as [`tokio::task::spawn_blocking`]'s would.
/// Dropping or aborting the handle does not stop the thread: like a
/// blocking task, `work` stops when the channels it feeds are closed.
pub fn spawn<T, F>(name: &str, work: F) -> JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    // The closure is handed over only when the thread starts, so that a
    // failed start (the OS's thread limit) can still run it on the pool.
    let handoff = std::sync::Arc::new(std::sync::Mutex::new(Some(work)));
    let theirs = handoff.clone();
    let started = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let work = theirs.lock().ok().and_then(|mut w| w.take());
            if let Some(work) = work {
                let _ = tx.send(catch_unwind(AssertUnwindSafe(work)));
            }
        });
    match started {
        Ok(_) => tokio::spawn(async move {
            match rx.await {
                Ok(Ok(value)) => value,
                Ok(Err(panic)) => resume_unwind(panic),
                Err(_) => resume_unwind(Box::new("the thread ended without a result")),
            }
        }),
        Err(e) => {
            tracing::warn!("cannot start a thread ({e}); running {name} on the blocking pool");
            let work = handoff.lock().ok().and_then(|mut w| w.take());
            tokio::task::spawn_blocking(move || match work {
                Some(work) => work(),
                None => resume_unwind(Box::new("the work was already taken")),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hands_back_the_result_and_the_panic() {
        let name = spawn("t", || std::thread::current().name().map(String::from));
        assert_eq!(name.await.unwrap().as_deref(), Some("t"));
        let failed = spawn("t", || -> u8 { panic!("boom") }).await.unwrap_err();
        assert!(failed.is_panic());
    }
}
