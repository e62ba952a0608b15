//! Slack and Teams notices against a recording HTTP server on loopback
//! (`scripts/webhook-recorder.py`): the documented JSON shapes, field by
//! field, for failure, recovery and late notices (Slack's Block Kit
//! message with its `text` fallback; Microsoft's Adaptive Card inside a
//! message attachment), retries on 429 with Retry-After, a 400 that fails
//! naming the destination, a webhook URL that never shows, a job's real
//! failure and recovery through the binary, and bad settings exiting 2.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone as _, Utc};
use common::process::{Sandbox, config_header, run_command, toml_str};
use common::servers::{Recorded, Webhook};
use cronport::config::Config;
use cronport::export::destination::Destination;
use cronport::export::destination::notice::{Notice, NoticeKind};
use cronport::scheduler::notify;
use serde_json::{Value, json};

/// The secret part of every test webhook URL: it must never be printed.
const SECRET: &str = "T0001/B0002/s3cr3t-path-9f";

/// 2026-03-08 02:00 UTC, and its Unix time.
fn slot() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 8, 2, 0, 0).unwrap()
}
const SLOT_UNIX: i64 = 1_772_935_200;

/// A destination named `name` of `kind` whose URL comes from a fresh
/// environment variable pointing at `hook`.
fn chat(kind: &str, name: &str, hook: &Webhook, extra: &str) -> Arc<dyn Destination> {
    let var = format!(
        "CRONPORT_TEST_CHAT_{}_{}",
        kind.to_uppercase(),
        hook.server.port
    );
    // SAFETY: a variable only this test reads, set before it is read.
    unsafe { std::env::set_var(&var, hook.url(&format!("/{kind}/{SECRET}"))) };
    let text = format!(
        "[destinations.{name}]\nkind = \"{kind}\"\nurl_env = \"{var}\"\nbackoff = \"50ms\"\n{extra}\n"
    );
    let config = Config::parse(&text, Path::new("/tmp")).unwrap_or_else(|e| panic!("{e}"));
    Arc::from(config.destinations[name].build())
}

fn notice(event: NoticeKind) -> Notice {
    let mut n = Notice {
        event,
        job: "nightly".into(),
        run_id: 12,
        fire_id: "nightly@20260308T020000.000Z".into(),
        status: "failed".into(),
        scheduled_for: slot(),
        rows: None,
        bytes: None,
        file: None,
        outputs: vec![],
        error: None,
        failed_runs: None,
    };
    match event {
        NoticeKind::Failure => {
            n.error = Some("source: <!channel> psql & co exited 2\n```boom```".into());
        }
        NoticeKind::Recovery => {
            n.status = "succeeded".into();
            n.rows = Some(42);
            n.bytes = Some(1234);
            n.failed_runs = Some(3);
            n.outputs = vec![
                "s3://acme/nightly/2026-03-08.csv".into(),
                "/srv/exports/nightly.csv".into(),
            ];
        }
        NoticeKind::Late => {
            n.status = "queued".into();
            n.error = Some("has not started 10m after its time (alert_if_late = 10m)".into());
        }
        _ => {}
    }
    n
}

/// Send the three notices and return what the receiver got, with the
/// window of Unix seconds they were sent in.
async fn send_three(dest: &Arc<dyn Destination>, hook: &Webhook) -> (Vec<Recorded>, i64, i64) {
    let before = Utc::now().timestamp();
    for event in [NoticeKind::Failure, NoticeKind::Recovery, NoticeKind::Late] {
        let location = dest.notify(&notice(event)).await.unwrap();
        assert!(location.ends_with("(HTTP 200)"), "{location}");
        assert!(!location.contains(SECRET), "{location}");
    }
    let after = Utc::now().timestamp();
    let requests = hook.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert!(r.path.ends_with(SECRET), "{}", r.path);
        assert_eq!(r.headers["content-type"], "application/json");
    }
    (requests, before, after)
}

/// The Unix time in a `<!date^SECONDS^...>` after `marker` in `text`.
fn slack_time_after(text: &str, marker: &str) -> i64 {
    let rest = &text[text.find(marker).unwrap_or_else(|| panic!("{text}")) + marker.len()..];
    let rest = rest
        .strip_prefix("<!date^")
        .unwrap_or_else(|| panic!("{text}"));
    rest[..rest.find('^').unwrap()].parse().unwrap()
}

