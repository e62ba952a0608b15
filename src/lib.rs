//! cronport: scheduled exports, operated from the terminal.
