//! A console with known data at a pinned clock: six jobs in four zones,
//! a run under way, failures, log lines.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::console::form::FormContext;
use crate::console::model::{Engine, JobDetails, JobRow, Model, RunDetails, Snapshot, upcoming};
use crate::console::view;
use crate::events::{Level, LogEvent};
use crate::store::{
    AttemptRecord, DeliveryRecord, InstanceInfo, JobRecord, JobStats, LastRun, LogLine, RunRecord,
    RunStatus, Trigger,
};

/// Sunday 8 March 2026, 14:03:07 UTC (GMT in London, EDT in New York:
/// the US changed its clocks that morning).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 8, 14, 3, 7).unwrap()
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 8, h, m, s).unwrap()
}

/// (name, schedule, zone, paused, argv)
const JOBS: &[(&str, &str, &str, bool, &str)] = &[
    (
        "daily-orders",
        "daily at 02:00",
        "Europe/London",
        false,
        "orders",
    ),
    (
        "inventory-sync",
        "every 5m",
        "America/New_York",
        true,
        "inventory",
    ),
    ("partner-feed", "0 */2 * * *", "Asia/Tokyo", false, "feed"),
    (
        "revenue-by-country",
        "every 30s",
        "Europe/London",
        false,
        "revenue",
    ),
    (
        "stock-levels",
        "every 1m",
        "America/New_York",
        false,
        "stock",
    ),
    (
        "weekly-report",
        "weekly on mon at 06:00",
        "Europe/Berlin",
        false,
        "report",
    ),
];

fn record(
    id: i64,
    (name, schedule, zone, paused, program): (&str, &str, &str, bool, &str),
) -> JobRecord {
    let tz = crate::schedule::parse_timezone(zone).unwrap();
    let parsed = crate::schedule::Schedule::parse(schedule, tz).unwrap();
    let definition = serde_json::json!({
        "name": name,
        "schedule": schedule,
        "timezone": zone,
        "source": { "kind": "command", "argv": [format!("/usr/local/bin/{program}"), "--csv"] },
        "format": { "kind": "csv" },
        "destinations": ["exports"],
        "retries": 2,
    });
    JobRecord {
        id,
        name: name.to_string(),
        schedule: schedule.to_string(),
        cron: parsed.cron().to_string(),
        timezone: zone.to_string(),
        definition: definition.to_string(),
        paused,
        created_at: now() - Duration::days(30),
        updated_at: now() - Duration::days(2),
        version: 3,
    }
}

/// A run of job `job_id` named `job`.
pub fn run(
    id: i64,
    job_id: i64,
    job: &str,
    status: RunStatus,
    trigger: Trigger,
    started: DateTime<Utc>,
    took_ms: Option<i64>,
) -> RunRecord {
    let finished = took_ms.map(|ms| started + Duration::milliseconds(ms));
    let ok = status == RunStatus::Succeeded;
    RunRecord {
        id,
        job_id,
        job_name: job.to_string(),
        trigger,
        status,
        slot: (trigger == Trigger::Schedule).then_some(started),
        scheduled_for: started,
        queued_at: started,
        started_at: (status != RunStatus::Skipped).then_some(started),
        finished_at: finished.or((status == RunStatus::Skipped).then_some(started)),
        attempt: if status == RunStatus::Failed { 3 } else { 1 },
        rows: ok.then_some(1_204 + id),
        bytes: ok.then_some(48_213 + 10 * id),
        outputs: if ok {
            vec![format!("/srv/exports/{job}/2026/03/08/{job}_{id}.csv")]
        } else {
            Vec::new()
        },
        error: match status {
            RunStatus::Failed => {
                Some("source: program exited with status 2: connection refused".into())
            }
            RunStatus::Cancelled => Some("cancelled on request".into()),
            RunStatus::Skipped => Some("overlap: the previous run was still running".into()),
            _ => None,
        },
        instance_id: Some("ops-1:4242:0badf00d".into()),
        retry_of: (trigger == Trigger::Retry).then_some(id - 1),
        content_hash: None,
        unchanged: false,
        schema: None,
        failed_check: None,
        held_until: None,
        retry_at: None,
    }
}

