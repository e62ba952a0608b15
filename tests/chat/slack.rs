//! Slack: a Block Kit message with a `text` fallback, field by field.

use serde_json::{Value, json};

use crate::common::servers::Webhook;
use crate::{SLOT_UNIX, chat, notice, send_three};
use cronport::export::destination::notice::NoticeKind;

/// The Unix time in a `<!date^SECONDS^...>` after `marker` in `text`.
fn slack_time_after(text: &str, marker: &str) -> i64 {
    let rest = &text[text.find(marker).unwrap_or_else(|| panic!("{text}")) + marker.len()..];
    let rest = rest
        .strip_prefix("<!date^")
        .unwrap_or_else(|| panic!("{text}"));
    rest[..rest.find('^').unwrap()].parse().unwrap()
}

fn mrkdwn_fields(block: &Value) -> Vec<String> {
    assert_eq!(block["type"], "section", "{block}");
    block["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["type"], "mrkdwn", "{f}");
            f["text"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn slack_notices_are_block_kit_messages_with_a_text_fallback() {
    let hook = Webhook::start(&[]);
    let dest = chat("slack", "ops-slack", &hook, "");
    let (requests, before, after) = send_three(&dest, &hook).await;
    let slot_date =
        format!("<!date^{SLOT_UNIX}^{{date_short_pretty}} {{time_secs}}|2026-03-08 02:00:00 UTC>");

    // Failure.
    let m = requests[0].json();
    let summary = notice(NoticeKind::Failure).summary();
    assert_eq!(
        m["text"],
        summary
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    let blocks = m["blocks"].as_array().unwrap();
    let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["header", "section", "section", "context"], "{m}");
    assert_eq!(
        blocks[0]["text"],
        json!({"type": "plain_text", "text": ":x: nightly failed", "emoji": true})
    );
    assert_eq!(
        mrkdwn_fields(&blocks[1]),
        [
            "*Job*\nnightly",
            "*Run*\n12",
            "*Status*\nfailed",
            "*Slot*\n2026-03-08 02:00:00 UTC"
        ]
    );
    // A mention in an error stays text; a fence in it cannot end the block.
    assert_eq!(
        blocks[2]["text"],
        json!({"type": "mrkdwn", "text": "*Error*\n```source: &lt;!channel&gt; psql &amp; co exited 2\n'''boom'''```"})
    );
    let context = &blocks[3]["elements"];
    assert_eq!(context.as_array().unwrap().len(), 1);
    assert_eq!(context[0]["type"], "mrkdwn");
    let line = context[0]["text"].as_str().unwrap();
    assert!(
        line.starts_with(&format!("cronport · slot {slot_date} · sent <!date^")),
        "{line}"
    );
    assert!(line.ends_with(" · nightly@20260308T020000.000Z"), "{line}");
    let sent = slack_time_after(line, "sent ");
    assert!(
        before <= sent && sent <= after,
        "{sent} not in {before}..{after}"
    );

    // Recovery: counts, where the file went, no error block.
    let m = requests[1].json();
    assert_eq!(m["text"], notice(NoticeKind::Recovery).summary());
    let blocks = m["blocks"].as_array().unwrap();
    let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["header", "section", "section", "context"], "{m}");
    assert_eq!(
        blocks[0]["text"]["text"],
        ":white_check_mark: nightly recovered after 3 failed run(s)"
    );
    assert_eq!(
        mrkdwn_fields(&blocks[1]),
        [
            "*Job*\nnightly",
            "*Run*\n12",
            "*Status*\nsucceeded",
            "*Slot*\n2026-03-08 02:00:00 UTC",
            "*Rows*\n42",
            "*Bytes*\n1234",
            "*Failed runs*\n3"
        ]
    );
    assert_eq!(
        blocks[2]["text"],
        json!({"type": "mrkdwn", "text": "*Delivered to*\n• s3://acme/nightly/2026-03-08.csv\n• /srv/exports/nightly.csv"})
    );

    // Late: a warning, how late as the detail.
    let m = requests[2].json();
    assert_eq!(m["text"], notice(NoticeKind::Late).summary());
    let blocks = m["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["text"]["text"], ":warning: nightly is late");
    assert_eq!(mrkdwn_fields(&blocks[1])[2], "*Status*\nqueued");
    assert_eq!(
        blocks[2]["text"]["text"],
        "*Detail*\n```has not started 10m after its time (alert_if_late = 10m)```"
    );
    assert_eq!(blocks[3]["type"], "context");
}
