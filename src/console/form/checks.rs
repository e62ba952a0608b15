//! The checks part of the form: `checks` (not_empty, min_rows, max_rows,
//! max_change, schema), `on_check_fail` and `hold_for`. The values become a
//! job definition's keys and are judged by the same validation as a config
//! file's, so the form shows the same error texts.

use std::collections::BTreeMap;

use tui_input::Input;

use super::choice::Choice;
use super::fields::{Field, Row};
use crate::config::duration::HumanDuration;
use crate::job::{ChecksSpec, OnCheckFail, Written};

/// The check fields as edited.
#[derive(Clone, Debug)]
pub struct ChecksValues {
    pub(crate) not_empty: Choice<bool>,
    pub(crate) min_rows: Input,
    pub(crate) max_rows: Input,
    pub(crate) max_change: Input,
    pub(crate) schema: Choice<bool>,
    pub(crate) on_fail: Choice<Option<OnCheckFail>>,
    pub(crate) hold_for: Input,
    /// Keys of the job's `checks` that are no check: kept, so the
    /// definition's own error still shows (they cannot be typed here).
    unknown: BTreeMap<String, serde_json::Value>,
}

/// A typed row count, or why not; empty is none.
pub(super) fn count(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| format!("{text:?} is not a whole number of rows"))
}

impl ChecksValues {
    /// The values of a job's checks keys.
    pub fn new(
        checks: Option<&ChecksSpec>,
        on_fail: Option<&OnCheckFail>,
        hold_for: Option<HumanDuration>,
    ) -> Self {
        let spec = checks.cloned().unwrap_or_default();
        let number = |n: Option<i64>| Input::new(n.map(|n| n.to_string()).unwrap_or_default());
        let on_fail = on_fail.cloned();
        let mut options = vec![
            ("default: hold".to_string(), None),
            ("hold".into(), Some(OnCheckFail::Hold)),
            ("skip".into(), Some(OnCheckFail::Skip)),
            ("fail".into(), Some(OnCheckFail::Fail)),
        ];
        // A word the job has that is none of these stays, so its error shows.
        if let Some(word @ OnCheckFail::Unknown(_)) = &on_fail {
            options.push((word.as_str().to_string(), Some(word.clone())));
        }
        ChecksValues {
            not_empty: Choice::new(
                vec![("no".into(), false), ("yes".into(), true)],
                &spec.not_empty.unwrap_or(false),
            ),
            min_rows: number(spec.min_rows),
            max_rows: number(spec.max_rows),
            max_change: Input::new(match &spec.max_change {
                Some(Written::Text(text)) => text.clone(),
                Some(number @ Written::Number(_)) => number.to_string(),
                None => String::new(),
            }),
            schema: Choice::new(
                vec![("off".into(), false), ("stable".into(), true)],
                &(spec.schema.as_deref() == Some("stable")),
            ),
            on_fail: Choice::new(options, &on_fail),
            hold_for: Input::new(hold_for.map(|d| d.to_string()).unwrap_or_default()),
            unknown: spec.unknown,
        }
    }

    /// The rows, in order.
    pub fn rows(&self) -> Vec<Row> {
        [
            Field::NotEmpty,
            Field::CheckMinRows,
            Field::CheckMaxRows,
            Field::MaxChange,
            Field::SchemaCheck,
            Field::OnCheckFail,
            Field::HoldFor,
        ]
        .map(Row::Field)
        .to_vec()
    }

    /// The text input behind `field`.
    pub fn input(&self, field: Field) -> Option<&Input> {
        match field {
            Field::CheckMinRows => Some(&self.min_rows),
            Field::CheckMaxRows => Some(&self.max_rows),
            Field::MaxChange => Some(&self.max_change),
            Field::HoldFor => Some(&self.hold_for),
            _ => None,
        }
    }

    /// The text input behind `field`, to type into.
    pub fn input_mut(&mut self, field: Field) -> Option<&mut Input> {
        match field {
            Field::CheckMinRows => Some(&mut self.min_rows),
            Field::CheckMaxRows => Some(&mut self.max_rows),
            Field::MaxChange => Some(&mut self.max_change),
            Field::HoldFor => Some(&mut self.hold_for),
            _ => None,
        }
    }

    /// Step the selector behind `field`; false if `field` is not one.
    pub fn step_choice(&mut self, field: Field, step: isize) -> bool {
        match field {
            Field::NotEmpty => self.not_empty.step(step),
            Field::SchemaCheck => self.schema.step(step),
            Field::OnCheckFail => self.on_fail.step(step),
            _ => return false,
        }
        true
    }

    /// Labels of the selector behind `field` and which one is chosen.
    pub fn choice(&self, field: Field) -> Option<(Vec<&str>, usize)> {
        match field {
            Field::NotEmpty => Some(self.not_empty.labels()),
            Field::SchemaCheck => Some(self.schema.labels()),
            Field::OnCheckFail => Some(self.on_fail.labels()),
            _ => None,
        }
    }

    /// `checks` as typed (none when every check is off), or the problems
    /// of fields that are not even numbers, as (field, message).
    pub fn spec(&self) -> Result<Option<ChecksSpec>, Vec<(Field, String)>> {
        let mut problems = Vec::new();
        let mut number = |field: Field, input: &Input| {
            count(input.value()).unwrap_or_else(|message| {
                problems.push((field, message));
                None
            })
        };
        let min_rows = number(Field::CheckMinRows, &self.min_rows);
        let max_rows = number(Field::CheckMaxRows, &self.max_rows);
        if !problems.is_empty() {
            return Err(problems);
        }
        let change = self.max_change.value().trim();
        let spec = ChecksSpec {
            not_empty: self.not_empty.value().copied().filter(|on| *on),
            min_rows,
            max_rows,
            max_change: (!change.is_empty()).then(|| Written::Text(change.to_string())),
            schema: self
                .schema
                .value()
                .copied()
                .filter(|on| *on)
                .map(|_| "stable".to_string()),
            unknown: self.unknown.clone(),
        };
        Ok((spec != ChecksSpec::default()).then_some(spec))
    }

    /// `on_check_fail` as chosen.
    pub fn on_fail(&self) -> Option<OnCheckFail> {
        self.on_fail.value().cloned().flatten()
    }

    /// `hold_for` as typed, or why it is not a duration.
    pub fn hold_for(&self) -> Result<Option<HumanDuration>, String> {
        let text = self.hold_for.value().trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<HumanDuration>()
            .map(Some)
            .map_err(|e| e.to_string())
    }
}
