//! A late slot, through a real headless instance: the one run slot
//! (`max_concurrent_runs = 1`) is held by a manual run, so a scheduled slot
//! waits past its `alert_if_late`: Slack and Teams are told it is late, and
//! then that it is on time again.

use std::time::Duration;

use chrono::{DurationRound as _, Timelike as _, Utc};
use serde_json::Value;

use crate::common::process::{Headless, Sandbox, config_header, poll, toml_str};
use crate::common::servers::Webhook;
use crate::{SECRET, card};

/// A cron expression (six fields) for the second `at`.
fn cron_at(at: chrono::DateTime<Utc>) -> String {
    use chrono::Datelike as _;
    format!(
        "{} {} {} {} {} *",
        at.second(),
        at.minute(),
        at.hour(),
        at.day(),
        at.month()
    )
}

fn config(waiting_schedule: &str) -> String {
    let header = config_header().replace("[scheduler]\n", "[scheduler]\nmax_concurrent_runs = 1\n");
    format!(
        "{header}[destinations.ops-slack]\nkind = \"slack\"\nurl_env = \"OPS_SLACK_URL\"\n\n\
         [destinations.ops-teams]\nkind = \"teams\"\nurl_env = \"OPS_TEAMS_URL\"\n\n\
         [[jobs]]\nname = \"blocker\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", \"sleep 8; printf 'n\\\\n1\\\\n'\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n\
         [[jobs]]\nname = \"waiting\"\nschedule = {}\ntimezone = \"UTC\"\nretries = 0\n\
         alert_if_late = \"1s\"\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"n\\\\n1\\\\n\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\
         notify = {{ on = [\"failure\"], to = [\"ops-slack\", \"ops-teams\"] }}\n",
        toml_str(waiting_schedule)
    )
}

/// The notices a service got, as (header or title, message).
fn titles(hook: &Webhook, service: &str) -> Vec<(String, Value)> {
    hook.requests()
        .into_iter()
        .filter(|r| r.path.starts_with(&format!("/{service}/")))
        .map(|r| {
            let m = r.json();
            let title = if service == "slack" {
                m["blocks"][0]["text"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            } else {
                card(&m)["body"][0]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            (title, m)
        })
        .collect()
}

#[test]
fn a_late_slot_is_posted_to_slack_and_teams_and_then_its_end() {
    let hook = Webhook::start(&[]);
    let sandbox = Sandbox::new();
    sandbox.write_config(&config("0 0 1 1 *"));
    sandbox.apply_config();
    let mut cmd = sandbox.command(&["--headless"]);
    cmd.env("OPS_SLACK_URL", hook.url(&format!("/slack/{SECRET}")))
        .env("OPS_TEAMS_URL", hook.url(&format!("/teams/{SECRET}")));
    let mut headless = Headless::spawn(cmd);
    headless.wait_for_line("scheduler started", Duration::from_secs(20));
    sandbox
        .run(&["jobs", "run", "blocker"])
        .ok("jobs run blocker");
    // The slot comes while the blocker holds the only run slot.
    let slot = Utc::now()
        .duration_trunc(chrono::Duration::seconds(1))
        .unwrap()
        + chrono::Duration::seconds(4);
    sandbox.write_config(&config(&cron_at(slot)));
    sandbox.apply_config();
    assert!(
        Utc::now() + chrono::Duration::seconds(1) < slot,
        "the edit must be in before the slot at {slot}; the machine is too slow"
    );

    let (slack, teams) = poll("late and on-time notices", Duration::from_secs(40), || {
        headless.assert_running();
        let slack = titles(&hook, "slack");
        let teams = titles(&hook, "teams");
        (slack.len() >= 2 && teams.len() >= 2).then_some((slack, teams))
    });
    assert_eq!(slack[0].0, ":warning: waiting is late", "{slack:?}");
    assert_eq!(
        slack[1].0, ":white_check_mark: waiting is on time again",
        "{slack:?}"
    );
    let detail = slack[0].1["blocks"][2]["text"]["text"].as_str().unwrap();
    assert!(
        detail.starts_with("*Detail*\n```") && detail.contains("alert_if_late"),
        "{detail}"
    );
    let fields: Vec<&str> = slack[0].1["blocks"][1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["text"].as_str())
        .collect();
    assert!(fields.contains(&"*Job*\nwaiting"), "{fields:?}");
    assert!(fields.contains(&"*Status*\nqueued"), "{fields:?}");
    assert_eq!(teams[0].0, "waiting is late", "{teams:?}");
    assert_eq!(card(&teams[0].1)["body"][0]["color"], "Warning");
    assert_eq!(teams[1].0, "waiting is on time again", "{teams:?}");
    let transcript = headless.transcript();
    assert!(!transcript.contains(SECRET), "{transcript}");
    assert!(
        transcript.contains("notified ops-slack of the late of waiting"),
        "{transcript}"
    );
    headless.terminate(Duration::from_secs(30));
}
