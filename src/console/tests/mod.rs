//! The console without a terminal: fixtures at a pinned clock, drawn on
//! ratatui's test backend and compared with stored snapshots (insta), and
//! the model driven key by key.

mod backfill;
mod catchup;
mod fixtures;
mod friction;
mod held;
mod keys;
mod performance;
mod rules;
mod snapshots;
mod takeover;
mod unchanged;
