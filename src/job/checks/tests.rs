use super::*;
use crate::job::Known;

fn spec(extra: &str) -> JobSpec {
    let text = format!(
        "name = \"a\"\nschedule = \"every 5m\"\n\
         source = {{ kind = \"command\", argv = [\"true\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n{extra}"
    );
    toml::from_str(&text).expect("decodes")
}

fn known() -> Known {
    Known {
        destinations: ["out".to_string()].into(),
        ..Known::default()
    }
}

fn errors(extra: &str) -> Vec<String> {
    match spec(extra).validate(&known()) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn column(name: &str, kind: Option<&str>) -> SchemaColumn {
    SchemaColumn {
        name: name.into(),
        kind: kind.map(str::to_string),
    }
}

#[test]
fn checks_resolve_with_their_defaults() {
    let job = spec("checks = { not_empty = true, min_rows = 1, max_rows = 10, max_change = \"12.5%\", schema = \"stable\" }")
        .validate(&known())
        .expect("valid");
    let checks = job.policy.checks.expect("has checks");
    assert!(checks.not_empty && checks.schema_stable);
    assert_eq!(checks.min_rows, Some(1));
    assert_eq!(checks.max_rows, Some(10));
    assert_eq!(checks.max_change, Some(1250));
    assert_eq!(checks.action, CheckAction::Hold);
    assert_eq!(checks.hold_for, DEFAULT_HOLD_FOR);
    let job = spec("checks = { not_empty = true }\non_check_fail = \"skip\"\nhold_for = \"2h\"")
        .validate(&known())
        .expect("valid");
    let checks = job.policy.checks.expect("has checks");
    assert_eq!(checks.action, CheckAction::Skip);
    assert_eq!(checks.hold_for, Duration::from_secs(7200));
    // No check at all: nothing to judge.
    let job = spec("").validate(&known()).expect("valid");
    assert_eq!(job.policy.checks, None);
}

#[test]
fn checks_survive_the_stored_json() {
    let written = spec(
        "checks = { not_empty = true, max_change = \"50%\", schema = \"stable\" }\n\
         on_check_fail = \"fail\"\nhold_for = \"3h\"",
    );
    let json = serde_json::to_string(&written).expect("encodes");
    let back: JobSpec = serde_json::from_str(&json).expect("decodes");
    assert_eq!(back, written);
    assert!(!json.contains("unknown"), "{json}");
}

#[test]
fn bad_checks_name_the_key() {
    let e = errors("checks = { not_empty = true, nonsense = 3 }");
    assert_eq!(
        e,
        [
            "checks.nonsense: \"nonsense\" is not a check: use not_empty, min_rows, max_rows, max_change, schema"
        ]
    );
    let e = errors("checks = { max_change = \"half\" }");
    assert_eq!(
        e,
        [
            "checks.max_change: \"half\" is not a percentage: write a number and a percent sign, like \"50%\""
        ]
    );
    let e = errors("checks = { max_change = 50 }");
    assert_eq!(
        e,
        [
            "checks.max_change: 50 is not a percentage: write it as text with a percent sign, like \"50%\""
        ]
    );
    let e = errors("checks = { min_rows = 10, max_rows = 5 }");
    assert_eq!(
        e,
        ["checks.min_rows: 10 is above checks.max_rows (5): no output could pass"]
    );
    let e = errors("checks = { not_empty = true }\non_check_fail = \"retry\"");
    assert_eq!(
        e,
        ["on_check_fail: \"retry\" is not a check outcome: use \"hold\", \"skip\" or \"fail\""]
    );
    let e = errors("checks = { schema = \"strict\" }");
    assert_eq!(
        e,
        ["checks.schema: \"strict\" is not a schema check: the only one is \"stable\""]
    );
    let e = errors("checks = { min_rows = -1 }");
    assert_eq!(e, ["checks.min_rows: -1 is negative"]);
    let e = errors("checks = { not_empty = true }\nhold_for = \"10s\"");
    assert_eq!(e, ["hold_for: must be at least 1m"]);
}

#[test]
fn percentages_parse_to_hundredths() {
    assert_eq!(parse_percent("50%"), Ok(5000));
    assert_eq!(parse_percent(" 7.5 %"), Ok(750));
    assert_eq!(parse_percent("0.25%"), Ok(25));
    assert_eq!(parse_percent("250%"), Ok(25000));
    for bad in ["50", "%", "-5%", "5.123%", "x%", "1e3%", ""] {
        assert!(parse_percent(bad).is_err(), "{bad}");
    }
    assert!(
        parse_percent("0%")
            .unwrap_err()
            .contains("allows no change")
    );
    assert_eq!(percent_text(5000), "50%");
    assert_eq!(percent_text(750), "7.5%");
    assert_eq!(percent_text(25), "0.25%");
    assert_eq!(grouped(0), "0");
    assert_eq!(grouped(999), "999");
    assert_eq!(grouped(1000), "1,000");
    assert_eq!(grouped(1234567), "1,234,567");
}

fn all_checks() -> Checks {
    Checks {
        not_empty: true,
        min_rows: Some(5),
        max_rows: Some(100_000),
        max_change: Some(5000),
        schema_stable: true,
        action: CheckAction::Hold,
        hold_for: DEFAULT_HOLD_FOR,
    }
}

#[test]
fn each_check_fails_with_its_own_message() {
    let checks = all_checks();
    let schema = vec![column("id", Some("int")), column("name", Some("text"))];
    let baseline = Baseline {
        rows: Some(10_000),
        schema: Some(schema.clone()),
    };
    let judge = |rows: u64, schema: &Schema| checks.judge(rows, schema, &baseline);
    assert_eq!(judge(10_000, &schema), None);
    let f = judge(0, &schema).expect("empty fails");
    assert_eq!(
        (f.check, f.message.as_str()),
        ("not_empty", "not_empty: the output has no rows")
    );
    let f = judge(3, &schema).expect("few fails");
    assert_eq!(f.message, "min_rows: 3 rows, fewer than the minimum of 5");
    let f = judge(200_000, &schema).expect("many fails");
    assert_eq!(
        f.message,
        "max_rows: 200,000 rows, more than the maximum of 100,000"
    );
    let f = judge(1_000, &schema).expect("a drop fails");
    assert_eq!(f.check, "max_change");
    assert_eq!(
        f.message,
        "max_change: 1,000 rows, last success had 10,000 (-90%, limit 50%)"
    );
    let f = judge(15_001, &schema).expect("a rise fails");
    assert_eq!(
        f.message,
        "max_change: 15,001 rows, last success had 10,000 (+50%, limit 50%)"
    );
    // Exactly at the limit passes.
    assert_eq!(judge(15_000, &schema), None);
    assert_eq!(judge(5_000, &schema), None);
    let changed = vec![column("id", Some("text")), column("email", Some("text"))];
    let f = judge(10_000, &changed).expect("schema fails");
    assert_eq!(f.check, "schema");
    assert_eq!(
        f.message,
        "schema: the columns changed since the last success: added email (text); \
         removed name (text); id int -> text"
    );
}

#[test]
fn checks_without_a_baseline_pass_and_nulls_have_no_type() {
    let checks = all_checks();
    let schema = vec![column("id", Some("int"))];
    assert_eq!(checks.judge(7, &schema, &Baseline::default()), None);
    // A column that was all NULL last time matches any type now.
    let before = vec![column("id", Some("int")), column("note", None)];
    let now = vec![column("id", Some("int")), column("note", Some("text"))];
    assert_eq!(schema_change(&before, &now), None);
    let reordered = vec![column("note", None), column("id", Some("int"))];
    assert_eq!(
        schema_change(&before, &reordered).as_deref(),
        Some("column order id, note -> note, id")
    );
    // From no rows, any rows is beyond every limit; none stays none.
    let baseline = Baseline {
        rows: Some(0),
        schema: None,
    };
    let lenient = Checks {
        not_empty: false,
        min_rows: None,
        ..all_checks()
    };
    assert_eq!(lenient.judge(0, &schema, &baseline), None);
    let f = lenient.judge(10, &schema, &baseline).expect("fails");
    assert_eq!(
        f.message,
        "max_change: 10 rows, last success had 0 (no share of 0 is within 50%)"
    );
}
