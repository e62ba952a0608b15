//! The file, http and command sources through the real pipeline, bad input
//! of every kind failing cleanly, and dry-run previews.

#[path = "support/formats.rs"]
mod formats;
#[path = "support/pipeline.rs"]
mod pipeline;

use std::time::Duration;

use cronport::export::format::FormatSpec;
use cronport::export::source::SourceSpec;
use formats::{ctx, spec};
use pipeline::Setup;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn source(toml_inline: &str) -> SourceSpec {
    #[derive(serde::Deserialize)]
    struct Holder {
        source: SourceSpec,
    }
    toml::from_str::<Holder>(&format!("source = {toml_inline}"))
        .unwrap_or_else(|e| panic!("{toml_inline}: {e}"))
        .source
}

async fn export(
    s: &Setup,
    src: &SourceSpec,
    format: &FormatSpec,
    run: i64,
) -> Result<String, String> {
    s.pipeline
        .run(src, format, &["out".into()], &ctx(run))
        .await
        .map(|o| std::fs::read_to_string(&o.outputs[0]).unwrap_or_else(|_| o.outputs[0].clone()))
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn file_source_reads_json_csv_and_markdown() {
    let s = Setup::new(&[]);
    std::fs::write(
        s.path("a.json"),
        r#"[{"id": 1, "name": "Zoë", "tags": ["x"]}, {"id": 2.5, "extra": null}]"#,
    )
    .unwrap();
    let out = export(
        &s,
        &source(&format!(
            "{{ kind = \"file\", path = {:?} }}",
            s.path("a.json")
        )),
        &spec(r#"{ kind = "ndjson" }"#),
        1,
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        "{\"id\":1,\"name\":\"Zoë\",\"tags\":[\"x\"],\"extra\":null}\n{\"id\":2.5,\"name\":null,\"tags\":null,\"extra\":null}\n"
    );
    // Several CSV files with the same header, in name order.
    std::fs::create_dir(s.path("parts")).unwrap();
    std::fs::write(s.path("parts/1.csv"), "k,v\na,1\n").unwrap();
    std::fs::write(s.path("parts/2.csv"), "k,v\nb,\"2,5\"\n").unwrap();
    let glob = format!("{}/*.csv", s.path("parts").display());
    let out = export(
        &s,
        &source(&format!("{{ kind = \"file\", path = {glob:?} }}")),
        &spec(r#"{ kind = "csv" }"#),
        2,
    )
    .await
    .unwrap();
    assert_eq!(out, "k,v\r\na,1\r\nb,\"2,5\"\r\n");
    std::fs::write(s.path("parts/3.csv"), "other\nc\n").unwrap();
    let err = export(
        &s,
        &source(&format!("{{ kind = \"file\", path = {glob:?} }}")),
        &spec(r#"{ kind = "csv" }"#),
        3,
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("3.csv") && err.contains("has columns other"),
        "{err}"
    );
    // The first table of a Markdown document.
    std::fs::write(
        s.path("t.md"),
        "# Title\n\n| a | b |\n|---|:-:|\n| 1 | x \\| y |\n| 2 | z |\n\ntext\n",
    )
    .unwrap();
    let out = export(
        &s,
        &source(&format!(
            "{{ kind = \"file\", path = {:?} }}",
            s.path("t.md")
        )),
        &spec(r#"{ kind = "csv" }"#),
        4,
    )
    .await
    .unwrap();
    assert_eq!(out, "a,b\r\n1,x | y\r\n2,z\r\n");
}

#[tokio::test]
async fn svg_template_is_filled_from_the_run_and_a_query() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stats.db");
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}?mode=rwc",
        db.display()
    ))
    .await
    .unwrap();
    sqlx::query("CREATE TABLE s (orders INTEGER, label TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO s VALUES (42, 'A & B <ok>')")
        .execute(&mut conn)
        .await
        .unwrap();
    let s = Setup::new(&[("stats", format!("sqlite://{}", db.display()))]);
    std::fs::write(
        s.path("status.svg"),
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="300" height="60"><rect width="300" height="60" fill="#ffffff"/><text x="10" y="40">{{date}}: {{ orders }} orders ({{label}})</text></svg>"##,
    )
    .unwrap();
    let src = source(&format!(
        "{{ kind = \"file\", path = {:?}, template = true, template_query = {{ connection = \"stats\", query = \"select orders, label from s\" }} }}",
        s.path("status.svg")
    ));
    let out = export(&s, &src, &spec(r#"{ kind = "svg" }"#), 1)
        .await
        .unwrap();
    assert!(
        out.contains("2026-03-08: 42 orders (A &amp; B &lt;ok&gt;)"),
        "{out}"
    );
    // The same template to PNG: pixels are drawn.
    let png = s
        .pipeline
        .run(
            &src,
            &spec(r#"{ kind = "png", scale = 2 }"#),
            &["out".into()],
            &ctx(2),
        )
        .await
        .unwrap();
    let bytes = std::fs::read(&png.outputs[0]).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    // An unknown placeholder fails the run, naming it.
    std::fs::write(
        s.path("bad.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\">{{nope}}</svg>",
    )
    .unwrap();
    let src = source(&format!(
        "{{ kind = \"file\", path = {:?}, template = true }}",
        s.path("bad.svg")
    ));
    let err = export(&s, &src, &spec(r#"{ kind = "svg" }"#), 3)
        .await
        .unwrap_err();
    assert!(err.contains("unknown placeholder {{nope}}"), "{err}");
    assert!(
        s.leftovers()
            .iter()
            .all(|p| !p.to_string_lossy().contains("/3.")),
        "{:?}",
        s.leftovers()
    );
}

/// A tiny HTTP/1.1 server on loopback answering a few fixed paths.
async fn serve() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&buf).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let authorised = request
                    .lines()
                    .any(|l| l.eq_ignore_ascii_case("authorization: Bearer s3cret"));
                let (status, kind, body) = match path.as_str() {
                    "/orders.json" => (
                        "200 OK",
                        "application/json",
                        r#"[{"id":1,"total":9.5},{"id":2,"total":null}]"#.to_string(),
                    ),
                    "/orders" => (
                        "200 OK",
                        "text/csv; charset=utf-8",
                        "id,total\n1,9.5\n2,\n".to_string(),
                    ),
                    "/secret" if authorised => {
                        ("200 OK", "application/json", r#"[{"ok":true}]"#.to_string())
                    }
                    "/secret" => ("401 Unauthorized", "text/plain", "who are you".to_string()),
                    "/slow" => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        ("200 OK", "application/json", "[]".to_string())
                    }
                    _ => (
                        "500 Internal Server Error",
                        "text/plain",
                        "database down".to_string(),
                    ),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(response.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (base, task)
}

#[tokio::test]
async fn http_source_reads_json_and_csv_with_env_headers() {
    let (base, server) = serve().await;
    let s = Setup::new(&[]);
    let out = export(
        &s,
        &source(&format!(
            "{{ kind = \"http\", url = \"{base}/orders.json\" }}"
        )),
        &spec(r#"{ kind = "csv" }"#),
        1,
    )
    .await
    .unwrap();
    assert_eq!(out, "id,total\r\n1,9.5\r\n2,\r\n");
    let out = export(
        &s,
        &source(&format!("{{ kind = \"http\", url = \"{base}/orders\" }}")),
        &spec(r#"{ kind = "json" }"#),
        2,
    )
    .await
    .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!([{"id": "1", "total": "9.5"}, {"id": "2", "total": ""}])
    );
    // SAFETY: set before any thread reads this variable; this test alone uses it.
    unsafe { std::env::set_var("CRONPORT_TEST_HTTP_TOKEN", "Bearer s3cret") };
    let src = source(&format!(
        "{{ kind = \"http\", url = \"{base}/secret\", headers_env = {{ Authorization = \"CRONPORT_TEST_HTTP_TOKEN\" }} }}"
    ));
    assert_eq!(
        export(&s, &src, &spec(r#"{ kind = "ndjson" }"#), 3)
            .await
            .unwrap(),
        "{\"ok\":true}\n"
    );
    let src = source(&format!(
        "{{ kind = \"http\", url = \"{base}/secret\", headers_env = {{ Authorization = \"CRONPORT_TEST_UNSET_VAR\" }} }}"
    ));
    let err = export(&s, &src, &spec(r#"{ kind = "ndjson" }"#), 4)
        .await
        .unwrap_err();
    assert!(err.contains("CRONPORT_TEST_UNSET_VAR is not set"), "{err}");
    let src = source(&format!(
        "{{ kind = \"http\", url = \"{base}/slow\", timeout = \"1s\" }}"
    ));
    let err = export(&s, &src, &spec(r#"{ kind = "csv" }"#), 5)
        .await
        .unwrap_err();
    assert!(err.contains("no complete answer within 1s"), "{err}");
    server.abort();
}

#[tokio::test]
async fn command_output_can_be_json_or_an_svg_diagram() {
    let s = Setup::new(&[]);
    let src = source(
        r#"{ kind = "command", argv = ["printf", "[{\"a\": 1}, {\"a\": 2}]"], output = "json" }"#,
    );
    assert_eq!(
        export(&s, &src, &spec(r#"{ kind = "csv" }"#), 1)
            .await
            .unwrap(),
        "a\r\n1\r\n2\r\n"
    );
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#00ff00"/></svg>"##;
    let src = SourceSpec::Command(
        toml::from_str(&format!(
            "argv = [\"printf\", \"%s\", {svg:?}]\noutput = \"svg\""
        ))
        .unwrap(),
    );
    let out = s
        .pipeline
        .run(&src, &spec(r#"{ kind = "png" }"#), &["out".into()], &ctx(2))
        .await
        .unwrap();
    assert!(out.bytes > 50);
}

#[tokio::test]
async fn bad_input_fails_the_run_and_leaves_nothing() {
    let (base, server) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("empty.db");
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}?mode=rwc",
        db.display()
    ))
    .await
    .unwrap();
    sqlx::query("CREATE TABLE t (a INTEGER)")
        .execute(&mut conn)
        .await
        .unwrap();
    let s = Setup::new(&[("db", format!("sqlite://{}", db.display()))]);
    std::fs::write(
        s.path("broken.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><g></svg",
    )
    .unwrap();
    let cases = [
        (
            r#"{ kind = "sql", connection = "db", query = "select * from no_such_table" }"#
                .to_string(),
            r#"{ kind = "xlsx" }"#,
            "no such table",
        ),
        (
            format!("{{ kind = \"file\", path = {:?} }}", s.path("missing.csv")),
            r#"{ kind = "csv" }"#,
            "no such file",
        ),
        (
            format!(
                "{{ kind = \"file\", path = \"{}/*.json\" }}",
                s.dir.path().display()
            ),
            r#"{ kind = "json" }"#,
            "no file matches",
        ),
        (
            r#"{ kind = "command", argv = ["sh", "-c", "echo a; echo 1; echo boom >&2; exit 3"] }"#
                .to_string(),
            r#"{ kind = "pdf" }"#,
            "exit status: 3",
        ),
        (
            format!("{{ kind = \"http\", url = \"{base}/down\" }}"),
            r#"{ kind = "csv" }"#,
            "500 Internal Server Error: database down",
        ),
        (
            format!("{{ kind = \"file\", path = {:?} }}", s.path("broken.svg")),
            r#"{ kind = "png" }"#,
            "the SVG does not parse",
        ),
        (
            format!("{{ kind = \"file\", path = {:?} }}", s.path("broken.svg")),
            r#"{ kind = "pdf" }"#,
            "the SVG does not parse",
        ),
    ];
    for (i, (src, format, want)) in cases.iter().enumerate() {
        let err = export(&s, &source(src), &spec(format), i as i64)
            .await
            .unwrap_err();
        assert!(err.contains(want), "{src}: {err}");
    }
    assert!(s.leftovers().is_empty(), "{:?}", s.leftovers());
    server.abort();
}

#[tokio::test]
async fn preview_renders_the_first_rows_and_delivers_nothing() {
    let s = Setup::new(&[]);
    let src = source(
        r#"{ kind = "command", argv = ["sh", "-c", "echo n,sq; i=1; while [ $i -le 5000 ]; do echo $i,$((i*i)); i=$((i+1)); done"] }"#,
    );
    let preview = s
        .pipeline
        .preview(&src, &spec(r#"{ kind = "json" }"#), &ctx(1), 3)
        .await
        .unwrap();
    assert_eq!(preview.columns, ["n", "sq"]);
    assert_eq!(preview.rows.len(), 3);
    assert_eq!(
        preview.rows[2],
        [Some("3".to_string()), Some("9".to_string())]
    );
    assert!(!preview.complete);
    assert_eq!(preview.bytes, "[\n{\"n\":\"1\",\"sq\":\"1\"},\n{\"n\":\"2\",\"sq\":\"4\"},\n{\"n\":\"3\",\"sq\":\"9\"}\n]\n".len() as u64);
    assert!(
        preview.to_text().contains("3 row(s) rendered"),
        "{}",
        preview.to_text()
    );
    let small = source(r#"{ kind = "command", argv = ["printf", "a\n1\n"] }"#);
    let preview = s
        .pipeline
        .preview(&small, &spec(r#"{ kind = "pdf" }"#), &ctx(2), 10)
        .await
        .unwrap();
    assert!(preview.complete && preview.bytes > 1000);
    assert!(s.leftovers().is_empty(), "{:?}", s.leftovers());
}

/// Relative paths in a config mean "next to the config file", wherever
/// cronport was started (tests run from the package root, not the temp
/// folder); the folder's own name may even look like glob syntax.
#[tokio::test]
async fn relative_file_and_command_paths_are_taken_from_the_config_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("conf [prod]");
    std::fs::create_dir_all(folder.join("data")).unwrap();
    std::fs::write(folder.join("data/1.csv"), "k,v\na,1\n").unwrap();
    std::fs::write(folder.join("data/2.csv"), "k,v\nb,2\n").unwrap();
    std::fs::write(folder.join("data/one.csv"), "k,v\nc,3\n").unwrap();
    let config = folder.join("cronport.toml");
    std::fs::write(
        &config,
        r#"
[scheduler]
spool_dir = "spool"

[destinations.out]
kind = "local"
root = "out"
path = "{job}/{run_id}.{ext}"

[[jobs]]
name = "glob"
schedule = "every 1h"
source = { kind = "file", path = "data/[0-9].csv" }
format = { kind = "csv" }
destinations = ["out"]

[[jobs]]
name = "single"
schedule = "every 1h"
source = { kind = "file", path = "data/one.csv" }
format = { kind = "csv" }
destinations = ["out"]

[[jobs]]
name = "command"
schedule = "every 1h"
source = { kind = "command", argv = ["cat", "one.csv"], cwd = "data" }
format = { kind = "csv" }
destinations = ["out"]
"#,
    )
    .unwrap();
    let config = cronport::config::Config::load_file(&config).unwrap();
    let pipeline = config.pipeline();
    let mut outputs = Vec::new();
    for (run, job) in config.jobs.iter().enumerate() {
        let mut run_ctx = ctx(run as i64 + 1);
        run_ctx.job = job.spec.name.clone();
        let output = pipeline
            .run(
                &job.spec.source,
                &job.spec.format,
                &job.spec.destinations,
                &run_ctx,
            )
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", job.spec.name));
        outputs.push(std::fs::read_to_string(&output.outputs[0]).unwrap());
    }
    assert_eq!(
        outputs,
        ["k,v\r\na,1\r\nb,2\r\n", "k,v\r\nc,3\r\n", "k,v\r\nc,3\r\n"]
    );
    assert!(folder.join("out/glob/1.csv").is_file());
}

/// Every demo job in config/cronport.toml (what `cargo run --release`
/// shows a new user) runs through the real pipeline and produces its
/// format; only the destination is moved to a temporary folder.
#[tokio::test]
async fn every_demo_job_runs() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/cronport.toml");
    let mut config = cronport::config::Config::load_file(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out: cronport::export::destination::DestinationConfig = toml::from_str(&format!(
        "kind = \"local\"\nroot = {:?}\npath = \"{{job}}.{{ext}}\"",
        dir.path().display().to_string()
    ))
    .unwrap();
    config.destinations.insert("exports".into(), out);
    config.scheduler.spool_dir = dir.path().join("spool");
    let pipeline = config.pipeline();
    assert!(config.jobs.len() >= 8, "{} demo jobs", config.jobs.len());
    for (run, job) in config.jobs.iter().enumerate() {
        let name = &job.spec.name;
        // A week of the sample shop's orders, for jobs that read a window.
        let mut run_ctx = ctx(run as i64 + 1);
        run_ctx.job = name.clone();
        run_ctx.window_start = run_ctx.window_end - chrono::Duration::days(7);
        let output = pipeline
            .run(
                &job.spec.source,
                &job.spec.format,
                &job.spec.destinations,
                &run_ctx,
            )
            .await
            .unwrap_or_else(|e| panic!("demo job {name}: {e}"));
        let bytes = std::fs::read(&output.outputs[0]).unwrap();
        assert!(output.rows > 0, "demo job {name} exported no rows");
        let magic: &[u8] = match job.spec.format.extension().as_str() {
            "png" => b"\x89PNG",
            "pdf" => b"%PDF",
            "xlsx" => b"PK",
            "ndjson.gz" => b"\x1f\x8b",
            _ => b"",
        };
        assert!(
            bytes.starts_with(magic),
            "demo job {name}: not a {magic:?} file"
        );
    }
    // The status diagram's placeholders were filled from the shop's data.
    let status = config
        .jobs
        .iter()
        .find(|j| j.spec.name == "shop-status")
        .unwrap();
    let svg = pipeline
        .preview(
            &status.spec.source,
            &formats::spec(r#"{ kind = "svg" }"#),
            &ctx(99),
            5,
        )
        .await
        .unwrap();
    let text = svg.rows[0][1].clone().unwrap_or_default();
    assert!(text.contains(">500<"), "{text}");
}
