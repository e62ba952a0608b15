//! The console's small frictions, each driven through messages and drawn
//! at 80x24: History's selection following new runs, job statistics after
//! a run, a run waiting for its next attempt, footer messages, cut lists,
//! the shown tab without colour, and redelivery from the run view.

use chrono::Duration;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::{self, draw, now, run};
use crate::console::model::{Effect, Model, Msg, Panel, Popup, Question, Screen, Snapshot};
use crate::events::Event;
use crate::store::{JobStats, LastRun, RunStatus, Trigger};

fn press(model: &mut Model, code: KeyCode) -> Vec<Effect> {
    model.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// The current data with `runs` added at the top of History.
fn with_new_runs(model: &Model, ids: &[i64]) -> Snapshot {
    let mut data = model.data.clone();
    for &id in ids {
        let new = run(
            id,
            5,
            "stock-levels",
            RunStatus::Succeeded,
            Trigger::Schedule,
            now(),
            Some(500),
        );
        data.history.insert(0, new);
    }
    data
}

fn focus_history(model: &mut Model) {
    while model.focus != Panel::History {
        press(model, KeyCode::Tab);
    }
}

#[test]
fn history_keeps_the_newest_run_selected_until_the_user_moves() {
    let mut model = fixtures::model();
    focus_history(&mut model);
    assert_eq!(model.selected_run().unwrap().id, 120);
    let data = with_new_runs(&model, &[121]);
    model.update(Msg::Snapshot(Box::new(data)));
    assert_eq!(
        model.selected_run().unwrap().id,
        121,
        "the newest is selected"
    );
    insta::assert_snapshot!("history_follows_newest_80x24", draw(&model, 80, 24));

    // Moved: the chosen run stays selected as more runs arrive.
    press(&mut model, KeyCode::Char('j'));
    press(&mut model, KeyCode::Char('j'));
    assert_eq!(model.selected_run().unwrap().id, 119);
    let data = with_new_runs(&model, &[122, 123]);
    model.update(Msg::Snapshot(Box::new(data)));
    assert_eq!(model.selected_run().unwrap().id, 119);
    assert_eq!(model.history.selected, 4);

    // Back on the top row, it follows again.
    press(&mut model, KeyCode::Char('g'));
    let data = with_new_runs(&model, &[124]);
    model.update(Msg::Snapshot(Box::new(data)));
    assert_eq!(model.selected_run().unwrap().id, 124);
}

#[test]
fn the_job_view_reads_its_statistics_again_after_a_run() {
    let mut model = fixtures::model();
    let name = "weekly-report";
    let mut details = fixtures::job_details(&model, name);
    details.runs.clear();
    model.screen = Screen::Job {
        name: name.into(),
        details: Some(Box::new(details.clone())),
        scroll: 0,
    };
    assert!(draw(&model, 80, 24).contains("no finished runs yet"));

    // A snapshot that says nothing new about the job reads nothing.
    let same = model.data.clone();
    assert!(model.update(Msg::Snapshot(Box::new(same))).is_empty());

    // The job's first run ended: the panels' counters moved, so the view
    // is read again, and its statistics come with it.
    let mut data = model.data.clone();
    let job = data.jobs.iter_mut().find(|j| j.name == name).unwrap();
    job.stats = Some(JobStats {
        job_id: job.id,
        run_count: 1,
        error_count: 0,
        last_run: Some(LastRun {
            run_id: 300,
            status: RunStatus::Succeeded,
            scheduled_for: now(),
            started_at: Some(now()),
            finished_at: Some(now() + Duration::milliseconds(2_400)),
        }),
        consecutive_failures: 0,
    });
    let effects = model.update(Msg::Snapshot(Box::new(data)));
    assert_eq!(effects, [Effect::LoadJob(name.into())]);
    details.runs = vec![run(
        300,
        details.job.id,
        name,
        RunStatus::Succeeded,
        Trigger::Schedule,
        now(),
        Some(2_400),
    )];
    model.update(Msg::JobDetails(Box::new(details)));
    let screen = draw(&model, 80, 24);
    assert!(
        screen.contains("success 100% of the last 1 · p50 2.4s · p95 2.4s"),
        "{screen}"
    );
    insta::assert_snapshot!("job_view_after_a_run_80x24", screen);
}

#[test]
fn a_run_waiting_for_its_next_attempt_shows_when_it_retries() {
    let mut model = fixtures::model();
    focus_history(&mut model);
    // Run 120 (revenue-by-country) failed its first attempt; the next one
    // starts at 14:05:12 UTC, which is 14:05:12 in London in March.
    let at = now() + Duration::seconds(125);
    model.update(Msg::Event(Event::RetryScheduled {
        run_id: 120,
        job: "revenue-by-country".into(),
        attempt: 1,
        at,
        error: "source: exited with status 1".into(),
    }));
    let screen = draw(&model, 80, 24);
    assert!(screen.contains("retry at 14:05:12"), "{screen}");
    insta::assert_snapshot!("history_retry_at_80x24", screen);

    // The run view says the same.
    model.screen = Screen::Run {
        id: 120,
        details: Some(Box::new(crate::console::model::RunDetails {
            run: model.data.history[0].clone(),
            attempts: Vec::new(),
            lines: Vec::new(),
            deliveries: Vec::new(),
        })),
        scroll: 0,
    };
    let screen = draw(&model, 80, 24);
    assert!(
        screen.contains("Run 120 · revenue-by-country · retry at 14:05:12"),
        "{screen}"
    );

    // Once the next attempt starts it is running again.
    model.update(Msg::Event(Event::RunStarted {
        run_id: 120,
        job: "revenue-by-country".into(),
        attempt: 2,
        at,
    }));
    let screen = draw(&model, 80, 24);
    assert!(!screen.contains("retry at"), "{screen}");
    assert!(
        screen.contains("Run 120 · revenue-by-country · running"),
        "{screen}"
    );
}

#[test]
fn a_footer_message_clears_on_the_next_key() {
    let mut model = fixtures::model();
    model.say("stock-levels paused");
    assert!(draw(&model, 80, 24).contains("stock-levels paused"));
    press(&mut model, KeyCode::Char('j'));
    assert!(model.status.is_none());
    let screen = draw(&model, 80, 24);
    assert!(!screen.contains("stock-levels paused"), "{screen}");
    assert!(screen.contains("? help"), "{screen}");
    // A key that says something says its own message.
    press(&mut model, KeyCode::Char('C'));
    assert!(
        model
            .status
            .as_ref()
            .is_some_and(|s| s.text.contains("no catch-up plans"))
    );
}

#[test]
fn cut_lists_say_there_is_more_above_and_below() {
    let mut model = fixtures::model();
    // Twenty more runs than History can show at 80x24.
    let ids: Vec<i64> = (121..141).collect();
    let data = with_new_runs(&model, &ids);
    model.update(Msg::Snapshot(Box::new(data)));
    focus_history(&mut model);
    let screen = draw(&model, 80, 24);
    assert!(screen.contains("more below"), "{screen}");
    assert!(!screen.contains("more above"), "{screen}");
    press(&mut model, KeyCode::Char('G'));
    let screen = draw(&model, 80, 24);
    assert!(screen.contains("more above"), "{screen}");
    assert!(!screen.contains("more below"), "{screen}");
    insta::assert_snapshot!("history_more_above_80x24", screen);
}

#[test]
fn the_shown_tab_is_marked_without_colour() {
    let mut model = fixtures::model();
    assert!(!model.color, "the fixture draws as NO_COLOR does");
    focus_history(&mut model);
    let screen = draw(&model, 80, 24);
    assert!(
        screen.contains("Upcoming · [History] · Live log · Errors"),
        "{screen}"
    );
}

#[test]
fn redeliver_from_the_run_view_asks_first() {
    let mut model = fixtures::model();
    model.screen = Screen::Run {
        id: 117,
        details: Some(Box::new(fixtures::run_details())),
        scroll: 0,
    };
    assert!(draw(&model, 80, 24).contains("R redeliver"));
    assert!(press(&mut model, KeyCode::Char('R')).is_empty());
    assert!(matches!(
        model.popup,
        Some(Popup::Confirm(Question::Redeliver(117)))
    ));
    insta::assert_snapshot!("redeliver_asks_80x24", draw(&model, 80, 24));
    assert!(press(&mut model, KeyCode::Char('n')).is_empty());
    assert!(model.popup.is_none());
    press(&mut model, KeyCode::Char('R'));
    assert_eq!(
        press(&mut model, KeyCode::Char('y')),
        [Effect::Redeliver(117)]
    );
    // Its answer is said, and the run view is read again.
    let effects = model.update(Msg::Done(Ok("run 117 redelivered to reports".into())));
    assert!(effects.contains(&Effect::LoadRun(117)), "{effects:?}");
    assert!(draw(&model, 80, 24).contains("run 117 redelivered to reports"));
}

#[tokio::test]
async fn redeliver_takes_the_clis_path_and_is_audited_as_the_consoles() {
    use crate::store::{AuditAction, Way};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = crate::store::Store::open(&url).await.unwrap();
    let config = crate::config::Config::empty();
    // The same refusal `cronport runs redeliver 4242` gives.
    let err = crate::console::actions::redeliver(&store, &config, 4242)
        .await
        .unwrap_err();
    assert_eq!(err, "run 4242: no run with id 4242");
    let entries = store.audit_entries(&Default::default()).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0].entry;
    assert_eq!(entry.action, AuditAction::Redeliver);
    assert_eq!(entry.way, Way::Console);
    assert_eq!(entry.run_id, Some(4242));
    assert!(entry.outcome.contains("no run with id 4242"), "{entry:?}");
}

