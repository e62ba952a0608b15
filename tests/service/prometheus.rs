//! A real Prometheus server scrapes a headless instance; PromQL through its
//! HTTP API gives the number of runs the store holds.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::common::process::{Sandbox, config_header, poll};
use super::{free_address, get, headless_with_metrics};

/// The Prometheus server, killed when dropped.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prometheus_scrapes_the_number_of_runs_the_store_holds() {
    let sandbox = Sandbox::new();
    // A job that fires once a year: its runs are the three run here, so
    // the store's count stands still while Prometheus scrapes.
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"yearly\"\nschedule = \"0 3 1 1 *\"\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"n\\n1\\n\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    sandbox.apply_config();
    for _ in 0..3 {
        sandbox
            .run(&["jobs", "run", "yearly", "--wait"])
            .ok("jobs run --wait");
    }
    let stored = sandbox.runs().len();
    assert_eq!(stored, 3, "the store holds the three runs");
    let (mut child, target) = headless_with_metrics(&sandbox);

    let web = free_address();
    let config = sandbox.write(
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: cronport\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    );
    let data = sandbox.path().join("prometheus-data");
    let server = match Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address={web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => Prometheus(child),
        Err(e) => panic!("prometheus is missing ({e}): run scripts/services.sh monitoring"),
    };
    poll("Prometheus ready", Duration::from_secs(60), || {
        get(web, "/-/ready")
            .ok()
            .filter(|(status, _)| *status == 200)
    });
    let query = "/api/v1/query?query=sum%28cronport_store_runs%29";
    let value = poll("the runs in Prometheus", Duration::from_secs(60), || {
        let (status, body) = get(web, query).ok()?;
        if status != 200 {
            return None;
        }
        let answer: Value = serde_json::from_str(&body).ok()?;
        let value = answer["data"]["result"][0]["value"][1].as_str()?;
        value.parse::<f64>().ok()
    });
    assert_eq!(
        value, stored as f64,
        "sum(cronport_store_runs) in Prometheus"
    );
    // Prometheus saw the target up, with the runs this instance carried out
    // (none: they ran before it started).
    let (_, up) = get(web, "/api/v1/query?query=up%7Bjob%3D%22cronport%22%7D").expect("query up");
    assert!(up.contains("\"1\""), "target up: {up}");
    drop(server);
    assert_eq!(child.terminate(Duration::from_secs(30)).code(), Some(0));
}
