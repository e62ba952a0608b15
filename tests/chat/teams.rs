//! Teams: an Adaptive Card inside a message attachment, field by field.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::common::servers::Webhook;
use crate::{card, chat, notice, send_three};
use cronport::export::destination::notice::NoticeKind;

fn facts(block: &Value) -> Vec<(String, String)> {
    assert_eq!(block["type"], "FactSet", "{block}");
    block["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_string(),
                f["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn teams_notices_are_adaptive_cards_in_a_message_attachment() {
    let hook = Webhook::start(&[]);
    let dest = chat("teams", "ops-teams", &hook, "");
    let (requests, before, after) = send_three(&dest, &hook).await;
    let slot_time = "{{DATE(2026-03-08T02:00:00Z, SHORT)}} {{TIME(2026-03-08T02:00:00Z)}}";

    // Failure.
    let m = requests[0].json();
    let c = card(&m);
    assert_eq!(c["fallbackText"], notice(NoticeKind::Failure).summary());
    let body = c["body"].as_array().unwrap();
    assert_eq!(body.len(), 5, "{c}");
    assert_eq!(
        body[0],
        json!({"type": "TextBlock", "text": "nightly failed", "size": "Large",
               "weight": "Bolder", "color": "Attention", "wrap": true})
    );
    assert_eq!(
        facts(&body[1]),
        pairs(&[
            ("Job", "nightly"),
            ("Run", "12"),
            ("Status", "failed"),
            ("Slot", "2026-03-08 02:00:00 UTC")
        ])
    );
    assert_eq!(
        body[2],
        json!({"type": "TextBlock", "text": "Error", "weight": "Bolder", "wrap": true})
    );
    assert_eq!(
        body[3],
        json!({"type": "TextBlock", "text": "source: <!channel> psql & co exited 2\n```boom```",
               "fontType": "Monospace", "wrap": true})
    );
    assert_eq!(body[4]["type"], "TextBlock");
    assert_eq!(body[4]["isSubtle"], true);
    let line = body[4]["text"].as_str().unwrap();
    assert!(
        line.starts_with(&format!("cronport · slot {slot_time} · sent {{{{DATE(")),
        "{line}"
    );
    assert!(line.ends_with(" · nightly@20260308T020000.000Z"), "{line}");
    let sent = &line[line.find("sent {{DATE(").unwrap() + "sent {{DATE(".len()..];
    let sent: DateTime<Utc> = sent[..sent.find(',').unwrap()].parse().unwrap();
    assert!(
        before <= sent.timestamp() && sent.timestamp() <= after,
        "{sent} not in {before}..{after}"
    );

    // Recovery.
    let m = requests[1].json();
    let c = card(&m);
    assert_eq!(c["fallbackText"], notice(NoticeKind::Recovery).summary());
    let body = c["body"].as_array().unwrap();
    assert_eq!(body[0]["text"], "nightly recovered after 3 failed run(s)");
    assert_eq!(body[0]["color"], "Good");
    assert_eq!(
        facts(&body[1]),
        pairs(&[
            ("Job", "nightly"),
            ("Run", "12"),
            ("Status", "succeeded"),
            ("Slot", "2026-03-08 02:00:00 UTC"),
            ("Rows", "42"),
            ("Bytes", "1234"),
            ("Failed runs", "3")
        ])
    );
    assert_eq!(body[2]["text"], "Delivered to");
    assert_eq!(
        body[3],
        json!({"type": "TextBlock", "text": "- s3://acme/nightly/2026-03-08.csv\n- /srv/exports/nightly.csv", "wrap": true})
    );
    assert_eq!(body.len(), 5, "{c}");

    // Late.
    let m = requests[2].json();
    let c = card(&m);
    let body = c["body"].as_array().unwrap();
    assert_eq!(body[0]["text"], "nightly is late");
    assert_eq!(body[0]["color"], "Warning");
    assert_eq!(facts(&body[1])[2], pairs(&[("Status", "queued")])[0]);
    assert_eq!(body[2]["text"], "Detail");
    assert_eq!(
        body[3]["text"],
        "has not started 10m after its time (alert_if_late = 10m)"
    );
}
