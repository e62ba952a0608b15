//! Named destinations, wherever they are named: the config's
//! `[destinations]` table, and the local folders an operator makes from the
//! console's job form, which the store keeps so that every instance sharing
//! it can deliver there at once, without a restart. A stored destination is
//! the same type the config reads (`DestinationConfig`, as JSON), checked
//! and built by the same code. The config's table wins a name both define.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::export::Pipeline;
use crate::export::destination::DestinationConfig;
use crate::export::destination::local::LocalConfig;
use crate::export::registry::Registry;
use crate::job::{Known, is_slug};
use crate::store::{NewDestination, Store, StoreError, StoredDestination};

/// A destination made in the console, read back from the store and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Made {
    /// Its name.
    pub name: String,
    /// Its definition, checked as the config's are.
    pub config: DestinationConfig,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// The store's destinations as this config sees them.
#[derive(Clone, Debug, Default)]
pub struct Stored {
    /// Those jobs may name.
    pub made: Vec<Made>,
    /// Names the config defines too: the config's definition is used.
    pub shadowed: Vec<String>,
    /// Rows that could not be read (a newer build's, or damaged), with why.
    pub broken: Vec<(String, String)>,
}

impl Stored {
    /// Read and check the store's destinations against `config`.
    pub fn from_records(config: &Config, records: Vec<StoredDestination>) -> Stored {
        let mut stored = Stored::default();
        for record in records {
            if config.destinations.contains_key(&record.name) {
                stored.shadowed.push(record.name);
                continue;
            }
            match decode(config, &record) {
                Ok(made) => stored.made.push(made),
                Err(why) => stored.broken.push((record.name, why)),
            }
        }
        stored
    }

    /// The names jobs may use besides the config's.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.made.iter().map(|m| m.name.as_str())
    }
}

/// One stored row as a checked definition, or why it cannot be used.
fn decode(config: &Config, record: &StoredDestination) -> Result<Made, String> {
    let mut definition: DestinationConfig = serde_json::from_str(&record.definition)
        .map_err(|e| format!("its stored definition cannot be read: {e}"))?;
    definition
        .validate(&config.folder)
        .map_err(|(key, message)| format!("{key}: {message}"))?;
    Ok(Made {
        name: record.name.clone(),
        config: definition,
        created_at: record.created_at,
    })
}

/// The store's destinations, read and checked against `config`; rows that
/// cannot be used are left out (and listed in [`Stored::broken`]: the
/// scheduler logs them when it loads them, `cronport check` fails them).
pub async fn stored(config: &Config, store: &Store) -> Result<Stored, StoreError> {
    Ok(Stored::from_records(
        config,
        store.list_destinations().await?,
    ))
}

/// What jobs may name, given what the store holds: the config's names and
/// the destinations made in the console.
pub fn known_with(config: &Config, stored: &Stored) -> Known {
    let mut known = config.known();
    known
        .destinations
        .extend(stored.names().map(str::to_string));
    known
}

/// What jobs may name: the config's names and the destinations made in the
/// console. Everything that checks a stored job checks it against this.
pub async fn known(config: &Config, store: &Store) -> Result<Known, StoreError> {
    Ok(known_with(config, &stored(config, store).await?))
}

/// Adds the stored destinations to `registry` (names it has keep theirs);
/// returns the names added.
pub fn register(registry: &Registry, stored: &Stored) -> Vec<String> {
    let added = registry.add(
        stored
            .made
            .iter()
            .map(|m| (m.name.clone(), std::sync::Arc::from(m.config.build())))
            .collect(),
    );
    for name in &added {
        tracing::info!("destination {name:?} (made in the console) is ready");
    }
    added
}

/// The export pipeline over the config's connections and destinations and
/// the store's destinations.
pub async fn pipeline(config: &Config, store: &Store) -> Result<Pipeline, StoreError> {
    let pipeline = config.pipeline();
    register(pipeline.registry(), &stored(config, store).await?);
    Ok(pipeline)
}

/// A new local folder as typed in the form: the text of each field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalDraft {
    /// `name`.
    pub name: String,
    /// `root`: absolute, or relative to the config's folder.
    pub root: String,
    /// `path`: the path pattern under the root.
    pub path: String,
    /// `keep_days`: empty for none.
    pub keep_days: String,
}

/// A checked draft, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewLocal {
    /// Its name.
    pub name: String,
    /// Its definition, the root made absolute.
    pub config: LocalConfig,
}

impl NewLocal {
    /// The row to store.
    pub fn to_store(&self) -> Result<NewDestination, serde_json::Error> {
        let definition = DestinationConfig::Local(self.config.clone());
        Ok(NewDestination {
            name: self.name.clone(),
            kind: definition.kind().to_string(),
            definition: serde_json::to_string(&definition)?,
        })
    }
}

