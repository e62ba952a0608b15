//! Headless output: a subscriber to the event bus that writes log lines to
//! stdout as text or JSON, one a line.

use std::io::Write;

use tokio::sync::broadcast::error::RecvError;

use crate::cli::LogFormat;
use crate::events::{Event, EventBus, Level, LogEvent};

/// Print every log line published on `bus` until it closes.
pub fn spawn_printer(bus: &EventBus, format: LogFormat) -> tokio::task::JoinHandle<()> {
    let mut rx = bus.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(Event::Log(line)) => print_line(&line, format),
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => print_line(
                    &LogEvent {
                        ts: chrono::Utc::now(),
                        level: Level::Warn,
                        job: None,
                        run_id: None,
                        message: format!(
                            "{missed} log lines were not printed: output could not keep up"
                        ),
                    },
                    format,
                ),
                Err(RecvError::Closed) => return,
            }
        }
    })
}

fn print_line(line: &LogEvent, format: LogFormat) {
    let text = render(line, format);
    let mut out = std::io::stdout().lock();
    // A closed stdout (a pipe whose reader left) must not stop the scheduler.
    let _ = writeln!(out, "{text}");
}

/// One log line as headless mode prints it.
pub fn render(line: &LogEvent, format: LogFormat) -> String {
    let ts = line.ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    match format {
        LogFormat::Json => serde_json::json!({
            "ts": ts,
            "level": line.level.as_str(),
            "job": line.job,
            "run_id": line.run_id,
            "msg": line.message,
        })
        .to_string(),
        LogFormat::Text => {
            let level = line.level.as_str().to_ascii_uppercase();
            match (&line.job, line.run_id) {
                (Some(job), Some(run)) => format!("{ts} {level:5} {job}#{run}: {}", line.message),
                _ => format!("{ts} {level:5} {}", line.message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn line() -> LogEvent {
        LogEvent {
            ts: chrono::Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap(),
            level: Level::Info,
            job: Some("daily-sales".into()),
            run_id: Some(12),
            message: "rendered 3 rows, \"quoted\"".into(),
        }
    }

    #[test]
    fn json_lines_have_the_documented_keys() {
        let value: serde_json::Value =
            serde_json::from_str(&render(&line(), LogFormat::Json)).unwrap();
        assert_eq!(value["ts"], "2026-03-08T07:00:00.000Z");
        assert_eq!(value["level"], "info");
        assert_eq!(value["job"], "daily-sales");
        assert_eq!(value["run_id"], 12);
        assert_eq!(value["msg"], "rendered 3 rows, \"quoted\"");
    }

    #[test]
    fn text_lines_name_job_and_run() {
        assert_eq!(
            render(&line(), LogFormat::Text),
            "2026-03-08T07:00:00.000Z INFO  daily-sales#12: rendered 3 rows, \"quoted\""
        );
    }
}
