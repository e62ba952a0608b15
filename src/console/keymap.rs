//! Every key binding, once: the key, the action it stands for, where it
//! applies and what it does. The help screen and the footer are generated
//! from this table, so they can never disagree with what the keys do.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for. Which job or run it applies to is decided by the
/// app from what is selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Leave (the scheduler drains first).
    Quit,
    /// Show the keys.
    Help,
    /// Focus the next panel.
    NextPanel,
    /// Focus the previous panel.
    PrevPanel,
    /// Select the row above / scroll up.
    Up,
    /// Select the row below / scroll down.
    Down,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// The first row.
    Top,
    /// The last row.
    Bottom,
    /// Open the selected job or run.
    Details,
    /// Back out of a view, prompt or filter.
    Back,
    /// A new job.
    New,
    /// Edit the selected job.
    Edit,
    /// Delete the selected job (asks first).
    Delete,
    /// Pause or resume the selected job.
    TogglePause,
    /// Pause or resume every job.
    TogglePauseAll,
    /// Run the selected job now (real delivery, trigger `manual`).
    TestRun,
    /// Render the selected job without delivering it.
    DryRun,
    /// Run the selected job for the past slots of a range.
    Backfill,
    /// Run the selected failed run again.
    Retry,
    /// Cancel the selected running run.
    Cancel,
    /// Send the shown run's kept output to its destinations again.
    Redeliver,
    /// Deliver the selected held run (a check failed).
    Release,
    /// Drop the selected held run without delivering it (asks first).
    Discard,
    /// Filter the focused list.
    Filter,
    /// Open the command line.
    CommandLine,
    /// Follow new log lines (on/off).
    ToggleFollow,
    /// History of the selected job / of all jobs.
    ToggleHistoryScope,
    /// Show only log lines at or above the next level.
    CycleLogLevel,
    /// Show the stored log of the selected run or job in the log panel.
    ShowLog,
    /// Answer yes to a question.
    Yes,
    /// Answer no to a question.
    No,
    /// Show the catch-up plans awaiting approval.
    CatchUpPlans,
    /// Approve the chosen slots of the selected plan (all, or the newest N).
    ApproveChosen,
    /// Approve every slot of the selected plan.
    ApproveAll,
    /// Approve only the newest slot of the selected plan.
    ApproveLatest,
    /// Decline the selected plan.
    DeclinePlan,
    /// Choose one slot fewer (the newest N).
    FewerSlots,
    /// Choose one slot more.
    MoreSlots,
}

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The panels.
    Dashboard,
    /// A job or run view.
    Details,
    /// The help screen.
    Help,
    /// A yes/no question.
    Confirm,
    /// The catch-up plans awaiting approval.
    CatchUp,
}

impl Mode {
    /// The heading in the help screen.
    pub fn title(self) -> &'static str {
        match self {
            Mode::Dashboard => "Panels",
            Mode::Details => "Job and run views",
            Mode::Help => "This help",
            Mode::Confirm => "Questions",
            Mode::CatchUp => "Catch-up plans awaiting approval",
        }
    }

    /// Every mode, in help order.
    pub const ALL: [Mode; 5] = [
        Mode::Dashboard,
        Mode::Details,
        Mode::Help,
        Mode::Confirm,
        Mode::CatchUp,
    ];
}

/// A key with its modifiers (shift is part of the character).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl/Alt.
    pub mods: KeyModifiers,
}

const fn key(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn ch(c: char) -> Key {
    key(KeyCode::Char(c))
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

impl Key {
    /// The key as help shows it: `j`, `Ctrl-c`, `Enter`.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            other => format!("{other:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{base}")
        } else {
            base
        }
    }

    /// Whether `event` is this key. Shift is ignored: terminals report `P`
    /// with or without it.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        let mods = event.modifiers - KeyModifiers::SHIFT;
        let code = match event.code {
            // Some terminals send BackTab as Shift+Tab.
            KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            code => code,
        };
        code == self.code && mods == self.mods
    }
}

/// One line of the table.
#[derive(Debug)]
pub struct Binding {
    /// The keys; the first is the one help and footer show first.
    pub keys: &'static [Key],
    /// What they do.
    pub action: Action,
    /// Where.
    pub modes: &'static [Mode],
    /// Help text.
    pub description: &'static str,
    /// The footer's short label, for the main keys.
    pub footer: Option<&'static str>,
}

use Mode::{CatchUp, Confirm, Dashboard, Details, Help};

const DASH: &[Mode] = &[Dashboard];
const VIEWS: &[Mode] = &[Dashboard, Details];
const MOVING: &[Mode] = &[Dashboard, Details, Help];

