//! cronport: scheduled exports, operated from the terminal.

pub mod store;
