//! The config file (TOML): load, check, and explain problems by key.

pub mod duration;
pub mod paths;
pub mod secret;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::export::Pipeline;
use crate::export::destination::DestinationConfig;
use crate::export::source::sql::{ConnectionConfig, Connections};
use crate::job::{Job, JobSpec, Known, Thresholds};
use crate::schedule::rules::{Blackout, BusinessCalendar, Exclusion, Weekdays, ics_exclusions};
use crate::schedule::{Tz, parse_timezone};

/// Default for `[scheduler] max_backfill_slots`.
pub const DEFAULT_MAX_BACKFILL_SLOTS: usize = 10_000;
/// Default for `[scheduler] max_concurrent_runs`.
pub const DEFAULT_MAX_CONCURRENT_RUNS: usize = 4;
/// Default for `[scheduler] history_days`.
pub const DEFAULT_HISTORY_DAYS: u32 = 90;
/// Default for `[scheduler] audit_days`.
pub const DEFAULT_AUDIT_DAYS: u32 = 365;
/// Default for `[scheduler] spool_days`.
pub const DEFAULT_SPOOL_DAYS: u32 = 7;

/// A loaded, checked config.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it came from; `None` when no file exists (built-in defaults).
    pub path: Option<PathBuf>,
    /// The folder relative paths are taken from: the file's, made absolute
    /// (empty for built-in defaults: the working directory).
    pub folder: PathBuf,
    /// `[store] url`, if set.
    pub store_url: Option<String>,
    /// `[scheduler]`.
    pub scheduler: SchedulerConfig,
    /// `[sources.NAME]`.
    pub sources: BTreeMap<String, ConnectionConfig>,
    /// `[destinations.NAME]`, relative paths resolved.
    pub destinations: BTreeMap<String, DestinationConfig>,
    /// `[calendars.NAME]`, read (`.ics` files included).
    pub calendars: BTreeMap<String, Arc<BusinessCalendar>>,
    /// `[[jobs]]`, each checked.
    pub jobs: Vec<Job>,
    /// `[metrics] listen`: where to serve metrics and health checks.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// `[scheduler]` with defaults applied.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// Runs at once, across all jobs.
    pub max_concurrent_runs: usize,
    /// Zone of jobs that name none.
    pub default_timezone: Tz,
    /// Run history older than this many days is pruned.
    pub history_days: u32,
    /// Audit entries older than this many days are pruned.
    pub audit_days: u32,
    /// Where rendered files wait for delivery, each store's in a folder
    /// named by its identity.
    pub spool_dir: PathBuf,
    /// Rendered files are kept this many days for `runs redeliver` (0: not kept).
    pub spool_days: u32,
    /// A backfill of more slots than this needs `--yes`.
    pub max_backfill_slots: usize,
    /// Blackout windows every job keeps, in each job's zone.
    pub blackout: Vec<Blackout>,
    /// `alert_if_late` and `alert_if_running_over` for jobs that set none.
    pub alerts: Thresholds,
}

/// A config problem, naming the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", file.display())]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// What is wrong, starting with the key.
    pub message: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    scheduler: RawScheduler,
    #[serde(default)]
    sources: BTreeMap<String, ConnectionConfig>,
    #[serde(default)]
    destinations: BTreeMap<String, DestinationConfig>,
    #[serde(default)]
    calendars: BTreeMap<String, RawCalendar>,
    #[serde(default)]
    jobs: Vec<JobSpec>,
    #[serde(default)]
    metrics: RawMetrics,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    #[serde(default)]
    exclude: Vec<String>,
    business_days: Option<String>,
    ics: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScheduler {
    max_concurrent_runs: Option<usize>,
    default_timezone: Option<String>,
    history_days: Option<u32>,
    audit_days: Option<u32>,
    spool_dir: Option<PathBuf>,
    spool_days: Option<u32>,
    max_backfill_slots: Option<usize>,
    #[serde(default)]
    blackout: Vec<String>,
    alert_if_late: Option<String>,
    alert_if_running_over: Option<String>,
}

