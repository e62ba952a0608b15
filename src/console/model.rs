//! The console's state. Nothing here does I/O: the runtime turns effects
//! (see [`super::message`]) into store reads and scheduler commands and
//! feeds the answers back as messages, and the views draw from a `&Model`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use super::backfill::{BackfillView, PlanSummary};
pub use super::data::{ERROR_DAYS, JobDetails, JobRow, RunDetails, Snapshot, Upcoming, upcoming};
use super::form::{FormContext, JobForm};
use super::log_buffer::{LIVE_CAPACITY, LogBuffer, LogFilter};
pub use super::message::{Effect, Msg};
pub use super::takeover::{Gone, LeaseNews};
use crate::export::Preview;
use crate::store::{InstanceInfo, RunId, RunRecord};

/// Whose stored log to show in the log panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogScope {
    /// One run's lines.
    Run(RunId),
    /// The lines of a job's recent runs.
    Job(String),
}

/// Who runs the scheduler this console shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The embedded scheduler is starting.
    Starting,
    /// The embedded scheduler fires jobs.
    Running,
    /// Quitting: the embedded scheduler lets runs finish.
    Draining,
    /// The embedded scheduler stopped.
    Stopped,
    /// The embedded scheduler could not start.
    Failed(String),
    /// Another instance holds the lease; this console only watches and asks.
    Attached(InstanceInfo),
    /// The instance this console was attached to is gone; the console is
    /// taking the lease (or waiting for another instance to).
    TakingOver {
        /// The instance that is gone.
        from: InstanceInfo,
        /// How it went.
        why: Gone,
    },
}

/// The panels, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Panel {
    /// Jobs.
    Jobs,
    /// Next fires.
    Upcoming,
    /// Runs.
    History,
    /// Live log.
    Log,
    /// Failures.
    Errors,
}

impl Panel {
    /// Tab order.
    pub const ALL: [Panel; 5] = [
        Panel::Jobs,
        Panel::Upcoming,
        Panel::History,
        Panel::Log,
        Panel::Errors,
    ];

    /// Title.
    pub fn title(self) -> &'static str {
        match self {
            Panel::Jobs => "Jobs",
            Panel::Upcoming => "Upcoming",
            Panel::History => "History",
            Panel::Log => "Live log",
            Panel::Errors => "Errors",
        }
    }

    /// The panel `step` places further in Tab order.
    pub fn cycle(self, step: isize) -> Panel {
        let i = Panel::ALL.iter().position(|p| *p == self).unwrap_or(0) as isize;
        let n = Panel::ALL.len() as isize;
        Panel::ALL[(i + step).rem_euclid(n) as usize]
    }
}

/// A list's selection and filter.
#[derive(Clone, Debug, Default)]
pub struct ListState {
    /// Index into the filtered list.
    pub selected: usize,
    /// Lowercase filter text.
    pub filter: String,
}

/// What the log panel shows.
#[derive(Clone, Debug)]
pub struct LogView {
    /// New lines as they come.
    pub live: LogBuffer,
    /// A run's or job's stored lines, when asked for: (title, lines).
    pub stored: Option<(String, LogBuffer)>,
    /// Stick to the newest line.
    pub follow: bool,
    /// When not following: the number of the bottom line shown.
    pub bottom: Option<u64>,
    /// Which lines.
    pub filter: LogFilter,
    /// Lines the bus dropped because the console fell behind.
    pub lost: u64,
}

impl Default for LogView {
    fn default() -> Self {
        LogView {
            live: LogBuffer::new(LIVE_CAPACITY),
            stored: None,
            follow: true,
            bottom: None,
            filter: LogFilter::default(),
            lost: 0,
        }
    }
}

impl LogView {
    /// The lines on show: stored ones when asked for, else the live ones.
    pub fn buffer(&self) -> &LogBuffer {
        self.stored.as_ref().map_or(&self.live, |(_, b)| b)
    }
}

/// The main screen.
#[derive(Clone, Debug)]
pub enum Screen {
    /// The panels.
    Dashboard,
    /// One job.
    Job {
        /// Its name.
        name: String,
        /// Loaded data.
        details: Option<Box<JobDetails>>,
        /// Scroll of its definition.
        scroll: u16,
    },
    /// One run.
    Run {
        /// Its id.
        id: RunId,
        /// Loaded data.
        details: Option<Box<RunDetails>>,
        /// Scroll of its log lines.
        scroll: u16,
    },
}

/// A question awaiting y/n.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Question {
    /// Delete this job and its history?
    Delete(String),
    /// Send this run's kept output to its destinations again?
    Redeliver(RunId),
    /// Drop this held run without delivering it?
    Discard(RunId),
}

/// A dry run's window.
#[derive(Clone, Debug)]
pub struct DryRunView {
    /// The job.
    pub job: String,
    /// The result, once it came.
    pub result: Option<Result<Preview, String>>,
}

