//! The backfill window (`B` on a job): a range typed with live checking,
//! the plan the store gives for it, then the runs with their progress, and
//! a key to stop the rest. Keys in, effects out; the runtime plans and runs
//! (see [`crate::scheduler::backfill`]) and reports back as messages.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler as _;

use crate::scheduler::backfill::{PlannedSlot, Progress, parse_instant};
use crate::store::RunStatus;

/// What the store holds for a range, as the window shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanSummary {
    /// The slots that will run, oldest first.
    pub to_run: Vec<DateTime<Utc>>,
    /// Slots of the range in all (the rules' skipped ones aside).
    pub slots: usize,
    /// Of them, already succeeded (left alone).
    pub succeeded: usize,
    /// Of them, queued or running now (left alone).
    pub active: usize,
    /// Slots the job's calendar, blackouts or bounds skip.
    pub skipped_by_rules: usize,
}

impl PlanSummary {
    /// The summary of a plan and the slots the rules skipped.
    pub fn of(plan: &[PlannedSlot], skipped_by_rules: usize) -> PlanSummary {
        PlanSummary {
            to_run: plan
                .iter()
                .filter(|s| s.runs(false))
                .map(|s| s.slot)
                .collect(),
            slots: plan.len(),
            succeeded: plan.iter().filter(|s| s.state.succeeded.is_some()).count(),
            active: plan.iter().filter(|s| s.state.active.is_some()).count(),
            skipped_by_rules,
        }
    }
}

/// Counts of a running backfill.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Slots to run.
    pub total: usize,
    /// Runs that succeeded.
    pub succeeded: usize,
    /// Runs that ended otherwise.
    pub failed: usize,
    /// Slots another run took meanwhile.
    pub left_alone: usize,
    /// Runs withdrawn by a stop.
    pub withdrawn: usize,
}

impl Counts {
    /// Slots settled one way or another.
    pub fn done(&self) -> usize {
        self.succeeded + self.failed + self.left_alone + self.withdrawn
    }

    fn summary(&self) -> String {
        format!(
            "{} succeeded, {} failed, {} left alone, {} withdrawn, of {}",
            self.succeeded, self.failed, self.left_alone, self.withdrawn, self.total
        )
    }
}

/// Where the window is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The range is being typed.
    Editing,
    /// The plan was asked for.
    Planning,
    /// The plan, for Enter to run.
    Planned(PlanSummary),
    /// The runs are going.
    Running {
        /// Progress.
        counts: Counts,
        /// Stop was asked for.
        stopping: bool,
    },
    /// It ended.
    Done {
        /// What happened.
        counts: Counts,
        /// Stopped before the end.
        stopped: bool,
        /// Why it ended early, if it failed.
        error: Option<String>,
    },
}

/// The backfill window's state.
#[derive(Clone, Debug)]
pub struct BackfillView {
    /// The job.
    pub job: String,
    /// The job's zone, in which local times are read and shown.
    pub zone: Tz,
    /// `from`.
    pub from: Input,
    /// `to`.
    pub to: Input,
    /// Whether `to` has the cursor.
    pub on_to: bool,
    /// Where it is.
    pub stage: Stage,
    /// Why the range or the plan is not usable, naming the field.
    pub problem: Option<String>,
}

/// What a key asks of the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask {
    /// Nothing.
    Nothing,
    /// Close the window.
    Close,
    /// Plan the range.
    Plan {
        /// From.
        from: DateTime<Utc>,
        /// To (included).
        to: DateTime<Utc>,
    },
    /// Run these slots.
    Run(Vec<DateTime<Utc>>),
    /// Stop queueing; withdraw what waits.
    Stop,
}

impl BackfillView {
    /// A window for `job`, its range prefilled with the last 24 hours.
    pub fn new(job: String, zone: Tz, now: DateTime<Utc>) -> BackfillView {
        let local = |t: DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string();
        BackfillView {
            job,
            zone,
            from: Input::new(local(now - chrono::Duration::hours(24))),
            to: Input::new(local(now)),
            on_to: false,
            stage: Stage::Editing,
            problem: None,
        }
    }

