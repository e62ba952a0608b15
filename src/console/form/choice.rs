//! A value picked from a fixed list with ←/→.

/// A value picked from a fixed list with ←/→.
#[derive(Clone, Debug)]
pub struct Choice<T> {
    /// Label and value of each option.
    pub options: Vec<(String, T)>,
    /// Index of the chosen option (0 when there are none).
    pub selected: usize,
}

impl<T: PartialEq + Clone> Choice<T> {
    /// Options in order; `current` chosen (the first if it is not among them).
    pub fn new(options: Vec<(String, T)>, current: &T) -> Self {
        let selected = options.iter().position(|(_, v)| v == current).unwrap_or(0);
        Choice { options, selected }
    }

    /// The chosen value, if there are options at all.
    pub fn value(&self) -> Option<&T> {
        self.options.get(self.selected).map(|(_, v)| v)
    }

    /// Every option's label, and which one is chosen: what a selector draws.
    pub fn labels(&self) -> (Vec<&str>, usize) {
        (
            self.options.iter().map(|(l, _)| l.as_str()).collect(),
            self.selected,
        )
    }

    /// Move the choice by `step` (±1), wrapping around.
    pub fn step(&mut self, step: isize) {
        let n = self.options.len();
        if n > 0 {
            self.selected = (self.selected as isize + step).rem_euclid(n as isize) as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_wrap_around_and_empty_lists_stay_put() {
        let mut c = Choice::new(vec![("a".to_string(), 1), ("b".to_string(), 2)], &2);
        assert_eq!(c.value(), Some(&2));
        c.step(1);
        assert_eq!(c.value(), Some(&1));
        c.step(-1);
        assert_eq!(c.value(), Some(&2));
        let mut empty: Choice<u8> = Choice::new(Vec::new(), &0);
        empty.step(1);
        assert_eq!(empty.value(), None);
    }
}
