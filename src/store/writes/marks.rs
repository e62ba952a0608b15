//! What a batch says about runs' outputs rather than their progress: the
//! content hash (`deliver = "on_change"`) and the checks' records (columns,
//! the failed check, a hold's end). Neither is guarded by the run's status:
//! each is written before the run's finish, often in the same batch, and
//! says what the output was whatever became of the run.

use std::collections::HashMap;

use sqlx::AnyConnection;

use super::super::batch::{AnyQuery, MultiRow};
use super::super::types::{RunId, RunWrite};
use super::super::{Backend, ms};
use super::execute_all;

/// Write the content and checks records of `writes`.
pub(super) async fn write(
    conn: &mut AnyConnection,
    backend: Backend,
    writes: &[RunWrite],
) -> sqlx::Result<()> {
    execute_all(conn, backend, &CONTENT, &contents(writes), bind_content).await?;
    execute_all(conn, backend, &CHECKED, &checks(writes), bind_checked).await
}

// Rows: (run_id, content_hash, unchanged). No status guard: it is written
// before the run's finish, often in the same batch, and says what the
// output was whatever became of the run.
static CONTENT: MultiRow = MultiRow::new(
    "UPDATE runs SET content_hash = v.column2, unchanged = v.column3 FROM ",
    3,
    "WHERE runs.id = v.column1",
);

// Rows: (run_id, output_schema, failed_check, held_until). No status guard,
// as for CONTENT.
static CHECKED: MultiRow = MultiRow::new(
    "UPDATE runs SET output_schema = v.column2, failed_check = v.column3, \
     held_until = v.column4 FROM ",
    4,
    "WHERE runs.id = v.column1",
);

/// The content records of a batch, the last one per run (one statement
/// may not change a row twice).
fn contents(writes: &[RunWrite]) -> Vec<(RunId, &str, bool)> {
    let mut last: HashMap<RunId, usize> = HashMap::new();
    let mut rows = Vec::new();
    for write in writes {
        if let RunWrite::Content {
            run_id,
            hash,
            unchanged,
        } = write
        {
            let row = (*run_id, hash.as_str(), *unchanged);
            match last.get(run_id) {
                Some(&at) => rows[at] = row,
                None => {
                    last.insert(*run_id, rows.len());
                    rows.push(row);
                }
            }
        }
    }
    rows
}

/// The checks' records of a batch, the last one per run.
fn checks(writes: &[RunWrite]) -> Vec<CheckedRow<'_>> {
    let mut last: HashMap<RunId, usize> = HashMap::new();
    let mut rows = Vec::new();
    for write in writes {
        if let RunWrite::Checked {
            run_id,
            schema,
            failed_check,
            held_until,
        } = write
        {
            let row = CheckedRow {
                run_id: *run_id,
                schema: schema.as_deref(),
                failed_check: failed_check.as_deref(),
                held_until: held_until.map(ms),
            };
            match last.get(run_id) {
                Some(&at) => rows[at] = row,
                None => {
                    last.insert(*run_id, rows.len());
                    rows.push(row);
                }
            }
        }
    }
    rows
}

struct CheckedRow<'a> {
    run_id: RunId,
    schema: Option<&'a str>,
    failed_check: Option<&'a str>,
    held_until: Option<i64>,
}

fn bind_checked(q: AnyQuery, c: &CheckedRow<'_>) -> AnyQuery {
    q.bind(c.run_id)
        .bind(c.schema)
        .bind(c.failed_check)
        .bind(c.held_until)
}

fn bind_content(q: AnyQuery, c: &(RunId, &str, bool)) -> AnyQuery {
    q.bind(c.0).bind(c.1).bind(i64::from(c.2))
}
