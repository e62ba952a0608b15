//! The console without a terminal: fixtures at a pinned clock, drawn on
//! ratatui's test backend and compared with stored snapshots (insta), and
//! the model driven key by key.

mod backfill;
mod catchup;
mod fixtures;
mod keys;
mod rules;
mod snapshots;
mod takeover;
mod unchanged;
