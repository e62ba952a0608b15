//! What the form holds: one value per field, built from a spec and turned
//! back into one. Parts the form does not edit (a command's `cwd` and `env`,
//! CSV options) are carried through untouched so editing never loses them.

use tui_input::Input;

use super::FormContext;
use super::argv;
use super::choice::Choice;
use super::multiline::MultiLine;
use crate::export::destination::notice::NotifySpec;
use crate::export::format::FormatSpec;
use crate::export::source::SourceSpec;
use crate::export::source::command::CommandSpec;
use crate::export::source::sql::SqlSpec;
use crate::job::{CatchUpPolicy, JobSpec, OverlapPolicy, RuleKeys, WatchKeys};

/// A field of the form, in the order it is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The job's name.
    Name,
    /// Preset or cron text.
    Schedule,
    /// IANA zone.
    Timezone,
    /// `sql` or `command`.
    SourceKind,
    /// The `sql` source's connection.
    Connection,
    /// The `sql` source's query.
    Query,
    /// The `command` source's argv, on one line.
    Argv,
    /// The output format.
    Format,
    /// The chosen destinations.
    Destinations,
    /// Retries after a failed attempt.
    Retries,
    /// Per-attempt timeout.
    Timeout,
    /// Overlap policy.
    Overlap,
    /// Catch-up policy.
    CatchUp,
    /// Catch-up window.
    CatchUpWindow,
}

impl Field {
    /// The label shown in front of the field.
    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "Name",
            Field::Schedule => "Schedule",
            Field::Timezone => "Timezone",
            Field::SourceKind => "Source",
            Field::Connection => "Connection",
            Field::Query => "Query",
            Field::Argv => "Command",
            Field::Format => "Format",
            Field::Destinations => "Destinations",
            Field::Retries => "Retries",
            Field::Timeout => "Timeout",
            Field::Overlap => "Overlap",
            Field::CatchUp => "Catch-up",
            Field::CatchUpWindow => "Catch-up window",
        }
    }

    /// The key as written in a job file, which errors name.
    pub fn key(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Schedule => "schedule",
            Field::Timezone => "timezone",
            Field::SourceKind => "source.kind",
            Field::Connection => "source.connection",
            Field::Query => "source.query",
            Field::Argv => "source.argv",
            Field::Format => "format",
            Field::Destinations => "destinations",
            Field::Retries => "retries",
            Field::Timeout => "timeout",
            Field::Overlap => "overlap",
            Field::CatchUp => "catch_up",
            Field::CatchUpWindow => "catch_up_window",
        }
    }

    /// The field a job-file key (as `job::validate` names it) belongs to.
    pub fn from_key(key: &str) -> Option<Field> {
        if key == "destinations" || key.starts_with("destinations[") {
            return Some(Field::Destinations);
        }
        ALL.iter().copied().find(|f| f.key() == key)
    }
}

const ALL: [Field; 14] = [
    Field::Name,
    Field::Schedule,
    Field::Timezone,
    Field::SourceKind,
    Field::Connection,
    Field::Query,
    Field::Argv,
    Field::Format,
    Field::Destinations,
    Field::Retries,
    Field::Timeout,
    Field::Overlap,
    Field::CatchUp,
    Field::CatchUpWindow,
];

/// One focusable line of the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    /// A one-line field.
    Field(Field),
    /// The checkbox of the n-th destination option.
    Destination(usize),
    /// The Save button.
    Save,
}

/// Which kind of source the job reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A query on a named connection.
    Sql,
    /// A program's stdout.
    Command,
    /// The job's own source of a kind the form does not edit (file, http):
    /// kept as configured.
    Kept,
}

/// Every value of the form, as typed or picked.
#[derive(Clone, Debug)]
pub struct Values {
    pub(crate) name: Input,
    pub(crate) schedule: Input,
    pub(crate) timezone: Input,
    pub(crate) source_kind: Choice<SourceKind>,
    pub(crate) connection: Choice<String>,
    /// The sql query, on as many lines as the operator likes.
    pub(crate) query: MultiLine,
    pub(crate) argv: Input,
    /// The job's format as configured, then each kind with its defaults.
    pub(crate) format: Choice<FormatSpec>,
    /// Options offered: the config's destinations, plus any the job names
    /// that the config no longer has (so they show, flagged, not vanish).
    pub(crate) destination_options: Vec<String>,
    /// Chosen destinations in the order they were chosen: the job's order
    /// is kept, so editing does not reorder deliveries.
    pub(crate) destinations: Vec<String>,
    pub(crate) retries: Input,
    pub(crate) timeout: Input,
    pub(crate) overlap: Choice<Option<OverlapPolicy>>,
    pub(crate) catch_up: Choice<Option<CatchUpPolicy>>,
    pub(crate) catch_up_window: Input,
    pub(crate) command_extras: CommandSpec,
    /// The job's source when its kind is one the form does not edit.
    pub(crate) kept_source: Option<SourceSpec>,
    /// The job's notifications, which the form does not edit: kept.
    pub(crate) notify: Option<NotifySpec>,
    /// The job's calendar, blackouts, bounds, jitter and DST policy, which
    /// the form does not edit: kept (and shown in the preview).
    pub(crate) rule_keys: RuleKeys,
    /// The job's alert thresholds and ping URL, which the form does not
    /// edit: kept.
    pub(crate) watch_keys: WatchKeys,
}

