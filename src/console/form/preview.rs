//! The live schedule preview under the schedule field.

use std::ops::Range;

use chrono::{DateTime, Utc};

use super::fields::Field;
use super::validate::Checked;

/// How many upcoming fires the preview lists.
pub const PREVIEW_FIRES: usize = 5;

/// What the schedule field says about itself right now.
#[derive(Clone, Debug, PartialEq)]
pub enum SchedulePreview {
    /// The schedule is valid in a valid zone.
    Valid {
        /// One line of English ("At 02:00 every day").
        description: String,
        /// The cron it stands for.
        cron: String,
        /// The zone name.
        zone: String,
        /// The next fires after `now`, at most [`PREVIEW_FIRES`], each with
        /// its wall-clock time in the zone.
        fires: Vec<(DateTime<Utc>, String)>,
    },
    /// The schedule does not parse (or never fires).
    Invalid {
        /// The message, naming the field and the position.
        message: String,
        /// Byte range of the offending text, when known.
        span: Option<Range<usize>>,
    },
    /// The schedule parses but the zone does not, so fires are unknown.
    NeedsZone {
        /// One line of English.
        description: String,
    },
}

pub(super) fn preview(checked: &Checked, text: &str, now: DateTime<Utc>) -> SchedulePreview {
    if let Some(schedule) = &checked.schedule {
        let tz = schedule.timezone();
        let seconds = schedule.has_seconds();
        let local_format = if seconds {
            "%a %Y-%m-%d %H:%M:%S %Z"
        } else {
            "%a %Y-%m-%d %H:%M %Z"
        };
        let fires = schedule
            .fires_after(now)
            .take(PREVIEW_FIRES)
            .map(|fire| {
                let local = fire.with_timezone(&tz).format(local_format).to_string();
                (fire, local)
            })
            .collect();
        return SchedulePreview::Valid {
            description: schedule.describe(),
            cron: schedule.cron().to_string(),
            zone: tz.name().to_string(),
            fires,
        };
    }
    if let Some(problem) = checked
        .problems
        .iter()
        .find(|p| p.field == Some(Field::Schedule))
    {
        return SchedulePreview::Invalid {
            message: problem.message.clone(),
            span: problem.span.clone(),
        };
    }
    // The schedule is fine but the zone is not: describe it, fires wait.
    match crate::schedule::Schedule::parse(text, chrono_tz::UTC) {
        Ok(schedule) => SchedulePreview::NeedsZone {
            description: schedule.describe(),
        },
        Err(e) => SchedulePreview::Invalid {
            message: format!("schedule: {e}"),
            span: e.span(),
        },
    }
}
