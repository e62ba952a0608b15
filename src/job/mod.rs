//! Jobs: the definition as written (`[[jobs]]`), its policies, and the
//! checked form the scheduler runs.

mod checks;
mod policy;
mod rules;
mod stored;
mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::schedule::rules::{OnBlackout, OnExcluded};
pub use checks::{
    Baseline, CHECK_KEYS, CheckAction, CheckFailure, Checks, ChecksSpec, DEFAULT_HOLD_FOR,
    OnCheckFail, Written, grouped, parse_percent, percent_text, schema_change,
};
pub use policy::{CatchUpPolicy, Deliver, OverlapPolicy, Policy};
pub use stored::{StoredJobError, checked as checked_stored, decode as decode_stored};
pub use watch::{Thresholds, WatchKeys, check_ping_url, ping_url};

use crate::config::duration::HumanDuration;
use crate::export::destination::notice::NotifySpec;
use crate::export::format::FormatSpec;
use crate::export::source::SourceSpec;
use crate::schedule::rules::{Blackout, BusinessCalendar, Rules};
use crate::schedule::{DstSpec, Schedule, Tz, parse_timezone};

pub use crate::schedule::rules::{Fate, Fire, NextRun};

/// How many slots [`Job::next_run`] looks through for one that runs: six
/// hours of an every-second job in a blackout is 21,600.
pub const MAX_SKIPPED_LOOK: usize = 1_000_000;

/// A job as written in a config or apply file, and as stored (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// A slug, unique: `daily-sales`.
    pub name: String,
    /// A preset (`daily at 02:00`) or a cron expression.
    pub schedule: String,
    /// IANA zone; the scheduler's default when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Where the data comes from.
    pub source: SourceSpec,
    /// How it is rendered.
    pub format: FormatSpec,
    /// Names under `[destinations]`.
    pub destinations: Vec<String>,
    /// Retries after a failed attempt (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Per-attempt limit (default 30m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    /// What to do when a slot comes while a run is still going (default skip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap: Option<OverlapPolicy>,
    /// What to do with slots missed while down (default latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<CatchUpPolicy>,
    /// How far back missed slots count (default 24h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catch_up_window: Option<HumanDuration>,
    /// Notifications on failure, recovery or success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySpec>,
    /// A name under `[calendars]`: its excluded dates are not run as scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// What a slot on an excluded date does (default skip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_excluded: Option<OnExcluded>,
    /// Blackout windows in the job's zone, besides the scheduler's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blackout: Vec<String>,
    /// What a slot in a blackout does (default skip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_blackout: Option<OnBlackout>,
    /// No fire runs before this (RFC 3339, or a local date or time in the job's zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// No fire runs after this; then the job has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_at: Option<String>,
    /// Each fire is delayed by up to this, the same on every instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<HumanDuration>,
    /// Daylight-saving policy; defaults by the kind of schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<DstSpec>,
    /// A scheduled slot not started this long after its time sends a
    /// "late" notice through `notify.to` (default: `[scheduler]`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_if_late: Option<HumanDuration>,
    /// A run still running this long after its start sends a "stuck"
    /// notice through `notify.to` (default: `[scheduler]`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_if_running_over: Option<HumanDuration>,
    /// When output is sent: `always` (default) or `on_change` (only when
    /// its content differs from the last delivered run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver: Option<Deliver>,
    /// Checks of the rendered output before anything is delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<ChecksSpec>,
    /// What a failed check does: `hold` (default), `skip` or `fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_check_fail: Option<OnCheckFail>,
    /// How long a held run waits for a release (default 24h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_for: Option<HumanDuration>,
    /// A Healthchecks.io-style URL told when each run starts and ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<String>,
    /// The ping URL, from this environment variable (the URL is a secret
    /// of sorts: anyone holding it can ping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_env: Option<String>,
}

/// The rule keys of a job (calendar, blackouts, bounds, jitter, DST), as
/// one value: forms that do not edit them carry them over unchanged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleKeys {
    /// `calendar`.
    pub calendar: Option<String>,
    /// `on_excluded`.
    pub on_excluded: Option<OnExcluded>,
    /// `blackout`.
    pub blackout: Vec<String>,
    /// `on_blackout`.
    pub on_blackout: Option<OnBlackout>,
    /// `start_at`.
    pub start_at: Option<String>,
    /// `end_at`.
    pub end_at: Option<String>,
    /// `jitter`.
    pub jitter: Option<HumanDuration>,
    /// `dst`.
    pub dst: Option<DstSpec>,
}