    /// The range as typed, or what is wrong with it.
    pub fn range(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
        let from =
            parse_instant(self.from.value(), self.zone, false).map_err(|e| format!("from: {e}"))?;
        let to = parse_instant(self.to.value(), self.zone, true).map_err(|e| format!("to: {e}"))?;
        if from > to {
            return Err("from is after to".to_string());
        }
        Ok((from, to))
    }

    /// Whether a key would leave a backfill running unseen: the window
    /// stays while the runs go unless closed on purpose.
    pub fn running(&self) -> bool {
        matches!(self.stage, Stage::Running { .. })
    }

    /// A key.
    pub fn key(&mut self, key: KeyEvent) -> Ask {
        match &self.stage {
            Stage::Editing => self.edit(key),
            Stage::Planning => match key.code {
                KeyCode::Esc => Ask::Close,
                _ => Ask::Nothing,
            },
            Stage::Planned(plan) => match key.code {
                KeyCode::Enter if plan.to_run.is_empty() => Ask::Close,
                KeyCode::Enter => {
                    let slots = plan.to_run.clone();
                    self.stage = Stage::Running {
                        counts: Counts {
                            total: slots.len(),
                            ..Counts::default()
                        },
                        stopping: false,
                    };
                    Ask::Run(slots)
                }
                KeyCode::Esc => {
                    self.stage = Stage::Editing;
                    Ask::Nothing
                }
                _ => Ask::Nothing,
            },
            Stage::Running { .. } => match key.code {
                KeyCode::Char('c') => {
                    if let Stage::Running { stopping, .. } = &mut self.stage {
                        *stopping = true;
                    }
                    Ask::Stop
                }
                // The runs go on; the footer tells how they ended.
                KeyCode::Esc => Ask::Close,
                _ => Ask::Nothing,
            },
            Stage::Done { .. } => match key.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => Ask::Close,
                _ => Ask::Nothing,
            },
        }
    }

    fn edit(&mut self, key: KeyEvent) -> Ask {
        match key.code {
            KeyCode::Esc => return Ask::Close,
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
                self.on_to = !self.on_to;
                return Ask::Nothing;
            }
            KeyCode::Enter => {
                return match self.range() {
                    Ok((from, to)) => {
                        self.problem = None;
                        self.stage = Stage::Planning;
                        Ask::Plan { from, to }
                    }
                    Err(problem) => {
                        self.problem = Some(problem);
                        Ask::Nothing
                    }
                };
            }
            _ => {}
        }
        let input = if self.on_to {
            &mut self.to
        } else {
            &mut self.from
        };
        input.handle_event(&TermEvent::Key(key));
        // Checked as it is typed.
        self.problem = self.range().err();
        Ask::Nothing
    }

    /// The plan came (or could not be made).
    pub fn planned(&mut self, plan: Result<PlanSummary, String>) {
        if self.stage != Stage::Planning {
            return;
        }
        match plan {
            Ok(plan) => {
                self.problem = None;
                self.stage = Stage::Planned(plan);
            }
            Err(problem) => {
                self.problem = Some(problem);
                self.stage = Stage::Editing;
            }
        }
    }

    /// A slot's progress.
    pub fn progress(&mut self, progress: &Progress) {
        let Stage::Running { counts, .. } = &mut self.stage else {
            return;
        };
        match progress {
            Progress::Queued(..) => {}
            Progress::LeftAlone(_) => counts.left_alone += 1,
            Progress::Withdrawn(..) => counts.withdrawn += 1,
            Progress::Ended(_, run) if run.status == RunStatus::Succeeded => counts.succeeded += 1,
            Progress::Ended(..) => counts.failed += 1,
        }
    }

    /// The runs ended (or the backfill failed); returns the line for the
    /// footer.
    pub fn ended(&mut self, error: Option<String>) -> String {
        let (counts, stopped) = match &self.stage {
            Stage::Running { counts, stopping } => (counts.clone(), *stopping),
            _ => (Counts::default(), false),
        };
        let line = match (&error, stopped) {
            (Some(e), _) => format!(
                "backfill of {} failed: {e} ({})",
                self.job,
                counts.summary()
            ),
            (None, true) => format!("backfill of {} stopped: {}", self.job, counts.summary()),
            (None, false) => format!("backfill of {} done: {}", self.job, counts.summary()),
        };
        self.stage = Stage::Done {
            counts,
            stopped,
            error,
        };
        line
    }
}
