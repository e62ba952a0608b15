//! Through the binary: a job's real failure and recovery, and bad settings
//! exiting 2 naming the key.

use std::path::Path;

use serde_json::Value;

use crate::common::process::{Sandbox, config_header, run_command, toml_str};
use crate::common::servers::Webhook;
use crate::{SECRET, card};

/// A job that fails until `flag` exists, notifying both chats.
fn flaky_job(flag: &Path) -> String {
    let script = format!(
        "test -e '{}' || {{ echo no-flag-yet >&2; exit 4; }}; printf 'n\\n1\\n'",
        flag.display()
    );
    format!(
        "[[jobs]]\nname = \"flaky\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", {}] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\
         notify = {{ on = [\"failure\", \"recovery\"], to = [\"ops-slack\", \"ops-teams\"] }}\n",
        toml_str(&script)
    )
}

#[test]
fn a_job_posts_its_failure_and_recovery_to_slack_and_teams() {
    let hook = Webhook::start(&[]);
    let sandbox = Sandbox::new();
    sandbox.write("teams.url", &hook.url(&format!("/teams/{SECRET}")));
    let flag = sandbox.path().join("flag");
    sandbox.write_config(&format!(
        "{}[destinations.ops-slack]\nkind = \"slack\"\nurl_env = \"OPS_SLACK_URL\"\n\n\
         [destinations.ops-teams]\nkind = \"teams\"\nurl_file = \"teams.url\"\n\n{}",
        config_header(),
        flaky_job(&flag)
    ));
    sandbox.apply_config();
    let run = |code: i32| {
        let mut cmd = sandbox.command(&["jobs", "run", "flaky", "--wait"]);
        cmd.env("OPS_SLACK_URL", hook.url(&format!("/slack/{SECRET}")));
        let out = run_command(cmd).expect_code(code, "jobs run flaky");
        assert!(
            !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
            "{out:?}"
        );
    };
    run(1);
    std::fs::write(&flag, "").unwrap();
    run(0);

    let got: Vec<(String, Value)> = hook
        .requests()
        .into_iter()
        .map(|r| (r.path.split('/').nth(1).unwrap_or("").to_string(), r.json()))
        .collect();
    assert_eq!(got.len(), 4, "{got:?}");
    let slack: Vec<&Value> = got
        .iter()
        .filter(|(p, _)| p == "slack")
        .map(|(_, v)| v)
        .collect();
    let teams: Vec<&Value> = got
        .iter()
        .filter(|(p, _)| p == "teams")
        .map(|(_, v)| v)
        .collect();
    assert_eq!((slack.len(), teams.len()), (2, 2), "{got:?}");

    assert_eq!(slack[0]["blocks"][0]["text"]["text"], ":x: flaky failed");
    let error = slack[0]["blocks"][2]["text"]["text"].as_str().unwrap();
    assert!(
        error.starts_with("*Error*\n```") && error.contains('4'),
        "{error}"
    );
    assert_eq!(
        slack[1]["blocks"][0]["text"]["text"],
        ":white_check_mark: flaky recovered after 1 failed run(s)"
    );
    let delivered = slack[1]["blocks"][2]["text"]["text"].as_str().unwrap();
    assert!(delivered.starts_with("*Delivered to*\n• "), "{delivered}");
    assert!(delivered.contains("flaky"), "{delivered}");

    let card0 = card(teams[0]);
    assert_eq!(card0["body"][0]["text"], "flaky failed");
    assert_eq!(card0["body"][0]["color"], "Attention");
    let card1 = card(teams[1]);
    assert_eq!(
        card1["body"][0]["text"],
        "flaky recovered after 1 failed run(s)"
    );
    assert_eq!(card1["body"][1]["facts"][0]["value"], "flaky");

    // The store keeps where the URL is, never the URL.
    let exported = sandbox.run(&["jobs", "export"]).ok("jobs export").stdout;
    assert!(!exported.contains(SECRET), "{exported}");
}

#[test]
fn bad_chat_settings_exit_2_naming_the_key() {
    let job = "[[jobs]]\nname = \"j\"\nschedule = \"daily at 02:00\"\n\
               source = { kind = \"command\", argv = [\"true\"] }\nformat = { kind = \"csv\" }\n";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "no url",
            "[destinations.ops-slack]\nkind = \"slack\"\n".into(),
            "destinations.ops-slack.url: is missing: write url_env = \"VAR\"",
        ),
        (
            "a url written in the config",
            format!(
                "[destinations.ops-slack]\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/{SECRET}\"\n"
            ),
            "destinations.ops-slack.url: a Slack webhook URL is a secret",
        ),
        (
            "a url that is not one",
            "[destinations.ops-teams]\nkind = \"teams\"\nurl_env = \"CHAT_URL_BAD\"\n".into(),
            "destinations.ops-teams.url_env: $CHAT_URL_BAD does not hold a URL",
        ),
        (
            "a url that is not http",
            "[destinations.ops-teams]\nkind = \"teams\"\nurl_env = \"CHAT_URL_FTP\"\n".into(),
            "destinations.ops-teams.url_env: $CHAT_URL_FTP holds a URL whose scheme \"ftp\" is not http or https",
        ),
        (
            "both env and file",
            "[destinations.ops-slack]\nkind = \"slack\"\nurl_env = \"X\"\nurl_file = \"f\"\n"
                .into(),
            "destinations.ops-slack.url_env: give url_env or url_file, not both",
        ),
        (
            "an unknown key",
            "[destinations.ops-slack]\nkind = \"slack\"\nurl_env = \"X\"\nchannel = \"#ops\"\n"
                .into(),
            "unknown field `channel`",
        ),
        (
            "too many retries",
            "[destinations.ops-slack]\nkind = \"slack\"\nurl_env = \"X\"\nretries = 50\n".into(),
            "destinations.ops-slack.retries: at most 10",
        ),
        (
            "a chat as the job's destination",
            format!(
                "[destinations.ops-slack]\nkind = \"slack\"\nurl_env = \"X\"\n\n{job}destinations = [\"out\", \"ops-slack\"]\n"
            ),
            "jobs[0] (j).destinations[1]: \"ops-slack\" is a slack destination, which posts notices, not files; name it in notify.to instead",
        ),
    ];
    for (case, body, needle) in cases {
        let sandbox = Sandbox::new();
        sandbox.write_config(&format!("{}{body}", config_header()));
        let mut cmd = sandbox.command(&["jobs", "list"]);
        cmd.env("CHAT_URL_BAD", format!("hooks.example/{SECRET}"))
            .env("CHAT_URL_FTP", format!("ftp://hooks.example/{SECRET}"));
        let out = run_command(cmd);
        assert_eq!(out.code, Some(2), "{case}: {out:?}");
        assert!(
            out.stderr.contains(needle),
            "{case}: no {needle:?} in\n{}",
            out.stderr
        );
        assert!(!out.stderr.contains(SECRET), "{case}: {}", out.stderr);
        assert!(out.stdout.trim().is_empty(), "{case}: {}", out.stdout);
    }
}
