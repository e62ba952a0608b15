//! IANA zone names, forgiving about case, with suggestions for near misses.

use chrono_tz::{TZ_VARIANTS, Tz};

use super::error::ScheduleError;

/// Parse an IANA zone name ("Europe/Berlin", also "UTC").
///
/// Case does not matter ("europe/berlin" is Europe/Berlin). An unknown name
/// gets an error that suggests up to three close names.
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    let trimmed = name.trim();
    let start = name.len() - name.trim_start().len();
    if let Ok(tz) = trimmed.parse::<Tz>() {
        return Ok(tz);
    }
    if let Some(tz) = TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(trimmed))
    {
        return Ok(*tz);
    }
    Err(ScheduleError::UnknownZone {
        name: trimmed.to_string(),
        suggestions: suggest(trimmed),
        span: start..start + trimmed.len(),
    })
}

/// Up to three zone names close to `wanted`: by edit distance over the whole
/// name, or by the city alone ("berlin", "new york").
fn suggest(wanted: &str) -> Vec<String> {
    let wanted: String = wanted
        .chars()
        .map(|c| {
            if c == ' ' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let budget = (wanted.chars().count() / 4).clamp(1, 3);
    let mut scored: Vec<(usize, &'static str)> = TZ_VARIANTS
        .iter()
        .filter_map(|tz| {
            let name = tz.name();
            let lower = name.to_ascii_lowercase();
            let city = lower.rsplit('/').next().unwrap_or(&lower);
            let score = if city == wanted {
                0
            } else {
                distance(&lower, &wanted).min(distance(city, &wanted))
            };
            (score <= budget).then_some((score, name))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, name)| name.to_string())
        .collect()
}

/// Levenshtein distance, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("europe/berln", "europe/berlin"), 1);
    }
}
