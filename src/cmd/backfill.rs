//! `cronport jobs backfill NAME --from T --to T`: the plan, then the runs.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio_util::sync::CancellationToken;

use super::{Context, Failure, live_holder};
use crate::cli::BackfillArgs;
use crate::scheduler::backfill::{self, PlannedSlot, Progress, Runner};
use crate::scheduler::{RunOnceError, Solo, checked_job};
use crate::store::{RunStatus, Store};

pub(super) async fn run(ctx: &Context, store: Store, args: &BackfillArgs) -> Result<(), Failure> {
    let parts = ctx.parts(store.clone(), crate::events::bus());
    let (record, job) =
        checked_job(&store, &ctx.config, &args.name)
            .await
            .map_err(|e| match e {
                RunOnceError::UnknownJob(_) | RunOnceError::Invalid { .. } => {
                    Failure::BadInput(e.to_string())
                }
                e => Failure::Failed(e.to_string()),
            })?;
    let zone = job.schedule.timezone();
    let from = instant("--from", &args.from, zone, false)?;
    let to = instant("--to", &args.to, zone, true)?;
    if from > to {
        return Err(Failure::BadInput(format!(
            "--from ({}) is after --to ({})",
            local(from, zone),
            local(to, zone)
        )));
    }
    // Only slots that have come: a later one is the schedule's to run (it
    // would run twice, now and at its time).
    let now = Utc::now();
    if from > now {
        return Err(Failure::BadInput(format!(
            "--from ({}) is in the future: a backfill runs past slots",
            local(from, zone)
        )));
    }
    if to > now {
        println!(
            "--to ({}) is in the future: the backfill stops at now ({})",
            local(to, zone),
            local(now, zone)
        );
    }
    let to = to.min(now);
    let limit = ctx.config.scheduler.max_backfill_slots;
    let slots =
        match backfill::slots_between(&job, from, to, if args.yes { usize::MAX } else { limit }) {
            Ok(slots) => slots,
            Err(_) => {
                return Err(Failure::BadInput(format!(
                    "--from/--to: the range holds more than {limit} slots of {} \
                 ([scheduler] max_backfill_slots); pass --yes to run them all",
                    args.name
                )));
            }
        };
    let plan = backfill::plan(&store, record.id, &slots.run).await?;
    print_plan(&args.name, zone, from, to, &plan, &slots, args);
    if args.dry_run {
        println!("dry run: nothing was queued");
        return Ok(());
    }
    let to_run: Vec<DateTime<Utc>> = plan
        .iter()
        .filter(|s| s.runs(args.rerun))
        .map(|s| s.slot)
        .collect();
    if to_run.is_empty() {
        println!("nothing to run");
        return Ok(());
    }
    let since = Utc::now();
    let job = Arc::new(job);
    let mut shown = Shown::new(to_run.len(), zone);
    let concurrency = usize::try_from(args.concurrency).unwrap_or(1);
    let stopped;
    if let Some(holder) = live_holder(&store).await? {
        println!(
            "the runs are queued for the running instance(s) ({} holds the lease)",
            holder.id
        );
        let stop = ctrl_c_token();
        backfill::run(
            &store,
            Runner::Instances,
            record.id,
            to_run,
            args.rerun,
            backfill::Pace::of(&job, concurrency),
            since,
            &stop,
            |p| shown.progress(p),
        )
        .await?;
        stopped = stop.is_cancelled();
    } else {
        println!("no instance is running: the runs happen in this process");
        let solo = Solo::start(parts).await?;
        let result = backfill::run(
            &store,
            Runner::Here(&solo, job.clone()),
            record.id,
            to_run,
            args.rerun,
            backfill::Pace::of(&job, concurrency),
            since,
            &solo.interrupted,
            |p| shown.progress(p),
        )
        .await;
        stopped = solo.interrupted.is_cancelled();
        solo.leave().await?;
        result?;
    }
    shown.finish(stopped)
}

/// A token cancelled by Ctrl-C.
fn ctrl_c_token() -> CancellationToken {
    let token = CancellationToken::new();
    let set = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            set.cancel();
        }
    });
    token
}

/// `--from`/`--to`, read as [`backfill::parse_instant`] reads them.
fn instant(flag: &str, text: &str, zone: Tz, end: bool) -> Result<DateTime<Utc>, Failure> {
    backfill::parse_instant(text, zone, end).map_err(|e| Failure::BadInput(format!("{flag} {e}")))
}