fn history() -> Vec<RunRecord> {
    use RunStatus::*;
    use Trigger::*;
    vec![
        run(
            120,
            4,
            "revenue-by-country",
            Running,
            Schedule,
            at(14, 3, 0),
            None,
        ),
        run(
            119,
            5,
            "stock-levels",
            Succeeded,
            Schedule,
            at(14, 3, 0),
            Some(640),
        ),
        run(
            118,
            4,
            "revenue-by-country",
            Succeeded,
            Schedule,
            at(14, 2, 30),
            Some(4_100),
        ),
        run(
            117,
            3,
            "partner-feed",
            Failed,
            Schedule,
            at(14, 0, 0),
            Some(92_000),
        ),
        run(
            116,
            5,
            "stock-levels",
            Succeeded,
            Schedule,
            at(14, 2, 0),
            Some(710),
        ),
        run(
            115,
            4,
            "revenue-by-country",
            Succeeded,
            Schedule,
            at(14, 2, 0),
            Some(3_900),
        ),
        run(
            114,
            5,
            "stock-levels",
            Skipped,
            Schedule,
            at(14, 1, 0),
            None,
        ),
        run(
            113,
            3,
            "partner-feed",
            Failed,
            Retry,
            at(12, 10, 0),
            Some(61_000),
        ),
        run(
            112,
            1,
            "daily-orders",
            Cancelled,
            Manual,
            at(11, 0, 0),
            Some(12_000),
        ),
        run(
            111,
            1,
            "daily-orders",
            Succeeded,
            Schedule,
            at(2, 0, 0),
            Some(125_000),
        ),
        run(
            110,
            3,
            "partner-feed",
            Succeeded,
            Schedule,
            at(10, 0, 0),
            Some(58_000),
        ),
    ]
}

fn stats(
    id: i64,
    runs: i64,
    errors: i64,
    streak: i64,
    last: Option<(i64, RunStatus, DateTime<Utc>)>,
) -> JobStats {
    JobStats {
        job_id: id,
        run_count: runs,
        error_count: errors,
        consecutive_failures: streak,
        last_run: last.map(|(run_id, status, t)| LastRun {
            run_id,
            status,
            scheduled_for: t,
            started_at: Some(t),
            finished_at: status.is_final().then_some(t + Duration::seconds(2)),
        }),
    }
}

fn jobs() -> Vec<JobRow> {
    let stats = [
        stats(1, 38, 1, 0, Some((112, RunStatus::Cancelled, at(11, 0, 0)))),
        stats(
            2,
            2_016,
            0,
            0,
            Some((90, RunStatus::Succeeded, at(9, 55, 0))),
        ),
        stats(3, 84, 7, 2, Some((117, RunStatus::Failed, at(14, 0, 0)))),
        stats(
            4,
            80_640,
            3,
            0,
            Some((120, RunStatus::Running, at(14, 3, 0))),
        ),
        stats(
            5,
            40_320,
            0,
            0,
            Some((119, RunStatus::Succeeded, at(14, 3, 0))),
        ),
    ];
    JOBS.iter()
        .enumerate()
        .map(|(i, job)| {
            let id = i as i64 + 1;
            let mut row =
                JobRow::from_record(record(id, *job), now(), &crate::job::Known::default());
            row.stats = stats.iter().find(|s| s.job_id == id).cloned();
            row
        })
        .collect()
}

/// Log lines: a run's progress and a scheduler line.
pub fn log_lines() -> Vec<LogEvent> {
    let line = |t: DateTime<Utc>, level, job: Option<(&str, i64)>, message: &str| LogEvent {
        ts: t,
        level,
        job: job.map(|(j, _)| j.to_string()),
        run_id: job.map(|(_, r)| r),
        message: message.to_string(),
    };
    vec![
        line(
            at(13, 58, 12),
            Level::Info,
            None,
            "scheduler started as ops-1:4242:0badf00d with 6 job(s), at most 4 run(s) at once",
        ),
        line(
            at(14, 0, 0),
            Level::Info,
            Some(("partner-feed", 117)),
            "attempt 3 of 3 started (schedule)",
        ),
        line(
            at(14, 1, 32),
            Level::Warn,
            Some(("partner-feed", 117)),
            "stderr: connection refused (partner.example:5432)",
        ),
        line(
            at(14, 1, 32),
            Level::Error,
            Some(("partner-feed", 117)),
            "failed: source: program exited with status 2: connection refused",
        ),
        line(
            at(14, 2, 30),
            Level::Info,
            Some(("revenue-by-country", 118)),
            "attempt 1 of 3 started (schedule)",
        ),
        line(
            at(14, 2, 34),
            Level::Info,
            Some(("revenue-by-country", 118)),
            "rendered 1322 rows, 49393 bytes of csv",
        ),
        line(
            at(14, 2, 34),
            Level::Info,
            Some(("revenue-by-country", 118)),
            "delivered to exports: /srv/exports/revenue-by-country/2026/03/08/revenue-by-country_140230.csv",
        ),
        line(
            at(14, 3, 0),
            Level::Info,
            Some(("stock-levels", 119)),
            "attempt 1 of 3 started (schedule)",
        ),
        line(
            at(14, 3, 0),
            Level::Info,
            Some(("revenue-by-country", 120)),
            "attempt 1 of 3 started (schedule)",
        ),
        line(
            at(14, 3, 1),
            Level::Info,
            Some(("stock-levels", 119)),
            "succeeded: 1323 rows, 49403 bytes, 1 output(s)",
        ),
    ]
}

