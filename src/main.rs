use std::process::ExitCode;

use clap::Parser as _;

/// Threads in tokio's blocking pool at most (tokio's default, said out
/// loud). The runs' own file work has a pool that shrinks
/// (`export::blocking`); this one serves `tokio::fs` reads of remote
/// destinations and name lookups.
const BLOCKING_THREADS: usize = 512;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = cronport::cli::Cli::parse();
    if cli.only_prints() {
        // Rust ignores SIGPIPE, so `cronport runs list | head` would panic
        // on the closed pipe; a command that only prints may just end. (Not
        // for the rest: a scheduler must not die of a closed connection.)
        // SAFETY: setting a signal's disposition before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    cronport::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cronport: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = match runtime.block_on(cronport::cmd::dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("cronport: {failure}");
            failure.exit_code()
        }
    };
    // Dropping the runtime drops what still runs on it, which stops the
    // programs of command sources; their SIGKILL after the grace comes from
    // a thread that exiting would end, so wait for it first.
    drop(runtime);
    let grace = cronport::export::source::group::STOP_GRACE;
    if !cronport::export::source::group::settle(grace + std::time::Duration::from_secs(1)) {
        eprintln!("cronport: some programs of command sources could not be stopped");
    }
    code
}

/// glibc's malloc arenas at most: two a core, where glibc allows eight.
/// Every export starts a reader and an encoder thread, and glibc gives
/// threads that meet contention arenas of their own, each keeping what its
/// threads freed: at 300 runs a second the soak's resident memory settled
/// about 8 MB lower with 4 arenas than with 16 (mean 56 against 64 MB after
/// six minutes), for no CPU a run that could be told apart. An operator's
/// own `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` arena_max is left alone.
/// Called before any thread starts.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let chosen = std::env::var_os("MALLOC_ARENA_MAX").is_some()
            || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("arena_max"));
        if !chosen {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let arenas = i32::try_from(2 * cores).unwrap_or(i32::MAX);
            // SAFETY: mallopt only sets a limit glibc reads when a thread
            // next needs an arena; no thread has started yet.
            unsafe {
                libc::mallopt(libc::M_ARENA_MAX, arenas);
            }
        }
    }
}