fn local(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%a %Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

fn print_plan(
    name: &str,
    zone: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    plan: &[PlannedSlot],
    slots: &backfill::Slots,
    args: &BackfillArgs,
) {
    let skipped = &slots.skipped;
    let runs = plan.iter().filter(|s| s.runs(args.rerun)).count();
    let done = plan.iter().filter(|s| s.state.succeeded.is_some()).count();
    let active = plan.iter().filter(|s| s.state.active.is_some()).count();
    println!(
        "backfill of {name} ({zone}) from {} to {}: {} slot(s)",
        local(from, zone),
        local(to, zone),
        plan.len()
    );
    if !skipped.is_empty() {
        println!(
            "  {} more slot(s) the job's calendar, blackouts or bounds skip",
            skipped.len()
        );
    }
    let done_note = if args.rerun {
        "run again (--rerun)"
    } else {
        "left alone (--rerun runs them again)"
    };
    println!(
        "  {runs} to run, oldest first, at most {} at a time; {done} already succeeded, {done_note}; \
         {active} queued or running now, left alone",
        args.concurrency
    );
    if !args.dry_run {
        return;
    }
    let mut lines: Vec<(DateTime<Utc>, String)> = skipped
        .iter()
        .map(|(slot, why)| (*slot, format!("skipped: {why}")))
        .collect();
    for s in plan {
        let what = match (s.state.active, s.state.succeeded) {
            (Some(id), _) => format!("queued or running now (run {id}): left alone"),
            (None, Some(id)) if !args.rerun => format!("succeeded (run {id}): left alone"),
            (None, Some(id)) => format!("succeeded (run {id}): runs again"),
            (None, None) => "runs".to_string(),
        };
        let what = match slots.moved.iter().find(|(slot, _)| *slot == s.slot) {
            Some((_, why)) => format!("{what} (its scheduled run moved: {why})"),
            None => what,
        };
        lines.push((s.slot, what));
    }
    lines.sort_by_key(|(slot, _)| *slot);
    for (slot, what) in lines {
        println!(
            "  {}  {}  {what}",
            slot.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            local(slot, zone)
        );
    }
}

/// The progress shown while a backfill runs: a bar on a terminal, a line
/// per slot otherwise.
struct Shown {
    total: usize,
    zone: Tz,
    bar: bool,
    succeeded: usize,
    failed: usize,
    left_alone: usize,
    withdrawn: usize,
}

impl Shown {
    fn new(total: usize, zone: Tz) -> Shown {
        Shown {
            total,
            zone,
            bar: std::io::stdout().is_terminal(),
            succeeded: 0,
            failed: 0,
            left_alone: 0,
            withdrawn: 0,
        }
    }

    fn progress(&mut self, progress: Progress) {
        let line = match progress {
            Progress::Queued(..) => None,
            Progress::LeftAlone(slot) => {
                self.left_alone += 1;
                Some(format!(
                    "{}  left alone: another run of it is queued, running or succeeded by now",
                    self.slot(slot)
                ))
            }
            Progress::Withdrawn(slot, id) => {
                self.withdrawn += 1;
                Some(format!(
                    "{}  run {id} withdrawn before it started",
                    self.slot(slot)
                ))
            }
            Progress::Ended(slot, run) => {
                let line = match run.status {
                    RunStatus::Succeeded => {
                        self.succeeded += 1;
                        format!(
                            "run {} succeeded: {} rows, {} bytes",
                            run.id,
                            run.rows.unwrap_or(0),
                            run.bytes.unwrap_or(0)
                        )
                    }
                    status => {
                        self.failed += 1;
                        format!("run {} {status}: {}", run.id, run.error.unwrap_or_default())
                    }
                };
                Some(format!("{}  {line}", self.slot(slot)))
            }
        };
        if self.bar {
            self.draw();
        } else if let Some(line) = line {
            println!("{line}");
        }
    }

    fn slot(&self, slot: DateTime<Utc>) -> String {
        local(slot, self.zone)
    }

    fn draw(&self) {
        const WIDTH: usize = 30;
        let done = self.succeeded + self.failed + self.left_alone + self.withdrawn;
        let filled = (done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
        print!(
            "\r[{}{}] {done}/{} done: {} succeeded, {} failed, {} left alone ",
            "#".repeat(filled),
            ".".repeat(WIDTH - filled.min(WIDTH)),
            self.total,
            self.succeeded,
            self.failed,
            self.left_alone
        );
        let _ = std::io::stdout().flush();
    }

    fn finish(&self, stopped: bool) -> Result<(), Failure> {
        if self.bar {
            println!();
        }
        let summary = format!(
            "{} succeeded, {} failed, {} left alone, {} withdrawn, of {}",
            self.succeeded, self.failed, self.left_alone, self.withdrawn, self.total
        );
        if stopped {
            return Err(Failure::Failed(format!("backfill stopped: {summary}")));
        }
        if self.failed > 0 {
            return Err(Failure::Failed(format!(
                "backfill done with failures: {summary}"
            )));
        }
        println!("backfill done: {summary}");
        Ok(())
    }
}