#[test]
fn a_cut_errors_list_says_so_on_its_last_row() {
    let mut model = fixtures::model();
    let mut data = model.data.clone();
    let failing = data
        .jobs
        .iter()
        .find(|j| j.name == "partner-feed")
        .unwrap()
        .clone();
    for i in 0..12 {
        let mut job = failing.clone();
        job.name = format!("feed-{i:02}");
        job.id = 100 + i;
        data.jobs.push(job);
    }
    data.jobs.sort_by(|a, b| a.name.cmp(&b.name));
    model.update(Msg::Snapshot(Box::new(data)));
    while model.focus != Panel::Errors {
        press(&mut model, KeyCode::Tab);
    }
    let screen = draw(&model, 80, 24);
    assert!(screen.contains("↓ 8 more below"), "{screen}");
    insta::assert_snapshot!("errors_more_below_80x24", screen);
}

#[test]
fn an_attached_console_shows_when_a_run_retries_from_the_store() {
    // The scheduler runs in another process: no RetryScheduled event comes
    // here, only the run as stored, with the next attempt's time.
    let mut model = fixtures::attached();
    focus_history(&mut model);
    let at = now() + Duration::seconds(125);
    let mut data = model.data.clone();
    assert_eq!(data.history[0].id, 120);
    assert_eq!(data.history[0].status, RunStatus::Running);
    data.history[0].retry_at = Some(at);
    model.update(Msg::Snapshot(Box::new(data)));
    let screen = draw(&model, 80, 24);
    assert!(screen.contains("retry at 14:05:12"), "{screen}");

    let effects = press(&mut model, KeyCode::Enter);
    assert_eq!(effects, [Effect::LoadRun(120)]);
    model.update(Msg::RunDetails(Box::new(
        crate::console::model::RunDetails {
            run: model.data.history[0].clone(),
            attempts: Vec::new(),
            lines: Vec::new(),
            deliveries: Vec::new(),
        },
    )));
    let screen = draw(&model, 80, 24);
    assert!(
        screen.contains("Run 120 · revenue-by-country · retry at 14:05:12"),
        "{screen}"
    );
    assert!(screen.contains("status    retry at 14:05:12"), "{screen}");

    // The next attempt started: the store cleared the time.
    let mut run = model.data.history[0].clone();
    run.retry_at = None;
    run.attempt = 2;
    let mut data = model.data.clone();
    data.history[0] = run.clone();
    model.update(Msg::Snapshot(Box::new(data)));
    model.update(Msg::RunDetails(Box::new(
        crate::console::model::RunDetails {
            run,
            attempts: Vec::new(),
            lines: Vec::new(),
            deliveries: Vec::new(),
        },
    )));
    let screen = draw(&model, 80, 24);
    assert!(!screen.contains("retry at"), "{screen}");
    assert!(
        screen.contains("Run 120 · revenue-by-country · running"),
        "{screen}"
    );
}
