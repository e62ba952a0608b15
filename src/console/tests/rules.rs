//! The console shows a job's fires with its rules applied: the job view
//! says why a fire is skipped or moved, Upcoming leaves skipped fires out,
//! and a job past its `end_at` shows as ended.

use chrono::{Duration, TimeZone as _, Utc};

use super::fixtures::{self, draw, now};
use crate::console::model::{JobDetails, JobRow, Screen, upcoming};
use crate::job::Known;
use crate::store::JobRecord;

fn known() -> Known {
    Known {
        destinations: ["exports".to_string()].into(),
        ..Known::default()
    }
}

/// A stored job with `rules` (JSON keys) added to a plain definition.
fn record(id: i64, name: &str, schedule: &str, rules: serde_json::Value) -> JobRecord {
    let mut definition = serde_json::json!({
        "name": name,
        "schedule": schedule,
        "timezone": "America/New_York",
        "source": { "kind": "command", "argv": ["true"] },
        "format": { "kind": "csv" },
        "destinations": ["exports"],
    });
    if let (Some(d), Some(r)) = (definition.as_object_mut(), rules.as_object()) {
        d.extend(r.clone());
    }
    JobRecord {
        id,
        name: name.into(),
        schedule: schedule.into(),
        cron: schedule.into(),
        timezone: "America/New_York".into(),
        definition: definition.to_string(),
        paused: false,
        created_at: now() - Duration::days(3),
        updated_at: now() - Duration::days(3),
        version: 1,
    }
}

#[test]
fn the_job_view_says_why_fires_are_skipped_and_upcoming_leaves_them_out() {
    // Sunday 2026-03-08 10:03 in New York: every hour, blacked out until
    // 12:00 on Sundays.
    let job = JobRow::from_record(
        record(
            1,
            "hourly",
            "0 * * * *",
            serde_json::json!({ "blackout": ["sun 00:00-12:00"] }),
        ),
        now(),
        &known(),
    );
    assert!(job.checked.is_some(), "the job fits the config");
    let noon = Utc.with_ymd_and_hms(2026, 3, 8, 16, 0, 0).unwrap();
    assert_eq!(
        job.next_run,
        Some(noon),
        "the first fire after the blackout"
    );
    let fires = upcoming(std::slice::from_ref(&job), now(), Duration::hours(24), 50);
    assert!(fires.iter().all(|f| f.at >= noon), "{fires:?}");

    let mut model = fixtures::model();
    model.data.jobs.push(job.clone());
    model.screen = Screen::Job {
        name: "hourly".into(),
        details: Some(Box::new(JobDetails {
            job,
            runs: Vec::new(),
        })),
        scroll: 0,
    };
    let screen = draw(&model, 120, 40);
    assert!(screen.contains("11:00:00 EDT  skipped: "), "{screen}");
    assert!(screen.contains("12:00:00 EDT  runs"), "{screen}");
}

#[test]
fn a_job_past_its_end_shows_as_ended() {
    let job = JobRow::from_record(
        record(
            2,
            "finished",
            "0 * * * *",
            serde_json::json!({ "end_at": "2026-03-01T00:00:00Z" }),
        ),
        now(),
        &known(),
    );
    assert!(job.ended);
    assert_eq!(job.next_run, None);
    assert!(upcoming(std::slice::from_ref(&job), now(), Duration::hours(24), 50).is_empty());
    let mut model = fixtures::model();
    model.data.jobs.insert(0, job);
    let screen = draw(&model, 120, 40);
    let line = screen
        .lines()
        .find(|l| l.contains("finished"))
        .unwrap_or_else(|| panic!("no row for the job:\n{screen}"));
    assert!(line.contains("ended"), "{line}");
}

#[test]
fn the_strip_marks_a_collision_names_its_jobs_and_the_job_view_suggests_jitter() {
    // Three jobs at 02:00 New York time, room for two at once.
    let jobs: Vec<JobRow> = (0..3)
        .map(|i| {
            JobRow::from_record(
                record(
                    10 + i,
                    &format!("nightly-{i}"),
                    "0 2 * * *",
                    serde_json::json!({}),
                ),
                now(),
                &known(),
            )
        })
        .collect();
    let mut model = fixtures::model();
    model.data.jobs.extend(jobs.iter().cloned());
    model.data.strip =
        crate::console::strip::strip(&model.data.jobs, now(), Duration::hours(24), 48, 2);
    // Wide enough for the whole note in the Upcoming panel.
    let screen = draw(&model, 300, 40);
    assert!(
        screen.contains("3 due at once (room 2): nightly-0, nightly-1, nightly-2"),
        "{screen}"
    );
    assert!(screen.contains('!'), "{screen}");

    model.screen = Screen::Job {
        name: "nightly-1".into(),
        details: Some(Box::new(JobDetails {
            job: jobs[1].clone(),
            runs: Vec::new(),
        })),
        scroll: 0,
    };
    let screen = draw(&model, 160, 40);
    assert!(
        screen.contains("more than max_concurrent_runs = 2"),
        "{screen}"
    );
    assert!(
        screen.contains("jitter = \"5m\" would spread them"),
        "{screen}"
    );
}
