//! What webhook and email destinations say about a run: after a delivery, or
//! as a notification of a failure, a recovery or a success, or of a run
//! that is late, stuck, or on time again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Artifact, fire_id};
use crate::export::RunContext;

/// Why a notice is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// An export was delivered (the destination itself is the delivery).
    Delivery,
    /// A run failed after its last attempt.
    Failure,
    /// A run succeeded after one or more failed runs.
    Recovery,
    /// A run succeeded.
    Success,
    /// A scheduled slot has not started within the job's `alert_if_late`.
    Late,
    /// A run is still running after the job's `alert_if_running_over`.
    Stuck,
    /// The late slot started, or the stuck run ended.
    OnTime,
    /// A check failed and the run's output is held until someone releases
    /// or discards it.
    Held,
}

impl NoticeKind {
    /// The word used in config and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Delivery => "delivery",
            NoticeKind::Failure => "failure",
            NoticeKind::Recovery => "recovery",
            NoticeKind::Success => "success",
            NoticeKind::Late => "late",
            NoticeKind::Stuck => "stuck",
            NoticeKind::OnTime => "on_time",
            NoticeKind::Held => "held",
        }
    }
}

/// Which run outcomes a job notifies about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyOn {
    /// The first failed run after a success (not every failure after it).
    Failure,
    /// The first success after failed runs, with how many failed.
    Recovery,
    /// Every successful run.
    Success,
}

/// A job's `notify = { on = [...], to = [...] }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySpec {
    /// The outcomes to notify about.
    pub on: Vec<NotifyOn>,
    /// Webhook, email, slack or teams destinations to notify through.
    pub to: Vec<String>,
}

impl NotifySpec {
    /// Problems as (key under `notify`, message).
    pub fn problems(
        &self,
        known_destinations: &std::collections::BTreeSet<String>,
    ) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.on.is_empty() {
            problems.push((
                "notify.on".to_string(),
                "list at least one of \"failure\", \"recovery\", \"success\"".to_string(),
            ));
        }
        if self.to.is_empty() {
            problems.push((
                "notify.to".to_string(),
                "list at least one webhook, email, slack or teams destination".to_string(),
            ));
        }
        for (i, name) in self.to.iter().enumerate() {
            if !known_destinations.contains(name) {
                problems.push((
                    format!("notify.to[{i}]"),
                    format!("{name:?} is not defined under [destinations] in the config"),
                ));
            }
        }
        problems
    }
}

/// The facts of one run, as sent in a JSON notice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Why it is sent.
    pub event: NoticeKind,
    /// The job.
    pub job: String,
    /// The run.
    pub run_id: i64,
    /// The stable id of the slot (see [`fire_id`]).
    pub fire_id: String,
    /// The run's status: `succeeded` or `failed` when it ended; `queued`
    /// or `running` for a late or stuck run.
    pub status: String,
    /// The slot.
    pub scheduled_for: DateTime<Utc>,
    /// Rows exported, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Bytes exported, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The export's file name, for deliveries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Where the export went (the link to it).
    pub outputs: Vec<String>,
    /// What went wrong, for failures; for a late or stuck run, how late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For a recovery: how many runs failed before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_runs: Option<u32>,
}

impl Notice {
    /// The notice of a delivery of `artifact`.
    pub fn delivery(artifact: &Artifact, ctx: &RunContext, file: String) -> Notice {
        Notice {
            event: NoticeKind::Delivery,
            job: ctx.job.clone(),
            run_id: ctx.run_id,
            fire_id: fire_id(ctx),
            status: "succeeded".into(),
            scheduled_for: ctx.scheduled_for,
            rows: Some(artifact.rows),
            bytes: Some(artifact.bytes),
            file: Some(file),
            outputs: artifact.delivered.clone(),
            error: None,
            failed_runs: None,
        }
    }

    /// Sent once per fire and event: receivers drop repeats with this key.
    pub fn idempotency_key(&self) -> String {
        match self.event {
            NoticeKind::Delivery => self.fire_id.clone(),
            other => format!("{}:{}", self.fire_id, other.as_str()),
        }
    }

