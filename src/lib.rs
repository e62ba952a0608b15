//! cronport: scheduled exports, operated from the terminal.
//!
//! Data flows one way: [`config`] and [`store`] feed the [`scheduler`], which
//! runs the [`export`] pipeline (source -> format -> destination) and
//! publishes [`events`] to whoever watches ([`headless`] output, the console).

pub mod audit;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod console;
pub mod control;
pub mod destinations;
pub mod events;
pub mod export;
pub mod headless;
pub mod health;
pub mod job;
pub mod logging;
pub mod metrics;
pub mod schedule;
pub mod scheduler;
pub mod sdnotify;
pub mod store;
