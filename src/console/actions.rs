//! The effects that write something: saving a job from the form, planning
//! and running a backfill. They run in tasks; their answers come back as
//! messages.

use crate::audit::{Actor, Note};
use crate::config::Config;
use crate::destinations::NewLocal;
use crate::job::JobSpec;
use crate::store::{AuditAction, NewDestination, Store, StoreError, Way};

/// Check `spec` against the config and the store's destinations and write
/// it, with the new destinations `made` from the form, in one transaction:
/// created, or (for an edit) updated only if nobody changed it since the
/// form opened at `original`'s version. A running job keeps its current
/// definition until its next run.
pub async fn save(
    store: &Store,
    config: &Config,
    spec: JobSpec,
    original: Option<(String, i64)>,
    made: Vec<NewLocal>,
) -> Result<String, String> {
    let stored = crate::destinations::stored(config, store)
        .await
        .map_err(|e| e.to_string())?;
    let mut known = crate::destinations::known_with(config, &stored);
    let (news, rows) = new_destinations(config, &stored, &spec, made)?;
    known
        .destinations
        .extend(news.iter().map(|n| n.name.clone()));
    let job = spec
        .validate(&known)
        .map_err(|errors| crate::job::one_line(&errors))?;
    let definition = job
        .definition()
        .map_err(|e| format!("cannot store job {}: {e}", job.name()))?;
    let name = definition.name.clone();
    let stored = |e: StoreError| e.to_string();
    let (action, before, result) = match original {
        None => {
            let created = store
                .create_job_with(&definition, &rows)
                .await
                .map_err(stored);
            let result = created.map(|_| format!("{name} created"));
            (AuditAction::Create, None, result)
        }
        Some((old, version)) if old == name => {
            let before = store.get_job(&name).await.ok().flatten();
            let updated = store
                .update_job_with(&definition, Some(version), &rows)
                .await;
            let result = updated
                .map(|_| format!("{name} saved; a run under way finishes as it was"))
                .map_err(stored);
            (AuditAction::Update, before.map(|b| b.definition), result)
        }
        Some((old, _)) => {
            return Err(format!(
                "a job cannot be renamed ({old} → {name}): create {name} as a new job and delete {old}"
            ));
        }
    };
    if result.is_ok() {
        let actor = Actor::here(Way::Console);
        for (new, row) in news.iter().zip(&rows) {
            let said = Ok(format!(
                "destination {} made (local folder {})",
                new.name,
                new.config.root.display()
            ));
            let note = Note::new(AuditAction::CreateDestination, Some(&name))
                .outcome(&said)
                .change(None, Some(row.definition.clone()));
            crate::audit::record(store, &actor, note).await;
        }
        let note = Note::new(action, Some(&name)).outcome(&result);
        let note = note.change(before, Some(definition.definition.clone()));
        crate::audit::record(store, &actor, note).await;
    }
    result.map(|text| match news.len() {
        0 => text,
        _ => {
            let names: Vec<&str> = news.iter().map(|n| n.name.as_str()).collect();
            format!("{text}; destination {} made", names.join(", "))
        }
    })
}

/// The destinations made from the form that the job names, checked again
/// here against the config and the store as they are now (another console
/// may have made the name meanwhile), and the rows to store.
fn new_destinations(
    config: &Config,
    stored: &crate::destinations::Stored,
    spec: &JobSpec,
    made: Vec<NewLocal>,
) -> Result<(Vec<NewLocal>, Vec<NewDestination>), String> {
    let config_names = config.destinations.keys().cloned().collect();
    let stored_names = stored.names().map(str::to_string).collect();
    let mut news = Vec::new();
    let mut rows = Vec::new();
    for new in made
        .into_iter()
        .filter(|n| spec.destinations.contains(&n.name))
    {
        let draft = crate::destinations::LocalDraft {
            name: new.name.clone(),
            root: new.config.root.display().to_string(),
            path: new.config.path.clone(),
            keep_days: new
                .config
                .keep_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
        };
        let checked =
            crate::destinations::check_draft(&draft, &config.folder, &config_names, &stored_names)
                .map_err(|problems| {
                    let all: Vec<String> = problems
                        .iter()
                        .map(|(key, message)| format!("{key}: {message}"))
                        .collect();
                    format!("new destination {:?}: {}", new.name, all.join("; "))
                })?;
        let row = checked
            .to_store()
            .map_err(|e| format!("cannot store destination {}: {e}", new.name))?;
        news.push(checked);
        rows.push(row);
    }
    Ok((news, rows))
}

