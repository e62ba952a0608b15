//! A notice as a Microsoft Teams message for a workflow webhook ("When a
//! Teams webhook request is received", Power Automate): an Adaptive Card
//! 1.4 inside a message attachment, with a coloured title, the facts as a
//! FactSet, the error, where the file went, and a line with the slot and
//! the time sent in each reader's own zone (`{{DATE()}}`, `{{TIME()}}`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Tone, cut, error_label, facts, headline, outputs};
use crate::export::destination::notice::Notice;

/// The attachment's content type for an Adaptive Card.
pub const CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";
/// The card schema version: the newest that Teams renders everywhere.
pub const VERSION: &str = "1.4";
/// Teams refuses messages over about 28 KB; an error is cut well below.
const ERROR_MAX: usize = 4000;

/// The JSON body to POST.
pub fn message(notice: &Notice, sent_at: DateTime<Utc>) -> Value {
    let (tone, title) = headline(notice);
    let color = match tone {
        Tone::Good => "Good",
        Tone::Warning => "Warning",
        Tone::Bad => "Attention",
    };
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": title,
        "size": "Large",
        "weight": "Bolder",
        "color": color,
        "wrap": true,
    })];
    let facts: Vec<Value> = facts(notice)
        .into_iter()
        .map(|(title, value)| json!({"title": title, "value": value}))
        .collect();
    body.push(json!({"type": "FactSet", "facts": facts}));
    if let Some(error) = &notice.error {
        body.push(label(error_label(notice)));
        body.push(json!({
            "type": "TextBlock",
            "text": cut(error, ERROR_MAX),
            "fontType": "Monospace",
            "wrap": true,
        }));
    }
    let (shown, more) = outputs(notice);
    if !shown.is_empty() {
        body.push(label("Delivered to"));
        let mut lines: Vec<String> = shown.iter().map(|o| format!("- {o}")).collect();
        if more > 0 {
            lines.push(format!("and {more} more"));
        }
        body.push(json!({"type": "TextBlock", "text": lines.join("\n"), "wrap": true}));
    }
    body.push(json!({
        "type": "TextBlock",
        "text": format!(
            "cronport · slot {} · sent {} · {}",
            date(notice.scheduled_for),
            date(sent_at),
            notice.fire_id
        ),
        "isSubtle": true,
        "size": "Small",
        "wrap": true,
    }));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": CONTENT_TYPE,
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": VERSION,
                "fallbackText": notice.summary(),
                "body": body,
                "msteams": {"width": "Full"},
            },
        }],
    })
}

fn label(text: &str) -> Value {
    json!({"type": "TextBlock", "text": text, "weight": "Bolder", "wrap": true})
}

/// A time Teams shows in the reader's zone and language (the card's DATE
/// and TIME functions take RFC 3339 in UTC, without fractions).
fn date(at: DateTime<Utc>) -> String {
    let at = at.format("%Y-%m-%dT%H:%M:%SZ");
    format!("{{{{DATE({at}, SHORT)}}}} {{{{TIME({at})}}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_uses_the_card_functions() {
        use chrono::TimeZone as _;
        let at = Utc.with_ymd_and_hms(2026, 3, 8, 2, 0, 0).unwrap();
        assert_eq!(
            date(at),
            "{{DATE(2026-03-08T02:00:00Z, SHORT)}} {{TIME(2026-03-08T02:00:00Z)}}"
        );
    }
}
