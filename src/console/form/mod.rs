//! The job edit form (`n` new, `e` edit): tui-input fields checked on every
//! keystroke by the project's own parsers, a live schedule preview, and
//! zone completion. The console owns the loop; the form only turns keys into
//! a [`FormOutcome`] and draws itself.

mod argv;
mod checks;
mod choice;
mod complete;
mod field;
mod fields;
mod formats;
mod keys;
mod multiline;
mod multiline_view;
mod new_destination;
mod new_destination_view;
mod notify;
mod placeholder;
mod preview;
mod sources;
mod style;
mod text;
mod validate;
mod view;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;

pub use fields::{Field, Row};
pub use keys::KEYS;
pub use new_destination::{DraftField, DraftForm, DraftRow};
pub use preview::{PREVIEW_FIRES, SchedulePreview};
pub use style::{Styles, color_from_env};
pub use validate::Problem;

use crate::job::{JobSpec, Known};
use crate::schedule::parse_timezone;
use crate::schedule::rules::{Blackout, BusinessCalendar};
use fields::Values;
use validate::{Checked, Rules};

/// What the form may refer to, from the config and the store.
#[derive(Clone, Debug, Default)]
pub struct FormContext {
    /// `[destinations]` names that take a file, offered as checkboxes.
    pub destinations: Vec<String>,
    /// Destinations made in the console (kept in the store), offered
    /// after the config's.
    pub made: Vec<String>,
    /// The config's folder, which a new destination's relative root is
    /// taken from.
    pub folder: std::path::PathBuf,
    /// `[destinations]` names that can notify (webhook, email, slack,
    /// teams), offered as `notify.to` checkboxes.
    pub notifiers: Vec<String>,
    /// `[sources]` names, offered for `sql` sources.
    pub connections: Vec<String>,
    /// The scheduler's default zone, filled in for new jobs.
    pub default_timezone: String,
    /// Names of the jobs in the store: a new name must not clash with them.
    pub existing_names: Vec<String>,
    /// `[calendars]`, which jobs may name.
    pub calendars: BTreeMap<String, Arc<BusinessCalendar>>,
    /// `[scheduler] blackout`, which every job keeps.
    pub blackout: Vec<Blackout>,
}

/// What a key did to the form.
#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per key and never stored; the console's contract takes the spec by value"
)]
pub enum FormOutcome {
    /// Still editing.
    Continue,
    /// Esc: close the form and change nothing.
    Cancel,
    /// Everything is valid: store this job (`job::validate` accepts it).
    Save(JobSpec),
}

/// A new or existing job being edited.
#[derive(Clone, Debug)]
pub struct JobForm {
    values: Values,
    rules: Rules,
    checked: Checked,
    focus: Row,
    /// Highlighted zone completion.
    completion: usize,
    /// Said after a refused save; cleared by the next key.
    notice: Option<String>,
    /// Fields the operator has changed: a blank new form does not greet
    /// them with a wall of "is empty" until they type or try to save.
    touched: HashSet<Field>,
    /// Show every field's problems: when editing a job, and after a save
    /// was refused.
    show_all: bool,
    /// Esc on a changed form asks "discard?" first: y discards, n or Esc
    /// goes back to editing.
    confirm_discard: bool,
    /// The "new local folder" sub-form, while it is open.
    draft: Option<DraftForm>,
    /// What a new destination's name must not clash with.
    names: new_destination::Names,
    color: bool,
}

impl JobForm {
    /// A blank form for a new job.
    pub fn new(ctx: FormContext) -> Self {
        let values = Values::blank(&ctx);
        Self::with_values(values, ctx, None)
    }

    /// A form holding `spec`; saving unchanged gives back an equal spec.
    /// Renaming must not clash with another job's name.
    pub fn edit(spec: &JobSpec, ctx: FormContext) -> Self {
        let values = Values::from_spec(spec, &ctx);
        Self::with_values(values, ctx, Some(spec.name.clone()))
    }

