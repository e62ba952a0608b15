//! How messages change the model: keys become actions through the keymap,
//! actions become effects. No I/O here; tests drive it directly.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use super::backfill::Ask;
use super::form::FormOutcome;
use super::keymap::{self, Mode};
use super::log_buffer::{LIVE_CAPACITY, LogBuffer};
use super::model::{Effect, Engine, Model, Msg, Panel, Popup, Screen, Status};
use super::performance::{Ask as PerfAsk, PerformanceView};
use crate::events::{Event, SchedulerState};

mod act;
mod catchup;
mod input;
mod lease;

/// Rows a page key moves.
pub const PAGE: usize = 10;

/// What the panels know of the job or run on show.
#[derive(PartialEq)]
enum ShownState {
    /// The job's counters and last run.
    Job(Option<crate::store::JobStats>),
    /// The run's status, attempt and end.
    Run(
        crate::store::RunStatus,
        i32,
        Option<chrono::DateTime<chrono::Utc>>,
    ),
}

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
                // A view on show is read again when what the panels know of
                // it changed: a run ended (its job's statistics move), an
                // attempt started. Events ask too, but they may come before
                // the store has the run, and an attached console gets none.
                let before = self.shown_state();
                self.apply_snapshot(*snapshot);
                if self.shown_state() == before {
                    return Vec::new();
                }
                match &self.screen {
                    Screen::Job { name, .. } => vec![Effect::LoadJob(name.clone())],
                    Screen::Run { id, .. } => vec![Effect::LoadRun(*id)],
                    Screen::Dashboard => Vec::new(),
                }
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
                // A catch-up decision answered: the window takes keys again.
                if let Some(Popup::CatchUp(view)) = &mut self.popup {
                    view.deciding = None;
                }
                match result {
                    Ok(text) => self.say(text),
                    Err(error) => {
                        // Also in the log: a footer line is soon replaced (a
                        // takeover's news follows a withdrawn request's).
                        self.note(crate::events::Level::Warn, &error);
                        self.say_error(error);
                    }
                }
                // A run on show may have changed (retried, cancelled,
                // redelivered): its view is read again too.
                let mut effects = vec![self.refresh()];
                if let Screen::Run { id, .. } = &self.screen {
                    effects.push(Effect::LoadRun(*id));
                }
                effects
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
            Msg::Audit(entries) => {
                if let Some(Popup::Audit(view)) = &mut self.popup {
                    view.entries = Some(entries);
                }
                Vec::new()
            }
            Msg::Performance(report) => {
                if let Some(Popup::Performance(view)) = &mut self.popup {
                    view.report = Some(report);
                }
                Vec::new()
            }
            Msg::Engine(engine) => {
                self.engine = engine;
                Vec::new()
            }
            Msg::Lease(news) => self.lease(news),
            Msg::CommandsClosed(commands) => {
                self.commands_closed(&commands);
                vec![self.refresh()]
            }
            Msg::BackfillPlan(plan) => {
                if let Some(view) = self.backfill_mut() {
                    view.planned(plan);
                }
                Vec::new()
            }
            Msg::BackfillProgress(progress) => {
                if let Some(view) = self.backfill_mut() {
                    view.progress(&progress);
                }
                vec![self.refresh()]
            }
            Msg::BackfillEnded(error) => {
                let failed = error.is_some();
                let line = self.backfill_mut().map(|view| view.ended(error));
                if let Some(line) = line {
                    if failed {
                        self.say_error(line);
                    } else {
                        self.say(line);
                    }
                }
                // A hidden backfill that ended is done with.
                self.parked_backfill = None;
                vec![self.refresh()]
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
            (Some(Popup::CatchUp(_)), _) => Mode::CatchUp,
            (_, Screen::Dashboard) => Mode::Dashboard,
            _ => Mode::Details,
        }
    }

    /// A read of the Performance window's summary, as of now.
    pub(super) fn load_performance(&self) -> Effect {
        let (since, until) = PerformanceView::window(self.now);
        Effect::LoadPerformance { since, until }
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
        // The top row follows the newest run (as the log follows new lines)
        // until the user moves off it; then the chosen run stays selected.
        if let Some(id) = selected_run.filter(|_| self.history.selected > 0) {
            let found = self.visible_history().position(|r| r.id == id);
            if let Some(i) = found {
                self.history.selected = i;
            }
        }
        self.clamp();
        self.catchup_arrived();
    }

    /// What the panels' data says of the job or run on show, to notice
    /// when it changes.
    fn shown_state(&self) -> Option<ShownState> {
        match &self.screen {
            Screen::Dashboard => None,
            Screen::Job { name, .. } => self.job(name).map(|j| ShownState::Job(j.stats.clone())),
            Screen::Run { id, .. } => self
                .data
                .history
                .iter()
                .chain(&self.data.running)
                .find(|r| r.id == *id)
                .map(|r| ShownState::Run(r.status, r.attempt, r.finished_at)),
        }
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
        match &event {
            Event::RetryScheduled { run_id, at, .. } => {
                self.retries_due.insert(*run_id, *at);
            }
            Event::RunStarted { run_id, .. } | Event::RunFinished { run_id, .. } => {
                self.retries_due.remove(run_id);
            }
            _ => {}
        }
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
        // A footer message answers an earlier key; the next key moves on
        // (what this key does may say something new).
        self.status = None;
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
                    let destinations = form.new_destinations(&spec);
                    vec![Effect::Save {
                        spec: Box::new(spec),
                        original: original.clone(),
                        destinations,
                    }]
                }
            };
        }
        if self.prompt.is_some() {
            return self.prompt_key(key);
        }
        if let Some(Popup::Backfill(view)) = &mut self.popup {
            let job = view.job.clone();
            return match view.key(key) {
                Ask::Nothing => Vec::new(),
                Ask::Close => {
                    if view.running() {
                        self.say(format!("the backfill of {job} goes on; B shows it again"));
                    }
                    self.hide_backfill();
                    Vec::new()
                }
                Ask::Plan { from, to } => vec![Effect::PlanBackfill { job, from, to }],
                Ask::Run(slots) => vec![Effect::RunBackfill { job, slots }],
                Ask::Stop => vec![Effect::StopBackfill],
            };
        }
        if let Some(Popup::Audit(view)) = &mut self.popup {
            match key.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => self.popup = None,
                KeyCode::Down | KeyCode::Char('j') => view.scroll = view.scroll.saturating_add(1),
                KeyCode::Up | KeyCode::Char('k') => view.scroll = view.scroll.saturating_sub(1),
                KeyCode::PageDown => view.scroll = view.scroll.saturating_add(10),
                KeyCode::PageUp => view.scroll = view.scroll.saturating_sub(10),
                KeyCode::Char('g') | KeyCode::Home => view.scroll = 0,
                _ => {}
            }
            return Vec::new();
        }
        if let Some(Popup::Performance(view)) = &mut self.popup {
            return match view.key(key) {
                PerfAsk::Nothing => Vec::new(),
                PerfAsk::Close => {
                    self.popup = None;
                    Vec::new()
                }
                PerfAsk::Reload => vec![self.load_performance()],
            };
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
}
