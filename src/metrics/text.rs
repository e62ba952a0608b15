//! The Prometheus text format (0.0.4) from `prometheus-client`'s OpenMetrics
//! text, for scrapers that ask for no OpenMetrics (`curl`, `promtool check
//! metrics`, older servers). The formats differ in a few lines: a counter's
//! family is named with its `_total` suffix, an info metric is a gauge named
//! `_info`, and there are no `# UNIT` or `# EOF` lines.

/// Rewrite OpenMetrics text as Prometheus text.
pub fn prometheus_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // A family's HELP comes before its TYPE, which decides its name here.
    let mut help: Option<(&str, &str)> = None;
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            if let Some((name, _)) = help.take() {
                // A HELP with no TYPE after it: kept as it was.
                push_help(&mut out, name, "");
            }
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            help = Some((name, text));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (name, kind) = match kind {
                "counter" => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "gaugehistogram" | "stateset" | "unknown" => (name.to_string(), "untyped"),
                other => (name.to_string(), other),
            };
            if let Some((_, text)) = help.take() {
                push_help(&mut out, &name, text);
            }
            out.push_str("# TYPE ");
            out.push_str(&name);
            out.push(' ');
            out.push_str(kind);
            out.push('\n');
            continue;
        }
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn push_help(out: &mut String, name: &str, text: &str) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    out.push_str(text);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::prometheus_text;

    #[test]
    fn counters_and_info_are_renamed_and_openmetrics_lines_dropped() {
        let openmetrics = "# HELP a_runs Runs.\n# TYPE a_runs counter\na_runs_total{job=\"x\"} 3\n\
                           # HELP a_build The build.\n# TYPE a_build info\na_build_info{version=\"1\"} 1\n\
                           # HELP a_seconds Time.\n# TYPE a_seconds histogram\n# UNIT a_seconds seconds\n\
                           a_seconds_sum 0.5\n# EOF\n";
        let text = prometheus_text(openmetrics);
        assert_eq!(
            text,
            "# HELP a_runs_total Runs.\n# TYPE a_runs_total counter\na_runs_total{job=\"x\"} 3\n\
             # HELP a_build_info The build.\n# TYPE a_build_info gauge\na_build_info{version=\"1\"} 1\n\
             # HELP a_seconds Time.\n# TYPE a_seconds histogram\na_seconds_sum 0.5\n"
        );
    }
}
