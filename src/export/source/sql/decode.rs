//! Database rows to [`Value`]s, keeping each cell's type.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
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

/// SQLite stores a value's class per cell; the declared column type only
/// refines integers into booleans and text into dates where it says so.
pub fn sqlite_row(row: &SqliteRow) -> Result<Row, SourceError> {
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(query_error)?;
        if raw.is_null() {
            cells.push(Value::Null);
            continue;
        }
        // Compared without allocating: this runs for every cell.
        let class = raw.type_info();
        let class = class.name();
        let declared = column.type_info().name();
        let cell = if class.eq_ignore_ascii_case("INTEGER") || class.eq_ignore_ascii_case("BOOLEAN")
        {
            let n: i64 = row.try_get_unchecked(i).map_err(query_error)?;
            if contains_ignore_case(declared, "BOOL") {
                Value::Bool(n != 0)
            } else {
                Value::Int(n)
            }
        } else if class.eq_ignore_ascii_case("REAL") {
            Value::Float(row.try_get_unchecked(i).map_err(query_error)?)
        } else if class.eq_ignore_ascii_case("BLOB") {
            Value::Bytes(row.try_get_unchecked(i).map_err(query_error)?)
        } else {
            let text: String = row.try_get_unchecked(i).map_err(query_error)?;
            sqlite_text(text, declared)
        };
        cells.push(cell);
    }
    Ok(cells)
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

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Text in a column declared as a date or timestamp becomes a typed value
/// when it parses; anything else stays text, unchanged.
fn sqlite_text(text: String, declared: &str) -> Value {
    if declared.eq_ignore_ascii_case("DATE") {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            return Value::Date(d);
        }
    } else if contains_ignore_case(declared, "DATETIME")
        || contains_ignore_case(declared, "TIMESTAMP")
    {
        if let Some(dt) = plain_datetime(&text) {
            return Value::DateTime(dt);
        }
        if let Ok(ts) = chrono::DateTime::parse_from_rfc3339(&text) {
            return Value::Timestamp(ts);
        }
        for pattern in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
            if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(&text, pattern) {
                return Value::DateTime(dt);
            }
        }
    }
    Value::Text(text)
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
