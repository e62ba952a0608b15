//! MySQL/MariaDB rows to [`Value`]s. Connections are made read-only per
//! session, since the driver has no read-only connect option.

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::{Column as _, Executor as _, Row as _, TypeInfo as _};

use super::decode::non_null_cells;
use super::query_error;
use crate::export::source::SourceError;
use crate::export::value::{Row, Value};

/// Open a pool whose every connection refuses writes.
pub async fn open(url: &str, password: Option<&str>) -> Result<MySqlPool, String> {
    let mut options: MySqlConnectOptions = url.parse().map_err(|e: sqlx::Error| e.to_string())?;
    if let Some(password) = password {
        options = options.password(password);
    }
    // UTC so TIMESTAMP columns come back as the instants they store.
    let options = options.timezone(Some("+00:00".to_string()));
    MySqlPoolOptions::new()
        .max_connections(4)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|e| e.to_string())
}

/// Each MySQL type maps to its value kind; unsigned 64-bit values beyond
/// the signed range stay exact as decimals.
pub fn row(row: &MySqlRow) -> Result<Row, SourceError> {
    non_null_cells(row, |i, column| {
        let type_name = column.type_info().name();
        Ok(match type_name {
            "BOOLEAN" => Value::Bool(row.try_get(i).map_err(query_error)?),
            "TINYINT" => Value::Int(row.try_get::<i8, _>(i).map_err(query_error)?.into()),
            "SMALLINT" => Value::Int(row.try_get::<i16, _>(i).map_err(query_error)?.into()),
            "INT" | "MEDIUMINT" => {
                Value::Int(row.try_get::<i32, _>(i).map_err(query_error)?.into())
            }
            "BIGINT" => Value::Int(row.try_get(i).map_err(query_error)?),
            "TINYINT UNSIGNED" => Value::Int(row.try_get::<u8, _>(i).map_err(query_error)?.into()),
            "SMALLINT UNSIGNED" | "YEAR" => {
                Value::Int(row.try_get::<u16, _>(i).map_err(query_error)?.into())
            }
            "INT UNSIGNED" | "MEDIUMINT UNSIGNED" => {
                Value::Int(row.try_get::<u32, _>(i).map_err(query_error)?.into())
            }
            "BIGINT UNSIGNED" | "BIT" => {
                let n: u64 = row.try_get(i).map_err(query_error)?;
                i64::try_from(n).map_or_else(|_| Value::Decimal(n.to_string()), Value::Int)
            }
            "FLOAT" => Value::Float(row.try_get::<f32, _>(i).map_err(query_error)?.into()),
            "DOUBLE" => Value::Float(row.try_get(i).map_err(query_error)?),
            "DECIMAL" => Value::Decimal(
                row.try_get::<sqlx::types::BigDecimal, _>(i)
                    .map_err(query_error)?
                    .normalized()
                    .to_plain_string(),
            ),
            "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM"
            | "SET" => Value::Text(row.try_get(i).map_err(query_error)?),
            "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
                Value::Bytes(row.try_get(i).map_err(query_error)?)
            }
            "DATE" => Value::Date(row.try_get(i).map_err(query_error)?),
            "TIME" => Value::Time(row.try_get(i).map_err(query_error)?),
            "DATETIME" => Value::DateTime(row.try_get(i).map_err(query_error)?),
            "TIMESTAMP" => {
                let ts: chrono::DateTime<chrono::Utc> = row.try_get(i).map_err(query_error)?;
                Value::Timestamp(ts.fixed_offset())
            }
            "JSON" => Value::Json(row.try_get(i).map_err(query_error)?),
            other => {
                return Err(SourceError::UnsupportedType {
                    column: column.name().to_string(),
                    type_name: other.to_string(),
                });
            }
        })
    })
}
