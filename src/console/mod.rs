//! The terminal console. This branch carries only the job edit form; the
//! dashboard lives on its own branch and is merged beside it.

pub mod form;