/// The console at [`now`] with the embedded scheduler running.
pub fn model() -> Model {
    let context = FormContext {
        destinations: vec!["exports".into()],
        connections: vec!["shop".into()],
        default_timezone: "Europe/London".into(),
        existing_names: Vec::new(),
        ..FormContext::default()
    };
    let mut model = Model::new(
        now(),
        chrono_tz::Europe::London,
        "sqlite:///home/ops/.local/share/cronport/cronport.db".into(),
        Engine::Running,
        context,
    );
    model.color = false;
    let jobs = jobs();
    let history = history();
    let running = history
        .iter()
        .filter(|r| r.status == RunStatus::Running)
        .cloned()
        .collect();
    let snapshot = Snapshot {
        taken_at: Some(now()),
        upcoming: upcoming(&jobs, now(), Duration::hours(24), 500),
        strip: crate::console::strip::strip(&jobs, now(), Duration::hours(24), 48, 8),
        jobs,
        history,
        history_job: None,
        running,
        failures_by_day: vec![0, 1, 0, 0, 2, 0, 0, 3, 1, 0, 0, 0, 2, 2],
        failures_24h: 3,
        holder: None,
        counted: true,
        catchup: Vec::new(),
        made_destinations: Vec::new(),
    };
    model.update(crate::console::model::Msg::Snapshot(Box::new(snapshot)));
    model.update(crate::console::model::Msg::Logs(log_lines()));
    model
}

/// The same console attached to a headless instance on another host.
pub fn attached() -> Model {
    let mut model = model();
    let holder = InstanceInfo {
        id: "ops-1:4242:0badf00d".into(),
        hostname: "ops-1".into(),
        pid: 4242,
        version: "0.1.0".into(),
        started_at: now() - Duration::hours(26),
        takes_work: true,
    };
    model.data.holder = Some(holder.clone());
    model.engine = Engine::Attached(holder);
    model.store_url = "postgres://cronport:***@db.internal/cronport".into();
    model
}

/// A job view's data for `name`.
pub fn job_details(model: &Model, name: &str) -> JobDetails {
    let job = model.job(name).unwrap().clone();
    let runs = (0..40)
        .map(|i| {
            let status = if i % 9 == 4 {
                RunStatus::Failed
            } else {
                RunStatus::Succeeded
            };
            let took = 3_000 + (i * 733 % 2_900);
            run(
                200 - i,
                job.id,
                name,
                status,
                Trigger::Schedule,
                now() - Duration::seconds(30 * (i + 1)),
                Some(took),
            )
        })
        .collect();
    JobDetails { job, runs }
}

/// A run view's data for the failed run 117.
pub fn run_details() -> RunDetails {
    let run = history().into_iter().find(|r| r.id == 117).unwrap();
    let attempts = (1..=3)
        .map(|n| AttemptRecord {
            run_id: 117,
            attempt: n,
            started_at: at(13, 40, 0) + Duration::minutes(10 * i64::from(n - 1)),
            finished_at: Some(at(13, 40, 31) + Duration::minutes(10 * i64::from(n - 1))),
            status: RunStatus::Failed,
            error: Some("source: program exited with status 2: connection refused".into()),
        })
        .collect();
    let lines = log_lines()
        .into_iter()
        .filter(|l| l.run_id == Some(117))
        .enumerate()
        .map(|(seq, l)| LogLine {
            run_id: 117,
            seq: seq as i64,
            ts: l.ts,
            level: l.level.as_str().to_string(),
            message: l.message,
        })
        .collect();
    // The run failed at its second destination; the first was taken back.
    let delivery =
        |destination: &str, status: &str, location: Option<&str>, error: Option<&str>| {
            DeliveryRecord {
                destination: destination.into(),
                status: status.into(),
                location: location.map(Into::into),
                error: error.map(Into::into),
                fire_id: "daily-orders@20260307T134000.000Z".into(),
                attempt: 3,
                at: at(14, 0, 31),
            }
        };
    RunDetails {
        run,
        attempts,
        lines,
        deliveries: vec![
            delivery(
                "reports",
                "retracted",
                Some("exports/daily-orders/2026/03/07/daily-orders.csv"),
                None,
            ),
            delivery(
                "archive",
                "failed",
                None,
                Some("s3 put: connection refused"),
            ),
        ],
    }
}

/// The screen as text, `width` x `height`.
pub fn draw(model: &Model, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::render(model, frame)).unwrap();
    terminal.backend().to_string()
}