impl Values {
    /// A blank form for a new job: the default zone filled in, everything
    /// else empty or at its default.
    pub fn blank(ctx: &FormContext) -> Self {
        let spec = JobSpec {
            name: String::new(),
            schedule: String::new(),
            timezone: Some(ctx.default_timezone.clone()),
            source: SourceSpec::Sql(SqlSpec {
                connection: ctx.connections.first().cloned().unwrap_or_default(),
                query: String::new(),
            }),
            format: FormatSpec::Csv(Default::default()),
            destinations: Vec::new(),
            retries: None,
            timeout: None,
            overlap: None,
            catch_up: None,
            catch_up_window: None,
            notify: None,
            calendar: None,
            on_excluded: None,
            blackout: Vec::new(),
            on_blackout: None,
            start_at: None,
            end_at: None,
            jitter: None,
            dst: None,
            alert_if_late: None,
            alert_if_running_over: None,
            ping: None,
            ping_env: None,
        };
        Self::from_spec(&spec, ctx)
    }

    /// The values of an existing job.
    pub fn from_spec(spec: &JobSpec, ctx: &FormContext) -> Self {
        let no_sql = || SqlSpec {
            connection: ctx.connections.first().cloned().unwrap_or_default(),
            query: String::new(),
        };
        let (kind, sql, command) = match &spec.source {
            SourceSpec::Sql(sql) => (SourceKind::Sql, sql.clone(), empty_command()),
            SourceSpec::Command(cmd) => (SourceKind::Command, no_sql(), cmd.clone()),
            SourceSpec::File(_) | SourceSpec::Http(_) => {
                (SourceKind::Kept, no_sql(), empty_command())
            }
        };
        let mut source_kinds = vec![
            ("sql".into(), SourceKind::Sql),
            ("command".into(), SourceKind::Command),
        ];
        let kept_source = (kind == SourceKind::Kept).then(|| spec.source.clone());
        if kind == SourceKind::Kept {
            source_kinds.insert(
                0,
                (
                    format!("{} (as configured)", spec.source.kind()),
                    SourceKind::Kept,
                ),
            );
        }
        let mut connections = ctx.connections.clone();
        if !sql.connection.is_empty() && !connections.contains(&sql.connection) {
            connections.push(sql.connection.clone());
        }
        let mut destination_options = ctx.destinations.clone();
        for name in &spec.destinations {
            if !destination_options.contains(name) {
                destination_options.push(name.clone());
            }
        }
        let text = |s: &str| Input::new(s.to_string());
        Values {
            name: text(&spec.name),
            schedule: text(&spec.schedule),
            timezone: text(spec.timezone.as_deref().unwrap_or("")),
            source_kind: Choice::new(source_kinds, &kind),
            connection: Choice::new(
                connections.iter().map(|c| (c.clone(), c.clone())).collect(),
                &sql.connection,
            ),
            query: MultiLine::new(&sql.query),
            argv: text(&argv::join(&command.argv)),
            format: Choice::new(format_options(&spec.format), &spec.format),
            destination_options,
            destinations: spec.destinations.clone(),
            retries: text(&spec.retries.map(|r| r.to_string()).unwrap_or_default()),
            timeout: text(&spec.timeout.map(|d| d.to_string()).unwrap_or_default()),
            overlap: Choice::new(
                vec![
                    ("default: skip".into(), None),
                    ("skip".into(), Some(OverlapPolicy::Skip)),
                    ("queue_one".into(), Some(OverlapPolicy::QueueOne)),
                    ("allow".into(), Some(OverlapPolicy::Allow)),
                    (
                        "cancel_previous".into(),
                        Some(OverlapPolicy::CancelPrevious),
                    ),
                ],
                &spec.overlap,
            ),
            catch_up: Choice::new(
                vec![
                    ("default: latest".into(), None),
                    ("skip".into(), Some(CatchUpPolicy::Skip)),
                    ("latest".into(), Some(CatchUpPolicy::Latest)),
                    ("all".into(), Some(CatchUpPolicy::All)),
                    ("ask".into(), Some(CatchUpPolicy::Ask)),
                ],
                &spec.catch_up,
            ),
            catch_up_window: text(
                &spec
                    .catch_up_window
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ),
            command_extras: command,
            kept_source,
            notify: spec.notify.clone(),
            rule_keys: spec.rule_keys(),
            watch_keys: spec.watch_keys(),
        }
    }

    /// The chosen source kind.
    pub fn source_kind(&self) -> SourceKind {
        self.source_kind.value().copied().unwrap_or(SourceKind::Sql)
    }

