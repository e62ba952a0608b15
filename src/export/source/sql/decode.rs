//! Database rows to [`Value`]s, keeping each cell's type.

use sqlx::postgres::PgRow;
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use super::query_error;
use crate::export::source::SourceError;
use crate::export::value::{Row, Value};

/// Decode each cell of `row` with `cell`, which never sees a NULL.
pub fn non_null_cells<R, C>(
    row: &R,
    mut cell: impl FnMut(usize, &C) -> Result<Value, SourceError>,
) -> Result<Row, SourceError>
where
    R: sqlx::Row,
    R::Database: sqlx::Database<Column = C>,
    usize: sqlx::ColumnIndex<R>,
{
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        if row.try_get_raw(i).map_err(query_error)?.is_null() {
            cells.push(Value::Null);
        } else {
            cells.push(cell(i, column)?);
        }
    }
    Ok(cells)
}

/// What a SQLite column's declared type adds to a cell's storage class:
/// it refines integers into booleans and text into dates, nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Declared {
    /// `BOOL` or `BOOLEAN`.
    Bool,
    /// `DATE`.
    Date,
    /// `DATETIME` or `TIMESTAMP`.
    DateTime,
    /// Anything else, or no declared type (an expression).
    Other,
}

impl Declared {
    /// The refinement for a column declared `decl`. Whole names only, as
    /// sqlx's SQLite type names matched them: `TIMESTAMPTZ` stays text.
    pub fn of(decl: Option<&str>) -> Declared {
        let Some(decl) = decl else {
            return Declared::Other;
        };
        let is = |name: &str| decl.eq_ignore_ascii_case(name);
        if is("bool") || is("boolean") {
            Declared::Bool
        } else if is("date") {
            Declared::Date
        } else if is("datetime") || is("timestamp") {
            Declared::DateTime
        } else {
            Declared::Other
        }
    }
}

/// SQLite stores a value's class per cell; the declared column type only
/// refines integers into booleans and text into dates where it says so.
pub fn sqlite_cell(
    value: rusqlite::types::ValueRef<'_>,
    declared: Declared,
    column: &str,
) -> Result<Value, SourceError> {
    use rusqlite::types::ValueRef;
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) if declared == Declared::Bool => Value::Bool(n != 0),
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
        ValueRef::Text(bytes) => {
            let text = std::str::from_utf8(bytes).map_err(|e| {
                SourceError::Query(format!(
                    "column {column:?} holds text that is not UTF-8: {e}"
                ))
            })?;
            sqlite_text(text, declared)
        }
    })
}

/// [`sqlite_cell`] into `slot`, a cell of a batch the consumer handed back:
/// text that stays text is copied into the old cell's buffer, so a large
/// export allocates nothing per cell once its first batches came back.
pub fn sqlite_cell_into(
    slot: &mut Value,
    value: rusqlite::types::ValueRef<'_>,
    declared: Declared,
    column: &str,
) -> Result<(), SourceError> {
    use rusqlite::types::ValueRef;
    if let (ValueRef::Text(bytes), Declared::Bool | Declared::Other, Value::Text(buffer)) =
        (value, declared, &mut *slot)
    {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            SourceError::Query(format!(
                "column {column:?} holds text that is not UTF-8: {e}"
            ))
        })?;
        buffer.clear();
        buffer.push_str(text);
        return Ok(());
    }
    *slot = sqlite_cell(value, declared, column)?;
    Ok(())
}

/// SQLite's own `YYYY-MM-DD HH:MM:SS` (what `datetime()` writes), read
/// without chrono's pattern parser, which dominates a large export.
fn plain_datetime(text: &str) -> Option<chrono::NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)
}

/// Text in a column declared as a date or timestamp becomes a typed value
/// when it parses; anything else stays text, unchanged. Dates parse from
/// the borrowed text, so only text that stays text is copied.
fn sqlite_text(text: &str, declared: Declared) -> Value {
    match declared {
        Declared::Date => {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                return Value::Date(d);
            }
        }
        Declared::DateTime => {
            if let Some(dt) = plain_datetime(text) {
                return Value::DateTime(dt);
            }
            if let Ok(ts) = chrono::DateTime::parse_from_rfc3339(text) {
                return Value::Timestamp(ts);
            }
            for pattern in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
                if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(text, pattern) {
                    return Value::DateTime(dt);
                }
            }
        }
        Declared::Bool | Declared::Other => {}
    }
    Value::Text(text.to_string())
}

/// PostgreSQL types are exact per column; each maps to its value kind.
pub fn pg_row(row: &PgRow) -> Result<Row, SourceError> {
    non_null_cells(row, |i, column| {
        let type_name = column.type_info().name();
        Ok(match type_name {
            "BOOL" => Value::Bool(row.try_get(i).map_err(query_error)?),
            "INT2" => Value::Int(row.try_get::<i16, _>(i).map_err(query_error)?.into()),
            "INT4" => Value::Int(row.try_get::<i32, _>(i).map_err(query_error)?.into()),
            "INT8" => Value::Int(row.try_get(i).map_err(query_error)?),
            "OID" => Value::Int(
                row.try_get::<sqlx::postgres::types::Oid, _>(i)
                    .map_err(query_error)?
                    .0
                    .into(),
            ),
            "FLOAT4" => Value::Float(row.try_get::<f32, _>(i).map_err(query_error)?.into()),
            "FLOAT8" => Value::Float(row.try_get(i).map_err(query_error)?),
            "NUMERIC" => Value::Decimal(
                row.try_get::<sqlx::types::BigDecimal, _>(i)
                    .map_err(query_error)?
                    .normalized()
                    .to_plain_string(),
            ),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" => {
                Value::Text(row.try_get(i).map_err(query_error)?)
            }
            "BYTEA" => Value::Bytes(row.try_get(i).map_err(query_error)?),
            "DATE" => Value::Date(row.try_get(i).map_err(query_error)?),
            "TIME" => Value::Time(row.try_get(i).map_err(query_error)?),
            "TIMESTAMP" => Value::DateTime(row.try_get(i).map_err(query_error)?),
            "TIMESTAMPTZ" => {
                let ts: chrono::DateTime<chrono::Utc> = row.try_get(i).map_err(query_error)?;
                Value::Timestamp(ts.fixed_offset())
            }
            "JSON" | "JSONB" => Value::Json(row.try_get(i).map_err(query_error)?),
            other => {
                return Err(SourceError::UnsupportedType {
                    column: column.name().to_string(),
                    type_name: other.to_string(),
                });
            }
        })
    })
}
