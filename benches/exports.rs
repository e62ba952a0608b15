//! Export benchmark (issue 4): prints figures, asserts nothing about speed.
//!
//! `cargo bench --bench exports` builds in release and prints, for a
//! 1,000,000-row SQLite table (id, name, amount, qty, created, note):
//! rows/s and peak memory for csv, json, ndjson and xlsx, and for pdf on
//! 100,000 rows, each through the real pipeline (SQLite source -> format ->
//! local folder) in a fresh child process so peak RSS is its own; beside
//! them, in the same run, `sqlite3 -csv` / `-json`, and Python's xlsxwriter
//! (constant memory) and reportlab where installed
//! (`scripts/bench-tools.sh` installs them). Then milliseconds per png of a
//! 50-bar chart and of a 2,000-shape diagram, in-process once fonts are
//! loaded, beside the `resvg` command where installed.
//! `CRONPORT_BENCH_ROWS` changes the table size; `CRONPORT_BENCH_ONLY=csv,png`
//! picks sections.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone as _, Utc};
use cronport::export::destination::{Destination, DestinationConfig};
use cronport::export::format::FormatSpec;
use cronport::export::source::SourceSpec;
use cronport::export::source::sql::{ConnectionConfig, Connections, SqlSpec};
use cronport::export::value::{Column, Value};
use cronport::export::{Pipeline, RunContext};

const ROLE: &str = "CRONPORT_BENCH_ROLE";
const DB: &str = "CRONPORT_BENCH_DB";
const OUT: &str = "CRONPORT_BENCH_OUT";

