//! `cronport status`: exit 1 with no instance holding the lease or with a
//! failing job, exit 0 with a live instance and every job succeeding.

use std::time::Duration;

use super::common::process::{Sandbox, poll, try_poll};
use super::{failing_job, jobs};

#[test]
fn status_is_unhealthy_without_an_instance_and_healthy_with_one() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&jobs("tick"));
    sandbox.apply_config();
    let out = sandbox
        .run(&["status"])
        .expect_code(1, "status, nothing running");
    assert!(
        out.stdout
            .contains("no live instance holds the scheduler lease"),
        "{}",
        out.stdout
    );

    let mut child = sandbox.headless(&[]);
    child.wait_for_line("tick#", Duration::from_secs(30));
    let out = poll("status healthy", Duration::from_secs(30), || {
        let out = sandbox.run(&["status", "--json"]);
        (out.code == Some(0)).then_some(out)
    });
    let status = out.json();
    assert_eq!(status["healthy"], true, "{status:#}");
    assert_eq!(
        status["lease_holder"]["pid"].as_u64(),
        Some(u64::from(child.pid())),
        "{status:#}"
    );
    assert!(
        status["next_fires"]
            .as_array()
            .is_some_and(|fires| fires.iter().any(|f| f["job"] == "tick")),
        "{status:#}"
    );
    let out = sandbox.run(&["status"]).ok("status");
    assert!(
        out.stdout.contains("healthy") && out.stdout.contains("tick"),
        "{}",
        out.stdout
    );
    assert_eq!(child.terminate(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn status_names_a_failing_job_and_exits_1() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!("{}{}", jobs("tick"), failing_job("broken")));
    let mut child = sandbox.headless(&[]);
    // On a timeout the last answer says why (the suite runs on a busy machine).
    let mut last = None;
    let out = try_poll(Duration::from_secs(60), || {
        let out = sandbox.run(&["status", "--json"]);
        if out.code == Some(1) && out.stdout.contains("broken") {
            return Some(out);
        }
        last = Some(format!("exit {:?}: {}{}", out.code, out.stdout, out.stderr));
        None
    })
    .unwrap_or_else(|| panic!("status never named the failing job; last: {last:?}"));
    let status = out.json();
    assert_eq!(status["healthy"], false, "{status:#}");
    let failing = status["failing_jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        failing
            .iter()
            .any(|j| j["job"] == "broken" && j["consecutive_failures"].as_i64() >= Some(1)),
        "{status:#}"
    );
    assert!(failing.iter().all(|j| j["job"] != "tick"), "{status:#}");
    let out = sandbox.run(&["status"]).expect_code(1, "status");
    assert!(
        out.stdout.contains("failing job(s): broken"),
        "{}",
        out.stdout
    );
    assert_eq!(child.terminate(Duration::from_secs(30)).code(), Some(0));
}
