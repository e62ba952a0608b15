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
    format!("{}@{} ({via})", user(), hostname())
}

/// The OS user this process runs for: `$USER`, `$LOGNAME`, else the
/// account database's name for its uid.
pub fn user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(account_name)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The name of this process's user in the account database, for when the
/// environment names none (a service, `sudo -i`, a container's root).
fn account_name() -> Option<String> {
    let mut buffer = vec![0 as libc::c_char; 4096];
    // SAFETY: getpwuid_r writes only into `entry` and `buffer`, whose sizes
    // it is given; `found` points at `entry` or is null.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::getuid(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        );
        if rc != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        std::ffi::CStr::from_ptr(entry.pw_name)
            .to_str()
            .ok()
            .map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_account_database_names_this_user() {
        // Whatever the environment says, the process has an account.
        let name = super::account_name().expect("an account name");
        assert!(!name.is_empty());
        let uid = unsafe { libc::getuid() };
        if uid == 0 {
            assert_eq!(name, "root");
        }
    }
}
