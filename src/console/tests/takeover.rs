//! An attached console whose instance goes: the model's transitions as the
//! lease watcher reports them, the header in each state at 80 columns, and
//! the header without colours under `NO_COLOR`.

use chrono::Duration;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::fixtures::{self, draw};
use crate::console::model::{Effect, Engine, Gone, LeaseNews, Model, Msg};
use crate::events::{Event, Level, SchedulerState};
use crate::store::{Command, CommandKind, InstanceInfo};

/// The instance the fixture is attached to (ops-1:4242).
fn ops1() -> InstanceInfo {
    match fixtures::attached().engine {
        Engine::Attached(holder) => holder,
        other => panic!("the fixture is not attached: {other:?}"),
    }
}

fn instance(host: &str, pid: u32, nonce: &str) -> InstanceInfo {
    InstanceInfo {
        id: format!("{host}:{pid}:{nonce}"),
        hostname: host.into(),
        pid,
        version: "0.1.0".into(),
        started_at: fixtures::now(),
        takes_work: true,
    }
}

fn lease(model: &mut Model, news: LeaseNews) -> Vec<Effect> {
    model.update(Msg::Lease(news))
}

fn header(model: &Model) -> String {
    let screen = draw(model, 80, 24);
    screen.lines().next().unwrap_or_default().to_string()
}

