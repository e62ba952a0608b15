//! Destinations made in the console (kept in the store): `cronport check`
//! checks them as it checks the config's and marks them; `cronport apply`
//! accepts jobs that name them; a name the config file defines later is
//! the config's, with a warning rather than a failure.

use cronport::store::{NewDestination, Store};

use crate::common::process::{Sandbox, config_header};
use crate::{assert_ok, job_line};

fn make(sandbox: &Sandbox, name: &str, root: &std::path::Path) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = Store::open(&sandbox.store).await.expect("store");
        let definition = serde_json::json!({
            "kind": "local",
            "root": root,
            "path": "{job}/{job}.{ext}",
        });
        store
            .create_destination(&NewDestination {
                name: name.into(),
                kind: "local".into(),
                definition: definition.to_string(),
            })
            .await
            .expect("made");
        store.close().await;
    });
}

#[test]
fn made_destinations_are_checked_and_a_config_name_wins_with_a_warning() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&config_header());
    // The store is made by the first command.
    sandbox.run(&["check"]).ok("check of an empty config");
    let made = sandbox.path().join("made");
    make(&sandbox, "made-here", &made);
    make(&sandbox, "shared", &sandbox.path().join("stored-shared"));
    sandbox.write_config(&format!(
        "{}[destinations.shared]\nkind = \"local\"\nroot = \"config-shared\"\n\
         path = \"{{job}}.{{ext}}\"\n\n",
        config_header()
    ));

    // A job naming the made destination is accepted by apply.
    let file = sandbox.write(
        "jobs.toml",
        "[[jobs]]\nname = \"to-made\"\nschedule = \"0 3 * * *\"\n\
         source = { kind = \"command\", argv = [\"true\"] }\n\
         format = { kind = \"csv\" }\ndestinations = [\"made-here\", \"shared\"]\n",
    );
    sandbox
        .run(&["apply", file.to_str().expect("utf-8")])
        .ok("apply of a job naming a destination made in the console");

    // It is a folder: it cannot carry notices.
    let notify = sandbox.write(
        "notify.toml",
        "[[jobs]]\nname = \"notifies\"\nschedule = \"0 3 * * *\"\n\
         source = { kind = \"command\", argv = [\"true\"] }\n\
         format = { kind = \"csv\" }\ndestinations = [\"out\"]\n\
         notify = { on = [\"failure\"], to = [\"made-here\"] }\n",
    );
    let refused = sandbox
        .run(&["apply", notify.to_str().expect("utf-8")])
        .expect_code(2, "apply of a job notifying through a folder");
    assert!(
        refused
            .stderr
            .contains("notify.to[0]: \"made-here\" is a local folder made in the console"),
        "{}",
        refused.stderr
    );

    let out = sandbox.run(&["check"]).ok("check with made destinations");
    let line = |prefix: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?}:\n{}", out.stdout))
            .to_string()
    };
    let made_line = line("ok   destination made-here [made in the console]");
    assert!(
        made_line.contains(&made.display().to_string()),
        "{made_line}"
    );
    let warned = line("warn destination shared:");
    assert!(
        warned.contains("the config's [destinations] definition is the one used"),
        "{warned}"
    );
    let shared = line("ok   destination shared:");
    assert!(
        shared.contains("config-shared"),
        "the config's root: {shared}"
    );
    let job = assert_ok(&out, "to-made");
    assert!(job.contains("made-here"), "{job}");
    assert_eq!(job_line(&out, "to-made"), job);

    let report = sandbox.run(&["check", "--json"]).ok("check --json").json();
    let checks = report["checks"].as_array().expect("checks");
    let made_check = checks
        .iter()
        .find(|c| c["kind"] == "destination" && c["name"] == "made-here")
        .expect("the made destination");
    assert_eq!(made_check["origin"], "made in the console");
    let warning = checks
        .iter()
        .find(|c| c["name"] == "shared" && c["warning"] == true)
        .expect("the warning");
    assert_eq!(warning["ok"], true);
}
