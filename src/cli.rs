//! The command line (clap): every flag, with the help text users read.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// cronport runs scheduled exports and is operated from the terminal.
#[derive(Debug, Parser)]
#[command(name = "cronport", version, about, long_about = None)]
pub struct Cli {
    /// Config file [default: ./config/cronport.toml if present, else $XDG_CONFIG_HOME/cronport/cronport.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Store URL (sqlite://PATH or postgres://...); overrides the config
    #[arg(long, global = true, env = "CRONPORT_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// Run the scheduler without a terminal UI, logging to stdout
    #[arg(long)]
    pub headless: bool,
    /// Log format in headless mode
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// How long runs may finish after SIGTERM/SIGINT before they are cancelled
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub grace: crate::config::duration::HumanDuration,
    /// Serve Prometheus metrics, /healthz and /readyz on this address
    /// (IP:PORT); overrides [metrics] listen
    #[arg(long, global = true, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    #[command(subcommand)]
    pub command: Option<Commands>,
}

/// Headless log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `2026-03-08T07:00:00.000Z INFO daily-sales#12 message`
    Text,
    /// One JSON object a line: ts, level, job, run_id, msg
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Show the next fire times of a schedule
    Next(NextArgs),
    /// Create or update the [[jobs]] of a file in the store (all or nothing)
    Apply(ApplyArgs),
    /// List, inspect and control jobs
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// List and inspect runs
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Check the config, the store, every source and destination, and try
    /// every job (stored ones too) as it would run at its next slot
    Check(CheckArgs),
    /// The instances, who holds the scheduler lease, the next fires and
    /// the failing jobs; exit 1 when not healthy
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Catch-up plans awaiting approval (jobs with catch_up = "ask"):
    /// list, approve or decline the slots missed while cronport was down
    #[command(subcommand)]
    Catchup(CatchupCommand),
    /// The audit trail: who changed which job or acted on the scheduler,
    /// when, how and through which instance, newest first
    Audit(AuditArgs),
    /// Per-job performance over a window: runs, failures, p50/p95
    /// duration, rows, bytes and rows/s, slowest jobs first
    Report(ReportArgs),
    /// Print a shell completion script: `source <(cronport completions bash)`
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command with --out
    Man(ManArgs),
}

impl Cli {
    /// Whether the command only reads and prints (`next`, `jobs list|show|
    /// export`, `runs list|show|logs`): its output may go into `head`, and
    /// a closed pipe should end it quietly, as it ends `ls` or `grep`.
    pub fn only_prints(&self) -> bool {
        match &self.command {
            Some(Commands::Next(_) | Commands::Audit(_) | Commands::Report(_)) => true,
            Some(Commands::Jobs(command)) => matches!(
                command,
                JobsCommand::List { .. } | JobsCommand::Show { .. } | JobsCommand::Export
            ),
            Some(Commands::Runs(command)) => matches!(
                command,
                RunsCommand::List { .. } | RunsCommand::Show { .. } | RunsCommand::Logs { .. }
            ),
            Some(Commands::Completions(_) | Commands::Man(ManArgs { out: None })) => true,
            Some(Commands::Catchup(command)) => matches!(
                command,
                CatchupCommand::List { .. } | CatchupCommand::Show { .. }
            ),
            _ => false,
        }
    }
}

/// `cronport next`.
#[derive(Debug, Args)]
pub struct NextArgs {
    /// A preset ("daily at 02:00") or a cron expression ("0 2 * * *")
    #[arg(required_unless_present = "job", conflicts_with = "job")]
    pub schedule: Option<String>,
    /// A job of the config file: its schedule with its rules (calendar,
    /// blackouts, bounds, jitter), saying why a fire moved or was skipped
    #[arg(long, value_name = "NAME")]
    pub job: Option<String>,
    /// IANA time zone [default: the config's default_timezone]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Start after this instant (RFC 3339) [default: now]
    #[arg(long, value_name = "RFC3339")]
    pub from: Option<String>,
    /// How many fires
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub count: u32,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// `cronport check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print JSON: `ok` and one object per check (kind, name, ok, detail;
    /// jobs also origin and slot)
    #[arg(long)]
    pub json: bool,
}

/// `cronport completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `cronport man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write cronport.1 and a page per subcommand (cronport-jobs-run.1, ...)
    /// into this folder instead of printing cronport.1
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `cronport apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// File with [[jobs]] [default: the config file]
    pub file: Option<PathBuf>,
    /// Delete stored jobs that the file does not list
    #[arg(long)]
    pub prune: bool,
}

/// `cronport jobs ...`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show one job
    Show {
        /// Job name
        name: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Pause a job, or every job
    Pause {
        /// Job name
        #[arg(required_unless_present = "all")]
        name: Option<String>,
        /// Every job
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
    /// Resume a job, or every job
    Resume {
        /// Job name
        #[arg(required_unless_present = "all")]
        name: Option<String>,
        /// Every job
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
    /// Delete a job and its history
    Delete {
        /// Job name
        name: String,
    },
    /// Run a job now (trigger "manual"), even if it is paused
    Run {
        /// Job name
        name: String,
        /// Wait for the run to finish; exit 1 if it fails
        #[arg(long, conflicts_with = "dry_run")]
        wait: bool,
        /// Render the first rows here and print them with the size they
        /// come to; deliver nothing and record no run
        #[arg(long)]
        dry_run: bool,
        /// Rows a dry run shows
        #[arg(long, default_value_t = crate::control::PREVIEW_ROWS, requires = "dry_run")]
        rows: usize,
    },
    /// Run a job for the past slots of a range (trigger "backfill"),
    /// oldest first; slots that already succeeded are left alone
    Backfill(BackfillArgs),
    /// Print the stored jobs as [[jobs]] TOML that `apply` accepts
    Export,
}

/// `cronport jobs backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Job name
    pub name: String,
    /// First instant of the range: RFC 3339, or a date or local time
    /// (2026-12-01, 2026-12-01T06:00) in the job's zone
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// Last instant of the range (included), as --from
    #[arg(long, value_name = "TIME")]
    pub to: String,
    /// Print the plan (each slot and whether it runs) and run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Run slots that already succeeded too
    #[arg(long)]
    pub rerun: bool,
    /// Runs queued or running at once (an exclusive job still runs one at
    /// a time)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    /// Run more slots than [scheduler] max_backfill_slots allows
    #[arg(long)]
    pub yes: bool,
}