impl JobSpec {
    /// Its rule keys.
    pub fn rule_keys(&self) -> RuleKeys {
        RuleKeys {
            calendar: self.calendar.clone(),
            on_excluded: self.on_excluded,
            blackout: self.blackout.clone(),
            on_blackout: self.on_blackout,
            start_at: self.start_at.clone(),
            end_at: self.end_at.clone(),
            jitter: self.jitter,
            dst: self.dst,
        }
    }

    /// Sets every rule key from `keys`.
    pub fn set_rule_keys(&mut self, keys: RuleKeys) {
        self.calendar = keys.calendar;
        self.on_excluded = keys.on_excluded;
        self.blackout = keys.blackout;
        self.on_blackout = keys.on_blackout;
        self.start_at = keys.start_at;
        self.end_at = keys.end_at;
        self.jitter = keys.jitter;
        self.dst = keys.dst;
    }
}

/// A job that passed every check: schedule parsed, names resolved.
#[derive(Clone, Debug)]
pub struct Job {
    /// The definition as written, with the zone filled in.
    pub spec: JobSpec,
    /// The parsed schedule in the job's zone.
    pub schedule: Schedule,
    /// Policies with defaults applied.
    pub policy: Policy,
    /// Calendar, blackouts, bounds and jitter, resolved (the calendar's
    /// dates travel with the job, to the scheduler, `jobs run` and the console).
    pub rules: Arc<Rules>,
}

/// The rules of `spec` in zone `tz`, as far as they check (a problem
/// leaves its rule out): for previews of a job still being written.
pub fn resolve_rules(spec: &JobSpec, tz: Tz, known: &Known) -> Rules {
    rules::resolve(spec, tz, known, &mut |_: &str, _: String| {})
}

/// A fire in one line, local times in `format`: when it runs, and why it
/// moved or was skipped (`Sat 2026-12-05 06:00 EST  moved from ...: in
/// blackout sat 00:00-06:00: deferred to its end, ...`).
pub fn describe_fire(fire: &Fire, tz: Tz, format: &str) -> String {
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format(format).to_string();
    match &fire.fate {
        Fate::Runs if fire.at == fire.slot => format!("{}  runs", local(fire.at)),
        Fate::Runs => format!(
            "{}  runs (slot {}, jitter +{})",
            local(fire.at),
            local(fire.slot),
            HumanDuration((fire.at - fire.slot).to_std().unwrap_or_default())
        ),
        Fate::Moved(why) => format!("{}  moved from {}: {why}", local(fire.at), local(fire.slot)),
        Fate::Skipped(why) => format!("{}  skipped: {why}", local(fire.slot)),
    }
}

