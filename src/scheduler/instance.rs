//! Who this process is in the store, and which others are gone.

use chrono::{DateTime, Utc};

use crate::store::InstanceInfo;

/// This process, as registered in the store: a scheduler, taking its share
/// of the run queue.
pub fn this_process(now: DateTime<Utc>) -> InstanceInfo {
    let hostname = hostname();
    let pid = std::process::id();
    let nonce: u32 = rand::random();
    InstanceInfo {
        id: format!("{hostname}:{pid}:{nonce:08x}"),
        hostname,
        pid,
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: now,
        takes_work: true,
    }
}

/// This machine's name.
pub fn hostname() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// Instances on this host whose process no longer exists: their runs can be
/// recovered at once instead of after the heartbeat goes stale.
pub fn dead_on_this_host(instances: &[InstanceInfo], me: &str) -> Vec<String> {
    let host = hostname();
    instances
        .iter()
        .filter(|i| i.id != me && i.hostname == host && !process_exists(i.pid))
        .map(|i| i.id.clone())
        .collect()
}

/// Whether a process with this id exists on this host (of any user).
pub(crate) fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks existence without sending anything; EPERM means it
    // exists but belongs to someone else.
    // SAFETY: kill(2) with signal 0 has no effect on the target.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Who is at this terminal, for decisions the store records (who approved
/// a catch-up plan): `user@host (via)`, the user from `$USER` or
/// `$LOGNAME`.
pub fn operator(via: &str) -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{user}@{} ({via})", hostname())
}
