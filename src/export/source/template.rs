//! `{{placeholders}}` in file templates, filled from the run and from a
//! query's first row. An unknown name is an error, never an empty string.

use std::collections::BTreeMap;

use super::SourceError;
use crate::export::RunContext;

/// How values are escaped for the document they land in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// SVG, HTML: `<`, `&` and quotes become entities.
    Xml,
    /// Inside a JSON string: quotes, backslashes and controls escaped.
    Json,
    /// As is.
    None,
}

/// The values a run offers to templates.
pub fn run_values(ctx: &RunContext) -> BTreeMap<String, String> {
    let local = ctx.scheduled_for.with_timezone(&ctx.timezone);
    BTreeMap::from([
        ("job".to_string(), ctx.job.clone()),
        ("run_id".to_string(), ctx.run_id.to_string()),
        ("attempt".to_string(), ctx.attempt.to_string()),
        ("scheduled_for".to_string(), ctx.scheduled_for.to_rfc3339()),
        ("window_start".to_string(), ctx.window_start.to_rfc3339()),
        ("window_end".to_string(), ctx.window_end.to_rfc3339()),
        ("date".to_string(), local.format("%Y-%m-%d").to_string()),
        ("time".to_string(), local.format("%H:%M").to_string()),
    ])
}

fn escape(value: &str, how: Escape, out: &mut String) {
    match how {
        Escape::None => out.push_str(value),
        Escape::Xml => {
            for c in value.chars() {
                match c {
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '&' => out.push_str("&amp;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&apos;"),
                    c => out.push(c),
                }
            }
        }
        Escape::Json => {
            let quoted = serde_json::Value::String(value.to_string()).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        }
    }
}

/// Replace every `{{ name }}` in `text`; `what` names the file in errors.
pub fn fill(
    text: &str,
    values: &BTreeMap<String, String>,
    how: Escape,
    what: &str,
) -> Result<String, SourceError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            SourceError::Template(format!(
                "{what}: a {{{{ at byte {} is never closed",
                text.len() - rest.len() + open
            ))
        })?;
        let name = after[..close].trim();
        let value = values.get(name).ok_or_else(|| {
            SourceError::Template(format!(
                "{what}: unknown placeholder {{{{{name}}}}}; known: {}",
                values.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        escape(value, how, &mut out);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_escapes_and_refuses_unknown_names() {
        let values = BTreeMap::from([("n".to_string(), "<1 & 2>".to_string())]);
        assert_eq!(
            fill("a {{n}} b {{ n }}", &values, Escape::Xml, "t").unwrap(),
            "a &lt;1 &amp; 2&gt; b &lt;1 &amp; 2&gt;"
        );
        assert_eq!(
            fill("\"{{n}}\"", &values, Escape::Json, "t").unwrap(),
            "\"<1 & 2>\""
        );
        let err = fill("{{missing}}", &values, Escape::None, "t.svg")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown placeholder {{missing}}") && err.contains("known: n"),
            "{err}"
        );
        let err = fill("{{n", &values, Escape::None, "t.svg")
            .unwrap_err()
            .to_string();
        assert!(err.contains("never closed"), "{err}");
    }
}
