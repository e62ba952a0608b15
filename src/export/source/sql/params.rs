//! Named bind parameters (`:window_start`) turned into the driver's
//! positional placeholders, so values are always bound, never pasted.

/// The parameters a run offers to queries.
pub const KNOWN: [&str; 4] = ["scheduled_for", "window_start", "window_end", "run_id"];

/// Placeholder style of the target database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// PostgreSQL: `$1`, reusable.
    Dollar,
    /// SQLite: `?1`, reusable.
    QuestionNumbered,
    /// MySQL/MariaDB: a plain `?` per use, so a name used twice is bound twice.
    Question,
}

/// A query rewritten for a driver, with the parameter names in bind order.
#[derive(Debug, PartialEq, Eq)]
pub struct Rewritten {
    /// The SQL with placeholders.
    pub sql: String,
    /// Names (from [`KNOWN`]) to bind, in order (one per `?` for MySQL).
    pub params: Vec<&'static str>,
}

/// Why a query's parameters were refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown bind parameter :{name} at byte {at}; cronport binds :scheduled_for, :window_start, :window_end and :run_id"
)]
pub struct UnknownParam {
    /// The name after the colon.
    pub name: String,
    /// Byte offset of the colon.
    pub at: usize,
}

/// Rewrite `:name` parameters outside strings, quoted identifiers, comments
/// and PostgreSQL dollar-quoted bodies; `::type` casts are left alone.
pub fn rewrite(sql: &str, style: Style) -> Result<Rewritten, UnknownParam> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut params: Vec<&'static str> = Vec::new();
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' | b'`' => i = skip_quoted(bytes, i, style == Style::Question),
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_until(bytes, i, b"\n"),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_until(bytes, i + 2, b"*/"),
            b'$' if style == Style::Dollar => i = skip_dollar_quoted(sql, i),
            b':' if bytes.get(i + 1) == Some(&b':') => i += 2,
            b':' if bytes
                .get(i + 1)
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') =>
            {
                let start = i + 1;
                let end = start
                    + bytes[start..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                        .count();
                let name = &sql[start..end];
                let known = KNOWN
                    .iter()
                    .find(|k| **k == name)
                    .ok_or_else(|| UnknownParam {
                        name: name.to_string(),
                        at: i,
                    })?;
                out.push_str(&sql[copied..i]);
                if style == Style::Question {
                    params.push(known);
                    out.push('?');
                } else {
                    let index = match params.iter().position(|p| p == known) {
                        Some(pos) => pos + 1,
                        None => {
                            params.push(known);
                            params.len()
                        }
                    };
                    out.push(if style == Style::Dollar { '$' } else { '?' });
                    out.push_str(&index.to_string());
                }
                copied = end;
                i = end;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied..]);
    Ok(Rewritten { sql: out, params })
}

/// Index just past a quoted run starting at `start`; doubled quotes escape,
/// and so does a backslash where MySQL reads it so.
fn skip_quoted(bytes: &[u8], start: usize, backslash: bool) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        if backslash && bytes[i] == b'\\' && quote != b'`' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn skip_until(bytes: &[u8], from: usize, end: &[u8]) -> usize {
    bytes[from.min(bytes.len())..]
        .windows(end.len())
        .position(|w| w == end)
        .map_or(bytes.len(), |p| from + p + end.len())
}

/// `$tag$ ... $tag$` bodies (PostgreSQL); a lone `$1` is not a quote.
fn skip_dollar_quoted(sql: &str, start: usize) -> usize {
    let bytes = sql.as_bytes();
    let tag_len = bytes[start + 1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    let close = start + 1 + tag_len;
    let is_tag = bytes.get(close) == Some(&b'$')
        && !bytes.get(start + 1).is_some_and(|b| b.is_ascii_digit());
    if !is_tag {
        return start + 1;
    }
    let tag = &bytes[start..=close];
    skip_until(bytes, close + 1, tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_become_positional_and_reuse_their_index() {
        let r = rewrite(
            "select * from t where a >= :window_start and a < :window_end or b = :window_start",
            Style::Dollar,
        )
        .unwrap();
        assert_eq!(r.sql, "select * from t where a >= $1 and a < $2 or b = $1");
        assert_eq!(r.params, vec!["window_start", "window_end"]);
        let r = rewrite("select :run_id", Style::QuestionNumbered).unwrap();
        assert_eq!(r.sql, "select ?1");
    }

    #[test]
    fn mysql_binds_each_use_and_knows_backslash_escapes() {
        let r = rewrite(
            "select 'it\\'s :run_id', :window_start, :run_id, :window_start",
            Style::Question,
        )
        .unwrap();
        assert_eq!(r.sql, "select 'it\\'s :run_id', ?, ?, ?");
        assert_eq!(r.params, vec!["window_start", "run_id", "window_start"]);
    }

    #[test]
    fn strings_comments_casts_and_dollar_quotes_are_left_alone() {
        let sql = "select ':run_id', \":x\", now()::date -- :nope\n/* :no */ $$ :body $$, :run_id";
        let r = rewrite(sql, Style::Dollar).unwrap();
        assert_eq!(
            r.sql,
            "select ':run_id', \":x\", now()::date -- :nope\n/* :no */ $$ :body $$, $1"
        );
        assert_eq!(r.params, vec!["run_id"]);
        let r = rewrite("select 'it''s :run_id' , :run_id", Style::Dollar).unwrap();
        assert_eq!(r.sql, "select 'it''s :run_id' , $1");
    }

    #[test]
    fn unknown_parameters_are_named() {
        let err = rewrite("select * from t where d = :day", Style::Dollar).unwrap_err();
        assert_eq!(err.name, "day");
        assert_eq!(err.at, 26);
        assert!(err.to_string().contains(":day"));
    }
}
