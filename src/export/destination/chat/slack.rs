//! A notice as a Slack message (Block Kit, for an incoming webhook): a
//! `text` fallback (what notifications and old clients show) and `blocks`:
//! a header, the facts as mrkdwn fields, the error, where the file went,
//! and a context line with the slot and the time sent in each reader's own
//! zone (`<!date^...>`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Tone, cut, error_label, facts, headline, outputs, utc};
use crate::export::destination::notice::Notice;

/// Block Kit limits (docs.slack.dev, "Blocks"): a header's text, a
/// section's text, a field's text, the number of fields.
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const FIELDS_MAX: usize = 10;

/// The JSON body to POST.
pub fn message(notice: &Notice, sent_at: DateTime<Utc>) -> Value {
    let (tone, title) = headline(notice);
    let emoji = match tone {
        Tone::Good => ":white_check_mark:",
        Tone::Warning => ":warning:",
        Tone::Bad => ":x:",
    };
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&format!("{emoji} {title}"), HEADER_MAX), "emoji": true},
    })];
    let fields: Vec<Value> = facts(notice)
        .into_iter()
        .take(FIELDS_MAX)
        .map(|(label, value)| {
            json!({"type": "mrkdwn", "text": cut(&format!("*{label}*\n{}", escape(&value)), FIELD_MAX)})
        })
        .collect();
    blocks.push(json!({"type": "section", "fields": fields}));
    if let Some(error) = &notice.error {
        // Room for the label and the fence around the text.
        let text = cut(&code(error), SECTION_MAX - 40);
        blocks.push(section(&format!("*{}*\n```{text}```", error_label(notice))));
    }
    let (shown, more) = outputs(notice);
    if !shown.is_empty() {
        let mut lines: Vec<String> = shown.iter().map(|o| format!("• {}", escape(o))).collect();
        if more > 0 {
            lines.push(format!("and {more} more"));
        }
        blocks.push(section(&cut(
            &format!("*Delivered to*\n{}", lines.join("\n")),
            SECTION_MAX,
        )));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            "text": format!(
                "cronport · slot {} · sent {} · {}",
                date(notice.scheduled_for),
                date(sent_at),
                escape(&notice.fire_id)
            ),
        }],
    }));
    json!({"text": escape(&notice.summary()), "blocks": blocks})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// A time Slack shows in the reader's zone, with the UTC time for clients
/// that cannot (the text after `|`).
fn date(at: DateTime<Utc>) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time_secs}}|{}>",
        at.timestamp(),
        utc(at)
    )
}

/// mrkdwn's control characters (docs.slack.dev, "Formatting text"): `<`
/// starts a link or mention, `&` an entity. Without this an error message
/// holding `<!channel>` would ping a whole channel.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text for inside a ``` fence: escaped, and a fence inside cannot end it.
fn code(text: &str) -> String {
    escape(text).replace("```", "'''")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_fences_in_an_error_stay_text() {
        let escaped = code("<!channel> a & b ```x```");
        assert_eq!(escaped, "&lt;!channel&gt; a &amp; b '''x'''");
    }

    #[test]
    fn a_date_is_shown_in_the_readers_zone_with_a_utc_fallback() {
        use chrono::TimeZone as _;
        let at = Utc.with_ymd_and_hms(2026, 3, 8, 2, 0, 0).unwrap();
        assert_eq!(
            date(at),
            "<!date^1772935200^{date_short_pretty} {time_secs}|2026-03-08 02:00:00 UTC>"
        );
    }
}
