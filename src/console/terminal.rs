//! The terminal: raw mode and the alternate screen while the console runs,
//! restored on every way out. ratatui's `try_init` installs a panic hook
//! that restores the terminal before the panic message prints; the guard's
//! `Drop` covers normal returns and errors.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the panic hook: the terminal has been restored for the panic
/// message, so the console must not draw again.
static PANICKED: AtomicBool = AtomicBool::new(false);

/// Whether anything in the process panicked while the console was open.
pub fn panicked() -> bool {
    PANICKED.load(Ordering::Relaxed)
}
use std::time::Duration;

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event};
use tokio::sync::mpsc;

use super::model::{Model, Msg};

/// Owns the terminal while the console is open.
pub struct TerminalGuard {
    terminal: DefaultTerminal,
    input_stop: Arc<AtomicBool>,
}

impl TerminalGuard {
    /// Raw mode, alternate screen, panic hook; keys and resizes are sent
    /// to `to_app` from a reader thread.
    pub fn enter(to_app: mpsc::Sender<Msg>) -> io::Result<TerminalGuard> {
        let terminal = ratatui::try_init()?;
        // ratatui's hook restores the terminal and prints the panic; a
        // panic in a task leaves the loop running, so it is told to stop.
        let restore_and_report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::Relaxed);
            restore_and_report(info);
        }));
        let input_stop = Arc::new(AtomicBool::new(false));
        let stop = input_stop.clone();
        std::thread::Builder::new()
            .name("console-input".into())
            .spawn(move || read_input(&to_app, &stop))?;
        Ok(TerminalGuard {
            terminal,
            input_stop,
        })
    }

    /// Draw the model.
    pub fn draw(&mut self, model: &Model) -> io::Result<()> {
        self.terminal
            .draw(|frame| super::view::render(model, frame))?;
        Ok(())
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        self.input_stop.store(true, Ordering::Relaxed);
        let _ = self.terminal.show_cursor();
        ratatui::restore();
    }
}

/// Blocking reads of terminal input, on their own thread; it checks every
/// 100 ms whether the console has closed.
fn read_input(to_app: &mpsc::Sender<Msg>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match event::poll(Duration::from_millis(100)) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(_) => return,
        }
        let msg = match event::read() {
            Ok(Event::Key(key)) => Msg::Key(key),
            Ok(Event::Resize(..)) => Msg::Resize,
            Ok(_) => continue,
            Err(_) => return,
        };
        if to_app.blocking_send(msg).is_err() {
            return;
        }
    }
}