/// Send run `id`'s kept output to its destinations again, as `cronport
/// runs redeliver ID` does (the same code), audited as the console's.
pub async fn redeliver(store: &Store, config: &Config, id: i64) -> Result<String, String> {
    let job = store.get_run(id).await.ok().flatten().map(|r| r.job_name);
    let result = match crate::scheduler::redeliver::redeliver(store, config, id, None).await {
        Ok(outcome) => match outcome.failure {
            Some((name, error)) => Err(format!("run {id}: destination {name:?}: {error}")),
            None => {
                let names: Vec<&str> = outcome
                    .deliveries
                    .iter()
                    .map(|d| d.destination.as_str())
                    .collect();
                Ok(format!("run {id} redelivered to {}", names.join(", ")))
            }
        },
        Err(e) => Err(format!("run {id}: {e}")),
    };
    let note = Note::new(AuditAction::Redeliver, job.as_deref())
        .run(id)
        .outcome(&result);
    crate::audit::record(store, &Actor::here(Way::Console), note).await;
    result
}

/// Deliver held run `id`, as `cronport runs release ID` does (the same
/// code), audited as the console's.
pub async fn release(store: &Store, config: &Config, id: i64) -> Result<String, String> {
    let job = store.get_run(id).await.ok().flatten().map(|r| r.job_name);
    let result = match crate::scheduler::held::release(store, config, id).await {
        Ok(outcome) => match outcome.failure {
            Some((name, error)) => Err(format!(
                "run {id}: destination {name:?}: {error}; held again"
            )),
            None => {
                let names: Vec<&str> = outcome
                    .deliveries
                    .iter()
                    .map(|d| d.destination.as_str())
                    .collect();
                Ok(format!(
                    "run {id} released: delivered to {}",
                    names.join(", ")
                ))
            }
        },
        Err(e) => Err(e.to_string()),
    };
    let note = Note::new(AuditAction::Release, job.as_deref())
        .run(id)
        .outcome(&result);
    crate::audit::record(store, &Actor::here(Way::Console), note).await;
    result
}

/// Drop held run `id`, as `cronport runs discard ID` does, audited as the
/// console's.
pub async fn discard(store: &Store, config: &Config, id: i64) -> Result<String, String> {
    let job = store.get_run(id).await.ok().flatten().map(|r| r.job_name);
    let result = crate::scheduler::held::discard(store, config, id, "discarded by hand")
        .await
        .map(|()| format!("run {id} discarded: nothing delivered"))
        .map_err(|e| e.to_string());
    let note = Note::new(AuditAction::Discard, job.as_deref())
        .run(id)
        .outcome(&result);
    crate::audit::record(store, &Actor::here(Way::Console), note).await;
    result
}

