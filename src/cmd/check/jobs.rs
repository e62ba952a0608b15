//! Every job tried as it would run at its next slot: its source (see
//! [`crate::export::source::check`]) with that slot's parameters, and the
//! destinations it delivers and notifies through. The store's jobs are the
//! ones that run, so a stored job is checked as stored (through
//! [`crate::scheduler::checked_job`], as a run starts from it), including
//! one that the config file no longer lists; a config job not yet in the
//! store is checked as written.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt as _;

use super::Line;
use crate::cmd::Context;
use crate::export::{Pipeline, RunContext};
use crate::job::Job;
use crate::store::Store;

/// Jobs checked at once: sources are often on the same database or
/// server, which a check should not crowd.
const AT_ONCE: usize = 4;

/// A source check that hangs past its own limits (a DNS lookup, say) is
/// cut off here.
const JOB_LIMIT: Duration = Duration::from_secs(30);

/// Where the definition a job is checked with comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// The store, and the config file lists it too.
    Store,
    /// The store only: applied once, since removed from the config file.
    StoreOnly,
    /// The config file; not in the store yet (the next start adds it).
    ConfigOnly,
    /// The config file, the store being out of reach.
    Config,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Store => "store",
            Origin::StoreOnly => "store only",
            Origin::ConfigOnly => "config, not in the store yet",
            Origin::Config => "config",
        }
    }
}

/// A job to try, or why it cannot even be read.
enum Candidate {
    /// The job, where it comes from, and whether the config file has a
    /// different definition of it (the stored one is what runs).
    Job(Box<Job>, Origin, bool),
    Broken {
        name: String,
        origin: Origin,
        reason: String,
    },
}

/// One line per job, sorted by name. `destinations` holds the result of
/// each named destination's own check.
pub(super) async fn check_all(
    ctx: &Context,
    store: Option<&Store>,
    pipeline: &Pipeline,
    destinations: &BTreeMap<String, Result<String, String>>,
) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut candidates = Vec::new();
    let in_config: BTreeMap<&str, &Job> = ctx
        .config
        .jobs
        .iter()
        .map(|job| (job.name(), job))
        .collect();
    let mut stored = BTreeSet::new();
    if let Some(store) = store {
        match store.list_jobs().await {
            Ok(records) => {
                for record in records {
                    let written = in_config.get(record.name.as_str());
                    let origin = match written {
                        Some(_) => Origin::Store,
                        None => Origin::StoreOnly,
                    };
                    let differs = written
                        .and_then(|job| job.definition().ok())
                        .is_some_and(|def| !record.matches(&def));
                    candidates.push(
                        match crate::scheduler::checked_job(store, &ctx.config, &record.name).await
                        {
                            Ok((_, job)) => Candidate::Job(Box::new(job), origin, differs),
                            Err(e) => Candidate::Broken {
                                name: record.name.clone(),
                                origin,
                                reason: e.to_string(),
                            },
                        },
                    );
                    stored.insert(record.name);
                }
            }
            Err(e) => lines.push(Line::new(
                "store",
                store.display_url(),
                Err(format!("cannot list the stored jobs: {e}")),
            )),
        }
    }
    let origin = if store.is_some() {
        Origin::ConfigOnly
    } else {
        Origin::Config
    };
    for job in &ctx.config.jobs {
        if !stored.contains(job.name()) {
            candidates.push(Candidate::Job(Box::new(job.clone()), origin, false));
        }
    }
    let now = Utc::now();
    let mut checked: Vec<(String, Line)> = futures::stream::iter(candidates)
        .map(|candidate| async move {
            match candidate {
                Candidate::Job(job, origin, differs) => {
                    let mut line = check_one(pipeline, &job, origin, destinations, now).await;
                    if differs {
                        line.detail.push_str(
                            "; the config file's definition differs from the stored one checked \
                             here (`cronport apply` makes the store match the file)",
                        );
                    }
                    (job.name().to_string(), line)
                }
                Candidate::Broken {
                    name,
                    origin,
                    reason,
                } => {
                    let mut line = Line::new("job", name.as_str(), Err(reason));
                    line.origin = Some(origin.as_str());
                    (name, line)
                }
            }
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    checked.sort_by(|a, b| a.0.cmp(&b.0));
    lines.extend(checked.into_iter().map(|(_, line)| line));
    lines
}

/// Try `job` with the parameters of its next slot after `now` (or of `now`
/// for a job that will not fire again).
async fn check_one(
    pipeline: &Pipeline,
    job: &Job,
    origin: Origin,
    destinations: &BTreeMap<String, Result<String, String>>,
    now: DateTime<Utc>,
) -> Line {
    let next = job.next_run(now).map(|next| next.slot);
    let slot = next.unwrap_or(now);
    let ctx = RunContext {
        job: job.name().to_string(),
        run_id: 0,
        attempt: 1,
        scheduled_for: slot,
        window_start: crate::scheduler::runner::previous_fire(job, slot),
        window_end: slot,
        timezone: job.schedule.timezone(),
    };
    let mut found = Vec::new();
    if next.is_none() {
        found.push("no next slot; checked with the parameters of now".into());
    }
    let mut problems = Vec::new();
    let source = job.spec.source.kind();
    match tokio::time::timeout(JOB_LIMIT, pipeline.check_source(&job.spec.source, &ctx)).await {
        Ok(Ok(detail)) => found.push(format!("{source} source: {detail}")),
        Ok(Err(e)) => problems.push(format!("{source} source: {e}")),
        Err(_) => problems.push(format!(
            "{source} source: no answer within {}s",
            JOB_LIMIT.as_secs()
        )),
    }
    let notified = job.spec.notify.iter().flat_map(|notify| notify.to.iter());
    let mut used = BTreeSet::new();
    for name in job.spec.destinations.iter().chain(notified) {
        if !used.insert(name.as_str()) {
            continue;
        }
        match destinations.get(name) {
            Some(Ok(_)) => {}
            Some(Err(e)) => problems.push(format!("destination {name}: {e}")),
            None => problems.push(format!(
                "destination {name:?} is not defined under [destinations] in the config"
            )),
        }
    }
    if problems.is_empty() {
        let names: Vec<&str> = used.into_iter().collect();
        found.push(format!("destinations {}", names.join(", ")));
    }
    let result = if problems.is_empty() {
        Ok(found.join("; "))
    } else {
        Err(problems.join("; "))
    };
    let mut line = Line::new("job", job.name(), result);
    line.origin = Some(origin.as_str());
    line.slot = Some(slot.to_rfc3339_opts(SecondsFormat::Secs, true));
    line
}