/// One problem with a job definition, naming the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The key, e.g. `schedule` or `source.connection`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Every problem of a job definition on one line, for logs and messages.
pub fn one_line(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What a job may refer to: the names the config defines.
#[derive(Clone, Debug, Default)]
pub struct Known {
    /// Zone for jobs that name none.
    pub default_timezone: Option<Tz>,
    /// `[sources]` names.
    pub connections: BTreeSet<String>,
    /// `[destinations]` names, and those of destinations made in the
    /// console (see `crate::destinations::known`).
    pub destinations: BTreeSet<String>,
    /// `[calendars]`, read.
    pub calendars: BTreeMap<String, Arc<BusinessCalendar>>,
    /// `[scheduler] blackout`: windows every job keeps.
    pub blackout: Vec<Blackout>,
}

/// Whether `name` is a valid job name: a lowercase slug of up to 64 characters.
pub fn is_slug(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl JobSpec {
    /// Check everything that can be checked without I/O; returns every
    /// problem found, each naming its key.
    pub fn validate(&self, known: &Known) -> Result<Job, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.to_string(),
                message,
            })
        };
        if !is_slug(&self.name) {
            fail(
                "name",
                format!(
                    "{:?} is not a valid name: use lowercase letters, digits, '-' and '_' (up to 64)",
                    self.name
                ),
            );
        }
        let zone_name = self
            .timezone
            .clone()
            .or_else(|| known.default_timezone.map(|tz| tz.name().to_string()));
        let zone = match zone_name.as_deref() {
            Some(name) => match parse_timezone(name) {
                Ok(tz) => Some(tz),
                Err(e) => {
                    fail("timezone", e.to_string());
                    None
                }
            },
            None => Some(chrono_tz::UTC),
        };
        let schedule = zone.and_then(|tz| match Schedule::parse(&self.schedule, tz) {
            Ok(s) => Some(s.with_dst(self.dst.unwrap_or_default())),
            Err(e) => {
                fail("schedule", e.to_string());
                None
            }
        });
        let rules = rules::resolve(self, zone.unwrap_or(chrono_tz::UTC), known, &mut fail);
        match &self.source {
            SourceSpec::Sql(sql) => {
                if !known.connections.contains(&sql.connection) {
                    fail(
                        "source.connection",
                        format!(
                            "{:?} is not defined under [sources] in the config",
                            sql.connection
                        ),
                    );
                }
                if sql.query.trim().is_empty() {
                    fail("source.query", "is empty".into());
                } else if let Err(e) = crate::export::source::sql::params::rewrite(
                    &sql.query,
                    crate::export::source::sql::params::Style::Dollar,
                ) {
                    fail("source.query", e.to_string());
                }
            }
            SourceSpec::Command(cmd) => {
                if cmd.argv.first().is_none_or(|p| p.trim().is_empty()) {
                    fail("source.argv", "must name a program to run".into());
                }
            }
            SourceSpec::File(file) => {
                if file.path.trim().is_empty() {
                    fail("source.path", "is empty".into());
                } else if let Err(e) = glob::Pattern::new(&file.path) {
                    fail("source.path", format!("is not a valid glob: {e}"));
                }
                if let Some(q) = &file.template_query
                    && !known.connections.contains(&q.connection)
                {
                    fail(
                        "source.template_query.connection",
                        format!(
                            "{:?} is not defined under [sources] in the config",
                            q.connection
                        ),
                    );
                }
            }
            SourceSpec::Http(http) => {
                if !(http.url.starts_with("http://") || http.url.starts_with("https://")) {
                    fail(
                        "source.url",
                        format!("{:?} must start with http:// or https://", http.url),
                    );
                }
            }
        }
        if let Err((field, message)) = self.format.validate() {
            fail(&field, message);
        }
        if self.destinations.is_empty() {
            fail("destinations", "list at least one destination".into());
        }
        let mut seen = BTreeSet::new();
        for (i, name) in self.destinations.iter().enumerate() {
            if !known.destinations.contains(name) {
                fail(
                    &format!("destinations[{i}]"),
                    format!(
                        "{name:?} is not defined under [destinations] in the config \
                         (nor made in the console)"
                    ),
                );
            } else if !seen.insert(name) {
                fail(
                    &format!("destinations[{i}]"),
                    format!("{name:?} is listed twice"),
                );
            }
        }
        if let Some(notify) = &self.notify {
            for (field, message) in notify.problems(&known.destinations) {
                fail(&field, message);
            }
        }
        if let Some(Deliver::Unknown(word)) = &self.deliver {
            fail(
                "deliver",
                format!("{word:?} is not a delivery policy: use \"always\" or \"on_change\""),
            );
        }
        watch::problems(self, &mut fail);
        checks::resolve(self, &mut fail);
        let policy = Policy::from_spec(self);
        if policy.timeout < Duration::from_secs(1) {
            fail("timeout", "must be at least 1s".into());
        }
        match (schedule, errors.is_empty()) {
            (Some(schedule), true) => {
                let mut spec = self.clone();
                spec.timezone = Some(schedule.timezone().name().to_string());
                Ok(Job {
                    spec,
                    schedule,
                    policy,
                    rules: Arc::new(rules),
                })
            }
            _ => Err(errors),
        }
    }
}

impl Job {
    /// The job's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Every nominal slot strictly after `after`, in order, with what the
    /// rules make of it (runs, moved, skipped); ends once past `end_at`.
    pub fn fires(&self, after: DateTime<Utc>) -> impl Iterator<Item = Fire> + '_ {
        self.rules.fires(&self.schedule, self.name(), after)
    }

    /// What the rules make of one slot.
    pub fn fire(&self, slot: DateTime<Utc>) -> Fire {
        self.rules.fire(&self.schedule, self.name(), slot)
    }

    /// The next fire after `after` that runs (at its time or moved).
    /// Gives up after [`MAX_SKIPPED_LOOK`] skipped slots (a calendar that
    /// excludes every date would otherwise be searched forever).
    pub fn next_run(&self, after: DateTime<Utc>) -> Option<NextRun> {
        self.rules
            .next_run(&self.schedule, self.name(), after, MAX_SKIPPED_LOOK)
    }

    /// Past its `end_at` at `now`: no fire will run any more.
    pub fn ended(&self, now: DateTime<Utc>) -> bool {
        self.rules.ended(now)
    }

    /// The job as the store keeps it: the schedule as written and as cron,
    /// the zone, and the whole definition as JSON.
    pub fn definition(&self) -> Result<crate::store::JobDefinition, serde_json::Error> {
        Ok(crate::store::JobDefinition {
            name: self.name().to_string(),
            schedule: self.spec.schedule.clone(),
            cron: self.schedule.cron().to_string(),
            timezone: self.schedule.timezone().name().to_string(),
            definition: serde_json::to_string(&self.spec)?,
        })
    }
}
