//! The email destination against aiosmtpd: plain, STARTTLS and TLS.

use std::sync::Once;

use cronport::export::destination::notice::{Notice, NoticeKind};

use crate::common::servers::Smtp;
use crate::{artifact, config_error, ctx, destination, slot};

const PASSWORD: &str = "smtp-pass-81d2ab";

fn env() {
    static ONCE: Once = Once::new();
    // SAFETY: set once, before any destination in this process reads them.
    ONCE.call_once(|| unsafe {
        std::env::set_var("CRONPORT_TEST_SMTP_USER", "reports");
        std::env::set_var("CRONPORT_TEST_SMTP_PASSWORD", PASSWORD);
    });
}

fn config(smtp: &Smtp, tls: &str, extra: &str) -> String {
    env();
    let host = if tls == "none" {
        "127.0.0.1"
    } else {
        "localhost"
    };
    let ca = smtp
        .certs
        .as_ref()
        .map(|c| format!("ca_file = \"{}\"\n", c.ca.display()))
        .unwrap_or_default();
    format!(
        "kind = \"email\"\nsmtp = \"smtp://{host}:{}\"\ntls = \"{tls}\"\n{ca}from = \"cronport@acme.example\"\nto = [\"ops@acme.example\"]\ncc = [\"Boss <boss@acme.example>\"]\nbcc = [\"audit@acme.example\"]\n{extra}",
        smtp.server.port
    )
}

#[tokio::test]
async fn the_export_arrives_attached_with_a_message_id_from_the_fire() {
    let smtp = Smtp::start("none", None);
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&smtp, "none", ""), dir.path());
    let (mut a, data) = artifact(dir.path(), "a.csv", 3000, 1);
    a.rows = 17;
    let location = dest.deliver(&a, &ctx("daily", 4, slot(0))).await.unwrap();
    assert!(location.contains("3 recipient(s)"), "{location}");
    // The same fire again (a retry): the same Message-ID, so mail systems
    // see one message.
    dest.deliver(&a, &ctx("daily", 5, slot(0))).await.unwrap();
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    let mail = &mails[0];
    assert_eq!(
        mail.header("Subject").unwrap(),
        "daily: export for 2026-03-08"
    );
    assert_eq!(
        mail.header("Message-ID").unwrap(),
        "<daily.20260308T020000.000Z.delivery@acme.example>"
    );
    assert_eq!(mails[1].header("Message-ID"), mail.header("Message-ID"));
    assert!(
        mail.header("Bcc").is_none(),
        "Bcc must not be in the headers"
    );
    assert_eq!(mail.envelope["mail_from"], "cronport@acme.example");
    assert_eq!(
        mail.envelope["rcpt_tos"],
        serde_json::json!([
            "ops@acme.example",
            "boss@acme.example",
            "audit@acme.example"
        ])
    );
    assert!(mail.body.contains("(17 rows) is attached"), "{}", mail.body);
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(mail.attachments[0].0, "daily_20260308_020000.csv");
    assert!(
        mail.attachments[0].1 == data,
        "the attachment differs from the export"
    );
}

#[tokio::test]
async fn starttls_with_a_login_and_a_private_ca() {
    let smtp = Smtp::start("starttls", Some(&format!("reports:{PASSWORD}")));
    let dir = tempfile::tempdir().unwrap();
    let body = config(
        &smtp,
        "starttls",
        "username_env = \"CRONPORT_TEST_SMTP_USER\"\npassword_env = \"CRONPORT_TEST_SMTP_PASSWORD\"",
    );
    let dest = destination(&body, dir.path());
    let detail = dest.check().await.unwrap();
    assert!(detail.contains("accepts connections"), "{detail}");
    let (a, data) = artifact(dir.path(), "a.csv", 500, 2);
    dest.deliver(&a, &ctx("secure", 1, slot(1))).await.unwrap();
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].envelope["tls"], true);
    assert_eq!(mails[0].envelope["authenticated"], true);
    assert!(mails[0].attachments[0].1 == data);
    assert!(!mails[0].raw.contains(PASSWORD));

    // Without the CA the self-signed chain is refused: nothing is sent.
    let untrusting = body.replace(
        &format!(
            "ca_file = \"{}\"\n",
            smtp.certs.as_ref().unwrap().ca.display()
        ),
        "",
    );
    let dest = destination(&untrusting, dir.path());
    let err = dest
        .deliver(&a, &ctx("secure", 2, slot(2)))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("send mail through smtp://localhost:"),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");
    assert_eq!(smtp.mails().len(), 1);

    // A wrong password is refused by the server.
    // SAFETY: a variable only this test reads.
    unsafe { std::env::set_var("CRONPORT_TEST_SMTP_WRONG", "not-the-password") };
    let wrong = body.replace("CRONPORT_TEST_SMTP_PASSWORD", "CRONPORT_TEST_SMTP_WRONG");
    let dest = destination(&wrong, dir.path());
    let err = dest
        .deliver(&a, &ctx("secure", 3, slot(3)))
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("not-the-password"), "{err}");
    assert_eq!(smtp.mails().len(), 1);
}