/// `cronport runs ...`.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first
    List {
        /// Only this job's runs
        #[arg(long)]
        job: Option<String>,
        /// Only runs in this state: queued, running, succeeded, failed,
        /// cancelled, interrupted, skipped, held or discarded
        #[arg(long, value_name = "STATUS", value_parser = parse_status)]
        status: Option<crate::store::RunStatus>,
        /// Only runs that ended, started or were queued since then: a
        /// duration back from now (24h, 7d, 1h30m) or an RFC 3339 instant
        #[arg(long, value_name = "WHEN", value_parser = parse_since)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// At most this many
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show one run
    Show {
        /// Run id
        id: i64,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Send a run's kept output to its destinations again, without running
    /// its source; destinations that have it already are not sent a copy
    Redeliver {
        /// Run id
        id: i64,
        /// Only this destination
        #[arg(long, value_name = "NAME")]
        destination: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Deliver a held run (one whose output failed a check) to its job's
    /// destinations; the run then succeeded
    Release {
        /// Run id
        id: i64,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Drop a held run without delivering it: its kept output is removed
    /// and the run recorded as discarded
    Discard {
        /// Run id
        id: i64,
    },
    /// Run a failed, cancelled or interrupted run again (trigger
    /// "retry", same slot): it goes into the run queue, and the instance
    /// running the job takes it
    Retry {
        /// Run id
        id: i64,
    },
    /// Ask for a running run to be cancelled, on whichever instance runs it
    Cancel {
        /// Run id
        id: i64,
    },
    /// Print a run's log lines
    Logs {
        /// Run id
        id: i64,
        /// Keep printing new lines until the run ends
        #[arg(long)]
        follow: bool,
    },
}

/// `cronport audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this job's entries
    #[arg(long, value_name = "NAME")]
    pub job: Option<String>,
    /// Only entries since then: a duration back from now (24h, 7d) or an
    /// RFC 3339 instant
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub limit: i64,
    /// Print JSON (with each change's before and after definitions)
    #[arg(long)]
    pub json: bool,
}

/// `cronport report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The window: runs that ended since then, a duration back from now
    /// (24h, 7d, 1h30m) or an RFC 3339 instant
    #[arg(long, value_name = "WHEN", default_value = "7d", value_parser = parse_since)]
    pub since: chrono::DateTime<chrono::Utc>,
    /// Print JSON (field names documented in the README)
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print a Markdown table, for a weekly email or a wiki page
    #[arg(long)]
    pub markdown: bool,
}

/// `--status`: one of the run statuses.
fn parse_status(text: &str) -> Result<crate::store::RunStatus, String> {
    text.parse().map_err(|_| {
        let all: Vec<&str> = crate::store::RunStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect();
        format!("{text:?} is not a run status (one of {})", all.join(", "))
    })
}

/// `--since`: a duration back from now (`24h`, `7d`) or an RFC 3339 instant.
pub fn parse_since(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&chrono::Utc));
    }
    let back: crate::config::duration::HumanDuration = text.parse().map_err(|_| {
        format!("{text:?} is neither a duration (24h, 7d, 1h30m) nor an RFC 3339 instant")
    })?;
    chrono::Duration::from_std(back.0)
        .ok()
        .and_then(|back| chrono::Utc::now().checked_sub_signed(back))
        .ok_or_else(|| format!("{text:?} reaches back too far"))
}

/// `cronport catchup ...`.
#[derive(Debug, Subcommand)]
pub enum CatchupCommand {
    /// List the pending plans (per job: how many slots, their span)
    List {
        /// Decided plans too
        #[arg(long)]
        all: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show one plan's slots, numbered from 1 (oldest) for --slots
    Show {
        /// Plan id (from `cronport catchup list`)
        plan: i64,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Run the plan's slots (trigger "catch_up"), all or some; the rest are
    /// declined
    Approve {
        /// Plan id (from `cronport catchup list`)
        plan: i64,
        /// Only these slots, numbered from 1 (oldest): N..M, or N
        #[arg(long, value_name = "N..M", value_parser = parse_slots, conflicts_with = "latest")]
        slots: Option<crate::store::SlotSelection>,
        /// Only the newest slot
        #[arg(long)]
        latest: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Run none of the plan's slots: they are recorded skipped, naming who
    /// declined
    Decline {
        /// Plan id (from `cronport catchup list`)
        plan: i64,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

/// `--slots N..M` (or `N`): a range of a plan's slots counted from 1.
fn parse_slots(text: &str) -> Result<crate::store::SlotSelection, String> {
    let number = |part: &str| {
        part.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                format!("{part:?} is not a slot number (they count from 1, oldest first)")
            })
    };
    let (first, last) = match text.split_once("..") {
        Some((first, last)) => {
            let last = last.strip_prefix('=').unwrap_or(last);
            (number(first)?, number(last)?)
        }
        None => {
            let n = number(text)?;
            (n, n)
        }
    };
    if first > last {
        return Err(format!("{first}..{last}: the first slot is after the last"));
    }
    Ok(crate::store::SlotSelection::Range { first, last })
}
