//! Moving, filtering and the command line.

use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler as _;

use crate::console::command_line::{self, Cmd};
use crate::console::keymap::Action;
use crate::console::model::{AuditView, Effect, Model, Panel, Popup, PromptKind, Question, Screen};
use crate::control::Request;

impl Model {
    pub(super) fn set_filter(&mut self, panel: Panel, text: String) -> Vec<Effect> {
        match panel {
            Panel::Jobs => {
                self.jobs.filter = text;
                self.jobs.selected = 0;
                self.refilter();
                if !self.history_all {
                    return vec![self.refresh()];
                }
            }
            Panel::Upcoming => {
                self.upcoming.filter = text;
                self.upcoming.selected = 0;
            }
            Panel::History => {
                self.history.filter = text;
                self.history.selected = 0;
            }
            Panel::Errors => {
                self.errors.filter = text;
                self.errors.selected = 0;
            }
            Panel::Log => self.log.filter.text = text,
        }
        Vec::new()
    }

    pub(super) fn move_by(&mut self, delta: i64) -> Vec<Effect> {
        match (&mut self.screen, &mut self.popup) {
            (_, Some(Popup::Help { scroll })) => {
                *scroll = step(*scroll, delta);
                return Vec::new();
            }
            (Screen::Job { scroll, .. } | Screen::Run { scroll, .. }, _) => {
                *scroll = step(*scroll, delta);
                return Vec::new();
            }
            _ => {}
        }
        let len = match self.focus {
            Panel::Jobs => self.visible_jobs.len(),
            Panel::Upcoming => self.visible_upcoming().count(),
            Panel::History => self.visible_history().count(),
            Panel::Errors => self.visible_errors().count(),
            Panel::Log => {
                self.scroll_log(delta);
                return Vec::new();
            }
        };
        let list = match self.focus {
            Panel::Jobs => &mut self.jobs,
            Panel::Upcoming => &mut self.upcoming,
            Panel::History => &mut self.history,
            _ => &mut self.errors,
        };
        let before = list.selected;
        let target = (list.selected as i64).saturating_add(delta);
        list.selected = target.clamp(0, len.saturating_sub(1) as i64) as usize;
        if self.focus == Panel::Jobs && !self.history_all && self.jobs.selected != before {
            return vec![self.refresh()];
        }
        Vec::new()
    }

    pub(super) fn scroll_log(&mut self, delta: i64) {
        let buffer = self.log.buffer();
        // Up is a positive step back in the log.
        let bottom = buffer.scroll(&self.log.filter, self.log.bottom, -delta);
        let at_end = buffer.below(&self.log.filter, bottom) == 0;
        if delta > 0 && at_end {
            self.log.follow = self.log.stored.is_none();
            self.log.bottom = if self.log.follow { None } else { bottom };
        } else {
            self.log.follow = false;
            self.log.bottom = bottom;
        }
    }

    pub(super) fn prompt_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(prompt) = self.prompt.as_mut() else {
            return Vec::new();
        };
        let kind = prompt.kind;
        match key.code {
            KeyCode::Esc => {
                self.prompt = None;
                match kind {
                    PromptKind::Filter(panel) => self.set_filter(panel, String::new()),
                    PromptKind::Command => Vec::new(),
                }
            }
            KeyCode::Enter => {
                let text = prompt.input.value().to_string();
                self.prompt = None;
                match kind {
                    PromptKind::Filter(_) => Vec::new(),
                    PromptKind::Command => self.command(&text),
                }
            }
            _ => {
                prompt.input.handle_event(&TermEvent::Key(key));
                let text = prompt.input.value().to_lowercase();
                match kind {
                    PromptKind::Filter(panel) => self.set_filter(panel, text),
                    PromptKind::Command => Vec::new(),
                }
            }
        }
    }

    /// Carry out a `:` command line.
    pub fn command(&mut self, line: &str) -> Vec<Effect> {
        let cmd = match command_line::parse(line) {
            Ok(cmd) => cmd,
            Err(error) => return self.nothing(&error),
        };
        let known = |model: &mut Model, name: String, then: fn(String) -> Vec<Effect>| {
            if model.loaded && model.job(&name).is_none() {
                model.nothing(&format!("no job named {name:?}"))
            } else {
                then(name)
            }
        };
        match cmd {
            Cmd::Pause(name) => known(self, name, |n| vec![Effect::Control(Request::Pause(n))]),
            Cmd::Resume(name) => known(self, name, |n| vec![Effect::Control(Request::Resume(n))]),
            Cmd::Run(name) => known(self, name, |n| vec![Effect::Control(Request::RunNow(n))]),
            Cmd::PauseAll => vec![Effect::Control(Request::PauseAll)],
            Cmd::ResumeAll => vec![Effect::Control(Request::ResumeAll)],
            Cmd::Cancel(id) => vec![Effect::Control(Request::Cancel(id))],
            Cmd::Retry(id) => vec![Effect::Control(Request::Retry(id))],
            Cmd::DryRun(name) => {
                if self.loaded && self.job(&name).is_none() {
                    return self.nothing(&format!("no job named {name:?}"));
                }
                self.dry_run(name)
            }
            Cmd::Delete(name) => {
                if self.loaded && self.job(&name).is_none() {
                    return self.nothing(&format!("no job named {name:?}"));
                }
                self.popup = Some(Popup::Confirm(Question::Delete(name)));
                Vec::new()
            }
            Cmd::New => self.open_form(None),
            Cmd::Edit(name) => self.open_form(Some(&name)),
            Cmd::Show(name) => {
                if self.loaded && self.job(&name).is_none() {
                    return self.nothing(&format!("no job named {name:?}"));
                }
                self.open_job(name)
            }
            Cmd::ShowRun(id) => self.open_run(id),
            Cmd::Filter(text) => self.set_filter(self.focus, text),
            Cmd::History(None) => {
                self.history_all = true;
                vec![self.refresh()]
            }
            Cmd::History(Some(name)) => {
                if !self.select_job(&name) {
                    return self.nothing(&format!("no job named {name:?}"));
                }
                self.history_all = false;
                self.history.selected = 0;
                self.focus_panel(Panel::History);
                vec![self.refresh()]
            }
            Cmd::LogJob(job) => {
                self.log.filter.job = job;
                Vec::new()
            }
            Cmd::Level(level) => {
                self.log.filter.min_level = level;
                Vec::new()
            }
            Cmd::Follow => {
                self.follow();
                Vec::new()
            }
            Cmd::Audit(job) => {
                self.popup = Some(Popup::Audit(AuditView {
                    job: job.clone(),
                    entries: None,
                    scroll: 0,
                }));
                vec![Effect::LoadAudit(job)]
            }
            Cmd::Performance => {
                self.popup = Some(Popup::Performance(Default::default()));
                vec![self.load_performance()]
            }
            Cmd::Help => self.act(Action::Help),
            Cmd::Quit => self.act(Action::Quit),
        }
    }

    /// Select `name` in the jobs panel, clearing a filter that hides it.
    pub(super) fn select_job(&mut self, name: &str) -> bool {
        let Ok(index) = self
            .data
            .jobs
            .binary_search_by(|j| j.name.as_str().cmp(name))
        else {
            return false;
        };
        if !self.visible_jobs.contains(&index) {
            self.jobs.filter.clear();
            self.refilter();
        }
        self.jobs.selected = self
            .visible_jobs
            .iter()
            .position(|&i| i == index)
            .unwrap_or(0);
        true
    }
}

fn step(value: u16, delta: i64) -> u16 {
    (i64::from(value) + delta).clamp(0, i64::from(u16::MAX)) as u16
}