/// The keymap.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[ch('?')],
        action: Action::Help,
        modes: VIEWS,
        description: "Show these keys",
        footer: Some("help"),
    },
    Binding {
        keys: &[key(KeyCode::Tab)],
        action: Action::NextPanel,
        modes: DASH,
        description: "Focus the next panel",
        footer: Some("panel"),
    },
    Binding {
        keys: &[key(KeyCode::BackTab)],
        action: Action::PrevPanel,
        modes: DASH,
        description: "Focus the previous panel",
        footer: None,
    },
    Binding {
        keys: &[ch('j'), key(KeyCode::Down)],
        action: Action::Down,
        modes: MOVING,
        description: "Move down (scroll in views and the log)",
        footer: None,
    },
    Binding {
        keys: &[ch('k'), key(KeyCode::Up)],
        action: Action::Up,
        modes: MOVING,
        description: "Move up",
        footer: None,
    },
    Binding {
        keys: &[key(KeyCode::PageDown), ctrl('d')],
        action: Action::PageDown,
        modes: MOVING,
        description: "A page down",
        footer: None,
    },
    Binding {
        keys: &[key(KeyCode::PageUp), ctrl('u')],
        action: Action::PageUp,
        modes: MOVING,
        description: "A page up",
        footer: None,
    },
    Binding {
        keys: &[ch('g'), key(KeyCode::Home)],
        action: Action::Top,
        modes: MOVING,
        description: "The first row",
        footer: None,
    },
    Binding {
        keys: &[ch('G'), key(KeyCode::End)],
        action: Action::Bottom,
        modes: MOVING,
        description: "The last row",
        footer: None,
    },
    Binding {
        keys: &[key(KeyCode::Enter)],
        action: Action::Details,
        modes: DASH,
        description: "Open the selected job or run",
        footer: Some("details"),
    },
    Binding {
        keys: &[key(KeyCode::Esc)],
        action: Action::Back,
        modes: &[Dashboard, Details, Help],
        description: "Back; clear the filter",
        footer: None,
    },
    Binding {
        keys: &[ch('n')],
        action: Action::New,
        modes: DASH,
        description: "New job",
        footer: Some("new"),
    },
    Binding {
        keys: &[ch('e')],
        action: Action::Edit,
        modes: VIEWS,
        description: "Edit the selected job",
        footer: Some("edit"),
    },
    Binding {
        keys: &[ch('d')],
        action: Action::Delete,
        modes: VIEWS,
        description: "Delete the selected job and its history (asks first)",
        footer: None,
    },
    Binding {
        keys: &[ch('p')],
        action: Action::TogglePause,
        modes: VIEWS,
        description: "Pause or resume the selected job",
        footer: Some("pause"),
    },
    Binding {
        keys: &[ch('P')],
        action: Action::TogglePauseAll,
        modes: DASH,
        description: "Pause or resume all jobs",
        footer: None,
    },
    Binding {
        keys: &[ch('t')],
        action: Action::TestRun,
        modes: VIEWS,
        description: "Test-run the selected job now (delivers; trigger manual)",
        footer: Some("run"),
    },
    Binding {
        keys: &[ch('D')],
        action: Action::DryRun,
        modes: VIEWS,
        description: "Dry-run: render, preview rows and size, deliver nothing",
        footer: None,
    },
    Binding {
        keys: &[ch('B')],
        action: Action::Backfill,
        modes: VIEWS,
        description: "Backfill: run the job for a past range's slots (plan first, then run)",
        footer: None,
    },
    Binding {
        keys: &[ch('r')],
        action: Action::Retry,
        modes: VIEWS,
        description: "Retry the selected failed run (or the job's last run)",
        footer: None,
    },
    Binding {
        keys: &[ch('c')],
        action: Action::Cancel,
        modes: VIEWS,
        description: "Cancel the selected running run (or the job's)",
        footer: None,
    },
    Binding {
        keys: &[ch('R')],
        action: Action::Redeliver,
        modes: &[Details],
        description: "Redeliver the run's kept output (a job view: its last run's) again (asks first)",
        footer: Some("redeliver"),
    },
    Binding {
        keys: &[ch('A')],
        action: Action::Release,
        modes: VIEWS,
        description: "Release the selected held run: deliver it (History, or the run view)",
        footer: None,
    },
    Binding {
        keys: &[ch('X')],
        action: Action::Discard,
        modes: VIEWS,
        description: "Discard the selected held run: drop it undelivered (asks first)",
        footer: None,
    },
    Binding {
        keys: &[ch('/')],
        action: Action::Filter,
        modes: DASH,
        description: "Filter the focused list (text, failed, running, paused)",
        footer: Some("filter"),
    },
    Binding {
        keys: &[ch(':')],
        action: Action::CommandLine,
        modes: VIEWS,
        description: "Command line (:pause NAME, :run NAME, :filter failed)",
        footer: Some("cmd"),
    },
    Binding {
        keys: &[ch('f')],
        action: Action::ToggleFollow,
        modes: DASH,
        description: "Live log: follow new lines (on/off)",
        footer: None,
    },
    Binding {
        keys: &[ch('L')],
        action: Action::CycleLogLevel,
        modes: DASH,
        description: "Live log: lowest level shown (debug/info/warn/error)",
        footer: None,
    },
    Binding {
        keys: &[ch('l')],
        action: Action::ShowLog,
        modes: VIEWS,
        description: "Stored log of the selected run or job, in the log panel",
        footer: None,
    },
    Binding {
        keys: &[ch('a')],
        action: Action::ToggleHistoryScope,
        modes: DASH,
        description: "History: runs of all jobs / of the selected job",
        footer: None,
    },
    Binding {
        keys: &[ch('q'), ctrl('c')],
        action: Action::Quit,
        modes: VIEWS,
        description: "Quit (running exports get the grace period)",
        footer: Some("quit"),
    },
    Binding {
        keys: &[ch('q'), ch('?')],
        action: Action::Back,
        modes: &[Help],
        description: "Close the help",
        footer: Some("close"),
    },
    Binding {
        // Only `y`: the question is about deleting history.
        keys: &[ch('y')],
        action: Action::Yes,
        modes: &[Confirm],
        description: "Yes",
        footer: None,
    },
    Binding {
        keys: &[ch('n'), key(KeyCode::Esc)],
        action: Action::No,
        modes: &[Confirm],
        description: "No",
        footer: None,
    },
    Binding {
        keys: &[ch('C')],
        action: Action::CatchUpPlans,
        modes: DASH,
        description: "Catch-up plans awaiting approval (jobs with catch_up = ask)",
        footer: None,
    },
    Binding {
        keys: &[ch('j'), key(KeyCode::Down)],
        action: Action::Down,
        modes: &[CatchUp],
        description: "Select the next plan",
        footer: None,
    },
    Binding {
        keys: &[ch('k'), key(KeyCode::Up)],
        action: Action::Up,
        modes: &[CatchUp],
        description: "Select the previous plan",
        footer: None,
    },
    Binding {
        keys: &[key(KeyCode::Enter)],
        action: Action::ApproveChosen,
        modes: &[CatchUp],
        description: "Approve the chosen slots (the newest N; the rest are declined)",
        footer: Some("approve"),
    },
    Binding {
        keys: &[ch('-'), key(KeyCode::Left)],
        action: Action::FewerSlots,
        modes: &[CatchUp],
        description: "Choose one slot fewer (the newest are kept)",
        footer: Some("fewer"),
    },
    Binding {
        keys: &[ch('+'), key(KeyCode::Right)],
        action: Action::MoreSlots,
        modes: &[CatchUp],
        description: "Choose one slot more",
        footer: Some("more"),
    },
    Binding {
        keys: &[ch('a')],
        action: Action::ApproveAll,
        modes: &[CatchUp],
        description: "Approve every slot of the plan",
        footer: Some("all"),
    },
    Binding {
        keys: &[ch('l')],
        action: Action::ApproveLatest,
        modes: &[CatchUp],
        description: "Approve only the newest slot (the rest are declined)",
        footer: Some("newest"),
    },
    Binding {
        keys: &[ch('d')],
        action: Action::DeclinePlan,
        modes: &[CatchUp],
        description: "Decline the plan: none of its slots run (recorded skipped)",
        footer: Some("decline"),
    },
    Binding {
        keys: &[key(KeyCode::Esc), ch('q')],
        action: Action::Back,
        modes: &[CatchUp],
        description: "Later: close (C on the panels shows the plans again)",
        footer: Some("later"),
    },
];