    /// One line for chat tools and subjects.
    pub fn summary(&self) -> String {
        let when = self.scheduled_for.format("%Y-%m-%d %H:%M UTC");
        match self.event {
            NoticeKind::Delivery => format!(
                "cronport: {} exported {} rows for {when}{}",
                self.job,
                self.rows.unwrap_or(0),
                self.outputs
                    .first()
                    .map(|o| format!(": {o}"))
                    .unwrap_or_default()
            ),
            NoticeKind::Failure => format!(
                "cronport: {} failed (run {}, {when}): {}",
                self.job,
                self.run_id,
                self.error.as_deref().unwrap_or("no error recorded")
            ),
            NoticeKind::Recovery => format!(
                "cronport: {} recovered (run {}, {when}) after {} failed run(s)",
                self.job,
                self.run_id,
                self.failed_runs.unwrap_or(0)
            ),
            NoticeKind::Success => format!(
                "cronport: {} succeeded (run {}, {when}): {} rows",
                self.job,
                self.run_id,
                self.rows.unwrap_or(0)
            ),
            NoticeKind::Late => format!(
                "cronport: {} is late: the run for {when} (run {}) {}",
                self.job,
                self.run_id,
                self.error.as_deref().unwrap_or("has not started")
            ),
            NoticeKind::Stuck => format!(
                "cronport: {} is stuck: run {} (slot {when}) {}",
                self.job,
                self.run_id,
                self.error.as_deref().unwrap_or("is still running")
            ),
            NoticeKind::OnTime => format!(
                "cronport: {} is on time again: run {} (slot {when}) is {}",
                self.job, self.run_id, self.status
            ),
            NoticeKind::Held => format!(
                "cronport: {} held (run {}, {when}): {}",
                self.job,
                self.run_id,
                self.error.as_deref().unwrap_or("a check failed")
            ),
        }
    }

    /// The value of a `{placeholder}` in subject and body templates.
    pub fn placeholder(&self, name: &str) -> Option<String> {
        Some(match name {
            "job" => self.job.clone(),
            "run_id" => self.run_id.to_string(),
            "fire_id" => self.fire_id.clone(),
            "event" => self.event.as_str().to_string(),
            "status" => self.status.clone(),
            "scheduled_for" => self.scheduled_for.to_rfc3339(),
            "date" => self.scheduled_for.format("%Y-%m-%d").to_string(),
            "rows" => self.rows.map(|r| r.to_string()).unwrap_or_default(),
            "bytes" => self.bytes.map(|b| b.to_string()).unwrap_or_default(),
            "file" => self.file.clone().unwrap_or_default(),
            "outputs" => self.outputs.join("\n"),
            "error" => self.error.clone().unwrap_or_default(),
            "failed_runs" => self.failed_runs.map(|n| n.to_string()).unwrap_or_default(),
            "summary" => self.summary(),
            _ => return None,
        })
    }
}

/// The placeholders templates may use.
pub const PLACEHOLDERS: &[&str] = &[
    "job",
    "run_id",
    "fire_id",
    "event",
    "status",
    "scheduled_for",
    "date",
    "rows",
    "bytes",
    "file",
    "outputs",
    "error",
    "failed_runs",
    "summary",
];

/// Fill `{name}` placeholders; `{{` and `}}` are literal braces.
pub fn render_template(template: &str, notice: &Notice) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(close) = tail.find('}').filter(|_| tail.starts_with('{')) {
            let name = &tail[1..close];
            if let Some(value) = notice.placeholder(name) {
                out.push_str(&value);
                rest = &tail[close + 1..];
                continue;
            }
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// Check a template when the config is loaded: every `{name}` is known.
pub fn check_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            rest = after;
            continue;
        }
        let Some(close) = tail.find('}') else {
            return Err(format!("unclosed {{ in {template:?}"));
        };
        let name = &tail[1..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}}; use one of {}",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        rest = &tail[close + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn notice() -> Notice {
        Notice {
            event: NoticeKind::Recovery,
            job: "daily".into(),
            run_id: 7,
            fire_id: "daily@20260308T020000.000Z".into(),
            status: "succeeded".into(),
            scheduled_for: Utc.with_ymd_and_hms(2026, 3, 8, 2, 0, 0).unwrap(),
            rows: Some(12),
            bytes: Some(300),
            file: None,
            outputs: vec![],
            error: None,
            failed_runs: Some(3),
        }
    }

    #[test]
    fn templates_fill_known_placeholders_and_keep_literal_braces() {
        let text = render_template("{job} back after {failed_runs} {{fails}} {nope}", &notice());
        assert_eq!(text, "daily back after 3 {fails} {nope}");
        assert_eq!(
            notice().idempotency_key(),
            "daily@20260308T020000.000Z:recovery"
        );
        assert!(notice().summary().contains("after 3 failed run(s)"));
    }

    #[test]
    fn unknown_placeholders_are_refused_by_name() {
        assert!(check_template("{job} {{x}} {rows}").is_ok());
        let err = check_template("{job} {secret}").unwrap_err();
        assert!(err.starts_with("unknown placeholder {secret}"), "{err}");
        assert!(check_template("{job").is_err());
    }
}
