//! Completion of IANA zone names while the timezone field is typed.

use chrono_tz::TZ_VARIANTS;

/// How many candidates the form offers at once.
pub const MAX_CANDIDATES: usize = 5;

/// Zone names that complete `typed`, best first: names starting with it,
/// then names whose city starts with it ("berl" finds Europe/Berlin), then
/// names containing it. Case and `_` vs space do not matter. Nothing is
/// offered for an empty field or for a name already typed in full.
pub fn zone_candidates(typed: &str) -> Vec<&'static str> {
    let wanted = normalize(typed.trim());
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut ranked: Vec<(u8, &'static str)> = TZ_VARIANTS
        .iter()
        .filter_map(|tz| {
            let name = tz.name();
            let lower = normalize(name);
            let city = lower.rsplit('/').next().unwrap_or(&lower);
            let rank = if lower.starts_with(&wanted) {
                0
            } else if city.starts_with(&wanted) {
                1
            } else if lower.contains(&wanted) {
                2
            } else {
                return None;
            };
            Some((rank, name))
        })
        .collect();
    // A full name needs no completion, even when longer names start with it
    // ("EST" and "EST5EDT"): offering them would capture Up/Down for nothing.
    if ranked.iter().any(|(_, name)| normalize(name) == wanted) {
        return Vec::new();
    }
    ranked.sort();
    ranked
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|(_, name)| name)
        .collect()
}

fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == ' ' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_then_city_then_substring() {
        let found = zone_candidates("europe/ber");
        assert_eq!(found, vec!["Europe/Berlin"]);
        assert_eq!(zone_candidates("berl")[0], "Europe/Berlin");
        assert_eq!(zone_candidates("new york")[0], "America/New_York");
        assert!(zone_candidates("York").contains(&"America/New_York"));
        assert!(zone_candidates("America/").len() == MAX_CANDIDATES);
    }

    #[test]
    fn nothing_for_empty_or_complete_names() {
        assert!(zone_candidates("").is_empty());
        assert!(zone_candidates("Europe/Berlin").is_empty());
        assert!(zone_candidates("utc").is_empty());
        assert!(zone_candidates("xyzzy").is_empty());
    }
}
