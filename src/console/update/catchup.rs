//! The catch-up plans' window: it opens by itself when a plan appears
//! (on start, or while the console runs), and its keys approve all, the
//! newest N or only the newest slot of a plan, or decline it.

use crate::console::keymap::Action;
use crate::console::model::{CatchUpView, Effect, Model, Popup};
use crate::store::{CatchUpPlan, PlanDecision, SlotSelection};

impl Model {
    /// After a snapshot: opens the window when a pending plan appeared that
    /// was not shown yet, unless something else floats over the screen
    /// (it opens once that closes); keeps an open window's selection in
    /// range.
    pub(super) fn catchup_arrived(&mut self) {
        let plans = &self.data.catchup;
        if let Some(Popup::CatchUp(view)) = &mut self.popup {
            if let Some(id) = view.deciding
                && !plans.iter().any(|p| p.id == id)
            {
                view.deciding = None;
            }
            if plans.is_empty() {
                // All decided (here or elsewhere): nothing left to ask.
                self.popup = None;
                return;
            }
            if view.selected >= plans.len() {
                view.selected = plans.len() - 1;
                view.newest = None;
            }
            self.catchup_seen.extend(plans.iter().map(|p| p.id));
            return;
        }
        let first_new = plans
            .iter()
            .position(|p| !self.catchup_seen.contains(&p.id));
        if let Some(selected) = first_new
            && self.popup.is_none()
            && self.prompt.is_none()
        {
            self.catchup_seen.extend(plans.iter().map(|p| p.id));
            // Selected: the first plan not shown before, the one just noticed.
            self.popup = Some(Popup::CatchUp(CatchUpView {
                selected,
                ..CatchUpView::default()
            }));
        }
    }

    /// `C`: show the plans (or say there are none).
    pub(super) fn open_catchup(&mut self) -> Vec<Effect> {
        if self.data.catchup.is_empty() {
            return self.nothing("no catch-up plans await approval");
        }
        self.catchup_seen
            .extend(self.data.catchup.iter().map(|p| p.id));
        self.popup = Some(Popup::CatchUp(CatchUpView::default()));
        Vec::new()
    }

    /// The plan selected in the window, with the window.
    pub fn catchup_selected(&self) -> Option<(&CatchUpView, &CatchUpPlan)> {
        match &self.popup {
            Some(Popup::CatchUp(view)) => self
                .data
                .catchup
                .get(view.selected)
                .map(|plan| (view, plan)),
            _ => None,
        }
    }

    /// The window's keys; `None` for actions it leaves to the rest.
    pub(super) fn catchup_act(&mut self, action: Action) -> Option<Vec<Effect>> {
        let count = self.data.catchup.len();
        let Some(Popup::CatchUp(view)) = &mut self.popup else {
            return None;
        };
        let plan_count = self.data.catchup.get(view.selected).map_or(0, |p| p.count);
        let decision = match action {
            Action::Down | Action::Up => {
                let step: isize = if action == Action::Down { 1 } else { -1 };
                let next = view
                    .selected
                    .saturating_add_signed(step)
                    .min(count.saturating_sub(1));
                if next != view.selected {
                    view.selected = next;
                    view.newest = None;
                }
                return Some(Vec::new());
            }
            Action::FewerSlots | Action::MoreSlots => {
                let chosen = view.newest.unwrap_or(plan_count);
                let chosen = if action == Action::FewerSlots {
                    chosen.saturating_sub(1).max(1)
                } else {
                    chosen.saturating_add(1).min(plan_count)
                };
                view.newest = (chosen < plan_count).then_some(chosen);
                return Some(Vec::new());
            }
            Action::ApproveChosen => match view.newest {
                Some(n) if n < plan_count => PlanDecision::Approve(SlotSelection::Range {
                    first: plan_count - n + 1,
                    last: plan_count,
                }),
                _ => PlanDecision::Approve(SlotSelection::All),
            },
            Action::ApproveAll => PlanDecision::Approve(SlotSelection::All),
            Action::ApproveLatest => PlanDecision::Approve(SlotSelection::Latest),
            Action::DeclinePlan => PlanDecision::Decline,
            _ => return None,
        };
        let Some(plan) = self.data.catchup.get(view.selected) else {
            return Some(Vec::new());
        };
        if view.deciding == Some(plan.id) {
            // Asked already; the answer is on its way.
            return Some(Vec::new());
        }
        view.deciding = Some(plan.id);
        Some(vec![Effect::DecideCatchUp {
            plan: plan.id,
            decision,
        }])
    }
}
