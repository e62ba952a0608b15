//! The live schedule preview under the schedule field.

use std::ops::Range;

use chrono::{DateTime, Utc};

use super::fields::Field;
use super::validate::Checked;
use crate::config::duration::HumanDuration;
use crate::job::{Fate, Fire};

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

/// A fire with rules, short enough for the form: when it runs (or the slot
/// skipped), and the jitter, the move or the skip with its reason.
fn rule_line(fire: &Fire, tz: chrono_tz::Tz, format: &str) -> (DateTime<Utc>, String) {
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format(format).to_string();
    match &fire.fate {
        Fate::Runs if fire.at == fire.slot => (fire.at, local(fire.at)),
        Fate::Runs => (
            fire.at,
            format!(
                "{} (jitter +{})",
                local(fire.at),
                HumanDuration((fire.at - fire.slot).to_std().unwrap_or_default())
            ),
        ),
        Fate::Moved(why) => (fire.at, format!("{}  moved: {why}", local(fire.at))),
        Fate::Skipped(why) => (fire.slot, format!("{}  skipped: {why}", local(fire.slot))),
    }
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
        let fires = if checked.rules.is_plain() {
            schedule
                .fires_after(now)
                .take(PREVIEW_FIRES)
                .map(|fire| {
                    let local = fire.with_timezone(&tz).format(local_format).to_string();
                    (fire, local)
                })
                .collect()
        } else {
            // With rules: each fire says when it runs and why it moved or
            // was skipped; skipped ones are listed but do not count.
            let mut out = Vec::new();
            let mut runs = 0;
            for fire in checked
                .rules
                .fires(schedule, &checked.name, now)
                .take(crate::job::MAX_SKIPPED_LOOK)
            {
                let skipped_in_a_row = out.len() >= PREVIEW_FIRES && !fire.runs();
                if !skipped_in_a_row {
                    out.push(rule_line(&fire, tz, local_format));
                }
                runs += usize::from(fire.runs());
                if runs >= PREVIEW_FIRES || out.len() >= 2 * PREVIEW_FIRES {
                    break;
                }
            }
            out
        };
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
