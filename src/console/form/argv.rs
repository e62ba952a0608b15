//! A command's argv typed on one line, shell-style quoting without a shell:
//! `psql -c 'select 1'` is three arguments. Nothing is expanded.

use std::fmt;

/// Why a command line could not be split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgvError {
    /// What is wrong.
    pub problem: ArgvProblem,
    /// Byte offset of the offending character.
    pub at: usize,
}

/// The kinds of unsplittable command lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgvProblem {
    /// A quote that is never closed.
    Unclosed(char),
    /// A backslash with nothing after it.
    TrailingBackslash,
}

impl fmt::Display for ArgvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem {
            ArgvProblem::Unclosed(q) => {
                write!(f, "the quote {q} at column {} is never closed", self.at + 1)
            }
            ArgvProblem::TrailingBackslash => {
                write!(f, "a backslash at column {} escapes nothing", self.at + 1)
            }
        }
    }
}

/// Split a command line into arguments: whitespace separates, `'...'` is
/// literal, `"..."` allows `\"` and `\\`, a backslash outside quotes takes
/// the next character literally.
pub fn split(line: &str) -> Result<Vec<String>, ArgvError> {
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(arg) = current.take() {
                    args.push(arg);
                }
            }
            '\'' => {
                let arg = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => arg.push(c),
                        None => return Err(unclosed('\'', at)),
                    }
                }
            }
            '"' => {
                let arg = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) if matches!(chars.peek(), Some((_, '"' | '\\'))) => {
                            if let Some((_, escaped)) = chars.next() {
                                arg.push(escaped);
                            }
                        }
                        Some((_, c)) => arg.push(c),
                        None => return Err(unclosed('"', at)),
                    }
                }
            }
            '\\' => match chars.next() {
                Some((_, escaped)) => current.get_or_insert_with(String::new).push(escaped),
                None => {
                    return Err(ArgvError {
                        problem: ArgvProblem::TrailingBackslash,
                        at,
                    });
                }
            },
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(arg) = current {
        args.push(arg);
    }
    Ok(args)
}

fn unclosed(quote: char, at: usize) -> ArgvError {
    ArgvError {
        problem: ArgvProblem::Unclosed(quote),
        at,
    }
}

/// Write arguments back as one line that [`split`] reads as the same list.
pub fn join(args: &[String]) -> String {
    args.iter()
        .map(|arg| quote(arg))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a `NAME=value` list could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairsError {
    /// What is wrong, for the operator.
    pub message: String,
    /// Byte range of the offending text, when known.
    pub span: Option<std::ops::Range<usize>>,
}

/// Read `NAME=value` words (quoted as for [`split`]: `'X-Title=a b'`) into a
/// map: environment variables and http headers typed on one line.
pub fn split_pairs(line: &str) -> Result<std::collections::BTreeMap<String, String>, PairsError> {
    let words = split(line).map_err(|e| PairsError {
        message: e.to_string(),
        span: Some(e.at..e.at + 1),
    })?;
    let mut map = std::collections::BTreeMap::new();
    for word in words {
        let Some((name, value)) = word.split_once('=').filter(|(n, _)| !n.trim().is_empty()) else {
            return Err(PairsError {
                message: format!("{word:?} is not NAME=value"),
                span: None,
            });
        };
        if map.insert(name.to_string(), value.to_string()).is_some() {
            return Err(PairsError {
                message: format!("{name:?} is given twice"),
                span: None,
            });
        }
    }
    Ok(map)
}

/// Write a map back as one line that [`split_pairs`] reads as the same map.
pub fn join_pairs(map: &std::collections::BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(name, value)| quote(&format!("{name}={value}")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        arg.to_string()
    } else {
        // Inside single quotes nothing is special but the quote itself,
        // which is closed, escaped and reopened.
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splits_like_a_shell_without_expanding() {
        assert_eq!(
            split("psql -c 'select 1' $HOME").unwrap(),
            words(&["psql", "-c", "select 1", "$HOME"])
        );
        assert_eq!(
            split(r#"echo "a \"b\" c" d\ e ''"#).unwrap(),
            words(&["echo", r#"a "b" c"#, "d e", ""])
        );
        assert_eq!(split("  ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn names_the_unclosed_quote() {
        let e = split("echo 'abc").unwrap_err();
        assert_eq!(e.problem, ArgvProblem::Unclosed('\''));
        assert_eq!(e.at, 5);
        assert_eq!(e.to_string(), "the quote ' at column 6 is never closed");
        assert_eq!(
            split("echo \\").unwrap_err().problem,
            ArgvProblem::TrailingBackslash
        );
    }

    #[test]
    fn pairs_read_name_equals_value_and_name_the_bad_word() {
        let map = split_pairs("LANG=C 'X-Title=a b' EMPTY=").unwrap();
        assert_eq!(map["LANG"], "C");
        assert_eq!(map["X-Title"], "a b");
        assert_eq!(map["EMPTY"], "");
        assert_eq!(split_pairs(&join_pairs(&map)).unwrap(), map);
        assert_eq!(
            split_pairs("LANG=C TZ").unwrap_err().message,
            "\"TZ\" is not NAME=value"
        );
        assert_eq!(
            split_pairs("A=1 A=2").unwrap_err().message,
            "\"A\" is given twice"
        );
        assert_eq!(
            split_pairs("=x").unwrap_err().message,
            "\"=x\" is not NAME=value"
        );
        assert!(split_pairs("A='x").is_err());
    }

    proptest! {
        #[test]
        fn join_then_split_gives_the_same_arguments(args in prop::collection::vec(".*", 0..5)) {
            prop_assert_eq!(split(&join(&args)).unwrap(), args);
        }
    }
}
