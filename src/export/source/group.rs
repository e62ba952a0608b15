//! A program run as the leader of its own process group, so that it stops
//! together with everything it started: SIGTERM to the whole group, then
//! SIGKILL to what is left after [`STOP_GRACE`].
//!
//! Runs are cancelled by dropping their future, so stopping starts in
//! `Drop` and must not block. The SIGKILL and the reaping of the program are
//! left to one plain thread (the stopper), not to a tokio task: a task would
//! die with the runtime at shutdown, before the grace is over. The stopper
//! in turn dies with the process, so the binary calls [`settle`] before it
//! exits.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::process::ExitStatus;
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

use tokio::process::{Child, ChildStderr, ChildStdout, Command};

/// How long a stopped group has between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// How often the stopper looks for the end of a group it is stopping: the
/// kernel tells a parent when its child exits, but nobody when the last
/// grandchild of a group does.
const CHECK_EVERY: Duration = Duration::from_millis(50);

/// How long after SIGKILL the stopper waits for a group before it gives up
/// on it (a process in uninterruptible I/O dies only when the I/O ends).
const GIVE_UP_AFTER_KILL: Duration = Duration::from_secs(5);

/// A running program that leads its own process group. Dropped before the
/// program exited, it stops the whole group.
pub struct GroupChild {
    program: String,
    pgid: libc::pid_t,
    /// Always `Some` until `drop` hands it to the stopper.
    leader: Option<Child>,
    /// The leader exited and was reaped, and its leftovers were dealt with.
    exited: bool,
    /// The run's span, so lines logged later (on the stopper thread too)
    /// still name the run.
    span: tracing::Span,
}

impl GroupChild {
    /// Start `command` as the leader of a new process group.
    pub fn spawn(program: &str, command: &mut Command) -> io::Result<GroupChild> {
        // Stopping is this type's job: a SIGKILL to the leader alone, which
        // is what kill_on_drop does, would leave the rest of the group.
        command.process_group(0).kill_on_drop(false);
        let mut leader = command.spawn()?;
        // std returns from spawn only after the exec, so setpgid has run and
        // the group exists under the leader's pid.
        let pgid = match leader.id().map(libc::pid_t::try_from) {
            Some(Ok(pid)) => pid,
            _ => {
                let _ = leader.start_kill();
                return Err(io::Error::other("the started program has no usable pid"));
            }
        };
        Ok(GroupChild {
            program: program.to_string(),
            pgid,
            leader: Some(leader),
            exited: false,
            span: tracing::Span::current(),
        })
    }

    /// The process group's id (the leader's pid).
    pub fn pgid(&self) -> libc::pid_t {
        self.pgid
    }

    /// The program's stdout, once.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.leader.as_mut().and_then(|l| l.stdout.take())
    }

    /// The program's stderr, once.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.leader.as_mut().and_then(|l| l.stderr.take())
    }

    /// Whether the program itself has exited (and was reaped).
    pub fn exited(&self) -> bool {
        self.exited
    }

    /// Wait for the program's own exit. Whatever of its group is still
    /// running then is stopped, with a line in the run log: the run is over
    /// once the program is, and a leftover holding stdout open would
    /// otherwise keep the run from ever seeing the end of its data.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        let Some(leader) = self.leader.as_mut() else {
            return Err(io::Error::other(
                "the program was already handed to the stopper",
            ));
        };
        let status = leader.wait().await?;
        if !self.exited {
            self.exited = true;
            self.stop_leftovers();
        }
        Ok(status)
    }

    /// Drive `read` (of the program's output) to its end, meanwhile noticing
    /// the program's exit, which stops its leftovers and so lets the output
    /// end.
    pub async fn while_reading<F: Future>(&mut self, read: F) -> io::Result<F::Output> {
        tokio::pin!(read);
        loop {
            tokio::select! {
                out = &mut read => return Ok(out),
                status = self.wait(), if !self.exited => { status?; }
            }
        }
    }

    fn stop_leftovers(&self) {
        // The leader is reaped, so its pid, the group's id, is held only by
        // the group's remaining members: while any lives, the id cannot be
        // given to a new group (POSIX), and when none does this says so.
        if !signal_group(self.pgid, 0) {
            return;
        }
        let left = live_groups().map(|groups| groups.get(&self.pgid).copied().unwrap_or(0));
        if left == Some(0) {
            return; // only exited processes waiting for their new parent
        }
        let count = left.map_or_else(|| "processes".to_string(), |n| format!("{n} process(es)"));
        self.span.in_scope(|| {
            tracing::warn!(
                target: "cronport::source",
                "{:?} exited but left {count} of its group running; stopping them",
                self.program
            );
        });
        stop(Stopping::new(self, None));
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if self.exited {
            return;
        }
        let Some(leader) = self.leader.take() else {
            return;
        };
        self.span.in_scope(|| {
            tracing::info!(
                target: "cronport::source",
                "stopping {:?} and everything it started (process group {})",
                self.program,
                self.pgid
            );
        });
        stop(Stopping::new(self, Some(leader)));
    }
}