/// The action `event` stands for in `mode`, if any.
pub fn lookup(mode: Mode, event: &KeyEvent) -> Option<Action> {
    BINDINGS
        .iter()
        .filter(|b| b.modes.contains(&mode))
        .find(|b| b.keys.iter().any(|k| k.matches(event)))
        .map(|b| b.action)
}

/// The footer's keys for `mode`: (key, short label).
pub fn footer(mode: Mode) -> impl Iterator<Item = (String, &'static str)> {
    BINDINGS
        .iter()
        .filter(move |b| b.modes.contains(&mode))
        .filter_map(|b| b.footer.map(|label| (b.keys[0].label(), label)))
}

/// The help's lines for `mode`: (keys, description).
pub fn help(mode: Mode) -> impl Iterator<Item = (String, &'static str)> {
    BINDINGS
        .iter()
        .filter(move |b| b.modes.contains(&mode))
        .map(|b| {
            let keys: Vec<String> = b.keys.iter().map(Key::label).collect();
            (keys.join(" "), b.description)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_means_two_things_in_one_mode() {
        for mode in Mode::ALL {
            let mut seen: Vec<(Key, Action)> = Vec::new();
            for b in BINDINGS.iter().filter(|b| b.modes.contains(&mode)) {
                for k in b.keys {
                    if let Some((_, other)) = seen.iter().find(|(s, _)| s == k) {
                        panic!(
                            "{mode:?}: {} is bound to {other:?} and {:?}",
                            k.label(),
                            b.action
                        );
                    }
                    seen.push((*k, b.action));
                }
            }
        }
    }

    #[test]
    fn shifted_letters_match_with_or_without_shift() {
        let plain = KeyEvent::new(KeyCode::Char('P'), KeyModifiers::NONE);
        let shifted = KeyEvent::new(KeyCode::Char('P'), KeyModifiers::SHIFT);
        assert_eq!(
            lookup(Mode::Dashboard, &plain),
            Some(Action::TogglePauseAll)
        );
        assert_eq!(
            lookup(Mode::Dashboard, &shifted),
            Some(Action::TogglePauseAll)
        );
    }
}