/// The audit trail's window.
#[derive(Clone, Debug)]
pub struct AuditView {
    /// Only this job's entries; `None`: all.
    pub job: Option<String>,
    /// The entries newest first, once read (or why they could not be).
    pub entries: Option<Result<Vec<crate::store::AuditEntry>, String>>,
    /// Lines scrolled down.
    pub scroll: u16,
}

/// What floats over the screen.
pub enum Popup {
    /// The keys.
    Help {
        /// Scroll.
        scroll: u16,
    },
    /// y/n.
    Confirm(Question),
    /// The edit form.
    Form {
        /// The form.
        form: Box<JobForm>,
        /// For an edit: the job's name and the version it started from.
        original: Option<(String, i64)>,
        /// A save is under way.
        saving: bool,
    },
    /// A dry run's result.
    DryRun(DryRunView),
    /// A backfill: its range, plan and progress.
    Backfill(Box<BackfillView>),
    /// The catch-up plans awaiting approval.
    CatchUp(CatchUpView),
    /// The audit trail.
    Audit(AuditView),
    /// The slowest jobs of the last days.
    Performance(super::performance::PerformanceView),
}

/// The catch-up plans' window: which plan is selected and how many of its
/// newest slots are chosen. The plans are the snapshot's
/// ([`Snapshot::catchup`]), so the window follows the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatchUpView {
    /// Index into the pending plans.
    pub selected: usize,
    /// How many of the selected plan's newest slots to approve with Enter;
    /// `None`: all of them.
    pub newest: Option<u64>,
    /// A decision on this plan is on its way to the store.
    pub deciding: Option<crate::store::PlanId>,
}

/// What a prompt is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// `/`: the filter of a panel, applied as it is typed.
    Filter(Panel),
    /// `:`: a command.
    Command,
}

/// A line being typed in the footer.
pub struct Prompt {
    /// What for.
    pub kind: PromptKind,
    /// The text.
    pub input: tui_input::Input,
}

/// A message in the footer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The text.
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
    /// When it was set (it fades after a while).
    pub at: DateTime<Utc>,
}

/// Everything the console shows.
pub struct Model {
    /// The clock.
    pub now: DateTime<Utc>,
    /// The zone times are shown in.
    pub zone: Tz,
    /// The store, safe to show.
    pub store_url: String,
    /// Colours allowed (`NO_COLOR` unset).
    pub color: bool,
    /// Who runs the scheduler.
    pub engine: Engine,
    /// The instance this console took the schedule over from.
    pub took_over_from: Option<InstanceInfo>,
    /// The last heartbeat of the instance attached to, when known.
    pub holder_heartbeat: Option<DateTime<Utc>>,
    /// The store's contents.
    pub data: Snapshot,
    /// Whether any snapshot arrived.
    pub loaded: bool,
    /// The focused panel.
    pub focus: Panel,
    /// The panel shown beside the jobs when only two fit.
    pub second: Panel,
    /// Jobs panel.
    pub jobs: ListState,
    /// Upcoming panel.
    pub upcoming: ListState,
    /// History panel.
    pub history: ListState,
    /// Errors panel.
    pub errors: ListState,
    /// Indexes into `data.jobs` passing the jobs filter.
    pub visible_jobs: Vec<usize>,
    /// Indexes into `data.jobs` of jobs with errors, most errors first.
    pub error_jobs: Vec<usize>,
    /// History of all jobs (else of the selected one).
    pub history_all: bool,
    /// Log panel.
    pub log: LogView,
    /// Main screen.
    pub screen: Screen,
    /// What floats over it.
    pub popup: Option<Popup>,
    /// A running backfill whose window was closed: it comes back with `B`.
    pub parked_backfill: Option<Box<BackfillView>>,
    /// The footer's prompt.
    pub prompt: Option<Prompt>,
    /// The footer's message.
    pub status: Option<Status>,
    /// Leaving.
    pub quitting: bool,
    /// Names the form offers.
    pub form_context: FormContext,
    /// Catch-up plans already shown: a plan opens the window by itself
    /// once, when it first appears.
    pub catchup_seen: std::collections::BTreeSet<crate::store::PlanId>,
    /// Runs waiting between attempts, with when the next starts (from the
    /// embedded scheduler's events; the store does not keep it).
    pub retries_due: std::collections::HashMap<RunId, DateTime<Utc>>,
}

impl Model {
    /// A console with no data yet.
    pub fn new(
        now: DateTime<Utc>,
        zone: Tz,
        store_url: String,
        engine: Engine,
        form_context: FormContext,
    ) -> Self {
        Model {
            now,
            zone,
            store_url,
            color: true,
            engine,
            took_over_from: None,
            holder_heartbeat: None,
            data: Snapshot::default(),
            loaded: false,
            focus: Panel::Jobs,
            second: Panel::History,
            jobs: ListState::default(),
            upcoming: ListState::default(),
            history: ListState::default(),
            errors: ListState::default(),
            visible_jobs: Vec::new(),
            error_jobs: Vec::new(),
            history_all: true,
            log: LogView::default(),
            screen: Screen::Dashboard,
            popup: None,
            parked_backfill: None,
            prompt: None,
            status: None,
            quitting: false,
            form_context,
            catchup_seen: std::collections::BTreeSet::new(),
            retries_due: std::collections::HashMap::new(),
        }
    }