/// Wait until every group being stopped is gone (each gets its grace, then
/// SIGKILL), at most `limit`. The binary calls this before it exits, since
/// the stopper thread ends with the process. False if some group was not
/// gone in time.
pub fn settle(limit: Duration) -> bool {
    let Some(Some(orders)) = STOPPER.get() else {
        return true; // nothing was ever stopped
    };
    let (done, settled) = mpsc::channel();
    if orders.send(Order::Settle(done)).is_err() {
        return false;
    }
    settled.recv_timeout(limit).is_ok()
}

/// One group on its way out.
struct Stopping {
    program: String,
    pgid: libc::pid_t,
    /// Kept unreaped until the group is gone, so that the group's id stays
    /// taken and the SIGKILL cannot reach a new group that got the same id.
    leader: Option<Child>,
    kill_at: Instant,
    killed: bool,
    span: tracing::Span,
}

impl Stopping {
    fn new(group: &GroupChild, leader: Option<Child>) -> Stopping {
        Stopping {
            program: group.program.clone(),
            pgid: group.pgid,
            leader,
            kill_at: Instant::now() + STOP_GRACE,
            killed: false,
            span: group.span.clone(),
        }
    }

    /// One look at the group; true once it is gone and the leader reaped.
    fn step(&mut self, now: Instant, live: Option<&HashMap<libc::pid_t, usize>>) -> bool {
        // Without /proc there is no telling the leader's zombie from a live
        // member, so the group counts as alive until its SIGKILL.
        let alive = match live {
            Some(groups) => groups.contains_key(&self.pgid),
            None => !self.killed,
        };
        if alive && !self.killed && now >= self.kill_at {
            signal_group(self.pgid, libc::SIGKILL);
            self.killed = true;
            self.span.in_scope(|| {
                tracing::warn!(
                    target: "cronport::source",
                    "{:?} (process group {}) was still running {}s after SIGTERM: killed",
                    self.program,
                    self.pgid,
                    STOP_GRACE.as_secs()
                );
            });
            return false;
        }
        if alive {
            if !self.killed || now < self.kill_at + GIVE_UP_AFTER_KILL {
                return false;
            }
            self.span.in_scope(|| {
                tracing::error!(
                    target: "cronport::source",
                    "process group {} of {:?} survived SIGKILL; giving up on it",
                    self.pgid,
                    self.program
                );
            });
        }
        match self.leader.as_mut().map(Child::try_wait) {
            // /proc no longer lists the leader as running, yet its exit is
            // not ready to collect: look again on the next round.
            Some(Ok(None)) if now < self.kill_at + GIVE_UP_AFTER_KILL => false,
            // Reaped, or nothing left to reap (an error means someone else
            // reaped it).
            _ => true,
        }
    }
}

