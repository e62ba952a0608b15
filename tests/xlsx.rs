//! The xlsx writer read back by independent readers: calamine for every
//! cell's type and value, openpyxl (where installed) for the package as a
//! second implementation of the format, plus the sheet's own XML.

#[path = "support/formats.rs"]
mod support;

use calamine::{Data, Reader as _, Xlsx, open_workbook};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use cronport::export::format::FormatError;
use cronport::export::value::{Column, Row, Value};
use support::{TRICKY, render, spec, temp_file};

fn grid(path: &std::path::Path) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = open_workbook(path).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

fn write(dir: &tempfile::TempDir, columns: &[Column], rows: &[Row]) -> std::path::PathBuf {
    let bytes = render(&spec(r#"{ kind = "xlsx" }"#), columns, rows).unwrap();
    temp_file(dir, "out.xlsx", &bytes)
}

fn datetime(d: &Data) -> NaiveDateTime {
    match d {
        Data::DateTime(dt) => dt.as_datetime().unwrap(),
        other => panic!("not a date: {other:?}"),
    }
}

#[test]
fn awkward_text_comes_back_exactly() {
    let texts = [
        TRICKY.to_string(),
        "  padded both ends\t".into(),
        "\nstarts with a line break".into(),
        "carriage\r\nreturn".into(),
        "bell \u{7} and nul \u{0} and escape \u{1b}".into(),
        "_x0041_ is not an A, _x4_ is not an escape".into(),
        "a < b && c > d ]]> \"quoted\" 'single'".into(),
        "non-characters \u{FFFE}\u{FFFF} and \u{FFFD}".into(),
        "Zoë 東京 🚀 שלום مرحبا".into(),
        "x".repeat(32_767),
        "🚀".repeat(16_383),
    ];
    let rows: Vec<Row> = texts.iter().map(|t| vec![Value::Text(t.clone())]).collect();
    let dir = tempfile::tempdir().unwrap();
    let got = grid(&write(&dir, &[Column::new("text")], &rows));
    assert_eq!(got.len(), texts.len() + 1);
    for (cells, text) in got[1..].iter().zip(&texts) {
        assert_eq!(cells[0], Data::String(text.clone()));
    }
}

#[test]
fn dates_at_the_edges_of_excels_calendar() {
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let dates = [
        d(1900, 1, 1),
        d(1900, 2, 28),
        d(1900, 3, 1),
        d(2026, 2, 28),
        d(9999, 12, 31),
    ];
    let noon = NaiveTime::from_hms_milli_opt(12, 0, 0, 1).unwrap();
    let rows: Vec<Row> = dates
        .iter()
        .map(|day| vec![Value::Date(*day), Value::DateTime(day.and_time(noon))])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let got = grid(&write(
        &dir,
        &[Column::new("day"), Column::new("at")],
        &rows,
    ));
    for (cells, day) in got[1..].iter().zip(&dates) {
        assert_eq!(datetime(&cells[0]).date(), *day);
        assert_eq!(datetime(&cells[1]), day.and_time(noon));
    }

    for (value, words) in [
        (
            Value::DateTime(d(1899, 12, 31).and_time(noon)),
            "before 1900",
        ),
        (Value::Date(d(10_000, 1, 1)), "after 9999"),
    ] {
        let err = render(
            &spec(r#"{ kind = "xlsx" }"#),
            &[Column::new("x"), Column::new("when")],
            &[vec![Value::Int(1), Value::Null], vec![Value::Int(2), value]],
        )
        .unwrap_err();
        assert!(
            matches!(&err, FormatError::Cell { row: 2, column, .. } if column == "when"),
            "{err}"
        );
        assert!(err.to_string().contains(words), "{err}");
    }
}

#[test]
fn many_batches_keep_every_row_in_place() {
    let columns = vec![Column::new("n"), Column::new("label"), Column::new("half")];
    let rows: Vec<Row> = (0..5_000)
        .map(|i| {
            vec![
                Value::Int(i),
                if i % 3 == 0 {
                    Value::Null
                } else {
                    Value::Text(format!("row {i}"))
                },
                Value::Float(i as f64 / 2.0),
            ]
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let got = grid(&write(&dir, &columns, &rows));
    assert_eq!(got.len(), rows.len() + 1);
    for (i, cells) in got[1..].iter().enumerate() {
        assert_eq!(cells[0], Data::Float(i as f64));
        let label = if i % 3 == 0 {
            Data::Empty
        } else {
            Data::String(format!("row {i}"))
        };
        assert_eq!(cells[1], label);
        assert_eq!(cells[2], Data::Float(i as f64 / 2.0));
    }
}

#[test]
fn no_rows_and_no_columns_still_make_a_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let got = grid(&write(
        &dir,
        &[Column::new("only"), Column::new("header")],
        &[],
    ));
    assert_eq!(
        got,
        vec![vec![
            Data::String("only".into()),
            Data::String("header".into())
        ]]
    );
    let bytes = render(&spec(r#"{ kind = "xlsx" }"#), &[], &[]).unwrap();
    let path = temp_file(&dir, "empty.xlsx", &bytes);
    let book: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(book.sheet_names(), vec!["Sheet1".to_string()]);
}

#[test]
fn sheet_names_follow_excels_rules() {
    for bad in ["", "a/b", "[x]", "'quoted'", "History", &"n".repeat(32)] {
        let format = spec(&format!("{{ kind = \"xlsx\", sheet = {bad:?} }}"));
        let err = render(&format, &[Column::new("a")], &[]).unwrap_err();
        assert!(
            err.to_string().starts_with("format.sheet: "),
            "{bad:?}: {err}"
        );
    }
    let format = spec(r#"{ kind = "xlsx", sheet = "Q1 & Q2 <\"Ventes\">" }"#);
    let bytes = render(&format, &[Column::new("a")], &[vec![Value::Int(1)]]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "named.xlsx", &bytes);
    let book: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec![r#"Q1 & Q2 <"Ventes">"#.to_string()]
    );
}

/// openpyxl reads the same file: values, types, the header's style, the
/// frozen pane and the widths.
const PY_OPENPYXL: &str = r#"import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb.active
rows = [[None if v is None else [type(v).__name__, str(v)] for v in r] for r in ws.iter_rows(values_only=True)]
h = ws['A1']
print(json.dumps({'title': ws.title, 'rows': rows, 'freeze': ws.freeze_panes,
  'bold': h.font.b, 'fill': h.fill.fgColor.rgb, 'width': ws.column_dimensions['B'].width}))"#;

#[test]
fn openpyxl_reads_the_workbook() {
    let columns = vec![
        Column::new("id"),
        Column::new("name"),
        Column::new("ok"),
        Column::new("day"),
        Column::new("at"),
        Column::new("ratio"),
    ];
    let day = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
    let rows = vec![vec![
        Value::Int(42),
        Value::Text("Zoë <b> 東京".into()),
        Value::Bool(true),
        Value::Date(day),
        Value::DateTime(day.and_hms_milli_opt(2, 30, 0, 250).unwrap()),
        Value::Float(-0.125),
    ]];
    let bytes = render(
        &spec(r#"{ kind = "xlsx", sheet = "Report" }"#),
        &columns,
        &rows,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let got = support::python_json(PY_OPENPYXL, &temp_file(&dir, "out.xlsx", &bytes));
    assert_eq!(got["title"], "Report");
    assert_eq!(got["freeze"], "A2");
    assert_eq!(got["bold"], true);
    assert_eq!(got["fill"], "FF2F4858");
    assert!(got["width"].as_f64().unwrap() > 4.0, "{got}");
    let pair = |t: &str, v: &str| serde_json::json!([t, v]);
    assert_eq!(got["rows"][0][1], pair("str", "name"));
    assert_eq!(
        got["rows"][1],
        serde_json::json!([
            pair("int", "42"),
            pair("str", "Zoë <b> 東京"),
            pair("bool", "True"),
            pair("datetime", "2026-03-08 00:00:00"),
            pair("datetime", "2026-03-08 02:30:00.250000"),
            pair("float", "-0.125"),
        ])
    );
}
