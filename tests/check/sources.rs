//! command, file and http sources: a program found and not run, a glob
//! matched, a server answering.

use crate::common::process::{Sandbox, config_header, sqlite_script};
use crate::common::servers::{Webhook, free_port};
use crate::{assert_fails, assert_ok, job};

#[test]
fn command_jobs_need_an_executable_program_which_is_not_run() {
    use std::os::unix::fs::PermissionsExt as _;
    let sandbox = Sandbox::new();
    let marker = sandbox.path().join("ran");
    let script = sandbox.write(
        "export.sh",
        &format!("#!/bin/sh\ntouch {}\necho id\necho 1\n", marker.display()),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    sandbox.write("plain.sh", "#!/bin/sh\necho id\n");
    let command = |argv: &str| format!("{{ kind = \"command\", argv = [{argv}] }}");
    sandbox.write_config(&format!(
        "{}{}{}{}{}",
        config_header(),
        job("runs", &command("\"./export.sh\"")),
        job("on-path", &command("\"sh\", \"-c\", \"echo id\"")),
        job("no-program", &command("\"cronport-no-such-program\"")),
        job("not-executable", &command("\"./plain.sh\"")),
    ));
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with programs that cannot run");
    let line = assert_ok(&out, "runs");
    assert!(line.contains("(not run)"), "{line}");
    assert_ok(&out, "on-path");
    assert_fails(&out, "no-program", "not found on PATH");
    assert_fails(&out, "not-executable", "plain.sh is not executable");
    assert!(!marker.exists(), "check ran the program");
}

#[test]
fn file_jobs_need_a_matching_file() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.path().join("data")).expect("data folder");
    sandbox.write("data/a.csv", "id\n1\n");
    sandbox.write("data/b.csv", "id\n2\n");
    sqlite_script(
        &sandbox.path().join("data.db"),
        "create table t (n integer);",
    );
    let file = |path: &str| format!("{{ kind = \"file\", path = \"{path}\" }}");
    // A template query without a row fails the run, so it fails the check.
    let empty_template = "{ kind = \"file\", path = \"data/a.csv\", template = true, \
                          template_query = { connection = \"db\", query = \"select n from t\" } }";
    sandbox.write_config(&format!(
        "{}[sources.db]\nurl = \"sqlite://data.db\"\n\n{}{}{}{}",
        config_header(),
        job("two-files", &file("data/*.csv")),
        job("no-match", &file("data/*.json")),
        job("no-file", &file("data/c.csv")),
        job("empty-template", empty_template),
    ));
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with globs that match nothing");
    let line = assert_ok(&out, "two-files");
    assert!(
        line.contains("2 readable file(s) match data/*.csv"),
        "{line}"
    );
    assert_fails(&out, "no-match", "no file matches");
    assert_fails(&out, "no-file", "no such file");
    assert_fails(
        &out,
        "empty-template",
        "template_query: query on db ran: 1 column(s), no rows",
    );
}

#[test]
fn http_jobs_need_a_server_that_answers() {
    let live = Webhook::start(&[]);
    let failing = Webhook::start(&["503", "503"]);
    // A server that refuses HEAD is asked with GET.
    let no_head = Webhook::start(&["405", "200"]);
    let closed = free_port();
    let http = |url: &str| format!("{{ kind = \"http\", url = \"{url}\" }}");
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}{}{}{}{}",
        config_header(),
        job("no-head", &http(&no_head.url("/report.json"))),
        job("live", &http(&live.url("/report.json"))),
        job("failing", &http(&failing.url("/report.json"))),
        job(
            "closed",
            &http(&format!("http://127.0.0.1:{closed}/report.json"))
        ),
    ));
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with a closed port and a failing server");
    let line = assert_ok(&out, "live");
    assert!(line.contains("HTTP 200 to HEAD"), "{line}");
    assert_fails(&out, "failing", "503");
    let line = assert_ok(&out, "no-head");
    assert!(line.contains("HTTP 200 to GET"), "{line}");
    let methods: Vec<String> = no_head.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["HEAD", "GET"]);
    assert_fails(&out, "closed", "Connection refused");
    let requests = live.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "HEAD");
    assert_eq!(requests[0].path, "/report.json");
}