fn mrkdwn_fields(block: &Value) -> Vec<String> {
    assert_eq!(block["type"], "section", "{block}");
    block["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["type"], "mrkdwn", "{f}");
            f["text"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn slack_notices_are_block_kit_messages_with_a_text_fallback() {
    let hook = Webhook::start(&[]);
    let dest = chat("slack", "ops-slack", &hook, "");
    let (requests, before, after) = send_three(&dest, &hook).await;
    let slot_date =
        format!("<!date^{SLOT_UNIX}^{{date_short_pretty}} {{time_secs}}|2026-03-08 02:00:00 UTC>");

    // Failure.
    let m = requests[0].json();
    let summary = notice(NoticeKind::Failure).summary();
    assert_eq!(
        m["text"],
        summary
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    let blocks = m["blocks"].as_array().unwrap();
    let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["header", "section", "section", "context"], "{m}");
    assert_eq!(
        blocks[0]["text"],
        json!({"type": "plain_text", "text": ":x: nightly failed", "emoji": true})
    );
    assert_eq!(
        mrkdwn_fields(&blocks[1]),
        [
            "*Job*\nnightly",
            "*Run*\n12",
            "*Status*\nfailed",
            "*Slot*\n2026-03-08 02:00:00 UTC"
        ]
    );
    // A mention in an error stays text; a fence in it cannot end the block.
    assert_eq!(
        blocks[2]["text"],
        json!({"type": "mrkdwn", "text": "*Error*\n```source: &lt;!channel&gt; psql &amp; co exited 2\n'''boom'''```"})
    );
    let context = &blocks[3]["elements"];
    assert_eq!(context.as_array().unwrap().len(), 1);
    assert_eq!(context[0]["type"], "mrkdwn");
    let line = context[0]["text"].as_str().unwrap();
    assert!(
        line.starts_with(&format!("cronport · slot {slot_date} · sent <!date^")),
        "{line}"
    );
    assert!(line.ends_with(" · nightly@20260308T020000.000Z"), "{line}");
    let sent = slack_time_after(line, "sent ");
    assert!(
        before <= sent && sent <= after,
        "{sent} not in {before}..{after}"
    );

    // Recovery: counts, where the file went, no error block.
    let m = requests[1].json();
    assert_eq!(m["text"], notice(NoticeKind::Recovery).summary());
    let blocks = m["blocks"].as_array().unwrap();
    let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["header", "section", "section", "context"], "{m}");
    assert_eq!(
        blocks[0]["text"]["text"],
        ":white_check_mark: nightly recovered after 3 failed run(s)"
    );
    assert_eq!(
        mrkdwn_fields(&blocks[1]),
        [
            "*Job*\nnightly",
            "*Run*\n12",
            "*Status*\nsucceeded",
            "*Slot*\n2026-03-08 02:00:00 UTC",
            "*Rows*\n42",
            "*Bytes*\n1234",
            "*Failed runs*\n3"
        ]
    );
    assert_eq!(
        blocks[2]["text"],
        json!({"type": "mrkdwn", "text": "*Delivered to*\n• s3://acme/nightly/2026-03-08.csv\n• /srv/exports/nightly.csv"})
    );

    // Late: a warning, how late as the detail.
    let m = requests[2].json();
    assert_eq!(m["text"], notice(NoticeKind::Late).summary());
    let blocks = m["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["text"]["text"], ":warning: nightly is late");
    assert_eq!(mrkdwn_fields(&blocks[1])[2], "*Status*\nqueued");
    assert_eq!(
        blocks[2]["text"]["text"],
        "*Detail*\n```has not started 10m after its time (alert_if_late = 10m)```"
    );
    assert_eq!(blocks[3]["type"], "context");
}

/// The card inside a Teams message, after checking the envelope.
fn card(message: &Value) -> &Value {
    assert_eq!(message["type"], "message", "{message}");
    let attachments = message["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{message}");
    let a = &attachments[0];
    assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(a["contentUrl"], Value::Null);
    let card = &a["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    card
}

fn facts(block: &Value) -> Vec<(String, String)> {
    assert_eq!(block["type"], "FactSet", "{block}");
    block["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_string(),
                f["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn teams_notices_are_adaptive_cards_in_a_message_attachment() {
    let hook = Webhook::start(&[]);
    let dest = chat("teams", "ops-teams", &hook, "");
    let (requests, before, after) = send_three(&dest, &hook).await;
    let slot_time = "{{DATE(2026-03-08T02:00:00Z, SHORT)}} {{TIME(2026-03-08T02:00:00Z)}}";

    // Failure.
    let m = requests[0].json();
    let c = card(&m);
    assert_eq!(c["fallbackText"], notice(NoticeKind::Failure).summary());
    let body = c["body"].as_array().unwrap();
    assert_eq!(body.len(), 5, "{c}");
    assert_eq!(
        body[0],
        json!({"type": "TextBlock", "text": "nightly failed", "size": "Large",
               "weight": "Bolder", "color": "Attention", "wrap": true})
    );
    assert_eq!(
        facts(&body[1]),
        pairs(&[
            ("Job", "nightly"),
            ("Run", "12"),
            ("Status", "failed"),
            ("Slot", "2026-03-08 02:00:00 UTC")
        ])
    );
    assert_eq!(
        body[2],
        json!({"type": "TextBlock", "text": "Error", "weight": "Bolder", "wrap": true})
    );
    assert_eq!(
        body[3],
        json!({"type": "TextBlock", "text": "source: <!channel> psql & co exited 2\n```boom```",
               "fontType": "Monospace", "wrap": true})
    );
    assert_eq!(body[4]["type"], "TextBlock");
    assert_eq!(body[4]["isSubtle"], true);
    let line = body[4]["text"].as_str().unwrap();
    assert!(
        line.starts_with(&format!("cronport · slot {slot_time} · sent {{{{DATE(")),
        "{line}"
    );
    assert!(line.ends_with(" · nightly@20260308T020000.000Z"), "{line}");
    let sent = &line[line.find("sent {{DATE(").unwrap() + "sent {{DATE(".len()..];
    let sent: DateTime<Utc> = sent[..sent.find(',').unwrap()].parse().unwrap();
    assert!(
        before <= sent.timestamp() && sent.timestamp() <= after,
        "{sent} not in {before}..{after}"
    );

    // Recovery.
    let m = requests[1].json();
    let c = card(&m);
    assert_eq!(c["fallbackText"], notice(NoticeKind::Recovery).summary());
    let body = c["body"].as_array().unwrap();
    assert_eq!(body[0]["text"], "nightly recovered after 3 failed run(s)");
    assert_eq!(body[0]["color"], "Good");
    assert_eq!(
        facts(&body[1]),
        pairs(&[
            ("Job", "nightly"),
            ("Run", "12"),
            ("Status", "succeeded"),
            ("Slot", "2026-03-08 02:00:00 UTC"),
            ("Rows", "42"),
            ("Bytes", "1234"),
            ("Failed runs", "3")
        ])
    );
    assert_eq!(body[2]["text"], "Delivered to");
    assert_eq!(
        body[3],
        json!({"type": "TextBlock", "text": "- s3://acme/nightly/2026-03-08.csv\n- /srv/exports/nightly.csv", "wrap": true})
    );
    assert_eq!(body.len(), 5, "{c}");

    // Late.
    let m = requests[2].json();
    let c = card(&m);
    let body = c["body"].as_array().unwrap();
    assert_eq!(body[0]["text"], "nightly is late");
    assert_eq!(body[0]["color"], "Warning");
    assert_eq!(facts(&body[1])[2], pairs(&[("Status", "queued")])[0]);
    assert_eq!(body[2]["text"], "Detail");
    assert_eq!(
        body[3]["text"],
        "has not started 10m after its time (alert_if_late = 10m)"
    );
}

/// The destinations by name, as the scheduler holds them.
fn named(list: &[(&str, Arc<dyn Destination>)]) -> HashMap<String, Arc<dyn Destination>> {
    list.iter()
        .map(|(name, d)| (name.to_string(), d.clone()))
        .collect()
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_and_a_400_fails_naming_the_destination() {
    let paced = Webhook::start(&["429,retry-after=1"]);
    let refusing = Webhook::start(&["400"]);
    let destinations = named(&[
        ("team-chat", chat("teams", "team-chat", &paced, "")),
        ("ops-slack", chat("slack", "ops-slack", &refusing, "")),
    ]);
    let to = ["team-chat".to_string(), "ops-slack".to_string()];
    let sent = notify::send(&destinations, &to, &notice(NoticeKind::Failure)).await;
    assert_eq!(sent.len(), 2);

    let ok = sent[0].to_string();
    assert!(sent[0].result.is_ok(), "{ok}");
    assert!(
        ok.starts_with("notified team-chat of the failure of nightly (run 12): Teams webhook http://127.0.0.1/... (HTTP 200)"),
        "{ok}"
    );
    let requests = paced.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].answered, "429,retry-after=1");
    assert!(
        requests[1].received - requests[0].received >= 1.0,
        "Retry-After: 1 was not waited for: {requests:?}"
    );
    assert_eq!(requests[0].body(), requests[1].body(), "the same message");

    // A 400 will not change: one try, and the service's answer is the error.
    let err = sent[1].to_string();
    assert!(sent[1].result.is_err(), "{err}");
    assert!(
        err.starts_with("could not notify ops-slack of the failure of nightly (run 12): POST to Slack webhook http://127.0.0.1/...: HTTP 400: "),
        "{err}"
    );
    assert!(err.contains("scripted failure"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
    assert_eq!(refusing.requests().len(), 1);

    // A name nobody defined is reported the same way, naming it.
    let sent = notify::send(
        &destinations,
        &["nowhere".into()],
        &notice(NoticeKind::Late),
    )
    .await;
    let err = sent[0].to_string();
    assert!(
        err.contains("could not notify nowhere")
            && err.contains("not defined under [destinations]"),
        "{err}"
    );
}

#[tokio::test]
async fn a_webhook_url_from_a_file_never_shows_and_files_are_not_taken() {
    let hook = Webhook::start(&["503", "502"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("teams.url"),
        hook.url(&format!("/t/{SECRET}")) + "\n",
    )
    .unwrap();
    let text = "[destinations.t]\nkind = \"teams\"\nurl_file = \"teams.url\"\nretries = 1\nbackoff = \"50ms\"\n";
    let config = Config::parse(text, dir.path()).unwrap();
    let dest = config.destinations["t"].build();
    let err = dest
        .notify(&notice(NoticeKind::Failure))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "POST to Teams webhook http://127.0.0.1/...: HTTP 502: {\"error\":\"scripted failure\"}"
    );
    assert_eq!(hook.requests().len(), 2);
    assert!(hook.requests()[0].path.ends_with(SECRET));
    let checked = dest.check().await.unwrap();
    assert!(
        checked.starts_with("Teams webhook http://127.0.0.1/... answers"),
        "{checked}"
    );
    // `cronport check` only reaches the server: a HEAD, nothing posted.
    let requests = hook.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].method, "HEAD");
    assert!(!format!("{config:?}").contains(SECRET));

    // A stored job naming it as a destination gets a clear refusal.
    let spool = dir.path().join("a.csv");
    std::fs::write(&spool, "n\n1\n").unwrap();
    let artifact = cronport::export::destination::Artifact {
        path: spool,
        extension: "csv".into(),
        bytes: 4,
        rows: 1,
        delivered: vec![],
    };
    let ctx = cronport::export::RunContext {
        job: "j".into(),
        run_id: 1,
        attempt: 1,
        scheduled_for: slot(),
        window_start: slot(),
        window_end: slot(),
        timezone: chrono_tz::UTC,
    };
    let err = dest.deliver(&artifact, &ctx).await.unwrap_err().to_string();
    assert!(
        err.contains(
            "a teams destination posts notices, not files: name it in the job's notify.to"
        ),
        "{err}"
    );
    assert_eq!(hook.requests().len(), 3, "nothing posted for a file");
}

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
