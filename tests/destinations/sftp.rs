//! The sftp destination against OpenSSH's sshd.

use std::os::unix::fs::MetadataExt as _;

use crate::common::servers::Sshd;
use crate::{artifact, config_error, ctx, destination, slot};

fn config(sshd: &Sshd, extra: &str) -> String {
    format!(
        "kind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nkey_file = \"{}\"\nroot = \"{}\"\npath = \"inbox/{{job}}_{{date:%Y%m%d}}.{{ext}}\"\ntimeout = \"10s\"\n{extra}",
        sshd.server.port,
        sshd.user,
        sshd.user_key.display(),
        sshd.upload_dir().display(),
    )
}

fn known_hosts(sshd: &Sshd) -> String {
    format!("known_hosts = \"{}\"", sshd.known_hosts.display())
}

#[tokio::test]
async fn uploads_under_a_temporary_name_then_renames_and_does_not_repeat_a_fire() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&sshd, &known_hosts(&sshd)), dir.path());
    let (a, data) = artifact(dir.path(), "a.csv", 600_000, 1);
    let location = dest.deliver(&a, &ctx("partner", 1, slot(0))).await.unwrap();
    let file = sshd.upload_dir().join("inbox/partner_20260308.csv");
    assert_eq!(
        location,
        format!(
            "sftp://{}@127.0.0.1:{}/{}",
            sshd.user,
            sshd.server.port,
            file.display().to_string().trim_start_matches('/')
        )
    );
    assert!(std::fs::read(&file).unwrap() == data);
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(
        meta.mtime(),
        slot(0).timestamp(),
        "the file carries its slot"
    );
    // No temporary file is left next to it.
    let names: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["partner_20260308.csv"]);

    // The same fire again: left alone, even though the new render differs.
    let (b, _) = artifact(dir.path(), "b.csv", 1000, 2);
    dest.deliver(&b, &ctx("partner", 2, slot(0))).await.unwrap();
    assert!(std::fs::read(&file).unwrap() == data);
    // Another fire for the same day replaces it whole.
    let later = slot(0) + chrono::Duration::hours(5);
    dest.deliver(&b, &ctx("partner", 3, later)).await.unwrap();
    assert_eq!(std::fs::read(&file).unwrap().len(), 1000);
    assert_eq!(std::fs::metadata(&file).unwrap().mtime(), later.timestamp());

    dest.retract(&location).await.unwrap();
    assert!(!file.exists());
    let detail = dest.check().await.unwrap();
    assert!(detail.contains("is writable"), "{detail}");
    assert_eq!(
        std::fs::read_dir(sshd.upload_dir()).unwrap().count(),
        1,
        "probe left behind"
    );
}

#[tokio::test]
async fn a_changed_or_unknown_host_key_is_refused() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = artifact(dir.path(), "a.csv", 100, 1);

    // known_hosts lists another key for this host and port: a changed key.
    let other = dir.path().join("other");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut fields = other_pub.split_whitespace();
    let changed = dir.path().join("changed_known_hosts");
    std::fs::write(
        &changed,
        format!(
            "[127.0.0.1]:{} {} {}\n",
            sshd.server.port,
            fields.next().unwrap(),
            fields.next().unwrap()
        ),
    )
    .unwrap();
    let dest = destination(
        &config(&sshd, &format!("known_hosts = \"{}\"", changed.display())),
        dir.path(),
    );
    let err = dest
        .deliver(&a, &ctx("p", 1, slot(0)))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("HOST KEY CHANGED"), "{err}");
    assert!(err.contains(&sshd.fingerprint), "{err}");

    // known_hosts without this server: unknown.
    let empty = dir.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let dest = destination(
        &config(&sshd, &format!("known_hosts = \"{}\"", empty.display())),
        dir.path(),
    );
    let err = dest.check().await.unwrap_err().to_string();
    assert!(err.contains("is not in"), "{err}");

    // A pinned fingerprint is explicit trust.
    let dest = destination(
        &config(
            &sshd,
            &format!("host_key_fingerprint = \"{}\"", sshd.fingerprint),
        ),
        dir.path(),
    );
    dest.deliver(&a, &ctx("p", 1, slot(0))).await.unwrap();
    let dest = destination(
        &config(
            &sshd,
            "host_key_fingerprint = \"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
        ),
        dir.path(),
    );
    let err = dest.check().await.unwrap_err().to_string();
    assert!(err.contains("is not the pinned"), "{err}");
    assert_eq!(
        std::fs::read_dir(sshd.upload_dir().join("inbox"))
            .unwrap()
            .count(),
        1
    );
}

#[tokio::test]
async fn a_key_the_server_does_not_know_is_refused() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let stranger = dir.path().join("stranger");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .unwrap();
    let body = config(&sshd, &known_hosts(&sshd)).replace(
        &sshd.user_key.display().to_string(),
        &stranger.display().to_string(),
    );
    let err = destination(&body, dir.path())
        .check()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("the server refused the key"), "{err}");
}

#[test]
fn bad_settings_name_the_key() {
    let base = "kind = \"sftp\"\nhost = \"h\"\nuser = \"u\"\nkey_file = \"/k\"\n";
    let err = config_error("kind = \"sftp\"\nhost = \"h\"\nuser = \"u\"\nknown_hosts = \"/kh\"");
    assert!(
        err.contains("destinations.d.key_file: is missing (or set agent = true)"),
        "{err}"
    );
    for (extra, expected) in [
        ("", "destinations.d.known_hosts: is missing"),
        (
            "known_hosts = \"/kh\"\nagent = true",
            "destinations.d.agent: give key_file or agent = true, not both",
        ),
        (
            "known_hosts = \"/kh\"\nhost_key_fingerprint = \"SHA256:x\"",
            "destinations.d.host_key_fingerprint: give known_hosts or",
        ),
        (
            "host_key_fingerprint = \"MD5:aa\"",
            "destinations.d.host_key_fingerprint: must start with SHA256:",
        ),
        (
            "known_hosts = \"/kh\"\nport = 0",
            "destinations.d.port: must be 1 to 65535",
        ),
        (
            "known_hosts = \"/kh\"\npath = \"/abs/{job}\"",
            "destinations.d.path:",
        ),
        (
            "known_hosts = \"/kh\"\npassword = \"x\"",
            "unknown field `password`",
        ),
    ] {
        let err = config_error(&format!("{base}{extra}"));
        assert!(err.contains(expected), "{extra}\n-> {err}");
    }
}

#[tokio::test]
async fn logs_in_with_the_keys_of_an_ssh_agent() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !socket.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "ssh-agent did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let added = std::process::Command::new("ssh-add")
        .arg(&sshd.user_key)
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let body = config(&sshd, &known_hosts(&sshd)).replace(
        &format!("key_file = \"{}\"\n", sshd.user_key.display()),
        &format!("agent = true\nagent_socket = \"{}\"\n", socket.display()),
    );
    assert!(body.contains("agent = true"), "{body}");
    let dest = destination(&body, dir.path());
    let (a, data) = artifact(dir.path(), "a.csv", 300, 4);
    dest.deliver(&a, &ctx("agent-job", 1, slot(0)))
        .await
        .unwrap();
    let file = sshd.upload_dir().join("inbox/agent-job_20260308.csv");
    assert!(std::fs::read(file).unwrap() == data);
    let _ = agent.kill();
    let _ = agent.wait();
}
