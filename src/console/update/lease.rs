//! How news about the scheduler lease changes an attached console: it
//! follows a new holder, says when the one it follows is gone, and starts a
//! scheduler of its own once it has taken the lease.

use super::super::model::{Effect, Engine, LeaseNews, Model};
use crate::control::{describe_command, host_pid};
use crate::events::{Level, LogEvent};
use crate::store::Command;

/// Requests named in the footer when several were closed.
const NAMED: usize = 2;

impl Model {
    pub(super) fn lease(&mut self, news: LeaseNews) -> Vec<Effect> {
        // Late news from a watcher, after this console took over: moot.
        if !self.attached() {
            return Vec::new();
        }
        match news {
            LeaseNews::Holder {
                holder,
                heartbeat_at,
            } => {
                match &self.engine {
                    Engine::TakingOver { from, .. } => {
                        let text = format!(
                            "{} took over from {}; attached to it",
                            host_pid(&holder),
                            host_pid(from)
                        );
                        self.note(Level::Info, &text);
                        self.say(text);
                    }
                    // The same process under a new id is a console handing
                    // the lease to the scheduler it started: not news.
                    Engine::Attached(old) if host_pid(old) != host_pid(&holder) => {
                        let text = format!(
                            "{} holds the scheduler lease now (was {})",
                            host_pid(&holder),
                            host_pid(old)
                        );
                        self.note(Level::Info, &text);
                        self.say(text);
                    }
                    _ => {}
                }
                self.engine = Engine::Attached(holder);
                self.holder_heartbeat = heartbeat_at;
                Vec::new()
            }
            LeaseNews::Gone { holder, why } => {
                let text = format!(
                    "{} {}; taking over the schedule",
                    host_pid(&holder),
                    why.words()
                );
                self.note(Level::Warn, &text);
                self.say_error(text);
                self.engine = Engine::TakingOver { from: holder, why };
                Vec::new()
            }
            LeaseNews::Won { from, claim } => {
                let text = format!(
                    "took over from {}: the scheduler runs here now",
                    host_pid(&from)
                );
                self.note(Level::Info, &text);
                self.say(text);
                self.engine = Engine::Starting;
                self.took_over_from = Some(from.clone());
                self.holder_heartbeat = None;
                vec![Effect::TakeOver { from, claim }]
            }
            LeaseNews::Trouble(error) => {
                self.say_error(format!("watching the scheduler lease: {error}"));
                Vec::new()
            }
        }
    }

    /// Requests closed unrun as the scheduler started here: the footer
    /// names them (the log has a line for each, from the store side).
    pub(super) fn commands_closed(&mut self, commands: &[Command]) {
        if commands.is_empty() {
            return;
        }
        let mut named: Vec<String> = commands
            .iter()
            .take(NAMED)
            .map(|c| {
                format!(
                    "{} (asked {})",
                    describe_command(c),
                    crate::console::view::text::clock(self.now, c.requested_at, self.zone)
                )
            })
            .collect();
        if commands.len() > NAMED {
            named.push(format!("{} more", commands.len() - NAMED));
        }
        let whose = self.took_over_from.as_ref().map_or_else(
            || "earlier".to_string(),
            |from| format!("left for {}", host_pid(from)),
        );
        self.say_error(format!(
            "{} request(s) {whose} not run (too old or interrupted): {}",
            commands.len(),
            named.join(", ")
        ));
    }

    /// A line in the live log from the console itself.
    pub(super) fn note(&mut self, level: Level, text: &str) {
        self.log.live.push(LogEvent {
            ts: self.now,
            level,
            job: None,
            run_id: None,
            message: text.to_string(),
        });
    }
}