fn rows_wanted() -> u64 {
    std::env::var("CRONPORT_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn wanted(section: &str) -> bool {
    std::env::var("CRONPORT_BENCH_ONLY").map_or(true, |only| only.split(',').any(|s| s == section))
}

fn ctx() -> RunContext {
    RunContext {
        job: "bench".into(),
        run_id: 1,
        attempt: 1,
        scheduled_for: Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap(),
        window_start: Utc.with_ymd_and_hms(2026, 3, 7, 7, 0, 0).unwrap(),
        window_end: Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap(),
        timezone: chrono_tz::UTC,
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Child: export `limit` rows in one format through the pipeline, print
/// "rows seconds bytes peak_mb".
fn child(kind: &str, limit: u64) {
    let db = std::env::var(DB).expect("db path");
    let out = PathBuf::from(std::env::var(OUT).expect("out dir"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let connections = Connections::new(HashMap::from([(
            "bench".to_string(),
            ConnectionConfig {
                url: format!("sqlite://{db}"),
                password_env: None,
                password_file: None,
            },
        )]));
        let config: DestinationConfig = toml::from_str(&format!(
            "kind = \"local\"\nroot = {:?}\npath = \"{{job}}.{{ext}}\"",
            out.display().to_string()
        ))
        .expect("destination");
        let mut destinations: HashMap<String, Arc<dyn Destination>> = HashMap::new();
        destinations.insert("out".into(), Arc::from(config.build()));
        let pipeline = Pipeline::new(Arc::new(connections), destinations, out.join("spool"));
        let source = SourceSpec::Sql(SqlSpec {
            connection: "bench".into(),
            query: format!("select * from t limit {limit}"),
        });
        let format: FormatSpec = toml::from_str::<HashMap<String, FormatSpec>>(&format!(
            "f = {{ kind = \"{kind}\", max_rows = {limit} }}"
        ))
        .or_else(|_| {
            toml::from_str::<HashMap<String, FormatSpec>>(&format!("f = {{ kind = \"{kind}\" }}"))
        })
        .expect("format")
        .remove("f")
        .expect("format");
        let started = Instant::now();
        let result = pipeline
            .run(&source, &format, &["out".into()], &ctx())
            .await
            .expect("export");
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{} {seconds} {} {}",
            result.rows,
            result.bytes,
            peak_rss_mb()
        );
    });
}

fn make_table(path: &Path, rows: u64) {
    let sql = format!(
        "create table t (id INTEGER, name TEXT, amount REAL, qty INTEGER, created DATETIME, note TEXT);
         insert into t with recursive c(i) as (select 1 union all select i + 1 from c where i < {rows})
           select i, 'customer ' || i, i * 0.25, i % 97, datetime(1767225600 + i * 7, 'unixepoch'),
                  case when i % 10 = 0 then 'Zoë, \"quoted\" 東京' else null end from c;"
    );
    let status = Command::new("sqlite3")
        .arg(path)
        .arg(sql)
        .status()
        .expect("sqlite3 (apt install sqlite3)");
    assert!(status.success(), "sqlite3 could not build the table");
}

fn time_command(program: &str, args: &[&str], stdout: Option<&Path>) -> Option<f64> {
    let mut command = Command::new(program);
    command.args(args).stderr(Stdio::null());
    match stdout {
        Some(p) => command.stdout(std::fs::File::create(p).ok()?),
        None => command.stdout(Stdio::null()),
    };
    let started = Instant::now();
    let status = command.status().ok()?;
    status.success().then(|| started.elapsed().as_secs_f64())
}

const PY_XLSX: &str = "import sqlite3, sys, xlsxwriter\nwb = xlsxwriter.Workbook(sys.argv[2], {'constant_memory': True})\nws = wb.add_worksheet()\nfor r, row in enumerate(sqlite3.connect(sys.argv[1]).execute('select * from t limit ' + sys.argv[3])):\n    ws.write_row(r, 0, row)\nwb.close()";
const PY_PDF: &str = "import sqlite3, sys\nfrom reportlab.pdfgen import canvas\nfrom reportlab.lib.pagesizes import A4, landscape\nc = canvas.Canvas(sys.argv[2], pagesize=landscape(A4))\ny = 560\nfor row in sqlite3.connect(sys.argv[1]).execute('select * from t limit ' + sys.argv[3]):\n    x = 30\n    for v in row:\n        c.drawString(x, y, '' if v is None else str(v)); x += 130\n    y -= 11\n    if y < 30:\n        c.showPage(); y = 560\nc.save()";

fn main() {
    if let Ok(role) = std::env::var(ROLE) {
        let (kind, limit) = role.split_once(':').expect("role kind:limit");
        child(kind, limit.parse().expect("limit"));
        return;
    }
    let rows = rows_wanted();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("bench.db");
    println!(
        "exports benchmark: {} cores, table of {rows} rows (6 columns), release build",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let started = Instant::now();
    make_table(&db, rows);
    println!(
        "table built by sqlite3 in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let exe = std::env::current_exe().expect("own path");
    let db_s = db.display().to_string();
    let mut plan = vec![
        ("csv", rows),
        ("json", rows),
        ("ndjson", rows),
        ("xlsx", rows),
        ("pdf", rows.min(100_000)),
    ];
    // The memory bound holds for pdf at a million rows too; reportlab is
    // only timed on the 100,000 (a million would take it minutes).
    if rows > 100_000 {
        plan.push(("pdf", rows));
    }
    for (kind, limit) in plan {
        if !wanted(kind) {
            continue;
        }
        let out = dir.path().join(format!("out-{kind}-{limit}"));
        let output = Command::new(&exe)
            .env(ROLE, format!("{kind}:{limit}"))
            .env(DB, &db)
            .env(OUT, &out)
            .output()
            .expect("child");
        let line = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<f64> = line
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        if fields.len() != 4 {
            println!(
                "{kind:<7} failed: {}{}",
                line.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
            continue;
        }
        let (n, secs, bytes, peak) = (fields[0], fields[1], fields[2], fields[3]);
        println!(
            "{kind:<7} {n:>9} rows  {:>10.0} rows/s  {:>7.2}s  {:>7.1} MB out  peak RSS {peak:.1} MB",
            n / secs,
            secs,
            bytes / 1e6
        );
        let limit_s = limit.to_string();
        let reference = match kind {
            "csv" => time_command(
                "sqlite3",
                &["-csv", "-header", &db_s, "select * from t"],
                Some(&dir.path().join("ref.csv")),
            )
            .map(|s| ("sqlite3 -csv", s)),
            "json" => time_command(
                "sqlite3",
                &["-json", &db_s, "select * from t"],
                Some(&dir.path().join("ref.json")),
            )
            .map(|s| ("sqlite3 -json", s)),
            "xlsx" => time_command(
                "python3",
                &[
                    "-c",
                    PY_XLSX,
                    &db_s,
                    &dir.path().join("ref.xlsx").display().to_string(),
                    &limit_s,
                ],
                None,
            )
            .map(|s| ("python xlsxwriter (constant_memory)", s)),
            "pdf" if limit <= 100_000 => time_command(
                "python3",
                &[
                    "-c",
                    PY_PDF,
                    &db_s,
                    &dir.path().join("ref.pdf").display().to_string(),
                    &limit_s,
                ],
                None,
            )
            .map(|s| ("python reportlab canvas", s)),
            _ => None,
        };
        match reference {
            Some((name, s)) => println!(
                "        reference {name}: {:.0} rows/s ({s:.2}s); cronport is {:.1}x",
                limit as f64 / s,
                (limit as f64 / s).recip() * (n / secs)
            ),
            None if kind == "xlsx" || (kind == "pdf" && limit <= 100_000) => {
                println!("        reference: not installed (scripts/bench-tools.sh)")
            }
            None => {}
        }
    }
    if wanted("png") {
        png_figures(dir.path());
    }
}

fn render_once(format: &FormatSpec, columns: &[Column], rows: &[Vec<Value>]) {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut encoder = format.encoder(Box::new(Count(0)), &ctx()).expect("encoder");
    encoder.begin(columns).expect("begin");
    encoder.write_rows(rows).expect("rows");
    encoder.finish().expect("finish");
}

/// CPU time from /proc/self/stat, in milliseconds: (this process, all its
/// threads; its waited-for children). Unlike wall time it does not grow
/// while other processes hold the cores.
fn cpu_ms() -> (f64, f64) {
    static TICK_MS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let tick_ms = *TICK_MS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(10.0, |hz| 1000.0 / hz)
    });
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which may itself hold spaces.
    let fields: Vec<f64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(f64::NAN))
        .collect();
    let field = |i: usize| fields.get(i).copied().unwrap_or(f64::NAN);
    // utime, stime, cutime, cstime are fields 14-17 (11-14 after the name).
    (
        (field(11) + field(12)) * tick_ms,
        (field(13) + field(14)) * tick_ms,
    )
}

/// Milliseconds of one render of `rows` as `format`.
fn timed_render(format: &FormatSpec, columns: &[Column], rows: &[Vec<Value>]) -> f64 {
    let started = Instant::now();
    render_once(format, columns, rows);
    started.elapsed().as_secs_f64() * 1000.0
}

/// The median of `times`: a busy spell on this shared machine should not
/// decide a figure, as it would a mean.
fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Median wall time of `rounds` renders, and mean CPU time of one across
/// all threads, in milliseconds.
fn per_render_ms(
    format: &FormatSpec,
    columns: &[Column],
    rows: &[Vec<Value>],
    rounds: u32,
) -> (f64, f64) {
    render_once(format, columns, rows); // loads the fonts once
    let (cpu, _) = cpu_ms();
    let mut walls: Vec<f64> = (0..rounds)
        .map(|_| timed_render(format, columns, rows))
        .collect();
    let cpu = (cpu_ms().0 - cpu) / f64::from(rounds);
    (median(&mut walls), cpu)
}

fn png_figures(dir: &Path) {
    let chart: FormatSpec = toml::from_str::<HashMap<String, FormatSpec>>(
        "f = { kind = \"png\", chart = { kind = \"bar\", x = \"c\", y = [\"v\"] } }",
    )
    .expect("spec")
    .remove("f")
    .expect("spec");
    let columns = vec![Column::new("c"), Column::new("v")];
    let rows: Vec<Vec<Value>> = (0..50)
        .map(|i| {
            vec![
                Value::Text(format!("cat {i}")),
                Value::Int((i * 37 % 101) as i64),
            ]
        })
        .collect();
    let (wall, cpu) = per_render_ms(&chart, &columns, &rows, 100);
    println!(
        "png     50-bar chart (800x480): {wall:.2} ms per image (median of 100; {cpu:.2} ms on CPU, all threads)"
    );

    let mut svg =
        String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="1000">"#);
    for i in 0..2000 {
        let (x, y) = ((i % 50) * 32, (i / 50) * 25);
        svg.push_str(&match i % 4 {
            0 => format!(r##"<rect x="{x}" y="{y}" width="28" height="20" fill="#3a7bd5" stroke="#222" rx="3"/>"##),
            1 => format!(r##"<circle cx="{}" cy="{}" r="10" fill="#e4812f"/>"##, x + 14, y + 10),
            2 => format!(r##"<path d="M{x} {y} l28 20 l-28 0 z" fill="#3a9b5b"/>"##),
            _ => format!(r##"<text x="{x}" y="{}" font-size="9">n{i}</text>"##, y + 14),
        });
    }
    svg.push_str("</svg>");
    let path = dir.join("diagram.svg");
    let _ = std::fs::write(&path, &svg);
    let diagram: FormatSpec =
        toml::from_str::<HashMap<String, FormatSpec>>("f = { kind = \"png\" }")
            .expect("spec")
            .remove("f")
            .expect("spec");
    let columns = vec![Column::new("svg")];
    let rows = vec![vec![Value::Text(svg)]];
    let out = dir.join("diagram.png");
    let args = [path.display().to_string(), out.display().to_string()];
    // The command and cronport take turns, so a busy spell on this shared
    // machine falls on both; each side gives its median.
    render_once(&diagram, &columns, &rows); // loads the fonts once
    let (cpu, children) = cpu_ms();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        theirs.extend(time_command("resvg", &[&args[0], &args[1]], None).map(|s| s * 1000.0));
        for _ in 0..3 {
            ours.push(timed_render(&diagram, &columns, &rows));
        }
    }
    let (cpu_now, children_now) = cpu_ms();
    let cpu = (cpu_now - cpu) / ours.len() as f64;
    let ms = median(&mut ours);
    println!(
        "png     2,000-shape diagram (1600x1000): {ms:.2} ms per image (median of {}; {cpu:.2} ms on CPU, all threads)",
        ours.len()
    );
    let ref_cpu = (children_now - children) / theirs.len().max(1) as f64;
    match theirs.len() {
        0 => println!("        reference resvg command: not installed (scripts/bench-tools.sh)"),
        n => {
            let theirs = median(&mut theirs);
            println!(
                "        reference resvg command: {theirs:.2} ms (median of {n}; {ref_cpu:.2} ms on CPU); cronport is {:.1}x faster ({:.1}x on CPU)",
                theirs / ms,
                ref_cpu / cpu
            );
        }
    }
}
