//! One attempt's steps, in the one place that decides what becomes of a
//! rendered output: render it, judge it by the job's checks, deliver it or
//! not (a failed check holds, skips or fails the run; `deliver =
//! "on_change"` sends nothing when the content is the same as the last
//! delivered run's), record what happened, and hand the file over to be
//! kept. The executor only carries the steps out; every record of the
//! attempt is written here, through the scheduler's group commit.

use chrono::{DateTime, Utc};

use super::recorder::Request;
use super::runner::Shared;
use crate::export::delivery::Outcome;
use crate::export::pipeline::{CheckStop, Measure, Rendered};
use crate::export::{ExportError, ExportOutput, RunContext};
use crate::job::{Baseline, CheckAction, CheckFailure, Job};
use crate::store::{JobId, RunWrite};

/// What to do with a rendered output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send it to every destination.
    Deliver,
    /// Send nothing: its content is the same as the last delivered run's.
    Unchanged,
    /// A check failed: keep it undelivered until someone releases or
    /// discards it, or its hold expires.
    Hold,
    /// A check failed: send nothing; the run is skipped, not failed.
    Skip,
    /// A check failed: the run fails with the check's message.
    Fail,
}

/// What to do with `rendered` for `job`, given the check it failed (if
/// any) and the content hash of the job's last delivered run. A failed
/// check decides first: an output that fails one is not sent whether or
/// not it changed. Without a hash on either side (a job that always
/// delivers, a first run) it is delivered.
pub fn decide(
    job: &Job,
    rendered: &Rendered,
    failed: Option<&CheckFailure>,
    last_delivered: Option<&str>,
) -> Decision {
    if let (Some(_), Some(checks)) = (failed, job.policy.checks) {
        return match checks.action {
            CheckAction::Hold => Decision::Hold,
            CheckAction::Skip => Decision::Skip,
            CheckAction::Fail => Decision::Fail,
        };
    }
    match (&rendered.content_hash, last_delivered) {
        (Some(now), Some(before)) if job.policy.on_change && now == before => Decision::Unchanged,
        _ => Decision::Deliver,
    }
}