    fn with_values(values: Values, ctx: FormContext, original_name: Option<String>) -> Self {
        let show_all = original_name.is_some();
        let rules = Rules {
            known: Known {
                default_timezone: parse_timezone(&ctx.default_timezone).ok(),
                connections: ctx.connections.iter().cloned().collect(),
                destinations: ctx
                    .destinations
                    .iter()
                    .chain(&ctx.notifiers)
                    .chain(&ctx.made)
                    .cloned()
                    .collect(),
                calendars: ctx.calendars.clone(),
                blackout: ctx.blackout.clone(),
            },
            existing_names: ctx.existing_names,
            original_name,
        };
        let names = new_destination::Names {
            config: ctx
                .destinations
                .iter()
                .chain(&ctx.notifiers)
                .cloned()
                .collect(),
            made: ctx.made.iter().cloned().collect(),
            folder: ctx.folder,
        };
        let checked = validate::check(&values, &rules);
        JobForm {
            values,
            rules,
            checked,
            focus: Row::Field(Field::Name),
            completion: 0,
            notice: None,
            touched: HashSet::new(),
            show_all,
            confirm_discard: false,
            draft: None,
            names,
            color: color_from_env(),
        }
    }

    /// Draw with or without colour (the default follows `NO_COLOR`).
    pub fn with_color(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    /// Handle one key. `now` is the console's clock; the form's checks do
    /// not depend on it today (the preview's fires are computed when drawing).
    pub fn handle_key(&mut self, key: KeyEvent, now: DateTime<Utc>) -> FormOutcome {
        keys::handle(self, key, now)
    }

    /// Draw the form into `area`, fires counted from `now`.
    pub fn render(&self, frame: &mut Frame, area: Rect, now: DateTime<Utc>) {
        view::render(self, frame, area, now);
    }

    /// Whether this form edits an existing job (rather than creating one).
    pub fn is_edit(&self) -> bool {
        self.rules.original_name.is_some()
    }

    /// The row that has the focus.
    pub fn focus(&self) -> Row {
        self.focus
    }

    /// Every current problem, in field order.
    pub fn problems(&self) -> &[Problem] {
        &self.checked.problems
    }

    /// The problems shown under `field`.
    pub fn problems_of(&self, field: Field) -> impl Iterator<Item = &Problem> {
        self.checked
            .problems
            .iter()
            .filter(move |p| p.field == Some(field))
    }

    /// Whether the problems of `field` are shown: once it was changed, in
    /// an edit form, or after a refused save.
    pub fn shows_problems_of(&self, field: Field) -> bool {
        self.show_all || self.touched.contains(&field)
    }

    /// The live schedule preview: description and the next fires after `now`,
    /// or why the schedule is not valid.
    pub fn schedule_preview(&self, now: DateTime<Utc>) -> SchedulePreview {
        preview::preview(&self.checked, self.values.schedule.value(), now)
    }

    /// The zone names offered for the timezone field right now.
    pub fn zone_completions(&self) -> Vec<&'static str> {
        if self.focus == Row::Field(Field::Timezone) {
            complete::zone_candidates(self.values.timezone.value())
        } else {
            Vec::new()
        }
    }

    /// Whether the operator has changed anything since the form opened: Esc
    /// then asks before discarding.
    pub fn is_changed(&self) -> bool {
        !self.touched.is_empty()
    }

    /// Whether the form is asking whether to discard its changes.
    pub fn is_confirming_discard(&self) -> bool {
        self.confirm_discard
    }

    /// The spec that Save would return, if everything is valid.
    pub fn valid_spec(&self) -> Option<&JobSpec> {
        self.checked.spec.as_ref()
    }

    /// The "new local folder" sub-form, while it is open.
    pub fn draft(&self) -> Option<&DraftForm> {
        self.draft.as_ref()
    }

    /// The new destinations to make with the job: those added from the
    /// sub-form that `spec` still names (one unticked again is not made).
    pub fn new_destinations(&self, spec: &JobSpec) -> Vec<crate::destinations::NewLocal> {
        self.values
            .new_destinations
            .iter()
            .filter(|new| spec.destinations.contains(&new.name))
            .cloned()
            .collect()
    }

    /// A destination added from the sub-form: offered, ticked, and known to
    /// the checks (it is made when the job is saved).
    fn add_destination(&mut self, new: crate::destinations::NewLocal) {
        let name = new.name.clone();
        self.names.made.insert(name.clone());
        self.rules.known.destinations.insert(name.clone());
        self.values.new_destinations.push(new);
        if !self.values.destination_options.contains(&name) {
            self.values.destination_options.push(name.clone());
        }
        if !self.values.destinations.contains(&name) {
            self.values.destinations.push(name.clone());
        }
        if let Some(index) = self
            .values
            .destination_options
            .iter()
            .position(|n| *n == name)
        {
            self.focus = Row::Destination(index);
        }
        self.touched.insert(Field::Destinations);
        self.revalidate();
    }

    fn revalidate(&mut self) {
        self.checked = validate::check(&self.values, &self.rules);
    }
}