    /// The text input behind `field`, for fields that are typed.
    pub fn input(&self, field: Field) -> Option<&Input> {
        match field {
            Field::Name => Some(&self.name),
            Field::Schedule => Some(&self.schedule),
            Field::Timezone => Some(&self.timezone),
            Field::Argv => Some(&self.argv),
            Field::Retries => Some(&self.retries),
            Field::Timeout => Some(&self.timeout),
            Field::CatchUpWindow => Some(&self.catch_up_window),
            _ => None,
        }
    }

    /// The text input behind `field`, to type into.
    pub fn input_mut(&mut self, field: Field) -> Option<&mut Input> {
        match field {
            Field::Name => Some(&mut self.name),
            Field::Schedule => Some(&mut self.schedule),
            Field::Timezone => Some(&mut self.timezone),
            Field::Argv => Some(&mut self.argv),
            Field::Retries => Some(&mut self.retries),
            Field::Timeout => Some(&mut self.timeout),
            Field::CatchUpWindow => Some(&mut self.catch_up_window),
            _ => None,
        }
    }

    /// The multi-line buffer behind `field`, for the query.
    pub fn multiline(&self, field: Field) -> Option<&MultiLine> {
        match field {
            Field::Query => Some(&self.query),
            _ => None,
        }
    }

    /// The multi-line buffer behind `field`, to type into.
    pub fn multiline_mut(&mut self, field: Field) -> Option<&mut MultiLine> {
        match field {
            Field::Query => Some(&mut self.query),
            _ => None,
        }
    }

    /// Step the selector behind `field`; false if `field` is not one.
    pub fn step_choice(&mut self, field: Field, step: isize) -> bool {
        match field {
            Field::SourceKind => self.source_kind.step(step),
            Field::Connection => self.connection.step(step),
            Field::Format => self.format.step(step),
            Field::Overlap => self.overlap.step(step),
            Field::CatchUp => self.catch_up.step(step),
            _ => return false,
        }
        true
    }

    /// Labels of the selector behind `field` and which one is chosen.
    pub fn choice(&self, field: Field) -> Option<(Vec<&str>, usize)> {
        fn labels<T>(c: &Choice<T>) -> (Vec<&str>, usize) {
            (
                c.options.iter().map(|(l, _)| l.as_str()).collect(),
                c.selected,
            )
        }
        match field {
            Field::SourceKind => Some(labels(&self.source_kind)),
            Field::Connection => Some(labels(&self.connection)),
            Field::Format => Some(labels(&self.format)),
            Field::Overlap => Some(labels(&self.overlap)),
            Field::CatchUp => Some(labels(&self.catch_up)),
            _ => None,
        }
    }

    /// Tick or untick the n-th destination option.
    pub fn toggle_destination(&mut self, index: usize) {
        let Some(name) = self.destination_options.get(index) else {
            return;
        };
        if let Some(pos) = self.destinations.iter().position(|d| d == name) {
            self.destinations.remove(pos);
        } else {
            self.destinations.push(name.clone());
        }
    }

    /// The rows shown, top to bottom: the fields of the chosen source kind only.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = vec![
            Row::Field(Field::Name),
            Row::Field(Field::Schedule),
            Row::Field(Field::Timezone),
            Row::Field(Field::SourceKind),
        ];
        match self.source_kind() {
            SourceKind::Sql => {
                rows.extend([Row::Field(Field::Connection), Row::Field(Field::Query)]);
            }
            SourceKind::Command => rows.push(Row::Field(Field::Argv)),
            SourceKind::Kept => {}
        }
        rows.push(Row::Field(Field::Format));
        rows.extend((0..self.destination_options.len()).map(Row::Destination));
        if self.destination_options.is_empty() {
            // Still a row, so the missing-destination error has a place.
            rows.push(Row::Field(Field::Destinations));
        }
        rows.extend(
            [
                Field::Retries,
                Field::Timeout,
                Field::Overlap,
                Field::CatchUp,
                Field::CatchUpWindow,
            ]
            .map(Row::Field),
        );
        rows.push(Row::Save);
        rows
    }
}

fn empty_command() -> CommandSpec {
    CommandSpec {
        argv: Vec::new(),
        cwd: None,
        env: Default::default(),
        output: None,
    }
}

/// Format kinds that need no options, offered with their defaults.
const PLAIN_FORMATS: [&str; 8] = [
    "csv", "tsv", "json", "ndjson", "markdown", "html", "xlsx", "pdf",
];

/// The job's format exactly as configured (its options kept), then every
/// other kind that needs no options, with its defaults. Charts (svg, png)
/// need columns named, which is done in the config.
fn format_options(current: &FormatSpec) -> Vec<(String, FormatSpec)> {
    let mut options = vec![(current.kind().to_string(), current.clone())];
    for kind in PLAIN_FORMATS {
        if kind == current.kind() {
            continue;
        }
        let defaults = serde_json::json!({ "kind": kind });
        if let Ok(spec) = serde_json::from_value::<FormatSpec>(defaults) {
            options.push((kind.to_string(), spec));
        }
    }
    options
}
