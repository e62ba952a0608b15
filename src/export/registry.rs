//! The named destinations jobs deliver to, shared by everything that
//! delivers in one process and added to while it runs: the config's, and
//! those an operator makes in the console (which the store keeps, and the
//! scheduler adds here when it reloads its jobs). Which names those are is
//! the caller's business: this module knows only built destinations.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use super::destination::Destination;

/// Destinations by name.
pub type Named = HashMap<String, Arc<dyn Destination>>;

/// A shared, growing set of named destinations. Cloning shares it.
///
/// A run looks its destinations up once, before it renders, and holds on to
/// what it found; adding a destination never disturbs a run under way.
#[derive(Clone)]
pub struct Registry {
    current: Arc<RwLock<Arc<Named>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<String> = self.snapshot().keys().cloned().collect();
        names.sort();
        f.debug_struct("Registry").field("names", &names).finish()
    }
}

impl Registry {
    /// A registry holding `named`.
    pub fn new(named: Named) -> Registry {
        Registry {
            current: Arc::new(RwLock::new(Arc::new(named))),
        }
    }

    /// Every destination as of now.
    pub fn snapshot(&self) -> Arc<Named> {
        // A panic while the lock was held cannot leave a half-made map: the
        // map is replaced whole.
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The destination named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Destination>> {
        self.snapshot().get(name).cloned()
    }

    /// Adds the destinations whose names are not taken yet, and returns
    /// their names. A name already present keeps its destination: the
    /// config's win over stored ones of the same name, and a stored
    /// destination is never changed once made.
    pub fn add(&self, more: Vec<(String, Arc<dyn Destination>)>) -> Vec<String> {
        let mut guard = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let fresh: Vec<_> = more
            .into_iter()
            .filter(|(name, _)| !guard.contains_key(name))
            .collect();
        if fresh.is_empty() {
            return Vec::new();
        }
        let mut next = Named::clone(&guard);
        let mut added = Vec::with_capacity(fresh.len());
        for (name, destination) in fresh {
            added.push(name.clone());
            next.insert(name, destination);
        }
        *guard = Arc::new(next);
        added
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::destination::DestinationConfig;
    use crate::export::destination::local::LocalConfig;

    fn local(root: &str) -> Arc<dyn Destination> {
        Arc::from(
            DestinationConfig::Local(LocalConfig {
                root: root.into(),
                path: "{job}.{ext}".into(),
                keep_days: None,
                archive_days: None,
            })
            .build(),
        )
    }

    #[test]
    fn adding_keeps_names_already_present_and_shares_the_result() {
        let config = local("/config");
        let registry = Registry::new(Named::from([("out".to_string(), config.clone())]));
        let shared = registry.clone();
        let before = registry.snapshot();
        let added = registry.add(vec![
            ("out".into(), local("/stored")),
            ("new".into(), local("/new")),
        ]);
        assert_eq!(added, ["new"]);
        let out = shared.get("out").expect("out");
        assert!(Arc::ptr_eq(&out, &config), "the config's stays");
        assert!(shared.get("new").is_some(), "a clone sees what was added");
        assert!(
            !before.contains_key("new"),
            "a snapshot taken before is not changed under its holder"
        );
        assert!(registry.add(vec![("new".into(), local("/x"))]).is_empty());
    }
}
