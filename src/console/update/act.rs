//! Keymap actions: which job or run they apply to, and what they ask for.

use super::PAGE;
use crate::console::form::{FormContext, JobForm};
use crate::console::keymap::Action;
use crate::console::model::{
    BackfillView, DryRunView, Effect, LogScope, Model, Panel, Popup, Prompt, PromptKind, Question,
    Screen,
};
use crate::control::Request;
use crate::events::Level;
use crate::store::{RunId, RunStatus};

impl Model {
    /// Carry out a keymap action.
    pub fn act(&mut self, action: Action) -> Vec<Effect> {
        if let Some(effects) = self.catchup_act(action) {
            return effects;
        }
        match action {
            Action::CatchUpPlans => self.open_catchup(),
            // Keys of the catch-up window only (see `catchup_act`).
            Action::ApproveChosen
            | Action::ApproveAll
            | Action::ApproveLatest
            | Action::DeclinePlan
            | Action::FewerSlots
            | Action::MoreSlots => Vec::new(),
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
            Action::Backfill => match self.target_job() {
                Some(name) => self.open_backfill(name),
                None => self.nothing("no job selected"),
            },
            Action::Retry => self.retry(),
            Action::Redeliver => {
                // The run on show, or in a job view the job's last run.
                let run = match &self.screen {
                    Screen::Run { id, .. } => Some(*id),
                    Screen::Job { name, .. } => self
                        .job(name)
                        .and_then(|j| j.stats.as_ref()?.last_run.as_ref())
                        .map(|last| last.run_id),
                    Screen::Dashboard => None,
                };
                match run {
                    Some(id) => {
                        self.popup = Some(Popup::Confirm(Question::Redeliver(id)));
                        Vec::new()
                    }
                    None => self.nothing("no run to redeliver: open one (Enter in History)"),
                }
            }
            Action::Cancel => self.cancel(),
            Action::Release => match self.held_run() {
                Ok(id) => {
                    self.say(format!("releasing run {id}…"));
                    vec![Effect::Release(id)]
                }
                Err(why) => self.nothing(&why),
            },
            Action::Discard => match self.held_run() {
                Ok(id) => {
                    self.popup = Some(Popup::Confirm(Question::Discard(id)));
                    Vec::new()
                }
                Err(why) => self.nothing(&why),
            },
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
                Some(Popup::Confirm(Question::Redeliver(id))) => {
                    self.say(format!("redelivering run {id}…"));
                    vec![Effect::Redeliver(id)]
                }
                Some(Popup::Confirm(Question::Discard(id))) => {
                    self.say(format!("discarding run {id}…"));
                    vec![Effect::Discard(id)]
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

    pub(super) fn nothing(&mut self, why: &str) -> Vec<Effect> {
        self.say_error(why);
        Vec::new()
    }

    pub(super) fn focus_panel(&mut self, panel: Panel) {
        self.focus = panel;
        if panel != Panel::Jobs {
            self.second = panel;
        }
    }

    pub(super) fn follow(&mut self) {
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
    pub(super) fn target_run(
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

    pub(super) fn retry(&mut self) -> Vec<Effect> {
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

    /// The held run that release and discard act on: the run on show, the
    /// run selected in History, or the selected job's last run; or why
    /// there is none.
    fn held_run(&self) -> Result<RunId, String> {
        let run = self.target_run(|m, job| {
            let last = m.job(job)?.stats.as_ref()?.last_run.as_ref()?;
            Some((last.run_id, last.status))
        });
        match run {
            Some((id, RunStatus::Held)) => Ok(id),
            Some((id, status)) => Err(format!(
                "run {id} is {status}: only a held run (a check failed) is released or discarded"
            )),
            None => Err("no run selected: pick a held run in History".into()),
        }
    }

    pub(super) fn cancel(&mut self) -> Vec<Effect> {
        let run = self.target_run(|m, job| m.running_run_of(job).map(|r| (r.id, r.status)));
        match run {
            Some((id, status)) if !status.is_final() => {
                vec![Effect::Control(Request::Cancel(id))]
            }
            Some((id, status)) => self.nothing(&format!("run {id} is {status}, not running")),
            None => self.nothing("nothing is running"),
        }
    }

    pub(super) fn open_backfill(&mut self, job: String) -> Vec<Effect> {
        // One backfill at a time from here: a hidden one that still runs
        // comes back instead.
        if let Some(view) = self.parked_backfill.take() {
            self.popup = Some(Popup::Backfill(view));
            return Vec::new();
        }
        let zone = self
            .job(&job)
            .and_then(|j| j.parsed.as_ref().map(|s| s.timezone()))
            .unwrap_or(self.zone);
        self.popup = Some(Popup::Backfill(Box::new(BackfillView::new(
            job, zone, self.now,
        ))));
        Vec::new()
    }

    /// The backfill window, shown or hidden.
    pub(super) fn backfill_mut(&mut self) -> Option<&mut BackfillView> {
        match &mut self.popup {
            Some(Popup::Backfill(view)) => Some(view),
            _ => self.parked_backfill.as_deref_mut(),
        }
    }

    /// Closes the backfill window; one still running is kept to come back.
    pub(super) fn hide_backfill(&mut self) {
        if let Some(Popup::Backfill(view)) = self.popup.take()
            && view.running()
        {
            self.parked_backfill = Some(view);
        }
    }

    pub(super) fn dry_run(&mut self, job: String) -> Vec<Effect> {
        self.popup = Some(Popup::DryRun(DryRunView {
            job: job.clone(),
            result: None,
        }));
        vec![Effect::DryRun(job)]
    }

    pub(super) fn show_log(&mut self) -> Vec<Effect> {
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

    pub(super) fn open_details(&mut self) -> Vec<Effect> {
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

    pub(super) fn open_job(&mut self, name: String) -> Vec<Effect> {
        self.screen = Screen::Job {
            name: name.clone(),
            details: None,
            scroll: 0,
        };
        vec![Effect::LoadJob(name)]
    }

    pub(super) fn open_run(&mut self, id: RunId) -> Vec<Effect> {
        self.screen = Screen::Run {
            id,
            details: None,
            scroll: 0,
        };
        vec![Effect::LoadRun(id)]
    }

    pub(super) fn back(&mut self) -> Vec<Effect> {
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

    pub(super) fn form_context(&self) -> FormContext {
        FormContext {
            existing_names: self.data.jobs.iter().map(|j| j.name.clone()).collect(),
            made: self.data.made_destinations.clone(),
            ..self.form_context.clone()
        }
    }

    pub(super) fn open_form(&mut self, job: Option<&str>) -> Vec<Effect> {
        let context = self.form_context();
        let (form, original) = match job {
            None => (JobForm::new(context), None),
            Some(name) => {
                let Some(row) = self.job(name) else {
                    return self.nothing(&format!("no job named {name:?}"));
                };
                let spec = match crate::job::decode_stored(name, &row.definition) {
                    Ok(spec) => spec,
                    Err(e) => return self.nothing(&format!("{name}: the {}", e.problems())),
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
}
