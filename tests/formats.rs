//! Every text format written from rows of every type, then read back by
//! independent readers: the csv crate and Python's csv module, serde_json,
//! Python's html.parser, gzip and zipfile.

#[path = "support/formats.rs"]
mod support;

#[path = "support/readback.rs"]
mod readback;

use cronport::export::format::FormatError;
use cronport::export::value::{Column, Value};
use readback::markdown_cells;
use support::{columns, expected_text, python_json, render, rows, spec, temp_file};

const PY_CSV: &str = "import csv, json, sys\n\
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8'), dialect=sys.argv[2] if len(sys.argv) > 2 else 'excel'))\n\
print(json.dumps(rows))";

fn py_csv(path: &std::path::Path, dialect: &str) -> Vec<Vec<String>> {
    let out = std::process::Command::new("python3")
        .args(["-c", PY_CSV])
        .arg(path)
        .arg(dialect)
        .output()
        .expect("python3 on PATH");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn rust_csv(bytes: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Header plus the expected text of every cell, NULL spelled `null`.
fn expected_table(null: &str) -> Vec<Vec<String>> {
    let mut table = vec![columns().iter().map(|c| c.name.clone()).collect::<Vec<_>>()];
    for row in expected_text() {
        table.push(
            row.into_iter()
                .map(|c| c.unwrap_or_else(|| null.into()))
                .collect(),
        );
    }
    table
}

#[test]
fn csv_and_tsv_round_trip_through_two_readers() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, delimiter, dialect) in [("csv", b',', "excel"), ("tsv", b'\t', "excel-tab")] {
        let bytes = render(
            &spec(&format!("{{ kind = \"{kind}\" }}")),
            &columns(),
            &rows(),
        )
        .unwrap();
        let want = expected_table("");
        assert_eq!(rust_csv(&bytes, delimiter), want, "{kind} via csv crate");
        let path = temp_file(&dir, &format!("out.{kind}"), &bytes);
        assert_eq!(py_csv(&path, dialect), want, "{kind} via Python");
    }
}

#[test]
fn csv_options_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = render(
        &spec(r#"{ kind = "csv", delimiter = ";", quote = "always", line_ending = "lf", null = "NULL" }"#),
        &columns(),
        &rows(),
    )
    .unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("\"int\";\"float\";"), "{text}");
    assert!(!text.contains("\r\n"));
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("\"NULL\";\"NULL\"")
    );
    assert_eq!(rust_csv(&bytes, b';'), expected_table("NULL"));
    let path = temp_file(&dir, "semi.csv", &bytes);
    let script = "import csv, json, sys\nprint(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8'), delimiter=';'))))";
    assert_eq!(
        serde_json::from_value::<Vec<Vec<String>>>(python_json(script, &path)).unwrap(),
        expected_table("NULL")
    );
    // No header.
    let bytes = render(
        &spec(r#"{ kind = "csv", header = false }"#),
        &columns(),
        &rows(),
    )
    .unwrap();
    assert_eq!(rust_csv(&bytes, b',')[..], expected_table("")[1..]);
}