impl Config {
    /// Built-in defaults, used when there is no config file.
    pub fn empty() -> Self {
        Config {
            path: None,
            folder: PathBuf::new(),
            store_url: None,
            scheduler: SchedulerConfig {
                max_concurrent_runs: DEFAULT_MAX_CONCURRENT_RUNS,
                default_timezone: chrono_tz::UTC,
                history_days: DEFAULT_HISTORY_DAYS,
                audit_days: DEFAULT_AUDIT_DAYS,
                spool_dir: paths::data_dir().join("spool"),
                spool_days: DEFAULT_SPOOL_DAYS,
                max_backfill_slots: DEFAULT_MAX_BACKFILL_SLOTS,
                blackout: Vec::new(),
                alerts: Thresholds::default(),
            },
            sources: BTreeMap::new(),
            destinations: BTreeMap::new(),
            calendars: BTreeMap::new(),
            jobs: Vec::new(),
            metrics_listen: None,
        }
    }

    /// Load `path`, or the default location when `None`: `./config/cronport.toml`
    /// if present, else the XDG config file, else built-in defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            Some(path) => Self::load_file(path),
            None => match paths::default_config_file() {
                Some(found) => Self::load_file(&found),
                None => Ok(Self::empty()),
            },
        }
    }

    /// Load and check one file.
    pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
        let error = |message: String| ConfigError {
            file: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        // Relative paths in the file mean "next to the file", wherever
        // cronport was started from.
        let base = std::env::current_dir()
            .map(|cwd| paths::normalize(&cwd.join(&folder)))
            .unwrap_or(folder);
        let mut config = Self::parse(&text, &base).map_err(error)?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parse config text; relative paths are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Config, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_message(text, &e))?;
        let mut config = Self::empty();
        config.folder = base.to_path_buf();
        config.store_url = raw.store.url;
        let s = raw.scheduler;
        if let Some(n) = s.max_concurrent_runs {
            if n == 0 {
                return Err("scheduler.max_concurrent_runs: must be at least 1".into());
            }
            config.scheduler.max_concurrent_runs = n;
        }
        if let Some(zone) = s.default_timezone {
            config.scheduler.default_timezone =
                parse_timezone(&zone).map_err(|e| format!("scheduler.default_timezone: {e}"))?;
        }
        if let Some(days) = s.history_days {
            config.scheduler.history_days = days;
        }
        if let Some(days) = s.audit_days {
            if days == 0 {
                return Err(
                    "scheduler.audit_days: must be at least 1 (the trail would be pruned as it is written)"
                        .into(),
                );
            }
            config.scheduler.audit_days = days;
        }
        if let Some(days) = s.spool_days {
            config.scheduler.spool_days = days;
        }
        if let Some(n) = s.max_backfill_slots {
            if n == 0 {
                return Err("scheduler.max_backfill_slots: must be at least 1".into());
            }
            config.scheduler.max_backfill_slots = n;
        }
        if let Some(dir) = s.spool_dir {
            config.scheduler.spool_dir = base.join(dir);
        }
        for (i, text) in s.blackout.iter().enumerate() {
            let window = Blackout::parse(text)
                .map_err(|message| format!("scheduler.blackout[{i}]: {message}"))?;
            config.scheduler.blackout.push(window);
        }
        config.scheduler.alerts = Thresholds {
            late: duration::parse_key("scheduler.alert_if_late", s.alert_if_late.as_deref())?,
            running_over: duration::parse_key(
                "scheduler.alert_if_running_over",
                s.alert_if_running_over.as_deref(),
            )?,
        };
        for (name, raw) in raw.calendars {
            let calendar = read_calendar(&name, raw, base)?;
            config.calendars.insert(name, Arc::new(calendar));
        }
        for (name, mut source) in raw.sources {
            if source.url.trim().is_empty() {
                return Err(format!("sources.{name}.url: is empty"));
            }
            source.url = resolve_sqlite_url(&source.url, base);
            config.sources.insert(name, source);
        }
        for (name, mut dest) in raw.destinations {
            dest.validate(base)
                .map_err(|(key, message)| format!("destinations.{name}.{key}: {message}"))?;
            config.destinations.insert(name, dest);
        }
        if let Some(listen) = raw.metrics.listen {
            config.metrics_listen = Some(listen.trim().parse().map_err(|_| {
                format!(
                    "metrics.listen: {listen:?} is not an address: write IP:PORT, \
                     e.g. \"127.0.0.1:9464\""
                )
            })?);
        }
        config.jobs = config.check_jobs(raw.jobs)?;
        Ok(config)
    }

    /// The export pipeline over this config's connections and destinations,
    /// rendering into the spool folder, with relative paths taken from the
    /// config's folder.
    pub fn pipeline(&self) -> Pipeline {
        let connections = Arc::new(Connections::new(self.sources.clone().into_iter().collect()));
        let destinations = self
            .destinations
            .iter()
            .map(|(name, dest)| (name.clone(), Arc::from(dest.build())))
            .collect();
        Pipeline::new(connections, destinations, self.scheduler.spool_dir.clone())
            .with_base(self.folder.clone())
    }

    /// The names jobs may refer to.
    pub fn known(&self) -> Known {
        Known {
            default_timezone: Some(self.scheduler.default_timezone),
            connections: self.sources.keys().cloned().collect(),
            destinations: self.destinations.keys().cloned().collect(),
            calendars: self.calendars.clone(),
            blackout: self.scheduler.blackout.clone(),
        }
    }

    /// Check job specs against this config; errors name the job and the key.
    pub fn check_jobs(&self, specs: Vec<JobSpec>) -> Result<Vec<Job>, String> {
        self.check_jobs_with(specs, &self.known())
    }

    /// [`Config::check_jobs`] against `known`: this config's names and
    /// those of the destinations made in the console.
    pub fn check_jobs_with(&self, specs: Vec<JobSpec>, known: &Known) -> Result<Vec<Job>, String> {
        let mut jobs = Vec::with_capacity(specs.len());
        let mut problems = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, spec) in specs.into_iter().enumerate() {
            let label = if spec.name.is_empty() {
                format!("jobs[{i}]")
            } else {
                format!("jobs[{i}] ({})", spec.name)
            };
            if !names.insert(spec.name.clone()) {
                problems.push(format!(
                    "{label}.name: {:?} is used by another job",
                    spec.name
                ));
            }
            if let Some(notify) = &spec.notify {
                for (j, name) in notify.to.iter().enumerate() {
                    if let Some(dest) = self.destinations.get(name).filter(|d| !d.can_notify()) {
                        problems.push(format!(
                            "{label}.notify.to[{j}]: {name:?} is a {} destination; notifications go through webhook, email, slack or teams destinations",
                            dest.kind()
                        ));
                    } else if !self.destinations.contains_key(name)
                        && known.destinations.contains(name)
                    {
                        // Only local folders are made in the console.
                        problems.push(format!(
                            "{label}.notify.to[{j}]: {name:?} is a local folder made in the console; notifications go through webhook, email, slack or teams destinations"
                        ));
                    }
                }
            }
            for (j, name) in spec.destinations.iter().enumerate() {
                if let Some(dest) = self.destinations.get(name).filter(|d| !d.can_deliver()) {
                    problems.push(format!(
                        "{label}.destinations[{j}]: {name:?} is a {} destination, which posts notices, not files; name it in notify.to instead",
                        dest.kind()
                    ));
                }
            }
            match spec.validate(known) {
                Ok(job) => jobs.push(job),
                Err(errors) => problems.extend(errors.into_iter().map(|e| format!("{label}.{e}"))),
            }
        }
        if problems.is_empty() {
            Ok(jobs)
        } else {
            Err(problems.join("\n"))
        }
    }

    /// Parse a file of `[[jobs]]` (an apply file, or the config itself) and
    /// check its jobs against this config's names.
    pub fn load_jobs_file(&self, path: &Path) -> Result<Vec<Job>, ConfigError> {
        self.load_jobs_file_with(path, &self.known())
    }

    /// [`Config::load_jobs_file`], checking against `known`.
    pub fn load_jobs_file_with(&self, path: &Path, known: &Known) -> Result<Vec<Job>, ConfigError> {
        let error = |message: String| ConfigError {
            file: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
        let raw: RawConfig = toml::from_str(&text).map_err(|e| error(toml_message(&text, &e)))?;
        self.check_jobs_with(raw.jobs, known).map_err(error)
    }
}