#[tokio::test]
async fn starttls_with_a_self_signed_certificate_given_as_ca_file() {
    let smtp = Smtp::start_self_signed("starttls", Some(&format!("reports:{PASSWORD}")));
    let dir = tempfile::tempdir().unwrap();
    let body = config(
        &smtp,
        "starttls",
        "username_env = \"CRONPORT_TEST_SMTP_USER\"\npassword_env = \"CRONPORT_TEST_SMTP_PASSWORD\"",
    );
    let dest = destination(&body, dir.path());
    let (a, data) = artifact(dir.path(), "a.csv", 700, 5);
    dest.deliver(&a, &ctx("selfsigned", 1, slot(1)))
        .await
        .unwrap();
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].envelope["tls"], true);
    assert_eq!(mails[0].envelope["authenticated"], true);
    assert!(mails[0].attachments[0].1 == data);
}

#[tokio::test]
async fn implicit_tls() {
    let smtp = Smtp::start("tls", None);
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&smtp, "tls", ""), dir.path());
    let (a, _) = artifact(dir.path(), "a.csv", 100, 3);
    dest.deliver(&a, &ctx("wrapped", 1, slot(0))).await.unwrap();
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].envelope["tls"], true);
}

#[tokio::test]
async fn a_large_export_is_linked_instead_of_attached() {
    let smtp = Smtp::start("none", None);
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&smtp, "none", "max_attachment_mb = 1"), dir.path());
    let (mut a, _) = artifact(dir.path(), "a.csv", 1_500_000, 4);
    let err = dest
        .deliver(&a, &ctx("big", 1, slot(0)))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("max_attachment_mb: the export is 1500000 bytes"),
        "{err}"
    );
    a.delivered = vec!["s3://exports/big/2026-03-08.csv".into()];
    dest.deliver(&a, &ctx("big", 1, slot(0))).await.unwrap();
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].attachments.is_empty());
    assert!(
        mails[0].body.contains("s3://exports/big/2026-03-08.csv"),
        "{}",
        mails[0].body
    );
    assert!(
        mails[0]
            .body
            .contains("too large to attach (1500000 bytes)")
    );
}

#[tokio::test]
async fn a_recovery_notice_says_how_many_runs_failed() {
    let smtp = Smtp::start("none", None);
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&smtp, "none", ""), dir.path());
    let notice = Notice {
        event: NoticeKind::Recovery,
        job: "nightly".into(),
        run_id: 30,
        fire_id: "nightly@20260310T020000.000Z".into(),
        status: "succeeded".into(),
        scheduled_for: slot(2),
        rows: Some(5),
        bytes: Some(80),
        file: None,
        outputs: vec![],
        error: None,
        failed_runs: Some(3),
    };
    dest.notify(&notice).await.unwrap();
    let mail = &smtp.mails()[0];
    assert_eq!(
        mail.header("Subject").unwrap(),
        "[cronport] nightly: recovery"
    );
    assert_eq!(
        mail.header("Message-ID").unwrap(),
        "<nightly.20260310T020000.000Z.recovery@acme.example>"
    );
    assert!(
        mail.body
            .contains("recovered (run 30, 2026-03-10 02:00 UTC) after 3 failed run(s)"),
        "{}",
        mail.body
    );
}

#[test]
fn bad_settings_name_the_key() {
    let base = "kind = \"email\"\nsmtp = \"smtp://mail:25\"\nfrom = \"a@b.example\"\n";
    for (extra, expected) in [
        ("", "destinations.d.to: names no recipient"),
        (
            "to = [\"not an address\"]",
            "destinations.d.to: \"not an address\" is not an address",
        ),
        (
            "to = [\"x@y.example\"]\nsubject = \"{job} {password}\"",
            "destinations.d.subject: unknown placeholder {password}",
        ),
        (
            "to = [\"x@y.example\"]\ntls = \"ssl3\"",
            "unknown variant `ssl3`",
        ),
        (
            "to = [\"x@y.example\"]\nusername_env = \"U\"",
            "destinations.d.password_env: give username_env with",
        ),
        (
            "to = [\"x@y.example\"]\nmax_attachment_mb = 0",
            "destinations.d.max_attachment_mb: must be at least 1",
        ),
    ] {
        let err = config_error(&format!("{base}{extra}"));
        assert!(err.contains(expected), "{extra}\n-> {err}");
    }
    let err = config_error(
        "kind = \"email\"\nsmtp = \"smtp://u:p@mail:25\"\nfrom = \"a@b.example\"\nto = [\"x@y.example\"]",
    );
    assert!(
        err.contains("destinations.d.smtp: put no login in the URL"),
        "{err}"
    );
}