/// Carry out one attempt of `job` (run `ctx.run_id`), recording what it
/// did. Dropping the future cancels it: the rendered file is removed and
/// deliveries already made are taken back.
pub(super) async fn attempt(
    shared: &Shared,
    job: &Job,
    job_id: JobId,
    ctx: &RunContext,
) -> Result<ExportOutput, ExportError> {
    let on_change = job.policy.on_change;
    let checks = job.policy.checks;
    let last_delivered = if on_change {
        last_delivered(shared, job_id).await
    } else {
        None
    };
    let baseline = match checks {
        Some(c) if c.needs_baseline() => baseline(shared, job_id, c.schema_stable).await,
        _ => Baseline::default(),
    };
    let measure = Measure {
        hash: on_change,
        schema: checks.is_some_and(|c| c.schema_stable),
    };
    let rendered = shared.executor.render(job, ctx, measure).await?;
    let failed = checks.and_then(|c| {
        c.judge(
            rendered.rows,
            rendered.schema.as_deref().unwrap_or_default(),
            &baseline,
        )
    });
    let decision = decide(job, &rendered, failed.as_ref(), last_delivered.as_deref());
    if let Some(hash) = &rendered.content_hash {
        write(
            shared,
            RunWrite::Content {
                run_id: ctx.run_id,
                hash: hash.clone(),
                unchanged: decision == Decision::Unchanged,
            },
        )
        .await;
    }
    let held_until = match (decision, checks) {
        (Decision::Hold, Some(c)) => Some(
            chrono::Duration::from_std(c.hold_for)
                .ok()
                .and_then(|d| shared.clock.now().checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        ),
        _ => None,
    };
    if checks.is_some() {
        record_checks(shared, ctx, &rendered, failed.as_ref(), held_until).await;
    }
    let stopped = |held: bool, message: String| ExportOutput {
        rows: rendered.rows,
        bytes: rendered.bytes,
        outputs: Vec::new(),
        unchanged: false,
        checked: Some(CheckStop { message, held }),
    };
    let result = match (decision, failed) {
        (Decision::Hold, Some(failed)) => {
            tracing::warn!(
                "held: {}; nothing delivered until `cronport runs release {}` \
                 (or `runs discard`); the hold expires at {}",
                failed.message,
                ctx.run_id,
                held_until.map_or_else(
                    || "?".into(),
                    |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            );
            Ok(stopped(true, failed.message))
        }
        (Decision::Skip, Some(failed)) => {
            tracing::warn!("skipped by a check: {}; nothing delivered", failed.message);
            Ok(stopped(false, failed.message))
        }
        // Not retried (see `Failure::retryable`): another attempt would
        // render the same data and fail the same check.
        (Decision::Fail, Some(failed)) => Err(ExportError::Check(failed.message)),
        (Decision::Unchanged, _) => {
            tracing::info!(
                "unchanged: the output is the same as the last delivered run's ({}); \
                 nothing delivered",
                short(rendered.content_hash.as_deref())
            );
            Ok(ExportOutput {
                rows: rendered.rows,
                bytes: rendered.bytes,
                outputs: Vec::new(),
                unchanged: true,
                checked: None,
            })
        }
        _ => match shared.executor.deliver(job, &rendered, ctx).await {
            Ok(outcome) => {
                record_deliveries(shared, &outcome, ctx).await;
                outcome.into_output(rendered.rows, rendered.bytes)
            }
            Err(e) => Err(e),
        },
    };
    // Kept whatever happened at the destinations: `runs redeliver` sends a
    // failed or unchanged run's output as it was rendered, and `runs
    // release` a held one's.
    shared.executor.keep(rendered, ctx, held_until).await;
    result
}

/// What the checks compare with. The runs before this one may still sit in
/// the recorder's queue, so that is committed first. A store that cannot be
/// read leaves nothing to compare with: those checks pass, and the ones
/// that need no history (rows, emptiness) still judge.
async fn baseline(shared: &Shared, job_id: JobId, schema: bool) -> Baseline {
    shared.recorder.flush().await;
    match shared.store.check_baseline(job_id, schema).await {
        Ok(found) => Baseline {
            rows: found.rows.and_then(|r| u64::try_from(r).ok()),
            schema: found.schema,
        },
        Err(e) => {
            tracing::warn!(
                "could not read the last succeeded run for the checks, \
                 so max_change and schema pass: {e}"
            );
            Baseline::default()
        }
    }
}

/// Record the output's columns (the next run's schema check compares with
/// them), the check that failed and when a hold expires.
async fn record_checks(
    shared: &Shared,
    ctx: &RunContext,
    rendered: &Rendered,
    failed: Option<&CheckFailure>,
    held_until: Option<DateTime<Utc>>,
) {
    let schema = rendered
        .schema
        .as_ref()
        .and_then(|s| serde_json::to_string(s).ok());
    write(
        shared,
        RunWrite::Checked {
            run_id: ctx.run_id,
            schema,
            failed_check: failed.map(|f| f.check.to_string()),
            held_until,
        },
    )
    .await;
}

/// The content hash of the job's last delivered run. The runs before this
/// one may still sit in the recorder's queue, so that is committed first.
/// A store that cannot be read means delivering: sending a report twice
/// does less harm than not sending a changed one.
async fn last_delivered(shared: &Shared, job_id: JobId) -> Option<String> {
    shared.recorder.flush().await;
    match shared.store.last_delivered_hash(job_id).await {
        Ok(hash) => hash,
        Err(e) => {
            tracing::warn!(
                "could not read the last delivered run's content hash, delivering anyway: {e}"
            );
            None
        }
    }
}

/// Record the outcome at each destination, in the run's next group commit.
/// The run does not wait for the commit: waiting made every run as slow as
/// the store's busiest commit (with 1,000 runs a second, over a second, so
/// every-second jobs skipped slots), and a crash between the delivery and
/// its record is not closed by waiting anyway, only narrowed. A retry of a
/// run whose instance died finds what was recorded; what was delivered and
/// not yet recorded is delivered again under the same name (see `fire_id`).
async fn record_deliveries(shared: &Shared, outcome: &Outcome, ctx: &RunContext) {
    let records = super::delivery_records(outcome, ctx);
    for record in &records {
        crate::metrics::delivered(&record.destination, &record.status);
    }
    if !records.is_empty() {
        write(
            shared,
            RunWrite::Delivered {
                run_id: ctx.run_id,
                records,
            },
        )
        .await;
    }
}

async fn write(shared: &Shared, write: RunWrite) {
    let _ = shared.recorder.send(Request::Write(write)).await;
}

/// The first 12 hex digits of a hash, for log lines.
fn short(hash: Option<&str>) -> &str {
    hash.map_or("?", crate::export::pipeline::short_hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{JobSpec, Known};

    fn job(extra: &str) -> Job {
        let text = format!(
            "name = \"a\"\nschedule = \"every 5m\"\n\
             source = {{ kind = \"command\", argv = [\"true\"] }}\n\
             format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n{extra}"
        );
        let spec: JobSpec = toml::from_str(&text).expect("decodes");
        let known = Known {
            destinations: ["out".to_string()].into(),
            ..Known::default()
        };
        spec.validate(&known).expect("valid")
    }

    fn rendered(hash: Option<&str>) -> Rendered {
        Rendered {
            content_hash: hash.map(str::to_string),
            ..Rendered::nothing()
        }
    }

    fn failed() -> CheckFailure {
        CheckFailure {
            check: "not_empty",
            message: "not_empty: the output has no rows".into(),
        }
    }

    #[test]
    fn a_failed_check_decides_by_on_check_fail_before_on_change() {
        let same = rendered(Some("xxh3:1"));
        for (word, want) in [
            ("hold", Decision::Hold),
            ("skip", Decision::Skip),
            ("fail", Decision::Fail),
        ] {
            let job = job(&format!(
                "deliver = \"on_change\"\nchecks = {{ not_empty = true }}\non_check_fail = \"{word}\""
            ));
            assert_eq!(decide(&job, &same, Some(&failed()), Some("xxh3:1")), want);
            // Passing, the same content is unchanged and new content delivered.
            assert_eq!(
                decide(&job, &same, None, Some("xxh3:1")),
                Decision::Unchanged
            );
            assert_eq!(decide(&job, &same, None, Some("xxh3:0")), Decision::Deliver);
        }
        // Without checks a check failure cannot come up; it delivers.
        let plain = job("");
        assert_eq!(
            decide(&plain, &rendered(None), None, None),
            Decision::Deliver
        );
    }
}
