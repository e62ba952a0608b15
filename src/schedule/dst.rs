//! The per-job daylight-saving policy: what a slot does in a spring-forward
//! gap (its wall time never happens) and in a fall-back overlap (it happens
//! twice). PRODUCT.md section 2 gives the defaults by kind of expression.

use serde::{Deserialize, Serialize};

/// A slot whose local time falls in a spring-forward gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DstGap {
    /// Runs once, at the first instant after the gap (fixed-time default).
    After,
    /// Does not run (wildcard-hour default: there is no such time).
    Skip,
}

/// A slot whose local time happens twice in a fall-back overlap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DstOverlap {
    /// Runs at the first occurrence only (fixed-time default).
    First,
    /// Runs at both (wildcard-hour default: real-time spacing is kept).
    Both,
    /// Runs at the second occurrence only.
    Last,
}

/// `dst = { gap = "...", overlap = "..." }` as written; a missing key takes
/// the default of the schedule's kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DstSpec {
    /// In a spring-forward gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<DstGap>,
    /// In a fall-back overlap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap: Option<DstOverlap>,
}

impl DstGap {
    /// The word used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            DstGap::After => "after",
            DstGap::Skip => "skip",
        }
    }
}

impl DstOverlap {
    /// The word used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            DstOverlap::First => "first",
            DstOverlap::Both => "both",
            DstOverlap::Last => "last",
        }
    }
}

/// The defaults of PRODUCT.md section 2: a fixed-time expression runs once
/// in a gap (after it) and once in an overlap (the first time); a
/// wildcard-hour expression has no fires in a gap and fires in both passes.
pub(crate) fn defaults(fixed_time: bool) -> (DstGap, DstOverlap) {
    if fixed_time {
        (DstGap::After, DstOverlap::First)
    } else {
        (DstGap::Skip, DstOverlap::Both)
    }
}