#[test]
fn csv_without_quoting_refuses_a_field_it_would_break() {
    let err = render(
        &spec(r#"{ kind = "csv", quote = "never" }"#),
        &columns(),
        &rows(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, FormatError::Cell { row: 1, column, .. } if column == "text"),
        "{err}"
    );
    assert!(err.to_string().contains("quote = \"never\""), "{err}");
}

#[test]
fn csv_delimiter_must_be_one_character() {
    let bad = spec(r#"{ kind = "csv", delimiter = "::" }"#);
    let (field, message) = bad.validate().unwrap_err();
    assert_eq!(field, "format.delimiter");
    assert!(message.contains("one ASCII character"), "{message}");
}

fn json_expectations(object: &serde_json::Map<String, serde_json::Value>, row: usize) {
    let want = &rows()[row];
    for (column, value) in columns().iter().zip(want) {
        let got = &object[&column.name];
        match value {
            Value::Null => assert!(got.is_null()),
            Value::Int(i) => assert_eq!(got.as_i64(), Some(*i)),
            Value::Float(f) => assert_eq!(got.as_f64(), Some(*f)),
            Value::Bool(b) => assert_eq!(got.as_bool(), Some(*b)),
            Value::Json(j) => assert_eq!(got, j),
            other => assert_eq!(got.as_str(), other.to_text().as_deref(), "{}", column.name),
        }
    }
}

#[test]
fn json_array_keeps_types() {
    let bytes = render(&spec(r#"{ kind = "json" }"#), &columns(), &rows()).unwrap();
    let parsed: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(&bytes).unwrap();
    assert_eq!(parsed.len(), 3);
    for (i, object) in parsed.iter().enumerate() {
        assert_eq!(
            object.keys().cloned().collect::<Vec<_>>(),
            columns().iter().map(|c| c.name.clone()).collect::<Vec<_>>()
        );
        json_expectations(object, i);
    }
    assert_eq!(parsed[0]["bytes"], "AP8B");
    assert_eq!(parsed[0]["decimal"], "12345678901234567890.0000000001");
    // An empty result is an empty array.
    let empty = render(&spec(r#"{ kind = "json" }"#), &columns(), &[]).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&empty).unwrap(),
        serde_json::json!([])
    );
}

#[test]
fn ndjson_is_one_object_per_line() {
    let bytes = render(&spec(r#"{ kind = "ndjson" }"#), &columns(), &rows()).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    for (i, line) in lines.iter().enumerate() {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).unwrap();
        json_expectations(&object, i);
    }
}

#[test]
fn json_refuses_what_it_cannot_hold() {
    let cols = vec![Column::new("id"), Column::new("ratio")];
    let rows = vec![
        vec![Value::Int(1), Value::Float(1.5)],
        vec![Value::Int(2), Value::Float(f64::NAN)],
    ];
    for kind in ["json", "ndjson"] {
        let err = render(&spec(&format!("{{ kind = \"{kind}\" }}")), &cols, &rows).unwrap_err();
        assert!(
            matches!(&err, FormatError::Cell { row: 2, column, .. } if column == "ratio"),
            "{kind}: {err}"
        );
        assert!(
            err.to_string().contains("NaN cannot be written as JSON"),
            "{err}"
        );
    }
    let dup = vec![Column::new("id"), Column::new("id")];
    let err = render(&spec(r#"{ kind = "json" }"#), &dup, &[]).unwrap_err();
    assert!(err.to_string().contains("\"id\" appears twice"), "{err}");
}

#[test]
fn markdown_table_keeps_every_cell_on_its_row() {
    let bytes = render(&spec(r#"{ kind = "markdown" }"#), &columns(), &rows()).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 2 + 3, "{text}");
    assert_eq!(markdown_cells(lines[1]), vec!["---"; 12]);
    let mut table = vec![markdown_cells(lines[0])];
    table.extend(lines[2..].iter().map(|l| markdown_cells(l)));
    assert_eq!(table, expected_table(""));
}

const PY_HTML: &str = r#"import html.parser, json, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.rows = []; self.cell = None; self.title = ''; self.in_title = False
    def handle_starttag(self, tag, attrs):
        if tag == 'tr': self.rows.append([])
        if tag in ('td', 'th'): self.cell = ''
        if tag == 'title': self.in_title = True
    def handle_endtag(self, tag):
        if tag in ('td', 'th'): self.rows[-1].append(self.cell); self.cell = None
        if tag == 'title': self.in_title = False
    def handle_data(self, data):
        if self.cell is not None: self.cell += data
        if self.in_title: self.title += data
p = P(); p.feed(open(sys.argv[1], encoding='utf-8').read()); p.close()
print(json.dumps({'title': p.title, 'rows': p.rows}))"#;

#[test]
fn html_page_parses_back_to_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = render(
        &spec(r#"{ kind = "html", title = "Sales <daily> & more" }"#),
        &columns(),
        &rows(),
    )
    .unwrap();
    let path = temp_file(&dir, "out.html", &bytes);
    let parsed = python_json(PY_HTML, &path);
    assert_eq!(parsed["title"], "Sales <daily> & more");
    let table: Vec<Vec<String>> = serde_json::from_value(parsed["rows"].clone()).unwrap();
    assert_eq!(table, expected_table(""));
}

#[test]
fn gzip_and_zip_wrap_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let plain = render(&spec(r#"{ kind = "csv" }"#), &columns(), &rows()).unwrap();
    let gz_spec = spec(r#"{ kind = "csv", compression = "gzip" }"#);
    assert_eq!(gz_spec.extension(), "csv.gz");
    let gz = render(&gz_spec, &columns(), &rows()).unwrap();
    let path = temp_file(&dir, "out.csv.gz", &gz);
    let script =
        "import gzip, json, sys\nprint(json.dumps(gzip.open(sys.argv[1]).read().decode('utf-8')))";
    assert_eq!(
        python_json(script, &path),
        String::from_utf8(plain).unwrap()
    );

    let zip_spec = spec(r#"{ kind = "ndjson", compression = "zip" }"#);
    assert_eq!(zip_spec.extension(), "zip");
    let zipped = render(&zip_spec, &columns(), &rows()).unwrap();
    let plain = render(&spec(r#"{ kind = "ndjson" }"#), &columns(), &rows()).unwrap();
    let path = temp_file(&dir, "out.zip", &zipped);
    let script = "import zipfile, json, sys\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({n: z.read(n).decode('utf-8') for n in z.namelist()}))";
    assert_eq!(
        python_json(script, &path),
        serde_json::json!({ "report.ndjson": String::from_utf8(plain).unwrap() })
    );
}

#[test]
fn unknown_format_options_are_refused_by_name() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Holder {
        format: cronport::export::format::FormatSpec,
    }
    let err = toml::from_str::<Holder>(r#"format = { kind = "json", pretty = true }"#).unwrap_err();
    assert!(err.to_string().contains("pretty"), "{err}");
    let err = toml::from_str::<Holder>(r#"format = { kind = "yaml" }"#).unwrap_err();
    assert!(err.to_string().contains("yaml"), "{err}");
}
