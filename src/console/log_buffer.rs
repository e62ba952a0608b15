//! The live log's lines: a bounded ring buffer. A burst of lines pushes the
//! oldest out; nothing grows without bound, and drawing looks only at the
//! lines on screen.

use std::collections::VecDeque;

use crate::events::{Level, LogEvent};

/// Lines the live log keeps (as many as one run may store).
pub const LIVE_CAPACITY: usize = 10_000;

/// Which lines the log panel shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFilter {
    /// Lines below this level are hidden.
    pub min_level: Level,
    /// Only this job's lines.
    pub job: Option<String>,
    /// Only lines containing this (lowercase) text.
    pub text: String,
}

impl Default for LogFilter {
    fn default() -> Self {
        LogFilter {
            min_level: Level::Info,
            job: None,
            text: String::new(),
        }
    }
}

impl LogFilter {
    /// Whether `line` passes.
    pub fn matches(&self, line: &LogEvent) -> bool {
        line.level >= self.min_level
            && self
                .job
                .as_deref()
                .is_none_or(|job| line.job.as_deref() == Some(job))
            && (self.text.is_empty()
                || line.message.to_lowercase().contains(&self.text)
                || line
                    .job
                    .as_deref()
                    .is_some_and(|j| j.to_lowercase().contains(&self.text)))
    }
}

/// A bounded list of lines, each with a number that stays fixed as older
/// lines are pushed out (so a view scrolled back stays where it is).
#[derive(Clone, Debug)]
pub struct LogBuffer {
    lines: VecDeque<LogEvent>,
    capacity: usize,
    /// The number of the oldest line kept.
    first: u64,
}

impl LogBuffer {
    /// An empty buffer keeping at most `capacity` lines.
    pub fn new(capacity: usize) -> Self {
        LogBuffer {
            lines: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
            first: 0,
        }
    }

    /// A buffer holding `lines` (the newest `capacity` of them).
    pub fn from_lines(lines: Vec<LogEvent>, capacity: usize) -> Self {
        let mut buffer = LogBuffer::new(capacity);
        for line in lines {
            buffer.push(line);
        }
        buffer
    }

    /// Add a line, dropping the oldest when full.
    pub fn push(&mut self, line: LogEvent) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.first += 1;
        }
        self.lines.push_back(line);
    }

    /// Lines kept.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no line is kept.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The number the next line will get.
    pub fn end(&self) -> u64 {
        self.first + self.lines.len() as u64
    }

    /// Up to `height` lines passing `filter`, oldest first, ending at line
    /// number `bottom` (inclusive; the newest line when `None`). Costs the
    /// lines looked at, not the buffer's size, when most lines pass.
    pub fn window(&self, filter: &LogFilter, bottom: Option<u64>, height: usize) -> Vec<&LogEvent> {
        let end = self.index_after(bottom);
        let mut shown: Vec<&LogEvent> = self
            .lines
            .range(..end)
            .rev()
            .filter(|l| filter.matches(l))
            .take(height)
            .collect();
        shown.reverse();
        shown
    }

    /// The number of the line `steps` passing lines above (negative: below)
    /// `bottom`, staying within the buffer. `None` means "the newest".
    pub fn scroll(&self, filter: &LogFilter, bottom: Option<u64>, steps: i64) -> Option<u64> {
        let end = self.index_after(bottom);
        let matching = |i: &usize| filter.matches(&self.lines[*i]);
        // The line at the bottom of the screen: the last passing one.
        let current = (0..end).rev().find(matching)?;
        let target = if steps >= 0 {
            // Up: the passing line `steps` above the current bottom, or the
            // oldest passing one.
            let mut above = (0..current).rev().filter(matching);
            let mut last = current;
            for _ in 0..steps {
                match above.next() {
                    Some(i) => last = i,
                    None => break,
                }
            }
            last
        } else {
            let mut below = (current + 1..self.lines.len()).filter(matching);
            let mut last = current;
            for _ in 0..steps.unsigned_abs() {
                match below.next() {
                    Some(i) => last = i,
                    None => break,
                }
            }
            last
        };
        Some(self.first + target as u64)
    }

    /// How many passing lines lie below `bottom` (0 when at the newest).
    pub fn below(&self, filter: &LogFilter, bottom: Option<u64>) -> usize {
        let end = self.index_after(bottom);
        self.lines
            .range(end..)
            .filter(|l| filter.matches(l))
            .count()
    }

    /// The index just past line number `bottom`, clamped to what is kept.
    fn index_after(&self, bottom: Option<u64>) -> usize {
        match bottom {
            None => self.lines.len(),
            Some(n) if n < self.first => 1.min(self.lines.len()),
            Some(n) => ((n - self.first + 1) as usize).min(self.lines.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u64, level: Level, job: &str) -> LogEvent {
        LogEvent {
            ts: chrono::DateTime::from_timestamp(1_700_000_000 + n as i64, 0).unwrap(),
            level,
            job: Some(job.to_string()),
            run_id: Some(1),
            message: format!("line {n}"),
        }
    }

    #[test]
    fn keeps_the_newest_lines_and_their_numbers() {
        let mut buffer = LogBuffer::new(3);
        for n in 0..5 {
            buffer.push(line(n, Level::Info, "a"));
        }
        assert_eq!(buffer.len(), 3);
        assert_eq!(buffer.end(), 5);
        let all = LogFilter::default();
        let shown: Vec<_> = buffer
            .window(&all, None, 10)
            .iter()
            .map(|l| l.message.clone())
            .collect();
        assert_eq!(shown, ["line 2", "line 3", "line 4"]);
        // Line 3 is still line 3 after two more pushes.
        buffer.push(line(5, Level::Info, "a"));
        let at_3: Vec<_> = buffer
            .window(&all, Some(3), 1)
            .iter()
            .map(|l| l.message.clone())
            .collect();
        assert_eq!(at_3, ["line 3"]);
    }

    #[test]
    fn filters_by_level_and_job_and_scrolls_over_passing_lines() {
        let mut buffer = LogBuffer::new(100);
        for n in 0..20 {
            let level = if n % 2 == 0 { Level::Warn } else { Level::Info };
            buffer.push(line(n, level, if n < 10 { "a" } else { "b" }));
        }
        let warn_b = LogFilter {
            min_level: Level::Warn,
            job: Some("b".into()),
            text: String::new(),
        };
        let shown: Vec<_> = buffer
            .window(&warn_b, None, 3)
            .iter()
            .map(|l| l.message.clone())
            .collect();
        assert_eq!(shown, ["line 14", "line 16", "line 18"]);
        let up = buffer.scroll(&warn_b, None, 2);
        assert_eq!(up, Some(14));
        assert_eq!(buffer.below(&warn_b, up), 2);
        // Past the top stays at the oldest passing line.
        assert_eq!(buffer.scroll(&warn_b, None, 100), Some(10));
        assert_eq!(buffer.scroll(&warn_b, Some(10), -1), Some(12));
    }

    #[test]
    fn a_burst_far_over_capacity_stays_bounded() {
        let mut buffer = LogBuffer::new(LIVE_CAPACITY);
        for n in 0..100_000 {
            buffer.push(line(n, Level::Info, "burst"));
        }
        assert_eq!(buffer.len(), LIVE_CAPACITY);
        assert_eq!(buffer.end(), 100_000);
    }
}
