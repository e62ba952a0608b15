//! The real console in a tmux pane: keys sent with `send-keys`, the screen
//! read with `capture-pane`. A tmux server of its own per test (its own
//! socket), killed when dropped. Needs tmux (`scripts/test.sh` installs it).

use std::process::Command;
use std::time::{Duration, Instant};

use super::process::{BIN, Sandbox, random_suffix};

/// A tmux server running one session.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A `width` x `height` session running the shell `command`.
    pub fn start(command: &str, width: u16, height: u16) -> Tmux {
        let socket = format!("cronport-test-{}-{}", std::process::id(), random_suffix());
        let tmux = Tmux { socket };
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "console",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            command,
        ]);
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run tmux ({e}); scripts/test.sh installs it"));
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Keys as tmux names them: "p", "Tab", "Enter".
    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.run(&["send-keys", "-t", "console", key]);
            // One key at a time: a key right after Esc would read as Alt.
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// Text typed as it is (`send-keys -l`), not read as key names.
    pub fn text(&self, text: &str) {
        self.run(&["send-keys", "-t", "console", "-l", text]);
        std::thread::sleep(Duration::from_millis(60));
    }

    /// What the pane shows.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "console"])
    }

    /// Wait until the screen passes `check`; panic with the screen after
    /// `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {limit:?} waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait until the screen shows `text`.
    pub fn wait_text(&self, text: &str, limit: Duration) -> String {
        self.wait_for(&format!("{text:?}"), limit, |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// The console on the sandbox's config and store, in a shell that then
/// says how it exited and whether the terminal is back in canonical
/// (cooked) mode.
pub fn console_command(sandbox: &Sandbox) -> String {
    let path = sandbox.path().display();
    format!(
        "cd {path} && env HOME={path} XDG_DATA_HOME={path}/xdg-data XDG_CONFIG_HOME={path}/xdg-config \
         NO_COLOR=1 {BIN} --config {config} --store {store}; \
         echo \"exited $?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'; sleep 600",
        config = sandbox.config_path().display(),
        store = sandbox.store,
    )
}
