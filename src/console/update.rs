//! How messages change the model: keys become actions through the keymap,
//! actions become effects. No I/O here; tests drive it directly.

use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind};
use tui_input::backend::crossterm::EventHandler as _;

use super::command_line::{self, Cmd};
use super::form::{FormContext, FormOutcome, JobForm};
use super::keymap::{self, Action, Mode};
use super::log_buffer::{LIVE_CAPACITY, LogBuffer};
use super::model::{
    DryRunView, Effect, Engine, LogScope, Model, Msg, Panel, Popup, Prompt, PromptKind, Question,
    Screen, Status,
};
use crate::control::Request;
use crate::events::{Event, Level, SchedulerState};
use crate::job::JobSpec;
use crate::store::{RunId, RunStatus};

/// Rows a page key moves.
pub const PAGE: usize = 10;

impl Model {
    /// Apply `msg`; what the runtime should do about it.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Tick(now) => {
                self.now = now;
                Vec::new()
            }
            Msg::Resize => Vec::new(),
            Msg::Snapshot(snapshot) => {
                self.apply_snapshot(*snapshot);
                Vec::new()
            }
            Msg::LoadFailed(error) => {
                self.say_error(format!("reading the store failed: {error}"));
                Vec::new()
            }
            Msg::Event(event) => self.event(event),
            Msg::Logs(lines) => {
                for line in lines {
                    self.log.live.push(line);
                }
                Vec::new()
            }
            Msg::LogLost(n) => {
                self.log.lost += n;
                Vec::new()
            }
            Msg::JobDetails(loaded) => {
                if let Screen::Job { name, details, .. } = &mut self.screen
                    && *name == loaded.job.name
                {
                    *details = Some(loaded);
                }
                Vec::new()
            }
            Msg::RunDetails(loaded) => {
                if let Screen::Run { id, details, .. } = &mut self.screen
                    && *id == loaded.run.id
                {
                    *details = Some(loaded);
                }
                Vec::new()
            }
            Msg::StoredLog { title, lines } => {
                self.log.stored = Some((title, LogBuffer::from_lines(lines, LIVE_CAPACITY)));
                self.log.follow = false;
                self.log.bottom = None;
                self.focus_panel(Panel::Log);
                Vec::new()
            }
            Msg::Done(result) => {
                match result {
                    Ok(text) => self.say(text),
                    Err(error) => self.say_error(error),
                }
                vec![self.refresh()]
            }
            Msg::Saved(Ok(text)) => {
                self.popup = None;
                self.say(text);
                vec![self.refresh()]
            }
            Msg::Saved(Err(error)) => {
                // The form stays open with what was typed.
                if let Some(Popup::Form { saving, .. }) = &mut self.popup {
                    *saving = false;
                }
                self.say_error(error);
                Vec::new()
            }
            Msg::DryRun(result) => {
                if let Some(Popup::DryRun(view)) = &mut self.popup
                    && view.result.is_none()
                {
                    view.result = Some(result);
                }
                Vec::new()
            }
            Msg::Engine(engine) => {
                self.engine = engine;
                Vec::new()
            }
        }
    }

    /// A status line.
    pub fn say(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: false,
            at: self.now,
        });
    }

    /// A status line reporting a failure.
    pub fn say_error(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: true,
            at: self.now,
        });
    }

    /// Which keymap applies now.
    pub fn mode(&self) -> Mode {
        match (&self.popup, &self.screen) {
            (Some(Popup::Help { .. }), _) => Mode::Help,
            (Some(Popup::Confirm(_)), _) => Mode::Confirm,
            (_, Screen::Dashboard) => Mode::Dashboard,
            _ => Mode::Details,
        }
    }

    /// A read of the store, with the history the panel wants.
    pub fn refresh(&self) -> Effect {
        Effect::Refresh {
            history_job: self.history_scope(),
        }
    }

    /// Whose runs the history panel shows: `None` for all jobs.
    pub fn history_scope(&self) -> Option<String> {
        if self.history_all {
            None
        } else {
            self.selected_job().map(|j| j.name.clone())
        }
    }

    fn apply_snapshot(&mut self, snapshot: super::model::Snapshot) {
        if let (Engine::Attached(_), Some(holder)) = (&self.engine, &snapshot.holder) {
            self.engine = Engine::Attached(holder.clone());
        }
        let selected = self.selected_job().map(|j| j.name.clone());
        let selected_run = self.selected_run().map(|r| r.id);
        if let Some(at) = snapshot.taken_at {
            self.now = self.now.max(at);
        }
        self.data = snapshot;
        self.loaded = true;
        self.refilter();
        if let Some(name) = selected
            && let Some(i) = self
                .visible_jobs
                .iter()
                .position(|&i| self.data.jobs[i].name == name)
        {
            self.jobs.selected = i;
        }
        if let Some(id) = selected_run {
            let found = self.visible_history().position(|r| r.id == id);
            if let Some(i) = found {
                self.history.selected = i;
            }
        }
        self.clamp();
    }

    fn clamp(&mut self) {
        let last = |n: usize| n.saturating_sub(1);
        self.jobs.selected = self.jobs.selected.min(last(self.visible_jobs.len()));
        self.upcoming.selected = self
            .upcoming
            .selected
            .min(last(self.visible_upcoming().count()));
        self.history.selected = self
            .history
            .selected
            .min(last(self.visible_history().count()));
        self.errors.selected = self
            .errors
            .selected
            .min(last(self.visible_errors().count()));
    }

    fn event(&mut self, event: Event) -> Vec<Effect> {
        let (run, job) = match &event {
            Event::Scheduler(state) => {
                if !self.attached() {
                    self.engine = match state {
                        SchedulerState::Running | SchedulerState::AllPaused => Engine::Running,
                        SchedulerState::Draining => Engine::Draining,
                        SchedulerState::Stopped => Engine::Stopped,
                    };
                }
                return Vec::new();
            }
            Event::Log(line) => {
                self.log.live.push(line.clone());
                return Vec::new();
            }
            Event::RunQueued { run_id, job, .. }
            | Event::RunStarted { run_id, job, .. }
            | Event::RetryScheduled { run_id, job, .. }
            | Event::RunFinished { run_id, job, .. } => (Some(*run_id), job.clone()),
            Event::SlotsSkipped { job, .. } | Event::JobChanged { job } => (None, job.clone()),
        };
        let mut effects = vec![self.refresh()];
        match &self.screen {
            Screen::Run { id, .. } if Some(*id) == run => effects.push(Effect::LoadRun(*id)),
            Screen::Job { name, .. } if *name == job => effects.push(Effect::LoadJob(job)),
            _ => {}
        }
        effects
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if let Some(Popup::Form {
            form,
            original,
            saving,
        }) = &mut self.popup
        {
            if *saving {
                return Vec::new();
            }
            return match form.handle_key(key, self.now) {
                FormOutcome::Continue => Vec::new(),
                FormOutcome::Cancel => {
                    self.popup = None;
                    Vec::new()
                }
                FormOutcome::Save(spec) => {
                    *saving = true;
                    vec![Effect::Save {
                        spec: Box::new(spec),
                        original: original.clone(),
                    }]
                }
            };
        }
        if self.prompt.is_some() {
            return self.prompt_key(key);
        }
        if let Some(Popup::DryRun(_)) = &self.popup {
            if matches!(key.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
                self.popup = None;
            }
            return Vec::new();
        }
        match keymap::lookup(self.mode(), &key) {
            Some(action) => self.act(action),
            None => Vec::new(),
        }
    }

    /// Carry out a keymap action.
    pub fn act(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => {
                self.quitting = true;
                vec![Effect::Quit]
            }
            Action::Help => {
                self.popup = Some(Popup::Help { scroll: 0 });
                Vec::new()
            }
            Action::NextPanel => {
                self.focus_panel(self.focus.cycle(1));
                Vec::new()
            }
            Action::PrevPanel => {
                self.focus_panel(self.focus.cycle(-1));
                Vec::new()
            }
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(PAGE as i64)),
            Action::PageDown => self.move_by(PAGE as i64),
            Action::Top => self.move_by(i64::MIN / 2),
            Action::Bottom => self.move_by(i64::MAX / 2),
            Action::Details => self.open_details(),
            Action::Back => self.back(),
            Action::New => self.open_form(None),
            Action::Edit => match self.target_job() {
                Some(name) => self.open_form(Some(&name)),
                None => self.nothing("no job selected"),
            },
            Action::Delete => match self.target_job() {
                Some(name) => {
                    self.popup = Some(Popup::Confirm(Question::Delete(name)));
                    Vec::new()
                }
                None => self.nothing("no job selected"),
            },
            Action::TogglePause => match self.target_job() {
                Some(name) => {
                    let paused = self.job(&name).is_some_and(|j| j.paused);
                    let request = if paused {
                        Request::Resume(name)
                    } else {
                        Request::Pause(name)
                    };
                    vec![Effect::Control(request)]
                }
                None => self.nothing("no job selected"),
            },
            Action::TogglePauseAll => {
                let request = if self.all_paused() {
                    Request::ResumeAll
                } else {
                    Request::PauseAll
                };
                vec![Effect::Control(request)]
            }
            Action::TestRun => match self.target_job() {
                Some(name) => vec![Effect::Control(Request::RunNow(name))],
                None => self.nothing("no job selected"),
            },
            Action::DryRun => match self.target_job() {
                Some(name) => self.dry_run(name),
                None => self.nothing("no job selected"),
            },
            Action::Retry => self.retry(),
            Action::Cancel => self.cancel(),
            Action::Filter => {
                let kind = PromptKind::Filter(self.focus);
                let current = match self.focus {
                    Panel::Jobs => self.jobs.filter.clone(),
                    Panel::Upcoming => self.upcoming.filter.clone(),
                    Panel::History => self.history.filter.clone(),
                    Panel::Errors => self.errors.filter.clone(),
                    Panel::Log => self.log.filter.text.clone(),
                };
                self.prompt = Some(Prompt {
                    kind,
                    input: tui_input::Input::new(current),
                });
                Vec::new()
            }
            Action::CommandLine => {
                self.prompt = Some(Prompt {
                    kind: PromptKind::Command,
                    input: tui_input::Input::default(),
                });
                Vec::new()
            }
            Action::ToggleFollow => {
                if self.log.follow && self.log.stored.is_none() {
                    self.log.follow = false;
                    self.log.bottom = self.log.live.end().checked_sub(1);
                } else {
                    self.follow();
                }
                Vec::new()
            }
            Action::CycleLogLevel => {
                self.log.filter.min_level = match self.log.filter.min_level {
                    Level::Debug => Level::Info,
                    Level::Info => Level::Warn,
                    Level::Warn => Level::Error,
                    Level::Error => Level::Debug,
                };
                self.say(format!(
                    "live log: {} and up",
                    self.log.filter.min_level.as_str()
                ));
                Vec::new()
            }
            Action::ShowLog => self.show_log(),
            Action::ToggleHistoryScope => {
                self.history_all = !self.history_all;
                self.history.selected = 0;
                vec![self.refresh()]
            }
            Action::Yes => match self.popup.take() {
                Some(Popup::Confirm(Question::Delete(name))) => {
                    if matches!(&self.screen, Screen::Job { name: shown, .. } if *shown == name) {
                        self.screen = Screen::Dashboard;
                    }
                    vec![Effect::Control(Request::Delete(name))]
                }
                other => {
                    self.popup = other;
                    Vec::new()
                }
            },
            Action::No => {
                self.popup = None;
                Vec::new()
            }
        }
    }

    fn nothing(&mut self, why: &str) -> Vec<Effect> {
        self.say_error(why);
        Vec::new()
    }

    fn focus_panel(&mut self, panel: Panel) {
        self.focus = panel;
        if panel != Panel::Jobs {
            self.second = panel;
        }
    }

    fn follow(&mut self) {
        self.log.stored = None;
        self.log.follow = true;
        self.log.bottom = None;
    }

    /// The job an action applies to: the one on screen, or the one selected
    /// in the focused panel.
    pub fn target_job(&self) -> Option<String> {
        match &self.screen {
            Screen::Job { name, .. } => return Some(name.clone()),
            Screen::Run { details, .. } => return details.as_ref().map(|d| d.run.job_name.clone()),
            Screen::Dashboard => {}
        }
        match self.focus {
            Panel::Jobs => self.selected_job().map(|j| j.name.clone()),
            Panel::Upcoming => self
                .visible_upcoming()
                .nth(self.upcoming.selected)
                .map(|u| u.job.clone()),
            Panel::History => self.selected_run().map(|r| r.job_name.clone()),
            Panel::Errors => self
                .visible_errors()
                .nth(self.errors.selected)
                .map(|j| j.name.clone()),
            Panel::Log => self
                .log
                .filter
                .job
                .clone()
                .or_else(|| self.selected_job().map(|j| j.name.clone())),
        }
    }

    /// The run an action applies to, with its status: the one on screen,
    /// the one selected in History, or else `for_job` of the target job.
    fn target_run(
        &self,
        for_job: impl Fn(&Model, &str) -> Option<(RunId, RunStatus)>,
    ) -> Option<(RunId, RunStatus)> {
        match &self.screen {
            Screen::Run { details, .. } => {
                return details.as_ref().map(|d| (d.run.id, d.run.status));
            }
            Screen::Dashboard if self.focus == Panel::History => {
                return self.selected_run().map(|r| (r.id, r.status));
            }
            _ => {}
        }
        let job = self.target_job()?;
        for_job(self, &job)
    }

    fn retry(&mut self) -> Vec<Effect> {
        let run = self.target_run(|m, job| {
            let last = m.job(job)?.stats.as_ref()?.last_run.as_ref()?;
            Some((last.run_id, last.status))
        });
        match run {
            Some((id, RunStatus::Failed | RunStatus::Interrupted | RunStatus::Cancelled)) => {
                vec![Effect::Control(Request::Retry(id))]
            }
            Some((id, status)) => self.nothing(&format!(
                "run {id} is {status}: only failed, interrupted or cancelled runs are retried"
            )),
            None => self.nothing("no run to retry"),
        }
    }

    fn cancel(&mut self) -> Vec<Effect> {
        let run = self.target_run(|m, job| m.running_run_of(job).map(|r| (r.id, r.status)));
        match run {
            Some((id, status)) if !status.is_final() => {
                vec![Effect::Control(Request::Cancel(id))]
            }
            Some((id, status)) => self.nothing(&format!("run {id} is {status}, not running")),
            None => self.nothing("nothing is running"),
        }
    }

    fn dry_run(&mut self, job: String) -> Vec<Effect> {
        self.popup = Some(Popup::DryRun(DryRunView {
            job: job.clone(),
            result: None,
        }));
        vec![Effect::DryRun(job)]
    }

    fn show_log(&mut self) -> Vec<Effect> {
        let scope = match (&self.screen, self.focus) {
            (Screen::Run { id, .. }, _) => Some(LogScope::Run(*id)),
            (Screen::Dashboard, Panel::History) => self.selected_run().map(|r| LogScope::Run(r.id)),
            _ => self.target_job().map(LogScope::Job),
        };
        match scope {
            Some(scope) => {
                self.screen = Screen::Dashboard;
                vec![Effect::LoadLog(scope)]
            }
            None => self.nothing("no run or job selected"),
        }
    }

    fn open_details(&mut self) -> Vec<Effect> {
        if self.focus == Panel::History {
            return match self.selected_run() {
                Some(run) => self.open_run(run.id),
                None => self.nothing("no run selected"),
            };
        }
        match self.target_job() {
            Some(name) => self.open_job(name),
            None => self.nothing("no job selected"),
        }
    }

    fn open_job(&mut self, name: String) -> Vec<Effect> {
        self.screen = Screen::Job {
            name: name.clone(),
            details: None,
            scroll: 0,
        };
        vec![Effect::LoadJob(name)]
    }

    fn open_run(&mut self, id: RunId) -> Vec<Effect> {
        self.screen = Screen::Run {
            id,
            details: None,
            scroll: 0,
        };
        vec![Effect::LoadRun(id)]
    }

    fn back(&mut self) -> Vec<Effect> {
        if self.popup.take().is_some() {
            return Vec::new();
        }
        if !matches!(self.screen, Screen::Dashboard) {
            self.screen = Screen::Dashboard;
            return Vec::new();
        }
        if self.focus == Panel::Log && self.log.stored.is_some() {
            self.follow();
            return Vec::new();
        }
        self.set_filter(self.focus, String::new())
    }

    fn form_context(&self) -> FormContext {
        FormContext {
            existing_names: self.data.jobs.iter().map(|j| j.name.clone()).collect(),
            ..self.form_context.clone()
        }
    }

    fn open_form(&mut self, job: Option<&str>) -> Vec<Effect> {
        let context = self.form_context();
        let (form, original) = match job {
            None => (JobForm::new(context), None),
            Some(name) => {
                let Some(row) = self.job(name) else {
                    return self.nothing(&format!("no job named {name:?}"));
                };
                let spec: JobSpec = match serde_json::from_str(&row.definition) {
                    Ok(spec) => spec,
                    Err(e) => {
                        return self
                            .nothing(&format!("{name}: the stored definition is unreadable: {e}"));
                    }
                };
                let original = Some((row.name.clone(), row.version));
                (JobForm::edit(&spec, context), original)
            }
        };
        self.popup = Some(Popup::Form {
            form: Box::new(form),
            original,
            saving: false,
        });
        Vec::new()
    }

    fn set_filter(&mut self, panel: Panel, text: String) -> Vec<Effect> {
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

    fn move_by(&mut self, delta: i64) -> Vec<Effect> {
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

    fn scroll_log(&mut self, delta: i64) {
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

    fn prompt_key(&mut self, key: KeyEvent) -> Vec<Effect> {
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
            Cmd::Help => self.act(Action::Help),
            Cmd::Quit => self.act(Action::Quit),
        }
    }

    /// Select `name` in the jobs panel, clearing a filter that hides it.
    fn select_job(&mut self, name: &str) -> bool {
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