/// `[calendars.NAME]`: its dates, business days and `.ics` file (relative
/// to the config's folder), each problem naming the key.
fn read_calendar(name: &str, raw: RawCalendar, base: &Path) -> Result<BusinessCalendar, String> {
    let key = |k: &str| format!("calendars.{name}.{k}");
    let mut exclusions = Vec::with_capacity(raw.exclude.len());
    for (i, text) in raw.exclude.iter().enumerate() {
        let e = Exclusion::parse(text)
            .map_err(|m| format!("{}: {m}", key(&format!("exclude[{i}]"))))?;
        exclusions.push(e);
    }
    let business_days = match &raw.business_days {
        Some(text) => {
            Weekdays::parse(text).map_err(|m| format!("{}: {m}", key("business_days")))?
        }
        None => Weekdays::ALL,
    };
    if let Some(file) = &raw.ics {
        let path = base.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: cannot read {}: {e}", key("ics"), path.display()))?;
        let dates =
            ics_exclusions(&text).map_err(|e| format!("{}: {} {e}", key("ics"), path.display()))?;
        exclusions.extend(dates);
    }
    Ok(BusinessCalendar::new(name, &exclusions, business_days))
}

/// `sqlite://relative.db` is taken from `base`; other URLs are kept.
fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return url.to_string();
    };
    let (path, query) = rest
        .split_once('?')
        .map_or((rest, None), |(p, q)| (p, Some(q)));
    if path.is_empty() || path == ":memory:" || Path::new(path).is_absolute() {
        return url.to_string();
    }
    let joined = paths::normalize(&base.join(path));
    match query {
        Some(q) => format!("sqlite://{}?{q}", joined.display()),
        None => format!("sqlite://{}", joined.display()),
    }
}

