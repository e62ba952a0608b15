//! A stored job back into a job: the one place the store's JSON definition
//! is decoded and checked against the config, so the scheduler, the command
//! line, the console and the metrics agree on which stored jobs can run and
//! say why the others cannot in the same words.

use super::{FieldError, Job, JobSpec, Known, one_line};

/// Why a stored job definition cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoredJobError {
    /// The JSON does not decode into a job definition (written by another
    /// version of cronport, or edited by hand).
    #[error("job {name:?}: stored definition is unreadable: {error}")]
    Unreadable {
        /// The job.
        name: String,
        /// What the decoder said.
        error: serde_json::Error,
    },
    /// It decodes, but does not fit the config (a destination removed, say).
    #[error("job {name:?} does not fit the config: {}", one_line(.errors))]
    Invalid {
        /// The job.
        name: String,
        /// Every problem, each naming its key.
        errors: Vec<FieldError>,
    },
}

impl StoredJobError {
    /// What is wrong, without the job's name: for messages that name the
    /// job themselves.
    pub fn problems(&self) -> String {
        match self {
            StoredJobError::Unreadable { error, .. } => {
                format!("stored definition is unreadable: {error}")
            }
            StoredJobError::Invalid { errors, .. } => one_line(errors),
        }
    }
}

/// The definition of job `name` as stored, decoded but not checked: for
/// showing it, exporting it and editing it (a job that no longer fits the
/// config can still be looked at and fixed).
pub fn decode(name: &str, definition: &str) -> Result<JobSpec, StoredJobError> {
    serde_json::from_str(definition).map_err(|error| StoredJobError::Unreadable {
        name: name.to_string(),
        error,
    })
}

/// The stored job `name`, decoded and checked against `known`: what every
/// run, dry run, listing and schedule of a stored job starts from.
pub fn checked(name: &str, definition: &str, known: &Known) -> Result<Job, StoredJobError> {
    decode(name, definition)?
        .validate(known)
        .map_err(|errors| StoredJobError::Invalid {
            name: name.to_string(),
            errors,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            destinations: ["out".to_string()].into(),
            ..Known::default()
        }
    }

    const GOOD: &str = r#"{"name":"a","schedule":"every 5m","source":{"kind":"command","argv":["true"]},"format":{"kind":"csv"},"destinations":["out"]}"#;

    #[test]
    fn a_good_definition_checks() {
        let job = checked("a", GOOD, &known()).expect("checks");
        assert_eq!(job.name(), "a");
        assert_eq!(job.spec.destinations, ["out"]);
    }

    #[test]
    fn unreadable_json_names_the_job() {
        let e = checked("broken", "{not json", &known()).unwrap_err();
        assert!(matches!(e, StoredJobError::Unreadable { .. }));
        let text = e.to_string();
        assert!(
            text.starts_with("job \"broken\": stored definition is unreadable:"),
            "{text}"
        );
        assert!(e.problems().starts_with("stored definition is unreadable:"));
    }

    #[test]
    fn a_definition_that_no_longer_fits_names_the_job_and_the_key() {
        let e = checked("a", GOOD, &Known::default()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("job \"a\" does not fit the config: destinations[0]:"),
            "{text}"
        );
        assert!(
            e.problems()
                .contains("\"out\" is not defined under [destinations]")
        );
        // Still decodable, for showing and editing it.
        assert_eq!(decode("a", GOOD).expect("decodes").name, "a");
    }
}
