//! `cronport catchup ...`: the plans of missed slots that jobs with
//! `catch_up = "ask"` keep for a person to approve.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::{Context, Failure};
use crate::cli::CatchupCommand;
use crate::store::{CatchUpPlan, PlanDecision, PlanId, SlotSelection, Store, StoreError};

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A plan as `--json` prints it.
fn to_json(plan: &CatchUpPlan) -> serde_json::Value {
    json!({
        "id": plan.id,
        "job": plan.job_name,
        "slots": plan.count,
        "first": rfc3339(plan.first),
        "last": rfc3339(plan.last),
        "created_at": rfc3339(plan.created_at),
        "instance": plan.instance_id,
        "status": plan.status.as_str(),
        "decided_by": plan.decided_by,
        "decided_at": plan.decided_at.map(rfc3339),
        "approved": plan.approved,
    })
}

/// "3 slots, 2026-12-05 02:00 to 2026-12-05 03:00 UTC".
fn span(plan: &CatchUpPlan) -> String {
    let plural = if plan.count == 1 { "" } else { "s" };
    if plan.first == plan.last {
        return format!("1 slot, {} UTC", plan.first.format("%Y-%m-%d %H:%M"));
    }
    format!(
        "{} slot{plural}, {} to {} UTC",
        plan.count,
        plan.first.format("%Y-%m-%d %H:%M"),
        plan.last.format("%Y-%m-%d %H:%M")
    )
}

pub(super) async fn run(ctx: &Context, command: &CatchupCommand) -> Result<(), Failure> {
    let store = ctx.store().await?;
    match command {
        CatchupCommand::List { all, json } => list(&store, *all, *json).await,
        CatchupCommand::Show { plan, json } => show(&store, *plan, *json).await,
        CatchupCommand::Approve {
            plan,
            slots,
            latest,
            json,
        } => {
            let selection = match (slots, latest) {
                (Some(range), _) => *range,
                (None, true) => SlotSelection::Latest,
                (None, false) => SlotSelection::All,
            };
            decide(&store, *plan, PlanDecision::Approve(selection), *json).await
        }
        CatchupCommand::Decline { plan, json } => {
            decide(&store, *plan, PlanDecision::Decline, *json).await
        }
    }
}

async fn list(store: &Store, all: bool, json: bool) -> Result<(), Failure> {
    let plans = store.catchup_plans(all).await?;
    if json {
        println!(
            "{}",
            serde_json::Value::Array(plans.iter().map(to_json).collect())
        );
        return Ok(());
    }
    if plans.is_empty() {
        let what = if all {
            "catch-up plans"
        } else {
            "pending catch-up plans"
        };
        println!("no {what}");
        return Ok(());
    }
    println!(
        "{:>5} {:<20} {:>6} {:<17} {:<17} {:<9}  DECIDED BY",
        "PLAN", "JOB", "SLOTS", "FIRST (UTC)", "LAST (UTC)", "STATUS"
    );
    for p in &plans {
        println!(
            "{:>5} {:<20} {:>6} {:<17} {:<17} {:<9}  {}",
            p.id,
            p.job_name,
            p.count,
            p.first.format("%Y-%m-%d %H:%M"),
            p.last.format("%Y-%m-%d %H:%M"),
            p.status.as_str(),
            p.decided_by.as_deref().unwrap_or("")
        );
    }
    if plans
        .iter()
        .any(|p| p.status == crate::store::PlanStatus::Pending)
    {
        println!(
            "approve: cronport catchup approve PLAN [--latest | --slots N..M]; \
             decline: cronport catchup decline PLAN"
        );
    }
    Ok(())
}

/// The plan, or exit 2 naming the id.
async fn read(
    store: &Store,
    id: PlanId,
) -> Result<(CatchUpPlan, Vec<crate::store::PlanSlot>), Failure> {
    match store.catchup_plan_slots(id).await {
        Ok(found) => Ok(found),
        Err(StoreError::NotFound { .. }) => Err(no_plan(id)),
        Err(e) => Err(e.into()),
    }
}

fn no_plan(id: PlanId) -> Failure {
    Failure::BadInput(format!(
        "PLAN {id}: no catch-up plan with this id (see cronport catchup list)"
    ))
}

async fn show(store: &Store, id: PlanId, json: bool) -> Result<(), Failure> {
    let (plan, slots) = read(store, id).await?;
    if json {
        let mut value = to_json(&plan);
        value["slot_list"] = slots
            .iter()
            .enumerate()
            .map(|(i, s)| json!({"n": i + 1, "slot": rfc3339(s.slot), "due": rfc3339(s.at)}))
            .collect();
        println!("{value}");
        return Ok(());
    }
    println!(
        "plan {} · {} · {} · {}",
        plan.id,
        plan.job_name,
        span(&plan),
        plan.status.as_str()
    );
    println!("{:>6}  {:<20}  DUE (UTC)", "N", "SLOT (UTC)");
    for (i, s) in slots.iter().enumerate() {
        println!(
            "{:>6}  {:<20}  {}",
            i + 1,
            s.slot.format("%Y-%m-%d %H:%M:%S"),
            s.at.format("%Y-%m-%d %H:%M:%S")
        );
    }
    Ok(())
}

async fn decide(
    store: &Store,
    id: PlanId,
    decision: PlanDecision,
    json: bool,
) -> Result<(), Failure> {
    // Checked before deciding, so bad input names the flag and changes
    // nothing; the store checks again inside its transaction.
    let (plan, _) = read(store, id).await?;
    if let PlanDecision::Approve(selection @ SlotSelection::Range { .. }) = decision
        && let Err(why) = selection.indices(plan.count)
    {
        return Err(Failure::BadInput(format!("--slots {why}")));
    }
    let by = crate::scheduler::instance::operator("cli");
    let decided = match store
        .decide_catchup_plan(id, decision, &by, Utc::now())
        .await
    {
        Ok(decided) => decided,
        Err(StoreError::NotFound { .. }) => return Err(no_plan(id)),
        Err(StoreError::Conflict { what }) => {
            return Err(Failure::BadInput(format!("PLAN {id}: {what}")));
        }
        Err(StoreError::Invalid { what }) => {
            return Err(Failure::BadInput(format!("--slots {what}")));
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        let mut value = to_json(&decided.plan);
        value["queued"] = decided.queued.into();
        value["not_queued"] = decided.not_queued.into();
        value["declined"] = decided.declined.into();
        println!("{value}");
        return Ok(());
    }
    println!("{}", decided.summary());
    Ok(())
}