fn footer(model: &Model) -> String {
    model
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

fn last_log(model: &Model) -> (Level, String) {
    let all = crate::console::log_buffer::LogFilter::default();
    let window = model.log.live.window(&all, None, 1);
    let line = window.last().expect("a log line");
    (line.level, line.message.clone())
}

#[test]
fn a_clean_stop_then_the_lease_won_starts_the_scheduler_here() {
    let mut model = fixtures::attached();
    let from = ops1();
    let effects = lease(
        &mut model,
        LeaseNews::Gone {
            holder: from.clone(),
            why: Gone::Stopped,
        },
    );
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(
        model.engine,
        Engine::TakingOver {
            from: from.clone(),
            why: Gone::Stopped
        }
    );
    assert!(model.attached(), "no scheduler here yet");
    assert_eq!(
        footer(&model),
        "ops-1:4242 stopped; taking over the schedule"
    );
    assert_eq!(
        last_log(&model),
        (
            Level::Warn,
            "ops-1:4242 stopped; taking over the schedule".into()
        )
    );
    assert!(header(&model).contains("● ops-1:4242 stopped; taking over"));

    let effects = lease(
        &mut model,
        LeaseNews::Won {
            from: from.clone(),
            claim: "ops-9:77:c0ffee".into(),
        },
    );
    assert_eq!(
        effects,
        vec![Effect::TakeOver {
            from: from.clone(),
            claim: "ops-9:77:c0ffee".into()
        }]
    );
    assert_eq!(model.engine, Engine::Starting);
    assert!(!model.attached());
    assert!(header(&model).contains("● starting here; taking over from ops-1:4242"));

    // The scheduler started here says so on its bus, as an embedded one.
    model.update(Msg::Event(Event::Scheduler(SchedulerState::Running)));
    assert_eq!(model.engine, Engine::Running);
    assert!(header(&model).contains("● running here; took over from ops-1:4242"));

    // Late news from the watcher changes nothing once the console runs.
    let effects = lease(
        &mut model,
        LeaseNews::Holder {
            holder: instance("ops-2", 9, "1"),
            heartbeat_at: None,
        },
    );
    assert!(effects.is_empty());
    assert_eq!(model.engine, Engine::Running);
}

#[test]
fn a_console_that_loses_the_lease_follows_the_winner() {
    let mut model = fixtures::attached();
    lease(
        &mut model,
        LeaseNews::Gone {
            holder: ops1(),
            why: Gone::Exited,
        },
    );
    assert!(header(&model).contains("● ops-1:4242 exited; taking over"));
    let winner = instance("ops-2", 31337, "feedbeef");
    let effects = lease(
        &mut model,
        LeaseNews::Holder {
            holder: winner.clone(),
            heartbeat_at: Some(fixtures::now()),
        },
    );
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(model.engine, Engine::Attached(winner));
    assert_eq!(model.took_over_from, None);
    assert_eq!(
        footer(&model),
        "ops-2:31337 took over from ops-1:4242; attached to it"
    );
    assert!(header(&model).contains("● attached to ops-2:31337 "));
}

#[test]
fn a_console_handing_the_lease_to_its_own_scheduler_is_not_news() {
    let mut model = fixtures::attached();
    let claim = instance("ops-2", 31337, "c1a1");
    lease(
        &mut model,
        LeaseNews::Holder {
            holder: claim,
            heartbeat_at: None,
        },
    );
    let status = footer(&model);
    assert_eq!(
        status,
        "ops-2:31337 holds the scheduler lease now (was ops-1:4242)"
    );
    model.status = None;
    lease(
        &mut model,
        LeaseNews::Holder {
            holder: instance("ops-2", 31337, "5c4ed"),
            heartbeat_at: None,
        },
    );
    assert_eq!(model.status, None, "the same host:pid under a new id");
}

#[test]
fn a_silent_holder_is_named_so_in_the_header() {
    let mut model = fixtures::attached();
    let now = fixtures::now();
    lease(
        &mut model,
        LeaseNews::Holder {
            holder: ops1(),
            heartbeat_at: Some(now - Duration::seconds(4)),
        },
    );
    assert!(header(&model).contains("● attached to ops-1:4242 "));
    lease(
        &mut model,
        LeaseNews::Holder {
            holder: ops1(),
            heartbeat_at: Some(now - Duration::seconds(12)),
        },
    );
    assert!(
        header(&model).contains("● attached to ops-1:4242, last heard 12s ago"),
        "{}",
        header(&model)
    );
}

fn command(id: i64, kind: CommandKind, job: Option<&str>, asked: i64) -> Command {
    Command {
        id,
        kind,
        job_name: job.map(String::from),
        run_id: None,
        requested_at: fixtures::now() - Duration::seconds(asked),
        taken_by: Some("ops-9:77".into()),
        taken_at: Some(fixtures::now()),
        completed: true,
        result_run_id: None,
        error: Some("expired: no scheduler took it within 10s".into()),
    }
}

#[test]
fn requests_closed_as_the_scheduler_starts_are_named_in_the_footer() {
    let mut model = fixtures::attached();
    lease(
        &mut model,
        LeaseNews::Won {
            from: ops1(),
            claim: "c".into(),
        },
    );
    let effects = model.update(Msg::CommandsClosed(vec![
        command(4, CommandKind::Run, Some("daily-orders"), 17),
        command(5, CommandKind::Pause, Some("stock-levels"), 16),
        command(6, CommandKind::PauseAll, None, 15),
    ]));
    assert_eq!(effects, vec![model.refresh()]);
    let status = model.status.clone().expect("a footer message");
    assert!(status.error);
    assert_eq!(
        status.text,
        "3 request(s) left for ops-1:4242 not run (too old or interrupted): \
         run daily-orders now (asked 14:02:50), pause stock-levels (asked 14:02:51), 1 more"
    );
}

/// Every state's header line at 80 columns, one per line.
#[test]
fn the_header_in_each_state_at_80_columns() {
    let from = ops1();
    let mut lines = Vec::new();
    let mut show = |label: &str, model: &Model| {
        lines.push(format!("{label:<12}{}", header(model)));
    };
    let mut model = fixtures::attached();
    show("attached", &model);
    model.holder_heartbeat = Some(fixtures::now() - Duration::seconds(23));
    show("silent", &model);
    model.holder_heartbeat = None;
    model.data.holder = None;
    show("no lease", &model);
    for why in [Gone::Stopped, Gone::Exited, Gone::Silent] {
        model.engine = Engine::TakingOver {
            from: from.clone(),
            why,
        };
        show("taking over", &model);
    }
    model.engine = Engine::Starting;
    model.took_over_from = Some(from.clone());
    show("starting", &model);
    model.engine = Engine::Running;
    show("running", &model);
    let mut paused = model.data.clone();
    for job in &mut paused.jobs {
        job.paused = true;
    }
    model.update(Msg::Snapshot(Box::new(paused)));
    show("all paused", &model);
    // A long host name (a container id) keeps the words: the date goes.
    model.took_over_from = Some(instance("3f2a9c1b7e4d-worker", 123456, "x"));
    show("long name", &model);
    insta::assert_snapshot!("takeover_headers_80", lines.join("\n"));
}

#[test]
fn took_over_at_80x24() {
    let mut model = fixtures::attached();
    lease(
        &mut model,
        LeaseNews::Gone {
            holder: ops1(),
            why: Gone::Stopped,
        },
    );
    lease(
        &mut model,
        LeaseNews::Won {
            from: ops1(),
            claim: "c".into(),
        },
    );
    model.update(Msg::Event(Event::Scheduler(SchedulerState::Running)));
    insta::assert_snapshot!("took_over_80x24", draw(&model, 80, 24));
}

#[test]
fn no_color_leaves_the_header_without_colours() {
    let mut model = fixtures::attached();
    model.took_over_from = Some(ops1());
    model.engine = Engine::Running;
    model.color = true;
    let colours = |model: &Model| -> Vec<Color> {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        terminal
            .draw(|frame| crate::console::view::render(model, frame))
            .expect("draw");
        let buffer = terminal.backend().buffer().clone();
        (0..80)
            .map(|x| buffer[(x, 0)].fg)
            .filter(|c| *c != Color::Reset)
            .collect()
    };
    assert!(
        colours(&model).contains(&Color::Green),
        "with colours, running is green"
    );
    model.color = false;
    assert_eq!(colours(&model), Vec::<Color>::new());
}

#[test]
fn a_request_that_got_no_answer_stays_in_the_log() {
    let mut model = fixtures::attached();
    let error = "instance ops-1:4242 is gone; 'run daily-orders now' was withdrawn \
                 and will not run later";
    model.update(Msg::Done(Err(error.into())));
    assert_eq!(footer(&model), error);
    lease(
        &mut model,
        LeaseNews::Won {
            from: ops1(),
            claim: "c".into(),
        },
    );
    let all = crate::console::log_buffer::LogFilter::default();
    let lines: Vec<_> = model
        .log
        .live
        .window(&all, None, 2)
        .into_iter()
        .map(|l| (l.level, l.message.clone()))
        .collect();
    assert_eq!(
        lines,
        [
            (Level::Warn, error.to_string()),
            (
                Level::Info,
                "took over from ops-1:4242: the scheduler runs here now".into()
            )
        ]
    );
}
