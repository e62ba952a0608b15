//! The checks run after every keystroke. They reuse the project's own
//! parsers and `JobSpec::validate`, so the form accepts exactly what the
//! scheduler accepts, no more and no less (plus a name clash, which only the
//! form can see, a schedule that can never fire, an http timeout of 0s and
//! a template query chosen but left empty, which could only fail each run).

use std::ops::Range;
use std::sync::Arc;

use chrono::DateTime;

use super::argv;
use super::fields::{Field, SourceKind, Values};
use crate::config::duration::HumanDuration;
use crate::job::{JobSpec, Known};
use crate::schedule::{Schedule, parse_timezone};

/// One problem, attached to the field it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field to show it under; `None` for a problem no field owns.
    pub field: Option<Field>,
    /// The message, starting with the key it is about (`schedule: ...`).
    pub message: String,
    /// Byte range of the offending text within the field's value.
    pub span: Option<Range<usize>>,
}

/// What the form checks against.
#[derive(Clone, Debug)]
pub struct Rules {
    /// Names the config defines, and the default zone.
    pub known: Known,
    /// Names of the jobs that exist already.
    pub existing_names: Vec<String>,
    /// The name of the job being edited, which may of course keep it.
    pub original_name: Option<String>,
}

/// The outcome of one check of the whole form.
#[derive(Clone, Debug)]
pub struct Checked {
    /// Every problem found, in field order.
    pub problems: Vec<Problem>,
    /// The schedule, when it and the zone are valid: the live preview.
    pub schedule: Option<Schedule>,
    /// The job's rules (calendar, blackouts, bounds, jitter) as far as they
    /// check, which the preview applies; problems are listed with the rest.
    pub rules: Arc<crate::schedule::rules::Rules>,
    /// The name as typed: jitter is derived from it.
    pub name: String,
    /// The job to save, when there are no problems at all.
    pub spec: Option<JobSpec>,
}

/// Check every field of `values`.
pub fn check(values: &Values, rules: &Rules) -> Checked {
    let mut problems = Vec::new();
    let mut problem = |field: Field, message: String, span: Option<Range<usize>>| {
        problems.push(Problem {
            field: Some(field),
            message: format!("{}: {message}", field.key()),
            span,
        })
    };

    let name = values.name.value().to_string();
    let clash = rules
        .existing_names
        .iter()
        .any(|n| *n == name && rules.original_name.as_deref() != Some(n.as_str()));
    if clash {
        problem(
            Field::Name,
            format!("a job named {name:?} already exists"),
            None,
        );
    }

    let schedule_text = values.schedule.value();
    let zone_text = values.timezone.value();
    let zone = if zone_text.trim().is_empty() {
        Some(rules.known.default_timezone.unwrap_or(chrono_tz::UTC))
    } else {
        parse_timezone(zone_text).ok()
    };
    // An unknown zone must not hide a schedule error: parse in UTC to find
    // those, but offer no preview in the wrong zone.
    let schedule = match Schedule::parse(schedule_text, zone.unwrap_or(chrono_tz::UTC)) {
        Ok(schedule) if schedule.next_after(DateTime::UNIX_EPOCH).is_none() => {
            problem(
                Field::Schedule,
                "this schedule never fires (no date matches it)".into(),
                None,
            );
            None
        }
        Ok(schedule) => zone.map(|_| {
            let dst = values.rule_keys.dst.unwrap_or_default();
            schedule.with_dst(dst)
        }),
        Err(e) => {
            let message = match e.span() {
                Some(span) => format!("{e} (at column {})", column_of(schedule_text, span.start)),
                None => e.to_string(),
            };
            problem(Field::Schedule, message, e.span());
            None
        }
    };

    let source = values.source.spec(&mut problem);
    let format = values.format.spec(&mut problem);

    let retries = optional(values.retries.value(), |text| {
        text.parse::<u32>()
            .map_err(|_| format!("{text:?} is not a whole number (0 or more)"))
    })
    .unwrap_or_else(|message| {
        problem(Field::Retries, message, None);
        None
    });
    let mut duration = |field: Field, text: &str| {
        optional(text, |t| {
            t.parse::<HumanDuration>().map_err(|e| e.to_string())
        })
        .unwrap_or_else(|message| {
            problem(field, message, None);
            None
        })
    };
    let timeout = duration(Field::Timeout, values.timeout.value());
    let catch_up_window = duration(Field::CatchUpWindow, values.catch_up_window.value());
    // Numbers and durations first; the rest of the checks' rules (and their
    // error texts) are the job definition's, judged by `validate` below.
    let checks = values.checks.spec().unwrap_or_else(|bad| {
        for (field, message) in bad {
            problem(field, message, None);
        }
        None
    });
    let hold_for = values.checks.hold_for().unwrap_or_else(|message| {
        problem(Field::HoldFor, message, None);
        None
    });

    let mut spec = JobSpec {
        name,
        schedule: schedule_text.to_string(),
        timezone: Some(zone_text.to_string()).filter(|z| !z.trim().is_empty()),
        source,
        format,
        destinations: values.destinations.clone(),
        retries,
        timeout,
        overlap: values.overlap.value().copied().flatten(),
        catch_up: values.catch_up.value().copied().flatten(),
        catch_up_window,
        notify: values.notify.spec(),
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
        deliver: values.deliver.clone(),
        checks,
        on_check_fail: values.checks.on_fail(),
        hold_for,
    };
    spec.set_rule_keys(values.rule_keys.clone());
    spec.calendar = values.notify.calendar();
    spec.on_excluded = values.notify.on_excluded();
    spec.set_watch_keys(values.watch_keys.clone());

    if let Err(errors) = spec.validate(&rules.known) {
        for error in errors {
            let field = Field::from_key(&error.field);
            // The schedule was parsed above with its span; a bad command line
            // already said why its argv is empty.
            let already = field == Some(Field::Schedule)
                || field == Some(Field::Argv)
                    && values.source_kind() == SourceKind::Command
                    && argv::split(values.source.argv.value()).is_err();
            if !already {
                problems.push(Problem {
                    field,
                    message: error.to_string(),
                    span: None,
                });
            }
        }
    }
    problems.sort_by_key(|p| p.field.map_or(usize::MAX, order));

    let job_rules = Arc::new(crate::job::resolve_rules(
        &spec,
        zone.unwrap_or(chrono_tz::UTC),
        &rules.known,
    ));
    Checked {
        spec: problems.is_empty().then_some(spec),
        problems,
        schedule,
        rules: job_rules,
        name: values.name.value().to_string(),
    }
}

/// An empty field means "the default": `None`.
fn optional<T>(
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    let text = text.trim();
    if text.is_empty() {
        Ok(None)
    } else {
        parse(text).map(Some)
    }
}

/// 1-based column of byte offset `at`, counted in characters as the
/// operator sees them.
pub fn column_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(at, |before| before.chars().count()) + 1
}

fn order(field: Field) -> usize {
    field as usize
}
