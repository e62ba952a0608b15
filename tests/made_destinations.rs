//! A local folder made from the console's job form: saved with its job
//! (the console's own save, one transaction), picked up by a scheduler that
//! was already running and shares only the store (as a headless instance
//! does), without a restart; the job's file lands in the new folder, and a
//! second job reuses the destination, run by its schedule alone. On SQLite
//! and on PostgreSQL.

mod common;

use common::{World, bus, wait_for};
use cronport::control::{Control, Request};
use cronport::destinations::{LocalDraft, check_draft};
use cronport::events::Event;
use cronport::job::JobSpec;
use cronport::store::{AuditAction, AuditFilter, RunStatus};

fn spec(name: &str, schedule: &str, destination: &str) -> JobSpec {
    toml::from_str(&format!(
        "name = \"{name}\"\nschedule = \"{schedule}\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"n\\n{name}\\n\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"{destination}\"]\n"
    ))
    .expect("a job spec")
}

async fn finished_run_of(rx: &mut tokio::sync::broadcast::Receiver<Event>, job: &str) -> i64 {
    wait_for(rx, &format!("a run of {job} to finish"), |e| match e {
        Event::RunFinished {
            run_id,
            job: name,
            status,
            ..
        } if name == job => {
            assert_eq!(*status, RunStatus::Succeeded, "{job}'s run");
            Some(*run_id)
        }
        _ => None,
    })
    .await
}

/// Where the console that saves runs: attached to the instance (only the
/// store shared, as with a headless instance), or with the scheduler in
/// its own process (told of the save, as the console does).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Console {
    Attached,
    Embedded,
}

async fn made_in_the_console_and_picked_up(world: &World, console: Console) {
    let (bus, mut rx) = bus();
    // Running before the destination exists, like a headless instance.
    let scheduler = common::start_live_scheduler(world, bus).await;
    let control = match console {
        Console::Attached => Control::Attached {
            store: world.store.clone(),
        },
        Console::Embedded => Control::Embedded {
            store: world.store.clone(),
            commands: scheduler.commands(),
        },
    };

    // What the form hands over: a draft checked by the config's rules,
    // its relative root taken from the config's folder.
    let draft = LocalDraft {
        name: "made-here".into(),
        root: "made".into(),
        path: "{job}/{job}.{ext}".into(),
        keep_days: String::new(),
    };
    let config_names = world.config.destinations.keys().cloned().collect();
    let new = check_draft(
        &draft,
        &world.config.folder,
        &config_names,
        &Default::default(),
    )
    .expect("a valid draft");
    let folder = world.dir.path().join("made");
    assert_eq!(new.config.root, folder);

    let said = cronport::console::actions::save(
        &world.store,
        &world.config,
        spec("uses-made", "daily at 02:00", "made-here"),
        None,
        vec![new.clone()],
    )
    .await
    .expect("saved");
    assert!(said.contains("destination made-here made"), "{said}");
    // What the console does after a save (nothing to do when attached).
    control.jobs_changed().await.expect("the scheduler reloads");
    assert!(
        world
            .store
            .get_destination("made-here")
            .await
            .expect("read")
            .is_some()
    );

    // Asked through the store, the running instance loads the job and the
    // destination and delivers there.
    let said = control
        .send(Request::RunNow("uses-made".into()))
        .await
        .expect("run now");
    assert!(said.contains("uses-made"), "{said}");
    finished_run_of(&mut rx, "uses-made").await;
    let file = folder.join("uses-made").join("uses-made.csv");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())),
        "n\r\nuses-made\r\n"
    );

    // Made once, reused: another job names it, and the instance runs it by
    // its schedule alone (its poll of the store finds the job).
    cronport::console::actions::save(
        &world.store,
        &world.config,
        spec("reuses-made", "every 1s", "made-here"),
        None,
        Vec::new(),
    )
    .await
    .expect("a second job saved");
    finished_run_of(&mut rx, "reuses-made").await;
    assert!(folder.join("reuses-made").join("reuses-made.csv").exists());
    control
        .send(Request::Pause("reuses-made".into()))
        .await
        .expect("pause");

    // The same name again is refused, and nothing of that job is written.
    let error = cronport::console::actions::save(
        &world.store,
        &world.config,
        spec("third", "daily at 02:00", "made-here"),
        None,
        vec![new],
    )
    .await
    .expect_err("taken");
    assert!(error.contains("made-here"), "{error}");
    assert!(world.store.get_job("third").await.expect("read").is_none());

    // The audit trail says who made it, from which job's form.
    let trail = world
        .store
        .audit_entries(&AuditFilter::default())
        .await
        .expect("audit");
    let made = trail
        .iter()
        .find(|e| e.entry.action == AuditAction::CreateDestination)
        .expect("an audit entry for the destination");
    assert_eq!(made.entry.job.as_deref(), Some("uses-made"));
    assert!(made.entry.outcome.contains("made-here"), "{:?}", made.entry);
    assert!(
        made.entry
            .after
            .as_deref()
            .is_some_and(|a| a.contains("\"kind\":\"local\"")),
        "{:?}",
        made.entry
    );
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_made_in_the_console_is_used_at_once_on_sqlite() {
    let world = World::new("").await;
    made_in_the_console_and_picked_up(&world, Console::Attached).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_made_in_the_console_is_used_at_once_by_its_own_scheduler() {
    let world = World::new("").await;
    made_in_the_console_and_picked_up(&world, Console::Embedded).await;
}

// A plain test with its own runtime: the database is created and dropped
// (blocking) outside of it.
#[test]
fn a_destination_made_in_the_console_is_used_at_once_on_postgres() {
    let db = common::process::PgDatabase::create();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut world = World::new("").await;
        world.store = cronport::store::Store::open(&db.url)
            .await
            .expect("the postgres store");
        made_in_the_console_and_picked_up(&world, Console::Attached).await;
        world.store.close().await;
    });
}