/// The plan of a backfill of `job` over `[from, to]`: the job checked
/// against the config, its slots with its rules applied, and what the
/// store holds for each.
pub async fn plan_backfill(
    store: &Store,
    config: &Config,
    job: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<super::backfill::PlanSummary, String> {
    use crate::scheduler::backfill;
    let (id, checked) = checked(store, config, job).await?;
    // Only slots that have come: a later one is the schedule's to run.
    let now = chrono::Utc::now();
    if from > now {
        return Err("from is in the future: a backfill runs past slots".to_string());
    }
    let to = to.min(now);
    let limit = config.scheduler.max_backfill_slots;
    let slots = backfill::slots_between(&checked, from, to, limit).map_err(|_| {
        format!(
            "the range holds more than {limit} slots ([scheduler] max_backfill_slots): \
             narrow it, or use cronport jobs backfill --yes"
        )
    })?;
    let plan = backfill::plan(store, id, &slots.run)
        .await
        .map_err(|e| e.to_string())?;
    Ok(super::backfill::PlanSummary::of(&plan, slots.skipped.len()))
}

/// Queues `slots` of `job` for the scheduler (this console's or the one
/// it is attached to) and follows them to their end, sending each step to
/// `progress`; stops queueing on `stop`.
pub async fn run_backfill(
    store: &Store,
    config: &Config,
    job: &str,
    slots: Vec<chrono::DateTime<chrono::Utc>>,
    stop: &tokio_util::sync::CancellationToken,
    progress: tokio::sync::mpsc::UnboundedSender<crate::scheduler::backfill::Progress>,
) -> Result<(), String> {
    use crate::scheduler::backfill::{self, Runner};
    let (id, checked) = checked(store, config, job).await?;
    backfill::run(
        store,
        Runner::Instances,
        id,
        slots,
        false,
        backfill::Pace::of(&checked, 1),
        chrono::Utc::now(),
        stop,
        |step| {
            let _ = progress.send(step);
        },
    )
    .await
    .map_err(|e| e.to_string())
}

async fn checked(
    store: &Store,
    config: &Config,
    job: &str,
) -> Result<(crate::store::JobId, crate::job::Job), String> {
    let (record, job) = crate::scheduler::checked_job(store, config, job)
        .await
        .map_err(|e| e.to_string())?;
    Ok((record.id, job))
}

#[cfg(test)]
mod tests {
    use super::save;
    use crate::config::Config;
    use crate::store::{AuditAction, AuditFilter, Store, Way};

    const CONFIG: &str = "[destinations.out]\nkind = \"local\"\nroot = \"exports\"\n\
        path = \"{job}/{run_id}.{ext}\"\n\n[[jobs]]\nname = \"j\"\nschedule = \"0 3 * * *\"\n\
        source = { kind = \"command\", argv = [\"true\"] }\nformat = { kind = \"csv\" }\n\
        destinations = [\"out\"]\n";

    /// A job created and then edited in the console's form leaves two
    /// entries, the console's, with the stored definition before and after.
    #[tokio::test]
    async fn a_save_is_recorded_with_the_definition_before_and_after() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config::parse(CONFIG, dir.path()).expect("config");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = Store::open(&url).await.expect("store");
        let mut spec = config.jobs[0].spec.clone();
        save(&store, &config, spec.clone(), None, Vec::new())
            .await
            .expect("created");
        let created = store.get_job("j").await.expect("read").expect("stored");
        spec.schedule = "0 4 * * *".into();
        save(
            &store,
            &config,
            spec,
            Some(("j".into(), created.version)),
            Vec::new(),
        )
        .await
        .expect("saved");
        let updated = store.get_job("j").await.expect("read").expect("stored");
        let trail = store
            .audit_entries(&AuditFilter::default())
            .await
            .expect("trail");
        let entries: Vec<_> = trail.iter().map(|e| &e.entry).collect();
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert_eq!(entries[0].action, AuditAction::Update);
        assert_eq!(entries[0].before.as_ref(), Some(&created.definition));
        assert_eq!(entries[0].after.as_ref(), Some(&updated.definition));
        assert_ne!(created.definition, updated.definition);
        assert_eq!(entries[1].action, AuditAction::Create);
        assert_eq!(entries[1].before, None);
        assert_eq!(entries[1].after.as_ref(), Some(&created.definition));
        assert!(
            entries
                .iter()
                .all(|e| e.way == Way::Console && e.job.as_deref() == Some("j"))
        );
        store.close().await;
    }
}