/// One problem of a draft: the field (`name`, `root`, `path`, `keep_days`)
/// and what is wrong.
pub type DraftProblem = (&'static str, String);

/// Check a draft by the config's rules (a slug name no other destination
/// has, a root, a pattern that cannot leave it, whole days), taking a
/// relative root from `base` (the config's folder). `config_names` are the
/// config's destinations, `stored_names` those made in the console.
pub fn check_draft(
    draft: &LocalDraft,
    base: &std::path::Path,
    config_names: &BTreeSet<String>,
    stored_names: &BTreeSet<String>,
) -> Result<NewLocal, Vec<DraftProblem>> {
    let mut problems = Vec::new();
    let name = draft.name.trim();
    if name.is_empty() {
        problems.push(("name", "is empty".to_string()));
    } else if !is_slug(name) {
        problems.push((
            "name",
            format!(
                "{name:?} is not a valid name: use lowercase letters, digits, '-' and '_' (up to 64)"
            ),
        ));
    } else if config_names.contains(name) {
        problems.push((
            "name",
            format!("{name:?} is defined under [destinations] in the config: pick another name"),
        ));
    } else if stored_names.contains(name) {
        problems.push((
            "name",
            format!("a destination named {name:?} was already made in the console"),
        ));
    }
    let keep_days = match draft.keep_days.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(days) => Some(days),
            Err(_) => {
                problems.push((
                    "keep_days",
                    format!("{text:?} is not a whole number of days"),
                ));
                None
            }
        },
    };
    let mut definition = DestinationConfig::Local(LocalConfig {
        root: draft.root.trim().into(),
        path: draft.path.trim().to_string(),
        keep_days,
        archive_days: None,
    });
    if let Err((key, message)) = definition.validate(base) {
        let field = match key.as_str() {
            "root" => "root",
            "keep_days" => "keep_days",
            _ => "path",
        };
        problems.push((field, message));
    }
    match definition {
        DestinationConfig::Local(config) if problems.is_empty() => Ok(NewLocal {
            name: name.to_string(),
            config,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(name: &str, root: &str, path: &str, keep: &str) -> LocalDraft {
        LocalDraft {
            name: name.into(),
            root: root.into(),
            path: path.into(),
            keep_days: keep.into(),
        }
    }

    fn check(d: &LocalDraft) -> Result<NewLocal, Vec<DraftProblem>> {
        let config: BTreeSet<String> = ["exports".to_string()].into();
        let stored: BTreeSet<String> = ["made".to_string()].into();
        check_draft(d, std::path::Path::new("/etc/cronport"), &config, &stored)
    }

    fn fields(d: &LocalDraft) -> Vec<&'static str> {
        check(d)
            .expect_err("refused")
            .into_iter()
            .map(|p| p.0)
            .collect()
    }

    #[test]
    fn a_good_draft_takes_a_relative_root_from_the_config_folder() {
        let new = check(&draft("reports", "../out", "{job}/{job}.{ext}", "30")).expect("ok");
        assert_eq!(new.name, "reports");
        assert_eq!(new.config.root, std::path::PathBuf::from("/etc/out"));
        assert_eq!(new.config.keep_days, Some(30));
        let row = new.to_store().expect("json");
        assert_eq!(row.kind, "local");
        let back: DestinationConfig = serde_json::from_str(&row.definition).expect("reads");
        assert_eq!(back, DestinationConfig::Local(new.config));
    }

    #[test]
    fn each_problem_names_its_field() {
        assert_eq!(
            fields(&draft("Bad Name", "/x", "{job}.{ext}", "")),
            ["name"]
        );
        assert_eq!(fields(&draft("exports", "/x", "{job}.{ext}", "")), ["name"]);
        assert_eq!(fields(&draft("made", "/x", "{job}.{ext}", "")), ["name"]);
        assert_eq!(fields(&draft("ok", "", "{job}.{ext}", "")), ["root"]);
        assert_eq!(fields(&draft("ok", "/x", "../{job}.{ext}", "")), ["path"]);
        assert_eq!(fields(&draft("ok", "/x", "/abs/{job}.{ext}", "")), ["path"]);
        assert_eq!(fields(&draft("ok", "/x", "{nope}.{ext}", "")), ["path"]);
        assert_eq!(
            fields(&draft("ok", "/x", "{job}.{ext}", "0")),
            ["keep_days"]
        );
        assert_eq!(fields(&draft("ok", "/x", "out.{ext}", "7")), ["keep_days"]);
        assert_eq!(
            fields(&draft("ok", "/x", "{job}.{ext}", "a week")),
            ["keep_days"]
        );
        let message = check(&draft("exports", "/x", "{job}.{ext}", ""))
            .expect_err("refused")
            .remove(0)
            .1;
        assert!(message.contains("in the config"), "{message}");
    }
}