    /// Whether this console watches another instance (or is about to
    /// take over from one): it has no scheduler of its own.
    pub fn attached(&self) -> bool {
        matches!(self.engine, Engine::Attached(_) | Engine::TakingOver { .. })
    }

    /// The job selected in the jobs panel.
    pub fn selected_job(&self) -> Option<&JobRow> {
        let index = *self.visible_jobs.get(self.jobs.selected)?;
        self.data.jobs.get(index)
    }

    /// A job by name.
    pub fn job(&self, name: &str) -> Option<&JobRow> {
        self.data
            .jobs
            .binary_search_by(|j| j.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.data.jobs[i])
    }

    /// Upcoming fires still ahead, passing the panel's filter.
    pub fn visible_upcoming(&self) -> impl Iterator<Item = &Upcoming> {
        let now = self.now;
        self.data
            .upcoming
            .iter()
            .filter(move |u| u.at > now)
            .filter(|u| text_matches(&self.upcoming.filter, &u.job))
    }

    /// History rows passing the panel's filter.
    pub fn visible_history(&self) -> impl Iterator<Item = &RunRecord> {
        self.data
            .history
            .iter()
            .filter(|r| run_matches(&self.history.filter, r))
    }

    /// The run selected in the history panel.
    pub fn selected_run(&self) -> Option<&RunRecord> {
        self.visible_history().nth(self.history.selected)
    }

    /// When `run` starts its next attempt, while it waits for it (a run
    /// between attempts is stored as running). The scheduler's event says
    /// so at once; the stored time is all a console attached to another
    /// process's scheduler has.
    pub fn retry_due(&self, run: &RunRecord) -> Option<DateTime<Utc>> {
        if run.status != crate::store::RunStatus::Running {
            return None;
        }
        self.retries_due
            .get(&run.id)
            .copied()
            .or(run.retry_at)
            .filter(|at| *at > self.now)
    }

    /// Jobs with errors passing the errors panel's filter.
    pub fn visible_errors(&self) -> impl Iterator<Item = &JobRow> {
        self.error_jobs
            .iter()
            .filter_map(|i| self.data.jobs.get(*i))
            .filter(|j| text_matches(&self.errors.filter, &j.name))
    }

    /// Jobs that are not paused.
    pub fn active_count(&self) -> usize {
        self.data.jobs.iter().filter(|j| !j.paused).count()
    }

    /// Whether every job is paused (and there is at least one).
    pub fn all_paused(&self) -> bool {
        !self.data.jobs.is_empty() && self.data.jobs.iter().all(|j| j.paused)
    }

    /// The running run of `job`, if one runs.
    pub fn running_run_of(&self, job: &str) -> Option<&RunRecord> {
        self.data.running.iter().find(|r| r.job_name == job)
    }

    /// Recompute which jobs pass the filters.
    pub fn refilter(&mut self) {
        let filter = self.jobs.filter.clone();
        self.visible_jobs = self
            .data
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| job_matches(&filter, j))
            .map(|(i, _)| i)
            .collect();
        let mut errors: Vec<usize> = self
            .data
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| j.errors() > 0)
            .map(|(i, _)| i)
            .collect();
        errors.sort_by_key(|i| std::cmp::Reverse(self.data.jobs[*i].errors()));
        self.error_jobs = errors;
    }
}

/// Case-insensitive substring; an empty filter passes everything.
fn text_matches(filter: &str, text: &str) -> bool {
    filter.is_empty() || text.to_lowercase().contains(filter)
}

/// Jobs: by name, or by state words (`paused`, `active`, `failed`,
/// `running`, `ok`).
fn job_matches(filter: &str, job: &JobRow) -> bool {
    let last = job
        .stats
        .as_ref()
        .and_then(|s| s.last_run.as_ref())
        .map(|l| l.status.as_str());
    match filter {
        "" => true,
        "paused" => job.paused,
        "active" => !job.paused,
        "failed" => matches!(last, Some("failed" | "interrupted")),
        "running" => last == Some("running"),
        "ok" | "succeeded" => last == Some("succeeded"),
        _ => text_matches(filter, &job.name),
    }
}

/// Runs: by status word, or by job name.
fn run_matches(filter: &str, run: &RunRecord) -> bool {
    match filter {
        "" => true,
        "failed" => matches!(
            run.status,
            crate::store::RunStatus::Failed | crate::store::RunStatus::Interrupted
        ),
        "ok" => run.status == crate::store::RunStatus::Succeeded,
        _ if run.status.as_str() == filter || run.trigger.as_str() == filter => true,
        _ => text_matches(filter, &run.job_name),
    }
}