/// toml's message names the key and the line. When the problem is inside
/// one of several `[[jobs]]`, say which job, as the checks after parsing do.
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let message = e.to_string().trim_end().to_string();
    let Some(label) = e.span().and_then(|span| job_at(text, span.start)) else {
        return message;
    };
    format!("{label}: {message}")
}

/// `jobs[i] (name)` for the `[[jobs]]` entry that holds byte `offset`.
fn job_at(text: &str, offset: usize) -> Option<String> {
    #[derive(Deserialize)]
    struct Loose {
        #[serde(default)]
        jobs: Vec<toml::Spanned<toml::Table>>,
    }
    let loose: Loose = toml::from_str(text).ok()?;
    // toml spans an array-of-tables entry by its `[[jobs]]` header only: the
    // entry runs from its header to the next table header.
    let (index, job) = loose
        .jobs
        .iter()
        .enumerate()
        .rfind(|(_, job)| job.span().start <= offset)?;
    let body = text.get(job.span().end..offset)?;
    if body.lines().any(|line| line.trim_start().starts_with('[')) {
        return None;
    }
    Some(match job.get_ref().get("name").and_then(|n| n.as_str()) {
        Some(name) => format!("jobs[{index}] ({name})"),
        None => format!("jobs[{index}]"),
    })
}
