//! What an empty field shows: an example, or the default it stands for.

use super::JobForm;
use super::fields::Field;

/// The muted hint shown in an empty `field`.
pub(super) fn placeholder(form: &JobForm, field: Field) -> String {
    match field {
        Field::Name => "a slug, e.g. daily-sales".into(),
        Field::Schedule => "daily at 02:00 · every 5m · 0 2 * * *".into(),
        Field::Timezone => {
            let zone = form
                .rules
                .known
                .default_timezone
                .map_or("UTC", |tz| tz.name());
            format!("{zone} (the default)")
        }
        Field::Query => "select ... where t >= :window_start".into(),
        Field::Argv => "program arg 'an arg with spaces'".into(),
        Field::Cwd => "cronport's own (relative: from the config's folder)".into(),
        Field::Env => "none · NAME=value 'OTHER=with spaces'".into(),
        Field::Path => "a file or glob, e.g. diagrams/*.svg".into(),
        Field::TemplateQuery => "select ... (its first row fills {{placeholders}})".into(),
        Field::Url => "https://... (GET)".into(),
        Field::HttpTimeout => "30s (the default)".into(),
        Field::Headers => "none · Accept=text/csv 'X-Title=a b'".into(),
        Field::Delimiter => "`,` for csv, a tab for tsv (the default)".into(),
        Field::Null => "an empty field (the default)".into(),
        Field::Title | Field::ChartTitle => "the job's name (the default)".into(),
        Field::Sheet => "Sheet1 (the default)".into(),
        Field::FontSize => "8 (points, the default)".into(),
        Field::MaxRows => "no limit (the default)".into(),
        Field::Width => "800 for charts, a diagram's own (the default)".into(),
        Field::Height => "480 for charts, a diagram's own (the default)".into(),
        Field::Scale => "1 (the default; 0.1 to 10)".into(),
        Field::Background => "#rrggbb · #rrggbbaa · transparent".into(),
        Field::ChartX => "the column along the x axis".into(),
        Field::ChartY => "amount, cost (numeric columns)".into(),
        Field::ChartXLabel => "the x column's name (the default)".into(),
        Field::ChartYLabel => "none (the default)".into(),
        Field::HeadersEnv => "none · Authorization=API_TOKEN (the variable's name)".into(),
        Field::Retries => "3 (the default)".into(),
        Field::Timeout => "30m (the default)".into(),
        Field::CatchUpWindow => "24h (the default)".into(),
        Field::CheckMinRows | Field::CheckMaxRows => "no limit (a number of rows)".into(),
        Field::MaxChange => "no limit · 50% (against the last success)".into(),
        Field::HoldFor => "24h (the default)".into(),
        _ => String::new(),
    }
}
