//! Threads for the runs' short blocking file work (links, fsyncs, renames,
//! retention), which shrink back to what the work needs.
//!
//! tokio's blocking pool hands queued work to its idle threads in turn, so
//! under steady work every thread it ever started stays busy often enough
//! never to reach its keep-alive: one burst of slow fsyncs (the disk
//! writing back another program's data) left some 300 threads, with their
//! stacks and malloc arenas, for the rest of the process, and resident
//! memory crept up through the soak as bursts came (81 -> 306 threads,
//! 60 -> 81 MB in 15 minutes). Here the thread that went idle last takes
//! the next piece of work, so the threads a burst added stay idle and end
//! after [`KEEP_ALIVE`]: the pool holds what the load of the last seconds
//! needs, not what its worst second ever did.
//!
//! There is no small cap: fsyncs wait on the disk side by side, and the
//! journal commits them together, so a cap of 64 made 1,000 every-second
//! jobs lose slots while the disk was slow. [`MAX_THREADS`] only guards
//! against a runaway; beyond it work waits in a queue.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// How long a thread with nothing to do waits for work before it ends.
pub const KEEP_ALIVE: Duration = Duration::from_secs(2);

/// Threads at most; more work than this waits for one of them.
pub const MAX_THREADS: usize = 512;

type Work = Box<dyn FnOnce() + Send>;

/// The pool: idle threads in the order they went idle, the number alive,
/// and work waiting when all its threads are busy.
struct Pool {
    state: Mutex<State>,
    keep_alive: Duration,
    max_threads: usize,
}

#[derive(Default)]
struct State {
    idle: Vec<Arc<Slot>>,
    threads: usize,
    queue: VecDeque<Work>,
}

/// Where an idle thread waits to be handed its next piece of work.
#[derive(Default)]
struct Slot {
    work: Mutex<Option<Work>>,
    given: Condvar,
}

/// Run `work` on a pool thread and wait for its result. A panic in `work`
/// comes back as an error, as does a thread that could not be started.
pub async fn run<T, F>(work: F) -> std::io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    run_on(pool(), work).await
}

async fn run_on<T, F>(pool: &'static Pool, work: F) -> std::io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool.submit(Box::new(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(work)));
    }));
    match rx.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(std::io::Error::other(format!(
            "the file work panicked: {}",
            panic_message(&*panic)
        ))),
        Err(_) => Err(std::io::Error::other(
            "the file work was dropped: no thread could be started for it",
        )),
    }
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::new(KEEP_ALIVE, MAX_THREADS))
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

impl Pool {
    fn new(keep_alive: Duration, max_threads: usize) -> Pool {
        Pool {
            state: Mutex::default(),
            keep_alive,
            max_threads,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Work runs outside the lock and panics are caught, so a poisoned
        // lock still holds consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn submit(&'static self, work: Work) {
        let mut state = self.lock();
        // The newest idle thread: the oldest ones are left to time out.
        if let Some(slot) = state.idle.pop() {
            // Handed over under the pool lock, so that a thread timing out
            // (which looks for itself in `idle` under the same lock) either
            // is still listed and leaves, or finds this work.
            *slot.lock() = Some(work);
            slot.given.notify_one();
            return;
        }
        if state.threads >= self.max_threads {
            state.queue.push_back(work);
            return;
        }
        state.threads += 1;
        drop(state);
        let slot = Arc::new(Slot::default());
        *slot.lock() = Some(work);
        let theirs = slot.clone();
        let started = std::thread::Builder::new()
            .name("cronport-files".into())
            .spawn(move || self.serve(&theirs));
        if let Err(e) = started {
            let mut state = self.lock();
            state.threads -= 1;
            let work = slot.lock().take();
            match work {
                // Another thread will get to it.
                Some(work) if state.threads > 0 => state.queue.push_back(work),
                // Dropping it tells the waiting run why.
                _ => tracing::error!("cannot start a thread for file work: {e}"),
            }
        }
    }

    /// A thread's life: run what it is given, then what is queued, then
    /// wait to be given more until its keep-alive passes with nothing.
    fn serve(&self, slot: &Arc<Slot>) {
        loop {
            let work = slot.lock().take();
            if let Some(work) = work {
                work();
            }
            let mut state = self.lock();
            if let Some(next) = state.queue.pop_front() {
                drop(state);
                next();
                continue;
            }
            state.idle.push(slot.clone());
            drop(state);
            if !self.wait(slot) {
                return;
            }
        }
    }

    /// Wait until `slot` is given work (true) or the thread should end.
    fn wait(&self, slot: &Arc<Slot>) -> bool {
        let mut given = slot.lock();
        loop {
            if given.is_some() {
                return true;
            }
            let (now, timeout) = slot
                .given
                .wait_timeout(given, self.keep_alive)
                .unwrap_or_else(|p| p.into_inner());
            given = now;
            if timeout.timed_out() && given.is_none() {
                drop(given);
                let mut state = self.lock();
                if let Some(at) = state.idle.iter().position(|s| Arc::ptr_eq(s, slot)) {
                    state.idle.remove(at);
                    state.threads -= 1;
                    return false;
                }
                // Taken off the idle list: the work was handed over under
                // the lock just released, so it is there now.
                drop(state);
                given = slot.lock();
            }
        }
    }
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Option<Work>> {
        self.work.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests;
