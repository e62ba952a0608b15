//! The terminal console: panels over the store and the scheduler's events,
//! keys through one keymap, edits through the job form.
//!
//! Messages flow one way: keys, scheduler events, store answers and ticks
//! become [`model::Msg`]s; [`model::Model::update`] changes the state and
//! returns [`model::Effect`]s (store reads, scheduler requests) that the
//! [`runtime`] carries out in tasks, whose answers come back as messages.
//! [`view::render`] draws a `&Model` and nothing else.

pub mod actions;
pub mod backfill;
pub mod command_line;
pub mod data;
mod effects;
pub mod form;
pub mod keymap;
pub mod loader;
pub mod log_buffer;
pub mod message;
pub mod model;
pub mod performance;
pub mod runtime;
pub mod strip;
pub mod takeover;
mod terminal;
mod update;
pub mod view;

pub use runtime::{Setup, Start, run};

#[cfg(test)]
mod tests;
