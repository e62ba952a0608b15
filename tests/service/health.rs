//! `/healthz` (the scheduler loop turns) and `/readyz` (the store answers
//! and has every migration), healthy and not.

use std::time::Duration;

use super::common::process::{Sandbox, config_header, poll, sqlite_script};
use super::{get, headless_with_metrics, jobs};

#[test]
fn healthz_is_200_while_the_loop_turns_and_503_once_it_stops() {
    let sandbox = Sandbox::new();
    // A run that outlasts SIGTERM keeps the process draining (loop stopped,
    // listener up) for the grace period.
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"slow\"\nschedule = \"every 1s\"\noverlap = \"skip\"\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", \"sleep 60\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    let address = super::free_address();
    let mut child = sandbox.headless(&["--grace", "20s", "--metrics", &address.to_string()]);
    let (status, body) = poll("/healthz", Duration::from_secs(30), || {
        get(address, "/healthz").ok()
    });
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("ok"), "{body}");
    // Still healthy a few seconds on: the loop keeps turning while idle.
    std::thread::sleep(Duration::from_secs(3));
    let (status, body) = get(address, "/healthz").expect("/healthz");
    assert_eq!(status, 200, "{body}");
    child.wait_for_line("slow#", Duration::from_secs(30));
    child.signal(libc::SIGTERM);
    let (status, body) = poll("/healthz unhealthy", Duration::from_secs(15), || {
        get(address, "/healthz")
            .ok()
            .filter(|(status, _)| *status == 503)
    });
    assert_eq!(status, 503);
    assert!(body.contains("no scheduler runs"), "{body}");
    child.kill9();
}

#[test]
fn readyz_is_200_with_a_current_store_and_503_when_a_migration_is_missing() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&jobs("tick"));
    let (mut child, address) = headless_with_metrics(&sandbox);
    let (status, body) = get(address, "/readyz").expect("/readyz");
    assert_eq!(status, 200, "{body}");
    // The store as a build older than this one left it: its newest
    // migration is not recorded.
    let file = sandbox.path().join("store.db");
    sqlite_script(
        &file,
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    );
    let (status, body) = get(address, "/readyz").expect("/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("this build needs"), "{body}");
    let (status, _) = get(address, "/nothing").expect("/nothing");
    assert_eq!(status, 404);
    assert_eq!(child.terminate(Duration::from_secs(30)).code(), Some(0));
}
