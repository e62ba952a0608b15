//! Through the binary: a run held by a check notifies the job's notify
//! destinations (Slack, Teams, a plain webhook, email) whatever `notify.on`
//! lists, with the failed check and how to release the run.

use serde_json::Value;

use crate::common::process::{Sandbox, config_header, run_command};
use crate::common::servers::{Smtp, Webhook};
use crate::{SECRET, card};

#[test]
fn a_hold_is_posted_with_the_check_and_how_to_release_it() {
    let hook = Webhook::start(&[]);
    let sandbox = Sandbox::new();
    sandbox.write("teams.url", &hook.url(&format!("/teams/{SECRET}")));
    sandbox.write("orders.csv", "id\n1\n");
    sandbox.write_config(&format!(
        "{}[destinations.ops-slack]\nkind = \"slack\"\nurl_env = \"OPS_SLACK_URL\"\n\n\
         [destinations.ops-teams]\nkind = \"teams\"\nurl_file = \"teams.url\"\n\n\
         [destinations.ops-hook]\nkind = \"webhook\"\nurl = \"{}\"\n\n\
         [[jobs]]\nname = \"orders\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"cat\", \"orders.csv\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\
         checks = {{ min_rows = 5 }}\n\
         notify = {{ on = [\"failure\"], to = [\"ops-slack\", \"ops-teams\", \"ops-hook\"] }}\n",
        config_header(),
        hook.url("/hook")
    ));
    sandbox.apply_config();
    let mut cmd = sandbox.command(&["jobs", "run", "orders", "--wait"]);
    cmd.env("OPS_SLACK_URL", hook.url(&format!("/slack/{SECRET}")));
    let out = run_command(cmd).expect_code(1, "a held run");
    assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
    let run_id = sandbox.runs()[0]["id"].as_i64().expect("a run");
    let release = format!("cronport runs release {run_id}");

    let got: Vec<(String, Value)> = hook
        .requests()
        .into_iter()
        .map(|r| (r.path.split('/').nth(1).unwrap_or("").to_string(), r.json()))
        .collect();
    assert_eq!(got.len(), 3, "one notice per destination: {got:?}");
    let of = |kind: &str| {
        got.iter()
            .find(|(p, _)| p == kind)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {kind} notice: {got:?}"))
    };

    let slack = of("slack");
    assert_eq!(
        slack["blocks"][0]["text"]["text"],
        ":warning: orders held: a check failed, nothing was delivered"
    );
    let detail = slack["blocks"][2]["text"]["text"].as_str().expect("detail");
    assert!(
        detail.contains("min_rows: 1 row, fewer than the minimum of 5"),
        "{detail}"
    );
    assert!(detail.contains(&release), "{detail}");
    let fallback = slack["text"].as_str().expect("fallback text");
    assert!(fallback.contains("orders held"), "{fallback}");

    let teams = card(of("teams"));
    assert_eq!(
        teams["body"][0]["text"],
        "orders held: a check failed, nothing was delivered"
    );
    assert_eq!(teams["body"][0]["color"], "Warning");
    assert!(teams.to_string().contains(&release), "{teams}");

    let plain = of("hook");
    assert_eq!(plain["event"], "held", "{plain}");
    assert_eq!(plain["status"], "held", "{plain}");
    assert_eq!(plain["run_id"], run_id, "{plain}");
    let error = plain["error"].as_str().expect("error");
    assert!(error.starts_with("min_rows: 1 row"), "{error}");
    assert!(error.contains(&release), "{error}");
    assert!(
        error.contains(&format!("cronport runs discard {run_id}")),
        "{error}"
    );
}

#[test]
fn a_hold_is_mailed_with_the_check_and_how_to_release_it() {
    let smtp = Smtp::start("none", None);
    let sandbox = Sandbox::new();
    sandbox.write("orders.csv", "id\n");
    sandbox.write_config(&format!(
        "{}[destinations.ops-mail]\nkind = \"email\"\nsmtp = \"smtp://127.0.0.1:{}\"\n\
         tls = \"none\"\nfrom = \"cronport@acme.example\"\nto = [\"ops@acme.example\"]\n\n\
         [[jobs]]\nname = \"orders\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"cat\", \"orders.csv\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\
         checks = {{ not_empty = true }}\nhold_for = \"2h\"\n\
         notify = {{ on = [\"failure\"], to = [\"ops-mail\"] }}\n",
        config_header(),
        smtp.server.port
    ));
    sandbox.apply_config();
    sandbox
        .run(&["jobs", "run", "orders", "--wait"])
        .expect_code(1, "a held run");
    let run_id = sandbox.runs()[0]["id"].as_i64().expect("a run");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "one mail");
    assert_eq!(
        mails[0].header("Subject").as_deref(),
        Some("[cronport] orders: held")
    );
    let body = &mails[0].body;
    assert!(body.contains("not_empty: the output has no rows"), "{body}");
    assert!(
        body.contains(&format!("cronport runs release {run_id}")),
        "{body}"
    );
    assert!(body.contains("discarded after 2h"), "{body}");
}
