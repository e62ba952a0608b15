//! What the form holds: one value per field, built from a spec and turned
//! back into one. Parts the form does not edit (blackouts, start and end,
//! jitter, the DST policy, alerts and the ping URL) are carried through
//! untouched so editing never loses them.

use tui_input::Input;

use super::FormContext;
use super::choice::Choice;
pub use super::field::Field;
use super::formats::FormatValues;
use super::multiline::MultiLine;
use super::notify::NotifyValues;
pub use super::sources::SourceKind;
use super::sources::SourceValues;
use crate::export::format::FormatSpec;
use crate::export::source::SourceSpec;
use crate::export::source::sql::SqlSpec;
use crate::job::{CatchUpPolicy, JobSpec, OverlapPolicy, RuleKeys, WatchKeys};

/// One focusable line of the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    /// A one-line field.
    Field(Field),
    /// The checkbox of the n-th destination option.
    Destination(usize),
    /// "+ new local folder": opens the sub-form that makes one.
    NewDestination,
    /// The n-th checkbox of a field made of checkboxes (notify).
    Check(Field, usize),
    /// The Save button.
    Save,
}

/// Every value of the form, as typed or picked.
#[derive(Clone, Debug)]
pub struct Values {
    pub(crate) name: Input,
    pub(crate) schedule: Input,
    pub(crate) timezone: Input,
    /// Every source kind's fields; only the chosen kind is saved.
    pub(crate) source: SourceValues,
    /// Every format kind's options; only the chosen kind's are saved.
    pub(crate) format: FormatValues,
    /// Options offered: the config's destinations, plus any the job names
    /// that the config no longer has (so they show, flagged, not vanish).
    pub(crate) destination_options: Vec<String>,
    /// Chosen destinations in the order they were chosen: the job's order
    /// is kept, so editing does not reorder deliveries.
    pub(crate) destinations: Vec<String>,
    /// Destinations added from the sub-form, made when the job is saved.
    pub(crate) new_destinations: Vec<crate::destinations::NewLocal>,
    pub(crate) retries: Input,
    pub(crate) timeout: Input,
    pub(crate) overlap: Choice<Option<OverlapPolicy>>,
    pub(crate) catch_up: Choice<Option<CatchUpPolicy>>,
    pub(crate) catch_up_window: Input,
    /// The calendar, what excluded days do, and notify.
    pub(crate) notify: NotifyValues,
    /// The job's blackouts, bounds, jitter and DST policy, which the form
    /// does not edit: kept (and shown in the preview). Its calendar keys
    /// are replaced by the form's on save.
    pub(crate) rule_keys: RuleKeys,
    /// The job's alert thresholds and ping URL, which the form does not
    /// edit: kept.
    pub(crate) watch_keys: WatchKeys,
    /// `deliver`, which the form does not edit: kept.
    pub(crate) deliver: Option<crate::job::Deliver>,
    /// `checks`, `on_check_fail` and `hold_for`.
    pub(crate) checks: super::checks::ChecksValues,
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
            deliver: None,
            checks: None,
            on_check_fail: None,
            hold_for: None,
        };
        Self::from_spec(&spec, ctx)
    }

    /// The values of an existing job.
    pub fn from_spec(spec: &JobSpec, ctx: &FormContext) -> Self {
        let mut destination_options = ctx.destinations.clone();
        for name in ctx.made.iter().chain(&spec.destinations) {
            if !destination_options.contains(name) {
                destination_options.push(name.clone());
            }
        }
        let text = |s: &str| Input::new(s.to_string());
        Values {
            name: text(&spec.name),
            schedule: text(&spec.schedule),
            timezone: text(spec.timezone.as_deref().unwrap_or("")),
            source: SourceValues::from_spec(&spec.source, &ctx.connections),
            format: FormatValues::from_spec(&spec.format),
            destination_options,
            destinations: spec.destinations.clone(),
            new_destinations: Vec::new(),
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
            notify: NotifyValues::new(
                spec.calendar.as_ref(),
                spec.on_excluded,
                spec.notify.as_ref(),
                ctx.calendars.keys().cloned(),
                &ctx.notifiers,
            ),
            rule_keys: spec.rule_keys(),
            watch_keys: spec.watch_keys(),
            deliver: spec.deliver.clone(),
            checks: super::checks::ChecksValues::new(
                spec.checks.as_ref(),
                spec.on_check_fail.as_ref(),
                spec.hold_for,
            ),
        }
    }

    /// The chosen source kind.
    pub fn source_kind(&self) -> SourceKind {
        self.source.kind()
    }

    /// The text input behind `field`, for fields that are typed.
    pub fn input(&self, field: Field) -> Option<&Input> {
        match field {
            Field::Name => Some(&self.name),
            Field::Schedule => Some(&self.schedule),
            Field::Timezone => Some(&self.timezone),
            Field::Retries => Some(&self.retries),
            Field::Timeout => Some(&self.timeout),
            Field::CatchUpWindow => Some(&self.catch_up_window),
            other => self
                .source
                .input(other)
                .or_else(|| self.format.input(other))
                .or_else(|| self.checks.input(other)),
        }
    }

    /// The text input behind `field`, to type into.
    pub fn input_mut(&mut self, field: Field) -> Option<&mut Input> {
        match field {
            Field::Name => Some(&mut self.name),
            Field::Schedule => Some(&mut self.schedule),
            Field::Timezone => Some(&mut self.timezone),
            Field::Retries => Some(&mut self.retries),
            Field::Timeout => Some(&mut self.timeout),
            Field::CatchUpWindow => Some(&mut self.catch_up_window),
            other if self.source.input(other).is_some() => self.source.input_mut(other),
            other if self.checks.input(other).is_some() => self.checks.input_mut(other),
            other => self.format.input_mut(other),
        }
    }

    /// The multi-line buffer behind `field`, for the queries.
    pub fn multiline(&self, field: Field) -> Option<&MultiLine> {
        self.source.multiline(field)
    }

    /// The multi-line buffer behind `field`, to type into.
    pub fn multiline_mut(&mut self, field: Field) -> Option<&mut MultiLine> {
        self.source.multiline_mut(field)
    }

    /// Step the selector behind `field`; false if `field` is not one.
    pub fn step_choice(&mut self, field: Field, step: isize) -> bool {
        match field {
            Field::Overlap => self.overlap.step(step),
            Field::CatchUp => self.catch_up.step(step),
            other => {
                return self.source.step_choice(other, step)
                    || self.format.step_choice(other, step)
                    || self.checks.step_choice(other, step)
                    || self.notify.step_choice(other, step);
            }
        }
        true
    }

    /// Labels of the selector behind `field` and which one is chosen.
    pub fn choice(&self, field: Field) -> Option<(Vec<&str>, usize)> {
        match field {
            Field::Overlap => Some(self.overlap.labels()),
            Field::CatchUp => Some(self.catch_up.labels()),
            other => self
                .source
                .choice(other)
                .or_else(|| self.format.choice(other))
                .or_else(|| self.checks.choice(other))
                .or_else(|| self.notify.choice(other)),
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
        rows.extend(self.source.rows());
        rows.push(Row::Field(Field::Format));
        rows.extend(self.format.rows());
        rows.extend((0..self.destination_options.len()).map(Row::Destination));
        // Always there: it is where a job with no destination yet makes one,
        // and where the destinations' problems are shown.
        rows.push(Row::NewDestination);
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
        rows.extend(self.checks.rows());
        rows.extend(self.notify.rows());
        rows.push(Row::Save);
        rows
    }
}
