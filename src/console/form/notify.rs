//! The calendar and notification part of the form: the schedule's calendar
//! (from `[calendars]`) with what an excluded day does, and which outcomes
//! notify which destinations (checkboxes, as for the delivery destinations).

use super::choice::Choice;
use super::fields::{Field, Row};
use crate::export::destination::notice::{NotifyOn, NotifySpec};
use crate::schedule::rules::OnExcluded;

/// The outcomes a job may notify about, in the order offered.
pub const OUTCOMES: [(NotifyOn, &str); 3] = [
    (NotifyOn::Failure, "failure"),
    (NotifyOn::Recovery, "recovery"),
    (NotifyOn::Success, "success"),
];

/// Calendar and notify values, as picked.
#[derive(Clone, Debug)]
pub struct NotifyValues {
    /// `None`: no calendar.
    pub(crate) calendar: Choice<Option<String>>,
    pub(crate) on_excluded: Choice<Option<OnExcluded>>,
    /// Ticked outcomes, in the order they were ticked (the job's order kept).
    pub(crate) on: Vec<NotifyOn>,
    /// Destinations that can notify: the config's, plus any the job names
    /// that the config lacks (shown, flagged).
    pub(crate) to_options: Vec<String>,
    /// Ticked notify destinations, in the order they were ticked.
    pub(crate) to: Vec<String>,
}

impl NotifyValues {
    /// The values of a job's calendar keys and `notify`.
    pub fn new(
        calendar: Option<&String>,
        on_excluded: Option<OnExcluded>,
        notify: Option<&NotifySpec>,
        calendars: impl Iterator<Item = String>,
        notifiers: &[String],
    ) -> Self {
        let mut calendar_options = vec![("none".to_string(), None)];
        calendar_options.extend(calendars.map(|c| (c.clone(), Some(c))));
        if let Some(name) = calendar
            && !calendar_options
                .iter()
                .any(|(_, c)| c.as_ref() == Some(name))
        {
            calendar_options.push((name.clone(), Some(name.clone())));
        }
        let mut to_options = notifiers.to_vec();
        for name in notify.map_or(&[][..], |n| &n.to[..]) {
            if !to_options.contains(name) {
                to_options.push(name.clone());
            }
        }
        NotifyValues {
            calendar: Choice::new(calendar_options, &calendar.cloned()),
            on_excluded: Choice::new(
                vec![
                    ("default: skip".into(), None),
                    ("skip".into(), Some(OnExcluded::Skip)),
                    (
                        "next_business_day".into(),
                        Some(OnExcluded::NextBusinessDay),
                    ),
                    (
                        "previous_business_day".into(),
                        Some(OnExcluded::PreviousBusinessDay),
                    ),
                ],
                &on_excluded,
            ),
            on: notify.map_or(Vec::new(), |n| n.on.clone()),
            to_options,
            to: notify.map_or(Vec::new(), |n| n.to.clone()),
        }
    }

    /// The chosen calendar.
    pub fn calendar(&self) -> Option<String> {
        self.calendar.value().cloned().flatten()
    }

    /// What an excluded day does; only with a calendar.
    pub fn on_excluded(&self) -> Option<OnExcluded> {
        self.calendar()
            .and(self.on_excluded.value().copied().flatten())
    }

    /// `notify` as ticked: none when nothing is ticked.
    pub fn spec(&self) -> Option<NotifySpec> {
        (!self.on.is_empty() || !self.to.is_empty()).then(|| NotifySpec {
            on: self.on.clone(),
            to: self.to.clone(),
        })
    }

    /// The rows: calendar (and on-excluded once one is chosen), the
    /// outcomes and the notify destinations.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = vec![Row::Field(Field::Calendar)];
        if self.calendar().is_some() {
            rows.push(Row::Field(Field::OnExcluded));
        }
        rows.extend((0..OUTCOMES.len()).map(|i| Row::Check(Field::NotifyOn, i)));
        if self.to_options.is_empty() {
            // Still a row, so a notify.to problem has a place.
            rows.push(Row::Field(Field::NotifyTo));
        } else {
            rows.extend((0..self.to_options.len()).map(|i| Row::Check(Field::NotifyTo, i)));
        }
        rows
    }

    /// The label of the `index`-th checkbox of `field` and whether it is ticked.
    pub fn check(&self, field: Field, index: usize) -> Option<(&str, bool)> {
        match field {
            Field::NotifyOn => OUTCOMES
                .get(index)
                .map(|(on, label)| (*label, self.on.contains(on))),
            Field::NotifyTo => self
                .to_options
                .get(index)
                .map(|name| (name.as_str(), self.to.contains(name))),
            _ => None,
        }
    }

    /// Tick or untick the `index`-th checkbox of `field`.
    pub fn toggle(&mut self, field: Field, index: usize) {
        fn flip<T: PartialEq + Clone>(list: &mut Vec<T>, item: &T) {
            if let Some(pos) = list.iter().position(|x| x == item) {
                list.remove(pos);
            } else {
                list.push(item.clone());
            }
        }
        match field {
            Field::NotifyOn => {
                if let Some((on, _)) = OUTCOMES.get(index) {
                    flip(&mut self.on, on);
                }
            }
            Field::NotifyTo => {
                if let Some(name) = self.to_options.get(index).cloned() {
                    flip(&mut self.to, &name);
                }
            }
            _ => {}
        }
    }

    /// Step the selector behind `field`; false if it is not one of these.
    pub fn step_choice(&mut self, field: Field, step: isize) -> bool {
        match field {
            Field::Calendar => self.calendar.step(step),
            Field::OnExcluded => self.on_excluded.step(step),
            _ => return false,
        }
        true
    }

    /// Labels of the selector behind `field` and which one is chosen.
    pub fn choice(&self, field: Field) -> Option<(Vec<&str>, usize)> {
        let c = match field {
            Field::Calendar => (
                self.calendar
                    .options
                    .iter()
                    .map(|(l, _)| l.as_str())
                    .collect(),
                self.calendar.selected,
            ),
            Field::OnExcluded => (
                self.on_excluded
                    .options
                    .iter()
                    .map(|(l, _)| l.as_str())
                    .collect(),
                self.on_excluded.selected,
            ),
            _ => return None,
        };
        Some(c)
    }
}