enum Order {
    Stop(Box<Stopping>),
    Settle(mpsc::Sender<()>),
}

/// The stopper's inbox; `None` when its thread could not be started.
static STOPPER: OnceLock<Option<mpsc::Sender<Order>>> = OnceLock::new();

/// SIGTERM the group now and hand it to the stopper for the rest.
fn stop(stopping: Stopping) {
    let pgid = stopping.pgid;
    signal_group(pgid, libc::SIGTERM);
    let orders = STOPPER.get_or_init(|| {
        let (orders, inbox) = mpsc::channel();
        match std::thread::Builder::new()
            .name("cronport-stopper".into())
            .spawn(move || run_stopper(inbox))
        {
            Ok(_) => Some(orders),
            Err(e) => {
                tracing::error!("cannot start the thread that stops programs: {e}");
                None
            }
        }
    });
    let handed_over = orders
        .as_ref()
        .is_some_and(|orders| orders.send(Order::Stop(Box::new(stopping))).is_ok());
    if !handed_over {
        // Nobody can wait out the grace: better no grace than a group left
        // running. The leader is reaped by tokio's orphan queue, or by init.
        signal_group(pgid, libc::SIGKILL);
    }
}

fn run_stopper(inbox: mpsc::Receiver<Order>) {
    let mut pending: Vec<Box<Stopping>> = Vec::new();
    let mut settling: Vec<mpsc::Sender<()>> = Vec::new();
    loop {
        let order = if pending.is_empty() {
            match inbox.recv() {
                Ok(order) => Some(order),
                Err(mpsc::RecvError) => return,
            }
        } else {
            match inbox.recv_timeout(CHECK_EVERY) {
                Ok(order) => Some(order),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        };
        match order {
            Some(Order::Stop(stopping)) => pending.push(stopping),
            Some(Order::Settle(done)) => settling.push(done),
            None => {}
        }
        if !pending.is_empty() {
            let live = live_groups();
            let now = Instant::now();
            pending.retain_mut(|stopping| !stopping.step(now, live.as_ref()));
        }
        if pending.is_empty() {
            for done in settling.drain(..) {
                let _ = done.send(());
            }
        }
    }
}

/// Send `signal` to every process of group `pgid` (0 only checks); false
/// when the group has no process left.
fn signal_group(pgid: libc::pid_t, signal: libc::c_int) -> bool {
    // SAFETY: killpg(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::killpg(pgid, signal) };
    // EPERM: a member we may not signal (a setuid program) still exists.
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// How many processes that have not exited each process group has, from
/// /proc; `None` where there is no /proc.
pub(crate) fn live_groups() -> Option<HashMap<libc::pid_t, usize>> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let mut groups = HashMap::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.as_encoded_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        // Processes come and go while this runs: a vanished one is no error.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((state, pgrp)) = parse_stat(&stat)
            && !matches!(state, 'Z' | 'X')
        {
            *groups.entry(pgrp).or_insert(0) += 1;
        }
    }
    Some(groups)
}

/// The state and process group of a `/proc/PID/stat` line.
fn parse_stat(stat: &str) -> Option<(char, libc::pid_t)> {
    // The command name, in parentheses, may hold spaces and parentheses
    // itself: the fields after it start at the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let line = "4242 (a) b (c) S 1 4240 4240 0 -1 4194560 105 0 0 0";
        assert_eq!(parse_stat(line), Some(('S', 4240)));
        assert_eq!(parse_stat("7 (sh) Z 1 7 7 0"), Some(('Z', 7)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_counted_in_its_group() {
        // SAFETY: getpgrp(2) cannot fail and touches no memory.
        let own = unsafe { libc::getpgrp() };
        let groups = live_groups().expect("/proc");
        assert!(groups.get(&own).copied().unwrap_or(0) >= 1, "{groups:?}");
    }
}
