//! Read an export back with an independent reader and compare every cell
//! with the value that went in, by the rules of that format.
#![allow(dead_code)]

use calamine::{Data, Reader as _, Xlsx};
use cronport::export::format::json::JsonCell;
use cronport::export::value::Value;

/// Every tabular format the round-trip tests cover.
pub const TABULAR: [&str; 7] = ["csv", "tsv", "json", "ndjson", "markdown", "html", "xlsx"];

fn text_of(v: &Value) -> String {
    v.to_text().map(|t| t.into_owned()).unwrap_or_default()
}

fn python(script: &str, path: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const PY_CSV: &str = "import csv, json, sys\nd = 'excel-tab' if sys.argv[1].endswith('.tsv') else 'excel'\nprint(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8'), dialect=d))))";

const PY_HTML: &str = r#"import html.parser, json, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.rows = []; self.cell = None
    def handle_starttag(self, tag, attrs):
        if tag == 'tr': self.rows.append([])
        if tag in ('td', 'th'): self.cell = ''
    def handle_endtag(self, tag):
        if tag in ('td', 'th'): self.rows[-1].append(self.cell); self.cell = None
    def handle_data(self, data):
        if self.cell is not None: self.cell += data
p = P(); p.feed(open(sys.argv[1], encoding='utf-8').read()); p.close()
print(json.dumps(p.rows))"#;

/// Split a Markdown table line on unescaped pipes and undo the escapes.
pub fn markdown_cells(line: &str) -> Vec<String> {
    let inner = line
        .trim()
        .strip_prefix('|')
        .unwrap()
        .strip_suffix('|')
        .unwrap();
    let mut cells = vec![String::new()];
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cells.last_mut().unwrap().push(chars.next().unwrap()),
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells
        .into_iter()
        .map(|c| {
            c.trim_matches(' ')
                .replace("<br>", "\n")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

/// Check the file at `path` (of format `kind`) holds `names` and `rows`.
pub fn assert_holds(kind: &str, path: &std::path::Path, names: &[&str], rows: &[Vec<Value>]) {
    let header: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let as_text = |rows: &[Vec<Value>]| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(text_of).collect())
            .collect()
    };
    match kind {
        "csv" | "tsv" => {
            let got: Vec<Vec<String>> = serde_json::from_value(python(PY_CSV, path)).unwrap();
            assert_eq!(got[0], header, "{kind} header");
            assert_eq!(got[1..], as_text(rows)[..], "{kind} via Python csv");
        }
        "html" => {
            let got: Vec<Vec<String>> = serde_json::from_value(python(PY_HTML, path)).unwrap();
            assert_eq!(got[0], header, "html header");
            assert_eq!(got[1..], as_text(rows)[..], "html via html.parser");
        }
        "markdown" => {
            let text = std::fs::read_to_string(path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(markdown_cells(lines[0]), header);
            let got: Vec<Vec<String>> = lines[2..].iter().map(|l| markdown_cells(l)).collect();
            assert_eq!(got, as_text(rows), "markdown");
        }
        "json" | "ndjson" => {
            let text = std::fs::read_to_string(path).unwrap();
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = if kind == "json" {
                serde_json::from_str(&text).unwrap()
            } else {
                text.lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect()
            };
            assert_eq!(objects.len(), rows.len());
            for (object, row) in objects.iter().zip(rows) {
                assert_eq!(object.keys().cloned().collect::<Vec<_>>(), header);
                for (name, value) in names.iter().zip(row) {
                    let want = serde_json::to_value(JsonCell(value)).unwrap();
                    assert_eq!(object[*name], want, "{kind} column {name}");
                }
            }
        }
        "xlsx" => {
            let mut book: Xlsx<_> = calamine::open_workbook(path).unwrap();
            let range = book.worksheet_range_at(0).unwrap().unwrap();
            let grid: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
            let got_header: Vec<String> = grid[0].iter().map(|d| d.to_string()).collect();
            assert_eq!(got_header, header);
            assert_eq!(grid.len() - 1, rows.len());
            for (cells, row) in grid[1..].iter().zip(rows) {
                for ((name, cell), value) in names.iter().zip(cells).zip(row) {
                    assert_xlsx_cell(cell, value, name);
                }
            }
        }
        other => panic!("no reader for {other}"),
    }
}

fn assert_xlsx_cell(cell: &Data, value: &Value, name: &str) {
    let datetime = || match cell {
        Data::DateTime(dt) => dt.as_datetime().unwrap(),
        other => panic!("xlsx {name}: {other:?} is not a date"),
    };
    match value {
        Value::Null => assert_eq!(*cell, Data::Empty, "xlsx {name}"),
        Value::Bool(b) => assert_eq!(*cell, Data::Bool(*b), "xlsx {name}"),
        Value::Int(i) if i.unsigned_abs() <= 1 << 53 => {
            assert_eq!(*cell, Data::Float(*i as f64), "xlsx {name}")
        }
        Value::Float(f) => assert_eq!(*cell, Data::Float(*f), "xlsx {name}"),
        Value::Decimal(d) => match cell {
            Data::Float(f) => assert_eq!(*f, d.parse::<f64>().unwrap(), "xlsx {name}"),
            Data::String(s) => assert_eq!(s, d, "xlsx {name}"),
            other => panic!("xlsx {name}: {other:?}"),
        },
        Value::Date(d) => assert_eq!(datetime().date(), *d, "xlsx {name}"),
        Value::Time(t) => assert_eq!(datetime().time(), *t, "xlsx {name}"),
        Value::DateTime(dt) => assert_eq!(datetime(), *dt, "xlsx {name}"),
        Value::Timestamp(ts) => assert_eq!(datetime(), ts.naive_utc(), "xlsx {name}"),
        other => {
            let text = text_of(other);
            if text.is_empty() {
                assert!(
                    matches!(cell, Data::Empty) || *cell == Data::String(String::new()),
                    "xlsx {name}: {cell:?}"
                );
            } else {
                assert_eq!(*cell, Data::String(text), "xlsx {name}");
            }
        }
    }
}
